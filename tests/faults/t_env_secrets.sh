# Security: tasks do not inherit the agent's secrets. With DTEQ_SECRET set
# (submit and agents) and the Redis password in DTEQ_REDIS_PASSWORD, a
# task's environment has neither variable nor either value, while an
# ordinary variable of the agent still reaches it; a task's own env cannot
# be used to read them back either. Also with --secret-file when the
# options exist.
# timeout: 60

. "$TOP/tests/faults/faultlib.sh"

secret="task-env-secret-$$-x1"
pw="task-env-pw-$$-y2"
# rcli authenticates; no dteq process (nor task) inherits the password,
# and $REDIS_URL does not hold it.
start_redis_auth "$pw"

tf="$TMP/env.json"
add_task "$tf" show "env >$TMP/env.show"
add_task "$tf" shell "set >$TMP/env.shell" show
taskfile "$tf"

check_env() {
	for f in "$TMP/env.show" "$TMP/env.shell"; do
		assert_file "$f" "the task did not write its environment"
		assert_no_grep '^DTEQ_SECRET=' "$f" "DTEQ_SECRET in a task's environment (${f##*.})"
		assert_no_grep '^DTEQ_REDIS_PASSWORD=' "$f" \
		    "DTEQ_REDIS_PASSWORD in a task's environment (${f##*.})"
		grep -qF -- "$secret" "$f" && fail "the secret's value is in a task's environment (${f##*.})"
		grep -qF -- "$pw" "$f" && fail "the Redis password is in a task's environment (${f##*.})"
	done
	assert_grep '^AGENT_ORDINARY=kept$' "$TMP/env.show" \
	    "an ordinary agent variable did not reach the task"
	assert_grep "^DTEQ_TASK_ID=show\$" "$TMP/env.show" "DTEQ_TASK_ID of the task"
}

log "DTEQ_SECRET and DTEQ_REDIS_PASSWORD in the environment"
bg agent.a1 env DTEQ_SECRET="$secret" DTEQ_REDIS_PASSWORD="$pw" \
    AGENT_ORDINARY=kept "$DTEQ" work --redis "$REDIS_URL" --run "$RUN" --name a1
bg submit env DTEQ_SECRET="$secret" DTEQ_REDIS_PASSWORD="$pw" \
    "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" "$tf"
bg_wait submit 30
assert_eq "$(bg_rc submit)" 0 "dteq submit exit status"
agents_exit_ok 15 a1
check_env
grep -F -- "$secret" "$TMP"/*.out "$TMP"/*.err && fail "dteq printed the secret"

if has_option work --secret-file && has_option submit --secret-file; then
	log "--secret-file"
	rm -f "$TMP/env.show" "$TMP/env.shell"
	printf '%s\n' "$secret" >"$TMP/secret"
	chmod 600 "$TMP/secret"
	r2="$RUN-file"
	bg agent.a2 env DTEQ_REDIS_PASSWORD="$pw" AGENT_ORDINARY=kept \
	    "$DTEQ" work --redis "$REDIS_URL" --run "$r2" --name a2 \
	    --secret-file "$TMP/secret"
	bg submit2 env DTEQ_REDIS_PASSWORD="$pw" "$DTEQ" submit --redis "$REDIS_URL" \
	    --run "$r2" --secret-file "$TMP/secret" "$tf"
	bg_wait submit2 30
	assert_eq "$(bg_rc submit2)" 0 "dteq submit exit status (--secret-file)"
	agents_exit_ok 15 a2
	check_env
	# The messages were signed with the file's secret.
	assert_no_grep 'not authenticated' "$TMP/agent.a2.err" \
	    "the agent says tasks are not authenticated with --secret-file"
else
	info "no --secret-file option on submit and work; that part skipped"
fi
exit 0
