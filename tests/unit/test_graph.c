/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Unit tests for producer/graph.c: validation (duplicate ids, bad deps,
 * cycles and their path), the ready order, failure skipping, the restore
 * lists (graph_restores), and a 100,000-task chain to prove the
 * traversals are iterative and linear.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "producer.h"
#include "test.h"

#define BIG	100000

/* Append a task with id and a NULL-terminated list of deps to ts. */
static void
add(struct taskset *ts, const char *id, ...)
{
	struct task	*t;
	va_list		 ap;
	const char	*dep;

	/* The array doubles whenever ntasks reaches a power of two. */
	if ((ts->ntasks & (ts->ntasks - 1)) == 0) {
		ts->tasks = xreallocarray(ts->tasks,
		    ts->ntasks == 0 ? 1 : ts->ntasks * 2, sizeof *ts->tasks);
	}
	t = &ts->tasks[ts->ntasks++];
	memset(t, 0, sizeof *t);
	t->id = xstrdup(id);
	t->command = xstrdup("true");
	t->target = task_target_of(id);
	t->retries = -1;
	va_start(ap, id);
	while ((dep = va_arg(ap, const char *)) != NULL) {
		t->deps = xreallocarray(t->deps, t->ndeps + 1,
		    sizeof *t->deps);
		t->deps[t->ndeps++] = xstrdup(dep);
	}
	va_end(ap);
}

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

/* Mark a task succeeded by id and check which tasks became ready. */
static int
succeed(struct graph *g, const char *id, const char *want)
{
	size_t	*out, n;
	int	 ok;

	n = graph_succeeded(g, graph_find(g, id), &out);
	ok = same(g, out, n, want);
	CHECK(n != 0 || out == NULL);
	free(out);
	return (ok);
}

/* Mark a task failed by id and check which tasks were skipped. */
static int
fail(struct graph *g, const char *id, const char *want)
{
	size_t	*out, n;
	int	 ok;

	n = graph_failed(g, graph_find(g, id), &out);
	ok = same(g, out, n, want);
	CHECK(n != 0 || out == NULL);
	free(out);
	return (ok);
}

/* a; b and c need a; d needs b and c. */
static void
diamond(struct taskset *ts)
{
	add(ts, "a:build", (char *)NULL);
	add(ts, "b:build", "a:build", (char *)NULL);
	add(ts, "c:build", "a:build", (char *)NULL);
	add(ts, "d:build", "b:build", "c:build", (char *)NULL);
}

/* The diamond: one root, then b and c, then d once both are done. */
static void
test_diamond(void)
{
	struct taskset	 ts = { NULL, 0 };
	struct graph	*g;
	struct node	*d;
	size_t		*roots, n;

	diamond(&ts);
	if ((g = build_ok(&ts)) == NULL)
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
	struct taskset	 ts = { NULL, 0 };
	struct graph	*g;
	size_t		*roots, n;

	add(&ts, "z", (char *)NULL);
	add(&ts, "y", "z", (char *)NULL);
	add(&ts, "x", (char *)NULL);
	add(&ts, "w", "x", "z", (char *)NULL);
	add(&ts, "v", (char *)NULL);
	if ((g = build_ok(&ts)) == NULL)
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
	struct taskset	 ts = { NULL, 0 };
	struct graph	*g;
	size_t		*order, *pos, i, k, n;
	struct node	*nd;

	add(&ts, "e2e", "web", "api", (char *)NULL);
	add(&ts, "web", "ui", "util", (char *)NULL);
	add(&ts, "api", "util", (char *)NULL);
	add(&ts, "ui", "util", (char *)NULL);
	add(&ts, "util", (char *)NULL);
	add(&ts, "lint", (char *)NULL);
	if ((g = build_ok(&ts)) == NULL)
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
	struct taskset	 ts = { NULL, 0 };
	struct graph	*g;

	diamond(&ts);
	add(&ts, "e:lint", (char *)NULL);
	add(&ts, "f:test", "e:lint", (char *)NULL);
	add(&ts, "g:e2e", "d:build", "f:test", (char *)NULL);
	if ((g = build_ok(&ts)) == NULL)
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
	struct taskset	 ts = { NULL, 0 };
	struct graph	*g;

	diamond(&ts);
	if ((g = build_ok(&ts)) == NULL)
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
	struct taskset	 ts = { NULL, 0 };
	struct graph	*g;
	struct node	*d;

	diamond(&ts);
	if ((g = build_ok(&ts)) == NULL)
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
	struct taskset	 ts = { NULL, 0 };
	struct graph	*g;

	diamond(&ts);
	if ((g = build_ok(&ts)) == NULL)
		return;
	CHECK(graph_find(g, "a:build") == 0);
	CHECK(graph_find(g, "d:build") == 3);
	CHECK(graph_find(g, "a:buil") == GRAPH_NONE);
	CHECK(graph_find(g, "") == GRAPH_NONE);
	CHECK(graph_find(g, NULL) == GRAPH_NONE);
	graph_free(g);
}

/* Duplicate ids are named with both positions. */
static void
test_duplicate_ids(void)
{
	struct taskset	 ts = { NULL, 0 };
	char		*cause;

	add(&ts, "a:build", (char *)NULL);
	add(&ts, "b:build", (char *)NULL);
	add(&ts, "c:build", (char *)NULL);
	add(&ts, "a:build", (char *)NULL);
	cause = build_fail(&ts);
	CHECK_STREQ(cause, "duplicate task id \"a:build\" (tasks #1 and #4)");
	free(cause);
}

/* A dep naming no task is refused. */
static void
test_unknown_dep(void)
{
	struct taskset	 ts = { NULL, 0 };
	char		*cause;

	add(&ts, "lib:build", (char *)NULL);
	add(&ts, "app:build", "lib:bild", (char *)NULL);
	cause = build_fail(&ts);
	CHECK_STREQ(cause, "task \"app:build\": unknown dependency "
	    "\"lib:bild\"");
	free(cause);
}

/* A task depending on itself is refused. */
static void
test_self_dep(void)
{
	struct taskset	 ts = { NULL, 0 };
	char		*cause;

	add(&ts, "a:build", (char *)NULL);
	add(&ts, "b:build", "a:build", "b:build", (char *)NULL);
	cause = build_fail(&ts);
	CHECK_STREQ(cause, "task \"b:build\": depends on itself");
	free(cause);
}

/* A dep listed twice is refused, not silently merged. */
static void
test_dep_twice(void)
{
	struct taskset	 ts = { NULL, 0 };
	char		*cause;

	add(&ts, "a:build", (char *)NULL);
	add(&ts, "b:build", "a:build", (char *)NULL);
	add(&ts, "c:build", "b:build", "a:build", "b:build", (char *)NULL);
	cause = build_fail(&ts);
	CHECK_STREQ(cause, "task \"c:build\": dependency \"b:build\" is "
	    "listed twice");
	free(cause);
}

/* A 3-cycle is reported with its whole path. */
static void
test_cycle3(void)
{
	struct taskset	 ts = { NULL, 0 };
	char		*cause;

	add(&ts, "root", (char *)NULL);
	add(&ts, "a:build", "root", "b:build", (char *)NULL);
	add(&ts, "b:build", "c:build", (char *)NULL);
	add(&ts, "c:build", "a:build", (char *)NULL);
	add(&ts, "d:build", "a:build", (char *)NULL);
	cause = build_fail(&ts);
	CHECK_STREQ(cause, "dependency cycle: a:build -> b:build -> c:build "
	    "-> a:build");
	free(cause);
}

/* A cycle reached from outside is reported from where it closes. */
static void
test_cycle_entered(void)
{
	struct taskset	 ts = { NULL, 0 };
	char		*cause;

	add(&ts, "x", "b", (char *)NULL);
	add(&ts, "a", "b", (char *)NULL);
	add(&ts, "b", "c", (char *)NULL);
	add(&ts, "c", "a", (char *)NULL);
	cause = build_fail(&ts);
	CHECK_STREQ(cause, "dependency cycle: b -> c -> a -> b");
	free(cause);
}

/* Build the chain t0 <- t1 <- ... <- t(n-1); closed makes t0 need the last. */
static void
chain(struct taskset *ts, size_t n, int closed)
{
	char	id[32], prev[32];
	size_t	i;

	for (i = 0; i < n; i++) {
		snprintf(id, sizeof id, "t%zu", i);
		if (i == 0 && closed) {
			snprintf(prev, sizeof prev, "t%zu", n - 1);
			add(ts, id, prev, (char *)NULL);
		} else if (i == 0)
			add(ts, id, (char *)NULL);
		else
			add(ts, id, prev, (char *)NULL);
		memcpy(prev, id, sizeof prev);
	}
}

/* A 100,000-task chain builds, and runs to the end one task at a time. */
static void
test_big_chain(void)
{
	struct taskset	 ts = { NULL, 0 };
	struct graph	*g;
	size_t		*out, n, i, bad = 0;

	chain(&ts, BIG, 0);
	if ((g = build_ok(&ts)) == NULL)
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
	struct taskset	 ts = { NULL, 0 };
	struct graph	*g;
	size_t		*out, n, i, bad = 0;

	chain(&ts, BIG, 0);
	if ((g = build_ok(&ts)) == NULL)
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

	chain(&ts, BIG, 1);
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
	struct taskset	 ts = { NULL, 0 };
	struct graph	*g;
	size_t		*roots;

	if ((g = build_ok(&ts)) == NULL)
		return;
	CHECK(graph_size(g) == 0);
	CHECK(graph_roots(g, &roots) == 0 && roots == NULL);
	CHECK(graph_find(g, "a") == GRAPH_NONE);
	graph_free(g);
	graph_free(NULL);
}

/* Give the tasks named (space-separated) a restore command. */
static void
set_restores(struct taskset *ts, const char *ids)
{
	char	*copy, *s, *id;
	size_t	 i;

	copy = s = xstrdup(ids);
	while ((id = strsep(&s, " ")) != NULL) {
		for (i = 0; i < ts->ntasks; i++) {
			if (strcmp(ts->tasks[i].id, id) == 0)
				xasprintf(&ts->tasks[i].restore, "get %s", id);
		}
	}
	free(copy);
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
 * graph_restores: every task with a restore below the one asked for,
 * through tasks without one too, once each, dependencies first; never
 * the task itself, nor what it does not need.
 */
static void
test_restores(void)
{
	struct taskset	 ts = { NULL, 0 };
	struct graph	*g;
	struct task	**out;
	size_t		 n;

	/* util <- ui <- web; util <- api <- web; web, api <- e2e. */
	add(&ts, "e2e", "web", "api", (char *)NULL);
	add(&ts, "web", "ui", "api", (char *)NULL);
	add(&ts, "ui", "util", (char *)NULL);
	add(&ts, "api", "util", (char *)NULL);
	add(&ts, "util", (char *)NULL);
	/* gen <- codegen <- tool: gen only through a task without one. */
	add(&ts, "gen", (char *)NULL);
	add(&ts, "codegen", "gen", (char *)NULL);
	add(&ts, "tool", "codegen", (char *)NULL);
	add(&ts, "lint", (char *)NULL);
	set_restores(&ts, "web api util gen lint");
	if ((g = build_ok(&ts)) == NULL)
		return;

	CHECK(restores(g, "e2e", "util api web"));
	/* The exact order: the only one util, api, web allow. */
	n = graph_restores(g, graph_find(g, "e2e"), &out);
	CHECK(n == 3);
	if (n == 3) {
		CHECK_STREQ(out[0]->id, "util");
		CHECK_STREQ(out[1]->id, "api");
		CHECK_STREQ(out[2]->id, "web");
	}
	free(out);
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
	struct taskset	 ts = { NULL, 0 };
	struct graph	*g;
	struct task	**out;
	size_t		 n;

	diamond(&ts);
	add(&ts, "e:test", "d:build", "a:build", (char *)NULL);
	set_restores(&ts, "a:build b:build c:build d:build e:test");
	if ((g = build_ok(&ts)) == NULL)
		return;
	CHECK(restores(g, "d:build", "a:build b:build c:build"));
	CHECK(restores(g, "e:test", "a:build b:build c:build d:build"));
	n = graph_restores(g, graph_find(g, "e:test"), &out);
	CHECK(n == 4);
	if (n == 4) {
		CHECK_STREQ(out[0]->id, "a:build");
		CHECK_STREQ(out[3]->id, "d:build");
	}
	free(out);
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
	struct taskset	 ts = { NULL, 0 };
	struct graph	*g;
	struct task	**out;
	size_t		 n, i;

	diamond(&ts);
	for (i = 0; i < ts.ntasks; i++) {
		if (strcmp(ts.tasks[i].id, "b:build") == 0 ||
		    strcmp(ts.tasks[i].id, "a:build") == 0)
			ts.tasks[i].restore_inline = 1;
	}
	if ((g = build_ok(&ts)) == NULL)
		return;
	n = graph_restores(g, graph_find(g, "d:build"), &out);
	CHECK(n == 2);
	if (n == 2) {
		CHECK_STREQ(out[0]->id, "a:build");
		CHECK_STREQ(out[1]->id, "b:build");
		CHECK(out[0]->restore == NULL && out[0]->restore_inline);
	}
	free(out);
	n = graph_restores(g, graph_find(g, "c:build"), &out);
	CHECK(n == 1 && out != NULL && strcmp(out[0]->id, "a:build") == 0);
	free(out);
	graph_free(g);
}

/* A graph without any restore command: 0 and NULL for every task. */
static void
test_restores_none(void)
{
	struct taskset	 ts = { NULL, 0 };
	struct graph	*g;
	struct task	 stale, *stalep = &stale, **out;
	size_t		 i;

	diamond(&ts);
	if ((g = build_ok(&ts)) == NULL)
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
	struct taskset	 ts = { NULL, 0 };
	struct graph	*g;
	struct task	**out;
	size_t		 i, n, bad = 0;

	chain(&ts, BIG, 0);
	for (i = 0; i < ts.ntasks; i += 100)
		ts.tasks[i].restore = xstrdup("get");
	if ((g = build_ok(&ts)) == NULL)
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
	TEST_RUN(test_duplicate_ids);
	TEST_RUN(test_unknown_dep);
	TEST_RUN(test_self_dep);
	TEST_RUN(test_dep_twice);
	TEST_RUN(test_cycle3);
	TEST_RUN(test_cycle_entered);
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
