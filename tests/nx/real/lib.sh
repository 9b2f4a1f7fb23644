# dteq on workspaces the tools' own generators make (tests/nx/real/gen.sh):
# the scenario every t_real_*.sh runs, sourced after
# tests/integration/lib.sh and tests/nx/lib.sh.
#
#   real_scenario nx|turbo KIND
#	the whole test on the workspace gen.sh makes for KIND:
#	1. `dteq submit --nx "run-many -t build,test,lint,typecheck"` (or
#	   --turbo "run build test lint check-types") from the main job's
#	   copy, with two agents each on a copy of its own (the default
#	   DTEQ_TOOL_DEPS=restore): every task succeeds, the main job gets
#	   every task from the remote cache (the replay's lines per target,
#	   which count the tool's own lines: "[remote cache]" after Nx's
#	   "nx run ID", Turborepo's "cache hit"), and every declared output
#	   an agent wrote is in the main copy (outputs.js), every project's
#	   dist/ with them;
#	2. the same command again, a new run id, on fresh copies (a new
#	   pipeline: no local cache anywhere): every task is a cache hit
#	   that no agent runs (Nx: restored in the main job before the run;
#	   Turborepo: the dry run's hashes found in Redis), and the new main
#	   copy has every output the first run's agents wrote;
#	3. on the copies of the first run, the second library of the chain
#	   made not to parse and the first one's test made to fail: submit
#	   exits 1, the broken library's dependents are skipped and never
#	   run, everything else succeeds (failure.js reads --json), and the
#	   main job gets every task that succeeded from the cache.
#	A replay that misses the cache is recorded and the test goes on; it
#	fails at the end (real_end) with every such miss, so that one test
#	run shows all that works and all that does not.
#
# Every checkout (the main job's copy, each agent's) has its own tool
# caches, under itself: NX_CACHE_DIRECTORY, NX_WORKSPACE_DATA_DIRECTORY,
# TURBO_CACHE_DIR (real_env). A cache shared by checkouts on one machine
# would hand an agent, or the replay, what another checkout built, and hide
# the remote path that CI machines take. Copies are whole (cp -a): the
# generated node_modules hold files that the tools write into
# (node_modules/.vite, .cache), which a shared one would share.

# The tools as on CI (Nx's sync check, no prompts); tests/nx/lib.sh has
# set the rest (no Nx daemon, no Nx Cloud, no TUI, no telemetry).
CI=true
export CI

# fail_later MSG: a failure the test reports at its end (real_end).
fail_later() {
	log "FAILS: $*"
	echo "$*" >>"$TMP/fail_later.out"
}

# phase MSG: MSG in the log, with the seconds since the test started.
phase() {
	log "$* (at $(($(date +%s) - REAL_T0)) s)"
}

# real_end: the test fails with every fail_later, or passes.
real_end() {
	phase "end"
	if [ -s "$TMP/fail_later.out" ]; then
		fail "$(awk 'NR > 1 { printf "; " } { printf "%s", $0 }' \
		    "$TMP/fail_later.out")"
	fi
	exit 0
}

# real_workspace KIND: the generated workspace (gen.sh, once per machine)
# in RW; the test skips (exit 77) only when the registry is unreachable
# and nothing is cached.
real_workspace() {
	_rw_t0=$(date +%s)
	RW=$("$TOP/tests/nx/real/gen.sh" "$1")
	_rw_rc=$?
	if [ $_rw_rc -eq 77 ]; then
		log "skipped: the npm registry is unreachable and no $1 workspace is cached"
		exit 77
	fi
	[ $_rw_rc -eq 0 ] || fail "tests/nx/real/gen.sh $1 failed (exit $_rw_rc)"
	log "workspace $1: $RW ($(($(date +%s) - _rw_t0)) s)"
}

# real_copies NAME...: a copy of the generated workspace in $TMP/NAME each.
real_copies() {
	for _rc_n in "$@"; do
		cp -a "$RW" "$TMP/$_rc_n" || fail "copy of the workspace for $_rc_n"
	done
}

# real_env DIR: the tools' caches of the checkout DIR, under it, for what
# starts afterwards.
real_env() {
	NX_CACHE_DIRECTORY=$1/.nx/cache
	NX_WORKSPACE_DATA_DIRECTORY=$1/.nx/workspace-data
	TURBO_CACHE_DIR=$1/.turbo/cache
	export NX_CACHE_DIRECTORY NX_WORKSPACE_DATA_DIRECTORY TURBO_CACHE_DIR
}

# real_agents NAME...: agent NAME in its copy $TMP/NAME, with its caches.
real_agents() {
	for _ra_n in "$@"; do
		real_env "$TMP/$_ra_n"
		agent_in "$_ra_n" "$TMP/$_ra_n"
	done
}

# real_graph MAIN: the tool's task graph of the run, from the copy MAIN,
# in $TMP/graph.json; sets NTASKS, the tasks dteq runs of it.
real_graph() {
	real_env "$1"
	cd "$1" || fail "cd $1"
	case $TOOL in
	nx)
		# shellcheck disable=SC2086
		node_modules/.bin/nx $ARGS --graph="$TMP/graph.json" \
		    >"$TMP/graph.out" 2>&1 ||
		    fail "nx $ARGS --graph: $(tail -n 5 "$TMP/graph.out")"
		NTASKS=$(node -e 'const g = require(process.argv[1]);
console.log(Object.keys(g.tasks.tasks).length)' "$TMP/graph.json")
		;;
	turbo)
		# shellcheck disable=SC2086
		node_modules/.bin/turbo $ARGS --dry=json >"$TMP/graph.json" \
		    2>"$TMP/graph.out" ||
		    fail "turbo $ARGS --dry=json: $(tail -n 5 "$TMP/graph.out")"
		NTASKS=$(node -e 'const g = require(process.argv[1]);
console.log(g.tasks.filter((t) => t.command !== "<NONEXISTENT>").length)' \
		    "$TMP/graph.json")
		;;
	esac
	log "$TOOL $ARGS: $NTASKS tasks"
}

# real_submit NAME MAIN RC AGENT...: `dteq submit --TOOL ARGS --json
# $TMP/NAME.json` from the copy MAIN (its caches), bounded by
# $REAL_SUBMIT_SECS; it exits RC, every AGENT exits 0 within 60 s. Sets
# out ($TMP/NAME.out); logs the time.
real_submit() {
	_rs_name=$1
	_rs_main=$2
	_rs_rc=$3
	shift 3
	real_env "$_rs_main"
	cd "$_rs_main" || fail "cd $_rs_main"
	_rs_t0=$(now_ms)
	nx_submit "$_rs_name" "$REAL_SUBMIT_SECS" --json "$TMP/$_rs_name.json" \
	    "--$TOOL" "$ARGS"
	log "$_rs_name: submit took $(($(now_ms) - _rs_t0)) ms, exit $SUBMIT_RC"
	out="$TMP/$_rs_name.out"
	if [ "$SUBMIT_RC" != "$_rs_rc" ]; then
		sed -n '/^Summary of run/,/^[0-9]* tasks:/p' "$out" |
		    grep -v '^  success '
		fail "$_rs_name: dteq submit exit status: got $SUBMIT_RC, want $_rs_rc"
	fi
	agents_exit_ok 60 "$@"
}

# real_blocks FILE: the part of submit's output before its summary (the
# tasks' blocks and the replay's lines), in FILE.blocks; the replay's
# part, in FILE.replay.
real_parts() {
	sed '/^Summary of run/,$d' "$1" >"$1.blocks"
	sed -n '/^Replaying /,/^Summary of run/p' "$1" >"$1.replay"
}

# main_hits FILE: "hits/total" of the tasks submit's output FILE says came
# from the cache in the main job: restored before the run ("Restored here
# from the remote cache before the run: H of N tasks") plus the replay's
# lines per target ("  TARGET: H of N from the cache"), and the ids the
# replay ran here in $TMP/ran.
main_hits() {
	sed -n 's/^  [^ ]*: [0-9]* of [0-9]* from the cache; ran here: //p' \
	    "$1" | tr '\n' ' ' >"$TMP/ran"
	awk '/^Restored here from the remote cache before the run: / {
		h += $10; n += $10 }
	    /^  [^ ]+: [0-9]+ of [0-9]+ from the cache/ {
		h += $2; n += $4 }
	    END { printf "%d/%d", h, n }' "$1"
}

# replay_all_hits NAME N: the main job got all N tasks of run NAME from the
# remote cache, before the run or in the replay, by the replay's lines
# (which read the tool's own), and nothing ran again (fail_later if not).
replay_all_hits() {
	real_parts "$TMP/$1.out"
	_rh=$(main_hits "$TMP/$1.out")
	log "$1: tasks the main job got from the cache: $_rh"
	if [ "$_rh" != "$2/$2" ]; then
		fail_later "$1: the main job got $_rh tasks from the cache, want $2/$2 (ran again: $(cat "$TMP/ran"))"
	fi
}

# outputs_in MAIN NAME AGENT...: every declared output of run NAME that
# the agent which ran it wrote is in MAIN (outputs.js), and so is every
# project's dist/.
outputs_in() {
	_oi_main=$1
	_oi_name=$2
	shift 2
	_oi_args=""
	for _oi_a in "$@"; do
		_oi_args="$_oi_args $_oi_a=$TMP/$_oi_a"
	done
	# shellcheck disable=SC2086
	node "$TOP/tests/nx/real/outputs.js" "$TOOL" "$TMP/graph.json" \
	    "$TMP/$_oi_name.json" "$_oi_main" $_oi_args >"$TMP/outputs.check" ||
	    fail "$_oi_name: $(cat "$TMP/outputs.check")"
	log "$_oi_name: $(head -n 1 "$TMP/outputs.check")"
	for _oi_d in $PROJECT_DIRS; do
		[ -d "$_oi_main/$_oi_d/dist" ] ||
		    fail "$_oi_name: the main copy lacks $_oi_d/dist"
	done
}

real_scenario() {
	REAL_T0=$(date +%s)
	# dteq's code that these tests run (submit --nx and --turbo, the
	# restores, the caches, the replay) runs under the sanitizers in
	# t_nx_copies_cache, t_turbo_copies_cache and the failure tests;
	# what is new here is the workspaces, minutes of Nx and Turborepo
	# work each, so the sanitizer build leaves them out (DTEQ_NX_ALL=1
	# runs them there too).
	nx_not_under_sanitizers
	TOOL=$1
	case $TOOL in
	nx) ARGS="run-many -t build,test,lint,typecheck" SEP=: ;;
	turbo) ARGS="run build test lint check-types" SEP="#" ;;
	*) fail "real_scenario: no tool $TOOL" ;;
	esac
	: "${REAL_SUBMIT_SECS:=600}"
	real_workspace "$2"
	start_redis
	# The projects, from what gen.sh did: the libraries of the chain,
	# first to last, and the app.
	node "$TOP/tests/nx/real/chain.js" show "$RW" >"$TMP/projects" ||
	    fail "chain.js show"
	PROJECT_DIRS=$(awk '{ print $2 }' "$TMP/projects" | tr '\n' ' ')
	FIRST=$(awk '$1 == "lib" { print $3; exit }' "$TMP/projects")
	FIRST_DIR=$(awk '$1 == "lib" { print $2; exit }' "$TMP/projects")
	SECOND=$(awk '$1 == "lib" && ++n == 2 { print $3 }' "$TMP/projects")
	SECOND_DIR=$(awk '$1 == "lib" && ++n == 2 { print $2 }' "$TMP/projects")

	phase "1. the first run: two agents on copies of their own"
	real_copies main a1 a2
	real_graph "$TMP/main"
	real_agents a1 a2
	real_submit run1 "$TMP/main" 0 a1 a2
	assert_grep "^$NTASKS tasks: $NTASKS succeeded, 0 failed, 0 skipped" \
	    "$out" "run1: summary line"
	replay_all_hits run1 "$NTASKS"
	outputs_in "$TMP/main" run1 a1 a2

	phase "2. again, on fresh copies (a new pipeline): all cache hits"
	# Every task's outputs are in the run's Redis: none goes to an
	# agent (Nx: restored in the main job first; Turborepo: the dry
	# run's hashes found), and the main job gets every output.
	RUN1=$RUN
	RUN="$RUN1-again"
	real_copies main2 b1 b2
	real_agents b1 b2
	real_submit again "$TMP/main2" 0 b1 b2
	assert_grep "^$NTASKS tasks: $NTASKS succeeded \\($NTASKS cached\\), 0 failed, 0 skipped" \
	    "$out" "again: summary line"
	real_parts "$out"
	assert_eq "$(grep -cE '^> [^ ]+ \((b1|b2), .*attempt [0-9]+\)$' \
	    "$out.blocks")" 0 "again: tasks sent to the agents"
	for _a in b1 b2; do
		assert_grep 'leaving \(0 tasks run\)' "$TMP/agent.$_a.err" \
		    "again: agent $_a ran nothing"
	done
	replay_all_hits again "$NTASKS"
	outputs_in "$TMP/main2" run1 a1 a2
	cd "$TMP" || fail "cd $TMP"
	rm -rf "$TMP/main2" "$TMP/b1" "$TMP/b2"

	phase "3. $SECOND does not compile and $FIRST's test fails"
	RUN="$RUN1-broken"
	for _d in main a1 a2; do
		node "$TOP/tests/nx/real/chain.js" break "$TMP/$_d" \
		    "$SECOND_DIR" || fail "chain.js break in $_d"
		node "$TOP/tests/nx/real/chain.js" fail-test "$TMP/$_d" \
		    "$FIRST_DIR" || fail "chain.js fail-test in $_d"
	done
	real_agents a1 a2
	real_submit broken "$TMP/main" 1 a1 a2
	node "$TOP/tests/nx/real/failure.js" "$TOOL" "$TMP/broken.json" \
	    "$SECOND" "$FIRST" >"$TMP/failure.check" ||
	    fail "broken: $(cat "$TMP/failure.check")"
	log "broken: $(head -n 1 "$TMP/failure.check")"
	assert_grep "^< $SECOND$SEP""build: failed \\(exit 1\\)" "$out" \
	    "broken: the footer of $SECOND's build"
	assert_grep "^- [^ ]+: skipped \\(dependency $SECOND$SEP""build failed\\)" \
	    "$out" "broken: a dependent of $SECOND's build skipped"
	assert_grep "^< $FIRST$SEP""test: failed \\(exit 1\\)" "$out" \
	    "broken: the footer of $FIRST's test"
	# The tasks that succeeded, each read from the cache in the main job.
	real_parts "$out"
	_rp=$(main_hits "$out")
	log "broken: tasks the main job got from the cache: $_rp"
	[ "${_rp%/*}" != 0 ] ||
	    fail_later "broken: the main job got nothing from the cache"
	[ "${_rp%/*}" = "${_rp#*/}" ] ||
	    fail_later "broken: the main job got $_rp tasks from the cache (ran again: $(cat "$TMP/ran"))"
	real_end
}
