build/common/log.o: common/log.c common/dteq.h
common/dteq.h:
