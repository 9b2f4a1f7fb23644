# An agent killed (SIGKILL) while it holds a task loses its lease; the task
# goes back to the queue, runs again on the other agent as attempt 2, and
# is reported once; the run succeeds.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis

tf="$TMP/killed.json"
add_task "$tf" slow "echo \$\$ >$TMP/shpid.\$DTEQ_ATTEMPT; \
echo \$DTEQ_AGENT >$TMP/holder.\$DTEQ_ATTEMPT; \
echo \"slow attempt \$DTEQ_ATTEMPT on \$DTEQ_AGENT\"; sleep 3; \
echo \"slow done on \$DTEQ_AGENT\""
add_task "$tf" after "echo after on \$DTEQ_AGENT" slow
taskfile "$tf"

start_agent a1
start_agent a2
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 2 "$tf"

wait_for "[ -s '$TMP/holder.1' ]" 30 || fail "task slow never started"
track_pid "$(cat "$TMP/shpid.1")"
holder=$(cat "$TMP/holder.1")
case "$holder" in
a1) other=a2 ;;
a2) other=a1 ;;
*) fail "DTEQ_AGENT of attempt 1 is '$holder', not a1 or a2" ;;
esac
# The task is in the holder's running list while it runs.
rcli lrange "dteq:{$RUN}:running:$holder" 0 -1 >"$TMP/running.list"
assert_grep 'slow' "$TMP/running.list" "slow in running:$holder"

log "SIGKILL agent $holder"
kill -KILL "$(bg_pid "agent.$holder")"
bg_wait "agent.$holder" 5
assert_eq "$(bg_rc "agent.$holder")" 137 "exit status of the killed agent"

bg_wait submit 45
assert_eq "$(bg_rc submit)" 0 "dteq submit exit status"
agents_exit_ok 15 "$other"

out="$TMP/submit.out"
assert_file "$TMP/holder.2" "task slow never ran as attempt 2"
assert_eq "$(cat "$TMP/holder.2")" "$other" "agent of attempt 2"
assert_eq "$(count_lines "$out" "> slow (")" 1 "block headers of task slow"
assert_grep "^> slow \\($other, .*attempt 2\\)" "$out" \
    "the header of slow names $other and attempt 2"
assert_grep "^slow done on $other\$" "$out" "attempt 2's output"
assert_no_grep "^slow done on $holder\$" "$out" "output of the lost attempt"
assert_eq "$(count_lines "$out" "< slow: succeeded")" 1 "footer of slow"
assert_eq "$(count_lines "$out" "< after: succeeded")" 1 "footer of after"
assert_eq "$(result_field "$RUN" slow status)" success "status of slow"
assert_eq "$(result_field "$RUN" slow attempt)" 2 "attempt of slow"
assert_eq "$(result_field "$RUN" slow agent)" "$other" "agent of slow"
exit 0
