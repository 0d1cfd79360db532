#!/bin/sh
# SPDX-License-Identifier: MIT
# The library never calls a name it exports (invariant of its layering:
# such a call would bind to its own hook). Every call through the PLT of
# the built library must target a name the library does not define.
# Usage: tests/plt_check.sh LIBRARY
set -eu
lib=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
objdump -d "$lib" | sed -n 's/.*\(call\|jmp\)[^<]*<\([^>@]*\)@plt>.*/\2/p' | sort -u >"$tmp/plt"
nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | sort -u >"$tmp/exports"
[ -s "$tmp/plt" ] || { echo "plt_check: no PLT calls found in $lib: cannot check"; exit 1; }
both=$(comm -12 "$tmp/plt" "$tmp/exports")
if [ -n "$both" ]; then
	echo "plt_check: the library calls its own exported names through the PLT:" $both
	exit 1
fi
echo "plt_check: $(wc -l <"$tmp/plt") PLT targets, none of them ours"
