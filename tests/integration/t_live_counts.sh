# The live area's counts tell queued from waiting, as dteq status does: a
# root task holds (until a file appears) on an agent with 4 slots while
# 15 tasks depend on it; the bar on a terminal (a pty from script(1))
# says "1 running on 1 agent, 0 queued, 15 waiting", never that the 15
# are queued while slots are idle; dteq status says the same, and counts
# a command recorded meanwhile (dteq record) apart from the tasks.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

need_cmd script bsdutils
start_redis

tf="$TMP/fan.json"
add_task "$tf" "root:build" "while [ ! -e $TMP/go ]; do sleep 0.1; done; echo built"
add_task "$tf" "lone:lint" "echo linted"
i=1
while [ $i -le 15 ]; do
	add_task "$tf" "pkg$i:test" "echo tested $i" "root:build"
	i=$((i + 1))
done
taskfile "$tf"

start_agent a1 --parallel 4
bg tty env TERM=xterm LANG=C.UTF-8 script -qfec "$DTEQ submit --redis \
$REDIS_URL --run $RUN $tf 2>$TMP/submit.err" /dev/null
wait_for "grep -q '1/17 done, 1 running on 1 agent, 0 queued, 15 waiting' \
    '$TMP/tty.out'" 30 ||
    fail "the live area never said 0 queued, 15 waiting: $(tr '\033' '^' \
    <"$TMP/tty.out" | tail -c 400)"
# A command recorded in the main job meanwhile is not a task.
timeout -k 5 30 "$DTEQ" record --redis "$REDIS_URL" --run "$RUN" \
    --id format:check -- echo formatted >"$TMP/record.out" 2>&1 ||
    fail "dteq record failed: $(cat "$TMP/record.out")"
timeout -k 5 30 "$DTEQ" status --redis "$REDIS_URL" --run "$RUN" \
    >"$TMP/status.out" 2>&1 || fail "dteq status failed"
touch "$TMP/go"
bg_wait tty 60
assert_eq "$(bg_rc tty)" 0 "submit's exit status (through script)"
agents_exit_ok 15 a1

assert_no_grep '[1-9][0-9]* queued' "$TMP/tty.out" \
    "the live area counted waiting tasks as queued"
assert_grep '^tasks: 17 in all; 1 done \(1 succeeded, 0 failed, 0 skipped\), 1 running, 0 queued, 15 waiting$' \
    "$TMP/status.out" "dteq status's counts"
assert_grep '^recorded in the main job \(dteq record\): 1$' "$TMP/status.out" \
    "the recorded command, apart"
assert_grep '17 tasks: 17 succeeded' "$TMP/tty.out" "closing line"
exit 0
