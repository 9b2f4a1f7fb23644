/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Unit tests for common/keys.c: the exact names of a run's keys, the
 * {RUN} hash tag on every one of them (found the way Redis Cluster finds
 * it), distinct names within a run and disjoint names across runs.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dteq.h"
#include "test.h"

#define NFIXED	17

/* The fixed names of a run, in struct order after run. */
static void
fixed_keys(const struct keys *k, const char *out[NFIXED])
{
	out[0] = k->prefix;
	out[1] = k->meta;
	out[2] = k->queue;
	out[3] = k->attempts;
	out[4] = k->results;
	out[5] = k->agents;
	out[6] = k->events;
	out[7] = k->stop;
	out[8] = k->main_hb;
	out[9] = k->hb_prefix;
	out[10] = k->running_prefix;
	out[11] = k->log_prefix;
	out[12] = k->records;
	out[13] = k->staged;
	out[14] = k->waiting;
	out[15] = k->waiters;
	out[16] = k->seen;
}

/*
 * The hash tag Redis Cluster hashes for key: the bytes between the first
 * '{' and the next '}', if that is not empty. Caller frees; NULL if none.
 */
static char *
cluster_tag(const char *key)
{
	const char	*open, *close;

	if ((open = strchr(key, '{')) == NULL)
		return (NULL);
	if ((close = strchr(open + 1, '}')) == NULL || close == open + 1)
		return (NULL);
	return (xstrndup(open + 1, (size_t)(close - open - 1)));
}

/* Whether key hashes on the tag run. */
static int
tagged(const char *key, const char *run)
{
	char	*tag;
	int	 ok;

	if ((tag = cluster_tag(key)) == NULL)
		return (0);
	ok = strcmp(tag, run) == 0;
	free(tag);
	return (ok);
}

/* keys_init builds every fixed name exactly. */
static void
test_names(void)
{
	struct keys	k;

	keys_init(&k, "R1", NULL);
	CHECK_STREQ(k.run, "R1");
	CHECK_STREQ(k.prefix, "dteq:{R1}:");
	CHECK_STREQ(k.meta, "dteq:{R1}:meta");
	CHECK_STREQ(k.queue, "dteq:{R1}:queue");
	CHECK_STREQ(k.attempts, "dteq:{R1}:attempts");
	CHECK_STREQ(k.results, "dteq:{R1}:results");
	CHECK_STREQ(k.agents, "dteq:{R1}:agents");
	CHECK_STREQ(k.events, "dteq:{R1}:events");
	CHECK_STREQ(k.stop, "dteq:{R1}:stop");
	CHECK_STREQ(k.main_hb, "dteq:{R1}:main");
	CHECK_STREQ(k.seen, "dteq:{R1}:seen");
	CHECK_STREQ(k.hb_prefix, "dteq:{R1}:hb:");
	CHECK_STREQ(k.running_prefix, "dteq:{R1}:running:");
	CHECK_STREQ(k.log_prefix, "dteq:{R1}:log:");
	CHECK_STREQ(k.records, "dteq:{R1}:records");
	CHECK_STREQ(k.staged, "dteq:{R1}:staged");
	CHECK_STREQ(k.waiting, "dteq:{R1}:waiting");
	CHECK_STREQ(k.waiters, "dteq:{R1}:waiters");
	keys_free(&k);
}

/* keys_running, keys_hb and keys_log build the per-agent/attempt names. */
static void
test_dynamic_names(void)
{
	struct keys	 k;
	char		*s;

	keys_init(&k, "8412345678-2", NULL);
	s = keys_running(&k, "agent-1");
	CHECK_STREQ(s, "dteq:{8412345678-2}:running:agent-1");
	free(s);
	s = keys_hb(&k, "agent-1");
	CHECK_STREQ(s, "dteq:{8412345678-2}:hb:agent-1");
	free(s);
	s = keys_log(&k, "app:build", 3);
	CHECK_STREQ(s, "dteq:{8412345678-2}:log:3:app:build");
	free(s);
	keys_free(&k);
}

/* Every key carries the {RUN} hash tag, as Redis Cluster reads it. */
static void
test_hash_tag(void)
{
	struct keys	 k;
	const char	*fixed[NFIXED];
	char		*s;
	size_t		 i;

	keys_init(&k, "run.7_a-b", NULL);
	fixed_keys(&k, fixed);
	for (i = 0; i < NFIXED; i++) {
		CHECK(strstr(fixed[i], "{run.7_a-b}") != NULL);
		CHECK(tagged(fixed[i], "run.7_a-b"));
	}
	/* Braces in an agent name or task id do not move the tag. */
	s = keys_running(&k, "{other}");
	CHECK(tagged(s, "run.7_a-b"));
	free(s);
	s = keys_hb(&k, "x}y{z}");
	CHECK(tagged(s, "run.7_a-b"));
	free(s);
	s = keys_log(&k, "{evil}:t", 1);
	CHECK(tagged(s, "run.7_a-b"));
	free(s);
	keys_free(&k);
}

/* The fixed names of one run are all different. */
static void
test_distinct(void)
{
	struct keys	 k;
	const char	*fixed[NFIXED];
	size_t		 i, j;

	keys_init(&k, "R", NULL);
	fixed_keys(&k, fixed);
	for (i = 0; i < NFIXED; i++) {
		for (j = i + 1; j < NFIXED; j++)
			CHECK(strcmp(fixed[i], fixed[j]) != 0);
	}
	keys_free(&k);
}

/* Log names differ by attempt and by task id. */
static void
test_log_distinct(void)
{
	struct keys	 k;
	char		*a, *b, *c;

	keys_init(&k, "R", NULL);
	a = keys_log(&k, "x", 1);
	b = keys_log(&k, "x", 2);
	c = keys_log(&k, "y", 1);
	CHECK(strcmp(a, b) != 0);
	CHECK(strcmp(a, c) != 0);
	CHECK(strcmp(b, c) != 0);
	free(a);
	free(b);
	free(c);
	keys_free(&k);
}

/* Check that no key of run a starts with the prefix of run b. */
static void
check_disjoint(const char *a, const char *b)
{
	struct keys	 ka, kb;
	const char	*fa[NFIXED], *fb[NFIXED];
	char		*s;
	size_t		 i, j;

	keys_init(&ka, a, NULL);
	keys_init(&kb, b, NULL);
	fixed_keys(&ka, fa);
	fixed_keys(&kb, fb);
	for (i = 0; i < NFIXED; i++) {
		CHECK(strncmp(fa[i], kb.prefix, strlen(kb.prefix)) != 0);
		CHECK(strncmp(fb[i], ka.prefix, strlen(ka.prefix)) != 0);
		CHECK(!tagged(fa[i], b));
		for (j = 0; j < NFIXED; j++)
			CHECK(strcmp(fa[i], fb[j]) != 0);
	}
	s = keys_running(&ka, "agent");
	CHECK(strncmp(s, kb.prefix, strlen(kb.prefix)) != 0);
	free(s);
	keys_free(&ka);
	keys_free(&kb);
}

/* Two runs share no key, even when one id is a prefix of the other. */
static void
test_runs_disjoint(void)
{
	check_disjoint("1234-1", "1234-2");
	check_disjoint("a", "a-b");
	check_disjoint("a-b", "a");
	check_disjoint("42", "421");
}

/* keys_free is safe on a zeroed struct and leaves it zeroed. */
static void
test_free_zeroed(void)
{
	struct keys	k, zero;

	memset(&zero, 0, sizeof zero);
	memset(&k, 0, sizeof k);
	keys_free(&k);
	CHECK(memcmp(&k, &zero, sizeof k) == 0);
	keys_init(&k, "R", NULL);
	keys_free(&k);
	CHECK(memcmp(&k, &zero, sizeof k) == 0);
	keys_free(&k);
}

/* A run id of the longest valid length builds usable names. */
static void
test_long_run(void)
{
	struct keys	 k;
	char		 run[RUN_ID_MAX + 1], *cause = NULL;

	memset(run, 'r', RUN_ID_MAX);
	run[RUN_ID_MAX] = '\0';
	CHECK(runid_valid(run, &cause) == 0);
	keys_init(&k, run, NULL);
	CHECK(strlen(k.prefix) == strlen("dteq:{}:") + RUN_ID_MAX);
	CHECK(tagged(k.queue, run));
	keys_free(&k);
}

/*
 * A run of a repository: every key carries {RUN@H}, H the first 12 hex
 * digits of the SHA-1 of the repository's name; two repositories with one
 * run id share no key, nor does either with the run without one, and
 * keys_init_tag() gives back the same names and the run id.
 */
static void
test_repo(void)
{
	struct keys	 a, b, none, t;
	const char	*fa[NFIXED], *fb[NFIXED], *fn[NFIXED];
	char		 hex[41], *want;
	size_t		 i, j;

	keys_init(&a, "42", "acme/repo-a");
	keys_init(&b, "42", "acme/repo-b");
	keys_init(&none, "42", NULL);
	util_sha1_hex("acme/repo-a", strlen("acme/repo-a"), hex);
	xasprintf(&want, "dteq:{42@%.12s}:meta", hex);
	CHECK_STREQ(a.meta, want);
	free(want);
	CHECK_STREQ(a.run, "42");
	CHECK_STREQ(a.repo, "acme/repo-a");
	CHECK(none.repo == NULL);
	CHECK_STREQ(none.meta, "dteq:{42}:meta");
	fixed_keys(&a, fa);
	fixed_keys(&b, fb);
	fixed_keys(&none, fn);
	for (i = 0; i < NFIXED; i++) {
		CHECK(tagged(fa[i], a.tag));
		for (j = 0; j < NFIXED; j++) {
			CHECK(strcmp(fa[i], fb[j]) != 0);
			CHECK(strcmp(fa[i], fn[j]) != 0);
		}
	}
	keys_init_tag(&t, a.tag);
	CHECK_STREQ(t.run, "42");
	CHECK_STREQ(t.meta, a.meta);
	CHECK_STREQ(t.queue, a.queue);
	CHECK(t.repo == NULL);
	keys_free(&t);
	keys_free(&a);
	keys_free(&b);
	keys_free(&none);
}

int
main(void)
{
	TEST_RUN(test_names);
	TEST_RUN(test_dynamic_names);
	TEST_RUN(test_hash_tag);
	TEST_RUN(test_distinct);
	TEST_RUN(test_log_distinct);
	TEST_RUN(test_runs_disjoint);
	TEST_RUN(test_free_zeroed);
	TEST_RUN(test_long_run);
	TEST_RUN(test_repo);
	return (test_exit());
}
