/* dteq: self-hosted distributed task execution over Redis. */

/*
 * `dteq run`: the whole thing on one machine. It starts a private
 * redis-server (from PATH) on a unix socket in a fresh temporary
 * directory (under $TMPDIR, else /tmp), N `dteq work` processes and one
 * `dteq submit`, waits for the submit, lets the agents leave, stops the
 * server by its pid and removes the directory, whatever way it ends: the
 * submit's end, an error (run_teardown, also from exit() through atexit),
 * SIGINT, SIGTERM or SIGHUP. Killed outright (SIGKILL), it cannot: its
 * children get SIGTERM then (SPAWN_PARENT_DEATH) and only the directory
 * stays. It exits with submit's code.
 *
 * This is plain process supervision (spawn_start, waitpid); the event
 * loop lives in the children. dteq run is the subreaper of what it
 * starts, so the tasks of an agent that died are handed to it, and it
 * stops them (their process groups) before it leaves.
 *
 * --agents and --parallel are run's own; every other word of its command
 * line goes to the submit as it is, in its place. The signing secret and
 * DTEQ_TOOL_DEPS=exclude (unless the user set them) go into the agents'
 * and the submit's environment.
 */

#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "cmd.h"

#define RUN_DIR		"dteq-run.XXXXXX"
#define RUN_TMPDIR_MAX	60	/* the socket's path fits in sun_path */
#define RUN_REDIS_WAIT	10000	/* ms for redis-server to answer */

static const char run_usage[] =
    "usage: dteq run --agents N [--parallel P] [submit options] TASKFILE\n"
    "\n"
    "Run a task graph on this machine: a private redis-server on a unix\n"
    "socket, N local agents running P tasks each, and one submit. Exits\n"
    "with the submit's code. Other options are passed to dteq submit.\n";

/* run_options(): the options that are run's own, and submit's words. */
#define RUN_OPT_AGENTS		0x201
#define RUN_OPT_PARALLEL	0x202
#define RUN_OPT_SUBMIT		0x203

/* What one dteq run starts, and what it hands its children. */
struct run {
	int		 nagents;	/* --agents */
	int		 parallel;	/* --parallel */
	char	       **sargv;		/* submit's: ours, then the user's */
	int		 sargc;		/* the user's words in sargv */
	char		*dir;		/* the temporary directory */
	char		*sock;		/* the server's socket in dir */
	char		*url;		/* unix://sock */
	char		*id;		/* the run id */
	char		*self;		/* this dteq, for the children */
	char		*env[3];	/* set in the children's environment */
	pid_t		 redis;
	pid_t		 submit;
	pid_t		*agents;	/* -1: gone */
	int		 failed;	/* agents failed or not started */
};

static volatile sig_atomic_t run_signal;

/* The run to tear down if dteq run exits from elsewhere (fatal()). */
static struct run *run_current;

/* Note a signal; the wait loop handles it. */
static void
run_signal_handler(int sig)
{
	run_signal = sig;
}

/* Sleep ms milliseconds unless a signal arrives. */
static void
run_sleep(int ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

/*
 * Start argv[0] (searched in PATH) with argv, its output appended to out
 * if out is not NULL, with env set in its environment; return its pid,
 * or -1 with *cause if it could not be started.
 */
static pid_t
run_spawn(char *const argv[], const char *out, char *const env[],
    char **cause)
{
	struct spawn	 sp;

	memset(&sp, 0, sizeof sp);
	sp.argv = argv;
	sp.set = env;
	sp.flags = SPAWN_PARENT_DEATH;	/* none outlives a killed run */
	if (out != NULL) {
		sp.out = SPAWN_FILE;
		sp.err = SPAWN_TO_OUT;
		sp.path = out;
	}
	if (spawn_start(&sp, cause) != 0)
		return (-1);
	return (sp.pid);
}

/* Wait for pid up to ms; 1 if it exited (status in *st), 0 if not. */
static int
run_wait(pid_t pid, int ms, int *st)
{
	int	waited = 0;

	for (;;) {
		if (waitpid(pid, st, WNOHANG) == pid)
			return (1);
		if (waited >= ms)
			return (0);
		run_sleep(20);
		waited += 20;
	}
}

/*
 * Stop the orphans handed to this subreaper (tasks of agents that died):
 * each one's process group, TERM then KILL, and reap them.
 */
static void
run_stop_orphans(void)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[300], buf[512], *p;
	FILE		*f;
	pid_t		 pids[256];
	long		 ppid;
	size_t		 n = 0, i;
	int		 st;

	if ((d = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(d)) != NULL && n < sizeof pids / sizeof *pids) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		p = fgets(buf, sizeof buf, f);
		fclose(f);
		/* "pid (comm) state ppid ...": comm may hold spaces. */
		if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %*c %ld", &ppid) != 1 || ppid != getpid())
			continue;
		pids[n++] = (pid_t)atol(de->d_name);
	}
	closedir(d);
	for (i = 0; i < n; i++) {
		kill(-pids[i], SIGTERM);
		kill(pids[i], SIGTERM);
	}
	for (i = 0; i < n; i++) {
		if (run_wait(pids[i], 2000, &st))
			continue;
		kill(-pids[i], SIGKILL);
		kill(pids[i], SIGKILL);
		waitpid(pids[i], &st, 0);
	}
	while (waitpid(-1, &st, WNOHANG) > 0)
		;	/* anything else that was handed over */
}

/* Stop pid: TERM, then KILL after grace ms; always reaps it. */
static void
run_stop(pid_t pid, int grace)
{
	int	st;

	if (pid <= 0)
		return;
	if (run_wait(pid, 0, &st))
		return;
	kill(pid, SIGTERM);
	if (run_wait(pid, grace, &st))
		return;
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

/* Print the last lines redis-server logged, for a server that failed. */
static void
run_redis_log(const char *dir)
{
	char	*path, line[512], tail[8][512];
	FILE	*f;
	size_t	 n = 0, i;

	xasprintf(&path, "%s/redis.log", dir);
	f = fopen(path, "r");
	free(path);
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL)
		memcpy(tail[n++ % nitems(tail)], line, sizeof line);
	fclose(f);
	for (i = n > nitems(tail) ? n - nitems(tail) : 0; i < n; i++)
		fprintf(stderr, "redis-server: %s", tail[i % nitems(tail)]);
}

/*
 * Start the private redis-server and wait until it answers on sock: one
 * connection attempt at a time, its failure (no socket yet, or not yet
 * listening) freed and forgotten, until it answers, exits, a signal comes
 * or RUN_REDIS_WAIT passes. Returns its pid, or -1 (and it is stopped).
 */
static pid_t
run_redis(const char *dir, const char *sock)
{
	struct redis_url u;
	redisContext	*c;
	char		*log, *cause = NULL;
	pid_t		 pid;
	uint64_t	 end;
	int		 st;
	char		*argv[] = { (char *)"redis-server", (char *)"--port",
	    (char *)"0", (char *)"--unixsocket", (char *)sock,
	    (char *)"--unixsocketperm", (char *)"700", (char *)"--save",
	    (char *)"", (char *)"--appendonly", (char *)"no", (char *)"--dir",
	    (char *)dir, (char *)"--daemonize", (char *)"no",
	    (char *)"--loglevel", (char *)"warning", NULL };

	xasprintf(&log, "%s/redis.log", dir);
	pid = run_spawn(argv, log, NULL, &cause);
	free(log);
	if (pid == -1) {
		log_warnx("%s (is it installed? see apt-get install "
		    "redis-server)", cause);
		free(cause);
		return (-1);
	}
	memset(&u, 0, sizeof u);
	u.type = URL_UNIX;
	u.path = (char *)sock;
	end = util_now_ms() + RUN_REDIS_WAIT;
	while (!run_signal && util_now_ms() < end) {
		if (run_wait(pid, 0, &st)) {
			log_warnx("redis-server exited at start (is it "
			    "installed? see apt-get install redis-server)");
			run_redis_log(dir);
			return (-1);
		}
		/* One attempt: sets cause whenever it returns NULL. */
		if ((c = rconn_sync_connect(&u, 0, &cause)) != NULL) {
			redisFree(c);
			return (pid);
		}
		free(cause);
		cause = NULL;
		run_sleep(20);
	}
	if (!run_signal) {
		log_warnx("redis-server did not answer on %s", sock);
		run_redis_log(dir);
	}
	run_stop(pid, 1000);
	return (-1);
}

/*
 * Sign the local run's tasks with a fresh secret (unless the user gave
 * one): the children get it in their environment, tasks never see it.
 * Returns the "DTEQ_SECRET=..." to set, or NULL. Caller frees.
 */
static char *
run_secret(void)
{
	unsigned char	 buf[16];
	char		 hex[33], *env;
	size_t		 i;

	if (cli_env("DTEQ_SECRET") != NULL)
		return (NULL);
	if (getrandom(buf, sizeof buf, 0) != (ssize_t)sizeof buf)
		fatal("getrandom");
	for (i = 0; i < sizeof buf; i++)
		snprintf(hex + 2 * i, 3, "%02x", buf[i]);
	xasprintf(&env, "DTEQ_SECRET=%s", hex);
	return (env);
}

/*
 * The local agents share this checkout, where every task's outputs land:
 * an Nx or Turborepo task need not restore its dependencies' outputs from
 * the cache, and must not. Without its daemon Nx deletes and copies a
 * restored output again every time, so a task reading a library's dist/
 * could find it gone while a task next to it restored the same library
 * (DTEQ_TOOL_DEPS=restore on one checkout failed 2 of 10 runs of the Nx
 * failure test). So exclude, unless the user chose. Returns the
 * "DTEQ_TOOL_DEPS=..." to set, or NULL. Caller frees.
 */
static char *
run_tool_deps(void)
{
	if (cli_env("DTEQ_TOOL_DEPS") != NULL)
		return (NULL);
	return (xstrdup("DTEQ_TOOL_DEPS=exclude"));
}

/* Remove the temporary directory and whatever the server left in it. */
static void
run_cleanup_dir(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	char		*path;

	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			xasprintf(&path, "%s/%s", dir, de->d_name);
			unlink(path);
			free(path);
		}
		closedir(d);
	}
	if (rmdir(dir) != 0)
		log_warn("cannot remove %s", dir);
}

/*
 * Take the number of --agents or --parallel (1 to 256) into *dst; -1 with
 * *cause if it is not one.
 */
static int
run_number(const char *opt, const char *val, int *dst, char **cause)
{
	const char	*errstr;

	*dst = (int)util_strtonum(val, 1, 256, &errstr);
	if (errstr == NULL)
		return (0);
	xasprintf(cause, "%s: \"%s\" is %s (1 to 256)", opt, val, errstr);
	return (-1);
}

/*
 * Parse the options: --agents and --parallel are run's, -h and --help
 * too; every other word goes to submit as it is, in its place (getopt's
 * "-" mode hands the words back in order, and [prev, optind) is what one
 * call took). The other shared options (CLI_OPTIONS) are submit's: they
 * are listed so that a value goes along with its option. The first
 * problem goes to *cause; --help anywhere wins. Returns 1 for --help, -1
 * on bad usage.
 */
static int
run_options(struct run *r, int argc, char **argv, char **cause)
{
	static const struct option longopts[] = {
		CLI_OPTIONS,
		{ "agents", required_argument, NULL, RUN_OPT_AGENTS },
		/* submit's, so that "--agent" stays its abbreviation */
		{ "agent-wait", required_argument, NULL, RUN_OPT_SUBMIT },
		{ "parallel", required_argument, NULL, RUN_OPT_PARALLEL },
		{ NULL, 0, NULL, 0 }
	};
	struct cli_opts	 o;
	int		 ch, prev, rc = 0, i;

	cli_init(&o, "dteq run");
	*cause = NULL;
	r->sargv = xcalloc((size_t)argc + 8, sizeof *r->sargv);
	opterr = 0;		/* submit's options are not errors here */
	optind = 0;
	for (;;) {
		prev = optind > 0 ? optind : 1;
		if ((ch = getopt_long(argc, argv, "-:hv", longopts,
		    NULL)) == -1)
			break;
		if (ch == RUN_OPT_AGENTS || ch == RUN_OPT_PARALLEL) {
			if (*cause == NULL && run_number(ch == RUN_OPT_AGENTS ?
			    "--agents" : "--parallel", optarg, ch ==
			    RUN_OPT_AGENTS ? &r->nagents : &r->parallel,
			    cause) != 0)
				rc = -1;
			continue;
		}
		if (ch == ':') {
			if (*cause == NULL)
				xasprintf(cause, "%s needs a number",
				    argv[optind - 1]);
			rc = -1;
			continue;
		}
		if (ch == 'h' && cli_option(&o, ch, optarg, cause) == 1)
			continue;	/* the one shared option run takes */
		for (i = prev; i < optind; i++)
			r->sargv[4 + r->sargc++] = argv[i];
	}
	for (i = prev; i < argc; i++)	/* "--" and what follows it */
		r->sargv[4 + r->sargc++] = argv[i];
	opterr = 1;
	if (o.help)
		return (1);
	if (rc == 0 && r->nagents == 0) {
		xasprintf(cause, "--agents N is required");
		rc = -1;
	}
	return (rc);
}

/*
 * Start the agents, each with --parallel tasks; one that cannot be
 * started counts as one that failed.
 */
static void
run_agents(struct run *r)
{
	char	*name, par[16], *cause;
	int	 j;

	r->agents = xcalloc((size_t)r->nagents, sizeof *r->agents);
	snprintf(par, sizeof par, "%d", r->parallel);
	for (j = 0; j < r->nagents; j++) {
		char *aargv[] = { r->self, (char *)"work", (char *)"--redis",
		    r->url, (char *)"--run", r->id, (char *)"--parallel", par,
		    (char *)"--name", NULL, (char *)"--wait", (char *)"60",
		    NULL };

		xasprintf(&name, "agent-%d", j + 1);
		aargv[9] = name;
		if ((r->agents[j] = run_spawn(aargv, NULL, r->env,
		    &cause)) == -1) {
			log_warnx("%s: %s", name, cause);
			free(cause);
			r->failed++;
		}
		free(name);
	}
}

/* Start the submit: the user's words after ours, --run last. */
static int
run_submit(struct run *r)
{
	char	*cause;

	r->sargv[0] = r->self;
	r->sargv[1] = (char *)"submit";
	r->sargv[2] = (char *)"--redis";
	r->sargv[3] = r->url;
	r->sargv[4 + r->sargc++] = (char *)"--run";
	r->sargv[4 + r->sargc++] = r->id;
	r->sargv[4 + r->sargc] = NULL;
	if ((r->submit = run_spawn(r->sargv, NULL, r->env, &cause)) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return (-1);
	}
	return (0);
}

/* Reap the agents that have exited; the number still alive. */
static int
run_agents_alive(struct run *r)
{
	int	j, st, alive = 0;

	for (j = 0; j < r->nagents; j++) {
		if (r->agents[j] <= 0)
			continue;
		if (!run_wait(r->agents[j], 0, &st)) {
			alive++;
			continue;
		}
		r->agents[j] = -1;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			continue;
		r->failed++;
		if (WIFEXITED(st))
			log_warnx("agent-%d exited with status %d", j + 1,
			    WEXITSTATUS(st));
		else
			log_warnx("agent-%d was killed by signal %d", j + 1,
			    WTERMSIG(st));
	}
	return (alive);
}

/*
 * Wait for the submit; watch the agents too: if every agent has gone
 * and one of them failed (it refused the run, lost Redis, ...), nothing
 * would run the tasks, so stop the submit rather than wait for its
 * --agent-wait. Agents that exit 0 saw the run end. Returns the exit
 * code: the submit's, or 128 + a signal that stopped dteq run.
 */
static int
run_supervise(struct run *r)
{
	int	st, j, rv = EXIT_INFRA;

	while (!run_signal) {
		if (waitpid(r->submit, &st, WNOHANG) == r->submit) {
			r->submit = -1;
			rv = WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_INFRA;
			break;
		}
		if (run_agents_alive(r) == 0 && r->failed > 0) {
			log_warnx("no agent left to run the tasks; stopping");
			run_stop(r->submit, 5000);	/* it cancels the run */
			r->submit = -1;
			rv = EXIT_INFRA;
			break;
		}
		run_sleep(20);
	}
	if (run_signal) {
		log_warnx("%s: stopping", strsignal(run_signal));
		run_stop(r->submit, 5000);	/* it cancels the run */
		r->submit = -1;
		rv = 128 + run_signal;
	}
	/* Agents leave on the stop sentinel; give them a moment. */
	for (j = 0; j < r->nagents; j++) {
		if (r->agents[j] > 0 && !run_wait(r->agents[j], 3000, &st))
			run_stop(r->agents[j], 2000);
		r->agents[j] = -1;
	}
	return (rv);
}

/* Catch the signals that end dteq run, and become the subreaper. */
static void
run_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = run_signal_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("prctl(PR_SET_CHILD_SUBREAPER)");
}

/*
 * A fresh temporary directory under $TMPDIR (if it is an absolute path
 * short enough for the socket's), else /tmp. Caller frees.
 */
static char *
run_mkdtemp(void)
{
	const char	*tmp = getenv("TMPDIR");
	char		*dir;

	if (tmp == NULL || *tmp != '/' || strlen(tmp) > RUN_TMPDIR_MAX)
		tmp = "/tmp";
	xasprintf(&dir, "%s/%s", tmp, RUN_DIR);
	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp %s", dir);
	return (dir);
}

/* The directory, the server's socket, the run id, dteq itself, the env. */
static void
run_setup(struct run *r, const char *argv0)
{
	size_t	n = 0;

	r->dir = run_mkdtemp();
	if ((r->env[n] = run_secret()) != NULL)
		n++;
	if ((r->env[n] = run_tool_deps()) != NULL)
		n++;
	xasprintf(&r->sock, "%s/redis.sock", r->dir);
	xasprintf(&r->url, "unix://%s", r->sock);
	xasprintf(&r->id, "local-%ld-%ld", (long)getpid(), (long)time(NULL));
	if ((r->self = realpath("/proc/self/exe", NULL)) == NULL)
		r->self = xstrdup(argv0);
}

/*
 * Stop whatever still runs, remove the directory, free r; once (it is
 * also run_atexit's).
 */
static void
run_teardown(struct run *r)
{
	size_t	i;
	int	j;

	if (r->dir == NULL)
		return;
	run_current = NULL;
	if (r->submit > 0)
		run_stop(r->submit, 2000);
	for (j = 0; r->agents != NULL && j < r->nagents; j++)
		run_stop(r->agents[j], 2000);
	run_stop(r->redis, 5000);
	run_stop_orphans();
	run_cleanup_dir(r->dir);
	free(r->dir);
	r->dir = NULL;
	for (i = 0; i < nitems(r->env); i++)
		free(r->env[i]);
	free(r->agents);
	free(r->sargv);
	free(r->sock);
	free(r->url);
	free(r->id);
	free(r->self);
}

/* An exit() that did not come through run_main's end (fatal()). */
static void
run_atexit(void)
{
	if (run_current != NULL)
		run_teardown(run_current);
}

int
run_main(int argc, char **argv)
{
	struct run	 r;
	char		*cause;
	int		 rc, rv = EXIT_INFRA;

	memset(&r, 0, sizeof r);
	r.parallel = 1;
	r.redis = r.submit = -1;
	if ((rc = run_options(&r, argc, argv, &cause)) != 0) {
		free(r.sargv);
		if (rc == 1) {
			fputs(run_usage, stdout);
			return (EXIT_OK);
		}
		fprintf(stderr, "dteq run: %s\n", cause);
		free(cause);
		fputs(run_usage, stderr);
		return (EXIT_USAGE);
	}
	run_signals();
	run_setup(&r, argv[0]);
	run_current = &r;
	atexit(run_atexit);
	if ((r.redis = run_redis(r.dir, r.sock)) != -1) {
		run_agents(&r);
		if (run_submit(&r) == 0)
			rv = run_supervise(&r);
	} else if (run_signal) {
		log_warnx("%s: stopping", strsignal(run_signal));
		rv = 128 + run_signal;
	}
	run_teardown(&r);
	return (rv);
}
