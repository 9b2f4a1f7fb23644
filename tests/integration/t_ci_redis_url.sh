# On a CI job (the CI's own variables say so: CI, GITHUB_ACTIONS,
# GITLAB_CI, BITBUCKET_BUILD_NUMBER, ...), a DTEQ_REDIS_URL that is empty
# or not set (a fork's pipeline gets no secrets) is an error that names
# the variable to set and the CI variable that made it one, exit 2 at
# once, with no connection tried; --redis still works there, and off CI
# the default (redis://127.0.0.1:6379) stays.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

start_redis
url=$REDIS_URL
unset DTEQ_REDIS_URL

tf="$TMP/tasks.json"
add_task "$tf" a "echo a"
taskfile "$tf"

# env_cli NAME VARS... -- ARGS...: `dteq ARGS` with VARS in its
# environment, as run_cli runs it (RC, TOOK, $TMP/NAME.out and .err).
env_cli() {
	_en=$1
	shift
	_vars=""
	while [ "$1" != -- ]; do
		_vars="$_vars $1"
		shift
	done
	shift
	_et0=$(date +%s)
	# shellcheck disable=SC2086
	timeout -k 2 15 env $_vars "$DTEQ" "$@" >"$TMP/$_en.out" \
	    2>"$TMP/$_en.err" </dev/null
	RC=$?
	TOOK=$(($(date +%s) - _et0))
	FIRST_VAR=$(echo "$_vars" | awk '{ print $1 }')
}

# on_ci NAME WHY VARS... -- ARGS...: `dteq ARGS` with VARS exits 2 within
# 5 s, its stderr says DTEQ_REDIS_URL is WHY (empty, not set) and names
# the first of VARS as the CI variable; it names no server (127.0.0.1).
on_ci() {
	_n=$1
	_why=$2
	shift 2
	env_cli "$_n" "$@"
	_first=$FIRST_VAR
	assert_eq "$RC" 2 "$_n: exit status without a Redis URL on CI"
	[ "$TOOK" -le 5 ] || fail "$_n took $TOOK s to refuse"
	assert_grep "DTEQ_REDIS_URL is $_why" "$TMP/$_n.err" \
	    "$_n: says the URL is $_why"
	assert_grep "\\(${_first%%=*} is set\\)" "$TMP/$_n.err" \
	    "$_n: names the CI variable"
	assert_grep "set DTEQ_REDIS_URL" "$TMP/$_n.err" \
	    "$_n: says which variable to set"
	assert_no_grep '127\.0\.0\.1' "$TMP/$_n.err" \
	    "$_n: falls back to the default"
}

log "GitHub Actions, DTEQ_REDIS_URL not set"
on_ci gh.submit "not set" GITHUB_ACTIONS=true CI=true GITHUB_RUN_ID=7 -- \
    submit "$tf"
on_ci gh.work "not set" GITHUB_ACTIONS=true CI=true GITHUB_RUN_ID=7 -- \
    work

log "GitLab, DTEQ_REDIS_URL empty (a secret the pipeline did not get)"
on_ci gl.work empty GITLAB_CI=true CI=true CI_PIPELINE_ID=8 DTEQ_REDIS_URL= -- \
    work
on_ci gl.status empty GITLAB_CI=true CI_PIPELINE_ID=8 DTEQ_REDIS_URL= -- \
    status

log "Bitbucket (no CI variable besides its own)"
on_ci bb.submit "not set" BITBUCKET_BUILD_NUMBER=9 -- \
    submit "$tf"
on_ci bb.stop "not set" BITBUCKET_BUILD_NUMBER=9 -- stop

log "any CI that sets CI: cancel, logs, record, cache"
on_ci ci.cancel "not set" CI=true -- cancel --run r1
on_ci ci.logs "not set" CI=1 -- logs --run r1 a
on_ci ci.record "not set" CI=true -- record --run r1 -- true
on_ci ci.cache empty CI=true DTEQ_REDIS_URL= -- cache

log "on CI, --redis and DTEQ_REDIS_URL are taken"
env_cli flag CI=true GITHUB_ACTIONS=true -- status --redis "$url" \
    --run nosuchrun
assert_eq "$RC" 1 "status --redis on CI (no such run)"
env_cli envurl CI=true GITLAB_CI=true DTEQ_REDIS_URL="$url" -- \
    status --run nosuchrun
assert_eq "$RC" 1 "status with DTEQ_REDIS_URL on CI (no such run)"

log "off CI (or CI=false) the default stays"
for v in "" CI=false; do
	# shellcheck disable=SC2086
	env_cli off $v -- status --run nosuchrun --connect-timeout 1
	assert_no_grep 'DTEQ_REDIS_URL is' "$TMP/off.err" \
	    "off CI ($v): no Redis URL refused"
	# 1: a Redis answers on 127.0.0.1:6379; 3: none does.
	case $RC in
	1 | 3) ;;
	*) fail "status off CI ($v) exited $RC" ;;
	esac
	[ "$RC" = 1 ] || assert_grep '127\.0\.0\.1:6379' "$TMP/off.err" \
	    "off CI ($v): the default server"
done
exit 0
