# Mixed releases: submit writes its protocol and version into the run's
# meta hash. An agent serves only a run of its own protocol: one that
# meets an older submit's run (no protocol field: protocol 1) or a newer
# one refuses it (exit 3, naming both releases) instead of misreading its
# messages, and submit shows why at once. A submit does not resume an
# open run that another protocol started (exit 2, nothing written), but
# may start a new attempt of one that ended.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis
tf="$TMP/tasks.json"
add_task "$tf" one "echo one"
taskfile "$tf"
meta="dteq:{$RUN}:meta"
version=$("$DTEQ" --version | sed -n 's/^dteq \([^ ]*\).*/\1/p')
[ -n "$version" ] || fail "no version from dteq --version"

bg submit.run "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" \
    --agent-wait 60 "$tf"
wait_for "[ \"\$(rcli HGET '$meta' protocol)\" = 2 ]" 10 ||
    fail "submit wrote no protocol 2 into the meta hash"
assert_eq "$(rcli HGET "$meta" version)" "$version" "the version in meta"

log "an older submit's run: no protocol field"
rcli HDEL "$meta" protocol version >/dev/null
start_agent old --wait 10
bg_wait agent.old 20
assert_eq "$(bg_rc agent.old)" 3 "exit status of an agent meeting an older run"
assert_grep "refusing run $RUN: the run was submitted by an older dteq \(protocol 1\) but this agent is dteq $version \(protocol 2\)" \
    "$TMP/agent.old.err" "the agent's reason"
wait_for "grep -q 'agent old refused run' '$TMP/submit.run.err'" 10 ||
    fail "submit does not show the refusal"
assert_grep "agent old refused run $RUN: the run was submitted by an older dteq" \
    "$TMP/submit.run.err" "submit's line"

log "a newer submit's run"
rcli HSET "$meta" protocol 99 version 9.9.9 >/dev/null
start_agent new --wait 10
bg_wait agent.new 20
assert_eq "$(bg_rc agent.new)" 3 "exit status of an agent meeting a newer run"
assert_grep "the run was submitted by dteq 9\.9\.9 \(protocol 99\) but this agent is dteq $version \(protocol 2\): run the same dteq release" \
    "$TMP/agent.new.err" "the agent names both releases"
[ -z "$(rcli HGET "dteq:{$RUN}:results" one)" ] ||
    fail "a refusing agent ran the task"
bg_done submit.run && fail "submit gave up while agents may still come"

log "the same protocol: served"
rcli HSET "$meta" protocol 2 version "$version" >/dev/null
start_agent same
bg_wait submit.run 30
assert_eq "$(bg_rc submit.run)" 0 "submit exit status"
agents_exit_ok 15 same
assert_eq "$(result_field "$RUN" one agent)" same "agent of task one"

log "an open run of an older release is not resumed"
RUN="$RUN-open"
meta="dteq:{$RUN}:meta"
rcli HSET "$meta" state running lease 15 ttl 600 tasks 1 >/dev/null
rcli --raw KEYS "dteq:{$RUN}:*" | sort >"$TMP/keys.before"
rcli --raw HGETALL "$meta" >"$TMP/meta.before"
submit open --agent-wait 5 "$tf"
assert_eq "$SUBMIT_RC" 2 "submit on an older release's open run"
assert_grep "run $RUN is still open and was started by an older dteq \(protocol 1\); this is dteq $version \(protocol 2\)" \
    "$TMP/open.err" "submit's reason"
rcli --raw KEYS "dteq:{$RUN}:*" | sort >"$TMP/keys.after"
rcli --raw HGETALL "$meta" >"$TMP/meta.after"
cmp -s "$TMP/keys.before" "$TMP/keys.after" ||
    fail "submit wrote keys: $(diff "$TMP/keys.before" "$TMP/keys.after")"
cmp -s "$TMP/meta.before" "$TMP/meta.after" || fail "submit changed the meta"

rcli HSET "$meta" protocol 3 version 0.2.0 >/dev/null
submit newer --agent-wait 5 "$tf"
assert_eq "$SUBMIT_RC" 2 "submit on a newer release's open run"
assert_grep "started by dteq 0\.2\.0 \(protocol 3\); this is dteq $version" \
    "$TMP/newer.err" "submit names both releases"

log "an ended run of an older release: a new attempt"
rcli HDEL "$meta" protocol version >/dev/null
rcli SET "dteq:{$RUN}:stop" done >/dev/null
bg submit.rerun "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" "$tf"
wait_for "[ \"\$(rcli EXISTS 'dteq:{$RUN}:stop')\" = 0 ]" 10 ||
    fail "submit did not start a new attempt"
start_agent after
bg_wait submit.rerun 30
assert_eq "$(bg_rc submit.rerun)" 0 \
    "submit of a new attempt of an ended older run"
agents_exit_ok 15 after
assert_eq "$(rcli HGET "$meta" protocol)" 2 "the new attempt's protocol"
exit 0
