/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Dispatch order. submit_dispatch() asks sched_sort() to order a batch of
 * ready tasks (most urgent first) and sched_urgent() whether a task jumps
 * the queue (pushed at the popping end) or waits its turn.
 *
 * This first version is plain FIFO: readiness order, nobody jumps.
 */

#include <stdlib.h>

#include "producer.h"

/* Load what scheduling needs before the run starts. */
void
sched_init(struct submit *s, struct redisContext *c)
{
	(void)s;
	(void)c;
}

/* Order idx[0..n) most urgent first. */
void
sched_sort(struct submit *s, size_t *idx, size_t n)
{
	(void)s;
	(void)idx;
	(void)n;
}

/* Does task i go to the front of the queue? */
int
sched_urgent(struct submit *s, size_t i)
{
	(void)s;
	(void)i;
	return (0);
}

/* Task i succeeded with result r: remember its duration. */
void
sched_record(struct submit *s, size_t i, const struct result *r)
{
	(void)s;
	(void)i;
	(void)r;
}

/* Free what sched_init() loaded. */
void
sched_free(struct submit *s)
{
	(void)s;
}
