# The run id and agent name come from the CI environment, in Nx's order:
# DTEQ_RUN before GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT before
# BITBUCKET_BUILD_NUMBER; DTEQ_RUN_ENV adds a suffix; BITBUCKET_STEP_UUID
# names the agent (without braces).
# timeout: 60

. "$TOP/tests/integration/lib.sh"

start_redis

tf="$TMP/runid.json"
add_task "$tf" hello "echo \"run=\$DTEQ_RUN agent=\$DTEQ_AGENT\""
taskfile "$tf"

# ci_bg NAME VAR=VALUE... dteq ARGS...: dteq in the background (bg NAME)
# with these CI variables.
ci_bg() {
	_n=$1
	shift
	bg "$_n" env "$@"
}

# ci_ok NAME WHAT: submit.NAME exits 0 within 30 s, and agent NAME
# within 15 s.
ci_ok() {
	bg_wait "submit.$1" 30
	assert_eq "$(bg_rc "submit.$1")" 0 "submit exit status ($2)"
	agents_exit_ok 15 "$1"
}

log "GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT, BITBUCKET_BUILD_NUMBER ignored"
gh="GITHUB_RUN_ID=4242 GITHUB_RUN_ATTEMPT=3 BITBUCKET_BUILD_NUMBER=77"
# shellcheck disable=SC2086
ci_bg agent.gh $gh BITBUCKET_STEP_UUID='{5d1f-aa}' \
    "$DTEQ" work --redis "$REDIS_URL"
# shellcheck disable=SC2086
ci_bg submit.gh $gh "$DTEQ" submit --redis "$REDIS_URL" "$tf"
ci_ok gh "GitHub variables"
assert_grep '^run=4242-3 agent=5d1f-aa$' "$TMP/submit.gh.out" \
    "DTEQ_RUN and DTEQ_AGENT seen by the task"
assert_eq "$(result_field 4242-3 hello agent)" 5d1f-aa \
    "agent of hello in dteq:{4242-3}:results"

log "DTEQ_RUN first, DTEQ_RUN_ENV suffix"
env2="DTEQ_RUN=release.7 DTEQ_RUN_ENV=linux GITHUB_RUN_ID=4242 NX_AGENT_NAME=nx-agent-1"
# shellcheck disable=SC2086
ci_bg agent.env2 $env2 "$DTEQ" work --redis "$REDIS_URL"
# shellcheck disable=SC2086
ci_bg submit.env2 $env2 "$DTEQ" submit --redis "$REDIS_URL" "$tf"
ci_ok env2 DTEQ_RUN
assert_grep '^run=release.7-linux agent=nx-agent-1$' "$TMP/submit.env2.out" \
    "DTEQ_RUN and DTEQ_AGENT seen by the task"
assert_eq "$(result_field release.7-linux hello status)" success \
    "status of hello in dteq:{release.7-linux}:results"

log "--run overrides the environment"
ci_bg agent.flag DTEQ_RUN=ignored "$DTEQ" work --redis "$REDIS_URL" \
    --run "$RUN" --name flag
ci_bg submit.flag DTEQ_RUN=ignored "$DTEQ" submit --redis "$REDIS_URL" \
    --run "$RUN" "$tf"
ci_ok flag "--run"
assert_eq "$(result_field "$RUN" hello agent)" flag "agent of hello (--run)"
assert_eq "$(rcli exists "dteq:{ignored}:results")" 0 \
    "results under the environment's run id"
exit 0
