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
#include "helpers.h"

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

/* A cache key is copied; a task without one has none. */
static void
test_hash(void)
{
	struct taskset	ts;
	char		key[TASK_HASH_MAX + 2];

	if (parse_ok("{\"tasks\": [\n"
	    "  {\"id\": \"lib#build\", \"command\": \"make lib\",\n"
	    "   \"hash\": \"61db1eda0ee7f69f\"},\n"
	    "  {\"id\": \"app#build\", \"command\": \"make app\"}\n"
	    "]}\n", &ts) != 0)
		return;
	CHECK(ts.ntasks == 2);
	CHECK_STREQ(ts.tasks[0].hash, "61db1eda0ee7f69f");
	CHECK(ts.tasks[1].hash == NULL);
	taskset_free(&ts);
	CHECK(task_hash_valid("A-z_09"));
	CHECK(!task_hash_valid(""));
	CHECK(!task_hash_valid("a/b"));
	CHECK(!task_hash_valid("a b"));
	memset(key, 'f', TASK_HASH_MAX);
	key[TASK_HASH_MAX] = '\0';
	CHECK(task_hash_valid(key));
	key[TASK_HASH_MAX] = 'f';
	key[TASK_HASH_MAX + 1] = '\0';
	CHECK(!task_hash_valid(key));
}

/* A NUL byte in the file, before more text. */
#define NUL_JSON	"{\"tasks\": []}\0{}"

/*
 * Task files refused, and their causes: the whole cause, or strings it
 * holds. With a field, json is that field of task "a:build" (given a
 * command unless the field is the command), and the cause names the
 * file, the task and the field, and holds has[0].
 */
static const struct refusal {
	const char	*name;
	const char	*json;
	const char	*field;
	const char	*cause;
	const char	*has[4];
	size_t		 len;		/* of json if it holds a NUL */
} refusals[] = {
	/* Wrong types, each field's, named by task and field. */
	{ "test_type_id", "{\"tasks\": [{\"id\": 7, \"command\": \"x\"}]}",
	    NULL, NULL, { "tasks.json: task #1: field \"id\": "
	    "expected a string, got a number" }, 0 },
	{ "test_type_command", "\"command\": [\"make\"]", "command", NULL,
	    { "expected a string, got an array" }, 0 },
	{ "test_type_deps", "{\"tasks\": [{\"id\": \"app:build\", "
	    "\"command\": \"x\", \"deps\": 3}]}", NULL,
	    "tasks.json: task \"app:build\": field \"deps\": "
	    "expected an array of strings, got a number", { NULL }, 0 },
	{ "test_type_deps", "\"deps\": [\"a\", null]", "deps", NULL,
	    { "element #2 is null" }, 0 },
	{ "test_type_deps", "\"deps\": [\"\"]", "deps", NULL,
	    { "element #1 is an empty string" }, 0 },
	{ "test_type_cwd", "\"cwd\": true", "cwd", NULL,
	    { "expected a string, got a boolean" }, 0 },
	{ "test_type_env", "\"env\": [\"A=1\"]", "env", NULL,
	    { "expected an object of strings, got an array" }, 0 },
	{ "test_type_env", "\"env\": {\"PORT\": 8080}", "env", NULL,
	    { "variable \"PORT\": expected a string, got a number" }, 0 },
	{ "test_type_timeout", "\"timeout\": \"600\"", "timeout", NULL,
	    { "got a string" }, 0 },
	{ "test_type_retries", "\"retries\": true", "retries", NULL,
	    { "got a boolean" }, 0 },
	{ "test_type_outputs", "\"outputs\": {\"dist\": 1}", "outputs", NULL,
	    { "expected an array of strings, got an object" }, 0 },
	{ "test_type_target", "\"target\": 1", "target", NULL,
	    { "expected a string, got a number" }, 0 },
	{ "test_type_target", "\"target\": \"\"", "target", NULL,
	    { "must not be empty" }, 0 },
	/* Wrong type: restore, and an empty restore. */
	{ "test_type_restore", "{\"tasks\": [{\"id\": \"lib:build\", "
	    "\"command\": \"x\", \"restore\": 5}]}", NULL,
	    "tasks.json: task \"lib:build\": field "
	    "\"restore\": expected a command or true, got a number",
	    { NULL }, 0 },
	{ "test_type_restore", "\"restore\": 5", "restore", NULL,
	    { "expected a command or true, got a number" }, 0 },
	{ "test_type_restore", "\"restore\": [\"get\"]", "restore", NULL,
	    { "expected a command or true, got an array" }, 0 },
	{ "test_type_restore", "\"restore\": null", "restore", NULL,
	    { "got null" }, 0 },
	{ "test_type_restore", "\"restore\": false", "restore", NULL,
	    { "expected a command or true" }, 0 },
	{ "test_type_restore", "\"restore\": \"\"", "restore", NULL,
	    { "must not be empty" }, 0 },
	/* A cache key: a string the remote cache accepts as a hash. */
	{ "test_type_hash", "\"hash\": 5", "hash", NULL,
	    { "expected a string, got a number" }, 0 },
	{ "test_type_hash", "\"hash\": \"\"", "hash", NULL,
	    { "\"\" is not a cache key (1 to 128 of A-Z a-z 0-9 _ -)" }, 0 },
	{ "test_type_hash", "\"hash\": \"../meta\"", "hash", NULL,
	    { "\"../meta\" is not a cache key" }, 0 },
	/* A task that is not an object is named by index. */
	{ "test_task_not_object", "{\"tasks\": [{\"id\": \"a\", "
	    "\"command\": \"x\"}, \"b:build\"]}", NULL,
	    "tasks.json: task #2: expected an object, got a string",
	    { NULL }, 0 },
	/* Unknown fields at the top level are errors. */
	{ "test_unknown_top_field", "{\"tasks\": [{\"id\": \"a\", "
	    "\"command\": \"x\"}], \"version\": 1}", NULL, NULL,
	    { "tasks.json: ", "unknown top-level field \"version\"" }, 0 },
	{ "test_unknown_top_field", "{\"Tasks\": []}", NULL, NULL,
	    { "unknown top-level field \"Tasks\"" }, 0 },
	/*
	 * Unknown fields in a task are errors, named by id or by index; the
	 * known fields are listed, restore among them. The id may come
	 * after the unknown field: still named by id.
	 */
	{ "test_unknown_task_field", "{\"tasks\": [{\"id\": \"a:build\", "
	    "\"command\": \"x\", \"dependsOn\": [\"b\"]}]}", NULL, NULL,
	    { "tasks.json: task \"a:build\": unknown field \"dependsOn\"",
	    "(known fields: id, command, ", ", restore, hash)" }, 0 },
	{ "test_unknown_task_field", "{\"tasks\": [{\"Command\": \"x\", "
	    "\"id\": \"z\"}]}", NULL, NULL,
	    { "task \"z\": unknown field \"Command\"" }, 0 },
	{ "test_unknown_task_field", "{\"tasks\": [{\"id\": \"a\", "
	    "\"command\": \"x\"}, {\"name\": \"b\", \"command\": \"x\"}]}",
	    NULL, NULL, { "tasks.json: task #2: unknown field \"name\"" }, 0 },
	/* A field given twice in one task is an error. */
	{ "test_duplicate_field", "{\"tasks\": [{\"id\": \"a\", "
	    "\"command\": \"x\", \"command\": \"y\"}]}", NULL,
	    "tasks.json: task \"a\": field \"command\": given more than once",
	    { NULL }, 0 },
	/* A task without an id is named by its index. */
	{ "test_missing_id", "{\"tasks\": [{\"id\": \"a\", "
	    "\"command\": \"x\"}, {\"command\": \"x\"}]}", NULL,
	    "tasks.json: task #2: missing field \"id\"", { NULL }, 0 },
	/* A task without a command is an error. */
	{ "test_missing_command", "{\"tasks\": [{\"id\": \"a\", "
	    "\"command\": \"x\"}, {\"id\": \"b:test\", \"deps\": [\"a\"]}]}",
	    NULL, "tasks.json: task \"b:test\": missing field \"command\"",
	    { NULL }, 0 },
	/* An empty command or id is an error. */
	{ "test_empty_command", "\"command\": \"\"", "command", NULL,
	    { "must not be empty" }, 0 },
	{ "test_empty_command", "{\"tasks\": [{\"id\": \"\", "
	    "\"command\": \"x\"}]}", NULL,
	    "tasks.json: task #1: field \"id\": must not be empty",
	    { NULL }, 0 },
	/* No tasks, or no usable tasks array, is an error. */
	{ "test_empty_tasks", "{\"tasks\": []}", NULL,
	    "tasks.json: field \"tasks\": no tasks (the array is empty)",
	    { NULL }, 0 },
	{ "test_empty_tasks", "{}", NULL,
	    "tasks.json: missing field \"tasks\"", { NULL }, 0 },
	{ "test_empty_tasks", "{\"tasks\": {\"a\": {}}}", NULL,
	    "tasks.json: field \"tasks\": expected an array of tasks, got "
	    "an object", { NULL }, 0 },
	{ "test_empty_tasks", "[{\"id\": \"a\", \"command\": \"x\"}]", NULL,
	    NULL, { "tasks.json: expected an object with a \"tasks\" "
	    "array at the top level, got an array" }, 0 },
	{ "test_empty_tasks", "{\"tasks\": [], \"tasks\": []}", NULL, NULL,
	    { "given more than once" }, 0 },
	/* Invalid JSON reports line and column; empty input and NULs too. */
	{ "test_invalid_json", "{\"tasks\": [\n  {\"id\": \"a\",,\n}]}",
	    NULL, NULL, { "tasks.json: invalid JSON at line 2, column ",
	    "(byte offset " }, 0 },
	{ "test_invalid_json", "{\"tasks\": [\n", NULL, NULL,
	    { "tasks.json: invalid JSON: unexpected end of file" }, 0 },
	{ "test_invalid_json", "{\"tasks\": [{\"id\": \"a\", "
	    "\"command\": \"x\"}]}\n}", NULL, NULL,
	    { "invalid JSON at line 2, column 1" }, 0 },
	{ "test_invalid_json", " \n\t", NULL, NULL,
	    { "tasks.json: empty file" }, 0 },
	{ "test_invalid_json", NUL_JSON, NULL, NULL,
	    { "tasks.json: NUL byte at line 1, column 14" },
	    sizeof NUL_JSON - 1 },
	{ "test_invalid_json", "", NULL, NULL, { NULL }, 0 },
	/* The \u0000 escape is refused rather than cutting a string short. */
	{ "test_nul_escape", "{\"tasks\": [{\"id\": \"a\", "
	    "\"command\": \"x\", \"cwd\": \"dir\\u0000/etc\"}]}", NULL, NULL,
	    { "tasks.json: line 1, column 51: \\u0000 (NUL)" }, 0 },
	/* Environment names must be [A-Za-z_][A-Za-z0-9_]* and unique. */
	{ "test_bad_env_name", "\"env\": {\"1ABC\": \"x\"}", "env", NULL,
	    { "\"1ABC\" is not a valid variable name" }, 0 },
	{ "test_bad_env_name", "\"env\": {\"A-B\": \"x\"}", "env", NULL,
	    { "\"A-B\" is not a valid variable name" }, 0 },
	{ "test_bad_env_name", "\"env\": {\"\": \"x\"}", "env", NULL,
	    { "\"\" is not a valid variable name" }, 0 },
	{ "test_bad_env_name", "\"env\": {\"A=B\": \"x\"}", "env", NULL,
	    { "not a valid variable name" }, 0 },
	{ "test_bad_env_name",
	    "\"env\": {\"B\": \"1\", \"A\": \"2\", \"B\": \"3\"}", "env", NULL,
	    { "variable \"B\" is given more than once" }, 0 },
	/* Negative timeouts are refused. */
	{ "test_negative_timeout", "\"timeout\": -5", "timeout", NULL,
	    { "must be from 0 to 604800, got -5" }, 0 },
	{ "test_negative_timeout", "\"retries\": -1", "retries", NULL,
	    { "must be from 0 to 100, got -1" }, 0 },
	/* Fractional timeouts are refused. */
	{ "test_fractional_timeout", "\"timeout\": 1.5", "timeout", NULL,
	    { "expected a whole number of seconds (at most 7 days), "
	    "got 1.5" }, 0 },
	{ "test_fractional_timeout", "\"retries\": 0.5", "retries", NULL,
	    { "expected a whole number, got 0.5" }, 0 },
	/* Timeouts over 7 days and retries over 100 are refused. */
	{ "test_too_large", "\"timeout\": 604801", "timeout", NULL,
	    { "must be from 0 to 604800, got 604801" }, 0 },
	{ "test_too_large", "\"timeout\": 1e300", "timeout", NULL,
	    { "must be from 0" }, 0 },
	{ "test_too_large", "\"retries\": 101", "retries", NULL,
	    { "must be from 0 to 100, got 101" }, 0 },
	/* The first error wins, and nothing from earlier tasks is leaked. */
	{ "test_error_after_good_tasks", "{\"tasks\": ["
	    "{\"id\": \"a\", \"command\": \"x\", \"deps\": [\"q\"], "
	    "\"env\": {\"A\": \"1\"}, \"outputs\": [\"o\"]}, "
	    "{\"id\": \"b\", \"command\": \"x\", \"env\": {\"A\": \"1\", "
	    "\"B\": 2}}, {\"id\": 3}]}", NULL, NULL,
	    { "task \"b\": field \"env\": variable \"B\"" }, 0 },
};

static void
refused(const struct refusal *r)
{
	const char	*json = r->json;
	char		*built = NULL, *field = NULL, *cause;
	size_t		 i;

	if (r->field != NULL) {
		xasprintf(&built, "{\"tasks\": [{\"id\": \"a:build\", %s%s}]}",
		    strcmp(r->field, "command") == 0 ? "" :
		    "\"command\": \"true\", ", r->json);
		xasprintf(&field, "field \"%s\": ", r->field);
		json = built;
	}
	cause = parse_refused(taskfile_parse, json,
	    r->len != 0 ? r->len : strlen(json), "tasks.json");
	if (r->field != NULL) {
		CHECK_HAS(cause, "tasks.json: ");
		CHECK_HAS(cause, "task \"a:build\"");
		CHECK_HAS(cause, field);
	}
	if (r->cause != NULL)
		CHECK_STREQ(cause, r->cause);
	for (i = 0; r->has[i] != NULL; i++)
		CHECK_HAS(cause, r->has[i]);
	free(cause);
	free(field);
	free(built);
}

/* An escaped backslash followed by u0000 is plain text. */
static void
test_escaped_backslash_u0000(void)
{
	struct taskset	 ts;

	if (parse_ok("{\"tasks\": [{\"id\": \"a\", "
	    "\"command\": \"echo \\\\u0000\"}]}", &ts) == 0) {
		CHECK_STREQ(ts.tasks[0].command, "echo \\u0000");
		taskset_free(&ts);
	}
}

/* Ids longer than 512 bytes or with control characters are refused. */
static void
test_bad_id(void)
{
	struct taskset	 ts;
	char		*json, id[600];

	memset(id, 'x', 513);
	id[513] = '\0';
	xasprintf(&json, "{\"tasks\": [{\"id\": \"%s\", \"command\": \"x\"}]}",
	    id);
	check_refusal(taskfile_parse, json, "tasks.json", (const char *[]){
	    "task #1: field \"id\": is 513 bytes long", NULL });
	free(json);
	check_refusal(taskfile_parse, "{\"tasks\": [{\"id\": \"a\\nb\", "
	    "\"command\": \"x\"}]}", "tasks.json", (const char *[]){
	    "task #1: field \"id\": contains a control character (0x0a) at "
	    "byte 1", NULL });

	/* 512 bytes is fine. */
	memset(id, 'y', 512);
	id[512] = '\0';
	xasprintf(&json, "{\"tasks\": [{\"id\": \"%s\", \"command\": \"x\"}]}",
	    id);
	if (parse_ok(json, &ts) == 0)
		taskset_free(&ts);
	free(json);
}

/* The target comes from the id unless given. */
static void
test_target_derivation(void)
{
	static const char *const targets[][2] = {
		{ "p:build:prod", "build" },
		{ "lint", "lint" },
		{ "@scope/pkg:test", "test" },
		{ "p:", "" },
	};
	struct taskset	 ts;
	char		*s;
	size_t		 i;

	for (i = 0; i < sizeof targets / sizeof targets[0]; i++) {
		s = task_target_of(targets[i][0]);
		CHECK_STREQ(s, targets[i][1]);
		free(s);
	}

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

/* Nx and Turborepo task graphs are not this format: refused cleanly. */
static void
test_fixtures_fail(void)
{
	static const char *names[] = {
		"nx-24.0.6-run-many-build-test.json",
		"turbo-2.11.11-dry-build-test.json",
	};
	char	*buf, *cause;
	size_t	 i, len = 0;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		if ((buf = fixture(names[i], &len)) == NULL)
			continue;
		cause = parse_refused(taskfile_parse, buf, len, names[i]);
		CHECK_HAS(cause, names[i]);
		CHECK_HAS(cause, "unknown top-level field");
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
	TEST_RUN(test_restore);
	TEST_RUN(test_hash);
	TEST_TABLE(refusals, refused);
	TEST_RUN(test_escaped_backslash_u0000);
	TEST_RUN(test_bad_id);
	TEST_RUN(test_target_derivation);
	TEST_RUN(test_stdin_name);
	TEST_RUN(test_fixtures_fail);
	return (test_exit());
}
