# dteq cache, Turborepo's remote cache API (/v8/artifacts): status,
# HEAD/GET/PUT of an artifact with its x-artifact-* headers (and the team
# query parameters turbo adds), 202 and the first artifact kept when one
# exists, JSON error bodies with 400/401/403/404/405, the batch query
# and the events endpoint.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

TOKEN=turbo-secret-token
AUTH="Authorization: Bearer $TOKEN"

# The token comes from the environment this time.
start_redis
DTEQ_CACHE_TOKEN=$TOKEN DTEQ_CACHE_READ_TOKEN=turbo-reader start_cache
log "listening on $CACHE_URL"

head -c 1500000 /dev/urandom >"$TMP/a.bin"
head -c 700 /dev/urandom >"$TMP/b.bin"
hash=e1f2c7102a9a9c26
q="?slug=myteam"

log "status"
req status GET "/v8/artifacts/status$q" -H "$AUTH"
assert_eq "$CODE" 200 "GET /v8/artifacts/status"
assert_eq "$(cat "$TMP/status.body")" '{"status":"enabled"}' "status body"
req status401 GET "/v8/artifacts/status$q"
assert_eq "$CODE" 401 "status without a token"
assert_grep '"code":"unauthorized"' "$TMP/status401.body" \
    "a JSON error body Turborepo's client can parse"
assert_grep '^Content-Type: application/json' "$TMP/status401.hdr" \
    "JSON error content type"

log "miss, store with metadata, hit"
req head404 HEAD "/v8/artifacts/$hash$q" -H "$AUTH"
assert_eq "$CODE" 404 "HEAD of a missing artifact"
req get404 GET "/v8/artifacts/$hash?teamId=team_1" -H "$AUTH"
assert_eq "$CODE" 404 "GET of a missing artifact"
req put PUT "/v8/artifacts/$hash$q" -H "$AUTH" \
    -H 'Content-Type: application/octet-stream' \
    -H 'x-artifact-duration: 4321' -H 'x-artifact-tag: c2lnbmVkIHRhZw==' \
    -H 'x-artifact-sha: 0123abcd' -H 'x-artifact-dirty-hash: d1rty' \
    -H 'x-artifact-client-ci: GITHUB_ACTIONS' \
    -H 'x-artifact-client-interactive: 0' --data-binary @"$TMP/a.bin"
assert_eq "$CODE" 202 "PUT of a new artifact"
assert_eq "$(cat "$TMP/put.body")" '{"urls":[]}' "PUT response body"
req head HEAD "/v8/artifacts/$hash$q" -H "$AUTH"
assert_eq "$CODE" 200 "HEAD of the stored artifact"
assert_grep '^Content-Length: 1500000' "$TMP/head.hdr" "HEAD Content-Length"
assert_grep '^x-artifact-duration: 4321' "$TMP/head.hdr" "HEAD duration"
req get GET "/v8/artifacts/$hash$q" -H "$AUTH"
assert_eq "$CODE" 200 "GET of the stored artifact"
cmp -s "$TMP/get.body" "$TMP/a.bin" || fail "GET returned other bytes"
assert_grep '^x-artifact-duration: 4321' "$TMP/get.hdr" "GET duration"
assert_grep '^x-artifact-tag: c2lnbmVkIHRhZw==' "$TMP/get.hdr" "GET tag"
assert_grep '^x-artifact-sha: 0123abcd' "$TMP/get.hdr" "GET sha"
assert_grep '^x-artifact-dirty-hash: d1rty' "$TMP/get.hdr" "GET dirty hash"
assert_grep '^Content-Type: application/octet-stream' "$TMP/get.hdr" \
    "artifact content type"

log "an existing artifact: 202, and it stays"
req again PUT "/v8/artifacts/$hash$q" -H "$AUTH" -H 'x-artifact-tag: other' \
    --data-binary @"$TMP/b.bin"
assert_eq "$CODE" 202 "PUT over an existing artifact"
req get2 GET "/v8/artifacts/$hash$q" -H "$AUTH"
cmp -s "$TMP/get2.body" "$TMP/a.bin" || fail "the artifact was overwritten"
assert_grep '^x-artifact-tag: c2lnbmVkIHRhZw==' "$TMP/get2.hdr" \
    "the first upload's tag stays"

log "read-only token"
req rohead HEAD "/v8/artifacts/$hash$q" -H "Authorization: Bearer turbo-reader"
assert_eq "$CODE" 200 "HEAD with the read-only token"
req roput PUT "/v8/artifacts/abc123$q" -H "Authorization: Bearer turbo-reader" \
    --data-binary @"$TMP/b.bin"
assert_eq "$CODE" 403 "PUT with the read-only token"
assert_grep '"code":"forbidden"' "$TMP/roput.body" "403 JSON body"

log "bad requests"
req badhash GET "/v8/artifacts/not-hex.x$q" -H "$AUTH"
assert_eq "$CODE" 400 "a bad hash"
assert_grep '"code":"bad_request"' "$TMP/badhash.body" "400 JSON body"
req baddur PUT "/v8/artifacts/abc124$q" -H "$AUTH" \
    -H 'x-artifact-duration: soon' --data-binary @"$TMP/b.bin"
assert_eq "$CODE" 400 "a non-numeric x-artifact-duration"
req method PATCH "/v8/artifacts/$hash$q" -H "$AUTH"
assert_eq "$CODE" 405 "PATCH"
req statusput PUT "/v8/artifacts/status" -H "$AUTH" --data-binary x
assert_eq "$CODE" 405 "PUT to /v8/artifacts/status"

log "batch query and events"
req query POST "/v8/artifacts$q" -H "$AUTH" \
    -H 'Content-Type: application/json' \
    -d "{\"hashes\": [\"$hash\", \"abcdef0123\"]}"
assert_eq "$CODE" 200 "POST /v8/artifacts"
assert_grep "\"$hash\":\\{\"size\":1500000,\"taskDurationMs\":4321,\"tag\":\"c2lnbmVkIHRhZw==\"\\}" \
    "$TMP/query.body" "the query's answer for a stored artifact"
assert_grep '"abcdef0123":null' "$TMP/query.body" \
    "the query's answer for a missing artifact"
req badquery POST "/v8/artifacts$q" -H "$AUTH" -d '{"hashes": "x"}'
assert_eq "$CODE" 400 "a query without a list of hashes"
req events POST "/v8/artifacts/events$q" -H "$AUTH" \
    -H 'Content-Type: application/json' \
    -d "[{\"sessionId\":\"0f6d\",\"source\":\"REMOTE\",\"event\":\"HIT\",\"hash\":\"$hash\",\"duration\":4321}]"
assert_eq "$CODE" 200 "POST /v8/artifacts/events"
req events401 POST "/v8/artifacts/events$q" -d '[]'
assert_eq "$CODE" 401 "events without a token"
stop_cache
exit 0
