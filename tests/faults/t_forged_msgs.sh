# Security: with DTEQ_SECRET on submit and agents, task messages are
# signed ("v1:<hex HMAC-SHA256>:<json>"). Messages injected onto the queue
# with redis-cli (unsigned, forged with another key, tampered, replayed,
# signed for another run, signed but malformed, garbage, 1 MB of noise)
# are rejected: none of them runs, each agent says why, the rejections are
# counted where the user sees them (submit's summary or `dteq status`),
# the agents keep serving and the real run completes with exit 0.
# timeout: 90

. "$TOP/tests/faults/faultlib.sh"

DTEQ_SECRET="fault-test-secret-$$"
export DTEQ_SECRET

# hmac KEY: HMAC-SHA256 of stdin under KEY, as lowercase hex.
hmac() {
	openssl dgst -sha256 -hmac "$1" | awk '{ print $NF }'
}
# signed KEY JSON: the message format, signed with KEY.
signed() {
	printf 'v1:%s:%s' "$(printf '%s' "$2" | hmac "$1")" "$2"
}

start_redis
q="dteq:{$RUN}:queue"

tf="$TMP/forged.json"
add_task "$tf" first "echo \"\$DTEQ_AGENT \$DTEQ_ATTEMPT\" >>$TMP/runs.first"
add_task "$tf" gate "echo \"\$DTEQ_AGENT \$DTEQ_ATTEMPT\" >>$TMP/runs.gate; \
n=0; while [ ! -e $TMP/go ] && [ \$n -lt 600 ]; do sleep 0.1; n=\$((n + 1)); done"
add_task "$tf" after "echo \"\$DTEQ_AGENT \$DTEQ_ATTEMPT\" >>$TMP/runs.after" gate
taskfile "$tf"

# Submit first, with no agent yet: the roots' signed messages wait on the
# queue, where the test copies them for the replays.
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 3 "$tf"
wait_for "[ \"\$(rcli llen '$q')\" = 2 ]" 20 || fail "the roots were not queued"
rcli --raw lrange "$q" 0 -1 >"$TMP/queued"
msg_first=$(grep '"id":"first"' "$TMP/queued")
msg_gate=$(grep '"id":"gate"' "$TMP/queued")
[ -n "$msg_first" ] && [ -n "$msg_gate" ] || fail "cannot find the queued messages"
case "$msg_first" in
v1:????????????????????????????????????????????????????????????????:\{*) ;;
*) fail "queue messages are not signed as v1:<64 hex>:<json>: $msg_first" ;;
esac
# The MAC covers the JSON part, under the shared secret.
json_first=${msg_first#v1:*:}
mac_first=${msg_first#v1:}
mac_first=${mac_first%%:*}
assert_eq "$(printf '%s' "$json_first" | hmac "$DTEQ_SECRET")" "$mac_first" \
    "HMAC-SHA256 of first's JSON under DTEQ_SECRET"

start_agent a1 --parallel 2
start_agent a2 --parallel 2
wait_for "[ -s '$TMP/runs.first' ] && [ -s '$TMP/runs.gate' ]" 20 ||
    fail "first and gate never ran"
wait_for "[ \"\$(result_field '$RUN' first status)\" = success ]" 10 ||
    fail "first has no success result"

evil() {
	printf '{"run":"%s","id":"first","attempt":1,"command":"touch %s/pwned.%s"}' \
	    "$1" "$TMP" "$2"
}
log "inject forged messages"
n=0
inject() {
	rcli lpush "$q" "$1" >/dev/null || fail "LPUSH failed"
	n=$((n + 1))
}
inject "$(evil "$RUN" unsigned)"					# 1 unsigned
inject "$(signed "not-$DTEQ_SECRET" "$(evil "$RUN" wrongkey)")"	# 2 other key
inject "v1:$mac_first:$(evil "$RUN" tampered)"				# 3 tampered
inject "$msg_first"							# 4 replay, done
inject "$msg_gate"							# 5 replay, running
inject "$(signed "$DTEQ_SECRET" "$(evil other-run crossrun)")"		# 6 other run
inject "$(signed "$DTEQ_SECRET" 'this is not json')"			# 7 signed junk
inject "v1:zz:{"							# 8 bad header
inject "hello"								# 9 garbage
inject "$(signed "$DTEQ_SECRET" '{"run":"'"$RUN"'","id":"first"}')"	# 10 no fields
head -c 1000000 /dev/urandom | base64 -w0 >"$TMP/noise"			# 11 1 MB
rcli -x lpush "$q" <"$TMP/noise" >/dev/null || fail "LPUSH of noise failed"
n=$((n + 1))
injected=$n
wait_for "[ \"\$(rcli llen '$q')\" = 0 ]" 20 ||
    fail "the agents did not take the injected messages off the queue"
sleep 2
for a in a1 a2; do
	pid_alive "$(bg_pid "agent.$a")" || fail "agent $a died on bad messages"
done
ls "$TMP"/pwned.* 2>/dev/null && fail "an injected command ran: $(ls "$TMP"/pwned.*)"
assert_eq "$(runs_of "$TMP" first)" 1 "runs of first (replayed after it finished)"
assert_eq "$(runs_of "$TMP" gate)" 1 "runs of gate (replayed while it ran)"

log "release gate"
touch "$TMP/go"
bg_wait submit 30
assert_eq "$(bg_rc submit)" 0 "dteq submit exit status"
agents_exit_ok 15 a1 a2
assert_eq "$(runs_of "$TMP" after)" 1 "runs of after"
assert_eq "$(rcli hlen "dteq:{$RUN}:results")" 3 "results recorded"

cat "$TMP/agent.a1.err" "$TMP/agent.a2.err" >"$TMP/agents.err"
rejected=$(grep -ci 'reject' "$TMP/agents.err")
info "$injected messages injected; agents logged $rejected rejections:"
grep -i 'reject\|drop\|replay\|stale\|no longer current' "$TMP/agents.err" |
    cut -c1-160 | sed 's/^/    /'
grep -qi 'unsigned' "$TMP/agents.err" || fail "no agent says a message was unsigned"
grep -qi 'signature' "$TMP/agents.err" || fail "no agent says a signature was bad"
[ "$rejected" -ge 9 ] ||
    fail "only $rejected rejections logged for $injected bad messages (want >= 9)"
# The count where the user looks.
grep -i 'reject' "$TMP/submit.out" "$TMP/submit.err" | sed 's/^/    submit: /'
"$DTEQ" status --redis "$REDIS_URL" --run "$RUN" >"$TMP/status.out" 2>&1
grep -i 'reject' "$TMP/status.out" | sed 's/^/    status: /'
grep -qi 'reject' "$TMP/submit.out" "$TMP/submit.err" "$TMP/status.out" ||
    fail "neither submit's output nor dteq status mentions rejected messages"
exit 0
