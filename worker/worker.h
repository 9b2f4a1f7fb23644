/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The agent's side: `dteq work`, its task slots and child supervision.
 * Includes dteq.h; never includes producer.h.
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

	/* Run settings, read from the run's meta hash on joining. */
	int			 lease;		/* s */
	int			 ttl;		/* s */
	size_t			 output_cap;	/* bytes per attempt */
	int			 stream;	/* announce output chunks */

	struct rconn		*rc_block;
	struct rconn		*rc_cmd;
	struct rconn		*rc_sub;
	struct cache		*cache;		/* served to the tasks, or NULL */

	int			 joined;	/* run meta seen */
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

	struct event		*ev_tick;
	struct event		*ev_sigterm;
	struct event		*ev_sigint;
	LIST_HEAD(, wtask)	 tasks;		/* tasks this agent holds */
};

/* work.c */
int		 work_main(int, char **);

/* worker.c */
void		 worker_start(struct worker *);
void		 worker_pop(struct worker *);
void		 worker_tick(struct worker *);
void		 worker_stop(struct worker *, const char *);
void		 worker_finish(struct worker *);
void		 worker_free_tasks(struct worker *);



/* proc.c */
struct proc;
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

#endif /* WORKER_H */
