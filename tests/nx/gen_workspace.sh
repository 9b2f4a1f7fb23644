#!/bin/sh
# Writes a small npm-workspaces monorepo for the Nx and Turborepo tests: 13
# projects, 8 libraries and 5 apps, dependency depth 5 (util <- log <- core
# <- data <- api <- web), each with lint, test and build scripts running
# tests/nx/task.js (build writes dist/, an app's test reads its libraries'
# dist/); apps also have e2e (after their build, their test and their
# libraries' tests). The same files serve Nx (nx.json) and Turborepo (turbo.json); no
# npm install is run in it: node_modules is a link to the tools that
# tests/nx/setup.sh installed.
#
# usage: gen_workspace.sh DIR TOOLS [--fail-test PROJECT]
#   DIR     the workspace to create (must not exist)
#   TOOLS   the folder setup.sh printed (holds node_modules)
#   --fail-test PROJECT   that project's test fails (exit 1)

set -eu

here=$(cd "$(dirname "$0")" && pwd)
dir=$1
tools=$2
shift 2
fail_test=""
while [ $# -gt 0 ]; do
	case $1 in
	--fail-test) fail_test=$2; shift 2 ;;
	*) echo "gen_workspace.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

[ ! -e "$dir" ] || { echo "gen_workspace.sh: $dir exists" >&2; exit 2; }
mkdir -p "$dir/scripts"
cp "$here/task.js" "$dir/scripts/task.js"

cat >"$dir/package.json" <<'JSON'
{
  "name": "ws",
  "version": "0.0.0",
  "private": true,
  "packageManager": "npm@11.0.0",
  "workspaces": ["libs/*", "apps/*"]
}
JSON

cat >"$dir/nx.json" <<'JSON'
{
  "targetDefaults": {
    "build": {
      "dependsOn": ["^build"],
      "outputs": ["{projectRoot}/dist"],
      "cache": true
    },
    "test": { "dependsOn": ["build"], "cache": true },
    "e2e": { "dependsOn": ["build", "test", "^test"], "cache": true },
    "lint": { "cache": true }
  }
}
JSON

cat >"$dir/turbo.json" <<'JSON'
{
  "tasks": {
    "build": { "dependsOn": ["^build"], "outputs": ["dist/**"] },
    "test": { "dependsOn": ["build"] },
    "e2e": { "dependsOn": ["build", "test", "^test"] },
    "lint": {}
  }
}
JSON

printf '%s\n' node_modules dist .nx .turbo >"$dir/.gitignore"

# project KIND NAME DEPS...: one workspace package.
project() {
	_kind=$1
	_name=$2
	shift 2
	_p="$dir/$_kind/$_name"
	mkdir -p "$_p/src"
	_deps=""
	for _d in "$@"; do
		_deps="${_deps:+$_deps, }\"@ws/$_d\": \"*\""
	done
	_e2e=""
	[ "$_kind" = apps ] &&
	    _e2e=',
    "e2e": "node ../../scripts/task.js e2e"'
	cat >"$_p/package.json" <<JSON
{
  "name": "@ws/$_name",
  "version": "0.0.0",
  "private": true,
  "scripts": {
    "lint": "node ../../scripts/task.js lint",
    "build": "node ../../scripts/task.js build",
    "test": "node ../../scripts/task.js test"$_e2e
  },
  "dependencies": { $_deps }
}
JSON
	_marker=""
	[ "$_name" = "$fail_test" ] && _marker="// FAIL_TEST"
	printf '%s\nmodule.exports = { name: "%s" };\n' "$_marker" \
	    "$_name" >"$_p/src/index.js"
}

project libs util
project libs log util
project libs core util log
project libs data core
project libs ui core
project libs api data
project libs forms ui
project libs charts ui data
project apps web forms charts api
project apps admin forms api
project apps mobile ui api
project apps server api log
project apps docs ui

# The lock file Turborepo reads (workspace packages only, so npm needs no
# network), written before node_modules exists so npm touches only it.
(cd "$dir" && npm install --package-lock-only --offline --ignore-scripts \
    --no-audit --no-fund --loglevel=error >/dev/null) || {
	echo "gen_workspace.sh: npm could not write package-lock.json" >&2
	exit 1
}
ln -s "$tools/node_modules" "$dir/node_modules"
