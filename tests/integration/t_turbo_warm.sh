# A warm Turborepo run is as fast as the cache: the hash of each task in
# `turbo run ... --dry=json` is the key under which the agents' turbo
# stores it in the run's Redis (restore mode), so submit looks them up and
# sends no agent a task whose artifact is there.
#
# 1. cold: agent a1 runs the 39 tasks of the generated workspace; every
#    hash of the dry run is then an artifact in Redis.
# 2. warm: a fresh copy of the workspace (no dist/, no local cache), a new
#    run: no task reaches the agent (results, report, its log), the
#    agent exits 0, and the replay brings every output from the cache
#    (Turborepo's own count: all cached).
# 3. partly warm: charts' source changed in fresh copies: only its three
#    tasks and web's build and test (which needs charts' build) go to the
#    agent; web's build gets its other dependencies' outputs, hits never
#    built on that agent, from the cache through its own `turbo run`.
# timeout: 420

. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/nx/lib.sh"

ARGS="run lint test build"

nx_setup
tool_deps restore
nx_workspace "$TMP/pristine"
start_redis

# fresh NAME: $TMP/NAME, a copy of the workspace as generated.
fresh() {
	cp -a "$TMP/pristine" "$TMP/$1" || fail "copy of the workspace: $1"
}

# ran_on AGENT: the ids of the tasks of $RUN whose result names AGENT,
# sorted, on one line.
ran_on() {
	rcli hvals "dteq:{$RUN}:results" | grep "\"agent\":\"$1\"" |
	    sed 's/.*"id":"\([^"]*\)".*/\1/' | sort | tr '\n' ' '
}

log "cold: every task runs on a1 and is stored in the run's Redis"
fresh cold
fresh a1
agent_in a1 "$TMP/a1" --parallel 3
cd "$TMP/cold" || fail "cd $TMP/cold"
nx_submit cold 300 --no-replay --turbo "$ARGS"
assert_eq "$SUBMIT_RC" 0 "exit status of the cold submit"
agents_exit_ok 30 a1
out="$TMP/cold.out"
assert_grep '^39 tasks: 39 succeeded, 0 failed, 0 skipped' "$out" \
    "summary line of the cold run"
assert_eq "$(rcli hvals "dteq:{$RUN}:results" | grep -c '"agent":"a1"')" \
    39 "tasks the cold run ran on a1"
# The dry run's hashes, from a fresh copy: each is an artifact the
# agent's turbo stored.
fresh dry
(cd "$TMP/dry" && node_modules/.bin/turbo $ARGS --dry=json) \
    >"$TMP/dry.json" 2>"$TMP/dry.err" || fail "turbo --dry=json failed"
node -e 'for (const t of JSON.parse(require("fs").readFileSync(
    process.argv[1], "utf8")).tasks) if (t.command !== "<NONEXISTENT>")
    console.log(t.hash)' "$TMP/dry.json" >"$TMP/hashes" ||
    fail "no hashes in the dry run"
assert_eq "$(wc -l <"$TMP/hashes")" 39 "hashes in the dry run"
while read -r h; do
	assert_eq "$(rcli exists "dteq:cache:{$h}:meta")" 1 \
	    "the artifact of the dry run's hash $h"
done <"$TMP/hashes"

log "warm: a fresh copy, a new run; no task goes to the agent"
RUN="$TEST_NAME-$$-warm"
fresh warm
fresh w1
agent_in w1 "$TMP/w1"
cd "$TMP/warm" || fail "cd $TMP/warm"
t0=$(now_ms)
nx_submit warm 120 --turbo "$ARGS" --json "$TMP/warm.json"
log "the warm submit took $(($(now_ms) - t0)) ms, its replay included"
assert_eq "$SUBMIT_RC" 0 "exit status of the warm submit"
agents_exit_ok 30 w1
out="$TMP/warm.out"
assert_grep '^39 tasks: 39 succeeded \(39 cached\), 0 failed, 0 skipped' \
    "$out" "summary line of the warm run"
assert_eq "$(grep -c '^= @ws/[a-z]*#[a-z]*: cache hit ([0-9a-f]*), not run$' \
    "$out")" 39 "cache hit lines"
assert_no_grep '^> @ws/' "$out" "a task's block in the warm run"
assert_eq "$(ran_on w1)" "" "tasks the warm run sent to w1"
assert_eq "$(rcli hvals "dteq:{$RUN}:results" | grep -c '"cached":true')" \
    39 "results of cache hits"
assert_eq "$(rcli exists "dteq:{$RUN}:queue")" 0 \
    "the queue of the warm run"
# The only attempt is the replay's, recorded in the main job.
assert_eq "$(rcli hkeys "dteq:{$RUN}:attempts" | tr '\n' ' ')" "replay " \
    "attempts of the warm run"
assert_grep '"cached": 39\}' "$TMP/warm.json" "the report's count of hits"
assert_eq "$(grep -c '"attempts": 0, "attempt": 0, "flaky": false, "cached": true' \
    "$TMP/warm.json")" 39 "the report's tasks from the cache"
assert_grep 'leaving \(0 tasks run\)' "$TMP/agent.w1.err" \
    "the agent of the warm run ran nothing"
run_cli status status --redis "$REDIS_URL" --run "$RUN"
assert_grep '^tasks: 39 in all; 39 done \(39 succeeded, 39 of them cached,' \
    "$TMP/status.out" "dteq status of the warm run"
# The replay brought every output from the cache.
assert_grep '^Replaying the run here from the remote cache \(its output: dteq logs --run [^ ]* replay\):$' \
    "$out" "the replay ran"
replay_counts "lint:13 test:13 build:13"
replay_log
assert_grep 'Cached: *39 cached, 39 total' "$TMP/replay.out" \
    "the replay read every task from the cache"
for d in $WS_DIRS; do
	assert_file "$TMP/warm/$d/dist/index.js" "$d's dist after the replay"
done

log "partly warm: charts changed; only its tasks and web's that need it run"
RUN="$TEST_NAME-$$-part"
fresh part
fresh p1
for c in part p1; do
	echo "// changed" >>"$TMP/$c/libs/charts/src/index.js"
done
agent_in p1 "$TMP/p1"
cd "$TMP/part" || fail "cd $TMP/part"
nx_submit part 200 --turbo "$ARGS" --json "$TMP/part.json"
assert_eq "$SUBMIT_RC" 0 "exit status of the partly warm submit"
agents_exit_ok 30 p1
out="$TMP/part.out"
assert_grep '^39 tasks: 39 succeeded \(34 cached\), 0 failed, 0 skipped' \
    "$out" "summary line of the partly warm run"
assert_eq "$(ran_on p1)" "@ws/charts#build @ws/charts#lint @ws/charts#test @ws/web#build @ws/web#test " \
    "the tasks the partly warm run sent to p1"
assert_eq "$(grep -c '"cached": false' "$TMP/part.json")" 5 \
    "the report's tasks that ran"
# web's build read the dist of forms and api, which p1 never built: its
# own turbo run brought them from the cache.
awk '$1 == ">" && $2 == "@ws/web#build" { on = 1; next }
    $1 == "<" { on = 0 } on' "$out" >"$TMP/web-build.out"
assert_grep '@ws/api:build: cache hit' "$TMP/web-build.out" \
    "web's build restored api's outputs from the cache"
replay_counts "lint:13 test:13 build:13"
replay_log
assert_grep 'Cached: *39 cached, 39 total' "$TMP/replay.out" \
    "the replay read every task from the cache"
assert_grep '^// changed$' "$TMP/part/libs/charts/dist/index.js" \
    "charts' new dist in the main job's copy"
exit 0
