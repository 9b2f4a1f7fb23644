# Security: Redis with requirepass (and an ACL user). A wrong password, in
# the URL or in DTEQ_REDIS_PASSWORD, makes `dteq work` and `dteq submit`
# exit 3 within 5 s with a message about the password that does not show
# the password. The right one through DTEQ_REDIS_PASSWORD with a URL
# without password, and an ACL user/password in the URL, both work, and
# no output (even -v) shows a password; neither does what a task can read
# (its agent's command line and environment, its own environment), the
# task logs in Redis, or the --json report.
# timeout: 90

. "$TOP/tests/faults/faultlib.sh"

right="Right-Pass-$$-q7"
wrong="Wrong-Pass-$$-z9"
acl_pw="Acl-Pass-$$-k3"
# rcli authenticates; no dteq process (nor task) inherits the password,
# and $REDIS_URL does not hold it.
start_redis_auth "$right"
rcli acl setuser ciuser on ">$acl_pw" '~*' '&*' '+@all' >/dev/null ||
    fail "ACL SETUSER failed"

tf="$TMP/auth.json"
add_task "$tf" one "echo one"
add_task "$tf" two "echo two" one
taskfile "$tf"

# expect_refused NAME ENV-ASSIGNMENT... -- CMD...: exit 3 within 5 s, a
# message about the password, no password in the output.
expect_refused() {
	_rn=$1
	shift
	_t0=$(now_ms)
	bg "$_rn" env "$@"
	wait_for "bg_done $_rn" 10 || fail "$_rn still running 10 s after start"
	_ms=$(elapsed_ms "$_t0")
	info "$_rn: exit $(bg_rc "$_rn") after $_ms ms: $(tr '\n' ' ' <"$TMP/$_rn.err" | cut -c1-200)"
	assert_eq "$(bg_rc "$_rn")" 3 "exit status of $_rn"
	[ "$_ms" -lt 5000 ] || fail "$_rn took $_ms ms to give up (want < 5000)"
	grep -Eqi 'password|auth' "$TMP/$_rn.err" ||
	    fail "$_rn does not say the password was refused"
	for _pw in "$wrong" "$right" "$acl_pw"; do
		if grep -qF -- "$_pw" "$TMP/$_rn.err" "$TMP/$_rn.out"; then
			fail "$_rn prints a password"
		fi
	done
}

wrongurl="redis://:$wrong@127.0.0.1:$REDIS_PORT"
expect_refused work-url DTEQ_X=1 "$DTEQ" work --redis "$wrongurl" --run "$RUN" --name w1 -v
expect_refused submit-url DTEQ_X=1 "$DTEQ" submit --redis "$wrongurl" --run "$RUN" -v "$tf"
expect_refused work-env DTEQ_REDIS_PASSWORD="$wrong" "$DTEQ" work --redis "$REDIS_URL" --run "$RUN" --name w1
expect_refused submit-env DTEQ_REDIS_PASSWORD="$wrong" "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" "$tf"
expect_refused work-nopw DTEQ_X=1 "$DTEQ" work --redis "$REDIS_URL" --run "$RUN" --name w1
expect_refused work-acl DTEQ_X=1 "$DTEQ" work --redis "redis://ciuser:$wrong@127.0.0.1:$REDIS_PORT" --run "$RUN" --name w1
assert_eq "$(rcli exists "dteq:{$RUN}:meta")" 0 "run registered by a refused submit"

log "right password through DTEQ_REDIS_PASSWORD"
bg agent.ok env DTEQ_REDIS_PASSWORD="$right" "$DTEQ" work --redis "$REDIS_URL" \
    --run "$RUN" --name ok -v
bg submit-ok env DTEQ_REDIS_PASSWORD="$right" "$DTEQ" submit --redis "$REDIS_URL" \
    --run "$RUN" -v "$tf"
bg_wait submit-ok 30
assert_eq "$(bg_rc submit-ok)" 0 "exit status of submit with DTEQ_REDIS_PASSWORD"
agents_exit_ok 15 ok
assert_eq "$(result_field "$RUN" two status)" success "status of two"

log "ACL user and password in the URL (--redis, and DTEQ_REDIS_URL)"
run2="$RUN-acl"
aclurl="redis://ciuser:$acl_pw@127.0.0.1:$REDIS_PORT"
# A task that shows all it can see of its agent: the agent's command line
# and environment, and its own environment.
tf2="$TMP/auth2.json"
add_task "$tf2" one "echo one"
add_task "$tf2" two "tr '\\0' '\\n' </proc/\$PPID/cmdline; \
tr '\\0' '\\n' </proc/\$PPID/environ; env; touch $TMP/two.ran; sleep 2" one
taskfile "$tf2"
bg agent.acl "$DTEQ" work --redis "$aclurl" --run "$run2" --name acl -v
bg agent.acl2 env DTEQ_REDIS_URL="$aclurl" "$DTEQ" work --run "$run2" \
    --name acl2 -v
bg submit-acl "$DTEQ" submit --redis "$aclurl" --run "$run2" -v \
    --json "$TMP/acl.json" "$tf2"
wait_for "[ -e '$TMP/two.ran' ]" 30 || fail "task two did not run"
for n in agent.acl agent.acl2 submit-acl; do
	p=$(bg_pid "$n")
	for what in cmdline environ; do
		tr '\0' ' ' <"/proc/$p/$what" >"$TMP/$n.$what" 2>/dev/null
		grep -qF -- "$acl_pw" "$TMP/$n.$what" &&
		    fail "the password is in the $what of $n"
	done
done
assert_grep 'ciuser:\*+@127' "$TMP/agent.acl.cmdline" \
    "the agent's command line keeps the URL, password starred"
bg_wait submit-acl 30
assert_eq "$(bg_rc submit-acl)" 0 "exit status of submit with an ACL user"
agents_exit_ok 15 acl
assert_eq "$(result_field "$run2" two status)" success "status of two (ACL run)"

rcli --scan --pattern "dteq:{$run2}:log:*" | while read -r k; do
	rcli get "$k"
done >"$TMP/acl.logs"
assert_grep 'ciuser' "$TMP/acl.logs" "the task's output shows the URL's user"
for f in "$TMP"/*.out "$TMP"/*.err "$TMP/acl.json" "$TMP/acl.logs"; do
	for pw in "$wrong" "$right" "$acl_pw"; do
		grep -qF -- "$pw" "$f" && fail "${f#"$TMP"/} holds a password"
	done
done
grep -h 'ciuser' "$TMP"/*.err | head -3 | sed 's/^/    /'
exit 0
