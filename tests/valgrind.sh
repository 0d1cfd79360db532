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
status=0 passed=0 failed=0

# check NAME [VAR=VAL...] PROGRAM ARGS...: memcheck on PROGRAM itself, the
# library preloaded into it
check() {
	local name=$1 envs=(LD_PRELOAD="$LIB" BUFSHIM_MODE=full) st=0
	shift
	while [[ $1 == *=* ]]; do envs+=("$1"); shift; done
	env "${envs[@]}" valgrind --quiet --error-exitcode=99 --log-file="$T/log" \
		"$@" >"$T/out" 2>/dev/null || st=$?
	if [[ $st == 99 ]] || ! grep -q . "$T/out"; then
		echo "FAIL valgrind: $name (status $st)"; cat "$T/log"; status=1
		failed=$((failed + 1))
	else
		echo "ok   valgrind: $name"
		passed=$((passed + 1))
	fi
}

check writer "$P/writer" 5000 40
check writev "$P/writer" 2000 30 writev
check threads "$P/threads" write 4 2000
check stdio "$P/stdio_mix" mix
check fork "$P/forker" exit
check boundaries-seek "$P/boundaries" seek
check latency BUFSHIM_FLUSH_MS=5 "$P/latency" write 50
mkdir "$T/own"
check own-file BUFSHIM_FDS=all "$P/own_file" "$T/own"
echo "$passed passed, $failed failed"
exit $status
