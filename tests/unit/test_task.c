/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The queue message: what submit encodes is what an agent decodes, every
 * field of it; the encoder writes the bytes cJSON would (random tasks,
 * any byte but NUL); and a message with a field of the wrong type is
 * refused with a cause that names the field.
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

	msg = task_msg_encode("r1", &t, 3, "agent-2", 1, &len);
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
	task_msg_clear(&m);
	free(msg);

	/* Not a leaf: the field is left out, and decodes as 0. */
	msg = task_msg_encode("r1", &t, 1, NULL, 0, &len);
	CHECK(strstr(msg, "leaf") == NULL);
	CHECK(strstr(msg, "avoid") == NULL);
	CHECK(task_msg_decode(msg, len, &m, &cause) == 0);
	CHECK(m.leaf == 0);
	CHECK(m.avoid == NULL);
	task_msg_clear(&m);
	free(msg);
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
	};
	struct task_msg	 m;
	char		*cause;
	size_t		 k;

	for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		cause = NULL;
		CHECK(task_msg_decode(bad[k].msg, strlen(bad[k].msg), &m,
		    &cause) == -1);
		CHECK(cause != NULL && strstr(cause, bad[k].field) != NULL);
		CHECK(m.id == NULL && m.run == NULL);
		free(cause);
	}
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
 * random tasks with what cJSON makes of the same fields.
 */
static void
test_encode_as_cjson(void)
{
	struct task_env	 env[3];
	struct task	 t;
	cJSON		*o, *e;
	char		*mine, *theirs, *run, *avoid;
	size_t		 len, k;
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
		theirs = cJSON_PrintUnformatted(o);
		mine = task_msg_encode(run, &t, attempt, avoid, leaf, &len);
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
	}
	CHECK(differ == 0);
}

int
main(void)
{
	TEST_RUN(test_round_trip);
	TEST_RUN(test_encode_as_cjson);
	TEST_RUN(test_bad_fields);
	return (test_exit());
}
