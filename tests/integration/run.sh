#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration tests: real processes with the library preloaded, their bytes
# compared with a plain run and their syscalls counted (by the kernel or
# under strace; see writes in lib.sh).
#
# Usage: tests/integration/run.sh [--alongside COMMAND] [PATTERN...]
#   runs the tests whose name contains a PATTERN (or whose file is named
#   PATTERN.sh), all of them without one; COMMAND (make check: the unit
#   tests) runs during the parallel batch, and its failure is one more.
#
# The tests are the test_* functions of the other *.sh files here (lib.sh
# holds what they share). Each runs in a bash of its own under `set -e`, with a
# temporary directory of its own, TEST_JOBS at a time (twice the CPUs
# unless set), those a file lists in SLOW first; those it lists in SERIAL
# (they time things) run one at a time afterwards, alone.
# TEST_PREFIX="valgrind -q --trace-children=yes --error-exitcode=99" runs
# every preloaded program under that wrapper (see lib.sh).
set -u
(( BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] >= 501 )) || { echo "run.sh needs bash 5.1 (wait -n -p)"; exit 1; }
# this directory (the runner tells each test's bash: one process less each)
if [[ ${1:-} == --one && -n ${5:-} ]]; then
	HERE=$5
elif [[ $0 == */* ]]; then
	HERE=$(cd "${0%/*}" && pwd)
else
	HERE=$PWD
fi
SERIAL=() SLOW=()
# shellcheck source=tests/integration/lib.sh
source "$HERE/lib.sh"

# run.sh --one FILE NAME [DIR HERE]: test_NAME of FILE (a path), in this
# bash, in the directory DIR (the runner makes them all in one go; else a
# new one), HERE this file's directory
if [[ ${1:-} == --one ]]; then
	export -n SKIP_FILE
	source "$2"
	# (the runner removes its directories, a few at a time)
	if [[ -n ${4:-} ]]; then T=$4 MADE_T=0; else T=$(mktemp -d) MADE_T=1; fi
	# errors the wrapper found fail the test, whatever else happened; a
	# test that leaves something outside $T sets CLEANUP to remove it
	CLEANUP=
	finish() {
		local st=$?
		eval "$CLEANUP" || true
		if [[ -s $T/prefix-errors ]]; then
			echo "$TEST_PREFIX found errors in:"
			cat "$T/prefix-errors"
			st=1
		fi
		(( ! MADE_T )) || rm -rf "$T"
		exit $st
	}
	trap finish EXIT
	set -e
	"test_$3"
	exit 0
fi

ALONGSIDE=
if [[ ${1:-} == --alongside ]]; then
	ALONGSIDE=$2
	shift 2
fi

[[ -x $LIBFILE ]] || { echo "build first: make"; exit 1; }
command -v strace >/dev/null || { echo "strace is missing: scripts/install-deps.sh"; exit 1; }

# ---- the tests: test_* functions, file by file --------------------------------------

# TEST_MORE_DIR: a directory of more such files (tests/aarch64/run.sh)
declare -A FILE_OF=()
TESTS=()
for f in "$HERE"/*.sh ${TEST_MORE_DIR:+"$TEST_MORE_DIR"/*.sh}; do
	base=$(basename "$f" .sh)
	[[ $base == lib || $base == run ]] && continue
	source "$f"	# defines the tests, adds to SERIAL and SLOW
	for t in $(sed -n 's/^test_\([A-Za-z0-9_]*\)() {.*/\1/p' "$f"); do
		[[ -z ${FILE_OF[$t]:-} ]] ||
			{ echo "test_$t is in both $(basename "${FILE_OF[$t]}") and $base.sh"; exit 1; }
		FILE_OF[$t]=$f
		wanted=$(( $# == 0 ))
		for pat in "$@"; do
			[[ $t == *"$pat"* || $base == "${pat%.sh}" ]] && wanted=1
		done
		(( wanted )) && TESTS+=("$t")
	done
done
# TEST_LEFT_OUT: a file of lines "NAME REASON" (tests/aarch64/left-out):
# those tests do not run, and each says skip with its reason
LEFT=()
if [[ -n ${TEST_LEFT_OUT:-} ]]; then
	declare -A REASON=()
	while read -r t reason; do
		[[ -z $t || $t == \#* ]] && continue
		[[ -n ${FILE_OF[$t]:-} ]] || { echo "$TEST_LEFT_OUT: no test named $t"; exit 1; }
		REASON[$t]=$reason
	done <"$TEST_LEFT_OUT"
	kept=()
	for t in "${TESTS[@]}"; do
		if [[ -n ${REASON[$t]:-} ]]; then LEFT+=("$t"); else kept+=("$t"); fi
	done
	TESTS=("${kept[@]}")
fi
(( ${#TESTS[@]} )) || { echo "no test matches: $*"; exit 1; }
declare -A IS_SERIAL=() IS_SLOW=()
for t in "${SERIAL[@]}"; do IS_SERIAL[${t#test_}]=1; done
for t in "${SLOW[@]}"; do IS_SLOW[${t#test_}]=1; done
PARALLEL=()
for t in "${TESTS[@]}"; do [[ -n ${IS_SLOW[$t]:-} && -z ${IS_SERIAL[$t]:-} ]] && PARALLEL+=("$t"); done
for t in "${TESTS[@]}"; do [[ -z ${IS_SLOW[$t]:-} && -z ${IS_SERIAL[$t]:-} ]] && PARALLEL+=("$t"); done

# ---- running them ------------------------------------------------------------------

R=$(mktemp -d)
trap 'rm -rf "$R"' EXIT
# a directory for each test, $R/t/N: short, for the sockets a test makes
declare -A DIR_OF=()
for t in "${TESTS[@]}"; do DIR_OF[$t]=$R/t/$(( ${#DIR_OF[@]} + 1 )); done
mkdir -p "${DIR_OF[@]}"
# each test runs under timeout(1), in a process group of its own: an
# interrupt of the runner ends them too
trap 'for p in "${!NAME_OF[@]}"; do kill -TERM "$p" 2>/dev/null; done; exit 130' INT TERM

# python3: TEST_PYTHON if set, else the system's own interpreter
# (/usr/bin/python3, the one Debian's packages and users' scripts run),
# else the first on PATH. A version manager's python3 on PATH is a shell
# script that execs an interpreter: the tests preload into the interpreter
# and count its syscalls, not the script's, so they run the interpreter.
py=
if [[ -n ${TEST_PYTHON:-} ]]; then
	py=$(command -v -- "$TEST_PYTHON") && py=$(realpath -- "$py") && [[ -x $py ]] ||
		{ echo "TEST_PYTHON=$TEST_PYTHON: no such program"; exit 1; }
fi
[[ -n $py || ! -x /usr/bin/python3 ]] || py=/usr/bin/python3
[[ -n $py ]] || py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || py=
if [[ -n $py && -x $py ]]; then
	mkdir "$R/bin" && ln -s "$py" "$R/bin/python3" && export PATH=$R/bin:$PATH
fi

JOBS=${TEST_JOBS:-$(( 2 * $(nproc 2>/dev/null || echo 1) ))}
LIMIT=${TEST_TIMEOUT:-600}
passed=0 failed=0 skipped=0
for t in "${LEFT[@]}"; do
	skipped=$((skipped + 1)); echo "skip $t: ${REASON[$t]}"
done
declare -A NAME_OF=() START=()

# start NAME: run test_NAME in the background, its output to $R/NAME.out
start() {
	SKIP_FILE=$R/$1.skip timeout -k 10 "$LIMIT" \
		bash "$0" --one "${FILE_OF[$1]}" "$1" "${DIR_OF[$1]}" "$HERE" \
		</dev/null >"$R/$1.out" 2>&1 &
	NAME_OF[$!]=$1
	START[$1]=${EPOCHREALTIME/./}
}

# report NAME STATUS: one line (and the output of a failure)
report() {
	local t=$1 st=$2 out us took
	out=$(<"$R/$t.out")
	us=$(( ${EPOCHREALTIME/./} - START[$t] ))
	took="[$((us / 1000000)).$((us / 100000 % 10)) s]"
	if [[ $t == :alongside ]]; then
		if (( st == 0 )); then
			echo "ok   $ALONGSIDE $took"
		else
			failed=$((failed + 1)); echo "FAIL $ALONGSIDE: status $st $took"
		fi
		sed 's/^/     /' <<<"$out"
	elif (( st == 0 )) && [[ -f $R/$t.skip ]]; then
		skipped=$((skipped + 1)); echo "skip $t: $(cat "$R/$t.skip")"
	elif (( st == 0 )); then
		passed=$((passed + 1)); echo "ok   $t${out:+ ($out)} $took"
	else
		failed=$((failed + 1)); echo "FAIL $t $took"
		(( st == 124 && us >= LIMIT * 1000000 )) && echo "     (killed after $LIMIT s)"
		sed 's/^/     /' <<<"$out"
	fi
}

# wait_one: wait for any running test, report it; the directories of
# those done go sixteen at a time (one rm for many tests)
DONE_DIRS=()
wait_one() {
	local pid st=0 t
	wait -n -p pid || st=$?
	t=${NAME_OF[$pid]}
	report "$t" "$st"
	unset "NAME_OF[$pid]"
	[[ -z ${DIR_OF[$t]:-} ]] || DONE_DIRS+=("${DIR_OF[$t]}")
	if (( ${#DONE_DIRS[@]} >= 16 )); then
		rm -rf "${DONE_DIRS[@]}"
		DONE_DIRS=()
	fi
}

if [[ -n $ALONGSIDE ]]; then
	timeout -k 10 "$LIMIT" bash -c "$ALONGSIDE" </dev/null >"$R/:alongside.out" 2>&1 &
	NAME_OF[$!]=:alongside
	START[:alongside]=${EPOCHREALTIME/./}
fi
for t in "${PARALLEL[@]}"; do
	(( ${#NAME_OF[@]} < JOBS )) || wait_one
	start "$t"
done
while (( ${#NAME_OF[@]} )); do wait_one; done

for t in "${TESTS[@]}"; do
	[[ -n ${IS_SERIAL[$t]:-} ]] || continue
	start "$t"
	wait_one
done

echo "$passed passed, $failed failed, $skipped skipped"
(( failed == 0 ))
