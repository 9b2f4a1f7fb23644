/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The run's summary, computed once the run is over (summary_build(),
 * which reads a const struct submit and fills the second half of its
 * struct report) from s->pt and what report.c kept:
 *
 * - the order of the summary table: successes, skipped, unfinished, and
 *   failures last, each group by start time; past SUMMARY_FULL_MAX tasks
 *   the log's table has only the slowest, the flaky and the failures
 *   (summary_short_rows());
 * - the totals, flaky tasks (a last attempt that succeeded after a failed
 *   one), cache hits (succeeded, not run: cached.c), the wall time and
 *   the sum of task times;
 * - the critical path: the chain of dependencies with the most work,
 *   from the graph and the actual durations of every attempt;
 * - the lanes of the HTML timeline: one per agent slot, found by packing
 *   each agent's attempts into as few rows as never overlap, and as many
 *   as the agent offered (record_collect() reads them), idle or not.
 *
 * The report files are written from it by export.c (--json), junit.c and
 * html.c.
 */

#include <stdlib.h>
#include <string.h>

#include "producer.h"

/* One attempt's place in the lane packing order. */
struct summary_key {
	const char	*agent;
	uint64_t	 start;
	size_t		 index;
};

/* Is task i's final result a failure (not success, not skipped)? */
int
summary_is_failure(const struct submit *s, size_t i)
{
	const struct ptask	*p = &s->pt[i];

	return (p->state == PT_DONE && p->result.status != RESULT_SUCCESS &&
	    p->result.status != RESULT_SKIPPED);
}

/* Is task i a cache hit: succeeded, not run (cached.c)? */
int
summary_is_cached(const struct submit *s, size_t i)
{
	const struct ptask	*p = &s->pt[i];

	return (p->state == PT_DONE && p->result.status == RESULT_SUCCESS &&
	    p->result.cached);
}

/*
 * The attempts of task i that an agent started: a skipped task ran none,
 * and an attempt dispatched but never started (the run ended first) does
 * not count. p->tries counts every dispatch but those lost with their
 * agent (taken back from tries, so as not to use up a retry), which
 * p->lost counts; a task that failed by being lost too often had its
 * last one counted in both.
 */
int
summary_attempts(const struct submit *s, size_t i)
{
	const struct ptask	*p = &s->pt[i];
	int			 n = p->tries + p->lost;

	if (p->state == PT_DONE && p->result.status == RESULT_SKIPPED)
		return (0);
	if (p->state == PT_DONE && p->result.status == RESULT_LOST && n > 0)
		n--;
	if (p->state == PT_QUEUED)	/* its last dispatch never started */
		return (n > 0 ? n - 1 : 0);
	return (n);
}

/*
 * The number of task i's last attempt that an agent started (0: none
 * did), as summary_attempts() counts them.
 */
int
summary_attempt(const struct submit *s, size_t i)
{
	const struct ptask	*p = &s->pt[i];

	switch (p->state) {
	case PT_DONE:
		return (p->result.attempt);
	case PT_RUNNING:
		return (p->attempt);
	default:
		return (summary_attempts(s, i));
	}
}

/*
 * Has the task a result of its own, with an exit status (in this submit
 * or, resumed, an earlier one)? A skipped one has none.
 */
int
summary_ran(const struct submit *s, size_t i)
{
	const struct ptask	*p = &s->pt[i];

	return (p->state == PT_DONE && p->result.status != RESULT_SKIPPED);
}

/* Did task i succeed only after a failed attempt? */
int
summary_is_flaky(const struct submit *s, size_t i)
{
	const struct ptask	*p = &s->pt[i];

	return (p->state == PT_DONE && p->result.status == RESULT_SUCCESS &&
	    p->tries > 1);
}

/*
 * The word for task i's state: a status name, or where it stopped. A
 * task whose dependencies never finished is "not run", even one whose
 * message was pushed early (staged); "queued" is one that was ready.
 */
const char *
summary_word(const struct submit *s, size_t i)
{
	const struct ptask	*p = &s->pt[i];

	switch (p->state) {
	case PT_WAITING:
		return (report_is_waiting(s, i) ? "not run" : "queued");
	case PT_QUEUED:
		return (p->staged ? "not run" : "queued");
	case PT_RUNNING:
		return (p->killed ? "cancelled" : "running");
	}
	return (result_status_name(p->result.status));
}

/* The end of task i's last output ("" if none); *len its length. */
const char *
summary_tail(const struct submit *s, size_t i, size_t *len)
{
	const struct report	*r = s->report;
	const struct rattempt	*a;

	*len = 0;
	if (r->tasks[i].last == GRAPH_NONE)
		return ("");
	a = &r->attempts[r->tasks[i].last];
	if (a->tail == NULL)
		return ("");
	*len = a->taillen;
	return (a->tail);
}

/* The summary group of task i: failures come last. */
static int
summary_rank(const struct submit *s, size_t i)
{
	if (s->pt[i].state != PT_DONE)
		return (2);
	if (s->pt[i].result.status == RESULT_SUCCESS)
		return (0);
	if (s->pt[i].result.status == RESULT_SKIPPED)
		return (1);
	return (3);
}

/* Order tasks by group, start time, then task-file order. */
static int
summary_order_cmp(const void *a, const void *b, void *arg)
{
	const struct submit	*s = arg;
	size_t			 x = *(const size_t *)a, y = *(const size_t *)b;
	int			 rx = summary_rank(s, x);
	int			 ry = summary_rank(s, y);
	uint64_t		 sx = s->pt[x].result.start_ms;
	uint64_t		 sy = s->pt[y].result.start_ms;

	if (rx != ry)
		return (rx < ry ? -1 : 1);
	if (sx != sy)
		return (sx < sy ? -1 : 1);
	return (x < y ? -1 : x > y);
}

/* The work of task i on the critical path: all its attempts. */
static uint64_t
summary_weight(const struct submit *s, size_t i)
{
	const struct report	*r = s->report;
	const struct ptask	*p = &s->pt[i];

	if (r->tasks[i].work_ms > 0)
		return (r->tasks[i].work_ms);
	if (p->state == PT_DONE && p->result.status != RESULT_SKIPPED)
		return (p->result.duration_ms);
	return (0);
}

/*
 * The critical path: visit the graph in dependency order (Kahn), give
 * each task the heaviest chain of work that ends with it, and walk back
 * from the heaviest end.
 */
static void
summary_path(struct report *r, const struct submit *s)
{
	struct node	*nd;
	size_t		 n = graph_size(s->g), *queue, i, j, k;
	size_t		 end = GRAPH_NONE, len;
	uint64_t	 best;

	queue = graph_order(s->g);
	for (j = 0; j < n; j++) {
		i = queue[j];
		nd = graph_node(s->g, i);
		best = 0;
		r->tasks[i].path_prev = GRAPH_NONE;
		for (k = 0; k < nd->ndeps; k++) {
			if (r->tasks[nd->deps[k]].path_ms > best ||
			    r->tasks[i].path_prev == GRAPH_NONE) {
				best = r->tasks[nd->deps[k]].path_ms;
				r->tasks[i].path_prev = nd->deps[k];
			}
		}
		r->tasks[i].path_ms = best + summary_weight(s, i);
		if (end == GRAPH_NONE ||
		    r->tasks[i].path_ms > r->tasks[end].path_ms)
			end = i;
	}
	free(r->path);
	r->path = NULL;
	r->npath = 0;
	r->path_ms = 0;
	if (end == GRAPH_NONE || r->tasks[end].path_ms == 0) {
		free(queue);
		return;
	}
	r->path_ms = r->tasks[end].path_ms;
	for (len = 0, i = end; i != GRAPH_NONE; i = r->tasks[i].path_prev)
		queue[len++] = i;
	r->path = xcalloc(len, sizeof *r->path);
	for (k = 0; k < len; k++) {
		r->path[k] = queue[len - 1 - k];
		r->tasks[r->path[k]].critical = 1;
	}
	r->npath = len;
	free(queue);
}

/* Order attempts by agent, then start time. */
static int
summary_key_cmp(const void *a, const void *b)
{
	const struct summary_key	*x = a, *y = b;
	int				 c;

	if ((c = strcmp(x->agent, y->agent)) != 0)
		return (c);
	if (x->start != y->start)
		return (x->start < y->start ? -1 : 1);
	return (x->index < y->index ? -1 : x->index > y->index);
}

/* Name the slots of one agent as lanes: "agent", or "agent #N". */
static void
summary_name_lanes(struct report *r, const char *agent, size_t nslots)
{
	size_t	k;

	r->lanes = xreallocarray(r->lanes, r->nlanes + nslots,
	    sizeof *r->lanes);
	for (k = 0; k < nslots; k++) {
		if (nslots == 1)
			r->lanes[r->nlanes + k] = xstrdup(agent);
		else
			xasprintf(&r->lanes[r->nlanes + k], "%s #%zu", agent,
			    k + 1);
	}
	r->nlanes += nslots;
}

/* The slots agent offered (slots:NAME), 0 if it did not say. */
static size_t
summary_declared(const struct report *r, const char *agent)
{
	size_t	k;

	for (k = 0; k < r->nslots; k++) {
		if (strcmp(r->slots[k].agent, agent) == 0)
			return ((size_t)r->slots[k].slots);
	}
	return (0);
}

/* Order strings (for qsort of const char *). */
static int
summary_str_cmp(const void *a, const void *b)
{
	return (strcmp(*(const char *const *)a, *(const char *const *)b));
}

/*
 * The agents of the timeline, by name: those that ran an attempt and
 * those that offered slots (used or not). *n their number. Caller frees
 * the array (the names are borrowed).
 */
static const char **
summary_agents(const struct report *r, size_t *n)
{
	const char	**names;
	size_t		  k, m = 0, out = 0;

	names = xcalloc(r->nattempts + r->nslots + 1, sizeof *names);
	for (k = 0; k < r->nattempts; k++)
		names[m++] = r->attempts[k].agent;
	for (k = 0; k < r->nslots; k++)
		names[m++] = r->slots[k].agent;
	if (m > 1)
		qsort(names, m, sizeof *names, summary_str_cmp);
	for (k = 0; k < m; k++) {
		if (out == 0 || strcmp(names[out - 1], names[k]) != 0)
			names[out++] = names[k];
	}
	*n = out;
	return (names);
}

/*
 * Pack each agent's attempts into slots, first fit by start time: the
 * fewest rows in which no two attempts overlap. Each slot is a lane, and
 * so is each slot an agent offered and never used (an idle slot shows).
 */
static void
summary_lanes(struct report *r)
{
	struct summary_key	*keys;
	struct rattempt		*a;
	uint64_t		*ends;
	const char		**agents;
	size_t			 k = 0, j, slot, nslots, nagents, want;

	keys = xcalloc(r->nattempts + 1, sizeof *keys);
	for (j = 0; j < r->nattempts; j++) {
		keys[j].agent = r->attempts[j].agent;
		keys[j].start = r->attempts[j].start_ms;
		keys[j].index = j;
	}
	if (r->nattempts > 1)
		qsort(keys, r->nattempts, sizeof *keys, summary_key_cmp);
	ends = xcalloc(r->nattempts + 1, sizeof *ends);
	agents = summary_agents(r, &nagents);
	r->nagents = 0;
	for (j = 0; j < nagents; j++) {
		nslots = 0;
		for (; k < r->nattempts && strcmp(keys[k].agent,
		    agents[j]) == 0; k++) {
			a = &r->attempts[keys[k].index];
			for (slot = 0; slot < nslots; slot++) {
				if (ends[slot] <= a->start_ms)
					break;
			}
			if (slot == nslots)
				nslots++;
			ends[slot] = a->end_ms > a->start_ms ? a->end_ms :
			    a->start_ms;
			a->lane = r->nlanes + slot;
		}
		if ((want = summary_declared(r, agents[j])) > nslots)
			nslots = want;
		if (nslots == 0)
			continue;
		summary_name_lanes(r, agents[j], nslots);
		r->nagents++;
	}
	free(agents);
	free(ends);
	free(keys);
}

/* Order task indices by duration, longest first, then index. */
static int
summary_slow_cmp(const void *a, const void *b, void *arg)
{
	const struct submit	*s = arg;
	size_t			 x = *(const size_t *)a, y = *(const size_t *)b;
	uint64_t		 dx = s->pt[x].result.duration_ms;
	uint64_t		 dy = s->pt[y].result.duration_ms;

	if (dx != dy)
		return (dx > dy ? -1 : 1);
	return (x < y ? -1 : x > y);
}

/*
 * The rows of the log's summary table for a run of more than
 * SUMMARY_FULL_MAX tasks (summary_build() made r->order): the
 * SUMMARY_SLOWEST slowest tasks that ran, longest first (those of them
 * flaky or failed come with their group), then the flaky tasks, then the
 * failures, last as in the full table. rows has room for every task;
 * returns the number of rows, *nslow how many are of the slowest.
 */
size_t
summary_short_rows(const struct submit *s, size_t *rows, size_t *nslow)
{
	const struct report	*r = s->report;
	size_t			*ran, nran = 0, n = graph_size(s->g), k, i;
	size_t			 nrows = 0;

	ran = xcalloc(n + 1, sizeof *ran);
	for (i = 0; i < n; i++) {
		if (summary_ran(s, i) && !summary_is_cached(s, i))
			ran[nran++] = i;
	}
	/* qsort_r() takes no const argument; the comparison only reads. */
	qsort_r(ran, nran, sizeof *ran, summary_slow_cmp, (void *)s);
	for (k = 0; k < nran && k < SUMMARY_SLOWEST; k++) {
		if (!summary_is_flaky(s, ran[k]) &&
		    !summary_is_failure(s, ran[k]))
			rows[nrows++] = ran[k];
	}
	*nslow = nrows;
	for (k = 0; k < n; k++) {
		if (summary_is_flaky(s, r->order[k]))
			rows[nrows++] = r->order[k];
	}
	for (k = 0; k < n; k++) {
		if (summary_is_failure(s, r->order[k]))
			rows[nrows++] = r->order[k];
	}
	free(ran);
	return (nrows);
}

/* Compute everything the summary and the report files show. */
void
summary_build(struct report *r, const struct submit *s)
{
	const struct ptask *p;
	size_t		 i, k, n = graph_size(s->g);

	r->wall_ms = (s->ended != 0 ? s->ended : util_now_ms()) - s->started;
	r->work_ms = 0;
	r->unfinished = r->flaky = r->nfailed = r->ncached = 0;
	memset(r->counts, 0, sizeof r->counts);
	free(r->order);
	r->order = xcalloc(n + 1, sizeof *r->order);
	for (i = 0; i < n; i++) {
		p = &s->pt[i];
		r->order[i] = i;
		r->work_ms += summary_weight(s, i);
		if (p->state != PT_DONE)
			r->unfinished++;
		else if (p->result.status >= 0 &&
		    p->result.status < RESULT_NSTATUS)
			r->counts[p->result.status]++;
		r->flaky += summary_is_flaky(s, i);
		r->ncached += summary_is_cached(s, i);
		r->nfailed += summary_is_failure(s, i);
	}
	/* qsort_r() takes no const argument; the comparison only reads. */
	qsort_r(r->order, n, sizeof *r->order, summary_order_cmp, (void *)s);
	summary_path(r, s);
	for (k = 0; k < r->nattempts; k++) {
		p = &s->pt[r->attempts[k].task];
		r->attempts[k].final = p->state == PT_DONE &&
		    r->attempts[k].attempt == p->result.attempt;
	}
	for (i = 0; i < r->nlanes; i++)
		free(r->lanes[i]);
	free(r->lanes);
	r->lanes = NULL;
	r->nlanes = 0;
	summary_lanes(r);
	r->span_ms = r->wall_ms;
	for (k = 0; k < r->nattempts; k++) {
		if (r->attempts[k].end_ms > r->start_wall &&
		    r->attempts[k].end_ms - r->start_wall > r->span_ms)
			r->span_ms = r->attempts[k].end_ms - r->start_wall;
	}
}
