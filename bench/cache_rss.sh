#!/bin/sh
# dteq cache: throughput and peak memory of large artifact round trips.
#
# Starts a private redis-server on a unix socket in a temporary directory
# and `dteq cache` on it, then for each SIZE (MiB) uploads a random file
# of that size (Content-Length), downloads it at full speed and checks
# the bytes; prints the time of each transfer, MB/s, and the peak RSS
# (VmHWM of /proc/PID/status) of the dteq cache process after it, next
# to the artifact's size. The server streams bodies in 1 MiB chunks with
# a few MiB in flight, so the peak should not grow with SIZE.
#
# usage: bench/cache_rss.sh [DTEQ] [SIZE...]   (default ./dteq, 100 200)

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
dteq=${1:-$top/dteq}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- 100 200
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dteq-cache-bench.XXXXXX")
redis_pid=""
cache_pid=""
cleanup() {
	[ -n "$cache_pid" ] && kill "$cache_pid" 2>/dev/null
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

redis-server --port 0 --unixsocket "$tmp/redis.sock" --save '' \
    --appendonly no --dir "$tmp" --logfile "$tmp/redis.log" &
redis_pid=$!
n=0
until redis-cli -s "$tmp/redis.sock" ping >/dev/null 2>&1; do
	n=$((n + 1))
	[ $n -lt 50 ] || { echo "redis-server did not start" >&2; exit 1; }
	sleep 0.1
done

max=0
for s in "$@"; do
	[ "$s" -gt "$max" ] && max=$s
done
"$dteq" cache --redis "unix://$tmp/redis.sock" --token bench \
    --max-size "$((max + 1))M" >"$tmp/cache.out" 2>"$tmp/cache.err" &
cache_pid=$!
n=0
until [ -s "$tmp/cache.out" ]; do
	n=$((n + 1))
	[ $n -lt 50 ] || { cat "$tmp/cache.err" >&2; exit 1; }
	sleep 0.1
done
url=$(head -n 1 "$tmp/cache.out")

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}
hwm() {
	awk '$1 == "VmHWM:" { print $2 }' "/proc/$cache_pid/status"
}

echo "dteq cache at $url; before: VmHWM $(hwm) kB"
printf '%8s %10s %10s %10s %10s %12s\n' size up_ms up_MB/s down_ms \
    down_MB/s VmHWM_kB
for s in "$@"; do
	head -c $((s * 1048576)) /dev/urandom >"$tmp/a.bin"
	t0=$(now_ms)
	curl -sS -f -o /dev/null -H 'Authorization: Bearer bench' -X PUT \
	    --data-binary @"$tmp/a.bin" "$url/v1/cache/$s$$"
	t1=$(now_ms)
	curl -sS -f -o "$tmp/b.bin" -H 'Authorization: Bearer bench' \
	    "$url/v1/cache/$s$$"
	t2=$(now_ms)
	cmp -s "$tmp/a.bin" "$tmp/b.bin" || { echo "bytes differ" >&2; exit 1; }
	rm -f "$tmp/b.bin"
	printf '%6sMB %10d %10d %10d %10d %12s\n' "$s" $((t1 - t0)) \
	    $((s * 1048576 / 1000 / (t1 - t0 + 1))) $((t2 - t1)) \
	    $((s * 1048576 / 1000 / (t2 - t1 + 1))) "$(hwm)"
done
