# dteq status and dteq logs against a live run, from outside its submit:
# while two tasks hold (waiting for a file), status shows the run running
# with the tasks per state and each agent with what it runs, --list lists
# the run, logs prints a running task's output so far and --follow keeps
# printing until the task has finished; status --watch ends by itself
# when the run ends. Unknown runs and tasks exit 1.
# timeout: 120

. "$TOP/tests/integration/lib.sh"

start_redis

tf="$TMP/live.json"
add_task "$tf" "quick:lint" "echo quick"
add_task "$tf" "hold:one" "echo 'one started'; \
while [ ! -e $TMP/go ]; do sleep 0.1; done; echo 'one finished'"
add_task "$tf" "hold:two" "echo 'two started'; \
while [ ! -e $TMP/go ]; do sleep 0.1; done; echo 'two finished'"
add_task "$tf" "after:one" "echo after" "hold:one"
taskfile "$tf"

start_agent a1
start_agent a2 --parallel 2
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" "$tf"

status() {
	timeout -k 5 30 "$DTEQ" status --redis "$REDIS_URL" "$@"
}

# Both holding tasks run and quick:lint is done.
wait_for "status --run $RUN >$TMP/st.out 2>&1 &&
    grep -q '1 done (1 succeeded, 0 failed, 0 skipped), 2 running' $TMP/st.out" \
    30 || fail "status never showed 2 running: $(cat "$TMP/st.out")"
st="$TMP/st.out"
cat "$st"
assert_grep "^run $RUN: running, running for [0-9.ms]+, started [0-9-]+ [0-9:]+ UTC; main job alive$" \
    "$st" "first line"
assert_grep '^tasks: ([0-9]+ in all; )?1 done \(1 succeeded, 0 failed, 0 skipped\), 2 running, 0 queued' \
    "$st" "tasks line"
assert_grep '^agents: 2 alive$' "$st" "agents line"
assert_grep '^  a[12] +running hold:(one|two)' "$st" "an agent's running task"
grep '^  a[12] ' "$st" | grep -o 'hold:[a-z]*' | sort | tr '\n' ' ' \
    >"$TMP/held"
assert_eq "$(cat "$TMP/held")" "hold:one hold:two " "tasks the agents hold"

log "status --list"
status --list >"$TMP/list.out" 2>&1 || fail "status --list failed"
assert_grep '^RUN +STATE +AGE +TASKS DONE +AGENTS$' "$TMP/list.out" \
    "list header"
assert_grep "^$RUN +running +[0-9.ms]+ +1 +2$" "$TMP/list.out" "list row"

log "logs of a running task"
timeout 30 "$DTEQ" logs --redis "$REDIS_URL" --run "$RUN" hold:one \
    >"$TMP/logs1.out" 2>"$TMP/logs1.err"
assert_eq "$?" 0 "dteq logs exit status"
assert_eq "$(cat "$TMP/logs1.out")" "one started" "output so far"
bg follow "$DTEQ" logs --redis "$REDIS_URL" --run "$RUN" --follow hold:two
bg watch "$DTEQ" status --redis "$REDIS_URL" --run "$RUN" --watch
sleep 1
bg_done follow && fail "logs --follow ended while the task runs"
bg_done watch && fail "status --watch ended while the run goes on"

touch "$TMP/go"
bg_wait submit 30
assert_eq "$(bg_rc submit)" 0 "submit exit status"
bg_wait follow 15
assert_eq "$(bg_rc follow)" 0 "logs --follow exit status"
assert_eq "$(tr '\n' '|' <"$TMP/follow.out")" "two started|two finished|" \
    "output followed to the end"
bg_wait watch 15
assert_eq "$(bg_rc watch)" 0 "status --watch exit status"
assert_grep "^run $RUN: done, took " "$TMP/watch.out" "watch's last state"
assert_grep '^tasks: ([0-9]+ in all; )?4 done \(4 succeeded' "$TMP/watch.out" \
    "watch's last counts"
agents_exit_ok 15 a1 a2

status --run "$RUN" >"$st" 2>&1
assert_grep "^run $RUN: done, took [0-9.ms]+, started [0-9-]+ [0-9:]+ UTC$" "$st" \
    "status after the end"

log "unknown run and task"
status --run "no-such-run-$$" >"$TMP/none.out" 2>&1
assert_eq "$?" 1 "status of an unknown run"
assert_grep 'not on this server' "$TMP/none.out" "unknown run message"
timeout 30 "$DTEQ" logs --redis "$REDIS_URL" --run "$RUN" no:such \
    >/dev/null 2>"$TMP/nt.err"
assert_eq "$?" 1 "logs of an unknown task"
timeout 30 "$DTEQ" status --redis "$REDIS_URL" --run "$RUN" extra \
    >/dev/null 2>&1
assert_eq "$?" 2 "status with a stray argument"
exit 0
