# dteq cache: concurrent uploads. Eight clients PUT different bytes under
# one hash at the same time (slowed down so that all of them are past the
# existence check before any finishes): exactly one gets 200 and the
# others 409, the artifact is whole and is the winner's, and no upload key
# is left. The same race on Turborepo's API (all get 202, one artifact
# wins), and eight different hashes at once, downloaded while others
# upload.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

TOKEN=race-token
AUTH="Authorization: Bearer $TOKEN"
N=8

# race PATH: N slowed PUTs of $TMP/up.I to PATH at once; the status of
# each in $TMP/code.I.
race() {
	_pids=""
	for _i in $(seq 1 $N); do
		curl -sS -o /dev/null -w '%{http_code}' -H "$AUTH" -H 'Expect:' \
		    --limit-rate 2M -X PUT --data-binary @"$TMP/up.$_i" \
		    "$CACHE_URL$1" >"$TMP/code.$_i" 2>"$TMP/curl.$_i" &
		_pids="$_pids $!"
	done
	for _p in $_pids; do
		wait "$_p" || fail "a racing curl failed: $(cat "$TMP"/curl.*)"
	done
}

# winner_of FILE: the index of the upload FILE is a copy of, or nothing.
winner_of() {
	for _i in $(seq 1 $N); do
		cmp -s "$1" "$TMP/up.$_i" && echo "$_i"
	done
	return 0
}

start_redis
start_cache --token "$TOKEN"
for i in $(seq 1 $N); do
	head -c 3000000 /dev/urandom >"$TMP/up.$i"
done

log "Nx: $N uploads of one hash"
race /v1/cache/4242
ok=0
conflict=0
for i in $(seq 1 $N); do
	case $(cat "$TMP/code.$i") in
	200) ok=$((ok + 1)); w200=$i ;;
	409) conflict=$((conflict + 1)) ;;
	*) fail "upload $i got $(cat "$TMP/code.$i")" ;;
	esac
done
assert_eq "$ok/$conflict" "1/$((N - 1))" "uploads that got 200/409"
curl -sS -o "$TMP/got" -H "$AUTH" "$CACHE_URL/v1/cache/4242" ||
    fail "GET failed"
w=$(winner_of "$TMP/got")
[ -n "$w" ] || fail "the stored artifact is none of the uploads (torn?)"
assert_eq "$w" "$w200" "the stored artifact is the one that got 200"
log "upload $w won"

log "Turborepo: $N uploads of one hash"
race /v8/artifacts/abcdef42
for i in $(seq 1 $N); do
	assert_eq "$(cat "$TMP/code.$i")" 202 "turbo upload $i"
done
curl -sS -o "$TMP/got" -H "$AUTH" "$CACHE_URL/v8/artifacts/abcdef42" ||
    fail "GET failed"
[ -n "$(winner_of "$TMP/got")" ] ||
    fail "the stored turbo artifact is none of the uploads (torn?)"

log "$N hashes at once, downloaded while others upload"
pids=""
for i in $(seq 1 $N); do
	(
		curl -sS -f -o /dev/null -H "$AUTH" --limit-rate 4M -X PUT \
		    --data-binary @"$TMP/up.$i" "$CACHE_URL/v1/cache/100$i" &&
		curl -sS -f -o "$TMP/down.$i" -H "$AUTH" --limit-rate 4M \
		    "$CACHE_URL/v1/cache/100$i" &&
		cmp -s "$TMP/down.$i" "$TMP/up.$i"
	) &
	pids="$pids $!"
done
for p in $pids; do
	wait "$p" || fail "a parallel round trip failed"
done

rcli --scan --pattern 'dteq:cache:*' >"$TMP/keys"
assert_no_grep ':up:' "$TMP/keys" "upload keys left behind"
assert_eq "$(grep -c ':meta$' "$TMP/keys")" $((N + 2)) "artifacts stored"
stop_cache
exit 0
