build/producer/follow.o: producer/follow.c producer/producer.h \
 common/dteq.h
producer/producer.h:
common/dteq.h:
