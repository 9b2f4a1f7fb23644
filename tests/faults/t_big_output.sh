# Output: a task prints 300 MB. The agent's memory stays bounded (VmRSS
# sampled every 0.1 s stays < 100 MB; 150 MB on an ASan build, with a small
# quarantine), submit completes, the stored log is
# capped at the run's output cap, its head and its tail with an
# "[output truncated" marker between them, the result records the full byte count, and no Redis client is
# disconnected for its output buffer. Run 1: default cap (4 MiB); run 2:
# --stream (live output over pub/sub); run 3: --stream with a 32 MiB cap
# (Redis's default pub/sub client limit is 32 MB hard, 8 MB for 60 s)
# while submit is stalled for 2 s, as a slow reader of its stdout would.
# timeout: 180

. "$TOP/tests/faults/faultlib.sh"

start_redis
bytes=300000000
limit_kb=102400
if is_asan; then
	# ASan keeps freed memory in a quarantine (256 MB by default), which
	# VmRSS counts: shrink it, and allow for the shadow memory.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
	export ASAN_OPTIONS
	limit_kb=153600
fi

tf="$TMP/big.json"
add_task "$tf" big "yes | head -c $bytes"
add_task "$tf" after "echo after" big
taskfile "$tf"

# big_run NAME CAP [SUBMIT OPTIONS...]
big_run() {
	_bn=$1
	_cap=$2
	shift 2
	_run="$RUN-$_bn"
	bg "agent.$_bn" "$DTEQ" work --redis "$REDIS_URL" --run "$_run" \
	    --name "$_bn"
	bg "submit.$_bn" "$DTEQ" submit --redis "$REDIS_URL" --run "$_run" "$@" "$tf"
	_apid=$(bg_pid "agent.$_bn")
	_spid=$(bg_pid "submit.$_bn")
	_amax=0
	_smax=0
	_t0=$(now_ms)
	_stalled=0
	while ! bg_done "submit.$_bn"; do
		# A slow reader of submit's output (a CI log pipe) stalls it:
		# here SIGSTOP for 2 s once live output has begun.
		if [ -n "${STALL:-}" ] && [ $_stalled = 0 ] &&
		    [ -s "$TMP/submit.$_bn.out" ]; then
			kill -STOP "$_spid"
			sleep 2
			kill -CONT "$_spid"
			_stalled=1
			info "$_bn: submit stalled 2 s (SIGSTOP) while the output streamed"
		fi
		[ "$(elapsed_ms "$_t0")" -lt 120000 ] ||
		    fail "submit ($_bn) still running after 120 s"
		_r=$(rss_kb "$_apid")
		[ -n "$_r" ] && [ "$_r" -gt "$_amax" ] && _amax=$_r
		_r=$(rss_kb "$_spid")
		[ -n "$_r" ] && [ "$_r" -gt "$_smax" ] && _smax=$_r
		sleep 0.1
	done
	info "$_bn: agent max VmRSS ${_amax} kB, submit max VmRSS ${_smax} kB, $(elapsed_ms "$_t0") ms"
	assert_eq "$(bg_rc "submit.$_bn")" 0 "exit status of submit ($_bn)"
	agents_exit_ok 20 "$_bn"
	[ "$_amax" -gt 0 ] || fail "no RSS sample of the agent ($_bn)"
	[ "$_amax" -lt "$limit_kb" ] ||
	    fail "agent VmRSS reached ${_amax} kB ($_bn; want < $limit_kb)"
	[ "$_smax" -lt "$limit_kb" ] ||
	    fail "submit VmRSS reached ${_smax} kB ($_bn; want < $limit_kb)"
	_key="dteq:{$_run}:log:1:big"
	_len=$(rcli strlen "$_key")
	info "$_bn: stored log $_len bytes (cap $_cap)"
	[ "$_len" -ge "$_cap" ] || fail "stored log of big is $_len bytes, less than the cap $_cap"
	[ "$_len" -le $((_cap + 256)) ] ||
	    fail "stored log of big is $_len bytes, over the cap $_cap"
	# The marker after the head (the first 3/4 of the cap), the tail
	# after it: the task's last bytes.
	_head=$((_cap - _cap / 4))
	rcli getrange "$_key" $((_head - 10)) $((_head + 300)) >"$TMP/mid.$_bn"
	assert_grep '\[output truncated' "$TMP/mid.$_bn" \
	    "the stored log ($_bn) has no [output truncated marker after its head"
	sed 's/^/    marker: /' "$TMP/mid.$_bn" | grep -v '^    marker: y$' | head -3
	rcli getrange "$_key" -200 -1 >"$TMP/tail.$_bn"
	assert_no_grep 'truncated' "$TMP/tail.$_bn" \
	    "the stored log ($_bn) ends with the marker, not the task's end"
	assert_eq "$(grep -v '^$' "$TMP/tail.$_bn" | tail -1)" y "the last line of the log ($_bn)"
	assert_eq "$(result_field "$_run" big output)" "$bytes" \
	    "output bytes recorded for big ($_bn)"
	assert_eq "$(result_field "$_run" big status)" success "status of big ($_bn)"
	assert_eq "$(result_field "$_run" after status)" success "status of after ($_bn)"
	assert_grep '\[output truncated' "$TMP/submit.$_bn.out" \
	    "submit's block of big ($_bn) has no truncation marker"
}

log "run 1: default output cap"
big_run plain 4194304
no_obl_kill() {
	if grep -i 'output buffer limits' "$TMP/redis.log" >"$TMP/obl"; then
		sed 's/^/    redis: /' "$TMP/obl" | cut -c1-240 | head -5
		fail "Redis disconnected a client for its output buffer ($1)"
	fi
}
no_obl_kill plain
log "run 2: --stream, default cap"
big_run stream 4194304 --stream
no_obl_kill stream
log "run 3: --stream, 32 MiB cap, submit stalled 2 s"
STALL=1 big_run stream32 33554432 --stream --output-cap 33554432
no_obl_kill stream32
exit 0
