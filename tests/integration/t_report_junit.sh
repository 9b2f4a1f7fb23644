# --junit writes JUnit XML that validates against the schema CI servers
# read (tests/fixtures/junit.xsd) with one testcase per task: a failure
# element holding the end of the output for a failed or timed-out task,
# skipped for a skipped one, system-out naming a flaky one. Output with
# XML specials, escape codes, control characters and bad UTF-8 stays
# well-formed. The directories of the path are created (Bitbucket reads
# test-results/**/*.xml); a path that cannot be written makes an
# otherwise green submit exit 3.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

need_cmd xmllint libxml2-utils
start_redis

tf="$TMP/junit.json"
tasks "$tf" <<'TASKS'
lib:build  |           |              | echo built
lib:test   | lib:build |              | printf 'ok 1\nnot ok 2 <a&b> "q" \033[31mred\033[0m \001 \377\nboom-tail\n'; exit 5
lib:deploy | lib:test  |              | echo never
app:test   |           | "retries": 1 | [ "$DTEQ_ATTEMPT" -gt 1 ] || exit 1; echo ok
app:hang   |           | "timeout": 1 | echo waiting; sleep 30
TASKS

start_agent a1 --parallel 2
xml="$TMP/test-results/dteq/junit.xml"
submit submit --junit "$xml" "$tf"
assert_eq "$SUBMIT_RC" 1 "dteq submit exit status"
agents_exit_ok 15 a1
assert_file "$xml" "JUnit file"
ls "$TMP/test-results/dteq" | grep -v '^junit.xml$' >"$TMP/left" &&
    fail "temporary files left: $(cat "$TMP/left")"

xmllint --noout --schema "$TOP/tests/fixtures/junit.xsd" "$xml" \
    2>"$TMP/xmllint.err" || fail "schema: $(cat "$TMP/xmllint.err")"
grep -q "$(printf '\033')" "$xml" && fail "escape code in the XML"

xp() {
	xmllint --xpath "$1" "$xml" 2>/dev/null
}
assert_eq "$(xp 'count(//testsuite)')" 1 "testsuites"
assert_eq "$(xp 'count(//testcase)')" 5 "testcases"
assert_eq "$(xp 'string(//testsuite/@tests)')" 5 "tests attribute"
assert_eq "$(xp 'string(//testsuite/@failures)')" 2 "failures attribute"
assert_eq "$(xp 'string(//testsuite/@skipped)')" 1 "skipped attribute"
assert_eq "$(xp 'string(//testsuites/@failures)')" 2 "root failures attribute"
assert_eq "$(xp 'count(//failure)')" 2 "failure elements"
assert_eq "$(xp 'count(//skipped)')" 1 "skipped elements"
assert_eq "$(xp 'string(//testcase[@name="lib:test"]/@classname)')" lib \
    "classname of lib:test"
assert_eq "$(xp 'string(//testcase[@name="lib:test"]/failure/@type)')" \
    failed "failure type of lib:test"
xp 'string(//testcase[@name="lib:test"]/failure/@message)' |
    grep -q '^failed (exit 5) on a1' || fail "failure message of lib:test"
xp 'string(//testcase[@name="lib:test"]/failure)' >"$TMP/tail"
assert_grep '^not ok 2 <a&b> "q" red' "$TMP/tail" "escaped output in failure"
assert_grep '^boom-tail$' "$TMP/tail" "end of the output in failure"
assert_eq "$(xp 'string(//testcase[@name="app:hang"]/failure/@type)')" \
    timeout "failure type of app:hang"
xp 'string(//testcase[@name="lib:deploy"]/skipped/@message)' |
    grep -q 'dependency lib:test failed' || fail "skipped message"
xp 'string(//testcase[@name="app:test"]/system-out)' | grep -q '^flaky' ||
    fail "flaky note of app:test"
assert_eq "$(xp 'count(//testcase[@name="lib:build"]/*)')" 0 \
    "children of a success"

log "an unwritable --junit path turns a green run into exit 3"
RUN="$RUN-2"
tf2="$TMP/ok.json"
add_task "$tf2" "ok:build" "echo ok"
taskfile "$tf2"
start_agent b1
submit bad --junit /dev/null/junit.xml "$tf2"
assert_eq "$SUBMIT_RC" 3 "exit status with an unwritable --junit"
assert_grep 'junit' "$TMP/bad.err" "error naming --junit"
assert_grep '^1 tasks: 1 succeeded' "$TMP/bad.out" "summary still printed"
exit 0
