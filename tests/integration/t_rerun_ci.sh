# Re-runs of a pipeline as each CI makes them, with the variables it sets.
# Each pipeline's first attempt fails (a task fails once, its dependent
# is skipped); then:
# - GitLab, retrying only the main job (CI_PIPELINE_ID kept, a new
#   CI_JOB_ID): no agent joins, so after --fallback-after the main job
#   runs the two remaining tasks itself, saying so in one line, and exits
#   0; the task that succeeded in the first attempt is not run again.
#   Retrying the main job and an agent (CI_JOB_RETRY_COUNT=1), the agent
#   starting first: it waits for the run to start again instead of
#   leaving ("already over"), joins and runs the tasks. A retried agent
#   whose main job is not retried leaves after --wait, exit 0.
# - Bitbucket, "rerun failed steps" (BITBUCKET_BUILD_NUMBER kept,
#   BITBUCKET_STEP_RUN_NUMBER=2): the same as GitLab's second case.
# - GitHub, "re-run failed jobs" of the main job alone (GITHUB_RUN_ATTEMPT
#   2: a run of its own, 900-2): the main job runs every task itself after
#   --fallback-after; "re-run all jobs" (attempt 3): the agent, started
#   first, waits for run 900-3 and serves it.
# timeout: 150

. "$TOP/tests/integration/lib.sh"

unset DTEQ_REPO
start_redis

# graph CI: the task file of pipeline CI; each task notes it ran.
graph() {
	add_task "$TMP/$1.json" ok "echo ok >>$TMP/ran.$1"
	add_task "$TMP/$1.json" flaky \
	    "echo flaky >>$TMP/ran.$1; [ -e $TMP/fixed.$1 ] || { touch $TMP/fixed.$1; exit 1; }"
	add_task "$TMP/$1.json" after "echo after >>$TMP/ran.$1" flaky
	taskfile "$TMP/$1.json"
}

# runs CI ID: how many times task ID of pipeline CI ran.
runs() {
	grep -cx "$2" "$TMP/ran.$1" 2>/dev/null || true
}

# job NAME VAR=VALUE... -- dteq ARGS...: a CI job in the background.
job() {
	_j=$1
	shift
	bg "$_j" env "$@"
}

# first CI ENV...: the pipeline's first attempt, one agent and the main
# job; the main job exits 1, the agent 0.
first() {
	_ci=$1
	shift
	graph "$_ci"
	job "$_ci-agent1" "$@" "$DTEQ" work --redis "$REDIS_URL" --wait 30
	job "$_ci-main1" "$@" "$DTEQ" submit --redis "$REDIS_URL" \
	    "$TMP/$_ci.json"
	bg_wait "$_ci-main1" 30
	assert_eq "$(bg_rc "$_ci-main1")" 1 "$_ci: the first attempt's exit"
	bg_wait "$_ci-agent1" 15
	assert_eq "$(bg_rc "$_ci-agent1")" 0 "$_ci: the first agent's exit"
}

log "GitLab: retry the main job alone"
gl="CI_PIPELINE_ID=500 CI_PROJECT_PATH=grp/app"
# shellcheck disable=SC2086
first gl $gl CI_JOB_ID=11
# shellcheck disable=SC2086
job gl-main2 $gl CI_JOB_ID=12 "$DTEQ" submit --redis "$REDIS_URL" \
    --fallback-after 2 "$TMP/gl.json"
bg_wait gl-main2 30
assert_eq "$(bg_rc gl-main2)" 0 "gl: the retried main job's exit"
assert_grep 'no agent joined run 500 within 2 s: the main job runs its 2 remaining tasks itself, 1 at once' \
    "$TMP/gl-main2.err" "gl: the fallback's line"
assert_eq "$(runs gl ok)" 1 "gl: runs of ok (succeeded in the first attempt)"
assert_eq "$(runs gl after)" 1 "gl: runs of after"
assert_grep '^= ok: succeeded earlier' "$TMP/gl-main2.out" \
    "gl: ok from the first attempt"

log "GitLab: retry the main job and an agent, the agent first"
gl="CI_PIPELINE_ID=501 CI_PROJECT_PATH=grp/app"
# shellcheck disable=SC2086
first gl2 $gl CI_JOB_ID=21
# shellcheck disable=SC2086
job gl2-agent2 $gl CI_JOB_ID=23 CI_JOB_RETRY_COUNT=1 \
    "$DTEQ" work --redis "$REDIS_URL" --wait 30
wait_for "grep -q 'waiting up to 30 s for the run to start again' '$TMP/gl2-agent2.err'" 10 ||
    fail "gl2: the retried agent does not wait for the run"
sleep 1
bg_done gl2-agent2 && fail "gl2: the retried agent left"
# shellcheck disable=SC2086
job gl2-main2 $gl CI_JOB_ID=22 "$DTEQ" submit --redis "$REDIS_URL" \
    --fallback-after 0 "$TMP/gl2.json"
bg_wait gl2-main2 30
assert_eq "$(bg_rc gl2-main2)" 0 "gl2: the retried main job's exit"
bg_wait gl2-agent2 15
assert_eq "$(bg_rc gl2-agent2)" 0 "gl2: the retried agent's exit"
assert_grep 'joined run 501' "$TMP/gl2-agent2.err" "gl2: the agent joined"
assert_eq "$(runs gl2 after)" 1 "gl2: runs of after"

log "GitLab: a retried agent alone leaves after --wait"
# shellcheck disable=SC2086
job gl2-agent3 $gl CI_JOB_ID=24 CI_JOB_RETRY_COUNT=2 \
    "$DTEQ" work --redis "$REDIS_URL" --wait 2
bg_wait gl2-agent3 15
assert_eq "$(bg_rc gl2-agent3)" 0 "gl2: a lone retried agent's exit"
assert_grep 'did not start again within 2 s: nothing to do' \
    "$TMP/gl2-agent3.err" "gl2: the lone agent's note"

log "Bitbucket: rerun failed steps, the agent's step first"
bb="BITBUCKET_BUILD_NUMBER=7 BITBUCKET_REPO_FULL_NAME=acme/app"
# shellcheck disable=SC2086
first bb $bb BITBUCKET_STEP_UUID={a-1} BITBUCKET_STEP_RUN_NUMBER=1
# shellcheck disable=SC2086
job bb-agent2 $bb BITBUCKET_STEP_UUID={a-2} BITBUCKET_STEP_RUN_NUMBER=2 \
    "$DTEQ" work --redis "$REDIS_URL" --wait 30
wait_for "grep -q 'start again' '$TMP/bb-agent2.err'" 10 ||
    fail "bb: the re-run agent does not wait for the run"
# shellcheck disable=SC2086
job bb-main2 $bb BITBUCKET_STEP_UUID={m-2} BITBUCKET_STEP_RUN_NUMBER=2 \
    "$DTEQ" submit --redis "$REDIS_URL" --fallback-after 0 "$TMP/bb.json"
bg_wait bb-main2 30
assert_eq "$(bg_rc bb-main2)" 0 "bb: the re-run main step's exit"
assert_grep 'after +a-2 ' "$TMP/bb-main2.out" "bb: after ran on the agent"
bg_wait bb-agent2 15
assert_eq "$(bg_rc bb-agent2)" 0 "bb: the re-run agent's exit"
assert_eq "$(runs bb ok)" 1 "bb: runs of ok"

log "GitHub: re-run failed jobs (the main job alone)"
gh="GITHUB_RUN_ID=900 GITHUB_REPOSITORY=acme/app"
# shellcheck disable=SC2086
first gh $gh GITHUB_RUN_ATTEMPT=1
# shellcheck disable=SC2086
job gh-main2 $gh GITHUB_RUN_ATTEMPT=2 "$DTEQ" submit --redis "$REDIS_URL" \
    --fallback-after 2 "$TMP/gh.json"
bg_wait gh-main2 30
assert_eq "$(bg_rc gh-main2)" 0 "gh: the re-run main job's exit"
assert_grep 'no agent joined run 900-2 within 2 s: the main job runs its 3 remaining tasks itself' \
    "$TMP/gh-main2.err" "gh: the fallback's line"

log "GitHub: re-run all jobs, the agent first"
rm -f "$TMP/fixed.gh"
# shellcheck disable=SC2086
job gh-agent3 $gh GITHUB_RUN_ATTEMPT=3 "$DTEQ" work --redis "$REDIS_URL" \
    --name ghagent3 --wait 30
sleep 1
bg_done gh-agent3 && fail "gh: the agent of attempt 3 left"
touch "$TMP/fixed.gh"
# shellcheck disable=SC2086
job gh-main3 $gh GITHUB_RUN_ATTEMPT=3 "$DTEQ" submit --redis "$REDIS_URL" \
    --fallback-after 0 "$TMP/gh.json"
bg_wait gh-main3 30
assert_eq "$(bg_rc gh-main3)" 0 "gh: attempt 3's exit"
assert_grep 'after +ghagent3 ' "$TMP/gh-main3.out" "gh: after ran on the agent"
bg_wait gh-agent3 15
assert_eq "$(bg_rc gh-agent3)" 0 "gh: attempt 3's agent's exit"
exit 0
