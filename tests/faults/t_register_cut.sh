# Fault: the connection submit registers the run on is cut after Redis's
# first reply (a network cut, not a refusal). Submit must say so, start
# the registration again on a new connection and run the graph: exit 0,
# every task once. Between submit and the real redis-server sits a small
# TCP relay that cuts its first connection and passes the others.
# timeout: 60

. "$TOP/tests/faults/faultlib.sh"

start_redis

cat >"$TMP/relay.py" <<'PY'
import os, socket, sys, threading
upstream = int(sys.argv[1])
lsock = socket.socket()
lsock.bind(("127.0.0.1", 0))
lsock.listen(64)
with open(sys.argv[2] + ".new", "w") as f:
    f.write(str(lsock.getsockname()[1]))
os.rename(sys.argv[2] + ".new", sys.argv[2])

def pipe(src, dst, cut):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
            if cut:
                break
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

n = 0
while True:
    c, _ = lsock.accept()
    n += 1
    u = socket.create_connection(("127.0.0.1", upstream))
    # The first connection dies after the server's first reply.
    threading.Thread(target=pipe, args=(c, u, False), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c, n == 1), daemon=True).start()
PY
bg relay python3 "$TMP/relay.py" "$REDIS_PORT" "$TMP/relay.port"
wait_for "[ -s '$TMP/relay.port' ]" 10 || fail "the relay did not start"
url="redis://127.0.0.1:$(cat "$TMP/relay.port")"

tf="$TMP/cut.json"
for i in 1 2 3 4; do
	dep=""
	[ "$i" -gt 2 ] && dep="t$((i - 2))"
	add_task "$tf" "t$i" "echo x >>$TMP/runs.t$i" "$dep"
done
taskfile "$tf"

start_agent a --parallel 2
timeout --foreground -k 5 40 "$DTEQ" submit --redis "$url" --run "$RUN" \
    "$tf" >"$TMP/submit.out" 2>"$TMP/submit.err"
rc=$?
cat "$TMP/submit.err"
assert_eq "$rc" 0 "submit exit status"
assert_grep "registering the run failed: .*; trying again" "$TMP/submit.err" \
    "submit says the first registration was cut"
agents_exit_ok 20 a
for i in 1 2 3 4; do
	assert_eq "$(runs_of "$TMP" "t$i")" 1 "runs of t$i"
	assert_eq "$(result_field "$RUN" "t$i" status)" success "status of t$i"
done
exit 0
