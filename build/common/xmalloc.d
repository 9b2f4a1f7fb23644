build/common/xmalloc.o: common/xmalloc.c common/dteq.h
common/dteq.h:
