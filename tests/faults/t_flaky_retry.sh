# Flaky tasks: a task that fails on its first attempt and passes on its
# retry ("retries": 1) is retried on a different agent while another is
# alive, succeeds, and is reported "flaky"; a task that fails every time
# fails after its retries, both attempts on different agents. Three runs
# (six retries), so an agent choice left to chance would show.
# timeout: 90

. "$TOP/tests/faults/faultlib.sh"

start_redis

base=$RUN
for r in 1 2 3; do
	RUN="$base-$r"
	tf="$TMP/flaky$r.json"
	# The first attempt fails only after 2 s: the other agent has
	# joined by then and submit has seen it alive (the agents join
	# when submit creates the run), so "another agent" exists.
	add_task "$tf" flaky "echo \"\$DTEQ_AGENT \$DTEQ_ATTEMPT\" >>$TMP/runs.$r.flaky; [ \"\$DTEQ_ATTEMPT\" -ge 2 ] || { sleep 2; exit 1; }" "" '"retries": 1'
	add_task "$tf" broken "echo \"\$DTEQ_AGENT \$DTEQ_ATTEMPT\" >>$TMP/runs.$r.broken; exit 5" flaky '"retries": 1'
	taskfile "$tf"

	start_agent "a$r"
	start_agent "b$r"
	submit "submit$r" --lease 5 "$tf"
	assert_eq "$SUBMIT_RC" 1 "dteq submit exit status (broken fails)"
	agents_exit_ok 15 "a$r" "b$r"

	for id in flaky broken; do
		assert_eq "$(runs_of "$TMP" "$r.$id")" 2 "runs of $id"
		first=$(awk 'NR == 1 { print $1 }' "$TMP/runs.$r.$id")
		second=$(awk 'NR == 2 { print $1 }' "$TMP/runs.$r.$id")
		info "run $r: $id attempt 1 on $first, attempt 2 on $second"
		[ "$first" != "$second" ] || fail "$id's retry ran on the same agent $first (run $r)"
	done
	assert_eq "$(result_field "$RUN" flaky status)" success "status of flaky"
	assert_eq "$(result_field "$RUN" broken status)" failed "status of broken"
	out="$TMP/submit$r.out"
	grep -E '^  [a-z]+ +flaky .*flaky' "$out" | sed 's/^/    out: /'
	grep -E '^[0-9]+ tasks: .*flaky' "$out" | sed 's/^/    out: /'
	grep -qE '^  success +flaky .*flaky' "$out" ||
	    fail "the summary line of flaky does not say flaky"
	grep -qE '^2 tasks: 1 succeeded \(1 flaky\)' "$out" ||
	    fail "the summary totals do not count 1 flaky"
done
exit 0
