# Memory: `dteq submit` and one `dteq work` each under valgrind
# (--leak-check=full; definite leaks and memory errors are errors).
# 1. a small all-success graph, --error-exitcode=1: both exit 0.
# 2. the failure paths (a failure, a skip, a retry, a timeout, env, signed
#    messages with DTEQ_SECRET), --error-exitcode=99: submit exits 1 (a
#    task failed), work 0; neither 99.
# 3. an agent under valgrind gets SIGTERM while it runs a task: exit 0,
#    no valgrind error.
# Skipped on a sanitizer build, which valgrind cannot run.
# timeout: 300

. "$TOP/tests/faults/faultlib.sh"

if is_asan; then
	echo "SKIP: $DTEQ is a sanitizer build; valgrind runs on the plain build"
	exit 0
fi
command -v valgrind >/dev/null 2>&1 || fail "valgrind is not installed"

# vg CODE LOG CMD...: CMD under valgrind, whose own errors exit CODE. It
# execs, so bg records valgrind's pid (the program's own) for signals.
vg() {
	_code=$1
	_vlog=$2
	shift 2
	exec valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite \
	    --error-exitcode="$_code" --log-file="$TMP/$_vlog" "$@"
}

show_vg() {
	for _f in "$@"; do
		[ -s "$TMP/$_f" ] || continue
		echo "---- $_f"
		head -60 "$TMP/$_f"
	done
}

start_redis

log "1: all-success graph"
tf="$TMP/ok.json"
add_task "$tf" a "echo a; seq 1 2000"
add_task "$tf" b "echo b" a
add_task "$tf" c "echo c" a
add_task "$tf" d "echo d" "b c"
taskfile "$tf"
r1="$RUN-1"
bg agent.v1 vg 1 work1.vg "$DTEQ" work --redis "$REDIS_URL" --run "$r1" \
    --name v1 --parallel 2
bg submit1 vg 1 submit1.vg "$DTEQ" submit --redis "$REDIS_URL" --run "$r1" "$tf"
bg_wait submit1 120
bg_wait agent.v1 60
show_vg submit1.vg work1.vg
info "1: submit exit $(bg_rc submit1), work exit $(bg_rc agent.v1)"
assert_eq "$(bg_rc submit1)" 0 "exit status of submit under valgrind (1: valgrind errors)"
assert_eq "$(bg_rc agent.v1)" 0 "exit status of work under valgrind (1: valgrind errors)"

log "2: failure paths, signed messages"
DTEQ_SECRET="vg-secret-$$"
export DTEQ_SECRET
tf="$TMP/fail.json"
add_task "$tf" a "echo a; seq 1 2000"
add_task "$tf" b "echo b; sleep 0.2" a
add_task "$tf" c "echo c >&2; exit 3" a
add_task "$tf" d "echo d" c
add_task "$tf" flaky "[ \"\$DTEQ_ATTEMPT\" -ge 2 ] || exit 1; echo flaky ok" "" '"retries": 1'
add_task "$tf" slow "sleep 30" "" '"timeout": 1'
add_task "$tf" e "echo e" "b flaky" '"env": {"X": "1"}'
taskfile "$tf"
r2="$RUN-2"
bg agent.v2 vg 99 work2.vg "$DTEQ" work --redis "$REDIS_URL" --run "$r2" \
    --name v2 --parallel 2
bg agent.plain "$DTEQ" work --redis "$REDIS_URL" --run "$r2" --name plain
bg submit2 vg 99 submit2.vg "$DTEQ" submit --redis "$REDIS_URL" --run "$r2" \
    --lease 5 "$tf"
bg_wait submit2 120
agents_exit_ok 60 plain
bg_wait agent.v2 60
show_vg submit2.vg work2.vg
info "2: submit exit $(bg_rc submit2), work exit $(bg_rc agent.v2)"
assert_eq "$(bg_rc submit2)" 1 "exit status of submit under valgrind (99: valgrind errors)"
assert_eq "$(bg_rc agent.v2)" 0 "exit status of work under valgrind (99: valgrind errors)"
assert_eq "$(result_field "$r2" e status)" success "status of e"
assert_eq "$(result_field "$r2" d status)" skipped "status of d"
assert_eq "$(result_field "$r2" slow status)" timeout "status of slow"
unset DTEQ_SECRET

log "3: SIGTERM to an agent under valgrind"
tf="$TMP/term.json"
add_task "$tf" long "echo \$\$ >$TMP/pid.long; [ \"\$DTEQ_ATTEMPT\" -ge 2 ] || sleep 60"
taskfile "$tf"
r3="$RUN-3"
bg agent.v3 vg 99 work3.vg "$DTEQ" work --redis "$REDIS_URL" --run "$r3" --name v3
bg submit3 "$DTEQ" submit --redis "$REDIS_URL" --run "$r3" --lease 30 "$tf"
wait_for "[ -s '$TMP/pid.long' ]" 60 || fail "task long never started"
track_pid "$(cat "$TMP/pid.long")"
bg agent.p3 "$DTEQ" work --redis "$REDIS_URL" --run "$r3" --name p3
sleep 1
kill -TERM "$(bg_pid agent.v3)"
bg_wait agent.v3 60
bg_wait submit3 60
show_vg work3.vg
info "3: work exit $(bg_rc agent.v3) after SIGTERM; submit exit $(bg_rc submit3)"
assert_eq "$(bg_rc agent.v3)" 0 "exit status of work under valgrind after SIGTERM (99: valgrind errors)"
assert_eq "$(bg_rc submit3)" 0 "exit status of submit (run 3)"
exit 0
