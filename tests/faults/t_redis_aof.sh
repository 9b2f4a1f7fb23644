# Fault: Redis with appendonly (fsync always) is stopped (SIGTERM, then a
# second time SIGKILL, by pid) mid-run and started again on the same port with the same data dir. The
# run finishes with exit 0: every task has one result and one block, and
# (outage shorter than the lease) no task runs twice.
# timeout: 120

. "$TOP/tests/faults/faultlib.sh"

start_redis_with --appendonly yes --appendfsync always --save ''

tf="$TMP/aof.json"
ids=""
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	dep=""
	[ "$i" -gt 4 ] && dep="t$((i - 4))"
	add_task "$tf" "t$i" "echo \"\$DTEQ_AGENT \$DTEQ_ATTEMPT\" >>$TMP/runs.t$i; sleep 0.8; echo t$i done" "$dep"
	ids="$ids t$i"
done
taskfile "$tf"

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
for id in $ids; do
	assert_eq "$(result_field "$RUN" "$id" status)" success "status of $id"
	assert_eq "$(count_lines "$out" "> $id (")" 1 "block headers of $id"
	assert_eq "$(count_lines "$out" "< $id: succeeded")" 1 "footers of $id"
	n=$(runs_of "$TMP" "$id")
	[ "$n" -eq 1 ] || info "task $id ran $n times"
	assert_eq "$n" 1 "runs of $id"
done
exit 0
