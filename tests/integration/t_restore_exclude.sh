# DTEQ_TOOL_DEPS=exclude (agents sharing one checkout, as `dteq run` sets)
# drops the restores of a task file's tasks: the same graph that makes an
# agent restore a dependency it did not build restores nothing with it.
# Two agents of one slot each take one of two slow libraries, so the app,
# which needs both, lacks one of them on either agent.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

mkdir -p "$TMP/a1" "$TMP/a2" || fail "mkdir"
# Each library build waits until both agents build one.
two_agents_script "$TMP/two.sh"
tf="$TMP/tasks.json"
for l in lib1 lib2; do
	add_task "$tf" "$l" "sh $TMP/two.sh" "" \
	    "\"restore\": $(json_str "echo $l >>'$TMP/restored'")"
done
add_task "$tf" app "true" "lib1 lib2"
taskfile "$tf"
start_redis

# run_once NAME: both agents, each in its own directory, then submit.
run_once() {
	for a in a1 a2; do
		cd "$TMP/$a" || fail "cd $TMP/$a"
		start_agent "$a"
	done
	cd "$TMP" || fail "cd $TMP"
	submit "$1" "$tf"
	assert_eq "$SUBMIT_RC" 0 "submit exit status ($1)"
	agents_exit_ok 20 a1 a2
	[ "$(result_field "$RUN" lib1 agent)" != \
	    "$(result_field "$RUN" lib2 agent)" ] ||
	    fail "one agent built both libraries ($1): nothing to restore"
}

run_once restore
assert_eq "$(grep -c . "$TMP/restored")" 1 "restores in the default mode"
assert_grep '^dteq: restoring the outputs of lib[12]: echo lib[12]' \
    "$TMP/restore.out" "the app's block shows its restore"

RUN="$RUN-x"
rm -f "$TMP/restored"
DTEQ_TOOL_DEPS=exclude
export DTEQ_TOOL_DEPS
run_once exclude
assert_no_file "$TMP/restored" "a restore ran with DTEQ_TOOL_DEPS=exclude"
assert_no_grep 'restoring' "$TMP/exclude.out" \
    "the app's block shows a restore with DTEQ_TOOL_DEPS=exclude"
exit 0
