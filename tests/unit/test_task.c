/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The queue message: what submit encodes is what an agent decodes, every
 * field of it, and a message with a field of the wrong type is refused
 * with a cause that names the field.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int
main(void)
{
	TEST_RUN(test_round_trip);
	TEST_RUN(test_bad_fields);
	return (test_exit());
}
