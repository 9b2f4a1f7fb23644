# Fault: every Redis client connection is cut (CLIENT KILL TYPE normal,
# then TYPE pubsub) several times mid-run, including agents blocked in
# BLMOVE. The run completes with exit 0 and every task ran exactly once,
# with one result and one block. Then a storm (below).
# timeout: 120

. "$TOP/tests/faults/faultlib.sh"

start_redis

tf="$TMP/ck.json"
runs_grid "$tf" 36 6 0.7 cross

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
# shellcheck disable=SC2086
ran_once "$out" $ids

# A storm: 240 short tasks (six chains of 40) while every normal client
# is cut every 0.05 s for 6 s, to hit the moments a command is cut off:
# a BLMOVE that moved a message whose reply never reached the agent (the
# agent must adopt it), submit's dispatch (HSET attempts + LPUSH queue)
# lost with its connection (submit must push it again). Afterwards the
# run must finish within 60 s.
log "storm"
r2="$RUN-storm"
tf2="$TMP/storm.json"
for i in $(seq 1 240); do
	dep=""
	[ "$i" -gt 6 ] && dep="s$((i - 6))"
	add_task "$tf2" "s$i" "echo \"\$DTEQ_AGENT \$DTEQ_ATTEMPT\" >>$TMP/runs.s$i; sleep 0.05" "$dep"
done
taskfile "$tf2"
for a in b1 b2 b3; do
	bg "agent.$a" "$DTEQ" work --redis "$REDIS_URL" --run "$r2" --name "$a" --parallel 2
done
bg submit2 "$DTEQ" submit --redis "$REDIS_URL" --run "$r2" --lease 3 "$tf2"
storms=0
cut=0
t0=$(now_ms)
# Storm for 6 s (or until the run ends), then let it finish.
while ! bg_done submit2 && [ "$(elapsed_ms "$t0")" -lt 6000 ]; do
	n1=$(rcli client kill type normal)
	storms=$((storms + 1))
	cut=$((cut + ${n1:-0}))
	[ $((storms % 10)) -eq 0 ] && rcli client kill type pubsub >/dev/null
	sleep 0.05
done
during=$(rcli hlen "dteq:{$r2}:results")
info "storm: $storms rounds in $(elapsed_ms "$t0") ms, $cut connections cut, $during/240 results meanwhile"
t1=$(now_ms)
if ! wait_for "bg_done submit2" 60; then
	# Which ready tasks (deps done, no result) are nowhere in Redis?
	k="dteq:{$r2}"
	missing=""
	for i in $(seq 1 240); do
		[ -n "$(rcli hget "$k:results" "s$i")" ] && continue
		if [ "$i" -gt 6 ] && [ -z "$(rcli hget "$k:results" "s$((i - 6))")" ]; then
			continue
		fi
		missing="$missing s$i(attempt $(rcli hget "$k:attempts" "s$i"), runs $(runs_of "$TMP" "s$i"))"
	done
	info "queue length $(rcli llen "$k:queue"); running lists:$(for a in b1 b2 b3; do printf ' %s=%s' "$a" "$(rcli llen "$k:running:$a")"; done)"
	info "ready tasks with no result:$missing"
	fail "storm run still going 60 s after the storm ended ($(rcli hlen "$k:results")/240 results)"
fi
info "storm: the run ended $(elapsed_ms "$t1") ms after the storm"
assert_eq "$(bg_rc submit2)" 0 "dteq submit exit status (storm)"
agents_exit_ok 20 b1 b2 b3
dups=""
for i in $(seq 1 240); do
	n=$(runs_of "$TMP" "s$i")
	[ "$n" -eq 1 ] || dups="$dups s$i($n)"
done
[ -z "$dups" ] || fail "storm: tasks not run exactly once:$dups"
assert_eq "$(rcli hlen "dteq:{$r2}:results")" 240 "results recorded (storm)"
assert_eq "$(grep -c '^< s[0-9]*: succeeded' "$TMP/submit2.out")" 240 "blocks printed (storm)"
exit 0
