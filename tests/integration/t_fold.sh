# Both slots of an agent take their next task with their finish: one
# agent --parallel 2 runs 10 rounds of two tasks that end at the same
# instant (both read one named pipe, whose writing end a process of the
# test holds open; once both readers have it open the test kills that
# process, and both reads end together). Each finish pops the queue's
# next task in its own round trip, so the agent sends BLMOVE only for
# its first two tasks and to wait at the end, never once a round (the
# second finish of a round used to leave its slot to a BLMOVE and a
# start script while the first one's pop was in flight). Every task
# runs once, in pairs.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis

tf="$TMP/fold.json"
i=1
while [ $i -le 20 ]; do
	k=$(((i + 1) / 2))
	[ -p "$TMP/fifo.$k" ] || mkfifo "$TMP/fifo.$k"
	add_task "$tf" "t$i" "touch $TMP/ran.t$i; cat $TMP/fifo.$k >/dev/null"
	i=$((i + 1))
done
taskfile "$tf"

start_agent a1 --parallel 2
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" "$tf"

# opened FIFO: how many descriptors of live processes point at FIFO.
opened() {
	find /proc/[0-9]*/fd -lname "$1" 2>/dev/null | wc -l
}

k=1
while [ $k -le 10 ]; do
	a=$((2 * k - 1))
	b=$((2 * k))
	sleep 60 >"$TMP/fifo.$k" &	# the writing end, held open
	holder=$!
	track_pid "$holder"
	wait_for "[ -e $TMP/ran.t$a ] && [ -e $TMP/ran.t$b ]" 20 ||
	    fail "round $k: t$a and t$b did not both start"
	wait_for "[ \$(opened $TMP/fifo.$k) -ge 3 ]" 20 ||
	    fail "round $k: the two tasks did not both open the pipe"
	kill "$holder"
	wait "$holder" 2>/dev/null
	k=$((k + 1))
done
bg_wait submit 30
assert_eq "$(bg_rc submit)" 0 "dteq submit exit status"
agents_exit_ok 15 a1

i=1
while [ $i -le 20 ]; do
	assert_eq "$(result_field "$RUN" "t$i" status)" success "t$i status"
	i=$((i + 1))
done
blmove=$(cmd_calls blmove)
log "BLMOVE calls: $blmove"
[ "$blmove" -le 4 ] ||
    fail "the agent sent $blmove BLMOVEs for 10 rounds (want <= 4)"
exit 0
