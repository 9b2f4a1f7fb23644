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

# ci NAME VAR=VALUE... -- dteq ARGS: dteq with only these CI variables.
ci_bg() {
	_n=$1
	shift
	bg "$_n" env "$@"
}

log "GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT, BITBUCKET_BUILD_NUMBER ignored"
gh="GITHUB_RUN_ID=4242 GITHUB_RUN_ATTEMPT=3 BITBUCKET_BUILD_NUMBER=77"
# shellcheck disable=SC2086
ci_bg agent.gh $gh BITBUCKET_STEP_UUID='{5d1f-aa}' \
    "$DTEQ" work --redis "$REDIS_URL"
# shellcheck disable=SC2086
ci_bg submit.gh $gh "$DTEQ" submit --redis "$REDIS_URL" "$tf"
bg_wait submit.gh 30
assert_eq "$(bg_rc submit.gh)" 0 "submit exit status (GitHub variables)"
agents_exit_ok 15 gh
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
bg_wait submit.env2 30
assert_eq "$(bg_rc submit.env2)" 0 "submit exit status (DTEQ_RUN)"
agents_exit_ok 15 env2
assert_grep '^run=release.7-linux agent=nx-agent-1$' "$TMP/submit.env2.out" \
    "DTEQ_RUN and DTEQ_AGENT seen by the task"
assert_eq "$(result_field release.7-linux hello status)" success \
    "status of hello in dteq:{release.7-linux}:results"

log "--run overrides the environment"
ci_bg agent.flag DTEQ_RUN=ignored "$DTEQ" work --redis "$REDIS_URL" \
    --run "$RUN" --name flag
ci_bg submit.flag DTEQ_RUN=ignored "$DTEQ" submit --redis "$REDIS_URL" \
    --run "$RUN" "$tf"
bg_wait submit.flag 30
assert_eq "$(bg_rc submit.flag)" 0 "submit exit status (--run)"
agents_exit_ok 15 flag
assert_eq "$(result_field "$RUN" hello agent)" flag "agent of hello (--run)"
assert_eq "$(rcli exists "dteq:{ignored}:results")" 0 \
    "results under the environment's run id"
exit 0
