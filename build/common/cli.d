build/common/cli.o: common/cli.c common/dteq.h
common/dteq.h:
