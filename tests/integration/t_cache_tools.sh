# dteq cache with the real clients: the pinned Nx (NX_SELF_HOSTED_REMOTE_
# CACHE_SERVER, _ACCESS_TOKEN) and Turborepo (TURBO_API, TURBO_TOKEN,
# TURBO_TEAM) from tests/nx/setup.sh build three projects of the generated
# workspace, storing their outputs in the cache; with the local caches and
# the outputs deleted, the same builds are all remote cache hits and the
# outputs come back. Nx with the read-only token still succeeds and
# stores nothing.
# timeout: 240

. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/nx/lib.sh"

TOKEN=tools-token
PROJECTS=@ws/util,@ws/log,@ws/core

# wipe: delete the outputs and both local caches.
wipe() {
	rm -rf "$WS/.nx/cache" "$WS/.turbo" "$WS"/libs/*/dist "$WS"/apps/*/dist
}

# artifacts: how many artifacts the cache holds.
artifacts() {
	rcli --scan --pattern 'dteq:cache:*:meta' | wc -l
}

tool_workspace
start_cache --token "$TOKEN" --read-token reader
cd "$WS" || fail "cd $WS"

log "Nx: build, store"
NX_SELF_HOSTED_REMOTE_CACHE_SERVER=$CACHE_URL \
    NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN=$TOKEN \
    npx --no nx run-many -t build --projects="$PROJECTS" \
    >"$TMP/nx1.out" 2>&1 || fail "nx run-many failed: $(tail "$TMP/nx1.out")"
assert_eq "$(artifacts)" 3 "artifacts Nx stored"
assert_no_grep 'remote cache' "$TMP/nx1.out" "Nx complained about the cache"

log "Nx: local cache and outputs gone, all remote hits"
wipe
NX_SELF_HOSTED_REMOTE_CACHE_SERVER=$CACHE_URL \
    NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN=$TOKEN \
    npx --no nx run-many -t build --projects="$PROJECTS" \
    >"$TMP/nx2.out" 2>&1 || fail "nx run-many failed: $(tail "$TMP/nx2.out")"
assert_grep 'from the cache instead of running the command for 3 out of 3 tasks' \
    "$TMP/nx2.out" "Nx took all three builds from the remote cache"
for p in util log core; do
	assert_file "$WS/libs/$p/dist/index.js" "dist of $p from the cache"
done

log "Nx: read-only token"
wipe
rcli --scan --pattern 'dteq:cache:*' | xargs redis-cli -p "$REDIS_PORT" del \
    >/dev/null
NX_SELF_HOSTED_REMOTE_CACHE_SERVER=$CACHE_URL \
    NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN=reader \
    npx --no nx run-many -t build --projects="$PROJECTS" \
    >"$TMP/nx3.out" 2>&1 || fail "nx with the read-only token failed"
assert_eq "$(artifacts)" 0 "artifacts stored with the read-only token"

log "Turborepo: build, store"
wipe
TURBO_API=$CACHE_URL TURBO_TOKEN=$TOKEN TURBO_TEAM=ws \
    npx --no turbo run build --filter=@ws/core >"$TMP/turbo1.out" 2>&1 ||
    fail "turbo run failed: $(tail "$TMP/turbo1.out")"
assert_grep 'Cached: +0 cached, 3 total' "$TMP/turbo1.out" "first turbo run"
assert_eq "$(artifacts)" 3 "artifacts Turborepo stored"
assert_no_grep 'WARNING|failed to' "$TMP/turbo1.out" \
    "turbo warned about the remote cache"

log "Turborepo: local cache and outputs gone, all remote hits"
wipe
TURBO_API=$CACHE_URL TURBO_TOKEN=$TOKEN TURBO_TEAM=ws \
    npx --no turbo run build --filter=@ws/core >"$TMP/turbo2.out" 2>&1 ||
    fail "turbo run failed: $(tail "$TMP/turbo2.out")"
assert_grep 'Cached: +3 cached, 3 total' "$TMP/turbo2.out" \
    "Turborepo took all three builds from the remote cache"
assert_grep 'FULL TURBO' "$TMP/turbo2.out" "FULL TURBO"
for p in util log core; do
	assert_file "$WS/libs/$p/dist/index.js" "dist of $p from the cache"
done
stop_cache
exit 0
