/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The side commands: each looks at or acts on a run from outside its
 * submit, with one synchronous connection and no event loop: status.c,
 * cancel.c and logs.c (sharing look.c), stop.c, record.c. run.c, the
 * local supervisor, runs Redis, agents and a submit as child processes.
 * Includes dteq.h and tools.h; never producer.h or worker.h.
 */

#ifndef CMD_H
#define CMD_H

#include "dteq.h"
#include "tools.h"

struct redisContext;
struct redisReply;

/* look.c: what status, cancel and logs share. */
struct look {
	struct cli_opts	 o;		/* the shared options */
	struct redis_url u;
	char		*run;		/* NULL: no run (status --list) */
	struct keys	 k;		/* the run's keys */
	struct redisContext *c;
};
void		 look_init(struct look *, const char *);
int		 look_usage_error(const struct look *, char *);
int		 look_unknown_option(const struct look *);
int		 look_connect(struct look *, int);
void		 look_close(struct look *);
char		*look_string(const struct redisReply *);
long long	 look_number(const struct redisReply *, long long);

/* status.c */
int		 status_main(int, char **);

/* cancel.c */
int		 cancel_main(int, char **);

/* logs.c */
int		 logs_main(int, char **);

/* stop.c */
int		 stop_main(int, char **);

/* record.c */
int		 record_main(int, char **);

/* nxtask.c */
int		 nxtask_main(int, char **);

/* run.c */
int		 run_main(int, char **);

#endif /* CMD_H */
