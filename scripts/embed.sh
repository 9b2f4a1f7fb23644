#!/bin/sh
# Writes a C file that defines NAME, a NUL-terminated char array holding the
# text of FILE (the Nx runner's JavaScript, built into the dteq binary).
#
# usage: scripts/embed.sh NAME FILE >OUT.c

set -eu
name=$1
file=$2
printf '/* Generated from %s by scripts/embed.sh: do not edit. */\n\n' "$file"
printf 'extern const char %s[];\nconst char %s[] =\n' "$name" "$name"
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/	/\\t/g' -e 's/^/    "/' \
    -e 's/$/\\n"/' "$file"
printf '    ;\n'
