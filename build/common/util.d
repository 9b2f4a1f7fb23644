build/common/util.o: common/util.c common/dteq.h
common/dteq.h:
