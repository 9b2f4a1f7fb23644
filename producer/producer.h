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

/*
 * One task's progress in this submit. The attempt is the fencing token:
 * only a result for the current attempt counts.
 */
#define PT_WAITING	0	/* dependencies not done */
#define PT_QUEUED	1	/* pushed, not started */
#define PT_RUNNING	2	/* an agent started it */
#define PT_DONE		3	/* final: see result.status */
struct ptask {
	int		 state;
	int		 attempt;	/* current attempt number */
	int		 tries;		/* attempts dispatched by this submit */
	int		 lost;		/* times reclaimed from a lost agent */
	int		 fetching;	/* final failure, block not yet out */
	struct result	 result;	/* the final (or latest) result */
	char		*reason;	/* why skipped, lost, ... */
};

struct submit {
	/* Options. */
	const char	*taskfile;
	const char	*redis_arg;
	const char	*run_arg;
	const char	*stop_after;	/* comma-separated targets */
	int		 keep_agents;
	int		 fail_fast;
	int		 timeout;	/* s, 0: none */
	int		 agent_wait;	/* s */
	int		 connect_timeout;
	int		 lease;
	int		 retries;	/* default for tasks without one */
	int		 max_reclaims;
	int		 ttl;
	size_t		 output_cap;
	int		 help;
	const char	*junit_path;	/* --junit */
	const char	*report_path;	/* --report (HTML) */
	const char	*json_path;	/* --json */
	int		 stream;	/* --stream: print lines live */
	int		 color;		/* --color: -1 auto, 0 never, 1 always */
	void		*report;	/* report.c's own state */
	void		*sched;		/* sched.c's own state */

	struct redis_url url;
	char		*run;
	struct keys	 keys;
	struct graph	*g;
	struct ptask	*pt;		/* one per graph node */

	struct event_base *base;
	struct rconn	*rc_cmd;
	struct rconn	*rc_sub;
	struct event	*ev_tick;
	struct event	*ev_sigint;
	struct event	*ev_sigterm;

	int		 subscribed;	/* SUBSCRIBE confirmed */
	int		 begun;		/* roots dispatched */
	int		 failing;	/* fail-fast: no more dispatch */
	int		 ending;	/* stop sent, loop ending */
	size_t		 nfinal;	/* tasks in PT_DONE */
	size_t		 nprinting;	/* output fetches in flight */
	int		 agents_alive;
	int		 agents_seen;	/* an agent was ever alive */
	uint64_t	 started;	/* ms, monotonic */
	uint64_t	 last_alive;	/* ms: an agent was last alive */
	uint64_t	 ended;
	char		*abort_reason;	/* set: exit 3 */
};

/* submit.c */
int		 submit_main(int, char **);

/* follow.c */
void		 submit_start(struct submit *);
void		 submit_tick(struct submit *);
void		 submit_abort(struct submit *, const char *);
void		 submit_fail_fast(struct submit *);

/* sched.c */
struct redisContext;
void		 sched_init(struct submit *, struct redisContext *);
void		 sched_sort(struct submit *, size_t *, size_t);
int		 sched_urgent(struct submit *, size_t);
void		 sched_record(struct submit *, size_t, const struct result *);
void		 sched_free(struct submit *);

/* report.c */
void		 report_init(struct submit *);
void		 report_started(struct submit *, size_t, const char *);
void		 report_log(struct submit *, size_t, int, const char *,
		     size_t);
void		 report_tick(struct submit *);
void		 report_block(struct submit *, size_t, const struct result *,
		     const char *, size_t, const char *);
void		 report_skipped(struct submit *, size_t);
void		 report_note(struct submit *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
int		 submit_report(struct submit *);

/* run.c */
int		 run_main(int, char **);

/* control.c */
int		 stop_main(int, char **);

#endif /* PRODUCER_H */
