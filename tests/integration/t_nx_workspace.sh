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

shared_checkout_run nx 390 "run-many -t lint,test,build"

# Nx ran every task and printed its own output, inside dteq's blocks.
for p in $WS_PROJECTS; do
	for t in lint test build; do
		id="@ws/$p:$t"
		assert_eq "$(count_lines "$out" "< $id: succeeded")" 1 \
		    "'succeeded' footer of $id"
	done
	assert_grep "Successfully ran target build for project @ws/$p" \
	    "$out" "Nx's own output for @ws/$p:build"
done
assert_grep '^> nx run @ws/web:test$' "$out" "Nx's banner for @ws/web:test"
assert_grep 'test @ws/web: 2 assertions passed, read 3 libraries' "$out" \
    "the app's test read its libraries' dist"

# The builds ran in dependency order and wrote their outputs.
for d in $WS_DIRS; do
	assert_file "$WS/$d/dist/index.js" "dist of $d"
done
exit 0
