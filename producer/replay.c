/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The replay: after a --nx or --turbo run in which every task succeeded,
 * submit runs the same tool command here, with Nx and Turborepo pointed
 * at a remote cache it serves from the run's Redis. Every task is then a
 * cache hit, so the main job's disk gets every task's outputs (dist/ and
 * the like) and its terminal the tool's own log of every task, as if it
 * had run them itself.
 *
 * The cache runs on submit's event base, so the loop runs again while the
 * tool does; a SIGCHLD event ends it.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "producer.h"
#include "cache.h"

struct replay {
	struct event_base	*base;
	pid_t			 pid;
	int			 status;
	int			 done;
};

/* SIGCHLD: has the tool exited? */
static void
replay_sigchld_cb(evutil_socket_t sig, short events, void *arg)
{
	struct replay	*r = arg;

	(void)sig;
	(void)events;
	if (waitpid(r->pid, &r->status, WNOHANG) == r->pid) {
		r->done = 1;
		event_base_loopexit(r->base, NULL);
	}
}

/* The tool's argv: its runner, then the user's arguments. */
static char **
replay_argv(int tool, const char *args, char **cause)
{
	char	**run, **user, **argv;
	size_t	  nrun, nuser, i, n = 0, skip = 0;

	if (toolgraph_split(toolgraph_runner(tool), &run, &nrun, cause) != 0)
		return (NULL);
	if (toolgraph_split(args, &user, &nuser, cause) != 0) {
		toolgraph_words_free(run, nrun);
		return (NULL);
	}
	if (nuser > 0 && strcmp(user[0], tool == TOOLGRAPH_NX ? "nx" :
	    "turbo") == 0)
		skip = 1;
	argv = xcalloc(nrun + nuser + 1, sizeof *argv);
	for (i = 0; i < nrun; i++)
		argv[n++] = xstrdup(run[i]);
	for (i = skip; i < nuser; i++)
		argv[n++] = xstrdup(user[i]);
	argv[n] = NULL;
	toolgraph_words_free(run, nrun);
	toolgraph_words_free(user, nuser);
	return (argv);
}

/* Free an argv from replay_argv(). */
static void
replay_argv_free(char **argv)
{
	size_t	i;

	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/*
 * Replay the run here when it used --nx or --turbo and every task
 * succeeded. Returns 0, or -1 when the replay could not run or failed
 * (said on stderr; the run's result stands).
 */
int
replay_run(struct submit *s)
{
	struct replay	 r;
	struct cache	*cache;
	struct event	*ev;
	char		**argv, *cause, port[16];
	int		 tool, i, rv = -1;

	if (s->nx_args == NULL && s->turbo_args == NULL)
		return (0);
	if (s->no_replay || s->abort_reason != NULL)
		return (0);
	for (i = 0; (size_t)i < graph_size(s->g); i++) {
		if (s->pt[i].state != PT_DONE ||
		    s->pt[i].result.status != RESULT_SUCCESS) {
			printf("\nNo replay: not every task succeeded (the "
			    "output of each is above).\n");
			fflush(stdout);
			return (0);
		}
	}
	tool = s->nx_args != NULL ? TOOLGRAPH_NX : TOOLGRAPH_TURBO;
	if ((argv = replay_argv(tool, tool == TOOLGRAPH_NX ? s->nx_args :
	    s->turbo_args, &cause)) == NULL) {
		log_warnx("replay: %s", cause);
		free(cause);
		return (-1);
	}
	cache = cache_start(s->base, &s->url, CACHE_DEFAULT_LISTEN, NULL, 0,
	    0, &cause);
	if (cache == NULL) {
		log_warnx("replay: no cache: %s", cause);
		free(cause);
		replay_argv_free(argv);
		return (-1);
	}
	printf("\nReplaying the run here from the remote cache:");
	for (i = 0; argv[i] != NULL; i++)
		printf(" %s", argv[i]);
	printf("\n");
	fflush(stdout);

	memset(&r, 0, sizeof r);
	r.base = s->base;
	ev = evsignal_new(s->base, SIGCHLD, replay_sigchld_cb, &r);
	evsignal_add(ev, NULL);
	snprintf(port, sizeof port, "%d", cache_port(cache));
	if ((r.pid = fork()) == -1) {
		log_warn("replay: fork");
		goto out;
	}
	if (r.pid == 0) {
		char *url;

		xasprintf(&url, "http://127.0.0.1:%s", port);
		setenv("NX_SELF_HOSTED_REMOTE_CACHE_SERVER", url, 1);
		setenv("NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN",
		    cache_token(cache), 1);
		setenv("TURBO_API", url, 1);
		setenv("TURBO_TOKEN", cache_token(cache), 1);
		setenv("TURBO_TEAM", "dteq", 1);
		unsetenv("DTEQ_SECRET");
		unsetenv("DTEQ_REDIS_PASSWORD");
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		fprintf(stderr, "dteq submit: replay: %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	while (!r.done) {
		replay_sigchld_cb(SIGCHLD, 0, &r);	/* already gone? */
		if (!r.done)
			event_base_dispatch(s->base);
	}
	if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0)
		rv = 0;
	else
		log_warnx("replay: %s exited with %d; the run's own result "
		    "stands", argv[0], WIFEXITED(r.status) ?
		    WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status));

out:
	event_free(ev);
	cache_free(cache);
	replay_argv_free(argv);
	return (rv);
}
