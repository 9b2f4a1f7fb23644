/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The side commands: each looks at or acts on a run from outside its
 * submit, with one synchronous connection and no event loop (run.c, the
 * local supervisor, runs Redis, agents and a submit as child processes).
 * Includes dteq.h and tools.h; never producer.h or worker.h.
 */

#ifndef CMD_H
#define CMD_H

#include "dteq.h"
#include "tools.h"

/* status.c */
int		 status_main(int, char **);
int		 cancel_main(int, char **);
int		 logs_main(int, char **);

/* stop.c */
int		 stop_main(int, char **);

/* record.c */
int		 record_main(int, char **);

/* run.c */
int		 run_main(int, char **);

#endif /* CMD_H */
