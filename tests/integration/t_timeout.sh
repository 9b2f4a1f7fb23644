# A task over its "timeout" is killed with its whole process tree (a
# grandchild that sleeps forever included), reported timed out, and the
# run fails with exit 1 long before the sleep would have ended.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis

tf="$TMP/timeout.json"
add_task "$tf" hang "echo hanging; sh -c 'sleep 1000 & echo \$! >$TMP/gc.pid; wait'" \
    "" '"timeout": 2'
add_task "$tf" after "touch $TMP/ran.after" hang
add_task "$tf" other "echo other ok"
taskfile "$tf"

start_agent a1 --parallel 2
submit submit "$tf"
assert_eq "$SUBMIT_RC" 1 "dteq submit exit status with a timed-out task"
[ "$SUBMIT_TOOK" -lt 60 ] || fail "the run took $SUBMIT_TOOK s"
agents_exit_ok 15 a1

pidfile_gone "$TMP/gc.pid" "the grandchild"

out="$TMP/submit.out"
assert_eq "$(count_lines "$out" "< hang: timed out")" 1 \
    "'timed out' footer of hang"
assert_grep '^hanging$' "$out" "output of hang before the timeout"
assert_eq "$(result_field "$RUN" hang status)" timeout "status of hang"
assert_eq "$(count_lines "$out" "- after: skipped")" 1 "after is skipped"
assert_no_file "$TMP/ran.after" "the dependent of a timed-out task ran"
assert_eq "$(result_field "$RUN" other status)" success "status of other"
exit 0
