build/producer/graph.o: producer/graph.c producer/producer.h \
 common/dteq.h
producer/producer.h:
common/dteq.h:
