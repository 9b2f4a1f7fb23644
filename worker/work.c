/* dteq: self-hosted distributed task execution over Redis. */

/*
 * `dteq work`: options, start-up checks, signals and the event loop of an
 * agent. The agent in its run is agent.c's, its tasks worker.c's.
 *
 * Start-up: resolve Redis and the run, connect synchronously once (a
 * wrong address or password fails here, exit 3), exit 0 at once if the
 * run's stop sentinel is already set (unless this CI job is a re-run:
 * then wait, up to --wait, for the run to start again), then run the
 * loop until the run is over.
 */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "worker.h"
#include "cache.h"

static const char work_usage[] =
    "usage: dteq work [--redis URL] [--run ID] [--parallel N] [--name NAME]\n"
    "                 [--wait SECS] [--connect-timeout SECS]\n"
    "                 [--secret-file FILE] [--allow-commit-mismatch] [-v]\n"
    "\n"
    "Serve a run as an agent: take ready tasks from Redis, run up to N at\n"
    "once, report results, exit 0 when the run is over.\n"
    "\n"
    "  --redis URL            redis://[user:pass@]host[:port][/db] or\n"
    "                         unix:///path (env DTEQ_REDIS_URL)\n"
    "  --run ID               run id (env DTEQ_RUN, else from CI variables)\n"
    "  --repo NAME|-          the run's repository (env DTEQ_REPO, else the\n"
    "                         CI's, else the git origin; -: none)\n"
    "  --parallel N           tasks run at once (default: the --parallel\n"
    "                         of an --nx/--turbo submit, else 1)\n"
    "  --name NAME            agent name (default NX_AGENT_NAME,\n"
    "                         BITBUCKET_STEP_UUID, CI_JOB_ID or host-pid)\n"
    "  --wait SECS            how long to wait for the run to appear\n"
    "                         (default 600), or, in a CI job that is a\n"
    "                         re-run, for an ended run to start again\n"
    "  --connect-timeout SECS how long to retry an unreachable Redis at\n"
    "                         start (default 10)\n"
    "  --secret-file FILE     shared secret for signed tasks (else\n"
    "                         DTEQ_SECRET); unsigned tasks are refused\n"
    "  --allow-commit-mismatch  serve a run submitted from another commit\n"
    "  --no-cache             do not serve the remote cache to tasks (by\n"
    "                         default Nx and Turborepo are pointed at one\n"
    "                         on loopback, kept in the same Redis)\n"
    "  -v, --verbose          debug logging\n";

/* Variables that point Nx and Turborepo at the agent's cache. */
static const char *work_cache_vars[] = {
	"NX_SELF_HOSTED_REMOTE_CACHE_SERVER",
	"NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN",
	"TURBO_API", "TURBO_TOKEN", "TURBO_TEAM", NULL
};

/*
 * Serve the remote cache on loopback for this agent's tasks (Nx's and
 * Turborepo's APIs, artifacts in the run's Redis), and point the tools at
 * it unless the user already points them at a cache of their own.
 */
static void
work_cache(struct worker *w)
{
	char		*cause, *url;
	const char	*vals[5];
	size_t		 i;

	for (i = 0; work_cache_vars[i] != NULL; i++) {
		if (getenv(work_cache_vars[i]) != NULL) {
			log_debug("%s is set: not serving a cache",
			    work_cache_vars[i]);
			return;
		}
	}
	w->cache = cache_start(w->base, &w->url, CACHE_DEFAULT_LISTEN, NULL,
	    CACHE_DEFAULT_MAX, CACHE_DEFAULT_TTL, &cause);
	if (w->cache == NULL) {
		log_warnx("remote cache not started: %s", cause);
		free(cause);
		return;
	}
	xasprintf(&url, "http://127.0.0.1:%d", cache_port(w->cache));
	w->cache_url = xstrdup(url);
	vals[0] = url;
	vals[1] = cache_token(w->cache);
	vals[2] = url;
	vals[3] = cache_token(w->cache);
	vals[4] = "dteq";
	for (i = 0; i < 5; i++)
		env_add(w, work_cache_vars[i], vals[i]);
	log_debug("remote cache on %s", url);
	free(url);
}

/* SIGTERM, SIGINT. Children are collected at their EOF (proc.c). */
static void
work_signal_cb(evutil_socket_t sig, short events, void *arg)
{
	struct worker	*w = arg;

	(void)events;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		if (w->stopping && w->stop_reason != NULL &&
		    strcmp(w->stop_reason, "signal") == 0) {
			log_warnx("second signal: leaving now");
			proc_kill_all(SIGKILL);
			event_base_loopexit(w->base, NULL);
			return;
		}
		log_info("%s: giving back %d task%s and leaving",
		    strsignal((int)sig), w->nrunning,
		    w->nrunning == 1 ? "" : "s");
		agent_stop(w, "signal");
		break;
	}
}

/* The once-a-second timer. */
static void
work_tick_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	proc_poll();
	agent_tick(arg);
}

/* Check the stop sentinel before starting: a late agent exits at once. */
static int
work_preflight(struct worker *w, int timeout)
{
	redisContext	*c;
	redisReply	*reply;
	char		*cause, *why;
	int		 stopped = 0;

	if ((c = cli_connect(&w->url, timeout, &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		return (-1);
	}
	reply = redisCommand(c, "GET %s", w->keys.stop);
	if (reply != NULL && reply->type == REDIS_REPLY_STRING) {
		if (runid_is_rerun(runid_getenv, NULL, w->run, &why)) {
			/* Its main job may be re-run too: wait for it. */
			log_info("run %s is over (%s), and this job is a "
			    "re-run (%s): waiting up to %d s for the run to "
			    "start again", w->run, reply->str, why, w->wait);
			free(why);
			w->await_rerun = 1;
		} else {
			log_info("run %s is already over (%s)", w->run,
			    reply->str);
			stopped = 1;
		}
	}
	if (reply != NULL)
		freeReplyObject(reply);
	redisFree(c);
	return (stopped);
}

/* Free what work_main set up. */
static void
work_free(struct worker *w)
{
	rconn_free(w->rc_block);
	rconn_free(w->rc_sub);
	rconn_free(w->rc_cmd);
	if (w->cache != NULL)
		cache_free(w->cache);
	worker_free_tasks(w);
	if (w->ev_tick != NULL)
		event_free(w->ev_tick);
	if (w->ev_sigterm != NULL)
		event_free(w->ev_sigterm);
	if (w->ev_sigint != NULL)
		event_free(w->ev_sigint);
	if (w->base != NULL)
		event_base_free(w->base);
	env_free(w);
	restore_free(w);
	keys_free(&w->keys);
	url_free(&w->url);
	free(w->run);
	free(w->name);
	free(w->cache_url);
	free(w->instance);
	free(w->running);
	free(w->hb);
	free(w->stop_reason);
	free(w->defer_id);
	free(w->commit);
	if (w->secret != NULL) {
		explicit_bzero(w->secret, strlen(w->secret));
		free(w->secret);
	}
}

/*
 * What `dteq work` is told beyond the shared options and the settings it
 * keeps in struct worker.
 */
struct work_opts {
	struct cli_opts	 cli;
	const char	*name;		/* --name */
	const char	*secret_file;	/* --secret-file */
	int		 no_cache;	/* --no-cache */
};

/*
 * Parse the options into w and o. Returns 0 to go on, 1 after --help,
 * -1 on a usage error: with *cause, or with NULL when the usage was
 * printed already.
 */
static int
work_options(int argc, char **argv, struct worker *w, struct work_opts *o,
    char **cause)
{
	static const struct option longopts[] = {
		CLI_OPTIONS,
		{ "allow-commit-mismatch", no_argument, NULL, 'M' },
		{ "name", required_argument, NULL, 'n' },
		{ "no-cache", no_argument, NULL, 'N' },
		{ "parallel", required_argument, NULL, 'p' },
		{ "secret-file", required_argument, NULL, 'S' },
		{ "wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*errstr;
	int		 ch;

	*cause = NULL;
	while ((ch = getopt_long(argc, argv, "hn:p:r:R:vw:", longopts,
	    NULL)) != -1) {
		if (ch == 'r')		/* -r and -R: --redis and --run */
			ch = CLI_OPT_REDIS;
		else if (ch == 'R')
			ch = CLI_OPT_RUN;
		switch (cli_option(&o->cli, ch, optarg, cause)) {
		case 1:
			if (o->cli.help)
				return (1);
			continue;
		case -1:
			return (-1);
		}
		switch (ch) {
		case 'M':
			w->allow_mismatch = 1;
			break;
		case 'n':
			o->name = optarg;
			break;
		case 'N':
			o->no_cache = 1;
			break;
		case 'p':
			w->parallel = (int)util_strtonum(optarg, 1, 1024,
			    &errstr);
			w->parallel_set = 1;
			if (errstr != NULL) {
				xasprintf(cause, "--parallel: \"%s\" is %s "
				    "(1 to 1024)", optarg, errstr);
				return (-1);
			}
			break;
		case 'S':
			o->secret_file = optarg;
			break;
		case 'w':
			if (util_parse_seconds("--wait", optarg, 86400,
			    &w->wait, cause) != 0)
				return (-1);
			break;
		default:
			fputs(work_usage, stderr);
			return (-1);
		}
	}
	return (cli_no_arguments(argc, argv, cause));
}

/*
 * Resolve who and where this agent is: the server, the run, the secret,
 * the agent's name (and the log prefix with it), the run's keys. -1 with
 * *cause on a usage error.
 */
static int
work_identify(struct worker *w, const struct work_opts *o, char **cause)
{
	char	*prefix, *repo;

	if (cli_resolve(&o->cli, &w->url, &w->run, cause) != 0 ||
	    sign_load_secret(o->secret_file, &w->secret, cause) != 0)
		return (-1);
	w->commit = util_git_commit();
	if (o->name != NULL)
		w->name = xstrdup(o->name);
	else
		w->name = runid_agent_name(runid_getenv, NULL);
	if (runid_valid(w->name, cause) != 0) {
		free(*cause);
		xasprintf(cause, "--name: \"%s\" may only use letters, "
		    "digits, '.', '_' and '-'", w->name);
		return (-1);
	}
	xasprintf(&prefix, "dteq work %s", w->name);
	log_set_prefix(prefix);
	free(prefix);

	repo = cli_repo(&o->cli);
	keys_init(&w->keys, w->run, repo);
	free(repo);
	w->running = keys_running(&w->keys, w->name);
	w->hb = keys_hb(&w->keys, w->name);
	w->sa.keys = &w->keys;
	w->sa.name = w->name;
	w->sa.running = w->running;
	w->sa.hb = w->hb;
	w->instance = util_random_hex(8);
	w->sa.instance = w->instance;
	return (0);
}

/* Set up the loop, run it until the agent leaves. Returns the exit code. */
static int
work_run(struct worker *w, int no_cache)
{
	struct timeval	 tv = { 1, 0 };

	env_init(w);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);	/* not ignored: proc.c waits for them */
	reaper_start();
	if ((w->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	w->started = util_now_ms();
	w->ev_sigterm = evsignal_new(w->base, SIGTERM, work_signal_cb, w);
	w->ev_sigint = evsignal_new(w->base, SIGINT, work_signal_cb, w);
	w->ev_tick = event_new(w->base, -1, EV_PERSIST, work_tick_cb, w);
	evsignal_add(w->ev_sigterm, NULL);
	evsignal_add(w->ev_sigint, NULL);
	evtimer_add(w->ev_tick, &tv);
	if (!no_cache)
		work_cache(w);
	agent_start(w);
	event_base_dispatch(w->base);

	proc_kill_all(SIGKILL);
	/* Its Nx runners see it gone and exit (tools/nxrun.c). */
	util_runner_pool_remove(getpid());
	log_info("leaving (%d task%s run)", w->ntasks, w->ntasks == 1 ? "" :
	    "s");
	return (w->exit_code);
}

int
work_main(int argc, char **argv)
{
	struct worker	 w;
	struct work_opts o;
	char		*cause;
	int		 rv;

	memset(&w, 0, sizeof w);
	memset(&o, 0, sizeof o);
	w.parallel = 1;
	w.wait = DEFAULT_WORK_WAIT;
	w.lease = DEFAULT_LEASE;
	w.ttl = DEFAULT_TTL;
	w.output_cap = DEFAULT_OUTPUT_CAP;
	cli_init(&o.cli, "dteq work");
	switch (work_options(argc, argv, &w, &o, &cause)) {
	case 1:
		fputs(work_usage, stdout);
		return (EXIT_OK);
	case -1:
		goto usage_error;
	}
	if (work_identify(&w, &o, &cause) != 0)
		goto usage_error;
	if ((rv = work_preflight(&w, o.cli.connect_timeout)) != 0) {
		work_free(&w);
		return (rv == 1 ? EXIT_OK : EXIT_INFRA);
	}
	rv = work_run(&w, o.no_cache);
	work_free(&w);
	return (rv);

usage_error:
	if (cause != NULL) {
		fprintf(stderr, "dteq work: %s\n", cause);
		free(cause);
	}
	url_free(&w.url);
	free(w.run);
	free(w.name);
	free(w.secret);
	free(w.commit);
	return (EXIT_USAGE);
}
