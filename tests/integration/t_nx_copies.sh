# `dteq submit --nx "run-many -t lint,test,build"` with 3 agents, each in
# its OWN copy of the workspace, as on CI where every agent is a separate
# machine: nothing is shared through the file system, so a build's dist/
# must reach the agents that need it some other way.
#
# With DTEQ_TOOL_DEPS=exclude (agent commands `nx run ID
# --excludeTaskDependencies`) Nx restores no dependency's outputs, so a
# task whose dependency ran on another agent fails ("... was not built
# here") and its dependents are skipped. Whether that happens depends on
# where tasks land: an agent keeps a dependent its finish released, so
# a run can also succeed whole. This test accepts either, and nothing
# else: a failure must be that one. t_nx_copies_cache.sh runs the same
# in the default restore mode, which must succeed.
# slow: the --excludeTaskDependencies variant on separate copies
# timeout: 420

. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/nx/lib.sh"
# The variant under test: the commands keep the tools' flags.
tool_deps exclude

SHARED_OUTPUTS=${DTEQ_TEST_SHARED_OUTPUTS:-0}

nx_not_under_sanitizers
nx_setup
three_copies
# No replay: it writes the main job's copy on purpose, checked below.
nx_submit submit 390 --no-replay --nx "run-many -t lint,test,build"
agents_exit_ok 30 a1 a2 a3
out="$TMP/submit.out"

# Each agent wrote only into its own copy; the main job's copy is untouched.
assert_no_file "$TMP/main/libs/util/dist" "the main job's copy was written"
for a in a1 a2 a3; do
	n=$(rcli hvals "dteq:{$RUN}:results" | grep -c "\"agent\":\"$a\"")
	log "agent $a ran $n tasks"
done

if [ "$SHARED_OUTPUTS" = 1 ] || [ "$SUBMIT_RC" = 0 ]; then
	assert_eq "$SUBMIT_RC" 0 "dteq submit exit status"
	assert_grep '^39 tasks: 39 succeeded' "$out" "summary line"
	exit 0
fi

# A failed run failed because outputs stay where they were built.
assert_eq "$SUBMIT_RC" 1 "dteq submit exit status (outputs not shared)"
assert_grep 'was not built here|dist/index.js is missing' "$out" \
    "a task failed for lack of another agent's outputs"
# Tasks that need no other task's outputs all succeeded.
for p in $WS_PROJECTS; do
	assert_eq "$(result_field "$RUN" "@ws/$p:lint" status)" success \
	    "status of @ws/$p:lint"
done
assert_eq "$(result_field "$RUN" @ws/util:build status)" success \
    "status of @ws/util:build (no deps)"
log "failed for lack of outputs, as it may: $(grep '^[0-9]* tasks:' "$out")"
exit 0
