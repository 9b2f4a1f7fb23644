# Errors from the tool itself reach the user with the tool's own message,
# exit 2, before anything is written to Redis: Nx not installed (npx --no
# refuses to download it), a project Nx does not know, `nx affected` where
# Nx cannot read git; the same for Turborepo and an unknown task.
# timeout: 120

. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/nx/lib.sh"
# Agents here share one checkout: the commands keep the tools' flags.
tool_deps exclude

tool_workspace
# refused (lib.sh) bounds each submit by SUBMIT_SECS: 100 s here.
SUBMIT_SECS=100

mkdir "$TMP/empty"
cd "$TMP/empty" || fail "cd"
refused nonx '`npx --no nx run-many -t build --graph=[^`]*` failed \(exit [1-9]' \
    --nx "run-many -t build"
assert_grep 'npm' "$TMP/nonx.err" "npx's own message"
refused noturbo '`npx --no turbo run build --dry=json` failed' \
    --turbo "run build"

cd "$WS" || fail "cd $WS"
refused project "Cannot find project 'nosuch'" --nx "run nosuch:build"
refused affected 'failed \(exit 1\)' --nx "affected -t build"
assert_grep 'git' "$TMP/affected.err" "Nx's message about git"
refused task 'failed' --turbo "run nosuchtask"
assert_grep 'nosuchtask' "$TMP/task.err" "Turborepo's message"
exit 0
