# Fault: an agent is SIGKILLed while it runs tasks (--parallel 2, three
# agents, --lease 2). Every task it held runs again on another agent as
# attempt 2 within a few leases, each task is reported exactly once (one
# block, one footer, one result), and the run succeeds.
# t_kill_agent_signed.sh runs it in a signed run (DTEQ_SECRET set).
# timeout: 90

. "$TOP/tests/faults/faultlib.sh"

start_redis

tf="$TMP/kill.json"
for i in 1 2 3 4 5 6; do
	add_task "$tf" "w$i" "echo \"\$DTEQ_AGENT \$DTEQ_ATTEMPT \$\$\" >>$TMP/runs.w$i; \
echo \"w$i attempt \$DTEQ_ATTEMPT on \$DTEQ_AGENT\"; sleep 3; echo \"w$i done on \$DTEQ_AGENT\""
done
add_task "$tf" sum "echo sum" "w1 w2 w3 w4 w5 w6"
taskfile "$tf"

start_agent a1 --parallel 2
start_agent a2 --parallel 2
start_agent a3 --parallel 2
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 2 \
    --json "$TMP/kill.report.json" "$tf"

wait_for "[ -s '$TMP/runs.w1' ]" 30 || fail "task w1 never started"
victim=$(awk 'NR == 1 { print $1 }' "$TMP/runs.w1")
case "$victim" in
a1 | a2 | a3) ;;
*) fail "DTEQ_AGENT of w1 attempt 1 is '$victim'" ;;
esac
sleep 0.5
log "SIGKILL agent $victim (holds w1)"
kill -KILL "$(bg_pid "agent.$victim")"
killed_at=$(now_ms)
bg_wait "agent.$victim" 5
# The killed agent's children are orphans now; stop them with the test.
for f in "$TMP"/runs.*; do
	awk -v a="$victim" '$1 == a { print $3 }' "$f"
done >"$TMP/orphans"
while read -r p; do track_pid "$p"; done <"$TMP/orphans"

wait_for "[ \$(runs_of '$TMP' w1) -ge 2 ]" 20 ||
    fail "w1 did not run again within 20 s of the kill"
restart_ms=$(elapsed_ms "$killed_at")
info "w1 restarted ${restart_ms} ms after the kill (lease 2 s)"
[ "$restart_ms" -le 10000 ] ||
    fail "w1 restarted ${restart_ms} ms after the kill (want <= 10000)"

bg_wait submit 60
assert_eq "$(bg_rc submit)" 0 "dteq submit exit status"
for a in a1 a2 a3; do
	[ "$a" = "$victim" ] && continue
	agents_exit_ok 15 "$a"
done

out="$TMP/submit.out"
held=0
for i in 1 2 3 4 5 6; do
	id="w$i"
	assert_eq "$(count_lines "$out" "> $id (")" 1 "block headers of $id"
	assert_eq "$(count_lines "$out" "< $id: succeeded")" 1 "footers of $id"
	assert_eq "$(result_field "$RUN" "$id" status)" success "status of $id"
	first=$(awk 'NR == 1 { print $1 }' "$TMP/runs.$id")
	agent=$(result_field "$RUN" "$id" agent)
	att=$(result_field "$RUN" "$id" attempt)
	if [ "$first" = "$victim" ]; then
		held=$((held + 1))
		assert_eq "$att" 2 "attempt of $id (held by the killed agent)"
		[ "$agent" != "$victim" ] ||
		    fail "$id's result names the killed agent $victim"
		assert_eq "$(runs_of "$TMP" "$id")" 2 "runs of $id"
		assert_no_grep "^$id done on $victim\$" "$out" \
		    "output of $id's lost attempt printed"
		# Both attempts an agent started count, the lost one too.
		assert_grep "^  success +$id +$agent +[0-9.]+s 2( |\$)" "$out" \
		    "the summary's ATTEMPTS of $id"
		assert_eq "$(tr -d '\n' <"$TMP/kill.report.json" |
		    sed 's/.*"id": "'"$id"'"[^}]*"attempts": \([0-9]*\).*/\1/')" \
		    2 "attempts of $id in --json"
	else
		assert_eq "$att" 1 "attempt of $id"
		assert_eq "$(runs_of "$TMP" "$id")" 1 "runs of $id"
	fi
done
assert_eq "$(rcli hlen "dteq:{$RUN}:results")" 7 "results recorded"
assert_eq "$(rcli hget "dteq:{$RUN}:meta" signed)" \
    "$([ -n "${DTEQ_SECRET:-}" ] && echo 1 || echo 0)" "the run's signing"
assert_eq "$(count_lines "$out" "< sum: succeeded")" 1 "footer of sum"
info "killed $victim holding $held task(s); all re-ran once, reported once"
exit 0
