# dteq cache, the command: --help, bad usage (exit 2), Redis unreachable
# at start (exit 3, the server named, never the password), a port already
# taken (exit 3), the printed URL and generated token, --listen with a
# fixed port, and a clean exit 0 on SIGTERM and SIGINT.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

log "--help"
run_cli help cache --help
assert_eq "$RC" 0 "dteq cache --help"
for opt in --listen --redis --token --read-token --max-size --ttl; do
	assert_grep "$opt" "$TMP/help.out" "--help documents $opt"
done
run_cli top --help
assert_grep '^  cache ' "$TMP/top.out" "dteq --help lists cache"

log "bad usage"
for args in "--no-such-option" "--max-size 0" "--max-size lots" \
    "--max-size 2T" "--ttl 0" "--ttl -5" "--listen nowhere:80" \
    "--listen 127.0.0.1" "--listen 127.0.0.1:99999" "extra-arg" \
    "--redis http://x"; do
	# shellcheck disable=SC2086
	run_cli usage cache $args
	assert_eq "$RC" 2 "exit status of dteq cache $args"
	[ -s "$TMP/usage.err" ] || fail "dteq cache $args: nothing on stderr"
done
run_cli emptytoken cache --token ''
assert_eq "$RC" 2 "exit status of an empty --token"

log "Redis unreachable"
port=$(random_port)
unreachable down 8 "$port" s3cret cache \
    --redis "redis://u:s3cret@127.0.0.1:$port" --connect-timeout 1

start_redis

log "generated token"
bg gen "$DTEQ" cache --redis "$REDIS_URL"
wait_for "[ \$(wc -l <'$TMP/gen.out') -ge 2 ]" 10 ||
    fail "no URL and token on stdout"
url=$(sed -n 1p "$TMP/gen.out")
token=$(sed -n 's/^token //p' "$TMP/gen.out")
echo "$token" | grep -Eq '^[0-9a-f]{64}$' || fail "generated token '$token'"
code=$(curl -sS -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $token" "$url/v8/artifacts/status")
assert_eq "$code" 200 "a request with the generated token"

log "--listen with a fixed port, and the port already taken"
# random_port only knows no Redis answers there: try another port if
# something else holds it.
for try in 1 2 3 4 5; do
	lport=$(random_port)
	bg fixed "$DTEQ" cache --redis "$REDIS_URL" --token t \
	    --listen "127.0.0.1:$lport"
	wait_for "[ -s '$TMP/fixed.out' ] || bg_done fixed" 10
	[ -s "$TMP/fixed.out" ] && break
done
[ -s "$TMP/fixed.out" ] || fail "no URL on stdout"
assert_eq "$(cat "$TMP/fixed.out")" "http://127.0.0.1:$lport" "printed URL"
run_cli taken cache --redis "$REDIS_URL" --token t --listen "127.0.0.1:$lport"
assert_eq "$RC" 3 "exit status when the port is taken"
assert_grep "127\\.0\\.0\\.1:$lport" "$TMP/taken.err" "the error names the address"

log "SIGTERM and SIGINT"
kill -TERM "$(bg_pid fixed)"
bg_wait fixed 5
assert_eq "$(bg_rc fixed)" 0 "exit status after SIGTERM"
kill -INT "$(bg_pid gen)"
bg_wait gen 5
assert_eq "$(bg_rc gen)" 0 "exit status after SIGINT"
exit 0
