/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Unit tests for common/taskfile.c: the task file format, its field
 * checks and their messages, target derivation, and that the Nx and
 * Turborepo fixtures (not this format) are refused cleanly.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dteq.h"
#include "test.h"

#ifndef FIXTURES_DIR
#define FIXTURES_DIR "tests/fixtures"
#endif

/* Check that cause contains sub, and show cause when it does not. */
#define CHECK_HAS(cause, sub) do {					\
	CHECK(strstr((cause), (sub)) != NULL);				\
	if (strstr((cause), (sub)) == NULL)				\
		printf("    cause: %s\n", (cause));			\
} while (0)

/* Parse json as tasks.json, expecting failure; returns the cause. */
static char *
parse_fail(const char *json)
{
	struct taskset	 ts;
	char		*cause = NULL;
	int		 rc;

	rc = taskfile_parse(json, strlen(json), "tasks.json", &ts, &cause);
	CHECK(rc == -1);
	CHECK(ts.tasks == NULL);
	CHECK(ts.ntasks == 0);
	CHECK(cause != NULL);
	if (rc == 0)
		taskset_free(&ts);
	if (cause == NULL)
		cause = xstrdup("");
	return (cause);
}

/* Parse json as tasks.json, expecting success. */
static int
parse_ok(const char *json, struct taskset *ts)
{
	char	*cause = NULL;
	int	 rc;

	rc = taskfile_parse(json, strlen(json), "tasks.json", ts, &cause);
	CHECK(rc == 0);
	if (rc != 0) {
		printf("    cause: %s\n", cause);
		free(cause);
	}
	return (rc);
}

/* A task with one field of the wrong type must name task, field, type. */
static void
check_wrong_type(const char *field_json, const char *field,
    const char *got)
{
	char	*json, *cause, *want;

	/* The command is left out when it is the field under test. */
	xasprintf(&json, "{\"tasks\": [{\"id\": \"a:build\", %s%s}]}",
	    strcmp(field, "command") == 0 ? "" : "\"command\": \"true\", ",
	    field_json);
	cause = parse_fail(json);
	CHECK_HAS(cause, "tasks.json: ");
	CHECK_HAS(cause, "task \"a:build\"");
	xasprintf(&want, "field \"%s\": ", field);
	CHECK_HAS(cause, want);
	CHECK_HAS(cause, got);
	free(want);
	free(cause);
	free(json);
}

/* Read a whole fixture file; NULL if it cannot be read. */
static char *
read_fixture(const char *name, size_t *len)
{
	FILE	*f;
	char	*path, *buf = NULL;
	long	 size;

	xasprintf(&path, "%s/%s", FIXTURES_DIR, name);
	f = fopen(path, "rb");
	free(path);
	if (f == NULL)
		return (NULL);
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = xmalloc(size + 1);
		if (fread(buf, 1, size, f) != (size_t)size) {
			free(buf);
			buf = NULL;
		} else
			*len = size;
	}
	fclose(f);
	return (buf);
}

/* A full task and a minimal one parse into every field. */
static void
test_valid_full(void)
{
	struct taskset	 ts;
	struct task	*t;

	if (parse_ok("{\"tasks\": [\n"
	    "  {\"id\": \"lib:build\",\n"
	    "   \"command\": \"npm run build -w lib\"},\n"
	    "  {\"id\": \"app:build\", \"command\": \"npm run build -w app\",\n"
	    "   \"deps\": [\"lib:build\"], \"cwd\": \"apps/app\",\n"
	    "   \"env\": {\"NODE_ENV\": \"production\", \"_X1\": \"\"},\n"
	    "   \"timeout\": 600, \"retries\": 1,\n"
	    "   \"outputs\": [\"dist/apps/app\", \"coverage\"],\n"
	    "   \"target\": \"compile\"}\n"
	    "]}\n", &ts) != 0)
		return;
	CHECK(ts.ntasks == 2);

	t = &ts.tasks[0];
	CHECK_STREQ(t->id, "lib:build");
	CHECK_STREQ(t->command, "npm run build -w lib");
	CHECK_STREQ(t->target, "build");
	CHECK(t->cwd == NULL);
	CHECK(t->ndeps == 0 && t->deps == NULL);
	CHECK(t->nenv == 0 && t->env == NULL);
	CHECK(t->noutputs == 0 && t->outputs == NULL);
	CHECK(t->timeout == 0);
	CHECK(t->retries == -1);

	t = &ts.tasks[1];
	CHECK_STREQ(t->id, "app:build");
	CHECK_STREQ(t->command, "npm run build -w app");
	CHECK(t->ndeps == 1);
	CHECK_STREQ(t->deps[0], "lib:build");
	CHECK_STREQ(t->cwd, "apps/app");
	CHECK(t->nenv == 2);
	CHECK_STREQ(t->env[0].name, "NODE_ENV");
	CHECK_STREQ(t->env[0].value, "production");
	CHECK_STREQ(t->env[1].name, "_X1");
	CHECK_STREQ(t->env[1].value, "");
	CHECK(t->timeout == 600);
	CHECK(t->retries == 1);
	CHECK(t->noutputs == 2);
	CHECK_STREQ(t->outputs[0], "dist/apps/app");
	CHECK_STREQ(t->outputs[1], "coverage");
	CHECK_STREQ(t->target, "compile");

	taskset_free(&ts);
	CHECK(ts.tasks == NULL && ts.ntasks == 0);
	taskset_free(&ts);	/* safe on a zeroed taskset */
}

/* Boundary values are accepted: timeout 0 and 7 days, retries 0 and 100. */
static void
test_valid_bounds(void)
{
	struct taskset	ts;

	if (parse_ok("{\"tasks\": [{\"id\": \"a\", \"command\": \"x\", "
	    "\"timeout\": 604800, \"retries\": 100, \"cwd\": \"/abs\"}, "
	    "{\"id\": \"b\", \"command\": \"x\", \"timeout\": 0, "
	    "\"retries\": 0, \"deps\": [], \"env\": {}, \"outputs\": []}, "
	    "{\"id\": \"c\", \"command\": \"x\", \"timeout\": 1e2}]}",
	    &ts) != 0)
		return;
	CHECK(ts.ntasks == 3);
	CHECK(ts.tasks[0].timeout == 604800);
	CHECK(ts.tasks[0].retries == 100);
	CHECK_STREQ(ts.tasks[0].cwd, "/abs");
	CHECK(ts.tasks[1].timeout == 0);
	CHECK(ts.tasks[1].retries == 0);
	CHECK(ts.tasks[1].ndeps == 0 && ts.tasks[1].nenv == 0);
	CHECK(ts.tasks[2].timeout == 100);
	taskset_free(&ts);
}

/* The buffer need not be NUL-terminated: only len bytes are read. */
static void
test_not_nul_terminated(void)
{
	struct taskset	 ts;
	const char	*json = "{\"tasks\":[{\"id\":\"a\",\"command\":\"b\"}]}"
			    "GARBAGE";
	char		*cause = NULL;

	CHECK(taskfile_parse(json, strlen(json) - 7, "t.json", &ts,
	    &cause) == 0);
	CHECK(ts.ntasks == 1);
	taskset_free(&ts);
	free(cause);
}

/* Wrong type: id. */
static void
test_type_id(void)
{
	char	*cause;

	cause = parse_fail("{\"tasks\": [{\"id\": 7, \"command\": \"x\"}]}");
	CHECK_HAS(cause, "tasks.json: task #1: field \"id\": "
	    "expected a string, got a number");
	free(cause);
}

/* Wrong type: command. */
static void
test_type_command(void)
{
	check_wrong_type("\"command\": [\"make\"]", "command",
	    "expected a string, got an array");
}

/* Wrong type: deps, and a deps element. */
static void
test_type_deps(void)
{
	char	*cause;

	cause = parse_fail("{\"tasks\": [{\"id\": \"app:build\", "
	    "\"command\": \"x\", \"deps\": 3}]}");
	CHECK_STREQ(cause, "tasks.json: task \"app:build\": field \"deps\": "
	    "expected an array of strings, got a number");
	free(cause);
	check_wrong_type("\"deps\": [\"a\", null]", "deps",
	    "element #2 is null");
	check_wrong_type("\"deps\": [\"\"]", "deps",
	    "element #1 is an empty string");
}

/* Wrong type: cwd. */
static void
test_type_cwd(void)
{
	check_wrong_type("\"cwd\": true", "cwd",
	    "expected a string, got a boolean");
}

/* Wrong type: env, and an env value. */
static void
test_type_env(void)
{
	check_wrong_type("\"env\": [\"A=1\"]", "env",
	    "expected an object of strings, got an array");
	check_wrong_type("\"env\": {\"PORT\": 8080}", "env",
	    "variable \"PORT\": expected a string, got a number");
}

/* Wrong type: timeout. */
static void
test_type_timeout(void)
{
	check_wrong_type("\"timeout\": \"600\"", "timeout",
	    "got a string");
}

/* Wrong type: retries. */
static void
test_type_retries(void)
{
	check_wrong_type("\"retries\": true", "retries", "got a boolean");
}

/* Wrong type: outputs. */
static void
test_type_outputs(void)
{
	check_wrong_type("\"outputs\": {\"dist\": 1}", "outputs",
	    "expected an array of strings, got an object");
}

/* Wrong type: target, and an empty target. */
static void
test_type_target(void)
{
	check_wrong_type("\"target\": 1", "target",
	    "expected a string, got a number");
	check_wrong_type("\"target\": \"\"", "target", "must not be empty");
}

/* A restore command is copied as it is; a task without one has none. */
static void
test_restore(void)
{
	struct taskset	ts;

	if (parse_ok("{\"tasks\": [\n"
	    "  {\"id\": \"lib:build\", \"command\": \"make lib\",\n"
	    "   \"restore\": \"cp \\\"$STORE/lib\\\" out/ && echo {}\"},\n"
	    "  {\"id\": \"app:build\", \"command\": \"make app\",\n"
	    "   \"deps\": [\"lib:build\"]}\n"
	    "]}\n", &ts) != 0)
		return;
	CHECK(ts.ntasks == 2);
	CHECK_STREQ(ts.tasks[0].restore, "cp \"$STORE/lib\" out/ && echo {}");
	CHECK(ts.tasks[0].restore_arg == NULL);
	CHECK(ts.tasks[1].restore == NULL);
	CHECK(ts.tasks[1].restore_arg == NULL);
	CHECK(!ts.tasks[0].restore_inline && !ts.tasks[1].restore_inline);
	taskset_free(&ts);

	/* true: the dependents' own commands restore it. */
	if (parse_ok("{\"tasks\": [\n"
	    "  {\"id\": \"lib#build\", \"command\": \"make lib\",\n"
	    "   \"restore\": true}]}\n", &ts) != 0)
		return;
	CHECK(ts.ntasks == 1 && ts.tasks[0].restore_inline == 1 &&
	    ts.tasks[0].restore == NULL);
	taskset_free(&ts);
}

/* Wrong type: restore, and an empty restore. */
static void
test_type_restore(void)
{
	char	*cause;

	cause = parse_fail("{\"tasks\": [{\"id\": \"lib:build\", "
	    "\"command\": \"x\", \"restore\": 5}]}");
	CHECK_STREQ(cause, "tasks.json: task \"lib:build\": field "
	    "\"restore\": expected a command or true, got a number");
	free(cause);
	check_wrong_type("\"restore\": 5", "restore",
	    "expected a command or true, got a number");
	check_wrong_type("\"restore\": [\"get\"]", "restore",
	    "expected a command or true, got an array");
	check_wrong_type("\"restore\": null", "restore", "got null");
	check_wrong_type("\"restore\": false", "restore",
	    "expected a command or true");
	check_wrong_type("\"restore\": \"\"", "restore", "must not be empty");
}

/* A task that is not an object is named by index. */
static void
test_task_not_object(void)
{
	char	*cause;

	cause = parse_fail("{\"tasks\": [{\"id\": \"a\", \"command\": \"x\"}, "
	    "\"b:build\"]}");
	CHECK_STREQ(cause, "tasks.json: task #2: expected an object, "
	    "got a string");
	free(cause);
}

/* Unknown fields at the top level are errors. */
static void
test_unknown_top_field(void)
{
	char	*cause;

	cause = parse_fail("{\"tasks\": [{\"id\": \"a\", \"command\": \"x\"}], "
	    "\"version\": 1}");
	CHECK_HAS(cause, "tasks.json: ");
	CHECK_HAS(cause, "unknown top-level field \"version\"");
	free(cause);

	cause = parse_fail("{\"Tasks\": []}");
	CHECK_HAS(cause, "unknown top-level field \"Tasks\"");
	free(cause);
}

/* Unknown fields in a task are errors, named by id or by index. */
static void
test_unknown_task_field(void)
{
	char	*cause;

	cause = parse_fail("{\"tasks\": [{\"id\": \"a:build\", "
	    "\"command\": \"x\", \"dependsOn\": [\"b\"]}]}");
	CHECK_HAS(cause, "tasks.json: task \"a:build\": unknown field "
	    "\"dependsOn\"");
	/* The known fields are listed, restore among them. */
	CHECK_HAS(cause, "(known fields: id, command, ");
	CHECK_HAS(cause, ", restore");
	free(cause);

	/* The id comes after the unknown field: still named by id. */
	cause = parse_fail("{\"tasks\": [{\"Command\": \"x\", "
	    "\"id\": \"z\"}]}");
	CHECK_HAS(cause, "task \"z\": unknown field \"Command\"");
	free(cause);

	cause = parse_fail("{\"tasks\": [{\"id\": \"a\", \"command\": \"x\"}, "
	    "{\"name\": \"b\", \"command\": \"x\"}]}");
	CHECK_HAS(cause, "tasks.json: task #2: unknown field \"name\"");
	free(cause);
}

/* A field given twice in one task is an error. */
static void
test_duplicate_field(void)
{
	char	*cause;

	cause = parse_fail("{\"tasks\": [{\"id\": \"a\", \"command\": \"x\", "
	    "\"command\": \"y\"}]}");
	CHECK_STREQ(cause, "tasks.json: task \"a\": field \"command\": "
	    "given more than once");
	free(cause);
}

/* A task without an id is named by its index. */
static void
test_missing_id(void)
{
	char	*cause;

	cause = parse_fail("{\"tasks\": [{\"id\": \"a\", \"command\": \"x\"}, "
	    "{\"command\": \"x\"}]}");
	CHECK_STREQ(cause, "tasks.json: task #2: missing field \"id\"");
	free(cause);
}

/* A task without a command is an error. */
static void
test_missing_command(void)
{
	char	*cause;

	cause = parse_fail("{\"tasks\": [{\"id\": \"a\", \"command\": \"x\"}, "
	    "{\"id\": \"b:test\", \"deps\": [\"a\"]}]}");
	CHECK_STREQ(cause, "tasks.json: task \"b:test\": missing field "
	    "\"command\"");
	free(cause);
}

/* An empty command or id is an error. */
static void
test_empty_command(void)
{
	char	*cause;

	check_wrong_type("\"command\": \"\"", "command", "must not be empty");

	cause = parse_fail("{\"tasks\": [{\"id\": \"\", \"command\": \"x\"}]}");
	CHECK_STREQ(cause, "tasks.json: task #1: field \"id\": must not be "
	    "empty");
	free(cause);
}

/* Ids longer than 512 bytes or with control characters are refused. */
static void
test_bad_id(void)
{
	char	*cause, *json, id[600];

	memset(id, 'x', 513);
	id[513] = '\0';
	xasprintf(&json, "{\"tasks\": [{\"id\": \"%s\", \"command\": \"x\"}]}",
	    id);
	cause = parse_fail(json);
	CHECK_HAS(cause, "task #1: field \"id\": is 513 bytes long");
	free(cause);
	free(json);

	cause = parse_fail("{\"tasks\": [{\"id\": \"a\\nb\", "
	    "\"command\": \"x\"}]}");
	CHECK_HAS(cause, "task #1: field \"id\": contains a control "
	    "character (0x0a) at byte 1");
	free(cause);

	/* 512 bytes is fine. */
	memset(id, 'y', 512);
	id[512] = '\0';
	xasprintf(&json, "{\"tasks\": [{\"id\": \"%s\", \"command\": \"x\"}]}",
	    id);
	{
		struct taskset	ts;

		if (parse_ok(json, &ts) == 0)
			taskset_free(&ts);
	}
	free(json);
}

/* No tasks, or no usable tasks array, is an error. */
static void
test_empty_tasks(void)
{
	char	*cause;

	cause = parse_fail("{\"tasks\": []}");
	CHECK_STREQ(cause, "tasks.json: field \"tasks\": no tasks (the array "
	    "is empty)");
	free(cause);

	cause = parse_fail("{}");
	CHECK_STREQ(cause, "tasks.json: missing field \"tasks\"");
	free(cause);

	cause = parse_fail("{\"tasks\": {\"a\": {}}}");
	CHECK_STREQ(cause, "tasks.json: field \"tasks\": expected an array "
	    "of tasks, got an object");
	free(cause);

	cause = parse_fail("[{\"id\": \"a\", \"command\": \"x\"}]");
	CHECK_HAS(cause, "tasks.json: expected an object with a \"tasks\" "
	    "array at the top level, got an array");
	free(cause);

	cause = parse_fail("{\"tasks\": [], \"tasks\": []}");
	CHECK_HAS(cause, "given more than once");
	free(cause);
}

/* Invalid JSON reports line and column; empty input and NULs too. */
static void
test_invalid_json(void)
{
	char		*cause;
	struct taskset	 ts;
	const char	 nul[] = "{\"tasks\": []}\0{}";

	cause = parse_fail("{\"tasks\": [\n  {\"id\": \"a\",,\n}]}");
	CHECK_HAS(cause, "tasks.json: invalid JSON at line 2, column ");
	CHECK_HAS(cause, "(byte offset ");
	free(cause);

	cause = parse_fail("{\"tasks\": [\n");
	CHECK_HAS(cause, "tasks.json: invalid JSON: unexpected end of file");
	free(cause);

	cause = parse_fail("{\"tasks\": [{\"id\": \"a\", \"command\": \"x\"}]}"
	    "\n}");
	CHECK_HAS(cause, "invalid JSON at line 2, column 1");
	free(cause);

	cause = parse_fail(" \n\t");
	CHECK_HAS(cause, "tasks.json: empty file");
	free(cause);

	cause = NULL;
	CHECK(taskfile_parse(nul, sizeof nul - 1, "tasks.json", &ts,
	    &cause) == -1);
	CHECK(ts.tasks == NULL && ts.ntasks == 0);
	CHECK(cause != NULL);
	if (cause != NULL)
		CHECK_HAS(cause, "tasks.json: NUL byte at line 1, column 14");
	free(cause);

	cause = NULL;
	CHECK(taskfile_parse("", 0, "tasks.json", &ts, &cause) == -1);
	CHECK(cause != NULL);
	free(cause);
}

/* The \u0000 escape is refused rather than cutting a string short. */
static void
test_nul_escape(void)
{
	char		*cause;
	struct taskset	 ts;

	cause = parse_fail("{\"tasks\": [{\"id\": \"a\", \"command\": \"x\", "
	    "\"cwd\": \"dir\\u0000/etc\"}]}");
	CHECK_HAS(cause, "tasks.json: line 1, column 51: \\u0000 (NUL)");
	free(cause);

	/* An escaped backslash followed by u0000 is plain text. */
	if (parse_ok("{\"tasks\": [{\"id\": \"a\", "
	    "\"command\": \"echo \\\\u0000\"}]}", &ts) == 0) {
		CHECK_STREQ(ts.tasks[0].command, "echo \\u0000");
		taskset_free(&ts);
	}
}

/* Environment names must be [A-Za-z_][A-Za-z0-9_]* and unique. */
static void
test_bad_env_name(void)
{
	check_wrong_type("\"env\": {\"1ABC\": \"x\"}", "env",
	    "\"1ABC\" is not a valid variable name");
	check_wrong_type("\"env\": {\"A-B\": \"x\"}", "env",
	    "\"A-B\" is not a valid variable name");
	check_wrong_type("\"env\": {\"\": \"x\"}", "env",
	    "\"\" is not a valid variable name");
	check_wrong_type("\"env\": {\"A=B\": \"x\"}", "env",
	    "not a valid variable name");
	check_wrong_type("\"env\": {\"B\": \"1\", \"A\": \"2\", \"B\": \"3\"}",
	    "env", "variable \"B\" is given more than once");
}

/* Negative timeouts are refused. */
static void
test_negative_timeout(void)
{
	check_wrong_type("\"timeout\": -5", "timeout",
	    "must be from 0 to 604800, got -5");
	check_wrong_type("\"retries\": -1", "retries",
	    "must be from 0 to 100, got -1");
}

/* Fractional timeouts are refused. */
static void
test_fractional_timeout(void)
{
	check_wrong_type("\"timeout\": 1.5", "timeout",
	    "expected a whole number of seconds (at most 7 days), got 1.5");
	check_wrong_type("\"retries\": 0.5", "retries",
	    "expected a whole number, got 0.5");
}

/* Timeouts over 7 days and retries over 100 are refused. */
static void
test_too_large(void)
{
	check_wrong_type("\"timeout\": 604801", "timeout",
	    "must be from 0 to 604800, got 604801");
	check_wrong_type("\"timeout\": 1e300", "timeout", "must be from 0");
	check_wrong_type("\"retries\": 101", "retries",
	    "must be from 0 to 100, got 101");
}

/* The target comes from the id unless given. */
static void
test_target_derivation(void)
{
	struct taskset	 ts;
	char		*s;

	s = task_target_of("p:build:prod");
	CHECK_STREQ(s, "build");
	free(s);
	s = task_target_of("lint");
	CHECK_STREQ(s, "lint");
	free(s);
	s = task_target_of("@scope/pkg:test");
	CHECK_STREQ(s, "test");
	free(s);
	s = task_target_of("p:");
	CHECK_STREQ(s, "");
	free(s);

	if (parse_ok("{\"tasks\": ["
	    "{\"id\": \"p:build:prod\", \"command\": \"x\"}, "
	    "{\"id\": \"lint\", \"command\": \"x\"}, "
	    "{\"id\": \"p:e2e\", \"command\": \"x\", \"target\": \"e2e-ci\"}"
	    "]}", &ts) != 0)
		return;
	CHECK_STREQ(ts.tasks[0].target, "build");
	CHECK_STREQ(ts.tasks[1].target, "lint");
	CHECK_STREQ(ts.tasks[2].target, "e2e-ci");
	taskset_free(&ts);
}

/* The name "-" is shown as <stdin>. */
static void
test_stdin_name(void)
{
	struct taskset	 ts;
	char		*cause = NULL;

	CHECK(taskfile_parse("{}", 2, "-", &ts, &cause) == -1);
	CHECK(cause != NULL);
	if (cause != NULL)
		CHECK_STREQ(cause, "<stdin>: missing field \"tasks\"");
	free(cause);
}

/* The first error wins, and nothing from earlier tasks is leaked. */
static void
test_error_after_good_tasks(void)
{
	char	*cause;

	cause = parse_fail("{\"tasks\": ["
	    "{\"id\": \"a\", \"command\": \"x\", \"deps\": [\"q\"], "
	    "\"env\": {\"A\": \"1\"}, \"outputs\": [\"o\"]}, "
	    "{\"id\": \"b\", \"command\": \"x\", \"env\": {\"A\": \"1\", "
	    "\"B\": 2}}, "
	    "{\"id\": 3}]}");
	CHECK_HAS(cause, "task \"b\": field \"env\": variable \"B\"");
	free(cause);
}

/* Nx and Turborepo task graphs are not this format: refused cleanly. */
static void
test_fixtures_fail(void)
{
	static const char *names[] = {
		"nx-24.0.6-run-many-build-test.json",
		"turbo-2.11.11-dry-build-test.json",
	};
	struct taskset	 ts;
	char		*buf, *cause;
	size_t		 i, len = 0;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		buf = read_fixture(names[i], &len);
		CHECK(buf != NULL);
		if (buf == NULL) {
			printf("    cannot read %s/%s\n", FIXTURES_DIR,
			    names[i]);
			continue;
		}
		cause = NULL;
		CHECK(taskfile_parse(buf, len, names[i], &ts, &cause) == -1);
		CHECK(ts.tasks == NULL && ts.ntasks == 0);
		CHECK(cause != NULL);
		if (cause != NULL) {
			CHECK_HAS(cause, names[i]);
			CHECK_HAS(cause, "unknown top-level field");
		}
		free(cause);
		free(buf);
	}
}

int
main(void)
{
	TEST_RUN(test_valid_full);
	TEST_RUN(test_valid_bounds);
	TEST_RUN(test_not_nul_terminated);
	TEST_RUN(test_type_id);
	TEST_RUN(test_type_command);
	TEST_RUN(test_type_deps);
	TEST_RUN(test_type_cwd);
	TEST_RUN(test_type_env);
	TEST_RUN(test_type_timeout);
	TEST_RUN(test_type_retries);
	TEST_RUN(test_type_outputs);
	TEST_RUN(test_type_target);
	TEST_RUN(test_restore);
	TEST_RUN(test_type_restore);
	TEST_RUN(test_task_not_object);
	TEST_RUN(test_unknown_top_field);
	TEST_RUN(test_unknown_task_field);
	TEST_RUN(test_duplicate_field);
	TEST_RUN(test_missing_id);
	TEST_RUN(test_missing_command);
	TEST_RUN(test_empty_command);
	TEST_RUN(test_bad_id);
	TEST_RUN(test_empty_tasks);
	TEST_RUN(test_invalid_json);
	TEST_RUN(test_nul_escape);
	TEST_RUN(test_bad_env_name);
	TEST_RUN(test_negative_timeout);
	TEST_RUN(test_fractional_timeout);
	TEST_RUN(test_too_large);
	TEST_RUN(test_target_derivation);
	TEST_RUN(test_stdin_name);
	TEST_RUN(test_error_after_good_tasks);
	TEST_RUN(test_fixtures_fail);
	return (test_exit());
}
