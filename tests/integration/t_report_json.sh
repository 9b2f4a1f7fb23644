# --json writes the machine-readable summary: every task's final state,
# agent, attempts, flakiness and times, every attempt, the counts, the
# critical path (a chain of dependencies whose durations add up to its
# length) and wall time against task time. Checked with a JSON parser.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

need_cmd python3
start_redis

tf="$TMP/json.json"
tasks "$tf" <<'TASKS'
lib:build |           |              | sleep 0.4; echo built
lib:test  | lib:build |              | sleep 0.3
app:build | lib:build |              | sleep 0.6
app:test  | app:build | "retries": 2 | [ "$DTEQ_ATTEMPT" -gt 1 ] || exit 1; sleep 0.2
app:lint  |           |              | exit 3
app:docs  | app:lint  |              | echo never
TASKS

start_agent a1 --parallel 2
start_agent a2 --parallel 2
json="$TMP/out/summary.json"
submit submit --json "$json" "$tf"
assert_eq "$SUBMIT_RC" 1 "dteq submit exit status"
agents_exit_ok 15 a1 a2
assert_file "$json" "JSON summary"

python3 - "$json" "$RUN" >"$TMP/check" 2>&1 <<'EOF' || fail "$(cat "$TMP/check")"
import json, sys

d = json.load(open(sys.argv[1]))
def want(got, exp, what):
    if got != exp:
        sys.exit("%s: got %r, want %r" % (what, got, exp))

want(d["run"], sys.argv[2], "run")
want(d["result"], "failed", "result")
want(d["exit"], 1, "exit")
c = d["counts"]
want((c["tasks"], c["success"], c["failed"], c["skipped"], c["flaky"],
      c["not_finished"]), (6, 4, 1, 1, 1, 0), "counts")
t = {x["id"]: x for x in d["tasks"]}
want(sorted(t), sorted(["lib:build", "lib:test", "app:build", "app:test",
     "app:lint", "app:docs"]), "task ids")
want(t["app:test"]["status"], "success", "app:test status")
want(t["app:test"]["attempts"], 2, "app:test attempts")
want(t["app:test"]["flaky"], True, "app:test flaky")
want(t["lib:build"]["flaky"], False, "lib:build flaky")
want(t["app:lint"]["status"], "failed", "app:lint status")
want(t["app:lint"]["exit"], 3, "app:lint exit")
want(t["app:docs"]["status"], "skipped", "app:docs status")
want(t["app:docs"]["agent"], None, "app:docs agent")
want(t["app:docs"]["reason"], "dependency app:lint failed", "app:docs reason")
want(t["app:docs"]["attempts"], 0, "app:docs attempts (skipped: it never ran)")
want(t["app:docs"]["exit"], None, "app:docs exit (skipped: none)")
want(t["app:lint"]["attempts"], 1, "app:lint attempts")
want(t["app:build"]["deps"], ["lib:build"], "app:build deps")
for x in d["tasks"]:
    if x["status"] in ("success", "failed"):
        if x["agent"] not in ("a1", "a2"):
            sys.exit("agent of %s: %r" % (x["id"], x["agent"]))
        if not x["end"] >= x["start"] > 0:
            sys.exit("times of %s" % x["id"])
want(len(d["attempts"]), 6, "attempts (app:test twice, app:docs never)")
want(sorted(a["attempt"] for a in d["attempts"] if a["id"] == "app:test"),
     [1, 2], "attempt numbers of app:test")

p = d["critical_path"]
want(p["tasks"], ["lib:build", "app:build", "app:test"], "critical path")
for a, b in zip(p["tasks"], p["tasks"][1:]):
    if a not in t[b]["deps"]:
        sys.exit("critical path: %s does not depend on %s" % (b, a))
total = sum(t[x]["task_ms"] for x in p["tasks"])
want(p["duration_ms"], total, "critical path length")
if not (1200 <= total <= 5000):
    sys.exit("critical path of %d ms" % total)
for x in p["tasks"]:
    want(t[x]["critical"], True, "critical flag of " + x)
want(t["app:lint"]["critical"], False, "critical flag of app:lint")

if not (0 < d["wall_ms"] and 0 < d["task_ms"]):
    sys.exit("times: %r %r" % (d["wall_ms"], d["task_ms"]))
if abs(d["speedup"] - d["task_ms"] / d["wall_ms"]) > 0.01:
    sys.exit("speedup %r" % d["speedup"])
EOF

out="$TMP/submit.out"
assert_grep '^Critical path: [0-9.]+s over 3 tasks \([0-9]+% of the wall time\)$' \
    "$out" "critical path line"
assert_grep '^  lib:build [0-9.]+s > app:build [0-9.]+s > app:test [0-9.]+s$' \
    "$out" "critical path tasks"
assert_grep '^  success  *app:test  *a[12]  *[0-9.]+s 2  *flaky: 2 attempts$' \
    "$out" "flaky row"
assert_grep '^6 tasks: 4 succeeded \(1 flaky\), 1 failed, 1 skipped in [0-9.]+s \(task time [0-9.]+s, [0-9.]+x\)$' \
    "$out" "closing line"
exit 0
