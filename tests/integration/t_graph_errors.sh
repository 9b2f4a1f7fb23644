# Tool graphs that dteq refuses, before anything is written to Redis
# (exit 2, the Redis server stays empty): continuous (Nx) and persistent
# (Turborepo) tasks, Nx's project graph, a file that is no task graph, an
# Nx or Turborepo too old to run single tasks, bad --nx/--turbo arguments,
# a tool that cannot be run, two graph sources at once.
# timeout: 60

. "$TOP/tests/integration/lib.sh"
# Agents here share one checkout: the commands keep the tools' flags.
tool_deps exclude

start_redis
fx="$TOP/tests/fixtures"

refused cont 'task "@ws/docs:.*continuous' \
    --graph "$fx/nx-24.0.6-continuous.json"
refused persist 'task "@ws/docs#dev": is a persistent task' \
    --graph "$fx/turbo-2.11.11-dry-persistent.json"
printf '{"graph": {"nodes": {}, "dependencies": {}}}\n' >"$TMP/proj.json"
refused proj "Nx's project graph, which has no tasks" --graph "$TMP/proj.json"
printf '{"version": 1}\n' >"$TMP/other.json"
refused other 'not a task graph' --graph "$TMP/other.json"
printf '{"tasks": {"tasks": {"a:b": {}}}}\n' >"$TMP/bad.json"
refused bad 'bad.json: Nx task graph: task "a:b": "target"' \
    --graph "$TMP/bad.json"
printf '{"turboVersion": "1.13.4", "tasks": []}\n' >"$TMP/old.json"
refused oldturbo 'Turborepo 1.13.4 .*too old' --graph "$TMP/old.json"
refused nofile 'nosuch.json' --graph "$TMP/nosuch.json"

# An Nx installed here that predates --excludeTaskDependencies.
mkdir -p "$TMP/oldnx/node_modules/nx"
printf '{"name": "nx", "version": "19.5.7"}\n' \
    >"$TMP/oldnx/node_modules/nx/package.json"
cd "$TMP/oldnx" || fail "cd"
refused oldnx 'Nx 19.5.7 .*too old.*--excludeTaskDependencies' \
    --nx "run-many -t build"
refused oldnxg 'Nx 19.5.7 .*too old' \
    --graph "$fx/nx-24.0.6-run-many-build-test.json"
cd "$TOP" || fail "cd"

refused ownflag 'do not pass --graph=x.json' --nx "run-many -t b --graph=x.json"
refused dry 'do not pass --dry' --turbo "run build --dry"
refused quote 'unterminated double quote' --nx 'affected -t "build'
refused empty 'no Turborepo arguments' --turbo ""
DTEQ_NX_COMMAND=/nonexistent/nx refused notool \
    'failed \(exit 127\).*|cannot run /nonexistent/nx' --nx "run-many -t build"
assert_grep 'cannot run /nonexistent/nx' "$TMP/notool.err" "exec failure"
refused two 'give one task graph' --nx "run-many -t b" --turbo "run b"
tf="$TMP/t.json"
add_task "$tf" one "true"
taskfile "$tf"
refused fileandnx 'give one task graph' --nx "run-many -t b" "$tf"
exit 0
