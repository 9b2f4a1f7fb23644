# Fault: the connection submit registers the run on is cut after Redis's
# first reply (a network cut, not a refusal). Submit must say so, start
# the registration again on a new connection and run the graph: exit 0,
# every task once. Between submit and the real redis-server sits a small
# TCP relay that cuts its first connection and passes the others.
# timeout: 60

. "$TOP/tests/faults/faultlib.sh"

start_redis

start_relay cut-first
url=$RELAY_URL

tf="$TMP/cut.json"
for i in 1 2 3 4; do
	dep=""
	[ "$i" -gt 2 ] && dep="t$((i - 2))"
	add_task "$tf" "t$i" "echo x >>$TMP/runs.t$i" "$dep"
done
taskfile "$tf"

start_agent a --parallel 2
timeout --foreground -k 5 40 "$DTEQ" submit --redis "$url" --run "$RUN" \
    "$tf" >"$TMP/submit.out" 2>"$TMP/submit.err"
rc=$?
cat "$TMP/submit.err"
assert_eq "$rc" 0 "submit exit status"
assert_grep "registering the run failed: .*; trying again" "$TMP/submit.err" \
    "submit says the first registration was cut"
agents_exit_ok 20 a
for i in 1 2 3 4; do
	assert_eq "$(runs_of "$TMP" "t$i")" 1 "runs of t$i"
	assert_eq "$(result_field "$RUN" "t$i" status)" success "status of t$i"
done
exit 0
