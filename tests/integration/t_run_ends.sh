# `dteq run` whatever way it ends stops its redis-server (checked by its
# pid) and removes its temporary directory (made under $TMPDIR, which
# each case gives a directory of its own, checked empty afterwards):
# - forty start-ups in a row each succeed, with no sanitizer report: it
#   asks the server one connection at a time until it answers, and once
#   freed a cause it never set when the socket appeared between two looks
#   (exit 134);
# - SIGTERM, SIGINT and SIGHUP mid-run: exit 128 + the signal, and the
#   server, the agents, the submit and the running task are gone;
# - error exits: a task file submit refuses (exit 2), no redis-server in
#   PATH (exit 3), a redis-server that exits at start (exit 3, its log
#   shown), and SIGTERM while the server has not answered yet (exit 143);
# - SIGKILL mid-run: the server, the agents and the submit end too (they
#   get SIGTERM when it dies); only the directory can stay.
# The redis-server of the signal and error cases is the real one, started
# through a script in PATH that records its pid first.
# timeout: 180

. "$TOP/tests/integration/lib.sh"

real_redis=$(command -v redis-server) || fail "redis-server is not installed"
mkdir "$TMP/bin"
cat >"$TMP/bin/redis-server" <<EOF
#!/bin/sh
echo \$\$ >>"$TMP/redis.pids"
exec "$real_redis" "\$@"
EOF
chmod +x "$TMP/bin/redis-server"

tf="$TMP/ends.json"
add_task "$tf" a "echo a"
add_task "$tf" b "echo b" a
taskfile "$tf"

# sanitizer_clean FILE WHAT: no sanitizer report, no glibc abort in FILE.
sanitizer_clean() {
	assert_no_grep 'Sanitizer|runtime error|double free|free\(\)' "$1" \
	    "$2: stderr"
}

# tmpdir_empty DIR WHAT: dteq run left nothing in its TMPDIR.
tmpdir_empty() {
	[ -z "$(ls -A "$1")" ] || fail "$2 left in TMPDIR: $(ls -A "$1")"
}

log "forty start-ups"
mkdir "$TMP/starts"
i=1
while [ $i -le 40 ]; do
	TMPDIR="$TMP/starts" timeout 60 "$DTEQ" run --agents 1 "$tf" \
	    >"$TMP/start.out" 2>"$TMP/start.err"
	rc=$?
	[ $rc -eq 0 ] || { cat "$TMP/start.err"; fail "start-up $i exited $rc"; }
	sanitizer_clean "$TMP/start.err" "start-up $i"
	i=$((i + 1))
done
tmpdir_empty "$TMP/starts" "the start-ups"

# running SIG: a `dteq run` of a long task, given SIG once the task runs:
# it exits 128 + SIG, and its redis-server (by pid), its other children
# and the task's sleep end, and its directory goes.
running() {
	_sig=$1
	case $_sig in
	HUP) _num=1 ;;
	INT) _num=2 ;;
	TERM) _num=15 ;;
	esac
	_tf="$TMP/long.$_sig.json"
	add_task "$_tf" long "echo \$\$ >$TMP/long.$_sig.pid; exec sleep 60"
	taskfile "$_tf"
	mkdir "$TMP/t.$_sig"
	: >"$TMP/redis.pids"
	PATH="$TMP/bin:$PATH" TMPDIR="$TMP/t.$_sig" bg "run.$_sig" \
	    "$DTEQ" run --agents 2 "$_tf"
	wait_for "[ -s '$TMP/long.$_sig.pid' ]" 30 ||
	    fail "SIG$_sig: the long task never started"
	_task=$(cat "$TMP/long.$_sig.pid")
	track_pid "$_task"
	_redis=$(cat "$TMP/redis.pids")
	pid_alive "$_redis" || fail "SIG$_sig: no live redis-server ($_redis)"
	track_pid "$_redis"
	_kids=$(descendants "$(bg_pid "run.$_sig")")
	for _p in $_kids; do track_pid "$_p"; done
	# The directory is under TMPDIR while it runs.
	ls "$TMP/t.$_sig"/dteq-run.*/redis.sock >/dev/null 2>&1 ||
	    fail "SIG$_sig: no server socket under TMPDIR"
	kill "-$_sig" "$(bg_pid "run.$_sig")"
	bg_wait "run.$_sig" 30
	assert_eq "$(bg_rc "run.$_sig")" $((128 + _num)) \
	    "exit status of dteq run after SIG$_sig"
	pid_gone "$_redis" "SIG$_sig: redis-server $_redis outlived dteq run"
	pid_gone "$_task" "SIG$_sig: the task $_task outlived dteq run"
	for _p in $_kids; do
		pid_gone "$_p" "SIG$_sig: process $_p outlived dteq run"
	done
	tmpdir_empty "$TMP/t.$_sig" "SIG$_sig"
	sanitizer_clean "$TMP/run.$_sig.err" "SIG$_sig"
}

for sig in TERM INT HUP; do
	log "SIG$sig mid-run"
	running "$sig"
done

log "a task file submit refuses"
tbad="$TMP/cycle.json"
add_task "$tbad" x "true" y
add_task "$tbad" y "true" x
taskfile "$tbad"
mkdir "$TMP/e.usage"
: >"$TMP/redis.pids"
PATH="$TMP/bin:$PATH" TMPDIR="$TMP/e.usage" timeout 60 \
    "$DTEQ" run --agents 2 "$tbad" >"$TMP/usage.out" 2>"$TMP/usage.err"
assert_eq "$?" 2 "exit status of dteq run with a cyclic task file"
assert_grep 'cycle' "$TMP/usage.err" "the submit's refusal"
r=$(cat "$TMP/redis.pids")
[ -n "$r" ] || fail "no redis-server was started"
pid_gone "$r" "redis-server $r outlived a refused task file"
tmpdir_empty "$TMP/e.usage" "a refused task file"
sanitizer_clean "$TMP/usage.err" "a refused task file"

log "no redis-server in PATH"
mkdir "$TMP/e.nopath" "$TMP/emptybin"
timeout 60 env PATH="$TMP/emptybin" TMPDIR="$TMP/e.nopath" \
    "$DTEQ" run --agents 1 "$tf" >"$TMP/nopath.out" 2>"$TMP/nopath.err"
assert_eq "$?" 3 "exit status of dteq run without redis-server"
assert_grep 'apt-get install redis-server' "$TMP/nopath.err" \
    "says how to install redis-server"
tmpdir_empty "$TMP/e.nopath" "a missing redis-server"

log "a redis-server that exits at start"
mkdir "$TMP/bin.bad" "$TMP/e.bad"
cat >"$TMP/bin.bad/redis-server" <<EOF
#!/bin/sh
echo "the port is taken, says the server"
exit 1
EOF
chmod +x "$TMP/bin.bad/redis-server"
PATH="$TMP/bin.bad:$PATH" TMPDIR="$TMP/e.bad" timeout 60 \
    "$DTEQ" run --agents 1 "$tf" >"$TMP/bad.out" 2>"$TMP/bad.err"
assert_eq "$?" 3 "exit status of dteq run when redis-server exits"
assert_grep 'redis-server exited at start' "$TMP/bad.err" "says so"
assert_grep 'redis-server: the port is taken' "$TMP/bad.err" \
    "shows the server's log"
tmpdir_empty "$TMP/e.bad" "a redis-server that exited"

log "SIGTERM before the server answers"
mkdir "$TMP/bin.mute" "$TMP/e.mute"
cat >"$TMP/bin.mute/redis-server" <<EOF
#!/bin/sh
echo \$\$ >"$TMP/mute-server.pid"
exec sleep 60
EOF
chmod +x "$TMP/bin.mute/redis-server"
PATH="$TMP/bin.mute:$PATH" TMPDIR="$TMP/e.mute" bg mute \
    "$DTEQ" run --agents 1 "$tf"
wait_for "[ -s '$TMP/mute-server.pid' ]" 10 || fail "the silent server never started"
mute=$(cat "$TMP/mute-server.pid")
pid_alive "$mute" || fail "the silent server $mute is not running"
track_pid "$mute"
kill -TERM "$(bg_pid mute)"
bg_wait mute 15
assert_eq "$(bg_rc mute)" 143 "exit status of dteq run stopped at start"
pid_gone "$mute" "the silent server $mute outlived dteq run"
tmpdir_empty "$TMP/e.mute" "SIGTERM at start"

log "SIGKILL mid-run"
tf2="$TMP/long.json"
add_task "$tf2" long "touch $TMP/long.started; sleep 60"
taskfile "$tf2"
mkdir "$TMP/rtk"
: >"$TMP/redis.pids"
PATH="$TMP/bin:$PATH" TMPDIR="$TMP/rtk" bg killed "$DTEQ" run --agents 2 "$tf2"
wait_for "[ -e '$TMP/long.started' ]" 30 ||
    fail "the long task never started"
kids=$(descendants "$(bg_pid killed)")
[ -n "$kids" ] || fail "dteq run has no children"
redis=$(cat "$TMP/redis.pids")
pid_alive "$redis" || fail "no live redis-server ($redis)"
for p in $kids; do track_pid "$p"; done
kill -KILL "$(bg_pid killed)"
pid_gone "$redis" "redis-server $redis outlived the killed dteq run"
# Agents and submit end on their SIGTERM; submit gives an unreachable
# Redis 20 s to take its stop sentinel.
for p in $kids; do
	wait_for "! pid_alive $p" 30 ||
	    fail "process $p ($(ps -o args= -p "$p")) outlived the killed dteq run"
done
exit 0
