# Fault: SIGTERM (then, on a second run, SIGINT) to `dteq submit` mid-run
# cancels the run: the stop sentinel says "cancelled", the agents kill
# their tasks and exit, the queued task never runs, and submit exits 3
# naming the tasks that did not finish, all within a few seconds.
# timeout: 90

. "$TOP/tests/faults/faultlib.sh"

start_redis

for sig in TERM INT; do
	run="$RUN-$sig"
	tf="$TMP/cancel-$sig.json"
	add_task "$tf" long1 "echo \$\$ >$TMP/pid.$sig.long1; sleep 60; touch $TMP/finished.$sig.long1"
	add_task "$tf" long2 "echo \$\$ >$TMP/pid.$sig.long2; sleep 60; touch $TMP/finished.$sig.long2"
	add_task "$tf" quick "echo quick"
	add_task "$tf" later "touch $TMP/ran.$sig.later" "long1 long2"
	taskfile "$tf"
	bg "agent.$sig-1" "$DTEQ" work --redis "$REDIS_URL" --run "$run" --name "$sig-1"
	bg "agent.$sig-2" "$DTEQ" work --redis "$REDIS_URL" --run "$run" --name "$sig-2"
	bg "submit.$sig" "$DTEQ" submit --redis "$REDIS_URL" --run "$run" --lease 5 "$tf"
	wait_for "[ -s '$TMP/pid.$sig.long1' ] && [ -s '$TMP/pid.$sig.long2' ]" 30 ||
	    fail "the long tasks never started ($sig)"
	p1=$(cat "$TMP/pid.$sig.long1")
	p2=$(cat "$TMP/pid.$sig.long2")
	track_pid "$p1"
	track_pid "$p2"
	sleep 0.5
	log "SIG$sig to submit"
	kill "-$sig" "$(bg_pid "submit.$sig")"
	t0=$(now_ms)
	wait_for "bg_done submit.$sig" 10 || fail "submit still running 10 s after SIG$sig"
	info "$sig: submit exit $(bg_rc "submit.$sig") after $(elapsed_ms "$t0") ms"
	assert_eq "$(bg_rc "submit.$sig")" 3 "exit status of submit after SIG$sig"
	grep -i 'cancel\|not finish' "$TMP/submit.$sig.err" | sed 's/^/    err: /'
	assert_grep 'cancel' "$TMP/submit.$sig.err" "submit does not say the run was cancelled"
	for id in long1 long2 later; do
		grep -i 'not finish\|never ran\|unfinished' "$TMP/submit.$sig.err" |
		    grep -q "$id" || fail "submit's error does not name unfinished task $id ($sig)"
	done
	stop=$(rcli get "dteq:{$run}:stop")
	info "$sig: stop sentinel '$stop'"
	case "$stop" in
	*cancelled*) ;;
	*) fail "stop sentinel is '$stop', not 'cancelled' ($sig)" ;;
	esac
	for a in "$sig-1" "$sig-2"; do
		wait_for "bg_done agent.$a" 10 || fail "agent $a still running 10 s after SIG$sig"
		info "$sig: agent $a exit $(bg_rc "agent.$a")"
	done
	wait_for "! pid_alive $p1 && ! pid_alive $p2" 5 ||
	    fail "tasks still run after the run was cancelled ($sig)"
	assert_no_file "$TMP/finished.$sig.long1" "long1 finished after cancel"
	assert_no_file "$TMP/ran.$sig.later" "a queued task ran after cancel"
	for a in "$sig-1" "$sig-2"; do
		assert_eq "$(bg_rc "agent.$a")" 0 "exit status of agent $a after cancel"
	done
done
exit 0
