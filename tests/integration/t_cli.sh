# dteq CLI: --version, --help, subcommand help, bad usage exits 2.
# timeout: 30

. "$TOP/tests/integration/lib.sh"

# run_cli runs dteq with no Redis around, 10 s at most each time.
CLI_SECS=10

log "--version"
run_cli version --version
assert_eq "$RC" 0 "dteq --version exit status"
assert_grep '^dteq [0-9]+\.[0-9]+\.[0-9]+ \(protocol [0-9]+\)$' \
    "$TMP/version.out" \
    "dteq --version prints the release and the protocol on stdout"

log "--help"
run_cli help --help
assert_eq "$RC" 0 "dteq --help exit status"
cat "$TMP/help.out" "$TMP/help.err" >"$TMP/help.all"
for sub in submit work run stop; do
	assert_grep "$sub" "$TMP/help.all" "dteq --help lists '$sub'"
done

log "SUB --help"
run_cli submit-help submit --help
assert_eq "$RC" 0 "dteq submit --help exit status"
cat "$TMP/submit-help.out" "$TMP/submit-help.err" >"$TMP/submit-help.all"
assert_grep '--stop-agents-after' "$TMP/submit-help.all" \
    "submit --help documents --stop-agents-after"
run_cli work-help work --help
assert_eq "$RC" 0 "dteq work --help exit status"
cat "$TMP/work-help.out" "$TMP/work-help.err" >"$TMP/work-help.all"
assert_grep '--parallel' "$TMP/work-help.all" \
    "work --help documents --parallel"
run_cli run-help run --help
assert_eq "$RC" 0 "dteq run --help exit status"
cat "$TMP/run-help.out" "$TMP/run-help.err" >"$TMP/run-help.all"
assert_grep '--agents' "$TMP/run-help.all" "run --help documents --agents"
run_cli stop-help stop --help
assert_eq "$RC" 0 "dteq stop --help exit status"

log "bad usage"
run_cli unknown frobnicate
assert_eq "$RC" 2 "exit status of an unknown subcommand"
[ -s "$TMP/unknown.err" ] || fail "unknown subcommand: nothing on stderr"
assert_grep 'frobnicate' "$TMP/unknown.err" \
    "the error names the unknown subcommand"

run_cli badopt submit --no-such-option "$TOP/examples/monorepo.json"
assert_eq "$RC" 2 "exit status of an unknown submit option"

run_cli notaskfile submit
assert_eq "$RC" 2 "exit status of submit without a task file"

run_cli badparallel work --parallel zero
assert_eq "$RC" 2 "exit status of work --parallel zero"

run_cli badagents run --agents 0 "$TOP/examples/monorepo.json"
assert_eq "$RC" 2 "exit status of run --agents 0"

run_cli badurl submit --redis 'http://example.com' \
    "$TOP/examples/monorepo.json"
assert_eq "$RC" 2 "exit status of submit with a non-redis URL"

run_cli nofile submit "$TMP/does-not-exist.json"
assert_eq "$RC" 2 "exit status of submit with a missing task file"
assert_grep 'does-not-exist.json' "$TMP/nofile.err" \
    "the error names the missing task file"

exit 0
