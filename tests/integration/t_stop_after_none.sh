# --stop-agents-after T when the graph has no task of target T. A tool
# asked for T that found none to run (`turbo run build test e2e` whose
# dry run holds no e2e task, as an `nx affected` touching no e2e project)
# releases the agents at the end of the run, with a note: they exit 0
# at once (they used to idle --agent-wait, 600 s, then exit 3). A submit
# whose graph was not asked for T (a task file, a tool run for other
# targets: the first submit of a pipeline that submits several times)
# keeps them for the later submit, and says so.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis
# Agents share this checkout: no restores, no hashes.
tool_deps exclude

# A Turborepo stand-in: the dry run is a recorded one (builds and tests
# of four packages); a task's run prints its words.
cat >"$TMP/turbo" <<EOS
#!/bin/sh
for a in "\$@"; do
	[ "\$a" = --dry=json ] && exec cat "$TOP/tests/fixtures/turbo-2.11.11-dry-build-test.json"
done
echo "turbo \$*"
EOS
chmod +x "$TMP/turbo"
DTEQ_TURBO_COMMAND=$TMP/turbo
export DTEQ_TURBO_COMMAND

log "asked for e2e, none in the graph: released at the end"
start_agent a1
start_agent a2
SUBMIT_SECS=60 submit none --stop-agents-after e2e --no-replay \
    --turbo "run build test e2e"
assert_eq "$SUBMIT_RC" 0 "exit status of the submit"
assert_grep '^8 tasks: 8 succeeded' "$TMP/none.out" "the submit's summary"
assert_grep 'no task of target e2e in this run.s graph \(the tool found none to run\): the agents are released at its end' \
    "$TMP/none.err" "the note"
agents_exit_ok 10 a1 a2
assert_eq "$(rcli get "dteq:{$RUN}:stop")" done "the stop sentinel"

log "a task file without e2e: the agents are kept for a later submit"
RUN="$RUN-file"
add_task "$TMP/lint.json" a:lint "echo lint"
taskfile "$TMP/lint.json"
start_agent b1
submit lint --stop-agents-after e2e "$TMP/lint.json"
assert_eq "$SUBMIT_RC" 0 "exit status of the task file's submit"
assert_grep 'no task of the targets e2e in this submit.s graph: the agents are kept for a later submit' \
    "$TMP/lint.err" "the note of a kept hand-over"
sleep 1
bg_done agent.b1 && fail "agent b1 left although it was kept"
assert_eq "$(rcli exists "dteq:{$RUN}:stop")" 0 "a stop sentinel"
run_cli stop stop --redis "$REDIS_URL" --run "$RUN"
assert_eq "$RC" 0 "dteq stop of the kept agents"
agents_exit_ok 10 b1
exit 0
