# Separate copies of the workspace for 3 agents (as on CI machines), made to
# work through the remote cache: with DTEQ_TOOL_DEPS=restore each Nx task
# carries a restore (`dteq nx-task --quiet ID`), and before a task its agent
# runs it for the dependencies its copy lacks, in dependency order, so the
# agent's Nx runner restores their outputs from the cache each agent serves
# in the run's Redis (dteq work), where the agents that built them stored
# them; then `dteq nx-task ID`. Every task succeeds, each app's build reads
# its libraries' dist/, the restores are remote cache hits, and no agent
# restores a project's outputs twice or one it built. Agent a1 runs two
# tasks at a time: its restores go one at a time and never rewrite what a
# running task reads.
# Only the build target (13 tasks): the builds are what depend on each
# other's outputs; the other targets only add Nx start-ups.
# timeout: 420

. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/nx/lib.sh"

copies_cache_run nx 390 "run-many -t build" 13
assert_grep '^> nx run @ws/web:build$' "$out" "Nx's banner of web's build"
[ -n "$(cat "$TMP/a1.restored" "$TMP/a2.restored" "$TMP/a3.restored")" ] ||
    fail "no agent restored anything"
# The replay: the main job's copy now holds every task's outputs, restored
# from the cache, and its terminal Nx's log of every task.
for d in $(cd "$TMP/a1" && find libs apps -maxdepth 2 -name dist -type d |
    sort); do
	[ -d "$TMP/main/$d" ] || fail "the main job's copy lacks $d"
done
[ -f "$TMP/main/apps/web/dist/index.js" ] ||
    fail "the main job's copy lacks web's build"
replay_counts "build:13"
assert_grep '^> nx run @ws/web:build  \[remote cache\]$' "$TMP/replay.out" \
    "the replay's log names each task it read from the cache"
# The app's build ran on some agent, with every library's dist there.
n=0
for a in a1 a2 a3; do
	if [ -f "$TMP/$a/apps/web/dist/index.js" ]; then
		assert_grep '^// from @ws/charts: // @ws/charts built' \
		    "$TMP/$a/apps/web/dist/index.js" "web's build on $a read charts"
		n=$((n + 1))
	fi
	log "agent $a ran $(rcli hvals "dteq:{$RUN}:results" |
	    grep -c "\"agent\":\"$a\"") tasks"
done
[ "$n" -ge 1 ] || fail "no copy holds web's build"

# A second run of the same command, on fresh agents, every task sent to
# them (--no-cache-skip; t_nx_warm has the main job restore them first):
# every task and every restore is a cache hit as Nx reports it (a task's
# banner, or a restore's line, says which cache), none runs its command.
RUN="$RUN-again"
for a in a1 a2 a3; do
	agent_in "$a" "$TMP/$a"
done
nx_submit again 390 --no-replay --no-cache-skip --nx "run-many -t build"
assert_eq "$SUBMIT_RC" 0 "second dteq submit exit status"
agents_exit_ok 30 a1 a2 a3
blocks=$(grep -cE '^> [^ ]+ \((a1|a2|a3), .*attempt [0-9]+\)$' "$TMP/again.out")
hits=$(grep -cE '^> nx run @ws/[a-z]+:build  \[(local cache|remote cache|existing outputs match the cache, left as is)\]$' "$TMP/again.out")
misses=$(grep -cE '^> nx run @ws/[a-z]+:build( *\[not in the cache.*)?$' "$TMP/again.out")
restores=$(grep -c '^dteq: restoring the outputs of' "$TMP/again.out")
log "second run: $blocks task blocks, $restores restores, $hits cache hits, $misses misses"
assert_eq "$blocks" 13 "task blocks in the second run"
assert_eq "$misses" 0 "tasks and restores of the second run that ran"
[ "$hits" -ge 13 ] || fail "second run: $hits cache hits, want 13 or more"
exit 0
