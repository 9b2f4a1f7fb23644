#!/bin/sh
# Makes, once per machine, a workspace as the tools' own generators make
# it, for the t_real_*.sh tests, and prints its path. The tools come from
# the npm registry at pinned versions; everything lands outside the clone
# (as tests/nx/setup.sh does) and is reused by later runs:
#
#   CACHE/real/KIND                 the workspace (CACHE: the folder
#                                   `tests/nx/setup.sh --dir` prints)
#   .../real/KIND/.dteq-generated   the stamp: the recipe it was made by
#   .../real/KIND.log               the generation's output
#   .../real/npm                    npm's download cache
#
# A workspace whose stamp holds this script's recipe for KIND is used as it
# is. Otherwise it is generated in a temporary folder and moved in place,
# under a lock (flock(1) on .lock.KIND, released by the kernel when the
# last process holding it ends, so a killed run never leaves it behind)
# so two runs never build one at once;
# before that, `npm ping` checks the registry: unreachable, the script
# exits 77 (the tests then skip). The workspace is checked before it is
# stamped: a copy of it runs `nx run-many` (or `turbo run`) of every task
# the tests run, which must succeed, and is removed. It keeps no cache, no
# dist/ and no .nx/ of its own: the tests copy it as it is.
#
# usage: tests/nx/real/gen.sh KIND
#
# KIND, and what making it took here: on the suite's 2-core machine, shared
# at the time with other test runs (load average 6 to 16, so expect less on
# a quiet one), npm's cache partly warm; the sizes include node_modules.
# The task count is that of the tests' run (build, test, lint, typecheck).
#   nx22    create-nx-workspace@22.7.12 --preset=ts; libraries alpha <- beta
#           <- gamma by `nx g @nx/js:library --bundler=tsc` (vitest,
#           eslint; TypeScript project references through `nx sync`) and
#           an app, cli, by `nx g @nx/node:application --bundler=esbuild`
#           (Nx 22's knows no vitest: no unit tests) importing gamma and
#           alpha: 15 tasks. 510 s, 281 MB.
#   nx23    create-nx-workspace@23.2.1 --preset=react-monorepo
#           --bundler=vite --unitTestRunner=vitest (its app, shop);
#           libraries alpha <- beta <- gamma by `nx g @nx/react:library
#           --bundler=vite`; shop imports gamma and alpha: 16 tasks.
#           580 s, 381 MB.
#   nx24    Nx 24 has no create-nx-workspace: create-nx-workspace@23.2.1
#           --preset=ts, then Nx's own `nx migrate 24.0.6`, npm install
#           and `nx migrate --run-migrations`; then, with Nx 24's
#           generators, libraries alpha <- beta <- gamma by `nx g
#           @nx/js:library --bundler=tsc` (vitest) and an app, site, by
#           `nx g @nx/web:application --bundler=vite` importing gamma and
#           alpha: 16 tasks. 24.0.6, not nx's latest 24.0.7: the registry
#           has no 24.0.7 of the plugins (@nx/js, @nx/eslint, @nx/vitest,
#           @nx/vite and @nx/web stop at 24.0.6; @nx/node, @nx/jest and
#           @nx/esbuild have no 24 at all, hence ts and @nx/web rather
#           than node-monorepo). 724 s, 289 MB.
#   nx23-large
#           the large variant, for benchmarks (no test uses it): made as
#           nx22 is, with create-nx-workspace@23.2.1 --preset=ts: 16
#           libraries lib01 .. lib16 by `nx g @nx/js:library --bundler=tsc`
#           (each lib N from 5 on imports lib N-4: four chains of four) and
#           the app cli, by `nx g @nx/node:application`, importing lib13
#           .. lib16: 68 tasks (4 min 9 s in one `nx run-many` here).
#           1464 s, 252 MB.
#   turbo   create-turbo (2.11.4) downloads its examples from GitHub, which
#           the machines of this suite cannot reach ("Could not locate an
#           example named ..."); so the root is written here as
#           create-turbo's basic example lays it out (npm workspaces
#           apps/* and packages/*, turbo.json with build, lint,
#           check-types and test; check-types after the dependencies'
#           build, whose .d.ts it reads), with turbo 2.11.13, and the packages
#           are made by Turborepo's own generator, `turbo gen workspace`
#           (@turbo/gen 2.11.9): math (tsc) <- format (tsup) <- report
#           (tsup), and the app cli (tsup) importing report and math; each
#           with vitest tests and eslint: 16 tasks. 143 s, 142 MB.
# npm's download cache (real/npm) holds 483 MB after all five.

set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
cache=$(sh "$top/tests/nx/setup.sh" --dir)
real=$cache/real
kind=${1:-}

# The recipe of each kind: a change here makes the workspace again.
case $kind in
nx22) recipe="nx22 1 create-nx-workspace@22.7.12 preset=ts" ;;
nx23) recipe="nx23 1 create-nx-workspace@23.2.1 preset=react-monorepo" ;;
nx24) recipe="nx24 1 create-nx-workspace@23.2.1 preset=ts migrate=24.0.6" ;;
nx23-large) recipe="nx23-large 1 create-nx-workspace@23.2.1 preset=ts libs=16" ;;
turbo) recipe="turbo 1 turbo@2.11.13 @turbo/gen@2.11.9 tsup@8.5.1 vitest@3.2.4" ;;
*)
	echo "usage: gen.sh nx22|nx23|nx24|nx23-large|turbo" >&2
	exit 2
	;;
esac
ws=$real/$kind

ready() {
	[ -f "$ws/.dteq-generated" ] &&
	    [ "$(cat "$ws/.dteq-generated")" = "$recipe" ]
}

if ready; then
	echo "$ws"
	exit 0
fi

command -v npm >/dev/null 2>&1 || {
	echo "gen.sh: npm is not installed (its workspaces were made with Node.js 20)" >&2
	exit 1
}
mkdir -p "$real" || exit 1

# Take the lock (fd 9, held by this script and what it starts). A lock
# directory of the scheme before (.lock.KIND/) is in the way: it goes.
lock=$real/.lock.$kind
[ -d "$lock" ] && rmdir "$lock" 2>/dev/null
exec 9>>"$lock" || exit 1
if ! flock -n 9; then
	echo "gen.sh: waiting for another run making $ws" >&2
	if ! flock -w 2400 9; then
		echo "gen.sh: $lock held for 40 minutes" >&2
		exit 1
	fi
fi
work=""
trap '[ -z "$work" ] || rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM

if ready; then
	echo "$ws"
	exit 0
fi

# Quiet, local and non-interactive tools; npm's cache under $real.
CI=true
NX_DAEMON=false
NX_NO_CLOUD=true
NX_TUI=false
NX_INTERACTIVE=false
TURBO_TELEMETRY_DISABLED=1
DO_NOT_TRACK=1
npm_config_cache=$real/npm
npm_config_audit=false
npm_config_fund=false
npm_config_update_notifier=false
npm_config_loglevel=error
export CI NX_DAEMON NX_NO_CLOUD NX_TUI NX_INTERACTIVE \
    TURBO_TELEMETRY_DISABLED DO_NOT_TRACK npm_config_cache npm_config_audit \
    npm_config_fund npm_config_update_notifier npm_config_loglevel
unset NX_CACHE_DIRECTORY NX_WORKSPACE_DATA_DIRECTORY TURBO_CACHE_DIR

if ! timeout 30 npm ping >/dev/null 2>&1; then
	echo "gen.sh: the npm registry is unreachable and $ws is not made" >&2
	exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/dteq-gen.XXXXXX") || exit 1
log=$real/$kind.log
: >"$log"

# step WHAT CMD...: run CMD (in the current directory) bounded by 15
# minutes, its input $STEP_IN (/dev/null unless set), its output in the
# log; stop with the log's end if it fails.
step() {
	_what=$1
	shift
	echo "== $_what: $*" >>"$log"
	_s0=$(date +%s)
	timeout 900 "$@" <"${STEP_IN:-/dev/null}" >>"$log" 2>&1
	_rc=$?
	echo "== $_what: exit $_rc, $(($(date +%s) - _s0)) s" >>"$log"
	if [ $_rc -ne 0 ]; then
		tail -n 40 "$log" >&2
		echo "gen.sh: $kind: $_what failed (exit $_rc; $log)" >&2
		exit 1
	fi
}

# cnw VERSION PRESET [options...]: create-nx-workspace in $work/acme.
cnw() {
	_v=$1
	_p=$2
	shift 2
	cd "$work" || exit 1
	step "create-nx-workspace@$_v --preset=$_p" npx -y \
	    "create-nx-workspace@$_v" acme --preset="$_p" --nxCloud=skip \
	    --packageManager=npm --no-interactive --skipGit \
	    --formatter=prettier --linter=eslint "$@"
	w=$work/acme
	cd "$w" || exit 1
}

# nxg WHAT ARGS...: one of Nx's generators, in the workspace.
nxg() {
	_what=$1
	shift
	step "$_what" npx --no nx g "$@" --no-interactive
}

chain() {
	step "chain.js $*" node "$here/chain.js" "$@"
}

# link: npm install (links the workspace dependencies chain.js added) and
# `nx sync` (TypeScript's project references follow them).
link() {
	step "npm install" npm install --prefer-offline
	[ -f nx.json ] && step "nx sync" npx --no nx sync
	return 0
}

gen_nx22() {
	cnw 22.7.12 ts
	for l in alpha beta gamma; do
		nxg "library $l" @nx/js:library "packages/$l" --bundler=tsc \
		    --linter=eslint --unitTestRunner=vitest
	done
	step "nx add @nx/node" npx --no nx add @nx/node
	# Nx 22's node application knows no vitest (jest or none).
	nxg "application cli" @nx/node:application apps/cli \
	    --bundler=esbuild --framework=none --e2eTestRunner=none \
	    --unitTestRunner=none --linter=eslint
	chain lib "$w" packages/alpha
	chain lib "$w" packages/beta packages/alpha
	chain lib "$w" packages/gamma packages/beta
	chain app "$w" apps/cli src/main.ts packages/gamma packages/alpha
	link
}

gen_nx23() {
	cnw 23.2.1 react-monorepo --appName=shop --bundler=vite \
	    --unitTestRunner=vitest --e2eTestRunner=none --style=css \
	    --routing=false
	for l in alpha beta gamma; do
		nxg "library $l" @nx/react:library "libs/$l" --bundler=vite \
		    --linter=eslint --unitTestRunner=vitest --style=css
	done
	chain lib "$w" libs/alpha
	chain lib "$w" libs/beta libs/alpha
	chain lib "$w" libs/gamma libs/beta
	chain app "$w" apps/shop src/main.tsx libs/gamma libs/alpha
	link
}

gen_nx24() {
	cnw 23.2.1 ts
	# nx migrate (both steps) first checks the npm provenance of
	# nx@latest, and the registry these machines reach serves no
	# attestations (`npm view nx dist` lists none): "No attestation URL
	# found". The versions here are pinned, so the check is skipped, for
	# these steps only.
	NX_SKIP_PROVENANCE_CHECK=true step "nx migrate 24.0.6" npx --no nx \
	    migrate 24.0.6
	step "npm install (Nx 24)" npm install --prefer-offline
	if [ -f migrations.json ]; then
		NX_SKIP_PROVENANCE_CHECK=true step \
		    "nx migrate --run-migrations" npx --no nx migrate \
		    --run-migrations
		rm -f migrations.json
		step "npm install (migrated)" npm install --prefer-offline
	fi
	grep -q '"nx": "24\.0\.6"' package.json || {
		echo "gen.sh: nx24: nx migrate left $(grep '"nx":' package.json)" >&2
		exit 1
	}
	for l in alpha beta gamma; do
		nxg "library $l" @nx/js:library "packages/$l" --bundler=tsc \
		    --linter=eslint --unitTestRunner=vitest
	done
	# @nx/web 24.0.6 names @nx/jest 24.0.6 an optional peer, and the
	# registry has no @nx/jest 24: npm refuses (ERESOLVE) unless told
	# to leave peers alone, here and in the installs that follow.
	npm_config_legacy_peer_deps=true
	export npm_config_legacy_peer_deps
	step "nx add @nx/web" npx --no nx add @nx/web
	nxg "application site" @nx/web:application apps/site --bundler=vite \
	    --unitTestRunner=vitest --e2eTestRunner=none --linter=eslint \
	    --style=css
	# In a --preset=ts workspace (whose tsconfig.base.json has lib
	# es2022 alone) the web application's tsconfig files get no DOM
	# library, and its typecheck fails ("TS2304: Cannot find name
	# 'HTMLElement'"): they are given it. Both fixes are checked below,
	# by the typecheck of check().
	step "DOM library for site" node -e '
const fs = require("fs");
for (const f of process.argv.slice(1)) {
	const c = JSON.parse(fs.readFileSync(f, "utf8"));
	c.compilerOptions = c.compilerOptions || {};
	c.compilerOptions.lib = ["es2022", "dom", "dom.iterable"];
	fs.writeFileSync(f, JSON.stringify(c, null, 2) + "\n");
}' apps/site/tsconfig.app.json apps/site/tsconfig.spec.json
	# Nor does its spec pass the strict typecheck of the preset
	# ("TS2531: Object is possibly 'null'" on querySelector('h1')).
	step "strict spec for site" sed -i \
	    "s/querySelector('h1')\.innerHTML/querySelector('h1')?.innerHTML/" \
	    apps/site/src/app/app.element.spec.ts
	chain lib "$w" packages/alpha
	chain lib "$w" packages/beta packages/alpha
	chain lib "$w" packages/gamma packages/beta
	chain app "$w" apps/site src/main.ts packages/gamma packages/alpha
	link
}

gen_nx23_large() {
	cnw 23.2.1 ts
	i=1
	while [ $i -le 16 ]; do
		l=lib$(printf %02d $i)
		nxg "library $l" @nx/js:library "packages/$l" --bundler=tsc \
		    --linter=eslint --unitTestRunner=vitest
		i=$((i + 1))
	done
	step "nx add @nx/node" npx --no nx add @nx/node
	nxg "application cli" @nx/node:application apps/cli \
	    --bundler=esbuild --framework=none --e2eTestRunner=none \
	    --unitTestRunner=vitest --linter=eslint
	i=1
	while [ $i -le 16 ]; do
		l=lib$(printf %02d $i)
		if [ $i -gt 4 ]; then
			chain lib "$w" "packages/$l" \
			    "packages/lib$(printf %02d $((i - 4)))"
		else
			chain lib "$w" "packages/$l"
		fi
		i=$((i + 1))
	done
	chain app "$w" apps/cli src/main.ts packages/lib13 packages/lib14 \
	    packages/lib15 packages/lib16
	link
}

# The Turborepo workspace (see the header for why create-turbo is not run).
gen_turbo() {
	w=$work/acme
	mkdir -p "$w" && cd "$w" || exit 1
	cat >package.json <<'EOF'
{
  "name": "acme",
  "private": true,
  "scripts": {
    "build": "turbo run build",
    "lint": "turbo run lint",
    "check-types": "turbo run check-types",
    "test": "turbo run test"
  },
  "devDependencies": {
    "@eslint/js": "9.39.1",
    "@types/node": "22.19.1",
    "eslint": "9.39.1",
    "tsup": "8.5.1",
    "turbo": "2.11.13",
    "typescript": "5.9.3",
    "typescript-eslint": "8.46.2",
    "vitest": "3.2.4"
  },
  "packageManager": "npm@11.19.1",
  "workspaces": ["apps/*", "packages/*"]
}
EOF
	cat >turbo.json <<'EOF'
{
  "$schema": "https://turborepo.com/schema.json",
  "ui": "stream",
  "tasks": {
    "build": {
      "dependsOn": ["^build"],
      "inputs": ["$TURBO_DEFAULT$", ".env*"],
      "outputs": ["dist/**"]
    },
    "lint": { "dependsOn": ["^lint"] },
    "check-types": { "dependsOn": ["^build"] },
    "test": { "dependsOn": ["^build"], "outputs": [] }
  }
}
EOF
	cat >eslint.config.mjs <<'EOF'
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
);
EOF
	cat >tsconfig.base.json <<'EOF'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "declaration": true,
    "strict": true,
    "skipLibCheck": true,
    "esModuleInterop": true,
    "isolatedModules": true
  }
}
EOF
	printf '%s\n' node_modules dist .turbo coverage >.gitignore
	mkdir -p apps packages
	step "npm install (root)" npm install --prefer-offline
	# Turborepo's generator makes each package (empty: package.json and
	# README); this script writes their code. `turbo gen` runs `npx
	# @turbo/gen@` its own version, which does not exist for 2.11.13: the
	# newest generator, 2.11.9, is run as `turbo gen` would.
	# It asks whether to add dependencies (whatever its flags) and, with
	# no answer, ends with exit 0 and nothing made: it is told no.
	echo n >"$work/no"
	for p in packages/math packages/format packages/report apps/cli; do
		case $p in apps/*) t=app ;; *) t=package ;; esac
		STEP_IN=$work/no step "turbo gen workspace $p" npx -y \
		    @turbo/gen@2.11.9 workspace --name "@acme/${p#*/}" \
		    --type "$t" --empty --destination "$p"
		[ -f "$p/package.json" ] || {
			echo "gen.sh: turbo gen workspace made no $p" >&2
			exit 1
		}
	done
	turbo_pkg packages/math tsc ""
	turbo_pkg packages/format tsup "math"
	turbo_pkg packages/report tsup "format"
	turbo_pkg apps/cli tsup "report math"
	node -e '
const fs = require("fs");
const s = { libs: [], app: null };
for (const [dir, pkg] of [["packages/math", "@acme/math"],
    ["packages/format", "@acme/format"], ["packages/report", "@acme/report"]])
	s.libs.push({ dir, pkg });
s.app = { dir: "apps/cli", pkg: "@acme/cli", file: "src/lib/chain.ts" };
fs.writeFileSync(".dteq-real.json", JSON.stringify(s, null, 2) + "\n");
'
	step "npm install" npm install --prefer-offline
}

# turbo_pkg DIR BUILDER "DEP...": the package the generator made in DIR
# gets its scripts (build with BUILDER: tsc or tsup; test: vitest; lint:
# eslint; check-types: tsc --noEmit), src/index.ts, src/lib/chain.ts
# calling each DEP's chain (as chain.js does for Nx) and its test.
turbo_pkg() {
	_d=$1
	_b=$2
	_deps=$3
	mkdir -p "$w/$_d/src/lib"
	# shellcheck disable=SC2086
	node - "$w/$_d" "$_b" $_deps >>"$log" 2>&1 <<'EOF'
const fs = require('fs');
const path = require('path');
const [dir, builder, ...deps] = process.argv.slice(2);
const pj = path.join(dir, 'package.json');
const p = JSON.parse(fs.readFileSync(pj, 'utf8'));
const name = p.name.replace(/^@[^/]*\//, '');
p.type = 'module';
p.main = './dist/index.js';
p.types = './dist/index.d.ts';
p.exports = { '.': { types: './dist/index.d.ts', default: './dist/index.js' } };
p.scripts = {
  build: builder === 'tsc' ? 'tsc -p tsconfig.json' :
      'tsup src/index.ts --format esm --dts --clean',
  'check-types': 'tsc -p tsconfig.json --noEmit',
  lint: 'eslint src',
  test: 'vitest run',
};
p.dependencies = {};
for (const d of deps)
  p.dependencies['@acme/' + d] = '*';
fs.writeFileSync(pj, JSON.stringify(p, null, 2) + '\n');
fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
  extends: '../../tsconfig.base.json',
  compilerOptions: { outDir: 'dist', rootDir: 'src' },
  include: ['src'],
  exclude: ['src/**/*.test.ts'],
}, null, 2) + '\n');
const fn = (n) => n + 'Chain';
// The chain value of each package, as its test expects it.
const values = { math: 'math()', format: 'format(math())',
  report: 'report(format(math()))', cli: 'cli(report(format(math())),math())' };
const src = deps.map((d) => `import { ${fn(d)} } from '@acme/${d}';`);
if (src.length)
  src.push('');
src.push(`export function ${fn(name)}(): string {`);
src.push(`  return '${name}(' + [${deps.map((d) => fn(d) + '()').join(', ')}].join(',') + ')';`);
src.push('}');
fs.writeFileSync(path.join(dir, 'src/lib/chain.ts'), src.join('\n') + '\n');
fs.writeFileSync(path.join(dir, 'src/index.ts'),
    "export * from './lib/chain.js';\n");
fs.writeFileSync(path.join(dir, 'src/lib/chain.test.ts'), [
  "import { describe, expect, it } from 'vitest';",
  `import { ${fn(name)} } from './chain.js';`,
  '',
  `describe('${fn(name)}', () => {`,
  "  it('calls the packages it imports', () => {",
  `    expect(${fn(name)}()).toEqual('${values[name]}');`,
  '  });',
  '});',
].join('\n') + '\n');
EOF
	_rc=$?
	if [ $_rc -ne 0 ]; then
		tail -n 20 "$log" >&2
		echo "gen.sh: turbo_pkg $_d failed" >&2
		exit 1
	fi
}

# check: a copy of the workspace runs every task the tests run, and is
# removed; the count of tasks goes to the log.
check() {
	rm -rf "$work/check"
	cp -a "$w" "$work/check" || exit 1
	cd "$work/check" || exit 1
	if [ "$kind" = turbo ]; then
		step "check: turbo run build test lint check-types" \
		    npx --no turbo run build test lint check-types
	else
		step "check: nx run-many -t build,test,lint,typecheck" \
		    npx --no nx run-many -t build,test,lint,typecheck
	fi
	cd "$w" || exit 1
	rm -rf "$work/check"
}

t0=$(date +%s)
case $kind in
nx23-large) gen_nx23_large ;;
*) "gen_$kind" ;;
esac
check
# Nothing of a run stays: the tests copy the workspace as it is.
rm -rf "$w/.nx" "$w/.turbo" "$w/node_modules/.cache" "$w/node_modules/.vite"
find "$w" -name node_modules -prune -o \( -name dist -o -name .turbo \) \
    -type d -prune -exec rm -rf {} + 2>/dev/null
echo "$recipe" >"$w/.dteq-generated"
rm -rf "$ws"
mv "$w" "$ws" || exit 1
echo "gen.sh: $kind made in $(($(date +%s) - t0)) s, $(du -sh "$ws" | cut -f1)" >&2
echo "== made in $(($(date +%s) - t0)) s, $(du -sh "$ws" | cut -f1)" >>"$log"
echo "$ws"
