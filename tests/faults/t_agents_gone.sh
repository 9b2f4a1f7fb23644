# Fault: every agent is SIGKILLed mid-run and none comes back. Their task
# is reclaimed but nobody takes it: submit exits 3 after --agent-wait (5 s
# here; lease 2 s), saying no agent is alive and listing the tasks that
# never ran or did not finish.
# timeout: 90

. "$TOP/tests/faults/faultlib.sh"

start_redis

tf="$TMP/gone.json"
add_task "$tf" first "echo first"
add_task "$tf" long "echo \$\$ >$TMP/pid.long; sleep 60" first
add_task "$tf" never1 "echo never1" long
add_task "$tf" never2 "echo never2" never1
taskfile "$tf"

start_agent a1
start_agent a2
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 2 \
    --agent-wait 5 "$tf"
wait_for "[ -s '$TMP/pid.long' ]" 30 || fail "task long never started"
track_pid "$(cat "$TMP/pid.long")"
log "SIGKILL both agents"
kill -KILL "$(bg_pid agent.a1)" "$(bg_pid agent.a2)"
t0=$(now_ms)
wait_for "bg_done submit" 30 || fail "submit still running 30 s after the agents died"
ms=$(elapsed_ms "$t0")
info "submit exit $(bg_rc submit) after $ms ms"
sed 's/^/    err: /' "$TMP/submit.err" | tail -5
assert_eq "$(bg_rc submit)" 3 "exit status of submit with no agent left"
[ "$ms" -ge 4000 ] || fail "submit gave up after $ms ms, before --agent-wait (5 s)"
assert_grep 'agent' "$TMP/submit.err" "submit's error does not mention agents"
for id in long never1 never2; do
	grep -E 'not finish|never ran|unfinished' "$TMP/submit.err" | grep -q "$id" ||
	    fail "submit's error does not list $id"
done
grep -E 'not finish|never ran|unfinished' "$TMP/submit.err" | grep -qw first &&
    fail "submit lists first, which succeeded"
exit 0
