# DTEQ_TOOL_DEPS=exclude (agents sharing one checkout, as `dteq run` sets)
# drops the restores of a task file's tasks: the same graph that makes an
# agent restore a dependency it did not build restores nothing with it.
# Two agents of one slot each take one of two slow libraries, so the app,
# which needs both, lacks one of them on either agent.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

tf="$TMP/tasks.json"
split_libs "$tf" "echo {} >>'$TMP/restored'" true
start_redis

# run_once NAME: both agents, each in its own directory, then submit.
run_once() {
	checkout_agents
	submit "$1" "$tf"
	assert_eq "$SUBMIT_RC" 0 "submit exit status ($1)"
	agents_exit_ok 20 a1 a2
	libs_split "$1"
}

run_once restore
assert_eq "$(grep -c . "$TMP/restored")" 1 "restores in the default mode"
assert_grep '^dteq: restoring the outputs of lib[12]: echo lib[12]' \
    "$TMP/restore.out" "the app's block shows its restore"

RUN="$RUN-x"
rm -f "$TMP/restored"
tool_deps exclude
run_once exclude
assert_no_file "$TMP/restored" "a restore ran with DTEQ_TOOL_DEPS=exclude"
assert_no_grep 'restoring' "$TMP/exclude.out" \
    "the app's block shows a restore with DTEQ_TOOL_DEPS=exclude"
exit 0
