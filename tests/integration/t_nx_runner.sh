# The Nx runner behind `dteq nx-task`, on the generated test workspace whose
# builds take in their dependencies' built files as inputs (as the builds
# Nx's TypeScript generators make do):
# - one runner serves the tasks of one agent in turn (the same pid in every
#   result), and a task's output and exit status are its own;
# - a task's hash is the full run's: `nx run-many` afterwards reads every
#   task the runner ran from the cache; run alone with
#   --excludeTaskDependencies, a dependent's hash differs (what the runner
#   is for);
# - a client killed mid-task (a timeout, a cancel) takes the task's
#   processes and its runner down with it; the next task starts a new one;
# - a runner exits once the process it watches (the agent) is gone;
# - `dteq nx-task --start` leaves one runner ready (a second --start adds
#   none), and the next task runs in it;
# - an Nx without runDiscreteTasks gets `nx run ID
#   --excludeTaskDependencies` instead, with a line saying so;
# - through an agent, `dteq cancel` of a run whose Nx task is running kills
#   that task's processes.
# timeout: 300

. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/nx/lib.sh"

need_cmd node
# Nx's banners without colour, as CI=true would have them otherwise.
NO_COLOR=1
FORCE_COLOR=0
export NO_COLOR FORCE_COLOR
nx_setup
nx_workspace "$TMP/ws"
cd "$TMP/ws" || fail "no workspace"
NX_CACHE_DIRECTORY="$TMP/nx-cache"
export NX_CACHE_DIRECTORY
# A build's hash holds its dependencies' dist/ files.
node -e '
const fs = require("fs");
const j = JSON.parse(fs.readFileSync("nx.json", "utf8"));
j.targetDefaults = j.targetDefaults || {};
j.targetDefaults.build = Object.assign(j.targetDefaults.build || {}, {
  inputs: ["default", "^default",
    { dependentTasksOutputFiles: "**/*.js", transitive: true }] });
fs.writeFileSync("nx.json", JSON.stringify(j, null, 2));
' || fail "cannot edit nx.json"

# This shell stands in for the agent whose runners they are.
DTEQ_AGENT_PID=$$
export DTEQ_AGENT_PID

log "three tasks through one runner"
"$DTEQ" nx-task --report "$TMP/r1" @ws/util:build >"$TMP/t1.out" 2>&1
assert_eq $? 0 "util:build exit status"
"$DTEQ" nx-task --report "$TMP/r1" @ws/log:build >"$TMP/t2.out" 2>&1
assert_eq $? 0 "log:build exit status"
"$DTEQ" nx-task --report "$TMP/r1" @ws/util:lint >"$TMP/t3.out" 2>&1
assert_eq $? 0 "util:lint exit status"
assert_file libs/log/dist/index.js
assert_grep '^> nx run @ws/log:build' "$TMP/t2.out" "Nx's banner in the output"
assert_grep 'lint @ws/util: ok' "$TMP/t3.out" "the task's own output"
pids=$(sed 's/.*"runner":\([0-9]*\).*/\1/' "$TMP/r1" | sort -u)
assert_eq "$(echo "$pids" | wc -l)" 1 "runners that served three tasks"
runner=$pids
pid_alive "$runner" || fail "the runner exited between tasks"
grep -q '"status":"success","code":0' "$TMP/r1" ||
    fail "no success in the report: $(cat "$TMP/r1")"

log "the same hashes as the full run"
npx --no nx run-many -t build -p @ws/util,@ws/log >"$TMP/full.out" 2>&1
assert_grep 'read the output from the cache instead of running the command for 2 out of 2 tasks' \
    "$TMP/full.out" "the full run read both tasks from the cache"
# Alone, Nx hashes log's build without util's outputs: another key.
rm -rf libs/log/dist
npx --no nx run @ws/log:build --excludeTaskDependencies >"$TMP/alone.out" 2>&1
assert_no_grep 'local cache\]' "$TMP/alone.out" \
    "nx run --excludeTaskDependencies found the runner's key"

log "a failing task: its exit status and output"
sed -i 's/module\.exports/module.nothing/' libs/core/src/index.js
"$DTEQ" nx-task @ws/core:lint >"$TMP/fail.out" 2>&1
assert_eq $? 1 "core:lint exit status"
assert_grep 'lint: src/index.js exports nothing' "$TMP/fail.out" \
    "the failing task's message"
sed -i 's/module\.nothing/module.exports/' libs/core/src/index.js

log "a client killed mid-task takes the task and the runner down"
node -e '
const fs = require("fs");
const p = "libs/data/package.json";
const j = JSON.parse(fs.readFileSync(p, "utf8"));
j.scripts.build = "echo slow-build-started; sleep 97";
fs.writeFileSync(p, JSON.stringify(j, null, 2));
' || fail "cannot edit data's build"
"$DTEQ" nx-task --report "$TMP/r2" @ws/data:build >"$TMP/slow.out" 2>&1 &
client=$!
track_pid "$client"
wait_for "grep -q slow-build-started '$TMP/slow.out'" 60 ||
    fail "the slow build did not start: $(tail -5 "$TMP/slow.out")"
wait_for "pgrep -f 'sleep 97' >/dev/null" 30 || fail "no sleep 97 running"
kill -TERM "$client"
wait "$client" 2>/dev/null
wait_for "! pgrep -f 'sleep 97' >/dev/null" 10 ||
    fail "the killed task's process outlived its client"
wait_for "! kill -0 $runner 2>/dev/null" 10 ||
    fail "the runner outlived its killed client"
"$DTEQ" nx-task --report "$TMP/r3" @ws/util:lint >"$TMP/t4.out" 2>&1
assert_eq $? 0 "a task after the kill"
runner2=$(sed 's/.*"runner":\([0-9]*\).*/\1/' "$TMP/r3")
[ "$runner2" != "$runner" ] || fail "the killed runner served again"

log "a runner exits when its agent does"
sleep 300 &
fake=$!
DTEQ_AGENT_PID=$fake "$DTEQ" nx-task --report "$TMP/r4" @ws/util:lint \
    >"$TMP/t5.out" 2>&1
assert_eq $? 0 "a task of the short-lived agent"
runner3=$(sed 's/.*"runner":\([0-9]*\).*/\1/' "$TMP/r4")
pid_alive "$runner3" || fail "the runner did not wait for more tasks"
kill "$fake"
wait "$fake" 2>/dev/null
wait_for "! kill -0 $runner3 2>/dev/null" 10 ||
    fail "the runner outlived the agent it watched"

log "--start leaves one runner ready, which the next task takes"
DTEQ_AGENT_PID= "$DTEQ" nx-task --start >"$TMP/s0.out" 2>&1
assert_eq $? 2 "--start without DTEQ_AGENT_PID"
assert_grep 'needs DTEQ_AGENT_PID' "$TMP/s0.out" "why --start refused"
"$DTEQ" nx-task --start @ws/util:lint >"$TMP/s0.out" 2>&1
assert_eq $? 2 "--start with a task id"
sleep 300 &
owner=$!
# The pool's place, as common/util.c chooses it.
tmp=${TMPDIR:-/tmp}
case $tmp in
/*) [ ${#tmp} -le 40 ] || tmp=/tmp ;;
*) tmp=/tmp ;;
esac
pool="$tmp/dteq-$(id -u)/nx-$owner"
for i in 1 2; do
	DTEQ_AGENT_PID=$owner "$DTEQ" nx-task --start >"$TMP/s$i.out" 2>&1
	assert_eq $? 0 "nx-task --start, time $i"
	assert_eq "$(cat "$TMP/s$i.out")" "" "what --start printed, time $i"
	assert_eq "$(ls "$pool" | grep -c '\.sock$')" 1 \
	    "runners listening after --start, time $i"
done
started=$(pgrep -f "nx-$owner/" | tr '\n' ' ')
assert_eq "$(echo $started | wc -w)" 1 "runner processes of the pool"
DTEQ_AGENT_PID=$owner "$DTEQ" nx-task --report "$TMP/r5" @ws/util:lint \
    >"$TMP/t6.out" 2>&1
assert_eq $? 0 "a task after --start"
assert_eq "$(sed 's/.*"runner":\([0-9]*\).*/\1/' "$TMP/r5")" "${started% }" \
    "the runner that ran it is the one --start started"
kill "$owner"
wait "$owner" 2>/dev/null
wait_for "! kill -0 ${started% } 2>/dev/null" 10 ||
    fail "the started runner outlived the process it watched"

log "an Nx without runDiscreteTasks: nx run per task"
mkdir -p "$TMP/old/node_modules/nx/src/tasks-runner" \
    "$TMP/old/node_modules/nx/src/project-graph" \
    "$TMP/old/node_modules/nx/src/config"
for m in tasks-runner/init-tasks-runner tasks-runner/create-task-graph \
    project-graph/project-graph config/nx-json; do
	echo 'module.exports = {};' >"$TMP/old/node_modules/nx/src/$m.js"
done
echo '{"name": "nx", "version": "19.8.0"}' \
    >"$TMP/old/node_modules/nx/package.json"
(cd "$TMP/old" && DTEQ_NX_COMMAND="echo old-nx" "$DTEQ" nx-task \
    '--overrides={"__overrides_unparsed__":["--x=1"]}' lib:build) \
    >"$TMP/old.out" 2>&1
assert_eq $? 0 "the fallback's exit status"
assert_grep 'no runDiscreteTasks: running each task with `nx run`' \
    "$TMP/old.out" "the line that says so"
assert_grep '^old-nx run lib:build --excludeTaskDependencies --x=1$' \
    "$TMP/old.out" "nx run with the overrides' words"

log "bad arguments: exit 2, nothing run"
"$DTEQ" nx-task --overrides='[1]' @ws/util:lint >"$TMP/bad.out" 2>&1
assert_eq $? 2 "overrides that are no object"
assert_grep 'not a JSON object' "$TMP/bad.out" "the message"
"$DTEQ" nx-task >"$TMP/bad2.out" 2>&1
assert_eq $? 2 "no task"

log "through an agent: a cancel kills the running Nx task"
unset DTEQ_AGENT_PID
start_redis
rm -rf "$NX_CACHE_DIRECTORY"
agent_in a1 "$TMP/ws"
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --no-replay \
    --nx "run-many -t build -p @ws/data"
wait_for "pgrep -f 'sleep 97' >/dev/null" 90 ||
    fail "the agent did not start the slow build"
cancel_run
wait_for "! pgrep -f 'sleep 97' >/dev/null" 15 ||
    fail "the cancelled Nx task's process lives on"
bg_wait submit 30
assert_eq "$(bg_rc submit)" 3 "submit exit status after a cancel"
agents_exit_ok 30 a1
exit 0
