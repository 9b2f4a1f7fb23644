# Fault: the main job (dteq submit) is SIGKILLed mid-run and started again
# with the same --run. The second submit resumes the run from Redis:
# tasks that had finished are not run again (each task appends a line to
# its runs file each time it starts), the rest run, and it exits 0.
# timeout: 120

. "$TOP/tests/faults/faultlib.sh"

start_redis

# Two chains of six tasks, 0.6 s each, then a join.
tf="$TMP/resume.json"
for c in a b; do
	prev=""
	for i in 1 2 3 4 5 6; do
		runs_task "$tf" "$c$i" 0.6 "$prev"
		prev="$c$i"
	done
done
add_task "$tf" join "echo \"\$DTEQ_AGENT \$DTEQ_ATTEMPT\" >>$TMP/runs.join" "a6 b6"
taskfile "$tf"
ids="a1 a2 a3 a4 a5 a6 b1 b2 b3 b4 b5 b6 join"

start_agent a1
start_agent a2
bg submit1 "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 2 "$tf"
wait_for "[ -s '$TMP/runs.a3' ] && [ -s '$TMP/runs.b3' ]" 30 ||
    fail "the run never reached a3 and b3"
log "SIGKILL submit"
kill -KILL "$(bg_pid submit1)"
bg_wait submit1 5
# What had a final result when the main job died.
rcli --raw hkeys "dteq:{$RUN}:results" | sort >"$TMP/done-at-kill"
info "finished when submit was killed: $(tr '\n' ' ' <"$TMP/done-at-kill")"
[ -s "$TMP/done-at-kill" ] || fail "no task had finished when submit was killed"
sleep 1

# The second submit finds the killed one's heartbeat still there, sees it
# is no longer renewed, and takes the run over (register.c).
log "submit again, same run"
bg submit2 "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 2 "$tf"
bg_wait submit2 60
info "second submit exit status $(bg_rc submit2)"
assert_eq "$(bg_rc submit2)" 0 "exit status of the resumed submit"
agents_exit_ok 15 a1 a2

reruns=""
for id in $ids; do
	n=$(runs_of "$TMP" "$id")
	[ "$n" -ge 1 ] || fail "task $id never ran"
	if grep -qx "$id" "$TMP/done-at-kill"; then
		[ "$n" -eq 1 ] || reruns="$reruns $id($n)"
	elif [ "$n" -gt 1 ]; then
		info "task $id (unfinished at the kill) ran $n times"
	fi
	assert_eq "$(result_field "$RUN" "$id" status)" success "status of $id"
done
[ -z "$reruns" ] || fail "tasks finished before the kill ran again:$reruns"
assert_grep '^13 tasks: 13 succeeded, 0 failed' "$TMP/submit2.out" \
    "the resumed submit's summary"
assert_grep "stopped heartbeating .*; taking the run over" \
    "$TMP/submit2.err" "the second submit took the run over"
exit 0
