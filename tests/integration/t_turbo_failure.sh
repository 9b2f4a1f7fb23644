# A failing test in a Turborepo workspace: `dteq submit --turbo "run build
# test"` where @ws/api's test fails exits 1; the replay after the failure
# brings the 25 tasks that succeeded into the main job's copy from the
# remote cache (`turbo run TASK --filter=PKG...`, one per task name; the
# dependencies it brings along all succeeded) and does not run the failed
# test again. 2 agents share one copy of the workspace; the main job has
# its own. Not on the sanitizer build: t_nx_failure runs the same replay
# code there, and test_replay its Turborepo command lines.
# timeout: 180

. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/nx/lib.sh"

failing_test_run turbo 150 "run build test --concurrency 2"
assert_grep '^26 tasks: 25 succeeded, 1 failed, 0 skipped' "$out" \
    "summary line"
replay_of
replay_counts "build:13 test:12"
grep -E 'replay: .* run (build|test) ' "$TMP/submit.err" >"$TMP/replay.cmds"
assert_eq "$(sed 's/.* run \([a-z]*\) .*/\1/' "$TMP/replay.cmds" |
    tr '\n' ' ')" "build test " "the replay's tasks, in order"
assert_grep ' run test (--filter=[^ ]* )*--filter=@ws/util .*--concurrency 2$' \
    "$TMP/replay.cmds" "the test command of the replay"
grep ' run test ' "$TMP/replay.cmds" | grep -q -- '--filter=@ws/api ' &&
    fail "the replay asked for the failed @ws/api#test"
assert_grep 'Cached: *13 cached, 13 total' "$TMP/replay.out" \
    "the replay read every build from the cache"
# The 12 tests that passed, with the builds they depend on: all 13 (a
# build needs its dependencies' builds), none of them the failed test.
assert_grep 'Cached: *25 cached, 25 total' "$TMP/replay.out" \
    "the replay read every test that passed from the cache"
assert_no_grep 'FAIL_TEST' "$TMP/replay.out" "the replay ran the failed test"
main_has_dist libs/util libs/api apps/web apps/docs
exit 0
