build/producer/run.o: producer/run.c producer/producer.h common/dteq.h
producer/producer.h:
common/dteq.h:
