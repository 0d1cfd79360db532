#!/bin/sh
# SPDX-License-Identifier: MIT
# make demo: the saving on programs the system already has, side by side.
set -u
here=$(cd "$(dirname "$0")" && pwd)
compare="$here/bufshim-compare"
status=0

show() {
	echo
	"$compare" "$@" || status=1
}

echo "bufshim demo: each program runs plainly and with bufshim; the syscalls are counted by strace."
show -- dd if=/dev/zero bs=1 count=20000 status=none
if command -v python3 >/dev/null 2>&1; then
	show -- python3 -u -c 'for i in range(10000): print("line", i)'
fi
show -- perl -e '$| = 1; print "perl line $_\n" for 1 .. 20000'
if command -v node >/dev/null 2>&1; then
	show -- node -e 'for (let i = 0; i < 10000; i++) require("fs").writeSync(1, "node line " + i + "\n")'
fi
show -- dash -c 'i=0; while [ $i -lt 5000 ]; do echo "dash line $i"; i=$((i + 1)); done'
show -f 1,2 -- dash -c 'i=0; while [ $i -lt 2000 ]; do echo "out $i"; echo "err $i" >&2; i=$((i + 1)); done'
exit $status
