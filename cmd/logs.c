/* dteq: self-hosted distributed task execution over Redis. */

/*
 * `dteq logs TASK`: print the stored output of a task's current attempt
 * (or of --attempt N) from any machine that reaches the run's Redis: the
 * log key of that attempt (common/keys.c), which the agent appends to as
 * the task runs. --follow reads on from where it was every quarter of a
 * second until the attempt has a result or the run has stopped, then
 * prints what came last.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "cmd.h"

static const char logs_usage[] =
    "usage: dteq logs [--redis URL] [--run ID] [--attempt N] [--follow]\n"
    "                 [--connect-timeout SECS] TASK\n"
    "\n"
    "Print the stored output of a task's current attempt (or of attempt\n"
    "N). --follow keeps printing it as it grows, until the attempt has a\n"
    "result. Exit 0; 1 when the run or task is unknown; 2 bad usage; 3\n"
    "Redis unreachable.\n";

/* Write len bytes to stdout; -1 if stdout is gone. */
static int
logs_write(const char *buf, size_t len)
{
	if (len > 0 && fwrite(buf, 1, len, stdout) != len)
		return (-1);
	return (fflush(stdout) == 0 ? 0 : -1);
}

/* Has attempt of task id a result (or has the run ended)? */
static int
logs_is_done(redisContext *c, const struct keys *k, const char *id,
    int attempt)
{
	redisReply	*reply;
	struct result	 res;
	char		*cause;
	int		 done = 0;

	if ((reply = rconn_sync_command(c, NULL, "HGET %s %s", k->results,
	    id)) == NULL)
		return (-1);
	if (reply->type == REDIS_REPLY_STRING && result_decode(reply->str,
	    reply->len, &res, &cause) == 0) {
		done = res.attempt >= attempt;
		result_clear(&res);
	} else if (reply->type == REDIS_REPLY_STRING)
		free(cause);
	freeReplyObject(reply);
	if (done)
		return (1);
	if ((reply = rconn_sync_command(c, NULL, "EXISTS %s", k->stop)) == NULL)
		return (-1);
	done = look_number(reply, 0) == 1;
	freeReplyObject(reply);
	return (done);
}

/* Print the log from offset on; -1 on a failure. Updates *offset. */
static int
logs_print_from(redisContext *c, const char *key, size_t *offset)
{
	redisReply	*reply;

	if ((reply = rconn_sync_command(c, NULL, "GETRANGE %s %llu -1", key,
	    (unsigned long long)*offset)) == NULL)
		return (-1);
	if (reply->type == REDIS_REPLY_STRING && reply->len > 0) {
		if (logs_write(reply->str, reply->len) != 0) {
			freeReplyObject(reply);
			return (-1);
		}
		*offset += reply->len;
	}
	freeReplyObject(reply);
	return (0);
}

/* Print a task's output, and with follow go on until it is done. */
static int
logs_show(redisContext *c, const struct keys *k, const char *id,
    int attempt, int follow)
{
	redisReply	*reply;
	struct timespec	 ts = { 0, 250 * 1000000L };
	char		*key;
	size_t		 offset = 0;
	int		 done;

	if ((reply = rconn_sync_command(c, NULL, "HGET %s %s", k->attempts,
	    id)) == NULL)
		return (EXIT_INFRA);
	if (reply->type != REDIS_REPLY_STRING) {
		freeReplyObject(reply);
		if ((reply = rconn_sync_command(c, NULL, "EXISTS %s",
		    k->meta)) == NULL)
			return (EXIT_INFRA);
		fprintf(stderr, "dteq logs: %s\n", look_number(reply, 0) ?
		    "no such task in this run (not dispatched yet?)" :
		    "no such run on this server");
		freeReplyObject(reply);
		return (EXIT_TASKS_FAILED);
	}
	if (attempt == 0)
		attempt = (int)look_number(reply, 1);
	freeReplyObject(reply);
	key = keys_log(k, id, attempt);
	for (;;) {
		if (logs_print_from(c, key, &offset) != 0)
			break;
		if (!follow) {
			free(key);
			return (EXIT_OK);
		}
		if ((done = logs_is_done(c, k, id, attempt)) != 0) {
			if (done == 1 && logs_print_from(c, key,
			    &offset) == 0) {
				free(key);
				return (EXIT_OK);
			}
			break;
		}
		nanosleep(&ts, NULL);
	}
	free(key);
	return (EXIT_INFRA);
}

/* `dteq logs`. */
int
logs_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPTIONS,
		{ "attempt", required_argument, NULL, 'a' },
		{ "follow", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct look	 l;
	const char	*errstr;
	char		*cause;
	int		 ch, rv, attempt = 0, follow = 0;

	look_init(&l, "dteq logs");
	optind = 0;
	while ((ch = getopt_long(argc, argv, "fhv", longopts, NULL)) != -1) {
		switch (cli_option(&l.o, ch, optarg, &cause)) {
		case 1:
			if (l.o.help) {
				fputs(logs_usage, stdout);
				return (EXIT_OK);
			}
			continue;
		case -1:
			return (look_usage_error(&l, cause));
		}
		if (ch == 'f')
			follow = 1;
		else if (ch != 'a')
			return (look_unknown_option(&l));
		else if ((attempt = (int)util_strtonum(optarg, 1, 1000000,
		    &errstr)) == 0) {
			xasprintf(&cause, "--attempt: \"%s\" is %s", optarg,
			    errstr);
			return (look_usage_error(&l, cause));
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "dteq logs: %s\n", argc == optind ?
		    "no task given" : "more than one task given");
		fputs(logs_usage, stderr);
		return (EXIT_USAGE);
	}
	if ((rv = look_connect(&l, 1)) == EXIT_OK)
		rv = logs_show(l.c, &l.k, argv[optind], attempt, follow);
	look_close(&l);
	return (rv);
}
