# The output cap keeps the head and the tail: a failing task printing
# 80,000 lines (about 5 MB, default cap 4 MiB) and then its FAIL line
# keeps its first line, a marker counting what was left out, and its
# last lines, FAIL included: in its block, in the failure recap, in the
# JUnit <failure> and in the stored log (within the cap and 256 bytes).
# The same for `dteq record` in a run whose cap is smaller (64 KiB): its
# output is cut again to that cap, head and tail kept.
# timeout: 120

. "$TOP/tests/integration/lib.sh"

start_redis

tf="$TMP/cap.json"
add_task "$tf" big "i=0; while [ \$i -lt 80000 ]; do i=\$((i + 1)); echo \"line \$i of the build log, some padding to make it longer\"; done; echo 'FAIL: the one line that says why'; exit 1"
taskfile "$tf"

start_agent a1
xml="$TMP/junit.xml"
submit submit --junit "$xml" "$tf"
assert_eq "$SUBMIT_RC" 1 "dteq submit exit status"
agents_exit_ok 20 a1
out="$TMP/submit.out"

# The block: from its header to its footer.
awk '/^> big /{ b = 1 } b { print } /^< big: /{ exit }' "$out" >"$TMP/block"
assert_grep '^line 1 of the build log' "$TMP/block" "the block's first line"
assert_grep '^\[output truncated: [0-9]* bytes \([0-9]* lines\) left out here, of [0-9]*; the first [0-9]* and the last [0-9]* bytes are kept\]$' \
    "$TMP/block" "the marker in the block"
assert_grep '^line 80000 of the build log' "$TMP/block" "the last line in the block"
assert_grep '^FAIL: the one line that says why$' "$TMP/block" \
    "the FAIL line in the block"
assert_eq "$(sed -n '$p' "$TMP/block")" "< big: failed (exit 1)" "footer"
# The marker's counts add up: kept + left out = all the bytes.
set -- $(sed -n 's/^\[output truncated: \([0-9]*\) bytes (\([0-9]*\) lines) left out here, of \([0-9]*\); the first \([0-9]*\) and the last \([0-9]*\) bytes are kept\]$/\1 \2 \3 \4 \5/p' \
    "$TMP/block")
assert_eq "$(($1 + $4 + $5))" "$3" "left out + head + tail = total"
assert_eq "$3" "$(result_field "$RUN" big output)" "total = output bytes"

# The stored log: within the cap, the end of it the task's end.
key="dteq:{$RUN}:log:1:big"
len=$(rcli strlen "$key")
[ "$len" -le $((4194304 + 256)) ] || fail "stored log of $len bytes"
[ "$len" -ge $((4194304 - 200)) ] || fail "stored log of only $len bytes"
rcli getrange "$key" -100 -1 >"$TMP/logtail"
assert_grep 'FAIL: the one line that says why' "$TMP/logtail" \
    "the end of the stored log"

# The recap and the JUnit failure end with it too.
awk '/^Failed tasks \(1\)/{ r = 1 } r && /^Summary of run /{ exit } r' \
    "$out" >"$TMP/recap"
assert_grep '^  | FAIL: the one line that says why$' "$TMP/recap" \
    "the FAIL line in the recap"
assert_grep 'FAIL: the one line that says why' "$xml" \
    "the FAIL line in the JUnit file"
grep -A3 'FAIL: the one line' "$xml" | grep -q '</failure>' ||
    fail "the JUnit <failure> does not end with the FAIL line"

# dteq record in a run whose cap is 64 KiB.
RUN="$RUN-small"
tf2="$TMP/small.json"
add_task "$tf2" one "echo one"
taskfile "$tf2"
start_agent a2
submit submit2 --output-cap 65536 "$tf2"
assert_eq "$SUBMIT_RC" 0 "exit status of the 64 KiB run"
agents_exit_ok 20 a2
run_cli record record --run "$RUN" --id rec -- sh -c \
    'i=0; while [ $i -lt 20000 ]; do i=$((i + 1)); echo "record line $i"; done; echo "FAIL: recorded"; exit 3'
assert_eq "$RC" 3 "dteq record exit status"
key="dteq:{$RUN}:log:1:rec"
len=$(rcli strlen "$key")
[ "$len" -le $((65536 + 256)) ] || fail "recorded log of $len bytes (cap 64 KiB)"
[ "$len" -ge $((65536 - 200)) ] || fail "recorded log of only $len bytes"
rcli get "$key" >"$TMP/reclog"
assert_eq "$(sed -n 1p "$TMP/reclog")" "record line 1" "first recorded line"
assert_grep '^\[output truncated: [0-9]* bytes' "$TMP/reclog" \
    "the marker in the recorded log"
assert_grep '^record line 20000$' "$TMP/reclog" "the last recorded line"
assert_grep '^FAIL: recorded$' "$TMP/reclog" "the recorded FAIL line"
exit 0
