/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Run ids and agent names. The main job and its agents find each other
 * through the run id, which every job of one pipeline derives from the
 * same CI variables, in the order Nx uses (docs/design.md). The agent name
 * tells agents apart in logs, results and the running:/hb: keys.
 *
 * The environment is read through an env_get_fn so the tests can pass a
 * table instead of calling setenv(); runid_getenv() is the real one. An
 * empty variable counts as unset.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dteq.h"

#define RUNID_AGENT_MAX	64

/* The CI variables that name a run, in precedence order. */
static const char *const runid_vars[] = {
	"DTEQ_RUN",
	"NX_CI_EXECUTION_ID",
	"CIRCLE_WORKFLOW_ID",
	"GITHUB_RUN_ID",	/* with GITHUB_RUN_ATTEMPT */
	"BUILD_BUILDID",
	"BITBUCKET_BUILD_NUMBER",
	"CI_PIPELINE_ID",
	"BUILD_TAG",
};

/*
 * The variables that say a job runs on a CI, most specific first: CI is
 * set by GitHub Actions, GitLab, Bitbucket, CircleCI, Buildkite and
 * others; the rest name the CIs that do not set it, or not everywhere.
 */
static const char *const runid_ci_vars[] = {
	"GITHUB_ACTIONS",
	"GITLAB_CI",
	"BITBUCKET_BUILD_NUMBER",
	"CIRCLECI",
	"TF_BUILD",		/* Azure Pipelines */
	"JENKINS_URL",
	"BUILDKITE",
	"CI",
};

/* Whether c may appear in a run id or agent name (ASCII, any locale). */
static int
runid_char_ok(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-');
}

/* Replace every byte not allowed in an id by '_' and cut at max bytes. */
static void
runid_sanitize(char *s, size_t max)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i == max) {
			s[i] = '\0';
			break;
		}
		if (!runid_char_ok(s[i]))
			s[i] = '_';
	}
}

/* Look a variable up through get; an empty value is NULL. */
static const char *
runid_get(env_get_fn get, void *arg, const char *name)
{
	const char	*v;

	v = get(name, arg);
	if (v == NULL || *v == '\0')
		return (NULL);
	return (v);
}

/* The real environment, for runid_detect and runid_agent_name. */
const char *
runid_getenv(const char *name, void *arg)
{
	const char	*v;

	(void)arg;
	v = getenv(name);
	if (v == NULL || *v == '\0')
		return (NULL);
	return (v);
}

/* Check a run id: 1 to RUN_ID_MAX bytes of [A-Za-z0-9._-]. */
int
runid_valid(const char *id, char **cause)
{
	size_t	i, len;

	if (id == NULL || *id == '\0') {
		xasprintf(cause, "run id is empty");
		return (-1);
	}
	if ((len = strlen(id)) > RUN_ID_MAX) {
		xasprintf(cause, "run id is too long (%zu bytes, at most %d)",
		    len, RUN_ID_MAX);
		return (-1);
	}
	for (i = 0; i < len; i++) {
		if (runid_char_ok(id[i]))
			continue;
		if (id[i] >= 0x20 && id[i] < 0x7f) {
			xasprintf(cause, "run id \"%s\" has a bad character "
			    "'%c' (use A-Z a-z 0-9 . _ -)", id, id[i]);
		} else {
			xasprintf(cause, "run id has a bad byte 0x%02x at "
			    "offset %zu (use A-Z a-z 0-9 . _ -)",
			    (unsigned char)id[i], i);
		}
		return (-1);
	}
	return (0);
}

/* The run id named by the first CI variable that is set, unsanitized. */
static char *
runid_from_vars(env_get_fn get, void *arg, const char **source)
{
	const char	*v, *attempt;
	char		*s;
	size_t		 i;

	for (i = 0; i < sizeof runid_vars / sizeof runid_vars[0]; i++) {
		if ((v = runid_get(get, arg, runid_vars[i])) == NULL)
			continue;
		*source = runid_vars[i];
		if (strcmp(runid_vars[i], "GITHUB_RUN_ID") != 0)
			return (xstrdup(v));
		attempt = runid_get(get, arg, "GITHUB_RUN_ATTEMPT");
		xasprintf(&s, "%s-%s", v, attempt == NULL ? "1" : attempt);
		return (s);
	}
	*source = NULL;
	return (NULL);
}

/*
 * Detect the run id from the CI variables, with "-$DTEQ_RUN_ENV" appended
 * when that is set. Bytes outside [A-Za-z0-9._-] become '_' and the id is
 * cut at RUN_ID_MAX bytes. *source (if not NULL) is set to the variable
 * used, or NULL. Returns NULL when no variable is set; caller frees.
 */
char *
runid_detect(env_get_fn get, void *arg, const char **source)
{
	const char	*src, *suffix;
	char		*base, *id;

	if ((base = runid_from_vars(get, arg, &src)) == NULL) {
		if (source != NULL)
			*source = NULL;
		return (NULL);
	}
	if ((suffix = runid_get(get, arg, "DTEQ_RUN_ENV")) != NULL) {
		xasprintf(&id, "%s-%s", base, suffix);
		free(base);
	} else
		id = base;
	runid_sanitize(id, RUN_ID_MAX);
	if (source != NULL)
		*source = src;
	return (id);
}

/*
 * The first variable that says this job runs on a CI (runid_ci_vars), or
 * NULL off CI. A value of "false" or "0" says it does not.
 */
const char *
runid_ci(env_get_fn get, void *arg)
{
	const char	*v;
	size_t		 i;

	for (i = 0; i < sizeof runid_ci_vars / sizeof runid_ci_vars[0]; i++) {
		if ((v = runid_get(get, arg, runid_ci_vars[i])) == NULL ||
		    strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
			continue;
		return (runid_ci_vars[i]);
	}
	return (NULL);
}

/* The agent name the CI variables give, unsanitized, or NULL. */
static char *
runid_agent_from_vars(env_get_fn get, void *arg)
{
	const char	*v;
	char		*name;
	size_t		 len;

	if ((v = runid_get(get, arg, "NX_AGENT_NAME")) != NULL)
		return (xstrdup(v));
	if ((v = runid_get(get, arg, "BITBUCKET_STEP_UUID")) != NULL) {
		len = strlen(v);
		if (v[0] == '{') {
			v++;
			len--;
		}
		if (len > 0 && v[len - 1] == '}')
			len--;
		if (len > 0)
			return (xstrndup(v, len));
	}
	if ((v = runid_get(get, arg, "CI_JOB_ID")) != NULL) {
		xasprintf(&name, "job-%s", v);
		return (name);
	}
	return (NULL);
}

/*
 * This agent's name: NX_AGENT_NAME, BITBUCKET_STEP_UUID without its
 * braces, "job-$CI_JOB_ID", else "<hostname>-<pid>". Sanitized like a run
 * id and at most 64 bytes (the pid is kept whole). Caller frees.
 */
char *
runid_agent_name(env_get_fn get, void *arg)
{
	char	*name, host[256];
	size_t	 room;
	int	 pidlen;

	if ((name = runid_agent_from_vars(get, arg)) == NULL) {
		if (gethostname(host, sizeof host) != 0 || *host == '\0')
			snprintf(host, sizeof host, "agent");
		host[sizeof host - 1] = '\0';
		pidlen = snprintf(NULL, 0, "-%ld", (long)getpid());
		room = RUNID_AGENT_MAX - (size_t)pidlen;
		xasprintf(&name, "%.*s-%ld", (int)room, host, (long)getpid());
	}
	runid_sanitize(name, RUNID_AGENT_MAX);
	return (name);
}
