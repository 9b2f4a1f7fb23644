/* dteq: self-hosted distributed task execution over Redis. */

/*
 * What every subcommand resolves the same way: the options they share
 * (--redis, --run, --repo, --connect-timeout, --verbose, --help:
 * cli_option()),
 * the environment (cli_env() reads the DTEQ_* variables, all listed in
 * cli_envs; DTEQ_RUN and DTEQ_RUN_ENV, read among the CI variables, go
 * through runid.c's getter, which its unit tests replace), which Redis
 * (--redis, then DTEQ_REDIS_URL, then the default, except on CI, where
 * no URL is an error; the password may come from DTEQ_REDIS_PASSWORD
 * instead of the URL) and which run (--run, then the CI variables in
 * runid.c), plus the synchronous start-up connection.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "dteq.h"

/*
 * Every DTEQ_* variable dteq reads, and who reads it; README's
 * "Environment" and dteq.1's ENVIRONMENT document each one (the test
 * t_docs checks). The ones dteq only sets in a task's environment
 * (DTEQ_TASK_ID, DTEQ_ATTEMPT, DTEQ_AGENT, DTEQ_BIN) are written, not read,
 * and are not here.
 */
static const struct {
	const char	*name;
	const char	*reader;
} cli_envs[] = {
	{ "DTEQ_AGENT_PID", "nx-task: whose Nx runners (work sets it)" },
	{ "DTEQ_CACHE_READ_TOKEN", "cache: the token that may only read" },
	{ "DTEQ_CACHE_TOKEN", "cache: the token that may read and write" },
	{ "DTEQ_NX_COMMAND", "tools: how to run Nx" },
	{ "DTEQ_NX_RUNNER", "submit, run: on (one Nx per agent) or off" },
	{ "DTEQ_REDIS_PASSWORD", "all: the Redis password" },
	{ "DTEQ_REDIS_URL", "all: the Redis URL" },
	{ "DTEQ_REPO", "all: the run's repository, - for none (runid.c)" },
	{ "DTEQ_RUN", "all: the run id (runid.c)" },
	{ "DTEQ_RUN_ENV", "all: appended to a CI's run id (runid.c)" },
	{ "DTEQ_SCHED", "submit: fifo turns the critical-path order off" },
	{ "DTEQ_SECRET", "submit, work, run: the signing secret" },
	{ "DTEQ_STAGE", "submit: off turns staging off" },
	{ "DTEQ_TOOL_DEPS", "submit, run: restore or exclude" },
	{ "DTEQ_TURBO_COMMAND", "tools: how to run Turborepo" },
	{ "DTEQ_WORKSPACE", "submit: the workspace of the duration history" },
};

/*
 * The value of a DTEQ_* variable, or NULL when it is unset or empty. A
 * name missing from cli_envs is a bug: every variable is listed there.
 */
const char *
cli_env(const char *name)
{
	const char	*v;
	size_t		 i;

	for (i = 0; i < nitems(cli_envs); i++) {
		if (strcmp(cli_envs[i].name, name) == 0)
			break;
	}
	if (i == nitems(cli_envs))
		fatalx("%s: %s is not a known variable", __func__, name);
	if ((v = getenv(name)) == NULL || *v == '\0')
		return (NULL);
	return (v);
}

/* The shared options' defaults. */
void
cli_init(struct cli_opts *o, const char *prog)
{
	memset(o, 0, sizeof *o);
	o->prog = prog;
	o->connect_timeout = DEFAULT_CONNECT_TIMEOUT;
	log_set_prefix(prog);
}

/*
 * Take ch if it is one of the shared options (CLI_OPTIONS in a getopt_long
 * table): 1 when taken, 0 when it is the caller's, -1 with *cause when its
 * value is bad.
 */
int
cli_option(struct cli_opts *o, int ch, const char *arg, char **cause)
{
	switch (ch) {
	case CLI_OPT_CONNECT_TIMEOUT:
		if (util_parse_seconds("--connect-timeout", arg, 3600,
		    &o->connect_timeout, cause) != 0)
			return (-1);
		return (1);
	case CLI_OPT_REDIS:
		o->redis = arg;
		return (1);
	case CLI_OPT_RUN:
		o->run = arg;
		return (1);
	case CLI_OPT_REPO:
		if (*arg == '\0') {
			xasprintf(cause, "--repo: empty (give - for none)");
			return (-1);
		}
		o->repo = arg;
		return (1);
	case 'h':
		o->help = 1;
		return (1);
	case 'v':
		o->verbose = 1;
		log_init(o->prog, 1);
		return (1);
	}
	return (0);
}

/* After the options: no word may be left (argv[optind] on). */
int
cli_no_arguments(int argc, char **argv, char **cause)
{
	if (optind == argc)
		return (0);
	xasprintf(cause, "unexpected argument \"%s\"", argv[optind]);
	return (-1);
}

/*
 * Resolve the server into u and, unless run is NULL, the run id into *run
 * (caller frees both); -1 with *cause (bad usage) otherwise.
 */
int
cli_resolve(const struct cli_opts *o, struct redis_url *u, char **run,
    char **cause)
{
	if (cli_redis_url(o->redis, u, cause) != 0)
		return (-1);
	if (run != NULL && cli_run_id(o->run, run, cause) != 0)
		return (-1);
	return (0);
}

/* Resolve the Redis URL into u. */
int
cli_redis_url(const char *arg, struct redis_url *u, char **cause)
{
	const char	*s, *pw, *ci;
	char		*why;

	if ((s = arg) == NULL && (s = cli_env("DTEQ_REDIS_URL")) == NULL) {
		/*
		 * On CI the default is never meant: the variable is a
		 * secret the pipeline did not get (a fork's pipeline gets
		 * none), and 127.0.0.1 would be a Redis of nobody's.
		 */
		if ((ci = runid_ci(runid_getenv, NULL)) != NULL) {
			xasprintf(cause, "DTEQ_REDIS_URL is %s, and this is a "
			    "CI job (%s is set): set DTEQ_REDIS_URL in the "
			    "CI's secret variables to the Redis every job "
			    "reaches (a fork's pipeline gets no secrets), or "
			    "pass --redis URL", getenv("DTEQ_REDIS_URL") ==
			    NULL ? "not set" : "empty", ci);
			return (-1);
		}
		s = DEFAULT_REDIS_URL;
	}
	if (url_parse(s, u, &why) != 0) {
		xasprintf(cause, "bad Redis URL%s: %s",
		    arg != NULL ? "" : " in DTEQ_REDIS_URL", why);
		free(why);
		return (-1);
	}
	/*
	 * The URL came from argv or the environment, both ours to write:
	 * its password goes from there now that u holds it.
	 */
	if (u->password != NULL)
		url_scrub((char *)s);
	pw = cli_env("DTEQ_REDIS_PASSWORD");
	if (u->password == NULL && pw != NULL)
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
 * The repository the run belongs to: --repo ("-": none), else
 * runid_repo() (DTEQ_REPO, the CI's variables, the checkout's origin
 * remote). NULL for none; caller frees.
 */
char *
cli_repo(const struct cli_opts *o)
{
	const char	*source = "--repo";
	char		*repo;

	if (o->repo != NULL) {
		repo = strcmp(o->repo, "-") == 0 ? NULL : xstrdup(o->repo);
		if (repo != NULL)	/* as runid_repo() leaves its own */
			runid_repo_sanitize(repo);
	} else
		repo = runid_repo(runid_getenv, NULL, NULL, &source);
	log_debug("repository %s (from %s)", repo != NULL ? repo : "none",
	    source != NULL ? source : "nothing");
	return (repo);
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
