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
    "Release the agents of a run: they finish what they run and exit 0.\n";

int
stop_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connect-timeout", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "redis", required_argument, NULL, 'r' },
		{ "run", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	struct redis_url u;
	struct keys	 k;
	redisContext	*c;
	redisReply	*reply;
	const char	*redis = NULL, *runarg = NULL;
	char		*run = NULL, *cause, *ev;
	int		 ch, timeout = DEFAULT_CONNECT_TIMEOUT, rv = EXIT_OK;

	memset(&u, 0, sizeof u);
	log_set_prefix("dteq stop");
	optind = 0;
	while ((ch = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			if (util_parse_seconds("--connect-timeout", optarg,
			    3600, &timeout, &cause) != 0)
				goto usage_error;
			break;
		case 'h':
			fputs(stop_usage, stdout);
			return (EXIT_OK);
		case 'r':
			redis = optarg;
			break;
		case 'R':
			runarg = optarg;
			break;
		case 'v':
			log_init("dteq stop", 1);
			break;
		default:
			fputs(stop_usage, stderr);
			return (EXIT_USAGE);
		}
	}
	if (optind != argc) {
		xasprintf(&cause, "unexpected argument \"%s\"", argv[optind]);
		goto usage_error;
	}
	if (cli_redis_url(redis, &u, &cause) != 0 ||
	    cli_run_id(runarg, &run, &cause) != 0)
		goto usage_error;
	if ((c = cli_connect(&u, timeout, &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		url_free(&u);
		free(run);
		return (EXIT_INFRA);
	}
	keys_init(&k, run);
	ev = event_encode_stop("done", NULL);
	reply = redisCommand(c, "SET %s done EX %d", k.stop, DEFAULT_TTL);
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		log_warnx("setting the stop sentinel failed: %s",
		    reply == NULL ? c->errstr : reply->str);
		rv = EXIT_INFRA;
	}
	if (reply != NULL)
		freeReplyObject(reply);
	reply = redisCommand(c, "PUBLISH %s %s", k.control, ev);
	if (reply != NULL)
		freeReplyObject(reply);
	reply = redisCommand(c, "PUBLISH %s %s", k.events, ev);
	if (reply != NULL)
		freeReplyObject(reply);
	if (rv == EXIT_OK)
		log_info("run %s: agents released", run);
	free(ev);
	keys_free(&k);
	redisFree(c);
	url_free(&u);
	free(run);
	return (rv);

usage_error:
	fprintf(stderr, "dteq stop: %s\n", cause);
	free(cause);
	url_free(&u);
	free(run);
	return (EXIT_USAGE);
}
