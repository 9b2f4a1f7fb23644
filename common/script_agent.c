/* dteq: self-hosted distributed task execution over Redis. */

/*
 * The agent's scripts (worker/ sends them): each Lua body, with its KEYS
 * and ARGV, next to the one typed wrapper that builds them. script.c
 * lists the bodies, hashes and loads them.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "dteq.h"


/* SCRIPT_START: KEYS running events claims; ARGV id attempt event
 * ttl msg agent again fresh (fresh "1": the message came by BLMOVE,
 * which may have made the running list anew, so give it the TTL;
 * one that came with a finish joined a list that has it). Returns
 * 1 (run it), 0 (stale attempt), -1 (this attempt was already
 * started: by another agent, or by this one from a replayed copy).
 * claims mirrors attempts (every writer of one writes both, and
 * gives it its TTL): "N" while attempt N is unclaimed, "N AGENT"
 * once AGENT started it, so one HGET answers both questions. again
 * is "1" when the agent sends the script again after a lost reply:
 * then its own claim is a yes. */
const char script_lua_start[] =
	"local claim = ARGV[2] .. ' ' .. ARGV[6]\n"
	"local c = redis.call('HGET', KEYS[3], ARGV[1])\n"
	"if c == ARGV[2] or (c == claim and ARGV[7] == '1') then\n"
	"  if c ~= claim then redis.call('HSET', KEYS[3], ARGV[1], claim) end\n"
	"  if ARGV[8] == '1' then redis.call('EXPIRE', KEYS[1], ARGV[4]) end\n"
	"  redis.call('PUBLISH', KEYS[2], ARGV[3])\n"
	"  return 1\n"
	"end\n"
	"redis.call('LREM', KEYS[1], '1', ARGV[5])\n"
	"if c and string.sub(c, 1, #ARGV[2] + 1) == ARGV[2] .. ' ' then\n"
	"  return -1\n"
	"end\n"
	"return 0\n";

/* SCRIPT_FINISH: KEYS results running events queue claims, then
 * staged waiting waiters with flag 2 only; ARGV id claim result msg
 * ttl flags prefix agent now. claim is "ATTEMPT AGENT", what claims
 * holds for the attempt this agent ran while it is still current;
 * flags adds 1 (pop the next message), 2 (a success of a task that
 * is not a leaf of the graph: release its staged dependents) and 4
 * (renew the results' TTL: the agent asks on its first recorded
 * finish and then at most once a second, not on every one); prefix
 * is how the run's messages begin, '{"run":"RUN","id":"'. The message leaves the
 * running list once: an LREM that finds nothing means this finish
 * was applied already (sent again after a lost reply) or a reclaim
 * took the task, and there is nothing to record; nor is there for an
 * attempt no longer current. A recorded success with flag 2
 * releases the staged tasks whose last dependency this was (a
 * lower-case side waits for one dependency; an upper-case one counts
 * down its waiting entry), if the staged attempt is still current: a
 * dependent starts without a round trip through submit. Returns 1
 * (recorded) or 0; with flag 1, {that, the message this agent runs
 * next (now in its running list) or nil, its claim, its id, its
 * attempt}: the pop and the start ride on the finish, one round trip
 * instead of three, and one event: a "finished" event whose "next"
 * holds what the "started" event of the claimed task would.
 *
 * The pop takes the queue's next message before this one leaves the
 * running list (so a busy list never empties and keeps its TTL), and
 * reads its id and attempt from the text submit writes (prefix, id,
 * attempt, in that order) when the id needs no escape and the
 * message names no agent to avoid; any other message is decoded
 * whole. One HMGET of claims then answers for both tasks. The agent
 * keeps a dependent it just released (its outputs are on this
 * machine) when that is the message the queue would give it next:
 * the last one released at the popping end (an urgent one: submit
 * stages a task there only while it ranks above everything queued),
 * in place of the message popped, which goes back to the popping
 * end; else, when the queue was empty, the first released at the
 * other end. (Keeping the popped head while an urgent dependent
 * waited for the next free slot made each link of a critical chain
 * wait for a slot.) The one kept moves straight into the running
 * list and is claimed with what the release read; the others are
 * pushed. The claim does what the start script would: 1 claimed for
 * this agent, 0 stale or -1 already started (the message was dropped
 * again), 2 not looked at (unreadable, another run's, or a retry
 * that avoids this agent: the agent decides, and sends the start
 * script if it runs it). An agent that then finds the message bad
 * gives the claim back (unclaim). Each event is written by one
 * concatenation: every string the script makes costs Redis a copy
 * and a hash. */
const char script_lua_finish[] =
	"local f = tonumber(ARGV[6])\n"
	"local pop = f % 2 == 1\n"
	"local nxt, r, rel, mine, pushed = false, 0, {}, false, false\n"
	"local cid, ca, cj, c, cc = false, false, false, false, false\n"
	"local function peek(m)\n"
	"  local j = m\n"
	"  if string.sub(j, 1, 3) == 'v1:' then j = string.sub(j, 69) end\n"
	"  if string.find(j, ARGV[7], 1, true) == 1 and\n"
	"      not string.find(j, '\"avoid\":', 1, true) then\n"
	"    local id, a = string.match(j,\n"
	"        '^([^\"\\\\]+)\",\"attempt\":([1-9]%d*)[,}]', #ARGV[7] + 1)\n"
	"    if id then return id, a, id end\n"
	"  end\n"
	"  local ok, t = pcall(cjson.decode, j)\n"
	"  if ok and type(t) == 'table' and type(t.run) == 'string' and\n"
	"      '{\"run\":\"' .. t.run .. '\",\"id\":\"' == ARGV[7] and\n"
	"      type(t.id) == 'string' and type(t.attempt) == 'number' and\n"
	"      t.avoid ~= ARGV[8] then\n"
	"    return t.id, string.format('%d', t.attempt),\n"
	"        string.sub(cjson.encode(t.id), 2, -2)\n"
	"  end\n"
	"  return false, false, false\n"
	"end\n"
	"if pop then\n"
	"  nxt = redis.call('LMOVE', KEYS[4], KEYS[2], 'RIGHT', 'LEFT')\n"
	"end\n"
	"local removed = redis.call('LREM', KEYS[2], '1', ARGV[4])\n"
	"if removed == 0 and nxt then redis.call('EXPIRE', KEYS[2], ARGV[5]) end\n"
	"if nxt then cid, ca, cj = peek(nxt) end\n"
	"if cid then\n"
	"  local v = redis.call('HMGET', KEYS[5], ARGV[1], cid)\n"
	"  c, cc = v[1], v[2]\n"
	"else\n"
	"  c = redis.call('HGET', KEYS[5], ARGV[1])\n"
	"end\n"
	"if removed == 1 and c == ARGV[2] then\n"
	"  r = 1\n"
	"  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])\n"
	"  if f >= 4 then redis.call('EXPIRE', KEYS[1], ARGV[5]) end\n"
	"  local w = f % 4 >= 2 and redis.call('HGET', KEYS[8], ARGV[1])\n"
	"  if w then\n"
	"    redis.call('HDEL', KEYS[8], ARGV[1])\n"
	"    for d in string.gmatch(w, '[^\\n]+') do\n"
	"      local m = redis.call('HGET', KEYS[6], d)\n"
	"      local side = m and string.sub(m, 1, 1)\n"
	"      local last = side == 'l' or side == 'r'\n"
	"      if side and not last and\n"
	"          redis.call('HINCRBY', KEYS[7], d, '-1') <= 0 then\n"
	"        redis.call('HDEL', KEYS[7], d)\n"
	"        last = true\n"
	"      end\n"
	"      if last then\n"
	"        redis.call('HDEL', KEYS[6], d)\n"
	"        local sp = string.find(m, ' ', 2, true)\n"
	"        local a = sp and string.sub(m, 2, sp - 1)\n"
	"        if a and redis.call('HGET', KEYS[5], d) == a then\n"
	"          rel[#rel + 1] = {d, a, string.upper(side),\n"
	"              string.sub(m, sp + 1)}\n"
	"        end\n"
	"      end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"if pop then\n"
	"  for k = #rel, 1, -1 do\n"
	"    if rel[k][3] == 'R' then mine = k break end\n"
	"  end\n"
	"  if not mine and not nxt and #rel > 0 then mine = 1 end\n"
	"  if mine and string.find(rel[mine][4], '\"avoid\":', 1, true) then\n"
	"    mine = false\n"
	"  end\n"
	"  if mine and nxt then\n"
	"    redis.call('LREM', KEYS[2], '1', nxt)\n"
	"    redis.call('RPUSH', KEYS[4], nxt)\n"
	"    nxt, pushed = false, true\n"
	"  end\n"
	"end\n"
	"for k, t in ipairs(rel) do\n"
	"  if k ~= mine then\n"
	"    redis.call(t[3] == 'R' and 'RPUSH' or 'LPUSH', KEYS[4], t[4])\n"
	"    pushed = true\n"
	"  end\n"
	"end\n"
	"if pushed then redis.call('EXPIRE', KEYS[4], ARGV[5]) end\n"
	"local claim = 2\n"
	"if mine then\n"
	"  nxt, cid, ca = rel[mine][4], rel[mine][1], rel[mine][2]\n"
	"  cj = string.sub(cjson.encode(cid), 2, -2)\n"
	"  redis.call('LPUSH', KEYS[2], nxt)\n"
	"  redis.call('EXPIRE', KEYS[2], ARGV[5])\n"
	"  claim = false\n"
	"elseif pop and not nxt and #rel > 0 then\n"
	"  nxt = redis.call('LMOVE', KEYS[4], KEYS[2], 'RIGHT', 'LEFT')\n"
	"  if nxt then\n"
	"    redis.call('EXPIRE', KEYS[2], ARGV[5])\n"
	"    cid, ca, cj = peek(nxt)\n"
	"    if cid then cc = redis.call('HGET', KEYS[5], cid) end\n"
	"  end\n"
	"end\n"
	"if claim and cid then\n"
	"  if cc == ca then\n"
	"    claim = false\n"
	"  else\n"
	"    redis.call('LREM', KEYS[2], '1', nxt)\n"
	"    claim = 0\n"
	"    if cc and string.sub(cc, 1, #ca + 1) == ca .. ' ' then claim = -1 end\n"
	"  end\n"
	"end\n"
	"if claim == false then\n"
	"  redis.call('HSET', KEYS[5], cid, ca .. ' ' .. ARGV[8])\n"
	"  claim = 1\n"
	"  if r == 1 then\n"
	"    redis.call('PUBLISH', KEYS[3],\n"
	"        '{\"type\":\"finished\",\"result\":' .. ARGV[3] ..\n"
	"        ',\"next\":{\"id\":\"' .. cj .. '\",\"attempt\":' .. ca ..\n"
	"        ',\"agent\":\"' .. ARGV[8] .. '\",\"start\":' .. ARGV[9] .. '}}')\n"
	"  else\n"
	"    redis.call('PUBLISH', KEYS[3],\n"
	"        '{\"type\":\"started\",\"id\":\"' .. cj .. '\",\"attempt\":' .. ca ..\n"
	"        ',\"agent\":\"' .. ARGV[8] .. '\",\"start\":' .. ARGV[9] .. '}')\n"
	"  end\n"
	"elseif r == 1 then\n"
	"  redis.call('PUBLISH', KEYS[3],\n"
	"      '{\"type\":\"finished\",\"result\":' .. ARGV[3] .. '}')\n"
	"end\n"
	"if not pop then return r end\n"
	"return {r, nxt, claim, cid, ca}\n";

/* SCRIPT_LOG: KEYS attempts log events; ARGV id attempt data ttl
 * stream */
const char script_lua_log[] =
	"if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then\n"
	"  return 0\n"
	"end\n"
	"local len = redis.call('APPEND', KEYS[2], ARGV[3])\n"
	"redis.call('EXPIRE', KEYS[2], ARGV[4])\n"
	"if ARGV[5] == '1' then\n"
	"  redis.call('PUBLISH', KEYS[3], cjson.encode({type = 'log',\n"
	"      id = ARGV[1], attempt = tonumber(ARGV[2]),\n"
	"      offset = len - #ARGV[3], length = #ARGV[3]}))\n"
	"end\n"
	"return 1\n";

/* SCRIPT_RELEASE: KEYS running queue; ARGV ttl */
const char script_lua_release[] =
	"local n = 0\n"
	"while redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') do\n"
	"  n = n + 1\n"
	"end\n"
	"if n > 0 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end\n"
	"return n\n";

/* SCRIPT_HEARTBEAT: KEYS agents hb main stop running; ARGV agent
 * lease-ms ttl running join renew. Returns {renewed, main job
 * alive, stop reason or nil}; not renewed when the agent was
 * reclaimed (its lease lapsed) unless joining. The stop reason makes
 * the sentinel reach an agent that missed its event. A join adds the
 * agent to the set; with renew "1" (a join, then once a quarter of
 * the TTL) it renews the TTLs of the set and of the running list,
 * which the start script sets only when a BLMOVE may have made the
 * list anew: not on every heartbeat, which an idle fleet sends. */
const char script_lua_heartbeat[] =
	"local main = redis.call('EXISTS', KEYS[3])\n"
	"local stop = redis.call('GET', KEYS[4])\n"
	"if ARGV[5] ~= '1' and\n"
	"    redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then\n"
	"  return {0, main, stop}\n"
	"end\n"
	"redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[2])\n"
	"if ARGV[5] == '1' then redis.call('SADD', KEYS[1], ARGV[1]) end\n"
	"if ARGV[5] == '1' or ARGV[6] == '1' then\n"
	"  redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
	"  redis.call('EXPIRE', KEYS[5], ARGV[3])\n"
	"end\n"
	"return {1, main, stop}\n";

/* SCRIPT_DEFER: KEYS running queue; ARGV msg ttl. Hand a message
 * back to the front of the queue for another agent. */
const char script_lua_defer[] =
	"if redis.call('LREM', KEYS[1], '1', ARGV[1]) == 1 then\n"
	"  redis.call('RPUSH', KEYS[2], ARGV[1])\n"
	"  redis.call('EXPIRE', KEYS[2], ARGV[2])\n"
	"  return 1\n"
	"end\n"
	"return 0\n";

/* SCRIPT_UNCLAIM: KEYS claims; ARGV id attempt agent. Undo a claim
 * the finish script made for a message the agent then refused (a
 * bad signature): the attempt is unclaimed again, so the genuine
 * message can still start. */
const char script_lua_unclaim[] =
	"if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] .. ' ' .. ARGV[3] then\n"
	"  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
	"  return 1\n"
	"end\n"
	"return 0\n";

/*
 * The agent's scripts (worker/): one typed wrapper each, which builds the
 * KEYS and ARGV the body above expects.
 */

/*
 * Fill in argv[0..1] (EVALSHA and which script) and the length of every
 * argument as its string's, but for the binary ones (bit i of bin set:
 * output, a message, what a reply held), whose lengths the caller set.
 */
static void
script_agent_argv(int which, int argc, const char **argv, size_t *lens,
    unsigned int bin)
{
	int	i;

	argv[0] = "EVALSHA";
	argv[1] = script_sha(which);
	for (i = 0; i < argc; i++) {
		if ((bin & (1U << i)) == 0)
			lens[i] = strlen(argv[i]);
	}
}

/*
 * Renew a's lease (lease_ms, on the server's clock). flags: SCRIPT_HB_JOIN
 * (re)joins the run, SCRIPT_HB_RENEW renews the TTLs of the agents set
 * and the running list. fn gets {renewed, main job alive, stop reason or
 * nil}.
 */
int
script_heartbeat(struct rconn *rc, const struct script_agent *a,
    int lease_ms, int ttl, int nrunning, int flags, redisCallbackFn *fn,
    void *arg)
{
	const char	*argv[14];
	size_t		 lens[14];
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
	script_agent_argv(SCRIPT_HEARTBEAT, 14, argv, lens, 0);
	return (rconn_command_argv(rc, fn, arg, 14, argv, lens));
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
	script_agent_argv(SCRIPT_START, 14, argv, lens, 1U << 10);
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
	script_agent_argv(SCRIPT_FINISH, argc, argv, lens, 1U << imsg);
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
	script_agent_argv(SCRIPT_LOG, 11, argv, lens, 1U << 8);
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
	script_agent_argv(SCRIPT_DEFER, 7, argv, lens, 1U << 5);
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
	script_agent_argv(SCRIPT_UNCLAIM, 7, argv, lens, 1U << 4 | 1U << 5);
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
	script_agent_argv(SCRIPT_RELEASE, 6, argv, lens, 0);
	return (rconn_command_argv(rc, fn, arg, 6, argv, lens));
}
