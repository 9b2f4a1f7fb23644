# compose/: `docker-compose config` (Debian's docker-compose) validates
# docker-compose.yml, which runs redis, one submit and scalable agents on
# one run id and one Redis URL; the Dockerfile builds the static binary
# and its runtime stage installs no library; the build context leaves the
# host's build output out. No Docker engine is needed.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

command -v docker-compose >/dev/null ||
    fail "docker-compose is missing (Debian package docker-compose)"
PY=/usr/bin/python3
"$PY" -c 'import yaml' 2>/dev/null || fail "python3-yaml is missing"

yml="$TOP/compose/docker-compose.yml"
docker-compose -f "$yml" config -q 2>"$TMP/config.err" ||
    fail "docker-compose config: $(cat "$TMP/config.err")"
docker-compose -f "$yml" config --services | sort | tr '\n' ' ' \
    >"$TMP/services"
assert_eq "$(cat "$TMP/services")" "agent redis submit " "services"
DTEQ_RUN=ci-77 docker-compose -f "$yml" config >"$TMP/config.yml" ||
    fail "docker-compose config (resolved)"

"$PY" - "$TMP/config.yml" >"$TMP/check" 2>&1 <<'EOF' || fail "$(cat "$TMP/check")"
import sys, yaml

c = yaml.safe_load(open(sys.argv[1]))["services"]
sub, agent, redis = c["submit"], c["agent"], c["redis"]
def want(got, exp, what):
    if got != exp:
        sys.exit("%s: got %r, want %r" % (what, got, exp))
want(sub["command"][0], "submit", "submit's command")
want(sub["command"][-1], "/work/examples/monorepo.json", "submit's graph")
for opt in ("--junit", "--report", "--json"):
    if opt not in sub["command"]:
        sys.exit("submit writes no " + opt)
want(agent["command"][0], "work", "agent's command")
for k in ("DTEQ_RUN", "DTEQ_REDIS_URL"):
    want(agent["environment"][k], sub["environment"][k], k + " of agent")
want(sub["environment"]["DTEQ_RUN"], "ci-77", "DTEQ_RUN from the shell")
want(sub["environment"]["DTEQ_REDIS_URL"], "redis://redis:6379", "URL")
for s in (sub, agent):
    want(s["depends_on"]["redis"]["condition"], "service_healthy",
         "depends_on redis")
# Nothing in the agent service may be unique to one container, or
# --scale agent=N cannot start N of them.
for k in ("container_name", "ports", "hostname"):
    if k in agent:
        sys.exit("agent service has %s: it cannot be scaled" % k)
want(agent.get("deploy", {}).get("replicas"), 3, "agent replicas")
if "healthcheck" not in redis or not redis["image"].startswith("redis:"):
    sys.exit("redis service without image or healthcheck")
EOF

log "Dockerfile"
df="$TOP/compose/Dockerfile"
assert_grep '^FROM debian:12 AS build$' "$df" "build stage"
assert_grep 'make static' "$df" "static build"
# The runtime stage: from the last FROM on, no package is installed.
awk '/^FROM /{ n = NR } END { print n }' "$df" >"$TMP/last"
tail -n +"$(cat "$TMP/last")" "$df" >"$TMP/runtime"
assert_grep '^FROM debian:12-slim$' "$TMP/runtime" "runtime stage"
grep -q 'apt-get' "$TMP/runtime" && fail "the runtime stage installs packages"
assert_grep '^COPY --from=build /dteq /usr/local/bin/dteq$' "$TMP/runtime" \
    "the binary in the runtime stage"
assert_grep '^ENTRYPOINT \["dteq"\]$' "$TMP/runtime" "entrypoint"
for d in build build-static dteq tests/logs .git; do
	assert_grep "^$d\$" "$TOP/compose/Dockerfile.dockerignore" \
	    "$d left out of the build context"
done
exit 0
