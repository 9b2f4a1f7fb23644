build/producer/report.o: producer/report.c producer/producer.h \
 common/dteq.h
producer/producer.h:
common/dteq.h:
