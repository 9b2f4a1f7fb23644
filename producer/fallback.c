/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The main job as its own agent. When no agent has joined the run within
 * --fallback-after seconds of the start (the CI re-ran only the failed
 * main job, and the agents of the earlier attempt, which exited 0, are
 * not re-run), the main job starts `dteq work` on the run itself, with
 * the parallelism it was given (an --nx or --turbo submit's --parallel,
 * else 1), and says so in one line. That agent joins the run like any
 * other, through Redis: tasks final before (an earlier attempt resumed,
 * cache hits) are not run again, and an agent that joins later shares
 * the work. It ends with the run (the stop sentinel), with the submit
 * (SIGTERM when its parent dies), and fallback_wait() reaps it.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "producer.h"

/* This agent's name: "main-" and the main job's own. Caller frees. */
static char *
fallback_name(void)
{
	char	*name, *base, *cause;

	base = runid_agent_name(runid_getenv, NULL);
	xasprintf(&name, "main-%.58s", base);
	free(base);
	if (runid_valid(name, &cause) != 0) {
		free(cause);
		free(name);
		name = xstrdup("main-job");
	}
	return (name);
}

/* Start the agent; -1 (said why) if it could not be started. */
static int
fallback_start(struct submit *s, int parallel)
{
	struct spawn	 sp;
	char		*argv[16], *set[3], *url, *name, *cause, par[16];
	char		 self[4096];
	ssize_t		 len;
	int		 argc = 0, nset = 0, rv = 0;

	if ((len = readlink("/proc/self/exe", self, sizeof self - 1)) <= 0) {
		log_warnx("no agent of its own: cannot find this program");
		return (-1);
	}
	self[len] = '\0';
	url = url_format(&s->url, 0);	/* without the password */
	name = fallback_name();
	snprintf(par, sizeof par, "%d", parallel);
	argv[argc++] = self;
	argv[argc++] = (char *)"work";
	argv[argc++] = (char *)"--redis";
	argv[argc++] = url;
	argv[argc++] = (char *)"--run";
	argv[argc++] = s->run;
	argv[argc++] = (char *)"--repo";
	argv[argc++] = s->keys.repo != NULL ? s->keys.repo : (char *)"-";
	argv[argc++] = (char *)"--name";
	argv[argc++] = name;
	argv[argc++] = (char *)"--parallel";
	argv[argc++] = par;
	argv[argc] = NULL;
	/* Secrets by the environment, never on a command line. */
	if (s->url.password != NULL)
		xasprintf(&set[nset++], "DTEQ_REDIS_PASSWORD=%s",
		    s->url.password);
	if (s->secret != NULL)
		xasprintf(&set[nset++], "DTEQ_SECRET=%s", s->secret);
	set[nset] = NULL;

	memset(&sp, 0, sizeof sp);
	sp.argv = argv;
	sp.set = set;
	sp.out = SPAWN_FILE;
	sp.path = "/dev/null";
	sp.err = SPAWN_INHERIT;
	sp.flags = SPAWN_NULL_STDIN | SPAWN_PARENT_DEATH;
	if (spawn_start(&sp, &cause) != 0) {
		log_warnx("no agent of its own: %s", cause);
		free(cause);
		rv = -1;
	} else
		s->fallback_pid = sp.pid;
	while (nset > 0) {
		nset--;
		explicit_bzero(set[nset], strlen(set[nset]));
		free(set[nset]);
	}
	free(url);
	free(name);
	return (rv);
}

/*
 * Once a second (loop_tick()): no agent joined within --fallback-after
 * seconds, tasks are left: run them here.
 */
void
fallback_tick(struct submit *s, uint64_t now)
{
	size_t	left = graph_size(s->g) - s->nfinal;
	int	parallel = s->tool_parallel > 0 ? s->tool_parallel : 1;

	if (s->o->fallback_after == 0 || s->fallback_pid != 0 ||
	    s->fallback_failed || s->agents_seen || !s->begun ||
	    s->ending || left == 0 ||
	    now - s->started < (uint64_t)s->o->fallback_after * 1000)
		return;
	log_info("no agent joined run %s within %d s: the main job runs its "
	    "%zu remaining task%s itself, %d at once (--fallback-after)",
	    s->run, s->o->fallback_after, left, left == 1 ? "" : "s",
	    parallel);
	if (fallback_start(s, parallel) != 0)
		s->fallback_failed = 1;
}

/*
 * After the loop: the agent leaves with the run (its stop sentinel); give
 * it a few seconds, then SIGTERM (it gives back what it holds), then
 * SIGKILL.
 */
void
fallback_wait(struct submit *s)
{
	struct timespec	 ts = { 0, 50 * 1000000L };
	int		 i, st, sig = 0;

	if (s->fallback_pid <= 0)
		return;
	for (i = 0; i < 400; i++) {
		if (waitpid(s->fallback_pid, &st, WNOHANG) != 0)
			break;
		if (i == 200)
			sig = SIGTERM;
		else if (i == 360)
			sig = SIGKILL;
		if (sig != 0) {
			kill(s->fallback_pid, sig);
			sig = 0;
		}
		nanosleep(&ts, NULL);
	}
	s->fallback_pid = 0;
}
