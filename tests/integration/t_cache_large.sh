# dteq cache: a 100 MB artifact round trip with bounded memory. Upload it
# (Content-Length, then chunked), download it at full speed and through a
# slow client, check the bytes, and check the peak RSS of the dteq cache
# process (VmHWM in /proc/PID/status) stays far below the artifact's
# size: bodies stream through in 1 MiB chunks with a few MiB in flight.
# The figures are printed; the bound is checked on the plain build only
# (AddressSanitizer's quarantine keeps freed memory on purpose).
# timeout: 120

. "$TOP/tests/integration/lib.sh"

TOKEN=large-token
AUTH="Authorization: Bearer $TOKEN"
SIZE=$((100 * 1024 * 1024))
BOUND_KB=$((48 * 1024))

# vm FIELD: FIELD (VmHWM, VmRSS) of the dteq cache process, in kB.
vm() {
	awk -v f="$1:" '$1 == f { print $2 }' "/proc/$(bg_pid cache)/status"
}

# step WHAT CMD...: run CMD, print its time and the RSS figures.
step() {
	_what=$1
	shift
	_t0=$(now_ms)
	"$@" || fail "$_what failed"
	_ms=$(($(now_ms) - _t0))
	log "$_what: ${_ms} ms, VmHWM $(vm VmHWM) kB, VmRSS $(vm VmRSS) kB"
}

start_redis
start_cache --token "$TOKEN" --max-size 128M
head -c $SIZE /dev/urandom >"$TMP/big.bin"
log "before: VmHWM $(vm VmHWM) kB"

step "upload 100 MB (Content-Length)" curl -sS -f -o /dev/null -H "$AUTH" \
    -X PUT --data-binary @"$TMP/big.bin" "$CACHE_URL/v1/cache/100100"
step "download 100 MB" curl -sS -f -o "$TMP/down.bin" -H "$AUTH" \
    "$CACHE_URL/v1/cache/100100"
cmp -s "$TMP/down.bin" "$TMP/big.bin" || fail "download differs"
rm -f "$TMP/down.bin"
step "upload 100 MB (chunked)" curl -sS -f -o /dev/null -H "$AUTH" \
    -H 'Transfer-Encoding: chunked' -T "$TMP/big.bin" \
    "$CACHE_URL/v8/artifacts/abc100"
step "download 100 MB at 50 MB/s" curl -sS -f -o "$TMP/down.bin" -H "$AUTH" \
    --limit-rate 50M "$CACHE_URL/v8/artifacts/abc100"
cmp -s "$TMP/down.bin" "$TMP/big.bin" || fail "slow download differs"
assert_eq "$(rcli llen 'dteq:cache:{100100}:data')" 100 "chunks of 100 MiB"

hwm=$(vm VmHWM)
echo "RSS: VmHWM ${hwm} kB after two 100 MB round trips"
case $DTEQ in
*/build-asan/*)
	log "AddressSanitizer build: bound not checked" ;;
*)
	[ "$hwm" -lt $BOUND_KB ] ||
	    fail "dteq cache peaked at ${hwm} kB (bound ${BOUND_KB} kB)" ;;
esac
stop_cache
exit 0
