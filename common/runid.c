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
#define RUNID_REPO_MAX	200	/* bytes of a repository name */

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

/*
 * The repository a run belongs to, which its keys carry beside the run
 * id (keys.c), so that pipeline #42 of two repositories never meet on one
 * server. Its sources, in order: DTEQ_REPO ("-": none); the CI's
 * repository variables; the "origin" remote of the git checkout holding
 * dir (the working directory when NULL), without scheme, credentials or
 * ".git". A checkout without a remote, or a directory outside git, gives
 * none: its path would differ between the checkouts of the main job and
 * of its agents, which must compute the same identity.
 */

/* The CI variables that name the repository, in order. */
static const char *const runid_repo_vars[] = {
	"GITHUB_REPOSITORY",
	"BITBUCKET_REPO_FULL_NAME",
	"CI_PROJECT_PATH",
	"BUILD_REPOSITORY_NAME",
	"GIT_URL",		/* Jenkins' git plugin: a URL */
};

/* Make s printable ASCII without spaces, at most RUNID_REPO_MAX bytes. */
void
runid_repo_sanitize(char *s)
{
	char	*p;

	if (strlen(s) > RUNID_REPO_MAX)
		s[RUNID_REPO_MAX] = '\0';
	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			*p = '_';
	}
}

/*
 * A remote URL as the repository's name: "https://user:pw@host/a/b.git",
 * "ssh://git@host:22/a/b" and "git@host:a/b.git" all give "host/a/b"
 * (the port dropped). Caller frees; NULL when nothing is left.
 */
char *
runid_repo_from_url(const char *url)
{
	const char	*p = url, *at, *slash, *colon;
	char		*s, *q;
	size_t		 len;
	int		 scheme = 0;

	if ((q = strstr(p, "://")) != NULL) {
		p = q + 3;
		scheme = 1;
	}
	slash = p + strcspn(p, "/");
	if ((at = memchr(p, '@', (size_t)(slash - p))) != NULL)
		p = at + 1;
	colon = memchr(p, ':', (size_t)(slash - p));
	if (colon != NULL) {
		/* host:port/path (a URL) or host:path (scp-like). */
		q = (char *)colon + 1;
		if (scheme) {
			while (*q >= '0' && *q <= '9')
				q++;
		}
		xasprintf(&s, "%.*s/%s", (int)(colon - p), p,
		    *q == '/' ? q + 1 : q);
	} else
		s = xstrdup(p);
	len = strlen(s);
	while (len > 0 && s[len - 1] == '/')
		s[--len] = '\0';
	if (len > 4 && strcmp(s + len - 4, ".git") == 0)
		s[len -= 4] = '\0';
	if (len == 0) {
		free(s);
		return (NULL);
	}
	return (s);
}

/*
 * The url of [remote "origin"] in a git config file, or NULL. Caller
 * frees.
 */
static char *
runid_config_origin(const char *path)
{
	FILE	*f;
	char	 line[4096], *p, *e, *url = NULL;
	int	 in = 0;

	if ((f = fopen(path, "r")) == NULL)
		return (NULL);
	while (url == NULL && fgets(line, sizeof line, f) != NULL) {
		p = line + strspn(line, " \t");
		p[strcspn(p, "\r\n")] = '\0';
		if (*p == '[') {
			in = strcmp(p, "[remote \"origin\"]") == 0;
			continue;
		}
		if (!in || strncmp(p, "url", 3) != 0)
			continue;
		p += 3 + strspn(p + 3, " \t");
		if (*p++ != '=')
			continue;
		p += strspn(p, " \t");
		e = p + strlen(p);
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > p)
			url = xstrndup(p, (size_t)(e - p));
	}
	fclose(f);
	return (url);
}

/*
 * The config file of the git directory at d/.git: a directory, or a file
 * "gitdir: X" (a linked worktree), whose config is in X's commondir.
 * Caller frees; NULL when d has no .git.
 */
static char *
runid_git_config(const char *d)
{
	char	*git, *config = NULL, *gitdir, *common, buf[4096], *p;
	FILE	*f;

	xasprintf(&git, "%s/.git", d);
	xasprintf(&config, "%s/config", git);
	if (access(config, R_OK) == 0) {
		free(git);
		return (config);
	}
	free(config);
	config = NULL;
	f = fopen(git, "r");
	free(git);
	if (f == NULL)
		return (NULL);
	if (fgets(buf, sizeof buf, f) == NULL ||
	    strncmp(buf, "gitdir:", 7) != 0) {
		fclose(f);
		return (NULL);
	}
	fclose(f);
	p = buf + 7 + strspn(buf + 7, " \t");
	p[strcspn(p, "\r\n")] = '\0';
	if (*p == '/')
		gitdir = xstrdup(p);
	else
		xasprintf(&gitdir, "%s/%s", d, p);
	xasprintf(&common, "%s/commondir", gitdir);
	f = fopen(common, "r");
	free(common);
	if (f != NULL && fgets(buf, sizeof buf, f) != NULL) {
		buf[strcspn(buf, "\r\n")] = '\0';
		if (buf[0] == '/')
			xasprintf(&config, "%s/config", buf);
		else
			xasprintf(&config, "%s/%s/config", gitdir, buf);
	} else
		xasprintf(&config, "%s/config", gitdir);
	if (f != NULL)
		fclose(f);
	free(gitdir);
	return (config);
}

/*
 * The origin remote of the git checkout holding dir (the nearest
 * directory with a .git), as runid_repo_from_url() names it. Caller
 * frees; NULL when there is none.
 */
static char *
runid_git_origin(const char *dir)
{
	char	*d, *p, *config = NULL, *url;

	d = dir != NULL ? xstrdup(dir) : getcwd(NULL, 0);
	if (d == NULL)
		return (NULL);
	for (;;) {
		if ((config = runid_git_config(d)) != NULL)
			break;
		if ((p = strrchr(d, '/')) == NULL || p == d)
			break;
		*p = '\0';
	}
	free(d);
	if (config == NULL)
		return (NULL);
	url = runid_config_origin(config);
	free(config);
	if (url == NULL)
		return (NULL);
	p = runid_repo_from_url(url);
	explicit_bzero(url, strlen(url));	/* it may hold a token */
	free(url);
	return (p);
}

/*
 * The repository of this run (see above), or NULL for none. *source (if
 * not NULL) says where it came from. Caller frees.
 */
char *
runid_repo(env_get_fn get, void *arg, const char *dir, const char **source)
{
	const char	*v, *u, *src = NULL;
	char		*repo = NULL;
	size_t		 i;

	if ((v = runid_get(get, arg, "DTEQ_REPO")) != NULL) {
		src = "DTEQ_REPO";
		if (strcmp(v, "-") != 0)
			repo = xstrdup(v);
		goto out;
	}
	for (i = 0; i < nitems(runid_repo_vars); i++) {
		if ((v = runid_get(get, arg, runid_repo_vars[i])) == NULL)
			continue;
		src = runid_repo_vars[i];
		if (strcmp(src, "GIT_URL") == 0)
			repo = runid_repo_from_url(v);
		else
			repo = xstrdup(v);
		goto out;
	}
	if ((u = runid_get(get, arg, "CIRCLE_PROJECT_USERNAME")) != NULL &&
	    (v = runid_get(get, arg, "CIRCLE_PROJECT_REPONAME")) != NULL) {
		src = "CIRCLE_PROJECT_REPONAME";
		xasprintf(&repo, "%s/%s", u, v);
		goto out;
	}
	if ((repo = runid_git_origin(dir)) != NULL)
		src = "the git remote origin";
out:
	if (repo != NULL)
		runid_repo_sanitize(repo);
	if (source != NULL)
		*source = src;
	return (repo);
}

/* The variables that say a CI job is a re-run of itself, and from when. */
static const struct {
	const char	*name;
	long long	 first;		/* its value on the first run */
} runid_rerun_vars[] = {
	{ "GITHUB_RUN_ATTEMPT", 1 },		/* a re-run: 2, 3, ... */
	{ "CI_JOB_RETRY_COUNT", 0 },		/* GitLab, where it is set */
	{ "BITBUCKET_STEP_RUN_NUMBER", 1 },	/* "rerun failed steps" */
};

/*
 * Is this CI job a re-run of an earlier one of its pipeline, under the
 * same run id? Then the run run (its id) that it finds ended may be about
 * to start again (its main job re-run too). A run id that ends in
 * "-ATTEMPT" (GitHub's GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT) is this
 * attempt's own: ended, it is over, and the job came late. *why (if not
 * NULL) names the variable and its value; caller frees.
 */
int
runid_is_rerun(env_get_fn get, void *arg, const char *run, char **why)
{
	const char	*v, *errstr;
	long long	 n;
	size_t		 i, rlen, vlen;

	for (i = 0; i < nitems(runid_rerun_vars); i++) {
		if ((v = runid_get(get, arg, runid_rerun_vars[i].name)) == NULL)
			continue;
		n = util_strtonum(v, 0, 1000000, &errstr);
		if (errstr != NULL || n <= runid_rerun_vars[i].first)
			continue;
		rlen = strlen(run);
		vlen = strlen(v);
		if (rlen > vlen && run[rlen - vlen - 1] == '-' &&
		    strcmp(run + rlen - vlen, v) == 0)
			continue;
		if (why != NULL)
			xasprintf(why, "%s=%s", runid_rerun_vars[i].name, v);
		return (1);
	}
	return (0);
}
