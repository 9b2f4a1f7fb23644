/* dteq: self-hosted distributed task execution over Redis. */

/*
 * `dteq submit`: the main job. It holds the task graph, pushes only ready
 * tasks, follows the run's events, prints each finished task's output as
 * one block, and ends the run.
 *
 * Data flow of a run, file by file:
 *
 * 1. submit_main() parses the options once into a struct submit_opts
 *    (const from then on), reads and validates the whole task graph
 *    (graph.c; tools/ for --nx, --turbo, --graph) before any write,
 *    and joins the run on one synchronous connection (register.c: a new
 *    run, a re-run of an ended one, or a resumed one; sched.c reads the
 *    duration history there too). Then the event loop starts.
 * 2. loop.c connects rc_cmd and rc_sub; rc_sub subscribes to the events
 *    channel (whose messages go to follow.c), and only once SUBSCRIBE is
 *    confirmed and rc_cmd is ready are the roots dispatched, so no
 *    result can arrive unheard.
 * 3. cached.c makes final at once each ready task whose outputs the
 *    run's remote cache holds (its hash, looked up as the loop starts);
 *    dispatch.c gives each other ready task a new attempt (the fencing
 *    token) and pushes the batch in one dispatch script, in the order
 *    sched.c keeps; tasks that wait only for tasks in flight are staged
 *    in Redis, so the finish script of their last dependency pushes
 *    them.
 * 4. follow.c takes the events ("started", "finished", "log") and, since
 *    pub/sub is only a wake-up, the results hash for tasks in flight:
 *    follow_result() dispatches dependents at once, retries or requeues,
 *    and has the output fetched and printed as one block (report.c; on
 *    a terminal, above the live area of live.c).
 * 5. loop_tick() (1 s): the main heartbeat, reclaiming the tasks of
 *    agents whose lease expired, reconciling, and the agent-wait,
 *    whole-run and lost-state limits.
 * 6. When every task is final and printed, end_check() (end.c) sets the
 *    stop sentinel (unless agents are kept for a later submit) and the
 *    loop ends; end_abort() ends it early (a signal, a cancel, a limit).
 *    Then the commands recorded in the main job (records.c), the
 *    summary and the report files (recap.c), the replay of an --nx or
 *    --turbo run (replay.c) and the exit code.
 */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "producer.h"

static const char submit_usage[] =
    "usage: dteq submit [--redis URL] [--run ID] [--stop-agents-after T,..]\n"
    "                   [--keep-agents] [--fail-fast] [--timeout SECS]\n"
    "                   [--agent-wait SECS] [--fallback-after SECS]\n"
    "                   [--connect-timeout SECS] [--repo NAME|-]\n"
    "                   [--lease SECS] [--retries N] [--output-cap BYTES]\n"
    "                   [--max-reclaims N] [--main-lease SECS]\n"
    "                   [--secret-file FILE] [--no-cache-skip]\n"
    "                   [--stream] [--color WHEN] [--junit PATH]\n"
    "                   [--report PATH.html] [--json PATH] [-v]\n"
    "                   TASKFILE|- | --nx ARGS | --turbo ARGS | --graph FILE\n"
    "\n"
    "Run a task graph on the agents of a run and print each task's output.\n"
    "Exit 0: all tasks succeeded; 1: a task failed, was skipped or timed\n"
    "out; 2: bad usage or task file (nothing written); 3: infrastructure.\n"
    "\n"
    "  --redis URL              redis://[user:pass@]host[:port][/db] or\n"
    "                           unix:///path (env DTEQ_REDIS_URL)\n"
    "  --run ID                 run id (env DTEQ_RUN, else CI variables)\n"
    "  --repo NAME|-            the run's repository (env DTEQ_REPO, else\n"
    "                           the CI's, else the git origin; -: none)\n"
    "  --stop-agents-after T,.. release the agents at the end only if this\n"
    "                           submit ran tasks of one of these targets,\n"
    "                           or its --nx/--turbo asked for them and the\n"
    "                           graph has none; else keep them for the\n"
    "                           run's next submit\n"
    "  --keep-agents            do not release the agents at the end\n"
    "  --fail-fast              stop dispatching at the first failure\n"
    "  --timeout SECS           whole-run limit (default none)\n"
    "  --agent-wait SECS        how long to wait for an agent (default 600)\n"
    "  --fallback-after SECS    no agent joined within SECS: run the tasks\n"
    "                           here, --parallel of --nx/--turbo at once\n"
    "                           (default 60; 0: never)\n"
    "  --connect-timeout SECS   how long to retry Redis at start (default 10)\n"
    "  --lease SECS             agent heartbeat lease (default 15)\n"
    "  --max-reclaims N         times a lost agent's task is requeued\n"
    "                           before it fails (default 2)\n"
    "  --main-lease SECS        agents give up when this submit has not\n"
    "                           heartbeated for SECS (default 30)\n"
    "  --secret-file FILE       sign task messages (else DTEQ_SECRET)\n"
    "  --no-cache-skip          run every task, also one whose outputs the\n"
    "                           run's remote cache holds (a task's hash)\n"
    "  --retries N              retries of a failed task (default 0)\n"
    "  --output-cap BYTES       output kept per task (default 4194304): its\n"
    "                           head and its tail past it\n"
    "  --stream                 print output lines live, prefixed by task\n"
    "  --color WHEN             always, never or auto (default; NO_COLOR)\n"
    "  --junit PATH             write a JUnit XML report\n"
    "  --report PATH.html       write a self-contained HTML report\n"
    "  --json PATH              write the machine-readable summary\n"
    "  -v, --verbose            debug logging\n"
    "\n"
    "The task graph comes from TASKFILE (- for stdin), or from the tools:\n"
    "  --nx ARGS                run `npx nx ARGS --graph=TMP.json`, e.g.\n"
    "                           --nx \"affected -t lint,test,build\"; agents\n"
    "                           run `nx run ID --excludeTaskDependencies`\n"
    "  --no-replay              with --nx or --turbo: do not replay the run\n"
    "                           here from the remote cache at the end\n"
    "  --turbo ARGS             run `npx turbo ARGS --dry=json`, e.g.\n"
    "                           --turbo \"run build test\"; agents run\n"
    "                           `turbo run TASK --filter=PKG --only`\n"
    "  --graph FILE             a graph Nx (--graph=FILE.json) or Turborepo\n"
    "                           (--dry=json) wrote, or a task file\n"
    "  (DTEQ_NX_COMMAND, DTEQ_TURBO_COMMAND: how to run the tools,\n"
    "  default \"npx --no nx\", \"npx --no turbo\")\n";

/* How an option's value is read (submit_optab). */
#define SUBMIT_FLAG	0	/* no value: sets an int */
#define SUBMIT_STRING	1	/* a const char * */
#define SUBMIT_SECONDS	2	/* an int of seconds, min to max */
#define SUBMIT_COUNT	3	/* an int, min to max */
#define SUBMIT_BYTES	4	/* a size_t, min to max */
#define SUBMIT_COLOR	5	/* always, never or auto */

/* getopt_long's value for submit_optab[k] is SUBMIT_OPT_BASE + k. */
#define SUBMIT_OPT_BASE	0x200

#define SUBMIT_FIELD(f)	offsetof(struct submit_opts, f)

/* Submit's own options (the shared ones are cli.c's), sorted. */
static const struct submit_opt {
	const char	*name;
	int		 kind;		/* SUBMIT_* */
	long long	 min;
	long long	 max;
	size_t		 off;		/* its field in struct submit_opts */
} submit_optab[] = {
	{ "agent-wait", SUBMIT_SECONDS, 0, 86400, SUBMIT_FIELD(agent_wait) },
	{ "color", SUBMIT_COLOR, 0, 0, SUBMIT_FIELD(color) },
	{ "fail-fast", SUBMIT_FLAG, 0, 0, SUBMIT_FIELD(fail_fast) },
	{ "fallback-after", SUBMIT_SECONDS, 0, 86400,
	    SUBMIT_FIELD(fallback_after) },
	{ "graph", SUBMIT_STRING, 0, 0, SUBMIT_FIELD(graph_file) },
	{ "json", SUBMIT_STRING, 0, 0, SUBMIT_FIELD(json_path) },
	{ "junit", SUBMIT_STRING, 0, 0, SUBMIT_FIELD(junit_path) },
	{ "keep-agents", SUBMIT_FLAG, 0, 0, SUBMIT_FIELD(keep_agents) },
	{ "lease", SUBMIT_SECONDS, 1, 3600, SUBMIT_FIELD(lease) },
	{ "main-lease", SUBMIT_SECONDS, 2, 3600, SUBMIT_FIELD(main_lease) },
	{ "max-reclaims", SUBMIT_COUNT, 0, 100, SUBMIT_FIELD(max_reclaims) },
	{ "no-cache-skip", SUBMIT_FLAG, 0, 0, SUBMIT_FIELD(no_cache_skip) },
	{ "no-replay", SUBMIT_FLAG, 0, 0, SUBMIT_FIELD(no_replay) },
	{ "nx", SUBMIT_STRING, 0, 0, SUBMIT_FIELD(nx_args) },
	{ "output-cap", SUBMIT_BYTES, 1024, 1LL << 30,
	    SUBMIT_FIELD(output_cap) },
	{ "report", SUBMIT_STRING, 0, 0, SUBMIT_FIELD(report_path) },
	{ "retries", SUBMIT_COUNT, 0, 100, SUBMIT_FIELD(retries) },
	{ "secret-file", SUBMIT_STRING, 0, 0, SUBMIT_FIELD(secret_file) },
	{ "stop-agents-after", SUBMIT_STRING, 0, 0, SUBMIT_FIELD(stop_after) },
	{ "stream", SUBMIT_FLAG, 0, 0, SUBMIT_FIELD(stream) },
	{ "timeout", SUBMIT_SECONDS, 0, 7 * 86400, SUBMIT_FIELD(timeout) },
	{ "turbo", SUBMIT_STRING, 0, 0, SUBMIT_FIELD(turbo_args) },
};

/* The options every subcommand shares (cli_option()). */
static const struct option submit_shared[] = { CLI_OPTIONS };

/* The shared options, then submit_optab's, for getopt_long. */
static void
submit_longopts(struct option *out)
{
	const struct submit_opt	*so;
	size_t			 k, n = 0;

	for (k = 0; k < nitems(submit_shared); k++)
		out[n++] = submit_shared[k];
	for (k = 0; k < nitems(submit_optab); k++) {
		so = &submit_optab[k];
		out[n].name = so->name;
		out[n].has_arg = so->kind == SUBMIT_FLAG ? no_argument :
		    required_argument;
		out[n].flag = NULL;
		out[n++].val = SUBMIT_OPT_BASE + (int)k;
	}
	memset(&out[n], 0, sizeof out[n]);
}

/* --color WHEN into *color; -1 with *cause on a bad word. */
static int
submit_color(const char *arg, int *color, char **cause)
{
	if (strcmp(arg, "always") == 0)
		*color = 1;
	else if (strcmp(arg, "never") == 0)
		*color = 0;
	else if (strcmp(arg, "auto") == 0)
		*color = -1;
	else {
		xasprintf(cause, "--color: \"%s\" is not always, never or "
		    "auto", arg);
		return (-1);
	}
	return (0);
}

/* A number of seconds, at least so->min, into *out. */
static int
submit_seconds(const struct submit_opt *so, const char *arg, int *out,
    char **cause)
{
	char	*name;
	int	 rv = 0;

	xasprintf(&name, "--%s", so->name);
	if (util_parse_seconds(name, arg, (int)so->max, out, cause) != 0)
		rv = -1;
	else if (*out < so->min) {
		xasprintf(cause, "%s: must be at least %lld second%s", name,
		    so->min, so->min == 1 ? "" : "s");
		rv = -1;
	}
	free(name);
	return (rv);
}

/* A count or a size in so->min..so->max into *out. */
static int
submit_number(const struct submit_opt *so, const char *arg, long long *out,
    char **cause)
{
	const char	*errstr;

	*out = util_strtonum(arg, so->min, so->max, &errstr);
	if (errstr == NULL)
		return (0);
	xasprintf(cause, "--%s: \"%s\" is %s (%lld to %lld%s)", so->name, arg,
	    errstr, so->min, so->max, so->kind == SUBMIT_BYTES ? " bytes" : "");
	return (-1);
}

/* Store option so's value arg into o; -1 with *cause on a bad value. */
static int
submit_option(struct submit_opts *o, const struct submit_opt *so,
    const char *arg, char **cause)
{
	char		*field = (char *)o + so->off;
	long long	 n;

	switch (so->kind) {
	case SUBMIT_FLAG:
		*(int *)field = 1;
		return (0);
	case SUBMIT_STRING:
		*(const char **)field = arg;
		return (0);
	case SUBMIT_SECONDS:
		return (submit_seconds(so, arg, (int *)field, cause));
	case SUBMIT_COLOR:
		return (submit_color(arg, (int *)field, cause));
	}
	if (submit_number(so, arg, &n, cause) != 0)
		return (-1);
	if (so->kind == SUBMIT_BYTES)
		*(size_t *)field = (size_t)n;
	else
		*(int *)field = (int)n;
	return (0);
}

/* The task graph's source after the options: one, and only one. */
static int
submit_source(struct submit_opts *o, int argc, char **argv, char **cause)
{
	int	sources;

	sources = (o->nx_args != NULL) + (o->turbo_args != NULL) +
	    (o->graph_file != NULL);
	if (sources > 1 || (sources == 1 && argc - optind != 0)) {
		xasprintf(cause, "give one task graph: a task file, --nx, "
		    "--turbo or --graph");
		return (-1);
	}
	if (sources == 1)
		return (0);
	if (argc - optind != 1) {
		xasprintf(cause, "%s", argc - optind == 0 ?
		    "no task file given (a path, or - for stdin; or --nx, "
		    "--turbo, --graph)" : "more than one task file given");
		return (-1);
	}
	o->taskfile = argv[optind];
	return (0);
}

/*
 * Parse the command line into o (its defaults already set); -1 with
 * *cause on a bad option. With --help it stops there (o->cli.help).
 */
static int
submit_options(struct submit_opts *o, int argc, char **argv, char **cause)
{
	struct option	 longopts[nitems(submit_shared) +
			     nitems(submit_optab) + 1];
	int		 ch;

	/* DTEQ_STAGE=off: no staging, submit dispatches every task itself
	 * (for comparison, like DTEQ_SCHED=fifo). */
	o->nostage = cli_env("DTEQ_STAGE") != NULL &&
	    strcmp(cli_env("DTEQ_STAGE"), "off") == 0;
	submit_longopts(longopts);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		switch (cli_option(&o->cli, ch, optarg, cause)) {
		case 1:
			if (o->cli.help)
				return (0);
			continue;
		case -1:
			return (-1);
		}
		if (ch < SUBMIT_OPT_BASE ||
		    ch >= SUBMIT_OPT_BASE + (int)nitems(submit_optab)) {
			xasprintf(cause, "unknown option (see dteq submit "
			    "--help)");
			return (-1);
		}
		if (submit_option(o, &submit_optab[ch - SUBMIT_OPT_BASE],
		    optarg, cause) != 0)
			return (-1);
	}
	return (submit_source(o, argc, argv, cause));
}

/*
 * Agents that share one checkout (DTEQ_TOOL_DEPS=exclude, as dteq run
 * sets) have every output there: they restore nothing. Nor is a task
 * left out for the cache (its hash): nothing would bring its outputs to
 * that checkout.
 */
static void
submit_no_restores(struct taskset *ts)
{
	const char	*mode = cli_env("DTEQ_TOOL_DEPS");
	size_t		 i;

	for (i = 0; i < ts->ntasks && mode != NULL &&
	    strcmp(mode, "exclude") == 0; i++) {
		free(ts->tasks[i].restore);
		free(ts->tasks[i].restore_arg);
		free(ts->tasks[i].hash);
		ts->tasks[i].restore = ts->tasks[i].restore_arg = NULL;
		ts->tasks[i].hash = NULL;
		ts->tasks[i].restore_inline = 0;
	}
}

/*
 * A tool's task that others need but that declares no outputs: what it
 * writes stays on its agent's checkout, so neither its dependents on
 * other agents nor the main job's replay get it (a turbo.json without
 * "outputs", say). One line per such task.
 */
static void
submit_warn_outputs(struct submit *s)
{
	const struct node	*n;
	size_t			 i;

	for (i = 0; i < graph_size(s->g); i++) {
		n = graph_node(s->g, i);
		if (n->task->noutputs == 0 && n->ndependents > 0)
			log_warnx("%s declares no outputs: nothing it writes "
			    "reaches the main job or its dependents on other "
			    "agents", n->task->id);
	}
}

/*
 * Read and validate the task graph into s->g: the task file, the graph of
 * --graph FILE (Nx, Turborepo or a task file, detected), or the one Nx
 * (--nx) or Turborepo (--turbo) gives when run here (tools/).
 */
static int
submit_load(struct submit *s, char **cause)
{
	const struct submit_opts *o = s->o;
	struct taskset		  ts;
	const char		 *name;
	char			 *buf, *why;
	size_t			  len;
	int			  rc, tool;

	memset(&ts, 0, sizeof ts);
	tool = o->nx_args != NULL || o->turbo_args != NULL;
	if (tool) {
		name = o->nx_args != NULL ? "the Nx task graph" :
		    "the Turborepo task graph";
		if (toolgraph_run(o->nx_args != NULL ? TOOLGRAPH_NX :
		    TOOLGRAPH_TURBO, o->nx_args != NULL ? o->nx_args :
		    o->turbo_args, &ts, &s->tool_parallel, cause) != 0)
			return (-1);
	} else {
		name = o->graph_file != NULL ? o->graph_file : o->taskfile;
		if (util_read_file(name, &buf, &len, cause) != 0)
			return (-1);
		if (o->graph_file != NULL) {
			rc = toolgraph_detect(buf, len);
			tool = rc == TOOLGRAPH_NX || rc == TOOLGRAPH_TURBO;
			rc = toolgraph_parse(buf, len, name, &ts, cause);
		} else
			rc = taskfile_parse(buf, len, name, &ts, cause);
		free(buf);
		if (rc != 0)
			return (-1);
	}
	submit_no_restores(&ts);
	if ((s->g = graph_new(&ts, &why)) == NULL) {
		xasprintf(cause, "%s: %s", strcmp(name, "-") == 0 ?
		    "<stdin>" : name, why);
		free(why);
		return (-1);
	}
	if (tool)
		submit_warn_outputs(s);
	return (0);
}

/*
 * May tasks the remote cache holds be left out (cached.c)? Not with
 * --no-cache-skip, nor when the tool is told to skip its cache: then it
 * runs every task.
 */
static int
submit_cache_skip(const struct submit_opts *o)
{
	static const char *const skip[] = { "--force", "--skipNxCache",
	    "--skip-nx-cache", "--skipRemoteCache", "--skip-remote-cache" };
	const char	*args, *v;
	char		**words, *cause;
	size_t		 n, k, j, len;
	int		 rv = 1;

	if (o->no_cache_skip)
		return (0);
	if (((v = getenv("TURBO_FORCE")) != NULL && o->turbo_args != NULL &&
	    *v != '\0' && strcmp(v, "false") != 0 && strcmp(v, "0") != 0))
		return (0);
	args = o->turbo_args != NULL ? o->turbo_args : o->nx_args;
	if (args == NULL || toolgraph_split(args, &words, &n, &cause) != 0) {
		if (args != NULL)
			free(cause);	/* the tool's run says it first */
		return (1);
	}
	for (k = 0; k < n && rv; k++) {
		if (strcmp(words[k], "--") == 0)
			break;
		for (j = 0; j < nitems(skip); j++) {
			len = strlen(skip[j]);
			if (strncmp(words[k], skip[j], len) == 0 &&
			    (words[k][len] == '\0' || (words[k][len] == '=' &&
			    strcmp(words[k] + len + 1, "false") != 0)))
				rv = 0;
		}
	}
	toolgraph_words_free(words, n);
	if (!rv)
		log_info("the tool is told to skip its cache: every task runs");
	return (rv);
}

/* SIGINT, SIGTERM: cancel the run. */
static void
submit_signal_cb(evutil_socket_t sig, short events, void *arg)
{
	struct submit	*s = arg;
	char		*why;

	(void)events;
	xasprintf(&why, "cancelled (%s)", strsignal((int)sig));
	end_abort(s, why);
	free(why);
}

/* The once-a-second timer. */
static void
submit_tick_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	loop_tick(arg);
}

/* Free everything. */
static void
submit_free(struct submit *s)
{
	size_t	i;

	rconn_free(s->rc_sub);
	rconn_free(s->rc_cmd);
	if (s->ev_tick != NULL)
		event_free(s->ev_tick);
	if (s->ev_sigint != NULL)
		event_free(s->ev_sigint);
	if (s->ev_sigterm != NULL)
		event_free(s->ev_sigterm);
	if (s->base != NULL)
		event_base_free(s->base);
	for (i = 0; s->pt != NULL && i < graph_size(s->g); i++)
		ptask_clear(&s->pt[i]);
	free(s->pt);
	sched_free(s);
	graph_free(s->g);
	keys_free(&s->keys);
	url_free(&s->url);
	free(s->run);
	free(s->me);
	free(s->abort_reason);
	free(s->refused);
	free(s->stop_pending);
	if (s->secret != NULL) {
		explicit_bzero(s->secret, strlen(s->secret));
		free(s->secret);
	}
}

/* The options' defaults, before the command line. */
static void
submit_defaults(struct submit_opts *o)
{
	memset(o, 0, sizeof *o);
	cli_init(&o->cli, "dteq submit");
	o->agent_wait = DEFAULT_AGENT_WAIT;
	o->fallback_after = DEFAULT_FALLBACK_AFTER;
	o->lease = DEFAULT_LEASE;
	o->ttl = DEFAULT_TTL;
	o->output_cap = DEFAULT_OUTPUT_CAP;
	o->max_reclaims = DEFAULT_MAX_RECLAIMS;
	o->main_lease = DEFAULT_MAIN_LEASE;
	o->color = -1;
}

/*
 * This main job, as the run's main key and meta name it: the CI's job
 * (runid_agent_name()) with this process's pid and host. Caller frees.
 */
static char *
submit_me(void)
{
	char	*name, *me, host[256], pid[32];
	size_t	 nl, pl;

	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "?");
	host[sizeof host - 1] = '\0';
	snprintf(pid, sizeof pid, "-%ld", (long)getpid());
	name = runid_agent_name(runid_getenv, NULL);
	nl = strlen(name);
	pl = strlen(pid);
	if (nl > pl && strcmp(name + nl - pl, pid) == 0)
		xasprintf(&me, "pid %ld on %s", (long)getpid(), host);
	else
		xasprintf(&me, "%s (pid %ld on %s)", name, (long)getpid(),
		    host);
	free(name);
	return (me);
}

/*
 * Everything before the loop: the graph, the server and run, the secret,
 * then registering. Returns -1 with the exit code in *rv and either
 * *cause set (bad usage, for the caller to print) or *cause NULL (the
 * registering failed, and that is logged here).
 */
static int
submit_setup(struct submit *s, char **cause, int *rv)
{
	char	*repo;

	*rv = EXIT_USAGE;
	/* Nx loads in the main job's runner while it makes the graph. */
	warm_prestart(s);
	if (submit_load(s, cause) != 0 ||
	    cli_resolve(&s->o->cli, &s->url, &s->run, cause) != 0 ||
	    sign_load_secret(s->o->secret_file, &s->secret, cause) != 0)
		return (-1);
	repo = cli_repo(&s->o->cli);
	keys_init(&s->keys, s->run, repo);
	free(repo);
	s->me = submit_me();
	graph_digest(s->g, s->digest);
	s->cache_skip = submit_cache_skip(s->o);
	s->pt = xcalloc(graph_size(s->g), sizeof *s->pt);
	if ((*rv = register_run(s, cause)) != 0) {
		log_warnx("%s", *cause);
		free(*cause);
		*cause = NULL;
		*rv = *rv == -2 ? EXIT_USAGE : EXIT_INFRA;
		return (-1);
	}
	return (0);
}

/* Run the event loop until the run ends. */
static void
submit_loop(struct submit *s)
{
	struct timeval	 tv = { 1, 0 };

	signal(SIGPIPE, SIG_IGN);
	if ((s->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	s->started = util_now_ms();
	s->last_alive = s->started;
	s->ev_sigint = evsignal_new(s->base, SIGINT, submit_signal_cb, s);
	s->ev_sigterm = evsignal_new(s->base, SIGTERM, submit_signal_cb, s);
	s->ev_tick = event_new(s->base, -1, EV_PERSIST, submit_tick_cb, s);
	evsignal_add(s->ev_sigint, NULL);
	evsignal_add(s->ev_sigterm, NULL);
	evtimer_add(s->ev_tick, &tv);
	log_info("run %s: %zu tasks", s->run, graph_size(s->g));
	report_init(s);
	live_start(s);
	loop_start(s);
	event_base_dispatch(s->base);
}

int
submit_main(int argc, char **argv)
{
	struct submit_opts	 o;
	struct submit		 s;
	char			*cause = NULL;
	int			 rv;

	memset(&s, 0, sizeof s);
	submit_defaults(&o);
	s.o = &o;
	if (submit_options(&o, argc, argv, &cause) != 0)
		goto usage_error;
	if (o.cli.help) {
		fputs(submit_usage, stdout);
		return (EXIT_OK);
	}
	if (submit_setup(&s, &cause, &rv) != 0) {
		util_runner_pool_remove(getpid());
		if (cause != NULL)
			goto usage_error;
		submit_free(&s);
		return (rv);
	}
	submit_loop(&s);
	fallback_wait(&s);
	/*
	 * After failures too, the tasks that succeeded (replay.c), before
	 * the summary: its output is recorded in the run, and the summary
	 * and failure recap are the last lines.
	 */
	replay_run(&s);
	/* Its Nx runner (warm.c, replay.c) sees it gone and exits. */
	util_runner_pool_remove(getpid());
	record_collect(&s);
	rv = recap_print(&s);
	submit_free(&s);
	return (rv);

usage_error:
	fprintf(stderr, "dteq submit: %s\n", cause);
	free(cause);
	submit_free(&s);
	return (EXIT_USAGE);
}
