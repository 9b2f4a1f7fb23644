# `dteq run --agents 3` runs the demo graph on a private redis-server and
# leaves nothing behind: no redis-server, no worker, no temp dir; and a
# `dteq run` interrupted with SIGINT mid-run cleans up the same way. Its
# agents share the checkout, so they get DTEQ_TOOL_DEPS=exclude unless the
# user set it.
# timeout: 120

. "$TOP/tests/integration/lib.sh"

# dteq run makes a temp dir for the redis socket. If it honours TMPDIR, the
# dir shows up in $TMP/rt; either way it is the cwd of its redis-server.
mkdir "$TMP/rt"

# watch NAME: while background command NAME runs, record every process
# below it ("pid comm" in $TMP/NAME.procs) and every directory it made
# ($TMP/NAME.dirs): the entries of $TMP/rt and the working directory of
# its redis-server (redis-server chdirs to its --dir). Processes running
# the dteq binary are recorded as "dteq", whatever their name.
watch() {
	_pid=$(bg_pid "$1")
	: >"$TMP/$1.procs.all"
	: >"$TMP/$1.dirs.all"
	while ! bg_done "$1"; do
		for _p in $(descendants "$_pid"); do
			_c=$(ps -o comm= -p "$_p" 2>/dev/null) || continue
			# A worker may be a fork or a re-exec of dteq.
			[ "$(readlink "/proc/$_p/exe" 2>/dev/null)" = "$dteq_exe" ] &&
			    _c=dteq
			echo "$_p $_c" >>"$TMP/$1.procs.all"
			if [ "$_c" = redis-server ]; then
				_d=$(readlink "/proc/$_p/cwd" 2>/dev/null)
				case "$_d" in
				"$TOP"|/|'') ;;
				*) echo "$_d" >>"$TMP/$1.dirs.all" ;;
				esac
			fi
		done
		for _d in "$TMP"/rt/*; do
			[ -e "$_d" ] && echo "$_d" >>"$TMP/$1.dirs.all"
		done
		[ -n "${2:-}" ] && [ -s "$2" ] && break
		sleep 0.2
	done
	sort -u "$TMP/$1.procs.all" >"$TMP/$1.procs"
	sort -u "$TMP/$1.dirs.all" >"$TMP/$1.dirs"
	while read -r _p _c; do
		track_pid "$_p"
	done <"$TMP/$1.procs"
}

# left_behind NAME: fail if a process or directory recorded by watch is
# still there a few seconds after the command ended.
left_behind() {
	while read -r _p _c; do
		wait_for "! pid_alive $_p" 10 ||
		    fail "$1: process $_p ($_c) survived: $(ps -o args= -p "$_p")"
	done <"$TMP/$1.procs"
	while read -r _d; do
		[ -e "$_d" ] && fail "$1: directory $_d survived"
	done <"$TMP/$1.dirs"
	[ -z "$(ls -A "$TMP/rt")" ] ||
	    fail "$1: left in TMPDIR: $(ls -A "$TMP/rt")"
	return 0
}

dteq_exe=$(readlink -f "$DTEQ")

log "dteq run --agents 3 examples/monorepo.json"
ntasks=$(grep -c '"id":' "$TOP/examples/monorepo.json")
bg demo env TMPDIR="$TMP/rt" "$DTEQ" run --agents 3 \
    "$TOP/examples/monorepo.json"
watch demo
bg_wait demo 60
assert_eq "$(bg_rc demo)" 0 "dteq run exit status"
cat "$TMP/demo.procs" "$TMP/demo.dirs"
grep -q ' redis-server$' "$TMP/demo.procs" ||
    fail "no redis-server seen below dteq run"
[ "$(grep -c ' dteq$' "$TMP/demo.procs")" -ge 3 ] ||
    fail "fewer than 3 dteq processes (workers) seen below dteq run"
[ -s "$TMP/demo.dirs" ] ||
    fail "dteq run's temp dir not found"
assert_grep "^$ntasks tasks: $ntasks succeeded" "$TMP/demo.out" \
    "dteq run prints the summary"
assert_eq "$(count_lines "$TMP/demo.out" "> web-e2e:e2e-ci (")" 1 \
    "block headers of web-e2e:e2e-ci"
left_behind demo

log "dteq run interrupted with SIGINT"
tf="$TMP/interrupt.json"
add_task "$tf" long "touch $TMP/long.started; sleep 25 & echo \$! >$TMP/long.sleep; wait"
add_task "$tf" later "touch $TMP/ran.later" long
taskfile "$tf"
# A background command of a script starts with SIGINT ignored; a Ctrl-C in
# a terminal reaches a process that has the default disposition.
bg intr env --default-signal=INT TMPDIR="$TMP/rt" "$DTEQ" run --agents 2 "$tf"
watch intr "$TMP/long.sleep"
bg_done intr && fail "dteq run ended before the interrupt"
track_pid "$(cat "$TMP/long.sleep")"
echo "$(cat "$TMP/long.sleep") sleep" >>"$TMP/intr.procs"
kill -INT "$(bg_pid intr)"
bg_wait intr 20
rc=$(bg_rc intr)
log "the interrupted dteq run exited $rc"
[ "$rc" -ne 0 ] || fail "an interrupted dteq run exited 0"
assert_no_file "$TMP/ran.later" "a task ran after the interrupt"
cat "$TMP/intr.procs" "$TMP/intr.dirs"
[ -s "$TMP/intr.dirs" ] ||
    fail "interrupted dteq run's temp dir not found"
left_behind intr

log "dteq run whose agents are all killed"
tf="$TMP/orphan.json"
add_task "$tf" long2 "echo \$\$ >$TMP/long2.started; sleep 25"
add_task "$tf" after2 "touch $TMP/ran.after2" long2
taskfile "$tf"
bg orphan env TMPDIR="$TMP/rt" "$DTEQ" run --agents 2 "$tf"
watch orphan "$TMP/long2.started"
bg_done orphan && fail "dteq run ended before its agents were killed"
for p in $(descendants "$(bg_pid orphan)"); do
	case "$(ps -o args= -p "$p" 2>/dev/null)" in
	*" work "*) kill -KILL "$p" ;;
	esac
done
t0=$(now_ms)
bg_wait orphan 20
log "dteq run exited $(bg_rc orphan) $(($(now_ms) - t0)) ms after its agents died"
assert_eq "$(bg_rc orphan)" 3 "exit status of a dteq run without agents"
assert_grep 'agent-1 was killed by signal 9' "$TMP/orphan.err" \
    "dteq run names the dead agent"
assert_grep 'no agent left' "$TMP/orphan.err" "dteq run says why it stops"
assert_no_file "$TMP/ran.after2" "a dependent ran without agents"
left_behind orphan

log "the local agents share the checkout: DTEQ_TOOL_DEPS=exclude by default"
tf="$TMP/deps.json"
add_task "$tf" show "echo \"tool deps: [\$DTEQ_TOOL_DEPS]\""
taskfile "$tf"
env -u DTEQ_TOOL_DEPS "$DTEQ" run --agents 1 "$tf" >"$TMP/deps.out" 2>&1 ||
    fail "dteq run of one echo failed"
assert_grep '^tool deps: \[exclude\]$' "$TMP/deps.out" \
    "DTEQ_TOOL_DEPS of a dteq run's agents, unset by the user"
DTEQ_TOOL_DEPS=restore "$DTEQ" run --agents 1 "$tf" >"$TMP/deps2.out" 2>&1 ||
    fail "dteq run of one echo with DTEQ_TOOL_DEPS=restore failed"
assert_grep '^tool deps: \[restore\]$' "$TMP/deps2.out" \
    "DTEQ_TOOL_DEPS=restore, the user's choice, kept"
exit 0
