# `dteq submit --graph FILE`: graphs the pinned Nx (24.0.6, edge objects)
# and Turborepo (2.11.11) wrote are detected and read directly; the agents
# run each task with the tool (here DTEQ_NX_COMMAND / DTEQ_TURBO_COMMAND
# name a stand-in that logs what it was asked), in dependency order. An
# empty graph (nx affected with nothing affected) succeeds at once.
# timeout: 120

. "$TOP/tests/integration/lib.sh"
# Agents here share one checkout: the commands keep the tools' flags.
tool_deps exclude

start_redis
fx="$TOP/tests/fixtures"

# The stand-in tool: logs "start ARGS" and "end ARGS" around a short nap.
cat >"$TMP/tool" <<EOT
#!/bin/sh
echo "start \$*" >>"$TMP/tool.log"
echo "tool ran: \$*"
sleep 0.05
echo "end \$*" >>"$TMP/tool.log"
EOT
chmod +x "$TMP/tool"

# before A B: the line "end A" comes before the line "start B".
before() {
	_e=$(grep -n -F -x "end $1" "$TMP/tool.log" | head -1 | cut -d: -f1)
	_s=$(grep -n -F -x "start $2" "$TMP/tool.log" | head -1 | cut -d: -f1)
	[ -n "$_e" ] && [ -n "$_s" ] && [ "$_e" -lt "$_s" ] ||
	    fail "'$1' did not end before '$2' started"
}

log "Nx 24.0.6 graph"
start_agent a1 --parallel 4
start_agent a2 --parallel 4
DTEQ_NX_COMMAND="$TMP/tool nx" submit nx \
    --graph "$fx/nx-24.0.6-run-many-build-test.json"
assert_eq "$SUBMIT_RC" 0 "submit --graph (Nx) exit status"
agents_exit_ok 15 a1 a2
assert_grep '^40 tasks: 40 succeeded' "$TMP/nx.out" "summary (Nx)"
assert_eq "$(grep -c '^start nx run @ws/p[0-9]*:\(build\|test\) --excludeTaskDependencies$' "$TMP/tool.log")" 40 \
    "tasks run as 'nx run ID --excludeTaskDependencies'"
assert_grep '^tool ran: nx run @ws/p09:build --excludeTaskDependencies$' \
    "$TMP/nx.out" "the tool's output in the task block"
for p in 01 05 09 13 20; do
	before "nx run @ws/p$p:build --excludeTaskDependencies" \
	    "nx run @ws/p$p:test --excludeTaskDependencies"
done
before "nx run @ws/p01:build --excludeTaskDependencies" \
    "nx run @ws/p09:build --excludeTaskDependencies"
before "nx run @ws/p02:build --excludeTaskDependencies" \
    "nx run @ws/p09:build --excludeTaskDependencies"

log "Turborepo 2.11.11 dry run"
rm -f "$TMP/tool.log"
RUN="$RUN-turbo"
start_agent t1 --parallel 2
DTEQ_TURBO_COMMAND="$TMP/tool turbo" submit turbo \
    --graph "$fx/turbo-2.11.11-dry-build-test.json"
assert_eq "$SUBMIT_RC" 0 "submit --graph (Turborepo) exit status"
agents_exit_ok 15 t1
assert_grep '^8 tasks: 8 succeeded' "$TMP/turbo.out" "summary (Turborepo)"
assert_grep '^start turbo run build --filter=@t/d --only$' "$TMP/tool.log" \
    "tasks run as 'turbo run TASK --filter=PKG --only'"
before "turbo run build --filter=@t/a --only" "turbo run build --filter=@t/b --only"
before "turbo run build --filter=@t/b --only" "turbo run build --filter=@t/d --only"
before "turbo run build --filter=@t/c --only" "turbo run build --filter=@t/d --only"
before "turbo run build --filter=@t/d --only" "turbo run test --filter=@t/d --only"
assert_eq "$(result_field "$RUN" '@t/d#test' status)" success \
    "status of @t/d#test"

log "an empty graph"
RUN="$RUN-empty"
printf '{"graph": {"nodes": {}, "dependencies": {}}, "tasks": {"roots": [], "tasks": {}, "dependencies": {}, "continuousDependencies": {}}}\n' \
    >"$TMP/empty.json"
start_agent e1
submit empty --graph "$TMP/empty.json"
assert_eq "$SUBMIT_RC" 0 "submit of an empty graph"
agents_exit_ok 15 e1

log "a dteq task file through --graph"
RUN="$RUN-own"
tf="$TMP/own.json"
add_task "$tf" one "echo one"
taskfile "$tf"
start_agent o1
submit own --graph "$tf"
assert_eq "$SUBMIT_RC" 0 "submit --graph of a task file"
agents_exit_ok 15 o1
assert_eq "$(result_field "$RUN" one status)" success "status of one"
exit 0
