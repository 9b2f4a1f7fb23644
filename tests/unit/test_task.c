/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The queue message: what submit encodes is what an agent decodes, every
 * field of it; the encoder writes the bytes cJSON would (random tasks,
 * any byte but NUL); and a message with a field of the wrong type is
 * refused with a cause that names the field. Restores: "restorable" and
 * the "restore" list of a task's dependencies, written exactly, read
 * back, and refused entry by entry.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dteq.h"
#include "test.h"

static void
test_round_trip(void)
{
	struct task_env	 env[2];
	struct task	 t;
	struct task_msg	 m;
	char		*msg, *cause = NULL;
	size_t		 len;

	env[0].name = (char *)"A";
	env[0].value = (char *)"1";
	env[1].name = (char *)"B";
	env[1].value = (char *)"two words";
	memset(&t, 0, sizeof t);
	t.id = (char *)"app:build";
	t.command = (char *)"make \"all\"";
	t.cwd = (char *)"packages/app";
	t.env = env;
	t.nenv = 2;
	t.timeout = 30;
	t.cache_as = (char *)"61db1eda0ee7f69f";

	msg = task_msg_encode("r1", &t, 3, "agent-2", 1, NULL, 0, &len);
	CHECK(len == strlen(msg));
	CHECK(task_msg_decode(msg, len, &m, &cause) == 0);
	CHECK_STREQ(m.run, "r1");
	CHECK_STREQ(m.id, "app:build");
	CHECK(m.attempt == 3);
	CHECK_STREQ(m.command, "make \"all\"");
	CHECK_STREQ(m.cwd, "packages/app");
	CHECK(m.nenv == 2);
	if (m.nenv == 2) {
		CHECK_STREQ(m.env[1].name, "B");
		CHECK_STREQ(m.env[1].value, "two words");
	}
	CHECK(m.timeout == 30);
	CHECK_STREQ(m.avoid, "agent-2");
	CHECK(m.leaf == 1);
	CHECK_STREQ(m.cache_as, "61db1eda0ee7f69f");
	task_msg_clear(&m);
	free(msg);

	/* Not a leaf, no key: the fields are left out, and decode as none. */
	t.cache_as = NULL;
	msg = task_msg_encode("r1", &t, 1, NULL, 0, NULL, 0, &len);
	CHECK(strstr(msg, "leaf") == NULL);
	CHECK(strstr(msg, "avoid") == NULL);
	CHECK(strstr(msg, "cache_as") == NULL);
	CHECK(task_msg_decode(msg, len, &m, &cause) == 0);
	CHECK(m.leaf == 0);
	CHECK(m.avoid == NULL);
	CHECK(m.cache_as == NULL);
	task_msg_clear(&m);
	free(msg);
}

/*
 * msg is refused with a cause that holds want, and nothing is left in
 * the message it was decoded into.
 */
static void
check_refused(const char *msg, const char *want)
{
	struct task_msg	 m;
	char		*cause = NULL;

	CHECK(task_msg_decode(msg, strlen(msg), &m, &cause) == -1);
	CHECK(cause != NULL && strstr(cause, want) != NULL);
	if (cause == NULL || strstr(cause, want) == NULL)
		printf("    %s\n    cause: %s\n", msg,
		    cause != NULL ? cause : "(null)");
	CHECK(m.id == NULL && m.run == NULL && m.restores == NULL &&
	    m.nrestores == 0);
	free(cause);
}

static void
test_bad_fields(void)
{
	static const struct {
		const char	*msg;
		const char	*field;
	} bad[] = {
		{ "{\"run\":\"r\",\"id\":\"a\",\"attempt\":1,\"command\":\"true\","
		    "\"leaf\":\"yes\"}", "leaf" },
		{ "{\"run\":\"r\",\"id\":\"a\",\"attempt\":1,\"command\":\"true\","
		    "\"leaf\":1}", "leaf" },
		{ "{\"run\":\"r\",\"id\":\"a\",\"attempt\":0,\"command\":\"true\"}",
		    "attempt" },
		{ "{\"run\":\"r\",\"id\":7,\"attempt\":1,\"command\":\"true\"}",
		    "id" },
		{ "{\"run\":\"r\",\"id\":\"a\",\"attempt\":1,\"command\":\"true\","
		    "\"cache_as\":\"../x\"}", "cache_as" },
		{ "{\"run\":\"r\",\"id\":\"a\",\"attempt\":1,\"command\":\"true\","
		    "\"cache_as\":7}", "cache_as" },
		{ "{\"run\":\"r\",\"id\":\"a\",\"attempt\":1,\"command\":\"true\","
		    "\"cache_as\":\"a/b\"}", "cache_as" },
	};
	size_t		 k;

	for (k = 0; k < sizeof bad / sizeof bad[0]; k++)
		check_refused(bad[k].msg, bad[k].field);
}

/* Fill t: id, command, restore command and its argument (or NULL). */
static void
task_of(struct task *t, const char *id, const char *command,
    const char *restore, const char *arg)
{
	memset(t, 0, sizeof *t);
	t->id = (char *)id;
	t->command = (char *)command;
	t->restore = (char *)restore;
	t->restore_arg = (char *)arg;
}

/*
 * The message of attempt 1 of t in run r1, with leaf and the restores
 * given, is exactly want.
 */
static void
check_encoded(const struct task *t, int leaf, struct task **restores,
    size_t nrestores, const char *want)
{
	char	*msg;
	size_t	 len;

	msg = task_msg_encode("r1", t, 1, NULL, leaf, restores, nrestores,
	    &len);
	CHECK_STREQ(msg, want);
	CHECK(len == strlen(msg));
	free(msg);
}

/* The restore fields, byte for byte, after "leaf"; left out if unused. */
static void
test_restore_encode(void)
{
	struct task	 t, lib, ui;
	struct task	*restores[] = { &lib, &ui };
	char		*msg;
	size_t		 len;

	task_of(&lib, "lib:build", "true", "cp \"$S/lib\" out/", NULL);
	task_of(&ui, "ui:build", "true", "nx run-many -t build {}",
	    "--projects=ui");
	task_of(&t, "app:build", "make", "fetch app", NULL);

	msg = task_msg_encode("r1", &t, 2, NULL, 1, restores, 2, &len);
	CHECK_STREQ(msg, "{\"run\":\"r1\",\"id\":\"app:build\",\"attempt\":2,"
	    "\"command\":\"make\",\"leaf\":true,\"restorable\":true,"
	    "\"restore\":[{\"id\":\"lib:build\","
	    "\"run\":\"cp \\\"$S/lib\\\" out/\"},"
	    "{\"id\":\"ui:build\",\"run\":\"nx run-many -t build {}\","
	    "\"arg\":\"--projects=ui\"}]}");
	CHECK(len == strlen(msg));
	free(msg);

	/* Restorable, nothing to restore: no list. */
	check_encoded(&t, 0, NULL, 0, "{\"run\":\"r1\",\"id\":\"app:build\","
	    "\"attempt\":1,\"command\":\"make\",\"restorable\":true}");

	/* Not restorable itself, one dependency to restore. */
	t.restore = NULL;
	check_encoded(&t, 0, restores + 1, 1, "{\"run\":\"r1\","
	    "\"id\":\"app:build\",\"attempt\":1,\"command\":\"make\","
	    "\"restore\":[{\"id\":\"ui:build\","
	    "\"run\":\"nx run-many -t build {}\",\"arg\":\"--projects=ui\"}]}");

	/* Neither: not a byte of either field. */
	msg = task_msg_encode("r1", &t, 1, NULL, 0, restores, 0, &len);
	CHECK(strstr(msg, "restor") == NULL);
	CHECK(len == strlen(msg));
	free(msg);
}

/* What submit encodes for restores is what an agent decodes. */
static void
test_restore_round_trip(void)
{
	struct task	 t, a, b, c;
	struct task	*restores[] = { &a, &b, &c };
	struct task_msg	 m;
	char		*msg, *cause = NULL;
	size_t		 len;

	task_of(&a, "a:build", "true", "get a", NULL);
	task_of(&b, "b:build", "true", "get {} now", "b");
	task_of(&c, "c:build", "true", "get {} now", "c d");
	task_of(&t, "d:build", "make d", "get d", NULL);

	msg = task_msg_encode("r1", &t, 1, NULL, 0, restores, 3, &len);
	CHECK(task_msg_decode(msg, len, &m, &cause) == 0);
	CHECK(cause == NULL);
	CHECK_STREQ(m.id, "d:build");
	CHECK(m.restorable == 1);
	CHECK(m.nrestores == 3);
	if (m.nrestores == 3) {
		CHECK_STREQ(m.restores[0].id, "a:build");
		CHECK_STREQ(m.restores[0].run, "get a");
		CHECK(m.restores[0].arg == NULL);
		CHECK_STREQ(m.restores[1].id, "b:build");
		CHECK_STREQ(m.restores[1].run, "get {} now");
		CHECK_STREQ(m.restores[1].arg, "b");
		CHECK_STREQ(m.restores[2].id, "c:build");
		CHECK_STREQ(m.restores[2].run, "get {} now");
		CHECK_STREQ(m.restores[2].arg, "c d");
	}
	task_msg_clear(&m);
	CHECK(m.restores == NULL && m.nrestores == 0 && m.restorable == 0);
	free(msg);

	/* Without either field: not restorable, nothing to restore. */
	t.restore = NULL;
	msg = task_msg_encode("r1", &t, 1, NULL, 0, NULL, 0, &len);
	CHECK(task_msg_decode(msg, len, &m, &cause) == 0);
	CHECK(m.restorable == 0);
	CHECK(m.nrestores == 0);
	task_msg_clear(&m);
	free(msg);

	/* "restorable": false and an empty list are fine too. */
	msg = xstrdup("{\"run\":\"r\",\"id\":\"a\",\"attempt\":1,"
	    "\"command\":\"true\",\"restorable\":false,\"restore\":[]}");
	CHECK(task_msg_decode(msg, strlen(msg), &m, &cause) == 0);
	CHECK(m.restorable == 0);
	CHECK(m.nrestores == 0);
	task_msg_clear(&m);
	free(msg);
}

/*
 * A dependency its dependent's own command restores (restore_inline): an
 * entry with no run, read back with run NULL; the task is restorable.
 */
static void
test_restore_inline(void)
{
	struct task	 t, lib, ui;
	struct task	*restores[] = { &lib, &ui };
	struct task_msg	 m;
	char		*msg, *cause = NULL;
	size_t		 len;

	task_of(&lib, "lib#build", "true", NULL, NULL);
	lib.restore_inline = 1;
	task_of(&ui, "ui#build", "true", "get ui", NULL);
	task_of(&t, "app#build", "turbo run build --filter=app", NULL, NULL);
	t.restore_inline = 1;
	msg = task_msg_encode("r1", &t, 1, NULL, 0, restores, 2, &len);
	CHECK_STREQ(msg, "{\"run\":\"r1\",\"id\":\"app#build\","
	    "\"attempt\":1,\"command\":\"turbo run build --filter=app\","
	    "\"restorable\":true,\"restore\":[{\"id\":\"lib#build\"},"
	    "{\"id\":\"ui#build\",\"run\":\"get ui\"}]}");
	CHECK(task_msg_decode(msg, len, &m, &cause) == 0);
	CHECK(cause == NULL);
	CHECK(m.restorable == 1 && m.nrestores == 2);
	if (m.nrestores == 2) {
		CHECK_STREQ(m.restores[0].id, "lib#build");
		CHECK(m.restores[0].run == NULL && m.restores[0].arg == NULL);
		CHECK_STREQ(m.restores[1].run, "get ui");
	}
	task_msg_clear(&m);
	free(msg);
	free(cause);
}

/* A bad "restore" or "restorable" is refused, naming it (and the entry). */
static void
test_restore_bad(void)
{
#define RESTORE_MSG(f)	"{\"run\":\"r\",\"id\":\"a\",\"attempt\":1," \
			"\"command\":\"true\"," f "}"
	static const struct {
		const char	*msg;
		const char	*want;
	} bad[] = {
		{ RESTORE_MSG("\"restore\":\"get a\""),
		    "\"restore\" is not an array" },
		{ RESTORE_MSG("\"restore\":{\"id\":\"a\",\"run\":\"x\"}"),
		    "\"restore\" is not an array" },
		{ RESTORE_MSG("\"restore\":[{\"run\":\"get b\"}]"),
		    "entry 1 of \"restore\"" },
		{ RESTORE_MSG("\"restore\":[{\"id\":\"b\",\"run\":\"get b\"},"
		    "{\"id\":\"c\",\"run\":\"\"}]"),
		    "entry 2 of \"restore\"" },
		{ RESTORE_MSG("\"restore\":[{\"id\":\"b\",\"run\":\"get b\"},"
		    "{\"id\":\"c\",\"run\":\"get {}\",\"arg\":\"c\"},"
		    "{\"id\":\"d\",\"run\":\"get {}\",\"arg\":7}]"),
		    "entry 3 of \"restore\"" },
		{ RESTORE_MSG("\"restore\":[{\"id\":\"b\",\"run\":\"get {}\","
		    "\"arg\":\"\"}]"),
		    "entry 1 of \"restore\"" },
		{ RESTORE_MSG("\"restore\":[{\"id\":\"\",\"run\":\"get b\"}]"),
		    "entry 1 of \"restore\"" },
		{ RESTORE_MSG("\"restore\":[{\"id\":5,\"run\":\"get b\"}]"),
		    "entry 1 of \"restore\"" },
		{ RESTORE_MSG("\"restore\":[\"b\"]"),
		    "entry 1 of \"restore\"" },
		{ RESTORE_MSG("\"restore\":[{\"id\":\"b\",\"arg\":\"b\"}]"),
		    "entry 1 of \"restore\"" },
		{ RESTORE_MSG("\"restorable\":\"yes\""),
		    "\"restorable\" is not a boolean" },
		{ RESTORE_MSG("\"restorable\":1"),
		    "\"restorable\" is not a boolean" },
	};
#undef RESTORE_MSG
	size_t		 k;

	for (k = 0; k < sizeof bad / sizeof bad[0]; k++)
		check_refused(bad[k].msg, bad[k].want);
}

/* A random C string of bytes 1-255, quotes and backslashes often. */
static char *
random_bytes(void)
{
	size_t	 n = (size_t)(rand() % 24), i;
	char	*s = malloc(n + 1);

	for (i = 0; i < n; i++) {
		switch (rand() % 4) {
		case 0:
			s[i] = "\"\\/\b\f\n\r\t"[rand() % 8];
			break;
		default:
			s[i] = (char)(1 + rand() % 255);
			break;
		}
	}
	s[n] = '\0';
	return (s);
}

/*
 * The message is written by hand in the bytes cJSON prints for it (every
 * byte of a command passes as it is, not UTF-8 or not): compared on
 * random tasks, restores included, with what cJSON makes of the same
 * fields.
 */
static void
test_encode_as_cjson(void)
{
	struct task_env	 env[3];
	struct task	 t, rt[3];
	struct task	*rp[3];
	cJSON		*o, *e, *a;
	char		*mine, *theirs, *run, *avoid;
	size_t		 len, k, nr;
	int		 round, attempt, leaf, differ = 0;

	srand(11);
	for (round = 0; round < 2000; round++) {
		memset(&t, 0, sizeof t);
		run = random_bytes();
		t.id = random_bytes();
		t.command = random_bytes();
		t.cwd = rand() % 2 ? random_bytes() : NULL;
		t.nenv = (size_t)(rand() % 4);
		for (k = 0; k < t.nenv; k++) {
			env[k].name = random_bytes();
			env[k].value = random_bytes();
		}
		t.env = env;
		t.timeout = rand() % 3 == 0 ? 0 : rand() % 100000;
		attempt = 1 + rand() % 1000000;
		avoid = rand() % 3 == 0 ? random_bytes() : NULL;
		leaf = rand() % 2;
		t.restore = rand() % 3 == 0 ? random_bytes() : NULL;
		nr = (size_t)(rand() % 4);
		for (k = 0; k < nr; k++) {
			memset(&rt[k], 0, sizeof rt[k]);
			rt[k].id = random_bytes();
			rt[k].restore = random_bytes();
			rt[k].restore_arg = rand() % 2 ? random_bytes() : NULL;
			rp[k] = &rt[k];
		}

		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "run", run);
		cJSON_AddStringToObject(o, "id", t.id);
		cJSON_AddNumberToObject(o, "attempt", attempt);
		cJSON_AddStringToObject(o, "command", t.command);
		if (t.cwd != NULL)
			cJSON_AddStringToObject(o, "cwd", t.cwd);
		if (t.nenv > 0) {
			e = cJSON_AddObjectToObject(o, "env");
			for (k = 0; k < t.nenv; k++)
				cJSON_AddStringToObject(e, env[k].name,
				    env[k].value);
		}
		if (t.timeout > 0)
			cJSON_AddNumberToObject(o, "timeout", t.timeout);
		if (avoid != NULL)
			cJSON_AddStringToObject(o, "avoid", avoid);
		if (leaf)
			cJSON_AddTrueToObject(o, "leaf");
		if (t.restore != NULL)
			cJSON_AddTrueToObject(o, "restorable");
		if (nr > 0) {
			a = cJSON_AddArrayToObject(o, "restore");
			for (k = 0; k < nr; k++) {
				e = cJSON_CreateObject();
				cJSON_AddStringToObject(e, "id", rt[k].id);
				cJSON_AddStringToObject(e, "run",
				    rt[k].restore);
				if (rt[k].restore_arg != NULL)
					cJSON_AddStringToObject(e, "arg",
					    rt[k].restore_arg);
				cJSON_AddItemToArray(a, e);
			}
		}
		theirs = cJSON_PrintUnformatted(o);
		mine = task_msg_encode(run, &t, attempt, avoid, leaf, rp, nr,
		    &len);
		if (len != strlen(mine) || strcmp(mine, theirs) != 0) {
			if (differ++ < 3)
				printf("    %s\n    %s\n", mine, theirs);
		}
		free(mine);
		cJSON_free(theirs);
		cJSON_Delete(o);
		free(run);
		free(t.id);
		free(t.command);
		free(t.cwd);
		for (k = 0; k < t.nenv; k++) {
			free(env[k].name);
			free(env[k].value);
		}
		free(avoid);
		free(t.restore);
		for (k = 0; k < nr; k++) {
			free(rt[k].id);
			free(rt[k].restore);
			free(rt[k].restore_arg);
		}
	}
	CHECK(differ == 0);
}

int
main(void)
{
	TEST_RUN(test_round_trip);
	TEST_RUN(test_encode_as_cjson);
	TEST_RUN(test_bad_fields);
	TEST_RUN(test_restore_encode);
	TEST_RUN(test_restore_round_trip);
	TEST_RUN(test_restore_inline);
	TEST_RUN(test_restore_bad);
	return (test_exit());
}
