build/worker/work.o: worker/work.c worker/worker.h common/dteq.h
worker/worker.h:
common/dteq.h:
