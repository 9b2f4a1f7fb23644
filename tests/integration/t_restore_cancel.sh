# dteq cancel while agents restore: each of two agents (own checkout,
# --parallel 2) builds two of four libraries, then takes two of four apps
# that need all four. On each agent one app runs a long restore and the
# other waits for the restore lock. A cancel kills the restores, the
# waiting apps never run, the agents exit 0 at once and submit exits 3.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis

# A library build waits until both agents build one.
two_agents_script "$TMP/two.sh"

tf="$TMP/cancel.json"
for l in l1 l2 l3 l4; do
	add_task "$tf" "$l" "sh $TMP/two.sh && sleep 0.5" "" \
	    "\"restore\": $(json_str "echo \$\$ >$TMP/restore.\$DTEQ_TASK_ID.$l; exec sleep 60")"
done
for a in app1 app2 app3 app4; do
	add_task "$tf" "$a" "touch $TMP/ran.$a" "l1 l2 l3 l4"
done
taskfile "$tf"

checkout_agents --parallel 2
bg submit "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" \
    --agent-wait 30 "$tf"
wait_for "[ \$(ls $TMP | grep -c '^restore\\.') -ge 2 ]" 40 ||
    fail "no two restores started"
sleep 1
# One restore at a time per agent: two in all, one per agent.
assert_eq "$(ls "$TMP" | grep -c '^restore\.')" 2 "restores running"
pids=$(cat "$TMP"/restore.*)
# All four apps are held (claimed by an agent): two restore, two wait.
for a in app1 app2 app3 app4; do
	case "$(rcli hget "dteq:{$RUN}:claims" "$a")" in
	"1 a1" | "1 a2") ;;
	*) fail "$a is not held by an agent: $(rcli hget "dteq:{$RUN}:claims" "$a")" ;;
	esac
done

cancel_run
# shellcheck disable=SC2086
after_cancel restore $pids
for a in app1 app2 app3 app4; do
	assert_no_file "$TMP/ran.$a" "$a ran after the cancel"
done
exit 0
