# Fault: Redis restarts without persistence mid-run (stopped by pid, started
# again empty on the same port). Submit and the agents notice that the
# run's state is gone and fail loudly: exit 3 naming "run state lost",
# within seconds (no hang), and the agents' tasks are killed.
# timeout: 90

. "$TOP/tests/faults/faultlib.sh"

start_redis_with --save '' --appendonly no

tf="$TMP/lost.json"
add_task "$tf" quick "echo quick"
add_task "$tf" long1 "echo \$\$ >$TMP/pid.long1; sleep 100" quick
add_task "$tf" long2 "echo \$\$ >$TMP/pid.long2; sleep 100" quick
add_task "$tf" later "echo later" "long1 long2"
taskfile "$tf"

start_agent a1
start_agent a2
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 2 "$tf"
track_tasks long1 long2
sleep 1

log "restart Redis without persistence on port $REDIS_PORT"
signal_redis KILL
sleep 0.5
restart_redis "$TMP/redis-data" --save '' --appendonly no
restarted=$(now_ms)
# Empty: none of the run's state came back (the clients may already have
# reconnected and written a heartbeat; that is allowed, see the end).
assert_eq "$(rcli --scan --pattern 'dteq:*' | grep -cE ':(queue|results|attempts|claims|staged)$')" 0 \
    "run state in the restarted server"

for p in submit agent.a1 agent.a2; do
	wait_for "bg_done $p" 30 || fail "$p still running 30 s after the restart"
	info "$p exited $(bg_rc "$p") after $(elapsed_ms "$restarted") ms"
done
for p in submit agent.a1 agent.a2; do
	assert_eq "$(bg_rc "$p")" 3 "exit status of $p"
	assert_grep 'run state lost' "$TMP/$p.err" "$p does not say 'run state lost'"
done
tasks_gone
# What the agents left in the empty server: at most fresh heartbeats or
# deregistration writes, never a resurrected queue or results.
rcli --scan >"$TMP/keys-after"
info "keys in Redis afterwards: $(tr '\n' ' ' <"$TMP/keys-after")"
assert_no_grep ':(queue|results|attempts)$' "$TMP/keys-after" \
    "run keys written again into the restarted server"
exit 0
