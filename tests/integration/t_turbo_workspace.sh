# `dteq submit --turbo "run lint test build"` on the generated 13-project
# workspace with the pinned Turborepo: the graph comes from
# `turbo run ... --dry=json`, agents run each task with
# `node_modules/.bin/turbo run TASK --filter=PKG --only`. 3 agents share
# one copy of the workspace.
# slow: agents sharing one checkout; t_turbo_copies_cache covers Turborepo
# timeout: 300

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
nx_submit submit 270 --turbo "run lint test build"
log "submit took $(($(now_ms) - t0)) ms"
assert_eq "$SUBMIT_RC" 0 "dteq submit exit status"
agents_exit_ok 30 a1 a2 a3

out="$TMP/submit.out"
assert_grep '^39 tasks: 39 succeeded, 0 failed, 0 skipped' "$out" \
    "summary line"
assert_grep 'getting the task graph: node_modules/\.bin/turbo run lint test build --dry=json' \
    "$TMP/submit.err" "submit says how it got the graph"
for p in util log core data ui api forms charts web admin mobile server docs; do
	for t in lint test build; do
		id="@ws/$p#$t"
		assert_eq "$(result_field "$RUN" "$id" status)" success \
		    "status of $id"
	done
done
# Turborepo ran them: its own task prefix and summary are in the blocks.
assert_grep '@ws/web:test: .*test @ws/web: 2 assertions passed' "$out" \
    "Turborepo's prefixed output of @ws/web#test"
assert_grep 'Tasks: +1 successful, 1 total' "$out" "Turborepo's own summary"
assert_grep '^// from @ws/charts: // @ws/charts built' \
    "$ws/apps/web/dist/index.js" "web's build read charts' dist"
for a in a1 a2 a3; do
	n=$(rcli hvals "dteq:{$RUN}:results" | grep -c "\"agent\":\"$a\"")
	[ "$n" -gt 0 ] || fail "agent $a ran no task"
done
exit 0
