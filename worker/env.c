/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The environment of a task's child (and of its restore commands), in
 * this order:
 *
 * 1. the agent's own environment, read once (env_init()) less the
 *    variables a task must never inherit (the secret, the Redis password,
 *    dteq's own), plus what the agent adds for every task: DTEQ_BIN (this
 *    dteq, for the commands that run `dteq nx-task`), DTEQ_AGENT_PID
 *    (whose pool of Nx runners `dteq nx-task` uses) and, with env_add(),
 *    the remote cache's address;
 * 2. the task's env, which overrides a variable of the same name;
 * 3. for a task with a cache_as key, when the agent serves the cache:
 *    the cache's address under /key/KEY (cache/cache.c: the one artifact
 *    its tool reads or writes there is KEY's), in place of the agent's,
 *    and TURBO_CACHE=remote:rw (no local cache, which goes by turbo's
 *    own key);
 * 4. DTEQ_RUN, DTEQ_TASK_ID, DTEQ_AGENT and DTEQ_ATTEMPT.
 *
 * env_task() builds it per child without copying the agent's part.
 */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker.h"

extern char **environ;

/* Environment variables a task never inherits from its agent. */
static const char *env_hidden[] = {
	"DTEQ_SECRET", "DTEQ_REDIS_PASSWORD", "DTEQ_RUN", "DTEQ_TASK_ID",
	"DTEQ_AGENT", "DTEQ_ATTEMPT", "DTEQ_AGENT_PID", "DTEQ_BIN", NULL
};

/*
 * Copy environ less the hidden variables into the agent's base, and add
 * DTEQ_BIN and DTEQ_AGENT_PID.
 */
void
env_init(struct worker *w)
{
	char	pid[32], exe[PATH_MAX];
	size_t	n, i, j, len;
	ssize_t	elen;
	int	hide;

	for (n = 0; environ[n] != NULL; n++)
		;
	w->base_env = xcalloc(n + 1, sizeof *w->base_env);
	for (i = 0; i < n; i++) {
		len = strcspn(environ[i], "=");
		hide = 0;
		for (j = 0; env_hidden[j] != NULL; j++) {
			if (strlen(env_hidden[j]) == len &&
			    strncmp(environ[i], env_hidden[j], len) == 0)
				hide = 1;
		}
		if (!hide)
			w->base_env[w->nbase_env++] = xstrdup(environ[i]);
	}
	if ((elen = readlink("/proc/self/exe", exe, sizeof exe - 1)) > 0) {
		exe[elen] = '\0';
		env_add(w, "DTEQ_BIN", exe);
	}
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	env_add(w, "DTEQ_AGENT_PID", pid);
}

/* Add name=value to the base of every task (name not set there). */
void
env_add(struct worker *w, const char *name, const char *value)
{
	w->base_env = xreallocarray(w->base_env, w->nbase_env + 2,
	    sizeof *w->base_env);
	xasprintf(&w->base_env[w->nbase_env++], "%s=%s", name, value);
	w->base_env[w->nbase_env] = NULL;
}

/* "name=value" in one allocation. Caller frees. */
static char *
env_pair(const char *name, const char *value)
{
	size_t	 nlen = strlen(name), vlen = strlen(value);
	char	*s;

	s = xmalloc(nlen + vlen + 2);
	memcpy(s, name, nlen);
	s[nlen] = '=';
	memcpy(s + nlen + 1, value, vlen + 1);
	return (s);
}

/* Is base (a "name=value" of the agent's) overridden by a task's env? */
static int
env_overridden(const struct task_msg *m, const char *base)
{
	size_t	j, namelen;

	namelen = strcspn(base, "=");
	for (j = 0; j < m->nenv; j++) {
		if (strncmp(m->env[j].name, base, namelen) == 0 &&
		    m->env[j].name[namelen] == '\0')
			return (1);
	}
	return (0);
}

/*
 * What a task with a cache_as key gets in place of the agent's: the
 * cache's address (work.c sets it) under /key/KEY, and Turborepo's local
 * cache off, whose entries go by turbo's own key (a task's own files
 * only, with --only), so that every read is the remote one under KEY.
 */
static const char *env_cache_urls[] = {
	"NX_SELF_HOSTED_REMOTE_CACHE_SERVER", "TURBO_API", "TURBO_CACHE", NULL
};

/* Is base one of the cache's addresses, to be replaced for this task? */
static int
env_keyed(const struct wtask *wt, const char *base)
{
	size_t	j, namelen;

	if (wt->m.cache_as == NULL || wt->w->cache_url == NULL)
		return (0);
	namelen = strcspn(base, "=");
	for (j = 0; env_cache_urls[j] != NULL; j++) {
		if (strlen(env_cache_urls[j]) == namelen &&
		    strncmp(env_cache_urls[j], base, namelen) == 0)
			return (1);
	}
	return (0);
}

/*
 * The environment of a task: the agent's, the task's, then DTEQ_*. The
 * agent's variables are shared, not copied, as are DTEQ_RUN and
 * DTEQ_AGENT (made once); *nshared says how many lead the array, and
 * env_task_free() frees the rest but those two.
 */
char **
env_task(struct wtask *wt, size_t *nshared)
{
	struct worker	*w = wt->w;
	char		**env;
	size_t		 n = 0, i, j;

	if (w->env_run == NULL) {
		w->env_run = env_pair("DTEQ_RUN", w->run);
		w->env_agent = env_pair("DTEQ_AGENT", w->name);
	}
	env = xcalloc(w->nbase_env + wt->m.nenv + 7, sizeof *env);
	for (i = 0; i < w->nbase_env; i++) {
		if ((wt->m.nenv == 0 || !env_overridden(&wt->m,
		    w->base_env[i])) && !env_keyed(wt, w->base_env[i]))
			env[n++] = w->base_env[i];
	}
	*nshared = n;
	for (j = 0; j < wt->m.nenv; j++)
		env[n++] = env_pair(wt->m.env[j].name, wt->m.env[j].value);
	if (wt->m.cache_as != NULL && w->cache_url != NULL) {
		for (j = 0; env_cache_urls[j] != NULL; j++) {
			if (strcmp(env_cache_urls[j], "TURBO_CACHE") == 0)
				env[n++] = xstrdup("TURBO_CACHE=remote:rw");
			else {
				xasprintf(&env[n++], "%s=%s/key/%s",
				    env_cache_urls[j], w->cache_url,
				    wt->m.cache_as);
			}
		}
	}
	env[n++] = w->env_run;
	env[n++] = env_pair("DTEQ_TASK_ID", wt->m.id);
	env[n++] = w->env_agent;
	env[n++] = env_pair("DTEQ_ATTEMPT", wt->attempt);
	env[n] = NULL;
	return (env);
}

/* Free an environment built by env_task(). */
void
env_task_free(struct worker *w, char **env, size_t nshared)
{
	size_t	i;

	for (i = nshared; env[i] != NULL; i++) {
		if (env[i] != w->env_run && env[i] != w->env_agent)
			free(env[i]);
	}
	free(env);
}

/* Free the agent's base environment. */
void
env_free(struct worker *w)
{
	size_t	i;

	for (i = 0; i < w->nbase_env; i++)
		free(w->base_env[i]);
	free(w->base_env);
	free(w->env_run);
	free(w->env_agent);
}
