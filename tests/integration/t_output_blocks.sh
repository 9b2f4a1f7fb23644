# Non-TTY output is one block per finished task, never interleaved: 3
# agents x --parallel 4 run 16 tasks whose output lines interleave in time
# (each prints 8 numbered lines with sleeps between them), and submit's
# stdout still holds each task's lines together, in order, between its
# "> ID (agent, duration, attempt N)" header and "< ID: succeeded" footer.
# There is no ANSI escape anywhere, although the tasks print some, and
# the summary table lists every task once.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis

tf="$TMP/blocks.json"
i=1
while [ $i -le 16 ]; do
	add_task "$tf" "p$i:build" "i=1; while [ \$i -le 8 ]; do \
printf '\\033[32m%s line %d\\033[0m\\n' \"\$DTEQ_TASK_ID\" \$i; \
date +%s%N >>$TMP/when.\$DTEQ_TASK_ID; sleep 0.0\$((i % 3 + 2)); \
i=\$((i + 1)); done"
	i=$((i + 1))
done
taskfile "$tf"

start_agents "a1 a2 a3" --parallel 4
submit submit "$tf"
assert_eq "$SUBMIT_RC" 0 "dteq submit exit status"
agents_exit_ok 15 a1 a2 a3
out="$TMP/submit.out"

# The tasks really overlapped: some task printed a line while another
# was between its first and last line.
overlap=0
for f in "$TMP"/when.*; do
	first=$(head -1 "$f")
	last=$(tail -1 "$f")
	for g in "$TMP"/when.*; do
		[ "$f" = "$g" ] && continue
		if awk -v a="$first" -v b="$last" '$1 > a && $1 < b { f = 1 }
		    END { exit !f }' "$g"; then
			overlap=1
			break 2
		fi
	done
done
assert_eq "$overlap" 1 "tasks printing at the same time"

grep -q "$(printf '\033')" "$out" && fail "ANSI escape in non-TTY stdout"
grep -q "$(printf '\033')" "$TMP/submit.err" &&
    fail "ANSI escape in non-TTY stderr"

# Walk the output: inside a block only that task's lines, numbered 1..8.
awk '
/^> / {
	if (cur != "") { print "header inside block of " cur; bad = 1 }
	cur = $2; n = 0
	if ($0 !~ /^> [^ ]+ \(a[123], [0-9.]+s, attempt 1\)$/) {
		print "bad header: " $0; bad = 1
	}
	next
}
/^< / {
	if ($0 != "< " cur ": succeeded") { print "bad footer: " $0; bad = 1 }
	if (n != 8) { print cur ": " n " lines"; bad = 1 }
	blocks[cur]++; cur = ""; next
}
cur != "" {
	n++
	if ($0 != cur " line " n) { print "in block " cur ": " $0; bad = 1 }
	next
}
/ line [0-9]+$/ { print "output outside a block: " $0; bad = 1 }
END {
	for (b in blocks) { nb++; if (blocks[b] != 1) bad = 1 }
	if (nb != 16) { print nb " blocks"; bad = 1 }
	exit bad
}' "$out" >"$TMP/check" || fail "block structure: $(head -5 "$TMP/check")"

i=1
while [ $i -le 16 ]; do
	assert_eq "$(grep -c "^  success  *p$i:build  *a[123] " "$out")" 1 \
	    "summary rows of p$i:build"
	i=$((i + 1))
done
assert_grep '^16 tasks: 16 succeeded, 0 failed, 0 skipped in ' "$out" \
    "closing line"
assert_grep '^Critical path: ' "$out" "critical path line"
exit 0
