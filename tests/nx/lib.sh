# dteq Nx and Turborepo tests: shell functions the t_nx_*.sh and t_turbo_*.sh
# scripts source after tests/integration/lib.sh.
#
#   nx_setup             installs (once, cached) the pinned Nx and Turborepo
#                        (tests/nx/setup.sh); sets TOOLS; fails the test if
#                        npm cannot install them
#   nx_workspace DIR [--fail-test PROJECT]
#                        generates the 13-project workspace into DIR
#   nx_agent NAME DIR [work options...]
#                        `dteq work` of $RUN running in DIR
#   three_copies [a1 options...]
#                        the workspace in $TMP/main and one copy per agent
#                        a1, a2, a3; a redis-server; the three agents
#   agents_restored_once PHRASE AGENT...
#                        no agent restored an output twice, or one it built
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

nx_agent() {
	_an=$1
	_dir=$2
	shift 2
	_here=$(pwd)
	cd "$_dir" || fail "cd $_dir"
	start_agent "$_an" "$@"
	cd "$_here" || fail "cd $_here"
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
	nx_agent a1 "$TMP/a1" "$@"
	nx_agent a2 "$TMP/a2"
	nx_agent a3 "$TMP/a3"
	cd "$TMP/main" || fail "cd $TMP/main"
}

# nx_submit OUTNAME SECS [submit options...]: like lib.sh's submit, with a
# longer bound (each Nx task costs seconds); sets SUBMIT_RC.
nx_submit() {
	_out=$1
	_secs=$2
	shift 2
	timeout --foreground -k 5 "$_secs" "$DTEQ" submit --redis "$REDIS_URL" \
	    --run "$RUN" "$@" >"$TMP/$_out.out" 2>"$TMP/$_out.err"
	SUBMIT_RC=$?
	[ $SUBMIT_RC -eq 124 ] &&
	    fail "dteq submit did not end within $_secs s"
	return 0
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
