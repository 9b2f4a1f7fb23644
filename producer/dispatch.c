/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The dispatch side of submit: new attempts of the tasks that are ready,
 * in the order sched.c chooses, and the staging of tasks that wait only
 * for tasks in flight. Nothing here reads an event; follow.c and loop.c
 * call in, and nothing here calls them: below it are only sched.c,
 * ptask.c, graph.c and report.c (a start's agent and time). Data flow:
 *
 * 1. dispatch_ready() gets tasks whose dependencies are all done (the
 *    roots from loop_start(), dependents from follow.c as results come,
 *    or a task to run again). sched_ready() holds them with the others
 *    not yet pushed, and sched_take() lets go of those that may go on
 *    the queue now without breaking its order.
 * 2. dispatch_push() makes each one's new attempt (the fencing token) and
 *    message (signed when the run signs) and sends them all in one
 *    atomic script_dispatch().
 * 3. dispatch_stage_next() walks from the tasks just queued or started to
 *    the dependents that now wait only for tasks in flight or staged
 *    (DISPATCH_STAGE_DEPTH levels, DISPATCH_STAGE_MAX at once) and sends
 *    their new attempts in one script_stage(): the finish script of the
 *    last dependency to succeed pushes each, with no round trip here.
 *    dispatch_started() marks a queued task running (its "started"
 *    event, from follow.c, or its claim, step 5) and stages from it.
 * 4. dispatch_refill() after every event: the queue moved, so held tasks
 *    may go now.
 * 5. After a reconnect, dispatch_verify() reads back the attempts of the
 *    queued tasks and sends again what was cut off. Once a second,
 *    dispatch_check_claims() reads the claims of the queued tasks above
 *    the most urgent held one: a start whose event was missed
 *    (dispatch_started()) must not keep it held.
 * 6. --fail-fast: dispatch_halt() takes back every task not started.
 */

#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "producer.h"

/*
 * At most this many tasks are staged at once (a chain needs a few, a wide
 * graph keeps its agents busy from the queue anyway, and Redis holds no
 * more than this many waiting messages), at most this many levels deep.
 */
#define DISPATCH_STAGE_MAX	1024
#define DISPATCH_STAGE_DEPTH	3

/* At most this many claims of queued tasks are read a second. */
#define DISPATCH_ABOVE		64

/* The queued tasks an HMGET asked about (dispatch_hmget()), their attempts. */
struct verify {
	struct submit	*s;
	size_t		*idx;
	int		*attempt;
	size_t		 n;
};

/* The retries task i gets. */
int
dispatch_retries(const struct submit *s, size_t i)
{
	int	r = graph_node(s->g, i)->task->retries;

	return (r >= 0 ? r : s->o->retries);
}

/*
 * Start task i's next attempt: counted and queued; returns its message,
 * signed when the run signs (caller frees).
 */
static char *
dispatch_new_attempt(struct submit *s, size_t i)
{
	struct ptask	*p = &s->pt[i];
	struct node	*node = graph_node(s->g, i);
	struct task	**restores;
	char		*msg, *signed_msg;
	size_t		 len, nrestores;

	p->attempt++;
	p->tries++;
	ptask_set_state(s, i, PT_QUEUED);
	nrestores = graph_restores(s->g, i, &restores);
	msg = task_msg_encode(s->run, node->task, p->attempt,
	    s->agents_alive > 1 ? p->avoid : NULL, node->ndependents == 0,
	    restores, nrestores, &len);
	free(restores);
	if (s->secret == NULL)
		return (msg);
	signed_msg = sign_message(s->secret, msg, len, NULL);
	free(msg);
	return (signed_msg);
}

/* Fill t for task i's new attempt with message msg. */
static void
dispatch_task(struct submit *s, struct script_task *t, size_t i,
    const char *msg, int urgent)
{
	t->id = graph_node(s->g, i)->task->id;
	t->attempt = s->pt[i].attempt;
	t->urgent = urgent;
	t->msg = msg;
}

/*
 * Stage new attempts of tasks whose dependencies are all in flight or
 * staged (dispatch_stage_walk() marked them staged): the finish script of
 * the last dependency to succeed pushes the message, so the dependent
 * starts without waiting for this process to hear of it and dispatch.
 * Each goes to the end of the queue sched.c chooses now.
 */
static void
dispatch_stage(struct submit *s, const size_t *idx, size_t n)
{
	struct script_task	*t;
	struct node		*node;
	char			**msgs;
	size_t			 k;

	t = xcalloc(n, sizeof *t);
	msgs = xcalloc(n, sizeof *msgs);
	for (k = 0; k < n; k++) {
		node = graph_node(s->g, idx[k]);
		msgs[k] = dispatch_new_attempt(s, idx[k]);
		dispatch_task(s, &t[k], idx[k], msgs[k],
		    sched_stage(s, idx[k]) == SCHED_STAGE_URGENT);
		/* The graph's deps are the task file's ids, in order. */
		t[k].deps = (const char *const *)node->task->deps;
		t[k].ndeps = node->ndeps;
		log_debug("stage %s attempt %d", t[k].id, t[k].attempt);
	}
	script_stage(s->rc_cmd, &s->keys, s->o->ttl, t, n, rconn_check_reply,
	    (void *)"stage");
	for (k = 0; k < n; k++)
		free(msgs[k]);
	free(msgs);
	free(t);
}

/*
 * How deep task i is staged: 0 when it is not, else one more than the
 * deepest staged task it waits for.
 */
static int
dispatch_stage_depth(struct submit *s, size_t i)
{
	struct node	*node = graph_node(s->g, i);
	size_t		 d;
	int		 depth = 0, k;

	if (!s->pt[i].staged)
		return (0);
	for (d = 0; d < node->ndeps; d++) {
		if ((k = dispatch_stage_depth(s, node->deps[d])) > depth)
			depth = k;
	}
	return (depth + 1);
}

/*
 * Can task i be staged? It waits, and each of its dependencies either
 * succeeded, is in flight, or is staged itself, no more than
 * DISPATCH_STAGE_DEPTH levels deep: a chain keeps a few links ready in
 * Redis, so it moves on even when submit lags behind.
 */
static int
dispatch_stageable(struct submit *s, size_t i)
{
	struct node	*node = graph_node(s->g, i);
	struct ptask	*q;
	size_t		 d;
	int		 depth = 0, k;

	if (s->pt[i].state != PT_WAITING || s->pt[i].staged ||
	    node->pending == 0 || s->o->nostage)
		return (0);
	/* Maybe in the cache: it must not reach an agent (cached.c). */
	if (s->pt[i].cache != PT_CACHE_NO && s->pt[i].cache != PT_CACHE_MISS)
		return (0);
	for (d = 0; d < node->ndeps; d++) {
		q = &s->pt[node->deps[d]];
		if (q->staged) {
			if ((k = dispatch_stage_depth(s, node->deps[d])) >
			    depth)
				depth = k;
			continue;
		}
		if (q->state == PT_DONE) {
			if (q->result.status != RESULT_SUCCESS)
				return (0);
			continue;
		}
		if (q->state != PT_QUEUED && q->state != PT_RUNNING)
			return (0);
	}
	return (depth < DISPATCH_STAGE_DEPTH &&
	    sched_stage(s, i) != SCHED_STAGE_NO);
}

/* Task i is no longer staged (released, started, skipped, pushed). */
void
dispatch_unstage(struct submit *s, size_t i)
{
	if (s->pt[i].staged) {
		s->pt[i].staged = 0;
		s->nstaged--;
	}
}

/*
 * List the tasks after task i that can be staged now, walking through
 * those staged already, budget levels down.
 */
static void
dispatch_stage_walk(struct submit *s, size_t i, int budget, size_t **next,
    size_t *n, size_t *size)
{
	struct node	*node = graph_node(s->g, i);
	size_t		 j, d;

	for (j = 0; j < node->ndependents; j++) {
		d = node->dependents[j];
		if (s->nstaged >= DISPATCH_STAGE_MAX)
			return;
		if (!s->pt[d].staged) {
			if (!dispatch_stageable(s, d))
				continue;
			if (*n == *size) {
				*size = *size == 0 ? 16 : *size * 2;
				*next = xreallocarray(*next, *size,
				    sizeof **next);
			}
			(*next)[(*n)++] = d;
			s->pt[d].staged = 1;
			s->nstaged++;
		}
		if (budget > 1)
			dispatch_stage_walk(s, d, budget - 1, next, n, size);
	}
}

/*
 * Tasks in idx went onto the queue or started: stage what now waits only
 * for tasks in flight or staged, up to DISPATCH_STAGE_MAX staged at once.
 */
void
dispatch_stage_next(struct submit *s, const size_t *idx, size_t n)
{
	size_t	*next = NULL, nnext = 0, size = 0, k;

	if (s->failing || s->ending || s->o->nostage)
		return;
	for (k = 0; k < n; k++)
		dispatch_stage_walk(s, idx[k], DISPATCH_STAGE_DEPTH, &next,
		    &nnext, &size);
	if (nnext > 0)
		dispatch_stage(s, next, nnext);
	free(next);
}

/*
 * Attempt attempt of task id started on agent (its "started" event, in
 * follow.c, or its claim, read here): it left the queue, so what waits
 * for it may be staged now.
 */
void
dispatch_started(struct submit *s, const char *id, int attempt,
    const char *agent)
{
	size_t	i;

	i = graph_find(s->g, id);
	if (i != GRAPH_NONE && s->pt[i].attempt == attempt &&
	    s->pt[i].state == PT_QUEUED) {
		ptask_set_state(s, i, PT_RUNNING);
		dispatch_unstage(s, i);
		report_started(s, i, agent);
		dispatch_stage_next(s, &i, 1);
	}
}

/*
 * Push the new attempts of idx[0..n) in one script: the FIFO ones in
 * order at the far end, then the urgent ones in reverse at the popping
 * end, so the most urgent is popped first.
 */
static void
dispatch_push(struct submit *s, const size_t *idx, const int *urgent,
    size_t n)
{
	struct script_task	*t;
	char			**msgs;
	size_t			 k, m = 0;

	t = xcalloc(n, sizeof *t);
	msgs = xcalloc(n, sizeof *msgs);
	for (k = 0; k < n; k++) {
		msgs[k] = dispatch_new_attempt(s, idx[k]);
		log_debug("dispatch %s attempt %d%s",
		    graph_node(s->g, idx[k])->task->id, s->pt[idx[k]].attempt,
		    urgent[k] ? " (urgent)" : "");
	}
	for (k = 0; k < n; k++) {
		if (!urgent[k])
			dispatch_task(s, &t[m++], idx[k], msgs[k], 0);
	}
	for (k = n; k-- > 0;) {
		if (urgent[k])
			dispatch_task(s, &t[m++], idx[k], msgs[k], 1);
	}
	script_dispatch(s->rc_cmd, &s->keys, s->o->ttl, t, m,
	    rconn_check_reply, (void *)"dispatch");
	for (k = 0; k < n; k++)
		free(msgs[k]);
	free(msgs);
	free(t);
}

/*
 * Tasks ready[0..n) are ready to run (every dependency done), or to run
 * again. sched.c holds them with the others not yet pushed and lets go
 * of those that go on the queue now; they are pushed in one script,
 * then what waits only for tasks in flight is staged. With n 0 it only
 * lets go of what the queue's progress allows (dispatch_refill()).
 */
void
dispatch_ready(struct submit *s, const size_t *ready, size_t n)
{
	size_t	*taken, ntaken, k;
	int	*urgent;

	if (s->failing || s->ending)
		return;
	for (k = 0; k < n; k++) {
		/* Not in Redis until it is pushed. */
		dispatch_unstage(s, ready[k]);
		ptask_set_state(s, ready[k], PT_WAITING);
	}
	sched_ready(s, ready, n);
	if (sched_nheld(s) == 0)
		return;
	taken = xcalloc(sched_nheld(s), sizeof *taken);
	urgent = xcalloc(sched_nheld(s), sizeof *urgent);
	if ((ntaken = sched_take(s, taken, urgent)) > 0) {
		dispatch_push(s, taken, urgent, ntaken);
		dispatch_stage_next(s, taken, ntaken);
	}
	free(taken);
	free(urgent);
}

/*
 * The queue moved on (a task started, ended or was taken back): push the
 * held tasks that may go now.
 */
void
dispatch_refill(struct submit *s)
{
	dispatch_ready(s, NULL, 0);
}

/*
 * --fail-fast, as soon as a final failure is heard of (before its output
 * is fetched and shown): stop dispatching and take queued tasks back; a
 * newer attempt number makes any copy an agent pops stale, so what an
 * agent has not claimed yet never starts.
 */
void
dispatch_halt(struct submit *s)
{
	size_t		 i, n = graph_size(s->g);
	struct ptask	*p;
	const char	*id;

	s->failing = 1;
	rconn_command_checked(s->rc_cmd, "fail-fast",
	    "DEL %s %s %s %s", s->keys.queue, s->keys.staged, s->keys.waiting,
	    s->keys.waiters);
	for (i = 0; i < n; i++) {
		p = &s->pt[i];
		if (p->state == PT_DONE || p->state == PT_RUNNING)
			continue;
		p->attempt++;
		id = graph_node(s->g, i)->task->id;
		/* Both at once: claims mirrors attempts (script.c). */
		rconn_command_checked(s->rc_cmd,
		    "fail-fast", "MULTI");
		rconn_command_checked(s->rc_cmd,
		    "fail-fast", "HSET %s %s %d", s->keys.attempts,
		    id, p->attempt);
		rconn_command_checked(s->rc_cmd,
		    "fail-fast", "HSET %s %s %d", s->keys.claims, id,
		    p->attempt);
		rconn_command_checked(s->rc_cmd,
		    "fail-fast", "EXEC");
	}
}

/* Free a struct verify. */
static void
dispatch_verify_free(struct verify *v)
{
	free(v->idx);
	free(v->attempt);
	free(v);
}

/*
 * Queued task i's attempt as Redis stored it is older than the one sent:
 * its staging or dispatch was cut off with the connection. Returns 1 when
 * it must be dispatched again.
 */
static int
dispatch_cut_off(struct submit *s, size_t i)
{
	struct ptask	*p = &s->pt[i];

	p->tries--;
	if (p->staged && graph_node(s->g, i)->pending > 0) {
		/*
		 * The task waits again, to be dispatched when its
		 * dependencies are done (and nothing is written now: the
		 * server may be one that restarted empty).
		 */
		log_info("%s: its staging was cut off",
		    graph_node(s->g, i)->task->id);
		dispatch_unstage(s, i);
		ptask_set_state(s, i, PT_WAITING);
		return (0);
	}
	log_info("%s: its dispatch was cut off; sending it again",
	    graph_node(s->g, i)->task->id);
	return (1);
}

/*
 * Reply to HMGET attempts for queued tasks after a reconnect: a task
 * whose attempt never reached Redis (the dispatch script was cut off
 * with the connection) is dispatched again, unless it moved on since.
 */
static void
dispatch_verify_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct verify	*v = privdata;
	struct submit	*s = v->s;
	redisReply	*reply = r;
	const char	*errstr;
	size_t		 k, i, n = 0, *again;
	long long	 stored;

	(void)ac;
	again = xcalloc(v->n + 1, sizeof *again);
	for (k = 0; reply != NULL && reply->type == REDIS_REPLY_ARRAY &&
	    k < v->n && k < reply->elements; k++) {
		i = v->idx[k];
		if (s->pt[i].state != PT_QUEUED ||
		    s->pt[i].attempt != v->attempt[k])
			continue;
		stored = 0;
		if (reply->element[k]->type == REDIS_REPLY_STRING)
			stored = util_strtonum(reply->element[k]->str, 0,
			    1000000, &errstr);
		if (stored < s->pt[i].attempt && dispatch_cut_off(s, i))
			again[n++] = i;
	}
	dispatch_ready(s, again, n);
	free(again);
	dispatch_verify_free(v);
}

/*
 * Send HMGET key with the ids of the queued tasks among idx[0..n) (all
 * the queued tasks when idx is NULL); done gets a struct verify naming
 * them, and their attempts (it frees it).
 */
static void
dispatch_hmget(struct submit *s, const char *key, const size_t *idx,
    size_t n, redisCallbackFn *done)
{
	struct verify	*v;
	const char	**argv;
	size_t		*lens, i, k, argc = 2;

	if (idx == NULL)
		n = graph_size(s->g);
	v = xcalloc(1, sizeof *v);
	v->s = s;
	v->idx = xcalloc(n + 1, sizeof *v->idx);
	v->attempt = xcalloc(n + 1, sizeof *v->attempt);
	argv = xcalloc(n + 2, sizeof *argv);
	lens = xcalloc(n + 2, sizeof *lens);
	argv[0] = "HMGET";
	argv[1] = key;
	for (k = 0; k < n; k++) {
		i = idx != NULL ? idx[k] : k;
		if (s->pt[i].state != PT_QUEUED)
			continue;
		v->idx[v->n] = i;
		v->attempt[v->n++] = s->pt[i].attempt;
		argv[argc++] = graph_node(s->g, i)->task->id;
	}
	for (k = 0; k < argc; k++)
		lens[k] = strlen(argv[k]);
	if (argc == 2 || rconn_command_argv(s->rc_cmd, done, v, (int)argc,
	    argv, lens) != 0)
		dispatch_verify_free(v);
	free(argv);
	free(lens);
}

/* After a reconnect: check every queued task's dispatch arrived. */
void
dispatch_verify(struct submit *s)
{
	dispatch_hmget(s, s->keys.attempts, NULL, 0, dispatch_verify_done);
}

/*
 * Reply to HMGET claims for queued tasks: a claim of the current attempt
 * ("N AGENT") is a start whose event was missed.
 */
static void
dispatch_claims_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct verify	*v = privdata;
	struct submit	*s = v->s;
	redisReply	*reply = r, *c;
	const char	*errstr;
	char		*sp, *num;
	size_t		 k, i;
	long long	 a;

	(void)ac;
	for (k = 0; reply != NULL && reply->type == REDIS_REPLY_ARRAY &&
	    k < v->n && k < reply->elements; k++) {
		i = v->idx[k];
		c = reply->element[k];
		if (c->type != REDIS_REPLY_STRING ||
		    (sp = strchr(c->str, ' ')) == NULL)
			continue;
		num = xstrndup(c->str, (size_t)(sp - c->str));
		a = util_strtonum(num, 1, 1000000, &errstr);
		free(num);
		if (errstr == NULL && a == v->attempt[k])
			dispatch_started(s, graph_node(s->g, i)->task->id,
			    (int)a, sp + 1);
	}
	dispatch_refill(s);
	dispatch_verify_free(v);
}

/*
 * Once a second: held tasks wait for the queued ones above them to
 * start, so read those tasks' claims; a start whose event was missed
 * must not keep them waiting.
 */
void
dispatch_check_claims(struct submit *s)
{
	size_t	above[DISPATCH_ABOVE], n;

	if ((n = sched_above_held(s, above, DISPATCH_ABOVE)) > 0)
		dispatch_hmget(s, s->keys.claims, above, n,
		    dispatch_claims_done);
}
