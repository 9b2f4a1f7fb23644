# Turborepo with 3 agents in separate copies of the workspace, made to work
# through the remote cache: with DTEQ_TOOL_DEPS=restore an agent runs
# `turbo run TASK --filter=PKG` (no --only), so Turborepo restores the
# outputs of the task's dependencies from the cache each agent serves in
# the run's Redis (dteq work: TURBO_API, TURBO_TOKEN, TURBO_TEAM). Agent
# a1 runs two tasks at a time: a task whose `turbo run` restores outputs
# its copy lacks runs alone among such tasks, and each agent restores a
# package's outputs once, never one it built.
# timeout: 300

. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/nx/lib.sh"

nx_setup
three_copies --parallel 2
DTEQ_TOOL_DEPS=restore
export DTEQ_TOOL_DEPS
t0=$(now_ms)
nx_submit submit 270 --turbo "run lint test build"
log "submit took $(($(now_ms) - t0)) ms"
assert_eq "$SUBMIT_RC" 0 "dteq submit exit status"
agents_exit_ok 30 a1 a2 a3
out="$TMP/submit.out"
assert_grep '^39 tasks: 39 succeeded, 0 failed, 0 skipped' "$out" \
    "summary line"
assert_grep 'cache hit, replaying logs' "$out" \
    "dependencies restored from the remote cache"
assert_grep '^dteq: restoring the outputs of @ws/[a-z]*#build.*: the task.s own command does$' \
    "$out" "a task's block says its command restores its dependencies"
agents_restored_once "its command restores the outputs of" a1 a2 a3
# The replay: every task read from the cache into the main job's copy.
assert_grep '^Replaying the run here from the remote cache:' "$out" \
    "the replay ran"
assert_grep 'Cached: *39 cached, 39 total' "$out" \
    "the replay read every task from the cache"
[ -d "$TMP/main/libs/util/dist" ] ||
    fail "the main job's copy lacks libs/util/dist after the replay"
exit 0
