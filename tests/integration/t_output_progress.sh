# While tasks run, a non-TTY submit prints a one-line progress note at
# most every 10 s ("~ 3/5 done, 1 running on 2 agents, 0 queued, 1
# waiting, 10.0s elapsed": a task waiting on its dependencies is not
# queued, as dteq status counts them), on its own line between blocks; a
# short run prints none.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis

tf="$TMP/quick.json"
add_task "$tf" "a:lint" "echo a"
add_task "$tf" "b:lint" "sleep 1; echo b"
taskfile "$tf"

start_agent q1
submit quick "$tf"
assert_eq "$SUBMIT_RC" 0 "quick submit exit status"
agents_exit_ok 15 q1
assert_eq "$(count_lines "$TMP/quick.out" "~ ")" 0 "progress lines of a 1 s run"

RUN="$RUN-long"
tf="$TMP/long.json"
add_task "$tf" "a:build" "echo a"
add_task "$tf" "b:build" "echo b"
add_task "$tf" "c:build" "echo c"
add_task "$tf" "slow:e2e" "echo start; sleep 12.5; echo end"
add_task "$tf" "after:e2e" "echo after" "slow:e2e"
taskfile "$tf"

start_agent l1
start_agent l2
start=$(now_ms)
submit long "$tf"
secs=$((($(now_ms) - start) / 1000))
assert_eq "$SUBMIT_RC" 0 "long submit exit status"
agents_exit_ok 15 l1 l2
out="$TMP/long.out"
n=$(count_lines "$out" "~ ")
[ "$n" -ge 1 ] || fail "no progress line in a ${secs}s run"
[ "$n" -le $((secs / 10)) ] ||
    fail "$n progress lines in ${secs}s (more than one per 10 s)"
assert_grep '^~ 3/5 done, 1 running on 2 agents, 0 queued, 1 waiting, [0-9.]+s elapsed$' \
    "$out" "progress line"
# Never inside a block.
awk '/^> /{ b = 1 } /^< /{ b = 0 } b && /^~ / { exit 1 }' "$out" ||
    fail "progress line inside a block"
exit 0
