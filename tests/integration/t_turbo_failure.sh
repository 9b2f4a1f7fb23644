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

nx_setup
ws="$TMP/ws"
nx_workspace "$ws" --fail-test api
main="$TMP/main"
cp -a "$ws" "$main" || fail "copy of the workspace for the main job"
start_redis
for a in a1 a2; do
	nx_agent "$a" "$ws"
done
cd "$main" || fail "cd $main"
t0=$(now_ms)
nx_submit submit 150 --turbo "run build test --concurrency 2"
log "submit took $(($(now_ms) - t0)) ms"
assert_eq "$SUBMIT_RC" 1 "dteq submit exit status with a failing test"
agents_exit_ok 30 a1 a2
out="$TMP/submit.out"
assert_grep '^26 tasks: 25 succeeded, 1 failed, 0 skipped' "$out" \
    "summary line"
assert_grep '^Replaying the 25 tasks that succeeded \(of 26\) here from the remote cache, in 2 runs of `turbo run`' \
    "$out" "the replay's line"
sed -n '/^Replaying the 25 tasks/,$p' "$out" >"$TMP/replay.out"
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
for p in libs/util libs/api apps/web apps/docs; do
	[ -f "$main/$p/dist/index.js" ] ||
	    fail "the main job's copy lacks $p/dist after the replay"
done
exit 0
