# Every key a run leaves in Redis has a TTL: a run never leaks memory into
# a shared server. The run uses --keep-agents, so `dteq stop` releases the
# agents, and its keys get a TTL too.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis

tf="$TMP/ttl.json"
add_task "$tf" build "echo building; i=0; while [ \$i -lt 200 ]; do echo line \$i; i=\$((i + 1)); done"
add_task "$tf" test "echo testing" build
add_task "$tf" broken "echo broken >&2; exit 3"
add_task "$tf" deploy "echo deploying" "test broken"
taskfile "$tf"

start_agent a1 --parallel 2
start_agent a2
submit submit --keep-agents "$tf"
assert_eq "$SUBMIT_RC" 1 "dteq submit exit status"

sleep 1
bg_done agent.a1 && fail "agent a1 exited although submit ran --keep-agents"
bg_done agent.a2 && fail "agent a2 exited although submit ran --keep-agents"

log "dteq stop"
timeout --foreground 20 "$DTEQ" stop --redis "$REDIS_URL" --run "$RUN" \
    >"$TMP/stop.out" 2>"$TMP/stop.err"
assert_eq "$?" 0 "dteq stop exit status"
agents_exit_ok 15 a1 a2

rcli --scan --pattern 'dteq:*' | sort >"$TMP/keys"
echo "keys:"
cat "$TMP/keys"
assert_grep "^dteq:\\{$RUN\\}:results\$" "$TMP/keys" "the results hash exists"
assert_grep "^dteq:\\{$RUN\\}:stop\$" "$TMP/keys" "the stop sentinel exists"
while read -r key; do
	ttl=$(rcli ttl "$key")
	case "$ttl" in
	''|*[!0-9]*) fail "key $key has TTL '$ttl'" ;;
	esac
	[ "$ttl" -gt 0 ] || fail "key $key has TTL $ttl"
done <"$TMP/keys"

log "dteq stop of a run that does not exist"
timeout --foreground 20 "$DTEQ" stop --redis "$REDIS_URL" --run "none-$$" \
    >"$TMP/none.out" 2>"$TMP/none.err"
assert_eq "$?" 2 "dteq stop exit status for an unknown run"
assert_grep "no run none-$$" "$TMP/none.err" "the message names the run"
assert_eq "$(rcli --scan --pattern "dteq:{none-$$}:*" | wc -l)" 0 \
    "keys written for the unknown run"
exit 0
