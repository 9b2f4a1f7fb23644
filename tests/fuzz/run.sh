#!/bin/sh
# Run each libFuzzer target of a fuzz build for a bounded time.
#
# usage: tests/fuzz/run.sh BUILDDIR [SECONDS]
#
# Each BUILDDIR/tests/fuzz/fuzz_NAME runs for SECONDS (default 20) with
# -max_total_time, on a working corpus in BUILDDIR/fuzz/corpus/NAME (kept
# between runs) seeded from tests/fuzz/seeds/ and the repository's task
# files. A crash, leak, timeout or sanitizer report stops that target; its
# input is saved under BUILDDIR/fuzz/artifacts/ and shown here, and the
# script exits 1 after running the others.

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: tests/fuzz/run.sh BUILDDIR [SECONDS]}
secs=${2:-20}
bdir=$(cd "$top/$build" 2>/dev/null && pwd) || {
	echo "fuzz: no build directory $build" >&2
	exit 2
}
art="$bdir/fuzz/artifacts"
mkdir -p "$art"
failed=""
ran=0

for bin in "$bdir"/tests/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	case "$bin" in *.d|*.o) continue ;; esac
	name=$(basename "$bin")
	short=${name#fuzz_}
	corpus="$bdir/fuzz/corpus/$short"
	mkdir -p "$corpus"
	case "$short" in
	messages) seeds="$top/tests/fuzz/seeds/messages" ;;
	*) seeds="$top/tests/fuzz/seeds/taskfile $top/tests/fixtures $top/examples" ;;
	esac
	log="$bdir/fuzz/$short.log"
	echo "fuzz: $name for ${secs}s"
	# shellcheck disable=SC2086
	(cd "$bdir/fuzz" && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -max_len=65536 -print_final_stats=1 \
	    -dict="$top/tests/fuzz/json.dict" \
	    -artifact_prefix="$art/$short-" "$corpus" $seeds) >"$log" 2>&1
	rc=$?
	ran=$((ran + 1))
	grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$log" |
	    sed 's/^/   /'
	if [ $rc -ne 0 ]; then
		failed="$failed $name"
		echo "FAIL: $name (exit $rc); log: $log"
		grep -E 'ERROR|SUMMARY|runtime error|deadly signal|fuzz target exited|Test unit written' "$log" |
		    head -10 | sed 's/^/   | /'
		input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		if [ -n "$input" ] && [ -f "$input" ]; then
			echo "   input ($(wc -c <"$input") bytes), escaped:"
			od -An -c "$input" | head -12 | sed 's/^/   | /'
		fi
	else
		echo "PASS: $name"
	fi
done

[ $ran -gt 0 ] || {
	echo "fuzz: no fuzz targets in $bdir/tests/fuzz" >&2
	exit 2
}
[ -z "$failed" ] || {
	echo "fuzz: failed:$failed"
	exit 1
}
echo "fuzz: $ran targets, no crash"
