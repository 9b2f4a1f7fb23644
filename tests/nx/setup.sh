#!/bin/sh
# Installs the pinned Nx and Turborepo the tests run (tests/nx/tools:
# package.json and its package-lock.json) into a cache folder that is reused
# across runs, and prints the folder that holds their node_modules.
#
# The folder is $DTEQ_NPM_CACHE, or tests/.npm-cache (ignored by git). It
# holds tools/ (package.json, package-lock.json, node_modules) and npm/
# (npm's own download cache). When tools/ already holds an install of the
# same lock file, nothing is done; otherwise `npm ci` installs it, from
# npm/ when the packages are there. A lock directory keeps two runs from
# installing at once.
#
# usage: tests/nx/setup.sh      (exit 0 and the path on stdout, or exit 1)

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${DTEQ_NPM_CACHE:-$top/tests/.npm-cache}
tools=$cache/tools

installed() {
	cmp -s "$here/tools/package-lock.json" "$tools/package-lock.json" &&
	    [ -f "$tools/.installed" ] &&
	    [ -x "$tools/node_modules/.bin/nx" ] &&
	    [ -x "$tools/node_modules/.bin/turbo" ]
}

if installed; then
	echo "$tools"
	exit 0
fi

command -v npm >/dev/null 2>&1 || {
	echo "setup.sh: npm is not installed (Node.js 20 or later is needed)" >&2
	exit 1
}
mkdir -p "$cache" || exit 1

# Take the lock; a lock older than 15 minutes was left by a dead run.
n=0
while ! mkdir "$cache/.lock" 2>/dev/null; do
	if [ -n "$(find "$cache/.lock" -maxdepth 0 -mmin +15 2>/dev/null)" ]; then
		rmdir "$cache/.lock" 2>/dev/null
		continue
	fi
	n=$((n + 1))
	if [ $n -gt 600 ]; then
		echo "setup.sh: $cache/.lock held for 10 minutes" >&2
		exit 1
	fi
	sleep 1
done
trap 'rmdir "$cache/.lock" 2>/dev/null' EXIT

if ! installed; then
	start=$(date +%s)
	rm -rf "$tools"
	mkdir -p "$tools" || exit 1
	cp "$here/tools/package.json" "$here/tools/package-lock.json" \
	    "$tools/" || exit 1
	echo "setup.sh: installing the pinned Nx and Turborepo into $tools" >&2
	if ! (cd "$tools" && npm ci --cache "$cache/npm" --prefer-offline \
	    --no-audit --no-fund --loglevel=error >"$tools/npm-ci.log" 2>&1); then
		cat "$tools/npm-ci.log" >&2
		echo "setup.sh: npm ci failed" >&2
		exit 1
	fi
	touch "$tools/.installed"
	echo "setup.sh: installed in $(($(date +%s) - start)) s" >&2
fi
echo "$tools"
