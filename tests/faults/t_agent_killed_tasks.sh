# Fault: an agent is SIGKILLed while its task runs, and the task's
# processes must not run on unseen: a shell that started a child in the
# background and waits for it (as npm starts node). Before the agent had
# a reaper, both ran to their end. Now, within the grace of a kill, the
# task's whole process group is gone, and the run goes on: the task runs
# again on the other agent (attempt 2) and the run succeeds. An agent that
# ends as usual leaves no reaper behind.
# timeout: 90

. "$TOP/tests/faults/faultlib.sh"

start_redis

tf="$TMP/slow.json"
# Attempt 1 starts a background sleep that would outlive its shell, and
# notes both pids; attempt 2 just succeeds.
add_task "$tf" slow "if [ \"\$DTEQ_ATTEMPT\" = 1 ]; then sleep 300 & \
echo \"\$\$ \$!\" >$TMP/pids; wait; fi; echo slow done on \$DTEQ_AGENT"
taskfile "$tf"

start_agent a1
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 2 "$tf"
wait_for "[ -s '$TMP/pids' ]" 30 || fail "the task never started"
read -r shell child <"$TMP/pids"
track_pid "$shell"
track_pid "$child"
pid_alive "$child" || fail "the task's background child is not running"
reaper=$(pgrep -P "$(bg_pid agent.a1)" -x dteq | head -1)
[ -n "$reaper" ] || fail "agent a1 has no reaper process"

log "SIGKILL agent a1 (runs slow: shell $shell, its child $child)"
kill -KILL "$(bg_pid agent.a1)"
bg_wait agent.a1 5
wait_for "! kill -0 $child 2>/dev/null && ! kill -0 $shell 2>/dev/null" 10 ||
    fail "the task's processes outlived their killed agent"
wait_for "! kill -0 $reaper 2>/dev/null" 10 ||
    fail "the reaper stayed once its work was done"

start_agent a2
bg_wait submit 60
assert_eq "$(bg_rc submit)" 0 "dteq submit exit status"
agents_exit_ok 15 a2
assert_grep 'slow done on a2' "$TMP/submit.out" "the task ran again on a2"
# a2 ended as usual: its reaper went with it.
assert_eq "$(pgrep -f "dteq work --redis $REDIS_URL --run $RUN --name a2" |
    wc -l)" 0 "processes of agent a2 after its exit"
exit 0
