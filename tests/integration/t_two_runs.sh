# Two runs at once on one Redis, each with its own agents and task ids
# that partly overlap: each submit sees only its own tasks, and no agent
# of one run ever runs a task of the other.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis

RUN_A="runA-$$"
RUN_B="runB-$$"
task_cmd="echo \"\$DTEQ_RUN \$DTEQ_AGENT\" >>$TMP/mark.\$DTEQ_RUN.\$DTEQ_TASK_ID; \
echo \"task \$DTEQ_TASK_ID of run=\$DTEQ_RUN\"; sleep 0.3"

for r in A B; do
	tf="$TMP/run$r.json"
	add_task "$tf" build "$task_cmd"
	add_task "$tf" test "$task_cmd" build
	add_task "$tf" lint "$task_cmd"
	add_task "$tf" "only$r:one" "$task_cmd" build
	add_task "$tf" "only$r:two" "$task_cmd"
	taskfile "$tf"
done

for a in a1 a2; do
	bg "agent.$a" "$DTEQ" work --redis "$REDIS_URL" --run "$RUN_A" --name "$a"
done
for a in b1 b2; do
	bg "agent.$a" "$DTEQ" work --redis "$REDIS_URL" --run "$RUN_B" --name "$a"
done
bg submitA "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN_A" "$TMP/runA.json"
bg submitB "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN_B" "$TMP/runB.json"
bg_wait submitA 60
bg_wait submitB 60
assert_eq "$(bg_rc submitA)" 0 "exit status of run A's submit"
assert_eq "$(bg_rc submitB)" 0 "exit status of run B's submit"
agents_exit_ok 15 a1 a2 b1 b2

check_run() {
	_r=$1 _run=$2 _agents=$3 _out="$TMP/submit$1.out"
	for _t in build test lint "only$_r:one" "only$_r:two"; do
		_m="$TMP/mark.$_run.$_t"
		assert_file "$_m" "task $_t of run $_r did not run"
		assert_eq "$(wc -l <"$_m" | tr -d ' ')" 1 "runs of $_t in run $_r"
		read -r _mrun _magent <"$_m"
		assert_eq "$_mrun" "$_run" "DTEQ_RUN of $_t in run $_r"
		case " $_agents " in
		*" $_magent "*) ;;
		*) fail "task $_t of run $_r ran on agent $_magent" ;;
		esac
		assert_eq "$(count_lines "$_out" "> $_t (")" 1 \
		    "block headers of $_t in run $_r's output"
		assert_grep "^> $_t \\(($(echo "$_agents" | tr ' ' '|')), " \
		    "$_out" "the header of $_t names an agent of run $_r"
	done
	assert_grep '^5 tasks: 5 succeeded' "$_out" "run $_r's summary line"
}
check_run A "$RUN_A" "a1 a2"
assert_no_grep 'onlyB|run=runB' "$TMP/submitA.out" "run B in run A's output"
check_run B "$RUN_B" "b1 b2"
assert_no_grep 'onlyA|run=runA' "$TMP/submitB.out" "run A in run B's output"
exit 0
