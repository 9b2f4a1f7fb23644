# Fault: a task is held back (it ranks between the queued tasks) and the
# "started" event of the task above it is lost, because submit's events
# connection was cut while submit was frozen. The held task must still
# go out once that task runs (submit reads the claims of queued tasks
# each second while it holds one), not wait for it to end.
# Ranks from a given history: x 500 (x 200 + m 300), g 450, h 400,
# m 300, lo 10. Agent a takes x, then g; m is ready while h and lo are
# queued, so it is held. Agent b joins while submit is frozen and its
# events connection is cut, and starts h. g and h wait for a file.
# timeout: 90

. "$TOP/tests/faults/faultlib.sh"

start_redis
DTEQ_WORKSPACE="test/$RUN"
export DTEQ_WORKSPACE
rcli hset "dteq:history:$DTEQ_WORKSPACE" x 200 m 300 g 450 h 400 lo 10 \
    >/dev/null

gate="n=0; while [ ! -e $TMP/go ] && [ \$n -lt 400 ]; do sleep 0.1; n=\$((n + 1)); done"
tf="$TMP/held.json"
add_task "$tf" x "sleep 0.2"
add_task "$tf" g "$gate"
add_task "$tf" h "$gate"
add_task "$tf" lo "true"
add_task "$tf" m "true" x
taskfile "$tf"

claims="dteq:{$RUN}:claims"
attempts="dteq:{$RUN}:attempts"
start_agent a --parallel 1
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" -v "$tf"
wait_for "[ \"\$(rcli hget '$claims' g)\" = '1 a' ]" 20 ||
    fail "g never started on a"
sleep 1
assert_eq "$(rcli hexists "$attempts" m)" 0 "m held (never dispatched)"
assert_eq "$(rcli hget "$claims" h)" 1 "h queued, unclaimed"

kill -STOP "$(bg_pid submit)"
n=$(rcli client kill type pubsub)
info "$n events connections cut"
start_agent b --parallel 1
wait_for "[ \"\$(rcli hget '$claims' h)\" = '1 b' ]" 20 ||
    fail "h never started on b"
kill -CONT "$(bg_pid submit)"

# Its start was never heard of: m goes out when the claims are read.
t0=$(now_ms)
wait_for "[ \"\$(rcli hget '$attempts' m)\" = 1 ]" 10 ||
    fail "m still held 10 s after h started"
info "m dispatched $(($(now_ms) - t0)) ms after submit was thawed"
assert_eq "$(rcli hexists "$claims" m)" 1 "m has a claim entry"

touch "$TMP/go"
bg_wait submit 30
assert_eq "$(bg_rc submit)" 0 "submit exit status"
agents_exit_ok 15 a b
for t in x g h lo m; do
	assert_eq "$(result_field "$RUN" $t status)" success "status of $t"
done
# m was pushed above lo: the first slot to free took m. The order is the
# order in which Redis ran the pops, which publish the "started" events
# submit logs; the agents' own start times cannot tell it when g and h
# end within a millisecond or two, on two agents.
sm=$(grep -n ': m started on ' "$TMP/submit.err" | head -1 | cut -d: -f1)
sl=$(grep -n ': lo started on ' "$TMP/submit.err" | head -1 | cut -d: -f1)
[ -n "$sm" ] && [ -n "$sl" ] || fail "submit did not log both starts"
[ "$sm" -lt "$sl" ] || fail "lo was taken before m"
exit 0
