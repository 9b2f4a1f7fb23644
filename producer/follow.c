/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Following the run: what the agents announce on the events channel,
 * and what becomes of each result. loop.c calls in (it owns the
 * connections and the subscription); this file calls down into
 * cached.c and dispatch.c, for what may run now, and end.c, for the end.
 * Data flow:
 *
 * 1. loop.c subscribes rc_sub to the events channel and hands each
 *    message after the confirmation to follow_message(), which decodes
 *    it.
 * 2. "started" events go to dispatch_started(): the task is running, and
 *    what waits for it may be staged now (dispatch_stage_next()).
 *    "log" events (--stream only) fetch the new chunk of output for
 *    report_log(); "stop" events with the reason "cancelled" end the
 *    run (end_abort()).
 * 3. "finished" events, and the results follow_reconcile() reads from
 *    the results hash for tasks in flight (pub/sub is only a wake-up),
 *    go to follow_result(). Only a result of the task's current attempt
 *    counts. A success is final at once, so its dependents are
 *    dispatched at once (those the cache holds are final too:
 *    cached_ready()); a failure with retries left is dispatched again;
 *    a lost attempt (loop.c's reclaim) is requeued up to --max-reclaims.
 * 4. follow_fetch() GETs the attempt's stored output and prints it as one
 *    block (report_block()), in the order the results came. A final
 *    failure becomes final only once its block is out, and then its
 *    dependents are skipped (follow_skip(): recorded in the results
 *    hash, reported). After each result and block, end_check().
 * 5. Every event ends with dispatch_refill(): the queue moved, so held
 *    tasks may go.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "producer.h"

/* A pending output fetch: printed when GET answers. */
struct fetch {
	struct submit	*s;
	size_t		 i;
	struct result	 r;
	char		*note;		/* footer addition, may be NULL */
	int		 final;		/* a final failure: skip dependents
					   once the block is printed */
};

/* A live chunk of a task's output (--stream), fetched from its log. */
struct chunk {
	struct submit	*s;
	size_t		 i;
	int		 attempt;
};

static void	follow_final(struct submit *, size_t, const struct result *,
		    const char *);

/* Reply to GETRANGE of a streamed chunk: print it. */
static void
follow_chunk_done(redisAsyncContext *ac, void *r, void *privdata)
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
follow_chunk(struct submit *s, size_t i, const struct event_msg *e)
{
	struct chunk	*c;
	char		*key, from[32], to[32];

	if (!s->o->stream || e->length == 0)
		return;
	c = xcalloc(1, sizeof *c);
	c->s = s;
	c->i = i;
	c->attempt = e->attempt;
	key = keys_log(&s->keys, e->id, e->attempt);
	snprintf(from, sizeof from, "%llu", (unsigned long long)e->offset);
	snprintf(to, sizeof to, "%llu",
	    (unsigned long long)(e->offset + e->length - 1));
	if (rconn_command(s->rc_cmd, follow_chunk_done, c, "GETRANGE %s %s %s",
	    key, from, to) != 0)
		free(c);
	free(key);
}

/* Print f's block with out[0..len), then make a final failure final. */
static void
follow_print(struct fetch *f, const char *out, size_t len)
{
	report_block(f->s, f->i, &f->r, out, len, f->note);
	if (f->final)
		follow_final(f->s, f->i, &f->r, f->r.reason);
}

/* Free a fetch. */
static void
follow_fetch_free(struct fetch *f)
{
	result_clear(&f->r);
	free(f->note);
	free(f);
}

/* Reply to GET log: print the attempt's block. */
static void
follow_fetch_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct fetch	*f = privdata;
	struct submit	*s = f->s;
	redisReply	*reply = r;

	(void)ac;
	s->nprinting--;
	if (s->reported) {	/* cut off as the connection is freed */
		follow_fetch_free(f);
		return;
	}
	if (reply != NULL && reply->type == REDIS_REPLY_STRING)
		follow_print(f, reply->str, reply->len);
	else
		follow_print(f, NULL, 0);
	follow_fetch_free(f);
	end_check(s);
}

/* Fetch an attempt's output and print it as a block when it arrives. */
static void
follow_fetch(struct submit *s, size_t i, const struct result *r,
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
			follow_final(s, i, r, r->reason);
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
	sent = rconn_command(s->rc_cmd, follow_fetch_done, f, "GET %s", key);
	free(key);
	if (sent != 0) {
		follow_print(f, NULL, 0);
		follow_fetch_free(f);
		s->nprinting--;
	}
}

/* Store r, with the reason why, in the results hash. */
static void
follow_store(struct submit *s, const struct result *r, const char *why)
{
	struct result	 copy = *r;
	char		*json;

	copy.reason = (char *)why;
	json = result_encode(&copy, NULL);
	rconn_command_checked(s->rc_cmd, "result",
	    "HSET %s %s %s", s->keys.results, r->id, json);
	rconn_command_checked(s->rc_cmd, "result",
	    "EXPIRE %s %d", s->keys.results, s->o->ttl);
	free(json);
}

/* Task i will not run, for the reason why: final, recorded, reported. */
static void
follow_skip_why(struct submit *s, size_t i, const char *why)
{
	struct ptask	*q = &s->pt[i];
	const char	*id = graph_node(s->g, i)->task->id;
	struct result	 sr;

	if (q->staged) {		/* it will never be pushed: tidy */
		dispatch_unstage(s, i);
		rconn_command_checked(s->rc_cmd, "unstage",
		    "HDEL %s %s", s->keys.staged, id);
		rconn_command_checked(s->rc_cmd, "unstage",
		    "HDEL %s %s", s->keys.waiting, id);
	}
	memset(&sr, 0, sizeof sr);
	sr.id = (char *)id;
	sr.status = RESULT_SKIPPED;
	sr.attempt = q->attempt;
	ptask_set_state(s, i, PT_DONE);
	q->restored = 0;
	s->nfinal++;
	result_clear(&q->result);
	q->result.id = xstrdup(id);
	q->result.status = RESULT_SKIPPED;
	free(q->reason);
	q->reason = xstrdup(why);
	follow_store(s, &sr, why);
	report_skipped(s, i);
}

/* Task i is skipped because dependency dep ended with status. */
void
follow_skip(struct submit *s, size_t i, const char *dep, int status)
{
	char	*why;

	xasprintf(&why, "dependency %s %s", dep,
	    status == RESULT_SKIPPED ? "skipped" : "failed");
	follow_skip_why(s, i, why);
	free(why);
}

/*
 * Tasks whose last dependency just succeeded: dispatch those that wait,
 * unless the cache holds their outputs (cached_ready()); those that were
 * staged are on the queue already (the dependency's finish script pushed
 * them), so only what waits for them moves on.
 */
static void
follow_ready(struct submit *s, const size_t *next, size_t n)
{
	size_t		*push, npush = 0, *released, nrel = 0, k;
	struct ptask	*p;

	if (n == 0)
		return;
	push = xcalloc(n, sizeof *push);
	released = xcalloc(n, sizeof *released);
	for (k = 0; k < n; k++) {
		p = &s->pt[next[k]];
		if (p->state == PT_WAITING)
			push[npush++] = next[k];
		else if (p->state != PT_DONE) {
			if (p->staged && p->state == PT_QUEUED)
				sched_released(s, next[k]);
			dispatch_unstage(s, next[k]);
			released[nrel++] = next[k];
		}
	}
	cached_ready(s, push, npush);
	dispatch_stage_next(s, released, nrel);
	free(push);
	free(released);
}

/* Record task i's final state; dispatch or skip what depends on it. */
static void
follow_final(struct submit *s, size_t i, const struct result *r,
    const char *reason)
{
	struct ptask	*p = &s->pt[i];
	size_t		*next = NULL, n, k;

	if (p->state == PT_DONE)
		return;
	ptask_set_state(s, i, PT_DONE);
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
		follow_ready(s, next, n);
		free(next);
		return;
	}
	n = graph_failed(s->g, i, &next);
	for (k = 0; k < n; k++)
		follow_skip(s, next[k], r->id, r->status);
	if (n > 0)
		rconn_command_checked(s->rc_cmd, "result",
		    "EXPIRE %s %d", s->keys.results, s->o->ttl);
	free(next);
	if (s->o->fail_fast && !s->failskipped)
		follow_fail_fast(s);
}

/*
 * --fail-fast, once the failure's block is out: report the tasks taken
 * back (halting first if that has not happened) as skipped.
 */
void
follow_fail_fast(struct submit *s)
{
	size_t		 i, n = graph_size(s->g);

	if (!s->failing)
		dispatch_halt(s);
	s->failskipped = 1;
	for (i = 0; i < n; i++) {
		if (s->pt[i].state == PT_DONE || s->pt[i].state == PT_RUNNING)
			continue;
		follow_skip_why(s, i, "--fail-fast: an earlier task failed");
	}
	end_check(s);
}

/* Task i's attempt r was lost with its agent: requeue it, or give up. */
static void
follow_lost(struct submit *s, size_t i, const struct result *r)
{
	struct ptask	*p = &s->pt[i];
	char		*note;

	p->lost++;
	if (p->lost > s->o->max_reclaims) {
		xasprintf(&note, "lost %d times", p->lost);
		report_note(s, "%s: %s; not retried", r->id, note);
		follow_store(s, r, note);
		follow_final(s, i, r, note);
		free(note);
		return;
	}
	report_note(s, "%s: attempt %d lost (%s); requeued", r->id,
	    r->attempt, r->reason != NULL ? r->reason : "agent lost");
	p->tries--;
	dispatch_ready(s, &i, 1);
}

/*
 * Task i's attempt r failed or timed out: run it again while it has
 * retries left, else it is final once its block is out.
 */
static void
follow_failed(struct submit *s, size_t i, const struct result *r)
{
	struct ptask	*p = &s->pt[i];
	char		*note;

	if (p->tries <= dispatch_retries(s, i) && !s->failing) {
		free(p->avoid);
		p->avoid = r->agent != NULL ? xstrdup(r->agent) : NULL;
		xasprintf(&note, "retrying (attempt %d of %d)", p->tries + 1,
		    dispatch_retries(s, i) + 1);
		follow_fetch(s, i, r, note, 0);
		free(note);
		dispatch_ready(s, &i, 1);
		return;
	}
	ptask_set_state(s, i, PT_RUNNING);	/* until its block is out */
	p->fetching = 1;
	if (s->o->fail_fast && !s->failing)
		dispatch_halt(s);
	follow_fetch(s, i, r, NULL, 1);
}

/* A result arrived: it counts if it is for its task's current attempt. */
void
follow_result(struct submit *s, const struct result *r)
{
	size_t		 i;
	struct ptask	*p;

	if ((i = graph_find(s->g, r->id)) == GRAPH_NONE)
		return;
	p = &s->pt[i];
	if (r->attempt != p->attempt || p->fetching || p->killed ||
	    (p->state != PT_QUEUED && p->state != PT_RUNNING))
		return;
	switch (r->status) {
	case RESULT_SUCCESS:
		follow_fetch(s, i, r, NULL, 0);
		follow_final(s, i, r, NULL);
		break;
	case RESULT_LOST:
		follow_lost(s, i, r);
		break;
	case RESULT_CANCELLED:
		/*
		 * Its agent killed it because the run was stopped (cancelled
		 * or aborted): show its output, but it did not finish, and
		 * its dependents are not skipped for it.
		 */
		p->killed = 1;
		follow_fetch(s, i, r, "killed: the run was stopped", 0);
		if (s->abort_reason == NULL)
			end_cancel_poll(s);
		break;
	default:
		follow_failed(s, i, r);
		break;
	}
	end_check(s);
}

/* Act on one decoded event. */
static void
follow_event(struct submit *s, const struct event_msg *e)
{
	size_t	i;

	switch (e->type) {
	case EVENT_STARTED:
		dispatch_started(s, e->id, e->attempt, e->agent);
		break;
	case EVENT_LOG:
		i = graph_find(s->g, e->id);
		if (i != GRAPH_NONE && s->pt[i].attempt == e->attempt)
			follow_chunk(s, i, e);
		break;
	case EVENT_FINISHED:
		follow_result(s, &e->result);
		if (e->next_id != NULL)
			dispatch_started(s, e->next_id, e->next_attempt,
			    e->next_agent);
		break;
	case EVENT_STOP:
		if (!s->ending && e->reason != NULL &&
		    strcmp(e->reason, "cancelled") == 0)
			end_abort(s, "cancelled (dteq cancel)");
		break;
	}
}

/*
 * A message on the events channel (loop.c subscribes): decode it and act
 * on it. The queue may have moved, so held tasks may go now.
 */
void
follow_message(struct submit *s, const char *buf, size_t len)
{
	struct event_msg e;
	char		*cause;

	if (event_decode(buf, len, &e, &cause) != 0) {
		log_debug("%s: %s", __func__, cause);
		free(cause);
		return;
	}
	follow_event(s, &e);
	event_clear(&e);
	dispatch_refill(s);
}

/* Reply to HMGET results for tasks in flight: catch missed events. */
static void
follow_reconcile_done(redisAsyncContext *ac, void *r, void *privdata)
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
		follow_result(s, &res);
		result_clear(&res);
	}
	dispatch_refill(s);
}

/*
 * Read the stored results of tasks in flight: those known to run, or
 * with all set also those still queued (whose "started" event may have
 * been missed too).
 */
void
follow_reconcile(struct submit *s, int all)
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
		rconn_command_argv(s->rc_cmd, follow_reconcile_done, s,
		    (int)argc, argv, lens);
	}
	free(argv);
	free(lens);
}
