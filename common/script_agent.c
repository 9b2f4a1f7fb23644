/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The agent's scripts (worker/ sends them): one typed wrapper each, which
 * builds the KEYS and ARGV that the script's body in script.c documents
 * and expects.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "dteq.h"

/*
 * The agent's scripts (worker/): one typed wrapper each, which builds the
 * KEYS and ARGV the body above expects.
 */

/*
 * Renew a's lease (lease_ms, on the server's clock). flags: SCRIPT_HB_JOIN
 * (re)joins the run, SCRIPT_HB_RENEW renews the TTLs of the agents set
 * and the running list, SCRIPT_HB_FRESH says this process never joined
 * yet. fn gets {renewed (1, 0, or for a join -1: another process holds
 * the name, -2: its running list awaits submit), main job alive, stop
 * reason or nil}.
 */
int
script_heartbeat(struct rconn *rc, const struct script_agent *a,
    int lease_ms, int ttl, int nrunning, int flags, redisCallbackFn *fn,
    void *arg)
{
	const char	*argv[16];
	size_t		 lens[16];
	char		 lease[16], ttls[16], running[16];

	snprintf(lease, sizeof lease, "%d", lease_ms);
	snprintf(ttls, sizeof ttls, "%d", ttl);
	snprintf(running, sizeof running, "%d", nrunning);
	argv[2] = "5";
	argv[3] = a->keys->agents;
	argv[4] = a->hb;
	argv[5] = a->keys->main_hb;
	argv[6] = a->keys->stop;
	argv[7] = a->running;
	argv[8] = a->name;
	argv[9] = lease;
	argv[10] = ttls;
	argv[11] = running;
	argv[12] = (flags & SCRIPT_HB_JOIN) ? "1" : "0";
	argv[13] = (flags & SCRIPT_HB_RENEW) ? "1" : "0";
	argv[14] = a->instance;
	argv[15] = (flags & SCRIPT_HB_FRESH) ? "1" : "0";
	script_argv(SCRIPT_HEARTBEAT, 16, argv, lens, 0);
	return (rconn_command_argv(rc, fn, arg, 16, argv, lens));
}

/*
 * Claim attempt t for a and announce it with event (the "started" event).
 * flags: SCRIPT_START_AGAIN, sent again after a lost reply (a's own claim
 * is a yes); SCRIPT_START_FRESH, the message came by BLMOVE (the running
 * list gets its TTL). fn gets 1 (run it), 0 (stale) or -1 (already
 * started).
 */
int
script_start(struct rconn *rc, const struct script_agent *a,
    const struct script_attempt *t, const char *event, int ttl, int flags,
    redisCallbackFn *fn, void *arg)
{
	const char	*argv[14];
	size_t		 lens[14];
	char		 ttls[16];

	snprintf(ttls, sizeof ttls, "%d", ttl);
	argv[2] = "3";
	argv[3] = a->running;
	argv[4] = a->keys->events;
	argv[5] = a->keys->claims;
	argv[6] = t->id;
	argv[7] = t->attempt;
	argv[8] = event;
	argv[9] = ttls;
	argv[10] = t->msg;
	argv[11] = a->name;
	argv[12] = (flags & SCRIPT_START_AGAIN) ? "1" : "0";
	argv[13] = (flags & SCRIPT_START_FRESH) ? "1" : "0";
	lens[10] = t->msglen;
	script_argv(SCRIPT_START, 14, argv, lens, 1U << 10);
	return (rconn_command_argv(rc, fn, arg, 14, argv, lens));
}

/*
 * Ack attempt t of a and record its result (JSON) if it is still current.
 * flags are the script's: SCRIPT_FINISH_POP (move the next message of the
 * queue into the running list and claim it), SCRIPT_FINISH_RELEASE
 * (release the staged dependents; only then are the staged, waiting and
 * waiters keys passed, three fewer for a leaf's or a failure's finish),
 * SCRIPT_FINISH_TTL (renew the results' TTL). fn gets 1 or 0, or with
 * SCRIPT_FINISH_POP {that, next message or nil, its claim, id, attempt}.
 */
int
script_finish(struct rconn *rc, const struct script_agent *a,
    const struct script_attempt *t, const char *result, int ttl, int flags,
    redisCallbackFn *fn, void *arg)
{
	const char	*argv[20];
	size_t		 lens[20];
	char		 ttls[24], now[24], fl[2];
	char		 claim[21 + 1 + RUN_ID_MAX + 1];
	char		 prefix[sizeof "{\"run\":\"\",\"id\":\"" + RUN_ID_MAX];
	int		 argc = 2, imsg;

	ttls[util_u64_dec(ttls, (uint64_t)ttl)] = '\0';
	now[util_u64_dec(now, util_wall_ms())] = '\0';
	fl[0] = '0' + (flags & 7);
	fl[1] = '\0';
	snprintf(claim, sizeof claim, "%s %s", t->attempt, a->name);
	snprintf(prefix, sizeof prefix, "{\"run\":\"%s\",\"id\":\"",
	    a->keys->run);
	argv[argc++] = (flags & SCRIPT_FINISH_RELEASE) ? "8" : "5";
	argv[argc++] = a->keys->results;
	argv[argc++] = a->running;
	argv[argc++] = a->keys->events;
	argv[argc++] = a->keys->queue;
	argv[argc++] = a->keys->claims;
	if (flags & SCRIPT_FINISH_RELEASE) {
		argv[argc++] = a->keys->staged;
		argv[argc++] = a->keys->waiting;
		argv[argc++] = a->keys->waiters;
	}
	argv[argc++] = t->id;
	argv[argc++] = claim;
	argv[argc++] = result;
	imsg = argc;
	argv[argc++] = t->msg;
	argv[argc++] = ttls;
	argv[argc++] = fl;
	argv[argc++] = prefix;
	argv[argc++] = a->name;
	argv[argc++] = now;
	lens[imsg] = t->msglen;
	script_argv(SCRIPT_FINISH, argc, argv, lens, 1U << imsg);
	return (rconn_command_argv(rc, fn, arg, argc, argv, lens));
}

/*
 * Append data (len bytes of output) to the log of attempt t if it is
 * still current; announce the chunk when stream is set.
 */
int
script_log(struct rconn *rc, const struct script_agent *a,
    const struct script_attempt *t, const char *data, size_t len, int ttl,
    int stream, redisCallbackFn *fn, void *arg)
{
	const char	*argv[11];
	size_t		 lens[11];
	char		 ttls[16];

	snprintf(ttls, sizeof ttls, "%d", ttl);
	argv[2] = "3";
	argv[3] = a->keys->attempts;
	argv[4] = t->log;
	argv[5] = a->keys->events;
	argv[6] = t->id;
	argv[7] = t->attempt;
	argv[8] = data;
	argv[9] = ttls;
	argv[10] = stream ? "1" : "0";
	lens[8] = len;
	script_argv(SCRIPT_LOG, 11, argv, lens, 1U << 8);
	return (rconn_command_argv(rc, fn, arg, 11, argv, lens));
}

/* Hand msg (len bytes) back from a's running list to the queue's head. */
int
script_defer(struct rconn *rc, const struct script_agent *a, const char *msg,
    size_t len, int ttl, redisCallbackFn *fn, void *arg)
{
	const char	*argv[7];
	size_t		 lens[7];
	char		 ttls[16];

	snprintf(ttls, sizeof ttls, "%d", ttl);
	argv[2] = "2";
	argv[3] = a->running;
	argv[4] = a->keys->queue;
	argv[5] = msg;
	argv[6] = ttls;
	lens[5] = len;
	script_argv(SCRIPT_DEFER, 7, argv, lens, 1U << 5);
	return (rconn_command_argv(rc, fn, arg, 7, argv, lens));
}

/*
 * Give back a's claim of attempt (attemptlen bytes) of task id (idlen
 * bytes): both come from a finish script's reply, as they are.
 */
int
script_unclaim(struct rconn *rc, const struct script_agent *a,
    const char *id, size_t idlen, const char *attempt, size_t attemptlen,
    redisCallbackFn *fn, void *arg)
{
	const char	*argv[7];
	size_t		 lens[7];

	argv[2] = "1";
	argv[3] = a->keys->claims;
	argv[4] = id;
	argv[5] = attempt;
	argv[6] = a->name;
	lens[4] = idlen;
	lens[5] = attemptlen;
	script_argv(SCRIPT_UNCLAIM, 7, argv, lens, 1U << 4 | 1U << 5);
	return (rconn_command_argv(rc, fn, arg, 7, argv, lens));
}

/* Move every message of a's running list back to the queue. */
int
script_release(struct rconn *rc, const struct script_agent *a, int ttl,
    redisCallbackFn *fn, void *arg)
{
	const char	*argv[6];
	size_t		 lens[6];
	char		 ttls[16];

	snprintf(ttls, sizeof ttls, "%d", ttl);
	argv[2] = "2";
	argv[3] = a->running;
	argv[4] = a->keys->queue;
	argv[5] = ttls;
	script_argv(SCRIPT_RELEASE, 6, argv, lens, 0);
	return (rconn_command_argv(rc, fn, arg, 6, argv, lens));
}
