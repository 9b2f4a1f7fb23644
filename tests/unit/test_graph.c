/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Unit tests for producer/graph.c: validation (duplicate ids, bad deps,
 * cycles and their path), the ready order, failure skipping, the restore
 * lists (graph_restores), and a 100,000-task chain to prove the
 * traversals are iterative and linear.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "producer.h"
#include "helpers.h"

#define BIG	100000

/* The diamond (add_tasks): a; b and c need a; d needs b and c. */
#define DIAMOND	"a:build, b:build(a:build), c:build(a:build), "	\
		"d:build(b:build c:build)"

/* Build a graph that must be valid. */
static struct graph *
build_ok(struct taskset *ts)
{
	struct graph	*g;
	char		*cause = NULL;

	g = graph_new(ts, &cause);
	CHECK(g != NULL);
	CHECK(ts->tasks == NULL && ts->ntasks == 0);
	if (g == NULL) {
		printf("    cause: %s\n", cause);
		free(cause);
	}
	return (g);
}

/* Build a graph that must be refused; returns the cause. */
static char *
build_fail(struct taskset *ts)
{
	struct graph	*g;
	char		*cause = NULL;

	g = graph_new(ts, &cause);
	CHECK(g == NULL);
	CHECK(ts->tasks == NULL && ts->ntasks == 0);
	CHECK(cause != NULL);
	graph_free(g);
	if (cause == NULL)
		cause = xstrdup("");
	return (cause);
}

/*
 * Give the tasks named (space-separated) a restore command, "get ID";
 * those named with a leading '^' are restored inline instead (by their
 * dependents' own commands).
 */
static void
set_restores(struct taskset *ts, const char *ids)
{
	char	*copy, *s, *id;
	size_t	 i;
	int	 inl;

	copy = s = xstrdup(ids);
	while ((id = strsep(&s, " ")) != NULL) {
		if ((inl = *id == '^'))
			id++;
		for (i = 0; i < ts->ntasks; i++) {
			if (strcmp(ts->tasks[i].id, id) != 0)
				continue;
			if (inl)
				ts->tasks[i].restore_inline = 1;
			else
				xasprintf(&ts->tasks[i].restore, "get %s", id);
		}
	}
	free(copy);
}

/*
 * The graph of spec (add_tasks), which must be valid, the tasks of
 * restores (set_restores; NULL for none) with a restore; NULL if it
 * could not be built.
 */
static struct graph *
graph_of(const char *spec, const char *restores)
{
	struct taskset	 ts = { NULL, 0 };

	add_tasks(&ts, spec);
	if (restores != NULL)
		set_restores(&ts, restores);
	return (build_ok(&ts));
}

/* Check that list (n long) holds exactly the tasks named, in order. */
static int
same(struct graph *g, const size_t *list, size_t n, const char *ids)
{
	char	*copy, *s, *id;
	size_t	 i = 0;
	int	 ok = 1;

	copy = s = xstrdup(ids);
	while ((id = strsep(&s, " ")) != NULL) {
		if (*id == '\0')
			continue;
		if (i >= n || strcmp(graph_node(g, list[i])->task->id, id) != 0)
			ok = 0;
		i++;
	}
	free(copy);
	if (i != n)
		ok = 0;
	if (!ok) {
		printf("    got:");
		for (i = 0; i < n; i++)
			printf(" %s", graph_node(g, list[i])->task->id);
		printf("; want: %s\n", ids);
	}
	return (ok);
}

/*
 * Mark a task done by id, through graph_succeeded or graph_failed, and
 * check which tasks that made ready (or skipped).
 */
static int
settle(struct graph *g, size_t (*done)(struct graph *, size_t, size_t **),
    const char *id, const char *want)
{
	size_t	*out, n;
	int	 ok;

	n = done(g, graph_find(g, id), &out);
	ok = same(g, out, n, want);
	CHECK(n != 0 || out == NULL);
	free(out);
	return (ok);
}

/* Mark a task succeeded and check which tasks became ready. */
#define succeed(g, id, want)	settle((g), graph_succeeded, (id), (want))
/* Mark a task failed and check which tasks were skipped. */
#define fail(g, id, want)	settle((g), graph_failed, (id), (want))

/* The diamond: one root, then b and c, then d once both are done. */
static void
test_diamond(void)
{
	struct graph	*g;
	struct node	*d;
	size_t		*roots, n;

	if ((g = graph_of(DIAMOND, NULL)) == NULL)
		return;
	CHECK(graph_size(g) == 4);
	n = graph_roots(g, &roots);
	CHECK(same(g, roots, n, "a:build"));
	free(roots);

	d = graph_node(g, graph_find(g, "d:build"));
	CHECK(d->ndeps == 2 && d->pending == 2 && d->done == 0);
	CHECK(graph_node(g, 0)->ndependents == 2);

	CHECK(succeed(g, "a:build", "b:build c:build"));
	CHECK(succeed(g, "c:build", ""));
	CHECK(d->pending == 1);
	CHECK(succeed(g, "b:build", "d:build"));
	CHECK(d->pending == 0);
	CHECK(succeed(g, "d:build", ""));
	graph_free(g);
}

/* Several roots come back in file order, with their node data. */
static void
test_roots_order(void)
{
	struct graph	*g;
	size_t		*roots, n;

	if ((g = graph_of("z, y(z), x, w(x z), v", NULL)) == NULL)
		return;
	n = graph_roots(g, &roots);
	CHECK(same(g, roots, n, "z x v"));
	free(roots);
	CHECK(graph_node(g, 3)->deps[0] == 2);
	CHECK(graph_node(g, 3)->deps[1] == 0);
	CHECK(graph_node(g, 0)->ndependents == 2);
	CHECK(graph_node(g, 0)->dependents[0] == 1);
	CHECK(graph_node(g, 0)->dependents[1] == 3);
	CHECK_STREQ(graph_node(g, 4)->task->id, "v");
	graph_free(g);
}

/* graph_order: every task once, each after all of its deps. */
static void
test_order(void)
{
	struct graph	*g;
	size_t		*order, *pos, i, k, n;
	struct node	*nd;

	if ((g = graph_of("e2e(web api), web(ui util), api(util), ui(util), "
	    "util, lint", NULL)) == NULL)
		return;
	n = graph_size(g);
	order = graph_order(g);
	CHECK(same(g, order, n, "util lint api ui web e2e"));
	pos = xcalloc(n, sizeof *pos);
	for (i = 0; i < n; i++)
		pos[order[i]] = i + 1;
	for (i = 0; i < n; i++) {
		CHECK(pos[i] != 0);
		nd = graph_node(g, i);
		for (k = 0; k < nd->ndeps; k++)
			CHECK(pos[nd->deps[k]] < pos[i]);
	}
	free(pos);
	free(order);
	graph_free(g);
}

/* A failure skips every transitive dependent, and nothing else. */
static void
test_failure_skips(void)
{
	struct graph	*g;

	if ((g = graph_of(DIAMOND ", e:lint, f:test(e:lint), "
	    "g:e2e(d:build f:test)", NULL)) == NULL)
		return;

	CHECK(fail(g, "a:build", "b:build c:build d:build g:e2e"));
	CHECK(graph_node(g, graph_find(g, "d:build"))->done);
	CHECK(!graph_node(g, graph_find(g, "e:lint"))->done);
	/* The independent branch still runs; g:e2e is not offered again. */
	CHECK(succeed(g, "e:lint", "f:test"));
	CHECK(succeed(g, "f:test", ""));
	/* Results for skipped tasks change nothing. */
	CHECK(succeed(g, "d:build", ""));
	CHECK(fail(g, "b:build", ""));
	graph_free(g);
}

/* A failure deeper down skips only what is below it. */
static void
test_failure_partial(void)
{
	struct graph	*g;

	if ((g = graph_of(DIAMOND, NULL)) == NULL)
		return;
	CHECK(succeed(g, "a:build", "b:build c:build"));
	CHECK(fail(g, "b:build", "d:build"));
	CHECK(succeed(g, "c:build", ""));	/* d was skipped */
	CHECK(fail(g, "b:build", ""));		/* twice: nothing new */
	graph_free(g);
}

/* graph_succeeded twice for one task decrements only once. */
static void
test_succeeded_idempotent(void)
{
	struct graph	*g;
	struct node	*d;

	if ((g = graph_of(DIAMOND, NULL)) == NULL)
		return;
	d = graph_node(g, graph_find(g, "d:build"));
	CHECK(succeed(g, "a:build", "b:build c:build"));
	CHECK(succeed(g, "a:build", ""));
	CHECK(succeed(g, "b:build", ""));
	CHECK(succeed(g, "b:build", ""));
	CHECK(d->pending == 1);
	CHECK(succeed(g, "c:build", "d:build"));
	CHECK(d->pending == 0);
	graph_free(g);
}

/* graph_find knows every id and nothing else. */
static void
test_find(void)
{
	struct graph	*g;

	if ((g = graph_of(DIAMOND, NULL)) == NULL)
		return;
	CHECK(graph_find(g, "a:build") == 0);
	CHECK(graph_find(g, "d:build") == 3);
	CHECK(graph_find(g, "a:buil") == GRAPH_NONE);
	CHECK(graph_find(g, "") == GRAPH_NONE);
	CHECK(graph_find(g, NULL) == GRAPH_NONE);
	graph_free(g);
}

/* Task sets graph_new refuses, and the cause it gives for each. */
static const struct refusal {
	const char	*name;
	const char	*spec;		/* add_tasks */
	const char	*cause;
} refusals[] = {
	/* Duplicate ids are named with both positions. */
	{ "test_duplicate_ids", "a:build, b:build, c:build, a:build",
	    "duplicate task id \"a:build\" (tasks #1 and #4)" },
	/* A dep naming no task is refused. */
	{ "test_unknown_dep", "lib:build, app:build(lib:bild)",
	    "task \"app:build\": unknown dependency \"lib:bild\"" },
	/* A task depending on itself is refused. */
	{ "test_self_dep", "a:build, b:build(a:build b:build)",
	    "task \"b:build\": depends on itself" },
	/* A dep listed twice is refused, not silently merged. */
	{ "test_dep_twice",
	    "a:build, b:build(a:build), c:build(b:build a:build b:build)",
	    "task \"c:build\": dependency \"b:build\" is listed twice" },
	/* A 3-cycle is reported with its whole path. */
	{ "test_cycle3", "root, a:build(root b:build), b:build(c:build), "
	    "c:build(a:build), d:build(a:build)",
	    "dependency cycle: a:build -> b:build -> c:build -> a:build" },
	/* A cycle reached from outside is reported from where it closes. */
	{ "test_cycle_entered", "x(b), a(b), b(c), c(a)",
	    "dependency cycle: b -> c -> a -> b" },
	/* Ids that are not UTF-8, whatever way: a stray byte pair, an
	 * overlong form, a surrogate; the first bad byte is named. */
	{ "test_id_not_utf8", "ok:t, bad\xff\xfe:t(ok:t)",
	    "task #2: its id is not valid UTF-8 (byte 3)" },
	{ "test_id_not_utf8", "x\xc0\xaf:t",
	    "task #1: its id is not valid UTF-8 (byte 1)" },
	{ "test_id_not_utf8", "a:t, \xed\xa0\x80:t",
	    "task #2: its id is not valid UTF-8 (byte 0)" },
};

static void
refused(const struct refusal *r)
{
	struct taskset	 ts = { NULL, 0 };
	char		*cause;

	add_tasks(&ts, r->spec);
	cause = build_fail(&ts);
	CHECK_STREQ(cause, r->cause);
	free(cause);
}

/* Ids in UTF-8 beyond ASCII are ids like any other. */
static void
test_id_utf8(void)
{
	struct taskset	 ts = { NULL, 0 };
	struct graph	*g;

	add_tasks(&ts, "caf\xc3\xa9:t, \xe6\x9e\x84\xe5\xbb\xba:t(caf\xc3\xa9:t)");
	g = build_ok(&ts);
	CHECK(g != NULL && graph_find(g, "caf\xc3\xa9:t") == 0);
	graph_free(g);
}

/*
 * A command or an environment entry as long as the kernel lets one
 * argument be (131071 bytes and its NUL) is taken; one byte more can never
 * run and is refused.
 */
static void
test_arg_limits(void)
{
	struct taskset	 ts = { NULL, 0 };
	struct graph	*g;
	char		*cause;
	size_t		 n = 131071;

	add_tasks(&ts, "big:t");
	free(ts.tasks[0].command);
	ts.tasks[0].command = xmalloc(n + 1);
	memset(ts.tasks[0].command, 'x', n);
	ts.tasks[0].command[n] = '\0';
	g = build_ok(&ts);
	graph_free(g);

	add_tasks(&ts, "big:t");
	free(ts.tasks[0].command);
	ts.tasks[0].command = xmalloc(n + 2);
	memset(ts.tasks[0].command, 'x', n + 1);
	ts.tasks[0].command[n + 1] = '\0';
	cause = build_fail(&ts);
	CHECK_STREQ(cause, "task \"big:t\": its command is 131072 bytes; "
	    "no command over 131071 bytes can be run");
	free(cause);

	add_tasks(&ts, "env:t");
	ts.tasks[0].env = xcalloc(1, sizeof *ts.tasks[0].env);
	ts.tasks[0].nenv = 1;
	ts.tasks[0].env[0].name = xstrdup("BIG");
	ts.tasks[0].env[0].value = xmalloc(n);
	memset(ts.tasks[0].env[0].value, 'v', n - 3);
	ts.tasks[0].env[0].value[n - 3] = '\0';	/* BIG= + value: n + 1 */
	cause = build_fail(&ts);
	CHECK_STREQ(cause, "task \"env:t\": env BIG is 131072 bytes; "
	    "no variable over 131071 bytes can be passed");
	free(cause);
}

/*
 * Fill ts with the chain t0 <- t1 <- ... <- t(BIG-1), every restore-th
 * task with a restore command (0: none); closed makes t0 need the last.
 */
static void
chain(struct taskset *ts, int closed, size_t restore)
{
	char	id[32], prev[32];
	size_t	i;

	for (i = 0; i < BIG; i++) {
		snprintf(id, sizeof id, "t%zu", i);
		snprintf(prev, sizeof prev, "t%zu", i == 0 ? BIG - 1 : i - 1);
		add_task(ts, id, i > 0 || closed ? prev : NULL);
		if (restore != 0 && i % restore == 0)
			ts->tasks[i].restore = xstrdup("get");
	}
}

/* The graph of the open chain (chain). */
static struct graph *
chain_graph(size_t restore)
{
	struct taskset	 ts = { NULL, 0 };

	chain(&ts, 0, restore);
	return (build_ok(&ts));
}

/* A 100,000-task chain builds, and runs to the end one task at a time. */
static void
test_big_chain(void)
{
	struct graph	*g;
	size_t		*out, n, i, bad = 0;

	if ((g = chain_graph(0)) == NULL)
		return;
	CHECK(graph_size(g) == BIG);
	n = graph_roots(g, &out);
	CHECK(n == 1 && out[0] == 0);
	free(out);
	for (i = 0; i < BIG; i++) {
		n = graph_succeeded(g, i, &out);
		if (i + 1 < BIG && (n != 1 || out[0] != i + 1))
			bad++;
		if (i + 1 == BIG && n != 0)
			bad++;
		free(out);
	}
	CHECK(bad == 0);
	CHECK(graph_find(g, "t99999") == BIG - 1);
	graph_free(g);
}

/* Failing the head of a 100,000-task chain skips all the rest. */
static void
test_big_chain_failure(void)
{
	struct graph	*g;
	size_t		*out, n, i, bad = 0;

	if ((g = chain_graph(0)) == NULL)
		return;
	n = graph_failed(g, 0, &out);
	CHECK(n == BIG - 1);
	for (i = 0; i < n; i++) {
		if (out[i] != i + 1)
			bad++;
	}
	CHECK(bad == 0);
	free(out);
	graph_free(g);
}

/* A 100,000-task cycle is found; the message leaves out the middle. */
static void
test_big_cycle(void)
{
	struct taskset	 ts = { NULL, 0 };
	char		*cause;

	chain(&ts, 1, 0);
	cause = build_fail(&ts);
	CHECK_STREQ(cause, "dependency cycle: t0 -> t99999 -> t99998 -> "
	    "t99997 -> t99996 -> t99995 -> t99994 -> t99993 -> t99992 -> "
	    "t99991 -> ... (99985 more) -> t5 -> t4 -> t3 -> t2 -> t1 -> t0");
	free(cause);
}

/* An empty taskset gives an empty graph. */
static void
test_empty(void)
{
	struct graph	*g;
	size_t		*roots;

	if ((g = graph_of("", NULL)) == NULL)
		return;
	CHECK(graph_size(g) == 0);
	CHECK(graph_roots(g, &roots) == 0 && roots == NULL);
	CHECK(graph_find(g, "a") == GRAPH_NONE);
	graph_free(g);
	graph_free(NULL);
}

/* Task a needs task b, directly or not. */
static int
needs(struct graph *g, size_t a, size_t b)
{
	struct node	*nd = graph_node(g, a);
	size_t		 k;

	for (k = 0; k < nd->ndeps; k++) {
		if (nd->deps[k] == b || needs(g, nd->deps[k], b))
			return (1);
	}
	return (0);
}

/*
 * Check graph_restores for task id: exactly the tasks named in want (any
 * order), each once, each after every listed task it needs; a task's
 * own restore is its own. With an empty want: 0 and NULL.
 */
static int
restores(struct graph *g, const char *id, const char *want)
{
	struct task	**out;
	size_t		 i, j, n, nwant = 0, *idx;
	char		*copy, *s, *w;
	int		 ok = 1, seen;

	n = graph_restores(g, graph_find(g, id), &out);
	if (n == 0 && out != NULL)
		ok = 0;
	idx = xcalloc(n + 1, sizeof *idx);
	for (i = 0; i < n; i++) {
		idx[i] = graph_find(g, out[i]->id);
		if (idx[i] == GRAPH_NONE ||
		    graph_node(g, idx[i])->task != out[i] ||
		    out[i]->restore == NULL)
			ok = 0;
	}
	copy = s = xstrdup(want);
	while ((w = strsep(&s, " ")) != NULL) {
		if (*w == '\0')
			continue;
		nwant++;
		seen = 0;
		for (i = 0; i < n; i++)
			seen += strcmp(out[i]->id, w) == 0;
		if (seen != 1)
			ok = 0;
	}
	free(copy);
	if (nwant != n)
		ok = 0;
	for (i = 0; ok && i < n; i++) {
		for (j = i + 1; j < n; j++) {
			if (needs(g, idx[i], idx[j]))
				ok = 0;
		}
	}
	if (!ok) {
		printf("    restores of %s:", id);
		for (i = 0; i < n; i++)
			printf(" %s", out[i]->id);
		printf("; want (in dependency order): %s\n", want);
	}
	free(idx);
	free(out);
	return (ok);
}

/*
 * The restores of task id in their exact order: as many as the words of
 * want, each the task it names ("*": any task). Returns them (NULL if
 * the count is wrong); caller frees.
 */
static struct task **
restores_at(struct graph *g, const char *id, const char *want)
{
	struct task	**out;
	size_t		 n, i = 0, nwant = 0;
	char		*copy, *s, *w;

	copy = s = xstrdup(want);
	while ((w = strsep(&s, " ")) != NULL)
		nwant++;
	free(copy);
	n = graph_restores(g, graph_find(g, id), &out);
	CHECK(n == nwant);
	if (n != nwant) {
		free(out);
		return (NULL);
	}
	copy = s = xstrdup(want);
	while ((w = strsep(&s, " ")) != NULL) {
		if (strcmp(w, "*") != 0)
			CHECK_STREQ(out[i]->id, w);
		i++;
	}
	free(copy);
	return (out);
}

/*
 * graph_restores: every task with a restore below the one asked for,
 * through tasks without one too, once each, dependencies first; never
 * the task itself, nor what it does not need.
 */
static void
test_restores(void)
{
	struct graph	*g;

	/*
	 * util <- ui <- web; util <- api <- web; web, api <- e2e. gen <-
	 * codegen <- tool: gen only through a task without one.
	 */
	if ((g = graph_of("e2e(web api), web(ui api), ui(util), api(util), "
	    "util, gen, codegen(gen), tool(codegen), lint",
	    "web api util gen lint")) == NULL)
		return;

	CHECK(restores(g, "e2e", "util api web"));
	/* The exact order: the only one util, api, web allow. */
	free(restores_at(g, "e2e", "util api web"));
	CHECK(restores(g, "web", "util api"));	/* not web itself */
	CHECK(restores(g, "ui", "util"));
	CHECK(restores(g, "api", "util"));
	CHECK(restores(g, "tool", "gen"));
	CHECK(restores(g, "codegen", "gen"));
	CHECK(restores(g, "util", ""));		/* has one, needs nothing */
	CHECK(restores(g, "gen", ""));
	CHECK(restores(g, "lint", ""));
	/* Asked again, after other tasks: the same answer. */
	CHECK(restores(g, "e2e", "util api web"));
	CHECK(restores(g, "tool", "gen"));
	graph_free(g);
}

/* The diamond, every task with a restore: a, listed once, first. */
static void
test_restores_diamond(void)
{
	struct graph	*g;

	if ((g = graph_of(DIAMOND ", e:test(d:build a:build)",
	    "a:build b:build c:build d:build e:test")) == NULL)
		return;
	CHECK(restores(g, "d:build", "a:build b:build c:build"));
	CHECK(restores(g, "e:test", "a:build b:build c:build d:build"));
	free(restores_at(g, "e:test", "a:build * * d:build"));
	CHECK(restores(g, "b:build", "a:build"));
	CHECK(restores(g, "a:build", ""));
	graph_free(g);
}

/*
 * Tasks whose dependents' own commands restore them (restore_inline, no
 * command) are listed like the others, and alone make a graph have
 * restores.
 */
static void
test_restores_inline(void)
{
	struct graph	*g;
	struct task	**out;

	if ((g = graph_of(DIAMOND, "^b:build ^a:build")) == NULL)
		return;
	if ((out = restores_at(g, "d:build", "a:build b:build")) != NULL)
		CHECK(out[0]->restore == NULL && out[0]->restore_inline);
	free(out);
	free(restores_at(g, "c:build", "a:build"));
	graph_free(g);
}

/* A graph without any restore command: 0 and NULL for every task. */
static void
test_restores_none(void)
{
	struct graph	*g;
	struct task	 stale, *stalep = &stale, **out;
	size_t		 i;

	if ((g = graph_of(DIAMOND, NULL)) == NULL)
		return;
	for (i = 0; i < graph_size(g); i++) {
		out = &stalep;		/* must be set to NULL */
		CHECK(graph_restores(g, i, &out) == 0);
		CHECK(out == NULL);
	}
	graph_free(g);
}

/*
 * The restores of the end of a 100,000-task chain, every 100th task with
 * one: the walk down is iterative, the list in chain order.
 */
static void
test_restores_big_chain(void)
{
	struct graph	*g;
	struct task	**out;
	size_t		 i, n, bad = 0;

	if ((g = chain_graph(100)) == NULL)
		return;
	n = graph_restores(g, BIG - 1, &out);
	CHECK(n == BIG / 100);
	for (i = 0; i < n; i++) {
		if (out[i] != graph_node(g, i * 100)->task)
			bad++;
	}
	CHECK(bad == 0);
	free(out);
	n = graph_restores(g, 100, &out);
	CHECK(n == 1 && out[0] == graph_node(g, 0)->task);
	free(out);
	graph_free(g);
}

/* A parsed task file goes straight into a graph. */
static void
test_from_taskfile(void)
{
	struct taskset	 ts;
	struct graph	*g;
	const char	*json = "{\"tasks\": ["
			    "{\"id\": \"app:build\", \"command\": \"x\", "
			    "\"deps\": [\"lib:build\"]}, "
			    "{\"id\": \"lib:build\", \"command\": \"x\"}]}";
	char		*cause = NULL;

	CHECK(taskfile_parse(json, strlen(json), "t.json", &ts, &cause) == 0);
	free(cause);
	if ((g = build_ok(&ts)) == NULL)
		return;
	CHECK(succeed(g, "lib:build", "app:build"));
	graph_free(g);
}

int
main(void)
{
	TEST_RUN(test_diamond);
	TEST_RUN(test_roots_order);
	TEST_RUN(test_order);
	TEST_RUN(test_failure_skips);
	TEST_RUN(test_failure_partial);
	TEST_RUN(test_succeeded_idempotent);
	TEST_RUN(test_find);
	TEST_TABLE(refusals, refused);
	TEST_RUN(test_id_utf8);
	TEST_RUN(test_arg_limits);
	TEST_RUN(test_big_chain);
	TEST_RUN(test_big_chain_failure);
	TEST_RUN(test_big_cycle);
	TEST_RUN(test_empty);
	TEST_RUN(test_from_taskfile);
	TEST_RUN(test_restores);
	TEST_RUN(test_restores_diamond);
	TEST_RUN(test_restores_inline);
	TEST_RUN(test_restores_none);
	TEST_RUN(test_restores_big_chain);
	return (test_exit());
}
