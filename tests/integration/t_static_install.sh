# make install puts the binary and the dteq(1) man page under PREFIX (and
# DESTDIR); the man page renders without a warning and documents every
# subcommand `dteq --help` lists, and the installed binary runs.
# timeout: 180
# lock: make

. "$TOP/tests/integration/lib.sh"

need_cmd man "man-db, see .ci/run"

log "make install PREFIX=$TMP/prefix"
make -C "$TOP" install PREFIX="$TMP/prefix" >"$TMP/install.out" 2>&1 ||
    fail "make install failed: $(tail -10 "$TMP/install.out")"
bin="$TMP/prefix/bin/dteq"
page="$TMP/prefix/share/man/man1/dteq.1"
[ -x "$bin" ] || fail "no executable $bin"
assert_file "$page" "the man page"
[ "$(stat -c %a "$page")" = 644 ] || fail "man page mode $(stat -c %a "$page")"
"$bin" --version >"$TMP/version" || fail "installed dteq --version failed"
assert_grep '^dteq [0-9]' "$TMP/version" "installed binary's version"

log "DESTDIR staging"
make -C "$TOP" install DESTDIR="$TMP/stage" PREFIX=/usr \
    >"$TMP/stage.out" 2>&1 || fail "make install DESTDIR failed"
[ -x "$TMP/stage/usr/bin/dteq" ] || fail "no staged binary"
assert_file "$TMP/stage/usr/share/man/man1/dteq.1" "staged man page"

log "the man page renders cleanly"
LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" >"$TMP/man.txt" \
    2>"$TMP/man.err"
assert_eq "$?" 0 "man exit status"
[ -s "$TMP/man.err" ] && fail "man warnings: $(head -5 "$TMP/man.err")"
assert_grep '^NAME' "$TMP/man.txt" "NAME section"
for section in SYNOPSIS DESCRIPTION COMMANDS OUTPUT REPORTS ENVIRONMENT \
    'EXIT STATUS' EXAMPLES; do
	assert_grep "^$section\$" "$TMP/man.txt" "section $section"
done
"$bin" --help | sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p' >"$TMP/subs"
[ "$(wc -l <"$TMP/subs")" -ge 7 ] || fail "subcommands: $(cat "$TMP/subs")"
while read -r sub; do
	assert_grep "^ *dteq $sub( |\$)" "$TMP/man.txt" \
	    "dteq(1) documents dteq $sub"
done <"$TMP/subs"
for opt in --junit --report --json --stream --color --watch --list \
    --follow; do
	grep -q -- "$opt" "$TMP/man.txt" || fail "dteq(1) lacks $opt"
done
exit 0
