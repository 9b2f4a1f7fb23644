# `dteq submit --turbo "run lint test build"` on the generated 13-project
# workspace with the pinned Turborepo: the graph comes from
# `turbo run ... --dry=json`, agents run each task with
# `node_modules/.bin/turbo run TASK --filter=PKG --only`. 3 agents share
# one copy of the workspace.
# slow: agents sharing one checkout; t_turbo_copies_cache covers Turborepo
# timeout: 300

. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/nx/lib.sh"

shared_checkout_run turbo 270 "run lint test build"

# Turborepo ran them: its own task prefix and summary are in the blocks.
assert_grep '@ws/web:test: .*test @ws/web: 2 assertions passed' "$out" \
    "Turborepo's prefixed output of @ws/web#test"
assert_grep 'Tasks: +1 successful, 1 total' "$out" "Turborepo's own summary"
exit 0
