# `dteq record -- COMMAND...` (Nx Cloud's `nx-cloud record`): the command
# runs in the main job with its output shown, and is recorded in the run as
# a result of agent "main" with its log, so `dteq logs` shows it; record
# exits with the command's status. Redis is needed only after the command.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

start_redis

# A command that succeeds, recorded before the run's submit.
"$DTEQ" record --redis "$REDIS_URL" --run "$RUN" --id format:check -- \
    sh -c 'echo "checked 12 files"; echo "a warning" >&2' \
    >"$TMP/rec1.out" 2>"$TMP/rec1.err"
assert_eq "$?" 0 "record exit status (success)"
assert_grep '^checked 12 files$' "$TMP/rec1.out" "the command's output shown"
assert_grep '^a warning$' "$TMP/rec1.out" "its stderr shown, on the same pipe"
assert_eq "$(result_field "$RUN" format:check status)" success \
    "status of the recorded command"
assert_eq "$(result_field "$RUN" format:check agent)" main "agent of it"
assert_eq "$(result_field "$RUN" format:check attempt)" 1 "attempt of it"
assert_eq "$(result_field "$RUN" format:check exit)" 0 "exit of it"
"$DTEQ" logs --redis "$REDIS_URL" --run "$RUN" format:check \
    >"$TMP/logs1.out" 2>&1 || fail "dteq logs of a recorded command"
assert_grep '^checked 12 files$' "$TMP/logs1.out" "dteq logs shows its output"
ttl=$(rcli ttl "dteq:{$RUN}:log:1:format:check")
[ "$ttl" -gt 0 ] || fail "the log key has no TTL ($ttl)"
ttl=$(rcli ttl "dteq:{$RUN}:results")
[ "$ttl" -gt 0 ] || fail "the results hash has no TTL ($ttl)"

# A failing command: its status is record's; the id defaults to the
# command line; the run's tasks are then submitted as usual.
"$DTEQ" record --redis "$REDIS_URL" --run "$RUN" -- sh -c 'echo bad; exit 7' \
    >"$TMP/rec2.out" 2>"$TMP/rec2.err"
assert_eq "$?" 7 "record exit status (command exit 7)"
id="sh -c echo bad; exit 7"
assert_eq "$(result_field "$RUN" "$id" status)" failed "status (failed)"
assert_eq "$(result_field "$RUN" "$id" exit)" 7 "exit of the failed command"

tf="$TMP/tasks.json"
add_task "$tf" build "echo built"
taskfile "$tf"
start_agent a1
submit submit "$tf"
assert_eq "$SUBMIT_RC" 0 "submit after the records"
agents_exit_ok 15 a1
assert_eq "$(result_field "$RUN" format:check status)" success \
    "the record is still in the run after submit"

# Recording the same id again is its next attempt.
"$DTEQ" record --redis "$REDIS_URL" --run "$RUN" --id format:check -- \
    sh -c 'echo second' >/dev/null 2>&1
assert_eq "$?" 0 "record again"
assert_eq "$(result_field "$RUN" format:check attempt)" 2 "second attempt"
"$DTEQ" logs --redis "$REDIS_URL" --run "$RUN" format:check \
    >"$TMP/logs2.out" 2>&1
assert_grep '^second$' "$TMP/logs2.out" "dteq logs shows the latest attempt"

# A command that cannot be run: 127, and recorded as such.
"$DTEQ" record --redis "$REDIS_URL" --run "$RUN" --id missing -- \
    /nonexistent/tool >"$TMP/rec3.out" 2>&1
assert_eq "$?" 127 "record of a command that does not exist"
assert_grep 'cannot run /nonexistent/tool' "$TMP/rec3.out" "the reason shown"
assert_eq "$(result_field "$RUN" missing exit)" 127 "its recorded exit"

# Bad usage: nothing runs, exit 2.
"$DTEQ" record --redis "$REDIS_URL" --run "$RUN" >"$TMP/rec4.out" 2>&1
assert_eq "$?" 2 "record without a command"
assert_grep 'no command given' "$TMP/rec4.out" "the usage error"
"$DTEQ" record --redis "$REDIS_URL" -- touch "$TMP/ran" >"$TMP/rec5.out" 2>&1
assert_eq "$?" 2 "record without a run id"
assert_no_file "$TMP/ran" "the command ran despite a usage error"

# Redis unreachable: the command still runs; a success that could not be
# recorded is exit 3, a failure keeps its own status.
port=$(random_port)
"$DTEQ" record --redis "redis://127.0.0.1:$port" --run "$RUN" \
    --connect-timeout 1 -- touch "$TMP/ran" >"$TMP/rec6.out" 2>&1
assert_eq "$?" 3 "record of a success with Redis unreachable"
assert_file "$TMP/ran" "the command did not run with Redis unreachable"
assert_grep 'cannot reach Redis|recording' "$TMP/rec6.out" "the reason"
"$DTEQ" record --redis "redis://127.0.0.1:$port" --run "$RUN" \
    --connect-timeout 1 -- sh -c 'exit 5' >/dev/null 2>&1
assert_eq "$?" 5 "record of a failure with Redis unreachable"
exit 0
