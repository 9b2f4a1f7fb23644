# Fault: a task that SIGKILLs its own agent (kill -9 $PPID) every time it
# runs. With three agents (each lost one replaced by a new agent) and the
# reclaim cap at 2, the task is reclaimed twice, then fails after its third
# loss with a reason containing "lost"; its dependent is skipped, the other
# tasks succeed, and submit ends with exit 1.
# timeout: 90

. "$TOP/tests/faults/faultlib.sh"

start_redis

tf="$TMP/boom.json"
add_task "$tf" boom "echo \"\$DTEQ_AGENT \$DTEQ_ATTEMPT\" >>$TMP/runs.boom; kill -9 \$PPID; sleep 2"
add_task "$tf" boom-dep "echo boom-dep >>$TMP/runs.boom-dep" boom
for i in 1 2 3 4 5 6 7 8; do
	add_task "$tf" "ok$i" "echo \$DTEQ_AGENT >>$TMP/runs.ok$i; sleep 0.3"
done
taskfile "$tf"

cap=""
if has_option submit --max-reclaims; then
	cap="--max-reclaims 2"
else
	info "dteq submit has no --max-reclaims option; relying on the default (2)"
fi
# shellcheck disable=SC2086
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" --lease 2 $cap "$tf"

# Keep three agents alive: replace each one that dies.
n=0
slots="1 2 3"
for s in $slots; do
	n=$((n + 1))
	start_agent "a$n"
	eval "slot$s=a$n"
done
spawned=3
deadline=$(($(now_ms) + 60000))
while ! bg_done submit; do
	[ "$(now_ms)" -lt "$deadline" ] || fail "submit still running after 60 s"
	for s in $slots; do
		eval "cur=\$slot$s"
		if bg_done "agent.$cur"; then
			n=$((n + 1))
			start_agent "a$n"
			eval "slot$s=a$n"
			spawned=$((spawned + 1))
		fi
	done
	sleep 0.2
done
info "agents started: $spawned (3 + $((spawned - 3)) replacements)"
assert_eq "$(bg_rc submit)" 1 "dteq submit exit status"

out="$TMP/submit.out"
runs=$(runs_of "$TMP" boom)
info "boom ran $runs times"
assert_eq "$runs" 3 "runs of boom (1 + 2 reclaims)"
assert_eq "$(cut -d' ' -f2 "$TMP/runs.boom" | tr '\n' ' ')" "1 2 3 " \
    "attempts of boom"
grep -E 'boom' "$out" | sed 's/^/    out: /'
assert_grep '^  (failed|lost) +boom .*lost' "$out" \
    "summary line of boom with a reason containing 'lost'"
st=$(result_field "$RUN" boom status)
reason=$(rcli hget "dteq:{$RUN}:results" boom)
info "results[boom] = $reason"
case "$st" in
failed | lost) ;;
*) fail "status of boom in the results hash: '$st' (want failed or lost)" ;;
esac
echo "$reason" | grep -q 'lost' || fail "boom's stored result has no 'lost' reason"
assert_eq "$(result_field "$RUN" boom-dep status)" skipped "status of boom-dep"
assert_eq "$(runs_of "$TMP" boom-dep)" 0 "runs of boom-dep"
for i in 1 2 3 4 5 6 7 8; do
	assert_eq "$(result_field "$RUN" "ok$i" status)" success "status of ok$i"
	assert_eq "$(runs_of "$TMP" "ok$i")" 1 "runs of ok$i"
done
assert_grep '^10 tasks: 8 succeeded, 1 failed, 1 skipped' "$out" "summary totals"
exit 0
