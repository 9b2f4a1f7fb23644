# Fault: the main job is SIGKILLed and its CI step restarts it later than
# its lease (--main-lease 3), the common case on CI. Meanwhile its agent
# saw the main job gone and killed its tasks ("cancelled"). A new submit
# of the same run resumes it: before, it took those cancelled attempts as
# final ("long0: cancelled", the dependents skipped, exit 1). Now a task
# stopped because the main job vanished runs again as a new attempt on
# the new agent, its dependents run, and the resumed run succeeds.
# timeout: 120

. "$TOP/tests/faults/faultlib.sh"

start_redis

tf="$TMP/lapsed.json"
add_task "$tf" long0 "echo \"\$DTEQ_ATTEMPT\" >>$TMP/runs.long0; \
if [ \"\$DTEQ_ATTEMPT\" = 1 ]; then sleep 100; fi; echo long0 done"
add_task "$tf" long1 "echo \"\$DTEQ_ATTEMPT\" >>$TMP/runs.long1; \
if [ \"\$DTEQ_ATTEMPT\" = 1 ]; then sleep 100; fi; echo long1 done"
add_task "$tf" after "echo after" "long0"
taskfile "$tf"

start_agent a1 --parallel 2
bg submit1 "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --main-lease 3 \
    "$tf"
wait_for "[ -s '$TMP/runs.long0' ] && [ -s '$TMP/runs.long1' ]" 30 ||
    fail "the long tasks never started"
kill -KILL "$(bg_pid submit1)"
bg_wait submit1 5
# The agent sees the main job gone, kills both tasks, and leaves.
bg_wait agent.a1 30
assert_eq "$(bg_rc agent.a1)" 3 "exit status of the agent whose main job vanished"
assert_grep 'main job stopped responding' "$TMP/agent.a1.err" \
    "the agent says why it left"

start_agent a2 --parallel 2
submit_within 90 submit2 "$tf"
assert_eq "$SUBMIT_RC" 0 "exit status of the resumed submit"
agents_exit_ok 15 a2
out="$TMP/submit2.out"
assert_grep '^3 tasks: 3 succeeded, 0 failed, 0 skipped' "$out" \
    "summary line of the resumed run"
for t in long0 long1; do
	assert_eq "$(tr '\n' ' ' <"$TMP/runs.$t")" "1 2 " \
	    "the attempts of $t (the second after the resume)"
done
assert_grep 'long0 done' "$out" "long0's output in the resumed run"
assert_grep '^after$' "$out" "the dependent ran"
exit 0
