# dteq fault-injection tests: helpers on top of tests/integration/lib.sh.
#
# A tests/faults/t_*.sh script sources this file (which sources lib.sh), so
# it has everything lib.sh gives plus:
#
#   redis_at PORT DIR [ARGS...]   a redis-server on a fixed 127.0.0.1 port
#                                 with its data in DIR and extra ARGS; sets
#                                 REDIS_PID, REDIS_PORT, REDIS_URL (so it
#                                 can be restarted on the same port). With
#                                 REDISCLI_AUTH set, rcli authenticates.
#   start_redis_with ARGS...      like start_redis, with extra server ARGS
#                                 and data in $TMP/redis-data
#   signal_redis SIG              send SIG to the server and wait (<= 10 s)
#                                 for it to exit; the port stays known
#   has_option SUBCMD OPTION      `dteq SUBCMD --help` mentions OPTION
#   is_asan                       the binary under test is an ASan build
#   rss_kb PID                    VmRSS of PID in kB (empty once gone)
#   runs_of DIR ID                how many lines DIR/runs.ID holds (a task
#                                 appends one line each time it starts)
#   elapsed_ms START_MS           milliseconds since START_MS (now_ms)
#   info MSG                      a line in the test log for the report
#
# Every process a test starts goes through bg (or track_pid), so lib.sh's
# EXIT trap stops it by pid; the server is stopped through REDIS_PID.

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

# redis_at PORT DIR [ARGS...]: fails the test if the server does not come
# up answering with its own pid within 5 s.
redis_at() {
	_port=$1
	_dir=$2
	shift 2
	mkdir -p "$_dir"
	redis-server --port "$_port" --bind 127.0.0.1 --dir "$_dir" \
	    --logfile "$TMP/redis.log" --daemonize no "$@" &
	REDIS_PID=$!
	REDIS_PORT=$_port
	_n=0
	while [ $_n -lt 50 ]; do
		pid_alive "$REDIS_PID" || break
		_pid=$(rcli info server 2>/dev/null |
		    sed -n 's/^process_id:\([0-9]*\).*/\1/p')
		if [ "$_pid" = "$REDIS_PID" ]; then
			REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
			DTEQ_REDIS_URL=$REDIS_URL
			export REDIS_PORT REDIS_URL DTEQ_REDIS_URL
			return 0
		fi
		sleep 0.1
		_n=$((_n + 1))
	done
	kill -KILL "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
	REDIS_PID=""
	return 1
}

start_redis_with() {
	_try=0
	while [ $_try -lt 10 ]; do
		_try=$((_try + 1))
		redis_at "$(random_port)" "$TMP/redis-data" "$@" && return 0
	done
	fail "could not start redis-server $*"
}

signal_redis() {
	[ -n "$REDIS_PID" ] || return 0
	kill "-$1" "$REDIS_PID" 2>/dev/null
	_n=0
	while pid_alive "$REDIS_PID" && [ $_n -lt 100 ]; do
		sleep 0.1
		_n=$((_n + 1))
	done
	pid_alive "$REDIS_PID" && fail "redis-server did not exit on SIG$1"
	wait "$REDIS_PID" 2>/dev/null
	REDIS_PID=""
	return 0
}
