# `dteq record -- COMMAND...` (Nx Cloud's `nx-cloud record`): the command
# runs in the main job with its output shown, and is recorded in the run as
# a result of agent "main" with its log, so `dteq logs` shows it; record
# exits with the command's status. Redis is needed only after the command.
# Submit's summary, --junit, --json and --report list the commands recorded
# in its run apart from its tasks, without changing its exit status.
# timeout: 90

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

ttl=$(rcli ttl "dteq:{$RUN}:records")
[ "$ttl" -gt 0 ] || fail "the records hash has no TTL ($ttl)"

# Submit's summary and its three reports show both recorded commands
# apart from the tasks, with status and exit code; a failed record does
# not change submit's exit status (record exited with it already).
tf="$TMP/tasks.json"
add_task "$tf" build "echo built"
add_task "$tf" test "echo tested" build
taskfile "$tf"
start_agent a1
submit submit --junit "$TMP/rep/junit.xml" --json "$TMP/rep/run.json" \
    --report "$TMP/rep/run.html" "$tf"
assert_eq "$SUBMIT_RC" 0 "submit after the records (one of them failed)"
agents_exit_ok 15 a1
assert_eq "$(result_field "$RUN" format:check status)" success \
    "the record is still in the run after submit"
out="$TMP/submit.out"
assert_grep '^Recorded in the main job \(dteq record\)$' "$out" \
    "the section of recorded commands"
assert_grep '^  success  *format:check  *[0-9.]+m?s 0$' "$out" \
    "the succeeded record's row"
assert_grep '^  failed  *sh -c echo bad; exit 7  *[0-9.]+m?s 7$' "$out" \
    "the failed record's row"
assert_grep '^  success  *build  *a1 ' "$out" "the tasks' rows are as before"
assert_grep '^2 tasks: 2 succeeded, 0 failed, 0 skipped in .*\); 2 recorded commands: 1 succeeded, 1 failed$' \
    "$out" "the closing line counts the records apart"

# dteq status counts them apart too: the run has 2 tasks, not 4.
timeout 20 "$DTEQ" status --redis "$REDIS_URL" --run "$RUN" \
    >"$TMP/status.out" 2>&1
assert_eq "$?" 0 "dteq status exit status"
assert_grep '^tasks: 2 in all; 2 done \(2 succeeded, 0 failed, 0 skipped\)' \
    "$TMP/status.out" "status counts the graph's tasks only"
assert_grep '^recorded in the main job \(dteq record\): 2$' \
    "$TMP/status.out" "status counts the recorded commands apart"

xmllint --noout --schema "$TOP/tests/fixtures/junit.xsd" "$TMP/rep/junit.xml" \
    2>"$TMP/xmllint.err" || fail "JUnit schema: $(cat "$TMP/xmllint.err")"
xp() {
	xmllint --xpath "$1" "$TMP/rep/junit.xml" 2>/dev/null
}
assert_eq "$(xp 'count(//testsuite)')" 2 "JUnit testsuites"
assert_eq "$(xp 'string(//testsuite[@name="recorded"]/@tests)')" 2 \
    "JUnit: tests of the recorded suite"
assert_eq "$(xp 'string(//testsuite[@name="recorded"]/@failures)')" 1 \
    "JUnit: failures of the recorded suite"
assert_eq "$(xp 'string(//testsuites/@tests)')" 4 "JUnit: tests in all"
assert_eq "$(xp 'count(//testsuite[@name="recorded"]/testcase[@name="format:check"]/*)')" \
    0 "JUnit: the succeeded record"
xp 'string(//testcase[@name="sh -c echo bad; exit 7"]/failure/@message)' |
    grep -q '^failed (exit 7) in the main job$' ||
    fail "JUnit: failure message of the failed record"
xp 'string(//testcase[@name="sh -c echo bad; exit 7"]/failure)' |
    grep -q '^bad$' || fail "JUnit: output of the failed record"

python3 - "$TMP/rep/run.json" >"$TMP/check" 2>&1 <<'PY' || fail "$(cat "$TMP/check")"
import json, sys
d = json.load(open(sys.argv[1]))
r = {x["id"]: x for x in d["recorded"]}
if sorted(r) != ["format:check", "sh -c echo bad; exit 7"]:
    sys.exit("recorded ids: %r" % sorted(r))
bad = r["sh -c echo bad; exit 7"]
if (bad["status"], bad["exit"], bad["agent"]) != ("failed", 7, "main"):
    sys.exit("failed record: %r" % bad)
if (r["format:check"]["status"], r["format:check"]["exit"]) != ("success", 0):
    sys.exit("succeeded record: %r" % r["format:check"])
if (d["result"], d["exit"], d["counts"]["tasks"]) != ("success", 0, 2):
    sys.exit("the records changed the run's result: %r %r" %
             (d["result"], d["counts"]))
if [t["id"] for t in d["tasks"]] != ["build", "test"]:
    sys.exit("tasks: %r" % d["tasks"])
PY

html="$TMP/rep/run.html"
assert_grep 'data-records="2"' "$html" "HTML: records counted"
assert_grep '<tr tabindex="0" class="record" data-r="[0-9]" data-id="format:check"' \
    "$html" "HTML: the succeeded record's row"
assert_grep 'data-id="sh -c echo bad; exit 7" data-meta="failed \(exit 7\)' \
    "$html" "HTML: the failed record's row"
assert_grep '<pre id="r[0-9]">bad$' "$html" "HTML: the failed record's output"

# Recording the same id again is its next attempt.
"$DTEQ" record --redis "$REDIS_URL" --run "$RUN" --id format:check -- \
    sh -c 'echo second' >/dev/null 2>&1
assert_eq "$?" 0 "record again"
assert_eq "$(result_field "$RUN" format:check attempt)" 2 "second attempt"
"$DTEQ" logs --redis "$REDIS_URL" --run "$RUN" format:check \
    >"$TMP/logs2.out" 2>&1
assert_grep '^second$' "$TMP/logs2.out" "dteq logs shows the latest attempt"

# A re-run of the run (a submit after it ended) shows only the commands
# recorded since the earlier attempt ended: format:check again, not the
# failed command of the earlier attempt.
bg rerun "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" "$tf"
wait_for '[ "$(rcli hget "dteq:{$RUN}:meta" gen)" = 1 ]' 15 ||
    fail "the second submit did not start a new attempt of the run"
start_agent a2
bg_wait rerun 60
assert_eq "$(bg_rc rerun)" 0 "the re-run's submit"
agents_exit_ok 15 a2
assert_grep '^  success  *format:check  *[0-9.]+m?s 0$' "$TMP/rerun.out" \
    "the re-run shows the command recorded since"
assert_no_grep 'exit 7' "$TMP/rerun.out" \
    "the re-run shows a command of the earlier attempt"
assert_grep '; 1 recorded command: 1 succeeded, 0 failed$' "$TMP/rerun.out" \
    "the re-run's closing line"

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
