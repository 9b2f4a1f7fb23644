/* dteq: self-hosted distributed task execution over Redis. */

/*
 * `dteq run`: the whole thing on one machine. It starts a private
 * redis-server (from PATH) on a unix socket in a fresh temporary
 * directory, N `dteq work` processes and one `dteq submit`, waits for the
 * submit, lets the agents leave, stops the server by its pid and removes
 * the directory, also on Ctrl-C or SIGTERM. It exits with submit's code.
 *
 * This is plain process supervision (fork, exec, waitpid); the event loop
 * lives in the children. dteq run is the subreaper of what it starts, so
 * the tasks of an agent that died are handed to it, and it stops them
 * (their process groups) before it leaves.
 */

#include <sys/prctl.h>

#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "cmd.h"

static const char run_usage[] =
    "usage: dteq run --agents N [--parallel P] [submit options] TASKFILE\n"
    "\n"
    "Run a task graph on this machine: a private redis-server on a unix\n"
    "socket, N local agents running P tasks each, and one submit. Exits\n"
    "with the submit's code. Other options are passed to dteq submit.\n";

static volatile sig_atomic_t run_signal;

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

/* Start argv[0] (searched in PATH) with argv; return its pid or -1. */
static pid_t
run_spawn(char *const argv[], const char *out)
{
	pid_t	pid;
	int	fd;

	if ((pid = fork()) == -1) {
		log_warn("fork");
		return (-1);
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (out != NULL && (fd = open(out, O_WRONLY | O_CREAT |
		    O_APPEND, 0600)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "dteq run: cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	return (pid);
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

/* Start the private redis-server and wait until it answers. */
static pid_t
run_redis(const char *dir, const char *sock)
{
	struct redis_url u;
	redisContext	*c;
	char		*log, *cause;
	pid_t		 pid;
	int		 tries, st;
	char		*argv[] = { (char *)"redis-server", (char *)"--port",
	    (char *)"0", (char *)"--unixsocket", (char *)sock,
	    (char *)"--unixsocketperm", (char *)"700", (char *)"--save",
	    (char *)"", (char *)"--appendonly", (char *)"no", (char *)"--dir",
	    (char *)dir, (char *)"--daemonize", (char *)"no",
	    (char *)"--loglevel", (char *)"warning", NULL };

	xasprintf(&log, "%s/redis.log", dir);
	pid = run_spawn(argv, log);
	free(log);
	if (pid == -1)
		return (-1);
	memset(&u, 0, sizeof u);
	u.type = URL_UNIX;
	u.path = (char *)sock;
	for (tries = 0; tries < 250; tries++) {
		if (run_wait(pid, 0, &st)) {
			log_warnx("redis-server exited at start (is it "
			    "installed? see apt-get install redis-server)");
			return (-1);
		}
		if (access(sock, F_OK) == 0 &&
		    (c = rconn_sync_connect(&u, 1, &cause)) != NULL) {
			redisFree(c);
			return (pid);
		}
		if (access(sock, F_OK) == 0)
			free(cause);
		run_sleep(20);
	}
	log_warnx("redis-server did not answer on %s", sock);
	run_stop(pid, 1000);
	return (-1);
}

/*
 * Sign the local run's tasks with a fresh secret (unless the user gave
 * one): the children inherit it, tasks never see it.
 */
static void
run_secret(void)
{
	unsigned char	 buf[16];
	char		 hex[33];
	const char	*env = getenv("DTEQ_SECRET");
	size_t		 i;

	if (env != NULL && *env != '\0')
		return;
	if (getrandom(buf, sizeof buf, 0) != (ssize_t)sizeof buf)
		fatal("getrandom");
	for (i = 0; i < sizeof buf; i++)
		snprintf(hex + 2 * i, 3, "%02x", buf[i]);
	setenv("DTEQ_SECRET", hex, 1);
}

/*
 * The local agents share this checkout, where every task's outputs land:
 * an Nx or Turborepo task need not restore its dependencies' outputs from
 * the cache, and must not. Without its daemon Nx deletes and copies a
 * restored output again every time, so a task reading a library's dist/
 * could find it gone while a task next to it restored the same library
 * (DTEQ_TOOL_DEPS=restore on one checkout failed 2 of 10 runs of the Nx
 * failure test). So exclude, unless the user chose.
 */
static void
run_tool_deps(void)
{
	const char	*env = getenv("DTEQ_TOOL_DEPS");

	if (env == NULL || *env == '\0')
		setenv("DTEQ_TOOL_DEPS", "exclude", 1);
}

/* Remove the temporary directory and what the server left in it. */
static void
run_cleanup_dir(const char *dir)
{
	const char	*names[] = { "redis.sock", "redis.log", "dump.rdb",
	    "agents.log", NULL };
	char		*path;
	int		 i;

	for (i = 0; names[i] != NULL; i++) {
		xasprintf(&path, "%s/%s", dir, names[i]);
		unlink(path);
		free(path);
	}
	if (rmdir(dir) != 0)
		log_warn("cannot remove %s", dir);
}

int
run_main(int argc, char **argv)
{
	struct sigaction sa;
	char		 dir[] = "/tmp/dteq-run.XXXXXX";
	char		*sock = NULL, *url = NULL, *run = NULL, *self = NULL;
	char		*alog = NULL, **sargv = NULL, *name, par[16];
	const char	*errstr;
	pid_t		 redis = -1, submit = -1, *agents = NULL;
	int		 nagents = 0, parallel = 1, i, j, st, rv = EXIT_INFRA;
	int		 sargc = 0, alive, failed;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			fputs(run_usage, stdout);
			return (EXIT_OK);
		}
	}
	/* Take --agents and --parallel; the rest goes to submit. */
	sargv = xcalloc((size_t)argc + 8, sizeof *sargv);
	for (i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = NULL;
		int *dst = NULL;

		if (strcmp(opt, "--agents") == 0 || strncmp(opt,
		    "--agents=", 9) == 0)
			dst = &nagents;
		else if (strcmp(opt, "--parallel") == 0 || strncmp(opt,
		    "--parallel=", 11) == 0)
			dst = &parallel;
		if (dst == NULL) {
			sargv[4 + sargc++] = argv[i];
			continue;
		}
		if ((val = strchr(opt, '=')) != NULL)
			val++;
		else if (i + 1 < argc)
			val = argv[++i];
		if (val == NULL) {
			fprintf(stderr, "dteq run: %s needs a number\n", opt);
			goto usage;
		}
		*dst = (int)util_strtonum(val, 1, 256, &errstr);
		if (errstr != NULL) {
			fprintf(stderr, "dteq run: %.*s: \"%s\" is %s (1 to "
			    "256)\n", (int)strcspn(opt, "="), opt, val, errstr);
			goto usage;
		}
	}
	if (nagents == 0) {
		fprintf(stderr, "dteq run: --agents N is required\n");
		goto usage;
	}
	log_set_prefix("dteq run");

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = run_signal_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("prctl(PR_SET_CHILD_SUBREAPER)");
	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp");
	run_secret();
	run_tool_deps();
	xasprintf(&sock, "%s/redis.sock", dir);
	xasprintf(&url, "unix://%s", sock);
	xasprintf(&alog, "%s/agents.log", dir);
	xasprintf(&run, "local-%ld-%ld", (long)getpid(), (long)time(NULL));
	if ((self = realpath("/proc/self/exe", NULL)) == NULL)
		self = xstrdup(argv[0]);
	if ((redis = run_redis(dir, sock)) == -1)
		goto out;

	agents = xcalloc((size_t)nagents, sizeof *agents);
	snprintf(par, sizeof par, "%d", parallel);
	for (j = 0; j < nagents; j++) {
		char *aargv[] = { self, (char *)"work", (char *)"--redis", url,
		    (char *)"--run", run, (char *)"--parallel", par,
		    (char *)"--name", NULL, (char *)"--wait", (char *)"60",
		    NULL };

		xasprintf(&name, "agent-%d", j + 1);
		aargv[9] = name;
		agents[j] = run_spawn(aargv, NULL);
		free(name);
	}
	sargv[0] = self;
	sargv[1] = (char *)"submit";
	sargv[2] = (char *)"--redis";
	sargv[3] = url;
	sargv[4 + sargc++] = (char *)"--run";
	sargv[4 + sargc++] = run;
	sargv[4 + sargc] = NULL;
	if ((submit = run_spawn(sargv, NULL)) == -1)
		goto out;

	/*
	 * Wait for the submit; watch the agents too: if every agent has
	 * gone and one of them failed (it refused the run, lost Redis, ...),
	 * nothing would run the tasks, so stop the submit rather than wait
	 * for its --agent-wait. Agents that exit 0 saw the run end.
	 */
	failed = 0;
	while (!run_signal) {
		if (waitpid(submit, &st, WNOHANG) == submit) {
			submit = -1;
			rv = WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_INFRA;
			break;
		}
		alive = 0;
		for (j = 0; j < nagents; j++) {
			if (agents[j] <= 0)
				continue;
			if (!run_wait(agents[j], 0, &st)) {
				alive++;
				continue;
			}
			agents[j] = -1;
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
				continue;
			failed++;
			if (WIFEXITED(st))
				log_warnx("agent-%d exited with status %d", j + 1,
				    WEXITSTATUS(st));
			else
				log_warnx("agent-%d was killed by signal %d",
				    j + 1, WTERMSIG(st));
		}
		if (alive == 0 && failed > 0) {
			log_warnx("no agent left to run the tasks; stopping");
			run_stop(submit, 5000);	/* it cancels the run */
			submit = -1;
			rv = EXIT_INFRA;
			break;
		}
		run_sleep(20);
	}
	if (run_signal) {
		log_warnx("%s: stopping", strsignal(run_signal));
		run_stop(submit, 5000);		/* it cancels the run */
		submit = -1;
		rv = 128 + run_signal;
	}
	/* Agents leave on the stop sentinel; give them a moment. */
	for (j = 0; j < nagents; j++) {
		if (agents[j] > 0 && !run_wait(agents[j], 3000, &st))
			run_stop(agents[j], 2000);
		agents[j] = -1;
	}

out:
	if (submit > 0)
		run_stop(submit, 2000);
	for (j = 0; agents != NULL && j < nagents; j++)
		run_stop(agents[j], 2000);
	run_stop(redis, 5000);
	run_stop_orphans();
	run_cleanup_dir(dir);
	free(agents);
	free(sargv);
	free(sock);
	free(url);
	free(alog);
	free(run);
	free(self);
	return (rv);

usage:
	fputs(run_usage, stderr);
	free(sargv);
	return (EXIT_USAGE);
}
