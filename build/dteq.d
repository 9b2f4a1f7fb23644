build/dteq.o: dteq.c producer/producer.h common/dteq.h worker/worker.h
producer/producer.h:
common/dteq.h:
worker/worker.h:
