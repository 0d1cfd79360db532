#!/bin/sh
# SPDX-License-Identifier: MIT
# make demo: the saving on programs the system already has, side by side.
# Each program is named as it ran (its version and the file that ran it),
# and its wall times are the median of DEMO_RUNS runs (default 5).
# shellcheck disable=SC2016 # the programs' code is single-quoted on purpose
set -u
here=$(cd "$(dirname "$0")" && pwd)
compare="$here/bufshim-compare"
runs=${DEMO_RUNS:-5}
status=0

# what the name NAME runs, e.g. "python3 (Python 3.11.2, /usr/bin/python3)".
# The interpreter is asked itself, so a name on PATH that is a wrapper
# script (a version manager's shim) still names the program that ran.
describe() {
	file=$(command -v "$1") || return
	case $1 in
	python3) what=$(python3 -c 'import platform, sys; print("Python %s, %s" % (platform.python_version(), sys.executable))') ;;
	perl) what=$(perl -e 'printf "Perl %vd, %s", $^V, $^X') ;;
	node) what=$(node -p '"Node " + process.version + ", " + process.execPath') ;;
	dd) what="$(dd --version | sed -n '1s/^dd (\(.*\)) /\1 /p'), $(readlink -f "$file")" ;;
	dash) what="dash $(dpkg-query -W -f '${Version}' dash 2>/dev/null || echo '(version unknown)'), $(readlink -f "$file")" ;;
	*) what=$(readlink -f "$file") ;;
	esac
	if [ "$(head -c 2 "$file")" = '#!' ] && [ "$(readlink -f "$file")" != "${what##*, }" ]; then
		what="$what, through the script $file"
	fi
	echo "$1 ($what)"
}

show() {
	echo
	for w; do
		[ "$w" = -- ] && found=1 && continue
		[ "${found:-}" = 1 ] && { describe "$w"; break; }
	done
	found=
	"$compare" --runs="$runs" "$@" || status=1
}

echo "bufshim demo: each program runs plainly and with bufshim; the syscalls are counted by strace,"
echo "the wall time (without strace) is the median of $runs runs of each."
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
