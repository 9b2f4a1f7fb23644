#!/bin/sh
# Build libcjson.a for `make static`. Debian's libcjson-dev ships only the
# shared library, so this takes cJSON's source from Debian's own source
# package (the version of the installed libcjson-dev when the archive
# still has it), through apt with a private configuration: the system's
# deb sources turned into deb-src, private lists and cache under OUTDIR.
# Nothing is installed and the system's apt state is not touched.
#
# usage: scripts/cjson-static.sh OUTDIR    (writes OUTDIR/libcjson.a)
# Needs apt-get and dpkg-source (dpkg-dev, part of build-essential).
set -eu

out=${1:?usage: $0 OUTDIR}
cc=${CC:-cc}
mkdir -p "$out"
out=$(cd "$out" && pwd)
apt="$out/apt"
src="$out/src"
rm -rf "$apt" "$src"
mkdir -p "$apt/parts" "$apt/lists/partial" "$apt/cache/archives/partial" \
    "$src"

# The system's package sources, as source-package sources.
: >"$apt/sources.list"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	[ -f "$f" ] || continue
	sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" \
	    >>"$apt/sources.list"
done
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	sed 's/^Types:.*/Types: deb-src/' "$f" >"$apt/parts/$(basename "$f")"
done
if [ ! -s "$apt/sources.list" ] && [ -z "$(ls "$apt/parts")" ]; then
	echo "$0: no apt sources in /etc/apt to take cJSON's source from" >&2
	exit 1
fi

aptget() {
	apt-get -q -o Dir::Etc::SourceList="$apt/sources.list" \
	    -o Dir::Etc::SourceParts="$apt/parts" \
	    -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" \
	    -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)" "$@"
}

aptget update >"$out/apt.log" 2>&1 || {
	cat "$out/apt.log" >&2
	exit 1
}
version=$(dpkg-query -W -f='${source:Version}' libcjson-dev 2>/dev/null ||
    true)
cd "$src"
if [ -z "$version" ] ||
    ! aptget source --download-only "cjson=$version" >>"$out/apt.log" 2>&1
then
	aptget source --download-only cjson >>"$out/apt.log" 2>&1 || {
		cat "$out/apt.log" >&2
		exit 1
	}
fi
dpkg-source --no-check -x ./cjson_*.dsc cjson >>"$out/apt.log" 2>&1 || {
	cat "$out/apt.log" >&2
	exit 1
}
"$cc" -O2 -fPIC -std=c89 -c cjson/cJSON.c -o cJSON.o
rm -f "$out/libcjson.a"
ar rcs "$out/libcjson.a" cJSON.o
echo "$0: $out/libcjson.a from cjson $(sed -n 's/^Version: //p' ./cjson_*.dsc)"
