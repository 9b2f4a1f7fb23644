# Fault: two agents under one name. Before each process's heartbeat held
# a token of its own, they shared one lease and one running list: with one
# of them SIGKILLed mid-task, the survivor kept the lease alive and the
# dead one's task stayed in the running list for ever (submit hung); an
# agent restarted under its predecessor's name within the lease never
# adopted nor gave back what the predecessor left.
#
# 1. A second `dteq work --name n1` while the first is alive: it waits one
#    lease for the name, then exits 3 naming the clash; the first runs
#    the tasks and the run succeeds.
# 2. n1 SIGKILLed mid-task and restarted at once under the same name: the
#    new one joins only once the old lease lapsed and submit took the task
#    back; the task runs again (attempt 2) and the run succeeds.
# timeout: 120

. "$TOP/tests/faults/faultlib.sh"

start_redis

log "1. a second agent under a live agent's name"
tf="$TMP/two.json"
add_task "$tf" first "sleep 6; echo first on \$DTEQ_AGENT"
add_task "$tf" second "echo second on \$DTEQ_AGENT" first
taskfile "$tf"
start_agent n1
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 2 "$tf"
wait_for "grep -q 'joined run' '$TMP/agent.n1.err'" 20 ||
    fail "n1 never joined"
bg twin "$DTEQ" work --redis "$REDIS_URL" --run "$RUN" --name n1
bg_wait twin 30
assert_eq "$(bg_rc twin)" 3 "exit status of the second agent named n1"
assert_grep 'another agent named n1 is alive in run' "$TMP/twin.err" \
    "the second agent names the clash"
assert_no_grep 'joined run' "$TMP/twin.err" "the second agent joined"
bg_wait submit 60
assert_eq "$(bg_rc submit)" 0 "dteq submit exit status"
agents_exit_ok 15 n1
assert_grep 'second on n1' "$TMP/submit.out" "the run's last task"

log "2. n1 killed mid-task, restarted under its name at once"
RUN="$TEST_NAME-$$-restart"
tf="$TMP/slow.json"
add_task "$tf" slow "echo \"\$DTEQ_ATTEMPT\" >>$TMP/attempts; \
if [ \"\$DTEQ_ATTEMPT\" = 1 ]; then sleep 300; fi; echo slow done"
taskfile "$tf"
start_agent n1
bg submit2 "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 3 "$tf"
wait_for "[ -s '$TMP/attempts' ]" 30 || fail "the task never started"
kill -KILL "$(bg_pid agent.n1)"
bg_wait agent.n1 5
bg again "$DTEQ" work --redis "$REDIS_URL" --run "$RUN" --name n1
bg_wait submit2 60
assert_eq "$(bg_rc submit2)" 0 "exit status of the submit after the restart"
bg_wait again 15
assert_eq "$(bg_rc again)" 0 "exit status of the restarted n1"
assert_eq "$(tr '\n' ' ' <"$TMP/attempts")" "1 2 " \
    "the attempts of the task (the restarted agent ran the second)"
assert_grep 'joined run' "$TMP/again.err" "the restarted n1 joined"
exit 0
