#!/bin/sh
# What running one task through Nx costs an agent, against the script alone.
#
# dteq keeps Nx in charge of each task. An agent runs `dteq nx-task ID`,
# which hands the task to the agent's long-lived Nx runner: Node.js, Nx,
# its plugins and the project graph load once per runner, and each task
# pays for hashing, the cache and Nx's executor around the script. With
# DTEQ_NX_RUNNER=off it runs `npx --no nx run ID --excludeTaskDependencies`
# instead, and every task pays for all of it. This measures that overhead on the
# generated 13-project test workspace (tests/nx/gen_workspace.sh, pinned Nx
# and Turborepo from tests/nx/setup.sh), for one task with dependencies
# (@ws/core:build), and the ways to cut it:
#
#   script         node scripts/task.js build, in the project
#   npm run        npm run build (what Nx's run-script executor runs)
#   runner         dteq nx-task ID, its runner already up (an agent's
#                  tasks after the first), each run another library's
#                  build (not in the cache, so it runs); CPU: the runner's
#                  own and its children's (from /proc), plus the client's
#   runner, hit    dteq nx-task of the task, a cache hit
#   npx nx         what agents run, as on CI (no daemon), cache skipped
#   nx bin         node_modules/.bin/nx: without npx
#   no isolation   NX_ISOLATE_PLUGINS=false: plugins in-process
#   daemon         NX_DAEMON=true, daemon already up
#   cache hit      the task's outputs restored from Nx's local cache
#   cold graph     .nx/workspace-data removed first (an agent's first task)
#   batch of 5     one `nx run-many -p 5 projects --excludeTaskDependencies`
#                  per 5 tasks, per task
#   turbo          turbo run build --filter=@ws/core --only --force
#   web, hit       nx run @ws/web:build --excludeTaskDependencies, a hit
#   web+9 deps hit the same without the flag (DTEQ_TOOL_DEPS=restore):
#                  its 9 dependencies are restored from the cache too
#
# Each line is the median over RUNS of the wall time and of the CPU time
# (user + system, the command and the children it waited for, from
# /usr/bin/time): on a busy machine the wall times grow, the CPU times
# much less.
#
# usage: bench/nx_overhead.sh [RUNS]   (default 5; prints medians in ms)

set -eu

runs=${1:-5}
top=$(cd "$(dirname "$0")/.." && pwd)
tools=$("$top/tests/nx/setup.sh")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dteq-nx-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

export NX_NO_CLOUD=true NX_TUI=false TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
export NX_DAEMON=false
ws="$tmp/ws"
"$top/tests/nx/gen_workspace.sh" "$ws" "$tools"
cd "$ws"
npx --no nx run-many -t build >/dev/null 2>&1	# every dist/ exists

# median 'SHELL COMMAND': "WALL CPU", the medians of RUNS runs, in ms.
median() {
	_i=0
	: >"$tmp/times"
	while [ $_i -lt "$runs" ]; do
		/usr/bin/time -f '%e %U %S' -o "$tmp/time" sh -c "$1" \
		    >/dev/null 2>&1 || { echo "failed: $1" >&2; exit 1; }
		tail -1 "$tmp/time" >>"$tmp/times"
		_i=$((_i + 1))
	done
	echo "$(mid '$1') $(mid '$2 + $3')"
}

# mid EXPR: the median of EXPR (seconds) over the lines of $tmp/times, in ms.
mid() {
	awk "{ printf \"%d\\n\", ($1) * 1000 }" "$tmp/times" | sort -n |
	    awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

task="@ws/core:build"
dteq=$top/dteq
[ -x "$dteq" ] || { echo "build dteq first (make)" >&2; exit 1; }
x="$task --excludeTaskDependencies --skip-nx-cache"
nx=./node_modules/.bin/nx
batch="$nx run-many -t build -p @ws/forms,@ws/charts,@ws/api,@ws/ui,@ws/data \
    --excludeTaskDependencies --skip-nx-cache"

# report NAME "WALL CPU" [DIVISOR]: one line, and its excess over npm run.
report() {
	set -- "$1" ${2} "${3:-1}"
	_w=$(($2 / $4))
	_c=$(($3 / $4))
	if [ -z "${npm_w:-}" ]; then
		printf '%-14s %6d %6d\n' "$1" "$_w" "$_c"
		return
	fi
	printf '%-14s %6d %6d   %+6d %+6d\n' "$1" "$_w" "$_c" \
	    $((_w - npm_w)) $((_c - npm_c))
}

# ticks PID: the CPU time of PID and its reaped children, in clock ticks.
ticks() {
	awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"
}

# runner_median MISS: "WALL CPU" medians of `dteq nx-task` through one
# runner (a sleep stands in for its agent), started before the first. With
# MISS=1 each run is the build of another library, none in the runner's
# (empty) cache, so each runs; with 0 each is $task, a cache hit. (A
# runner keeps the file hashes it read at its start, as `nx run-many`
# does, so changing a source file would not make a miss.)
runner_median() {
	sleep 600 &
	_agent=$!
	_cache="$tmp/cache-$1"
	DTEQ_AGENT_PID=$_agent NX_CACHE_DIRECTORY=$_cache "$dteq" nx-task \
	    --report "$tmp/r$1" "$task" >/dev/null 2>&1 ||
	    { echo "failed: dteq nx-task" >&2; exit 1; }
	_pid=$(sed -n '1s/.*"runner":\([0-9]*\).*/\1/p' "$tmp/r$1")
	_hz=$(getconf CLK_TCK)
	_i=0
	: >"$tmp/times"
	for _p in util log ui data api forms charts docs server mobile admin \
	    web; do
		[ $_i -lt "$runs" ] || break
		_id=$task
		[ "$1" = 1 ] && _id="@ws/$_p:build"
		_t0=$(ticks "$_pid")
		/usr/bin/time -f '%e %U %S' -o "$tmp/time" env \
		    DTEQ_AGENT_PID=$_agent NX_CACHE_DIRECTORY=$_cache \
		    "$dteq" nx-task --report "$tmp/r$1" "$_id" >/dev/null 2>&1 ||
		    { echo "failed: dteq nx-task $_id" >&2; exit 1; }
		_t1=$(ticks "$_pid")
		echo "$(tail -1 "$tmp/time") $(((_t1 - _t0) * 1000 / _hz))" \
		    >>"$tmp/times"
		_i=$((_i + 1))
	done
	kill $_agent
	want=success
	[ "$1" = 1 ] || want=local-cache
	[ "$(grep -c "\"status\":\"$want" "$tmp/r$1")" -ge "$runs" ] || {
		echo "runner: not every run was a $want: $(cat "$tmp/r$1")" >&2
		exit 1
	}
	echo "$(mid '$1') $(mid '$2 + $3 + $4 / 1000')"
}

script=$(median "cd libs/core && node ../../scripts/task.js build")
runner=$(runner_median 1)
runnerhit=$(runner_median 0)
npmrun=$(median "cd libs/core && npm run build")
npxnx=$(median "npx --no nx run $x")
bin=$(median "$nx run $x")
noiso=$(median "NX_ISOLATE_PLUGINS=false $nx run $x")
NX_DAEMON=true $nx run $x >/dev/null 2>&1	# start the daemon
daemon=$(median "NX_DAEMON=true $nx run $x")
NX_DAEMON=true $nx daemon --stop >/dev/null 2>&1 || true
hit=$(median "$nx run $task --excludeTaskDependencies")
cold=$(median "rm -rf .nx/workspace-data && $nx run $x")
b5=$(median "$batch")
turbo=$(median "npx --no turbo run build --filter=@ws/core --only --force")
webhit=$(median "$nx run @ws/web:build --excludeTaskDependencies")
webdeps=$(median "$nx run @ws/web:build")

echo "Nx $(./node_modules/.bin/nx --version 2>/dev/null |
    sed -n 's/.*Local: *//p'), Turborepo $(./node_modules/.bin/turbo \
    --version), Node.js $(node --version), $(nproc) cores, load \
    $(cut -d' ' -f1 /proc/loadavg); task $task, median of $runs runs"
echo "               wall ms cpu ms   over npm run (wall, cpu)"
report "script" "$script"
report "npm run" "$npmrun"
npm_w=${npmrun% *}
npm_c=${npmrun#* }
report "runner" "$runner"
report "runner, hit" "$runnerhit"
report "npx nx" "$npxnx"
report "nx bin" "$bin"
report "no isolation" "$noiso"
report "daemon" "$daemon"
report "cache hit" "$hit"
report "cold graph" "$cold"
report "batch of 5" "$b5" 5
report "turbo" "$turbo"
report "web, hit" "$webhit"
report "web+9 deps hit" "$webdeps"
