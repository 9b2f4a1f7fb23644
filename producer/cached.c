/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Cache hits: a task whose outputs the run's Redis already holds is not
 * run. A task may carry a hash (struct task: a task file's "hash", the
 * hash of Turborepo's dry run), the key of its artifact in the remote
 * cache (cache/store.c). When submit finds that artifact whole, as the
 * cache would serve it (its meta, and every chunk the meta counts:
 * store_lookup()), the task is final once its dependencies have
 * succeeded: a success "from the cache" (result.cached, no agent, no
 * attempt run). Its dependents become ready as usual, no agent ever
 * sees it, and the replay (replay.c) or its dependents' own commands and
 * restores bring its outputs. follow.c and loop.c call in; this file
 * calls down into dispatch.c (the tasks that do run) and end.c.
 *
 * Data flow:
 *
 * 1. cached_start(), from loop_start() before the roots are dispatched:
 *    every task with a hash still to run becomes a candidate
 *    (PT_CACHE_UNKNOWN), and one batch of lookups, pipelined on rc_cmd,
 *    asks about all of them at once (cached_lookup()): one round trip,
 *    whatever the number of tasks.
 * 2. cached_ready() takes the tasks that became ready (the roots from
 *    loop_start(), dependents from follow.c) in place of
 *    dispatch_ready(): a hit is made final (cached_hit()), and those of
 *    its dependents that become ready go through the same loop; a task
 *    whose answer has not come yet is held (checking) until it does; a
 *    candidate not asked about yet (a hash set after the start) is asked
 *    about now and held; every other task goes to dispatch_ready().
 * 3. cached_lookup_done(), per reply: a hit or a miss. Once the last
 *    reply of a batch is in, its held tasks go through cached_ready()
 *    again.
 *
 * In Redis a hit is a result like any other: cached_store() writes it to
 * the results hash, in one transaction for the hits of one
 * cached_ready(), sent before any dispatch that follows on the same
 * connection. So the stage script counts it a success, `dteq status`
 * counts it done, and a resumed submit finds it final: its attempt is
 * the task's, 0 when it never ran; a task that ran in an earlier attempt
 * of the run (a re-run of the run, a resumed submit) gets the next
 * number in attempts and claims, in the same transaction, which fences
 * every message of the old one. Nothing else is written: no queue, no
 * log. After a reconnect cached_resend() writes them all again, since a
 * staging that follows must find them there. A candidate is never staged
 * (dispatch_stageable()): its message would reach an agent. A lookup
 * that fails (the connection lost, an error reply) is a miss: the task
 * runs.
 *
 * A hash may come after the start (a tool that can only hash a task once
 * its dependencies are done): whoever sets task->hash sets the task's
 * cache state to PT_CACHE_UNKNOWN, and cached_ready() asks about it when
 * it becomes ready. (A task that must wait for a hash still to come
 * would need one more state, held until it arrives; nothing gives such
 * hashes yet.)
 */

#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "producer.h"
#include "cache.h"

/* One pipelined batch of lookups. */
struct cached_batch;
struct cached_ask {
	struct cached_batch	*b;
	size_t			 i;	/* graph index */
};
struct cached_batch {
	struct submit		*s;
	struct cached_ask	*asks;
	size_t			 n;
	size_t			 left;	/* replies still to come */
};

/* A growable list of graph indices. */
struct cached_list {
	size_t		*v;
	size_t		 n;
	size_t		 size;
};

/* Append i to l. */
static void
cached_push(struct cached_list *l, size_t i)
{
	if (l->n == l->size) {
		l->size = l->size == 0 ? 16 : l->size * 2;
		l->v = xreallocarray(l->v, l->size, sizeof *l->v);
	}
	l->v[l->n++] = i;
}

/*
 * The answer to one lookup: task i's artifact is whole in the cache (hit)
 * or not. A task that moved on meanwhile (skipped, --fail-fast) keeps
 * what it has.
 */
static void
cached_answer(struct submit *s, size_t i, const redisReply *reply)
{
	struct ptask		*p = &s->pt[i];
	struct store_meta	 m;
	char			*cause;
	int			 hit = 0;

	if (reply != NULL) {
		switch (store_meta_parse(reply, &m, &cause)) {
		case 1:
			hit = 1;
			break;
		case -1:
			log_warnx("cache lookup of %s (%s): %s; it runs",
			    graph_node(s->g, i)->task->id,
			    graph_node(s->g, i)->task->hash, cause);
			free(cause);
			break;
		}
		store_meta_clear(&m);
	}
	if (p->cache == PT_CACHE_ASKING)
		p->cache = hit ? PT_CACHE_HIT : PT_CACHE_MISS;
	log_debug("%s: %s: %s", __func__, graph_node(s->g, i)->task->id,
	    hit ? "hit" : "miss");
}

/*
 * Reply to one lookup of a batch (NULL: the connection went, a miss).
 * After the last one, the tasks held for the batch's answers go on.
 */
static void
cached_lookup_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct cached_ask	*a = privdata;
	struct cached_batch	*b = a->b;
	struct submit		*s = b->s;
	struct cached_list	 held;
	size_t			 k;

	(void)ac;
	if (!s->reported)	/* not cut off as the connection is freed */
		cached_answer(s, a->i, r);
	if (--b->left > 0)
		return;
	memset(&held, 0, sizeof held);
	for (k = 0; k < b->n && !s->reported; k++) {
		if (!s->pt[b->asks[k].i].checking)
			continue;
		s->pt[b->asks[k].i].checking = 0;
		if (s->pt[b->asks[k].i].state == PT_WAITING)
			cached_push(&held, b->asks[k].i);
	}
	if (held.n > 0)
		cached_ready(s, held.v, held.n);
	free(held.v);
	free(b->asks);
	free(b);
}

/*
 * Ask about the candidates among idx[0..n) not asked about yet (every
 * task when idx is NULL), in one pipelined batch. Without a connection
 * they are misses at once.
 */
void
cached_lookup(struct submit *s, const size_t *idx, size_t n)
{
	struct cached_batch	*b = NULL;
	struct ptask		*p;
	size_t			 k, i;

	if (idx == NULL)
		n = graph_size(s->g);
	for (k = 0; k < n; k++) {
		i = idx != NULL ? idx[k] : k;
		p = &s->pt[i];
		if (p->cache != PT_CACHE_UNKNOWN)
			continue;
		if (!rconn_is_ready(s->rc_cmd)) {
			p->cache = PT_CACHE_MISS;
			continue;
		}
		if (b == NULL) {
			b = xcalloc(1, sizeof *b);
			b->s = s;
			b->asks = xcalloc(n, sizeof *b->asks);
		}
		b->asks[b->n].i = i;
		p->cache = PT_CACHE_ASKING;
		b->n++;
	}
	if (b == NULL)
		return;
	/* Each reply gets its own ask, and with it the batch. */
	b->left = b->n;
	for (k = 0; k < b->n; k++) {
		b->asks[k].b = b;
		i = b->asks[k].i;
		if (store_lookup(s->rc_cmd, graph_node(s->g, i)->task->hash,
		    cached_lookup_done, &b->asks[k]) != 0) {
			s->pt[i].cache = PT_CACHE_MISS;
			b->left--;
		}
	}
	log_debug("%s: %zu lookups", __func__, b->left);
	if (b->left == 0) {
		free(b->asks);
		free(b);
	}
}

/*
 * The run begins: the tasks with a hash that are still to run are the
 * candidates (unless --no-cache-skip or a tool's flag that skips the
 * cache: s->cache_skip), all asked about at once. A task that ran in an
 * earlier attempt of the run (a re-run, a resumed submit) may be one:
 * its hit is fenced (cached_store()).
 */
void
cached_start(struct submit *s)
{
	struct ptask	*p;
	size_t		 i, n = graph_size(s->g), ncand = 0;

	for (i = 0; i < n && s->cache_skip; i++) {
		p = &s->pt[i];
		if (graph_node(s->g, i)->task->hash == NULL ||
		    p->state != PT_WAITING)
			continue;
		p->cache = PT_CACHE_UNKNOWN;
		ncand++;
	}
	if (ncand > 0) {
		log_debug("%s: %zu of %zu tasks may be in the cache",
		    __func__, ncand, n);
		cached_lookup(s, NULL, 0);
	}
}

/*
 * Task i is a hit: final, a success from the cache, said so; it is
 * appended to *hits for cached_store(), and its dependents that are
 * ready now to *work. One with an attempt from before gets the next
 * number, which fences that attempt's messages, wherever they are.
 */
static void
cached_hit(struct submit *s, size_t i, struct cached_list *work,
    struct cached_list *hits)
{
	struct ptask	*p = &s->pt[i];
	const char	*id = graph_node(s->g, i)->task->id;
	size_t		*next, n, k;

	ptask_set_state(s, i, PT_DONE);
	s->nfinal++;
	if (p->attempt > 0)
		p->attempt++;
	result_clear(&p->result);
	p->result.id = xstrdup(id);
	p->result.status = RESULT_SUCCESS;
	p->result.attempt = p->attempt;
	p->result.cached = 1;
	p->result.start_ms = p->result.end_ms = util_wall_ms();
	report_cached(s, i);
	cached_push(hits, i);
	n = graph_succeeded(s->g, i, &next);
	for (k = 0; k < n; k++)
		cached_push(work, next[k]);
	free(next);
}

/*
 * Send HSET key with a field and value per hit of hits[0..n) that fence
 * says (its id and value(i)); nothing if there is none. Frees the values.
 */
static void
cached_hset(struct submit *s, const char *key, const size_t *hits, size_t n,
    int fence, char *(*value)(struct submit *, size_t))
{
	const char	**argv;
	size_t		 *lens, k, argc = 2;

	argv = xcalloc(2 * n + 2, sizeof *argv);
	lens = xcalloc(2 * n + 2, sizeof *lens);
	argv[0] = "HSET";
	argv[1] = key;
	for (k = 0; k < n; k++) {
		if (fence && s->pt[hits[k]].attempt == 0)
			continue;
		argv[argc++] = graph_node(s->g, hits[k])->task->id;
		argv[argc++] = value(s, hits[k]);
	}
	for (k = 0; k < argc; k++)
		lens[k] = strlen(argv[k]);
	if (argc > 2)
		rconn_command_argv(s->rc_cmd, rconn_check_reply,
		    (void *)"cache hits", (int)argc, argv, lens);
	for (k = 3; k < argc; k += 2)
		free((char *)argv[k]);
	free(argv);
	free(lens);
}

/* Task i's attempt number, for attempts and claims. Caller frees. */
static char *
cached_attempt(struct submit *s, size_t i)
{
	char	*v;

	xasprintf(&v, "%d", s->pt[i].attempt);
	return (v);
}

/* Task i's result JSON. Caller frees. */
static char *
cached_result(struct submit *s, size_t i)
{
	return (result_encode(&s->pt[i].result, NULL));
}

/*
 * Record the hits hits[0..n) in Redis, in one transaction sent on rc_cmd
 * before any dispatch or staging that follows: their results; and for a
 * hit with an attempt from before, its new attempt number in attempts
 * and claims (as reclaim and dispatch_halt fence an attempt), so no
 * message of an earlier attempt can start or be recorded.
 */
static void
cached_store(struct submit *s, const size_t *hits, size_t n)
{
	const struct keys	*k = &s->keys;
	size_t			 j, fenced = 0;

	if (n == 0)
		return;
	if (!rconn_is_ready(s->rc_cmd)) {
		log_debug("%s: %zu hits to write once reconnected", __func__,
		    n);
		return;		/* cached_resend() */
	}
	for (j = 0; j < n; j++)
		fenced += s->pt[hits[j]].attempt > 0;
	rconn_command_checked(s->rc_cmd, "cache hits", "MULTI");
	if (fenced > 0) {
		cached_hset(s, k->attempts, hits, n, 1, cached_attempt);
		cached_hset(s, k->claims, hits, n, 1, cached_attempt);
		rconn_command_checked(s->rc_cmd, "cache hits", "EXPIRE %s %d",
		    k->attempts, s->o->ttl);
		rconn_command_checked(s->rc_cmd, "cache hits", "EXPIRE %s %d",
		    k->claims, s->o->ttl);
	}
	cached_hset(s, k->results, hits, n, 0, cached_result);
	rconn_command_checked(s->rc_cmd, "cache hits", "EXPIRE %s %d",
	    k->results, s->o->ttl);
	rconn_command_checked(s->rc_cmd, "cache hits", "EXEC");
}

/*
 * Tasks ready[0..n) are ready (every dependency succeeded). Hits are
 * final at once, and so, through the same loop, are the dependents they
 * make ready that are hits too; candidates still waiting for their
 * answer are held; the rest are dispatched (dispatch_ready()).
 */
void
cached_ready(struct submit *s, const size_t *ready, size_t n)
{
	struct cached_list	 work, push, hits;
	struct ptask		*p;
	size_t			 i;

	if (s->failing || s->ending)
		return;
	cached_lookup(s, ready, n);	/* a hash that came late */
	memset(&work, 0, sizeof work);
	memset(&push, 0, sizeof push);
	memset(&hits, 0, sizeof hits);
	for (i = n; i-- > 0;)		/* taken from the end: in order */
		cached_push(&work, ready[i]);
	while (work.n > 0) {
		i = work.v[--work.n];
		p = &s->pt[i];
		if (p->state != PT_WAITING)
			continue;
		if (p->cache == PT_CACHE_ASKING)
			p->checking = 1;
		else if (p->cache == PT_CACHE_HIT)
			cached_hit(s, i, &work, &hits);
		else
			cached_push(&push, i);
	}
	cached_store(s, hits.v, hits.n);
	dispatch_ready(s, push.v, push.n);
	free(hits.v);
	free(push.v);
	free(work.v);
	end_check(s);
}

/*
 * rc_cmd is back: record the hits again (the transaction may have been
 * cut off with the connection), before dispatch_verify() stages anything
 * again.
 */
void
cached_resend(struct submit *s)
{
	struct cached_list	 hits;
	struct ptask		*p;
	size_t			 i;

	memset(&hits, 0, sizeof hits);
	for (i = 0; i < graph_size(s->g); i++) {
		p = &s->pt[i];
		if (p->state == PT_DONE && p->result.cached && !p->restored)
			cached_push(&hits, i);
	}
	cached_store(s, hits.v, hits.n);
	free(hits.v);
}
