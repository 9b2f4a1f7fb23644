build/producer/control.o: producer/control.c producer/producer.h \
 common/dteq.h
producer/producer.h:
common/dteq.h:
