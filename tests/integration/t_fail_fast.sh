# --fail-fast: once a task fails, nothing more starts. The tasks still
# queued are taken back (a newer attempt number in attempts and claims
# makes any copy an agent pops stale) and reported skipped with the
# reason; the task that was running when it failed finishes and is
# reported; submit exits 1. An agent that pops a message of the old
# attempt drops it as stale.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis

tf="$TMP/ff.json"
mark="echo \$DTEQ_ATTEMPT >>$TMP/ran.\$DTEQ_TASK_ID"
add_task "$tf" bad "$mark; sleep 0.3; echo 'failing now'; exit 3"
add_task "$tf" busy "$mark; sleep 1.5; echo busy done"
# Each q task takes 0.2 s, as a real task would: with tasks of a few ms an
# agent could finish several, each taking the next in its finish, while
# submit's halt was still on its way (3 ran once, under the sanitizers).
for i in 1 2 3 4 5 6; do
	add_task "$tf" "q$i" "$mark; sleep 0.2; echo q$i"
done
add_task "$tf" after "$mark" "bad"
taskfile "$tf"

# Submit first, so every root is queued before the agents come; keep a
# copy of a queued message to push again after the fail-fast.
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --fail-fast \
    "$tf"
q="dteq:{$RUN}:queue"
wait_for "[ \"\$(rcli llen '$q')\" = 8 ]" 20 || fail "the roots were not queued"
old_q1=$(rcli --raw lrange "$q" 0 -1 | grep '"id":"q1"')
[ -n "$old_q1" ] || fail "no queued message of q1"

# One agent, two slots: bad and busy (the first two popped) run; the
# six q tasks wait behind them.
start_agent a1 --parallel 2
bg_wait submit 60
assert_eq "$(bg_rc submit)" 1 "exit status of submit --fail-fast"
agents_exit_ok 15 a1

out="$TMP/submit.out"
ran=$(ls "$TMP" | sed -n 's/^ran\.//p' | sort | tr '\n' ' ')
log "tasks that ran: $ran"
assert_file "$TMP/ran.bad" "the failing task ran"
assert_no_file "$TMP/ran.after" "the dependent of the failed task ran"
# A q task an agent took in the moment of the failure may have run (the
# agent's pop and the failure's record are one step); its result is then
# kept if submit knew it had started, else discarded as stale. Either
# way each q task is reported once, and most never ran.
ranq=0
for i in 1 2 3 4 5 6; do
	st=$(result_field "$RUN" "q$i" status)
	if [ -e "$TMP/ran.q$i" ]; then
		ranq=$((ranq + 1))
		case "$st" in
		success|skipped) ;;
		*) fail "status of q$i, which ran: '$st'" ;;
		esac
	else
		assert_eq "$st" skipped "status of q$i, which did not run"
	fi
	n=$(($(count_lines "$out" "- q$i: skipped") + \
	    $(count_lines "$out" "> q$i (")))
	assert_eq "$n" 1 "reports of q$i"
done
[ "$ranq" -le 2 ] || fail "$ranq queued tasks ran after the failure"
assert_grep 'fail-fast' "$out" "the reason of the skips"
assert_eq "$(rcli llen "$q")" 0 "messages left on the queue"

# A copy of q1's old message pushed again is stale for every agent: the
# attempts and claims hashes both moved past it.
if [ ! -e "$TMP/ran.q1" ]; then
	att=$(rcli hget "dteq:{$RUN}:attempts" q1)
	assert_eq "$(rcli hget "dteq:{$RUN}:claims" q1)" "$att" \
	    "claims of q1 after the fail-fast"
	assert_eq "$att" 2 "attempt of q1 after the fail-fast"
fi
exit 0
