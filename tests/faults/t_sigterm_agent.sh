# Fault: SIGTERM to an agent that holds a running task. The agent gives
# the task back at once: it runs again on another agent well before the
# lease (30 s here) could expire, the stopped agent's child process group
# is killed, the agent exits 0, and the run succeeds with one result.
# timeout: 60

. "$TOP/tests/faults/faultlib.sh"

start_redis

tf="$TMP/term.json"
add_task "$tf" held "echo \"\$DTEQ_AGENT \$DTEQ_ATTEMPT \$\$\" >>$TMP/runs.held; \
if [ \"\$DTEQ_ATTEMPT\" = 1 ]; then sleep 60; fi; echo \"held done on \$DTEQ_AGENT\""
add_task "$tf" after "echo after" held
taskfile "$tf"

start_agent a1
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 30 "$tf"
wait_for "[ -s '$TMP/runs.held' ]" 30 || fail "task held never started"
child=$(awk 'NR == 1 { print $3 }' "$TMP/runs.held")
track_pid "$child"
start_agent a2
sleep 1

log "SIGTERM a1"
kill -TERM "$(bg_pid agent.a1)"
termed=$(now_ms)
bg_wait agent.a1 10
info "a1 exit status after SIGTERM: $(bg_rc agent.a1) ($(elapsed_ms "$termed") ms)"
assert_eq "$(bg_rc agent.a1)" 0 "exit status of a1 after SIGTERM"
wait_for "! pid_alive $child" 5 ||
    fail "the SIGTERMed agent's task (pid $child) is still running"

wait_for "[ \$(runs_of '$TMP' held) -ge 2 ]" 10 ||
    fail "held did not run again within 10 s of SIGTERM (lease 30 s)"
info "held restarted $(elapsed_ms "$termed") ms after SIGTERM"
bg_wait submit 10
took=$(elapsed_ms "$termed")
info "submit ended $took ms after SIGTERM"
[ "$took" -le 10000 ] || fail "run ended $took ms after SIGTERM (want <= 10 s)"
assert_eq "$(bg_rc submit)" 0 "dteq submit exit status"
agents_exit_ok 15 a2

out="$TMP/submit.out"
assert_eq "$(awk 'NR == 2 { print $1 " " $2 }' "$TMP/runs.held")" "a2 2" \
    "agent and attempt of the second run"
assert_eq "$(result_field "$RUN" held attempt)" 2 "attempt of held"
assert_eq "$(result_field "$RUN" held agent)" a2 "agent of held"
assert_eq "$(result_field "$RUN" held status)" success "status of held"
assert_eq "$(count_lines "$out" "> held (")" 1 "block headers of held"
assert_eq "$(count_lines "$out" "< held: succeeded")" 1 "footers of held"
assert_eq "$(count_lines "$out" "< after: succeeded")" 1 "footer of after"
exit 0
