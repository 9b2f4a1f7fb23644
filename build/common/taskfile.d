build/common/taskfile.o: common/taskfile.c common/dteq.h
common/dteq.h:
