# dteq cache --max-size: an artifact over the cap is refused with 413,
# whether its Content-Length says so up front (with and without
# "Expect: 100-continue") or a chunked upload runs over it midway; nothing
# of a refused upload stays in Redis; an artifact of exactly the cap and
# a chunked upload under it go through whole.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

TOKEN=limits-token
AUTH="Authorization: Bearer $TOKEN"

# put NAME HASH FILE [curl options...]: PUT FILE; sets CODE, body in NAME.body.
put() {
	_n=$1
	_h=$2
	_f=$3
	shift 3
	CODE=$(curl -sS -o "$TMP/$_n.body" -w '%{http_code}' -H "$AUTH" \
	    "$@" -X PUT --data-binary @"$_f" "$CACHE_URL/v1/cache/$_h") ||
	    fail "curl PUT $_h ($_n) failed"
}

# put_chunked NAME HASH FILE: the same with Transfer-Encoding: chunked.
put_chunked() {
	CODE=$(curl -sS -o "$TMP/$1.body" -w '%{http_code}' -H "$AUTH" \
	    -H 'Transfer-Encoding: chunked' -T "$3" \
	    "$CACHE_URL/v1/cache/$2") || fail "curl chunked PUT $2 ($1) failed"
}

# get HASH: the artifact into $TMP/got; sets CODE.
get() {
	CODE=$(curl -sS -o "$TMP/got" -w '%{http_code}' -H "$AUTH" \
	    "$CACHE_URL/v1/cache/$1") || fail "curl GET $1 failed"
}

no_keys_of() {
	_k=$(rcli --scan --pattern "dteq:cache:{$1}:*")
	[ -z "$_k" ] || fail "a refused upload left keys: $_k"
}

start_redis
start_cache --token "$TOKEN" --max-size 2M
cap=2097152
head -c $cap /dev/urandom >"$TMP/cap.bin"
head -c $((cap + 1)) /dev/urandom >"$TMP/over.bin"
head -c $((cap * 4)) /dev/urandom >"$TMP/big.bin"
head -c 1500000 /dev/urandom >"$TMP/under.bin"

log "Content-Length over the cap"
put over100 1001 "$TMP/over.bin" -H 'Expect: 100-continue'
assert_eq "$CODE" 413 "PUT of cap+1 bytes with Expect: 100-continue"
assert_grep "limit of $cap bytes" "$TMP/over100.body" "413 names the limit"
put over 1002 "$TMP/big.bin" -H 'Expect:'
assert_eq "$CODE" 413 "PUT of 4x the cap, no Expect"
no_keys_of 1001
no_keys_of 1002

log "chunked over the cap: refused midway, nothing kept"
put_chunked chunkover 1003 "$TMP/big.bin"
assert_eq "$CODE" 413 "chunked PUT of 4x the cap"
put_chunked chunkover1 1004 "$TMP/over.bin"
assert_eq "$CODE" 413 "chunked PUT of cap+1 bytes"
sleep 0.3
no_keys_of 1003
no_keys_of 1004
get 1003
assert_eq "$CODE" 404 "GET after a refused chunked upload"

log "exactly the cap, and chunked under it"
put cap 1005 "$TMP/cap.bin"
assert_eq "$CODE" 200 "PUT of exactly the cap"
get 1005
assert_eq "$CODE" 200 "GET of the artifact of the cap's size"
cmp -s "$TMP/got" "$TMP/cap.bin" || fail "artifact of the cap's size changed"
put_chunked chunkok 1006 "$TMP/under.bin"
assert_eq "$CODE" 200 "chunked PUT under the cap"
get 1006
cmp -s "$TMP/got" "$TMP/under.bin" || fail "chunked upload changed"
assert_eq "$(rcli llen 'dteq:cache:{1006}:data')" 2 "chunks of 1.5 MB"

log "the server is still fine"
put small 1007 "$TMP/under.bin" -H 'Expect:'
assert_eq "$CODE" 200 "a PUT after all the refusals"
bg_done cache && fail "dteq cache exited"
stop_cache
exit 0
