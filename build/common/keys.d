build/common/keys.o: common/keys.c common/dteq.h
common/dteq.h:
