/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The Lua scripts that make each protocol step atomic, so no decision is
 * read-then-written from C. Every script takes all of its keys from the
 * run (one hash tag), so a run's scripts run in one cluster slot.
 *
 * start	an agent popped a message: if its attempt is still the
 *		task's current one and unclaimed (one HGET of claims, which
 *		mirrors attempts), claim it and announce "started"; else
 *		drop the stale (0) or already started (-1) message.
 * finish	an attempt ended: optionally move the next message of the
 *		queue into the agent's running list (the agent's next pop)
 *		and claim it as start would,
 *		ack this one (LREM; nothing to remove means it was acked
 *		already or reclaimed), record the result if the attempt is
 *		still current, and announce it; on a success, release the
 *		staged tasks that were waiting only for this one (the
 *		agent keeps an urgent one, or one when the queue was
 *		empty).
 * reclaim	(producer) for every agent of the run whose heartbeat key
 *		expired: take its running list, make those attempts stale
 *		and forget the agent. Returns {alive agents, {messages}}.
 * log		append output to an attempt's log if the attempt is current,
 *		and announce the chunk when the run streams output.
 * release	move every message of an agent's running list back to the
 *		queue (graceful exit).
 * heartbeat	renew an agent's lease, unless it was reclaimed meanwhile
 *		(a frozen agent is fenced); tells whether submit is alive
 *		and whether the run was stopped.
 * dispatch	(producer) record new attempts (in attempts and claims)
 *		and push their messages.
 * defer	hand one message back to the popping end of the queue (a
 *		retry that should go to another agent).
 * unclaim	give back a claim the finish script made for a message the
 *		agent refused after all (bad signature).
 * stage	(producer) record new attempts of tasks whose dependencies
 *		are all in flight and keep their messages aside; the
 *		finish script of their last dependency pushes them.
 * stop		(submit, cancel, stop) end a run: the stop sentinel with its
 *		reason and the run's TTL, announced on both channels
 *		(script_stop() below).
 *
 * The agent's scripts live in script_agent.c, submit's in script_submit.c,
 * each body next to the typed wrapper that sends it; the stop script is
 * here, as are the list of all of them and their loading.
 *
 * Scripts are sent by EVALSHA; the SHA1 of each body is computed here
 * once, and script_load() sends SCRIPT LOAD on a connection after each
 * (re)connect, before any EVALSHA on it.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "dteq.h"

/* SCRIPT_STOP: KEYS stop meta main_hb control events; ARGV reason
 * event now ttl flags. The TTL is the run's (meta ttl), else
 * ARGV[4]. flags: "k" a run already stopped keeps its reason
 * (returns {0, reason}); "m" only a run whose meta exists
 * (returns {-1} otherwise); "d" the main job ends: its heartbeat
 * goes; "s" the meta records the state and when it ended.
 * Returns {1, reason} once written and announced. */
static const char script_lua_stop[] =
	"local flags = ARGV[5]\n"
	"local ttl = redis.call('HGET', KEYS[2], 'ttl') or ARGV[4]\n"
	"if string.find(flags, 'm', 1, true) and\n"
	"    redis.call('EXISTS', KEYS[2]) == 0 then\n"
	"  return {-1}\n"
	"end\n"
	"if string.find(flags, 'k', 1, true) then\n"
	"  local had = redis.call('GET', KEYS[1])\n"
	"  if had then return {0, had} end\n"
	"end\n"
	"redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)\n"
	"if string.find(flags, 's', 1, true) then\n"
	"  redis.call('HSET', KEYS[2], 'state', ARGV[1], 'ended', ARGV[3])\n"
	"  redis.call('EXPIRE', KEYS[2], ttl)\n"
	"end\n"
	"if string.find(flags, 'd', 1, true) then\n"
	"  redis.call('DEL', KEYS[3])\n"
	"end\n"
	"redis.call('PUBLISH', KEYS[4], ARGV[2])\n"
	"redis.call('PUBLISH', KEYS[5], ARGV[2])\n"
	"return {1, ARGV[1]}\n";

static const char *script_bodies[SCRIPT_COUNT] = {
	[SCRIPT_START] = script_lua_start,
	[SCRIPT_FINISH] = script_lua_finish,
	[SCRIPT_RECLAIM] = script_lua_reclaim,
	[SCRIPT_LOG] = script_lua_log,
	[SCRIPT_RELEASE] = script_lua_release,
	[SCRIPT_HEARTBEAT] = script_lua_heartbeat,
	[SCRIPT_DEFER] = script_lua_defer,
	[SCRIPT_DISPATCH] = script_lua_dispatch,
	[SCRIPT_UNCLAIM] = script_lua_unclaim,
	[SCRIPT_STAGE] = script_lua_stage,
	[SCRIPT_STOP] = script_lua_stop,
};

static char	script_shas[SCRIPT_COUNT][41];

/* Compute each script's SHA1 once. */
static void
script_init(void)
{
	int	i;

	if (script_shas[0][0] != '\0')
		return;
	for (i = 0; i < SCRIPT_COUNT; i++)
		util_sha1_hex(script_bodies[i], strlen(script_bodies[i]),
		    script_shas[i]);
}

const char *
script_body(int which)
{
	return (script_bodies[which]);
}

const char *
script_sha(int which)
{
	script_init();
	return (script_shas[which]);
}

/* Load every script on a connection that just became ready. */
void
script_load(struct rconn *rc)
{
	int	i;

	for (i = 0; i < SCRIPT_COUNT; i++)
		rconn_command_checked(rc, "SCRIPT LOAD refused",
		    "SCRIPT LOAD %s", script_bodies[i]);
}

/*
 * Run a script on a synchronous connection: EVALSHA, or EVAL when the
 * server does not have it (a new or restarted server). The reply, or NULL
 * with *cause.
 */
static redisReply *
script_call_sync(redisContext *c, int which, int argc, const char **argv,
    char **cause)
{
	redisReply	*reply;
	size_t		*lens;
	int		 k;

	lens = xcalloc((size_t)argc, sizeof *lens);
	argv[0] = "EVALSHA";
	argv[1] = script_sha(which);
	for (k = 0; k < argc; k++)
		lens[k] = strlen(argv[k]);
	reply = redisCommandArgv(c, argc, argv, lens);
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR &&
	    strncmp(reply->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(reply);
		argv[0] = "EVAL";
		argv[1] = script_body(which);
		lens[1] = strlen(argv[1]);
		reply = redisCommandArgv(c, argc, argv, lens);
	}
	free(lens);
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		xasprintf(cause, "%s", reply == NULL ? c->errstr : reply->str);
		if (reply != NULL)
			freeReplyObject(reply);
		return (NULL);
	}
	return (reply);
}

/* The stop script's arguments, in argv[0..12) (argv[0..1] left free). */
static int
script_stop_args(const char **argv, const struct keys *k, const char *reason,
    int ttl, int flags, char **ev, char **now, char **ttls)
{
	static char	 fl[8];
	char		*p = fl;

	*ev = event_encode_stop(reason, NULL);
	xasprintf(now, "%llu", (unsigned long long)util_wall_ms());
	xasprintf(ttls, "%d", ttl > 0 ? ttl : DEFAULT_TTL);
	if (flags & STOP_KEEP)
		*p++ = 'k';
	if (flags & STOP_IF_RUN)
		*p++ = 'm';
	if (flags & STOP_MAIN)
		*p++ = 'd';
	if (flags & STOP_STATE)
		*p++ = 's';
	*p = '\0';
	argv[2] = "5";
	argv[3] = k->stop;
	argv[4] = k->meta;
	argv[5] = k->main_hb;
	argv[6] = k->control;
	argv[7] = k->events;
	argv[8] = reason;
	argv[9] = *ev;
	argv[10] = *now;
	argv[11] = *ttls;
	argv[12] = fl;
	return (13);
}

/*
 * End run k with reason: the stop sentinel (which releases the agents)
 * with the run's TTL (else ttl), announced on the control and events
 * channels, as flags (STOP_*) say. Asynchronous: fn gets the script's
 * reply, {1, reason}, {0, earlier reason} or {-1}.
 */
int
script_stop(struct rconn *rc, const struct keys *k, const char *reason,
    int ttl, int flags, redisCallbackFn *fn, void *arg)
{
	const char	*argv[13];
	size_t		 lens[13];
	char		*ev, *now, *ttls;
	int		 argc, i, rv;

	argc = script_stop_args(argv, k, reason, ttl, flags, &ev, &now, &ttls);
	argv[0] = "EVALSHA";
	argv[1] = script_sha(SCRIPT_STOP);
	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	rv = rconn_command_argv(rc, fn, arg, argc, argv, lens);
	free(ev);
	free(now);
	free(ttls);
	return (rv);
}

/*
 * script_stop() on a synchronous connection. Returns STOP_WRITTEN,
 * STOP_HAD (with *had, the earlier reason, when had is not NULL) or
 * STOP_NO_RUN; -1 with *cause when Redis failed.
 */
int
script_stop_sync(redisContext *c, const struct keys *k, const char *reason,
    int ttl, int flags, char **had, char **cause)
{
	const char	*argv[13];
	redisReply	*reply;
	char		*ev, *now, *ttls;
	int		 argc, rv = -1;

	argc = script_stop_args(argv, k, reason, ttl, flags, &ev, &now, &ttls);
	reply = script_call_sync(c, SCRIPT_STOP, argc, argv, cause);
	free(ev);
	free(now);
	free(ttls);
	if (reply == NULL)
		return (-1);
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER)
		xasprintf(cause, "the stop script's reply is not {code, ...}");
	else {
		rv = (int)reply->element[0]->integer;
		if (rv == STOP_HAD && had != NULL && reply->elements > 1 &&
		    reply->element[1]->type == REDIS_REPLY_STRING)
			*had = xstrdup(reply->element[1]->str);
	}
	freeReplyObject(reply);
	return (rv);
}
