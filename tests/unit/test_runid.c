/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Unit tests for common/runid.c: run id validation, run id detection from
 * each CI's variables (precedence, GitHub's attempt, DTEQ_RUN_ENV,
 * sanitizing, truncation) and agent names. The environment is a table
 * passed through env_get_fn; nothing calls setenv().
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
check_detect(struct fake_env *env, const char *want, const char *source)
{
	const char	*src = "unset";
	char		*id, *cause = NULL;

	id = runid_detect(fake_get, env, &src);
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

/* An empty or NULL run id is invalid. */
static void
test_valid_empty(void)
{
	check_invalid("", "run id is empty");
	check_invalid(NULL, "run id is empty");
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

/* Braces (Bitbucket's step UUID) are not allowed in a run id. */
static void
test_valid_braces(void)
{
	check_invalid("{6f1c2e9a-77b0}", "run id \"{6f1c2e9a-77b0}\" has a "
	    "bad character '{'");
}

/* Spaces, slashes and colons are not allowed. */
static void
test_valid_bad_chars(void)
{
	check_invalid("my run", "bad character ' '");
	check_invalid("a/b", "bad character '/'");
	check_invalid("a:b", "bad character ':'");
	check_invalid("a}b", "bad character '}'");
}

/* Non-printable bytes are reported by value and offset. */
static void
test_valid_nonprintable(void)
{
	check_invalid("ab\x01", "bad byte 0x01 at offset 2");
	check_invalid("\xc3\xa9t\xc3\xa9", "bad byte 0xc3 at offset 0");
}

/* DTEQ_RUN wins over every CI variable. */
static void
test_detect_dteq_run_precedence(void)
{
	struct fake_env	env[] = {
		{ "BUILD_TAG", "jenkins-x-1" },
		{ "CI_PIPELINE_ID", "555" },
		{ "BITBUCKET_BUILD_NUMBER", "77" },
		{ "BUILD_BUILDID", "9001" },
		{ "GITHUB_RUN_ID", "42" },
		{ "GITHUB_RUN_ATTEMPT", "2" },
		{ "CIRCLE_WORKFLOW_ID", "cw" },
		{ "NX_CI_EXECUTION_ID", "nx" },
		{ "DTEQ_RUN", "mine" },
		{ NULL, NULL }
	};

	check_detect(env, "mine", "DTEQ_RUN");
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

/* Nx Cloud's execution id. */
static void
test_detect_nx(void)
{
	struct fake_env	env[] = {
		{ "NX_CI_EXECUTION_ID", "exec-123" },
		{ NULL, NULL }
	};

	check_detect(env, "exec-123", "NX_CI_EXECUTION_ID");
}

/* GitHub Actions: run id and attempt. */
static void
test_detect_github_attempt(void)
{
	struct fake_env	env[] = {
		{ "GITHUB_RUN_ID", "8412345678" },
		{ "GITHUB_RUN_ATTEMPT", "3" },
		{ NULL, NULL }
	};

	check_detect(env, "8412345678-3", "GITHUB_RUN_ID");
}

/* GitHub Actions without GITHUB_RUN_ATTEMPT: attempt 1. */
static void
test_detect_github_no_attempt(void)
{
	struct fake_env	env[] = {
		{ "GITHUB_RUN_ID", "8412345678" },
		{ NULL, NULL }
	};
	struct fake_env	empty[] = {
		{ "GITHUB_RUN_ID", "8412345678" },
		{ "GITHUB_RUN_ATTEMPT", "" },
		{ NULL, NULL }
	};

	check_detect(env, "8412345678-1", "GITHUB_RUN_ID");
	check_detect(empty, "8412345678-1", "GITHUB_RUN_ID");
}

/* GITHUB_RUN_ATTEMPT alone names no run. */
static void
test_detect_github_attempt_only(void)
{
	struct fake_env	env[] = {
		{ "GITHUB_RUN_ATTEMPT", "2" },
		{ NULL, NULL }
	};
	const char	*src = "unset";

	CHECK(runid_detect(fake_get, env, &src) == NULL);
	CHECK(src == NULL);
}

/* CircleCI's workflow id. */
static void
test_detect_circleci(void)
{
	struct fake_env	env[] = {
		{ "CIRCLE_WORKFLOW_ID",
		    "6f1c2e9a-77b0-4b2c-9d1e-0a1b2c3d4e5f" },
		{ "CIRCLE_BUILD_NUM", "99" },
		{ NULL, NULL }
	};

	check_detect(env, "6f1c2e9a-77b0-4b2c-9d1e-0a1b2c3d4e5f",
	    "CIRCLE_WORKFLOW_ID");
}

/* Azure Pipelines' build id. */
static void
test_detect_azure(void)
{
	struct fake_env	env[] = {
		{ "BUILD_BUILDID", "20451" },
		{ NULL, NULL }
	};

	check_detect(env, "20451", "BUILD_BUILDID");
}

/* Bitbucket Pipelines' build number (the step UUID is not a run id). */
static void
test_detect_bitbucket(void)
{
	struct fake_env	env[] = {
		{ "BITBUCKET_STEP_UUID",
		    "{2d3b8f5c-1111-2222-3333-444455556666}" },
		{ "BITBUCKET_BUILD_NUMBER", "1542" },
		{ NULL, NULL }
	};

	check_detect(env, "1542", "BITBUCKET_BUILD_NUMBER");
}

/* GitLab's pipeline id. */
static void
test_detect_gitlab(void)
{
	struct fake_env	env[] = {
		{ "CI_JOB_ID", "987654" },
		{ "CI_PIPELINE_ID", "123456" },
		{ NULL, NULL }
	};

	check_detect(env, "123456", "CI_PIPELINE_ID");
}

/* Jenkins' BUILD_TAG, with its spaces and slashes made safe. */
static void
test_detect_jenkins_sanitized(void)
{
	struct fake_env	env[] = {
		{ "BUILD_TAG", "jenkins-my job/feature{x}-12" },
		{ NULL, NULL }
	};

	check_detect(env, "jenkins-my_job_feature_x_-12", "BUILD_TAG");
}

/* DTEQ_RUN_ENV appends a suffix, sanitized too. */
static void
test_detect_run_env_suffix(void)
{
	struct fake_env	gh[] = {
		{ "GITHUB_RUN_ID", "42" },
		{ "GITHUB_RUN_ATTEMPT", "2" },
		{ "DTEQ_RUN_ENV", "e2e" },
		{ NULL, NULL }
	};
	struct fake_env	own[] = {
		{ "DTEQ_RUN", "r1" },
		{ "DTEQ_RUN_ENV", "linux x64" },
		{ NULL, NULL }
	};
	struct fake_env	empty[] = {
		{ "CI_PIPELINE_ID", "555" },
		{ "DTEQ_RUN_ENV", "" },
		{ NULL, NULL }
	};

	check_detect(gh, "42-2-e2e", "GITHUB_RUN_ID");
	check_detect(own, "r1-linux_x64", "DTEQ_RUN");
	check_detect(empty, "555", "CI_PIPELINE_ID");
}

/* DTEQ_RUN_ENV alone names no run. */
static void
test_detect_run_env_only(void)
{
	struct fake_env	env[] = {
		{ "DTEQ_RUN_ENV", "e2e" },
		{ NULL, NULL }
	};
	const char	*src = "unset";

	CHECK(runid_detect(fake_get, env, &src) == NULL);
	CHECK(src == NULL);
}

/* No CI variable: NULL, and *source is NULL. */
static void
test_detect_none(void)
{
	struct fake_env	env[] = {
		{ "HOME", "/root" },
		{ "CI", "true" },
		{ NULL, NULL }
	};
	const char	*src = "unset";

	CHECK(runid_detect(fake_get, env, &src) == NULL);
	CHECK(src == NULL);
	CHECK(runid_detect(fake_get, env, NULL) == NULL);
}

/* Empty variables count as unset. */
static void
test_detect_empty_is_unset(void)
{
	struct fake_env	env[] = {
		{ "DTEQ_RUN", "" },
		{ "NX_CI_EXECUTION_ID", "" },
		{ "GITHUB_RUN_ID", "" },
		{ "BITBUCKET_BUILD_NUMBER", "77" },
		{ NULL, NULL }
	};

	check_detect(env, "77", "BITBUCKET_BUILD_NUMBER");
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

/* Compute the agent name for env and compare it with want. */
static void
check_agent(struct fake_env *env, const char *want)
{
	char	*name;

	name = runid_agent_name(fake_get, env);
	CHECK_STREQ(name, want);
	free(name);
}

/* NX_AGENT_NAME wins. */
static void
test_agent_nx(void)
{
	struct fake_env	env[] = {
		{ "CI_JOB_ID", "1" },
		{ "BITBUCKET_STEP_UUID", "{abc}" },
		{ "NX_AGENT_NAME", "agent-2" },
		{ NULL, NULL }
	};

	check_agent(env, "agent-2");
}

/* Bitbucket's step UUID without its braces. */
static void
test_agent_bitbucket(void)
{
	struct fake_env	env[] = {
		{ "CI_JOB_ID", "1" },
		{ "BITBUCKET_STEP_UUID",
		    "{2d3b8f5c-1111-2222-3333-444455556666}" },
		{ NULL, NULL }
	};
	struct fake_env	bare[] = {
		{ "BITBUCKET_STEP_UUID", "2d3b8f5c" },
		{ NULL, NULL }
	};
	struct fake_env	braces[] = {
		{ "BITBUCKET_STEP_UUID", "{}" },
		{ "CI_JOB_ID", "55" },
		{ NULL, NULL }
	};

	check_agent(env, "2d3b8f5c-1111-2222-3333-444455556666");
	check_agent(bare, "2d3b8f5c");
	check_agent(braces, "job-55");
}

/* GitLab's job id, prefixed "job-". */
static void
test_agent_gitlab(void)
{
	struct fake_env	env[] = {
		{ "CI_JOB_ID", "987654" },
		{ "CI_PIPELINE_ID", "123456" },
		{ NULL, NULL }
	};

	check_agent(env, "job-987654");
}

/* Names are sanitized and cut at 64 bytes. */
static void
test_agent_sanitized(void)
{
	char		 long_name[100], want[65];
	struct fake_env	 env[] = {
		{ "NX_AGENT_NAME", "my agent/1:{x}" },
		{ NULL, NULL }
	};
	struct fake_env	 lenv[] = {
		{ "NX_AGENT_NAME", long_name },
		{ NULL, NULL }
	};

	check_agent(env, "my_agent_1__x_");
	memset(long_name, 'n', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	memset(want, 'n', 64);
	want[64] = '\0';
	check_agent(lenv, want);
}

/* Without CI variables the name is <hostname>-<pid>, sanitized. */
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

int
main(void)
{
	TEST_RUN(test_valid_ok);
	TEST_RUN(test_valid_empty);
	TEST_RUN(test_valid_length);
	TEST_RUN(test_valid_braces);
	TEST_RUN(test_valid_bad_chars);
	TEST_RUN(test_valid_nonprintable);
	TEST_RUN(test_detect_dteq_run_precedence);
	TEST_RUN(test_detect_order);
	TEST_RUN(test_detect_nx);
	TEST_RUN(test_detect_github_attempt);
	TEST_RUN(test_detect_github_no_attempt);
	TEST_RUN(test_detect_github_attempt_only);
	TEST_RUN(test_detect_circleci);
	TEST_RUN(test_detect_azure);
	TEST_RUN(test_detect_bitbucket);
	TEST_RUN(test_detect_gitlab);
	TEST_RUN(test_detect_jenkins_sanitized);
	TEST_RUN(test_detect_run_env_suffix);
	TEST_RUN(test_detect_run_env_only);
	TEST_RUN(test_detect_none);
	TEST_RUN(test_detect_empty_is_unset);
	TEST_RUN(test_detect_truncated);
	TEST_RUN(test_getenv);
	TEST_RUN(test_agent_nx);
	TEST_RUN(test_agent_bitbucket);
	TEST_RUN(test_agent_gitlab);
	TEST_RUN(test_agent_sanitized);
	TEST_RUN(test_agent_fallback);
	return (test_exit());
}
