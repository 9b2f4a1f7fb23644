build/worker/worker.o: worker/worker.c worker/worker.h common/dteq.h
worker/worker.h:
common/dteq.h:
