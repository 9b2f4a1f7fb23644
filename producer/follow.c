/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The producer's loop logic: dispatching ready tasks, following results,
 * reclaiming tasks of lost agents, and ending the run. See the data flow
 * at the top of submit.c.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "producer.h"

/*
 * At most this many tasks are staged at once (a chain needs a few, a wide
 * graph keeps its agents busy from the queue anyway, and Redis holds no
 * more than this many waiting messages), at most this many levels deep.
 */
#define SUBMIT_STAGE_MAX	1024
#define SUBMIT_STAGE_DEPTH	3

/* At most this many claims of queued tasks are read a second. */
#define SUBMIT_ABOVE		64

/* A pending output fetch: printed when GET answers. */
struct fetch {
	struct submit	*s;
	size_t		 i;
	struct result	 r;
	char		*note;		/* footer addition, may be NULL */
	int		 final;		/* a final failure: skip dependents
					   once the block is printed */
};

static void	submit_dispatch(struct submit *, const size_t *, size_t);
static void	submit_push(struct submit *, const size_t *, const int *,
		    size_t);
static void	submit_refill(struct submit *);
static void	submit_started(struct submit *, const char *, int,
		    const char *);
static void	submit_stage_next(struct submit *, const size_t *, size_t);
static void	submit_ready(struct submit *, const size_t *, size_t);
static void	submit_unstage(struct submit *, size_t);
static void	submit_final(struct submit *, size_t, const struct result *,
		    const char *);
static void	submit_check_end(struct submit *);
static void	submit_skip(struct submit *, size_t, const char *, int);
static void	submit_skip_why(struct submit *, size_t, const char *);
static void	submit_reconcile(struct submit *, int);
static void	submit_stop(struct submit *, const char *);
static void	cancel_poll(struct submit *);

/* Reply to a command whose answer only matters when it is an error. */
static void
submit_any_done(redisAsyncContext *ac, void *r, void *privdata)
{
	redisReply	*reply = r;

	(void)ac;
	(void)privdata;
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		log_warnx("%s: %s", __func__, reply->str);
}

/* The retries a task gets. */
static int
submit_retries(struct submit *s, size_t i)
{
	int	r = graph_node(s->g, i)->task->retries;

	return (r >= 0 ? r : s->retries);
}

/*
 * Start task i's next attempt: counted and queued, its number as text in
 * *attempt; returns its message, signed when the run signs (both caller
 * frees).
 */
static char *
submit_new_attempt(struct submit *s, size_t i, char **attempt)
{
	struct ptask	*p = &s->pt[i];
	struct task	**restores;
	char		*msg, *signed_msg;
	size_t		 len, nrestores;

	p->attempt++;
	p->tries++;
	p->state = PT_QUEUED;
	xasprintf(attempt, "%d", p->attempt);
	nrestores = graph_restores(s->g, i, &restores);
	msg = task_msg_encode(s->run, graph_node(s->g, i)->task, p->attempt,
	    s->agents_alive > 1 ? p->avoid : NULL,
	    graph_node(s->g, i)->ndependents == 0, restores, nrestores, &len);
	free(restores);
	if (s->secret == NULL)
		return (msg);
	signed_msg = sign_message(s->secret, msg, len, NULL);
	free(msg);
	return (signed_msg);
}

/* Send a script call whose arguments are all text. */
static void
submit_send(struct submit *s, const char **argv, size_t argc)
{
	size_t	*lens, k;

	lens = xcalloc(argc, sizeof *lens);
	for (k = 0; k < argc; k++)
		lens[k] = strlen(argv[k]);
	rconn_command_argv(s->rc_cmd, submit_any_done, NULL, (int)argc, argv,
	    lens);
	free(lens);
}

/*
 * Stage new attempts of tasks whose dependencies are all in flight or
 * staged (one atomic script; submit_stage_walk() marked them staged): the
 * finish script of the last dependency to succeed pushes the message, so
 * the dependent starts without waiting for this process to hear of it
 * and dispatch. Each goes to the end of the queue sched.c chooses now.
 */
static void
submit_stage(struct submit *s, const size_t *idx, size_t n)
{
	const char	**argv;
	size_t		 k, d, argc = 0, size = 11;
	char		**attempts, **msgs, **ndeps, ttl[16];
	struct node	*node;

	for (k = 0; k < n; k++)
		size += 5 + graph_node(s->g, idx[k])->ndeps;
	argv = xcalloc(size, sizeof *argv);
	attempts = xcalloc(n, sizeof *attempts);
	msgs = xcalloc(n, sizeof *msgs);
	ndeps = xcalloc(n, sizeof *ndeps);
	snprintf(ttl, sizeof ttl, "%d", s->ttl);
	argv[argc++] = "EVALSHA";
	argv[argc++] = script_sha(SCRIPT_STAGE);
	argv[argc++] = "7";
	argv[argc++] = s->keys.attempts;
	argv[argc++] = s->keys.queue;
	argv[argc++] = s->keys.claims;
	argv[argc++] = s->keys.staged;
	argv[argc++] = s->keys.waiting;
	argv[argc++] = s->keys.waiters;
	argv[argc++] = s->keys.results;
	argv[argc++] = ttl;
	for (k = 0; k < n; k++) {
		node = graph_node(s->g, idx[k]);
		msgs[k] = submit_new_attempt(s, idx[k], &attempts[k]);
		xasprintf(&ndeps[k], "%zu", node->ndeps);
		argv[argc++] = node->task->id;
		argv[argc++] = attempts[k];
		argv[argc++] = sched_stage(s, idx[k]) == SCHED_STAGE_URGENT ?
		    "R" : "L";
		argv[argc++] = msgs[k];
		argv[argc++] = ndeps[k];
		for (d = 0; d < node->ndeps; d++)
			argv[argc++] = graph_node(s->g, node->deps[d])->task->id;
		log_debug("stage %s attempt %s", node->task->id, attempts[k]);
	}
	submit_send(s, argv, argc);
	for (k = 0; k < n; k++) {
		free(attempts[k]);
		free(msgs[k]);
		free(ndeps[k]);
	}
	free(attempts);
	free(msgs);
	free(ndeps);
	free(argv);
}

/*
 * How deep task i is staged: 0 when it is not, else one more than the
 * deepest staged task it waits for.
 */
static int
submit_stage_depth(struct submit *s, size_t i)
{
	struct node	*node = graph_node(s->g, i);
	size_t		 d;
	int		 depth = 0, k;

	if (!s->pt[i].staged)
		return (0);
	for (d = 0; d < node->ndeps; d++) {
		if ((k = submit_stage_depth(s, node->deps[d])) > depth)
			depth = k;
	}
	return (depth + 1);
}

/*
 * Can task i be staged? It waits, and each of its dependencies either
 * succeeded, is in flight, or is staged itself, no more than
 * SUBMIT_STAGE_DEPTH levels deep: a chain keeps a few links ready in
 * Redis, so it moves on even when submit lags behind.
 */
static int
submit_stageable(struct submit *s, size_t i)
{
	struct node	*node = graph_node(s->g, i);
	struct ptask	*q;
	size_t		 d;
	int		 depth = 0, k;

	if (s->pt[i].state != PT_WAITING || s->pt[i].staged ||
	    node->pending == 0 || s->nostage)
		return (0);
	for (d = 0; d < node->ndeps; d++) {
		q = &s->pt[node->deps[d]];
		if (q->staged) {
			if ((k = submit_stage_depth(s, node->deps[d])) > depth)
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
	return (depth < SUBMIT_STAGE_DEPTH &&
	    sched_stage(s, i) != SCHED_STAGE_NO);
}

/* Task i is no longer staged (released, started, skipped, pushed). */
static void
submit_unstage(struct submit *s, size_t i)
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
submit_stage_walk(struct submit *s, size_t i, int budget, size_t **next,
    size_t *n, size_t *size)
{
	struct node	*node = graph_node(s->g, i);
	size_t		 j, d;

	for (j = 0; j < node->ndependents; j++) {
		d = node->dependents[j];
		if (s->nstaged >= SUBMIT_STAGE_MAX)
			return;
		if (!s->pt[d].staged) {
			if (!submit_stageable(s, d))
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
			submit_stage_walk(s, d, budget - 1, next, n, size);
	}
}

/*
 * Tasks in idx went onto the queue: stage what now waits only for tasks
 * in flight or staged, up to SUBMIT_STAGE_MAX staged at once.
 */
static void
submit_stage_next(struct submit *s, const size_t *idx, size_t n)
{
	size_t	*next = NULL, nnext = 0, size = 0, k;

	if (s->failing || s->ending || s->nostage)
		return;
	for (k = 0; k < n; k++)
		submit_stage_walk(s, idx[k], SUBMIT_STAGE_DEPTH, &next, &nnext,
		    &size);
	if (nnext > 0)
		submit_stage(s, next, nnext);
	free(next);
}

/*
 * Tasks ready[0..n) are ready to run (every dependency done), or to run
 * again. sched.c holds them with the others not yet pushed and lets go
 * of those that go on the queue now; their new attempts (the fencing
 * tokens) and messages are pushed in one atomic script, the urgent ones
 * at the popping end, most urgent last so it is popped first. Then
 * stage what now waits only for tasks in flight. With n 0 it only lets
 * go of what the queue's progress allows (submit_refill()).
 */
static void
submit_dispatch(struct submit *s, const size_t *ready, size_t n)
{
	size_t	*taken, ntaken, k;
	int	*urgent;

	if (s->failing || s->ending)
		return;
	for (k = 0; k < n; k++) {
		/* Not in Redis until it is pushed. */
		submit_unstage(s, ready[k]);
		s->pt[ready[k]].state = PT_WAITING;
	}
	sched_ready(s, ready, n);
	if (sched_nheld(s) == 0)
		return;
	taken = xcalloc(sched_nheld(s), sizeof *taken);
	urgent = xcalloc(sched_nheld(s), sizeof *urgent);
	if ((ntaken = sched_take(s, taken, urgent)) > 0) {
		submit_push(s, taken, urgent, ntaken);
		submit_stage_next(s, taken, ntaken);
	}
	free(taken);
	free(urgent);
}

/*
 * The queue moved on (a task started, ended or was taken back): push the
 * held tasks that may go now.
 */
static void
submit_refill(struct submit *s)
{
	submit_dispatch(s, NULL, 0);
}

/* Push the new attempts of idx[0..n) (see submit_dispatch()). */
static void
submit_push(struct submit *s, const size_t *idx, const int *urgent,
    size_t n)
{
	const char	**argv;
	size_t		 k, argc;
	char		**attempts, **msgs, ttl[16];

	argv = xcalloc(7 + 4 * n, sizeof *argv);
	attempts = xcalloc(n, sizeof *attempts);
	msgs = xcalloc(n, sizeof *msgs);
	snprintf(ttl, sizeof ttl, "%d", s->ttl);
	argv[0] = "EVALSHA";
	argv[1] = script_sha(SCRIPT_DISPATCH);
	argv[2] = "3";
	argv[3] = s->keys.attempts;
	argv[4] = s->keys.queue;
	argv[5] = s->keys.claims;
	argv[6] = ttl;
	for (k = 0; k < n; k++) {
		msgs[k] = submit_new_attempt(s, idx[k], &attempts[k]);
		log_debug("dispatch %s attempt %s%s",
		    graph_node(s->g, idx[k])->task->id, attempts[k],
		    urgent[k] ? " (urgent)" : "");
	}
	/* FIFO ones in order, then the urgent ones in reverse. */
	argc = 7;
	for (k = 0; k < n; k++) {
		if (urgent[k])
			continue;
		argv[argc++] = graph_node(s->g, idx[k])->task->id;
		argv[argc++] = attempts[k];
		argv[argc++] = "L";
		argv[argc++] = msgs[k];
	}
	for (k = n; k-- > 0;) {
		if (!urgent[k])
			continue;
		argv[argc++] = graph_node(s->g, idx[k])->task->id;
		argv[argc++] = attempts[k];
		argv[argc++] = "R";
		argv[argc++] = msgs[k];
	}
	submit_send(s, argv, argc);
	for (k = 0; k < n; k++) {
		free(attempts[k]);
		free(msgs[k]);
	}
	free(attempts);
	free(msgs);
	free(argv);
}

/* The queued tasks an HMGET asked about (submit_hmget()), their attempts. */
struct verify {
	struct submit	*s;
	size_t		*idx;
	int		*attempt;
	size_t		 n;
};

/*
 * Reply to HMGET attempts for queued tasks after a reconnect: a task
 * whose attempt never reached Redis (the dispatch script was cut off
 * with the connection) is dispatched again, unless it moved on since.
 */
static void
submit_verify_done(redisAsyncContext *ac, void *r, void *privdata)
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
		if (stored < s->pt[i].attempt && s->pt[i].staged &&
		    graph_node(s->g, i)->pending > 0) {
			/*
			 * A stage cut off: the task waits again, to be
			 * dispatched when its dependencies are done (and
			 * nothing is written now: the server may be one
			 * that restarted empty).
			 */
			log_info("%s: its staging was cut off",
			    graph_node(s->g, i)->task->id);
			submit_unstage(s, i);
			s->pt[i].state = PT_WAITING;
			s->pt[i].tries--;
		} else if (stored < s->pt[i].attempt) {
			log_info("%s: its dispatch was cut off; sending it "
			    "again", graph_node(s->g, i)->task->id);
			s->pt[i].tries--;
			again[n++] = i;
		}
	}
	submit_dispatch(s, again, n);
	free(again);
	free(v->idx);
	free(v->attempt);
	free(v);
}

/*
 * Send HMGET key with the ids of tasks idx[0..n) (all the queued tasks
 * when idx is NULL); done gets a struct verify naming them, and their
 * attempts (it frees it).
 */
static void
submit_hmget(struct submit *s, const char *key, const size_t *idx,
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
	    argv, lens) != 0) {
		free(v->idx);
		free(v->attempt);
		free(v);
	}
	free(argv);
	free(lens);
}

/* After a reconnect: check every queued task's dispatch arrived. */
static void
submit_verify(struct submit *s)
{
	submit_hmget(s, s->keys.attempts, NULL, 0, submit_verify_done);
}

/*
 * Reply to HMGET claims for queued tasks: a claim of the current attempt
 * ("N AGENT") is a start whose event was missed.
 */
static void
submit_claims_done(redisAsyncContext *ac, void *r, void *privdata)
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
			submit_started(s, graph_node(s->g, i)->task->id,
			    (int)a, sp + 1);
	}
	submit_refill(s);
	free(v->idx);
	free(v->attempt);
	free(v);
}

/* A live chunk of a task's output (--stream), fetched from its log. */
struct chunk {
	struct submit	*s;
	size_t		 i;
	int		 attempt;
};

/* Reply to GETRANGE of a streamed chunk: print it. */
static void
submit_chunk_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct chunk	*c = privdata;
	redisReply	*reply = r;

	(void)ac;
	if (reply != NULL && reply->type == REDIS_REPLY_STRING &&
	    reply->len > 0 && !c->s->reported)
		report_log(c->s, c->i, c->attempt, reply->str, reply->len);
	free(c);
}

/* A "log" event: fetch the new chunk (only when streaming). */
static void
submit_chunk(struct submit *s, size_t i, const struct event_msg *e)
{
	struct chunk	*c;
	char		*key, from[32], to[32];

	if (!s->stream || e->length == 0)
		return;
	c = xcalloc(1, sizeof *c);
	c->s = s;
	c->i = i;
	c->attempt = e->attempt;
	key = keys_log(&s->keys, e->id, e->attempt);
	snprintf(from, sizeof from, "%llu", (unsigned long long)e->offset);
	snprintf(to, sizeof to, "%llu",
	    (unsigned long long)(e->offset + e->length - 1));
	if (rconn_command(s->rc_cmd, submit_chunk_done, c, "GETRANGE %s %s %s",
	    key, from, to) != 0)
		free(c);
	free(key);
}

/* Reply to GET log: print the attempt's block. */
static void
submit_fetch_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct fetch	*f = privdata;
	struct submit	*s = f->s;
	redisReply	*reply = r;

	(void)ac;
	s->nprinting--;
	if (s->reported) {	/* cut off as the connection is freed */
		result_clear(&f->r);
		free(f->note);
		free(f);
		return;
	}
	if (reply != NULL && reply->type == REDIS_REPLY_STRING)
		report_block(s, f->i, &f->r, reply->str, reply->len, f->note);
	else
		report_block(s, f->i, &f->r, NULL, 0, f->note);
	if (f->final)
		submit_final(s, f->i, &f->r, f->r.reason);
	result_clear(&f->r);
	free(f->note);
	free(f);
	submit_check_end(s);
}

/* Fetch an attempt's output and print it as a block when it arrives. */
static void
submit_fetch(struct submit *s, size_t i, const struct result *r,
    const char *note, int final)
{
	struct fetch	*f;
	char		*key;
	int		 sent;

	/*
	 * No output: nothing to fetch. Print at once unless an earlier
	 * block is still waiting for its output (blocks keep their order).
	 */
	if (r->output_bytes == 0 && s->nprinting == 0) {
		report_block(s, i, r, NULL, 0, note);
		if (final)
			submit_final(s, i, r, r->reason);
		return;
	}
	f = xcalloc(1, sizeof *f);
	f->s = s;
	f->i = i;
	result_copy(&f->r, r);
	if (note != NULL)
		f->note = xstrdup(note);
	f->final = final;
	key = keys_log(&s->keys, r->id, r->attempt);
	s->nprinting++;
	sent = rconn_command(s->rc_cmd, submit_fetch_done, f, "GET %s", key);
	free(key);
	if (sent != 0) {
		report_block(s, i, &f->r, NULL, 0, f->note);
		if (final)
			submit_final(s, i, &f->r, f->r.reason);
		result_clear(&f->r);
		free(f->note);
		free(f);
		s->nprinting--;
	}
}

/* Store a result the producer decided (lost for good) in the results. */
static void
submit_record(struct submit *s, const struct result *r, const char *why)
{
	struct result	 copy = *r;
	char		*json;

	copy.reason = (char *)why;
	json = result_encode(&copy, NULL);
	rconn_command(s->rc_cmd, submit_any_done, NULL, "HSET %s %s %s",
	    s->keys.results, r->id, json);
	rconn_command(s->rc_cmd, submit_any_done, NULL, "EXPIRE %s %d",
	    s->keys.results, s->ttl);
	free(json);
}

/* Task i is skipped because dependency dep ended with status. */
static void
submit_skip(struct submit *s, size_t i, const char *dep, int status)
{
	char	*why;

	xasprintf(&why, "dependency %s %s", dep,
	    status == RESULT_SKIPPED ? "skipped" : "failed");
	submit_skip_why(s, i, why);
	free(why);
}

/* Task i will not run, for the reason why: final, recorded, reported. */
static void
submit_skip_why(struct submit *s, size_t i, const char *why)
{
	struct ptask	*q = &s->pt[i];
	struct result	 sr;
	char		*json;

	if (q->staged) {		/* it will never be pushed: tidy */
		submit_unstage(s, i);
		rconn_command(s->rc_cmd, submit_any_done, NULL, "HDEL %s %s",
		    s->keys.staged, graph_node(s->g, i)->task->id);
		rconn_command(s->rc_cmd, submit_any_done, NULL, "HDEL %s %s",
		    s->keys.waiting, graph_node(s->g, i)->task->id);
	}
	memset(&sr, 0, sizeof sr);
	sr.id = graph_node(s->g, i)->task->id;
	sr.status = RESULT_SKIPPED;
	sr.attempt = q->attempt;
	sr.reason = (char *)why;
	q->state = PT_DONE;
	q->restored = 0;
	s->nfinal++;
	result_clear(&q->result);
	q->result.id = xstrdup(sr.id);
	q->result.status = RESULT_SKIPPED;
	free(q->reason);
	q->reason = xstrdup(why);
	json = result_encode(&sr, NULL);
	rconn_command(s->rc_cmd, submit_any_done, NULL, "HSET %s %s %s",
	    s->keys.results, sr.id, json);
	rconn_command(s->rc_cmd, submit_any_done, NULL, "EXPIRE %s %d",
	    s->keys.results, s->ttl);
	free(json);
	report_skipped(s, i);
}

/*
 * Tasks whose last dependency just succeeded: dispatch those that wait;
 * those that were staged are on the queue already (the dependency's
 * finish script pushed them), so only what waits for them moves on.
 */
static void
submit_ready(struct submit *s, const size_t *next, size_t n)
{
	size_t	*push, npush = 0, *released, nrel = 0, k;

	if (n == 0)
		return;
	push = xcalloc(n, sizeof *push);
	released = xcalloc(n, sizeof *released);
	for (k = 0; k < n; k++) {
		struct ptask *p = &s->pt[next[k]];

		if (p->state == PT_WAITING)
			push[npush++] = next[k];
		else if (p->state != PT_DONE) {
			if (p->staged && p->state == PT_QUEUED)
				sched_released(s, next[k]);
			submit_unstage(s, next[k]);
			released[nrel++] = next[k];
		}
	}
	submit_dispatch(s, push, npush);
	submit_stage_next(s, released, nrel);
	free(push);
	free(released);
}

/* Record task i's final state; dispatch or skip what depends on it. */
static void
submit_final(struct submit *s, size_t i, const struct result *r,
    const char *reason)
{
	struct ptask	*p = &s->pt[i];
	size_t		*next = NULL, n, k;

	if (p->state == PT_DONE)
		return;
	p->state = PT_DONE;
	p->fetching = 0;
	s->nfinal++;
	result_clear(&p->result);
	result_copy(&p->result, r);
	if (reason != NULL) {
		free(p->reason);
		p->reason = xstrdup(reason);
	}
	if (r->status == RESULT_SUCCESS) {
		sched_record(s, i, r);
		n = graph_succeeded(s->g, i, &next);
		submit_ready(s, next, n);
		free(next);
		return;
	}
	n = graph_failed(s->g, i, &next);
	for (k = 0; k < n; k++)
		submit_skip(s, next[k], r->id, r->status);
	if (n > 0)
		rconn_command(s->rc_cmd, submit_any_done, NULL,
		    "EXPIRE %s %d", s->keys.results, s->ttl);
	free(next);
	if (s->fail_fast && !s->failskipped)
		submit_fail_fast(s);
}

/*
 * --fail-fast, as soon as a final failure is heard of (before its output
 * is fetched and shown): stop dispatching and take queued tasks back; a
 * newer attempt number makes any copy an agent pops stale, so what an
 * agent has not claimed yet never starts.
 */
static void
submit_halt(struct submit *s)
{
	size_t		 i, n = graph_size(s->g);

	s->failing = 1;
	rconn_command(s->rc_cmd, submit_any_done, NULL, "DEL %s %s %s %s",
	    s->keys.queue, s->keys.staged, s->keys.waiting, s->keys.waiters);
	for (i = 0; i < n; i++) {
		struct ptask *p = &s->pt[i];

		if (p->state == PT_DONE || p->state == PT_RUNNING)
			continue;
		p->attempt++;
		/* Both at once: claims mirrors attempts (script.c). */
		rconn_command(s->rc_cmd, submit_any_done, NULL, "MULTI");
		rconn_command(s->rc_cmd, submit_any_done, NULL,
		    "HSET %s %s %d", s->keys.attempts,
		    graph_node(s->g, i)->task->id, p->attempt);
		rconn_command(s->rc_cmd, submit_any_done, NULL,
		    "HSET %s %s %d", s->keys.claims,
		    graph_node(s->g, i)->task->id, p->attempt);
		rconn_command(s->rc_cmd, submit_any_done, NULL, "EXEC");
	}
}

/*
 * --fail-fast, once the failure's block is out: report the tasks taken
 * back (halting first if that has not happened) as skipped.
 */
void
submit_fail_fast(struct submit *s)
{
	size_t		 i, n = graph_size(s->g);

	if (!s->failing)
		submit_halt(s);
	s->failskipped = 1;
	for (i = 0; i < n; i++) {
		if (s->pt[i].state == PT_DONE || s->pt[i].state == PT_RUNNING)
			continue;
		submit_skip_why(s, i, "--fail-fast: an earlier task failed");
	}
	submit_check_end(s);
}

/* A result for task i's current attempt arrived. */
static void
submit_result(struct submit *s, const struct result *r)
{
	size_t		 i;
	struct ptask	*p;
	char		*note;

	if ((i = graph_find(s->g, r->id)) == GRAPH_NONE)
		return;
	p = &s->pt[i];
	if (r->attempt != p->attempt || p->fetching || p->killed ||
	    (p->state != PT_QUEUED && p->state != PT_RUNNING))
		return;
	switch (r->status) {
	case RESULT_SUCCESS:
		submit_fetch(s, i, r, NULL, 0);
		submit_final(s, i, r, NULL);
		break;
	case RESULT_LOST:
		p->lost++;
		if (p->lost > s->max_reclaims) {
			xasprintf(&note, "lost %d times", p->lost);
			report_note(s, "%s: %s; not retried", r->id, note);
			submit_record(s, r, note);
			submit_final(s, i, r, note);
			free(note);
			break;
		}
		report_note(s, "%s: attempt %d lost (%s); requeued", r->id,
		    r->attempt, r->reason != NULL ? r->reason : "agent lost");
		p->tries--;
		submit_dispatch(s, &i, 1);
		break;
	case RESULT_CANCELLED:
		/*
		 * Its agent killed it because the run was stopped (cancelled
		 * or aborted): show its output, but it did not finish, and
		 * its dependents are not skipped for it.
		 */
		p->killed = 1;
		submit_fetch(s, i, r, "killed: the run was stopped", 0);
		if (s->abort_reason == NULL)
			cancel_poll(s);
		break;
	default:
		if (p->tries <= submit_retries(s, i) && !s->failing) {
			free(p->avoid);
			p->avoid = r->agent != NULL ? xstrdup(r->agent) : NULL;
			xasprintf(&note, "retrying (attempt %d of %d)",
			    p->tries + 1, submit_retries(s, i) + 1);
			submit_fetch(s, i, r, note, 0);
			free(note);
			submit_dispatch(s, &i, 1);
			break;
		}
		p->state = PT_RUNNING;		/* until its block is out */
		p->fetching = 1;
		if (s->fail_fast && !s->failing)
			submit_halt(s);
		submit_fetch(s, i, r, NULL, 1);
		break;
	}
	submit_check_end(s);
}

/* Attempt attempt of task id started on agent. */
static void
submit_started(struct submit *s, const char *id, int attempt,
    const char *agent)
{
	size_t	i;

	i = graph_find(s->g, id);
	if (i != GRAPH_NONE && s->pt[i].attempt == attempt &&
	    s->pt[i].state == PT_QUEUED) {
		s->pt[i].state = PT_RUNNING;
		submit_unstage(s, i);
		report_started(s, i, agent);
		/* The queue moved: what waits for it may stage now. */
		submit_stage_next(s, &i, 1);
	}
}

/* A message on the events channel (or a subscribe confirmation). */
static void
submit_event_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct submit	*s = privdata;
	redisReply	*reply = r;
	struct event_msg e;
	size_t		 i;
	char		*cause;

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 3)
		return;
	if (reply->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(reply->element[0]->str, "subscribe") == 0) {
		s->subscribed = 1;
		submit_start(s);
		return;
	}
	if (reply->element[2]->type != REDIS_REPLY_STRING)
		return;
	if (event_decode(reply->element[2]->str, reply->element[2]->len, &e,
	    &cause) != 0) {
		log_debug("%s: %s", __func__, cause);
		free(cause);
		return;
	}
	switch (e.type) {
	case EVENT_STARTED:
		submit_started(s, e.id, e.attempt, e.agent);
		break;
	case EVENT_LOG:
		i = graph_find(s->g, e.id);
		if (i != GRAPH_NONE && s->pt[i].attempt == e.attempt)
			submit_chunk(s, i, &e);
		break;
	case EVENT_FINISHED:
		submit_result(s, &e.result);
		if (e.next_id != NULL)
			submit_started(s, e.next_id, e.next_attempt,
			    e.next_agent);
		break;
	case EVENT_STOP:
		if (!s->ending && e.reason != NULL &&
		    strcmp(e.reason, "cancelled") == 0)
			submit_abort(s, "cancelled (dteq cancel)");
		break;
	}
	event_clear(&e);
	submit_refill(s);
}

/* Reply to HMGET results for tasks in flight: catch missed events. */
static void
submit_reconcile_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct submit	*s = privdata;
	redisReply	*reply = r;
	struct result	 res;
	size_t		 k;
	char		*cause;

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
		return;
	for (k = 0; k < reply->elements; k++) {
		if (reply->element[k]->type != REDIS_REPLY_STRING)
			continue;
		if (result_decode(reply->element[k]->str,
		    reply->element[k]->len, &res, &cause) != 0) {
			log_warnx("bad result in %s: %s", s->keys.results,
			    cause);
			free(cause);
			continue;
		}
		submit_result(s, &res);
		result_clear(&res);
	}
	submit_refill(s);
}

/*
 * Read the stored results of tasks in flight: those known to run, or
 * with all set also those still queued (whose "started" event may have
 * been missed too).
 */
static void
submit_reconcile(struct submit *s, int all)
{
	const char	**argv;
	size_t		*lens, i, n = graph_size(s->g), argc = 2;

	argv = xcalloc(n + 2, sizeof *argv);
	lens = xcalloc(n + 2, sizeof *lens);
	argv[0] = "HMGET";
	argv[1] = s->keys.results;
	for (i = 0; i < n; i++) {
		if (((all && s->pt[i].state == PT_QUEUED) ||
		    s->pt[i].state == PT_RUNNING) && !s->pt[i].fetching)
			argv[argc++] = graph_node(s->g, i)->task->id;
	}
	if (argc > 2) {
		for (i = 0; i < argc; i++)
			lens[i] = strlen(argv[i]);
		rconn_command_argv(s->rc_cmd, submit_reconcile_done, s,
		    (int)argc, argv, lens);
	}
	free(argv);
	free(lens);
}

/* Reply to the reclaim script: {alive agents, {messages of lost ones}}. */
static void
submit_reclaim_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct submit	*s = privdata;
	redisReply	*reply = r, *msgs;
	struct task_msg	 m;
	struct result	 lost;
	size_t		 k, i;
	char		*cause;

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY) {
		if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
			log_warnx("reclaim: %s", reply->str);
		return;
	}
	s->agents_alive = (int)reply->element[0]->integer;
	if (s->agents_alive > 0) {
		s->agents_seen = 1;
		s->last_alive = util_now_ms();
	}
	msgs = reply->element[1];
	for (k = 0; k < msgs->elements; k++) {
		if (msgs->element[k]->type != REDIS_REPLY_STRING ||
		    task_msg_decode(msgs->element[k]->str,
		    msgs->element[k]->len, &m, &cause) != 0)
			continue;
		i = graph_find(s->g, m.id);
		if (i != GRAPH_NONE && strcmp(m.run, s->run) == 0) {
			memset(&lost, 0, sizeof lost);
			lost.id = m.id;
			lost.attempt = m.attempt;
			lost.status = RESULT_LOST;
			lost.reason = (char *)"its agent stopped heartbeating";
			submit_result(s, &lost);
		}
		task_msg_clear(&m);
	}
}

/* Reply to HGET meta rejected: say when agents refused messages. */
static void
submit_rejected_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct submit	*s = privdata;
	redisReply	*reply = r;
	const char	*errstr;
	int		 n;

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_STRING)
		return;
	n = (int)util_strtonum(reply->str, 0, INT32_MAX, &errstr);
	if (errstr != NULL || n <= s->rejected)
		return;
	report_note(s, "agents rejected %d task message%s (unsigned, forged, "
	    "replayed or malformed; see the agents' logs)", n,
	    n == 1 ? "" : "s");
	s->rejected = n;
}

/*
 * Reply to HGETALL meta while no agent serves the run: show, once per
 * agent, why an agent refused it (another commit, another secret), so a
 * misconfigured fleet is plain at once rather than after --agent-wait.
 */
static void
submit_refused_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct submit	*s = privdata;
	redisReply	*reply = r;
	const char	*name;
	char		*key, *old;
	size_t		 k;

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
		return;
	for (k = 0; k + 1 < reply->elements; k += 2) {
		if (reply->element[k]->type != REDIS_REPLY_STRING ||
		    reply->element[k + 1]->type != REDIS_REPLY_STRING ||
		    strncmp(reply->element[k]->str, "refused:", 8) != 0)
			continue;
		name = reply->element[k]->str + 8;
		xasprintf(&key, "\n%s\n", name);
		if (s->refused != NULL && strstr(s->refused, key) != NULL) {
			free(key);
			continue;
		}
		old = s->refused;
		xasprintf(&s->refused, "%s%s", old != NULL ? old : "\n",
		    key + 1);
		free(old);
		free(key);
		log_warnx("agent %s refused run %s: %s", name, s->run,
		    reply->element[k + 1]->str);
	}
}

/* Reply to EXISTS meta: the run's keys vanished (Redis lost its data). */
static void
submit_exists_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct submit	*s = privdata;
	redisReply	*reply = r;

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_INTEGER ||
	    reply->integer != 0 || s->ending)
		return;
	submit_abort(s, "run state lost: the run's keys are gone from Redis "
	    "(was it restarted without persistence?)");
}

/* rc_cmd is (re)connected. */
static void
submit_cmd_ready(struct rconn *rc, void *arg)
{
	struct submit	*s = arg;

	script_load(rc);
	if (s->stop_pending != NULL) {
		submit_stop(s, s->stop_pending);
		return;
	}
	submit_start(s);
	if (s->begun) {
		submit_verify(s);
		submit_reconcile(s, 1);
	}
}

/* rc_sub is (re)connected: subscribe again. */
static void
submit_sub_ready(struct rconn *rc, void *arg)
{
	struct submit	*s = arg;

	s->subscribed = 0;
	rconn_command(rc, submit_event_done, s, "SUBSCRIBE %s",
	    s->keys.events);
}

/* A connection failed for good (AUTH refused). */
static void
submit_lost(struct rconn *rc, void *arg)
{
	struct submit	*s = arg;

	if (rconn_error(rc) != NULL)
		submit_abort(s, rconn_error(rc));
}

/*
 * Resuming: tasks that finished before this submit stay finished. Apply
 * them to the graph in dependency order (a restored failure skips its
 * dependents) and say so.
 */
static void
submit_restore(struct submit *s)
{
	size_t		 i, n = graph_size(s->g), k, nskip, *skip, done = 0;
	struct ptask	*p;
	int		 progress = 1;

	while (progress) {
		progress = 0;
		for (i = 0; i < n; i++) {
			p = &s->pt[i];
			if (!p->restored || graph_node(s->g, i)->done ||
			    graph_node(s->g, i)->pending > 0)
				continue;
			progress = 1;
			done++;
			s->nfinal++;
			printf("= %s: %s earlier (attempt %d%s%s)\n",
			    p->result.id, p->result.status == RESULT_SUCCESS ?
			    "succeeded" : result_status_name(p->result.status),
			    p->result.attempt, p->result.agent != NULL ?
			    " on " : "", p->result.agent != NULL ?
			    p->result.agent : "");
			if (p->result.status == RESULT_SUCCESS) {
				nskip = graph_succeeded(s->g, i, &skip);
				free(skip);
				continue;
			}
			nskip = graph_failed(s->g, i, &skip);
			for (k = 0; k < nskip; k++) {
				if (s->pt[skip[k]].state == PT_DONE &&
				    !s->pt[skip[k]].restored)
					continue;
				submit_skip(s, skip[k], p->result.id,
				    p->result.status);
			}
			free(skip);
		}
	}
	if (done > 0) {
		log_info("%zu task%s finished before this submit", done,
		    done == 1 ? "" : "s");
		fflush(stdout);
	}
}

/*
 * Create the connections on the first call; once subscribed with rc_cmd
 * ready, announce the run and dispatch the roots (first time) or
 * reconcile (after a reconnect).
 */
void
submit_start(struct submit *s)
{
	size_t	*ready, n = 0, i;
	char	*ev;
	size_t	 len;

	if (s->rc_cmd == NULL) {
		s->rc_cmd = rconn_new(s->base, &s->url, "cmd",
		    submit_cmd_ready, submit_lost, s);
		s->rc_sub = rconn_new(s->base, &s->url, "sub",
		    submit_sub_ready, submit_lost, s);
		return;
	}
	if (!s->subscribed || !rconn_is_ready(s->rc_cmd))
		return;
	if (s->begun) {
		submit_reconcile(s, 1);
		return;
	}
	s->begun = 1;
	ev = event_encode_simple(EVENT_RUN, NULL, &len);
	rconn_command(s->rc_cmd, submit_any_done, NULL, "PUBLISH %s %s",
	    s->keys.control, ev);
	free(ev);
	submit_restore(s);
	ready = xcalloc(graph_size(s->g), sizeof *ready);
	for (i = 0; i < graph_size(s->g); i++) {
		if (s->pt[i].state == PT_WAITING &&
		    graph_node(s->g, i)->pending == 0)
			ready[n++] = i;
	}
	submit_dispatch(s, ready, n);
	free(ready);
	submit_check_end(s);
}

/* Reply to the stop sentinel's PUBLISH: the run is over, leave. */
static void
submit_stopped_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct submit	*s = privdata;

	(void)ac;
	if (r == NULL && s->stop_pending != NULL)
		return;		/* cut off: sent again once reconnected */
	free(s->stop_pending);
	s->stop_pending = NULL;
	event_base_loopexit(s->base, NULL);
}

/*
 * Set the stop sentinel with reason and announce it; then leave. The
 * sentinel is what releases the agents, so it is sent again after a
 * reconnect until Redis has answered (submit_tick gives up after a while).
 */
static void
submit_stop(struct submit *s, const char *reason)
{
	char	*why;

	if (!s->ending) {
		s->ending = 1;
		s->ended = util_now_ms();
	}
	why = xstrdup(reason);
	free(s->stop_pending);
	s->stop_pending = why;
	if (!rconn_is_ready(s->rc_cmd))
		return;		/* submit_cmd_ready() sends it */
	script_stop(s->rc_cmd, &s->keys, why, s->ttl, STOP_MAIN | STOP_STATE,
	    submit_stopped_done, s);
}

/* Do all tasks of the --stop-agents-after targets exist and are done? */
static int
submit_targets_done(struct submit *s)
{
	size_t		 i, n = graph_size(s->g), len;
	const char	*target, *p;
	int		 found = 0;

	for (i = 0; i < n; i++) {
		target = graph_node(s->g, i)->task->target;
		len = strlen(target);
		for (p = s->stop_after; *p != '\0'; p += strcspn(p, ",")) {
			if (*p == ',')
				p++;
			if (strncmp(p, target, len) == 0 &&
			    (p[len] == ',' || p[len] == '\0')) {
				if (s->pt[i].state != PT_DONE)
					return (0);
				found = 1;
			}
		}
	}
	return (found);
}

/* Every task final and printed: release the agents (or not), leave. */
static void
submit_check_end(struct submit *s)
{
	int	release;

	if (s->ending || s->nfinal < graph_size(s->g) || s->nprinting > 0)
		return;
	if (s->keep_agents)
		release = 0;
	else if (s->stop_after != NULL)
		release = submit_targets_done(s);
	else
		release = 1;
	if (release) {
		submit_stop(s, "done");
		return;
	}
	log_info("agents kept for a later submit of run %s", s->run);
	s->ending = 1;
	s->ended = util_now_ms();
	/* Agents wait for the next submit as long as they would for one. */
	rconn_command(s->rc_cmd, submit_any_done, NULL, "SET %s 1 EX %d",
	    s->keys.main_hb, s->agent_wait > s->main_lease ? s->agent_wait :
	    s->main_lease);
	if (rconn_command(s->rc_cmd, submit_stopped_done, s, "EXPIRE %s %d",
	    s->keys.meta, s->ttl) != 0)
		event_base_loopexit(s->base, NULL);
}

/* End the run now with an infrastructure failure (exit 3). */
void
submit_abort(struct submit *s, const char *why)
{
	if (s->abort_reason != NULL)
		return;
	s->abort_reason = xstrdup(why);
	log_warnx("%s", why);
	if (s->rc_cmd != NULL && rconn_is_ready(s->rc_cmd) && !s->ending)
		submit_stop(s, strncmp(why, "cancelled", 9) == 0 ?
		    "cancelled" : "aborted");
	else
		event_base_loopexit(s->base, NULL);
}

/* Reply to GET stop: a cancelled run ends the submit (exit 3). */
static void
cancel_poll_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct submit	*s = privdata;
	redisReply	*reply = r;

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(reply->str, "cancelled") == 0 && !s->ending)
		submit_abort(s, "cancelled (dteq cancel)");
}

/* In a running submit: has someone cancelled the run? */
static void
cancel_poll(struct submit *s)
{
	if (s->rc_cmd == NULL || !rconn_is_ready(s->rc_cmd) || s->ending)
		return;
	rconn_command(s->rc_cmd, cancel_poll_done, s, "GET %s",
	    s->keys.stop);
}

/* Once a second: heartbeat, reclaim, reconcile, limits. */
void
submit_tick(struct submit *s)
{
	uint64_t	 now = util_now_ms();
	size_t		 above[SUBMIT_ABOVE], n;
	char		*why;

	if (s->ending) {
		if (s->stop_pending != NULL && now - s->ended > 20000) {
			log_warnx("could not set the stop sentinel of run %s "
			    "(Redis unreachable); agents stop when this "
			    "submit's heartbeat lapses", s->run);
			event_base_loopexit(s->base, NULL);
		}
		return;
	}
	if (!rconn_is_ready(s->rc_cmd)) {
		if (rconn_down_ms(s->rc_cmd) > 60000)
			submit_abort(s, "Redis unreachable for 60 s");
		return;
	}
	rconn_command(s->rc_cmd, submit_any_done, NULL, "SET %s 1 PX %d",
	    s->keys.main_hb, s->main_lease * 1000);
	rconn_command(s->rc_cmd, submit_exists_done, s, "EXISTS %s",
	    s->keys.meta);
	rconn_command(s->rc_cmd, submit_reclaim_done, s,
	    "EVALSHA %s 3 %s %s %s %s %s", script_sha(SCRIPT_RECLAIM),
	    s->keys.agents, s->keys.attempts, s->keys.claims,
	    s->keys.hb_prefix, s->keys.running_prefix);
	rconn_command(s->rc_cmd, submit_rejected_done, s,
	    "HGET %s rejected", s->keys.meta);
	if (s->agents_alive == 0)
		rconn_command(s->rc_cmd, submit_refused_done, s,
		    "HGETALL %s", s->keys.meta);
	if (s->begun)
		submit_reconcile(s, ++s->ticks % 10 == 0);
	/*
	 * Held tasks wait for the queued ones above them to start: a start
	 * whose event was missed must not keep them waiting.
	 */
	if (s->begun && (n = sched_above_held(s, above, SUBMIT_ABOVE)) > 0)
		submit_hmget(s, s->keys.claims, above, n, submit_claims_done);
	cancel_poll(s);
	report_tick(s);
	if (s->timeout > 0 && now - s->started >= (uint64_t)s->timeout * 1000) {
		xasprintf(&why, "the run timed out after %d s", s->timeout);
		submit_abort(s, why);
		free(why);
		return;
	}
	if (s->agents_alive == 0 &&
	    now - s->last_alive >= (uint64_t)s->agent_wait * 1000) {
		xasprintf(&why, "%s within %d s", s->agents_seen ?
		    "no agent alive" : "no agent came", s->agent_wait);
		submit_abort(s, why);
		free(why);
	}
}
