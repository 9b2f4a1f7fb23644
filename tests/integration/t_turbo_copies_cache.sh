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

copies_cache_run turbo 270 "run lint test build" 39
replay_counts "lint:13 test:13 build:13"
assert_grep 'Cached: *39 cached, 39 total' "$TMP/replay.out" \
    "the replay read every task from the cache"
[ -d "$TMP/main/libs/util/dist" ] ||
    fail "the main job's copy lacks libs/util/dist after the replay"
exit 0
