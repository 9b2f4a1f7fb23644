# The layering of docs/design.md holds: a folder's sources compile against
# the headers of the folders it may use and fail to compile against any
# other's, and no source reaches another folder by a relative include.
# timeout: 60

. "$TOP/tests/integration/lib.sh"

cc=${CC:-cc}
# header of each folder
hdr_common=dteq.h hdr_tools=tools.h hdr_cache=cache.h
hdr_worker=worker.h hdr_producer=producer.h hdr_cmd=cmd.h

# may FOLDER: the folders whose headers FOLDER may include.
may() {
	case $1 in
	common)		echo common ;;
	tools)		echo common tools ;;
	cache)		echo common cache ;;
	worker)		echo common cache worker ;;
	producer)	echo common tools cache producer ;;
	cmd)		echo common tools cmd ;;
	esac
}

# compiles FOLDER HEADER: does a file of FOLDER that includes HEADER
# compile with FOLDER's flags?
compiles() {
	inc=$(cd "$TOP" && make -s print-inc FOLDER="$1")
	[ -n "$inc" ] || fail "make print-inc FOLDER=$1 printed nothing"
	printf '#include "%s"\nint layers_probe;\n' "$2" >"$TMP/probe.c"
	(cd "$TOP" && $cc -std=c11 -D_GNU_SOURCE $inc \
	    $(pkg-config --cflags libevent hiredis libcjson) \
	    -fsyntax-only "$TMP/probe.c") >"$TMP/probe.err" 2>&1
}

folders="common tools cache worker producer cmd"
checked=0
for f in $folders; do
	allowed=$(may "$f")
	for g in $folders; do
		eval h=\$hdr_$g
		case " $allowed " in
		*" $g "*)
			compiles "$f" "$h" || {
				cat "$TMP/probe.err"
				fail "$f/ cannot include $h, which it may use"
			} ;;
		*)
			compiles "$f" "$h" &&
			    fail "$f/ compiles with $h, which it must not use"
			assert_grep "$h" "$TMP/probe.err" \
			    "the error names the forbidden header $h" ;;
		esac
		checked=$((checked + 1))
	done
done
assert_eq "$checked" 36 "folder and header pairs checked"

log "no relative include crosses a folder"
(cd "$TOP" && grep -n '#include "\.\./' common/*.[ch] tools/*.[ch] \
    cache/*.[ch] worker/*.[ch] producer/*.[ch] cmd/*.[ch] dteq.c) \
    >"$TMP/relative" 2>/dev/null
[ -s "$TMP/relative" ] && {
	cat "$TMP/relative"
	fail "a relative include reaches another folder"
}
log "ok"
