# An invalid task file is rejected whole before anything is written: exit
# 2, a message on stderr naming the task or field, and an empty Redis.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

start_redis

# reject NAME WHAT PATTERN... <FILE: `dteq submit` of the task file on
# stdin, kept as $TMP/NAME.json, exits 2, every PATTERN (extended regexp)
# is on its stderr, and Redis is still empty.
reject() {
	_n=$1
	log "$2"
	shift 2
	cat >"$TMP/$_n.json"
	submit "$_n" --agent-wait 5 "$TMP/$_n.json"
	assert_eq "$SUBMIT_RC" 2 "dteq submit exit status on $_n"
	[ -s "$TMP/$_n.err" ] || fail "$_n: nothing on stderr"
	for _pat in "$@"; do
		assert_grep "$_pat" "$TMP/$_n.err" "$_n: the error names '$_pat'"
	done
	assert_eq "$(rcli dbsize)" 0 "keys in Redis after $_n"
}

reject cycle "cycle" '[Cc]ycl' '(utils|ui|web):build' <<'JSON'
{"tasks": [
  {"id": "fmt:check", "command": "true"},
  {"id": "utils:build", "command": "true", "deps": ["web:build"]},
  {"id": "ui:build", "command": "true", "deps": ["utils:build"]},
  {"id": "web:build", "command": "true", "deps": ["ui:build", "fmt:check"]}
]}
JSON

reject unknown-dep "unknown dependency" 'app:build' 'lib:biuld' <<'JSON'
{"tasks": [
  {"id": "lib:build", "command": "true"},
  {"id": "app:build", "command": "true", "deps": ["lib:biuld"]}
]}
JSON

# Ids that are not UTF-8 (a stray pair, an overlong '/', a surrogate):
# their results would come back under another id, so they never start.
for bad in '\377\376' '\300\257' '\355\240\200'; do
	printf '{"tasks": [{"id": "ok:t", "command": "true"},
  {"id": "x%b:t", "command": "true"}]}\n' "$bad" |
	    reject not-utf8 "an id that is not UTF-8" 'task #2' \
	    'not valid UTF-8 \(byte 1\)'
done

# A command longer than the kernel lets one argument be can never run.
python3 -c 'import json; print(json.dumps({"tasks": [
    {"id": "big:t", "command": "echo " + "x" * 131072}]}))' |
    reject huge-command "a command over 128 KiB" 'big:t' \
    'command is 131077 bytes'

reject unknown-field "unknown field" 'comand' <<'JSON'
{"tasks": [
  {"id": "app:build", "command": "true"},
  {"id": "app:test", "command": "true", "deps": ["app:build"], "comand": "x"}
]}
JSON

reject bad-type "field of the wrong type" 'timeout' <<'JSON'
{"tasks": [
  {"id": "app:e2e", "command": "true", "timeout": "ten"}
]}
JSON

reject duplicate "duplicate id" 'x:lint' <<'JSON'
{"tasks": [
  {"id": "x:lint", "command": "true"},
  {"id": "y:lint", "command": "true"},
  {"id": "x:lint", "command": "false"}
]}
JSON

reject bad-json "bad JSON" <<'JSON'
{"tasks": [
  {"id": "a", "command": "true"},
JSON

log "bad JSON on stdin"
timeout --foreground 30 "$DTEQ" submit --redis "$REDIS_URL" --run "$RUN" \
    --agent-wait 5 - <"$TMP/bad-json.json" >"$TMP/stdin.out" 2>"$TMP/stdin.err"
assert_eq "$?" 2 "dteq submit exit status on bad JSON from stdin"
assert_eq "$(rcli dbsize)" 0 "keys in Redis after bad JSON from stdin"

log "a task file over 256 MiB: refused before it is read"
truncate -s 300M "$TMP/huge.json" || fail "truncate"
refused huge 'huge.json: over 256 MiB, the most dteq reads' "$TMP/huge.json"
exit 0
