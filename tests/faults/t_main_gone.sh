# Fault: the main job (dteq submit) is SIGKILLed and not started again.
# Its heartbeat key lapses; the agents then kill their running tasks and
# exit 3 with "main job stopped responding", within the main lease
# (--main-lease 5 when submit has the option, else the 30 s default: 45 s
# allowed) plus a few seconds. dteq status then says the run is
# abandoned since the main job's last heartbeat (the second it was
# killed, give or take the heartbeat's second), not "running"; --list
# says abandoned, and --watch stops.
# timeout: 120

. "$TOP/tests/faults/faultlib.sh"

start_redis

tf="$TMP/gone.json"
add_task "$tf" long1 "echo \$\$ >$TMP/pid.long1; sleep 100"
add_task "$tf" long2 "echo \$\$ >$TMP/pid.long2; sleep 100"
add_task "$tf" later "echo later" "long1 long2"
taskfile "$tf"

if has_option submit --main-lease; then
	mainlease="--main-lease 5"
	allow=15
else
	info "dteq submit has no --main-lease option; default lapse (30 s), 45 s allowed"
	mainlease=""
	allow=45
fi
start_agent a1
start_agent a2
start_agent idle
# shellcheck disable=SC2086
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 2 $mainlease "$tf"
track_tasks long1 long2
sleep 1
log "SIGKILL submit"
kill -KILL "$(bg_pid submit)"
killed=$(now_ms)

for a in a1 a2 idle; do
	wait_for "bg_done agent.$a" "$allow" ||
	    fail "agent $a still running $allow s after the main job died"
	info "agent $a exited $(bg_rc agent.$a) after $(elapsed_ms "$killed") ms"
done
for a in a1 a2 idle; do
	assert_eq "$(bg_rc "agent.$a")" 3 "exit status of agent $a"
	assert_grep 'main job stopped responding' "$TMP/agent.$a.err" \
	    "agent $a does not say the main job stopped responding"
done
tasks_gone

log "dteq status of the abandoned run"
run_cli status status --redis "$REDIS_URL" --run "$RUN"
assert_eq "$RC" 0 "dteq status exit status"
cat "$TMP/status.out"
assert_grep "^run $RUN: abandoned since [0-9-]+ [0-9:]+ UTC \([0-9.hms]+ ago: the main job's last heartbeat\), ran for [0-9.hms]+, started [0-9-]+ [0-9:]+ UTC$" \
    "$TMP/status.out" "status's first line"
assert_no_grep 'running for|main job (gone|alive)' "$TMP/status.out" \
    "status still says running"
since=$(sed -n 's/^run [^ ]*: abandoned since \([0-9-]* [0-9:]*\) UTC.*/\1/p' \
    "$TMP/status.out")
since_s=$(date -u -d "$since" +%s) || fail "not a time: $since"
killed_s=$((killed / 1000))
[ "$since_s" -ge $((killed_s - 3)) ] && [ "$since_s" -le $((killed_s + 1)) ] ||
    fail "abandoned since $since ($since_s), the main job was killed at $killed_s"
run_cli list status --redis "$REDIS_URL" --list
assert_grep "^$RUN +abandoned " "$TMP/list.out" "status --list's state"
run_cli watch status --redis "$REDIS_URL" --run "$RUN" --watch
assert_eq "$RC" 0 "status --watch of an abandoned run ends, exit status"
assert_grep "^run $RUN: abandoned since " "$TMP/watch.out" "--watch's line"
exit 0
