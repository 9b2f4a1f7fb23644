# Agents sharing one checkout run each Turborepo task alone (`turbo run T
# --filter=P --only`, DTEQ_TOOL_DEPS=exclude, as `dteq run` does), and
# with --only Turborepo's own key of a task leaves its dependencies'
# hashes out. The agents' cache reads and writes that one artifact under
# the dry run's hash instead (the task's cache_as), the key a full `turbo
# run` asks for:
#
# 1. a run with two agents on one checkout: every dry-run hash is an
#    artifact in Redis, and the main job's replay (a full `turbo run` in
#    another copy) reads all 39 from the cache, by Turborepo's own count;
# 2. util's source changed, a new run on the same Redis: a task hits the
#    cache exactly when its dry-run hash is already there. Under
#    Turborepo's --only key, log's build (whose own files did not change)
#    would have been a hit bringing back what was built against the old
#    util;
# 3. api's test fails: the replay of the 38 tasks that succeeded, run per
#    target without --only, reads them all from the cache.
# timeout: 420

. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/nx/lib.sh"

ARGS="run lint test build"

nx_setup
tool_deps exclude
nx_workspace "$TMP/pristine"
start_redis

# dry DIR FILE: the dry run's "id hash" lines of the workspace in DIR.
dry() {
	(cd "$1" && node_modules/.bin/turbo $ARGS --dry=json) \
	    >"$TMP/dry.json" 2>"$TMP/dry.err" ||
	    fail "turbo --dry=json failed: $(cat "$TMP/dry.err")"
	node -e 'for (const t of JSON.parse(require("fs").readFileSync(
	    process.argv[1], "utf8")).tasks) if (t.command !== "<NONEXISTENT>")
	    console.log(t.taskId + " " + t.hash)' "$TMP/dry.json" |
	    sort >"$2" || fail "no hashes in the dry run"
	assert_eq "$(wc -l <"$2")" 39 "tasks in the dry run"
}

log "1. two agents on one checkout; the main job in a copy of its own"
cp -a "$TMP/pristine" "$TMP/shared" || fail "copy: shared"
cp -a "$TMP/pristine" "$TMP/main" || fail "copy: main"
dry "$TMP/pristine" "$TMP/hashes1"
cd "$TMP/shared" || fail "cd $TMP/shared"
RUN="$TEST_NAME-$$-one"
start_agents "s1 s2"
cd "$TMP/main" || fail "cd $TMP/main"
nx_submit one 300 --turbo "$ARGS"
assert_eq "$SUBMIT_RC" 0 "exit status of the first submit"
agents_exit_ok 30 s1 s2
out="$TMP/one.out"
assert_grep '^39 tasks: 39 succeeded, 0 failed, 0 skipped' "$out" \
    "summary line of the first run"
for a in s1 s2; do
	assert_grep "leaving \\([1-9][0-9]* tasks run\\)" "$TMP/agent.$a.err" \
	    "agent $a ran tasks"
done
while read -r id h; do
	assert_eq "$(rcli exists "dteq:cache:{$h}:meta")" 1 \
	    "the artifact of $id under the dry run's hash $h"
done <"$TMP/hashes1"
replay_counts "lint:13 test:13 build:13"
replay_log
assert_grep 'Cached: *39 cached, 39 total' "$TMP/replay.out" \
    "the replay read every task from the cache"
for d in $WS_DIRS; do
	assert_file "$TMP/main/$d/dist/index.js" "$d's dist after the replay"
done

log "2. util changed, a new run on the same Redis"
for c in shared main pristine; do
	echo "// changed" >>"$TMP/$c/libs/util/src/index.js"
done
dry "$TMP/pristine" "$TMP/hashes2"
# The tasks whose key changed with util: all of util's, and every task
# whose dependencies reach util's build.
join "$TMP/hashes1" "$TMP/hashes2" |
    awk '$2 != $3 { print $1 }' >"$TMP/changed"
join "$TMP/hashes1" "$TMP/hashes2" |
    awk '$2 == $3 { print $1 }' >"$TMP/same"
log "$(wc -l <"$TMP/changed") tasks changed key, $(wc -l <"$TMP/same") kept it"
grep -qx '@ws/log#build' "$TMP/changed" ||
    fail "log's build kept its key though util changed"
[ -s "$TMP/same" ] || fail "no task kept its key"
cd "$TMP/shared" || fail "cd $TMP/shared"
RUN="$TEST_NAME-$$-two"
start_agents "s1 s2"
cd "$TMP/main" || fail "cd $TMP/main"
nx_submit two 300 --turbo "$ARGS"
assert_eq "$SUBMIT_RC" 0 "exit status of the second submit"
agents_exit_ok 30 s1 s2
out="$TMP/two.out"
assert_grep '^39 tasks: 39 succeeded, 0 failed, 0 skipped' "$out" \
    "summary line of the second run"
# cache_word LIST WORD WHAT: each task of LIST has its turbo's WORD on
# the cache in its output ("cache miss, executing", "cache hit").
cache_word() {
	while read -r id; do
		run_cli "logs" logs --redis "$REDIS_URL" --run "$RUN" "$id"
		assert_grep "${id%%#*}:${id#*#}: $2" "$TMP/logs.out" "$id, $3"
	done <"$1"
}
cache_word "$TMP/changed" "cache miss, executing" "whose key changed, ran"
cache_word "$TMP/same" "cache hit" "whose key stayed, came from the cache"
replay_counts "lint:13 test:13 build:13"

log "3. api's test fails: the replay of the tasks that succeeded is all hits"
for c in shared main; do
	echo "// FAIL_TEST" >>"$TMP/$c/libs/api/src/index.js"
done
cd "$TMP/shared" || fail "cd $TMP/shared"
RUN="$TEST_NAME-$$-three"
start_agents "s1 s2"
cd "$TMP/main" || fail "cd $TMP/main"
nx_submit three 300 --turbo "$ARGS"
assert_eq "$SUBMIT_RC" 1 "exit status of the submit with a failing test"
agents_exit_ok 30 s1 s2
out="$TMP/three.out"
assert_grep '^39 tasks: 38 succeeded, 1 failed, 0 skipped' "$out" \
    "summary line of the third run"
assert_grep '^Replaying the tasks that succeeded here' "$out" \
    "the replay of the tasks that succeeded"
replay_counts "lint:13 test:12 build:13"
exit 0
