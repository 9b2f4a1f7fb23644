build/common/task.o: common/task.c common/dteq.h
common/dteq.h:
