build/common/runid.o: common/runid.c common/dteq.h
common/dteq.h:
