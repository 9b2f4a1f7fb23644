build/common/rconn.o: common/rconn.c common/dteq.h
common/dteq.h:
