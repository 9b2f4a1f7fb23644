# Runs never mix: two repositories' pipelines with one run id on one
# server (Bitbucket's BITBUCKET_BUILD_NUMBER counts per repository). Repo
# A's pipeline #42 is open, holding a task, when repo B's #42 submits: B's
# run is a run of its own (its keys carry B's repository), its task runs
# on B's agent in B's checkout, nothing of A's shows in B's output nor of
# B's in A's, and each submit exits 0. dteq status in each repository's
# environment finds its own run, and `dteq status --list` shows both with
# their repositories.
# timeout: 90

. "$TOP/tests/integration/lib.sh"

unset DTEQ_REPO
start_redis
BITBUCKET_BUILD_NUMBER=42
export BITBUCKET_BUILD_NUMBER

cat >"$TMP/hold.sh" <<EOS
echo "\$DTEQ_TASK_ID on \$DTEQ_AGENT in \$(pwd)"
n=0
while [ ! -e "$TMP/go" ] && [ \$n -lt 400 ]; do sleep 0.1; n=\$((n + 1)); done
EOS
say='echo "$DTEQ_TASK_ID on $DTEQ_AGENT in $(pwd)"'
add_task "$TMP/a.json" a:hold "touch $TMP/a-started; sh $TMP/hold.sh"
add_task "$TMP/a.json" a:two "$say" a:hold
taskfile "$TMP/a.json"
add_task "$TMP/b.json" b:one "$say"
taskfile "$TMP/b.json"

# in_repo REPO DIR CMD...: CMD in DIR with Bitbucket's repository variable.
in_repo() {
	_r=$1
	_d=$2
	shift 2
	mkdir -p "$_d"
	(cd "$_d" && BITBUCKET_REPO_FULL_NAME=$_r "$@")
}

bg agent.a1 in_repo acme/repo-a "$TMP/A" "$DTEQ" work --redis "$REDIS_URL" \
    --name a1 --wait 60
bg agent.b1 in_repo acme/repo-b "$TMP/B" "$DTEQ" work --redis "$REDIS_URL" \
    --name b1 --wait 60

log "repo A's pipeline 42, holding a task"
bg subA in_repo acme/repo-a "$TMP/A" "$DTEQ" submit --redis "$REDIS_URL" \
    "$TMP/a.json"
wait_for "[ -e '$TMP/a-started' ]" 30 || fail "a:hold never started"

log "repo B's pipeline 42 while A's is open"
bg subB in_repo acme/repo-b "$TMP/B" "$DTEQ" submit --redis "$REDIS_URL" \
    "$TMP/b.json"
bg_wait subB 30
assert_eq "$(bg_rc subB)" 0 "exit status of B's submit"
assert_no_grep 'resuming' "$TMP/subB.err" "B's submit resumed a run"
assert_grep "^b:one on b1 in $TMP/B\$" "$TMP/subB.out" \
    "B's task ran on B's agent in B's checkout"
assert_no_grep 'a:(hold|two)' "$TMP/subB.out" "A's tasks in B's output"
assert_grep '^1 tasks?: 1 succeeded' "$TMP/subB.out" "B's summary"

log "each repository's status finds its own run"
in_repo acme/repo-b "$TMP/B" "$DTEQ" status --redis "$REDIS_URL" \
    >"$TMP/statusB.out" 2>&1
assert_grep '^run 42 \(repository acme/repo-b\): done' "$TMP/statusB.out" \
    "B's status"
in_repo acme/repo-a "$TMP/A" "$DTEQ" status --redis "$REDIS_URL" \
    >"$TMP/statusA.out" 2>&1
assert_grep '^run 42 \(repository acme/repo-a\): running' \
    "$TMP/statusA.out" "A's status while it holds a:hold"
"$DTEQ" status --redis "$REDIS_URL" --list >"$TMP/list.out" 2>&1
assert_grep '^42 +running .* acme/repo-a$' "$TMP/list.out" "A in --list"
assert_grep '^42 +done .* acme/repo-b$' "$TMP/list.out" "B in --list"
assert_eq "$(rcli --scan --pattern 'dteq:{42@*}:meta' | wc -l)" 2 \
    "meta keys of run 42"
assert_eq "$(rcli exists 'dteq:{42}:meta')" 0 \
    "a run 42 without a repository"

log "A goes on"
touch "$TMP/go"
bg_wait subA 30
assert_eq "$(bg_rc subA)" 0 "exit status of A's submit"
assert_grep "^a:hold on a1 in $TMP/A\$" "$TMP/subA.out" "a:hold on a1"
assert_grep "^a:two on a1 in $TMP/A\$" "$TMP/subA.out" "a:two on a1"
assert_no_grep 'b:one' "$TMP/subA.out" "B's task in A's output"
agents_exit_ok 15 a1 b1
exit 0
