# A task whose "hash" names an artifact the run's Redis holds whole (the
# remote cache's meta, and every chunk it counts) is not run: submit
# makes it a success "from the cache" (cached, attempt 0, no agent) and
# its dependents go on. An artifact missing chunks is a miss; a hit whose
# dependency failed is skipped, not cached; a hit waiting on a dependency
# in flight is not staged (the agent would run it). The summary, --json,
# --junit and dteq status count the hits. --no-cache-skip runs every
# task, and so does DTEQ_TOOL_DEPS=exclude (nothing restores on a shared
# checkout). In a re-run of the run, a task that ran before can be a hit:
# its old attempt is fenced. A run whose every task is a hit ends at once: its agent exits 0
# with nothing run, and nothing reaches the queue; a resumed submit finds
# the hits final.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis

# artifact HASH SIZE CHUNKS DATA...: an artifact of the remote cache as
# cache/store.c writes it: meta (size, chunks, chunk) and data's chunks.
artifact() {
	_h=$1
	rcli hset "dteq:cache:{$_h}:meta" size "$2" chunks "$3" chunk 1048576 \
	    created 1 >/dev/null
	shift 3
	[ $# -eq 0 ] || rcli rpush "dteq:cache:{$_h}:data" "$@" >/dev/null
}
artifact whole1 3 1 abc
artifact cut2 2000000 2 onlyone		# one chunk of two: a miss

ran="$TMP/ran.log"
: >"$ran"
tasks "$TMP/graph.json" <<EOF
lib1  |           | "hash": "whole1" | echo lib1 >>$ran
lib2  |           | "hash": "cut2"   | echo lib2 >>$ran; sleep 0.5
tool  |           | "hash": "absent3" | echo tool >>$ran
app   | lib1 lib2 | "hash": "whole1" | echo app >>$ran
bad   |           |                  | echo bad >>$ran; exit 3
after | bad       | "hash": "whole1" | echo after >>$ran
EOF

log "a partly cached run"
start_agent a1
submit first --json "$TMP/first.json" --junit "$TMP/first.xml" \
    "$TMP/graph.json"
agents_exit_ok 20 a1
assert_eq "$SUBMIT_RC" 1 "submit exit status (bad failed)"
out="$TMP/first.out"
assert_eq "$(sort "$ran" | tr '\n' ' ')" "bad lib2 tool " \
    "the tasks that ran (lib1 and app were in the cache)"
assert_grep '^6 tasks: 4 succeeded \(2 cached\), 1 failed, 1 skipped' \
    "$out" "summary line"
assert_grep '^= lib1: cache hit \(whole1\), not run$' "$out" "lib1's line"
assert_grep '^= app: cache hit \(whole1\), not run$' "$out" "app's line"
assert_grep '^- after: skipped \(dependency bad failed\)' "$out" \
    "a hit whose dependency failed is skipped"
assert_grep '^  success +app +- +- 0 +cache hit, not run$' "$out" \
    "app's row in the summary table"
for t in lib1 app; do
	assert_eq "$(result_field "$RUN" "$t" cached)" true "$t cached"
	assert_eq "$(result_field "$RUN" "$t" attempt)" 0 "$t's attempt"
	assert_eq "$(result_field "$RUN" "$t" status)" success "$t's status"
	rcli hget "dteq:{$RUN}:results" "$t" | grep -q '"agent"' &&
	    fail "$t's result names an agent"
	assert_eq "$(rcli hexists "dteq:{$RUN}:attempts" "$t")" 0 \
	    "$t has an attempt in Redis"
done
assert_eq "$(result_field "$RUN" lib2 agent)" a1 "lib2 ran on a1"
assert_eq "$(result_field "$RUN" lib2 cached)" "" "lib2 is not cached"
assert_eq "$(result_field "$RUN" after status)" skipped "after's status"

log "--json, --junit and dteq status count the hits"
assert_grep '"counts": .*"success": 4, .*"cached": 2\}' "$TMP/first.json" \
    "JSON counts"
assert_grep '\{"id": "app", "status": "success", "agent": null, "attempts": 0, "attempt": 0, "flaky": false, "cached": true, "exit": 0,' \
    "$TMP/first.json" "JSON of app"
assert_grep '\{"id": "lib2", .*"cached": false,' "$TMP/first.json" \
    "JSON of lib2"
assert_no_grep '"id": "(lib1|app)", "attempt"' "$TMP/first.json" \
    "an attempt of a hit in the JSON's attempts"
assert_grep '<property name="cached" value="2"/>' "$TMP/first.xml" \
    "JUnit's count of hits"
assert_eq "$(grep -c '<system-out>cache hit: not run' "$TMP/first.xml")" 2 \
    "JUnit testcases of the hits"
run_cli status status --redis "$REDIS_URL" --run "$RUN"
assert_eq "$RC" 0 "dteq status exit status"
assert_grep '^tasks: 6 in all; 6 done \(4 succeeded, 2 of them cached, 1 failed, 1 skipped\)' \
    "$TMP/status.out" "dteq status counts the hits"

log "a re-run of the run: lib2, whole now, is a hit, its old attempt fenced"
rcli rpush "dteq:cache:{cut2}:data" second >/dev/null
: >"$ran"
bg rerun "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" "$TMP/graph.json"
# An agent that comes before the re-run clears the stop sentinel leaves.
wait_for '[ "$(rcli exists "dteq:{$RUN}:stop")" = 0 ]' 20 ||
    fail "the re-run did not clear the stop sentinel"
start_agent a5
bg_wait rerun 60
agents_exit_ok 20 a5
assert_eq "$(bg_rc rerun)" 1 "exit status of the re-run"
assert_eq "$(sort "$ran" | tr '\n' ' ')" "bad tool " \
    "the tasks the re-run ran"
assert_grep '^= lib2: cache hit \(cut2\), not run$' "$TMP/rerun.out" \
    "lib2's line in the re-run"
assert_grep '^6 tasks: 4 succeeded \(3 cached\), 1 failed, 1 skipped' \
    "$TMP/rerun.out" "summary line of the re-run"
assert_eq "$(result_field "$RUN" lib2 cached)" true "lib2 cached in the re-run"
for k in attempts claims; do
	assert_eq "$(rcli hget "dteq:{$RUN}:$k" lib2)" 2 \
	    "$k of lib2 after the re-run (its attempt 1 fenced)"
	[ "$(rcli ttl "dteq:{$RUN}:$k")" -gt 0 ] || fail "$k has no TTL"
done
assert_eq "$(result_field "$RUN" lib2 attempt)" 2 "attempt of lib2's result"

log "--no-cache-skip: every task runs"
: >"$ran"
RUN="$TEST_NAME-$$-all"
start_agent a2
submit noskip --no-cache-skip "$TMP/graph.json"
agents_exit_ok 20 a2
assert_eq "$SUBMIT_RC" 1 "submit --no-cache-skip exit status"
assert_eq "$(sort "$ran" | tr '\n' ' ')" "app bad lib1 lib2 tool " \
    "the tasks that ran with --no-cache-skip"
assert_no_grep 'cached|cache hit' "$TMP/noskip.out" \
    "a cache hit with --no-cache-skip"

log "DTEQ_TOOL_DEPS=exclude (one checkout, no restores): every task runs"
: >"$ran"
RUN="$TEST_NAME-$$-exclude"
start_agent a4
DTEQ_TOOL_DEPS=exclude submit exclude "$TMP/graph.json"
agents_exit_ok 20 a4
assert_eq "$(sort "$ran" | tr '\n' ' ')" "app bad lib1 lib2 tool " \
    "the tasks that ran with DTEQ_TOOL_DEPS=exclude"

log "every task a hit: the run ends at once, its agent with it"
: >"$ran"
tasks "$TMP/warm.json" <<EOF
w1 |       | "hash": "whole1" | echo w1 >>$ran
w2 | w1    | "hash": "whole1" | echo w2 >>$ran
w3 | w1 w2 | "hash": "whole1" | echo w3 >>$ran
EOF
RUN="$TEST_NAME-$$-warm"
start_agent a3
submit warm --keep-agents --json "$TMP/warm-report.json" "$TMP/warm.json"
assert_eq "$SUBMIT_RC" 0 "submit exit status of a run all in the cache"
assert_grep '^3 tasks: 3 succeeded \(3 cached\), 0 failed, 0 skipped' \
    "$TMP/warm.out" "summary line of a run all in the cache"
assert_grep '"cached": 3\}' "$TMP/warm-report.json" "JSON count of hits"
assert_eq "$(rcli exists "dteq:{$RUN}:queue" "dteq:{$RUN}:attempts" \
    "dteq:{$RUN}:claims" "dteq:{$RUN}:staged")" 0 \
    "keys of dispatched tasks in a run all in the cache"
# --keep-agents: a second submit of the run resumes it and ends it.
submit again "$TMP/warm.json"
assert_eq "$SUBMIT_RC" 0 "exit status of the resumed submit"
assert_eq "$(grep -c '^= w[123]: a cache hit earlier, not run$' \
    "$TMP/again.out")" 3 "the resumed submit finds the hits final"
agents_exit_ok 20 a3
assert_grep 'leaving \(0 tasks run\)' "$TMP/agent.a3.err" \
    "the agent of a run all in the cache ran nothing"
assert_eq "$(cat "$ran")" "" "tasks run in a run all in the cache"
exit 0
