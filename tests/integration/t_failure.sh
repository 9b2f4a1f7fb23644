# A failing task fails the run (exit 1); its dependents, direct and
# transitive, are skipped and never run; independent tasks still run.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis

tf="$TMP/failure.json"
mark="touch $TMP/ran.\$DTEQ_TASK_ID"
add_task "$tf" ok1 "$mark; echo ok1 done"
add_task "$tf" bad "echo 'about to fail: boom-42'; echo 'stderr line' >&2; exit 7"
add_task "$tf" dep1 "$mark" "bad"
add_task "$tf" dep2 "$mark" "dep1"
add_task "$tf" dep3 "$mark" "ok1 bad"
add_task "$tf" ok2 "sleep 0.5; $mark" "ok1"
add_task "$tf" late "sleep 0.5; $mark" "ok2"
taskfile "$tf"

start_agent a1
start_agent a2
submit submit "$tf"
assert_eq "$SUBMIT_RC" 1 "dteq submit exit status with a failed task"
agents_exit_ok 15 a1 a2

out="$TMP/submit.out"
assert_grep 'about to fail: boom-42' "$out" \
    "the failing task's output in submit's output"
assert_eq "$(count_lines "$out" "> bad (")" 1 "block headers of task bad"
assert_eq "$(count_lines "$out" "< bad: failed (exit 7)")" 1 \
    "'failed (exit 7)' footer of task bad"
assert_eq "$(result_field "$RUN" bad status)" failed "status of bad"
assert_eq "$(result_field "$RUN" bad exit)" 7 "exit of bad"

for t in dep1 dep2 dep3; do
	assert_no_file "$TMP/ran.$t" "skipped task $t ran"
	assert_eq "$(count_lines "$out" "- $t: skipped")" 1 \
	    "'skipped' lines of task $t"
	assert_eq "$(count_lines "$out" "> $t (")" 0 "block headers of task $t"
	assert_eq "$(result_field "$RUN" "$t" status)" skipped \
	    "status of $t in the results hash"
done

for t in ok1 ok2 late; do
	assert_file "$TMP/ran.$t" "independent task $t did not run"
	assert_eq "$(count_lines "$out" "< $t: succeeded")" 1 \
	    "'succeeded' footer of task $t"
	assert_eq "$(result_field "$RUN" "$t" status)" success "status of $t"
done

assert_grep '^7 tasks: 3 succeeded, .*1 failed' "$out" "summary line (failed)"
assert_grep '^7 tasks: .*3 skipped' "$out" "summary line (skipped)"
exit 0
