# What a task sees: its cwd relative to the agent's directory, the agent's
# environment plus the task's env plus DTEQ_RUN/TASK_ID/AGENT/ATTEMPT; and
# retries (the task's field over --retries) with DTEQ_ATTEMPT counting up.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

start_redis

co="$TMP/checkout"
mkdir -p "$co/libs/core"

tf="$TMP/env.json"
add_task "$tf" where "pwd >$TMP/where.txt" "" '"cwd": "libs/core"'
add_task "$tf" envt "echo \"\$FOO|\$AGENT_VAR|\$DTEQ_RUN|\$DTEQ_TASK_ID|\$DTEQ_AGENT|\$DTEQ_ATTEMPT\" >$TMP/env.txt" \
    "" '"env": {"FOO": "bar baz", "ONLY_TASK": "1"}'
add_task "$tf" flaky "echo \"flaky attempt \$DTEQ_ATTEMPT\"; [ \"\$DTEQ_ATTEMPT\" -ge 2 ]"
add_task "$tf" never "echo \$DTEQ_ATTEMPT >>$TMP/never.txt; exit 4" "" '"retries": 0'
taskfile "$tf"

# The agent runs in the checkout, with FOO set to something the task
# overrides.
bg agent.a1 env FOO=agent-foo AGENT_VAR=from-agent \
    sh -c 'cd "$1" && shift && exec "$@"' sh "$co" \
    "$DTEQ" work --redis "$REDIS_URL" --run "$RUN" --name a1
submit submit --retries 1 "$tf"
assert_eq "$SUBMIT_RC" 1 "dteq submit exit status (task never fails)"
agents_exit_ok 15 a1

assert_eq "$(cat "$TMP/where.txt")" "$co/libs/core" "cwd of task where"
assert_eq "$(cat "$TMP/env.txt")" "bar baz|from-agent|$RUN|envt|a1|1" \
    "environment of task envt"

assert_eq "$(result_field "$RUN" flaky status)" success "status of flaky"
assert_eq "$(result_field "$RUN" flaky attempt)" 2 "attempt of flaky"
assert_eq "$(count_lines "$TMP/submit.out" "< flaky: succeeded")" 1 \
    "'succeeded' footer of flaky"
assert_grep '^flaky attempt 2$' "$TMP/submit.out" "output of flaky's attempt 2"

assert_eq "$(cat "$TMP/never.txt")" 1 "attempts of never (retries: 0)"
assert_eq "$(result_field "$RUN" never status)" failed "status of never"
assert_eq "$(count_lines "$TMP/submit.out" "< never: failed (exit 4)")" 1 \
    "'failed (exit 4)' footer of never"
exit 0
