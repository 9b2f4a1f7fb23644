# First contact on a fresh Debian 12: the README's quick start installs
# with apt-get through `sudo` only when not root (a bare Debian 12 root or
# a CI container has no sudo): its S is empty for root and "sudo" for
# another user, and no line calls sudo or apt-get around it. .ci/run runs
# apt-get update before it installs, and every program the build and the
# tests call comes from a package .ci/run installs or one every Debian 12
# has (Priority: required, as a debootstrap minbase root holds).
# timeout: 60

. "$TOP/tests/integration/lib.sh"

need_cmd dpkg-query
need_cmd setpriv "util-linux"

# The quick start's command: the first sh block after its heading.
sed -n '/^## Quick start/,/^## /p' "$TOP/README.md" |
    sed -n '/^```sh$/,/^```$/p' | sed '1d;$d' | sed -n 1p >"$TMP/quick.sh"
cat "$TMP/quick.sh"
grep -q 'apt-get install' "$TMP/quick.sh" || fail "no quick start command found"
# S as the command sets it, for root and for nobody.
sdef=$(grep -o '^S=\$([^;]*);' "$TMP/quick.sh") || fail "the command sets no S"
assert_eq "$(sh -c "${sdef} echo \"[\$S]\"")" "[]" "S for root"
assert_eq "$(setpriv --reuid=65534 --regid=65534 --clear-groups \
    sh -c "${sdef} echo \"[\$S]\"")" "[sudo]" "S for a user"
# Every apt-get goes through $S, and nothing else calls sudo.
tr '&;' '\n\n' <"$TMP/quick.sh" | sed 's/^ *//' >"$TMP/quick.words"
assert_no_grep '^sudo ' "$TMP/quick.words" "a bare sudo in the quick start"
assert_no_grep '^apt-get ' "$TMP/quick.words" "an apt-get without \$S"
grep -q '^\$S apt-get update' "$TMP/quick.words" ||
    fail "the quick start does not run apt-get update"

log ".ci/run: apt-get update first, then what the tests need"
ci=$TOP/.ci/run
upd=$(grep -n 'apt-get update' "$ci" | head -1 | cut -d: -f1)
ins=$(grep -n 'apt-get install' "$ci" | head -1 | cut -d: -f1)
[ -n "$upd" ] && [ -n "$ins" ] && [ "$upd" -lt "$ins" ] ||
    fail ".ci/run does not run apt-get update before apt-get install"
pkgs=$(sed -n '/^packages="/,/"$/p' "$ci" | tr -d '"' | sed 's/^packages=//')
[ -n "$pkgs" ] || fail "no package list in .ci/run"
for prog in cc make pkg-config redis-server redis-cli git ps pgrep curl \
    python3 flock setsid timeout xmllint valgrind clang openssl groff man \
    debootstrap dpkg-source chromium docker-compose; do
	# The system's own (a user's PATH may put another first).
	path=""
	for d in /usr/bin /bin /usr/sbin /sbin; do
		[ -z "$path" ] && [ -x "$d/$prog" ] && path=$d/$prog
	done
	[ -n "$path" ] || fail "$prog is not installed here"
	real=$(readlink -f "$path")
	# dpkg knows a file by the path its package ships (/bin/ps, not
	# /usr/bin/ps, on a merged /usr).
	pkg=""
	for f in "$real" "$path" "${real#/usr}" "${path#/usr}"; do
		[ -n "$pkg" ] ||
		    pkg=$(dpkg -S "$f" 2>/dev/null | head -1 | cut -d: -f1)
	done
	[ -n "$pkg" ] || fail "$prog ($real) belongs to no package"
	prio=$(dpkg-query -W -f='${Priority}' "$pkg" 2>/dev/null)
	[ "$prio" = required ] && continue
	# What the package list names, or pulls in (a -dev for its library,
	# build-essential for the compiler and make).
	# shellcheck disable=SC2086
	case " $(echo $pkgs) " in
	*" $pkg "*) continue ;;
	esac
	if [ ! -s "$TMP/deps" ]; then
		# shellcheck disable=SC2086
		apt-cache depends --recurse --no-recommends --no-suggests \
		    --no-conflicts --no-breaks --no-replaces --no-enhances \
		    $pkgs 2>/dev/null | grep '^[a-z]' | sort -u >"$TMP/deps"
	fi
	grep -qx "$pkg" "$TMP/deps" ||
	    fail "$prog comes from $pkg ($prio), which .ci/run does not install"
done
# Node.js: .ci/run installs Debian's nodejs and npm when node is missing.
grep -q 'missing="$missing nodejs npm"' "$ci" ||
    fail ".ci/run does not install nodejs and npm"
exit 0
