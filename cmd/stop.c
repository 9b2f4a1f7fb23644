/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Commands that act on a run from outside its submit: `dteq stop`
 * releases a run's agents (Nx's complete-ci-run), as the last submit of a
 * pipeline would. They use one synchronous connection; no event loop.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cmd.h"

static const char stop_usage[] =
    "usage: dteq stop [--redis URL] [--run ID] [--connect-timeout SECS]\n"
    "\n"
    "Release the agents of a run: they finish what they run, take no more\n"
    "and exit 0. A submit of the run still running ends at once with\n"
    "exit 3, its unfinished tasks left undone (dteq cancel kills them).\n"
    "Exit 0 when released; 2 bad usage or no such run (nothing written);\n"
    "3 Redis unreachable.\n";

/*
 * The main job of run k while a submit of it is alive (its heartbeat,
 * not a hand-over to a later submit), else NULL. Caller frees.
 */
static char *
stop_main_job(redisContext *c, const struct keys *k)
{
	redisReply	*reply;
	char		*job = NULL;

	if ((reply = redisCommand(c, "GET %s", k->main_hb)) == NULL)
		return (NULL);
	if (reply->type == REDIS_REPLY_STRING &&
	    strcmp(reply->str, "kept") != 0)
		job = xstrdup(reply->str);
	freeReplyObject(reply);
	return (job);
}

int
stop_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct cli_opts	 o;
	struct redis_url u;
	struct keys	 k;
	redisContext	*c;
	char		*run = NULL, *cause, *repo, *main_job;
	int		 ch, rv = EXIT_USAGE;

	memset(&u, 0, sizeof u);
	cli_init(&o, "dteq stop");
	optind = 0;
	while ((ch = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		switch (cli_option(&o, ch, optarg, &cause)) {
		case 1:
			continue;
		case -1:
			goto usage_error;
		}
		fputs(stop_usage, stderr);
		return (EXIT_USAGE);
	}
	if (o.help) {
		fputs(stop_usage, stdout);
		return (EXIT_OK);
	}
	if (cli_no_arguments(argc, argv, &cause) != 0 ||
	    cli_resolve(&o, &u, &run, &cause) != 0)
		goto usage_error;
	rv = EXIT_INFRA;
	if ((c = cli_connect(&u, o.connect_timeout, &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		goto out;
	}
	repo = cli_repo(&o);
	keys_init(&k, run, repo);
	free(repo);
	main_job = stop_main_job(c, &k);
	switch (script_stop_sync(c, &k, "done", DEFAULT_TTL, STOP_IF_RUN, NULL,
	    &cause)) {
	case STOP_WRITTEN:
		if (main_job != NULL)
			printf("run %s stopped: its agents finish the tasks "
			    "they run, take no more and exit 0; its submit "
			    "(main job %s) ends now with exit 3, the tasks "
			    "not yet finished left undone\n", run, main_job);
		else
			printf("run %s: agents released: they finish the "
			    "tasks they run and exit 0\n", run);
		rv = EXIT_OK;
		break;
	case STOP_NO_RUN:
		/* A sentinel for no run would end a later run of that id. */
		fprintf(stderr, "dteq stop: no run %s on this server; nothing "
		    "written\n", run);
		rv = EXIT_USAGE;
		break;
	default:
		log_warnx("setting the stop sentinel failed: %s", cause);
		free(cause);
		break;
	}
	free(main_job);
	keys_free(&k);
	redisFree(c);
	goto out;

usage_error:
	fprintf(stderr, "dteq stop: %s\n", cause);
	free(cause);
out:
	url_free(&u);
	free(run);
	return (rv);
}
