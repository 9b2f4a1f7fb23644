# dteq cache, Nx's self-hosted remote cache API (/v1/cache/HASH): every
# status Nx's spec and client know (200, 401, 403, 404, 409) plus the
# server's own (400, 405, 411), the bytes of a round trip, the refusal to
# overwrite, the read-only token, and the keys in Redis with their TTL.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

TOKEN=nx-secret-token
AUTH="Authorization: Bearer $TOKEN"

start_redis
start_cache --token "$TOKEN" --ttl 3600 --read-token reader-token
log "listening on $CACHE_URL"
case $CACHE_URL in
http://127.0.0.1:[0-9]*) ;;
*) fail "dteq cache printed '$CACHE_URL', not http://127.0.0.1:PORT" ;;
esac
[ "$(wc -l <"$TMP/cache.out")" -eq 1 ] ||
    fail "with --token, stdout is the URL alone (no generated token)"

head -c 2500000 /dev/urandom >"$TMP/a.bin"
head -c 1000 /dev/urandom >"$TMP/b.bin"
hash=12345678901234567890

log "auth: no token, wrong token, not Bearer"
req noauth GET "/v1/cache/$hash"
assert_eq "$CODE" 401 "GET without a token"
assert_grep 'NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN' "$TMP/noauth.body" \
    "the 401 body tells the Nx user what to set"
assert_grep '^Content-Type: text/plain' "$TMP/noauth.hdr" \
    "Nx errors are text/plain"
req badauth PUT "/v1/cache/$hash" -H "Authorization: Bearer wrong" \
    --data-binary @"$TMP/a.bin"
assert_eq "$CODE" 401 "PUT with a wrong token"
req basic GET "/v1/cache/$hash" -u "user:$TOKEN"
assert_eq "$CODE" 401 "GET with Basic auth"

log "miss, store, hit"
req miss GET "/v1/cache/$hash" -H "$AUTH"
assert_eq "$CODE" 404 "GET of a missing artifact"
req put PUT "/v1/cache/$hash" -H "$AUTH" \
    -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/a.bin"
assert_eq "$CODE" 200 "PUT of a new artifact (Nx's client wants 200)"
req get GET "/v1/cache/$hash" -H "$AUTH" -H 'Accept: application/octet-stream'
assert_eq "$CODE" 200 "GET of the stored artifact"
cmp -s "$TMP/get.body" "$TMP/a.bin" || fail "GET returned other bytes"
assert_grep '^Content-Type: application/octet-stream' "$TMP/get.hdr" \
    "artifact content type"
assert_grep '^Content-Length: 2500000' "$TMP/get.hdr" "artifact length"
req head HEAD "/v1/cache/$hash" -H "$AUTH"
assert_eq "$CODE" 200 "HEAD of the stored artifact"
assert_grep '^Content-Length: 2500000' "$TMP/head.hdr" "HEAD length"

log "no overwrite: 409, and the first artifact stays"
req again PUT "/v1/cache/$hash" -H "$AUTH" --data-binary @"$TMP/b.bin"
assert_eq "$CODE" 409 "PUT over an existing artifact"
req again100 PUT "/v1/cache/$hash" -H "$AUTH" -H 'Expect: 100-continue' \
    --data-binary @"$TMP/b.bin"
assert_eq "$CODE" 409 "PUT over an existing artifact, Expect: 100-continue"
req get2 GET "/v1/cache/$hash" -H "$AUTH"
cmp -s "$TMP/get2.body" "$TMP/a.bin" || fail "the artifact was overwritten"

log "read-only token: reads 200, writes 403"
req roget GET "/v1/cache/$hash" -H "Authorization: Bearer reader-token"
assert_eq "$CODE" 200 "GET with the read-only token"
req roput PUT /v1/cache/777 -H "Authorization: Bearer reader-token" \
    --data-binary @"$TMP/b.bin"
assert_eq "$CODE" 403 "PUT with the read-only token"
req romiss GET /v1/cache/777 -H "$AUTH"
assert_eq "$CODE" 404 "the refused PUT stored nothing"

log "bad requests"
req badhash GET "/v1/cache/abc.def" -H "$AUTH"
assert_eq "$CODE" 400 "a hash with a dot"
long=$(printf '%0129d' 7)
req longhash GET "/v1/cache/$long" -H "$AUTH"
assert_eq "$CODE" 400 "a hash of 129 characters"
req emptyhash GET "/v1/cache/" -H "$AUTH"
assert_eq "$CODE" 400 "an empty hash"
req method DELETE "/v1/cache/$hash" -H "$AUTH"
assert_eq "$CODE" 405 "DELETE"
assert_grep '^Allow: GET, HEAD, PUT' "$TMP/method.hdr" "405 says what is allowed"
req nolen PUT "/v1/cache/888" -H "$AUTH"
assert_eq "$CODE" 411 "PUT without Content-Length"
req route GET "/v2/cache/$hash" -H "$AUTH"
assert_eq "$CODE" 404 "an unknown route"

log "an empty artifact"
req empty PUT /v1/cache/999 -H "$AUTH" --data-binary ''
assert_eq "$CODE" 200 "PUT of an empty artifact"
req getempty GET /v1/cache/999 -H "$AUTH"
assert_eq "$CODE" 200 "GET of an empty artifact"
[ -s "$TMP/getempty.body" ] && fail "the empty artifact came back non-empty"

log "keys and TTLs in Redis"
meta="dteq:cache:{$hash}:meta"
data="dteq:cache:{$hash}:data"
assert_eq "$(rcli type "$meta")" hash "type of $meta"
assert_eq "$(rcli type "$data")" list "type of $data"
assert_eq "$(rcli llen "$data")" 3 "chunks of a 2.5 MB artifact"
assert_eq "$(rcli hget "$meta" size)" 2500000 "size in $meta"
for k in "$meta" "$data"; do
	ttl=$(rcli ttl "$k")
	[ "$ttl" -gt 3500 ] && [ "$ttl" -le 3600 ] ||
	    fail "TTL of $k is $ttl, want about 3600 (--ttl)"
done
rcli --scan --pattern 'dteq:cache:*' >"$TMP/keys"
assert_no_grep ':up:' "$TMP/keys" "an upload key was left behind"
rcli --scan --pattern '*' | while read -r k; do
	[ "$(rcli ttl "$k")" -gt 0 ] || echo "$k"
done >"$TMP/nottl"
[ -s "$TMP/nottl" ] && fail "keys without a TTL: $(cat "$TMP/nottl")"

log "keep-alive: three requests on one connection"
curl -sS -o /dev/null -o /dev/null -o /dev/null -H "$AUTH" \
    -w '%{http_code} %{num_connects}\n' "$CACHE_URL/v1/cache/$hash" \
    "$CACHE_URL/v1/cache/404404" "$CACHE_URL/v1/cache/$hash" >"$TMP/ka"
assert_eq "$(tr '\n' ' ' <"$TMP/ka")" "200 1 404 0 200 0 " \
    "statuses and new connections of three requests"
stop_cache
exit 0
