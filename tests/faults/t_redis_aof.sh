# Fault: Redis with appendonly (fsync always) is stopped (SIGTERM, then a
# second time SIGKILL, by pid) mid-run and started again on the same port with the same data dir. The
# run finishes with exit 0: every task has one result and one block, and
# (outage shorter than the lease) no task runs twice.
# timeout: 120

. "$TOP/tests/faults/faultlib.sh"

start_redis_with --appendonly yes --appendfsync always --save ''

tf="$TMP/aof.json"
runs_grid "$tf" 12 4 0.8

start_agent a1 --parallel 2
start_agent a2 --parallel 2
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 6 "$tf"
wait_for "[ -s '$TMP/runs.t5' ]" 30 || fail "the run never reached t5"

# Round 1: a clean stop (SIGTERM); round 2: a crash (SIGKILL), which
# appendfsync always also survives.
for sig in TERM KILL; do
	log "stop Redis (SIG$sig)"
	signal_redis $sig
	sleep 1
	restart_redis "$TMP/redis-data" --appendonly yes --appendfsync always \
	    --save ''
	info "restarted with $(rcli dbsize) keys"
	sleep 2
done

bg_wait submit 60
info "submit exit status $(bg_rc submit)"
assert_eq "$(bg_rc submit)" 0 "dteq submit exit status"
agents_exit_ok 20 a1 a2

out="$TMP/submit.out"
assert_eq "$(rcli hlen "dteq:{$RUN}:results")" 12 "results recorded"
# shellcheck disable=SC2086
ran_once "$out" $ids
exit 0
