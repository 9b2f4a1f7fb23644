/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Unit tests for producer/replay.c, the replay after a run with failures:
 * splitting Nx and Turborepo task ids, grouping the tasks that succeeded
 * by target and configuration in dependency order, and the commands built
 * for each group from the user's arguments (what is left out, what kept);
 * and producer/replayed.c, what the tools' output says the replay did.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "producer.h"
#include "test.h"

/* An argv as one line, for comparing. Caller frees. */
static char *
joined(char **argv)
{
	char	*line = xstrdup(""), *prev;
	size_t	 i;

	for (i = 0; argv != NULL && argv[i] != NULL; i++) {
		prev = line;
		xasprintf(&line, "%s%s%s", prev, i > 0 ? " " : "", argv[i]);
		free(prev);
	}
	return (line);
}

/* Check one split of an id: its name and configuration, or -1. */
static void
check_split(int tool, const char *id, const char *target, const char *name,
    const char *conf)
{
	char	*n, *c;
	int	 rc;

	rc = replay_split_id(tool, id, target, &n, &c);
	if (name == NULL) {
		CHECK(rc == -1);
		CHECK(n == NULL && c == NULL);
		return;
	}
	CHECK(rc == 0);
	CHECK_STREQ(n, name);
	if (conf == NULL)
		CHECK(c == NULL);
	else
		CHECK_STREQ(c, conf);
	free(n);
	free(c);
}

/* Nx: project:target[:configuration], knowing the target. */
static void
test_split_nx(void)
{
	check_split(TOOLGRAPH_NX, "@ws/api:test", "test", "@ws/api", NULL);
	check_split(TOOLGRAPH_NX, "app:build:production", "build", "app",
	    "production");
	check_split(TOOLGRAPH_NX, "app:e2e-ci--src/a.cy.ts",
	    "e2e-ci--src/a.cy.ts", "app", NULL);
	/* A target whose name is a prefix of another's. */
	check_split(TOOLGRAPH_NX, "app:build-storybook", "build-storybook",
	    "app", NULL);
	check_split(TOOLGRAPH_NX, "app:build-storybook", "build", NULL, NULL);
	check_split(TOOLGRAPH_NX, "app:lint", "test", NULL, NULL);
	check_split(TOOLGRAPH_NX, "app:build:", "build", NULL, NULL);
	check_split(TOOLGRAPH_NX, ":build", "build", NULL, NULL);
}

/* Turborepo: package#task. */
static void
test_split_turbo(void)
{
	check_split(TOOLGRAPH_TURBO, "web#build", "build", "web", NULL);
	check_split(TOOLGRAPH_TURBO, "@ws/ui#test", "test", "@ws/ui", NULL);
	check_split(TOOLGRAPH_TURBO, "//#lint", "lint", "//", NULL);
	check_split(TOOLGRAPH_TURBO, "web#build", "test", NULL, NULL);
	check_split(TOOLGRAPH_TURBO, "#build", "build", NULL, NULL);
	check_split(TOOLGRAPH_TURBO, "build", "build", NULL, NULL);
}

/*
 * One group's argv, from the user's arguments, with the tool's command
 * (DTEQ_NX_COMMAND or DTEQ_TURBO_COMMAND) and DTEQ_TOOL_DEPS (NULL:
 * unset) as given.
 */
static const struct argv_case {
	const char	*name;
	int		 tool;
	const char	*command;
	const char	*tool_deps;
	const char	*args;
	const char	*target;
	const char	*conf;
	const char	*names;		/* comma-separated */
	const char	*want;		/* the argv as one line */
} argv_cases[] = {
	/*
	 * Nx: run-many of the group's projects, --excludeTaskDependencies,
	 * and the user's flags that did not choose the tasks or skip the
	 * cache; the overrides after -- stay.
	 */
	{ "test_nx_argv", TOOLGRAPH_NX, "npx --no nx", NULL,
	    "affected -t lint,test,build --base=origin/main --head HEAD "
	    "--parallel 3 -c production --skip-nx-cache --verbose -- "
	    "--coverage", "test", NULL, "@ws/util,@ws/log",
	    "npx --no nx run-many -t test --projects=@ws/util,@ws/log "
	    "--excludeTaskDependencies --parallel 3 --verbose -- --coverage" },
	{ "test_nx_argv", TOOLGRAPH_NX, "npx --no nx", NULL,
	    "nx run-many --targets=build --projects=a,b,c --all --exclude c "
	    "--output-style=stream", "build", "production", "a",
	    "npx --no nx run-many -t build -c production --projects=a "
	    "--excludeTaskDependencies --output-style=stream" },
	{ "test_nx_argv", TOOLGRAPH_NX, "npx --no nx", NULL,
	    "run-many -t e2e -p docs --excludeTaskDependencies "
	    "--files a.ts,b.ts --uncommitted --nxBail", "e2e", NULL, "docs",
	    "npx --no nx run-many -t e2e --projects=docs "
	    "--excludeTaskDependencies --nxBail" },
	/* Flags before the subcommand. */
	{ "test_nx_argv", TOOLGRAPH_NX, "npx --no nx", NULL,
	    "--parallel 3 run-many -t build", "build", NULL, "x",
	    "npx --no nx run-many -t build --projects=x "
	    "--excludeTaskDependencies --parallel 3" },
	{ "test_nx_argv", TOOLGRAPH_NX, "node_modules/.bin/nx", NULL,
	    "affected --targets build", "build", NULL, "x",
	    "node_modules/.bin/nx run-many -t build --projects=x "
	    "--excludeTaskDependencies" },
	/*
	 * Turborepo: run TASK with a --filter per package, never --only
	 * (with DTEQ_TOOL_DEPS=exclude too: the agents stored each task
	 * under the dry run's hash, which needs its dependencies in the
	 * run); the task names, filters, --only and --affected go, the rest
	 * (and -- args) stay.
	 */
	{ "test_turbo_argv", TOOLGRAPH_TURBO, "npx --no turbo", NULL,
	    "run build test --filter=web -F './apps/*' --concurrency 3 "
	    "--affected --continue -- --silent", "build", NULL, "web,@ws/ui",
	    "npx --no turbo run build --filter=web --filter=@ws/ui "
	    "--concurrency 3 --continue -- --silent" },
	{ "test_turbo_argv", TOOLGRAPH_TURBO, "npx --no turbo", NULL,
	    "turbo build lint --force --only --output-logs=errors-only",
	    "lint", NULL, "//",
	    "npx --no turbo run lint --filter=// --output-logs=errors-only" },
	{ "test_turbo_argv", TOOLGRAPH_TURBO, "npx --no turbo", NULL,
	    "--cwd . run test", "test", NULL, "api",
	    "npx --no turbo run test --filter=api --cwd ." },
	/* A flag's value that is not a task name stays with its flag. */
	{ "test_turbo_argv", TOOLGRAPH_TURBO, "npx --no turbo", NULL,
	    "run test --cache-dir .cache --filter web", "test", NULL, "api",
	    "npx --no turbo run test --filter=api --cache-dir .cache" },
	{ "test_turbo_argv", TOOLGRAPH_TURBO, "npx --no turbo", "exclude",
	    "run build test --only", "test", NULL, "web,api",
	    "npx --no turbo run test --filter=web --filter=api" },
};

/* Build one group's argv and compare it as a line. */
static void
check_argv(const struct argv_case *c)
{
	static char		 build[] = "build", test[] = "test";
	static char		 lint[] = "lint";
	char			*tasks[] = { build, test, lint };
	const char		*var;
	struct replay_group	 g;
	char			**argv, *line, *cause = NULL, *copy, *p;

	var = c->tool == TOOLGRAPH_NX ? "DTEQ_NX_COMMAND" :
	    "DTEQ_TURBO_COMMAND";
	setenv(var, c->command, 1);
	if (c->tool_deps != NULL)
		setenv("DTEQ_TOOL_DEPS", c->tool_deps, 1);
	else
		unsetenv("DTEQ_TOOL_DEPS");
	memset(&g, 0, sizeof g);
	g.target = xstrdup(c->target);
	g.conf = c->conf != NULL ? xstrdup(c->conf) : NULL;
	copy = xstrdup(c->names);
	for (p = strtok(copy, ","); p != NULL; p = strtok(NULL, ",")) {
		g.names = xreallocarray(g.names, g.nnames + 1,
		    sizeof *g.names);
		g.names[g.nnames++] = p;
	}
	argv = replay_group_argv(c->tool, c->args, &g, tasks, 3, &cause);
	CHECK(argv != NULL);
	if (argv == NULL) {
		printf("    cause: %s\n", cause);
		free(cause);
	}
	line = joined(argv);
	CHECK_STREQ(line, c->want);
	free(line);
	replay_argv_free(argv);
	free(g.names);
	free(g.target);
	free(g.conf);
	free(copy);
	unsetenv(var);
	unsetenv("DTEQ_TOOL_DEPS");
}

/* A submit whose graph is the task file json, each task final. */
static int
fake_submit(struct submit *s, const char *json, const int *status)
{
	struct taskset	 ts;
	char		*cause = NULL;
	size_t		 i;

	memset(s, 0, sizeof *s);
	if (taskfile_parse(json, strlen(json), "t.json", &ts, &cause) != 0 ||
	    (s->g = graph_new(&ts, &cause)) == NULL) {
		printf("    cause: %s\n", cause);
		free(cause);
		CHECK(0);
		return (-1);
	}
	s->pt = xcalloc(graph_size(s->g), sizeof *s->pt);
	for (i = 0; i < graph_size(s->g); i++) {
		ptask_set_state(s, i, PT_DONE);
		s->pt[i].result.status = status[i];
	}
	return (0);
}

/*
 * The tasks that succeeded, grouped by target and configuration: a failed
 * or skipped one in none; the groups in dependency order even when the
 * task file lists a test first, a cycle between groups broken by depth.
 */
static void
test_groups(void)
{
	static const char	 json[] = "{\"tasks\": ["
	    "{\"id\": \"lib:test\", \"command\": \"t\", \"deps\": [\"lib:build\"]},"
	    "{\"id\": \"app:e2e\", \"command\": \"t\", \"deps\": [\"app:test\"]},"
	    "{\"id\": \"app:test\", \"command\": \"t\", \"deps\": [\"app:build\"]},"
	    "{\"id\": \"app:build\", \"command\": \"t\", \"deps\": [\"lib:build\"]},"
	    "{\"id\": \"lib:build\", \"command\": \"t\"},"
	    "{\"id\": \"app:build:production\", \"command\": \"t\", "
	    "\"deps\": [\"lib:build\"]},"
	    "{\"id\": \"docs:e2e\", \"command\": \"t\", \"deps\": [\"lib:test\"]},"
	    "{\"id\": \"odd\", \"command\": \"t\"}"
	    "]}";
	static const int	 status[] = { RESULT_SUCCESS, RESULT_SKIPPED,
				    RESULT_FAILED, RESULT_SUCCESS,
				    RESULT_SUCCESS, RESULT_SUCCESS,
				    RESULT_SUCCESS, RESULT_SUCCESS };
	struct submit		 s;
	struct replay_group	*g;
	size_t			 ng, ntasks;

	if (fake_submit(&s, json, status) != 0)
		return;
	/* "odd" has no target part: not replayed, said on stderr. */
	ng = replay_groups(&s, TOOLGRAPH_NX, &g, &ntasks);
	CHECK(ng == 4);
	CHECK(ntasks == 5);
	if (ng == 4) {
		CHECK_STREQ(g[0].target, "build");
		CHECK(g[0].conf == NULL);
		CHECK(g[0].nnames == 2);
		CHECK_STREQ(g[0].names[0], "app");
		CHECK_STREQ(g[0].names[1], "lib");
		CHECK_STREQ(g[1].target, "test");
		CHECK(g[1].nnames == 1);
		CHECK_STREQ(g[1].names[0], "lib");
		CHECK_STREQ(g[2].target, "build");
		CHECK_STREQ(g[2].conf, "production");
		CHECK_STREQ(g[2].names[0], "app");
		CHECK_STREQ(g[3].target, "e2e");
		CHECK_STREQ(g[3].names[0], "docs");
	}
	replay_groups_free(g, ng);
	free(s.pt);
	graph_free(s.g);
}

/* The counts of one target, as "target hits/total ran unseen". */
static char *
count_line(const struct replayed *r)
{
	char	*s;

	xasprintf(&s, "%s %zu/%zu [%s] %zu", r->target, r->hits, r->total,
	    r->ran != NULL ? r->ran : "", r->unseen);
	return (s);
}

/* Count out for tasks and compare each target's line with want[]. */
static void
check_counts(int tool, const char *out, const struct replayed_task *t,
    size_t n, const char *const *want, size_t nwant)
{
	struct replayed	*r;
	size_t		 nr, i;
	char		*line;

	nr = replayed_count(tool, out, strlen(out), t, n, &r);
	CHECK(nr == nwant);
	for (i = 0; i < nr && i < nwant; i++) {
		line = count_line(&r[i]);
		CHECK_STREQ(line, want[i]);
		free(line);
	}
	replayed_free(r, nr);
}

/*
 * Nx: dteq nx-task's quiet lines, Nx's banners (a hit has its cache in
 * brackets, colour or not) and run-many's summary marks; a task seen as
 * a hit anywhere is one, a task never named is unseen, lines of other
 * tasks or other text are ignored.
 */
static void
test_replayed_nx(void)
{
	static const struct replayed_task t[] = {
		{ "@ws/util:build", "build" }, { "@ws/log:build", "build" },
		{ "@ws/util:test", "test" }, { "app:build:production",
		"build" }, { "@ws/log:test", "test" }, { "@ws/ui:lint", "lint" },
	};
	const char	*out =
	    "> nx run @ws/util:build  [remote cache]\n"
	    "\033[2m> \033[22m\033[2mnx run\033[22m @ws/log:build  "
	    "\033[2m[local cache]\033[22m\r\n"
	    "> nx run @ws/util:test\n"
	    "some output naming nx run @ws/ui:lint in passing\n"
	    "\xe2\x9c\x94  nx run app:build:production  [existing outputs "
	    "match the cache, left as is]\n"
	    "> nx run @ws/log:test  [not in the cache: ran it, success]\n"
	    "> nx run @ws/other:build  [remote cache]\n"
	    "\xe2\x9c\x94  nx run @ws/util:test  [remote cache]\n";
	static const char *const want[] = {
		"build 3/3 [] 0",
		"test 1/2 [@ws/log:test] 0",
		"lint 0/1 [] 1",
	};

	check_counts(TOOLGRAPH_NX, out, t, nitems(t), want, nitems(want));
}

/* Turborepo: "PACKAGE:TASK: cache hit|miss|bypass, ..." as PACKAGE#TASK. */
static void
test_replayed_turbo(void)
{
	static const struct replayed_task t[] = {
		{ "@ws/util#build", "build" }, { "@ws/web#build", "build" },
		{ "@ws/util#test", "test" }, { "docs#test", "test" },
	};
	const char	*out =
	    "@ws/util:build: cache hit, replaying logs 0123abcd\n"
	    "@ws/web:build: cache miss, executing 4567ef01\n"
	    "@ws/util:test: cache hit, suppressing logs 89ab\n"
	    "docs:test: cache bypass, force executing cdef\n"
	    "some text: cache hit, in a sentence\n"
	    "@ws/web:build: cache hit, replaying logs 4567ef01\n"
	    " Tasks:    4 successful, 4 total\n"
	    "Cached:    2 cached, 4 total\n";
	static const char *const want[] = {
		"build 2/2 [] 0",
		"test 1/2 [docs#test] 0",
	};

	check_counts(TOOLGRAPH_TURBO, out, t, nitems(t), want, nitems(want));
}

int
main(void)
{
	TEST_RUN(test_split_nx);
	TEST_RUN(test_split_turbo);
	TEST_TABLE(argv_cases, check_argv);
	TEST_RUN(test_groups);
	TEST_RUN(test_replayed_nx);
	TEST_RUN(test_replayed_turbo);
	return (test_exit());
}
