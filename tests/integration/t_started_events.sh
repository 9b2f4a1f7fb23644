# Submit hears of every start, whichever way the agent took the task: by
# a blocking pop and the start script (its own "started" event), or in
# the finish script of the task before it, where the start rides on the
# "finished" event as its "next" (from the queue, or a dependent the
# finish released). One agent with one slot runs four independent tasks
# and a chain of two; submit's debug log must name the agent for each.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

start_redis

tf="$TMP/started.json"
for t in t1 t2 t3 t4; do
	add_task "$tf" "$t" "sleep 0.2"
done
add_task "$tf" c1 "sleep 0.2"
add_task "$tf" c2 "sleep 0.2" c1
taskfile "$tf"

start_agent a1 --parallel 1
submit submit "$tf" -v
assert_eq "$SUBMIT_RC" 0 "dteq submit exit status"
agents_exit_ok 15 a1
for t in t1 t2 t3 t4 c1 c2; do
	assert_grep "$t started on a1\$" "$TMP/submit.err" "no start of $t"
done
