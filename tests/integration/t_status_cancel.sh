# dteq cancel ends a live run from outside: the stop sentinel says
# "cancelled", the agents kill the tasks they run (their shells are gone
# and never reach their last command) and exit 0, the task still queued
# never runs, and the submit exits 3. status then shows the run
# cancelled; a second cancel says it had already ended; an unknown run
# exits 1; a Redis that refuses the write (out of memory) is exit 3 with
# Redis's own error, never "no such run", and writes nothing.
# timeout: 120

. "$TOP/tests/integration/lib.sh"

start_redis

tf="$TMP/cancel.json"
for t in one two three; do
	add_task "$tf" "long:$t" "echo \$\$ >$TMP/pid.$t; echo started; \
sleep 60; touch $TMP/finished.$t"
done
taskfile "$tf"

start_agent a1
start_agent a2
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" \
    --agent-wait 30 "$tf"
wait_for "[ \$(ls $TMP | grep -c '^pid\\.') -eq 2 ]" 30 ||
    fail "two tasks did not start"
pids=$(cat "$TMP"/pid.*)
queued=$(cd "$TMP" && for t in one two three; do
	[ -e "pid.$t" ] || echo "$t"
done)

t0=$(now_ms)
cancel_run
assert_eq "$(cat "$TMP/cancel.out")" "run $RUN cancelled" "cancel's message"
assert_eq "$(rcli get "dteq:{$RUN}:stop")" cancelled "the stop sentinel"

# shellcheck disable=SC2086
after_cancel "task shell" $pids
took=$(($(now_ms) - t0))
[ $took -lt 10000 ] || fail "submit took $took ms to notice the cancel"
assert_grep 'cancelled' "$TMP/submit.err" "submit's reason"
assert_grep '^3 tasks: 0 succeeded, 0 failed, 0 skipped, 3 not finished' \
    "$TMP/submit.out" "submit's summary"
# A killed task is not a failure and nothing is printed after the summary,
# whichever of the stop event and the killed tasks' results came first.
sed -n '/^3 tasks: /,$p' "$TMP/submit.out" | grep -q '^[<>] ' &&
    fail "a task's block came after the summary"
assert_grep 'not finished: long:one long:two long:three' "$TMP/submit.err" \
    "the unfinished tasks"
sleep 0.5
ls "$TMP" | grep -q '^finished\.' && fail "a task ran to its end"
assert_no_file "$TMP/pid.$queued" "the queued task long:$queued ran"

timeout 30 "$DTEQ" status --redis "$REDIS_URL" --run "$RUN" >"$TMP/st.out"
assert_grep "^run $RUN: cancelled" "$TMP/st.out" "status after cancel"

timeout 30 "$DTEQ" cancel --redis "$REDIS_URL" --run "$RUN" \
    >"$TMP/again.out" 2>&1
assert_eq "$?" 0 "second cancel exit status"
assert_grep 'had already ended \(cancelled\)' "$TMP/again.out" \
    "second cancel's message"
timeout 30 "$DTEQ" cancel --redis "$REDIS_URL" --run "nothing-$$" \
    >/dev/null 2>"$TMP/none.err"
assert_eq "$?" 1 "cancel of an unknown run"
assert_grep "no run nothing-$$" "$TMP/none.err" "unknown run message"
assert_eq "$(rcli exists "dteq:{nothing-$$}:stop")" 0 \
    "sentinel written for an unknown run"

log "a run Redis cannot write to"
full="full-$$"
rcli hset "dteq:{$full}:meta" state running ttl 600 >/dev/null
rcli config set maxmemory 1 >/dev/null
rcli config set maxmemory-policy noeviction >/dev/null
timeout 30 "$DTEQ" cancel --redis "$REDIS_URL" --run "$full" \
    >"$TMP/full.out" 2>"$TMP/full.err"
assert_eq "$?" 3 "cancel when Redis refuses the write"
assert_grep 'OOM' "$TMP/full.err" "the message is Redis's refusal"
assert_no_grep 'no run' "$TMP/full.err" "not taken for an unknown run"
rcli config set maxmemory 0 >/dev/null
assert_eq "$(rcli exists "dteq:{$full}:stop")" 0 \
    "sentinel written though Redis refused"
assert_eq "$(rcli hget "dteq:{$full}:meta" state)" running \
    "the run's state after the refused cancel"
exit 0
