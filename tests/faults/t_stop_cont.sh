# Fault: an agent frozen (SIGSTOP) past its lease while it runs a task,
# then thawed (SIGCONT). The task runs again on another agent as attempt
# 2; the frozen agent's late writes for attempt 1 are fenced: its result
# is discarded (the results hash keeps attempt 2 of the other agent) and
# its late output never reaches attempt 1's log. The task's block is
# printed once and the run succeeds.
# timeout: 90

. "$TOP/tests/faults/faultlib.sh"

start_redis

tf="$TMP/stopcont.json"
add_task "$tf" frozen "echo \"\$DTEQ_AGENT \$DTEQ_ATTEMPT \$\$\" >>$TMP/runs.frozen; \
echo \"before \$DTEQ_AGENT \$DTEQ_ATTEMPT\"; sleep 3; echo \"after \$DTEQ_AGENT \$DTEQ_ATTEMPT\""
add_task "$tf" next "echo next on \$DTEQ_AGENT" frozen
taskfile "$tf"

start_agent a1
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 2 "$tf"
wait_for "[ -s '$TMP/runs.frozen' ]" 30 || fail "task frozen never started"
track_pid "$(awk 'NR == 1 { print $3 }' "$TMP/runs.frozen")"
log1="dteq:{$RUN}:log:1:frozen"
# Freeze a1 once its first output chunk is in attempt 1's log.
wait_for "rcli get '$log1' | grep -q '^before a1 1'" 10 ||
    fail "attempt 1's output never reached $log1"
log "SIGSTOP a1"
kill -STOP "$(bg_pid agent.a1)"
stopped_at=$(now_ms)

start_agent a2
wait_for "[ \$(runs_of '$TMP' frozen) -ge 2 ]" 20 ||
    fail "frozen did not run again within 20 s of SIGSTOP (lease 2 s)"
info "attempt 2 started $(elapsed_ms "$stopped_at") ms after SIGSTOP"
assert_eq "$(awk 'NR == 2 { print $1 " " $2 }' "$TMP/runs.frozen")" "a2 2" \
    "agent and attempt of the second run"
# Attempt 1's child has ended by now (it was not stopped); a1 still holds
# its output and exit status, unread.
sleep 1.5
log "SIGCONT a1 (attempt 2 still running on a2)"
kill -CONT "$(bg_pid agent.a1)"

bg_wait submit 45
assert_eq "$(bg_rc submit)" 0 "dteq submit exit status"
agents_exit_ok 15 a2
bg_wait agent.a1 15
info "a1 (thawed) exit status $(bg_rc agent.a1)"
assert_eq "$(bg_rc agent.a1)" 0 "exit status of the thawed agent a1"

out="$TMP/submit.out"
assert_eq "$(result_field "$RUN" frozen status)" success "status of frozen"
assert_eq "$(result_field "$RUN" frozen attempt)" 2 "attempt of frozen"
assert_eq "$(result_field "$RUN" frozen agent)" a2 "agent of frozen"
assert_eq "$(count_lines "$out" "> frozen (")" 1 "block headers of frozen"
assert_eq "$(count_lines "$out" "< frozen: succeeded")" 1 "footers of frozen"
assert_grep '^> frozen \(a2, .*attempt 2\)' "$out" "header names a2, attempt 2"
assert_no_grep '^after a1 1' "$out" "attempt 1's output printed"
assert_eq "$(count_lines "$out" "< next: succeeded")" 1 "footer of next"
assert_eq "$(runs_of "$TMP" frozen)" 2 "runs of frozen"
# Fencing: the late chunk of attempt 1 was refused.
rcli get "$log1" >"$TMP/log1"
assert_no_grep '^after a1 1' "$TMP/log1" \
    "attempt 1's late output was appended to its log (not fenced)"
# The thawed agent noticed its result was stale.
assert_grep 'frozen.*(discarded|no longer current|stale|fenced|lease)' \
    "$TMP/agent.a1.err" "a1 does not say its late result was discarded"
grep -E 'frozen|lease|discard|fenc' "$TMP/agent.a1.err" | sed 's/^/    a1: /'
exit 0
