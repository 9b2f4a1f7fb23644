# Same source everywhere: submit records the git commit of its checkout;
# an agent whose checkout is at another commit refuses the run (exit 3,
# naming both commits) instead of failing tasks in confusing ways, and
# with --allow-commit-mismatch it serves the run anyway. The submit shows
# the refusal as soon as it sees it.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

# Two checkouts of one repository, one commit apart.
mkrepo() {
	git -C "$1" init -q &&
	    git -C "$1" -c user.email=t@example.com -c user.name=t \
	    commit -q --allow-empty -m "$2" ||
	    fail "git repository in $1"
}
mkdir -p "$TMP/main" "$TMP/agent"
mkrepo "$TMP/main" first
mkrepo "$TMP/agent" second
c_main=$(git -C "$TMP/main" rev-parse HEAD)
c_agent=$(git -C "$TMP/agent" rev-parse HEAD)
[ "$c_main" != "$c_agent" ] || fail "the two checkouts share a commit"

start_redis
tf="$TMP/tasks.json"
add_task "$tf" one "echo one"
taskfile "$tf"

# The refusing agent.
cd "$TMP/agent" || fail "cd"
start_agent strict --wait 20
cd "$TMP/main" || fail "cd"
bg submit.run "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" \
    --agent-wait 30 "$tf"
bg_wait agent.strict 20
assert_eq "$(bg_rc agent.strict)" 3 "exit status of the agent on another commit"
assert_grep "$c_main" "$TMP/agent.strict.err" "the agent names submit's commit"
assert_grep "$c_agent" "$TMP/agent.strict.err" "the agent names its own commit"
[ -z "$(rcli HGET "dteq:{$RUN}:results" one)" ] ||
    fail "the refusing agent ran a task"
# The main job says at once why its agent went away, not after
# --agent-wait: submit shows the refusal it finds in the run's meta.
wait_for "grep -q 'agent strict refused run' '$TMP/submit.run.err'" 10 ||
    fail "submit does not show the agent's refusal"
assert_grep "agent strict refused run $RUN: the run was submitted from commit $c_main but this agent's checkout is at $c_agent" \
    "$TMP/submit.run.err" "submit's message names both commits"
bg_done submit.run && fail "submit gave up while agents may still come"

# The agent that accepts the mismatch serves the same run.
cd "$TMP/agent" || fail "cd"
start_agent lenient --allow-commit-mismatch --wait 20
cd "$TMP/main" || fail "cd"
bg_wait submit.run 40
assert_eq "$(bg_rc submit.run)" 0 "submit exit status"
agents_exit_ok 15 lenient
assert_eq "$(result_field "$RUN" one agent)" lenient "agent of task one"
assert_eq "$(rcli HGET "dteq:{$RUN}:meta" commit)" "$c_main" \
    "the commit submit recorded"
exit 0
