# Colour and terminal control follow stdout and the user: no ANSI code
# unless stdout is a terminal (or --color=always); on a terminal (a pty
# from script(1)) the live area (running tasks, counts, a progress bar)
# is drawn and colours are on, unless NO_COLOR or --color=never turn the
# colours off; TERM=dumb gets neither. --color=always beats NO_COLOR.
# timeout: 120

. "$TOP/tests/integration/lib.sh"

tf="$TMP/color.json"
add_task "$tf" "lib:build" "printf '\\033[31mred\\033[0m\\n'; sleep 0.6; echo built"
add_task "$tf" "lib:test" "sleep 0.4; echo tested" "lib:build"
add_task "$tf" "lib:lint" "sleep 0.3; echo 'lint failed'; exit 2"
taskfile "$tf"

ESC=$(printf '\033')

# run NAME [ENV=VALUE...] -- [dteq run options]: dteq run with stdout a
# file; NAME.out and NAME.err.
run_plain() {
	_n=$1
	shift
	env "$@" timeout -k 5 60 "$DTEQ" run --agents 2 \
	    --color="${COLOR:-auto}" "$tf" >"$TMP/$_n.out" 2>"$TMP/$_n.err"
	echo $? >"$TMP/$_n.rc"
}

# run_tty NAME [ENV=VALUE...]: the same with stdout a terminal.
run_tty() {
	_n=$1
	shift
	env "$@" timeout -k 5 60 script -qfec "$DTEQ run --agents 2 \
--color=${COLOR:-auto} $tf 2>$TMP/$_n.err" /dev/null >"$TMP/$_n.out" \
	    </dev/null
	echo $? >"$TMP/$_n.rc"
}

has_sgr() {
	grep -q "$ESC\[[0-9;]*m" "$TMP/$1.out"
}
has_area() {
	grep -q "$ESC\[[0-9]*A$ESC\[J" "$TMP/$1.out" &&
	    grep -q 'running on [0-9]* agent' "$TMP/$1.out"
}

log "not a terminal: no escape at all"
run_plain plain TERM=xterm
assert_eq "$(cat "$TMP/plain.rc")" 1 "exit status (lib:lint fails)"
grep -q "$ESC" "$TMP/plain.out" && fail "escape in non-TTY stdout"
grep -q "$ESC" "$TMP/plain.err" && fail "escape in non-TTY stderr"
assert_grep '^red$' "$TMP/plain.out" "task output with its codes removed"
assert_grep '^< lib:lint: failed \(exit 2\)$' "$TMP/plain.out" "footer"

log "not a terminal, --color=always (and NO_COLOR): colours, no live area"
COLOR=always run_plain always NO_COLOR=1 TERM=xterm
has_sgr always || fail "--color=always: no colour"
has_area always && fail "--color=always off a terminal drew the live area"
grep -q "$ESC\[31mred" "$TMP/always.out" ||
    fail "--color=always: the task's own colours were removed"

log "a terminal: live area and colours"
run_tty tty TERM=xterm LANG=C.UTF-8
assert_eq "$(cat "$TMP/tty.rc")" 1 "exit status on a terminal"
has_area tty || fail "no live area on a terminal"
has_sgr tty || fail "no colour on a terminal"
assert_grep 'lib:lint: .*failed \(exit 2\)' "$TMP/tty.out" "footer on a TTY"
assert_grep '3 tasks: 2 succeeded, 1 failed' "$TMP/tty.out" "closing line"
# The progress bar's blocks (UTF-8 locale).
grep -q "$(printf '\342\226\210')" "$TMP/tty.out" ||
    fail "no progress bar on a UTF-8 terminal"

log "a terminal with NO_COLOR: live area, no colour"
run_tty nocolor TERM=xterm NO_COLOR=1
has_area nocolor || fail "NO_COLOR: no live area"
has_sgr nocolor && fail "NO_COLOR: colour codes on a terminal"

log "a terminal with --color=never: live area, no colour"
COLOR=never run_tty never TERM=xterm
has_area never || fail "--color=never: no live area"
has_sgr never && fail "--color=never: colour codes on a terminal"

log "TERM=dumb: no escape at all"
run_tty dumb TERM=dumb
grep -q "$ESC" "$TMP/dumb.out" && fail "escape with TERM=dumb"
assert_grep '3 tasks: 2 succeeded, 1 failed' "$TMP/dumb.out" "closing line"
exit 0
