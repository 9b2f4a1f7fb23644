# The summary is never truncated: 500 tasks (some with 90-character ids,
# 5 failing, each with a dependent that is skipped) give a table of 500
# rows, every id whole and once, the failures last and the skipped just
# before them, then the critical path and the closing line.
# timeout: 150

. "$TOP/tests/integration/lib.sh"

start_redis

tf="$TMP/many.json"
long=$(printf 'x%.0s' $(seq 1 80))
i=1
while [ $i -le 490 ]; do
	if [ $((i % 50)) -eq 0 ]; then
		add_task "$tf" "pkg$i:$long" "true"
	else
		add_task "$tf" "pkg$i:build" "echo \$DTEQ_TASK_ID"
	fi
	i=$((i + 1))
done
i=1
while [ $i -le 5 ]; do
	add_task "$tf" "bad$i:test" "echo 'assertion failed in bad$i'; exit 1"
	add_task "$tf" "bad$i:deploy" "echo never" "bad$i:test"
	i=$((i + 1))
done
taskfile "$tf"

start_agents "a1 a2 a3" --parallel 4
submit submit "$tf"
assert_eq "$SUBMIT_RC" 1 "dteq submit exit status"
agents_exit_ok 20 a1 a2 a3
out="$TMP/submit.out"

# The table: from the line after the header to the first blank line.
awk '/^Summary of run /{ t = 1; getline; next } t && /^$/ { exit }
    t { print }' "$out" >"$TMP/table"
assert_eq "$(wc -l <"$TMP/table" | tr -d ' ')" 500 "rows of the summary"
awk '{ print $2 }' "$TMP/table" | sort >"$TMP/ids.table"
grep -o '"id": "[^"]*"' "$tf" | sed 's/"id": "\(.*\)"/\1/' | sort \
    >"$TMP/ids.file"
cmp -s "$TMP/ids.table" "$TMP/ids.file" ||
    fail "summary ids differ from the task file: $(diff "$TMP/ids.file" \
    "$TMP/ids.table" | head -5)"
assert_eq "$(grep -c "^  success  *pkg50:$long " "$TMP/table")" 1 \
    "the 90-character id, whole"

tail -5 "$TMP/table" | awk '{ print $1 }' | sort -u >"$TMP/last"
assert_eq "$(cat "$TMP/last")" failed "status of the last 5 rows"
tail -10 "$TMP/table" | head -5 | awk '{ print $1 }' | sort -u >"$TMP/skip"
assert_eq "$(cat "$TMP/skip")" skipped "status of the 5 rows before them"
tail -5 "$TMP/table" | grep -c ' exit 1$' >"$TMP/n"
assert_eq "$(cat "$TMP/n")" 5 "exit codes in the failed rows"

assert_grep '^500 tasks: 490 succeeded, 5 failed, 5 skipped in ' "$out" \
    "closing line"
assert_eq "$(tail -1 "$out" | cut -c1-10)" "500 tasks:" "last line"
assert_grep '^Failed tasks \(5\), the end of their output:$' "$out" \
    "failures replayed"
assert_eq "$(grep -c '^  | assertion failed in bad[1-5]$' "$out")" 5 \
    "replayed output lines"
exit 0
