# Restores: two agents, each in its own checkout (as on separate CI
# machines), and a shared store standing in for a remote cache. Four
# restorable libs are built two on each agent (each lib waits until both
# agents build one); the apps need all or some of them, so an app's agent
# must restore the libs the other agent built before the app runs: each
# lib at most once per agent, never one it built itself, one restore at a
# time per agent (the restore command takes a lock in the checkout and
# fails with 42 if it is taken), in the checkout root with the task's
# environment, each announced in the app's output. Then a second run
# whose restore commands fail: every app fails with the restore's exit
# status, its command never runs, the output and the result say so, and
# a failed restore is not taken for done (the next app tries again).
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis

store="$TMP/store"
mkdir -p "$store"

# lib.sh LIB: build LIB on this checkout once both agents build a lib,
# into the store the task's environment names.
# shellcheck disable=SC2016
lib_script "$TMP/lib.sh" '$STORE' 0.5

# restore.sh LIB: copy LIB from the store into out/, under a lock.
cat >"$TMP/restore.sh" <<'EOF'
: "${STORE:?restore.sh: STORE is not in the environment}"
lib=$1
if ! mkdir .restoring 2>/dev/null; then
	echo "$lib $DTEQ_AGENT" >>"$STORE/collisions"
	echo "restore.sh: another restore is running on this checkout"
	exit 42
fi
echo "$lib $DTEQ_AGENT $DTEQ_RUN $(pwd)" >>"$STORE/restores.log"
sleep 0.3
mkdir -p out && cp "$STORE/$lib" "out/$lib"
rc=$?
rmdir .restoring
echo "restore.sh: $lib from the store"
exit $rc
EOF

# fail-restore.sh LIB: a cache miss.
cat >"$TMP/fail-restore.sh" <<'EOF'
echo "$1 $DTEQ_AGENT" >>"$STORE/failed.log"
echo "fail-restore.sh: $1 is not in the store"
exit 5
EOF

# app.sh APP LIB...: from the task's cwd app/, every lib must be in
# ../out; then the app leaves a marker.
cat >"$TMP/app.sh" <<EOF
app=\$1
shift
for l in "\$@"; do
	if [ ! -f "../out/\$l" ]; then
		echo "\$app: ../out/\$l missing on \$DTEQ_AGENT"
		exit 8
	fi
done
echo "\$app ran on \$DTEQ_AGENT"
touch "$TMP/ran.\$DTEQ_RUN.\$app"
EOF

# app_agent NAME [work options...]: an agent of $RUN in its own checkout
# $TMP/NAME (with an app/ directory for the apps' cwd).
app_agent() {
	mkdir -p "$TMP/$1/app" || fail "mkdir $TMP/$1/app"
	_aa=$1
	shift
	agent_in "$_aa" "$TMP/$_aa" "$@"
}

env="\"env\": {\"STORE\": \"$store\"}"
appx="$env, \"cwd\": \"app\""

tf="$TMP/restore.json"
for l in l1 l2 l3 l4; do
	add_task "$tf" "$l" "sh $TMP/lib.sh $l" "" \
	    "$env, \"restore\": \"sh $TMP/restore.sh $l\""
done
add_task "$tf" app1 "sh $TMP/app.sh app1 l1 l2 l3 l4" "l1 l2 l3 l4" "$appx"
add_task "$tf" app2 "sh $TMP/app.sh app2 l1 l2 l3 l4" "l4 l3 l2 l1" "$appx"
add_task "$tf" app5 "sh $TMP/app.sh app5 l1 l2 l3 l4" "l1 l3 l2 l4" "$appx"
add_task "$tf" app6 "sh $TMP/app.sh app6 l1 l2 l3 l4" "l2 l4 l1 l3" "$appx"
add_task "$tf" app3 "sh $TMP/app.sh app3 l1 l2" "l1 l2" "$appx"
add_task "$tf" app4 "sh $TMP/app.sh app4 l3 l4" "l3 l4" "$appx"
# top needs the libs only through app1, which has no restore.
add_task "$tf" top "sh $TMP/app.sh top l1 l2 l3 l4" app1 "$appx"
taskfile "$tf"

log "2 agents in separate checkouts, --parallel 2"
app_agent a1 --parallel 2
app_agent a2 --parallel 2
submit submit "$tf"
agents_exit_ok 15 a1 a2
out="$TMP/submit.out"

# The most telling failures first: two restores at once on one agent, a
# restore run elsewhere than the checkout root or without the task's
# environment.
assert_no_file "$store/collisions" "two restores ran at once on one agent"
touch "$store/restores.log"
while read -r lib agent run dir; do
	assert_eq "$dir" "$TMP/$agent" "working directory of $agent's restore"
	assert_eq "$run" "$RUN" "DTEQ_RUN of $agent's restore of $lib"
done <"$store/restores.log"
for t in l1 l2 l3 l4 app1 app2 app3 app4 app5 app6 top; do
	assert_eq "$(result_field "$RUN" "$t" status)" success "status of $t"
done
assert_eq "$SUBMIT_RC" 0 "dteq submit exit status"
for t in app1 app2 app3 app4 app5 app6 top; do
	assert_file "$TMP/ran.$RUN.$t" "app $t did not run"
done

# Each agent built two libs; restores happened, each (lib, agent) once,
# never on the builder, and brought the lib.
restores_ok "$store"
while read -r lib agent _; do
	assert_eq "$(cat "$TMP/$agent/out/$lib")" \
	    "$(cat "$store/$lib")" "$lib restored on $agent"
done <"$store/restores.log"
for a in a1 a2; do
	assert_no_file "$TMP/$a/.restoring" "restore lock left on $a"
done

# The restores, as the task blocks of submit's output show them: the
# line, then the command's own output, in a block of an agent that ran
# it. "AGENT LIB" per restore, to compare with the store's log.
awk -v cmd="sh $TMP/restore.sh " '
/^> / {
	agent = $3; sub(/^\(/, "", agent); sub(/,$/, "", agent)
	task = $2; want = ""; next
}
/^< / { task = ""; next }
want != "" {
	if ($0 != "restore.sh: " want " from the store")
		print "BAD after the restoring line of " want ": " $0
	want = ""
}
task != "" && /^dteq: restoring the outputs of / {
	line = $0; sub(/^dteq: restoring the outputs of /, "", line)
	lib = line; sub(/:.*/, "", lib)
	if (line != lib ": " cmd lib)
		print "BAD restoring line in " task ": " $0
	print agent, lib
	want = lib
}' "$out" >"$TMP/shown"
assert_no_grep '^BAD' "$TMP/shown" "restoring lines in submit's output"
sort "$TMP/shown" >"$TMP/shown.sorted"
awk '{ print $2, $1 }' "$store/restores.log" | sort >"$TMP/logged.sorted"
cmp -s "$TMP/shown.sorted" "$TMP/logged.sorted" ||
    fail "restores shown ($(tr '\n' ';' <"$TMP/shown.sorted")) are not" \
    "the restores run ($(tr '\n' ';' <"$TMP/logged.sorted"))"
assert_grep '^dteq: restoring the outputs of l[1-4]: ' "$out" \
    "a restoring line in submit's output"

# A failing restore: a second run, two fresh agents in fresh checkouts,
# two libs (one on each) whose restore commands fail with 5. An app's
# agent lacks the lib the other agent built: the app fails with 5 before
# its command. Three apps on two agents (--parallel 1): two of them ran
# one after the other on one agent, and the second tried again.
RUN="$RUN-fail"
tf="$TMP/fail.json"
for l in x y; do
	add_task "$tf" "$l" "sh $TMP/lib.sh $l" "" \
	    "$env, \"restore\": \"sh $TMP/fail-restore.sh $l\""
done
for t in bad1 bad2 bad3; do
	add_task "$tf" "$t" "sh $TMP/app.sh $t x y" "x y" "$appx"
done
add_task "$tf" after "sh $TMP/app.sh after" bad1 "$appx"
taskfile "$tf"

log "failing restores: 2 agents, --parallel 1"
app_agent b1
app_agent b2
submit submit2 "$tf"
assert_eq "$SUBMIT_RC" 1 "dteq submit exit status with failed restores"
agents_exit_ok 15 b1 b2
out="$TMP/submit2.out"

assert_eq "$(result_field "$RUN" x status)" success "status of x"
assert_eq "$(result_field "$RUN" y status)" success "status of y"
assert_eq "$(result_field "$RUN" after status)" skipped "status of after"
for t in bad1 bad2 bad3; do
	assert_eq "$(result_field "$RUN" "$t" status)" failed "status of $t"
	assert_eq "$(result_field "$RUN" "$t" exit)" 5 "exit of $t"
	rcli hget "dteq:{$RUN}:results" "$t" >"$TMP/result.$t"
	assert_grep '"reason":"[^"]*restoring[^"]*failed' "$TMP/result.$t" \
	    "reason of $t"
	assert_no_file "$TMP/ran.$RUN.$t" "$t ran although its restore failed"
	agent=$(result_field "$RUN" "$t" agent)
	case $agent in
	b1) lib=$(grep ' b2$' "$store/built.log" | cut -d' ' -f1) ;;
	b2) lib=$(grep ' b1$' "$store/built.log" | cut -d' ' -f1) ;;
	*) fail "agent of $t is '$agent'" ;;
	esac
	sed -n "/^> $t (/,/^< $t: /p" "$out" >"$TMP/block.$t"
	line="dteq: restoring the outputs of $lib: sh $TMP/fail-restore.sh $lib"
	assert_eq "$(grep -c "^$line\$" "$TMP/block.$t")" 1 \
	    "restoring lines in the output of $t"
	assert_grep "^fail-restore.sh: $lib is not in the store\$" \
	    "$TMP/block.$t" "the failed restore's output in the output of $t"
	assert_no_grep "ran on" "$TMP/block.$t" "$t's command output"
	assert_eq "$(count_lines "$TMP/block.$t" "< $t: failed (exit 5)")" 1 \
	    "'failed (exit 5)' footer of $t"
done
# One failed restore per app: the second app on an agent did not take
# the first one's failed restore for done.
assert_eq "$(wc -l <"$store/failed.log")" 3 "failed restore attempts"
exit 0
