/* dteq: self-hosted distributed task execution over Redis. */

/*
 * What every subcommand resolves the same way: which Redis (--redis, then
 * DTEQ_REDIS_URL, then the default; the password may come from
 * DTEQ_REDIS_PASSWORD instead of the URL) and which run (--run, then the
 * CI variables in runid.c), plus the synchronous start-up connection.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "dteq.h"

/* Resolve the Redis URL into u. */
int
cli_redis_url(const char *arg, struct redis_url *u, char **cause)
{
	const char	*s, *pw;
	char		*why;

	if ((s = arg) == NULL && ((s = getenv("DTEQ_REDIS_URL")) == NULL ||
	    *s == '\0'))
		s = DEFAULT_REDIS_URL;
	if (url_parse(s, u, &why) != 0) {
		xasprintf(cause, "bad Redis URL%s: %s",
		    arg != NULL ? "" : " in DTEQ_REDIS_URL", why);
		free(why);
		return (-1);
	}
	pw = getenv("DTEQ_REDIS_PASSWORD");
	if (u->password == NULL && pw != NULL && *pw != '\0')
		u->password = xstrdup(pw);
	return (0);
}

/* Resolve the run id. Caller frees *run. */
int
cli_run_id(const char *arg, char **run, char **cause)
{
	const char	*source = "--run";
	char		*id, *why;

	if (arg != NULL)
		id = xstrdup(arg);
	else if ((id = runid_detect(runid_getenv, NULL, &source)) == NULL) {
		xasprintf(cause, "no run id: pass --run ID or set DTEQ_RUN "
		    "(or run in a CI that sets one of GITHUB_RUN_ID, "
		    "BITBUCKET_BUILD_NUMBER, CI_PIPELINE_ID, ...)");
		return (-1);
	}
	if (runid_valid(id, &why) != 0) {
		xasprintf(cause, "bad run id from %s: %s", source, why);
		free(why);
		free(id);
		return (-1);
	}
	log_debug("run id %s (from %s)", id, source);
	*run = id;
	return (0);
}

/*
 * Connect synchronously and check the server has what dteq needs (BLMOVE:
 * Redis 6.2 or later). Returns NULL with *cause set.
 */
struct redisContext *
cli_connect(const struct redis_url *u, int timeout, char **cause)
{
	redisContext	*c;
	redisReply	*reply;
	char		*where, *v;
	int		 major = 0, minor = 0;

	if ((c = rconn_sync_connect(u, timeout, cause)) == NULL)
		return (NULL);
	reply = redisCommand(c, "INFO server");
	if (reply != NULL && reply->type == REDIS_REPLY_STRING &&
	    (v = strstr(reply->str, "redis_version:")) != NULL)
		sscanf(v + 14, "%d.%d", &major, &minor);
	if (reply != NULL)
		freeReplyObject(reply);
	if (major != 0 && (major < 6 || (major == 6 && minor < 2))) {
		where = url_display(u);
		xasprintf(cause, "Redis at %s is version %d.%d; dteq needs "
		    "6.2 or later (BLMOVE)", where, major, minor);
		free(where);
		redisFree(c);
		return (NULL);
	}
	return (c);
}
