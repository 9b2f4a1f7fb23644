# A task's timeout covers its restores and its command together: a restore
# of 2 s and a command of 2 s under a timeout of 3 s time out, in the
# command. Two agents of one slot each take one of two slow libraries, so
# the app lacks one of them on either agent.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

tf="$TMP/tasks.json"
split_libs "$tf" "sleep 2" "sleep 2; touch '$TMP/app.done'" \
    '"timeout": 3, "retries": 0'
start_redis
checkout_agents
submit submit "$tf"
assert_eq "$SUBMIT_RC" 1 "submit exit status"
agents_exit_ok 20 a1 a2
libs_split
assert_eq "$(result_field "$RUN" app status)" timeout "the app's status"
assert_grep '^dteq: restoring the outputs of lib[12]: sleep 2' \
    "$TMP/submit.out" "the app's block shows its restore"
assert_no_file "$TMP/app.done" "the app's command ran to its end"
d=$(result_field "$RUN" app duration)
log "the app took $d ms"
[ "$d" -ge 2900 ] && [ "$d" -lt 5500 ] ||
    fail "the app took $d ms, not its 3 s timeout"
exit 0
