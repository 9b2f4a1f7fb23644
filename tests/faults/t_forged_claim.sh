# Security: the finish script claims the message it pops for the agent
# before the agent checks the signature. A forged message naming a task
# that is queued but not started yet (same id, current attempt, bad
# signature) is refused by the agent, which gives the claim back: the
# genuine message then starts, runs once, and the run completes. Without
# the give-back the genuine task would be refused as "already started"
# and the run would never end.
# timeout: 60

. "$TOP/tests/faults/faultlib.sh"

DTEQ_SECRET="claim-test-secret-$$"
export DTEQ_SECRET

start_redis
q="dteq:{$RUN}:queue"
claims="dteq:{$RUN}:claims"

tf="$TMP/claim.json"
add_task "$tf" gate "n=0; while [ ! -e $TMP/go ] && [ \$n -lt 300 ]; do \
sleep 0.1; n=\$((n + 1)); done"
add_task "$tf" later "echo \$DTEQ_ATTEMPT >>$TMP/runs.later"
# A dependent makes gate the more urgent root: it is dispatched first.
add_task "$tf" after "true" gate
taskfile "$tf"

bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" "$tf"
wait_for "[ \"\$(rcli llen '$q')\" = 2 ]" 20 || fail "the roots were not queued"
# One slot: the agent takes one root and leaves the other queued.
start_agent a1 --parallel 1
wait_for "[ \"\$(rcli llen '$q')\" = 1 ]" 20 || fail "the agent took no root"
queued=$(rcli --raw lindex "$q" 0)
case "$queued" in
*'"id":"gate"'*) fail "the agent took later before gate (the test needs gate to run first)" ;;
*'"id":"later"'*) ;;
*) fail "unexpected queue content: $queued" ;;
esac
assert_eq "$(rcli hget "$claims" later)" 1 "claim of later before the forgery"

# The forgery: later's JSON as queued, another command, a made-up MAC; at
# the popping end, so the finish of gate pops it before the genuine one.
json=${queued#v1:*:}
# (later's command has no quote, so the JSON stays valid)
evil=$(printf '%s' "$json" | sed "s|\"command\":\"[^\"]*\"|\"command\":\"touch $TMP/pwned\"|")
forged="v1:$(printf '%064d' 0):$evil"
rcli rpush "$q" "$forged" >/dev/null || fail "RPUSH failed"

log "release gate"
touch "$TMP/go"
bg_wait submit 30
assert_eq "$(bg_rc submit)" 0 "dteq submit exit status"
agents_exit_ok 15 a1
assert_no_file "$TMP/pwned" "the forged command ran"
assert_eq "$(runs_of "$TMP" later)" 1 "runs of later"
assert_eq "$(result_field "$RUN" later status)" success "status of later"
assert_grep 'bad signature' "$TMP/agent.a1.err" "the agent's reason"
assert_grep 'gave back the claim of later attempt 1' "$TMP/agent.a1.err" \
    "the agent's give-back of the claim"
exit 0
