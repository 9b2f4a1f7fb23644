/* dteq: self-hosted distributed task execution over Redis. */

/*
 * `dteq submit`: the main job. It holds the task graph, pushes only ready
 * tasks, follows the run's events, prints each finished task's output as
 * one block, and ends the run.
 *
 * Data flow:
 *
 * 1. submit_main() validates the whole task file (graph.c) before any
 *    write, connects once synchronously (submit_register: previous
 *    attempts of these ids, the run's meta hash), then starts the loop.
 * 2. rc_sub subscribes to the events channel; once SUBSCRIBE is confirmed
 *    and rc_cmd is ready, submit_begin() dispatches the roots, so no
 *    result can arrive unheard.
 * 3. submit_dispatch() records each task's new attempt (the fencing token)
 *    and pushes its message, one HSET and one LPUSH for a batch.
 * 4. A "finished" event (or the reconcile timer, which reads the results
 *    hash for tasks in flight, since pub/sub is only a wake-up) reaches
 *    submit_result(): dependents are dispatched at once, and the output
 *    is fetched and printed by submit_print_done().
 * 5. submit_tick() (1 s): the main heartbeat, reclaiming tasks of agents
 *    whose lease expired, reconciling, and the agent-wait, whole-run and
 *    lost-state checks.
 * 6. When every task is final and printed, submit_end() sets the stop
 *    sentinel (unless agents are kept for a later submit) and the loop
 *    ends; the commands recorded in the main job (record_collect()), the
 *    summary and exit code follow.
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
#include <hiredis/async.h>

#include "producer.h"

static const char submit_usage[] =
    "usage: dteq submit [--redis URL] [--run ID] [--stop-agents-after T,..]\n"
    "                   [--keep-agents] [--fail-fast] [--timeout SECS]\n"
    "                   [--agent-wait SECS] [--connect-timeout SECS]\n"
    "                   [--lease SECS] [--retries N] [--output-cap BYTES]\n"
    "                   [--max-reclaims N] [--main-lease SECS]\n"
    "                   [--secret-file FILE]\n"
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
    "  --stop-agents-after T,.. release the agents only once every task of\n"
    "                           these targets has finished\n"
    "  --keep-agents            do not release the agents at the end\n"
    "  --fail-fast              stop dispatching at the first failure\n"
    "  --timeout SECS           whole-run limit (default none)\n"
    "  --agent-wait SECS        how long to wait for an agent (default 600)\n"
    "  --connect-timeout SECS   how long to retry Redis at start (default 10)\n"
    "  --lease SECS             agent heartbeat lease (default 15)\n"
    "  --max-reclaims N         times a lost agent's task is requeued\n"
    "                           before it fails (default 2)\n"
    "  --main-lease SECS        agents give up when this submit has not\n"
    "                           heartbeated for SECS (default 30)\n"
    "  --secret-file FILE       sign task messages (else DTEQ_SECRET)\n"
    "  --retries N              retries of a failed task (default 0)\n"
    "  --output-cap BYTES       output kept per task (default 4194304)\n"
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

/* Parse the options into s; return -1 with *cause on a bad one. */
static int
submit_options(struct submit *s, int argc, char **argv, char **cause)
{
	static const struct option longopts[] = {
		{ "agent-wait", required_argument, NULL, 'A' },
		{ "color", required_argument, NULL, 'c' },
		{ "connect-timeout", required_argument, NULL, 'C' },
		{ "fail-fast", no_argument, NULL, 'f' },
		{ "graph", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ "json", required_argument, NULL, 'J' },
		{ "junit", required_argument, NULL, 'j' },
		{ "keep-agents", no_argument, NULL, 'k' },
		{ "lease", required_argument, NULL, 'L' },
		{ "main-lease", required_argument, NULL, 'm' },
		{ "max-reclaims", required_argument, NULL, 'X' },
		{ "no-replay", no_argument, NULL, 'P' },
		{ "nx", required_argument, NULL, 'x' },
		{ "output-cap", required_argument, NULL, 'O' },
		{ "redis", required_argument, NULL, 'r' },
		{ "report", required_argument, NULL, 'H' },
		{ "retries", required_argument, NULL, 'N' },
		{ "run", required_argument, NULL, 'R' },
		{ "secret-file", required_argument, NULL, 'K' },
		{ "stop-agents-after", required_argument, NULL, 'S' },
		{ "stream", no_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "turbo", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*errstr;
	int		 ch, sources;

	/* DTEQ_STAGE=off: no staging, submit dispatches every task itself
	 * (for comparison, like DTEQ_SCHED=fifo). */
	s->nostage = getenv("DTEQ_STAGE") != NULL &&
	    strcmp(getenv("DTEQ_STAGE"), "off") == 0;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'g':
			s->graph_file = optarg;
			break;
		case 'x':
			s->nx_args = optarg;
			break;
		case 'T':
			s->turbo_args = optarg;
			break;
		case 'A':
			if (util_parse_seconds("--agent-wait", optarg, 86400,
			    &s->agent_wait, cause) != 0)
				return (-1);
			break;
		case 'c':
			if (strcmp(optarg, "always") == 0)
				s->color = 1;
			else if (strcmp(optarg, "never") == 0)
				s->color = 0;
			else if (strcmp(optarg, "auto") == 0)
				s->color = -1;
			else {
				xasprintf(cause, "--color: \"%s\" is not "
				    "always, never or auto", optarg);
				return (-1);
			}
			break;
		case 'C':
			if (util_parse_seconds("--connect-timeout", optarg,
			    3600, &s->connect_timeout, cause) != 0)
				return (-1);
			break;
		case 'f':
			s->fail_fast = 1;
			break;
		case 'h':
			s->help = 1;
			return (0);
		case 'H':
			s->report_path = optarg;
			break;
		case 'j':
			s->junit_path = optarg;
			break;
		case 'J':
			s->json_path = optarg;
			break;
		case 'k':
			s->keep_agents = 1;
			break;
		case 'L':
			if (util_parse_seconds("--lease", optarg, 3600,
			    &s->lease, cause) != 0)
				return (-1);
			if (s->lease < 1) {
				xasprintf(cause, "--lease: must be at least "
				    "1 second");
				return (-1);
			}
			break;
		case 'K':
			s->secret_file = optarg;
			break;
		case 'P':
			s->no_replay = 1;
			break;
		case 'm':
			if (util_parse_seconds("--main-lease", optarg, 3600,
			    &s->main_lease, cause) != 0)
				return (-1);
			if (s->main_lease < 2) {
				xasprintf(cause, "--main-lease: must be at "
				    "least 2 seconds");
				return (-1);
			}
			break;
		case 'X':
			s->max_reclaims = (int)util_strtonum(optarg, 0, 100,
			    &errstr);
			if (errstr != NULL) {
				xasprintf(cause, "--max-reclaims: \"%s\" is %s "
				    "(0 to 100)", optarg, errstr);
				return (-1);
			}
			break;
		case 'N':
			s->retries = (int)util_strtonum(optarg, 0, 100,
			    &errstr);
			if (errstr != NULL) {
				xasprintf(cause, "--retries: \"%s\" is %s "
				    "(0 to 100)", optarg, errstr);
				return (-1);
			}
			break;
		case 'O':
			s->output_cap = (size_t)util_strtonum(optarg, 1024,
			    1LL << 30, &errstr);
			if (errstr != NULL) {
				xasprintf(cause, "--output-cap: \"%s\" is %s "
				    "(1024 to 1073741824 bytes)", optarg,
				    errstr);
				return (-1);
			}
			break;
		case 'r':
			s->redis_arg = optarg;
			break;
		case 'R':
			s->run_arg = optarg;
			break;
		case 'S':
			s->stop_after = optarg;
			break;
		case 's':
			s->stream = 1;
			break;
		case 't':
			if (util_parse_seconds("--timeout", optarg,
			    7 * 86400, &s->timeout, cause) != 0)
				return (-1);
			break;
		case 'v':
			log_init("dteq submit", 1);
			break;
		default:
			xasprintf(cause, "unknown option (see dteq submit "
			    "--help)");
			return (-1);
		}
	}
	sources = (s->nx_args != NULL) + (s->turbo_args != NULL) +
	    (s->graph_file != NULL);
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
	s->taskfile = argv[optind];
	return (0);
}

/*
 * Read and validate the task graph into s->g: the task file, the graph of
 * --graph FILE (Nx, Turborepo or a task file, detected), or the one Nx
 * (--nx) or Turborepo (--turbo) gives when run here (toolgraph.c).
 */
static int
submit_load(struct submit *s, char **cause)
{
	struct taskset	 ts;
	const char	*name, *mode;
	char		*buf, *why;
	size_t		 len, i;
	int		 rc;

	memset(&ts, 0, sizeof ts);
	if (s->nx_args != NULL || s->turbo_args != NULL) {
		name = s->nx_args != NULL ? "the Nx task graph" :
		    "the Turborepo task graph";
		if (toolgraph_run(s->nx_args != NULL ? TOOLGRAPH_NX :
		    TOOLGRAPH_TURBO, s->nx_args != NULL ? s->nx_args :
		    s->turbo_args, &ts, &s->tool_parallel, cause) != 0)
			return (-1);
	} else {
		name = s->graph_file != NULL ? s->graph_file : s->taskfile;
		if (util_read_file(name, &buf, &len, cause) != 0)
			return (-1);
		if (s->graph_file != NULL)
			rc = toolgraph_parse(buf, len, name, &ts, cause);
		else
			rc = taskfile_parse(buf, len, name, &ts, cause);
		free(buf);
		if (rc != 0)
			return (-1);
	}
	/*
	 * Agents that share one checkout (DTEQ_TOOL_DEPS=exclude, as dteq
	 * run sets) have every output there: they restore nothing.
	 */
	mode = getenv("DTEQ_TOOL_DEPS");
	for (i = 0; i < ts.ntasks && mode != NULL &&
	    strcmp(mode, "exclude") == 0; i++) {
		free(ts.tasks[i].restore);
		free(ts.tasks[i].restore_arg);
		ts.tasks[i].restore = ts.tasks[i].restore_arg = NULL;
		ts.tasks[i].restore_inline = 0;
	}
	if ((s->g = graph_new(&ts, &why)) == NULL) {
		xasprintf(cause, "%s: %s", strcmp(name, "-") == 0 ?
		    "<stdin>" : name, why);
		free(why);
		return (-1);
	}
	return (0);
}

/* SIGINT, SIGTERM: cancel the run. */
static void
submit_signal_cb(evutil_socket_t sig, short events, void *arg)
{
	struct submit	*s = arg;
	char		*why;

	(void)events;
	xasprintf(&why, "cancelled (%s)", strsignal((int)sig));
	submit_abort(s, why);
	free(why);
}

/* The once-a-second timer. */
static void
submit_tick_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	submit_tick(arg);
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
	for (i = 0; s->pt != NULL && i < graph_size(s->g); i++) {
		result_clear(&s->pt[i].result);
		free(s->pt[i].reason);
		free(s->pt[i].avoid);
	}
	free(s->pt);
	sched_free(s);
	graph_free(s->g);
	keys_free(&s->keys);
	url_free(&s->url);
	free(s->run);
	free(s->abort_reason);
	free(s->refused);
	free(s->stop_pending);
	if (s->secret != NULL) {
		explicit_bzero(s->secret, strlen(s->secret));
		free(s->secret);
	}
}

int
submit_main(int argc, char **argv)
{
	struct submit	 s;
	struct timeval	 tv = { 1, 0 };
	char		*cause;
	int		 rv;

	memset(&s, 0, sizeof s);
	s.agent_wait = DEFAULT_AGENT_WAIT;
	s.connect_timeout = DEFAULT_CONNECT_TIMEOUT;
	s.lease = DEFAULT_LEASE;
	s.ttl = DEFAULT_TTL;
	s.output_cap = DEFAULT_OUTPUT_CAP;
	s.max_reclaims = DEFAULT_MAX_RECLAIMS;
	s.main_lease = DEFAULT_MAIN_LEASE;
	s.color = -1;
	log_set_prefix("dteq submit");
	if (submit_options(&s, argc, argv, &cause) != 0)
		goto usage_error;
	if (s.help) {
		fputs(submit_usage, stdout);
		return (EXIT_OK);
	}
	if (submit_load(&s, &cause) != 0 ||
	    cli_redis_url(s.redis_arg, &s.url, &cause) != 0 ||
	    cli_run_id(s.run_arg, &s.run, &cause) != 0 ||
	    sign_load_secret(s.secret_file, &s.secret, &cause) != 0)
		goto usage_error;
	keys_init(&s.keys, s.run);
	s.pt = xcalloc(graph_size(s.g), sizeof *s.pt);
	if ((rv = submit_register(&s, &cause)) != 0) {
		log_warnx("%s", cause);
		free(cause);
		submit_free(&s);
		return (rv == -2 ? EXIT_USAGE : EXIT_INFRA);
	}

	signal(SIGPIPE, SIG_IGN);
	if ((s.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	s.started = util_now_ms();
	s.last_alive = s.started;
	s.ev_sigint = evsignal_new(s.base, SIGINT, submit_signal_cb, &s);
	s.ev_sigterm = evsignal_new(s.base, SIGTERM, submit_signal_cb, &s);
	s.ev_tick = event_new(s.base, -1, EV_PERSIST, submit_tick_cb, &s);
	evsignal_add(s.ev_sigint, NULL);
	evsignal_add(s.ev_sigterm, NULL);
	evtimer_add(s.ev_tick, &tv);
	log_info("run %s: %zu tasks", s.run, graph_size(s.g));
	report_init(&s);
	submit_start(&s);
	event_base_dispatch(s.base);

	record_collect(&s);
	rv = submit_report(&s);
	/* After failures too: the tasks that succeeded (replay.c). */
	if (rv == EXIT_OK || rv == EXIT_TASKS_FAILED)
		replay_run(&s);
	submit_free(&s);
	return (rv);

usage_error:
	fprintf(stderr, "dteq submit: %s\n", cause);
	free(cause);
	submit_free(&s);
	return (EXIT_USAGE);
}
