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

ms() {
	echo $(($(date +%s%N) / 1000000))
}

# median CMD...: the median wall time of RUNS runs of CMD, in ms.
median() {
	_i=0
	: >"$tmp/times"
	while [ $_i -lt "$runs" ]; do
		_t=$(ms)
		"$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
		echo $(($(ms) - _t)) >>"$tmp/times"
		_i=$((_i + 1))
	done
	sort -n "$tmp/times" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

task="@ws/core:build"
in_core() {
	(cd libs/core && "$@")
}
nx_bin() {
	./node_modules/.bin/nx "$@"
}
no_isolation() {
	NX_ISOLATE_PLUGINS=false ./node_modules/.bin/nx "$@"
}
with_daemon() {
	NX_DAEMON=true ./node_modules/.bin/nx "$@"
}
cold_graph() {
	rm -rf .nx/workspace-data
	./node_modules/.bin/nx "$@"
}
batch5() {
	./node_modules/.bin/nx run-many -t build \
	    -p @ws/forms,@ws/charts,@ws/api,@ws/ui,@ws/data \
	    --excludeTaskDependencies --skip-nx-cache
}

report() {
	printf '%-14s %6s ms   %6s ms over npm run\n' "$1" "$2" \
	    "$(($2 - npmrun))"
}

script=$(median in_core node ../../scripts/task.js build)
npmrun=$(median in_core npm run build)
npxnx=$(median npx --no nx run $task --excludeTaskDependencies --skip-nx-cache)
bin=$(median nx_bin run $task --excludeTaskDependencies --skip-nx-cache)
noiso=$(median no_isolation run $task --excludeTaskDependencies --skip-nx-cache)
NX_DAEMON=true ./node_modules/.bin/nx run $task --excludeTaskDependencies \
    >/dev/null 2>&1				# start the daemon
daemon=$(median with_daemon run $task --excludeTaskDependencies --skip-nx-cache)
NX_DAEMON=true ./node_modules/.bin/nx daemon --stop >/dev/null 2>&1 || true
hit=$(median nx_bin run $task --excludeTaskDependencies)
cold=$(median cold_graph run $task --excludeTaskDependencies --skip-nx-cache)
b5=$(($(median batch5) / 5))
turbo=$(median npx --no turbo run build --filter=@ws/core --only --force)

echo "Nx $(./node_modules/.bin/nx --version 2>/dev/null | sed -n 's/.*Local: *//p'), $(node --version), $(nproc) cores, median of $runs runs, task $task"
printf '%-14s %6s ms\n' "script" "$script"
printf '%-14s %6s ms\n' "npm run" "$npmrun"
report "npx nx" "$npxnx"
report "nx bin" "$bin"
report "no isolation" "$noiso"
report "daemon" "$daemon"
report "cache hit" "$hit"
report "cold graph" "$cold"
report "batch of 5" "$b5"
report "turbo" "$turbo"
