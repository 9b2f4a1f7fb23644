# One run, several submits (Nx's "--stop-agents-after"): the agents serve
# a lint-only submit and keep running, then serve the build submit and
# exit 0 once it ended, as its build tasks were the last ones.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis

cmd="echo \"\$DTEQ_TASK_ID on \$DTEQ_AGENT\"; sleep 0.2"
add_task "$TMP/lint.json" lib:lint "$cmd"
add_task "$TMP/lint.json" web:lint "$cmd"
add_task "$TMP/lint.json" api:lint "$cmd"
taskfile "$TMP/lint.json"
add_task "$TMP/build.json" lib:build "$cmd"
add_task "$TMP/build.json" web:build "$cmd" lib:build
add_task "$TMP/build.json" api:build "$cmd" lib:build
taskfile "$TMP/build.json"

start_agent a1 --parallel 2
start_agent a2 --parallel 2

log "lint submit"
submit lint --stop-agents-after build "$TMP/lint.json"
assert_eq "$SUBMIT_RC" 0 "exit status of the lint submit"
assert_grep '^3 tasks: 3 succeeded' "$TMP/lint.out" "lint summary line"
sleep 1.5
bg_done agent.a1 && fail "agent a1 exited after the lint submit"
bg_done agent.a2 && fail "agent a2 exited after the lint submit"
assert_eq "$(rcli exists "dteq:{$RUN}:stop")" 0 \
    "stop sentinel after the lint submit"

log "build submit"
submit build --stop-agents-after build "$TMP/build.json"
assert_eq "$SUBMIT_RC" 0 "exit status of the build submit"
assert_grep '^3 tasks: 3 succeeded' "$TMP/build.out" "build summary line"
agents_exit_ok 15 a1 a2
assert_eq "$(rcli exists "dteq:{$RUN}:stop")" 1 \
    "stop sentinel after the build submit"

for t in lib:build web:build api:build; do
	assert_eq "$(count_lines "$TMP/build.out" "> $t (")" 1 \
	    "block headers of $t in the build submit's output"
done
assert_no_grep '^> [a-z]*:lint ' "$TMP/build.out" \
    "lint tasks in the build submit's output"
for t in lib:lint web:lint api:lint lib:build web:build api:build; do
	assert_eq "$(result_field "$RUN" "$t" status)" success "status of $t"
done
exit 0
