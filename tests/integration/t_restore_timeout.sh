# A task's timeout covers its restores and its command together: a restore
# of 2 s and a command of 2 s under a timeout of 3 s time out, in the
# command. Two agents of one slot each take one of two slow libraries, so
# the app lacks one of them on either agent.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

mkdir -p "$TMP/a1" "$TMP/a2" || fail "mkdir"
# Each library build waits until both agents build one.
two_agents_script "$TMP/two.sh"
tf="$TMP/tasks.json"
for l in lib1 lib2; do
	add_task "$tf" "$l" "sh $TMP/two.sh" "" "\"restore\": \"sleep 2\""
done
add_task "$tf" app "sleep 2; touch '$TMP/app.done'" "lib1 lib2" \
    "\"timeout\": 3, \"retries\": 0"
taskfile "$tf"
start_redis
for a in a1 a2; do
	cd "$TMP/$a" || fail "cd $TMP/$a"
	start_agent "$a"
done
cd "$TMP" || fail "cd $TMP"
submit submit "$tf"
assert_eq "$SUBMIT_RC" 1 "submit exit status"
agents_exit_ok 20 a1 a2
[ "$(result_field "$RUN" lib1 agent)" != "$(result_field "$RUN" lib2 agent)" ] ||
    fail "one agent built both libraries: nothing to restore"
assert_eq "$(result_field "$RUN" app status)" timeout "the app's status"
assert_grep '^dteq: restoring the outputs of lib[12]: sleep 2' \
    "$TMP/submit.out" "the app's block shows its restore"
assert_no_file "$TMP/app.done" "the app's command ran to its end"
d=$(result_field "$RUN" app duration)
log "the app took $d ms"
[ "$d" -ge 2900 ] && [ "$d" -lt 5500 ] ||
    fail "the app took $d ms, not its 3 s timeout"
exit 0
