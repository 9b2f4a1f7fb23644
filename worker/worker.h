/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The agent's side: `dteq work`. Its files, in the order a task meets
 * them:
 *
 *   work.c	the subcommand: options, start-up checks, signals, the loop
 *   agent.c	the agent in its run: joining, the heartbeat, the control
 *		channel, stopping and leaving
 *   worker.c	the task slots: the queue pop, a task's start, its children
 *		(restore commands, then its command) and its finish
 *   wtask.c	a held task: made of a checked message (or the message
 *		refused, or handed back), its state, freed
 *   restore.c	the outputs of its dependencies a task needs first: which
 *		restore command runs next, the lock, what is here
 *   env.c	the child's environment
 *   proc.c	the child process (it knows nothing of Redis)
 *   output.c	the child's output: buffered, capped, appended to its log
 *
 * Includes dteq.h (and, in work.c, cache.h); never includes producer.h.
 */

#ifndef WORKER_H
#define WORKER_H

#include <sys/queue.h>

#include "dteq.h"

/*
 * The agent: one per `dteq work` process. Its connections each have one
 * role: rc_block carries only the blocking BLMOVE, rc_cmd everything else
 * (scripts, logs, heartbeats), rc_sub the run's control channel
 * (run and stop events; task events go to submit alone).
 */
struct wtask;
struct cache;
struct proc;
struct proc_status;
struct worker {
	struct event_base	*base;
	struct redis_url	 url;
	struct keys		 keys;
	char			*run;
	char			*name;
	char			*running;	/* this agent's running list */
	char			*hb;		/* this agent's heartbeat key */
	struct script_agent	 sa;		/* the above, for the scripts */
	int			 parallel;
	int			 parallel_set;	/* --parallel given */
	int			 wait;		/* s to wait for the run */
	int			 await_rerun;	/* a re-run job found the run
						   ended: wait for its re-run */
	int			 ended_seen;	/* the last GET stop: set */

	/* Run settings, read from the run's meta hash on joining. */
	int			 lease;		/* s */
	int			 ttl;		/* s */
	size_t			 output_cap;	/* bytes per attempt */
	int			 stream;	/* announce output chunks */

	struct rconn		*rc_block;
	struct rconn		*rc_cmd;
	struct rconn		*rc_sub;
	struct cache		*cache;		/* served to the tasks, or NULL */
	char			*cache_url;	/* its base URL, or NULL */

	int			 joined;	/* run meta seen */
	char			*instance;	/* this process's token, in its
						   heartbeat's value */
	int			 join_pending;	/* joined, its lease not yet
						   taken: no pop */
	int			 ever_joined;	/* a join went through once */
	uint64_t		 hb_sent;	/* heartbeats sent, */
	uint64_t		 hb_replied;	/* their replies (in order), */
	uint64_t		 hb_rejoin;	/* and the number of the last
						   rejoin after a lost lease */
	uint64_t		 oom_since;	/* ms: a write refused for lack
						   of memory since, or 0 */
	int			 memory_asked;	/* INFO memory in flight */
	uint64_t		 main_seen;	/* ms the main job was last seen
						   alive, 0: never yet */
	uint64_t		 name_taken;	/* ms since which another
						   process holds the name */
	int			 left_waiting;	/* said an earlier agent's
						   tasks await submit */
	int			 popping;	/* a BLMOVE is in flight */
	int			 folding;	/* finishes that pop, too */
	int			 adopting;	/* such a finish was cut off */
	int			 nrunning;	/* tasks held (any state) */
	int			 ntasks;	/* tasks run, for the log */
	int			 stopping;	/* no more pops */
	char			*stop_reason;
	int			 exit_code;
	uint64_t		 started;	/* ms, monotonic */

	char			*secret;	/* DTEQ_SECRET: tasks signed */
	char			*commit;	/* git HEAD here, or NULL */
	int			 allow_mismatch; /* --allow-commit-mismatch */
	int			 warned_unsigned;
	int			 rejected;	/* messages refused */
	char			*defer_id;	/* retry being handed back */
	int			 defer_count;
	uint64_t		 defer_until;	/* ms: pause popping */

	char		       **base_env;	/* environ, filtered */
	size_t			 nbase_env;
	char			*env_run;	/* "DTEQ_RUN=..." and */
	char			*env_agent;	/* "DTEQ_AGENT=...", shared */
	uint64_t		 results_ttl;	/* ms: results' TTL renewed */
	uint64_t		 ttl_renewed;	/* ms: the heartbeat renewed
						 * the agent keys' TTLs */

	/*
	 * Restores: the ids of the tasks whose outputs are on this
	 * checkout (sorted), and the task restoring now (one at a time).
	 */
	char		       **present;
	size_t			 npresent;
	struct wtask		*restorer;

	/*
	 * What the task slots tell the agent above them (agent_start()
	 * sets both): a pop waited for nothing (look at the run again), and
	 * the last task held is gone while stopping (leave).
	 */
	void			(*pop_timeout_cb)(struct worker *);
	void			(*drained_cb)(struct worker *);

	struct event		*ev_tick;
	struct event		*ev_sigterm;
	struct event		*ev_sigint;
	LIST_HEAD(, wtask)	 tasks;		/* tasks this agent holds */
};

/*
 * One task this agent holds: one attempt, from its message to the ack of
 * its finish (wtask.c makes and frees it, worker.c runs it). Its state
 * moves forward only (wtask_set_state()).
 */
#define WT_STARTING	0	/* start script sent */
#define WT_RUNNING	1	/* restoring, or its child running */
#define WT_FINISHING	2	/* finish script sent */
struct wtask {
	struct worker		*w;
	LIST_ENTRY(wtask)	 entry;
	int			 state;
	int			 inflight;	/* a start/finish reply is due */
	int			 acked;		/* the finish script answered */
	int			 pops;		/* its finish pops the next */
	uint64_t		 ttl_asked;	/* ms: its finish renews the
						 * results' TTL (0: not) */
	int			 start_sent;	/* the start script went once */
	int			 folded;	/* did not come by BLMOVE */
	char			*msg;		/* the message, verbatim */
	size_t			 msglen;
	struct task_msg		 m;
	struct proc		*proc;
	char			*logkey;
	char			*attempt;	/* m.attempt as a string */
	struct script_attempt	 sat;		/* the above, for the scripts */

	/* Output (output.c). */
	char			*out;		/* output not yet appended */
	size_t			 outlen;
	size_t			 logged;	/* bytes appended or queued */
	uint64_t		 output_total;	/* bytes the task printed */
	struct clip		 clip;		/* what the cap keeps */
	struct event		*ev_flush;

	struct result		 result;
	char			*result_json;
	uint64_t		 began;		/* ms, monotonic: its restores
						 * and command share its
						 * timeout from here */

	/* Restores (restore.c). */
	int			 restored;	/* restores done: run it */
	int			 restore_wait;	/* for the restore lock */
	int			 inline_held;	/* its command restores, locked */
	size_t			*group;		/* restores being run */
	size_t			 ngroup;
};

/* work.c */
int		 work_main(int, char **);

/* agent.c */
void		 agent_start(struct worker *);
void		 agent_tick(struct worker *);
void		 agent_stop(struct worker *, const char *);
void		 agent_oom(struct worker *, const char *);

/* worker.c */
void		 worker_pop(struct worker *);
int		 worker_adopt(struct worker *);
void		 worker_resend(struct worker *, int);
void		 worker_kill_tasks(struct worker *, const char *);
void		 worker_free_tasks(struct worker *);
int		 worker_children(struct worker *);

/* output.c */
void		 output_child_cb(struct proc *, const char *, size_t, void *);
void		 output_printf(struct wtask *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 output_flush(struct wtask *);
void		 output_end(struct wtask *);
void		 output_free(struct wtask *);

/* wtask.c: how a message came */
#define WT_POPPED	0	/* by BLMOVE */
#define WT_FOLDED	1	/* with a finish */
#define WT_ADOPTED	2	/* found in the running list */
void		 wtask_set_state(struct wtask *, int);
void		 wtask_refused(struct worker *, long long);
struct wtask	*wtask_new(struct worker *, const char *, size_t, int,
		    struct redisReply **, int *);
void		 wtask_free(struct wtask *);

/* restore.c */
#define RESTORE_NONE	0	/* nothing missing: run the command */
#define RESTORE_BY_TASK	1	/* run the command, which restores, locked */
#define RESTORE_WAIT	2	/* another task holds the restore lock */
#define RESTORE_SPAWN	3	/* run a restore command first, locked */
int		 restore_run(struct wtask *, char **);
char		*restore_ended(struct wtask *, int, int);
int		 restore_release(struct wtask *);
struct wtask	*restore_waiter(struct worker *);
void		 restore_succeeded(struct wtask *);
void		 restore_free(struct worker *);

/* env.c */
void		 env_init(struct worker *);
void		 env_add(struct worker *, const char *, const char *);
char	       **env_task(struct wtask *, size_t *);
void		 env_task_free(struct worker *, char **, size_t);
void		 env_free(struct worker *);

/* proc.c */
#define PROC_GRACE	5		/* s between TERM and KILL */
#define PROC_EXITED	0	/* exited by itself */
#define PROC_SIGNALLED	1	/* killed by a signal not ours */
#define PROC_TIMED_OUT	2	/* killed at its deadline */
#define PROC_KILLED	3	/* killed by proc_kill() */
struct proc_status {
	int		 how;		/* PROC_* */
	int		 code;		/* exit status or 128 + signal */
};
typedef void (*proc_output_cb)(struct proc *, const char *, size_t, void *);
typedef void (*proc_exit_cb)(struct proc *, const struct proc_status *,
		     void *);
struct proc_spec {
	const char	*command;
	const char	*cwd;		/* NULL: inherit */
	char	       **env;		/* the child's whole environment */
	int		 timeout;	/* s, 0: none */
	proc_output_cb	 output_cb;
	proc_exit_cb	 exit_cb;
	void		*arg;
};
struct proc	*proc_start(struct event_base *, const struct proc_spec *,
		     char **);
void		 proc_kill(struct proc *);
void		 proc_kill_all(int);
pid_t		 proc_pid(const struct proc *);
int		 proc_count(void);
void		 proc_poll(void);
char	       **proc_words(const char *);

/* reaper.c */
void		 reaper_start(void);
void		 reaper_watch(pid_t);
void		 reaper_forget(pid_t);

#endif /* WORKER_H */
