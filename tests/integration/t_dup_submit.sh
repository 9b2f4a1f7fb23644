# Two submits with one run id never merge. While the first holds a task,
# a second submit of the same run (the same task file) exits 2 naming the
# run, its main job and when it started, and writes nothing: the meta,
# the attempts and the main heartbeat are as they were, and the first
# submit goes on to exit 0 with its own results. Once the first is
# SIGKILLed and its heartbeat lapsed, a submit with another task graph is
# refused the same way (exit 2, nothing written), and one with the same
# graph resumes the run and exits 0.
# Fails before the fix: the second submit printed "resuming run" and
# exited 0, merged into the first.
# timeout: 120

. "$TOP/tests/integration/lib.sh"

start_redis

cat >"$TMP/hold.sh" <<EOS
touch "$TMP/started.\$1"
n=0
while [ ! -e "$TMP/go.\$1" ] && [ \$n -lt 600 ]; do sleep 0.1; n=\$((n + 1)); done
EOS
add_task "$TMP/one.json" hold "sh $TMP/hold.sh 1"
add_task "$TMP/one.json" after "echo after" hold
taskfile "$TMP/one.json"
add_task "$TMP/other.json" hold "sh $TMP/hold.sh 1"
add_task "$TMP/other.json" after "echo another command" hold
taskfile "$TMP/other.json"

# snapshot NAME: what a refused submit must leave as it was.
snapshot() {
	{
		rcli hgetall "dteq:{$RUN}:meta"
		echo "--"
		rcli hgetall "dteq:{$RUN}:attempts"
		echo "--"
		rcli hgetall "dteq:{$RUN}:results"
		echo "--"
		rcli get "dteq:{$RUN}:main"
		rcli exists "dteq:{$RUN}:stop"
	} >"$TMP/$1.snap"
}

start_agent a1

log "the first submit, holding a task"
bg first "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" "$TMP/one.json"
wait_for "[ -e '$TMP/started.1' ]" 30 || fail "hold never started"
snapshot before

log "a second submit of the same run at once"
SUBMIT_SECS=20 submit second "$TMP/one.json"
assert_eq "$SUBMIT_RC" 2 "exit status of the second submit"
assert_grep "run $RUN is taken: its main job pid $(bg_pid first) on .* started it at [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC and is alive" \
    "$TMP/second.err" "the refusal names the run, its main job and its start"
assert_no_grep 'resuming' "$TMP/second.err" "the second submit resumed"
snapshot after
cmp -s "$TMP/before.snap" "$TMP/after.snap" ||
    fail "the refused submit wrote something: $(diff "$TMP/before.snap" "$TMP/after.snap")"

touch "$TMP/go.1"
bg_wait first 30
assert_eq "$(bg_rc first)" 0 "exit status of the first submit"
assert_grep '^2 tasks: 2 succeeded' "$TMP/first.out" "the first's summary"
agents_exit_ok 15 a1

log "a main job SIGKILLed; then another graph, then the same"
RUN="$RUN-b"
rm -f "$TMP/started.1" "$TMP/go.1"
start_agent a2
bg third "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --main-lease 2 \
    "$TMP/one.json"
wait_for "[ -e '$TMP/started.1' ]" 30 || fail "hold never started (third)"
kill -KILL "$(bg_pid third)"
bg_wait third 5
wait_for "[ \"\$(rcli exists 'dteq:{$RUN}:main')\" = 0 ]" 10 ||
    fail "the killed submit's heartbeat never lapsed"
snapshot before2
SUBMIT_SECS=20 submit other "$TMP/other.json"
assert_eq "$SUBMIT_RC" 2 "exit status of a submit with another graph"
assert_grep "run $RUN is open with another task graph .*: its main job pid $(bg_pid third) on .* started it at .* and is gone" \
    "$TMP/other.err" "the refusal of another graph"
snapshot after2
cmp -s "$TMP/before2.snap" "$TMP/after2.snap" ||
    fail "the submit with another graph wrote something: $(diff "$TMP/before2.snap" "$TMP/after2.snap")"
touch "$TMP/go.1"
# a2 may have seen the main job gone and left (exit 3, its task killed):
# a3, started once the resumed submit holds the run, serves it.
bg same "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" "$TMP/one.json"
wait_for "bg_done same || [ \"\$(rcli exists 'dteq:{$RUN}:main')\" = 1 ]" 20 ||
    fail "the resumed submit never claimed the run"
start_agent a3
bg_wait same 60
assert_eq "$(bg_rc same)" 0 "exit status of the resumed submit"
assert_grep "resuming run $RUN|tasks? finished before this submit" \
    "$TMP/same.err" "the same graph resumes"
assert_grep '^2 tasks: 2 succeeded' "$TMP/same.out" "the resumed summary"
agents_exit_ok 15 a3
exit 0
