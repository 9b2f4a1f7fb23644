# The log's summary of a large run keeps what matters: 500 tasks (some
# with 90-character ids, 10 slow ones, 1 flaky, 5 failing, each with a
# dependent that is skipped) give a table past 40 tasks of the 10
# slowest, the flaky and the 5 failures (last), under a line with the
# counts that names the --json file, where every task is; then the
# critical path and the closing line. The failures' output is replayed.
# timeout: 150

. "$TOP/tests/integration/lib.sh"

start_redis

tf="$TMP/many.json"
long=$(printf 'x%.0s' $(seq 1 80))
i=1
while [ $i -le 479 ]; do
	if [ $((i % 50)) -eq 0 ]; then
		add_task "$tf" "pkg$i:$long" "true"
	else
		add_task "$tf" "pkg$i:build" "echo \$DTEQ_TASK_ID"
	fi
	i=$((i + 1))
done
i=1
while [ $i -le 10 ]; do
	add_task "$tf" "slow$i:e2e" "sleep 1.5; echo slow"
	i=$((i + 1))
done
add_task "$tf" "flaky:test" "[ \"\$DTEQ_ATTEMPT\" -gt 1 ] || exit 1; echo ok" "" '"retries": 1'
i=1
while [ $i -le 5 ]; do
	add_task "$tf" "bad$i:test" "echo 'assertion failed in bad$i'; exit 1"
	add_task "$tf" "bad$i:deploy" "echo never" "bad$i:test"
	i=$((i + 1))
done
taskfile "$tf"

start_agents "a1 a2 a3" --parallel 4
submit submit --json "$TMP/run.json" "$tf"
assert_eq "$SUBMIT_RC" 1 "dteq submit exit status"
agents_exit_ok 20 a1 a2 a3
out="$TMP/submit.out"

assert_grep "^  500 tasks: shown are the 10 slowest that succeeded, 1 flaky and 5 failed; every task is in $TMP/run.json\$" \
    "$out" "the counts above the table"
# The table: from the line after its column header to the first blank line.
awk '/^  STATUS +TASK /{ t = 1; next } t && /^$/ { exit } t { print }' \
    "$out" >"$TMP/table"
sed 's/^/    /' "$TMP/table"
assert_eq "$(wc -l <"$TMP/table" | tr -d ' ')" 16 "rows of the summary"
head -10 "$TMP/table" | awk '{ print $2 }' | sort >"$TMP/slow"
i=1
while [ $i -le 10 ]; do
	echo "slow$i:e2e"
	i=$((i + 1))
done | sort >"$TMP/slow.want"
cmp -s "$TMP/slow" "$TMP/slow.want" ||
    fail "the slowest rows: $(tr '\n' ' ' <"$TMP/slow")"
# Longest first.
head -10 "$TMP/table" | awk '{ print $4 }' | tr -d s >"$TMP/durs"
sort -rn "$TMP/durs" | cmp -s - "$TMP/durs" ||
    fail "the slowest are not longest first: $(tr '\n' ' ' <"$TMP/durs")"
assert_eq "$(sed -n 11p "$TMP/table" | awk '{ print $1, $2, $5 }')" \
    "success flaky:test 2" "the flaky row"
tail -5 "$TMP/table" | awk '{ print $1 }' | sort -u >"$TMP/last"
assert_eq "$(cat "$TMP/last")" failed "status of the last 5 rows"
assert_eq "$(tail -5 "$TMP/table" | grep -c ' exit 1$')" 5 \
    "exit codes in the failed rows"
grep -q 'pkg[0-9]*:build' "$TMP/table" && fail "a quick task in the table"

# Every task, long ids whole, in the --json file.
python3 - "$TMP/run.json" "pkg50:$long" <<'PY' || fail "the --json file"
import json, sys
d = json.load(open(sys.argv[1]))
ids = [t["id"] for t in d["tasks"]]
assert len(ids) == 500 and len(set(ids)) == 500, len(ids)
assert sys.argv[2] in ids
PY

assert_grep '^500 tasks: 490 succeeded \(1 flaky\), 5 failed, 5 skipped in ' \
    "$out" "closing line"
assert_eq "$(tail -1 "$out" | cut -c1-10)" "500 tasks:" "last line"
assert_grep '^Failed tasks \(5\), the end of their output:$' "$out" \
    "failures replayed"
assert_eq "$(grep -c '^  | assertion failed in bad[1-5]$' "$out")" 5 \
    "replayed output lines"
exit 0
