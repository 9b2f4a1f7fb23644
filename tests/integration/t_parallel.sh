# --parallel bounds the tasks an agent runs at once: 2 agents with
# --parallel 2 and 12 independent tasks; no agent ever runs more than 2,
# both agents run tasks, and the slots are really used in parallel.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis

tf="$TMP/parallel.json"
i=1
while [ $i -le 12 ]; do
	add_task "$tf" "t$i" "f=$TMP/ev.\$DTEQ_TASK_ID; \
echo \"\$DTEQ_AGENT \$(date +%s%N) 1\" >>\$f; sleep 0.6; \
echo \"\$DTEQ_AGENT \$(date +%s%N) -1\" >>\$f"
	i=$((i + 1))
done
taskfile "$tf"

start_agent a1 --parallel 2
start_agent a2 --parallel 2
submit submit "$tf"
assert_eq "$SUBMIT_RC" 0 "dteq submit exit status"
agents_exit_ok 15 a1 a2

i=1
while [ $i -le 12 ]; do
	assert_file "$TMP/ev.t$i" "task t$i did not run"
	assert_eq "$(wc -l <"$TMP/ev.t$i" | tr -d ' ')" 2 "event lines of t$i"
	i=$((i + 1))
done

# Per agent: +1 at each start, -1 at each end, in time order (an end
# before a start at the same instant); the running maximum is the most
# tasks the agent ran at once. Prints "agent max tasks".
cat "$TMP"/ev.t* | sort -k1,1 -k2,2n -k3,3n | awk '
{
	if ($3 > 0)
		tasks[$1]++
	cur[$1] += $3
	if (cur[$1] > max[$1])
		max[$1] = cur[$1]
}
END { for (a in max) print a, max[a], tasks[a] }' | sort >"$TMP/overlap"
cat "$TMP/overlap"

assert_eq "$(awk '{ print $1 }' "$TMP/overlap" | tr '\n' ' ')" "a1 a2 " \
    "agents that ran tasks"
awk '$2 > 2 { exit 1 }' "$TMP/overlap" ||
    fail "an agent ran more than 2 tasks at once: $(cat "$TMP/overlap")"
awk '$2 == 2 { ok = 1 } END { exit !ok }' "$TMP/overlap" ||
    fail "no agent ever ran 2 tasks at once: $(cat "$TMP/overlap")"
exit 0
