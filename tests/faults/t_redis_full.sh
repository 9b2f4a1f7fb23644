# Fault: Redis fills up mid-run (maxmemory 12mb, maxmemory-policy
# noeviction) while 40 tasks print 1 MiB each. Every write is then
# refused ("OOM command not allowed"): before, submit and agents retried
# for ever and neither --agent-wait nor --main-lease fired. Now submit
# ends with exit 3 naming Redis's memory, and the agents, which can
# neither renew their lease nor record a result, exit 3 saying so; all
# within a bound set by the lease and the main lease.
# timeout: 180

. "$TOP/tests/faults/faultlib.sh"

start_redis
rcli config set maxmemory 12mb >/dev/null
rcli config set maxmemory-policy noeviction >/dev/null

tf="$TMP/full.json"
i=0
while [ $i -lt 40 ]; do
	i=$((i + 1))
	add_task "$tf" "big$i" "head -c 1048576 /dev/zero | tr '\\\\0' x; echo"
done
taskfile "$tf"

start_agent a1 --parallel 2
start_agent a2 --parallel 2
t0=$(now_ms)
submit_within 120 full --lease 3 --main-lease 5 --agent-wait 20 "$tf"
info "submit ended after $(elapsed_ms "$t0") ms with $SUBMIT_RC"
assert_eq "$SUBMIT_RC" 3 "exit status of the submit on a full Redis"
assert_grep 'Redis is out of memory: it uses .* of its maxmemory 12.00M \(maxmemory-policy noeviction\)' \
    "$TMP/full.err" "submit names Redis's memory"
for a in a1 a2; do
	bg_wait "agent.$a" 60
	assert_eq "$(bg_rc "agent.$a")" 3 "exit status of agent $a"
	assert_grep 'Redis is out of memory|run .* is over' \
	    "$TMP/agent.$a.err" "agent $a says why it left"
done
rcli config set maxmemory 0 >/dev/null
exit 0
