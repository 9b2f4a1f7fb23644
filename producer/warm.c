/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The warm start of an --nx run: before any task is dispatched, the main
 * job restores here every task whose outputs the remote cache already
 * holds, and those tasks are not sent to an agent. Nx can hash a task
 * only once its dependencies' outputs are on disk (a hash may take in
 * their files), so submit cannot ask the cache about hashes up front as
 * it does with Turborepo's dry run: it runs `dteq nx-task --hits-only`
 * over every task in dependency order, with the cache served from the
 * run's Redis on loopback. The runner hashes each task, asks the cache
 * (HEAD), restores a hit and goes on; a miss, and whatever depends on it,
 * is left for the agents. Each hit's hash then goes into its task, and
 * cached.c finds it in the cache as it finds Turborepo's: the task is a
 * success from the cache, final before the first dispatch.
 *
 * The runner is submit's own (DTEQ_AGENT_PID is submit's pid), so the
 * replay at the end (replay.c) finds it started, and leaves out the
 * tasks restored here. It is started before anything else
 * (warm_prestart(), `dteq nx-task --start`), so that Nx loads in it
 * while Nx makes the task graph in another process: the look waits for
 * that start to end (its SIGCHLD), so that it finds the runner ready
 * instead of starting a second one.
 *
 * Data flow: loop_start() calls warm_start() once Redis is ready and
 * before cached_start(); when it returns 1 the child runs (once the
 * runner's start is over: warm_started_cb), and its
 * SIGCHLD event (warm_sigchld_cb) reads the report, sets the hashes,
 * prints one line, and calls back into the loop (done). Any failure
 * leaves every task to the agents. Also here, for replay.c: the
 * environment of a tool the main job runs against the cache it serves
 * (warm_tool_env).
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "producer.h"
#include "cache.h"

struct warm {
	struct submit	*s;
	struct cache	*cache;
	struct event	*ev;
	pid_t		 pid;
	char		**argv;		/* to start once the runner is up */
	char		 out[32];	/* the runner's output */
	char		 rep[32];	/* its report */
	size_t		 asked;
	void		(*done)(struct submit *);
};

/*
 * The variables a tool run here against cache gets (set[], at most
 * WARM_ENV_MAX, each allocated; NULL-ended): the cache's address for Nx
 * and Turborepo, no colour (its output goes to a log), and this submit as
 * the owner of its Nx runners. Returns how many; free each.
 */
size_t
warm_tool_env(struct submit *s, struct cache *cache, char **set)
{
	size_t	k = 0;

	xasprintf(&set[k++], "NX_SELF_HOSTED_REMOTE_CACHE_SERVER="
	    "http://127.0.0.1:%d", cache_port(cache));
	xasprintf(&set[k++], "NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN=%s",
	    cache_token(cache));
	xasprintf(&set[k++], "TURBO_API=http://127.0.0.1:%d",
	    cache_port(cache));
	xasprintf(&set[k++], "TURBO_TOKEN=%s", cache_token(cache));
	set[k++] = xstrdup("TURBO_TEAM=dteq");
	set[k++] = xstrdup("NO_COLOR=1");
	set[k++] = xstrdup("FORCE_COLOR=0");
	xasprintf(&set[k++], "DTEQ_AGENT_PID=%ld", (long)getpid());
	(void)s;
	set[k] = NULL;
	return (k);
}

/* Free an argv of warm_nx_argv(). */
void
warm_argv_free(char **argv)
{
	size_t	i;

	for (i = 0; argv != NULL && argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/*
 * The argv of `dteq nx-task --quiet [flags] ...` of the n tasks of order,
 * each with the words of its own command (`dteq nx-task ...`); *ntasks
 * is n. NULL when a task's command is not one (DTEQ_NX_RUNNER=off).
 */
char **
warm_nx_argv(struct submit *s, const size_t *order, size_t n,
    const char *const *flags, size_t *ntasks)
{
	char		**argv, **words, *cause = NULL;
	size_t		  na = 0, nw, i, j;
	struct task	 *t;

	*ntasks = 0;
	argv = xcalloc(4, sizeof *argv);	/* the three words, NULL */
	/* This dteq, even if its file was replaced since it started. */
	argv[na++] = xstrdup("/proc/self/exe");
	argv[na++] = xstrdup("nx-task");
	argv[na++] = xstrdup("--quiet");
	for (; flags != NULL && *flags != NULL; flags++) {
		argv = xreallocarray(argv, na + 2, sizeof *argv);
		argv[na++] = xstrdup(*flags);
	}
	for (i = 0; i < n; i++) {
		t = graph_node(s->g, order[i])->task;
		words = NULL;
		nw = 0;
		if (toolgraph_split(t->command, &words, &nw, &cause) != 0 ||
		    nw < 3 || strcmp(words[1], "nx-task") != 0) {
			free(cause);
			cause = NULL;
			if (words != NULL)
				toolgraph_words_free(words, nw);
			argv[na] = NULL;
			warm_argv_free(argv);
			return (NULL);
		}
		argv = xreallocarray(argv, na + nw + 1, sizeof *argv);
		for (j = 2; j < nw; j++)
			argv[na++] = xstrdup(words[j]);
		toolgraph_words_free(words, nw);
		(*ntasks)++;
	}
	argv[na] = NULL;
	return (argv);
}

/* Free w, stopping its cache and removing its files. */
static void
warm_free(struct warm *w)
{
	if (w->ev != NULL)
		event_free(w->ev);
	warm_argv_free(w->argv);
	if (w->cache != NULL)
		cache_free(w->cache);
	if (w->out[0] != '\0')
		unlink(w->out);
	if (w->rep[0] != '\0')
		unlink(w->rep);
	free(w);
}

/* Free w; then go on with the run. */
static void
warm_end(struct warm *w)
{
	struct submit	*s = w->s;
	void		(*done)(struct submit *) = w->done;

	warm_free(w);
	done(s);
}

/* A hit of the report: the task's hash from it; 1 if it was one. */
static int
warm_hit(struct submit *s, const char *line)
{
	static const char *const hits[] = { "remote-cache", "local-cache",
	    "local-cache-kept-existing" };
	cJSON		*o;
	const cJSON	*id, *hash, *status;
	struct task	*t;
	size_t		 i, k;
	int		 hit = 0;

	if ((o = cJSON_Parse(line)) == NULL)
		return (0);
	id = cJSON_GetObjectItemCaseSensitive(o, "id");
	hash = cJSON_GetObjectItemCaseSensitive(o, "hash");
	status = cJSON_GetObjectItemCaseSensitive(o, "status");
	if (cJSON_IsString(id) && cJSON_IsString(hash) &&
	    cJSON_IsString(status) && task_hash_valid(hash->valuestring) &&
	    (i = graph_find(s->g, id->valuestring)) != GRAPH_NONE) {
		for (k = 0; k < nitems(hits); k++) {
			if (strcmp(status->valuestring, hits[k]) == 0)
				hit = 1;
		}
	}
	if (hit) {
		t = graph_node(s->g, i)->task;
		free(t->hash);
		t->hash = xstrdup(hash->valuestring);
		s->pt[i].warm = 1;
	}
	cJSON_Delete(o);
	return (hit);
}

/* SIGCHLD: the runner's look at the cache is over; take its hits. */
static void
warm_sigchld_cb(evutil_socket_t sig, short events, void *arg)
{
	struct warm	*w = arg;
	struct submit	*s = w->s;
	FILE		*f;
	char		*line = NULL;
	size_t		 size = 0, hits = 0;
	ssize_t		 len;
	int		 status;

	(void)sig;
	(void)events;
	if (waitpid(w->pid, &status, WNOHANG) != w->pid)
		return;
	if ((f = fopen(w->rep, "r")) != NULL) {
		while ((len = getline(&line, &size, f)) > 0)
			hits += warm_hit(s, line);
		free(line);
		fclose(f);
	}
	if (spawn_exit_code(status) != 0) {
		log_warnx("the look at the remote cache exited with %d (see "
		    "%s); %zu hits kept", spawn_exit_code(status), w->out,
		    hits);
		w->out[0] = '\0';	/* kept for the user */
	}
	f = report_begin(s);
	fprintf(f, "Restored here from the remote cache before the run: %zu "
	    "of %zu tasks; the others go to the agents\n", hits, w->asked);
	report_end(s);
	warm_end(w);
}

/* Start w->argv with its output in w->out; -1 if not. */
static int
warm_spawn(struct warm *w)
{
	struct submit	*s = w->s;
	struct spawn	 sp;
	char		*set[WARM_ENV_MAX + 1], *cause = NULL;
	size_t		 i, k;
	int		 rc;

	k = warm_tool_env(s, w->cache, set);
	memset(&sp, 0, sizeof sp);
	sp.argv = w->argv;
	sp.set = set;
	sp.out = SPAWN_FILE;
	sp.err = SPAWN_TO_OUT;
	sp.path = w->out;
	sp.flags = SPAWN_SIGPIPE | SPAWN_NULL_STDIN;
	w->ev = evsignal_new(s->base, SIGCHLD, warm_sigchld_cb, w);
	evsignal_add(w->ev, NULL);
	fflush(stdout);
	if ((rc = spawn_start(&sp, &cause)) != 0) {
		log_warnx("no look at the remote cache: %s", cause);
		free(cause);
	} else {
		w->pid = sp.pid;
		log_info("looking for the run's %zu tasks in the remote cache "
		    "(dteq nx-task --hits-only)", w->asked);
	}
	for (i = 0; i < k; i++)
		free(set[i]);
	return (rc);
}

/* Reap the runner's start if it is over; 1 if it is (or never was). */
static int
warm_reap_start(struct submit *s)
{
	int	status;

	if (s->nx_start == 0)
		return (1);
	if (waitpid(s->nx_start, &status, WNOHANG) == 0)
		return (0);
	s->nx_start = 0;
	return (1);
}

/* SIGCHLD while the runner starts: once it is up, start the look. */
static void
warm_started_cb(evutil_socket_t sig, short events, void *arg)
{
	struct warm	*w = arg;

	(void)sig;
	(void)events;
	if (!warm_reap_start(w->s))
		return;
	event_free(w->ev);
	w->ev = NULL;
	if (warm_spawn(w) != 0)
		warm_end(w);
}

/*
 * Start the main job's Nx runner, in the background, when the run will
 * use it (an --nx run of the runner's tasks with a replay: the look at
 * the cache and the replay run there), so that Nx loads while Nx makes
 * the task graph. Called before the graph is read.
 */
void
warm_prestart(struct submit *s)
{
	struct spawn	 sp;
	const char	*mode;
	char		*set[2], *cause = NULL;
	char		*argv[] = { (char *)"/proc/self/exe",
	    (char *)"nx-task", (char *)"--start", NULL };

	if (s->o->nx_args == NULL || s->o->no_replay ||
	    ((mode = cli_env("DTEQ_NX_RUNNER")) != NULL &&
	    strcmp(mode, "on") != 0))
		return;
	xasprintf(&set[0], "DTEQ_AGENT_PID=%ld", (long)getpid());
	set[1] = NULL;
	memset(&sp, 0, sizeof sp);
	sp.argv = argv;
	sp.set = set;
	sp.out = SPAWN_FILE;
	sp.err = SPAWN_TO_OUT;
	sp.path = "/dev/null";
	sp.flags = SPAWN_NULL_STDIN;
	if (spawn_start(&sp, &cause) != 0) {
		log_debug("no Nx runner started ahead: %s", cause);
		free(cause);
	} else
		s->nx_start = sp.pid;
	free(set[0]);
}

/*
 * Start the look at the cache when the run may use it: an --nx run whose
 * tasks are `dteq nx-task`, whose cache hits are not run, and whose main
 * job gets the tasks' outputs (no --no-replay). Returns 1
 * when done(s) will be called once it is over, 0 when there is nothing
 * to do (done is not called).
 */
int
warm_start(struct submit *s, void (*done)(struct submit *))
{
	static const char *const flags[] = { "--hits-only", "--report",
	    NULL, NULL };
	const char	*fl[nitems(flags)];
	struct warm	*w;
	size_t		*order, *todo, n = 0, i;
	char		*cause = NULL;
	int		 fd;

	/* It writes the hits' outputs here: not with --no-replay. */
	if (s->o->nx_args == NULL || !s->cache_skip || s->o->no_replay) {
		warm_reap_start(s);
		return (0);
	}
	order = graph_order(s->g);
	todo = xcalloc(graph_size(s->g) + 1, sizeof *todo);
	for (i = 0; i < graph_size(s->g); i++) {
		if (s->pt[order[i]].state == PT_WAITING)
			todo[n++] = order[i];
	}
	free(order);
	w = xcalloc(1, sizeof *w);
	w->s = s;
	w->done = done;
	snprintf(w->rep, sizeof w->rep, "/tmp/dteq-warm-rep.XXXXXX");
	snprintf(w->out, sizeof w->out, "/tmp/dteq-warm-out.XXXXXX");
	memcpy(fl, flags, sizeof fl);
	fl[2] = w->rep;
	if (n == 0 || (fd = mkstemp(w->rep)) == -1) {
		w->rep[0] = w->out[0] = '\0';
		goto none;
	}
	close(fd);
	if ((fd = mkstemp(w->out)) == -1) {
		w->out[0] = '\0';
		goto none;
	}
	close(fd);
	if ((w->argv = warm_nx_argv(s, todo, n, fl, &w->asked)) == NULL)
		goto none;		/* not the runner's commands */
	w->cache = cache_start(s->base, &s->url, CACHE_DEFAULT_LISTEN, NULL,
	    0, 0, &cause);
	if (w->cache == NULL) {
		log_warnx("no look at the remote cache: %s", cause);
		free(cause);
		goto none;
	}
	if (!warm_reap_start(s)) {
		w->ev = evsignal_new(s->base, SIGCHLD, warm_started_cb, w);
		evsignal_add(w->ev, NULL);
		/* It may have ended before the event was there. */
		if (!warm_reap_start(s)) {
			free(todo);
			return (1);
		}
		event_free(w->ev);
		w->ev = NULL;
	}
	if (warm_spawn(w) != 0)
		goto none;
	free(todo);
	return (1);

none:
	free(todo);
	warm_free(w);
	return (0);
}
