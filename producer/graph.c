/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The task graph: validation of a parsed taskset and the readiness logic
 * the producer drives. Pure: no I/O, no Redis, no event loop.
 *
 * graph_new() takes the tasks over and checks, in this order:
 *
 * 0. graph_check_tasks(): what no agent could carry out: an id that is not
 *    well-formed UTF-8 (its result would come back under another id, as
 *    JSON replaces the bad bytes), a command or environment entry longer
 *    than the kernel lets one argument be (GRAPH_ARG_MAX);
 * 1. graph_index(): ids are unique, hashing id -> node index (open
 *    addressing, linear probing, a power-of-two table at most half full);
 * 2. graph_link(): every dep names another task, once; deps and
 *    dependents are filled in, in file order, from two shared edge arrays;
 * 3. graph_check_cycles(): an iterative depth-first search over the deps
 *    (an explicit stack, so a 100,000-task chain cannot overflow the C
 *    stack); a cycle is reported as its path.
 *
 * All three are O(tasks + edges). Afterwards the producer pushes
 * graph_roots(), and feeds every result back: graph_succeeded() returns
 * the dependents that became ready, graph_failed() the transitive
 * dependents that are now skipped. A node is "done" once it succeeded,
 * failed or was skipped; results for done nodes change nothing.
 *
 * Error messages name tasks by id but not the file; the caller adds that.
 */

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "producer.h"

/*
 * The kernel's limit on one argument or environment string (Linux's
 * MAX_ARG_STRLEN, 32 pages), NUL included: a longer command cannot be
 * passed to /bin/sh -c at all.
 */
#define GRAPH_ARG_MAX	131072

/* Cycles longer than this are shown with the middle left out. */
#define GRAPH_CYCLE_SHOW	20
#define GRAPH_CYCLE_HEAD	10
#define GRAPH_CYCLE_TAIL	5

struct graph {
	struct taskset	 ts;		/* the tasks, owned */
	struct node	*nodes;		/* one per task, same order */
	size_t		 nnodes;
	size_t		*edges;		/* all deps, then all dependents */
	size_t		*slots;		/* id hash: node index or GRAPH_NONE */
	size_t		 mask;		/* number of slots - 1 */
	int		 restores;	/* -1 not looked, 0 none, 1 some */
	size_t		*stamps;	/* graph_restores(): last visit */
	size_t		 stamp;
};

/* A growable string, for the cycle message. */
struct graph_buf {
	char	*s;
	size_t	 len;
	size_t	 size;
};

/* Hash an id (64-bit FNV-1a). */
static uint64_t
graph_hash(const char *s)
{
	uint64_t	h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (h);
}

/* Find the slot holding id, or the empty slot where it would go. */
static size_t
graph_slot(const struct graph *g, const char *id)
{
	size_t	h, n;

	h = (size_t)graph_hash(id) & g->mask;
	while ((n = g->slots[h]) != GRAPH_NONE) {
		if (strcmp(g->nodes[n].task->id, id) == 0)
			break;
		h = (h + 1) & g->mask;
	}
	return (h);
}

/* Build the id hash; fails on a duplicate id. */
static int
graph_index(struct graph *g, char **cause)
{
	size_t	nslots = 16, i, h;

	assert(g->nnodes <= SIZE_MAX / 4);
	while (nslots < 2 * g->nnodes)
		nslots <<= 1;
	g->slots = xreallocarray(NULL, nslots, sizeof *g->slots);
	memset(g->slots, 0xff, nslots * sizeof *g->slots);	/* GRAPH_NONE */
	g->mask = nslots - 1;

	for (i = 0; i < g->nnodes; i++) {
		h = graph_slot(g, g->nodes[i].task->id);
		if (g->slots[h] != GRAPH_NONE) {
			xasprintf(cause, "duplicate task id \"%s\" (tasks #%zu "
			    "and #%zu)", g->nodes[i].task->id,
			    g->slots[h] + 1, i + 1);
			return (-1);
		}
		g->slots[h] = i;
	}
	return (0);
}

/* Check each task on its own: see the top of the file (step 0). */
static int
graph_check_tasks(struct graph *g, char **cause)
{
	const struct task	*t;
	size_t			 i, k, at, len;

	for (i = 0; i < g->nnodes; i++) {
		t = g->nodes[i].task;
		if (!util_utf8_valid(t->id, strlen(t->id), &at)) {
			xasprintf(cause, "task #%zu: its id is not valid UTF-8 "
			    "(byte %zu)", i + 1, at);
			return (-1);
		}
		if ((len = strlen(t->command)) >= GRAPH_ARG_MAX) {
			xasprintf(cause, "task \"%s\": its command is %zu "
			    "bytes; no command over %d bytes can be run",
			    t->id, len, GRAPH_ARG_MAX - 1);
			return (-1);
		}
		for (k = 0; k < t->nenv; k++) {
			len = strlen(t->env[k].name) + 1 +
			    strlen(t->env[k].value);
			if (len >= GRAPH_ARG_MAX) {
				xasprintf(cause, "task \"%s\": env %s is %zu "
				    "bytes; no variable over %d bytes can be "
				    "passed", t->id, t->env[k].name, len,
				    GRAPH_ARG_MAX - 1);
				return (-1);
			}
		}
	}
	return (0);
}

/* Resolve node i's dep names into indices and count the dependents. */
static int
graph_link_deps(struct graph *g, size_t i, size_t *stamp, char **cause)
{
	struct node	*n = &g->nodes[i];
	const char	*dep;
	size_t		 k, j;

	for (k = 0; k < n->ndeps; k++) {
		dep = n->task->deps[k];
		if ((j = graph_find(g, dep)) == GRAPH_NONE) {
			xasprintf(cause, "task \"%s\": unknown dependency "
			    "\"%s\"", n->task->id, dep);
			return (-1);
		}
		if (j == i) {
			xasprintf(cause, "task \"%s\": depends on itself",
			    n->task->id);
			return (-1);
		}
		if (stamp[j] == i + 1) {
			xasprintf(cause, "task \"%s\": dependency \"%s\" is "
			    "listed twice", n->task->id, dep);
			return (-1);
		}
		stamp[j] = i + 1;
		n->deps[k] = j;
		g->nodes[j].ndependents++;
	}
	return (0);
}

/* Fill in every node's deps and dependents; fails on a bad dep. */
static int
graph_link(struct graph *g, char **cause)
{
	struct node	*n, *d;
	size_t		 total = 0, off = 0, i, k, *stamp;

	for (i = 0; i < g->nnodes; i++)
		total += g->nodes[i].task->ndeps;
	g->edges = xcalloc(2 * total, sizeof *g->edges);

	/* stamp[j] == i + 1: node i already named j. */
	stamp = xcalloc(g->nnodes, sizeof *stamp);
	for (i = 0; i < g->nnodes; i++) {
		n = &g->nodes[i];
		n->deps = g->edges + off;
		n->ndeps = n->task->ndeps;
		off += n->ndeps;
		if (graph_link_deps(g, i, stamp, cause) != 0) {
			free(stamp);
			return (-1);
		}
	}
	free(stamp);

	/* Lay the dependents out after the deps, then fill in file order. */
	for (i = 0; i < g->nnodes; i++) {
		n = &g->nodes[i];
		n->dependents = g->edges + off;
		off += n->ndependents;
		n->ndependents = 0;
		n->pending = n->ndeps;
	}
	for (i = 0; i < g->nnodes; i++) {
		n = &g->nodes[i];
		for (k = 0; k < n->ndeps; k++) {
			d = &g->nodes[n->deps[k]];
			d->dependents[d->ndependents++] = i;
		}
	}
	return (0);
}

/* Append s to b. */
static void
graph_buf_add(struct graph_buf *b, const char *s)
{
	size_t	n = strlen(s);

	if (b->len + n + 1 > b->size) {
		while (b->len + n + 1 > b->size)
			b->size = b->size == 0 ? 256 : b->size * 2;
		b->s = xreallocarray(b->s, b->size, 1);
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

/* Describe the cycle cyc[0] -> ... -> cyc[len - 1] -> cyc[0]. */
static char *
graph_cycle_message(struct graph *g, const size_t *cyc, size_t len)
{
	struct graph_buf	 b;
	char			*skip;
	size_t			 i;

	memset(&b, 0, sizeof b);
	graph_buf_add(&b, "dependency cycle: ");
	for (i = 0; i < len; i++) {
		if (len > GRAPH_CYCLE_SHOW && i == GRAPH_CYCLE_HEAD) {
			xasprintf(&skip, "... (%zu more) -> ",
			    len - GRAPH_CYCLE_HEAD - GRAPH_CYCLE_TAIL);
			graph_buf_add(&b, skip);
			free(skip);
			i = len - GRAPH_CYCLE_TAIL;
		}
		graph_buf_add(&b, g->nodes[cyc[i]].task->id);
		graph_buf_add(&b, " -> ");
	}
	graph_buf_add(&b, g->nodes[cyc[0]].task->id);
	return (b.s);
}

/*
 * Look for a cycle with an iterative depth-first search along the deps.
 * state: 0 not seen, 1 on the stack, 2 finished; next[u] is the next dep
 * of u to follow. Roots are tried in file order, so the cycle reported
 * starts at the task that comes first in the file among those reached.
 */
static int
graph_check_cycles(struct graph *g, char **cause)
{
	unsigned char	*state;
	size_t		*stack, *next, sp, root, u, v, k;
	int		 rc = 0;

	state = xcalloc(g->nnodes, sizeof *state);
	next = xcalloc(g->nnodes, sizeof *next);
	stack = xcalloc(g->nnodes, sizeof *stack);

	for (root = 0; root < g->nnodes && rc == 0; root++) {
		if (state[root] != 0)
			continue;
		sp = 0;
		stack[sp++] = root;
		state[root] = 1;
		while (sp > 0) {
			u = stack[sp - 1];
			if (next[u] == g->nodes[u].ndeps) {
				state[u] = 2;
				sp--;
				continue;
			}
			v = g->nodes[u].deps[next[u]++];
			if (state[v] == 0) {
				state[v] = 1;
				stack[sp++] = v;
			} else if (state[v] == 1) {
				k = sp - 1;
				while (stack[k] != v)
					k--;
				*cause = graph_cycle_message(g, stack + k,
				    sp - k);
				rc = -1;
				break;
			}
		}
	}

	free(stack);
	free(next);
	free(state);
	return (rc);
}

/*
 * Build and check the graph of ts. Takes the tasks over: *ts is zeroed on
 * success and on failure (when the tasks are freed). Returns NULL with
 * *cause set (caller frees) on duplicate ids, bad deps or a cycle.
 */
struct graph *
graph_new(struct taskset *ts, char **cause)
{
	struct graph	*g;
	size_t		 i;

	g = xcalloc(1, sizeof *g);
	g->restores = -1;
	g->ts = *ts;
	memset(ts, 0, sizeof *ts);
	g->nnodes = g->ts.ntasks;
	g->nodes = xcalloc(g->nnodes, sizeof *g->nodes);
	for (i = 0; i < g->nnodes; i++)
		g->nodes[i].task = &g->ts.tasks[i];

	if (graph_check_tasks(g, cause) != 0 || graph_index(g, cause) != 0 ||
	    graph_link(g, cause) != 0 || graph_check_cycles(g, cause) != 0) {
		graph_free(g);
		return (NULL);
	}
	return (g);
}

/* Free the graph and its tasks; NULL is a no-op. */
void
graph_free(struct graph *g)
{
	if (g == NULL)
		return;
	taskset_free(&g->ts);
	free(g->stamps);
	free(g->slots);
	free(g->edges);
	free(g->nodes);
	free(g);
}

/* Return the number of tasks. */
size_t
graph_size(const struct graph *g)
{
	return (g->nnodes);
}

/* Return node i; the graph keeps it. */
struct node *
graph_node(struct graph *g, size_t i)
{
	assert(i < g->nnodes);
	return (&g->nodes[i]);
}

/* Return the index of the task with this id, or GRAPH_NONE. */
size_t
graph_find(const struct graph *g, const char *id)
{
	if (id == NULL || g->slots == NULL)
		return (GRAPH_NONE);
	return (g->slots[graph_slot(g, id)]);
}

/* Return the tasks with no deps, in file order, in *out (caller frees). */
size_t
graph_roots(const struct graph *g, size_t **out)
{
	size_t	i, n = 0;

	*out = NULL;
	for (i = 0; i < g->nnodes; i++) {
		if (g->nodes[i].ndeps == 0)
			n++;
	}
	if (n == 0)
		return (0);
	*out = xreallocarray(NULL, n, sizeof **out);
	n = 0;
	for (i = 0; i < g->nnodes; i++) {
		if (g->nodes[i].ndeps == 0)
			(*out)[n++] = i;
	}
	return (n);
}

/*
 * Every task in dependency order, each after all of its deps (Kahn's
 * algorithm, roots in file order): graph_size() entries, caller frees.
 * graph_new() refused cycles, so every task is in it.
 */
size_t *
graph_order(const struct graph *g)
{
	const struct node	*nd;
	size_t			*indeg, *order, head = 0, tail = 0, i, k, d;

	indeg = xcalloc(g->nnodes + 1, sizeof *indeg);
	order = xcalloc(g->nnodes + 1, sizeof *order);
	for (i = 0; i < g->nnodes; i++) {
		if ((indeg[i] = g->nodes[i].ndeps) == 0)
			order[tail++] = i;
	}
	while (head < tail) {
		nd = &g->nodes[order[head++]];
		for (k = 0; k < nd->ndependents; k++) {
			d = nd->dependents[k];
			if (--indeg[d] == 0)
				order[tail++] = d;
		}
	}
	free(indeg);
	return (order);
}

/*
 * The tasks with a restore (a command, or inline: the dependent's own
 * command brings their outputs) among everything task i needs, down
 * the graph, each once and after its own dependencies (the order its
 * outputs can be restored in). Returns how many, in *out (caller frees;
 * NULL if none). A graph without restores costs one pass, once.
 */
size_t
graph_restores(struct graph *g, size_t i, struct task ***out)
{
	struct task	**list = NULL;
	size_t		*stack, *next, top = 0, n = 0, cap = 0, j, d;

	*out = NULL;
	if (g->restores == -1) {
		g->restores = 0;
		for (j = 0; j < g->nnodes && !g->restores; j++) {
			g->restores = g->nodes[j].task->restore != NULL ||
			    g->nodes[j].task->restore_inline;
		}
		if (g->restores)
			g->stamps = xcalloc(g->nnodes, sizeof *g->stamps);
	}
	if (!g->restores)
		return (0);
	g->stamp++;
	/* Depth first, a task listed once all its dependencies were. */
	stack = xcalloc(g->nnodes + 1, sizeof *stack);
	next = xcalloc(g->nnodes + 1, sizeof *next);
	stack[top] = i;
	next[top++] = 0;
	g->stamps[i] = g->stamp;
	while (top > 0) {
		j = stack[top - 1];
		if (next[top - 1] < g->nodes[j].ndeps) {
			d = g->nodes[j].deps[next[top - 1]++];
			if (g->stamps[d] == g->stamp)
				continue;
			g->stamps[d] = g->stamp;
			stack[top] = d;
			next[top++] = 0;
			continue;
		}
		top--;
		if (j != i && (g->nodes[j].task->restore != NULL ||
		    g->nodes[j].task->restore_inline)) {
			if (n == cap) {
				cap = cap == 0 ? 16 : cap * 2;
				list = xreallocarray(list, cap, sizeof *list);
			}
			list[n++] = g->nodes[j].task;
		}
	}
	free(stack);
	free(next);
	*out = list;
	return (n);
}

/*
 * Record that task i succeeded. Returns the dependents that became ready,
 * in file order, in *out (caller frees; NULL if none). A task already done
 * (a repeated or late result) changes nothing and returns 0.
 */
size_t
graph_succeeded(struct graph *g, size_t i, size_t **out)
{
	struct node	*n, *d;
	size_t		 k, count = 0, *ready = NULL;

	*out = NULL;
	assert(i < g->nnodes);
	n = &g->nodes[i];
	if (n->done)
		return (0);
	n->done = 1;
	for (k = 0; k < n->ndependents; k++) {
		d = &g->nodes[n->dependents[k]];
		assert(d->pending > 0);
		if (--d->pending != 0 || d->done)
			continue;
		if (ready == NULL)
			ready = xreallocarray(NULL, n->ndependents,
			    sizeof *ready);
		ready[count++] = n->dependents[k];
	}
	*out = ready;
	return (count);
}

/* Add the dependents of node i that are not done to the list, marking them. */
static void
graph_skip_dependents(struct graph *g, size_t i, size_t **list, size_t *n,
    size_t *size)
{
	struct node	*node = &g->nodes[i], *d;
	size_t		 k;

	for (k = 0; k < node->ndependents; k++) {
		d = &g->nodes[node->dependents[k]];
		if (d->done)
			continue;
		d->done = 1;
		if (*n == *size) {
			*size = *size == 0 ? 16 : *size * 2;
			*list = xreallocarray(*list, *size, sizeof **list);
		}
		(*list)[(*n)++] = node->dependents[k];
	}
}

/*
 * Record that task i failed. Every transitive dependent not yet done is
 * marked done (skipped) and returned once each, nearest first, in *out
 * (caller frees; NULL if none). A task already done returns 0.
 */
size_t
graph_failed(struct graph *g, size_t i, size_t **out)
{
	size_t	*list = NULL, n = 0, size = 0, head;

	*out = NULL;
	assert(i < g->nnodes);
	if (g->nodes[i].done)
		return (0);
	g->nodes[i].done = 1;

	/* Breadth first; the list itself is the queue. */
	graph_skip_dependents(g, i, &list, &n, &size);
	for (head = 0; head < n; head++)
		graph_skip_dependents(g, list[head], &list, &n, &size);
	*out = list;
	return (n);
}

/* Order ids for graph_digest(). */
static int
graph_id_cmp(const void *a, const void *b)
{
	const struct node *const *x = a, *const *y = b;

	return (strcmp((*x)->task->id, (*y)->task->id));
}

/*
 * The digest of the task set (SHA-1 in hex): each task's id, command,
 * directory and dependencies, in id order, so that the order of a file or
 * of a tool's output does not matter. Two submits of one run may share it
 * only with the same digest (register.c).
 */
void
graph_digest(struct graph *g, char out[41])
{
	struct node	**v, *n;
	char		*buf = NULL, *p;
	size_t		 i, j, len = 0, cap = 0, need, nn = graph_size(g);

	v = xcalloc(nn + 1, sizeof *v);
	for (i = 0; i < nn; i++)
		v[i] = graph_node(g, i);
	qsort(v, nn, sizeof *v, graph_id_cmp);
	for (i = 0; i < nn; i++) {
		n = v[i];
		need = strlen(n->task->id) + strlen(n->task->command) +
		    (n->task->cwd != NULL ? strlen(n->task->cwd) : 0) + 8;
		for (j = 0; j < n->task->ndeps; j++)
			need += strlen(n->task->deps[j]) + 1;
		if (len + need > cap) {
			cap = (len + need) * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		/* NUL-separated fields, one newline per task. */
		p = buf + len;
		p = stpcpy(p, n->task->id) + 1;
		p = stpcpy(p, n->task->command) + 1;
		p = stpcpy(p, n->task->cwd != NULL ? n->task->cwd : "") + 1;
		for (j = 0; j < n->task->ndeps; j++)
			p = stpcpy(p, n->task->deps[j]) + 1;
		*p++ = '\n';
		len = (size_t)(p - buf);
	}
	util_sha1_hex(buf != NULL ? buf : "", len, out);
	free(buf);
	free(v);
}
