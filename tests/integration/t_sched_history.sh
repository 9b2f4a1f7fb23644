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

# run_once NAME [SLOTS [FILE]]: run the graph of FILE ($tf) as run
# $base-NAME, on agent NAME with SLOTS slots (1).
run_once() {
	RUN="$base-$1"
	start_agent "$1" --parallel "${2:-1}"
	submit "$1" -v "${3:-$tf}"
	assert_eq "$SUBMIT_RC" 0 "submit $1 exit status"
	agents_exit_ok 20 "$1"
}

# workspace NAME [ID MS...]: the runs from now on are of the workspace
# test/$base-NAME (hkey its history), whose history holds these
# durations.
workspace() {
	DTEQ_WORKSPACE="test/$base-$1"
	hkey="dteq:history:$DTEQ_WORKSPACE"
	shift
	[ $# -eq 0 ] || rcli hset "$hkey" "$@" >/dev/null
}

# starts ID...: st_ID, the start time of each task of run $RUN, logged.
starts() {
	_line=""
	for _t in "$@"; do
		eval "st_$_t=\$(result_field \"\$RUN\" $_t start)"
		_line="$_line $_t $(eval "echo \$st_$_t")"
	done
	log "starts:$_line"
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
workspace other
run_once other
assert_grep "0 of 3 tasks known" "$TMP/other.err" \
    "a new workspace starts with no history"

# The middle of the queue. Ranks from a given history: y 1000, x 500
# (x 200 + m 300), h1 450, h2 400, m 300, lo 10. Two slots take y and x;
# when x ends its slot takes h1, and m is ready while h2 and lo are
# queued: it belongs between them, so it must start after h2 and before
# lo (pushed at the popping end at once, it would start before h2).
log "a task ranked between queued tasks"
workspace mid y 1000 x 200 m 300 h1 450 h2 400 lo 10
tasks "$TMP/mid.json" <<'TASKS'
y  | | | sleep 1.2
x  | | | sleep 0.1
h1 | | | sleep 0.5
h2 | | | sleep 0.2
lo | | | sleep 0.05
m  | x | | sleep 0.05
TASKS
run_once mid 2 "$TMP/mid.json"
assert_grep "6 of 6 tasks known" "$TMP/mid.err" "submit read the history"
starts y x h1 h2 m lo
[ "$st_h1" -ge "$st_x" ] || fail "h1 started before x"
[ "$st_m" -ge "$st_h2" ] || fail "m (300) started before h2 (400)"
[ "$st_lo" -ge "$st_m" ] || fail "lo (10) started before m (300)"

# A staged dependent and a queue that is not empty. Ranks: a 600 (a 100
# + s 500), s 500, q1 and q2 50. One slot: it takes a while q1 and q2
# wait; s is staged at the popping end. When a ends, its finish pops q1
# and releases s: the slot must take s, and q1 go back to the queue.
log "a released dependent before the queue's head"
workspace rel a 100 s 500 q1 50 q2 50
tasks "$TMP/rel.json" <<'TASKS'
a  |   | | sleep 0.3
q1 |   | | true
q2 |   | | true
s  | a | | true
TASKS
run_once rel 1 "$TMP/rel.json"
assert_grep "stage s attempt 1" "$TMP/rel.err" "s was staged"
for t in a s q1 q2; do
	assert_eq "$(result_field "$RUN" $t attempt)" 1 "attempts of $t"
done
starts a s q1 q2
[ "$st_s" -le "$st_q1" ] || fail "q1 (50) started before s (500)"
[ "$st_q1" -le "$st_q2" ] || fail "q2 started before q1"
exit 0
