# `dteq stop` on a live run says what it does, and the submit ends
# promptly and truthfully: with one task running and two not started,
# dteq stop exits 0 saying the agents finish what they run and that the
# submit (naming its main job) ends with exit 3; the submit then exits 3
# within seconds saying it was stopped with 3 of 3 tasks unfinished (it
# used to wait --agent-wait, 600 s, while the agents said "over (done)");
# the running task is not killed: its agent finishes it, records it and
# exits 0. A stop of a run whose agents are kept just releases them.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis

add_task "$TMP/t.json" hold \
    "touch $TMP/started; n=0; while [ ! -e $TMP/go ] && [ \$n -lt 300 ]; do sleep 0.1; n=\$((n + 1)); done; echo held"
add_task "$TMP/t.json" later "echo later" hold
add_task "$TMP/t.json" other "echo other"
taskfile "$TMP/t.json"

start_agent a1
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" "$TMP/t.json"
wait_for "[ -e '$TMP/started' ]" 30 || fail "hold never started"

log "dteq stop while the submit runs"
run_cli stop stop --redis "$REDIS_URL" --run "$RUN"
assert_eq "$RC" 0 "dteq stop exit status"
assert_grep "^run $RUN stopped: its agents finish the tasks they run, take no more and exit 0; its submit \(main job pid $(bg_pid submit) on .*\) ends now with exit 3" \
    "$TMP/stop.out" "what dteq stop says it does"
bg_wait submit 15
assert_eq "$(bg_rc submit)" 3 "exit status of the stopped submit"
assert_grep "stopped by \`dteq stop\` with 3 of 3 tasks not finished" \
    "$TMP/submit.err" "the submit says it was stopped"
assert_eq "$(rcli hget "dteq:{$RUN}:meta" state)" stopped "the run's state"

log "the running task finishes on its agent"
bg_done agent.a1 && fail "the agent left before its task finished"
touch "$TMP/go"
agents_exit_ok 15 a1
assert_eq "$(result_field "$RUN" hold status)" success "hold's result"
assert_eq "$(rcli hexists "dteq:{$RUN}:results" other)" 0 \
    "a task not started ran"

log "dteq stop of a run whose agents are kept"
RUN="$RUN-kept"
add_task "$TMP/k.json" one "echo one"
taskfile "$TMP/k.json"
start_agent a2
submit kept --keep-agents "$TMP/k.json"
assert_eq "$SUBMIT_RC" 0 "exit status of the --keep-agents submit"
run_cli stop2 stop --redis "$REDIS_URL" --run "$RUN"
assert_eq "$RC" 0 "dteq stop exit status (kept agents)"
assert_grep "^run $RUN: agents released: they finish the tasks they run and exit 0\$" \
    "$TMP/stop2.out" "what dteq stop says of kept agents"
agents_exit_ok 15 a2
exit 0
