/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The main job's side: `dteq submit`, `dteq run` and the pure task-graph
 * logic they share. Includes dteq.h; never includes worker.h.
 */

#ifndef PRODUCER_H
#define PRODUCER_H

#include <stdio.h>

#include "dteq.h"
#include "tools.h"

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
size_t		*graph_order(const struct graph *);
size_t		 graph_succeeded(struct graph *, size_t, size_t **);
size_t		 graph_failed(struct graph *, size_t, size_t **);
size_t		 graph_restores(struct graph *, size_t, struct task ***);

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
	int		 restored;	/* final before this submit (resume) */
	int		 present;	/* resume: its message was found */
	int		 staged;	/* PT_QUEUED, but its message waits
					   in staged for its dependencies */
	int		 held;		/* PT_WAITING, ready: sched.c holds
					   it back for more urgent ones */
	int		 killed;	/* its agent killed it: run stopped */
	struct result	 result;	/* the final (or latest) result */
	char		*reason;	/* why skipped, lost, ... */
	char		*avoid;		/* agent whose attempt failed */
};

struct submit {
	/* Options. */
	const char	*taskfile;
	const char	*redis_arg;
	const char	*run_arg;
	const char	*stop_after;	/* comma-separated targets */
	int		 no_replay;	/* --no-replay */
	const char	*nx_args;	/* --nx: graph from Nx (toolgraph.c) */
	const char	*turbo_args;	/* --turbo: graph from Turborepo */
	const char	*graph_file;	/* --graph: a graph a tool wrote */
	int		 tool_parallel;	/* --parallel in the tool's args */
	int		 keep_agents;
	int		 fail_fast;
	int		 nostage;	/* DTEQ_STAGE=off: submit dispatches all */
	size_t		 nstaged;	/* tasks staged now */
	int		 timeout;	/* s, 0: none */
	int		 agent_wait;	/* s */
	int		 connect_timeout;
	int		 lease;
	int		 retries;	/* default for tasks without one */
	int		 max_reclaims;
	int		 main_lease;	/* s: agents give up on submit after */
	const char	*secret_file;
	char		*secret;	/* signs task messages, or NULL */
	int		 rejected;	/* messages agents refused */
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
	int		 failskipped;	/* fail-fast: the rest reported */
	int		 ending;	/* stop sent, loop ending */
	size_t		 nfinal;	/* tasks in PT_DONE */
	size_t		 nprinting;	/* output fetches in flight */
	int		 reported;	/* summary out: print nothing more */
	int		 agents_alive;
	int		 agents_seen;	/* an agent was ever alive */
	char		*refused;	/* "\nNAME\n..." refusals shown */
	unsigned int	 ticks;		/* seconds of the loop */
	uint64_t	 started;	/* ms, monotonic */
	uint64_t	 last_alive;	/* ms: an agent was last alive */
	uint64_t	 ended;
	uint64_t	 records_since;	/* wall ms: a re-run shows only the
					   commands recorded from then on */
	char		*abort_reason;	/* set: exit 3 */
	char		*stop_pending;	/* stop sentinel not yet acked */
};

/* submit.c */
int		 submit_main(int, char **);

/* register.c */
int		 submit_register(struct submit *, char **);

/* follow.c */
void		 submit_start(struct submit *);
void		 submit_tick(struct submit *);
void		 submit_abort(struct submit *, const char *);
void		 submit_fail_fast(struct submit *);

/* sched.c */
struct redisContext;
void		 sched_init(struct submit *, struct redisContext *);
void		 sched_ready(struct submit *, const size_t *, size_t);
size_t		 sched_nheld(struct submit *);
size_t		 sched_take(struct submit *, size_t *, int *);
size_t		 sched_above_held(struct submit *, size_t *, size_t);
#define SCHED_STAGE_NO		0
#define SCHED_STAGE_FIFO	1
#define SCHED_STAGE_URGENT	2
int		 sched_stage(struct submit *, size_t);
void		 sched_released(struct submit *, size_t);
void		 sched_record(struct submit *, size_t, const struct result *);
void		 sched_free(struct submit *);
double		 sched_rank_of(struct submit *, size_t);
void		 sched_history_set(struct submit *, size_t, double);

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

/*
 * What report.c remembers of the run (s->report) for the summary and the
 * report files. summary.c fills the second half once the run is over;
 * summary.c, junit.c and html.c write the --json, --junit and --report
 * files from it.
 */
struct rattempt {
	size_t		 task;		/* graph index */
	int		 attempt;
	int		 status;	/* RESULT_* */
	int		 exit_code;
	int		 final;		/* the task's last attempt */
	char		*agent;
	uint64_t	 start_ms;	/* wall clock of the agent */
	uint64_t	 end_ms;
	uint64_t	 duration_ms;
	char		*tail;		/* the end of its output */
	size_t		 taillen;
	size_t		 lane;		/* timeline row (summary.c) */
};
struct rtask {
	size_t		 last;		/* its last attempt, or GRAPH_NONE */
	uint64_t	 work_ms;	/* durations of all its attempts */
	uint64_t	 since;		/* monotonic ms: started running */
	char		*agent;		/* where it runs now */
	char		*partial;	/* --stream: a line not yet ended */
	size_t		 partlen;
	int		 streamed_attempt; /* --stream: the attempt whose */
	uint64_t	 streamed;	/* bytes arrived live */
	uint64_t	 path_ms;	/* longest path of work ending here */
	size_t		 path_prev;	/* previous task on it, GRAPH_NONE */
	int		 critical;	/* on the critical path */
};
/*
 * A command `dteq record` ran in the main job and recorded in the run,
 * read from the records hash when the run is over (record_collect()).
 * Shown apart from the graph's tasks: it is not in the graph, ran on no
 * agent and does not change submit's exit status.
 */
struct rrecord {
	struct result	 result;	/* its latest recording */
	char		*tail;		/* the end of its output */
	size_t		 taillen;
};
struct report {
	int		 tty;		/* stdout is a terminal: live area */
	int		 color;		/* ANSI colours */
	int		 utf8;		/* the terminal takes UTF-8 */
	struct rtask	*tasks;		/* one per graph node */
	struct rattempt	*attempts;	/* in the order they finished */
	size_t		 nattempts;
	uint64_t	 start_wall;	/* wall clock ms when submit began */
	uint64_t	 last_note;	/* monotonic ms of the last progress */
	char		*last_counts;	/* what the last progress line said */
	int		 drawn;		/* rows of the live area on screen */
	int		 dirty;		/* the live area needs a redraw */
	struct event	*ev_draw;
	struct event	*ev_flush;	/* stdout, at the end of a loop turn */

	/* summary_build(): */
	size_t		*order;		/* task indices, failures last */
	size_t		*path;		/* the critical path, first to last */
	size_t		 npath;
	uint64_t	 path_ms;
	uint64_t	 wall_ms;	/* submit's wall time */
	uint64_t	 work_ms;	/* the sum of task times */
	uint64_t	 span_ms;	/* timeline: start_wall to last end */
	size_t		 counts[RESULT_NSTATUS];
	size_t		 nfailed;	/* failed, timed out, lost, cancelled */
	size_t		 unfinished;	/* not final (the run was aborted) */
	size_t		 flaky;
	char	       **lanes;		/* timeline rows: "agent #slot" */
	size_t		 nlanes;

	/* record_collect(): commands recorded in the main job. */
	struct rrecord	*records;	/* by start time */
	size_t		 nrecords;
	size_t		 nrecfailed;	/* not succeeded */
};

/* summary.c */
void		 summary_build(struct submit *);
int		 summary_is_flaky(const struct submit *, size_t);
int		 summary_is_failure(const struct submit *, size_t);
const char	*summary_word(const struct submit *, size_t);
const char	*summary_tail(const struct submit *, size_t, size_t *);
char		*summary_clean(const char *, size_t, size_t *);
void		 summary_escape(FILE *, const char *, size_t);
FILE		*summary_open(const char *, char **);
int		 summary_close(FILE *, const char *, char **);
int		 summary_write_json(struct submit *, const char *, char **);

/* junit.c */
int		 junit_write(struct submit *, const char *, char **);

/* html.c */
int		 html_write(struct submit *, const char *, char **);

/* records.c: the commands `dteq record` recorded in the run. */
void		 record_collect(struct submit *);

/*
 * replay.c. After a run with failures, the tasks that succeeded are
 * replayed in groups of one target (and Nx configuration) each.
 */
struct replay_group {
	char		*target;	/* Nx target or Turborepo task */
	char		*conf;		/* Nx configuration, or NULL */
	char	       **names;		/* its projects or packages */
	size_t		 nnames;
	size_t		 depth;		/* of its shallowest task in the graph */
	size_t		 first;		/* graph index of its first task */
};
int		 replay_run(struct submit *);
int		 replay_split_id(int, const char *, const char *, char **,
		     char **);
size_t		 replay_groups(struct submit *, int, struct replay_group **,
		     size_t *);
void		 replay_groups_free(struct replay_group *, size_t);
char	       **replay_group_argv(int, const char *,
		     const struct replay_group *, char *const *, size_t,
		     char **);
void		 replay_argv_free(char **);

#endif /* PRODUCER_H */
