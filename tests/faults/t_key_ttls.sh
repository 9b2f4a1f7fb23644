# Invariant under faults: every key dteq writes has a TTL (a command that
# `dteq record` recorded included), also the keys written after faults: an agent SIGKILLed mid-task (its running list and
# heartbeat), a forged message, a Redis restart without persistence (what
# submit and agents write into the empty server on their way out).
# timeout: 90

. "$TOP/tests/faults/faultlib.sh"

start_redis

# check_ttls WHEN: every key of the server has an expiry.
check_ttls() {
	rcli --scan >"$TMP/keys"
	_bad=""
	while read -r _k; do
		_t=$(rcli ttl "$_k")
		[ "$_t" -gt 0 ] 2>/dev/null || _bad="$_bad $_k($_t)"
	done <"$TMP/keys"
	info "$1: $(wc -l <"$TMP/keys" | tr -d ' ') keys"
	[ -z "$_bad" ] || fail "keys without a TTL ($1):$_bad"
}

tf="$TMP/ttl.json"
add_task "$tf" slow "echo \"\$DTEQ_AGENT \$DTEQ_ATTEMPT \$\$\" >>$TMP/runs.slow; sleep 2"
add_task "$tf" after "echo after" slow
taskfile "$tf"

start_agent a1
start_agent a2
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 2 "$tf"
wait_for "[ -s '$TMP/runs.slow' ]" 30 || fail "slow never started"
track_pid "$(awk '{ print $3 }' "$TMP/runs.slow")"
holder=$(awk '{ print $1 }' "$TMP/runs.slow")
# A command recorded in the main job: its attempt, log, result and entry
# in the records hash.
"$DTEQ" record --redis "$REDIS_URL" --run "$RUN" --id lint -- true ||
    fail "dteq record"
rcli exists "dteq:{$RUN}:records" | grep -qx 1 || fail "no records hash"
check_ttls "mid-run"
kill -KILL "$(bg_pid "agent.$holder")"
rcli lpush "dteq:{$RUN}:queue" '{"run":"x"}' >/dev/null
bg_wait submit 45
assert_eq "$(bg_rc submit)" 0 "dteq submit exit status"
check_ttls "after a run with a killed agent"

log "Redis loses its data mid-run"
rcli flushall >/dev/null
tf2="$TMP/ttl2.json"
add_task "$tf2" long "echo \$\$ >$TMP/pid.long; sleep 60"
taskfile "$tf2"
r2="$RUN-lost"
bg agent.b1 "$DTEQ" work --redis "$REDIS_URL" --run "$r2" --name b1
bg submit2 "$DTEQ" submit --redis "$REDIS_URL" --run "$r2" --lease 2 "$tf2"
track_tasks long
signal_redis KILL
restart_redis "$TMP/redis-data" --save '' --appendonly no
bg_wait submit2 30
bg_wait agent.b1 30
info "after the loss: submit exit $(bg_rc submit2), agent exit $(bg_rc agent.b1)"
check_ttls "after Redis lost the run"
exit 0
