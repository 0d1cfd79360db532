#!/usr/bin/env bash
# make valgrind: memcheck on real programs with the library preloaded.
# Fails on any memcheck error in the library or the programs.
set -u
BUILD=$(cd "$(dirname "$0")/.." && pwd)/${1:-build}
LIB=$BUILD/libbufshim.so
P=$BUILD/progs
command -v valgrind >/dev/null || { echo "valgrind is missing (Debian: apt-get install valgrind)"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
status=0

check() {
	local name=$1
	shift
	if valgrind --quiet --error-exitcode=99 --trace-children=no --log-file="$T/log" \
		env LD_PRELOAD="$LIB" BUFSHIM_MODE=full "$@" >"$T/out" 2>/dev/null; [[ $? == 99 ]]; then
		echo "FAIL valgrind: $name"; cat "$T/log"; status=1
	else
		echo "ok   valgrind: $name"
	fi
}

check writer "$P/writer" 5000 40
check writev "$P/writer" 2000 30 writev
check threads "$P/threads" write 4 2000
check stdio "$P/stdio_mix" mix
check fork "$P/forker" exit
check boundaries-seek "$P/boundaries" seek
check latency env BUFSHIM_FLUSH_MS=5 "$P/latency" write 50
exit $status
