build/worker/proc.o: worker/proc.c worker/worker.h common/dteq.h
worker/worker.h:
common/dteq.h:
