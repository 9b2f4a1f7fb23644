build/common/result.o: common/result.c common/dteq.h
common/dteq.h:
