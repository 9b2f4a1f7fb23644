#!/bin/sh
# Regenerates the tool-written graphs in tests/fixtures with the pinned Nx
# and Turborepo (tests/nx/setup.sh) on the generated test workspace
# (gen_workspace.sh), so the parser's tests run on real output:
#
#   nx-24.0.6-run-many-lint-test-build.json   nx run-many -t lint,test,build
#   nx-24.0.6-overrides.json       nx run-many -t test -p @ws/util,@ws/web
#                                  -- --coverage --reporter=dot
#   nx-24.0.6-continuous.json      nx run-many -t e2e -p @ws/docs, with a
#                                  continuous serve target e2e depends on
#   turbo-2.11.11-dry-lint-test-build.json    turbo run lint test build
#   turbo-2.11.11-dry-e2e.json     turbo run e2e (libraries have no e2e
#                                  script: <NONEXISTENT> tasks)
#   turbo-2.11.11-dry-missing-script.json     turbo run build
#                                  --filter=@ws/api, @ws/data lacking build
#   turbo-2.11.11-dry-persistent.json         turbo run dev
#                                  --filter=@ws/docs, dev persistent
#
# (nx-24.0.6-run-many-build-test.json and turbo-2.11.11-dry-build-test.json
# came with the issue, from other workspaces.)
#
# usage: tests/nx/gen_fixtures.sh [OUTDIR]   (default tests/fixtures)

set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "${1:-$here/../fixtures}" && pwd)
tools=$("$here/setup.sh")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dteq-fixtures.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

"$here/gen_workspace.sh" "$tmp/ws" "$tools"
cd "$tmp/ws"

nx=$(./node_modules/.bin/nx --version | sed -n 's/.*Local: *v//p')
turbo=$(./node_modules/.bin/turbo --version)

npx --no nx run-many -t lint,test,build \
    --graph="$out/nx-$nx-run-many-lint-test-build.json" >/dev/null
npx --no nx run-many -t test -p @ws/util,@ws/web \
    --graph="$out/nx-$nx-overrides.json" -- --coverage --reporter=dot \
    >/dev/null
npx --no turbo run lint test build --dry=json \
    >"$out/turbo-$turbo-dry-lint-test-build.json"
npx --no turbo run e2e --dry=json >"$out/turbo-$turbo-dry-e2e.json"

# edit FILE PYTHON-ish: small JSON edits with node.
edit() {
	node -e '
const fs = require("fs");
const f = process.argv[1];
const j = JSON.parse(fs.readFileSync(f, "utf8"));
(new Function("j", process.argv[2]))(j);
fs.writeFileSync(f, JSON.stringify(j, null, 2));
' "$1" "$2"
}

cp nx.json nx.json.orig
edit nx.json 'j.targetDefaults.serve = { continuous: true };
    j.targetDefaults.e2e = { dependsOn: ["build", "serve"] };'
edit apps/docs/package.json \
    'j.scripts.serve = "node -e \"setInterval(() => {}, 1000)\"";'
npx --no nx run-many -t e2e -p @ws/docs \
    --graph="$out/nx-$nx-continuous.json" >/dev/null
mv nx.json.orig nx.json

cp libs/data/package.json data.orig
edit libs/data/package.json 'delete j.scripts.build;'
npx --no turbo run build --filter=@ws/api --dry=json \
    >"$out/turbo-$turbo-dry-missing-script.json"
mv data.orig libs/data/package.json

edit turbo.json 'j.tasks.dev = { persistent: true, cache: false,
    dependsOn: ["^build"] };'
edit apps/docs/package.json \
    'j.scripts.dev = "node -e \"setInterval(() => {}, 1000)\"";'
npx --no turbo run dev --filter=@ws/docs --dry=json \
    >"$out/turbo-$turbo-dry-persistent.json"
echo "fixtures of Nx $nx and Turborepo $turbo written to $out"
