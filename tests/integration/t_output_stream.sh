# --stream prints output lines live, each prefixed with its task id: a
# task prints a line and then waits until that line has appeared on
# submit's stdout, so the run only ends if lines come out while tasks
# still run. Lines are whole (a line printed in two pieces comes out as
# one), a successful task ends with its footer alone, and a failed task's
# output is replayed as a full block.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis

out="$TMP/stream.out"
tf="$TMP/stream.json"
add_task "$tf" "app:serve" "echo 'listening on :4200'; \
n=0; while ! grep -q '^app:serve: listening on :4200$' $out; do \
sleep 0.1; n=\$((n + 1)); [ \$n -lt 300 ] || exit 9; done; \
printf 'half a '; sleep 0.3; echo line; echo done"
add_task "$tf" "lib:test" "echo 'expected 1, got 2'; sleep 0.2; exit 4"
add_task "$tf" "lib:build" "echo compiled"
taskfile "$tf"

start_agent a1 --parallel 3
bg stream "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --stream "$tf"
# While app:serve still runs, its first line is already on stdout.
wait_for "grep -q '^app:serve: listening on :4200\$' '$out'" 30 ||
    fail "app:serve's first line not streamed"
bg_wait stream 60
assert_eq "$(bg_rc stream)" 1 "submit exit status (lib:test fails)"
agents_exit_ok 15 a1

assert_eq "$(count_lines "$out" "app:serve: listening on :4200")" 1 \
    "streamed first line"
assert_grep '^app:serve: half a line$' "$out" "a line written in two pieces"
assert_grep '^app:serve: done$' "$out" "last streamed line"
assert_grep '^< app:serve: succeeded \(a1, [0-9.]+s, attempt 1\)$' "$out" \
    "footer of a streamed success"
assert_eq "$(count_lines "$out" "> app:serve (")" 0 \
    "block header of a streamed success"
assert_eq "$(count_lines "$out" "listening on :4200")" 0 \
    "unprefixed copies of app:serve's output"
assert_grep '^lib:test: expected 1, got 2$' "$out" "streamed failure line"
assert_eq "$(count_lines "$out" "> lib:test (a1, ")" 1 \
    "replayed block of the failed task"
assert_grep '^< lib:test: failed \(exit 4\)$' "$out" "failed footer"
# In the replayed block the output is not prefixed.
awk '/^> lib:test /{ b = 1; next } b { print; exit }' "$out" \
    >"$TMP/first"
assert_eq "$(cat "$TMP/first")" "expected 1, got 2" \
    "first line of the replayed block"
assert_grep '^lib:build: compiled$' "$out" "streamed line of lib:build"
exit 0
