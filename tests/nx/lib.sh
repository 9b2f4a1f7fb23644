# dteq Nx and Turborepo tests: shell functions the t_nx_*.sh and t_turbo_*.sh
# scripts source after tests/integration/lib.sh.
#
#   nx_setup             installs (once, cached) the pinned Nx and Turborepo
#                        (tests/nx/setup.sh); sets TOOLS; fails the test if
#                        npm cannot install them
#   nx_workspace DIR [--fail-test PROJECT]
#                        generates the 13-project workspace into DIR
#   tool_workspace [--fail-test PROJECT]
#                        nx_setup, the workspace in $WS, a redis-server
#   three_copies [a1 options...]
#                        the workspace in $TMP/main and one copy per agent
#                        a1, a2, a3; a redis-server; the three agents
#   nx_submit OUTNAME SECS [submit options...]
#                        lib.sh's submit with a bound of SECS
#   agents_restored_once PHRASE AGENT...
#                        no agent restored an output twice, or one it built
#   WS_PROJECTS, WS_DIRS the workspace's 13 projects, and their directories
#
# The scenarios the Nx and Turborepo tests share, each taking the tool (nx
# or turbo) and its arguments; each test script calls one and adds the
# checks of its tool's own output:
#   shared_checkout_run TOOL SECS ARGS
#                        lint, test and build with 3 agents on one checkout
#   copies_cache_run TOOL SECS ARGS TASKS
#                        3 agents on copies of their own, outputs through
#                        the remote cache
#   failing_test_run TOOL SECS ARGS
#                        @ws/api's test fails; then replay_of,
#                        replay_counts and main_has_dist check the replay
# with tool_submit, the submit and agents' exit that each of them runs.
#
# It sets what keeps the tools quiet and local: no Nx Cloud, no Nx daemon
# (as on CI), no terminal UI, no Turborepo telemetry.

NX_DAEMON=false
NX_NO_CLOUD=true
NX_TUI=false
NX_SKIP_NX_CACHE=
TURBO_TELEMETRY_DISABLED=1
DO_NOT_TRACK=1
export NX_DAEMON NX_NO_CLOUD NX_TUI TURBO_TELEMETRY_DISABLED DO_NOT_TRACK
unset NX_SKIP_NX_CACHE DTEQ_NX_COMMAND DTEQ_TURBO_COMMAND DTEQ_TOOL_DEPS

nx_setup() {
	_t0=$(date +%s)
	TOOLS=$("$TOP/tests/nx/setup.sh") || fail "tests/nx/setup.sh failed"
	log "pinned Nx and Turborepo in $TOOLS ($(($(date +%s) - _t0)) s)"
}

nx_workspace() {
	_ws=$1
	shift
	"$TOP/tests/nx/gen_workspace.sh" "$_ws" "$TOOLS" "$@" ||
	    fail "gen_workspace.sh $_ws failed"
}

WS_PROJECTS="util log core data ui api forms charts web admin mobile server docs"
# shellcheck disable=SC2034
WS_DIRS="libs/util libs/log libs/core libs/data libs/ui libs/api libs/forms
libs/charts apps/web apps/admin apps/mobile apps/server apps/docs"

# tool_workspace [--fail-test PROJECT]: the pinned tools (nx_setup), the
# generated workspace in WS ($TMP/ws), a redis-server.
tool_workspace() {
	nx_setup
	WS="$TMP/ws"
	nx_workspace "$WS" "$@"
	start_redis
}

# three_copies [a1 options...]: the generated workspace in $TMP/main (the
# main job's copy, the current directory afterwards) and one copy of it
# per agent, as on CI machines; a redis-server; agents a1, a2 and a3, each
# in its copy, a1 with the options given.
three_copies() {
	nx_workspace "$TMP/main"
	for _a in a1 a2 a3; do
		cp -a "$TMP/main" "$TMP/$_a" ||
		    fail "copy of the workspace for $_a"
	done
	start_redis
	agent_in a1 "$TMP/a1" "$@"
	agent_in a2 "$TMP/a2"
	agent_in a3 "$TMP/a3"
	cd "$TMP/main" || fail "cd $TMP/main"
}

# nx_submit OUTNAME SECS [submit options...]: like lib.sh's submit, with a
# longer bound (each Nx task costs seconds); sets SUBMIT_RC.
nx_submit() {
	_nx_out=$1
	_nx_secs=$2
	shift 2
	submit_within "$_nx_secs" "$_nx_out" "$@"
}

# nx_not_under_sanitizers: end the test (skipped: exit 77) when $DTEQ is the
# AddressSanitizer build, unless DTEQ_NX_ALL=1. For the slow variants
# (DTEQ_SLOW=1) whose C paths the other Nx tests already run under the
# sanitizers: each costs a minute or two of Nx start-ups and nothing more
# of dteq's code.
nx_not_under_sanitizers() {
	case "$DTEQ" in
	*build-asan*)
		if [ "${DTEQ_NX_ALL:-0}" != 1 ]; then
			log "skipped on the sanitizer build (DTEQ_NX_ALL=1 runs it)"
			exit 77
		fi
		;;
	esac
}

# agents_restored_once PHRASE AGENT...: what each agent restored, read
# from its log lines "... PHRASE ID, ID" into $TMP/AGENT.restored (and
# what it ran into $TMP/AGENT.built): no output restored twice on an
# agent, none of a task it ran itself.
agents_restored_once() {
	_phrase=$1
	shift
	for _a in "$@"; do
		rcli hvals "dteq:{$RUN}:results" | grep "\"agent\":\"$_a\"" |
		    sed 's/.*"id":"\([^"]*\)".*/\1/' | sort >"$TMP/$_a.built"
		grep -h "^dteq work $_a: .*$_phrase" "$TMP/agent.$_a.err" |
		    sed "s/.*$_phrase //; s/, /\n/g" | sort >"$TMP/$_a.restored"
		log "agent $_a built $(wc -l <"$TMP/$_a.built"), restored $(wc -l <"$TMP/$_a.restored")"
		[ -z "$(uniq -d "$TMP/$_a.restored")" ] ||
		    fail "agent $_a restored some outputs twice: $(uniq -d "$TMP/$_a.restored")"
		[ -z "$(comm -12 "$TMP/$_a.built" "$TMP/$_a.restored")" ] ||
		    fail "agent $_a restored outputs it built: $(comm -12 "$TMP/$_a.built" "$TMP/$_a.restored")"
	done
}

# tool_submit TOOL SECS ARGS RC "AGENT...": `dteq submit --TOOL "ARGS"`
# (TOOL nx or turbo), bounded by SECS, its time in the log: it exits RC,
# and each AGENT exits 0 within 30 s. Sets out, its stdout.
tool_submit() {
	_ts_t0=$(now_ms)
	nx_submit submit "$2" "--$1" "$3"
	log "submit took $(($(now_ms) - _ts_t0)) ms"
	assert_eq "$SUBMIT_RC" "$4" "dteq submit exit status"
	# shellcheck disable=SC2086
	agents_exit_ok 30 $5
	out="$TMP/submit.out"
}

# shared_checkout_run TOOL SECS ARGS: `dteq submit --TOOL "ARGS"`, ARGS the
# tool's lint, test and build of every project, on the generated
# workspace with 3 agents that share this one copy of it
# (DTEQ_TOOL_DEPS=exclude: the commands keep the tools' flags). Submit
# gets the graph from the tool and exits 0 within SECS, the agents exit 0,
# all 39 tasks succeeded, each agent ran some, and web's build read
# charts' dist. Sets WS and out; the current directory is $WS.
shared_checkout_run() {
	tool_deps exclude
	tool_workspace
	cd "$WS" || fail "cd $WS"
	start_agents "a1 a2 a3"
	tool_submit "$1" "$2" "$3" 0 "a1 a2 a3"
	assert_grep '^39 tasks: 39 succeeded, 0 failed, 0 skipped' "$out" \
	    "summary line"
	case $1 in
	nx) _sc_graph=--graph= _sc_sep=: ;;
	turbo) _sc_graph=--dry=json _sc_sep="#" ;;
	*) fail "shared_checkout_run: no tool $1" ;;
	esac
	assert_grep "getting the task graph: node_modules/\\.bin/$1 $3 $_sc_graph" \
	    "$TMP/submit.err" "submit says how it got the graph"
	for _p in $WS_PROJECTS; do
		for _t in lint test build; do
			_id="@ws/$_p$_sc_sep$_t"
			assert_eq "$(result_field "$RUN" "$_id" status)" success \
			    "status of $_id"
		done
	done
	assert_grep '^// from @ws/charts: // @ws/charts built' \
	    "$WS/apps/web/dist/index.js" "web's build read charts' dist"
	# The work was spread: every agent ran tasks.
	for _a in a1 a2 a3; do
		_sc_n=$(rcli hvals "dteq:{$RUN}:results" |
		    grep -c "\"agent\":\"$_a\"")
		[ "$_sc_n" -gt 0 ] || fail "agent $_a ran no task"
		log "agent $_a ran $_sc_n tasks"
	done
}

# copies_cache_run TOOL SECS ARGS TASKS: `dteq submit --TOOL "ARGS"` (TASKS
# tasks) with 3 agents each in a copy of its own (three_copies; a1 runs
# two tasks at a time), made to work through the remote cache: with
# DTEQ_TOOL_DEPS=restore the tool restores each task's dependencies from
# the cache the agents serve. Submit exits 0 within SECS, the agents exit
# 0, every task succeeded, the tool read dependencies from the remote
# cache, each task's block says how its dependencies come, no agent
# restored an output twice or one it built, and the replay ran. Sets out;
# the current directory is $TMP/main.
copies_cache_run() {
	nx_setup
	three_copies --parallel 2
	tool_deps restore
	tool_submit "$1" "$2" "$3" 0 "a1 a2 a3"
	assert_grep "^$4 tasks: $4 succeeded, 0 failed, 0 skipped" "$out" \
	    "summary line"
	case $1 in
	nx)
		assert_grep '^dteq: restoring the outputs of @ws/[a-z]*:build.*: .*nx-task --quiet .*@ws/[a-z]*:build' \
		    "$out" "agents restored dependencies with dteq nx-task"
		assert_grep '^> nx run @ws/[a-z]*:build  \[remote cache\]$' \
		    "$out" "dependencies restored from the remote cache"
		# Which agent built and which restored what: each project's
		# outputs reach an agent once, either way.
		agents_restored_once "restoring the outputs of" a1 a2 a3
		;;
	turbo)
		assert_grep 'cache hit, replaying logs' "$out" \
		    "dependencies restored from the remote cache"
		assert_grep '^dteq: restoring the outputs of @ws/[a-z]*#build.*: the task.s own command does$' \
		    "$out" "a task's block says its command restores its dependencies"
		agents_restored_once "its command restores the outputs of" \
		    a1 a2 a3
		;;
	*) fail "copies_cache_run: no tool $1" ;;
	esac
	# The replay: every task read from the cache into the main job's copy.
	assert_grep '^Replaying the run here from the remote cache \(its output: dteq logs --run [^ ]* replay\):$' \
	    "$out" "the replay ran"
	replay_log
}

# replay_log: the replay's output, recorded in the run, in $TMP/replay.out.
replay_log() {
	"$DTEQ" logs --redis "$REDIS_URL" --run "$RUN" replay \
	    >"$TMP/replay.out" 2>"$TMP/replay.err" ||
	    fail "dteq logs replay: $(cat "$TMP/replay.err")"
}

# replay_counts "TARGET:N ...": the replay's lines, one per target, say
# each read its N tasks from the cache, all of them, and nothing more.
replay_counts() {
	sed -n 's/^  \([^ ]*\): \([0-9]*\) of \([0-9]*\) from the cache\(.*\)$/\1:\2:\3\4/p' \
	    "$out" | sort >"$TMP/replay.counts"
	_want=$(for _tc in $1; do
		echo "${_tc%%:*}:${_tc#*:}:${_tc#*:}"
	done | sort)
	assert_eq "$(cat "$TMP/replay.counts")" "$_want" \
	    "the replay's lines (target:hits:tasks)"
}

# failing_test_run TOOL SECS ARGS: `dteq submit --TOOL "ARGS"` on the
# generated workspace where @ws/api's test fails, from the main job's own
# copy of it, $main: Nx with agents a1, a2 and a3 each in a copy of its
# own (in restore mode Nx deletes and copies every dependency's outputs
# again before each task, and a task next to it on the same copy can
# find them gone), Turborepo with a1 and a2 sharing one ($WS). Submit
# exits 1 within SECS, the agents exit 0. Sets WS, main and out; the
# current directory is $main.
failing_test_run() {
	tool_workspace --fail-test api
	main="$TMP/main"
	cp -a "$WS" "$main" || fail "copy of the workspace for the main job"
	case $1 in
	nx)
		_ft_agents="a1 a2 a3"
		for _a in $_ft_agents; do
			cp -a "$WS" "$TMP/$_a" ||
			    fail "copy of the workspace for $_a"
		done
		for _a in $_ft_agents; do
			agent_in "$_a" "$TMP/$_a"
		done
		;;
	turbo)
		_ft_agents="a1 a2"
		for _a in $_ft_agents; do
			agent_in "$_a" "$WS"
		done
		;;
	*) fail "failing_test_run: no tool $1" ;;
	esac
	cd "$main" || fail "cd $main"
	tool_submit "$1" "$2" "$3" 1 "$_ft_agents"
}

# replay_of: after a failure, submit's output says it replays the tasks
# that succeeded from the remote cache; their output is in $TMP/replay.out.
replay_of() {
	assert_grep "^Replaying the tasks that succeeded here from the remote cache \\(its output: dteq logs --run [^ ]* replay\\):\$" \
	    "$out" "the replay's line"
	replay_log
}

# main_has_dist DIR...: the main job's copy ($main) holds each DIR's
# dist/index.js after the replay.
main_has_dist() {
	for _d in "$@"; do
		[ -f "$main/$_d/dist/index.js" ] ||
		    fail "the main job's copy lacks $_d/dist after the replay"
	done
}
