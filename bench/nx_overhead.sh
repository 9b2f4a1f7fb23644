#!/bin/sh
# What running one task through Nx costs an agent, against the script alone.
#
# dteq keeps Nx in charge of each task: an agent runs
# `npx --no nx run ID --excludeTaskDependencies`, so every task pays for a
# Node.js start, Nx loading the project graph and its plugins, hashing and
# the cache, around the script itself. This measures that overhead on the
# generated 13-project test workspace (tests/nx/gen_workspace.sh, pinned Nx
# and Turborepo from tests/nx/setup.sh), for one task with dependencies
# (@ws/core:build), and the ways to cut it:
#
#   script         node scripts/task.js build, in the project
#   npm run        npm run build (what Nx's run-script executor runs)
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

script=$(median "cd libs/core && node ../../scripts/task.js build")
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
