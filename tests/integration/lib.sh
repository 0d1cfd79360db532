# SPDX-License-Identifier: MIT
# What the integration tests share; sourced by run.sh and by the
# bash each test runs in. The tests themselves live in the other *.sh files
# of this directory, one file per capability (see TESTING.md).
#
# In a test: $T is the test's own temporary directory, $P the test
# programs, $LIB what LD_PRELOAD gets, $CMD the bufshim command. The test
# runs under `set -e`: any failing command, [[ ]] or (( )) fails it, and
# `fail MESSAGE` says why.

ROOT=${HERE:?lib.sh is sourced by run.sh}
ROOT=${ROOT%/tests/integration}
BUILD=$ROOT/${BUFSHIM_BUILD:-build}
LIBFILE=$BUILD/libbufshim.so
CMD=$BUILD/bufshim
P=$BUILD/progs
# a sanitized library needs its runtimes loaded first (make check SAN=...)
LIB=${PRELOAD_FIRST:-}$LIBFILE

# TEST_EMULATOR=qemu-aarch64 (tests/aarch64/run.sh): the build is another
# processor's. $P then holds, for each test program, a static host program
# that runs it under the emulator and hands it the LD_PRELOAD it was given
# (tests/aarch64/guest.c). shim and preload pass the library as
# GUEST_LD_PRELOAD, which host programs in between (sh, timeout) leave
# alone, and refuse a command that runs none of the test programs: the
# library cannot load into a host program, and the test would prove nothing.
[[ -z ${TEST_EMULATOR:-} ]] || P=$BUILD/emulated

# ---- the environment: only what a test sets reaches its programs ---------------------

# (BUFSHIM_BUILD, the harness's own, stays: each test's own bash reads it
# again, and without it a sanitized, guarded or emulated run would test
# the plain build)
for _v in "${!BUFSHIM_@}"; do
	[[ $_v == BUFSHIM_BUILD ]] || unset "$_v"
done
unset _v LD_PRELOAD PYTHONUNBUFFERED PYTHONSTARTUP PYTHONINSPECT PERLIO PERL5OPT \
	PERL_UNICODE NODE_OPTIONS _STDBUF_I _STDBUF_O _STDBUF_E GZIP POSIXLY_CORRECT
# the sanitizers' runtimes leave faults to the program and to us, as without them
_san_sigs=handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:handle_abort=0
export LC_ALL=C BUFSHIM_LIB=$LIB ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0:$_san_sigs \
	UBSAN_OPTIONS=$_san_sigs
unset _san_sigs

# TEST_PREFIX="valgrind -q --trace-children=yes --error-exitcode=99": every
# program run through shim (or preload) runs under that wrapper, which runs
# `env LD_PRELOAD=... CMD` (the library is not loaded into the wrapper).
# An exit status of TEST_PREFIX_ERROR (99 unless set) fails the test even
# where it expects another status or ignores it (a pipe).
read -ra PREFIX <<<"${TEST_PREFIX:-}"
TEST_PREFIX_ERROR=${TEST_PREFIX_ERROR:-99}
if [[ ${PREFIX[0]:-} == *valgrind* && " ${PREFIX[*]} " != *" --trace-children=yes "* ]]; then
	echo "TEST_PREFIX: valgrind needs --trace-children=yes (it runs env, env the program)" >&2
	exit 2
fi

# With ASan preloaded (make check SAN=...), dd dies in ASan's aligned_alloc
# check (coreutils asks for a size that is not a multiple of the alignment):
# nothing to do with us, so those tests say skip there.
SAN_BREAKS_DD=0
[[ ${PRELOAD_FIRST:-} == *asan* ]] && SAN_BREAKS_DD=1

# strace following children, stopping only at the syscalls it is asked to
# trace (-e trace=...): dd bs=1 of 100000 bytes under the library took 3.0 s
# without that filter, 0.16 s with it (a loaded 2-core machine)
TRACE=(strace --seccomp-bpf -f -qq)

# Under an emulator strace sees the emulator's syscalls: counts come from
# the emulator's own log of the program's (tests/aarch64/emulated-strace)
[[ -z ${TEST_EMULATOR:-} ]] || TRACE=(env EMULATED_PROGS="$P" "$ROOT/tests/aarch64/emulated-strace")

# stdbuf -oL/-o0/-oSIZE... CMD under an emulator: the host's libstdbuf
# cannot load into the emulated programs; tests/preload/stdbuf_like.c,
# built for them, does what it does
if [[ -n ${TEST_EMULATOR:-} ]]; then
	stdbuf() {
		local envs=() o
		while [[ $1 == -[ioe]?* ]]; do
			o=${1:1:1}
			envs+=("_STDBUF_${o^^}=${1:2}")
			shift
		done
		env GUEST_LD_PRELOAD="$BUILD/progs/libstdbuf_like.so" "${envs[@]}" "$@"
	}
fi

# ---- outcomes ---------------------------------------------------------------------------

fail() { echo "$*"; return 1; }

# skip REASON: the test does not apply here (call it from the test's body,
# not from a pipe or $(...))
skip() {
	if [[ -n ${SKIP_FILE:-} ]]; then echo "$*" >"$SKIP_FILE"; else echo "skip: $*"; fi
	exit 0
}

skip_dd_under_asan() {
	(( SAN_BREAKS_DD )) && skip "dd cannot run with ASan preloaded (its aligned_alloc)"
	return 0
}

# stopped PID: the process is stopped (by a signal; read without a fork)
stopped() {
	local s
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	s=${s##*) }
	[[ $s == T* ]]
}

# skip_under_prefix WHAT: a test that counts syscalls under strace or times
# something cannot run under a wrapper such as valgrind
skip_under_prefix() {
	(( ${#PREFIX[@]} == 0 )) || skip "$* (not under TEST_PREFIX)"
}

# ---- running programs -----------------------------------------------------------------

# preload LIBS [VAR=VAL...] CMD...: run CMD with LD_PRELOAD=LIBS, under
# TEST_PREFIX when it is set
preload() { run_preloaded 0 "$@"; }

# shim [VAR=VAL...] CMD...: run CMD with the library preloaded
shim() { run_preloaded 0 "$LIB" "$@"; }

# shim_within SECONDS [VAR=VAL...] CMD...: shim, killed after SECONDS (ten
# times as long under TEST_PREFIX); status 124 when it was, 137 when it
# did not end within 3 s of that SIGTERM (SIGKILL then: a hung test ends)
shim_within() {
	local s=$1
	shift
	(( ${#PREFIX[@]} == 0 )) || s=$((s * 10))
	run_preloaded "$s" "$LIB" "$@"
}

run_preloaded() {
	local limit=() libs=$2 envs=() st=0 var=LD_PRELOAD
	(( $1 == 0 )) || limit=(timeout -k 3 "$1")
	shift 2
	while [[ $1 == [A-Za-z_]*=* ]]; do envs+=("$1"); shift; done
	if [[ -n ${TEST_EMULATOR:-} ]]; then
		var=GUEST_LD_PRELOAD
		[[ " $* " == *" $P/"* ]] ||
			{ echo "under $TEST_EMULATOR only the test programs load the library: $*" >&2; return 1; }
	fi
	if (( ${#limit[@]} + ${#PREFIX[@]} )); then
		"${limit[@]}" "${PREFIX[@]}" env "$var=$libs" "${envs[@]}" "$@" || st=$?
	else	# the shell sets the environment: no env(1) in between
		( export "$var=$libs" "${envs[@]}"; exec "$@" ) || st=$?
	fi
	if [[ -n ${TEST_PREFIX:-} ]] && (( st == TEST_PREFIX_ERROR )); then
		echo "$*" >>"$T/prefix-errors"
	fi
	return $st
}

# writes [VAR=VAL...] -- CMD...: print the number of write-family syscalls
# CMD makes (the children it waits for included), its stdout going to
# $T/out. The kernel's own count (tests/progs/count_writes.c) where it
# keeps one: a tracer stops the program at each write, and a plain run
# of 120000 writes took 8.3 s under strace against 0.7 s counted so.
# strace where the kernel keeps no count, and under an emulator.
COUNT_BY_KERNEL=0
[[ -z ${TEST_EMULATOR:-} && -r /proc/self/io && ${WRITES_BY:-} != strace ]] && COUNT_BY_KERNEL=1
writes() {
	(( ${#PREFIX[@]} == 0 )) || { echo "writes: no syscall count under TEST_PREFIX" >&2; return 1; }
	local envs=() st=0
	while [[ $1 != -- ]]; do envs+=("$1"); shift; done
	shift
	if (( COUNT_BY_KERNEL )); then
		rm -f "$T/count"
		"$P/count_writes" "$T/count" env "${envs[@]}" "$@" >"$T/out" || st=$?
		if [[ -s $T/count ]]; then
			(( st == 0 )) || return 1
			cat "$T/count"
			return 0
		fi
	fi
	local e opts=()
	for e in "${envs[@]}"; do opts+=(-E "$e"); done
	"${TRACE[@]}" -c -o "$T/strace" -e trace=write,writev,pwrite64,pwritev,pwritev2 \
		"${opts[@]}" -- "$@" >"$T/out" || return 1
	awk '$NF == "total" { print $4 }' "$T/strace"
}

# ---- checks ---------------------------------------------------------------------------

# at_least_times_fewer PLAIN SHIM FACTOR
at_least_times_fewer() {
	(( $2 > 0 && $1 >= $2 * $3 )) || fail "writes: plain $1, bufshim $2: not ${3}x fewer"
}

same_files() { cmp -s "$1" "$2" || fail "output differs: $(cmp "$1" "$2" 2>&1 | head -1)"; }

# same_trees DIR1 DIR2: the same files, with the same bytes, in both (one
# process for any number of files)
same_trees() {
	local d
	d=$(diff -rq "$1" "$2" 2>&1) || fail "$(head -8 <<<"$d")"
}

# wait_until SECONDS CMD...: run CMD until it succeeds, sleeping 10 ms after
# the first try and twice as long after each next one (at most 0.5 s), for
# at most SECONDS in all (then status 1)
wait_until() {
	local bound=$(( $1 * 1000000 )) delay=10 start=${EPOCHREALTIME/./}
	shift
	until "$@"; do
		(( ${EPOCHREALTIME/./} - start < bound )) || return 1
		sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
		(( delay = delay * 2 > 500 ? 500 : delay * 2 ))
	done
}

# handler_race_runs N: N runs of the signals program's race, a SIGALRM
# handler writing a line and _exiting while the program writes: in each,
# the handler's line comes after every line a write had accepted, none
# lost, none out of order. One run at a time, checked four at a time: runs
# side by side cost twice the CPU (7 s against 3.3 s for 200) and found no
# more: with the library's deferral of handlers taken out, 11-22 of 200
# runs lost or reordered lines one at a time, 14-18 four at a time
handler_race_runs() {
	local n=$1 i bad=0
	# under the sanitizers (make check SAN=...) the point is what they
	# find, not the race's odds: a quarter of the runs, and CI's time
	[[ -z ${PRELOAD_FIRST:-} ]] || n=$(( n / 4 ))
	for i in $(seq 1 "$n"); do
		shim BUFSHIM_SIZE=64K "$P/signals" race 100000000 >"$T/race.$((i % 4))"
		(( i % 4 && i < n )) && continue
		"$P/records" race "$T"/race.* || bad=$((bad + $?))
		rm -f "$T"/race.*
	done
	(( bad == 0 )) || fail "$bad of $n runs lost or reordered lines"
}
