build/common/url.o: common/url.c common/dteq.h
common/dteq.h:
