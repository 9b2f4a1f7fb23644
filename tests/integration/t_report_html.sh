# --report writes one self-contained HTML file (no external script, style,
# font or image; links only within the page) that Debian's Chromium,
# headless, loads from disk: its DOM, once laid out, has one bar with a
# size per attempt (a retried task has two, a skipped one none), one lane
# per agent slot and one table row per task, the failures first; its
# pills count as the closing line does (1 failed, 1 timed out) and link
# to the failures; opening it at #aN fills the output panel with attempt
# N's output, a failure's at its end; #failures shows the failures alone
# and #by-duration sorts the table longest first; a screenshot of it is a
# real PNG. A run whose agents offered 6 slots and ran one task at a time
# says 6 agent slots on 3 agents, with a lane for each.
# timeout: 180

. "$TOP/tests/integration/lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser) ||
    fail "chromium is missing (Debian package chromium, see .ci/run)"
start_redis

tf="$TMP/html.json"
i=1
while [ $i -le 8 ]; do
	add_task "$tf" "lib$i:build" "echo 'building lib$i <ok>'; sleep 0.$i"
	i=$((i + 1))
done
add_task "$tf" "app:test" "[ \"\$DTEQ_ATTEMPT\" -gt 1 ] || { echo flaky-first; exit 1; }; echo second-try-ok" "lib1:build" '"retries": 1'
add_task "$tf" "app:lint" "i=0; while [ \$i -lt 200 ]; do i=\$((i + 1)); echo \"src/f\$i.ts: checked\"; done; echo 'lint: 3 problems'; echo 'src/a.ts:1 unused'; exit 2" "lib2:build"
add_task "$tf" "app:deploy" "echo never" "app:lint"
add_task "$tf" "app:e2e" "sleep 30" "lib3:build" '"timeout": 1'
taskfile "$tf"
# Attempts: 8 libs, app:test twice, app:lint, app:e2e; app:deploy none.
want_bars=12

start_agent a1 --parallel 2
start_agent a2 --parallel 2
start_agent a3 --parallel 2
html="$TMP/report/run.html"
submit submit --report "$html" "$tf"
assert_eq "$SUBMIT_RC" 1 "dteq submit exit status"
agents_exit_ok 15 a1 a2 a3
assert_file "$html" "HTML report"

log "self-contained"
grep -Eiq 'src=|href="[^#]|url\(|@import|https?:' "$html" &&
    fail "external reference: $(grep -Eio '.{20}(src=|href="[^#]|url\(|@import|https?:).{30}' "$html" | head -3)"

log "the counts of the closing line, the pills linked to the failures"
assert_grep '^12 tasks: 9 succeeded \(1 flaky\), 1 failed, 1 timed out, 1 skipped in ' \
    "$TMP/submit.out" "the closing line"
assert_grep '<a class="pill failed" href="#failures"[^>]*>1 failed</a>' \
    "$html" "the failed pill"
assert_grep '<a class="pill timeout" href="#failures"[^>]*>1 timed out</a>' \
    "$html" "the timed-out pill"
assert_no_grep '>2 failed<' "$html" "a timed-out task counted as failed"
assert_grep '; 6 agent slots on 3 agents\.' "$html" "slots and agents"
assert_grep '<script>' "$html" "inline script"
assert_grep '<style>' "$html" "inline style"

# chrome ARGS...: headless Chromium on a fresh profile, bounded in time.
chrome() {
	_prof=$(mktemp -d "$TMP/profile.XXXXXX")
	HOME=$TMP timeout -k 5 90 "$CHROMIUM" --headless --no-sandbox \
	    --disable-gpu --disable-background-networking \
	    --disable-component-update --disable-sync --no-first-run \
	    --disable-quic --user-data-dir="$_prof" "$@" 2>>"$TMP/chrome.err"
}

log "DOM after layout"
chrome --window-size=1280,1000 --dump-dom "file://$html" >"$TMP/dom.html" ||
    fail "chromium --dump-dom failed: $(tail -3 "$TMP/chrome.err")"
tr '>' '\n' <"$TMP/dom.html" | grep '<body ' >"$TMP/body"
assert_grep "data-bars=\"$want_bars\"" "$TMP/body" "bars written"
assert_grep "data-rendered-bars=\"$want_bars\"" "$TMP/body" \
    "bars with a size in the laid-out page"
assert_grep 'data-lanes="6"' "$TMP/body" "lanes (3 agents x 2 slots)"
assert_eq "$(grep -o 'class="bar ' "$TMP/dom.html" | wc -l | tr -d ' ')" \
    "$want_bars" "bar elements in the DOM"
assert_eq "$(grep -o 'class="lane"' "$TMP/dom.html" | wc -l | tr -d ' ')" 6 \
    "lane elements"
assert_eq "$(grep -o 'class="bar retried' "$TMP/dom.html" | wc -l |
    tr -d ' ')" 1 "bars of retried attempts"
assert_eq "$(grep -o 'class="bar failed' "$TMP/dom.html" | wc -l |
    tr -d ' ')" 1 "bars of failed attempts"
assert_eq "$(grep -o 'class="bar timeout' "$TMP/dom.html" | wc -l |
    tr -d ' ')" 1 "bars of timed-out attempts"
assert_eq "$(grep -o '<tr tabindex' "$TMP/dom.html" | wc -l | tr -d ' ')" \
    12 "table rows"
# Failures first in the table, the first of them #failures.
grep -o '<tr tabindex[^>]*data-id="[^"]*"' "$TMP/dom.html" |
    sed 's/.*data-id="\([^"]*\)"/\1/' | head -2 | sort | tr '\n' ' ' \
    >"$TMP/first2"
assert_eq "$(cat "$TMP/first2")" "app:e2e app:lint " "first rows of the table"
grep -o '<tr tabindex[^>]*>' "$TMP/dom.html" | head -1 |
    grep -q 'id="failures"' || fail "the first row is not #failures"
grep -o '<tr [^>]*hidden' "$TMP/dom.html" && fail "rows hidden with no filter"
assert_grep 'building lib3 &lt;ok&gt;' "$TMP/dom.html" "escaped output tail"

log "the panel shows an attempt's output (#aN)"
n=$(grep -o 'class="bar failed[^>]*data-a="[0-9]*"' "$TMP/dom.html" |
    sed 's/.*data-a="\([0-9]*\)"/\1/')
[ -n "$n" ] || fail "no data-a on the failed bar"
chrome --dump-dom "file://$html#a$n" >"$TMP/panel.html" ||
    fail "chromium --dump-dom #a$n failed"
tr -d '\n' <"$TMP/panel.html" | grep -o '<pre id="p-out">[^<]*</pre>' \
    >"$TMP/pout"
assert_grep 'lint: 3 problems' "$TMP/pout" "panel output of app:lint"
tr -d '\n' <"$TMP/panel.html" | grep -o '<h3 id="p-title">[^<]*</h3>' \
    >"$TMP/ptitle"
assert_grep '>app:lint<' "$TMP/ptitle" "panel title"
grep -o '<div id="panel"[^>]*>' "$TMP/panel.html" | grep -q hidden &&
    fail "panel still hidden"
grep -o '<div id="panel"[^>]*>' "$TMP/panel.html" |
    grep -q 'data-at-end="1"' ||
    fail "the failure's output did not open at its end: $(grep -o '<div id="panel"[^>]*>' "$TMP/panel.html")"

log "#failures: the failures alone"
chrome --dump-dom "file://$html#failures" >"$TMP/fail.html" ||
    fail "chromium --dump-dom #failures failed"
grep -o '<tr tabindex[^>]*>' "$TMP/fail.html" | grep -v ' hidden' |
    sed 's/.*data-id="\([^"]*\)".*/\1/' | sort | tr '\n' ' ' >"$TMP/shown"
assert_eq "$(cat "$TMP/shown")" "app:e2e app:lint " "rows shown at #failures"
assert_grep '<span id="shown">2 of 12 tasks</span>' "$TMP/fail.html" \
    "the count of rows shown"

log "#by-duration: longest first"
chrome --dump-dom "file://$html#by-duration" >"$TMP/dur.html" ||
    fail "chromium --dump-dom #by-duration failed"
tr -d '\n' <"$TMP/dur.html" | grep -o '<tbody id="tasks">.*</tbody>' |
    sed 's/<tr /\n<tr /g' | grep '^<tr ' |
    sed 's/.*<td class="num" data-v="\(-*[0-9]*\)">.*<td class="num" data-v="[0-9]*">.*/\1/' \
    >"$TMP/durs"
assert_eq "$(wc -l <"$TMP/durs" | tr -d ' ')" 12 "rows sorted"
sort -rn "$TMP/durs" | cmp -s - "$TMP/durs" ||
    fail "not longest first: $(tr '\n' ' ' <"$TMP/durs")"

log "screenshot"
chrome --window-size=1280,1000 --screenshot="$TMP/shot.png" \
    "file://$html" >/dev/null || fail "chromium --screenshot failed"
assert_file "$TMP/shot.png" "screenshot"
[ "$(od -An -N4 -tx1 "$TMP/shot.png" | tr -d ' ')" = 89504e47 ] ||
    fail "the screenshot is not a PNG"
size=$(wc -c <"$TMP/shot.png" | tr -d ' ')
[ "$size" -gt 20000 ] || fail "screenshot of only $size bytes"
log "screenshot: $size bytes"

log "agents that ran one task at a time: every slot they offered"
RUN="$RUN-chain"
tf="$TMP/chain.json"
# c1 waits (30 s at most) until the three agents have joined: each
# records its slots as it joins.
add_task "$tf" "c1" "n=0; while [ \$n -lt 300 ] && [ \$(grep -l 'joined run' $TMP/agent.b1.err $TMP/agent.b2.err $TMP/agent.b3.err | wc -l) -lt 3 ]; do n=\$((n + 1)); sleep 0.1; done; echo one"
add_task "$tf" "c2" "echo two" "c1"
add_task "$tf" "c3" "echo three" "c2"
taskfile "$tf"
start_agent b1 --parallel 2
start_agent b2 --parallel 2
start_agent b3 --parallel 2
html="$TMP/chain.html"
submit chain --report "$html" "$tf"
assert_eq "$SUBMIT_RC" 0 "exit status of the chain"
agents_exit_ok 15 b1 b2 b3
assert_grep '; 6 agent slots on 3 agents\.' "$html" "slots of the chain"
assert_grep 'data-lanes="6"' "$html" "lanes of the chain"
exit 0
