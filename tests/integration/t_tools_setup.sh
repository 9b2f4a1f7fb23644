# tests/nx/setup.sh, which installs the pinned Nx and Turborepo the tests
# run: one folder per machine, whoever asks (.ci/run fills it, and
# `make test` or `TESTS=... make test`, whose tests ask setup.sh with no
# DTEQ_NPM_CACHE, reuse it rather than install again), and a lock that
# dies with its holder: an install killed (with its npm) while it holds
# the lock lets the next one go on at once, where a lock directory used to
# block it for 15 minutes. The install that holds the lock is a real
# `npm ci` against a registry that never answers (a local socket), the
# next one's registry refuses connections, so no package is fetched.
# timeout: 120

. "$TOP/tests/integration/lib.sh"

need_cmd npm "Node.js"
need_cmd flock "util-linux"
need_cmd python3
setup=$TOP/tests/nx/setup.sh
unset DTEQ_NPM_CACHE XDG_CACHE_HOME http_proxy https_proxy HTTP_PROXY \
    HTTPS_PROXY npm_config_registry

log "the folder: DTEQ_NPM_CACHE, else XDG_CACHE_HOME, else ~/.cache"
assert_eq "$(HOME=$TMP/home sh "$setup" --dir)" "$TMP/home/.cache/dteq-npm" \
    "setup.sh --dir with HOME"
assert_eq "$(HOME=$TMP/home XDG_CACHE_HOME=$TMP/xdg sh "$setup" --dir)" \
    "$TMP/xdg/dteq-npm" "setup.sh --dir with XDG_CACHE_HOME"
assert_eq "$(HOME=$TMP/home DTEQ_NPM_CACHE=$TMP/c sh "$setup" --dir)" \
    "$TMP/c" "setup.sh --dir with DTEQ_NPM_CACHE"
# .ci/run and the real workspaces' gen.sh take the folder from setup.sh,
# and neither it nor the Makefile picks another.
grep -q 'DTEQ_NPM_CACHE=' "$TOP/.ci/run" "$TOP/Makefile" &&
    fail "a folder for the tools chosen outside setup.sh"
grep -q 'tests/nx/setup.sh' "$TOP/.ci/run" ||
    fail ".ci/run does not install through setup.sh"
grep -q 'setup.sh" --dir' "$TOP/tests/nx/real/gen.sh" ||
    fail "gen.sh does not ask setup.sh for the folder"

log "a filled folder is used as it is, without npm"
tools=$TMP/home/.cache/dteq-npm/tools
mkdir -p "$tools/node_modules/.bin"
cp "$TOP/tests/nx/tools/package.json" "$TOP/tests/nx/tools/package-lock.json" \
    "$tools/"
for t in nx turbo; do
	printf '#!/bin/sh\nexit 0\n' >"$tools/node_modules/.bin/$t"
	chmod +x "$tools/node_modules/.bin/$t"
done
touch "$tools/.installed"
mkdir "$TMP/nonpm"
for c in sh cmp dirname mkdir; do
	ln -s "$(command -v "$c")" "$TMP/nonpm/$c"
done
got=$(HOME=$TMP/home PATH=$TMP/nonpm "$TMP/nonpm/sh" "$setup" \
    2>"$TMP/filled.err") || { cat "$TMP/filled.err"; fail "setup.sh failed"; }
assert_eq "$got" "$tools" "the tools folder"
[ -s "$TMP/filled.err" ] && fail "setup.sh said: $(cat "$TMP/filled.err")"

log "an install killed while it holds the lock"
# A registry that takes connections and never answers.
cat >"$TMP/silent.py" <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
print(s.getsockname()[1], flush=True)
held = []
while True:
    held.append(s.accept()[0])
EOF
bg silent python3 "$TMP/silent.py"
wait_for "[ -s '$TMP/silent.out' ]" 10 || fail "the silent registry did not start"
port=$(cat "$TMP/silent.out")
HOME=$TMP/h npm_config_registry=http://127.0.0.1:$port/ \
    npm_config_fetch_retries=0 npm_config_fetch_timeout=100000 \
    bg holder setsid sh "$setup"
wait_for "grep -q 'installing the pinned' '$TMP/holder.err'" 30 ||
    fail "the first install did not start"
holder=$(bg_pid holder)
assert_eq "$(ps -o pgid= -p "$holder" | tr -d ' ')" "$holder" \
    "the first install leads its process group"
# The second waits for the first.
HOME=$TMP/h npm_config_registry=http://127.0.0.1:1/ \
    npm_config_fetch_retries=0 bg second sh "$setup"
wait_for "grep -q 'waiting for another install' '$TMP/second.err'" 20 ||
    fail "the second install did not wait for the lock"
assert_no_grep 'installing' "$TMP/second.err" \
    "the second install went on beside the first"
# The first is killed, with its npm, as the test runner's timeout kills.
kill -KILL "-$holder"
pid_gone "$holder" "the killed install $holder"
wait_for "grep -q 'installing the pinned' '$TMP/second.err'" 20 ||
    fail "the second install still waits after the first was killed"
bg_wait second 60
assert_eq "$(bg_rc second)" 1 "exit status of the second install (no registry)"
assert_grep 'npm ci failed' "$TMP/second.err" "the second install ran npm ci"
exit 0
