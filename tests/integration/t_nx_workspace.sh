# `dteq submit --nx "run-many -t lint,test,build"` on a generated 13-project
# Nx workspace (pinned Nx from npm, tests/nx/setup.sh) with 3 agents: dteq
# gets the task graph from Nx itself, agents run each task with
# `node_modules/.bin/nx run ID --excludeTaskDependencies`, builds write
# dist/ and apps' tests read their libraries' dist/.
#
# The 3 agents share ONE copy of the workspace: a build's outputs reach the
# tasks that need them through the file system. With one copy per agent
# outputs must travel through a cache; see t_nx_copies.sh.
# slow: agents sharing one checkout; t_nx_copies_cache runs the same graph on separate copies
# timeout: 420

. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/nx/lib.sh"
# Agents here share one checkout: the commands keep the tools' flags.
DTEQ_TOOL_DEPS=exclude
export DTEQ_TOOL_DEPS

nx_setup
ws="$TMP/ws"
nx_workspace "$ws"
start_redis
cd "$ws" || fail "cd $ws"

for a in a1 a2 a3; do
	start_agent "$a"
done
t0=$(now_ms)
nx_submit submit 390 --nx "run-many -t lint,test,build"
log "submit took $(($(now_ms) - t0)) ms"
assert_eq "$SUBMIT_RC" 0 "dteq submit exit status"
agents_exit_ok 30 a1 a2 a3

out="$TMP/submit.out"
assert_grep '^39 tasks: 39 succeeded, 0 failed, 0 skipped' "$out" \
    "summary line"
assert_grep 'getting the task graph: node_modules/\.bin/nx run-many -t lint,test,build --graph=' \
    "$TMP/submit.err" "submit says how it got the graph"

# Nx ran every task and printed its own output, inside dteq's blocks.
for p in util log core data ui api forms charts web admin mobile server docs; do
	for t in lint test build; do
		id="@ws/$p:$t"
		assert_eq "$(count_lines "$out" "< $id: succeeded")" 1 \
		    "'succeeded' footer of $id"
		assert_eq "$(result_field "$RUN" "$id" status)" success \
		    "status of $id"
	done
	assert_grep "Successfully ran target build for project @ws/$p" \
	    "$out" "Nx's own output for @ws/$p:build"
done
assert_grep '^> nx run @ws/web:test$' "$out" "Nx's banner for @ws/web:test"
assert_grep 'test @ws/web: 2 assertions passed, read 3 libraries' "$out" \
    "the app's test read its libraries' dist"

# The builds ran in dependency order and wrote their outputs.
for d in libs/util libs/log libs/core libs/data libs/ui libs/api \
    libs/forms libs/charts apps/web apps/admin apps/mobile apps/server \
    apps/docs; do
	assert_file "$ws/$d/dist/index.js" "dist of $d"
done
assert_grep '^// from @ws/charts: // @ws/charts built' \
    "$ws/apps/web/dist/index.js" "web's build read charts' dist"

# The work was spread: every agent ran tasks.
for a in a1 a2 a3; do
	n=$(rcli hvals "dteq:{$RUN}:results" | grep -c "\"agent\":\"$a\"")
	[ "$n" -gt 0 ] || fail "agent $a ran no task"
	log "agent $a ran $n tasks"
done
exit 0
