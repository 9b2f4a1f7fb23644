# Dependents staged in Redis: while a task runs, submit stages the urgent
# tasks that wait only for it (and for tasks staged themselves, three
# levels deep), and the finish script of the task pushes them onto the
# queue. So
# a chain moves on with the main job frozen (SIGSTOP): b, c and d start
# after a while submit cannot act, and e (four steps ahead, not staged)
# waits for submit. A task with two dependencies starts only once
# both succeeded (staged with both in flight, it is counted down by the
# first and released by the second while submit is frozen), and the
# dependent of a failed task never starts. With
# DTEQ_STAGE=off nothing moves while submit is frozen (the control).
# timeout: 120

. "$TOP/tests/integration/lib.sh"

start_redis
staged="dteq:{$RUN}:staged"

gate() {	# gate NAME: a command that waits (<= 30 s) for $TMP/NAME
	echo "n=0; while [ ! -e $TMP/$1 ] && [ \$n -lt 300 ]; do sleep 0.1; n=\$((n + 1)); done"
}

# go AGENT PARALLEL NAME FILE [VAR=VALUE...]: start an agent, then submit
# FILE in the background as NAME (with those variables); spid is its pid.
go() {
	start_agent "$1" --parallel "$2"
	_name=$3
	_file=$4
	shift 4
	bg "$_name" env "$@" "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" \
	    "$_file"
	spid=$(bg_pid "$_name")
}

# staged_as ID PATTERN: the staged entry of ID matches the case PATTERN.
staged_as() {
	case "$(rcli hget "$staged" "$1")" in
	$2) ;;
	*) fail "$1 staged as '$(rcli hget "$staged" "$1" | cut -c1-20)'," \
	    "not $2" ;;
	esac
}

# The submit (pid spid) is frozen. frozen_wait COND SECS MSG: wait for
# COND (wait_for); if it never holds, let submit go on and fail with MSG.
# frozen_absent FILE MSG: FILE is not there; if it is, the same.
frozen_wait() {
	wait_for "$1" "$2" || {
		kill -CONT "$spid"
		fail "$3"
	}
}

frozen_absent() {
	if [ -e "$1" ]; then
		kill -CONT "$spid"
		fail "$2"
	fi
}

tf="$TMP/staged.json"
add_task "$tf" a "$(gate go.a); touch $TMP/ran.a"
add_task "$tf" b "touch $TMP/ran.b" a
add_task "$tf" c "touch $TMP/ran.c" b
add_task "$tf" d "touch $TMP/ran.d" c
add_task "$tf" e "touch $TMP/ran.e" d
# The chain is the graph's longest path, so its links are the urgent ones
# (only a task that would go to the popping end is staged).
add_task "$tf" e2 "true" e
add_task "$tf" e3 "true" e2
add_task "$tf" x "touch $TMP/ran.x"
add_task "$tf" y "$(gate go.y); touch $TMP/ran.y"
add_task "$tf" xy "touch $TMP/ran.xy" "x y"
add_task "$tf" f "exit 3"
add_task "$tf" g "touch $TMP/ran.g" f
taskfile "$tf"

go a1 4 submit "$tf"
wait_for "[ \"\$(rcli hexists '$staged' d)\" = 1 ]" 20 || fail "d was never staged"
assert_eq "$(rcli hexists "$staged" b)" 1 "b staged"
assert_eq "$(rcli hexists "$staged" c)" 1 "c staged"
assert_eq "$(rcli hexists "$staged" e)" 0 "e staged four steps ahead"
# One dependency left: the side is in lower case and nothing is counted.
staged_as b '[lr]1 *'
assert_eq "$(rcli hexists "dteq:{$RUN}:waiting" b)" 0 "a waiting count for b"
wait_for "[ -e $TMP/ran.x ]" 20 || fail "x never ran"
wait_for "[ \"\$(result_field '$RUN' x status)\" = success ]" 10 || fail "x has no result"
sleep 0.5
assert_no_file "$TMP/ran.xy" "xy ran before y succeeded"
assert_eq "$(result_field "$RUN" g status)" skipped "status of g (f failed)"
assert_eq "$(rcli hexists "$staged" g)" 0 "g still staged after f failed"

log "freeze submit, release a"
kill -STOP "$spid"
touch "$TMP/go.a"
frozen_wait "[ -e $TMP/ran.d ]" 20 \
    "b, c and d did not all start while submit was frozen"
assert_file "$TMP/ran.b" "b did not run"
assert_file "$TMP/ran.c" "c did not run"
sleep 0.5
frozen_absent "$TMP/ran.e" \
    "e started while submit was frozen (it was not staged)"
kill -CONT "$spid"
wait_for "[ -e $TMP/ran.e ]" 20 || fail "e never ran"
touch "$TMP/go.y"
bg_wait submit 30
assert_eq "$(bg_rc submit)" 1 "dteq submit exit status (f fails)"
agents_exit_ok 15 a1
for t in a b c d e e2 e3 x y xy; do
	assert_eq "$(result_field "$RUN" $t status)" success "status of $t"
done
assert_no_file "$TMP/ran.g" "g ran after f failed"
assert_eq "$(rcli hlen "$staged")" 0 "tasks left staged"
out="$TMP/submit.out"
assert_grep '^12 tasks: 10 succeeded, 1 failed, 1 skipped' "$out" "the totals line"

log "two dependencies in flight: counted down, released by the second"
RUN0=$RUN
RUN="$RUN-two"
rm -f "$TMP"/ran.* "$TMP"/go.*
staged="dteq:{$RUN}:staged"
tf3="$TMP/two.json"
add_task "$tf3" p "$(gate go.p); touch $TMP/ran.p"
add_task "$tf3" q "$(gate go.q); touch $TMP/ran.q"
add_task "$tf3" pq "touch $TMP/ran.pq" "p q"
add_task "$tf3" pq2 "true" pq
taskfile "$tf3"
go a3 3 submit3 "$tf3"
wait_for "[ \"\$(rcli hexists '$staged' pq)\" = 1 ]" 20 || fail "pq was never staged"
staged_as pq '[LR]1 *'
assert_eq "$(rcli hget "dteq:{$RUN}:waiting" pq)" 2 "pq's waiting count"
kill -STOP "$spid"
touch "$TMP/go.p"
frozen_wait "[ \"\$(rcli hget 'dteq:{$RUN}:waiting' pq)\" = 1 ]" 20 \
    "p's success did not count pq down"
sleep 0.5
frozen_absent "$TMP/ran.pq" "pq started with q still running"
touch "$TMP/go.q"
frozen_wait "[ -e $TMP/ran.pq ]" 20 \
    "q's success did not release pq while submit was frozen"
kill -CONT "$spid"
bg_wait submit3 30
assert_eq "$(bg_rc submit3)" 0 "dteq submit exit status (two)"
assert_eq "$(rcli hexists "dteq:{$RUN}:waiting" pq)" 0 "pq's count left behind"
assert_eq "$(rcli hlen "$staged")" 0 "tasks left staged (two)"
agents_exit_ok 15 a3
RUN=$RUN0

log "control: DTEQ_STAGE=off"
RUN="$RUN-off"
rm -f "$TMP"/ran.* "$TMP"/go.*
tf2="$TMP/off.json"
add_task "$tf2" a "$(gate go.a); touch $TMP/ran.a"
add_task "$tf2" b "touch $TMP/ran.b" a
taskfile "$tf2"
go a2 2 submit2 "$tf2" DTEQ_STAGE=off
wait_for "[ \"\$(rcli hget 'dteq:{$RUN}:claims' a)\" = '1 a2' ]" 20 || fail "a never started"
assert_eq "$(rcli hexists "dteq:{$RUN}:staged" b)" 0 "b staged with DTEQ_STAGE=off"
kill -STOP "$spid"
touch "$TMP/go.a"
frozen_wait "[ -e $TMP/ran.a ]" 20 "a never finished"
sleep 1
frozen_absent "$TMP/ran.b" "b started with submit frozen and DTEQ_STAGE=off"
kill -CONT "$spid"
bg_wait submit2 30
assert_eq "$(bg_rc submit2)" 0 "dteq submit exit status (off)"
assert_file "$TMP/ran.b" "b never ran (off)"
agents_exit_ok 15 a2
exit 0
