#!/bin/sh
# Installs the pinned Nx and Turborepo the tests run (tests/nx/tools:
# package.json and its package-lock.json) into a cache folder that is reused
# across runs, and prints the folder that holds their node_modules.
#
# The cache folder is $DTEQ_NPM_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/
# dteq-npm, else (no HOME) tests/.npm-cache (ignored by git): the one
# folder .ci/run fills and every later `make test` reuses, whichever
# way it is started. `setup.sh --dir` prints it (tests/nx/real/gen.sh and
# .ci/run ask it). It holds tools/ (package.json, package-lock.json,
# node_modules) and npm/ (npm's own download cache). When tools/ already
# holds an install of the same lock file, nothing is done; otherwise `npm
# ci` installs it, from npm/ when the packages are there. A lock keeps two
# runs from installing at once: flock(1) on an open file, which the kernel
# releases when the last process holding it (this script, npm) ends, so a
# killed run never leaves it behind.
#
# usage: tests/nx/setup.sh      (exit 0 and the path on stdout, or exit 1)
#        tests/nx/setup.sh --dir   (the cache folder on stdout)

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
if [ -n "${DTEQ_NPM_CACHE:-}" ]; then
	cache=$DTEQ_NPM_CACHE
elif [ -n "${XDG_CACHE_HOME:-}" ]; then
	cache=$XDG_CACHE_HOME/dteq-npm
elif [ -n "${HOME:-}" ]; then
	cache=$HOME/.cache/dteq-npm
else
	cache=$top/tests/.npm-cache
fi
if [ "${1:-}" = --dir ]; then
	echo "$cache"
	exit 0
fi
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
	echo "setup.sh: npm is not installed (Node.js 18 or later is needed)" >&2
	exit 1
}
mkdir -p "$cache" || exit 1

# Take the lock (fd 9, held by this script and what it starts).
exec 9>>"$cache/setup.lock" || exit 1
if ! flock -n 9; then
	echo "setup.sh: waiting for another install into $tools" >&2
	if ! flock -w 600 9; then
		echo "setup.sh: $cache/setup.lock held for 10 minutes" >&2
		exit 1
	fi
fi

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
