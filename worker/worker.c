/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The agent's task slots. Data flow for one task:
 *
 * 1. worker_pop() sends BLMOVE queue -> running:<agent> on rc_block (one
 *    at a time, only while a slot is free); a timeout (nil) triggers a
 *    check of the stop sentinel and the run's meta, then the next pop.
 * 2. worker_pop_done() decodes the message into a wtask and sends the
 *    start script on rc_cmd (is the attempt still current? claim it).
 * 3. worker_task_run() spawns the child (proc.c) with the task's
 *    environment; output arrives in worker_output_cb(), is buffered and
 *    appended to the attempt's log (log script, at most output_cap bytes).
 *    A task whose message lists restores first gets the outputs of its
 *    dependencies that this checkout lacks (worker_restore()).
 * 4. worker_exit_cb() flushes the output and sends the finish script,
 *    which acks the message and records the result once, if the attempt
 *    is still current. While the queue has work the finish script also
 *    moves the next message into the running list and claims it, so the
 *    next task costs neither a BLMOVE nor a start script: steady state is
 *    one round trip per task.
 * 5. worker_finish_done() frees the wtask, runs the message that came
 *    with the finish (step 3) and pops again if a slot is still free.
 *
 * A command whose reply is lost with the connection is sent again when
 * rc_cmd is back (start and finish are idempotent). Stopping: the stop
 * sentinel (or its event) makes the agent stop popping and, unless the
 * run simply ended, kill its tasks; SIGTERM reports held tasks as lost
 * at once so the producer requeues them. worker_finish() gives back any
 * message still in the running list, deregisters and ends the loop.
 */

#include <sys/queue.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "worker.h"

#define WT_STARTING	0	/* start script sent */
#define WT_RUNNING	1	/* child running */
#define WT_FINISHING	2	/* finish script sent */

#define WT_POPPED	0	/* the message came by BLMOVE */
#define WT_FOLDED	1	/* with a finish */
#define WT_ADOPTED	2	/* found in the running list */

#define WORKER_FLUSH_BYTES	65536
#define WORKER_FLUSH_MS		100
#define WORKER_POP_TIMEOUT	"15"	/* s: then check the run; events wake it sooner */

static const char *wt_state_names[] = { "starting", "running", "finishing" };

struct wtask {
	struct worker		*w;
	LIST_ENTRY(wtask)	 entry;
	int			 state;
	int			 inflight;	/* a start/finish reply is due */
	int			 acked;		/* the finish script answered */
	int			 pops;		/* its finish pops the next */
	uint64_t		 ttl_asked;	/* ms: its finish renews the
						 * results' TTL (0: not) */
	int			 start_sent;	/* the start script went once */
	int			 folded;	/* did not come by BLMOVE */
	char			*msg;		/* the message, verbatim */
	size_t			 msglen;
	struct task_msg		 m;
	struct proc		*proc;
	char			*logkey;
	char			*attempt;	/* m.attempt as a string */
	struct script_attempt	 sat;		/* the above, for the scripts */

	char			*out;		/* output not yet appended */
	size_t			 outlen;
	size_t			 logged;	/* bytes appended or queued */
	uint64_t		 output_total;	/* bytes the task printed */
	int			 truncated;
	struct event		*ev_flush;

	struct result		 result;
	char			*result_json;

	uint64_t		 began;		/* ms, monotonic: timeout from */
	int			 restored;	/* restores done: run it */
	int			 restore_wait;	/* for the restore lock */
	int			 inline_held;	/* its command restores, locked */
	size_t			*group;		/* restores being run */
	size_t			 ngroup;
};

static void	worker_task_new(struct worker *, const char *, size_t, int,
		    redisReply **);
static void	worker_task_start(struct wtask *);
static void	worker_task_run(struct wtask *);
static void	worker_task_finish(struct wtask *);
static void	worker_task_free(struct wtask *);
static void	worker_task_done(struct wtask *);
static void	worker_task_next(struct worker *);
static void	worker_adopt_done(redisAsyncContext *, void *, void *);
static void	worker_flush(struct wtask *);
static void	worker_check(struct worker *);
static void	worker_heartbeat(struct worker *, int);
static void	worker_count_rejected(struct worker *, const char *);
static int	worker_restore(struct wtask *);
static void	worker_restore_release(struct wtask *);
static void	worker_present_add(struct worker *, const char *);

/* Move a task to a new state, logging the transition. */
static void
worker_set_state(struct wtask *wt, int state)
{
	log_debug("%s: %s attempt %d: %s -> %s", __func__, wt->m.id,
	    wt->m.attempt, wt_state_names[wt->state], wt_state_names[state]);
	wt->state = state;
}

/*
 * Reply to the heartbeat script: {renewed, main job alive}. A refused
 * renewal means this agent's lease lapsed (it was frozen or cut off) and
 * its tasks were given to others: kill them (their results would be
 * discarded anyway) and join again as a fresh agent.
 */
static void
worker_heartbeat_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct worker	*w = privdata;
	redisReply	*reply = r;
	struct wtask	*wt;

	(void)ac;
	if (reply == NULL || w->stopping)
		return;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER ||
	    reply->element[1]->type != REDIS_REPLY_INTEGER) {
		if (reply->type == REDIS_REPLY_ERROR)
			log_warnx("heartbeat: %s", reply->str);
		return;
	}
	if (reply->elements > 2 &&
	    reply->element[2]->type == REDIS_REPLY_STRING) {
		worker_stop(w, reply->element[2]->str);
		return;
	}
	if (reply->element[1]->integer == 0) {
		log_warnx("main job stopped responding (its heartbeat "
		    "lapsed); killing %d task%s", w->nrunning,
		    w->nrunning == 1 ? "" : "s");
		w->exit_code = EXIT_INFRA;
		worker_stop(w, "main job stopped responding");
		return;
	}
	if (reply->element[0]->integer == 1)
		return;
	log_warnx("lost the lease (this agent did not heartbeat in time); "
	    "its %d task%s went to other agents", w->nrunning,
	    w->nrunning == 1 ? "" : "s");
	LIST_FOREACH(wt, &w->tasks, entry) {
		if (wt->proc != NULL)
			proc_kill(wt->proc);
	}
	worker_heartbeat(w, 1);
}

/*
 * Send the heartbeat: the agent's lease, renewed on the server's clock.
 * The TTLs of the agents set and the running list are renewed with a
 * join and then once a quarter of the TTL, not with every heartbeat.
 */
static void
worker_heartbeat(struct worker *w, int join)
{
	uint64_t	now = util_now_ms();
	int		renew;

	if (!w->joined || w->stopping)
		return;
	renew = join || w->ttl_renewed == 0 ||
	    now - w->ttl_renewed >= (uint64_t)w->ttl * 1000 / 4;
	if (renew)
		w->ttl_renewed = now;
	script_heartbeat(w->rc_cmd, &w->sa, w->lease * 1000, w->ttl,
	    w->nrunning, (join ? SCRIPT_HB_JOIN : 0) |
	    (renew ? SCRIPT_HB_RENEW : 0), worker_heartbeat_done, w);
}

/*
 * Refuse a run this agent must not serve: log why, and leave the reason
 * in the run's meta (refused:NAME) for submit to show. 0 if it may.
 */
static int
worker_refuse(struct worker *w, long long protocol, const char *version,
    const char *commit, const char *check, int is_signed)
{
	char	*token, *why = NULL;
	int	 bad;

	if (protocol != DTEQ_PROTOCOL) {
		xasprintf(&why, "the run was submitted by %s%s (protocol "
		    "%lld) but this agent is dteq %s (protocol %d): run the "
		    "same dteq release on the main job and the agents",
		    version != NULL ? "dteq " : "an older dteq",
		    version != NULL ? version : "", protocol, DTEQ_VERSION,
		    DTEQ_PROTOCOL);
	} else if (commit != NULL && w->commit != NULL &&
	    strcmp(commit, w->commit) != 0 && !w->allow_mismatch) {
		xasprintf(&why, "the run was submitted from commit %s but "
		    "this agent's checkout is at %s (--allow-commit-mismatch "
		    "runs it anyway)", commit, w->commit);
	} else if (is_signed && w->secret == NULL) {
		why = xstrdup("the run has signed tasks but this agent has "
		    "no DTEQ_SECRET (or --secret-file)");
	} else if (!is_signed && w->secret != NULL) {
		why = xstrdup("the run has unsigned tasks but this agent "
		    "requires signed ones (DTEQ_SECRET is set)");
	} else if (is_signed && check != NULL) {
		token = sign_check_token(w->secret, w->run);
		bad = strcmp(token, check) != 0;
		free(token);
		if (bad)
			why = xstrdup("the run was signed with another secret "
			    "than this agent's DTEQ_SECRET");
	}
	if (why != NULL) {
		log_warnx("refusing run %s: %s", w->run, why);
		rconn_command(w->rc_cmd, rconn_check_reply,
		    (void *)"recording the refusal", "HSET %s refused:%s %s",
		    w->keys.meta, w->name, why);
		free(why);
		return (-1);
	}
	if (!is_signed && !w->warned_unsigned) {
		w->warned_unsigned = 1;
		log_info("tasks of run %s are not authenticated: anyone who "
		    "can write to this Redis can run commands here (set "
		    "DTEQ_SECRET on submit and agents)", w->run);
	}
	return (0);
}

/* Take the run's settings from its meta hash and start serving it. */
static void
worker_join(struct worker *w, redisReply *meta)
{
	size_t		 i;
	const char	*k, *v, *errstr, *commit = NULL, *check = NULL;
	const char	*version = NULL;
	long long	 n, protocol = 1;
	int		 is_signed = 0;

	for (i = 0; i + 1 < meta->elements; i += 2) {
		if (meta->element[i]->type != REDIS_REPLY_STRING ||
		    meta->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		k = meta->element[i]->str;
		v = meta->element[i + 1]->str;
		if (strcmp(k, "commit") == 0 && *v != '\0')
			commit = v;
		else if (strcmp(k, "sigcheck") == 0)
			check = v;
		else if (strcmp(k, "signed") == 0)
			is_signed = strcmp(v, "1") == 0;
		else if (strcmp(k, "version") == 0)
			version = v;
		n = util_strtonum(v, 1, 1LL << 40, &errstr);
		if (strcmp(k, "protocol") == 0)
			protocol = errstr != NULL ? 0 : n;
		if (errstr != NULL)
			continue;
		if (strcmp(k, "lease") == 0 && n <= 3600)
			w->lease = (int)n;
		else if (strcmp(k, "ttl") == 0 && n <= 365 * 86400)
			w->ttl = (int)n;
		else if (strcmp(k, "output_cap") == 0)
			w->output_cap = (size_t)n;
		else if (strcmp(k, "stream") == 0)
			w->stream = n == 1;
		else if (strcmp(k, "parallel") == 0 && !w->parallel_set &&
		    n <= 1024)
			w->parallel = (int)n;
	}
	if (worker_refuse(w, protocol, version, commit, check,
	    is_signed) != 0) {
		w->exit_code = EXIT_INFRA;
		worker_stop(w, "refused");
		return;
	}
	w->joined = 1;
	log_info("joined run %s as %s (parallel %d)", w->run, w->name,
	    w->parallel);
	worker_heartbeat(w, 1);
	worker_pop(w);
}

/* Reply to GET stop: the sentinel says the run is over. */
static void
worker_stop_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct worker	*w = privdata;
	redisReply	*reply = r;

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_STRING)
		return;
	worker_stop(w, reply->str);
}

/* Reply to HGETALL meta: join, keep waiting, or notice a lost run. */
static void
worker_meta_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct worker	*w = privdata;
	redisReply	*reply = r;

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || w->stopping)
		return;
	if (reply->elements > 0) {
		if (!w->joined)
			worker_join(w, reply);
		return;
	}
	if (w->joined) {
		log_warnx("run %s: run state lost (its keys are gone from "
		    "Redis)", w->run);
		w->exit_code = EXIT_INFRA;
		worker_stop(w, "run state lost");
		return;
	}
	if (util_now_ms() - w->started >= (uint64_t)w->wait * 1000) {
		log_warnx("no run %s appeared within %d s", w->run, w->wait);
		w->exit_code = EXIT_INFRA;
		worker_stop(w, "no run");
	}
}

/* Check the stop sentinel and the run's meta. */
static void
worker_check(struct worker *w)
{
	rconn_command(w->rc_cmd, worker_stop_done, w, "GET %s", w->keys.stop);
	rconn_command(w->rc_cmd, worker_meta_done, w, "HGETALL %s",
	    w->keys.meta);
}

/* A message from the run's control channel (run, stop). */
static void
worker_event_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct worker	*w = privdata;
	redisReply	*reply = r;
	struct event_msg e;
	char		*cause;

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 3 ||
	    reply->element[2]->type != REDIS_REPLY_STRING)
		return;		/* subscribe confirmations */
	if (event_decode(reply->element[2]->str, reply->element[2]->len, &e,
	    &cause) != 0) {
		log_debug("%s: %s", __func__, cause);
		free(cause);
		return;
	}
	if (e.type == EVENT_STOP)
		worker_stop(w, e.reason != NULL ? e.reason : "stopped");
	else if (e.type == EVENT_RUN && !w->joined)
		worker_check(w);
	event_clear(&e);
}

/* rc_sub is (re)connected: subscribe, then look at the run again. */
static void
worker_sub_ready(struct rconn *rc, void *arg)
{
	struct worker	*w = arg;

	rconn_command(rc, worker_event_done, w, "SUBSCRIBE %s",
	    w->keys.control);
	worker_check(w);
}

/* rc_cmd is (re)connected: load scripts, resend what was cut off. */
static void
worker_cmd_ready(struct rconn *rc, void *arg)
{
	struct worker	*w = arg;
	struct wtask	*wt;

	script_load(rc);
	worker_check(w);
	worker_heartbeat(w, 1);
	w->results_ttl = 0;	/* the results may be new: renew at once */
	/* A finish that popped was cut off: adopt what it moved. */
	if (w->joined && w->adopting)
		rconn_command(w->rc_cmd, worker_adopt_done, w,
		    "LRANGE %s 0 -1", w->running);
	LIST_FOREACH(wt, &w->tasks, entry) {
		if (wt->inflight)
			continue;
		if (wt->state == WT_STARTING)
			worker_task_start(wt);
		else if (wt->state == WT_FINISHING)
			worker_task_finish(wt);
	}
}

/*
 * Reply to LRANGE of this agent's running list: adopt messages it holds
 * but does not know of (a BLMOVE whose reply was cut off by a dropped
 * connection moved them there).
 */
static void
worker_adopt_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct worker	*w = privdata;
	redisReply	*reply = r;
	struct wtask	*wt;
	size_t		 k;
	int		 held;

	(void)ac;
	if (reply == NULL)		/* read again on the next reconnect */
		return;
	w->adopting = 0;
	if (reply->type != REDIS_REPLY_ARRAY || w->stopping) {
		worker_pop(w);
		return;
	}
	for (k = 0; k < reply->elements; k++) {
		if (reply->element[k]->type != REDIS_REPLY_STRING)
			continue;
		held = 0;
		LIST_FOREACH(wt, &w->tasks, entry) {
			if (wt->msglen == reply->element[k]->len &&
			    memcmp(wt->msg, reply->element[k]->str,
			    wt->msglen) == 0)
				held = 1;
		}
		if (held)
			continue;
		log_info("adopting a task message left in %s", w->running);
		worker_task_new(w, reply->element[k]->str,
		    reply->element[k]->len, WT_ADOPTED, NULL);
	}
	worker_pop(w);
}

/* rc_block is (re)connected: adopt what a cut-off pop left, pop again. */
static void
worker_block_ready(struct rconn *rc, void *arg)
{
	struct worker	*w = arg;

	(void)rc;
	w->popping = 0;
	if (!w->joined || rconn_command(w->rc_cmd, worker_adopt_done, w,
	    "LRANGE %s 0 -1", w->running) != 0)
		worker_pop(w);
}

/* A connection with a permanent error (AUTH refused) ends the agent. */
static void
worker_lost(struct rconn *rc, void *arg)
{
	struct worker	*w = arg;

	if (rconn_error(rc) != NULL) {
		w->exit_code = EXIT_INFRA;
		event_base_loopexit(w->base, NULL);
	}
}

/* Create the connections; the loop does the rest. */
void
worker_start(struct worker *w)
{
	LIST_INIT(&w->tasks);
	w->rc_cmd = rconn_new(w->base, &w->url, "cmd", worker_cmd_ready,
	    worker_lost, w);
	w->rc_sub = rconn_new(w->base, &w->url, "sub", worker_sub_ready,
	    worker_lost, w);
	w->rc_block = rconn_new(w->base, &w->url, "block", worker_block_ready,
	    worker_lost, w);
}

/* Count a refused message in the run's meta (the summary shows it). */
static void
worker_count_rejected(struct worker *w, const char *why)
{
	log_warnx("rejected a task message: %s", why);
	w->rejected++;
	rconn_command(w->rc_cmd, rconn_check_reply,
	    (void *)"counting a rejected message", "HINCRBY %s rejected 1",
	    w->keys.meta);
}

/* Drop a message that cannot be run: ack it so it does not come back. */
static void
worker_reject(struct worker *w, const char *msg, size_t len,
    const char *why)
{
	const char	*argv[4] = { "LREM", w->running, "1", msg };
	size_t		 lens[4];

	worker_count_rejected(w, why);
	lens[0] = 4;
	lens[1] = strlen(w->running);
	lens[2] = 1;
	lens[3] = len;
	rconn_command_argv(w->rc_cmd, rconn_check_reply,
	    (void *)"dropping a rejected message", 4, argv, lens);
}

/* Hand a message back for another agent; then pause popping briefly. */
static void
worker_defer(struct worker *w, const char *msg, size_t len)
{
	script_defer(w->rc_cmd, &w->sa, msg, len, w->ttl, rconn_check_reply,
	    (void *)"the defer script");
	w->defer_until = util_now_ms() + 300;
}

/*
 * A retry that should avoid this agent: defer it a few times so another
 * agent can take it, then run it here (maybe this is the only agent).
 */
static int
worker_should_defer(struct worker *w, const struct task_msg *m)
{
	if (m->avoid == NULL || strcmp(m->avoid, w->name) != 0)
		return (0);
	if (w->defer_id == NULL || strcmp(w->defer_id, m->id) != 0) {
		free(w->defer_id);
		w->defer_id = xstrdup(m->id);
		w->defer_count = 0;
	}
	return (++w->defer_count <= 3);
}

/*
 * Give back a claim the finish script made for a message refused here:
 * the genuine message of that attempt can then still start.
 */
static void
worker_unclaim(struct worker *w, redisReply **claim)
{
	if (claim == NULL || claim[0]->type != REDIS_REPLY_INTEGER ||
	    claim[0]->integer != 1 || claim[1]->type != REDIS_REPLY_STRING ||
	    claim[2]->type != REDIS_REPLY_STRING)
		return;
	log_info("gave back the claim of %s attempt %s", claim[1]->str,
	    claim[2]->str);
	script_unclaim(w->rc_cmd, &w->sa, claim[1]->str, claim[1]->len,
	    claim[2]->str, claim[2]->len, rconn_check_reply,
	    (void *)"the unclaim script");
}

/*
 * A message was popped: check it, make a wtask of it and start it. how
 * says where it came from: a BLMOVE, a finish script, or this agent's
 * running list after a cut-off finish (adopted: the finish script may
 * have claimed it for this agent, so the start script takes our own
 * claim as a yes). claim is NULL for a message that came by BLMOVE or
 * adoption: the start script claims it. One that came with a finish carries the finish script's
 * claim, id and attempt: claim 1 claimed already (run it now), 0 or -1
 * refused there (count it; the script dropped it), 2 not looked at.
 */
static void
worker_task_new(struct worker *w, const char *msg, size_t len, int how,
    redisReply **claim)
{
	struct wtask	*wt, *other;
	const char	*json;
	size_t		 jsonlen;
	char		*cause;
	long long	 claimed = 2;

	if (claim != NULL && claim[0]->type == REDIS_REPLY_INTEGER)
		claimed = claim[0]->integer;
	if (claimed == 0 || claimed == -1) {
		worker_count_rejected(w, claimed == -1 ? "this attempt was "
		    "already started (a replayed or duplicated message)" :
		    "stale attempt (replayed, or superseded by a newer one)");
		return;
	}
	if (sign_verify(w->secret, msg, len, &json, &jsonlen, &cause) != 0) {
		worker_unclaim(w, claim);
		worker_reject(w, msg, len, cause);
		free(cause);
		return;
	}
	wt = xcalloc(1, sizeof *wt);
	if (task_msg_decode(json, jsonlen, &wt->m, &cause) != 0) {
		worker_unclaim(w, claim);
		worker_reject(w, msg, len, cause);
		free(cause);
		free(wt);
		return;
	}
	if (strcmp(wt->m.run, w->run) != 0) {
		xasprintf(&cause, "task \"%s\" belongs to run %s, not %s",
		    wt->m.id, wt->m.run, w->run);
		goto reject;
	}
	LIST_FOREACH(other, &w->tasks, entry) {
		if (strcmp(other->m.id, wt->m.id) == 0 &&
		    other->m.attempt == wt->m.attempt) {
			xasprintf(&cause, "task \"%s\" attempt %d is already "
			    "running here (a duplicate)", wt->m.id,
			    wt->m.attempt);
			goto reject;
		}
	}
	if (claimed != 1 && worker_should_defer(w, &wt->m)) {
		log_debug("%s: retry avoids this agent; handed back",
		    wt->m.id);
		worker_defer(w, msg, len);
		task_msg_clear(&wt->m);
		free(wt);
		return;
	}
	wt->w = w;
	wt->msg = xstrndup(msg, len);
	wt->msglen = len;
	wt->folded = how != WT_POPPED;
	wt->start_sent = how == WT_ADOPTED;
	wt->logkey = keys_log(&w->keys, wt->m.id, wt->m.attempt);
	wt->attempt = xmalloc(21);
	wt->attempt[util_u64_dec(wt->attempt, (uint64_t)wt->m.attempt)] = '\0';
	wt->sat.id = wt->m.id;
	wt->sat.attempt = wt->attempt;
	wt->sat.msg = wt->msg;
	wt->sat.msglen = wt->msglen;
	wt->sat.log = wt->logkey;
	LIST_INSERT_HEAD(&w->tasks, wt, entry);
	w->nrunning++;
	wt->state = WT_STARTING;
	if (claimed == 1) {
		wt->start_sent = 1;	/* a resend finds its own claim */
		worker_task_run(wt);
	} else
		worker_task_start(wt);
	return;

reject:
	worker_unclaim(w, claim);
	worker_reject(w, msg, len, cause);
	free(cause);
	task_msg_clear(&wt->m);
	free(wt);
}

/* Reply to BLMOVE. */
static void
worker_pop_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct worker	*w = privdata;
	redisReply	*reply = r;

	(void)ac;
	if (reply == NULL)		/* disconnect; ready cb pops again */
		return;
	w->popping = 0;
	if (reply->type == REDIS_REPLY_NIL) {
		worker_check(w);
		worker_pop(w);
		return;
	}
	if (reply->type != REDIS_REPLY_STRING) {
		log_warnx("%s: unexpected reply: %s", __func__,
		    reply->type == REDIS_REPLY_ERROR ? reply->str : "?");
		return;			/* the tick pops again */
	}
	worker_task_new(w, reply->str, reply->len, WT_POPPED, NULL);
	worker_pop(w);
}

/* Pop the next task if a slot is free. */
void
worker_pop(struct worker *w)
{
	if (!w->joined || w->stopping || w->popping || w->folding ||
	    w->adopting ||
	    w->nrunning >= w->parallel || !rconn_is_ready(w->rc_block) ||
	    util_now_ms() < w->defer_until)
		return;
	if (rconn_command(w->rc_block, worker_pop_done, w,
	    "BLMOVE %s %s RIGHT LEFT " WORKER_POP_TIMEOUT, w->keys.queue,
	    w->running) == 0)
		w->popping = 1;
}

/* "name=value" in one allocation. Caller frees. */
static char *
worker_env_pair(const char *name, const char *value)
{
	size_t	 nlen = strlen(name), vlen = strlen(value);
	char	*s;

	s = xmalloc(nlen + vlen + 2);
	memcpy(s, name, nlen);
	s[nlen] = '=';
	memcpy(s + nlen + 1, value, vlen + 1);
	return (s);
}

/*
 * The environment of a task: the agent's, the task's, then DTEQ_*. The
 * agent's variables are shared, not copied, as are DTEQ_RUN and
 * DTEQ_AGENT (made once); *nshared says how many lead the array, and
 * worker_env_free() frees the rest but those two.
 */
static char **
worker_task_env(struct wtask *wt, size_t *nshared)
{
	struct worker	*w = wt->w;
	char		**env;
	size_t		 n = 0, i, j, namelen = 0;
	int		 overridden;

	if (w->env_run == NULL) {
		w->env_run = worker_env_pair("DTEQ_RUN", w->run);
		w->env_agent = worker_env_pair("DTEQ_AGENT", w->name);
	}
	env = xcalloc(w->nbase_env + wt->m.nenv + 5, sizeof *env);
	for (i = 0; i < w->nbase_env; i++) {
		overridden = 0;
		if (wt->m.nenv > 0)
			namelen = strcspn(w->base_env[i], "=");
		for (j = 0; j < wt->m.nenv && !overridden; j++) {
			if (strncmp(wt->m.env[j].name, w->base_env[i],
			    namelen) == 0 && wt->m.env[j].name[namelen] == '\0')
				overridden = 1;
		}
		if (!overridden)
			env[n++] = w->base_env[i];
	}
	*nshared = n;
	for (j = 0; j < wt->m.nenv; j++)
		env[n++] = worker_env_pair(wt->m.env[j].name,
		    wt->m.env[j].value);
	env[n++] = w->env_run;
	env[n++] = worker_env_pair("DTEQ_TASK_ID", wt->m.id);
	env[n++] = w->env_agent;
	env[n++] = worker_env_pair("DTEQ_ATTEMPT", wt->attempt);
	env[n] = NULL;
	return (env);
}

/* Free an environment built by worker_task_env(). */
static void
worker_env_free(struct worker *w, char **env, size_t nshared)
{
	size_t	i;

	for (i = nshared; env[i] != NULL; i++) {
		if (env[i] != w->env_run && env[i] != w->env_agent)
			free(env[i]);
	}
	free(env);
}

/* The flush timer: append buffered output now. */
static void
worker_flush_cb(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	worker_flush(arg);
}

/* Append buffered output to the attempt's log. */
static void
worker_flush(struct wtask *wt)
{
	struct worker	*w = wt->w;

	if (wt->ev_flush != NULL)
		evtimer_del(wt->ev_flush);
	if (wt->outlen == 0)
		return;
	script_log(w->rc_cmd, &w->sa, &wt->sat, wt->out, wt->outlen, w->ttl,
	    w->stream, rconn_check_reply, (void *)"the log script");
	wt->outlen = 0;
}

/* Output from a task's child. */
static void
worker_output_cb(struct proc *p, const char *buf, size_t len, void *arg)
{
	struct wtask	*wt = arg;
	struct worker	*w = wt->w;
	size_t		 room, take;
	char		*marker;

	(void)p;
	wt->output_total += len;
	if (wt->truncated)
		return;
	room = w->output_cap - wt->logged;
	take = len < room ? len : room;
	if (wt->out == NULL)
		wt->out = xmalloc(WORKER_FLUSH_BYTES + 256);
	while (take > 0) {
		size_t n = WORKER_FLUSH_BYTES - wt->outlen;

		if (n > take)
			n = take;
		memcpy(wt->out + wt->outlen, buf, n);
		wt->outlen += n;
		wt->logged += n;
		buf += n;
		take -= n;
		if (wt->outlen == WORKER_FLUSH_BYTES)
			worker_flush(wt);
	}
	if (len > room) {
		wt->truncated = 1;
		xasprintf(&marker, "\n[output truncated: more than %zu "
		    "bytes]\n", w->output_cap);
		memcpy(wt->out + wt->outlen, marker, strlen(marker));
		wt->outlen += strlen(marker);
		free(marker);
		worker_flush(wt);
		return;
	}
	if (wt->outlen > 0 && wt->ev_flush == NULL)
		wt->ev_flush = evtimer_new(w->base, worker_flush_cb, wt);
	if (wt->outlen > 0 && !evtimer_pending(wt->ev_flush, NULL)) {
		struct timeval tv = { 0, WORKER_FLUSH_MS * 1000 };

		evtimer_add(wt->ev_flush, &tv);
	}
}

/* Fill the result of an attempt that is over and send it. */
static void
worker_task_report(struct wtask *wt, int status, int code, const char *why)
{
	struct result	*r = &wt->result;

	r->status = status;
	r->exit_code = code;
	r->end_ms = util_wall_ms();
	if (r->start_ms == 0)
		r->start_ms = r->end_ms;
	r->duration_ms = r->end_ms - r->start_ms;
	r->output_bytes = wt->output_total;
	if (why != NULL)
		r->reason = xstrdup(why);
	r->id = xstrdup(wt->m.id);
	r->attempt = wt->m.attempt;
	r->agent = xstrdup(wt->w->name);
	free(wt->result_json);
	wt->result_json = result_encode(r, NULL);
	worker_flush(wt);
	worker_set_state(wt, WT_FINISHING);
	wt->restore_wait = 0;
	worker_restore_release(wt);
	worker_task_finish(wt);
}

/*
 * A child of wt ended: forget it. Returns 1 when wt was reported before
 * (it may be freed now: touch it no more), 0 when the caller reports.
 */
static int
worker_child_gone(struct wtask *wt)
{
	wt->proc = NULL;
	if (wt->state != WT_FINISHING)
		return (0);
	if (wt->acked)			/* reported early, and acked */
		worker_task_done(wt);
	return (1);
}

/* The result status of a child that ended as st says. */
static int
worker_result_of(const struct proc_status *st)
{
	switch (st->how) {
	case PROC_TIMED_OUT:
		return (RESULT_TIMEOUT);
	case PROC_KILLED:
		return (RESULT_CANCELLED);
	default:
		return (st->code == 0 ? RESULT_SUCCESS : RESULT_FAILED);
	}
}

/* The child of a task ended (after EOF and exit). */
static void
worker_exit_cb(struct proc *p, const struct proc_status *st, void *arg)
{
	struct wtask	*wt = arg;
	int		 status;
	char		*why = NULL;
	size_t		 i;

	(void)p;
	if (worker_child_gone(wt))
		return;
	status = worker_result_of(st);
	if (status == RESULT_TIMEOUT)
		xasprintf(&why, "timed out after %d s", wt->m.timeout);
	if (status == RESULT_SUCCESS && wt->m.restorable)
		worker_present_add(wt->w, wt->m.id);
	for (i = 0; status == RESULT_SUCCESS && wt->inline_held &&
	    i < wt->m.nrestores; i++) {
		if (wt->m.restores[i].run == NULL)
			worker_present_add(wt->w, wt->m.restores[i].id);
	}
	log_debug("%s: %s attempt %d: exit %d (%s)", __func__, wt->m.id,
	    wt->m.attempt, st->code, result_status_name(status));
	worker_task_report(wt, status, st->code, why);
	free(why);
}

/*
 * The seconds left of wt's timeout (0: none): its restores and its
 * command share it, from the moment it started restoring.
 */
static int
worker_time_left(struct wtask *wt)
{
	uint64_t	used;

	if (wt->m.timeout <= 0)
		return (0);
	used = (util_now_ms() - wt->began) / 1000;
	if (used >= (uint64_t)wt->m.timeout)
		return (1);
	return (wt->m.timeout - (int)used);
}

/* bsearch() over the present ids. */
static int
worker_present_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* Are id's outputs on this checkout (it ran or was restored here)? */
static int
worker_present_has(struct worker *w, const char *id)
{
	return (w->npresent > 0 && bsearch(&id, w->present, w->npresent,
	    sizeof *w->present, worker_present_cmp) != NULL);
}

/* Remember that id's outputs are on this checkout. */
static void
worker_present_add(struct worker *w, const char *id)
{
	size_t	lo = 0, hi = w->npresent, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(w->present[mid], id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < w->npresent && strcmp(w->present[lo], id) == 0)
		return;
	w->present = xreallocarray(w->present, w->npresent + 1,
	    sizeof *w->present);
	memmove(w->present + lo + 1, w->present + lo,
	    (w->npresent - lo) * sizeof *w->present);
	w->present[lo] = xstrdup(id);
	w->npresent++;
}

/*
 * The next restore command of wt: the first entry this checkout lacks,
 * with every later missing entry of the same run (a template's "{}"
 * takes their args, joined by spaces; a plain command runs once), their
 * indices in wt->group. Returns NULL when nothing is missing.
 */
static char *
worker_restore_command(struct wtask *wt)
{
	struct worker		*w = wt->w;
	struct task_restore	*r = wt->m.restores, *first = NULL;
	const char		*hole;
	char			*cmd;
	size_t			 i, n, len;

	wt->ngroup = 0;
	for (i = 0; i < wt->m.nrestores; i++) {
		if (r[i].run == NULL || worker_present_has(w, r[i].id))
			continue;
		if (first == NULL)
			first = &r[i];
		else if (strcmp(r[i].run, first->run) != 0 ||
		    (r[i].arg == NULL) != (first->arg == NULL))
			continue;
		if (wt->group == NULL)
			wt->group = xcalloc(wt->m.nrestores, sizeof *wt->group);
		wt->group[wt->ngroup++] = i;
	}
	if (first == NULL)
		return (NULL);
	if (first->arg == NULL)
		return (xstrdup(first->run));

	/* The template, its "{}" (or its end) taking the args. */
	hole = strstr(first->run, "{}");
	len = hole != NULL ? (size_t)(hole - first->run) : strlen(first->run);
	n = strlen(first->run) + 1;
	for (i = 0; i < wt->ngroup; i++)
		n += strlen(r[wt->group[i]].arg) + 1;
	cmd = xmalloc(n + 1);
	memcpy(cmd, first->run, len);
	if (hole == NULL)
		cmd[len++] = ' ';
	for (i = 0; i < wt->ngroup; i++) {
		if (i > 0)
			cmd[len++] = ' ';
		n = strlen(r[wt->group[i]].arg);
		memcpy(cmd + len, r[wt->group[i]].arg, n);
		len += n;
	}
	if (hole != NULL) {
		n = strlen(hole + 2);
		memcpy(cmd + len, hole + 2, n);
		len += n;
	}
	cmd[len] = '\0';
	return (cmd);
}

/*
 * The entries of wt its own command restores (run NULL) that this
 * checkout lacks, in wt->group. Returns how many.
 */
static size_t
worker_restore_inline(struct wtask *wt)
{
	size_t	i;

	wt->ngroup = 0;
	for (i = 0; i < wt->m.nrestores; i++) {
		if (wt->m.restores[i].run != NULL ||
		    worker_present_has(wt->w, wt->m.restores[i].id))
			continue;
		if (wt->group == NULL)
			wt->group = xcalloc(wt->m.nrestores, sizeof *wt->group);
		wt->group[wt->ngroup++] = i;
	}
	return (wt->ngroup);
}

/* "A, B, C": the ids of the group being restored. Caller frees. */
static char *
worker_restore_ids(struct wtask *wt)
{
	char	*ids = NULL, *more;
	size_t	 i;

	for (i = 0; i < wt->ngroup; i++) {
		xasprintf(&more, "%s%s%s", ids != NULL ? ids : "",
		    ids != NULL ? ", " : "", wt->m.restores[wt->group[i]].id);
		free(ids);
		ids = more;
	}
	return (ids);
}

/* A restore command of wt ended: go on to the next, or fail the task. */
static void
worker_restore_exit_cb(struct proc *p, const struct proc_status *st,
    void *arg)
{
	struct wtask	*wt = arg;
	char		*ids, *why;
	size_t		 i;
	int		 status;

	(void)p;
	if (worker_child_gone(wt))
		return;
	status = worker_result_of(st);
	if (status == RESULT_SUCCESS) {
		for (i = 0; i < wt->ngroup; i++) {
			worker_present_add(wt->w,
			    wt->m.restores[wt->group[i]].id);
		}
		wt->ngroup = 0;
		worker_task_run(wt);	/* the next group, or the task */
		return;
	}
	ids = worker_restore_ids(wt);
	if (status == RESULT_TIMEOUT) {
		xasprintf(&why, "timed out after %d s, restoring the outputs "
		    "of %s", wt->m.timeout, ids);
	} else if (status == RESULT_CANCELLED) {
		xasprintf(&why, "cancelled while restoring the outputs of %s",
		    ids);
	} else {
		xasprintf(&why, "restoring the outputs of %s failed (exit "
		    "status %d)", ids, st->code);
	}
	log_info("%s attempt %d: %s", wt->m.id, wt->m.attempt, why);
	worker_task_report(wt, status, st->code, why);
	free(why);
	free(ids);
}

/*
 * Before wt runs: bring the outputs of its dependencies that this
 * checkout lacks, one restore command at a time per agent (two tasks
 * restoring at once could each delete what the other just restored, or
 * what a running task reads; a task only starts once everything it
 * needs is here, so a restore never touches what a running task reads).
 * Outputs that wt's own command restores make the command itself the
 * restore: it runs holding the lock, released when wt is reported.
 * Returns 0 when wt's command may run now, 1 when a restore command
 * runs or wt waits for the lock, or wt was reported failed.
 */
static int
worker_restore(struct wtask *wt)
{
	struct worker	*w = wt->w;
	struct proc_spec spec;
	char		**env, *cmd, *ids, *line, *cause;
	size_t		 nshared;

	if ((cmd = worker_restore_command(wt)) == NULL &&
	    worker_restore_inline(wt) == 0) {
		wt->restored = 1;
		worker_restore_release(wt);
		return (0);
	}
	if (w->restorer != NULL && w->restorer != wt) {
		free(cmd);
		wt->restore_wait = 1;	/* worker_restore_release() */
		return (1);
	}
	w->restorer = wt;
	ids = worker_restore_ids(wt);
	if (cmd == NULL) {
		wt->restored = 1;
		wt->inline_held = 1;
		xasprintf(&line, "dteq: restoring the outputs of %s: the "
		    "task's own command does\n", ids);
		worker_output_cb(NULL, line, strlen(line), wt);
		free(line);
		log_info("%s attempt %d: its command restores the outputs of "
		    "%s", wt->m.id, wt->m.attempt, ids);
		free(ids);
		return (0);
	}
	xasprintf(&line, "dteq: restoring the outputs of %s: %s\n", ids, cmd);
	worker_output_cb(NULL, line, strlen(line), wt);
	free(line);
	log_info("%s attempt %d: restoring the outputs of %s", wt->m.id,
	    wt->m.attempt, ids);

	memset(&spec, 0, sizeof spec);
	spec.command = cmd;
	spec.env = env = worker_task_env(wt, &nshared);
	spec.timeout = worker_time_left(wt);
	spec.output_cb = worker_output_cb;
	spec.exit_cb = worker_restore_exit_cb;
	spec.arg = wt;
	wt->proc = proc_start(w->base, &spec, &cause);
	worker_env_free(w, env, nshared);
	free(cmd);
	if (wt->proc == NULL) {
		free(ids);
		xasprintf(&line, "%s\n", cause);
		worker_output_cb(NULL, line, strlen(line), wt);
		free(line);
		worker_task_report(wt, RESULT_FAILED, 127, cause);
		free(cause);
		return (1);
	}
	free(ids);
	return (1);
}

/*
 * wt is done restoring (or over): hand the restore lock to a task
 * waiting for it. One that finds nothing missing any more runs at once
 * and leaves the lock to the next.
 */
static void
worker_restore_release(struct wtask *wt)
{
	struct worker	*w = wt->w;
	struct wtask	*o;

	if (w->restorer != wt)
		return;
	w->restorer = NULL;
	while (w->restorer == NULL) {
		LIST_FOREACH(o, &w->tasks, entry) {
			if (o->restore_wait)
				break;
		}
		if (o == NULL)
			break;
		o->restore_wait = 0;
		worker_task_run(o);
	}
}

/* Reply to the start script: run the task, or drop a stale message. */
static void
worker_start_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct wtask	*wt = privdata;
	struct worker	*w;
	redisReply	*reply = r;

	(void)ac;
	wt->inflight = 0;
	if (reply == NULL)		/* resent when rc_cmd is back */
		return;
	w = wt->w;
	if (reply->type == REDIS_REPLY_ERROR) {
		log_warnx("%s: start script: %s", wt->m.id, reply->str);
		return;
	}
	if (reply->type != REDIS_REPLY_INTEGER || reply->integer != 1) {
		worker_count_rejected(w, reply->type == REDIS_REPLY_INTEGER &&
		    reply->integer == -1 ? "this attempt was already started "
		    "(a replayed or duplicated message)" :
		    "stale attempt (replayed, or superseded by a newer one)");
		worker_task_free(wt);
		worker_task_next(w);	/* the run may have ended meanwhile */
		return;
	}
	worker_task_run(wt);
}

/* The attempt is claimed for this agent: spawn its child. */
static void
worker_task_run(struct wtask *wt)
{
	struct worker	*w = wt->w;
	struct proc_spec spec;
	char		**env, *cause;
	size_t		 nshared;

	if (w->stopping) {
		worker_task_report(wt, RESULT_LOST, 0, "agent stopping");
		return;
	}
	if (wt->result.start_ms == 0) {
		wt->result.start_ms = util_wall_ms();
		wt->began = util_now_ms();
	}
	if (wt->state != WT_RUNNING)
		worker_set_state(wt, WT_RUNNING);
	if (!wt->restored && wt->m.nrestores > 0 && worker_restore(wt) != 0)
		return;			/* restoring, or waiting to */
	memset(&spec, 0, sizeof spec);
	spec.command = wt->m.command;
	spec.cwd = wt->m.cwd;
	spec.env = env = worker_task_env(wt, &nshared);
	spec.timeout = worker_time_left(wt);
	spec.output_cb = worker_output_cb;
	spec.exit_cb = worker_exit_cb;
	spec.arg = wt;
	wt->proc = proc_start(w->base, &spec, &cause);
	worker_env_free(w, env, nshared);
	if (wt->proc == NULL) {
		log_warnx("%s attempt %d: %s", wt->m.id, wt->m.attempt, cause);
		worker_output_cb(NULL, cause, strlen(cause), wt);
		worker_output_cb(NULL, "\n", 1, wt);
		worker_task_report(wt, RESULT_FAILED, 127, cause);
		free(cause);
		return;
	}
	w->ntasks++;
	log_debug("%s attempt %d: started pid %ld", wt->m.id, wt->m.attempt,
	    (long)proc_pid(wt->proc));
}

/* Send the start script for a popped message. */
static void
worker_task_start(struct wtask *wt)
{
	struct worker	*w = wt->w;
	char		*event;
	size_t		 elen;
	int		 flags;

	event = event_encode_started(wt->m.id, wt->m.attempt, w->name,
	    util_wall_ms(), &elen);
	flags = (wt->start_sent ? SCRIPT_START_AGAIN : 0) |
	    (wt->folded ? 0 : SCRIPT_START_FRESH);
	if (script_start(w->rc_cmd, &w->sa, &wt->sat, event, w->ttl, flags,
	    worker_start_done, wt) == 0) {
		wt->inflight = 1;
		wt->start_sent = 1;	/* a resend may find its claim */
	}
	free(event);
}

/*
 * Reply to the finish script: the attempt is acked. A finish sent when
 * its slot was the one to free also moved the next message of the queue
 * into the running list; it is started here.
 */
static void
worker_finish_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct wtask	*wt = privdata;
	struct worker	*w;
	redisReply	*reply = r, *next = NULL, **claim = NULL;

	(void)ac;
	wt->inflight = 0;
	w = wt->w;
	if (wt->pops) {
		wt->pops = 0;
		w->folding--;
		/*
		 * Cut off: it may have moved a message into the running list.
		 * No pop until the running list is read again on reconnect,
		 * so that message cannot also arrive by a BLMOVE reply.
		 */
		if (reply == NULL)
			w->adopting = 1;
	}
	if (reply == NULL)		/* resent when rc_cmd is back */
		return;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 5) {
		next = reply->element[1];
		claim = reply->element + 2;
		reply = reply->element[0];
	}
	if (reply->type == REDIS_REPLY_ERROR)
		log_warnx("%s: finish script: %s", wt->m.id, reply->str);
	else if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 0)
		log_info("%s attempt %d: result discarded (the attempt is no "
		    "longer current)", wt->m.id, wt->m.attempt);
	else if (reply->type == REDIS_REPLY_INTEGER && wt->ttl_asked != 0)
		w->results_ttl = wt->ttl_asked;	/* written, and renewed */
	wt->acked = 1;
	if (wt->proc != NULL) {	/* reported early: done once it exits */
		if (next != NULL && next->type == REDIS_REPLY_STRING)
			worker_task_new(w, next->str, next->len, WT_FOLDED,
			    claim);
		return;
	}
	worker_task_free(wt);
	if (next != NULL && next->type == REDIS_REPLY_STRING)
		worker_task_new(w, next->str, next->len, WT_FOLDED, claim);
	worker_task_next(w);
}

/* An attempt is acked and its child gone: free it, go on. */
static void
worker_task_done(struct wtask *wt)
{
	struct worker	*w = wt->w;

	worker_task_free(wt);
	worker_task_next(w);
}

/* A slot freed: leave if stopping and idle, else pop if one is free. */
static void
worker_task_next(struct worker *w)
{
	if (w->stopping && w->nrunning == 0)
		worker_finish(w);
	else
		worker_pop(w);
}

/* Send the finish script for a reported attempt. */
static void
worker_task_finish(struct wtask *wt)
{
	struct worker	*w = wt->w;
	uint64_t	 mono;
	int		 pops, release, flags;

	/*
	 * Pop with the finish when this slot is about to free: while the
	 * queue has work, the next task then costs no BLMOVE and no start
	 * script round trip (the finish script claims it). Every finishing
	 * slot may pop, each for itself (the finish still counts in
	 * nrunning until its reply, which frees it and brings at most one).
	 * A BLMOVE may be waiting too, for another free slot: both may
	 * bring a task, so pop only if both fit. Not after a
	 * failure: with --fail-fast submit empties the queue on hearing of
	 * it, and a pop in the same step would always beat it.
	 */
	mono = util_now_ms();
	pops = wt->proc == NULL && w->joined && !w->stopping &&
	    wt->result.status == RESULT_SUCCESS &&
	    !w->adopting &&
	    w->nrunning + w->popping <= w->parallel &&
	    mono >= w->defer_until;

	/*
	 * The results hash gets its TTL from the first finish recorded on
	 * this connection, then from one a second: an EXPIRE in every
	 * finish was a tenth of the script's commands.
	 */
	wt->ttl_asked = 0;
	if (w->results_ttl == 0 || mono - w->results_ttl >= 1000)
		wt->ttl_asked = mono;
	release = wt->result.status == RESULT_SUCCESS && !wt->m.leaf;
	flags = (pops ? SCRIPT_FINISH_POP : 0) |
	    (release ? SCRIPT_FINISH_RELEASE : 0) |
	    (wt->ttl_asked != 0 ? SCRIPT_FINISH_TTL : 0);
	if (script_finish(w->rc_cmd, &w->sa, &wt->sat, wt->result_json,
	    w->ttl, flags, worker_finish_done, wt) == 0) {
		wt->inflight = 1;
		wt->pops = pops;
		w->folding += pops;
	}
}

/* Forget a task. */
static void
worker_task_free(struct wtask *wt)
{
	LIST_REMOVE(wt, entry);
	wt->w->nrunning--;
	if (wt->ev_flush != NULL)
		event_free(wt->ev_flush);
	task_msg_clear(&wt->m);
	result_clear(&wt->result);
	free(wt->result_json);
	free(wt->msg);
	free(wt->logkey);
	free(wt->attempt);
	free(wt->out);
	free(wt->group);
	free(wt);
}

/*
 * Stop serving: no more pops. "done" (the run ended) lets running tasks
 * finish; "signal" reports them lost so the producer requeues them at
 * once; anything else (cancelled, timeout, lost run) kills them.
 */
void
worker_stop(struct worker *w, const char *reason)
{
	struct wtask	*wt, *next;

	if (w->stopping)
		return;
	w->stopping = 1;
	w->stop_reason = xstrdup(reason);
	log_info("run %s is over (%s); %d task%s held", w->run, reason,
	    w->nrunning, w->nrunning == 1 ? "" : "s");
	for (wt = LIST_FIRST(&w->tasks); wt != NULL; wt = next) {
		next = LIST_NEXT(wt, entry);
		if (strcmp(reason, "done") == 0)
			continue;
		if (strcmp(reason, "signal") == 0 && wt->state == WT_RUNNING) {
			worker_task_report(wt, RESULT_LOST, 0,
			    "agent stopped by a signal");
		}
		if (wt->proc != NULL)
			proc_kill(wt->proc);
	}
	if (w->nrunning == 0)
		worker_finish(w);
}

/* Reply to the last deregistration command: leave the loop. */
static void
worker_leave_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct worker	*w = privdata;

	(void)ac;
	(void)r;
	event_base_loopexit(w->base, NULL);
}

/* Give back unstarted messages, deregister, and end the loop. */
void
worker_finish(struct worker *w)
{
	if (w->rc_block != NULL) {
		rconn_free(w->rc_block);	/* cancels the BLMOVE */
		w->rc_block = NULL;
	}
	if (!rconn_is_ready(w->rc_cmd)) {
		event_base_loopexit(w->base, NULL);
		return;
	}
	script_release(w->rc_cmd, &w->sa, w->ttl, rconn_check_reply,
	    (void *)"the release script");
	rconn_command(w->rc_cmd, rconn_check_reply,
	    (void *)"deleting the heartbeat", "DEL %s", w->hb);
	rconn_command(w->rc_cmd, worker_leave_done, w, "SREM %s %s",
	    w->keys.agents, w->name);
}

/*
 * Once a second: heartbeat when due, send again a start or finish script
 * whose reply was lost (an error, or a connection that dropped without a
 * reconnect yet), pop if a pop was lost.
 */
void
worker_tick(struct worker *w)
{
	static uint64_t	 last_hb;
	uint64_t	 now = util_now_ms();
	struct wtask	*wt;

	if (!w->joined) {
		worker_check(w);
		return;
	}
	if (now - last_hb >= (uint64_t)w->lease * 1000 / 3) {
		last_hb = now;
		worker_heartbeat(w, 0);
	}
	LIST_FOREACH(wt, &w->tasks, entry) {
		if (wt->inflight || !rconn_is_ready(w->rc_cmd))
			continue;
		if (wt->state == WT_STARTING)
			worker_task_start(wt);
		else if (wt->state == WT_FINISHING && !wt->acked)
			worker_task_finish(wt);
	}
	worker_pop(w);
}

/* Free every task still held (exit path; children already killed). */
void
worker_free_tasks(struct worker *w)
{
	while (!LIST_EMPTY(&w->tasks))
		worker_task_free(LIST_FIRST(&w->tasks));
}
