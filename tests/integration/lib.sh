# dteq integration tests: the shell functions every t_*.sh sources.
#
# A test script is run by tests/run.sh with sh (POSIX; dash on Debian), from
# the repository root, with DTEQ=<absolute path of the binary under test> and
# TOP=<repository root>. It passes by exiting 0.
#
# What this file gives a test:
#   $TMP                 a private temp dir, removed on exit
#   start_redis          a private redis-server on a free 127.0.0.1 port;
#                        sets REDIS_PORT, REDIS_URL (also DTEQ_REDIS_URL)
#   start_redis_with ARGS...
#                        the same with other server ARGS, data in
#                        $TMP/redis-data
#   redis_at PORT DIR [ARGS...], restart_redis DIR [ARGS...]
#                        a redis-server on a given port (restart: on the
#                        port of the one stopped); every test starts its
#                        servers through redis_at
#   start_redis_auth PASSWORD [ARGS...]
#                        start_redis_with --requirepass PASSWORD (no
#                        persistence), rcli authenticating
#   rcli ARGS...         redis-cli against that server
#   stop_redis           stops it (by pid) and waits for it
#   signal_redis SIG     sends SIG and waits (<= 10 s) for it to exit; the
#                        port stays known
#   bg NAME CMD...       runs CMD in the background: pid in $TMP/NAME.pid,
#                        output in $TMP/NAME.out and .err, exit status in
#                        $TMP/NAME.rc once it ended
#   bg_pid/bg_done/bg_wait/bg_rc NAME
#   start_agent NAME [work options...]
#                        `dteq work --name NAME` on $RUN in the background
#   start_agents "NAME..." [work options...], agent_in NAME DIR [...]
#                        several agents; one in its own directory
#   submit OUTNAME [ARGS...], submit_within SECS OUTNAME [ARGS...]
#                        `dteq submit` in the foreground; sets SUBMIT_RC
#                        and SUBMIT_TOOK (whole seconds)
#   run_cli NAME ARGS... `dteq ARGS` in the foreground, no input; sets RC
#                        and TOOK
#   unreachable NAME SECS PORT SECRET ARGS...
#                        run_cli exits 3 within SECS, naming the server
#                        on PORT and never printing SECRET
#   cancel_run           `dteq cancel` of $RUN, which exits 0
#   after_cancel WHAT PID...
#                        agents a1 and a2, processes PID... and the submit
#                        (bg submit) end as a cancel makes them
#   refused NAME PATTERN [ARGS...]
#                        submit exits 2 with PATTERN and writes nothing
#   tool_deps MODE       DTEQ_TOOL_DEPS=MODE, exported
#   wait_for 'CMD' SECS  polls CMD (eval'd) every 0.1 s; 1 if it never held
#   fail MSG, assert_eq GOT WANT MSG, assert_file/assert_no_file, count_lines
#   need_cmd CMD [WHERE] fails the test unless CMD is installed
#   pid_gone PID MSG [SECS], pidfile_gone FILE WHAT
#                        a process ends (within 10 s unless SECS)
#   add_task/taskfile    write a task file without hand-written JSON
#   tasks FILE <<EOF     the same from a table, one task a line
#   result_field RUN ID FIELD
#                        a field of the task's result in the results hash
#   track_pid PID        one more process to kill on exit
#   two_agents_script FILE
#                        a script tasks run to wait until two agents run
#                        one each
#   lib_script, split_libs, libs_split, checkout_agents, restores_ok
#                        the libraries and agents of the restore tests
#   start_cache [options...], stop_cache, req NAME METHOD PATH [...]
#                        `dteq cache` on the test server (CACHE_URL), its
#                        clean stop, one request to it
#
# On exit (normal, fail, or the runner's timeout) the EXIT trap kills every
# process the test started, by pid, then the Redis server, then removes $TMP.

set -u

: "${DTEQ:?DTEQ must name the dteq binary under test}"
: "${TOP:=$(pwd)}"

# The environment must not choose a run id, an agent name or a server for
# us, nor make this a CI job (where no Redis URL is an error): a CI
# machine running this suite sets some of these.
unset DTEQ_RUN DTEQ_RUN_ENV DTEQ_REDIS_URL DTEQ_REDIS_PASSWORD \
    NX_CI_EXECUTION_ID CIRCLE_WORKFLOW_ID GITHUB_RUN_ID GITHUB_RUN_ATTEMPT \
    BUILD_BUILDID BITBUCKET_BUILD_NUMBER CI_PIPELINE_ID BUILD_TAG \
    NX_AGENT_NAME BITBUCKET_STEP_UUID CI_JOB_ID \
    GITHUB_REPOSITORY BITBUCKET_REPO_FULL_NAME CI_PROJECT_PATH \
    BUILD_REPOSITORY_NAME GIT_URL CIRCLE_PROJECT_USERNAME \
    CIRCLE_PROJECT_REPONAME BITBUCKET_STEP_RUN_NUMBER CI_JOB_RETRY_COUNT \
    CI GITHUB_ACTIONS GITLAB_CI CIRCLECI TF_BUILD JENKINS_URL BUILDKITE
# Nor a repository: the tests run in a checkout whose origin remote would
# name one, and their keys are dteq:{$RUN}:... (a test of the repository
# identity unsets this).
DTEQ_REPO=-
export DTEQ_REPO

TMP=$(mktemp -d "${TMPDIR:-/tmp}/dteq-test.XXXXXX") || exit 1
TEST_NAME=$(basename "$0" .sh)
RUN="${TEST_NAME}-$$"
KILL_PIDS=""
REDIS_PID=""
REDIS_PORT=""
REDIS_URL=""
# The password rcli gives (start_redis_auth): never exported.
unset REDIS_PASS

# pid_alive PID: the process exists and is not a zombie.
pid_alive() {
	[ -n "$1" ] || return 1
	[ -r "/proc/$1/stat" ] || return 1
	# Field 3 of /proc/PID/stat is the state; the command name (field 2)
	# may contain spaces, so look after its closing parenthesis.
	_st=$(sed -n 's/^.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null)
	[ -n "$_st" ] && [ "$_st" != Z ] && [ "$_st" != X ]
}

track_pid() {
	KILL_PIDS="$KILL_PIDS $1"
}

# kill_pids SIG PID...: signal those still alive.
kill_pids() {
	_sig=$1
	shift
	for _p in "$@"; do
		pid_alive "$_p" && kill "-$_sig" "$_p" 2>/dev/null
	done
	return 0
}

cleanup() {
	_rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$KILL_PIDS" ]; then
		# shellcheck disable=SC2086
		kill_pids TERM $KILL_PIDS
		_n=0
		while [ $_n -lt 30 ]; do
			_left=""
			for _p in $KILL_PIDS; do
				pid_alive "$_p" && _left="$_left $_p"
			done
			[ -z "$_left" ] && break
			sleep 0.1
			_n=$((_n + 1))
		done
		# shellcheck disable=SC2086
		[ -n "$_left" ] && kill_pids KILL $_left
	fi
	stop_redis
	# Let the background wrappers write their .rc files before removal.
	sleep 0.1
	rm -rf "$TMP"
	exit $_rc
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'echo "TIMEOUT: $TEST_NAME: killed by the runner"; dump; exit 143' TERM

# dump: the tails of every output file of the test, for the log.
dump() {
	for _f in "$TMP"/*.out "$TMP"/*.err; do
		[ -s "$_f" ] || continue
		echo "---- ${_f#"$TMP"/} (last 40 lines)"
		tail -n 40 "$_f"
	done
	if [ -s "$TMP/redis.log" ]; then
		echo "---- redis.log (warnings)"
		grep -E ' # | ! ' "$TMP/redis.log" | grep -v -E \
		    'oO0OoO0OoO0Oo|Redis version=|Configuration loaded|Server initialized|overcommit' |
		    tail -n 10
	fi
	return 0
}

fail() {
	dump
	echo "FAIL: $TEST_NAME: $*"
	exit 1
}

log() {
	echo "== $TEST_NAME: $*"
}

assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: got '$1', want '$2'"
}

assert_file() {
	[ -e "$1" ] || fail "${2:-missing file} ($1)"
}

assert_no_file() {
	[ ! -e "$1" ] || fail "${2:-file should not exist} ($1)"
}

# assert_grep PATTERN FILE MSG: an extended regexp matches a line of FILE.
assert_grep() {
	grep -Eq -- "$1" "$2" || fail "${3:-no match} (/$1/ in ${2#"$TMP"/})"
}

assert_no_grep() {
	! grep -Eq -- "$1" "$2" || fail "${3:-unexpected match} (/$1/ in ${2#"$TMP"/})"
}

# need_cmd CMD [WHERE]: fail unless CMD is installed (WHERE: what has it).
need_cmd() {
	command -v "$1" >/dev/null 2>&1 || fail "$1 is missing${2:+ ($2)}"
}

# count_lines FILE FIXED: how many lines of FILE start with FIXED.
count_lines() {
	awk -v p="$2" 'index($0, p) == 1 { n++ } END { print n + 0 }' "$1"
}

# wait_for 'CMD' SECS: poll CMD until it succeeds; 1 after SECS seconds.
wait_for() {
	_n=$(($2 * 10))
	while [ "$_n" -gt 0 ]; do
		eval "$1" && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	eval "$1"
}

# pid_gone PID MSG [SECS]: PID ends within SECS (10 unless given); fail
# with MSG if it does not.
pid_gone() {
	wait_for "! pid_alive $1" "${3:-10}" || fail "$2"
}

# pidfile_gone FILE WHAT: FILE (a task wrote it) holds the pid of WHAT,
# which is tracked and must end within 10 s.
pidfile_gone() {
	assert_file "$1" "$2 never started"
	_pg=$(cat "$1")
	track_pid "$_pg"
	pid_gone "$_pg" "$2 $_pg still alive"
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# random_port: a port in 20000-39999 nothing answers on right now.
random_port() {
	while :; do
		_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		_port=$((20000 + _r % 20000))
		if ! redis-cli -p "$_port" ping >/dev/null 2>&1; then
			echo "$_port"
			return 0
		fi
	done
}

# rcli ARGS...: redis-cli against the test server, authenticating with
# REDIS_PASS if set (start_redis_auth). REDIS_PASS is not exported and
# goes to redis-cli alone: no dteq process, nor task, inherits it.
rcli() {
	if [ -n "${REDIS_PASS:-}" ]; then
		REDISCLI_AUTH=$REDIS_PASS redis-cli -p "$REDIS_PORT" "$@"
	else
		redis-cli -p "$REDIS_PORT" "$@"
	fi
}

# cmd_calls NAME: how often the test server ran command NAME (lower case)
# since its stats were last reset, from INFO commandstats; 0 if never.
cmd_calls() {
	_c=$(rcli info commandstats |
	    sed -n "s/^cmdstat_$1:calls=\([0-9]*\),.*/\1/p")
	echo "${_c:-0}"
}

# redis_at PORT DIR [ARGS...]: a redis-server on 127.0.0.1:PORT with its
# data in DIR (made if missing) and the extra server ARGS; sets REDIS_PID,
# REDIS_PORT, REDIS_URL (also DTEQ_REDIS_URL). 1 unless the server
# answering on PORT reports our pid within 5 s (the port was taken, the
# server exited). With REDIS_PASS set (start_redis_auth), or
# REDISCLI_AUTH in an rcli of the test's own, the check authenticates.
# The one place a test starts a redis-server.
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

# start_redis_in DIR [ARGS...]: redis_at on a free port, up to 10 ports.
# The port is checked twice: nothing answered on it before, and the
# server answering afterwards reports our pid (two tests racing for one
# port cannot both believe they won).
start_redis_in() {
	_try=0
	while [ $_try -lt 10 ]; do
		_try=$((_try + 1))
		redis_at "$(random_port)" "$@" && return 0
	done
	shift
	fail "could not start redis-server $*"
}

# start_redis: a private redis-server, no persistence, data in $TMP.
start_redis() {
	start_redis_in "$TMP" --save '' --appendonly no
}

# start_redis_with ARGS...: like start_redis with the server ARGS instead,
# data in $TMP/redis-data.
start_redis_with() {
	start_redis_in "$TMP/redis-data" "$@"
}

# start_redis_auth PASSWORD [ARGS...]: start_redis_with no persistence,
# --requirepass PASSWORD and ARGS; rcli authenticates from then on.
start_redis_auth() {
	REDIS_PASS=$1
	shift
	start_redis_with --save '' --appendonly no --requirepass "$REDIS_PASS" \
	    "$@"
}

# restart_redis DIR [ARGS...]: a new redis-server on the port of the one
# stopped before (stop_redis, signal_redis), data in DIR; fails the test if
# it does not come up.
restart_redis() {
	redis_at "$REDIS_PORT" "$@" ||
	    fail "could not restart redis-server on port $REDIS_PORT"
}

# kill_redis SIG SECS: send SIG to the server and wait up to SECS for it
# to exit; 1 if it still runs. The port stays known.
kill_redis() {
	[ -n "$REDIS_PID" ] || return 0
	kill "-$1" "$REDIS_PID" 2>/dev/null
	_n=0
	while pid_alive "$REDIS_PID" && [ $_n -lt $(($2 * 10)) ]; do
		sleep 0.1
		_n=$((_n + 1))
	done
	pid_alive "$REDIS_PID" && return 1
	wait "$REDIS_PID" 2>/dev/null
	REDIS_PID=""
	return 0
}

# stop_redis: SIGTERM, SIGKILL after 5 s.
stop_redis() {
	kill_redis TERM 5 || kill_redis KILL 5
	return 0
}

# signal_redis SIG: send SIG to the server; fails the test unless it exits
# within 10 s.
signal_redis() {
	kill_redis "$1" 10 || fail "redis-server did not exit on SIG$1"
}

# bg NAME CMD...: run CMD in the background through a small wrapper that
# records its pid, output and, once it ended, its exit status. The pid is
# the command's own (the wrapper reaps it), so pid_alive works on it.
bg() {
	_name=$1
	shift
	rm -f "$TMP/$_name.pid" "$TMP/$_name.rc"
	(
		"$@" >"$TMP/$_name.out" 2>"$TMP/$_name.err" &
		echo $! >"$TMP/$_name.pid.new"
		mv "$TMP/$_name.pid.new" "$TMP/$_name.pid"
		wait $!
		echo $? >"$TMP/$_name.rc.new"
		mv "$TMP/$_name.rc.new" "$TMP/$_name.rc"
	) 2>/dev/null &
	wait_for "[ -s '$TMP/$_name.pid' ]" 10 || fail "$_name did not start"
	track_pid "$(cat "$TMP/$_name.pid")"
}

bg_pid() {
	cat "$TMP/$1.pid"
}

# bg_done NAME: the command has ended.
bg_done() {
	[ -s "$TMP/$1.rc" ]
}

bg_rc() {
	cat "$TMP/$1.rc"
}

# bg_wait NAME SECS: wait for the command to end; fail after SECS.
bg_wait() {
	wait_for "bg_done '$1'" "$2" || fail "$1 still running after $2 s"
}

# start_agent NAME [work options...]: an agent of $RUN on the test server.
start_agent() {
	_aname=$1
	shift
	bg "agent.$_aname" "$DTEQ" work --redis "$REDIS_URL" --run "$RUN" \
	    --name "$_aname" "$@"
}

# start_agents "NAME..." [work options...]: start_agent each NAME of the
# list with the same options.
start_agents() {
	_sa_names=$1
	shift
	for _sa in $_sa_names; do
		start_agent "$_sa" "$@"
	done
}

# agent_in NAME DIR [work options...]: start_agent NAME with DIR (made if
# missing) as its working directory, as an agent in its own checkout; the
# test's current directory stays.
agent_in() {
	_an=$1
	_dir=$2
	shift 2
	mkdir -p "$_dir" || fail "mkdir $_dir"
	_here=$(pwd)
	cd "$_dir" || fail "cd $_dir"
	start_agent "$_an" "$@"
	cd "$_here" || fail "cd $_here"
}

# agents_exit_ok SECS NAME...: every named agent exits 0 within SECS.
agents_exit_ok() {
	_secs=$1
	shift
	for _a in "$@"; do
		bg_wait "agent.$_a" "$_secs"
		assert_eq "$(bg_rc "agent.$_a")" 0 "exit status of agent $_a"
	done
}

# submit_within SECS OUTNAME [submit options and task file...]: `dteq
# submit` on $RUN in the foreground, bounded by SECS; stdout in
# $TMP/OUTNAME.out, stderr in $TMP/OUTNAME.err; sets SUBMIT_RC, and
# SUBMIT_TOOK, the whole seconds it took.
submit_within() {
	_secs=$1
	_out=$2
	shift 2
	_st0=$(date +%s)
	timeout --foreground -k 5 "$_secs" "$DTEQ" submit --redis "$REDIS_URL" \
	    --run "$RUN" "$@" >"$TMP/$_out.out" 2>"$TMP/$_out.err"
	SUBMIT_RC=$?
	SUBMIT_TOOK=$(($(date +%s) - _st0))
	[ $SUBMIT_RC -eq 124 ] &&
	    fail "dteq submit did not end within $_secs s"
	return 0
}

# submit OUTNAME [submit options and task file...]: submit_within
# $SUBMIT_SECS (90 unless the test sets it).
submit() {
	submit_within "${SUBMIT_SECS:-90}" "$@"
}

# run_cli NAME ARGS...: `dteq ARGS` in the foreground with no input,
# bounded by CLI_SECS (15 unless the test sets it); stdout in
# $TMP/NAME.out, stderr in $TMP/NAME.err; sets RC, and TOOK, the whole
# seconds it took.
run_cli() {
	_cn=$1
	shift
	_ct0=$(date +%s)
	timeout --foreground -k 2 "${CLI_SECS:-15}" "$DTEQ" "$@" \
	    >"$TMP/$_cn.out" 2>"$TMP/$_cn.err" </dev/null
	RC=$?
	TOOK=$(($(date +%s) - _ct0))
}

# unreachable NAME SECS PORT SECRET ARGS...: `dteq ARGS` (run_cli NAME),
# given a Redis server on 127.0.0.1:PORT where none answers, exits 3
# within SECS; its stderr names the server, and no output shows SECRET
# (the password the test gave it).
unreachable() {
	_un=$1
	_usecs=$2
	_uport=$3
	_usecret=$4
	shift 4
	run_cli "$_un" "$@"
	assert_eq "$RC" 3 "$_un: exit status with Redis unreachable"
	[ "$TOOK" -le "$_usecs" ] || fail "$_un took $TOOK s to give up"
	assert_grep "127\\.0\\.0\\.1:$_uport" "$TMP/$_un.err" \
	    "$_un: stderr names the server"
	cat "$TMP/$_un.out" "$TMP/$_un.err" | grep -qF -- "$_usecret" &&
	    fail "$_un: the password is printed"
	return 0
}

# cancel_run: `dteq cancel` of $RUN exits 0; its output in
# $TMP/cancel.out and .err.
cancel_run() {
	timeout 30 "$DTEQ" cancel --redis "$REDIS_URL" --run "$RUN" \
	    >"$TMP/cancel.out" 2>"$TMP/cancel.err"
	assert_eq "$?" 0 "dteq cancel exit status"
}

# after_cancel WHAT PID...: what a cancel of $RUN leads to: agents a1 and
# a2 exit 0 within 20 s, the processes PID... (WHAT: the tasks' own) end,
# and the submit (bg submit) exits 3 within 40 s.
after_cancel() {
	_cw=$1
	shift
	agents_exit_ok 20 a1 a2
	for _cp in "$@"; do
		pid_gone "$_cp" "$_cw $_cp survived the cancel"
	done
	bg_wait submit 40
	assert_eq "$(bg_rc submit)" 3 "submit exit status after a cancel"
}

# refused NAME PATTERN [submit arguments...]: submit exits 2, PATTERN on
# its stderr, and writes nothing to Redis.
refused() {
	_rn=$1
	_rp=$2
	shift 2
	submit "$_rn" "$@"
	assert_eq "$SUBMIT_RC" 2 "exit status of submit $*"
	assert_grep "$_rp" "$TMP/$_rn.err" "message of submit $*"
	assert_eq "$(rcli dbsize)" 0 "keys written by submit $*"
}

# tool_deps MODE: DTEQ_TOOL_DEPS=MODE (exclude, restore) for the agents and
# submits started afterwards.
tool_deps() {
	DTEQ_TOOL_DEPS=$1
	export DTEQ_TOOL_DEPS
}

# two_agents_script FILE: write FILE, a script a task runs (sh FILE) to
# wait until tasks of its run run on two agents at once, so that each
# agent takes one of them; exits 9 after 30 s without.
two_agents_script() {
	cat >"$1" <<EOF
touch "$TMP/busy.\$DTEQ_RUN.\$DTEQ_AGENT"
n=0
while [ \$(ls "$TMP" | grep -c "^busy\\\\.\$DTEQ_RUN\\\\.") -lt 2 ]; do
	n=\$((n + 1))
	if [ \$n -ge 300 ]; then
		echo "the other agent took none of these tasks"
		exit 9
	fi
	sleep 0.1
done
EOF
}

# lib_script FILE STORE SECS: write FILE, a library build a task runs as
# `sh FILE LIB` in its agent's checkout: once both agents build a library
# ($TMP/two.sh, two_agents_script) and SECS seconds later, it writes
# out/LIB, copies it into STORE and appends "LIB AGENT" to STORE/built.log.
# STORE is written into FILE as given: '$STORE' takes the task's
# environment.
lib_script() {
	two_agents_script "$TMP/two.sh"
	cat >"$1" <<EOF
lib=\$1
sh "$TMP/two.sh" || exit 9
sleep $3
mkdir -p out
echo "\$lib built by \$DTEQ_AGENT" >"out/\$lib"
cp "out/\$lib" "$2/\$lib"
echo "\$lib \$DTEQ_AGENT" >>"$2/built.log"
echo "lib.sh: built \$lib"
EOF
}

# split_libs FILE RESTORE APP_COMMAND [APP_EXTRA]: the task file FILE of
# two libraries, lib1 and lib2, whose builds wait until both agents build
# one (so that two agents of one slot take one each), each with the
# restore command RESTORE ({} in it stands for the library's name), and
# app, which needs both and runs APP_COMMAND (APP_EXTRA: add_task's EXTRA).
split_libs() {
	two_agents_script "$TMP/two.sh"
	for _l in lib1 lib2; do
		add_task "$1" "$_l" "sh $TMP/two.sh" "" \
		    "\"restore\": $(json_str "$(printf '%s\n' "$2" |
		    sed "s/{}/$_l/g")")"
	done
	add_task "$1" app "$3" "lib1 lib2" "${4:-}"
	taskfile "$1"
}

# libs_split [WHAT]: lib1 and lib2 of $RUN were built on different agents,
# so the app had one to restore.
libs_split() {
	[ "$(result_field "$RUN" lib1 agent)" != \
	    "$(result_field "$RUN" lib2 agent)" ] ||
	    fail "one agent built both libraries${1:+ ($1)}: nothing to restore"
}

# checkout_agents [work options...]: agents a1 and a2, each in a checkout
# of its own, $TMP/a1 and $TMP/a2 (agent_in); the current directory is
# $TMP afterwards.
checkout_agents() {
	for _ca in a1 a2; do
		agent_in "$_ca" "$TMP/$_ca" "$@"
	done
	cd "$TMP" || fail "cd $TMP"
}

# restores_ok STORE: the libraries of lib_script in STORE were built two
# on each agent (a1, a2) and restored ("LIB AGENT ..." lines of
# STORE/restores.log) twice or more in all, each on one agent once at
# most, never on the agent that built it.
restores_ok() {
	for _ra in a1 a2; do
		assert_eq "$(grep -c " $_ra\$" "$1/built.log")" 2 \
		    "libs built on $_ra"
	done
	touch "$1/restores.log"
	[ "$(wc -l <"$1/restores.log")" -ge 2 ] ||
	    fail "fewer than 2 restores: $(cat "$1/restores.log")"
	_rdups=$(cut -d' ' -f1,2 "$1/restores.log" | sort | uniq -d)
	[ -z "$_rdups" ] || fail "restored twice on one agent: $_rdups"
	while read -r _rlib _ragent _; do
		grep -qx "$_rlib $_ragent" "$1/built.log" &&
		    fail "$_ragent restored $_rlib, which it built itself"
	done <"$1/restores.log"
	return 0
}

# start_cache [cache options...]: `dteq cache` on the test server (bg
# name "cache"); sets CACHE_URL to the URL it prints first.
start_cache() {
	bg cache "$DTEQ" cache --redis "$REDIS_URL" "$@"
	wait_for "[ -s '$TMP/cache.out' ]" 10 || fail "dteq cache printed no URL"
	CACHE_URL=$(head -n 1 "$TMP/cache.out")
}

# stop_cache: SIGTERM; dteq cache exits 0, and the sanitizers of the ASan
# build found nothing (leaks are reported at exit).
stop_cache() {
	kill -TERM "$(bg_pid cache)"
	bg_wait cache 10
	assert_no_grep 'Sanitizer|runtime error' "$TMP/cache.err" \
	    "a sanitizer report from dteq cache"
	assert_eq "$(bg_rc cache)" 0 "dteq cache exit status after SIGTERM"
}

# req NAME METHOD PATH [curl options...]: one request to the cache at
# $CACHE_URL; sets CODE; the body is in $TMP/NAME.body and the response
# head in $TMP/NAME.hdr.
req() {
	_n=$1
	_m=$2
	_p=$3
	shift 3
	if [ "$_m" = HEAD ]; then
		set -- --head "$@"
	else
		set -- -X "$_m" "$@"
	fi
	# shellcheck disable=SC2034
	CODE=$(curl -sS -o "$TMP/$_n.body" -D "$TMP/$_n.hdr" \
	    -w '%{http_code}' "$@" "$CACHE_URL$_p") || fail "curl $_m $_p failed"
}

# json_str STRING: STRING as a JSON string literal (no control characters).
json_str() {
	printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# add_task FILE ID COMMAND [DEPS] [EXTRA]: append one task to the draft of
# FILE. DEPS is a space-separated list of ids; EXTRA is raw JSON members,
# e.g. '"timeout": 2, "retries": 1'. taskfile FILE writes the file.
add_task() {
	_f=$1
	_t="{\"id\": $(json_str "$2"), \"command\": $(json_str "$3")"
	if [ -n "${4:-}" ]; then
		_d=""
		for _dep in $4; do
			_d="${_d:+$_d, }$(json_str "$_dep")"
		done
		_t="$_t, \"deps\": [$_d]"
	fi
	[ -n "${5:-}" ] && _t="$_t, $5"
	if [ -s "$_f.draft" ]; then
		printf ',\n  %s}' "$_t" >>"$_f.draft"
	else
		printf '  %s}' "$_t" >"$_f.draft"
	fi
}

taskfile() {
	{
		echo '{"tasks": ['
		cat "$1.draft"
		echo
		echo ']}'
	} >"$1"
	rm -f "$1.draft"
}

# tasks FILE: write the task file FILE from a table on stdin, one task a
# line, "ID | DEPS | EXTRA | COMMAND" (add_task's arguments; the command
# last, so that it may hold '|'); blank lines and lines starting with
# '#' are left out. Spaces around the fields go.
tasks() {
	while IFS= read -r _tl; do
		case $_tl in
		'' | '#'*) continue ;;
		esac
		_tid=${_tl%%|*}
		_tl=${_tl#*|}
		_tdeps=${_tl%%|*}
		_tl=${_tl#*|}
		_textra=${_tl%%|*}
		add_task "$1" "$(trim "$_tid")" "$(trim "${_tl#*|}")" \
		    "$(trim "$_tdeps")" "$(trim "$_textra")"
	done
	taskfile "$1"
}

# trim STRING: STRING without leading and trailing blanks.
trim() {
	printf '%s' "$1" | sed 's/^[[:blank:]]*//; s/[[:blank:]]*$//'
}

# result_field RUN ID FIELD: FIELD of task ID's result JSON (flat object),
# unquoted; empty when there is no result.
result_field() {
	rcli hget "dteq:{$1}:results" "$2" |
	    sed -n "s/.*\"$3\"[[:space:]]*:[[:space:]]*\"\{0,1\}\([^\",}]*\).*/\1/p"
}

# descendants PID: the pids of every live descendant of PID, one a line.
descendants() {
	ps -e -o pid= -o ppid= | awk -v root="$1" '
	{ parent[$1] = $2 }
	END {
		for (p in parent) {
			q = p
			while (q in parent && q != root && q > 1)
				q = parent[q]
			if (q == root && p != root)
				print p
		}
	}'
}

cd "$TOP" || fail "cannot cd to $TOP"
