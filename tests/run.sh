#!/bin/sh
# dteq test runner: runs the unit test binaries and the integration
# scripts of each build directory given, one log per test under
# tests/logs/, and ends with one line "N passed, M failed".
#
# usage: tests/run.sh BUILDDIR [BUILDDIR...]
# TESTS="pattern..." limits the integration scripts to names matching one
# of its space-separated patterns; DTEQ_TEST_JOBS (default 2) says how
# many integration scripts run at once.

top=$(cd "$(dirname "$0")/.." && pwd)

tab=$(printf '\t')

# run.sh --one RESULTS "LIMIT<tab>BUILDDIR<tab>SCRIPT": run one integration
# script under its time limit, print its verdict (and a failure's last
# lines) in one write, and leave "pass|fail|skip VARIANT/NAME" in RESULTS.
if [ "$1" = --one ]; then
	results=$2
	IFS="$tab" read -r limit bdir s <<-EOF
	$3
	EOF
	variant=$(basename "$bdir")
	name=$(basename "$s" .sh)
	log="$top/tests/logs/$variant/$name.log"
	# "# lock: NAME": the tests naming one lock share something outside
	# their own directories (build-static/, say) and run one at a time.
	lock=$(sed -n 's/^# lock: *\([A-Za-z0-9_.-]*\).*/\1/p' "$s" | head -1)
	start=$(date +%s)
	if [ -n "$lock" ]; then
		(cd "$top" && DTEQ="$bdir/dteq" TOP="$top" \
		    flock "$results/../lock.$lock" \
		    timeout -k 5 "$limit" sh "$s") >"$log" 2>&1
	else
		(cd "$top" && DTEQ="$bdir/dteq" TOP="$top" \
		    timeout -k 5 "$limit" sh "$s") >"$log" 2>&1
	fi
	rc=$?
	secs=$(($(date +%s) - start))
	what="$variant/$name"
	if [ $rc -eq 0 ]; then
		verdict=pass out="PASS: $what (${secs}s)"
	elif [ $rc -eq 77 ]; then
		# Exit 77: the test decided not to run here (it says why).
		verdict=skip out="SKIP: $what ($(tail -1 "$log" |
		    sed 's/^== [^:]*: //'))"
	else
		[ $rc -eq 124 ] && echo "   timed out after ${limit}s" >>"$log"
		verdict=fail out="FAIL: $what (exit $rc, ${secs}s)
$(tail -25 "$log" | sed 's/^/    | /')"
	fi
	printf '%s\n' "$out"
	echo "$verdict $what" >"$results/$variant.$name"
	exit 0
fi

passed=0
failed=0
failures=""

fail() {
	failed=$((failed + 1))
	failures="$failures $1"
	echo "FAIL: $1"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/dteq-run.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
queue="$work/queue"
results="$work/results"
mkdir "$results"
: >"$queue"

for build in "$@"; do
	bdir=$(cd "$top/$build" 2>/dev/null && pwd) || {
		fail "$build (no such build directory)"
		continue
	}
	variant=$(basename "$bdir")
	logdir="$top/tests/logs/$variant"
	rm -rf "$logdir"
	mkdir -p "$logdir"
	echo "== $variant: unit tests"
	for t in "$bdir"/tests/unit/test_*; do
		[ -x "$t" ] || continue
		case "$t" in *.d|*.o) continue ;; esac
		name=$(basename "$t")
		log="$logdir/$name.log"
		(cd "$top" && timeout 120 "$t") >"$log" 2>&1
		rc=$?
		np=$(grep -c '^PASS: ' "$log")
		nf=$(grep -c '^FAIL: ' "$log")
		passed=$((passed + np))
		failed=$((failed + nf))
		grep '^FAIL: ' "$log" | sed "s|^FAIL: |FAIL: $variant/$name: |"
		if [ "$nf" -gt 0 ]; then
			failures="$failures $variant/$name"
			sed -n '/^    /p' "$log" | head -20
		fi
		if [ $rc -ne 0 ] && [ "$nf" -eq 0 ]; then
			fail "$variant/$name (exit $rc)"
			tail -20 "$log"
		fi
		echo "   $name: $np passed, $nf failed"
	done
	# The integration scripts of this build, queued for below.
	for s in "$top"/tests/integration/t_*.sh "$top"/tests/faults/t_*.sh; do
		[ -f "$s" ] || continue
		name=$(basename "$s" .sh)
		if [ -n "$TESTS" ]; then
			_hit=0
			for _p in $TESTS; do
				case "$name" in *"$_p"*) _hit=1 ;; esac
			done
			[ $_hit = 1 ] || continue
		fi
		# "# slow: ...": a variant of a scenario another test covers, run
		# only with DTEQ_SLOW=1 so the suite stays within its budget.
		if grep -q '^# slow:' "$s" && [ "${DTEQ_SLOW:-0}" != 1 ]; then
			echo "SKIP: $variant/$name (slow variant; DTEQ_SLOW=1)"
			continue
		fi
		limit=$(sed -n 's/^# timeout: *\([0-9]*\).*/\1/p' "$s" | head -1)
		[ -n "$limit" ] || limit=120
		printf '%s\t%s\t%s\n' "$limit" "$bdir" "$s" >>"$queue"
	done
done

# The integration scripts of every build, DTEQ_TEST_JOBS at a time (2 by
# default; 1 runs them one after another). Each test has its own
# redis-server, port and directory, so two never share state. The longest
# allowed go first, so that a long one does not start last and leave the
# other slot idle.
jobs=${DTEQ_TEST_JOBS:-2}
case "$jobs" in ''|*[!0-9]*|0) echo "DTEQ_TEST_JOBS=$jobs: not a count" >&2
	exit 2 ;;
esac
if [ -s "$queue" ]; then
	echo "== integration tests ($jobs at a time)"
	sort -s -t "$tab" -k1,1nr "$queue" |
	    xargs -d '\n' -n 1 -P "$jobs" sh "$top/tests/run.sh" --one "$results"
fi
# Every queued test must have left its verdict; one that did not failed.
while IFS="$tab" read -r limit bdir s; do
	r="$results/$(basename "$bdir").$(basename "$s" .sh)"
	[ -f "$r" ] || echo "fail $(basename "$bdir")/$(basename "$s" .sh)" \
	    "(no verdict)" >"$r"
done <"$queue"
for r in "$results"/*; do
	[ -f "$r" ] || continue
	read -r verdict what <"$r"
	case "$verdict" in
	pass) passed=$((passed + 1)) ;;
	fail) failed=$((failed + 1)); failures="$failures $what" ;;
	esac
done

# The fuzz targets of a fuzz build (make fuzz-bin), each for a bounded
# time: a crash counts as a failed test.
if [ -n "$FUZZ_BUILD" ]; then
	echo "== $FUZZ_BUILD: fuzz targets (${FUZZ_SECONDS:-10}s each)"
	flog="$top/tests/logs/fuzz.log"
	mkdir -p "$top/tests/logs"
	"$top/tests/fuzz/run.sh" "$FUZZ_BUILD" "${FUZZ_SECONDS:-10}" \
	    >"$flog" 2>&1
	np=$(grep -c '^PASS: fuzz_' "$flog")
	nf=$(grep -c '^FAIL: fuzz_' "$flog")
	if [ "$np" -eq 0 ] && [ "$nf" -eq 0 ]; then
		fail "fuzz (no target ran; see $flog)"
	else
		passed=$((passed + np))
		failed=$((failed + nf))
		grep -E '^(PASS|FAIL): fuzz_' "$flog"
		[ "$nf" -gt 0 ] && failures="$failures fuzz" &&
		    grep -E '^   \|' "$flog" | head -20
	fi
fi

[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
