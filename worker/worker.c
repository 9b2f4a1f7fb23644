/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The agent's task slots: taking tasks from the queue and the life of
 * each, from its message to the ack of its result. Data flow for one
 * task:
 *
 * 1. worker_pop() sends BLMOVE queue -> running:<agent> on rc_block (one
 *    at a time, only while a slot is free); a timeout (nil) tells the
 *    agent (pop_timeout_cb: it checks the stop sentinel and the run's
 *    meta), then the next pop.
 * 2. worker_pop_done() makes a wtask of the message (worker_task_new();
 *    wtask.c checks it, or refuses it or hands it back) and sends the
 *    start script on rc_cmd (is the attempt still current? claim it).
 * 3. worker_task_run() first gets the outputs of its dependencies that
 *    this checkout lacks, if its message lists restores: restore.c says
 *    which restore command runs next (or waits for the restore lock),
 *    worker_spawn() runs it as the task's child, and
 *    worker_restore_exit_cb() comes back here. Then it spawns the task's
 *    command (proc.c) in the task's environment (env.c); the output of
 *    both goes to output.c, which appends it to the attempt's log (at
 *    most output_cap bytes: the head as it comes, the tail at the end).
 * 4. worker_exit_cb() reports the result (worker_task_report(), which
 *    ends the output) and sends the finish script, which acks the
 *    message and records the result once, if the attempt is still
 *    current. While the queue has work the finish script also moves the
 *    next message into the running list and claims it, so the next task
 *    costs neither a BLMOVE nor a start script: steady state is one round
 *    trip per task.
 * 5. worker_finish_done() frees the wtask, runs the message that came
 *    with the finish (step 3) and pops again if a slot is still free.
 *
 * A command whose reply is lost with the connection is sent again when
 * rc_cmd is back or by the tick (worker_resend(); start and finish are
 * idempotent). A message left in the running list by a cut-off BLMOVE or
 * finish is adopted (worker_adopt()). Stopping and leaving are agent.c's,
 * which sits above this file: when the last task held is gone while
 * stopping, drained_cb tells it.
 */

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "worker.h"

/* s: then check the run; events wake it sooner. */
#define WORKER_POP_TIMEOUT	"15"

static void	worker_task_start(struct wtask *);
static void	worker_task_run(struct wtask *);
static void	worker_restore_release(struct wtask *);
static void	worker_task_finish(struct wtask *);
static void	worker_task_done(struct wtask *);
static void	worker_task_next(struct worker *);

/*
 * A message came (how: WT_POPPED, WT_FOLDED or WT_ADOPTED; claim: the
 * finish script's, for one that came with a finish): hold it and run it
 * if the finish script claimed it already, else send the start script.
 */
static void
worker_task_new(struct worker *w, const char *msg, size_t len, int how,
    redisReply **claim)
{
	struct wtask	*wt;
	int		 claimed;

	if ((wt = wtask_new(w, msg, len, how, claim, &claimed)) == NULL)
		return;			/* refused, or handed back */
	if (claimed)
		worker_task_run(wt);
	else
		worker_task_start(wt);
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
		w->pop_timeout_cb(w);
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
	if (!w->joined || w->join_pending || w->stopping || w->popping ||
	    w->folding ||
	    w->adopting ||
	    w->nrunning >= w->parallel || !rconn_is_ready(w->rc_block) ||
	    util_now_ms() < w->defer_until)
		return;
	if (rconn_command(w->rc_block, worker_pop_done, w,
	    "BLMOVE %s %s RIGHT LEFT " WORKER_POP_TIMEOUT, w->keys.queue,
	    w->running) == 0)
		w->popping = 1;
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

/* Read this agent's running list, to adopt what it holds unknowingly. */
int
worker_adopt(struct worker *w)
{
	return (rconn_command(w->rc_cmd, worker_adopt_done, w,
	    "LRANGE %s 0 -1", w->running));
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
	output_end(wt);
	wtask_set_state(wt, WT_FINISHING);
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

	(void)p;
	if (worker_child_gone(wt))
		return;
	status = worker_result_of(st);
	if (status == RESULT_TIMEOUT)
		xasprintf(&why, "timed out after %d s", wt->m.timeout);
	if (status == RESULT_SUCCESS)
		restore_succeeded(wt);
	log_debug("%s: %s attempt %d: exit %d (%s)", __func__, wt->m.id,
	    wt->m.attempt, st->code, result_status_name(status));
	worker_task_report(wt, status, st->code, why);
	free(why);
}

/* A restore command of a task ended: run the task again, or fail it. */
static void
worker_restore_exit_cb(struct proc *p, const struct proc_status *st,
    void *arg)
{
	struct wtask	*wt = arg;
	char		*why;
	int		 status;

	(void)p;
	if (worker_child_gone(wt))
		return;
	status = worker_result_of(st);
	if ((why = restore_ended(wt, status, st->code)) == NULL) {
		worker_task_run(wt);	/* the next group, or the task */
		return;
	}
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

/*
 * Spawn cmd as a child of wt (its command, in cwd, or a restore command)
 * in wt's environment, within what is left of its timeout; its output
 * goes to wt's log, its end to exit_cb. NULL with *cause if it did not
 * start.
 */
static struct proc *
worker_spawn(struct wtask *wt, const char *cmd, const char *cwd,
    proc_exit_cb exit_cb, char **cause)
{
	struct worker	*w = wt->w;
	struct proc_spec spec;
	struct proc	*p;
	char		**env;
	size_t		 nshared;

	memset(&spec, 0, sizeof spec);
	spec.command = cmd;
	spec.cwd = cwd;
	spec.env = env = env_task(wt, &nshared);
	spec.timeout = worker_time_left(wt);
	spec.output_cb = output_child_cb;
	spec.exit_cb = exit_cb;
	spec.arg = wt;
	p = proc_start(w->base, &spec, cause);
	env_task_free(w, env, nshared);
	return (p);
}

/*
 * wt is done restoring (or over): hand the restore lock to the tasks
 * waiting for it. One that finds nothing missing any more runs at once
 * and leaves the lock to the next.
 */
static void
worker_restore_release(struct wtask *wt)
{
	struct worker	*w = wt->w;
	struct wtask	*o;

	if (!restore_release(wt))
		return;
	while ((o = restore_waiter(w)) != NULL)
		worker_task_run(o);
}

/*
 * Bring what wt needs before its command (restore.c says what, one
 * restore command at a time per agent). Returns 0 when its command may
 * run now, 1 when a restore command runs or wt waits for the lock, or
 * wt was reported failed.
 */
static int
worker_task_restore(struct wtask *wt)
{
	char	*cmd, *cause;

	switch (restore_run(wt, &cmd)) {
	case RESTORE_NONE:
		worker_restore_release(wt);
		return (0);
	case RESTORE_BY_TASK:
		return (0);
	case RESTORE_WAIT:
		return (1);
	}
	wt->proc = worker_spawn(wt, cmd, NULL, worker_restore_exit_cb, &cause);
	free(cmd);
	if (wt->proc == NULL) {
		output_printf(wt, "%s\n", cause);
		worker_task_report(wt, RESULT_FAILED, 127, cause);
		free(cause);
	}
	return (1);
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
		wtask_refused(w, reply->type == REDIS_REPLY_INTEGER ?
		    reply->integer : 0);
		wtask_free(wt);
		worker_task_next(w);	/* the run may have ended meanwhile */
		return;
	}
	worker_task_run(wt);
}

/* The attempt is claimed for this agent: restore what it needs, run it. */
static void
worker_task_run(struct wtask *wt)
{
	struct worker	*w = wt->w;
	char		*cause;

	if (w->stopping) {
		worker_task_report(wt, RESULT_LOST, 0, "agent stopping");
		return;
	}
	if (wt->result.start_ms == 0) {
		wt->result.start_ms = util_wall_ms();
		wt->began = util_now_ms();
	}
	if (wt->state != WT_RUNNING)
		wtask_set_state(wt, WT_RUNNING);
	if (!wt->restored && wt->m.nrestores > 0 &&
	    worker_task_restore(wt) != 0)
		return;			/* restoring, or waiting to */
	wt->proc = worker_spawn(wt, wt->m.command, wt->m.cwd, worker_exit_cb,
	    &cause);
	if (wt->proc == NULL) {
		log_warnx("%s attempt %d: %s", wt->m.id, wt->m.attempt, cause);
		output_child_cb(NULL, cause, strlen(cause), wt);
		output_child_cb(NULL, "\n", 1, wt);
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
	if (reply->type == REDIS_REPLY_ERROR) {
		log_warnx("%s: finish script: %s", wt->m.id, reply->str);
		if (strncmp(reply->str, "OOM", 3) == 0)
			agent_oom(w, reply->str);
	}
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
	wtask_free(wt);
	if (next != NULL && next->type == REDIS_REPLY_STRING)
		worker_task_new(w, next->str, next->len, WT_FOLDED, claim);
	worker_task_next(w);
}

/* An attempt is acked and its child gone: free it, go on. */
static void
worker_task_done(struct wtask *wt)
{
	struct worker	*w = wt->w;

	wtask_free(wt);
	worker_task_next(w);
}

/* A slot freed: leave if stopping and idle, else pop if one is free. */
static void
worker_task_next(struct worker *w)
{
	if (w->stopping && w->nrunning == 0)
		w->drained_cb(w);
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

/*
 * Send again the start and finish scripts whose replies were lost: from
 * the tick (an error, or a connection that dropped without a reconnect
 * yet), and with reconnect set when rc_cmd is back, which sends a finish
 * again even once acked (its task was reported early and its child has
 * not exited yet).
 */
void
worker_resend(struct worker *w, int reconnect)
{
	struct wtask	*wt;

	LIST_FOREACH(wt, &w->tasks, entry) {
		if (wt->inflight || !rconn_is_ready(w->rc_cmd))
			continue;
		if (wt->state == WT_STARTING)
			worker_task_start(wt);
		else if (wt->state == WT_FINISHING && (reconnect || !wt->acked))
			worker_task_finish(wt);
	}
}

/*
 * Kill the children of the tasks held. With lost, a running task is
 * first reported lost (lost says why), so the producer requeues it at
 * once.
 */
void
worker_kill_tasks(struct worker *w, const char *lost)
{
	struct wtask	*wt, *next;

	for (wt = LIST_FIRST(&w->tasks); wt != NULL; wt = next) {
		next = LIST_NEXT(wt, entry);
		if (lost != NULL && wt->state == WT_RUNNING)
			worker_task_report(wt, RESULT_LOST, 0, lost);
		if (wt->proc != NULL)
			proc_kill(wt->proc);
	}
}

/* How many held tasks still have a child (a command or a restore). */
int
worker_children(struct worker *w)
{
	struct wtask	*wt;
	int		 n = 0;

	LIST_FOREACH(wt, &w->tasks, entry) {
		if (wt->proc != NULL)
			n++;
	}
	return (n);
}

/* Free every task still held (exit path; children already killed). */
void
worker_free_tasks(struct worker *w)
{
	while (!LIST_EMPTY(&w->tasks))
		wtask_free(LIST_FIRST(&w->tasks));
}
