# Fault: a network partition longer than the lease, of one agent's link
# alone: the agent reaches Redis through a TCP relay that is frozen
# (SIGSTOP: connections stay open, nothing passes) for 10 s with --lease
# 3, while the agent runs a 6 s task. The lease lapses, submit takes the
# task back and another agent runs it; the late result is refused. When
# the link heals, the partitioned agent gets its stale "lost the lease"
# replies all at once: before, it took them all as fresh and killed the
# task it had taken after rejoining (exit 143), which then stayed claimed
# or got a "cancelled" result submit never counted, and the run hung.
# Now only the first counts; the run ends with exit 0, every task has a
# success, and no attempt was killed after the heal.
# timeout: 120

. "$TOP/tests/faults/faultlib.sh"

start_redis

start_relay
relayed=$RELAY_URL

# The task "slow" takes 6 s on its first attempt (the one cut off); the fills come after
# it, one at a time, so that the healed agent takes one as it rejoins.
tf="$TMP/part.json"
add_task "$tf" slow "echo \"\$DTEQ_AGENT \$DTEQ_ATTEMPT\" >>$TMP/runs.slow; \
if [ \"\$DTEQ_ATTEMPT\" = 1 ]; then sleep 6; fi; echo slow done"
prev=slow
for i in 1 2 3 4 5 6 7 8; do
	add_task "$tf" "fill$i" "echo \"\$DTEQ_AGENT\" >>$TMP/runs.fill; \
sleep 1; echo fill$i done" "$prev"
	prev="fill$i"
done
taskfile "$tf"

bg agent.p "$DTEQ" work --redis "$relayed" --run "$RUN" --name p
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 3 "$tf"
wait_for "grep -q '^p 1' '$TMP/runs.slow' 2>/dev/null" 30 ||
    fail "p never started slow"
log "the link of agent p frozen for 10 s"
kill -STOP "$(bg_pid relay)"
start_agent other
sleep 10
kill -CONT "$(bg_pid relay)"
log "the link healed"

bg_wait submit 90
assert_eq "$(bg_rc submit)" 0 "dteq submit exit status"
out="$TMP/submit.out"
assert_grep '^9 tasks: 9 succeeded, 0 failed, 0 skipped' "$out" \
    "summary line"
for a in p other; do
	bg_wait "agent.$a" 20
	assert_eq "$(bg_rc "agent.$a")" 0 "exit status of agent $a"
done
assert_grep 'lost the lease' "$TMP/agent.p.err" \
    "the partitioned agent saw its lease lost"
assert_eq "$(grep -c 'lost the lease' "$TMP/agent.p.err")" 1 \
    "times the partitioned agent took a lost lease as fresh"
assert_no_grep 'exit 143|killed|cancelled' "$out" "a task killed or cancelled"
exit 0
