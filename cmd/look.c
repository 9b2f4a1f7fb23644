/* dteq: self-hosted distributed task execution over Redis. */

/*
 * What the commands that look at a run from outside share (status.c,
 * cancel.c, logs.c): the shared options and the server and run they name
 * (common/cli.c), one synchronous connection, and reading numbers and
 * strings out of replies. Each command parses its own options, passing
 * each to cli_option() first, then:
 *
 *	look_init(&l, "dteq status");
 *	... getopt_long with CLI_OPTIONS, cli_option(&l.o, ...) ...
 *	if ((rv = look_connect(&l, 1)) == EXIT_OK)
 *		rv = ...;	(l.c, l.run and l.k are set)
 *	look_close(&l);
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cmd.h"

/* The shared options' defaults; nothing to free yet. */
void
look_init(struct look *l, const char *prog)
{
	memset(l, 0, sizeof *l);
	cli_init(&l->o, prog);
}

/* Say what is wrong with the command line; frees cause. EXIT_USAGE. */
int
look_usage_error(const struct look *l, char *cause)
{
	fprintf(stderr, "%s: %s\n", l->o.prog, cause);
	free(cause);
	return (EXIT_USAGE);
}

/* An option that is not one of the command's. EXIT_USAGE. */
int
look_unknown_option(const struct look *l)
{
	fprintf(stderr, "%s: unknown option (see %s --help)\n", l->o.prog,
	    l->o.prog);
	return (EXIT_USAGE);
}

/*
 * Resolve the server (and the run with its keys, if need_run) and
 * connect. Returns an exit code: EXIT_OK with l->c set, or EXIT_USAGE,
 * EXIT_INFRA (said on stderr).
 */
int
look_connect(struct look *l, int need_run)
{
	char	*cause, *repo;

	if (cli_resolve(&l->o, &l->u, need_run ? &l->run : NULL,
	    &cause) != 0)
		return (look_usage_error(l, cause));
	if ((l->c = cli_connect(&l->u, l->o.connect_timeout,
	    &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		return (EXIT_INFRA);
	}
	if (l->run != NULL) {
		repo = cli_repo(&l->o);
		keys_init(&l->k, l->run, repo);
		free(repo);
	}
	return (EXIT_OK);
}

/* Free what look_connect() set up, as far as it got. */
void
look_close(struct look *l)
{
	keys_free(&l->k);
	if (l->c != NULL)
		redisFree(l->c);
	url_free(&l->u);
	free(l->run);
	memset(l, 0, sizeof *l);
}

/* A reply's string, copied; NULL if it is not a string. Caller frees. */
char *
look_string(const redisReply *reply)
{
	if (reply == NULL || reply->type != REDIS_REPLY_STRING)
		return (NULL);
	return (xstrndup(reply->str, reply->len));
}

/* A reply's number (string or integer), or def. */
long long
look_number(const redisReply *reply, long long def)
{
	const char	*errstr;
	long long	 n;

	if (reply == NULL)
		return (def);
	if (reply->type == REDIS_REPLY_INTEGER)
		return (reply->integer);
	if (reply->type != REDIS_REPLY_STRING)
		return (def);
	n = util_strtonum(reply->str, 0, 1LL << 53, &errstr);
	return (errstr != NULL ? def : n);
}
