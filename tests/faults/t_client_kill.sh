# Fault: every Redis client connection is cut (CLIENT KILL TYPE normal,
# then TYPE pubsub) several times mid-run, including agents blocked in
# BLMOVE. The run completes with exit 0 and every task ran exactly once,
# with one result and one block.
# timeout: 120

. "$TOP/tests/faults/faultlib.sh"

start_redis

tf="$TMP/ck.json"
ids=""
for i in $(seq 1 36); do
	dep=""
	[ "$i" -gt 6 ] && dep="t$((i - 6))"
	[ "$i" -gt 12 ] && dep="$dep t$((i - 7))"
	add_task "$tf" "t$i" "echo \"\$DTEQ_AGENT \$DTEQ_ATTEMPT\" >>$TMP/runs.t$i; sleep 0.7; echo t$i done" "$dep"
	ids="$ids t$i"
done
taskfile "$tf"

start_agent a1 --parallel 2
start_agent a2 --parallel 2
start_agent a3
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 3 "$tf"
wait_for "[ -s '$TMP/runs.t1' ]" 30 || fail "the run never started"

kills=0
killed=0
while ! bg_done submit && [ $kills -lt 12 ]; do
	sleep 0.5
	n1=$(rcli client kill type normal)
	n2=$(rcli client kill type pubsub)
	kills=$((kills + 1))
	killed=$((killed + ${n1:-0} + ${n2:-0}))
done
info "$kills rounds of CLIENT KILL, $killed connections cut"
[ $kills -ge 3 ] || fail "the run ended before 3 rounds of CLIENT KILL"

bg_wait submit 60
assert_eq "$(bg_rc submit)" 0 "dteq submit exit status"
agents_exit_ok 20 a1 a2 a3

out="$TMP/submit.out"
assert_eq "$(rcli hlen "dteq:{$RUN}:results")" 36 "results recorded"
for id in $ids; do
	assert_eq "$(result_field "$RUN" "$id" status)" success "status of $id"
	assert_eq "$(count_lines "$out" "> $id (")" 1 "block headers of $id"
	assert_eq "$(runs_of "$TMP" "$id")" 1 "runs of $id"
done
exit 0
