# "restore": true: a task whose outputs its dependents' own commands bring
# (as `turbo run` restores the dependencies it runs with). Two agents,
# each in its own checkout with --parallel 2, build two of four such libs
# each; the apps need them. An app whose agent lacks some of its libs
# copies them itself, under a lock in the checkout that fails with 42 if
# taken: the agent runs one such app at a time, and once an app succeeded
# its libs count as there (the next app on that agent copies nothing).
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis
store="$TMP/store"
mkdir -p "$store"

# lib.sh LIB: build LIB on this checkout once both agents build a lib.
lib_script "$TMP/lib.sh" "$store" 0.3

# app.sh APP LIB...: copy the libs missing here from the store (under
# the checkout's lock), then check them all.
cat >"$TMP/app.sh" <<EOF
app=\$1
shift
missing=
for l in "\$@"; do
	[ -f "out/\$l" ] || missing="\$missing \$l"
done
if [ -n "\$missing" ]; then
	if ! mkdir .restoring 2>/dev/null; then
		echo "\$app \$DTEQ_AGENT" >>"$store/collisions"
		exit 42
	fi
	for l in \$missing; do
		echo "\$l \$DTEQ_AGENT \$app" >>"$store/restores.log"
		cp "$store/\$l" "out/\$l"
	done
	sleep 0.3
	rmdir .restoring
fi
for l in "\$@"; do
	[ -f "out/\$l" ] || { echo "\$app: out/\$l missing"; exit 8; }
done
echo "\$app ran on \$DTEQ_AGENT"
EOF

tf="$TMP/inline.json"
for l in l1 l2 l3 l4; do
	add_task "$tf" "$l" "sh $TMP/lib.sh $l" "" "\"restore\": true"
done
for a in app1 app2 app3 app4; do
	add_task "$tf" "$a" "sh $TMP/app.sh $a l1 l2 l3 l4" "l1 l2 l3 l4"
done
add_task "$tf" app5 "sh $TMP/app.sh app5 l1 l2" "l1 l2"
add_task "$tf" app6 "sh $TMP/app.sh app6 l3 l4" "l3 l4"
taskfile "$tf"

checkout_agents --parallel 2
submit submit "$tf"
agents_exit_ok 15 a1 a2
out="$TMP/submit.out"

assert_no_file "$store/collisions" "two apps restored at once on one agent"
assert_eq "$SUBMIT_RC" 0 "dteq submit exit status"
for t in l1 l2 l3 l4 app1 app2 app3 app4 app5 app6; do
	assert_eq "$(result_field "$RUN" "$t" status)" success "status of $t"
done
restores_ok "$store"
while read -r lib agent app; do
	# The app's block announced what its command would restore.
	awk -v t="$app" '$1 == ">" && $2 == t { on = 1; next }
	    $1 == "<" { on = 0 } on' "$out" |
	    grep -q "^dteq: restoring the outputs of .*$lib.*: the task's own command does\$" ||
	    fail "$app's block does not say it restores $lib"
done <"$store/restores.log"
exit 0
