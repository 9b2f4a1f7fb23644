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
 * Each body's comment gives its KEYS and ARGV. The typed wrappers that
 * send them are script_agent.c's (the agent's scripts) and
 * script_submit.c's (submit's); the stop script's are here.
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
static const char script_lua_start[] =
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
static const char script_lua_finish[] =
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
static const char script_lua_log[] =
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
static const char script_lua_release[] =
	"local n = 0\n"
	"while redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') do\n"
	"  n = n + 1\n"
	"end\n"
	"if n > 0 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end\n"
	"return n\n";

/* SCRIPT_HEARTBEAT: KEYS agents hb main stop running; ARGV agent
 * lease-ms ttl running join renew instance fresh. Returns {renewed,
 * main job alive, stop reason or nil}; not renewed when the agent was
 * reclaimed (its lease lapsed) unless joining, nor when another
 * process holds the name's heartbeat (its value starts with that
 * process's instance token). A join is refused with -1 while another
 * instance holds it, and a fresh instance's (its first join) with -2
 * while the running list still holds what an earlier agent of that
 * name left, until submit took it back. The stop reason makes
 * the sentinel reach an agent that missed its event. A join adds the
 * agent to the set; with renew "1" (a join, then once a quarter of
 * the TTL) it renews the TTLs of the set and of the running list,
 * which the start script sets only when a BLMOVE may have made the
 * list anew: not on every heartbeat, which an idle fleet sends. */
static const char script_lua_heartbeat[] =
	"local main = redis.call('EXISTS', KEYS[3])\n"
	"local stop = redis.call('GET', KEYS[4])\n"
	"local hb = redis.call('GET', KEYS[2])\n"
	"local other = hb and\n"
	"    string.sub(hb, 1, #ARGV[7] + 1) ~= ARGV[7] .. ' '\n"
	"if ARGV[5] == '1' then\n"
	"  if other then return {-1, main, stop} end\n"
	"  if not hb and ARGV[8] == '1' and\n"
	"      redis.call('LLEN', KEYS[5]) > 0 then\n"
	"    return {-2, main, stop}\n"
	"  end\n"
	"elseif other or\n"
	"    redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then\n"
	"  return {0, main, stop}\n"
	"end\n"
	"redis.call('SET', KEYS[2], ARGV[7] .. ' ' .. ARGV[4], 'PX', ARGV[2])\n"
	"if ARGV[5] == '1' then redis.call('SADD', KEYS[1], ARGV[1]) end\n"
	"if ARGV[5] == '1' or ARGV[6] == '1' then\n"
	"  redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
	"  redis.call('EXPIRE', KEYS[5], ARGV[3])\n"
	"end\n"
	"return {1, main, stop}\n";

/* SCRIPT_DEFER: KEYS running queue; ARGV msg ttl. Hand a message
 * back to the front of the queue for another agent. */
static const char script_lua_defer[] =
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
static const char script_lua_unclaim[] =
	"if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] .. ' ' .. ARGV[3] then\n"
	"  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
	"  return 1\n"
	"end\n"
	"return 0\n";

/* SCRIPT_RECLAIM: KEYS agents attempts claims; ARGV hb-prefix
 * running-prefix. A taken message's attempt is made stale at once
 * (attempt + 1, in attempts and claims), so the lost agent can no
 * longer record it and no copy of it can start. One EXISTS of every
 * heartbeat key answers the common case, all alive: submit sends
 * this once a second, and an EXISTS per agent was most of what an
 * idle fleet cost Redis. */
static const char script_lua_reclaim[] =
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
static const char script_lua_dispatch[] =
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
static const char script_lua_stage[] =
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

/* SCRIPT_STOP: KEYS stop meta main_hb control events; ARGV reason
 * event now ttl flags. The TTL is the run's (meta ttl), else
 * ARGV[4]. flags: "k" a run already stopped keeps its reason
 * (returns {0, reason}); "m" only a run whose meta exists
 * (returns {2} otherwise); "d" the main job ends: its heartbeat
 * goes; "s" the meta records the state and when it ended.
 * Returns {1, reason} once written and announced. */
static const char script_lua_stop[] =
	"local flags = ARGV[5]\n"
	"local ttl = redis.call('HGET', KEYS[2], 'ttl') or ARGV[4]\n"
	"if string.find(flags, 'm', 1, true) and\n"
	"    redis.call('EXISTS', KEYS[2]) == 0 then\n"
	"  return {2}\n"
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

/* SCRIPT_REGISTER: KEYS meta stop main; ARGV me digest lease-ms
 * dead (a main job seen not heartbeating: taken for gone, or "").
 * A submit claims its run: it becomes the run's main job (main =
 * me, PX lease) unless another one is alive, or the run is open with
 * another task graph and its main job gone. main "kept" is a
 * submit that ended with its agents kept for a later one: any graph
 * may go on. Returns {"busy", main, created, main_job, pttl} or
 * {"graph", digest, created, main_job} (nothing written), else
 * {"rerun", stop reason} (the run had ended), {"resume", main or
 * ""} (open) or {"new"}. */
static const char script_lua_register[] =
	"local main = redis.call('GET', KEYS[3])\n"
	"local function meta(f)\n"
	"  return redis.call('HGET', KEYS[1], f) or ''\n"
	"end\n"
	"if main and main ~= 'kept' and main ~= ARGV[1] and\n"
	"    main ~= ARGV[4] then\n"
	"  return {'busy', main, meta('created'), meta('main_job'),\n"
	"    redis.call('PTTL', KEYS[3])}\n"
	"end\n"
	"local stop = redis.call('GET', KEYS[2])\n"
	"local open = redis.call('EXISTS', KEYS[1])\n"
	"if not stop and open == 1 and main ~= 'kept' and\n"
	"    main ~= ARGV[1] then\n"
	"  local d = meta('digest')\n"
	"  if d ~= '' and d ~= ARGV[2] then\n"
	"    return {'graph', d, meta('created'), meta('main_job')}\n"
	"  end\n"
	"end\n"
	"redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[3])\n"
	"if stop then return {'rerun', stop} end\n"
	"if open == 1 then return {'resume', main or ''} end\n"
	"return {'new'}\n";

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
	[SCRIPT_REGISTER] = script_lua_register,
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

/*
 * Fill in argv[0..1] (EVALSHA and which script) and the length of every
 * argument as its string's, but for the binary ones (bit i of bin set:
 * output, a message, what a reply held), whose lengths the caller set.
 * Every wrapper sends its script's arguments this way.
 */
void
script_argv(int which, int argc, const char **argv, size_t *lens,
    unsigned int bin)
{
	int	i;

	argv[0] = "EVALSHA";
	argv[1] = script_sha(which);
	for (i = 0; i < argc; i++) {
		if (i >= 32 || (bin & (1U << i)) == 0)
			lens[i] = strlen(argv[i]);
	}
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

	lens = xcalloc((size_t)argc, sizeof *lens);
	script_argv(which, argc, argv, lens, 0);
	reply = redisCommandArgv(c, argc, argv, lens);
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR &&
	    strncmp(reply->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(reply);
		argv[0] = "EVAL";
		lens[0] = strlen(argv[0]);
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

/*
 * The stop script's arguments, in argv[0..13) (argv[0..1] left free); fl
 * (5 bytes) holds the flags' letters. Returns argc.
 */
static int
script_stop_args(const char **argv, const struct keys *k, const char *reason,
    int ttl, int flags, char *fl, char **ev, char **now, char **ttls)
{
	char	*p = fl;

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
 * reply, {1, reason}, {0, earlier reason} or {2}.
 */
int
script_stop(struct rconn *rc, const struct keys *k, const char *reason,
    int ttl, int flags, redisCallbackFn *fn, void *arg)
{
	const char	*argv[13];
	size_t		 lens[13];
	char		 fl[5], *ev, *now, *ttls;
	int		 argc, rv;

	argc = script_stop_args(argv, k, reason, ttl, flags, fl, &ev, &now,
	    &ttls);
	script_argv(SCRIPT_STOP, argc, argv, lens, 0);
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
	char		 fl[5], *ev, *now, *ttls;
	int		 argc, rv = -1;

	argc = script_stop_args(argv, k, reason, ttl, flags, fl, &ev, &now,
	    &ttls);
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

/*
 * The register script (SCRIPT_REGISTER) for run k on a synchronous
 * connection: me is this submit's main job, digest its graph's, dead a
 * main job taken for gone (its heartbeat not renewed), or NULL. The
 * reply (an array of strings and a number, as the script's comment
 * says; caller frees), or NULL with *cause when Redis failed.
 */
struct redisReply *
script_register_sync(redisContext *c, const struct keys *k, const char *me,
    const char *digest, int lease_ms, const char *dead, char **cause)
{
	const char	*argv[10];
	char		 lease[16];

	snprintf(lease, sizeof lease, "%d", lease_ms);
	argv[2] = "3";
	argv[3] = k->meta;
	argv[4] = k->stop;
	argv[5] = k->main_hb;
	argv[6] = me;
	argv[7] = digest;
	argv[8] = lease;
	argv[9] = dead != NULL ? dead : "";
	return (script_call_sync(c, SCRIPT_REGISTER, 10, argv, cause));
}
