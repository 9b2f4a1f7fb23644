# `dteq run` whatever way it ends. Its redis-server's socket may appear
# while it looks for it: with every access() slowed by 20 ms (an
# LD_PRELOAD shim) that window is wide, and each run must still succeed
# (it once freed a pointer it never set, exit 134). And a `dteq run`
# SIGKILLed mid-run leaves no redis-server behind, and its agents and
# submit end too: they all get SIGTERM when it dies.
# timeout: 120

. "$TOP/tests/integration/lib.sh"

command -v cc >/dev/null 2>&1 || fail "cc is needed to build the shim"
cat >"$TMP/slow.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <time.h>
#include <unistd.h>

int
access(const char *path, int mode)
{
	static int (*real)(const char *, int);
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	if (real == NULL)
		real = (int (*)(const char *, int))dlsym(RTLD_NEXT, "access");
	nanosleep(&ts, NULL);
	return (real(path, mode));
}
C
cc -shared -fPIC -o "$TMP/slow.so" "$TMP/slow.c" -ldl ||
    fail "the access() shim did not build"

tf="$TMP/ends.json"
add_task "$tf" a "echo a"
add_task "$tf" b "echo b" a
taskfile "$tf"

log "five runs with access() slowed"
for i in 1 2 3 4 5; do
	mkdir "$TMP/rt$i"
	TMPDIR="$TMP/rt$i" LD_PRELOAD="$TMP/slow.so" \
	    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	    timeout 60 "$DTEQ" run --agents 1 "$tf" \
	    >"$TMP/slow$i.out" 2>"$TMP/slow$i.err"
	rc=$?
	[ $rc -eq 0 ] || { cat "$TMP/slow$i.err"; fail "run $i exited $rc"; }
	assert_no_grep 'free|Sanitizer' "$TMP/slow$i.err" "run $i's stderr"
	assert_eq "$(ls "$TMP/rt$i" | wc -l)" 0 "what run $i left in TMPDIR"
done

log "SIGKILL mid-run"
tf2="$TMP/long.json"
add_task "$tf2" long "touch $TMP/long.started; sleep 60"
taskfile "$tf2"
mkdir "$TMP/rtk"
TMPDIR="$TMP/rtk" bg killed "$DTEQ" run --agents 2 "$tf2"
wait_for "[ -e '$TMP/long.started' ]" 30 ||
    fail "the long task never started"
kids=$(descendants "$(bg_pid killed)")
[ -n "$kids" ] || fail "dteq run has no children"
redis=$(for p in $kids; do
	[ "$(ps -o comm= -p "$p" 2>/dev/null)" = redis-server ] && echo "$p"
done)
[ -n "$redis" ] || fail "no redis-server below dteq run"
for p in $kids; do track_pid "$p"; done
kill -KILL "$(bg_pid killed)"
for p in $redis; do
	wait_for "! pid_alive $p" 10 ||
	    fail "redis-server $p outlived the killed dteq run"
done
# Agents and submit end on their SIGTERM; submit gives an unreachable
# Redis 20 s to take its stop sentinel.
for p in $kids; do
	wait_for "! pid_alive $p" 30 ||
	    fail "process $p ($(ps -o args= -p "$p")) outlived the killed dteq run"
done
exit 0
