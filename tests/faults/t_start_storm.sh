# Fault: Redis cuts every client connection, again and again (CLIENT KILL
# TYPE normal in a loop), while `dteq status` and `dteq submit` start. A
# write on a cut connection is EPIPE: before SIGPIPE was ignored from the
# start, it killed the command by the signal (exit 141, nothing on
# stderr), in up to 4 of 25 start-ups. Now every one ends by its own exit
# status, and one that fails says why; a submit with --agent-wait 1 and no
# agent ends (exit 3), whatever the storm does to its connections.
# timeout: 240

. "$TOP/tests/faults/faultlib.sh"

start_redis

tf="$TMP/one.json"
printf '{"tasks": [{"id": "one", "command": "true"}]}\n' >"$tf"

# The storm: a CLIENT KILL as fast as redis-cli can send them.
(
	while :; do
		rcli client kill type normal >/dev/null 2>&1
	done
) &
storm=$!
track_pid "$storm"

i=0
died=0
while [ $i -lt 25 ]; do
	i=$((i + 1))
	timeout -k 5 30 "$DTEQ" status --redis "$REDIS_URL" --run "st-$i" \
	    >"$TMP/status.$i.out" 2>"$TMP/status.$i.err"
	rc=$?
	[ $rc -eq 124 ] && fail "dteq status $i did not end within 30 s"
	if [ $rc -ge 128 ]; then
		info "dteq status $i: killed by signal $((rc - 128))"
		died=$((died + 1))
	elif [ ! -s "$TMP/status.$i.err" ] && [ ! -s "$TMP/status.$i.out" ]; then
		fail "dteq status $i exited $rc without a word"
	fi
done
assert_eq "$died" 0 "dteq status runs killed by a signal (of 25)"

i=0
while [ $i -lt 10 ]; do
	i=$((i + 1))
	RUN="$TEST_NAME-$$-$i"
	submit_within 60 "submit.$i" --agent-wait 1 "$tf"
	[ $SUBMIT_RC -ge 128 ] &&
	    fail "dteq submit $i: killed by signal $((SUBMIT_RC - 128))"
	assert_eq "$SUBMIT_RC" 3 "dteq submit $i exit status (no agent)"
	[ -s "$TMP/submit.$i.err" ] ||
	    fail "dteq submit $i exited 3 without a word on stderr"
done
kill "$storm"
exit 0
