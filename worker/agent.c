/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The agent in its run: its three connections, joining the run, the
 * heartbeat lease, the run's control channel, and stopping and leaving.
 * The tasks themselves are worker.c's, below this file: it calls
 * nothing here, but tells the agent through the two callbacks
 * agent_start() sets (a pop that timed out: agent_check(); the last
 * task gone while stopping: agent_leave()).
 *
 * Life of an agent:
 *
 * 1. agent_start() creates the connections. When rc_cmd is ready,
 *    agent_check() reads the stop sentinel and the run's meta; rc_sub
 *    subscribes to the control channel, whose "run" event makes it look
 *    again. A run that is there and that this agent may serve
 *    (agent_refuse()) is joined (agent_join()): its settings are taken
 *    and the first heartbeat is sent, again each second until it takes
 *    the lease (join_pending); then worker_pop() starts taking tasks. A
 *    name's heartbeat holds the instance token of the process that
 *    holds it: while another process holds it the join is refused, and
 *    past a lease this agent leaves (agent_name_taken()); a first join
 *    also waits until submit took back what an earlier agent of that
 *    name left in its running list.
 * 2. agent_tick() (once a second) sends the heartbeat, a third of the
 *    lease apart; its reply can tell that the lease lapsed (the tasks
 *    went to other agents: kill ours, join again), that submit stopped
 *    responding or that the run was stopped. It also resends the
 *    scripts whose replies were lost and pops if a pop was lost.
 * 3. agent_stop() (the stop sentinel, its event, a signal, a lost run)
 *    ends the popping and, unless the run simply ended, kills the tasks;
 *    once no task is held, agent_leave() gives back any message still in
 *    the running list, deregisters and ends the loop.
 */

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "worker.h"

/* While stopping, Redis out of reach this long: leave all the same. */
#define AGENT_GONE_MS	5000

static void	agent_heartbeat(struct worker *, int);
static void	agent_name_taken(struct worker *);
static void	agent_leave(struct worker *);

/*
 * Reply to the heartbeat script: {renewed, main job alive}. A refused
 * renewal means this agent's lease lapsed (it was frozen or cut off) and
 * its tasks were given to others: kill them (their results would be
 * discarded anyway) and join again as a fresh agent.
 */
static void
agent_heartbeat_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct worker	*w = privdata;
	redisReply	*reply = r;
	uint64_t	 seq = ++w->hb_replied;

	(void)ac;
	if (reply == NULL || w->stopping)
		return;
	if (reply->type == REDIS_REPLY_ERROR &&
	    strncmp(reply->str, "OOM", 3) == 0) {
		agent_oom(w, reply->str);
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER ||
	    reply->element[1]->type != REDIS_REPLY_INTEGER) {
		if (reply->type == REDIS_REPLY_ERROR)
			log_warnx("heartbeat: %s", reply->str);
		return;
	}
	if (reply->elements > 2 &&
	    reply->element[2]->type == REDIS_REPLY_STRING) {
		agent_stop(w, reply->element[2]->str);
		return;
	}
	if (reply->element[1]->integer == 1)
		w->main_seen = util_now_ms();
	else if (w->main_seen == 0) {
		/*
		 * Joined an open run whose main job is not there (yet): its
		 * CI step restarts it, and it resumes the run. Wait for it as
		 * for a run that has not started, up to --wait.
		 */
		if (util_now_ms() - w->started >= (uint64_t)w->wait * 1000) {
			log_warnx("run %s has no main job, and none came "
			    "within %d s", w->run, w->wait);
			w->exit_code = EXIT_INFRA;
			agent_stop(w, "no main job came");
			return;
		}
	} else {
		log_warnx("main job stopped responding (its heartbeat "
		    "lapsed); killing %d task%s", w->nrunning,
		    w->nrunning == 1 ? "" : "s");
		w->exit_code = EXIT_INFRA;
		agent_stop(w, "main job stopped responding");
		return;
	}
	if (reply->element[0]->integer == 1) {
		if (w->join_pending) {
			w->join_pending = 0;
			w->ever_joined = 1;
			w->name_taken = 0;
			log_info("joined run %s as %s (parallel %d)", w->run,
			    w->name, w->parallel);
			/* Its slots, for the reports (offered, used or not). */
			rconn_command_checked(w->rc_cmd, "recording the agent's "
			    "slots", "HSET %s slots:%s %d", w->keys.meta,
			    w->name, w->parallel);
			worker_pop(w);
		}
		return;
	}
	if (reply->element[0]->integer == -1) {
		agent_name_taken(w);
		return;
	}
	if (reply->element[0]->integer == -2) {
		if (!w->left_waiting)
			log_info("an earlier agent named %s left tasks in its "
			    "running list; waiting for the main job to take "
			    "them back", w->name);
		w->left_waiting = 1;
		return;
	}
	/*
	 * A refusal of a heartbeat sent before the rejoin that followed a
	 * lost lease is stale: after a partition, several come at once, and
	 * the tasks the agent took since it rejoined are its own.
	 */
	if (seq < w->hb_rejoin)
		return;
	log_warnx("lost the lease (this agent did not heartbeat in time); "
	    "its %d task%s went to other agents", w->nrunning,
	    w->nrunning == 1 ? "" : "s");
	worker_kill_tasks(w, NULL);
	agent_heartbeat(w, 1);
	w->hb_rejoin = w->hb_sent;
}

/*
 * A write refused because Redis is out of memory (the heartbeat, a
 * finish: a result that cannot be recorded). From then on agent_tick()
 * looks at Redis's memory once a lease: still full, the agent leaves
 * (exit 3) saying so, killing its tasks, as neither it nor the main job
 * can record anything, nor tell the other to stop.
 */
void
agent_oom(struct worker *w, const char *err)
{
	if (w->oom_since != 0)
		return;
	w->oom_since = util_now_ms();
	log_warnx("Redis refuses writes: %s", err);
}

/* Reply to INFO memory, a lease after a write was refused for it. */
static void
agent_memory_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct worker	*w = privdata;
	redisReply	*reply = r;
	char		*why;

	(void)ac;
	w->memory_asked = 0;
	if (w->stopping || reply == NULL || reply->type != REDIS_REPLY_STRING)
		return;
	if (!rconn_memory_full(reply->str, &why)) {
		w->oom_since = 0;	/* room again */
		return;
	}
	log_warnx("%s; killing %d task%s and leaving", why, w->nrunning,
	    w->nrunning == 1 ? "" : "s");
	free(why);
	w->exit_code = EXIT_INFRA;
	agent_stop(w, "Redis out of memory");
}

/*
 * A join refused: another process holds this name's heartbeat. It may be
 * an agent that died under this name (a restart within its lease): its
 * heartbeat lapses within one lease, submit then takes its tasks back,
 * and the join goes through. One that still holds it after a lease and
 * a margin renewed it: a live agent under the same name, which would
 * share its lease and running list with this one. Leave, naming it.
 */
static void
agent_name_taken(struct worker *w)
{
	uint64_t	now = util_now_ms();

	if (w->name_taken == 0) {
		w->name_taken = now;
		log_info("another agent named %s holds run %s's lease for that "
		    "name; waiting up to %d s to see whether it is alive",
		    w->name, w->run, w->lease + 2);
		return;
	}
	if (now - w->name_taken < (uint64_t)(w->lease + 2) * 1000)
		return;
	log_warnx("another agent named %s is alive in run %s (it renewed "
	    "its lease for %d s): give each agent its own --name", w->name,
	    w->run, w->lease + 2);
	w->exit_code = EXIT_INFRA;
	agent_stop(w, "name taken");
}

/*
 * Send the heartbeat: the agent's lease, renewed on the server's clock.
 * The TTLs of the agents set and the running list are renewed with a
 * join and then once a quarter of the TTL, not with every heartbeat.
 */
static void
agent_heartbeat(struct worker *w, int join)
{
	uint64_t	now = util_now_ms();
	int		renew;

	if (!w->joined || w->stopping)
		return;
	renew = join || w->ttl_renewed == 0 ||
	    now - w->ttl_renewed >= (uint64_t)w->ttl * 1000 / 4;
	if (renew)
		w->ttl_renewed = now;
	if (script_heartbeat(w->rc_cmd, &w->sa, w->lease * 1000, w->ttl,
	    w->nrunning, (join ? SCRIPT_HB_JOIN : 0) |
	    (renew ? SCRIPT_HB_RENEW : 0) |
	    (w->ever_joined ? 0 : SCRIPT_HB_FRESH), agent_heartbeat_done,
	    w) == 0)
		w->hb_sent++;
}

/*
 * Refuse a run this agent must not serve: log why, and leave the reason
 * in the run's meta (refused:NAME) for submit to show. 0 if it may.
 */
static int
agent_refuse(struct worker *w, long long protocol, const char *version,
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
		rconn_command_checked(w->rc_cmd,
		    "recording the refusal", "HSET %s refused:%s %s",
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
agent_join(struct worker *w, redisReply *meta)
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
	if (agent_refuse(w, protocol, version, commit, check,
	    is_signed) != 0) {
		w->exit_code = EXIT_INFRA;
		agent_stop(w, "refused");
		return;
	}
	w->joined = 1;
	w->join_pending = 1;
	agent_heartbeat(w, 1);	/* pops once the lease is taken */
}

/* Reply to GET stop: the sentinel says the run is over. */
static void
agent_stop_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct worker	*w = privdata;
	redisReply	*reply = r;

	(void)ac;
	if (reply == NULL)
		return;
	if (w->await_rerun && !w->joined) {
		/* The ended attempt's sentinel: agent_meta_done() waits. */
		w->ended_seen = reply->type == REDIS_REPLY_STRING;
		return;
	}
	if (reply->type != REDIS_REPLY_STRING)
		return;
	agent_stop(w, reply->str);
}

/* Reply to HGETALL meta: join, keep waiting, or notice a lost run. */
static void
agent_meta_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct worker	*w = privdata;
	redisReply	*reply = r;

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || w->stopping)
		return;
	if (w->await_rerun && w->ended_seen && !w->joined) {
		/* Still the attempt that ended: no re-run of it yet. */
		if (util_now_ms() - w->started >= (uint64_t)w->wait * 1000) {
			log_info("run %s did not start again within %d s: "
			    "nothing to do", w->run, w->wait);
			agent_stop(w, "done");
		}
		return;
	}
	if (reply->elements > 0) {
		if (!w->joined)
			agent_join(w, reply);
		return;
	}
	if (w->joined) {
		log_warnx("run %s: run state lost (its keys are gone from "
		    "Redis)", w->run);
		w->exit_code = EXIT_INFRA;
		agent_stop(w, "run state lost");
		return;
	}
	if (util_now_ms() - w->started >= (uint64_t)w->wait * 1000) {
		log_warnx("no run %s appeared within %d s", w->run, w->wait);
		w->exit_code = EXIT_INFRA;
		agent_stop(w, "no run");
	}
}

/*
 * Check the stop sentinel and the run's meta (also the task slots'
 * pop_timeout_cb).
 */
static void
agent_check(struct worker *w)
{
	rconn_command(w->rc_cmd, agent_stop_done, w, "GET %s", w->keys.stop);
	rconn_command(w->rc_cmd, agent_meta_done, w, "HGETALL %s",
	    w->keys.meta);
}

/* A message from the run's control channel (run, stop). */
static void
agent_event_done(redisAsyncContext *ac, void *r, void *privdata)
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
	if (e.type == EVENT_STOP && !(w->await_rerun && !w->joined))
		agent_stop(w, e.reason != NULL ? e.reason : "stopped");
	else if (e.type == EVENT_RUN && !w->joined)
		agent_check(w);
	event_clear(&e);
}

/* rc_sub is (re)connected: subscribe, then look at the run again. */
static void
agent_sub_ready(struct rconn *rc, void *arg)
{
	struct worker	*w = arg;

	rconn_command(rc, agent_event_done, w, "SUBSCRIBE %s",
	    w->keys.control);
	agent_check(w);
}

/* rc_cmd is (re)connected: load scripts, resend what was cut off. */
static void
agent_cmd_ready(struct rconn *rc, void *arg)
{
	struct worker	*w = arg;

	script_load(rc);
	agent_check(w);
	agent_heartbeat(w, 1);
	w->results_ttl = 0;	/* the results may be new: renew at once */
	/* A finish that popped was cut off: adopt what it moved. */
	if (w->joined && w->adopting)
		worker_adopt(w);
	worker_resend(w, 1);
}

/* rc_block is (re)connected: adopt what a cut-off pop left, pop again. */
static void
agent_block_ready(struct rconn *rc, void *arg)
{
	struct worker	*w = arg;

	(void)rc;
	w->popping = 0;
	if (!w->joined || worker_adopt(w) != 0)
		worker_pop(w);
}

/* A connection with a permanent error (AUTH refused) ends the agent. */
static void
agent_lost(struct rconn *rc, void *arg)
{
	struct worker	*w = arg;

	if (rconn_error(rc) != NULL) {
		w->exit_code = EXIT_INFRA;
		event_base_loopexit(w->base, NULL);
	}
}

/* Create the connections; the loop does the rest. */
void
agent_start(struct worker *w)
{
	LIST_INIT(&w->tasks);
	w->pop_timeout_cb = agent_check;
	w->drained_cb = agent_leave;
	w->rc_cmd = rconn_new(w->base, &w->url, "cmd", agent_cmd_ready,
	    agent_lost, w);
	w->rc_sub = rconn_new(w->base, &w->url, "sub", agent_sub_ready,
	    agent_lost, w);
	w->rc_block = rconn_new(w->base, &w->url, "block", agent_block_ready,
	    agent_lost, w);
}

/*
 * Stop serving: no more pops. "done" (the run ended) lets running tasks
 * finish; "signal" reports them lost so the producer requeues them at
 * once; anything else (cancelled, timeout, lost run) kills them.
 */
void
agent_stop(struct worker *w, const char *reason)
{
	if (w->stopping)
		return;
	w->stopping = 1;
	w->stop_reason = xstrdup(reason);
	log_info("run %s is over (%s); %d task%s held", w->run, reason,
	    w->nrunning, w->nrunning == 1 ? "" : "s");
	if (strcmp(reason, "done") != 0) {
		worker_kill_tasks(w, strcmp(reason, "signal") == 0 ?
		    "agent stopped by a signal" : NULL);
	}
	if (w->nrunning == 0)
		agent_leave(w);
}

/* Reply to the last deregistration command: leave the loop. */
static void
agent_leave_done(redisAsyncContext *ac, void *r, void *privdata)
{
	struct worker	*w = privdata;

	(void)ac;
	(void)r;
	event_base_loopexit(w->base, NULL);
}

/*
 * Give back unstarted messages, deregister, and end the loop (also the
 * task slots' drained_cb).
 */
static void
agent_leave(struct worker *w)
{
	if (w->rc_block != NULL) {
		rconn_free(w->rc_block);	/* cancels the BLMOVE */
		w->rc_block = NULL;
	}
	/*
	 * Never having taken the name's lease, it has nothing to give back,
	 * and the name's keys are another process's.
	 */
	if (!rconn_is_ready(w->rc_cmd) || w->join_pending) {
		event_base_loopexit(w->base, NULL);
		return;
	}
	script_release(w->rc_cmd, &w->sa, w->ttl, rconn_check_reply,
	    (void *)"the release script");
	rconn_command_checked(w->rc_cmd,
	    "deleting the heartbeat", "DEL %s", w->hb);
	rconn_command(w->rc_cmd, agent_leave_done, w, "SREM %s %s",
	    w->keys.agents, w->name);
}

/*
 * Once a second: heartbeat when due, send again a start or finish script
 * whose reply was lost (an error, or a connection that dropped without a
 * reconnect yet), pop if a pop was lost.
 */
void
agent_tick(struct worker *w)
{
	static uint64_t	 last_hb;
	uint64_t	 now = util_now_ms();

	if (!w->joined) {
		agent_check(w);
		return;
	}
	/*
	 * Stopping, every child gone, and Redis out of reach for a while
	 * (a `dteq run` killed with its redis-server): the results that wait
	 * for it would wait for ever. Leave; the main job, if any, takes
	 * the tasks back when this agent's lease lapses.
	 */
	if (w->stopping && w->nrunning > 0 && worker_children(w) == 0 &&
	    !rconn_is_ready(w->rc_cmd) &&
	    rconn_down_ms(w->rc_cmd) > AGENT_GONE_MS) {
		log_warnx("Redis unreachable for %d s while stopping: leaving "
		    "with %d result%s unsent", AGENT_GONE_MS / 1000,
		    w->nrunning, w->nrunning == 1 ? "" : "s");
		w->exit_code = EXIT_INFRA;
		event_base_loopexit(w->base, NULL);
		return;
	}
	if (w->join_pending) {
		agent_heartbeat(w, 1);	/* until the lease is taken */
		return;
	}
	if (w->oom_since != 0 && !w->memory_asked &&
	    now - w->oom_since >= (uint64_t)w->lease * 1000 &&
	    rconn_command(w->rc_cmd, agent_memory_done, w, "INFO memory") == 0)
		w->memory_asked = 1;
	if (now - last_hb >= (uint64_t)w->lease * 1000 / 3) {
		last_hb = now;
		agent_heartbeat(w, 0);
	}
	worker_resend(w, 0);
	worker_pop(w);
}
