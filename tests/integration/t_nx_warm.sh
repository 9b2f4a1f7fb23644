# A warm Nx run is as fast as the cache. Nx hashes a task only once its
# dependencies' outputs are on disk (here every build takes in its
# dependencies' dist/ files, as the builds Nx's TypeScript generators make
# do), so before the first dispatch submit's own Nx runner restores, in
# dependency order, every task the run's remote cache holds (`dteq nx-task
# --hits-only`), and those tasks go to no agent.
#
# 1. cold: agent a1, in its own copy, runs the 39 tasks; the main job's
#    look at the cache finds none.
# 2. warm: fresh copies, a new run: every task is restored in the main
#    job before the run, none reaches the agent, which exits 0 having run
#    nothing; the summary counts 39 cached; every dist/ is in the main
#    copy; nothing is left to replay.
# 3. partly warm: charts' source changed: only its three tasks and web's
#    (whose inputs take in charts' sources, "^default", and its build)
#    go to the agent; the others are restored first; the replay brings
#    the six.
# timeout: 420

. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/nx/lib.sh"

ARGS="run-many -t lint,test,build"

nx_setup
tool_deps restore
nx_workspace "$TMP/pristine"
node -e '
const fs = require("fs");
const f = process.argv[1] + "/nx.json";
const j = JSON.parse(fs.readFileSync(f, "utf8"));
j.targetDefaults = j.targetDefaults || {};
j.targetDefaults.build = Object.assign(j.targetDefaults.build || {}, {
  inputs: ["default", "^default",
    { dependentTasksOutputFiles: "**/*.js", transitive: true }] });
fs.writeFileSync(f, JSON.stringify(j, null, 2));
' "$TMP/pristine" || fail "cannot edit nx.json"
start_redis

# fresh NAME: $TMP/NAME, a copy of the workspace as generated, with a
# local Nx cache of its own.
fresh() {
	cp -a "$TMP/pristine" "$TMP/$1" || fail "copy of the workspace: $1"
}

# ran_on AGENT: how many tasks of $RUN have a result naming AGENT.
ran_on() {
	rcli hvals "dteq:{$RUN}:results" | grep -c "\"agent\":\"$1\""
}

log "cold: every task runs on a1 and is stored in the run's Redis"
fresh cold
fresh a1
NX_CACHE_DIRECTORY="$TMP/a1/.nx/cache" agent_in a1 "$TMP/a1" --parallel 2
cd "$TMP/cold" || fail "cd $TMP/cold"
NX_CACHE_DIRECTORY="$TMP/cold/.nx/cache" nx_submit cold 300 --nx "$ARGS"
assert_eq "$SUBMIT_RC" 0 "exit status of the cold submit"
agents_exit_ok 30 a1
out="$TMP/cold.out"
assert_grep '^39 tasks: 39 succeeded, 0 failed, 0 skipped' "$out" \
    "summary line of the cold run"
assert_grep '^Restored here from the remote cache before the run: 0 of 39 tasks; the others go to the agents$' \
    "$out" "the cold run's look at the cache"
assert_eq "$(ran_on a1)" 39 "tasks the cold run ran on a1"
replay_counts "lint:13 test:13 build:13"

log "warm: fresh copies, a new run; no task goes to the agent"
RUN="$TEST_NAME-$$-warm"
fresh warm
fresh w1
NX_CACHE_DIRECTORY="$TMP/w1/.nx/cache" agent_in w1 "$TMP/w1"
cd "$TMP/warm" || fail "cd $TMP/warm"
t0=$(now_ms)
NX_CACHE_DIRECTORY="$TMP/warm/.nx/cache" nx_submit warm 200 --nx "$ARGS" \
    --json "$TMP/warm.json"
log "the warm submit took $(($(now_ms) - t0)) ms"
assert_eq "$SUBMIT_RC" 0 "exit status of the warm submit"
agents_exit_ok 30 w1
out="$TMP/warm.out"
assert_grep '^Restored here from the remote cache before the run: 39 of 39 tasks; the others go to the agents$' \
    "$out" "the warm run's look at the cache"
assert_grep '^39 tasks: 39 succeeded \(39 cached\), 0 failed, 0 skipped' \
    "$out" "summary line of the warm run"
assert_eq "$(ran_on w1)" 0 "tasks the warm run sent to w1"
assert_grep 'leaving \(0 tasks run\)' "$TMP/agent.w1.err" \
    "the agent of the warm run ran nothing"
assert_grep '^No replay: every task that succeeded was restored here before the run\.$' \
    "$out" "nothing left to replay"
for d in $WS_DIRS; do
	assert_file "$TMP/warm/$d/dist/index.js" "$d's dist, restored"
done

log "partly warm: charts changed; only its tasks and web's run"
RUN="$TEST_NAME-$$-part"
fresh part
fresh p1
for c in part p1; do
	echo "// changed" >>"$TMP/$c/libs/charts/src/index.js"
done
NX_CACHE_DIRECTORY="$TMP/p1/.nx/cache" agent_in p1 "$TMP/p1"
cd "$TMP/part" || fail "cd $TMP/part"
NX_CACHE_DIRECTORY="$TMP/part/.nx/cache" nx_submit part 300 --nx "$ARGS"
assert_eq "$SUBMIT_RC" 0 "exit status of the partly warm submit"
agents_exit_ok 30 p1
out="$TMP/part.out"
assert_grep '^Restored here from the remote cache before the run: 33 of 39 tasks; the others go to the agents$' \
    "$out" "the partly warm run's look at the cache"
assert_grep '^39 tasks: 39 succeeded \(33 cached\), 0 failed, 0 skipped' \
    "$out" "summary line of the partly warm run"
assert_eq "$(rcli hvals "dteq:{$RUN}:results" | grep '"agent":"p1"' |
    sed 's/.*"id":"\([^"]*\)".*/\1/' | sort | tr '\n' ' ')" \
    "@ws/charts:build @ws/charts:lint @ws/charts:test @ws/web:build @ws/web:lint @ws/web:test " \
    "the tasks the partly warm run sent to p1"
replay_counts "lint:2 test:2 build:2"
assert_grep '^// changed$' "$TMP/part/libs/charts/dist/index.js" \
    "charts' new dist in the main job's copy"
exit 0
