/* dteq: self-hosted distributed task execution over Redis. */

/*
 * main(): the global options and the subcommand table. Each subcommand
 * parses its own options in its own *_main.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "cmd.h"
#include "producer.h"
#include "worker.h"

struct dteq_cmd {
	const char	*name;
	const char	*summary;
	int		(*main)(int, char **);
};

static const struct dteq_cmd dteq_cmds[] = {
	{ "submit", "run a task graph on a run's agents (the main job)",
	    submit_main },
	{ "work", "serve a run as an agent", work_main },
	{ "run", "run a task graph locally: private Redis, N agents",
	    run_main },
	{ "stop", "release the agents of a run", stop_main },
	{ "status", "show a run's state (--list: the runs on the server)",
	    status_main },
	{ "cancel", "end a run now: agents kill its tasks", cancel_main },
	{ "logs", "print a task's stored output", logs_main },
	{ "record", "run a command in the main job and record it in the run",
	    record_main },
	{ "cache", "serve a remote cache for Nx and Turborepo from Redis",
	    cache_main },
	{ "nx-task", "run Nx tasks through the agent's long-lived Nx",
	    nxtask_main },
};

/* Print the top-level usage. */
static void
dteq_usage(FILE *f)
{
	size_t	i;

	fprintf(f, "usage: dteq [--version] [--help] COMMAND [ARGS]\n\n"
	    "Distributed task execution for monorepo CI over Redis.\n\n");
	for (i = 0; i < sizeof dteq_cmds / sizeof dteq_cmds[0]; i++)
		fprintf(f, "  %-9s %s\n", dteq_cmds[i].name,
		    dteq_cmds[i].summary);
	fprintf(f, "\nRun 'dteq COMMAND --help' for a command's options.\n");
}

int
main(int argc, char **argv)
{
	const struct dteq_cmd	*cmd = NULL;
	size_t			 i, len;
	int			 matches = 0;

	log_init("dteq", 0);
	spawn_ignore_sigpipe();
	if (argc < 2) {
		dteq_usage(stderr);
		return (EXIT_USAGE);
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("dteq %s (protocol %d)\n", DTEQ_VERSION, DTEQ_PROTOCOL);
		return (EXIT_OK);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		dteq_usage(stdout);
		return (EXIT_OK);
	}
	len = strlen(argv[1]);
	for (i = 0; i < sizeof dteq_cmds / sizeof dteq_cmds[0]; i++) {
		if (strcmp(argv[1], dteq_cmds[i].name) == 0) {
			cmd = &dteq_cmds[i];
			matches = 1;
			break;
		}
		if (len > 0 && strncmp(argv[1], dteq_cmds[i].name, len) == 0) {
			cmd = &dteq_cmds[i];
			matches++;
		}
	}
	if (matches != 1) {
		fprintf(stderr, "dteq: %s command \"%s\"\n", matches == 0 ?
		    "unknown" : "ambiguous", argv[1]);
		dteq_usage(stderr);
		return (EXIT_USAGE);
	}
	return (cmd->main(argc - 1, argv + 1));
}
