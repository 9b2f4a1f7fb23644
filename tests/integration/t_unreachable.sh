# Redis unreachable: submit exits 3 promptly, names the server it tried,
# and never prints the password of the URL (or of DTEQ_REDIS_PASSWORD).
# timeout: 90

. "$TOP/tests/integration/lib.sh"

port=$(random_port)
url="redis://user:s3cret@127.0.0.1:$port"

# elapsed_since T0: whole seconds since T0 (date +%s).
elapsed_since() {
	echo $(($(date +%s) - $1))
}

check_err() {
	assert_grep "127\\.0\\.0\\.1:$port" "$TMP/$1.err" \
	    "$1: stderr names the server"
	cat "$TMP/$1.out" "$TMP/$1.err" | grep -q s3cret &&
	    fail "$1: the password is printed"
	return 0
}

log "submit --redis URL-with-password, --connect-timeout 2"
t0=$(date +%s)
timeout --foreground 30 "$DTEQ" submit --redis "$url" --run "$RUN" \
    --connect-timeout 2 "$TOP/examples/monorepo.json" \
    >"$TMP/submit.out" 2>"$TMP/submit.err"
rc=$?
secs=$(elapsed_since "$t0")
assert_eq "$rc" 3 "dteq submit exit status with Redis unreachable"
[ "$secs" -le 10 ] || fail "dteq submit took $secs s to give up"
check_err submit

log "DTEQ_REDIS_URL and DTEQ_REDIS_PASSWORD"
t0=$(date +%s)
DTEQ_REDIS_URL="redis://127.0.0.1:$port" DTEQ_REDIS_PASSWORD=s3cret \
    timeout --foreground 30 "$DTEQ" submit --run "$RUN" --connect-timeout 2 \
    "$TOP/examples/monorepo.json" >"$TMP/submit-env.out" 2>"$TMP/submit-env.err"
rc=$?
secs=$(elapsed_since "$t0")
assert_eq "$rc" 3 "dteq submit exit status (server from the environment)"
[ "$secs" -le 10 ] || fail "dteq submit took $secs s to give up"
check_err submit-env

log "work --wait 2"
t0=$(date +%s)
timeout --foreground 60 "$DTEQ" work --redis "$url" --run "$RUN" --wait 2 \
    >"$TMP/work.out" 2>"$TMP/work.err"
rc=$?
secs=$(elapsed_since "$t0")
assert_eq "$rc" 3 "dteq work exit status with Redis unreachable"
[ "$secs" -le 25 ] || fail "dteq work took $secs s to give up"
check_err work
exit 0
