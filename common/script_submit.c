/* dteq: self-hosted distributed task execution over Redis. */

/*
 * Submit's scripts (producer/ sends them): each Lua body, with its KEYS
 * and ARGV, next to the one typed wrapper that builds them. script.c
 * lists the bodies, hashes and loads them.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "dteq.h"


/* SCRIPT_RECLAIM: KEYS agents attempts claims; ARGV hb-prefix
 * running-prefix. A taken message's attempt is made stale at once
 * (attempt + 1, in attempts and claims), so the lost agent can no
 * longer record it and no copy of it can start. One EXISTS of every
 * heartbeat key answers the common case, all alive: submit sends
 * this once a second, and an EXISTS per agent was most of what an
 * idle fleet cost Redis. */
const char script_lua_reclaim[] =
	"local agents, alive, out = redis.call('SMEMBERS', KEYS[1]), 0, {}\n"
	"local hb = {}\n"
	"for i, a in ipairs(agents) do hb[i] = ARGV[1] .. a end\n"
	"for j = 1, #hb, 1000 do\n"
	"  alive = alive + redis.call('EXISTS', unpack(hb, j,\n"
	"      math.min(j + 999, #hb)))\n"
	"end\n"
	"if alive == #agents then return {alive, out} end\n"
	"alive = 0\n"
	"for _, a in ipairs(agents) do\n"
	"  if redis.call('EXISTS', ARGV[1] .. a) == 1 then\n"
	"    alive = alive + 1\n"
	"  else\n"
	"    local rk = ARGV[2] .. a\n"
	"    for _, m in ipairs(redis.call('LRANGE', rk, 0, -1)) do\n"
	"      out[#out + 1] = m\n"
	"      local j = m\n"
	"      if string.sub(m, 1, 3) == 'v1:' then j = string.sub(m, 69) end\n"
	"      local ok, t = pcall(cjson.decode, j)\n"
	"      if ok and type(t) == 'table' and type(t.id) == 'string' and\n"
	"          type(t.attempt) == 'number' and\n"
	"          redis.call('HGET', KEYS[2], t.id) ==\n"
	"          string.format('%d', t.attempt) then\n"
	"        redis.call('HSET', KEYS[2], t.id,\n"
	"            string.format('%d', t.attempt + 1))\n"
	"        redis.call('HSET', KEYS[3], t.id,\n"
	"            string.format('%d', t.attempt + 1))\n"
	"      end\n"
	"    end\n"
	"    redis.call('DEL', rk)\n"
	"    redis.call('SREM', KEYS[1], a)\n"
	"  end\n"
	"end\n"
	"return {alive, out}\n";

/* SCRIPT_DISPATCH: KEYS attempts queue claims; ARGV ttl, then for each
 * task: id attempt side ('L' FIFO, 'R' the popping end) message.
 * Atomic, so a dispatch cut off by a dropped connection either
 * happened whole or not at all. */
const char script_lua_dispatch[] =
	"local h, l, r = {}, {}, {}\n"
	"for i = 2, #ARGV, 4 do\n"
	"  h[#h + 1] = ARGV[i]\n"
	"  h[#h + 1] = ARGV[i + 1]\n"
	"  if ARGV[i + 2] == 'R' then r[#r + 1] = ARGV[i + 3]\n"
	"  else l[#l + 1] = ARGV[i + 3] end\n"
	"end\n"
	"local function put(cmd, key, t)\n"
	"  for j = 1, #t, 1000 do\n"
	"    redis.call(cmd, key, unpack(t, j, math.min(j + 999, #t)))\n"
	"  end\n"
	"end\n"
	"put('HSET', KEYS[1], h)\n"
	"put('HSET', KEYS[3], h)\n"
	"put('LPUSH', KEYS[2], l)\n"
	"put('RPUSH', KEYS[2], r)\n"
	"redis.call('EXPIRE', KEYS[1], ARGV[1])\n"
	"redis.call('EXPIRE', KEYS[3], ARGV[1])\n"
	"if #l + #r > 0 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end\n"
	"return #h / 2\n";

/* SCRIPT_STAGE: KEYS attempts queue claims staged waiting waiters
 * results; ARGV ttl, then for each task: id attempt side message
 * ndeps dep... Records each new attempt (in attempts and claims)
 * and stages its message until its dependencies not yet succeeded
 * here succeed (the finish script releases it); a task whose
 * dependencies all succeeded meanwhile is pushed at once. A task is
 * listed once among the waiters of a dependency, however often it
 * is staged again (a resent or resumed submit). A task left waiting
 * for one dependency is staged with its side in lower case and no
 * waiting entry (its release needs no count; a count from an
 * earlier staging of it is left to expire with the run, unread);
 * for more, the side stays upper case and waiting holds the count.
 * TTLs are set on the keys it wrote (the queue only if it pushed,
 * waiting only if it counted). Returns how many were pushed at
 * once. */
const char script_lua_stage[] =
	"local i = 2\n"
	"local pushed, counted = 0, false\n"
	"while i <= #ARGV do\n"
	"  local id, a, side, msg = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]\n"
	"  local nd = tonumber(ARGV[i + 4])\n"
	"  redis.call('HSET', KEYS[1], id, a)\n"
	"  redis.call('HSET', KEYS[3], id, a)\n"
	"  local left = 0\n"
	"  for k = 1, nd do\n"
	"    local d = ARGV[i + 4 + k]\n"
	"    local r = redis.call('HGET', KEYS[7], d)\n"
	"    local ok, t = false, false\n"
	"    if r then ok, t = pcall(cjson.decode, r) end\n"
	"    if not (ok and type(t) == 'table' and t.status == 'success') then\n"
	"      left = left + 1\n"
	"      local w = redis.call('HGET', KEYS[6], d) or '\\n'\n"
	"      if not string.find(w, '\\n' .. id .. '\\n', 1, true) then\n"
	"        redis.call('HSET', KEYS[6], d, w .. id .. '\\n')\n"
	"      end\n"
	"    end\n"
	"  end\n"
	"  if left == 0 then\n"
	"    redis.call(side == 'R' and 'RPUSH' or 'LPUSH', KEYS[2], msg)\n"
	"    redis.call('HDEL', KEYS[4], id)\n"
	"    redis.call('HDEL', KEYS[5], id)\n"
	"    pushed = pushed + 1\n"
	"  else\n"
	"    if left == 1 then side = string.lower(side) end\n"
	"    redis.call('HSET', KEYS[4], id, side .. a .. ' ' .. msg)\n"
	"    if left > 1 then\n"
	"      redis.call('HSET', KEYS[5], id, left)\n"
	"      counted = true\n"
	"    end\n"
	"  end\n"
	"  i = i + 5 + nd\n"
	"end\n"
	"for k = 1, 6 do\n"
	"  if (k ~= 2 or pushed > 0) and (k ~= 5 or counted) then\n"
	"    redis.call('EXPIRE', KEYS[k], ARGV[1])\n"
	"  end\n"
	"end\n"
	"return pushed\n";

/*
 * Submit's scripts (producer/): one typed wrapper each, which builds the
 * KEYS and ARGV the body above expects.
 */

/*
 * Send script which on rc with argv[0..argc), every argument text:
 * argv[0..1] are filled here (EVALSHA and the script's SHA1).
 */
static int
script_submit_call(struct rconn *rc, int which, const char **argv,
    size_t argc, redisCallbackFn *fn, void *arg)
{
	size_t	*lens, k;
	int	 rv;

	argv[0] = "EVALSHA";
	argv[1] = script_sha(which);
	lens = xcalloc(argc, sizeof *lens);
	for (k = 0; k < argc; k++)
		lens[k] = strlen(argv[k]);
	rv = rconn_command_argv(rc, fn, arg, (int)argc, argv, lens);
	free(lens);
	return (rv);
}

/*
 * Record the new attempts of tasks t[0..n) and push their messages, in
 * that order, each at the end its urgent flag says (SCRIPT_DISPATCH: KEYS
 * attempts queue claims; ARGV ttl, then id attempt side message per
 * task). fn gets the number of tasks pushed.
 */
int
script_dispatch(struct rconn *rc, const struct keys *k, int ttl,
    const struct script_task *t, size_t n, redisCallbackFn *fn, void *arg)
{
	const char	**argv;
	char		 ttls[16], (*attempts)[16];
	size_t		 argc = 2, i;
	int		 rv;

	argv = xcalloc(7 + 4 * n, sizeof *argv);
	attempts = xcalloc(n + 1, sizeof *attempts);
	snprintf(ttls, sizeof ttls, "%d", ttl);
	argv[argc++] = "3";
	argv[argc++] = k->attempts;
	argv[argc++] = k->queue;
	argv[argc++] = k->claims;
	argv[argc++] = ttls;
	for (i = 0; i < n; i++) {
		snprintf(attempts[i], sizeof attempts[i], "%d", t[i].attempt);
		argv[argc++] = t[i].id;
		argv[argc++] = attempts[i];
		argv[argc++] = t[i].urgent ? "R" : "L";
		argv[argc++] = t[i].msg;
	}
	rv = script_submit_call(rc, SCRIPT_DISPATCH, argv, argc, fn, arg);
	free(attempts);
	free(argv);
	return (rv);
}

/*
 * Record the new attempts of tasks t[0..n) and stage their messages until
 * the dependencies in each one's deps succeed (SCRIPT_STAGE: KEYS attempts
 * queue claims staged waiting waiters results; ARGV ttl, then id attempt
 * side message ndeps dep... per task). fn gets the number pushed at once.
 */
int
script_stage(struct rconn *rc, const struct keys *k, int ttl,
    const struct script_task *t, size_t n, redisCallbackFn *fn, void *arg)
{
	const char	**argv;
	char		 ttls[16], (*attempts)[16], (*ndeps)[24];
	size_t		 argc = 2, size = 11, i, d;
	int		 rv;

	for (i = 0; i < n; i++)
		size += 5 + t[i].ndeps;
	argv = xcalloc(size, sizeof *argv);
	attempts = xcalloc(n + 1, sizeof *attempts);
	ndeps = xcalloc(n + 1, sizeof *ndeps);
	snprintf(ttls, sizeof ttls, "%d", ttl);
	argv[argc++] = "7";
	argv[argc++] = k->attempts;
	argv[argc++] = k->queue;
	argv[argc++] = k->claims;
	argv[argc++] = k->staged;
	argv[argc++] = k->waiting;
	argv[argc++] = k->waiters;
	argv[argc++] = k->results;
	argv[argc++] = ttls;
	for (i = 0; i < n; i++) {
		snprintf(attempts[i], sizeof attempts[i], "%d", t[i].attempt);
		snprintf(ndeps[i], sizeof ndeps[i], "%zu", t[i].ndeps);
		argv[argc++] = t[i].id;
		argv[argc++] = attempts[i];
		argv[argc++] = t[i].urgent ? "R" : "L";
		argv[argc++] = t[i].msg;
		argv[argc++] = ndeps[i];
		for (d = 0; d < t[i].ndeps; d++)
			argv[argc++] = t[i].deps[d];
	}
	rv = script_submit_call(rc, SCRIPT_STAGE, argv, argc, fn, arg);
	free(ndeps);
	free(attempts);
	free(argv);
	return (rv);
}

/*
 * Take back the tasks of the run's agents whose heartbeat expired
 * (SCRIPT_RECLAIM: KEYS agents attempts claims; ARGV hb-prefix
 * running-prefix). fn gets {alive agents, {messages of lost ones}}.
 */
int
script_reclaim(struct rconn *rc, const struct keys *k, redisCallbackFn *fn,
    void *arg)
{
	const char	*argv[8];

	argv[2] = "3";
	argv[3] = k->agents;
	argv[4] = k->attempts;
	argv[5] = k->claims;
	argv[6] = k->hb_prefix;
	argv[7] = k->running_prefix;
	return (script_submit_call(rc, SCRIPT_RECLAIM, argv, 8, fn, arg));
}
