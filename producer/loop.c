/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The run's life in the event loop, above dispatch.c, cached.c, follow.c
 * and end.c (which never call up here): its two connections, the
 * subscription, the start and the once-a-second tick. Data flow:
 *
 * 1. loop_start() creates rc_cmd (commands and scripts) and rc_sub (the
 *    events channel). Each time rc_sub is ready, it subscribes again
 *    (loop_sub_ready()); each time rc_cmd is ready, the scripts are
 *    loaded and a pending stop is sent again (end_stop()). The
 *    subscription's replies reach loop_event_done(): the confirmation
 *    calls loop_start(), each message after it goes to follow_message().
 *    Once SUBSCRIBE is confirmed and rc_cmd is ready, loop_start()
 *    announces the run, applies the tasks that finished before this
 *    submit (loop_restore()), restores an --nx run's cache hits here
 *    first (warm_start(), then loop_begin() once it is over), asks the
 *    remote cache about the tasks
 *    with a hash (cached_start()) and dispatches the roots, those the
 *    cache holds excepted (cached_ready()); after a reconnect it
 *    reconciles instead, cached_resend() writes the cache hits'
 *    results again and dispatch_verify() sends again a dispatch that
 *    was cut off.
 * 2. loop_tick() (1 s): the main job's heartbeat, the reclaim script
 *    (agents alive; the tasks of agents whose lease expired come back
 *    as lost results, to follow_result()), messages agents rejected,
 *    why agents refused the run, the run's keys still there, a cancel
 *    (end_cancel_poll()), follow_reconcile(), dispatch_check_claims(),
 *    the progress line, and the limits: --timeout, --agent-wait, Redis
 *    down for 60 s, each ending the run with end_abort() (exit 3).
 *    While the run ends, the tick gives up on a stop sentinel Redis
 *    has not taken within 20 s.
 * 3. The end itself is end.c's: end_check() once every task is final and
 *    printed, end_stop() for the stop sentinel, end_abort().
 */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "producer.h"

/*
 * Redis's memory is looked at every LOOP_MEMORY_TICKS ticks, and every
 * tick once it is full: full for LOOP_OOM_MS, the run ends naming it.
 */
#define LOOP_MEMORY_TICKS	5
#define LOOP_OOM_MS		10000

/*
 * Reply to the main heartbeat (SET ... GET: what it replaced). Another
 * main job's name there means this one was taken for dead (frozen longer
 * than a few seconds) and another submit took the run over: leave at
 * once, writing nothing more (exit 3); the run is that submit's.
 */
static void
loop_heartbeat_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct submit	*s = privdata;
	redisReply	*reply = r;
	char		*why;

	(void)ac;
	if (reply == NULL || s->ending)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		log_warnx("heartbeat: %s", reply->str);
		return;
	}
	if (reply->type != REDIS_REPLY_STRING || strcmp(reply->str,
	    s->me) == 0 || strcmp(reply->str, "kept") == 0)
		return;
	xasprintf(&why, "run %s was taken over by another submit (main job "
	    "%s) while this one did not heartbeat; leaving it to that one",
	    s->run, reply->str);
	/* Not end_abort(): the stop sentinel is no longer ours to set. */
	s->abort_reason = why;
	s->ending = 1;
	s->ended = util_now_ms();
	log_warnx("%s", why);
	event_base_loopexit(s->base, NULL);
}

/* rc_cmd is (re)connected. */
static void
loop_cmd_ready(struct rconn *rc, void *arg)
{
	struct submit	*s = arg;

	script_load(rc);
	if (s->stop_pending != NULL) {
		end_stop(s, s->stop_pending);
		return;
	}
	loop_start(s);
	if (s->begun) {
		cached_resend(s);
		dispatch_verify(s);
		follow_reconcile(s, 1);
	}
}

/*
 * A message on the events channel, or the subscribe confirmation: once
 * SUBSCRIBE is confirmed loop_start() may dispatch (no result can arrive
 * unheard); every message after it goes to follow_message().
 */
static void
loop_event_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct submit	*s = privdata;
	redisReply	*reply = r;

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 3)
		return;
	if (reply->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(reply->element[0]->str, "subscribe") == 0) {
		s->subscribed = 1;
		loop_start(s);
		return;
	}
	if (reply->element[2]->type == REDIS_REPLY_STRING)
		follow_message(s, reply->element[2]->str,
		    reply->element[2]->len);
}

/* rc_sub is (re)connected: subscribe to the run's events again. */
static void
loop_sub_ready(struct rconn *rc, void *arg)
{
	struct submit	*s = arg;

	(void)rc;
	s->subscribed = 0;
	rconn_command(s->rc_sub, loop_event_done, s, "SUBSCRIBE %s",
	    s->keys.events);
}

/* A connection failed for good (AUTH refused). */
static void
loop_lost(struct rconn *rc, void *arg)
{
	struct submit	*s = arg;

	if (rconn_error(rc) != NULL)
		end_abort(s, rconn_error(rc));
}

/* Restored task i is final: say so, and release or skip what follows. */
static void
loop_restore_one(struct submit *s, size_t i)
{
	struct ptask	*p = &s->pt[i];
	size_t		 k, nskip, *skip;

	s->nfinal++;
	if (p->result.cached)
		printf("= %s: a cache hit earlier, not run\n", p->result.id);
	else
		printf("= %s: %s earlier (attempt %d%s%s)\n", p->result.id,
		    p->result.status == RESULT_SUCCESS ? "succeeded" :
		    result_status_name(p->result.status), p->result.attempt,
		    p->result.agent != NULL ? " on " : "",
		    p->result.agent != NULL ? p->result.agent : "");
	if (p->result.status == RESULT_SUCCESS) {
		nskip = graph_succeeded(s->g, i, &skip);
		free(skip);
		return;
	}
	nskip = graph_failed(s->g, i, &skip);
	for (k = 0; k < nskip; k++) {
		if (s->pt[skip[k]].state == PT_DONE &&
		    !s->pt[skip[k]].restored)
			continue;
		follow_skip(s, skip[k], p->result.id, p->result.status);
	}
	free(skip);
}

/*
 * Resuming: tasks that finished before this submit stay finished. Apply
 * them to the graph in dependency order (a restored failure skips its
 * dependents) and say so.
 */
static void
loop_restore(struct submit *s)
{
	size_t		 i, n = graph_size(s->g), done = 0;
	int		 progress = 1;

	while (progress) {
		progress = 0;
		for (i = 0; i < n; i++) {
			if (!s->pt[i].restored || graph_node(s->g, i)->done ||
			    graph_node(s->g, i)->pending > 0)
				continue;
			progress = 1;
			done++;
			loop_restore_one(s, i);
		}
	}
	if (done > 0) {
		log_info("%zu task%s finished before this submit", done,
		    done == 1 ? "" : "s");
		fflush(stdout);
	}
}

static void	loop_begin(struct submit *);

/*
 * Create the connections on the first call; once subscribed with rc_cmd
 * ready, announce the run and dispatch the roots (first time) or
 * reconcile (after a reconnect).
 */
void
loop_start(struct submit *s)
{
	char	*ev;
	size_t	 len;

	if (s->rc_cmd == NULL) {
		s->rc_cmd = rconn_new(s->base, &s->url, "cmd",
		    loop_cmd_ready, loop_lost, s);
		s->rc_sub = rconn_new(s->base, &s->url, "sub",
		    loop_sub_ready, loop_lost, s);
		return;
	}
	if (!s->subscribed || !rconn_is_ready(s->rc_cmd))
		return;
	if (s->begun) {
		follow_reconcile(s, 1);
		return;
	}
	s->begun = 1;
	ev = event_encode_simple(EVENT_RUN, NULL, &len);
	rconn_command_checked(s->rc_cmd, "announce",
	    "PUBLISH %s %s", s->keys.control, ev);
	free(ev);
	loop_restore(s);
	/* An --nx run's cache hits are restored here first (warm.c). */
	if (!warm_start(s, loop_begin))
		loop_begin(s);
}

/* Ask the cache about the tasks with a hash, and dispatch the roots. */
static void
loop_begin(struct submit *s)
{
	size_t	*ready, n = 0, i;

	if (s->abort_reason != NULL || s->ending)
		return;
	cached_start(s);
	ready = xcalloc(graph_size(s->g), sizeof *ready);
	for (i = 0; i < graph_size(s->g); i++) {
		if (s->pt[i].state == PT_WAITING &&
		    graph_node(s->g, i)->pending == 0)
			ready[n++] = i;
	}
	cached_ready(s, ready, n);
	free(ready);
	end_check(s);
}

/* Reply to the reclaim script: {alive agents, {messages of lost ones}}. */
static void
loop_reclaim_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct submit	*s = privdata;
	redisReply	*reply = r, *msgs;
	struct task_msg	 m;
	struct result	 lost;
	const char	*json;
	size_t		 k, jsonlen;
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
		if (msgs->element[k]->type != REDIS_REPLY_STRING)
			continue;
		json = sign_payload(msgs->element[k]->str,
		    msgs->element[k]->len, &jsonlen);
		if (task_msg_decode(json, jsonlen, &m, &cause) != 0) {
			log_warnx("reclaim: a lost agent's message: %s", cause);
			free(cause);
			continue;
		}
		if (graph_find(s->g, m.id) != GRAPH_NONE &&
		    strcmp(m.run, s->run) == 0) {
			memset(&lost, 0, sizeof lost);
			lost.id = m.id;
			lost.attempt = m.attempt;
			lost.status = RESULT_LOST;
			lost.reason = (char *)"its agent stopped heartbeating";
			follow_result(s, &lost);
		}
		task_msg_clear(&m);
	}
}

/* Reply to HGET meta rejected: say when agents refused messages. */
static void
loop_rejected_done(redisAsyncContext *ac, void *r, void *privdata)
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
loop_refused_done(redisAsyncContext *ac, void *r, void *privdata)
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

/*
 * Reply to INFO memory stats, sent when the run's state went missing:
 * end, saying whether Redis evicted it or lost it.
 */
static void
loop_lost_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct submit	*s = privdata;
	redisReply	*reply = r;
	const char	*info = "";
	char		 used[64], max[64], policy[64], evicted[64], *why;

	(void)ac;
	if (s->ending)
		return;
	if (reply != NULL && reply->type == REDIS_REPLY_STRING)
		info = reply->str;
	rconn_info_field(info, "used_memory_human", used, sizeof used);
	rconn_info_field(info, "maxmemory_human", max, sizeof max);
	rconn_info_field(info, "maxmemory_policy", policy, sizeof policy);
	rconn_info_field(info, "evicted_keys", evicted, sizeof evicted);
	if (strcmp(policy, "noeviction") != 0 &&
	    strcmp(evicted, "0") != 0 && strcmp(evicted, "?") != 0) {
		xasprintf(&why, "run state evicted: Redis, at %s of its "
		    "maxmemory %s, has evicted %s keys under maxmemory-policy "
		    "%s, and the run's are gone; use maxmemory-policy "
		    "noeviction for dteq's Redis", used, max, evicted, policy);
	} else {
		why = xstrdup("run state lost: the run's keys are gone from "
		    "Redis (was it restarted without persistence?)");
	}
	end_abort(s, why);
	free(why);
}

/* Ask Redis once why the run's keys are gone. */
static void
loop_ask_lost(struct submit *s)
{
	if (s->memory_asked)
		return;
	s->memory_asked = 1;
	if (rconn_command(s->rc_cmd, loop_lost_done, s,
	    "INFO memory stats") != 0)
		loop_lost_done(NULL, NULL, s);
}

/*
 * Reply to the INFO memory of every LOOP_MEMORY_TICKS: Redis full for
 * LOOP_OOM_MS (it refuses the writes that record the run: results,
 * heartbeats, dispatches) ends the run, naming its memory.
 */
static void
loop_memory_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct submit	*s = privdata;
	redisReply	*reply = r;
	uint64_t	 now = util_now_ms();
	char		*why;

	(void)ac;
	if (s->ending || reply == NULL || reply->type != REDIS_REPLY_STRING)
		return;
	if (!rconn_memory_full(reply->str, &why)) {
		s->oom_since = 0;
		return;
	}
	if (s->oom_since == 0)
		s->oom_since = now;
	else if (now - s->oom_since >= LOOP_OOM_MS)
		end_abort(s, why);
	free(why);
}

/* One write of the seen key: the value it wrote. */
struct loop_seen {
	struct submit	*s;
	uint64_t	 v;
};

/*
 * Reply to SET seen ... GET: the value the key held. Only this submit
 * writes it, once a second, so it is the one written last, or a newer
 * one whose reply was lost; an older one means Redis went back in time
 * (it restarted from an older snapshot, or failed over to a replica that
 * lagged): results, claims and attempts written since are gone, and
 * tasks already done could run again under their old attempt. The run
 * ends, saying so. A missing key (a restart that lost everything) is
 * left to the look at meta.
 */
static void
loop_seen_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct loop_seen	*q = privdata;
	struct submit		*s = q->s;
	redisReply		*reply = r;
	const char		*errstr;
	uint64_t		 prev;
	char			*why;

	(void)ac;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR || s->ending) {
		free(q);
		return;
	}
	if (reply->type == REDIS_REPLY_STRING) {
		prev = (uint64_t)util_strtonum(reply->str, 0, LLONG_MAX,
		    &errstr);
		if (errstr == NULL && s->seen_last != 0 &&
		    prev < s->seen_last) {
			xasprintf(&why, "Redis lost results: its state went "
			    "back in time by %llu ms (it came back from an "
			    "older snapshot, or failed over to a replica that "
			    "lagged); tasks finished since then could run "
			    "twice, so the run ends here: run it again",
			    (unsigned long long)(s->seen_last - prev));
			end_abort(s, why);
			free(why);
			free(q);
			return;
		}
	}
	s->seen_last = q->v;
	free(q);
}

/*
 * The wall time of this heartbeat, for dteq status (abandoned since),
 * read back by the next one to tell whether Redis went back in time.
 */
static void
loop_seen(struct submit *s)
{
	struct loop_seen	*q;

	q = xmalloc(sizeof *q);
	q->s = s;
	q->v = util_wall_ms();
	/* Never back: a clock step would look like Redis going back. */
	if (q->v <= s->seen_sent)
		q->v = s->seen_sent + 1;
	s->seen_sent = q->v;
	if (rconn_command(s->rc_cmd, loop_seen_done, q, "SET %s %llu EX %d "
	    "GET", s->keys.seen, (unsigned long long)q->v, s->o->ttl) != 0)
		free(q);
}

/* Reply to EXISTS meta: the run's keys vanished (Redis lost its data). */
static void
loop_exists_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct submit	*s = privdata;
	redisReply	*reply = r;

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_INTEGER ||
	    reply->integer != 0 || s->ending)
		return;
	/* Lost to a restart, or evicted: INFO tells which. */
	loop_ask_lost(s);
}

/* The run's limits: --timeout, and --agent-wait with no agent alive. */
static void
loop_limits(struct submit *s, uint64_t now)
{
	const struct submit_opts *o = s->o;
	char			 *why;

	if (o->timeout > 0 && now - s->started >= (uint64_t)o->timeout * 1000) {
		xasprintf(&why, "the run timed out after %d s", o->timeout);
		end_abort(s, why);
		free(why);
		return;
	}
	if (s->agents_alive == 0 &&
	    now - s->last_alive >= (uint64_t)o->agent_wait * 1000) {
		xasprintf(&why, "%s within %d s", s->agents_seen ?
		    "no agent alive" : "no agent came", o->agent_wait);
		end_abort(s, why);
		free(why);
	}
}

/* Once a second: heartbeat, reclaim, reconcile, limits. */
void
loop_tick(struct submit *s)
{
	uint64_t	 now = util_now_ms();

	if (s->ending) {
		if (s->stop_pending != NULL && now - s->ended > 20000) {
			log_warnx("could not set the stop sentinel of run %s "
			    "(Redis unreachable); agents stop when this "
			    "submit's heartbeat lapses", s->run);
			event_base_loopexit(s->base, NULL);
		}
		return;
	}
	/*
	 * The limits first: a connection that Redis keeps cutting may be
	 * down at every tick, and they must hold all the same (no agent is
	 * known alive while it is down).
	 */
	loop_limits(s, now);
	if (s->ending)
		return;
	if (!rconn_is_ready(s->rc_cmd)) {
		if (rconn_down_ms(s->rc_cmd) > 60000)
			end_abort(s, "Redis unreachable for 60 s");
		return;
	}
	rconn_command(s->rc_cmd, loop_heartbeat_done, s, "SET %s %s PX %d GET",
	    s->keys.main_hb, s->me, s->o->main_lease * 1000);
	loop_seen(s);
	rconn_command(s->rc_cmd, loop_exists_done, s, "EXISTS %s",
	    s->keys.meta);
	script_reclaim(s->rc_cmd, &s->keys, loop_reclaim_done, s);
	rconn_command(s->rc_cmd, loop_rejected_done, s, "HGET %s rejected",
	    s->keys.meta);
	if (s->agents_alive == 0)
		rconn_command(s->rc_cmd, loop_refused_done, s, "HGETALL %s",
		    s->keys.meta);
	if (++s->memory_ticks % LOOP_MEMORY_TICKS == 0 || s->oom_since != 0)
		rconn_command(s->rc_cmd, loop_memory_done, s, "INFO memory");
	if (s->begun) {
		follow_reconcile(s, ++s->ticks % 10 == 0);
		dispatch_check_claims(s);
	}
	end_cancel_poll(s);
	report_tick(s);
	fallback_tick(s, now);
}
