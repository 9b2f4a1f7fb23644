# Fault: the main job (dteq submit) is SIGKILLed and not started again.
# Its heartbeat key lapses; the agents then kill their running tasks and
# exit 3 with "main job stopped responding", within the main lease
# (--main-lease 5 when submit has the option, else the 30 s default: 45 s
# allowed) plus a few seconds.
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
exit 0
