# dteq fault-injection tests: helpers on top of tests/integration/lib.sh.
#
# A tests/faults/t_*.sh script sources this file (which sources lib.sh), so
# it has everything lib.sh gives plus:
#
#   has_option SUBCMD OPTION      `dteq SUBCMD --help` mentions OPTION
#   is_asan                       the binary under test is an ASan build
#   rss_kb PID                    VmRSS of PID in kB (empty once gone)
#   runs_of DIR ID                how many lines DIR/runs.ID holds (a task
#                                 appends one line each time it starts)
#   runs_task FILE ID SECS [DEPS] add_task of a task that appends its line
#                                 to $TMP/runs.ID, then sleeps SECS
#   runs_grid FILE N WIDTH SECS [cross]
#                                 the task file of N such tasks in WIDTH
#                                 chains; sets ids
#   ran_once OUT ID...            each task of $RUN succeeded, ran once and
#                                 has one whole block in OUT
#   elapsed_ms START_MS           milliseconds since START_MS (now_ms)
#   info MSG                      a line in the test log for the report
#   track_tasks ID...             wait for the pids tasks wrote into
#                                 $TMP/pid.ID, track them
#   tasks_gone                    none of those still runs
#
# The Redis servers of these tests (start_redis_with, redis_at,
# restart_redis, signal_redis) come from lib.sh, like every test's. Every
# process a test starts goes through bg (or track_pid), so lib.sh's EXIT
# trap stops it by pid; the server is stopped through REDIS_PID.

. "$TOP/tests/integration/lib.sh"

info() {
	echo "## $TEST_NAME: $*"
}

elapsed_ms() {
	echo $(($(now_ms) - $1))
}

has_option() {
	"$DTEQ" "$1" --help 2>&1 | grep -q -- "$2"
}

is_asan() {
	# gcc links libasan dynamically; clang links the runtime in.
	ldd "$DTEQ" 2>/dev/null | grep -q 'libasan' && return 0
	grep -aq '__asan_init' "$DTEQ" 2>/dev/null
}

rss_kb() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status" \
	    2>/dev/null
}

runs_of() {
	if [ -f "$1/runs.$2" ]; then
		wc -l <"$1/runs.$2" | tr -d ' '
	else
		echo 0
	fi
}

# runs_task FILE ID SECS [DEPS]: add to FILE a task ID that appends
# "AGENT ATTEMPT" to $TMP/runs.ID (runs_of counts its runs), sleeps SECS
# and says "ID done".
runs_task() {
	_rt="echo \"\$DTEQ_AGENT \$DTEQ_ATTEMPT\" >>$TMP/runs.$2"
	add_task "$1" "$2" "$_rt; sleep $3; echo $2 done" "${4:-}"
}

# runs_grid FILE N WIDTH SECS [cross]: write the task file FILE of the
# tasks t1..tN (runs_task, SECS each) in WIDTH chains: each needs the one
# WIDTH before it, and with "cross", past the second row, the one
# WIDTH+1 before it too. ids lists them.
runs_grid() {
	ids=""
	_gi=1
	while [ "$_gi" -le "$2" ]; do
		_gdep=""
		[ "$_gi" -gt "$3" ] && _gdep="t$((_gi - $3))"
		[ "${5:-}" = cross ] && [ "$_gi" -gt $(($3 * 2)) ] &&
		    _gdep="$_gdep t$((_gi - $3 - 1))"
		runs_task "$1" "t$_gi" "$4" "$_gdep"
		ids="$ids t$_gi"
		_gi=$((_gi + 1))
	done
	taskfile "$1"
}

# ran_once OUT ID...: each task ID of $RUN succeeded, ran once (runs_of
# $TMP), and has one block in submit's output OUT, which it closed as
# succeeded.
ran_once() {
	_ro=$1
	shift
	for _id in "$@"; do
		assert_eq "$(result_field "$RUN" "$_id" status)" success \
		    "status of $_id"
		assert_eq "$(count_lines "$_ro" "> $_id (")" 1 \
		    "block headers of $_id"
		assert_eq "$(count_lines "$_ro" "< $_id: succeeded")" 1 \
		    "footers of $_id"
		_n=$(runs_of "$TMP" "$_id")
		[ "$_n" -eq 1 ] || info "task $_id ran $_n times"
		assert_eq "$_n" 1 "runs of $_id"
	done
}

# track_tasks ID...: wait (<= 30 s in all) until each task ID has written
# its shell's pid into $TMP/pid.ID; track those pids and keep them for
# tasks_gone.
track_tasks() {
	_cond=true
	for _id in "$@"; do
		_cond="$_cond && [ -s '$TMP/pid.$_id' ]"
	done
	wait_for "$_cond" 30 || fail "the long tasks never started ($*)"
	TASK_PIDS=""
	for _id in "$@"; do
		_p=$(cat "$TMP/pid.$_id")
		track_pid "$_p"
		TASK_PIDS="$TASK_PIDS $_id=$_p"
	done
}

# tasks_gone: none of the task shells track_tasks saw still runs.
tasks_gone() {
	for _ip in $TASK_PIDS; do
		pid_alive "${_ip#*=}" &&
		    fail "task ${_ip%%=*} (pid ${_ip#*=}) still runs after its agent left"
	done
	return 0
}

# start_relay [cut-first]: a TCP relay to the test's redis-server on a
# port of its own (background process "relay": SIGSTOP freezes the link,
# connections open and nothing passing, as in a partition; SIGCONT heals
# it). With cut-first, its first connection dies after the server's
# first reply. Sets RELAY_URL.
start_relay() {
	cat >"$TMP/relay.py" <<'PY'
import os, socket, sys, threading
upstream = int(sys.argv[1])
cut_first = len(sys.argv) > 3 and sys.argv[3] == "cut-first"
lsock = socket.socket()
lsock.bind(("127.0.0.1", 0))
lsock.listen(64)
with open(sys.argv[2] + ".new", "w") as f:
    f.write(str(lsock.getsockname()[1]))
os.rename(sys.argv[2] + ".new", sys.argv[2])

def pipe(src, dst, cut):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
            if cut:
                break
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

n = 0
while True:
    c, _ = lsock.accept()
    n += 1
    u = socket.create_connection(("127.0.0.1", upstream))
    threading.Thread(target=pipe, args=(c, u, False), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c, cut_first and n == 1),
                     daemon=True).start()
PY
	bg relay python3 "$TMP/relay.py" "$REDIS_PORT" "$TMP/relay.port" \
	    "${1:-}"
	wait_for "[ -s '$TMP/relay.port' ]" 10 || fail "the relay did not start"
	RELAY_URL="redis://127.0.0.1:$(cat "$TMP/relay.port")"
}
