# Fault: Redis comes back with older state. A snapshot (SAVE) is taken
# while the run is young; later Redis is killed and started again from
# that snapshot, as a crashed default-configured Redis or a failover to a
# lagging replica would: the results, claims and attempts written since
# are gone, and messages of tasks already done are back in the queue.
# Before, those tasks ran again under their old attempt numbers and
# submit exited 0 ("N succeeded", one attempt each), saying nothing. Now
# submit sees that Redis went back in time (its heartbeat's record is
# older than the one it wrote last) and ends with exit 3 saying so.
# timeout: 120

. "$TOP/tests/faults/faultlib.sh"

start_redis_with --save '' --appendonly no

tf="$TMP/rb.json"
i=0
while [ $i -lt 40 ]; do
	i=$((i + 1))
	add_task "$tf" "t$i" "echo t$i >>$TMP/runs; sleep 0.5"
done
taskfile "$tf"

start_agent a1
start_agent a2
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 3 "$tf"
wait_for "[ \$(wc -l <'$TMP/runs' 2>/dev/null || echo 0) -ge 6 ]" 30 ||
    fail "the run never got going"
rcli save >/dev/null || fail "SAVE failed"
log "snapshot at $(wc -l <"$TMP/runs") tasks run"
wait_for "[ \$(wc -l <'$TMP/runs') -ge 18 ]" 30 ||
    fail "the run stopped after the snapshot"
log "Redis killed at $(wc -l <"$TMP/runs") tasks run, started from the snapshot"
signal_redis KILL
sleep 0.5
restart_redis "$TMP/redis-data" --save '' --appendonly no
restarted=$(now_ms)

wait_for "bg_done submit" 30 || fail "submit still running 30 s after the restart"
info "submit exited $(bg_rc submit) after $(elapsed_ms "$restarted") ms"
assert_eq "$(bg_rc submit)" 3 "exit status of submit after the rollback"
assert_grep 'Redis lost results: its state went back in time' \
    "$TMP/submit.err" "submit says Redis went back in time"
for a in a1 a2; do
	bg_wait "agent.$a" 30
done
exit 0
