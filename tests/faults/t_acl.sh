# The minimal ACL the README gives is enough: the test takes the ACL
# SETUSER command from README.md as it is written there, creates that
# user, and runs through it a run with a failure, --fail-fast, a
# retry, streamed output, a recorded command, `dteq status`, `dteq logs`,
# `dteq cancel` and the remote cache. Redis's ACL LOG must then hold no
# denied command or channel.
# timeout: 120

. "$TOP/tests/faults/faultlib.sh"

start_redis

# The README's command, its line continuations joined.
acl=$(sed -n '/^ACL SETUSER dteq /,/^```/p' "$TOP/README.md" |
    grep -v '^```' | sed 's/\\$//' | tr '\n' ' ')
[ -n "$acl" ] || fail "no ACL SETUSER line in README.md"
pw="Acl-$$-pw"
acl=$(printf '%s' "$acl" | sed "s/>CHANGE-ME/>$pw/")
info "ACL: $acl"
# shellcheck disable=SC2086
rcli $acl >"$TMP/acl.out" 2>&1 || fail "ACL SETUSER failed: $(cat "$TMP/acl.out")"
assert_eq "$(cat "$TMP/acl.out")" OK "ACL SETUSER reply"
rcli acl log reset >/dev/null
url="redis://dteq:$pw@127.0.0.1:$REDIS_PORT"
DTEQ_REDIS_URL=$url
export DTEQ_REDIS_URL

tf="$TMP/acl.json"
add_task "$tf" a "echo a"
add_task "$tf" b "echo b; exit 4" a
add_task "$tf" c "echo c" a
add_task "$tf" d "echo d" b
taskfile "$tf"

"$DTEQ" record --run "$RUN" --id fmt -- sh -c 'echo formatted' \
    >"$TMP/record.out" 2>&1
assert_eq "$?" 0 "dteq record through the ACL user"
bg agent.a1 "$DTEQ" work --run "$RUN" --name a1 --parallel 2
bg agent.a2 "$DTEQ" work --run "$RUN" --name a2
timeout 60 "$DTEQ" submit --run "$RUN" --stream --retries 1 "$tf" \
    >"$TMP/submit.out" 2>"$TMP/submit.err"
assert_eq "$?" 1 "submit exit status (b fails)"
assert_grep '^4 tasks: 2 succeeded, 1 failed, 1 skipped' "$TMP/submit.out" \
    "the summary"
agents_exit_ok 15 a1 a2
timeout 30 "$DTEQ" status --run "$RUN" >"$TMP/status.out" 2>&1
assert_eq "$?" 0 "dteq status through the ACL user"
timeout 30 "$DTEQ" logs --run "$RUN" b >"$TMP/logs.out" 2>&1
assert_grep '^b$' "$TMP/logs.out" "dteq logs of b"

# --fail-fast and cancel, on a second run.
r2="$RUN-ff"
tf2="$TMP/ff.json"
add_task "$tf2" bad "exit 2"
for i in 1 2 3; do add_task "$tf2" "q$i" "sleep 0.2"; done
taskfile "$tf2"
bg agent.b1 "$DTEQ" work --run "$r2" --name b1
timeout 60 "$DTEQ" submit --run "$r2" --fail-fast "$tf2" \
    >"$TMP/ff.out" 2>"$TMP/ff.err"
assert_eq "$?" 1 "submit --fail-fast exit status"
agents_exit_ok 15 b1
r3="$RUN-cancel"
tf3="$TMP/cancel.json"
add_task "$tf3" long "sleep 30"
taskfile "$tf3"
bg agent.c1 "$DTEQ" work --run "$r3" --name c1
bg submit3 "$DTEQ" submit --run "$r3" "$tf3"
wait_for "[ \"\$(rcli hget 'dteq:{$r3}:claims' long)\" = '1 c1' ]" 20 ||
    fail "the long task never started"
timeout 30 "$DTEQ" cancel --run "$r3" >"$TMP/cancel.out" 2>&1
assert_eq "$?" 0 "dteq cancel through the ACL user"
bg_wait submit3 30
assert_eq "$(bg_rc submit3)" 3 "submit exit status after the cancel"

# The remote cache through the same user.
ctoken="acl-cache-$$"
bg cache "$DTEQ" cache --token "$ctoken"
wait_for "grep -q '^http://' '$TMP/cache.out'" 10 ||
    fail "dteq cache did not start: $(cat "$TMP/cache.err")"
cport=$(sed -n 's|^http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$TMP/cache.out" |
    head -1)
[ -n "$cport" ] || fail "cache URL not shown: $(cat "$TMP/cache.out")"
printf 'artifact' >"$TMP/art"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
    -H "Authorization: Bearer $ctoken" --data-binary @"$TMP/art" \
    "http://127.0.0.1:$cport/v1/cache/abc123")
assert_eq "$code" 200 "cache upload through the ACL user"
code=$(curl -s -o "$TMP/art.back" -w '%{http_code}' \
    -H "Authorization: Bearer $ctoken" \
    "http://127.0.0.1:$cport/v1/cache/abc123")
assert_eq "$code" 200 "cache download through the ACL user"
assert_eq "$(cat "$TMP/art.back")" artifact "the artifact read back"

denied=$(rcli acl log 100 | grep -A1 -E '^(object|reason)$' |
    grep -v -E '^(object|reason|--)$' | paste -sd' ')
info "ACL LOG: ${denied:-empty}"
[ -z "$denied" ] || fail "commands denied to the README's ACL user: $denied"
exit 0
