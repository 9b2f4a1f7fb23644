# An agent that starts after its run ended sees the stop sentinel and
# exits 0 at once (here: within 5 s, ASan builds included), whether the
# run id comes from --run or from DTEQ_RUN.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

start_redis

tf="$TMP/late.json"
add_task "$tf" one "echo one"
add_task "$tf" two "echo two" one
taskfile "$tf"

start_agent a1
submit submit "$tf"
assert_eq "$SUBMIT_RC" 0 "dteq submit exit status"
agents_exit_ok 15 a1

log "late agent, --run"
start_agent late1
bg_wait agent.late1 5
assert_eq "$(bg_rc agent.late1)" 0 "exit status of the late agent (--run)"

log "late agent, DTEQ_RUN"
bg agent.late2 env DTEQ_RUN="$RUN" "$DTEQ" work --redis "$REDIS_URL" \
    --name late2 --parallel 2
bg_wait agent.late2 5
assert_eq "$(bg_rc agent.late2)" 0 "exit status of the late agent (DTEQ_RUN)"

# The late agents took no task and changed no result.
assert_eq "$(result_field "$RUN" one agent)" a1 "agent of task one"
assert_eq "$(result_field "$RUN" two attempt)" 1 "attempt of task two"
exit 0
