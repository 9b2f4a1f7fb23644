/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The end of the run: when it is over, how the agents are told, and the
 * ways it ends early. follow.c and loop.c both call in; nothing here
 * dispatches or follows, so it sits below both. Data flow:
 *
 * 1. end_check(), after each result and block (follow.c) and after the
 *    start (loop.c): once every task is final and printed, end_stop()
 *    sets the stop sentinel with script_stop(), which releases the
 *    agents (unless they are kept for a later submit, or --stop-agents-
 *    after names targets not all done), and the loop ends when Redis
 *    answers (end_stopped_done()).
 * 2. end_stop() keeps the reason in s->stop_pending until Redis has
 *    answered: loop.c sends it again each time rc_cmd reconnects, and
 *    its tick gives up after a while.
 * 3. end_abort() ends the run at once with exit 3: a signal, a cancel,
 *    a limit, lost state or a connection refused for good.
 * 4. end_cancel_poll() asks whether someone cancelled the run (dteq
 *    cancel) or stopped it (dteq stop): each tick, and when an agent
 *    killed a task because the run was stopped.
 */

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "producer.h"

/*
 * Reply to the stop script (or, with the agents kept, to EXPIRE meta): the
 * run is over, leave.
 */
static void
end_stopped_done(redisAsyncContext *ac, void *r, void *privdata)
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
 * reconnect until Redis has answered (loop_tick() gives up after a while).
 */
void
end_stop(struct submit *s, const char *reason)
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
		return;		/* loop_cmd_ready() sends it */
	script_stop(s->rc_cmd, &s->keys, why, s->o->ttl,
	    STOP_MAIN | STOP_STATE, end_stopped_done, s);
}

/* Is target (len bytes) a word of args (split on blanks, '=', ',')? */
static int
end_word_in(const char *args, const char *target, size_t len)
{
	const char	*delims = " \t\n=,'\"";
	const char	*p;

	for (p = args; *p != '\0'; p += strcspn(p, delims)) {
		p += strspn(p, delims);
		if (strncmp(p, target, len) == 0 &&
		    (p[len] == '\0' || strchr(delims, p[len]) != NULL))
			return (1);
	}
	return (0);
}

/*
 * No task of the --stop-agents-after targets is in this graph: release
 * the agents at the end if the tool was asked for one of those targets
 * and found none to run (an `nx affected -t ...,e2e` that touches no e2e
 * project): no later submit of the run brings them. Otherwise (a task
 * file, a tool asked for other targets) keep them for the later submit
 * that will. Either way, say so.
 */
static int
end_no_targets(struct submit *s)
{
	const char	*args, *p;
	size_t		 len;

	args = s->o->nx_args != NULL ? s->o->nx_args : s->o->turbo_args;
	for (p = s->o->stop_after; args != NULL && *p != '\0'; p += len) {
		if (*p == ',')
			p++;
		len = strcspn(p, ",");
		if (len > 0 && end_word_in(args, p, len)) {
			log_info("no task of target %.*s in this run's graph "
			    "(the tool found none to run): the agents are "
			    "released at its end (--stop-agents-after %s)",
			    (int)len, p, s->o->stop_after);
			return (1);
		}
	}
	log_info("no task of the targets %s in this submit's graph: the "
	    "agents are kept for a later submit of run %s, for up to %d s "
	    "(`dteq stop` releases them)", s->o->stop_after, s->run,
	    s->o->agent_wait > s->o->main_lease ? s->o->agent_wait :
	    s->o->main_lease);
	return (0);
}

/*
 * Do all tasks of the --stop-agents-after targets exist and are done?
 * With none of them in the graph, end_no_targets() decides.
 */
static int
end_targets_finished(struct submit *s)
{
	size_t		 i, n = graph_size(s->g), len;
	const char	*target, *p;
	int		 found = 0;

	for (i = 0; i < n; i++) {
		target = graph_node(s->g, i)->task->target;
		len = strlen(target);
		for (p = s->o->stop_after; *p != '\0'; p += strcspn(p, ",")) {
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
	return (found ? 1 : end_no_targets(s));
}

/* Every task final and printed: release the agents (or not), leave. */
void
end_check(struct submit *s)
{
	const struct submit_opts *o = s->o;
	int			  release;

	if (s->ending || s->nfinal < graph_size(s->g) || s->nprinting > 0)
		return;
	if (o->keep_agents)
		release = 0;
	else if (o->stop_after != NULL)
		release = end_targets_finished(s);
	else
		release = 1;
	if (release) {
		end_stop(s, "done");
		return;
	}
	log_info("agents kept for a later submit of run %s", s->run);
	s->ending = 1;
	s->ended = util_now_ms();
	/*
	 * Agents wait for the next submit as long as they would for one;
	 * "kept" tells that submit no main job is alive, and without a
	 * digest in the meta it may bring any graph (register.c).
	 */
	rconn_command_checked(s->rc_cmd, "heartbeat",
	    "SET %s kept EX %d", s->keys.main_hb, o->agent_wait >
	    o->main_lease ? o->agent_wait : o->main_lease);
	rconn_command_checked(s->rc_cmd, "handing the run over",
	    "HDEL %s digest", s->keys.meta);
	if (rconn_command(s->rc_cmd, end_stopped_done, s, "EXPIRE %s %d",
	    s->keys.meta, o->ttl) != 0)
		event_base_loopexit(s->base, NULL);
}

/* End the run now with an infrastructure failure (exit 3). */
void
end_abort(struct submit *s, const char *why)
{
	if (s->abort_reason != NULL)
		return;
	s->abort_reason = xstrdup(why);
	log_warnx("%s", why);
	if (s->rc_cmd != NULL && rconn_is_ready(s->rc_cmd) && !s->ending)
		end_stop(s, strncmp(why, "cancelled", 9) == 0 ?
		    "cancelled" : "aborted");
	else
		event_base_loopexit(s->base, NULL);
}

/*
 * The run was stopped from outside (dteq stop: the sentinel "done" that
 * this submit did not set) before its tasks were all final: its agents
 * finish what they run and take no more, so nothing would finish what is
 * left. End now with exit 3, saying so; the sentinel stays as it is, and
 * the meta records the state and the main job's heartbeat goes.
 */
static void
end_stopped_outside(struct submit *s)
{
	size_t	n = graph_size(s->g);
	char	now[32];

	xasprintf(&s->abort_reason, "stopped by `dteq stop` with %zu of %zu "
	    "task%s not finished: the agents finish the ones they run and "
	    "take no more", n - s->nfinal, n, n == 1 ? "" : "s");
	log_warnx("%s", s->abort_reason);
	s->ending = 1;
	s->ended = util_now_ms();
	snprintf(now, sizeof now, "%llu", (unsigned long long)util_wall_ms());
	rconn_command_checked(s->rc_cmd, "recording the stop",
	    "HSET %s state stopped ended %s", s->keys.meta, now);
	if (rconn_command(s->rc_cmd, end_stopped_done, s, "DEL %s",
	    s->keys.main_hb) != 0)
		event_base_loopexit(s->base, NULL);
}

/*
 * Reply to GET stop: a cancelled run ends the submit (exit 3), and so
 * does one stopped with dteq stop before its end.
 */
static void
end_cancel_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct submit	*s = privdata;
	redisReply	*reply = r;

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_STRING || s->ending)
		return;
	if (strcmp(reply->str, "cancelled") == 0)
		end_abort(s, "cancelled (dteq cancel)");
	else if (strcmp(reply->str, "done") == 0)
		end_stopped_outside(s);
}

/* In a running submit: has someone cancelled the run? */
void
end_cancel_poll(struct submit *s)
{
	if (s->rc_cmd == NULL || !rconn_is_ready(s->rc_cmd) || s->ending)
		return;
	rconn_command(s->rc_cmd, end_cancel_done, s, "GET %s", s->keys.stop);
}
