build/producer/submit.o: producer/submit.c producer/producer.h \
 common/dteq.h
producer/producer.h:
common/dteq.h:
