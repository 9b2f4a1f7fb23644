# A failing test in an Nx workspace: `dteq submit --nx "run-many -t
# test,build,e2e"` where @ws/api's test fails. Submit exits 1 and shows the
# failing task's output (Nx's and the test's own); the tasks that need it
# (the e2e of the four apps that depend on api: e2e dependsOn ^test) are
# skipped and never run; everything else still runs. 3 agents share one
# copy of the workspace.
# timeout: 300

. "$TOP/tests/integration/lib.sh"
# Agents here share one checkout: the commands keep the tools' flags.
DTEQ_TOOL_DEPS=exclude
export DTEQ_TOOL_DEPS
. "$TOP/tests/nx/lib.sh"

nx_setup
ws="$TMP/ws"
nx_workspace "$ws" --fail-test api
start_redis
cd "$ws" || fail "cd $ws"

for a in a1 a2 a3; do
	start_agent "$a"
done
nx_submit submit 270 --nx "run-many -t test,build,e2e"
assert_eq "$SUBMIT_RC" 1 "dteq submit exit status with a failing test"
agents_exit_ok 30 a1 a2 a3

out="$TMP/submit.out"
assert_grep 'expected 42, got 41 \(FAIL_TEST\)' "$out" \
    "the failing test's own output in submit's output"
assert_grep '^> nx run @ws/api:test$' "$out" "Nx's banner of the failing task"
assert_eq "$(count_lines "$out" "< @ws/api:test: failed (exit 1)")" 1 \
    "'failed (exit 1)' footer of @ws/api:test"
assert_eq "$(result_field "$RUN" @ws/api:test status)" failed \
    "status of @ws/api:test"

for p in web admin mobile server; do
	id="@ws/$p:e2e"
	assert_eq "$(count_lines "$out" "- $id: skipped")" 1 \
	    "'skipped' line of $id"
	assert_eq "$(count_lines "$out" "> $id (")" 0 "block of $id"
	assert_eq "$(result_field "$RUN" "$id" status)" skipped "status of $id"
done
assert_no_grep '^e2e @ws/(web|admin|mobile|server)' "$out" \
    "a skipped e2e ran"
assert_eq "$(result_field "$RUN" @ws/docs:e2e status)" success \
    "status of @ws/docs:e2e (does not need api)"
assert_grep '^e2e @ws/docs: ok' "$out" "docs' e2e ran"
for p in util log core data ui api forms charts web admin mobile server docs; do
	assert_eq "$(result_field "$RUN" "@ws/$p:build" status)" success \
	    "status of @ws/$p:build"
done
assert_grep '^31 tasks: 26 succeeded, 1 failed, 4 skipped' "$out" \
    "summary line"
exit 0
