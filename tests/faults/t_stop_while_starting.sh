# Fault: the run ends ("done") while an idle agent's popped message waits
# for its start script, and the start script then refuses the message (a
# stale attempt). The agent held that message as a task when the stop
# came, so it must leave once the refusal frees the slot; before this was
# fixed it waited for ever. To line the two up, the agent is frozen
# (SIGSTOP) while its blocking pop is served and the stop is published,
# then thawed: it reads both in one wake-up, in either order. Three
# rounds, so the order that hung comes up with near certainty.
# timeout: 120

. "$TOP/tests/faults/faultlib.sh"

start_redis

round=1
while [ $round -le 3 ]; do
	r="$RUN-$round"
	tf="$TMP/stop$round.json"
	add_task "$tf" x "n=0; while [ ! -e $TMP/go.$round ] && [ \$n -lt 300 ]; do sleep 0.1; n=\$((n + 1)); done"
	taskfile "$tf"
	bg "agent.b$round" "$DTEQ" work --redis "$REDIS_URL" --run "$r" \
	    --name "b$round"
	bg "submit$round" "$DTEQ" submit --redis "$REDIS_URL" --run "$r" "$tf"
	wait_for "[ \"\$(rcli hget 'dteq:{$r}:claims' x)\" = '1 b$round' ]" 20 ||
	    fail "x never started on b$round"
	bg "agent.i$round" "$DTEQ" work --redis "$REDIS_URL" --run "$r" \
	    --name "i$round"
	# i joined and waits in its blocking pop.
	wait_for "[ \"\$(rcli client list | grep -c ' flags=b ')\" = 1 ]" 20 ||
	    fail "i$round never blocked on the queue"
	kill -STOP "$(bg_pid "agent.i$round")"
	rcli lpush "dteq:{$r}:queue" \
	    "{\"run\":\"$r\",\"id\":\"ghost\",\"attempt\":1,\"command\":\"true\"}" \
	    >/dev/null
	wait_for "[ \"\$(rcli llen 'dteq:{$r}:queue')\" = 0 ]" 10 ||
	    fail "the blocked pop was not served"
	rcli publish "dteq:{$r}:control" '{"type":"stop","reason":"done"}' \
	    >/dev/null
	kill -CONT "$(bg_pid "agent.i$round")"
	wait_for "bg_done agent.i$round" 15 ||
	    fail "agent i$round still running 15 s after the run ended"
	assert_eq "$(bg_rc "agent.i$round")" 0 "exit status of i$round"
	touch "$TMP/go.$round"
	bg_wait "submit$round" 30
	agents_exit_ok 15 "b$round"
	round=$((round + 1))
done
exit 0
