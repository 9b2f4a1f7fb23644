# A tool's task that others depend on but that declares no outputs (a
# turbo.json or an Nx target without "outputs") gets one warning line
# naming it, before the run starts: nothing it writes reaches the main
# job. Tasks nothing depends on, tasks with outputs, and the tasks of
# dteq's own task files get none.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

start_redis

# submit_graph NAME FILE: a submit of FILE with no agent; its stderr in
# $TMP/NAME.err.
submit_graph() {
	timeout 30 "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN-$1" \
	    --agent-wait 1 --graph "$2" >"$TMP/$1.out" 2>"$TMP/$1.err"
}

fix="$TOP/tests/fixtures/turbo-2.11.11-dry-build-test.json"
python3 - "$fix" "$TMP/noout.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
for t in j["tasks"]:
    if t["task"] == "build":
        t["outputs"] = []
json.dump(j, open(sys.argv[2], "w"))
PY

log "Turborepo builds without outputs"
submit_graph noout "$TMP/noout.json"
assert_eq "$(grep -c 'declares no outputs' "$TMP/noout.err")" 4 \
    "warnings: the four builds, each depended on"
for p in a b c d; do
	assert_grep "@t/$p#build declares no outputs: nothing it writes reaches the main job" \
	    "$TMP/noout.err" "the warning names @t/$p#build"
done
assert_no_grep '#test declares' "$TMP/noout.err" \
    "a test nothing depends on is not named"

log "the same graph as Turborepo wrote it"
submit_graph as_is "$fix"
assert_no_grep 'declares no outputs' "$TMP/as_is.err" \
    "builds with outputs are not named"

log "dteq's own task file"
tf="$TMP/own.json"
add_task "$tf" lib "true"
add_task "$tf" app "true" lib
taskfile "$tf"
submit_graph own "$tf"
assert_no_grep 'declares no outputs' "$TMP/own.err" \
    "a task file's tasks are not named"
exit 0
