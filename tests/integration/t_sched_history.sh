# Duration history and critical-path order: after a run, every succeeded
# task's duration is in dteq:history:WS (with its 30-day TTL); the next
# submit of the workspace reads it and dispatches the longest remaining
# path first; DTEQ_SCHED=fifo dispatches in readiness order and still
# records durations. A task that becomes ready ranked between queued
# tasks waits for the more urgent ones to start, and then goes before
# the less urgent ones. An urgent dependent released by its dependency's
# end goes to that agent's free slot before the queue's head.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis
DTEQ_WORKSPACE="test/$RUN"
export DTEQ_WORKSPACE
hkey="dteq:history:$DTEQ_WORKSPACE"

# Two roots: b1 -> b2, a short chain, and a, one long task. Counted in
# tasks the chain is longer, so with no history b1 goes first; weighed
# with durations a does. One agent with one slot runs them in queue order.
tf="$TMP/g.json"
add_task "$tf" b1 "sleep 0.05"
add_task "$tf" a "sleep 0.5"
add_task "$tf" b2 "sleep 0.05" b1
taskfile "$tf"

base=$RUN

# run_once NAME: run the graph as run $base-NAME.
run_once() {
	RUN="$base-$1"
	start_agent "$1" --parallel 1
	submit "$1" -v "$tf"
	assert_eq "$SUBMIT_RC" 0 "submit $1 exit status"
	agents_exit_ok 20 "$1"
}

# first: which of a and b1 started first in run $RUN.
first() {
	_sa=$(result_field "$RUN" a start)
	_sb=$(result_field "$RUN" b1 start)
	[ -n "$_sa" ] && [ -n "$_sb" ] || fail "no start times in run $RUN"
	if [ "$_sa" -lt "$_sb" ]; then echo a; else echo b1; fi
}

log "first run: no history"
run_once cold
assert_grep "duration history $hkey: 0 of 3 tasks known" "$TMP/cold.err" \
    "submit read an empty history"
assert_eq "$(first)" b1 "without history the longer chain goes first"
assert_eq "$(rcli hlen "$hkey")" 3 "history entries after one run"
a_ms=$(rcli hget "$hkey" a)
log "history of a: $a_ms ms"
case $a_ms in
[4-9][0-9][0-9].[0-9] | [1-9][0-9][0-9][0-9].[0-9]) ;;
*) fail "history of a is \"$a_ms\", not about 500 ms" ;;
esac
ttl=$(rcli ttl "$hkey")
[ "$ttl" -gt 86400 ] || fail "history TTL is $ttl s, not 30 days"

log "second run: durations known"
run_once warm
assert_grep "duration history $hkey: 3 of 3 tasks known" "$TMP/warm.err" \
    "submit read the history"
assert_eq "$(first)" a "with history the longest path goes first"

log "third run: DTEQ_SCHED=fifo"
DTEQ_SCHED=fifo
export DTEQ_SCHED
run_once fifo
unset DTEQ_SCHED
assert_grep "3 of 3 tasks known \\(DTEQ_SCHED=fifo\\)" "$TMP/fifo.err" \
    "submit says it orders FIFO"
assert_eq "$(first)" b1 "FIFO keeps the task file's order"
assert_eq "$(rcli hlen "$hkey")" 3 "history entries after three runs"

# Another workspace has its own history.
RUN="$base-other"
DTEQ_WORKSPACE="test/$base-other"
start_agent other --parallel 1
submit other -v "$tf"
assert_eq "$SUBMIT_RC" 0 "submit other exit status"
agents_exit_ok 20 other
assert_grep "0 of 3 tasks known" "$TMP/other.err" \
    "a new workspace starts with no history"

# The middle of the queue. Ranks from a given history: y 1000, x 500
# (x 200 + m 300), h1 450, h2 400, m 300, lo 10. Two slots take y and x;
# when x ends its slot takes h1, and m is ready while h2 and lo are
# queued: it belongs between them, so it must start after h2 and before
# lo (pushed at the popping end at once, it would start before h2).
log "a task ranked between queued tasks"
RUN="$base-mid"
DTEQ_WORKSPACE="test/$base-mid"
hkey="dteq:history:$DTEQ_WORKSPACE"
rcli hset "$hkey" y 1000 x 200 m 300 h1 450 h2 400 lo 10 >/dev/null
tf="$TMP/mid.json"
add_task "$tf" y "sleep 1.2"
add_task "$tf" x "sleep 0.1"
add_task "$tf" h1 "sleep 0.5"
add_task "$tf" h2 "sleep 0.2"
add_task "$tf" lo "sleep 0.05"
add_task "$tf" m "sleep 0.05" x
taskfile "$tf"
start_agent mid --parallel 2
submit mid -v "$tf"
assert_eq "$SUBMIT_RC" 0 "submit mid exit status"
agents_exit_ok 20 mid
assert_grep "6 of 6 tasks known" "$TMP/mid.err" "submit read the history"
for t in y x h1 h2 m lo; do
	eval "st_$t=\$(result_field \"\$RUN\" $t start)"
done
log "starts: y $st_y x $st_x h1 $st_h1 h2 $st_h2 m $st_m lo $st_lo"
[ "$st_h1" -ge "$st_x" ] || fail "h1 started before x"
[ "$st_m" -ge "$st_h2" ] || fail "m (300) started before h2 (400)"
[ "$st_lo" -ge "$st_m" ] || fail "lo (10) started before m (300)"

# A staged dependent and a queue that is not empty. Ranks: a 600 (a 100
# + s 500), s 500, q1 and q2 50. One slot: it takes a while q1 and q2
# wait; s is staged at the popping end. When a ends, its finish pops q1
# and releases s: the slot must take s, and q1 go back to the queue.
log "a released dependent before the queue's head"
RUN="$base-rel"
DTEQ_WORKSPACE="test/$base-rel"
hkey="dteq:history:$DTEQ_WORKSPACE"
rcli hset "$hkey" a 100 s 500 q1 50 q2 50 >/dev/null
tf="$TMP/rel.json"
add_task "$tf" a "sleep 0.3"
add_task "$tf" q1 "true"
add_task "$tf" q2 "true"
add_task "$tf" s "true" a
taskfile "$tf"
start_agent rel --parallel 1
submit rel -v "$tf"
assert_eq "$SUBMIT_RC" 0 "submit rel exit status"
agents_exit_ok 20 rel
assert_grep "stage s attempt 1" "$TMP/rel.err" "s was staged"
for t in a s q1 q2; do
	eval "st_$t=\$(result_field \"\$RUN\" $t start)"
	assert_eq "$(result_field "$RUN" $t attempt)" 1 "attempts of $t"
done
log "starts: a $st_a s $st_s q1 $st_q1 q2 $st_q2"
[ "$st_s" -le "$st_q1" ] || fail "q1 (50) started before s (500)"
[ "$st_q1" -le "$st_q2" ] || fail "q2 started before q1"
exit 0
