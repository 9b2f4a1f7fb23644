# The finish script reads the id and attempt of the message it pops: from
# the text submit wrote when the id needs no escape, else by decoding the
# message. One agent --parallel 1 runs tasks whose ids are plain, hold a
# slash, a quote, a backslash and a non-ASCII letter, so every task after
# the first comes with the finish of the one before, and each id takes
# the path it should; then the same again with signed messages
# (DTEQ_SECRET, "v1:" in front). Each task runs once, as attempt 1 on a1;
# claims holds "1 a1" under its real id (a misread id would be claimed
# under another name, and the task dropped as stale); submit heard of each
# start from the finish that claimed it (its -v log names the agent); and
# the agent sent BLMOVE only for its first task and to wait at the end.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

start_redis

ids='plain apps/web:build q"uote back\slash café last'

one_round() {
	_tag=$1
	shift
	RUN="$RUN_BASE-$_tag"
	tf="$TMP/$_tag.json"
	n=0
	for id in $ids; do
		n=$((n + 1))
		add_task "$tf" "$id" "echo run >>$TMP/$_tag.ran.$n"
	done
	taskfile "$tf"
	rcli config resetstat >/dev/null
	bg "agent.a1" env "$@" "$DTEQ" work --redis "$REDIS_URL" --run "$RUN" \
	    --parallel 1 --name a1 --wait 30
	env "$@" timeout 60 "$DTEQ" submit -v --redis "$REDIS_URL" \
	    --run "$RUN" "$tf" >"$TMP/$_tag.out" 2>"$TMP/$_tag.err"
	assert_eq "$?" 0 "$_tag: dteq submit exit status"
	agents_exit_ok 15 a1
	n=0
	for id in $ids; do
		n=$((n + 1))
		assert_eq "$(count_lines "$TMP/$_tag.ran.$n" run)" 1 \
		    "$_tag: runs of $id"
		assert_eq "$(rcli hget "dteq:{$RUN}:claims" "$id")" "1 a1" \
		    "$_tag: claim of $id"
		assert_eq "$(result_field "$RUN" "$id" attempt)" 1 \
		    "$_tag: attempt of $id"
		grep -qF "$id started on a1" "$TMP/$_tag.err" ||
		    fail "$_tag: submit did not hear that $id started on a1"
	done
	blmove=$(cmd_calls blmove)
	log "$_tag: BLMOVE calls: $blmove"
	[ "$blmove" -le 3 ] ||
	    fail "$_tag: $blmove BLMOVEs for 6 tasks in a row (want <= 3)"
}

RUN_BASE=$RUN
one_round plain DTEQ_SECRET=
one_round signed DTEQ_SECRET=s3cret-for-the-test
exit 0
