build/common/script.o: common/script.c common/dteq.h
common/dteq.h:
