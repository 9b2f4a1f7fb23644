/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The agent's side: `dteq work`, its task slots and child supervision.
 * Includes dteq.h; never includes producer.h.
 */

#ifndef WORKER_H
#define WORKER_H

#include "dteq.h"

/* work.c */
int		 work_main(int, char **);

#endif /* WORKER_H */
