/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The main job's side: `dteq submit`. Includes dteq.h, tools.h (the task
 * graphs of Nx and Turborepo) and cache.h (cached.c's lookups, the
 * replay's cache); never
 * worker.h. The files, in the order a run uses them:
 *
 *	submit.c	options (struct submit_opts), setup, exit code
 *	graph.c		the task graph and its readiness logic (pure)
 *	register.c	joining the run, before the loop
 *	sched.c		dispatch order
 *	history.c	the duration history sched.c estimates from
 *	ptask.c		a task's progress; ptask_set_state()
 *	loop.c		connections, the subscription, start, the tick
 *	dispatch.c	new attempts, staging, pushing, starts
 *	cached.c	tasks whose outputs the remote cache holds: not run
 *	warm.c		--nx: those tasks found and restored here first
 *	follow.c	events, results, output blocks, skipping
 *	end.c		the end check, stopping, aborting, the cancel poll
 *	report.c	what is printed as the run goes
 *	live.c		the live area on a terminal
 *	records.c	the commands `dteq record` recorded
 *	summary.c	the summary's numbers
 *	recap.c		what is printed at the end
 *	export.c	the report files' common ground; --json
 *	junit.c		the --junit file
 *	html.c		the --report file
 *	replayed.c	what the replay did, from the tool's output
 *	replay.c	the replay of an --nx or --turbo run here
 *
 * Calls go one way: in this order, each file uses only files before it,
 * so no two files call each other, not even through a third.
 *
 *	graph.c history.c sched.c ptask.c report.c live.c end.c
 *	dispatch.c cached.c warm.c follow.c loop.c register.c records.c
 *	summary.c
 *	export.c junit.c html.c recap.c replayed.c replay.c submit.c
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
void		 graph_digest(struct graph *, char [41]);

/*
 * ptask.c: one task's progress in this submit. The attempt is the fencing
 * token: only a result for the current attempt counts. The state changes
 * only through ptask_set_state(), which logs each transition.
 */
#define PT_WAITING	0	/* dependencies not done */
#define PT_QUEUED	1	/* pushed, not started */
#define PT_RUNNING	2	/* an agent started it */
#define PT_DONE		3	/* final: see result.status */
/* Its hash in the remote cache (cached.c). */
#define PT_CACHE_NO	0	/* not looked up: it runs */
#define PT_CACHE_UNKNOWN 1	/* to be looked up */
#define PT_CACHE_ASKING	2	/* looked up, no answer yet */
#define PT_CACHE_HIT	3	/* its outputs are there: not run */
#define PT_CACHE_MISS	4	/* not there: it runs */
struct ptask {
	int		 state;		/* PT_*: ptask_set_state() */
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
	int		 cache;		/* PT_CACHE_* */
	int		 checking;	/* PT_WAITING, ready: held until the
					   cache answers (PT_CACHE_ASKING) */
	int		 warm;		/* restored here before the run
					   (warm.c): the replay leaves it */
	struct result	 result;	/* the final (or latest) result */
	char		*reason;	/* why skipped, lost, ... */
	char		*avoid;		/* agent whose attempt failed */
};

/*
 * What the command line (and the DTEQ_* variables that tune submit) say,
 * parsed once by submit.c; the rest of the code reads it through a const
 * pointer and never changes it.
 */
struct submit_opts {
	struct cli_opts	 cli;		/* --redis --run --connect-timeout
					   -v -h */
	const char	*taskfile;	/* the task file, - for stdin */
	const char	*nx_args;	/* --nx: graph from Nx (tools/) */
	const char	*turbo_args;	/* --turbo: graph from Turborepo */
	const char	*graph_file;	/* --graph: a graph a tool wrote */
	const char	*stop_after;	/* --stop-agents-after: targets,
					   comma-separated */
	const char	*secret_file;	/* --secret-file */
	const char	*junit_path;	/* --junit */
	const char	*report_path;	/* --report (HTML) */
	const char	*json_path;	/* --json */
	int		 keep_agents;	/* --keep-agents */
	int		 fail_fast;	/* --fail-fast */
	int		 no_replay;	/* --no-replay */
	int		 no_cache_skip;	/* --no-cache-skip */
	int		 stream;	/* --stream: print lines live */
	int		 color;		/* --color: -1 auto, 0 never,
					   1 always */
	int		 timeout;	/* --timeout, s, 0: none */
	int		 agent_wait;	/* --agent-wait, s */
	int		 fallback_after; /* --fallback-after, s, 0: off */
	int		 lease;		/* --lease, s */
	int		 main_lease;	/* --main-lease, s: agents give up on
					   submit after */
	int		 retries;	/* --retries: for tasks without one */
	int		 max_reclaims;	/* --max-reclaims */
	size_t		 output_cap;	/* --output-cap, bytes */
	int		 ttl;		/* s every run key lives */
	int		 nostage;	/* DTEQ_STAGE=off: submit dispatches
					   every task itself */
};

/*
 * One submit: the run it drives, its connections, the tasks' progress and
 * the modules' states. submit.c creates it; the options stay in *o.
 */
struct report;
struct sched;
struct submit {
	const struct submit_opts *o;	/* as parsed; never changed */

	/* Resolved before the loop starts, then fixed. */
	struct redis_url url;
	char		*run;
	struct keys	 keys;
	char		*me;		/* this main job: the main key's value */
	char		 digest[41];	/* the graph's (graph_digest()) */
	char		*secret;	/* signs task messages, or NULL */
	struct graph	*g;
	int		 tool_parallel;	/* --parallel in the tool's args */
	int		 cache_skip;	/* tasks in the cache are not run
					   (cached.c) */
	pid_t		 nx_start;	/* `dteq nx-task --start` until
					   reaped (warm.c), or 0 */
	uint64_t	 records_since;	/* wall ms: a re-run shows only the
					   commands recorded from then on */

	struct ptask	*pt;		/* one per graph node */

	/* The loop and its connections (loop.c). */
	struct event_base *base;
	struct rconn	*rc_cmd;	/* commands and scripts */
	struct rconn	*rc_sub;	/* the events channel */
	struct event	*ev_tick;
	struct event	*ev_sigint;
	struct event	*ev_sigterm;

	/* The modules' own states. */
	struct report	*report;	/* report.c, summary.c */
	struct sched	*sched;		/* sched.c */

	/* Dispatching (dispatch.c). */
	size_t		 nstaged;	/* tasks staged now */
	int		 failing;	/* fail-fast: no more dispatch */
	int		 failskipped;	/* fail-fast: the rest reported */

	/* Following the run (follow.c, loop.c) and ending it (end.c). */
	int		 subscribed;	/* SUBSCRIBE confirmed */
	int		 begun;		/* roots dispatched */
	int		 ending;	/* stop sent, loop ending */
	size_t		 nfinal;	/* tasks in PT_DONE */
	size_t		 nprinting;	/* output fetches in flight */
	int		 reported;	/* summary out: print nothing more */
	int		 agents_alive;
	int		 agents_seen;	/* an agent was ever alive */
	int		 rejected;	/* messages agents refused */
	char		*refused;	/* "\nNAME\n..." refusals shown */
	unsigned int	 ticks;		/* seconds of the loop */
	uint64_t	 started;	/* ms, monotonic */
	uint64_t	 last_alive;	/* ms: an agent was last alive */
	uint64_t	 ended;
	char		*abort_reason;	/* set: exit 3 */
	uint64_t	 oom_since;	/* ms: Redis full since, or 0 */
	uint64_t	 seen_sent;	/* the last value written to seen */
	uint64_t	 seen_last;	/* the last one known written, or 0 */
	unsigned int	 memory_ticks;	/* ticks, for INFO memory */
	int		 memory_asked;	/* INFO sent: why the keys are gone */
	char		*stop_pending;	/* stop sentinel not yet acked */
	pid_t		 fallback_pid;	/* the main job's own agent */
	int		 fallback_failed; /* it could not be started */
};

/* submit.c */
int		 submit_main(int, char **);

/* fallback.c */
void		 fallback_tick(struct submit *, uint64_t);
void		 fallback_wait(struct submit *);

/* ptask.c */
const char	*ptask_state_name(int);
void		 ptask_set_state(struct submit *, size_t, int);
void		 ptask_clear(struct ptask *);

/* register.c */
int		 register_run(struct submit *, char **);

/* dispatch.c: new attempts, staging, pushing, starts. */
void		 dispatch_ready(struct submit *, const size_t *, size_t);
void		 dispatch_refill(struct submit *);
void		 dispatch_stage_next(struct submit *, const size_t *, size_t);
void		 dispatch_unstage(struct submit *, size_t);
int		 dispatch_retries(const struct submit *, size_t);
void		 dispatch_halt(struct submit *);
void		 dispatch_verify(struct submit *);
void		 dispatch_check_claims(struct submit *);
void		 dispatch_started(struct submit *, const char *, int,
		     const char *);

/* cached.c: tasks whose outputs the remote cache holds are not run. */
void		 cached_start(struct submit *);
void		 cached_lookup(struct submit *, const size_t *, size_t);
void		 cached_ready(struct submit *, const size_t *, size_t);
void		 cached_resend(struct submit *);

/* follow.c: events, results, output blocks, skipping. */
void		 follow_message(struct submit *, const char *, size_t);
void		 follow_result(struct submit *, const struct result *);
void		 follow_skip(struct submit *, size_t, const char *, int);
void		 follow_reconcile(struct submit *, int);
void		 follow_fail_fast(struct submit *);

/* end.c: the end check, stopping, aborting, the cancel poll. */
void		 end_check(struct submit *);
void		 end_stop(struct submit *, const char *);
void		 end_abort(struct submit *, const char *);
void		 end_cancel_poll(struct submit *);

/* loop.c: connections, the subscription, start, the tick. */
void		 loop_start(struct submit *);
void		 loop_tick(struct submit *);

/* history.c: the duration history of the workspace (for sched.c). */
struct history;
struct redisContext;
struct history	*history_new(const struct submit *);
const char	*history_key(const struct history *);
void		 history_load(struct history *, const struct submit *,
		     struct redisContext *, double *);
void		 history_put(struct history *, const struct submit *, size_t,
		     double);
void		 history_free(struct history *, const struct submit *);

/* sched.c */
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

/*
 * What submit prints (report.c as the run goes, live.c on a terminal,
 * recap.c at the end) and what it remembers of the run (s->report) for the
 * summary and the report files. summary.c fills the second half once the
 * run is over; export.c, junit.c and html.c write the --json, --junit
 * and --report files from it, reading a const struct submit.
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

/* An agent and the slots it offered (its --parallel). */
struct rslots {
	char		*agent;
	int		 slots;
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
	struct event	*ev_draw;	/* live.c: the redraw timer */
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
	size_t		 ncached;	/* succeeded from the cache: not run */
	char	       **lanes;		/* timeline rows: "agent #slot" */
	size_t		 nlanes;	/* the agents' slots */
	size_t		 nagents;	/* agents with a lane */

	/* record_collect(): commands recorded in the main job. */
	struct rrecord	*records;	/* by start time */
	size_t		 nrecords;
	size_t		 nrecfailed;	/* not succeeded */

	/* record_collect(): the slots each agent offered (slots:NAME). */
	struct rslots	*slots;
	size_t		 nslots;
};

/* The SGR sequences submit prints when colour is on (report_sgr()). */
#define SGR_RESET	"\033[0m"
#define SGR_BOLD	"\033[1m"
#define SGR_DIM		"\033[2m"
#define SGR_RED		"\033[31m"
#define SGR_GREEN	"\033[32m"
#define SGR_YELLOW	"\033[33m"
#define SGR_CYAN	"\033[36m"

/* report.c */
struct report	*report_get(struct submit *);
void		 report_init(struct submit *);
void		 report_free(struct submit *);
void		 report_started(struct submit *, size_t, const char *);
void		 report_log(struct submit *, size_t, int, const char *,
		     size_t);
void		 report_stream_lines(struct submit *, size_t, int);
void		 report_tick(struct submit *);
void		 report_block(struct submit *, size_t, const struct result *,
		     const char *, size_t, const char *);
void		 report_skipped(struct submit *, size_t);
void		 report_cached(struct submit *, size_t);
void		 report_note(struct submit *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
FILE		*report_begin(struct submit *);
void		 report_end(struct submit *);
const char	*report_sgr(const struct report *, const char *);
const char	*report_status_sgr(const struct report *, int);
void		 report_text(const struct report *, FILE *, const char *,
		     size_t);
void		 report_footer(const struct result *, char *, size_t);
struct report_counts {
	size_t		 done;
	size_t		 failed;	/* of done: not a success, not skipped */
	size_t		 running;
	size_t		 queued;	/* ready, for a free slot */
	size_t		 waiting;	/* on dependencies not finished */
};
int		 report_is_waiting(const struct submit *, size_t);
void		 report_count(const struct submit *, struct report_counts *);
char		*report_counts(const struct submit *);

/* live.c: the live area on a terminal. */
void		 live_start(struct submit *);
void		 live_stop(struct submit *);

/* recap.c: the end of the run on stdout, and the report files. */
int		 recap_print(struct submit *);

/* summary.c */
#define SUMMARY_FULL_MAX	40	/* past it, the log's table is short */
#define SUMMARY_SLOWEST		10	/* the slowest tasks it shows */
void		 summary_build(struct report *, const struct submit *);
size_t		 summary_short_rows(const struct submit *, size_t *, size_t *);
int		 summary_attempts(const struct submit *, size_t);
int		 summary_attempt(const struct submit *, size_t);
int		 summary_ran(const struct submit *, size_t);
int		 summary_is_flaky(const struct submit *, size_t);
int		 summary_is_failure(const struct submit *, size_t);
int		 summary_is_cached(const struct submit *, size_t);
const char	*summary_word(const struct submit *, size_t);
const char	*summary_tail(const struct submit *, size_t, size_t *);
/* export.c: the report files' common ground, and the --json file. */
char		*export_clean(const char *, size_t, size_t *);
void		 export_escape(FILE *, const char *, size_t);
FILE		*export_open(const char *, char **);
int		 export_close(FILE *, const char *, char **);
int		 export_json(const struct submit *, const char *, char **);

/* junit.c */
int		 junit_write(const struct submit *, const char *, char **);

/* html.c */
int		 html_write(const struct submit *, const char *, char **);

struct cache;

/* warm.c: an --nx run's cache hits, restored here before the run. */
#define WARM_ENV_MAX	8
size_t		 warm_tool_env(struct submit *, struct cache *, char **);
char	       **warm_nx_argv(struct submit *, const size_t *, size_t,
		     const char *const *, size_t *);
void		 warm_argv_free(char **);
int		 warm_start(struct submit *, void (*)(struct submit *));
void		 warm_prestart(struct submit *);

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
#define REPLAY_ID	"replay"	/* the record of its output */
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

/* replayed.c: per target, the tasks the replay read from the cache. */
struct replayed_task {
	const char	*id;
	const char	*target;
};
struct replayed {
	char		*target;
	size_t		 total;
	size_t		 hits;
	size_t		 unseen;	/* not in the tool's output */
	char		*ran;		/* "ID, ID": ran here, or NULL */
};
size_t		 replayed_count(int, const char *, size_t,
		     const struct replayed_task *, size_t, struct replayed **);
void		 replayed_free(struct replayed *, size_t);

#endif /* PRODUCER_H */
