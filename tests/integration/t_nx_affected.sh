# `dteq submit --nx "affected -t build --base=HEAD~1"`, the recipe's main
# job: after a commit that changes @ws/forms, Nx's graph holds the builds of
# the affected projects (forms and the apps that use it) and of what they
# need, and nothing else; then an empty affected graph (nothing changed)
# is a run of no tasks that succeeds.
# slow: `affected` instead of `run-many`: the same graph path
# timeout: 240

. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/nx/lib.sh"
# Agents here share one checkout: the commands keep the tools' flags.
tool_deps exclude

nx_not_under_sanitizers
tool_workspace
cd "$WS" || fail "cd $WS"
g() {
	git -c user.email=ci@example.invalid -c user.name=ci "$@" >/dev/null ||
	    fail "git $*"
}
g init -q -b main
g add -A
g commit -q -m "the workspace"
echo '// changed' >>libs/forms/src/index.js
g commit -q -a -m "change forms"

start_agent a1
start_agent a2
nx_submit submit 200 --nx "affected -t build --base=HEAD~1 --head=HEAD"
assert_eq "$SUBMIT_RC" 0 "dteq submit exit status"
agents_exit_ok 30 a1 a2
out="$TMP/submit.out"
for p in forms web admin; do
	assert_eq "$(result_field "$RUN" "@ws/$p:build" status)" success \
	    "status of affected @ws/$p:build"
done
assert_eq "$(result_field "$RUN" @ws/util:build status)" success \
    "status of @ws/util:build, which affected builds need"
for p in mobile server docs; do
	assert_eq "$(result_field "$RUN" "@ws/$p:build" status)" "" \
	    "@ws/$p:build (not affected) is in the run"
done
assert_no_grep '@ws/(mobile|server|docs):build' "$out" "unaffected builds ran"

# Nothing changed between HEAD and HEAD: no tasks, success.
RUN="$RUN-none"
start_agent b1
nx_submit none 120 --nx "affected -t build --base=HEAD --head=HEAD"
assert_eq "$SUBMIT_RC" 0 "submit of an empty affected graph"
agents_exit_ok 30 b1
assert_eq "$(rcli hlen "dteq:{$RUN}:results")" 0 "results of an empty run"
exit 0
