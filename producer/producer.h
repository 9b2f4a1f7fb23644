/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The main job's side: `dteq submit`, `dteq run` and the pure task-graph
 * logic they share. Includes dteq.h; never includes worker.h.
 */

#ifndef PRODUCER_H
#define PRODUCER_H

#include "dteq.h"

/*
 * graph.c: the validated task graph and its readiness logic. Pure: no I/O,
 * no Redis, no event loop. Nodes are indexed 0..nnodes-1 in task-file order.
 */
struct node {
	struct task	*task;		/* points into graph->ts */
	size_t		*deps;		/* indices of the tasks it needs */
	size_t		 ndeps;
	size_t		*dependents;	/* indices of the tasks needing it */
	size_t		 ndependents;
	size_t		 pending;	/* deps not yet succeeded */
	int		 done;		/* finished: succeeded, failed, skipped */
};
struct graph;
#define GRAPH_NONE	((size_t)-1)

struct graph	*graph_new(struct taskset *, char **);
void		 graph_free(struct graph *);
size_t		 graph_size(const struct graph *);
struct node	*graph_node(struct graph *, size_t);
size_t		 graph_find(const struct graph *, const char *);
size_t		 graph_roots(const struct graph *, size_t **);
size_t		 graph_succeeded(struct graph *, size_t, size_t **);
size_t		 graph_failed(struct graph *, size_t, size_t **);

/* submit.c */
int		 submit_main(int, char **);

/* run.c */
int		 run_main(int, char **);

#endif /* PRODUCER_H */
