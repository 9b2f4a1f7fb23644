/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Unit tests for common/runid.c: run id validation, run id detection from
 * each CI's variables (precedence, GitHub's attempt, DTEQ_RUN_ENV,
 * sanitizing, truncation), CI detection and agent names. The environment
 * is a table passed through env_get_fn; nothing calls setenv().
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dteq.h"
#include "test.h"

/* A fake environment: name/value pairs ending with a NULL name. */
struct fake_env {
	const char	*name;
	const char	*value;
};

/* env_get_fn over a struct fake_env table. */
static const char *
fake_get(const char *name, void *arg)
{
	const struct fake_env	*e;

	for (e = arg; e->name != NULL; e++) {
		if (strcmp(e->name, name) == 0)
			return (e->value);
	}
	return (NULL);
}

/* Detect a run id from env and check the id and its source. */
static void
check_detect(const struct fake_env *env, const char *want,
    const char *source)
{
	const char	*src = "unset";
	char		*id, *cause = NULL;

	id = runid_detect(fake_get, (void *)env, &src);
	CHECK_STREQ(id, want);
	CHECK_STREQ(src, source);
	CHECK(runid_valid(id, &cause) == 0);
	free(cause);
	free(id);
}

/* Check that id is invalid with a message containing want. */
static void
check_invalid(const char *id, const char *want)
{
	char	*cause = NULL;

	CHECK(runid_valid(id, &cause) == -1);
	CHECK(cause != NULL && strstr(cause, want) != NULL);
	if (cause != NULL && strstr(cause, want) == NULL)
		printf("    message \"%s\" lacks \"%s\"\n", cause, want);
	free(cause);
}

/* Typical CI run ids are valid. */
static void
test_valid_ok(void)
{
	const char	*ok[] = { "1234-1",
			    "6f1c2e9a-77b0-4b2c-9d1e-0a1b2c3d4e5f", "a",
			    "run.2_x-Y", "20240101.3", NULL };
	char		*cause = NULL;
	size_t		 i;

	for (i = 0; ok[i] != NULL; i++) {
		CHECK(runid_valid(ok[i], &cause) == 0);
		CHECK(cause == NULL);
	}
}

/* 128 bytes is the longest valid run id. */
static void
test_valid_length(void)
{
	char	id[RUN_ID_MAX + 2], *cause = NULL;

	memset(id, 'a', RUN_ID_MAX);
	id[RUN_ID_MAX] = '\0';
	CHECK(runid_valid(id, &cause) == 0);
	id[RUN_ID_MAX] = 'a';
	id[RUN_ID_MAX + 1] = '\0';
	check_invalid(id, "run id is too long (129 bytes, at most 128)");
}

/* Run ids refused, and what the message says. */
static const struct invalid {
	const char	*name;
	const char	*id;
	const char	*want;
} invalids[] = {
	/* An empty or NULL run id is invalid. */
	{ "test_valid_empty", "", "run id is empty" },
	{ "test_valid_empty", NULL, "run id is empty" },
	/* Braces (Bitbucket's step UUID) are not allowed in a run id. */
	{ "test_valid_braces", "{6f1c2e9a-77b0}",
	    "run id \"{6f1c2e9a-77b0}\" has a bad character '{'" },
	/* Spaces, slashes and colons are not allowed. */
	{ "test_valid_bad_chars", "my run", "bad character ' '" },
	{ "test_valid_bad_chars", "a/b", "bad character '/'" },
	{ "test_valid_bad_chars", "a:b", "bad character ':'" },
	{ "test_valid_bad_chars", "a}b", "bad character '}'" },
	/* Non-printable bytes are reported by value and offset. */
	{ "test_valid_nonprintable", "ab\x01", "bad byte 0x01 at offset 2" },
	{ "test_valid_nonprintable", "\xc3\xa9t\xc3\xa9",
	    "bad byte 0xc3 at offset 0" },
};

static void
invalid(const struct invalid *v)
{
	check_invalid(v->id, v->want);
}

/* Each variable wins over the ones after it, in Nx's order. */
static void
test_detect_order(void)
{
	struct fake_env	env[] = {
		{ "NX_CI_EXECUTION_ID", "nx" },
		{ "CIRCLE_WORKFLOW_ID", "cw" },
		{ "GITHUB_RUN_ID", "42" },
		{ "BUILD_BUILDID", "9001" },
		{ "BITBUCKET_BUILD_NUMBER", "77" },
		{ "CI_PIPELINE_ID", "555" },
		{ "BUILD_TAG", "tag" },
		{ NULL, NULL }
	};
	static const char *const want[][2] = {
		{ "nx", "NX_CI_EXECUTION_ID" },
		{ "cw", "CIRCLE_WORKFLOW_ID" },
		{ "42-1", "GITHUB_RUN_ID" },
		{ "9001", "BUILD_BUILDID" },
		{ "77", "BITBUCKET_BUILD_NUMBER" },
		{ "555", "CI_PIPELINE_ID" },
		{ "tag", "BUILD_TAG" },
	};
	size_t	i;

	for (i = 0; i < sizeof want / sizeof want[0]; i++)
		check_detect(env + i, want[i][0], want[i][1]);
}

/*
 * Environments and the run id detected in each, with the variable it
 * came from; none (want NULL) when no variable names a run.
 */
static const struct detect {
	const char	*name;
	struct fake_env	 env[10];
	const char	*want;
	const char	*source;
} detects[] = {
	/* DTEQ_RUN wins over every CI variable. */
	{ "test_detect_dteq_run_precedence", {
		{ "BUILD_TAG", "jenkins-x-1" },
		{ "CI_PIPELINE_ID", "555" },
		{ "BITBUCKET_BUILD_NUMBER", "77" },
		{ "BUILD_BUILDID", "9001" },
		{ "GITHUB_RUN_ID", "42" },
		{ "GITHUB_RUN_ATTEMPT", "2" },
		{ "CIRCLE_WORKFLOW_ID", "cw" },
		{ "NX_CI_EXECUTION_ID", "nx" },
		{ "DTEQ_RUN", "mine" } }, "mine", "DTEQ_RUN" },
	/* Nx Cloud's execution id. */
	{ "test_detect_nx", { { "NX_CI_EXECUTION_ID", "exec-123" } },
	    "exec-123", "NX_CI_EXECUTION_ID" },
	/* GitHub Actions: run id and attempt. */
	{ "test_detect_github_attempt", {
		{ "GITHUB_RUN_ID", "8412345678" },
		{ "GITHUB_RUN_ATTEMPT", "3" } },
	    "8412345678-3", "GITHUB_RUN_ID" },
	/* GitHub Actions without GITHUB_RUN_ATTEMPT: attempt 1. */
	{ "test_detect_github_no_attempt", {
		{ "GITHUB_RUN_ID", "8412345678" } },
	    "8412345678-1", "GITHUB_RUN_ID" },
	{ "test_detect_github_no_attempt", {
		{ "GITHUB_RUN_ID", "8412345678" },
		{ "GITHUB_RUN_ATTEMPT", "" } },
	    "8412345678-1", "GITHUB_RUN_ID" },
	/* GITHUB_RUN_ATTEMPT alone names no run. */
	{ "test_detect_github_attempt_only", {
		{ "GITHUB_RUN_ATTEMPT", "2" } }, NULL, NULL },
	/* CircleCI's workflow id. */
	{ "test_detect_circleci", {
		{ "CIRCLE_WORKFLOW_ID",
		    "6f1c2e9a-77b0-4b2c-9d1e-0a1b2c3d4e5f" },
		{ "CIRCLE_BUILD_NUM", "99" } },
	    "6f1c2e9a-77b0-4b2c-9d1e-0a1b2c3d4e5f", "CIRCLE_WORKFLOW_ID" },
	/* Azure Pipelines' build id. */
	{ "test_detect_azure", { { "BUILD_BUILDID", "20451" } },
	    "20451", "BUILD_BUILDID" },
	/* Bitbucket Pipelines' build number (the step UUID is not a run id). */
	{ "test_detect_bitbucket", {
		{ "BITBUCKET_STEP_UUID",
		    "{2d3b8f5c-1111-2222-3333-444455556666}" },
		{ "BITBUCKET_BUILD_NUMBER", "1542" } },
	    "1542", "BITBUCKET_BUILD_NUMBER" },
	/* GitLab's pipeline id. */
	{ "test_detect_gitlab", {
		{ "CI_JOB_ID", "987654" },
		{ "CI_PIPELINE_ID", "123456" } },
	    "123456", "CI_PIPELINE_ID" },
	/* Jenkins' BUILD_TAG, with its spaces and slashes made safe. */
	{ "test_detect_jenkins_sanitized", {
		{ "BUILD_TAG", "jenkins-my job/feature{x}-12" } },
	    "jenkins-my_job_feature_x_-12", "BUILD_TAG" },
	/* DTEQ_RUN_ENV appends a suffix, sanitized too. */
	{ "test_detect_run_env_suffix", {
		{ "GITHUB_RUN_ID", "42" },
		{ "GITHUB_RUN_ATTEMPT", "2" },
		{ "DTEQ_RUN_ENV", "e2e" } },
	    "42-2-e2e", "GITHUB_RUN_ID" },
	{ "test_detect_run_env_suffix", {
		{ "DTEQ_RUN", "r1" },
		{ "DTEQ_RUN_ENV", "linux x64" } },
	    "r1-linux_x64", "DTEQ_RUN" },
	{ "test_detect_run_env_suffix", {
		{ "CI_PIPELINE_ID", "555" },
		{ "DTEQ_RUN_ENV", "" } },
	    "555", "CI_PIPELINE_ID" },
	/* DTEQ_RUN_ENV alone names no run. */
	{ "test_detect_run_env_only", { { "DTEQ_RUN_ENV", "e2e" } }, NULL,
	    NULL },
	/* No CI variable: NULL, and *source is NULL. */
	{ "test_detect_none", {
		{ "HOME", "/root" },
		{ "CI", "true" } }, NULL, NULL },
	/* Empty variables count as unset. */
	{ "test_detect_empty_is_unset", {
		{ "DTEQ_RUN", "" },
		{ "NX_CI_EXECUTION_ID", "" },
		{ "GITHUB_RUN_ID", "" },
		{ "BITBUCKET_BUILD_NUMBER", "77" } },
	    "77", "BITBUCKET_BUILD_NUMBER" },
};

/* The run id detected in an environment, or none. */
static void
detected(const struct detect *d)
{
	const char	*src = "unset";

	if (d->want != NULL) {
		check_detect(d->env, d->want, d->source);
		return;
	}
	CHECK(runid_detect(fake_get, (void *)d->env, &src) == NULL);
	CHECK(src == NULL);
	CHECK(runid_detect(fake_get, (void *)d->env, NULL) == NULL);
}

/* Environments and the variable that says each is a CI job, or none. */
static const struct ci {
	const char	*name;
	struct fake_env	 env[4];
	const char	*want;
} cis[] = {
	{ "test_ci_none", { { "HOME", "/root" } }, NULL },
	{ "test_ci_github", {
		{ "CI", "true" }, { "GITHUB_ACTIONS", "true" } },
	    "GITHUB_ACTIONS" },
	{ "test_ci_gitlab", {
		{ "CI", "true" }, { "GITLAB_CI", "true" } }, "GITLAB_CI" },
	{ "test_ci_bitbucket", {
		{ "CI", "true" }, { "BITBUCKET_BUILD_NUMBER", "42" } },
	    "BITBUCKET_BUILD_NUMBER" },
	{ "test_ci_azure", { { "TF_BUILD", "True" } }, "TF_BUILD" },
	{ "test_ci_jenkins", {
		{ "JENKINS_URL", "https://ci.example/" } }, "JENKINS_URL" },
	{ "test_ci_generic", { { "CI", "1" } }, "CI" },
	/* Empty, "false" and "0" say it is not a CI. */
	{ "test_ci_empty", {
		{ "CI", "" }, { "GITHUB_ACTIONS", "" } }, NULL },
	{ "test_ci_false", {
		{ "CI", "false" }, { "GITLAB_CI", "0" } }, NULL },
};

/* The CI variable named for an environment. */
static void
ci_named(const struct ci *c)
{
	const char	*got = runid_ci(fake_get, (void *)c->env);

	if (c->want == NULL)
		CHECK(got == NULL);
	else
		CHECK_STREQ(got, c->want);
}

/* Long ids are cut at 128 bytes. */
static void
test_detect_truncated(void)
{
	char		 tag[300], want[RUN_ID_MAX + 1];
	struct fake_env	 env[] = {
		{ "BUILD_TAG", tag },
		{ "DTEQ_RUN_ENV", "suffix" },
		{ NULL, NULL }
	};
	char		*id;

	memset(tag, 'j', sizeof tag - 1);
	tag[sizeof tag - 1] = '\0';
	memset(want, 'j', RUN_ID_MAX);
	want[RUN_ID_MAX] = '\0';
	check_detect(env, want, "BUILD_TAG");
	id = runid_detect(fake_get, env, NULL);
	CHECK(id != NULL && strlen(id) == RUN_ID_MAX);
	free(id);
}

/* runid_getenv reads the real environment and ignores its argument. */
static void
test_getenv(void)
{
	const char	*path = getenv("PATH");

	if (path != NULL && *path != '\0')
		CHECK(runid_getenv("PATH", NULL) == path);
	CHECK(runid_getenv("DTEQ_TEST_SURELY_UNSET_VARIABLE", NULL) == NULL);
}

/* Sixteen n's, for names too long. */
#define N16	"nnnnnnnnnnnnnnnn"

/* Environments and the agent name each gives. */
static const struct agent {
	const char	*name;
	struct fake_env	 env[4];
	const char	*want;
} agents[] = {
	/* NX_AGENT_NAME wins. */
	{ "test_agent_nx", {
		{ "CI_JOB_ID", "1" },
		{ "BITBUCKET_STEP_UUID", "{abc}" },
		{ "NX_AGENT_NAME", "agent-2" } }, "agent-2" },
	/* Bitbucket's step UUID without its braces. */
	{ "test_agent_bitbucket", {
		{ "CI_JOB_ID", "1" },
		{ "BITBUCKET_STEP_UUID",
		    "{2d3b8f5c-1111-2222-3333-444455556666}" } },
	    "2d3b8f5c-1111-2222-3333-444455556666" },
	{ "test_agent_bitbucket", {
		{ "BITBUCKET_STEP_UUID", "2d3b8f5c" } }, "2d3b8f5c" },
	{ "test_agent_bitbucket", {
		{ "BITBUCKET_STEP_UUID", "{}" },
		{ "CI_JOB_ID", "55" } }, "job-55" },
	/* GitLab's job id, prefixed "job-". */
	{ "test_agent_gitlab", {
		{ "CI_JOB_ID", "987654" },
		{ "CI_PIPELINE_ID", "123456" } }, "job-987654" },
	/* Names are sanitized and cut at 64 bytes (99 n's: 64). */
	{ "test_agent_sanitized", {
		{ "NX_AGENT_NAME", "my agent/1:{x}" } }, "my_agent_1__x_" },
	{ "test_agent_sanitized", {
		{ "NX_AGENT_NAME", N16 N16 N16 N16 N16 N16 "nnn" } },
	    N16 N16 N16 N16 },
};

/* The agent name an environment gives. */
static void
agent_named(const struct agent *a)
{
	char	*name;

	name = runid_agent_name(fake_get, (void *)a->env);
	CHECK_STREQ(name, a->want);
	free(name);
}

/* Without CI variables the name is <hostname>-<pid>, sanitized. */
/*
 * A re-run under the same run id (GitLab's retry, Bitbucket's rerun of
 * failed steps): yes. GitHub's attempt, which the run id holds: no.
 */
static void
test_rerun(void)
{
	struct fake_env	 gh[] = { { "GITHUB_RUN_ATTEMPT", "2" },
			    { NULL, NULL } };
	struct fake_env	 gh1[] = { { "GITHUB_RUN_ATTEMPT", "1" },
			    { NULL, NULL } };
	struct fake_env	 gl[] = { { "CI_JOB_RETRY_COUNT", "1" },
			    { NULL, NULL } };
	struct fake_env	 gl0[] = { { "CI_JOB_RETRY_COUNT", "0" },
			    { NULL, NULL } };
	struct fake_env	 bb[] = { { "BITBUCKET_STEP_RUN_NUMBER", "2" },
			    { NULL, NULL } };
	struct fake_env	 none[] = { { NULL, NULL } };
	char		*why = NULL;

	CHECK(runid_is_rerun(fake_get, gh, "777001-2", &why) == 0);
	CHECK(runid_is_rerun(fake_get, gh, "777001-12", NULL) == 1);
	CHECK(runid_is_rerun(fake_get, gh, "777001", &why) == 1);
	CHECK_STREQ(why, "GITHUB_RUN_ATTEMPT=2");
	free(why);
	CHECK(runid_is_rerun(fake_get, gh1, "777001", NULL) == 0);
	CHECK(runid_is_rerun(fake_get, gl, "5150", NULL) == 1);
	CHECK(runid_is_rerun(fake_get, gl0, "5150", NULL) == 0);
	CHECK(runid_is_rerun(fake_get, bb, "42", NULL) == 1);
	CHECK(runid_is_rerun(fake_get, none, "42", NULL) == 0);
}

static void
test_agent_fallback(void)
{
	struct fake_env	 env[] = {
		{ "NX_AGENT_NAME", "" },
		{ NULL, NULL }
	};
	char		 host[256], *name, *want, *suffix, *cause = NULL;
	size_t		 i;

	CHECK(gethostname(host, sizeof host) == 0);
	host[sizeof host - 1] = '\0';
	for (i = 0; host[i] != '\0'; i++) {
		if (strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", host[i]) == NULL)
			host[i] = '_';
	}
	xasprintf(&suffix, "-%ld", (long)getpid());
	xasprintf(&want, "%s%s", host, suffix);
	name = runid_agent_name(fake_get, env);
	if (strlen(want) <= 64)
		CHECK_STREQ(name, want);
	else {
		CHECK(strlen(name) == 64);
		CHECK(strcmp(name + 64 - strlen(suffix), suffix) == 0);
		CHECK(strncmp(name, host, 64 - strlen(suffix)) == 0);
	}
	CHECK(runid_valid(name, &cause) == 0);
	free(cause);
	free(suffix);
	free(want);
	free(name);
}

/* runid_repo_from_url: the forms of a remote URL, one name. */
static void
test_repo_url(void)
{
	const char	*same[] = { "https://github.com/acme/app.git",
			    "https://x-token:s3cret@github.com/acme/app",
			    "git@github.com:acme/app.git",
			    "ssh://git@github.com:22/acme/app.git",
			    "ssh://git@github.com/acme/app/", NULL };
	char		*s;
	size_t		 i;

	for (i = 0; same[i] != NULL; i++) {
		s = runid_repo_from_url(same[i]);
		CHECK_STREQ(s, "github.com/acme/app");
		free(s);
	}
	s = runid_repo_from_url("/srv/git/app.git");
	CHECK_STREQ(s, "/srv/git/app");
	free(s);
	CHECK(runid_repo_from_url("") == NULL);
}

/* Write a file whole (the test's fake checkouts). */
static void
put_file(const char *path, const char *text)
{
	FILE	*f;

	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs(text, f);
	fclose(f);
}

/*
 * runid_repo: DTEQ_REPO first ("-": none), then each CI's variable, then
 * the origin remote of the checkout (a .git directory, or a linked
 * worktree's .git file), never the checkout's path; none outside git.
 */
static void
test_repo(void)
{
	const struct fake_env none[] = { { NULL, NULL } };
	const struct fake_env dteq[] = { { "DTEQ_REPO", "mine" },
	    { "GITHUB_REPOSITORY", "acme/app" }, { NULL, NULL } };
	const struct fake_env dash[] = { { "DTEQ_REPO", "-" },
	    { "GITHUB_REPOSITORY", "acme/app" }, { NULL, NULL } };
	const struct fake_env gh[] = { { "GITHUB_REPOSITORY", "acme/app" },
	    { "CI_PROJECT_PATH", "x/y" }, { NULL, NULL } };
	const struct fake_env bb[] = {
	    { "BITBUCKET_REPO_FULL_NAME", "acme/repo a" }, { NULL, NULL } };
	const struct fake_env gl[] = { { "CI_PROJECT_PATH", "grp/sub/app" },
	    { NULL, NULL } };
	const struct fake_env cc[] = {
	    { "CIRCLE_PROJECT_USERNAME", "acme" },
	    { "CIRCLE_PROJECT_REPONAME", "app" }, { NULL, NULL } };
	const struct fake_env jk[] = {
	    { "GIT_URL", "https://u:p@git.example.com/acme/app.git" },
	    { NULL, NULL } };
	char		 dir[] = "/tmp/dteq-test-runid.XXXXXX", *p, *r;
	const char	*src;

	r = runid_repo(fake_get, (void *)dteq, "/", &src);
	CHECK_STREQ(r, "mine");
	CHECK_STREQ(src, "DTEQ_REPO");
	free(r);
	CHECK(runid_repo(fake_get, (void *)dash, "/", NULL) == NULL);
	r = runid_repo(fake_get, (void *)gh, "/", &src);
	CHECK_STREQ(r, "acme/app");
	CHECK_STREQ(src, "GITHUB_REPOSITORY");
	free(r);
	r = runid_repo(fake_get, (void *)bb, "/", NULL);
	CHECK_STREQ(r, "acme/repo_a");
	free(r);
	r = runid_repo(fake_get, (void *)gl, "/", NULL);
	CHECK_STREQ(r, "grp/sub/app");
	free(r);
	r = runid_repo(fake_get, (void *)cc, "/", NULL);
	CHECK_STREQ(r, "acme/app");
	free(r);
	r = runid_repo(fake_get, (void *)jk, "/", NULL);
	CHECK_STREQ(r, "git.example.com/acme/app");
	free(r);

	/* A checkout: its origin remote, from a subdirectory too. */
	CHECK(mkdtemp(dir) != NULL);
	xasprintf(&p, "mkdir -p %s/co/.git %s/co/sub/deep %s/wt "
	    "%s/co/.git/worktrees/wt %s/bare", dir, dir, dir, dir, dir);
	CHECK(system(p) == 0);
	free(p);
	xasprintf(&p, "%s/co/.git/config", dir);
	put_file(p, "[core]\n\tbare = false\n[remote \"upstream\"]\n"
	    "\turl = https://github.com/other/fork.git\n"
	    "[remote \"origin\"]\n\turl = git@github.com:acme/app.git\n"
	    "\tfetch = +refs/heads/*:refs/remotes/origin/*\n");
	free(p);
	xasprintf(&p, "%s/co/sub/deep", dir);
	r = runid_repo(fake_get, (void *)none, p, &src);
	CHECK_STREQ(r, "github.com/acme/app");
	CHECK_STREQ(src, "the git remote origin");
	free(r);
	free(p);
	/* A linked worktree: .git is a file naming the main .git's. */
	xasprintf(&p, "%s/wt/.git", dir);
	put_file(p, "gitdir: ../co/.git/worktrees/wt\n");
	free(p);
	xasprintf(&p, "%s/co/.git/worktrees/wt/commondir", dir);
	put_file(p, "../..\n");
	free(p);
	xasprintf(&p, "%s/wt", dir);
	r = runid_repo(fake_get, (void *)none, p, NULL);
	CHECK_STREQ(r, "github.com/acme/app");
	free(r);
	free(p);
	/* Outside any checkout: none. */
	xasprintf(&p, "%s/bare", dir);
	CHECK(runid_repo(fake_get, (void *)none, p, &src) == NULL);
	CHECK(src == NULL);
	free(p);
	xasprintf(&p, "rm -rf %s", dir);
	CHECK(system(p) == 0);
	free(p);
}

int
main(void)
{
	TEST_RUN(test_valid_ok);
	TEST_RUN(test_valid_length);
	TEST_TABLE(invalids, invalid);
	TEST_TABLE(detects, detected);
	TEST_RUN(test_detect_order);
	TEST_RUN(test_detect_truncated);
	TEST_TABLE(cis, ci_named);
	TEST_RUN(test_getenv);
	TEST_TABLE(agents, agent_named);
	TEST_RUN(test_rerun);
	TEST_RUN(test_agent_fallback);
	TEST_RUN(test_repo_url);
	TEST_RUN(test_repo);
	return (test_exit());
}
