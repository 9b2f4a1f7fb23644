/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Unit tests for tools/ (tool.c, nx.c, turbo.c, build.c): reading the
 * task graphs that the pinned Nx (24.0.6) and Turborepo (2.11.11) wrote
 * (tests/fixtures, made by tests/nx/gen_fixtures.sh) into tasks whose
 * commands hand each task back to the tool, and the Nx restores agents
 * fetch dependencies with; the edge forms (objects, strings); refusing
 * continuous and persistent tasks and tools too old; word splitting and
 * versions.
 */

#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "producer.h"
#include "helpers.h"

/* Parse a fixture into ts; 0 on success (failures are checked). */
static int
parse_fixture(const char *name, struct taskset *ts)
{
	char	*buf, *cause = NULL;
	size_t	 len;
	int	 rc;

	memset(ts, 0, sizeof *ts);
	if ((buf = fixture(name, &len)) == NULL)
		return (-1);
	rc = toolgraph_parse(buf, len, name, ts, &cause);
	CHECK(rc == 0);
	if (rc != 0) {
		printf("    %s\n", cause);
		free(cause);
	}
	free(buf);
	return (rc);
}

/* Parse JSON text, expecting success; 0 if it parsed (shown if not). */
static int
parse_ok(const char *json, const char *name, struct taskset *ts)
{
	char	*cause = NULL;
	int	 rc;

	rc = toolgraph_parse(json, strlen(json), name, ts, &cause);
	CHECK(rc == 0);
	if (cause != NULL) {
		printf("    %s\n", cause);
		free(cause);
		return (-1);
	}
	return (rc);
}

/* JSON text is refused with a cause holding each of want, up to NULL. */
#define REFUSED(json, ...)						\
	check_refusal(toolgraph_parse, (json), "graph.json",		\
	    (const char *[]){ __VA_ARGS__, NULL })

/* A fixture is refused (as name); returns the cause, NULL if unread. */
static char *
fixture_refused(const char *fixture_name, const char *name)
{
	char	*buf, *cause;
	size_t	 len;

	if ((buf = fixture(fixture_name, &len)) == NULL)
		return (NULL);
	cause = parse_refused(toolgraph_parse, buf, len, name);
	free(buf);
	return (cause);
}

/* The task with this id, or NULL. */
static struct task *
find(struct taskset *ts, const char *id)
{
	size_t	i;

	for (i = 0; i < ts->ntasks; i++) {
		if (strcmp(ts->tasks[i].id, id) == 0)
			return (&ts->tasks[i]);
	}
	return (NULL);
}

/* Does t depend on id? */
static int
has_dep(const struct task *t, const char *id)
{
	size_t	i;

	for (i = 0; t != NULL && i < t->ndeps; i++) {
		if (strcmp(t->deps[i], id) == 0)
			return (1);
	}
	return (0);
}

/* Task id of a fixture has the command want. */
static void
fixture_command(const char *name, const char *id, const char *want)
{
	struct taskset	 ts;
	struct task	*t;

	if (parse_fixture(name, &ts) != 0)
		return;
	t = find(&ts, id);
	CHECK(t != NULL && strcmp(t->command, want) == 0);
	if (t != NULL && strcmp(t->command, want) != 0)
		printf("    %s: %s\n", id, t->command);
	taskset_free(&ts);
}

/* The number of roots of ts once it is a graph (consumes ts). */
static size_t
roots_of(struct taskset *ts)
{
	struct graph	*g;
	size_t		*roots = NULL, n;
	char		*cause = NULL;

	if ((g = graph_new(ts, &cause)) == NULL) {
		printf("    graph: %s\n", cause);
		free(cause);
		CHECK(g != NULL);
		return (0);
	}
	n = graph_roots(g, &roots);
	free(roots);
	graph_free(g);
	return (n);
}

/* Each fixture is told apart; so are task files and the project graph. */
static void
test_detect(void)
{
	static const struct {
		const char	*file;
		int		 kind;
	} cases[] = {
		{ "nx-24.0.6-run-many-build-test.json", TOOLGRAPH_NX },
		{ "nx-24.0.6-run-many-lint-test-build.json", TOOLGRAPH_NX },
		{ "nx-24.0.6-continuous.json", TOOLGRAPH_NX },
		{ "turbo-2.11.11-dry-build-test.json", TOOLGRAPH_TURBO },
		{ "turbo-2.11.11-dry-e2e.json", TOOLGRAPH_TURBO },
	};
	const char	*own = "{\"tasks\": [{\"id\": \"a\", \"command\": \"x\"}]}";
	const char	*proj = "{\"graph\": {\"nodes\": {}, \"dependencies\": {}}}";
	const char	*dry = "{\"turboVersion\": \"2.11.11\", \"tasks\": []}";
	char		*buf;
	size_t		 i, len;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if ((buf = fixture(cases[i].file, &len)) == NULL)
			continue;
		CHECK(toolgraph_detect(buf, len) == cases[i].kind);
		free(buf);
	}
	CHECK(toolgraph_detect(own, strlen(own)) == TOOLGRAPH_DTEQ);
	CHECK(toolgraph_detect(proj, strlen(proj)) == TOOLGRAPH_NX_PROJECTS);
	CHECK(toolgraph_detect(dry, strlen(dry)) == TOOLGRAPH_TURBO);
	CHECK(toolgraph_detect("[1, 2]", 6) == TOOLGRAPH_UNKNOWN);
	CHECK(toolgraph_detect("{\"tasks\"", 8) == TOOLGRAPH_UNKNOWN);
}

/* Nx 24.0.6's graph (edge objects, no hashes): ids, deps, commands. */
static void
test_nx_fixture(void)
{
	struct taskset	 ts;
	struct task	*t;

	if (parse_fixture("nx-24.0.6-run-many-build-test.json", &ts) != 0)
		return;
	CHECK(ts.ntasks == 40);
	t = find(&ts, "@ws/p01:test");
	CHECK(t != NULL);
	if (t != NULL) {
		CHECK(t->ndeps == 1 && has_dep(t, "@ws/p01:build"));
		CHECK_STREQ(t->target, "test");
		CHECK_STREQ(t->command, "npx --no nx run @ws/p01:test "
		    "--excludeTaskDependencies");
		CHECK(t->cwd == NULL);
		CHECK(t->retries == -1);
	}
	t = find(&ts, "@ws/p01:build");
	CHECK(t != NULL && t->noutputs == 4);
	if (t != NULL && t->noutputs == 4) {
		CHECK_STREQ(t->outputs[0], "dist/packages/p01");
		CHECK_STREQ(t->outputs[1], "packages/p01/dist");
	}
	t = find(&ts, "@ws/p09:build");
	CHECK(has_dep(t, "@ws/p01:build") && has_dep(t, "@ws/p02:build"));
	CHECK(roots_of(&ts) == 8);
	taskset_free(&ts);
}

/* The pinned Nx on the generated workspace: 13 projects, depth 5. */
static void
test_nx_workspace(void)
{
	struct taskset	 ts;
	struct task	*t;

	if (parse_fixture("nx-24.0.6-run-many-lint-test-build.json", &ts) !=
	    0)
		return;
	CHECK(ts.ntasks == 39);
	t = find(&ts, "@ws/web:build");
	CHECK(t != NULL && t->ndeps == 3);
	CHECK(has_dep(t, "@ws/forms:build") && has_dep(t, "@ws/charts:build") &&
	    has_dep(t, "@ws/api:build"));
	CHECK(t != NULL && t->noutputs == 1 &&
	    strcmp(t->outputs[0], "apps/web/dist") == 0);
	t = find(&ts, "@ws/web:lint");
	CHECK(t != NULL && t->ndeps == 0 && strcmp(t->target, "lint") == 0);
	CHECK(roots_of(&ts) == 14);	/* 13 lints and util:build */
	taskset_free(&ts);
}

/* What followed -- on Nx's command line is passed on to the agents. */
static void
test_nx_overrides(void)
{
	struct taskset	 ts;
	struct task	*t;

	if (parse_fixture("nx-24.0.6-overrides.json", &ts) != 0)
		return;
	t = find(&ts, "@ws/web:test");
	CHECK(t != NULL);
	if (t != NULL) {
		CHECK_STREQ(t->command, "npx --no nx run @ws/web:test "
		    "--excludeTaskDependencies --coverage --reporter=dot");
	}
	t = find(&ts, "@ws/web:build");
	CHECK(t != NULL && strcmp(t->command, "npx --no nx run @ws/web:build "
	    "--excludeTaskDependencies") == 0);
	taskset_free(&ts);
}

/* Older Nx writes deps as strings; configurations stay in the id. */
static void
test_nx_strings(void)
{
	const char	*json =
	    "{\"tasks\": {\"roots\": [\"lib:build:production\"],"
	    " \"tasks\": {"
	    "  \"lib:build:production\": {\"id\": \"lib:build:production\","
	    "   \"target\": {\"project\": \"lib\", \"target\": \"build\","
	    "   \"configuration\": \"production\"}, \"outputs\": [],"
	    "   \"overrides\": {\"watch\": false, \"name\": \"it's\"}},"
	    "  \"my app:build\": {\"id\": \"my app:build\","
	    "   \"target\": {\"project\": \"my app\", \"target\": \"build\"}}},"
	    " \"dependencies\": {\"my app:build\": [\"lib:build:production\","
	    "  {\"id\": \"lib:build:production\"}], \"lib:build:production\":"
	    "  []}}}";
	struct taskset	 ts;
	struct task	*t;

	if (parse_ok(json, "g.json", &ts) != 0)
		return;
	CHECK(ts.ntasks == 2);
	t = find(&ts, "lib:build:production");
	CHECK(t != NULL && strcmp(t->target, "build") == 0);
	if (t != NULL) {
		CHECK_STREQ(t->command, "npx --no nx run lib:build:production "
		    "--excludeTaskDependencies --watch=false '--name=it'\\''s'");
	}
	t = find(&ts, "my app:build");
	CHECK(t != NULL && t->ndeps == 1 &&
	    has_dep(t, "lib:build:production"));
	if (t != NULL) {
		CHECK_STREQ(t->command, "npx --no nx run 'my app:build' "
		    "--excludeTaskDependencies");
	}
	taskset_free(&ts);
}

/* Continuous tasks and continuousDependencies are refused by name. */
static void
test_nx_continuous(void)
{
	const char	*json =
	    "{\"tasks\": {\"tasks\": {\"a:e2e\": {\"id\": \"a:e2e\","
	    " \"target\": {\"project\": \"a\", \"target\": \"e2e\"}}},"
	    " \"dependencies\": {}, \"continuousDependencies\":"
	    " {\"a:e2e\": [\"a:serve\"]}}}";
	char		*cause;

	if ((cause = fixture_refused("nx-24.0.6-continuous.json",
	    "c.json")) == NULL)
		return;
	CHECK_HAS(cause, "continuous");
	CHECK_HAS(cause, "@ws/docs:");
	free(cause);

	REFUSED(json, "task \"a:e2e\": depends on the continuous task "
	    "\"a:serve\"");
}

/* Bad Nx graphs are refused with the task and the problem. */
static void
test_nx_errors(void)
{
	REFUSED("{\"tasks\": {\"tasks\": {\"a:b\": {\"id\": \"a:b\"}}}}",
	    "graph.json: Nx task graph: task \"a:b\": \"target\"");
	REFUSED("{\"tasks\": {\"tasks\": {\"a:b\": {\"id\": \"a:c\", "
	    "\"target\": {\"target\": \"b\"}}}}}", "does not match");
	REFUSED("{\"tasks\": {\"tasks\": {\"a:b\": {\"target\": "
	    "{\"target\": \"b\"}}}, \"dependencies\": {\"a:b\": [3]}}}",
	    "tasks.dependencies");
	REFUSED("{\"graph\": {\"nodes\": {}}}", "project graph");
	REFUSED("{\"nodes\": 1}", "not a task graph");
	REFUSED("{\"tasks\": {\n\"tasks\": {,}}}", "invalid JSON at line 2");
	REFUSED("  ", "empty");
}

/* An empty graph (nx affected with nothing affected) is no error. */
static void
test_nx_empty(void)
{
	const char	*json = "{\"graph\": {\"nodes\": {}}, \"tasks\": "
	    "{\"roots\": [], \"tasks\": {}, \"dependencies\": {}}}";
	struct taskset	 ts;

	if (parse_ok(json, "g.json", &ts) != 0)
		return;
	CHECK(ts.ntasks == 0);
	taskset_free(&ts);
}

/* Turborepo 2.11.11's dry run: pkg#task ids, --filter --only commands. */
static void
test_turbo_fixture(void)
{
	struct taskset	 ts;
	struct task	*t;

	if (parse_fixture("turbo-2.11.11-dry-build-test.json", &ts) != 0)
		return;
	CHECK(ts.ntasks == 8);
	t = find(&ts, "@t/a#build");
	CHECK(t != NULL);
	if (t != NULL) {
		CHECK_STREQ(t->command, "npx --no turbo run build "
		    "--filter=@t/a --only");
		CHECK_STREQ(t->target, "build");
		CHECK(t->noutputs == 1 &&
		    strcmp(t->outputs[0], "packages/a/dist/**") == 0);
		CHECK(t->ndeps == 0);
		/* Run with --only: the dry run's hash is its cache_as. */
		CHECK(t->hash == NULL);
		CHECK_STREQ(t->cache_as, "151da664096d9450");
	}
	t = find(&ts, "@t/d#build");
	CHECK(has_dep(t, "@t/b#build") && has_dep(t, "@t/c#build"));
	t = find(&ts, "@t/d#test");
	CHECK(t != NULL && t->noutputs == 0 && has_dep(t, "@t/d#build"));
	CHECK(roots_of(&ts) == 1);
	taskset_free(&ts);
}

/* The pinned Turborepo on the generated workspace. */
static void
test_turbo_workspace(void)
{
	struct taskset	 ts;
	struct task	*t;

	if (parse_fixture("turbo-2.11.11-dry-lint-test-build.json", &ts) != 0)
		return;
	CHECK(ts.ntasks == 39);
	t = find(&ts, "@ws/web#build");
	CHECK(t != NULL && t->ndeps == 3);
	CHECK(roots_of(&ts) == 14);
	taskset_free(&ts);
}

/* Tasks of packages without the script are left out, deps spliced. */
static void
test_turbo_missing(void)
{
	struct taskset	 ts;
	struct task	*t;

	if (parse_fixture("turbo-2.11.11-dry-e2e.json", &ts) != 0)
		return;
	CHECK(ts.ntasks == 31);		/* 13 build, 13 test, 5 e2e */
	CHECK(find(&ts, "@ws/util#e2e") == NULL);
	t = find(&ts, "@ws/web#e2e");
	CHECK(t != NULL && t->ndeps == 5 && has_dep(t, "@ws/api#test"));
	taskset_free(&ts);

	if (parse_fixture("turbo-2.11.11-dry-missing-script.json", &ts) != 0)
		return;
	CHECK(ts.ntasks == 4);
	CHECK(find(&ts, "@ws/data#build") == NULL);
	t = find(&ts, "@ws/api#build");
	CHECK(t != NULL && t->ndeps == 1 && has_dep(t, "@ws/core#build"));
	CHECK(roots_of(&ts) == 1);
	taskset_free(&ts);
}

/* Persistent tasks, old versions and bad dry runs are refused. */
static void
test_turbo_errors(void)
{
	char	*cause;

	if ((cause = fixture_refused("turbo-2.11.11-dry-persistent.json",
	    "p.json")) != NULL) {
		CHECK_HAS(cause, "task \"@ws/docs#dev\": is a persistent task");
		free(cause);
	}
	REFUSED("{\"turboVersion\": \"1.13.4\", \"tasks\": []}",
	    "Turborepo 1.13.4", "too old");
	REFUSED("{\"turboVersion\": \"2.1.0\", \"tasks\": "
	    "[{\"taskId\": \"a#b\", \"package\": \"a\"}]}",
	    "task \"a#b\": \"task\": expected a string");
	REFUSED("{\"turboVersion\": \"2.1.0\", \"tasks\": [{}]}",
	    "task #1 has no usable \"taskId\"");
}

/* A chain of missing tasks and a root package task. */
static void
test_turbo_splice(void)
{
	const char	*json = "{\"turboVersion\": \"2.11.11\", \"tasks\": ["
	    "{\"taskId\": \"//#build\", \"task\": \"build\", \"package\": "
	    "\"//\", \"command\": \"make\", \"directory\": \"\", "
	    "\"outputs\": [\"out/**\"], \"dependencies\": []},"
	    "{\"taskId\": \"m1#build\", \"task\": \"build\", \"package\": "
	    "\"m1\", \"command\": \"<NONEXISTENT>\", \"dependencies\": "
	    "[\"m2#build\", \"//#build\"]},"
	    "{\"taskId\": \"m2#build\", \"task\": \"build\", \"package\": "
	    "\"m2\", \"command\": \"<NONEXISTENT>\", \"dependencies\": "
	    "[\"//#build\"]},"
	    "{\"taskId\": \"app#build\", \"task\": \"build\", \"package\": "
	    "\"app\", \"command\": \"x\", \"cliArguments\": [\"--mode\", "
	    "\"a b\"], \"dependencies\": [\"m1#build\", \"m2#build\"]}]}";
	struct taskset	 ts;
	struct task	*t;

	if (parse_ok(json, "s.json", &ts) != 0)
		return;
	CHECK(ts.ntasks == 2);
	t = find(&ts, "app#build");
	CHECK(t != NULL && t->ndeps == 1 && has_dep(t, "//#build"));
	if (t != NULL) {
		CHECK_STREQ(t->command, "npx --no turbo run build "
		    "--filter=app --only -- --mode 'a b'");
	}
	t = find(&ts, "//#build");
	CHECK(t != NULL && t->noutputs == 1 &&
	    strcmp(t->outputs[0], "out/**") == 0);
	if (t != NULL) {
		CHECK_STREQ(t->command, "npx --no turbo run build "
		    "--filter=// --only");
	}
	taskset_free(&ts);
}

/*
 * DTEQ_NX_COMMAND and DTEQ_TURBO_COMMAND choose how agents run the tool;
 * DTEQ_TOOL_DEPS whether the tool leaves the task's dependencies out.
 */
static void
test_runner_env(void)
{
	struct taskset	 ts;
	struct task	*t;
	char		*cause;

	setenv("DTEQ_NX_COMMAND", "node_modules/.bin/nx", 1);
	setenv("DTEQ_TURBO_COMMAND", "pnpm turbo", 1);
	fixture_command("nx-24.0.6-run-many-build-test.json", "@ws/p02:build",
	    "node_modules/.bin/nx run @ws/p02:build --excludeTaskDependencies");
	fixture_command("turbo-2.11.11-dry-build-test.json", "@t/b#test",
	    "pnpm turbo run test --filter=@t/b --only");
	unsetenv("DTEQ_NX_COMMAND");
	unsetenv("DTEQ_TURBO_COMMAND");

	/*
	 * DTEQ_TOOL_DEPS=restore: Nx still runs the task alone (the agent
	 * restores the deps with the task's restore), turbo restores (or
	 * runs) the deps itself.
	 */
	setenv("DTEQ_TOOL_DEPS", "restore", 1);
	if (parse_fixture("nx-24.0.6-run-many-build-test.json", &ts) == 0) {
		t = find(&ts, "@ws/p09:build");
		CHECK(t != NULL && strcmp(t->command,
		    "npx --no nx run @ws/p09:build "
		    "--excludeTaskDependencies") == 0);
		CHECK(t != NULL && t->ndeps == 2);
		CHECK(t != NULL && t->restore != NULL);
		taskset_free(&ts);
	}
	fixture_command("turbo-2.11.11-dry-build-test.json", "@t/d#build",
	    "npx --no turbo run build --filter=@t/d");
	setenv("DTEQ_TOOL_DEPS", "sometimes", 1);
	if ((cause = fixture_refused("nx-24.0.6-run-many-build-test.json",
	    "g.json")) != NULL) {
		CHECK_HAS(cause, "DTEQ_TOOL_DEPS is \"sometimes\"");
		free(cause);
	}
	setenv("DTEQ_TOOL_DEPS", "exclude", 1);
}

/* The number of tasks of ts with a restore, and with a restore_arg. */
static void
count_restores(const struct taskset *ts, size_t *nrestore, size_t *narg)
{
	size_t	i;

	*nrestore = *narg = 0;
	for (i = 0; i < ts->ntasks; i++) {
		if (ts->tasks[i].restore != NULL)
			(*nrestore)++;
		if (ts->tasks[i].restore_arg != NULL)
			(*narg)++;
	}
}

/* Check t's command, restore and restore_arg. */
static void
check_restore(const struct task *t, const char *command, const char *restore,
    const char *arg)
{
	CHECK(t != NULL);
	if (t == NULL)
		return;
	CHECK_STREQ(t->command, command);
	if (restore == NULL) {
		CHECK(t->restore == NULL && t->restore_arg == NULL);
		return;
	}
	CHECK_STREQ(t->restore, restore);
	if (arg != NULL)
		CHECK_STREQ(t->restore_arg, arg);
	else
		CHECK(t->restore_arg == NULL);
}

/*
 * DTEQ_TOOL_DEPS=restore: every Nx task keeps --excludeTaskDependencies,
 * and one with outputs carries a run-many template with
 * --projects=PROJECT for its "{}"; one without outputs, exclude mode and
 * Turborepo carry none.
 */
static void
test_nx_restore(void)
{
	const char	*json =
	    "{\"tasks\": {\"tasks\": {"
	    "  \"lib:build:production\": {\"id\": \"lib:build:production\","
	    "   \"target\": {\"project\": \"lib\", \"target\": \"build\","
	    "   \"configuration\": \"production\"},"
	    "   \"overrides\": {\"watch\": false, \"name\": \"it's\"},"
	    "   \"outputs\": [\"dist\"]},"
	    "  \"my app:build\": {\"id\": \"my app:build\","
	    "   \"target\": {\"project\": \"my app\", \"target\": \"build\"},"
	    "   \"outputs\": [\"dist\"]},"
	    "  \"web:test:ci\": {\"target\": {\"target\": \"test\","
	    "   \"configuration\": \"ci\"}, \"outputs\": [\"coverage\"]},"
	    "  \"web:x{}\": {\"target\": {\"project\": \"web\","
	    "   \"target\": \"x{}\"}, \"outputs\": [\"x\"]},"
	    "  \"ns:api:lint\": {\"target\": {\"project\": \"ns:api\","
	    "   \"target\": \"lint\"}, \"outputs\": [\"lint.txt\"]},"
	    "  \"web:lint\": {\"target\": {\"project\": \"web\","
	    "   \"target\": \"lint\"}, \"outputs\": []}},"
	    " \"dependencies\": {\"my app:build\":"
	    "  [\"lib:build:production\"]}}}";
	struct taskset	 ts, ex;
	struct task	*t;
	size_t		 i, nrestore, narg, same;

	setenv("DTEQ_TOOL_DEPS", "restore", 1);
	if (parse_fixture("nx-24.0.6-run-many-build-test.json", &ts) == 0) {
		count_restores(&ts, &nrestore, &narg);
		CHECK(ts.ntasks == 40 && nrestore == 20 && narg == 20);
		check_restore(find(&ts, "@ws/p09:build"),
		    "npx --no nx run @ws/p09:build --excludeTaskDependencies",
		    "npx --no nx run-many -t build "
		    "--excludeTaskDependencies {}",
		    "--projects=@ws/p09");
		/* No outputs, nothing to restore. */
		check_restore(find(&ts, "@ws/p01:test"),
		    "npx --no nx run @ws/p01:test --excludeTaskDependencies",
		    NULL, NULL);
		/* The commands are those of exclude mode, word for word. */
		setenv("DTEQ_TOOL_DEPS", "exclude", 1);
		if (parse_fixture("nx-24.0.6-run-many-build-test.json",
		    &ex) == 0) {
			same = 0;
			for (i = 0; i < ts.ntasks && i < ex.ntasks; i++) {
				if (strcmp(ts.tasks[i].id, ex.tasks[i].id) ==
				    0 && strcmp(ts.tasks[i].command,
				    ex.tasks[i].command) == 0)
					same++;
			}
			CHECK(ex.ntasks == 40 && same == 40);
			count_restores(&ex, &nrestore, &narg);
			CHECK(nrestore == 0 && narg == 0);
			t = find(&ex, "@ws/p09:build");
			CHECK(t != NULL && t->restore == NULL &&
			    t->restore_arg == NULL);
			taskset_free(&ex);
		}
		setenv("DTEQ_TOOL_DEPS", "restore", 1);
		taskset_free(&ts);
	}

	/* A task with overrides but no outputs has no restore. */
	if (parse_fixture("nx-24.0.6-overrides.json", &ts) == 0) {
		check_restore(find(&ts, "@ws/web:test"),
		    "npx --no nx run @ws/web:test --excludeTaskDependencies "
		    "--coverage --reporter=dot", NULL, NULL);
		check_restore(find(&ts, "@ws/web:build"),
		    "npx --no nx run @ws/web:build --excludeTaskDependencies",
		    "npx --no nx run-many -t build "
		    "--excludeTaskDependencies {}",
		    "--projects=@ws/web");
		taskset_free(&ts);
	}

	/*
	 * A configuration, words to quote, a target without "project" (the
	 * id's), a target whose name would hide the "{}", and a project
	 * with a ':' in its name.
	 */
	if (parse_ok(json, "r.json", &ts) == 0) {
		CHECK(ts.ntasks == 6);
		check_restore(find(&ts, "lib:build:production"),
		    "npx --no nx run lib:build:production "
		    "--excludeTaskDependencies --watch=false '--name=it'\\''s'",
		    "npx --no nx run-many -t build -c production "
		    "--excludeTaskDependencies {} --watch=false "
		    "'--name=it'\\''s'", "--projects=lib");
		check_restore(find(&ts, "my app:build"),
		    "npx --no nx run 'my app:build' --excludeTaskDependencies",
		    "npx --no nx run-many -t build "
		    "--excludeTaskDependencies {}",
		    "'--projects=my app'");
		check_restore(find(&ts, "web:test:ci"),
		    "npx --no nx run web:test:ci --excludeTaskDependencies",
		    "npx --no nx run-many -t test -c ci "
		    "--excludeTaskDependencies {}", "--projects=web");
		check_restore(find(&ts, "web:x{}"),
		    "npx --no nx run 'web:x{}' --excludeTaskDependencies",
		    "npx --no nx run-many -t 'x{}' --excludeTaskDependencies "
		    "--projects=web", NULL);
		check_restore(find(&ts, "ns:api:lint"),
		    "npx --no nx run ns:api:lint --excludeTaskDependencies",
		    "npx --no nx run-many -t lint --excludeTaskDependencies {}",
		    "--projects=ns:api");
		check_restore(find(&ts, "web:lint"),
		    "npx --no nx run web:lint --excludeTaskDependencies", NULL,
		    NULL);
		taskset_free(&ts);
	}
	REFUSED("{\"tasks\": {\"tasks\": {\":b\": {\"target\": "
	    "{\"target\": \"b\"}, \"outputs\": [\"o\"]}}}}",
	    "task \":b\": \"target\": no \"project\"");

	/*
	 * Turborepo tasks have no restore command in either mode; in
	 * restore mode one with outputs is restored inline (by its
	 * dependents' own turbo run), one without is not.
	 */
	if (parse_fixture("turbo-2.11.11-dry-build-test.json", &ts) == 0) {
		count_restores(&ts, &nrestore, &narg);
		CHECK(ts.ntasks == 8 && nrestore == 0 && narg == 0);
		for (i = same = 0; i < ts.ntasks; i++) {
			CHECK(ts.tasks[i].restore_inline ==
			    (ts.tasks[i].noutputs > 0));
			same += ts.tasks[i].restore_inline;
		}
		CHECK(same > 0 && same < ts.ntasks);
		/* Restore mode: the dry run's hash, what the cache holds. */
		for (i = 0; i < ts.ntasks; i++)
			CHECK(ts.tasks[i].hash != NULL);
		CHECK_STREQ(find(&ts, "@t/a#build")->hash, "151da664096d9450");
		CHECK_STREQ(find(&ts, "@t/d#test")->hash, "c16ad235d2a676de");
		taskset_free(&ts);
	}
	/* A task Turborepo does not cache has no hash to look up. */
	if (parse_ok("{\"turboVersion\": \"2.11.11\", \"tasks\": ["
	    "{\"taskId\": \"p#a\", \"task\": \"a\", \"package\": \"p\", "
	    "\"hash\": \"aaaa\", \"resolvedTaskDefinition\": "
	    "{\"cache\": false}}, "
	    "{\"taskId\": \"p#b\", \"task\": \"b\", \"package\": \"p\", "
	    "\"hash\": \"bbbb\", \"resolvedTaskDefinition\": {}}, "
	    "{\"taskId\": \"p#c\", \"task\": \"c\", \"package\": \"p\", "
	    "\"hash\": \"c/c\"}]}", "h.json", &ts) == 0) {
		CHECK(find(&ts, "p#a")->hash == NULL);
		CHECK_STREQ(find(&ts, "p#b")->hash, "bbbb");
		CHECK(find(&ts, "p#c")->hash == NULL);
		taskset_free(&ts);
	}
	setenv("DTEQ_TOOL_DEPS", "exclude", 1);
	if (parse_fixture("turbo-2.11.11-dry-build-test.json", &ts) == 0) {
		count_restores(&ts, &nrestore, &narg);
		CHECK(ts.ntasks == 8 && nrestore == 0 && narg == 0);
		/* --only hashes differ from the dry run's: no hash. */
		for (i = 0; i < ts.ntasks; i++) {
			CHECK(ts.tasks[i].restore_inline == 0);
			CHECK(ts.tasks[i].hash == NULL);
		}
		taskset_free(&ts);
	}
}

/*
 * DTEQ_NX_RUNNER=on (the default): each Nx task runs through `dteq
 * nx-task`, with its overrides as JSON unless they are none, quoted for
 * sh; its restore is one template for every target, the task's words for
 * its "{}". A value that is neither on nor off is an error naming it.
 */
static void
test_nx_runner(void)
{
	const char	*json =
	    "{\"tasks\": {\"roots\": [\"lib:build:production\"],"
	    " \"tasks\": {"
	    "  \"lib:build:production\": {\"id\": \"lib:build:production\","
	    "   \"target\": {\"project\": \"lib\", \"target\": \"build\","
	    "   \"configuration\": \"production\"}, \"outputs\": [\"d\"],"
	    "   \"overrides\": {\"name\": \"it's\"}},"
	    "  \"my app:test\": {\"id\": \"my app:test\","
	    "   \"target\": {\"project\": \"my app\", \"target\": \"test\"},"
	    "   \"overrides\": {\"__overrides_unparsed__\": []}},"
	    "  \"b:lint\": {\"id\": \"b:lint\","
	    "   \"target\": {\"project\": \"b\", \"target\": \"lint\"},"
	    "   \"overrides\": {}}},"
	    " \"dependencies\": {\"my app:test\": [\"lib:build:production\"],"
	    "  \"lib:build:production\": []}}}";
	struct taskset	 ts;
	struct task	*t;
	char		*cause = NULL;

	unsetenv("DTEQ_NX_RUNNER");
	setenv("DTEQ_TOOL_DEPS", "restore", 1);
	if (parse_ok(json, "g.json", &ts) == 0) {
		t = find(&ts, "lib:build:production");
		check_restore(t, "\"${DTEQ_BIN:-dteq}\" nx-task "
		    "'--overrides={\"name\":\"it'\\''s\"}' lib:build:production",
		    "\"${DTEQ_BIN:-dteq}\" nx-task --quiet {}",
		    "'--overrides={\"name\":\"it'\\''s\"}' lib:build:production");
		/* No outputs: no restore; empty overrides: none given. */
		check_restore(find(&ts, "my app:test"),
		    "\"${DTEQ_BIN:-dteq}\" nx-task 'my app:test'", NULL, NULL);
		/* As Nx 22 writes none: {}. */
		check_restore(find(&ts, "b:lint"),
		    "\"${DTEQ_BIN:-dteq}\" nx-task b:lint", NULL, NULL);
		taskset_free(&ts);
	}
	/* DTEQ_NX_COMMAND goes with each task, for the nx run fallback. */
	setenv("DTEQ_NX_COMMAND", "pnpm exec nx", 1);
	if (parse_ok(json, "g.json", &ts) == 0) {
		t = find(&ts, "my app:test");
		CHECK(t != NULL && t->nenv == 2 &&
		    strcmp(t->env[1].name, "DTEQ_NX_COMMAND") == 0 &&
		    strcmp(t->env[1].value, "pnpm exec nx") == 0);
		taskset_free(&ts);
	}
	unsetenv("DTEQ_NX_COMMAND");
	setenv("DTEQ_NX_RUNNER", "sometimes", 1);
	memset(&ts, 0, sizeof ts);
	CHECK(toolgraph_parse(json, strlen(json), "g.json", &ts,
	    &cause) != 0);
	CHECK_HAS(cause, "DTEQ_NX_RUNNER is \"sometimes\", not on or off");
	free(cause);
	taskset_free(&ts);
	setenv("DTEQ_NX_RUNNER", "off", 1);
	setenv("DTEQ_TOOL_DEPS", "exclude", 1);
}

/* An Nx installed in node_modules that is too old is refused. */
static void
test_nx_too_old(void)
{
	struct taskset	 ts;
	char		 dir[] = "/tmp/dteq-toolgraph.XXXXXX", here[PATH_MAX];
	char		*path, *buf, *cause = NULL;
	size_t		 len;
	FILE		*f;
	int		 rc;

	if ((buf = fixture("nx-24.0.6-run-many-build-test.json", &len)) ==
	    NULL)
		return;
	CHECK(getcwd(here, sizeof here) != NULL);
	CHECK(mkdtemp(dir) != NULL);
	xasprintf(&path, "%s/node_modules", dir);
	mkdir(path, 0700);
	free(path);
	xasprintf(&path, "%s/node_modules/nx", dir);
	mkdir(path, 0700);
	free(path);
	xasprintf(&path, "%s/node_modules/nx/package.json", dir);
	if ((f = fopen(path, "w")) != NULL) {
		fputs("{\"name\": \"nx\", \"version\": \"19.5.7\"}\n", f);
		fclose(f);
	}
	CHECK(chdir(dir) == 0);
	rc = toolgraph_parse(buf, len, "old.json", &ts, &cause);
	CHECK(rc == -1);
	CHECK_HAS(cause, "Nx 19.5.7");
	CHECK_HAS(cause, "--excludeTaskDependencies");
	free(cause);
	cause = NULL;
	CHECK(toolgraph_run(TOOLGRAPH_NX, "run-many -t build", &ts, &rc,
	    &cause) == -1);
	CHECK_HAS(cause, "too old");
	free(cause);
	CHECK(chdir(here) == 0);
	unlink(path);
	free(path);
	xasprintf(&path, "rm -rf '%s'", dir);
	CHECK(system(path) == 0);
	free(path);
	free(buf);
}

/* Words are split as sh would, without expansions. */
static void
test_split(void)
{
	char	**w, *cause = NULL;
	size_t	  n;

	CHECK(toolgraph_split("  affected -t lint,test  --base=\"origin/m "
	    "x\" -- 'a b'\\ c \"\\$d\" ''", &w, &n, &cause) == 0);
	CHECK(n == 8);
	if (n == 8) {
		CHECK_STREQ(w[0], "affected");
		CHECK_STREQ(w[2], "lint,test");
		CHECK_STREQ(w[3], "--base=origin/m x");
		CHECK_STREQ(w[4], "--");
		CHECK_STREQ(w[5], "a b c");
		CHECK_STREQ(w[6], "$d");
		CHECK_STREQ(w[7], "");
	}
	toolgraph_words_free(w, n);
	CHECK(toolgraph_split("", &w, &n, &cause) == 0 && n == 0);
	toolgraph_words_free(w, n);
	CHECK(toolgraph_split("run 'build", &w, &n, &cause) == -1);
	CHECK_HAS(cause, "unterminated single quote");
	CHECK(w == NULL && n == 0);
	free(cause);
}

/* Versions compare number by number. */
static void
test_versions(void)
{
	CHECK(toolgraph_version_cmp("24.0.6", "19.6.0") > 0);
	CHECK(toolgraph_version_cmp("19.6.0", "19.6.0") == 0);
	CHECK(toolgraph_version_cmp("v19.5.9", "19.6.0") < 0);
	CHECK(toolgraph_version_cmp("19.10.0", "19.6.0") > 0);
	CHECK(toolgraph_version_cmp("2.0.0-canary.3", "2.0.0") == 0);
	CHECK(toolgraph_version_cmp("1.13.4", "2.0.0") < 0);
	CHECK(toolgraph_version_cmp("2", "2.0.0") == 0);
}

/* The tool's arguments are checked before it is run. */
static void
test_run_args(void)
{
	struct taskset	 ts;
	char		*cause = NULL;
	int		 parallel;

	CHECK(toolgraph_run(TOOLGRAPH_NX, "run-many -t b --graph=x.json", &ts,
	    &parallel, &cause) == -1);
	CHECK_HAS(cause, "do not pass --graph=x.json");
	free(cause);
	CHECK(toolgraph_run(TOOLGRAPH_NX, "nx", &ts, &parallel,
	    &cause) == -1);
	CHECK_HAS(cause, "no Nx arguments given");
	free(cause);
	CHECK(toolgraph_run(TOOLGRAPH_TURBO, "run 'x", &ts, &parallel,
	    &cause) == -1);
	CHECK_HAS(cause, "unterminated");
	free(cause);
	setenv("DTEQ_NX_COMMAND", "/nonexistent/nx-binary", 1);
	CHECK(toolgraph_run(TOOLGRAPH_NX, "run-many -t build --parallel 3",
	    &ts, &parallel, &cause) == -1);
	CHECK_HAS(cause, "failed (exit 127)");
	CHECK_HAS(cause, "cannot run /nonexistent/nx-binary");
	CHECK(parallel == 3);
	free(cause);
	unsetenv("DTEQ_NX_COMMAND");
}

/* A tool that leaves a process holding its output still ends the read. */
static void
test_run_daemon(void)
{
	struct taskset	 ts;
	char		*cause = NULL;
	uint64_t	 t0;
	int		 parallel;

	setenv("DTEQ_TURBO_COMMAND", "sh -c 'sleep 4 & printf \"%s\" "
	    "\"{\\\"turboVersion\\\": \\\"2.11.11\\\", \\\"tasks\\\": []}\"' sh",
	    1);
	t0 = util_now_ms();
	CHECK(toolgraph_run(TOOLGRAPH_TURBO, "run build --concurrency=2", &ts,
	    &parallel, &cause) == 0);
	if (cause != NULL) {
		printf("    %s\n", cause);
		free(cause);
	}
	CHECK(util_now_ms() - t0 < 3000);
	CHECK(ts.ntasks == 0);
	CHECK(parallel == 2);
	taskset_free(&ts);
	unsetenv("DTEQ_TURBO_COMMAND");
}

int
main(void)
{
	/*
	 * Most cases check the commands for agents sharing one checkout,
	 * each task its own `nx run`; test_nx_runner the default.
	 */
	setenv("DTEQ_TOOL_DEPS", "exclude", 1);
	setenv("DTEQ_NX_RUNNER", "off", 1);
	TEST_RUN(test_nx_runner);
	TEST_RUN(test_detect);
	TEST_RUN(test_nx_fixture);
	TEST_RUN(test_nx_workspace);
	TEST_RUN(test_nx_overrides);
	TEST_RUN(test_nx_strings);
	TEST_RUN(test_nx_continuous);
	TEST_RUN(test_nx_errors);
	TEST_RUN(test_nx_empty);
	TEST_RUN(test_turbo_fixture);
	TEST_RUN(test_turbo_workspace);
	TEST_RUN(test_turbo_missing);
	TEST_RUN(test_turbo_errors);
	TEST_RUN(test_turbo_splice);
	TEST_RUN(test_runner_env);
	TEST_RUN(test_nx_restore);
	TEST_RUN(test_nx_too_old);
	TEST_RUN(test_split);
	TEST_RUN(test_versions);
	TEST_RUN(test_run_args);
	TEST_RUN(test_run_daemon);
	return (test_exit());
}
