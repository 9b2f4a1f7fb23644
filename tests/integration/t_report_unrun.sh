# Tasks that never ran say so the same way everywhere: a run cancelled
# while its one slot runs slow:build leaves slow:test and slow:deploy
# (whose dependencies never finished, the first of them pushed early,
# staged) "not run", and free:a and free:b (ready, never given a slot)
# "queued"; all four have 0 attempts in the summary and in --json, with
# attempt 0 and exit null; slow:build, started, has its 1 attempt and no
# exit status.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis

tf="$TMP/unrun.json"
add_task "$tf" "slow:build" "touch $TMP/started; sleep 60"
add_task "$tf" "slow:test" "echo tested" "slow:build"
add_task "$tf" "slow:deploy" "echo deployed" "slow:test"
add_task "$tf" "free:a" "echo a"
add_task "$tf" "free:b" "echo b"
taskfile "$tf"

# The build first (fifo): the free tasks wait behind it for the one slot.
DTEQ_SCHED=fifo
export DTEQ_SCHED
start_agent a1
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" \
    --json "$TMP/run.json" "$tf"
wait_for "[ -e $TMP/started ]" 30 || fail "slow:build did not start"
cancel_run
bg_wait submit 30
assert_eq "$(bg_rc submit)" 3 "submit's exit status after the cancel"
agents_exit_ok 20 a1
out="$TMP/submit.out"
sed -n '/^Summary of run /,/^$/p' "$out"

for t in slow:test slow:deploy; do
	assert_grep "^  not run +$t +- +- +0( |\$)" "$out" "$t's row"
done
for t in free:a free:b; do
	assert_grep "^  queued +$t +- +- +0( |\$)" "$out" "$t's row"
done
assert_grep "^  [a-z]+ +slow:build .* 1( |\$)" "$out" "slow:build's row"

python3 - "$TMP/run.json" <<'PY' || fail "the --json file"
import json, sys
t = {x["id"]: x for x in json.load(open(sys.argv[1]))["tasks"]}
bad = []
def want(got, exp, what):
    if got != exp:
        bad.append("%s: %r, want %r" % (what, got, exp))
for i, w in (("slow:test", "not run"), ("slow:deploy", "not run"),
             ("free:a", "queued"), ("free:b", "queued")):
    want(t[i]["status"], w, i + " status")
    want(t[i]["attempts"], 0, i + " attempts")
    want(t[i]["attempt"], 0, i + " attempt")
    want(t[i]["exit"], None, i + " exit")
want(t["slow:build"]["attempts"], 1, "slow:build attempts")
want(t["slow:build"]["attempt"], 1, "slow:build attempt")
want(t["slow:build"]["exit"], None, "slow:build exit")
for b in bad:
    print("    " + b)
sys.exit(1 if bad else 0)
PY
exit 0
