# make static builds a dteq with hiredis, libevent, cJSON and libcrypto
# inside and only glibc dynamic (ldd shows none of them), and it runs a
# whole run in a bare Debian bookworm root (debootstrap --variant=minbase,
# which has no libhiredis, libevent, libcjson or libssl3, like a bare
# debian:12 image): two agents and a submit, each chrooted there, against
# the test's redis-server on 127.0.0.1.
#
# The root is made once and kept in $DTEQ_TEST_ROOTFS (default
# /var/cache/dteq-test/bookworm-minbase); the static objects are kept in
# build-static/, so the second build variant of `make test` reuses both
# (after the first: the lock keeps the tests that run make in the tree
# from running it at once).
# timeout: 600
# lock: make

. "$TOP/tests/integration/lib.sh"

[ "$(id -u)" = 0 ] || fail "needs root (chroot, debootstrap)"
command -v debootstrap >/dev/null ||
    fail "debootstrap is missing (Debian package debootstrap, see .ci/run)"

log "make static"
static="$TMP/dteq-static"
make -C "$TOP" static STATIC_OUT="$static" >"$TMP/make.out" 2>&1 ||
    fail "make static failed: $(tail -20 "$TMP/make.out")"
assert_file "$static" "the static binary"

log "ldd: only glibc"
ldd "$static" >"$TMP/ldd.out" 2>&1
cat "$TMP/ldd.out"
grep -Eq 'libhiredis|libevent|libcjson|libcrypto|libssl' "$TMP/ldd.out" &&
    fail "still linked dynamically: $(cat "$TMP/ldd.out")"
assert_grep 'libc\.so\.6' "$TMP/ldd.out" "glibc stays dynamic"
"$static" --version >"$TMP/version" || fail "dteq-static --version failed"
assert_grep '^dteq [0-9]' "$TMP/version" "version line"

# The mirror the machine's apt already uses.
mirror() {
	sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' \
	    /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | grep . ||
	    sed -n 's/^deb[[:space:]]\{1,\}\([^[:space:]]*\)[[:space:]].*/\1/p' \
	    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
	    head -1
}

ROOTFS=${DTEQ_TEST_ROOTFS:-/var/cache/dteq-test/bookworm-minbase}
if [ ! -e "$ROOTFS/.complete" ]; then
	url=$(mirror)
	[ -n "$url" ] || fail "no Debian mirror in /etc/apt"
	log "debootstrap --variant=minbase bookworm $ROOTFS (once)"
	mkdir -p "$(dirname "$ROOTFS")"
	rm -rf "$ROOTFS.new"
	debootstrap --variant=minbase bookworm "$ROOTFS.new" "$url" \
	    >"$TMP/debootstrap.out" 2>&1 ||
	    fail "debootstrap failed: $(tail -5 "$TMP/debootstrap.out")"
	rm -rf "$ROOTFS"
	mv "$ROOTFS.new" "$ROOTFS"
	touch "$ROOTFS/.complete"
fi
find "$ROOTFS/usr/lib" "$ROOTFS/lib" -name 'libhiredis*' -o \
    -name 'libevent*' -o -name 'libcjson*' -o -name 'libcrypto*' \
    2>/dev/null >"$TMP/libs"
[ -s "$TMP/libs" ] && fail "the bare root has: $(cat "$TMP/libs")"

# A private folder inside the root, removed on exit.
JAIL="/tmp/dteq-$TEST_NAME-$$"
mkdir -p "$ROOTFS$JAIL"
trap '_r=$?; rm -rf "$ROOTFS$JAIL"; (exit $_r); cleanup' EXIT
cp "$static" "$ROOTFS$JAIL/dteq"

tf="$TMP/static.json"
add_task "$tf" "os:check" "echo \"debian \$(cat /etc/debian_version)\"; \
ls /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu 2>/dev/null | \
grep -Ec '^lib(hiredis|event|cjson|crypto)' || true"
add_task "$tf" "a:build" "echo built in the bare root" "os:check"
add_task "$tf" "b:build" "echo also" "os:check"
taskfile "$tf"
cp "$tf" "$ROOTFS$JAIL/tasks.json"

start_redis
log "a run inside the bare root"
bg agent.c1 chroot "$ROOTFS" "$JAIL/dteq" work --redis "$REDIS_URL" \
    --run "$RUN" --name c1
bg agent.c2 chroot "$ROOTFS" "$JAIL/dteq" work --redis "$REDIS_URL" \
    --run "$RUN" --name c2
bg submit chroot "$ROOTFS" "$JAIL/dteq" submit --redis "$REDIS_URL" \
    --run "$RUN" --junit "$JAIL/junit.xml" "$JAIL/tasks.json"
bg_wait submit 60
assert_eq "$(bg_rc submit)" 0 "submit exit status in the bare root"
agents_exit_ok 15 c1 c2
out="$TMP/submit.out"
assert_grep '^debian 12\.' "$out" "the task ran in the bookworm root"
awk '/^> os:check /{ getline; getline; print; exit }' "$out" >"$TMP/nlibs"
assert_eq "$(cat "$TMP/nlibs")" 0 "libraries the task found in the root"
assert_grep '^built in the bare root$' "$out" "a dependent task ran"
assert_grep '^3 tasks: 3 succeeded' "$out" "closing line"
assert_file "$ROOTFS$JAIL/junit.xml" "JUnit file written in the root"
exit 0
