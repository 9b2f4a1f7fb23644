/* dteq: self-hosted distributed task execution over Redis. */

/*
 * A task this agent holds (struct wtask), as an object: made of a task
 * message once the message passes its checks, its one state setter, and
 * its end. What it does between is worker.c's.
 *
 * A message that comes (by BLMOVE, with a finish script, or adopted from
 * the running list) goes through wtask_new():
 *
 * 1. a claim the finish script refused is counted, and that is all;
 * 2. wtask_check(): its signature, its form, its run, and that this
 *    agent does not hold the same attempt already; a message that fails
 *    is counted in the run's meta, acked so it does not come back, and
 *    the finish script's claim on it given back (wtask_unclaim());
 * 3. a retry that should avoid this agent is handed back a few times
 *    (wtask_defer()), for another agent to take;
 * 4. else it is held: a new wtask in the agent's list, starting.
 *
 * wtask_free() forgets it once its finish is acked and its child gone.
 */

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "worker.h"

static const char *wt_state_names[] = { "starting", "running", "finishing" };

/* Move a task to a new state, logging the transition. */
void
wtask_set_state(struct wtask *wt, int state)
{
	log_debug("%s: %s attempt %d: %s -> %s", __func__, wt->m.id,
	    wt->m.attempt, wt_state_names[wt->state], wt_state_names[state]);
	wt->state = state;
}

/* Count a refused message in the run's meta (the summary shows it). */
static void
wtask_count_rejected(struct worker *w, const char *why)
{
	log_warnx("rejected a task message: %s", why);
	w->rejected++;
	rconn_command_checked(w->rc_cmd,
	    "counting a rejected message", "HINCRBY %s rejected 1",
	    w->keys.meta);
}

/* Drop a message that cannot be run: ack it so it does not come back. */
static void
wtask_reject(struct worker *w, const char *msg, size_t len,
    const char *why)
{
	const char	*argv[4] = { "LREM", w->running, "1", msg };
	size_t		 lens[4];

	wtask_count_rejected(w, why);
	lens[0] = 4;
	lens[1] = strlen(w->running);
	lens[2] = 1;
	lens[3] = len;
	rconn_command_argv(w->rc_cmd, rconn_check_reply,
	    (void *)"dropping a rejected message", 4, argv, lens);
}

/* Hand a message back for another agent; then pause popping briefly. */
static void
wtask_defer(struct worker *w, const char *msg, size_t len)
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
wtask_should_defer(struct worker *w, const struct task_msg *m)
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
wtask_unclaim(struct worker *w, redisReply **claim)
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
 * Why msg may not run here (caller frees), or NULL with the message
 * decoded into *m: its signature, its form, its run, and whether this
 * agent holds the same attempt already.
 */
static char *
wtask_check(struct worker *w, const char *msg, size_t len,
    struct task_msg *m)
{
	struct wtask	*other;
	const char	*json;
	size_t		 jsonlen;
	char		*cause;

	if (sign_verify(w->secret, msg, len, &json, &jsonlen, &cause) != 0)
		return (cause);
	memset(m, 0, sizeof *m);
	if (task_msg_decode(json, jsonlen, m, &cause) != 0)
		return (cause);
	if (strcmp(m->run, w->run) != 0) {
		xasprintf(&cause, "task \"%s\" belongs to run %s, not %s",
		    m->id, m->run, w->run);
		goto fail;
	}
	LIST_FOREACH(other, &w->tasks, entry) {
		if (strcmp(other->m.id, m->id) == 0 &&
		    other->m.attempt == m->attempt) {
			xasprintf(&cause, "task \"%s\" attempt %d is already "
			    "running here (a duplicate)", m->id, m->attempt);
			goto fail;
		}
	}
	return (NULL);

fail:
	task_msg_clear(m);
	return (cause);
}

/* Hold a checked message (m is taken over) in a new wtask, starting. */
static struct wtask *
wtask_add(struct worker *w, struct task_msg *m, const char *msg,
    size_t len, int how)
{
	struct wtask	*wt;

	wt = xcalloc(1, sizeof *wt);
	wt->m = *m;
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
	return (wt);
}

/*
 * The start or finish script refused to claim an attempt (claimed is -1
 * when it was started already, else it is stale): count it.
 */
void
wtask_refused(struct worker *w, long long claimed)
{
	wtask_count_rejected(w, claimed == -1 ? "this attempt was already "
	    "started (a replayed or duplicated message)" :
	    "stale attempt (replayed, or superseded by a newer one)");
}

/*
 * A message came: check it and make a wtask of it, starting. how says
 * where it came from: a BLMOVE, a finish script, or this agent's running
 * list after a cut-off finish (adopted: the finish script may have
 * claimed it for this agent, so the start script takes our own claim as
 * a yes). claim is NULL for a message that came by BLMOVE or adoption:
 * the start script claims it. One that came with a finish carries the
 * finish script's claim, id and attempt: claim 1 claimed already (run it
 * now: *claimed is set), 0 or -1 refused there (count it; the script
 * dropped it), 2 not looked at. Returns NULL when the message was
 * refused or handed back.
 */
struct wtask *
wtask_new(struct worker *w, const char *msg, size_t len, int how,
    struct redisReply **claim, int *claimed)
{
	struct wtask	*wt;
	struct task_msg	 m;
	char		*cause;
	long long	 c = 2;

	*claimed = 0;
	if (claim != NULL && claim[0]->type == REDIS_REPLY_INTEGER)
		c = claim[0]->integer;
	if (c == 0 || c == -1) {
		wtask_refused(w, c);
		return (NULL);
	}
	if ((cause = wtask_check(w, msg, len, &m)) != NULL) {
		wtask_unclaim(w, claim);
		wtask_reject(w, msg, len, cause);
		free(cause);
		return (NULL);
	}
	if (c != 1 && wtask_should_defer(w, &m)) {
		log_debug("%s: retry avoids this agent; handed back", m.id);
		wtask_defer(w, msg, len);
		task_msg_clear(&m);
		return (NULL);
	}
	wt = wtask_add(w, &m, msg, len, how);
	if (c == 1) {
		wt->start_sent = 1;	/* a resend finds its own claim */
		*claimed = 1;
	}
	return (wt);
}

/* Forget a task. */
void
wtask_free(struct wtask *wt)
{
	LIST_REMOVE(wt, entry);
	wt->w->nrunning--;
	output_free(wt);
	task_msg_clear(&wt->m);
	result_clear(&wt->result);
	free(wt->result_json);
	free(wt->msg);
	free(wt->logkey);
	free(wt->attempt);
	free(wt->group);
	free(wt);
}
