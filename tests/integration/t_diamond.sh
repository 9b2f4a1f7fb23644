# A diamond-shaped graph on 3 agents with --parallel 2: every task runs
# once, only after all its dependencies ended, and is reported once.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis

# id and deps, one task a line.
GRAPH='a -
b a
c a
d b,c
e a
f d,e
g -
h g,d'

tf="$TMP/diamond.json"
echo "$GRAPH" | while read -r id deps; do
	[ "$deps" = - ] && deps=""
	add_task "$tf" "$id" "echo \"start \$(date +%s%N)\" >>$TMP/ts.\$DTEQ_TASK_ID; \
echo \"hello from \$DTEQ_TASK_ID on \$DTEQ_AGENT\"; sleep 0.3; \
echo \"end \$(date +%s%N)\" >>$TMP/ts.\$DTEQ_TASK_ID" \
	    "$(echo "$deps" | tr , ' ')"
done
taskfile "$tf"

log "3 agents, --parallel 2"
for a in a1 a2 a3; do
	start_agent "$a" --parallel 2
done
submit submit "$tf"
assert_eq "$SUBMIT_RC" 0 "dteq submit exit status"
agents_exit_ok 15 a1 a2 a3

stamp() {
	sed -n "s/^$2 //p" "$TMP/ts.$1"
}

echo "$GRAPH" | while read -r id deps; do
	assert_file "$TMP/ts.$id" "task $id did not run"
	assert_eq "$(grep -c '^start ' "$TMP/ts.$id")" 1 "runs of task $id"
	assert_eq "$(grep -c '^end ' "$TMP/ts.$id")" 1 "ends of task $id"
	start=$(stamp "$id" start)
	for dep in $(echo "$deps" | tr , ' '); do
		[ "$dep" = - ] && continue
		end=$(stamp "$dep" end)
		[ $((start > end)) -eq 1 ] ||
		    fail "task $id started ($start) before its dep $dep ended ($end)"
	done
	assert_eq "$(count_lines "$TMP/submit.out" "> $id (")" 1 \
	    "block headers of task $id in submit's output"
	assert_eq "$(count_lines "$TMP/submit.out" "< $id: succeeded")" 1 \
	    "'succeeded' footers of task $id in submit's output"
	assert_grep "^hello from $id on a[123]\$" "$TMP/submit.out" \
	    "task $id's output (with DTEQ_TASK_ID and DTEQ_AGENT) in submit's output"
	assert_eq "$(result_field "$RUN" "$id" status)" success \
	    "status of $id in the results hash"
done || exit 1

assert_grep '^8 tasks: 8 succeeded' "$TMP/submit.out" "summary line"
exit 0
