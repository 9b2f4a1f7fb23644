/* dteq: self-hosted distributed task execution over Redis. */

/*
 * `dteq cancel`: end a run from any machine that reaches its Redis. One
 * stop script (script_stop_sync, STOP_KEEP | STOP_IF_RUN | STOP_STATE)
 * writes the stop sentinel with reason "cancelled", the run's state and
 * a stop event, unless the run had ended or does not exist: agents kill
 * their tasks and leave, and the submit exits 3.
 *
 * The submit side of a cancel is end_cancel_poll() (producer/end.c), which
 * the running submit calls once a second from its tick: a "cancelled"
 * stop sentinel ends its run at once with exit 3.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

static const char cancel_usage[] =
    "usage: dteq cancel [--redis URL] [--run ID] [--connect-timeout SECS]\n"
    "\n"
    "End a run now: its agents kill the tasks they run and exit, and its\n"
    "submit exits 3. Exit 0 when the run is ended (or had ended); 1 when\n"
    "there is no such run; 2 bad usage; 3 Redis unreachable.\n";

/* Stop the run l names; the exit code. */
static int
cancel_run(struct look *l)
{
	char	*stop = NULL, *cause;
	int	 rv = EXIT_OK;

	switch (script_stop_sync(l->c, &l->k, "cancelled", DEFAULT_TTL,
	    STOP_KEEP | STOP_IF_RUN | STOP_STATE, &stop, &cause)) {
	case STOP_NO_RUN:
		fprintf(stderr, "dteq cancel: no run %s on this server\n",
		    l->run);
		rv = EXIT_TASKS_FAILED;
		break;
	case STOP_HAD:
		printf("run %s had already ended (%s)\n", l->run, stop);
		break;
	case STOP_WRITTEN:
		printf("run %s cancelled\n", l->run);
		break;
	default:
		log_warnx("Redis: %s", cause);
		free(cause);
		rv = EXIT_INFRA;
		break;
	}
	free(stop);
	return (rv);
}

/* `dteq cancel`. */
int
cancel_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct look	 l;
	char		*cause;
	int		 ch, rv;

	look_init(&l, "dteq cancel");
	optind = 0;
	while ((ch = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		switch (cli_option(&l.o, ch, optarg, &cause)) {
		case 1:
			if (l.o.help) {
				fputs(cancel_usage, stdout);
				return (EXIT_OK);
			}
			continue;
		case -1:
			return (look_usage_error(&l, cause));
		}
		return (look_unknown_option(&l));
	}
	if (cli_no_arguments(argc, argv, &cause) != 0)
		return (look_usage_error(&l, cause));
	if ((rv = look_connect(&l, 1)) == EXIT_OK)
		rv = cancel_run(&l);
	look_close(&l);
	return (rv);
}
