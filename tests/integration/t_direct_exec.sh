# A command of plain words is executed by the agent itself, without the
# shell; it must behave as `/bin/sh -c COMMAND` does. Each probe runs
# twice: as plain words (direct) and with a trailing `;` (which sends it
# to the shell), and both must print the same and exit the same: PWD
# (logical when it names the working directory, else physical), a
# program found through the task's PATH past a directory of the same
# name and past a file of the same name that is not executable, a script without #! (only the shell runs it), a file that is
# not executable (126 as POSIX and bash say; dash says 127 there, so that
# one is not compared), a name found nowhere (127), a path with a slash.
# The not-found messages differ, which shows the direct path was taken.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

start_redis

co="$TMP/co"
mkdir -p "$co/sub" "$co/rel" "$TMP/bin" "$TMP/d1/mytool"
ln -s "$co" "$TMP/link"
printf '#!/bin/sh\necho "mytool $# $*"\n' >"$TMP/bin/mytool"
printf 'echo "plain $1 $0"\n' >"$TMP/bin/plain"
printf '#!/bin/sh\necho never\n' >"$TMP/bin/noexec"
printf '#!/bin/sh\necho "rel $1"\n' >"$co/rel/tool.sh"
printf '#!/bin/sh\necho "shadowed"\n' >"$TMP/d1/shadow"
printf '#!/bin/sh\necho "shadow $1"\n' >"$TMP/bin/shadow"
chmod +x "$TMP/bin/shadow"
chmod +x "$TMP/bin/mytool" "$TMP/bin/plain" "$co/rel/tool.sh"
chmod -x "$TMP/bin/noexec"

env='"env": {"PATH": "'"$TMP/d1:$TMP/bin:$PATH"'"}'
tf="$TMP/direct.json"
probe() {	# probe NAME COMMAND [EXTRA]
	add_task "$tf" "$1.direct" "$2" "" "$env${3:+, $3}"
	add_task "$tf" "$1.shell" "$2;" "" "$env${3:+, $3}"
}
probe pwd "printenv PWD"
probe pwdsub "printenv PWD" '"cwd": "sub"'
probe tool "mytool a  b"
probe shadow "shadow s"
probe plain "plain x"
probe noexec "noexec"
probe nosuch "nosuch-dteq-cmd"
probe slash "./rel/tool.sh z"
probe status "false"
taskfile "$tf"

# The agent's PWD is the symlink it was started through.
bg agent.a1 sh -c 'cd "$1" && shift && exec "$@"' sh "$TMP/link" \
    "$DTEQ" work --redis "$REDIS_URL" --run "$RUN" --name a1
submit submit "$tf"
assert_eq "$SUBMIT_RC" 1 "dteq submit exit status (some probes fail)"
agents_exit_ok 15 a1

# out ID: the output lines of task ID in submit's grouped output.
out() {
	awk -v id="$1" '
	index($0, "> " id " (") == 1 { on = 1; next }
	index($0, "< " id ": ") == 1 { on = 0 }
	on' "$TMP/submit.out"
}
# footer ID: how submit reported the end of task ID.
footer() {
	sed -n "s/^< $1: //p" "$TMP/submit.out"
}

for p in pwd pwdsub tool shadow plain nosuch slash status; do
	assert_eq "$(footer "$p.direct")" "$(footer "$p.shell")" \
	    "how $p ended, direct and through the shell"
done
for p in pwd pwdsub tool shadow plain slash; do
	assert_eq "$(out "$p.direct")" "$(out "$p.shell")" \
	    "output of $p, direct and through the shell"
done

assert_eq "$(out pwd.direct)" "$TMP/link" "PWD: the logical directory"
assert_eq "$(out pwdsub.direct)" "$co/sub" "PWD in cwd sub: the physical one"
assert_eq "$(out tool.direct)" "mytool 2 a b" "mytool found through PATH"
assert_eq "$(out shadow.direct)" "shadow s" \
    "shadow found past a file of that name that is not executable"
assert_eq "$(out plain.direct)" "plain x $TMP/bin/plain" \
    "a script without #! run by the shell"
assert_eq "$(out slash.direct)" "rel z" "a relative path with a slash"
assert_eq "$(footer noexec.direct)" "failed (exit 126)" "a file not executable"
assert_eq "$(footer nosuch.direct)" "failed (exit 127)" "a name found nowhere"
assert_eq "$(footer status.direct)" "failed (exit 1)" "false"
assert_eq "$(out nosuch.direct)" \
    'cannot run "nosuch-dteq-cmd": command not found' \
    "the agent, not the shell, looked nosuch-dteq-cmd up"
assert_grep 'nosuch-dteq-cmd: not found' "$TMP/submit.out" \
    "the shell's own message for nosuch.shell"
exit 0
