# How an agent starts and collects a task's process, in the orders a child
# can end in: the task gets /dev/null as stdin, its own process group, no
# blocked or ignored signal (the agent runs from a non-interactive shell's
# `&`, which ignores SIGINT and SIGQUIT, and ignores SIGPIPE itself); a
# task that closes its output and runs on is collected when it exits, with
# its status; a task whose background child keeps the pipe open is
# collected soon after its shell exits, and that child is killed; a task
# in a missing directory fails with 127 and says why.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

start_redis

tf="$TMP/procs.json"
add_task "$tf" env "readlink /proc/self/fd/0; \
grep -E '^(SigBlk|SigIgn):' /proc/self/status; \
echo \"pgid \$(ps -o pgid= -p \$\$ | tr -d ' ') pid \$\$\""
add_task "$tf" closes "echo before; exec >/dev/null 2>&1; sleep 1; exit 3"
add_task "$tf" holder "sleep 60 & echo \$! >$TMP/holder.pid; echo holder done"
add_task "$tf" nodir "echo never" "" '"cwd": "no/such/dir"'
add_task "$tf" mixed "echo out1; echo err1 >&2; echo out2"
taskfile "$tf"

start_agent a1 --parallel 4
submit submit "$tf"
assert_eq "$SUBMIT_RC" 1 "dteq submit exit status (closes and nodir fail)"
agents_exit_ok 15 a1
out="$TMP/submit.out"

assert_grep '^/dev/null$' "$out" "the task's stdin"
assert_grep '^SigBlk:[[:space:]]*0*$' "$out" "the task's blocked signals"
assert_grep '^SigIgn:[[:space:]]*0*$' "$out" "the task's ignored signals"
line=$(grep '^pgid ' "$out")
set -- $line
[ "$2" = "$4" ] || fail "the task is not its own process group leader: $line"

assert_eq "$(result_field "$RUN" closes status)" failed "status of closes"
assert_eq "$(result_field "$RUN" closes exit)" 3 "exit code of closes"
d=$(result_field "$RUN" closes duration)
[ "$d" -ge 900 ] || fail "closes was collected after $d ms, before it exited"
assert_grep '^before$' "$out" "output of closes before it closed it"

assert_eq "$(result_field "$RUN" holder status)" success "status of holder"
assert_grep '^holder done$' "$out" "output of holder"
[ "$SUBMIT_TOOK" -lt 30 ] ||
    fail "the run took $SUBMIT_TOOK s: holder waited for its child"
pidfile_gone "$TMP/holder.pid" "holder's background child"

assert_eq "$(result_field "$RUN" nodir status)" failed "status of nodir"
assert_eq "$(result_field "$RUN" nodir exit)" 127 "exit code of nodir"
assert_grep 'working directory "no/such/dir"' "$out" "why nodir failed"
assert_no_grep '^never$' "$out" "nodir ran its command"

assert_grep '^out1$' "$out" "stdout of mixed"
assert_grep '^err1$' "$out" "stderr of mixed"
exit 0
