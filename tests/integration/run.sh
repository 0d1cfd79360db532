#!/usr/bin/env bash
# Integration tests: real processes with the library preloaded, their bytes
# compared with a plain run and their syscalls counted under strace.
# Usage: tests/integration/run.sh [NAME-PATTERN]
#
# Each test runs in its own bash under `set -e`: any failing command, [[ ]] or
# (( )) fails the test, and `fail MESSAGE` says why.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$ROOT/${BUFSHIM_BUILD:-build}
LIBFILE=$BUILD/libbufshim.so
CMD=$BUILD/bufshim
P=$BUILD/progs
# a sanitized library needs its runtimes loaded first (make check SAN=...)
LIB=${PRELOAD_FIRST:-}$LIBFILE
export BUFSHIM_LIB=$LIB ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
ONLY=${1:-}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
unset BUFSHIM_FDS BUFSHIM_SIZE BUFSHIM_MODE BUFSHIM_FLUSH_MS BUFSHIM_STATS BUFSHIM_STDIO LD_PRELOAD

passed=0 failed=0 skipped=0

# ---- helpers ---------------------------------------------------------------------

# run NAME: run test_NAME in a bash of its own, count it
run() {
	[[ -n $ONLY && $1 != *$ONLY* ]] && return
	local out
	if out=$(bash "$0" --one "$1" 2>&1); then
		if [[ $out == SKIP* ]]; then
			skipped=$((skipped + 1)); echo "skip $1: ${out#SKIP }"
		else
			passed=$((passed + 1)); echo "ok   $1${out:+ ($out)}"
		fi
	else
		failed=$((failed + 1)); echo "FAIL $1"; sed 's/^/     /' <<<"$out"
	fi
}

fail() { echo "$*"; return 1; }

# With ASan preloaded (make check SAN=...), dd dies in ASan's aligned_alloc
# check (coreutils asks for a size that is not a multiple of the alignment):
# nothing to do with us, so those tests say SKIP there.
SAN_BREAKS_DD=0
[[ ${PRELOAD_FIRST:-} == *asan* ]] && SAN_BREAKS_DD=1
skip_dd_under_asan() {
	(( SAN_BREAKS_DD )) || return 1
	echo "SKIP dd cannot run with ASan preloaded (its aligned_alloc)"
}

# shim [VAR=VAL...] CMD...: run CMD with the library preloaded
shim() { env LD_PRELOAD="$LIB" "$@"; }

# writes [VAR=VAL...] -- CMD...: print the number of write-family syscalls
# CMD makes (children included), its stdout going to $T/out.
writes() {
	local envs=()
	while [[ $1 != -- ]]; do envs+=(-E "$1"); shift; done
	shift
	strace -f -qq -c -o "$T/strace" -e trace=write,writev,pwrite64,pwritev,pwritev2 \
		"${envs[@]}" -- "$@" >"$T/out" || return 1
	awk '$NF == "total" { print $4 }' "$T/strace"
}

# at_least_times_fewer PLAIN SHIM FACTOR
at_least_times_fewer() {
	(( $2 > 0 && $1 >= $2 * $3 )) || fail "writes: plain $1, bufshim $2: not ${3}x fewer"
}

same_files() { cmp -s "$1" "$2" || fail "output differs: $(cmp "$1" "$2" 2>&1 | head -1)"; }

# ---- the library itself -------------------------------------------------------------

test_exports_only_hooks() {
	local want got
	want=$(tr ' ;{}' '\n\n\n\n' <"$BUILD/libbufshim.map" | grep -vxE 'global:|local:|\*|' | sort)
	got=$(nm -D --defined-only "$LIBFILE" | awk '{print $3}' | sort)
	[[ $(wc -l <<<"$want") -gt 100 ]] || fail "too few hooks in the map: $want"
	[[ $want == "$got" ]] || fail "exports differ from the hooks: $(diff <(echo "$want") <(echo "$got") | grep '^[<>]' | tr '\n' ' ')"
}

# ---- bytes and syscalls on real programs ----------------------------------------------

test_dd_bs1_to_file() {
	skip_dd_under_asan && return 0
	head -c 100000 /dev/urandom >"$T/in"
	local plain shimmed
	plain=$(writes -- dd if="$T/in" bs=1 status=none) || return 1
	cp "$T/out" "$T/plain"
	shimmed=$(writes LD_PRELOAD="$LIB" -- dd if="$T/in" bs=1 status=none) || return 1
	same_files "$T/in" "$T/out" && same_files "$T/plain" "$T/out" &&
		at_least_times_fewer "$plain" "$shimmed" 50 && echo "$plain -> $shimmed writes"
}

test_dd_bs1_to_pipe() {
	skip_dd_under_asan && return 0
	head -c 50000 /dev/urandom >"$T/in"
	shim dd if="$T/in" bs=1 status=none | cat >"$T/out"
	same_files "$T/in" "$T/out"
}

test_c_writer_full_mode() {
	local plain shimmed
	plain=$(writes -- "$P/writer" 20000 40) || return 1
	cp "$T/out" "$T/plain"
	shimmed=$(writes LD_PRELOAD="$LIB" BUFSHIM_MODE=full -- "$P/writer" 20000 40) || return 1
	same_files "$T/plain" "$T/out" && at_least_times_fewer "$plain" "$shimmed" 50 &&
		(( shimmed <= (20000 * 40 + 4095) / 4096 )) || fail "$shimmed > ceil(bytes/size)"
	echo "$plain -> $shimmed writes"
}

test_large_writes_straight_out_through_other_preloads() {
	# writes of more than the buffer: one syscall each, by a shorter path
	# of their own, and a library preloaded after ours still sees each one
	local n
	"$P/writer" 300 5000 >"$T/plain"
	n=$(writes LD_PRELOAD="$LIB" BUFSHIM_MODE=full -- "$P/writer" 300 5000)
	same_files "$T/plain" "$T/out"
	(( n == 300 )) || fail "$n write syscalls for 300 writes of 5000 bytes"
	LD_PRELOAD="$LIB:$P/libchain_write.so" CHAIN_WRITE_LOG="$T/chain" BUFSHIM_MODE=full \
		"$P/writer" 300 5000 >"$T/out"
	same_files "$T/plain" "$T/out"
	(( $(cat "$T/chain") >= 300 )) || fail "the next library saw $(cat "$T/chain") of 300 writes"
}

test_c_writer_writev() {
	local plain shimmed
	plain=$(writes -- "$P/writer" 5000 30 writev) || return 1
	cp "$T/out" "$T/plain"
	shimmed=$(writes LD_PRELOAD="$LIB" -- "$P/writer" 5000 30 writev) || return 1
	same_files "$T/plain" "$T/out" && at_least_times_fewer "$plain" "$shimmed" 30
}

test_c_writer_line_mode_joins_pieces_of_a_line() {
	local plain shimmed
	plain=$(writes -- "$P/writer" 3000 20 split) || return 1
	cp "$T/out" "$T/plain"
	shimmed=$(writes LD_PRELOAD="$LIB" BUFSHIM_MODE=line -- "$P/writer" 3000 20 split) || return 1
	same_files "$T/plain" "$T/out" || return 1
	(( plain == 6000 && shimmed == 3000 )) || fail "plain $plain, line mode $shimmed: want 6000 and 3000"
}

test_python_unbuffered_lines() {
	command -v python3 >/dev/null || { echo "SKIP no python3"; return 0; }
	local prog='import sys
for i in range(20000): print("line", i, "of python output")'
	local plain shimmed
	plain=$(writes -- python3 -u -c "$prog") || return 1
	cp "$T/out" "$T/plain"
	for mode in full line; do
		shimmed=$(writes LD_PRELOAD="$LIB" BUFSHIM_MODE=$mode -- python3 -u -c "$prog") || return 1
		same_files "$T/plain" "$T/out" || return 1
		[[ $mode == line ]] && { (( shimmed <= plain )) || fail "line: $shimmed > $plain"; continue; }
		at_least_times_fewer "$plain" "$shimmed" 50 || return 1
		echo -n "$plain -> $shimmed writes in full mode; "
	done
}

test_node_writesync_lines() {
	# Node is not a Debian default: run when it is there (not installed by
	# scripts/install-deps.sh for this one test: ~200 MB)
	command -v node >/dev/null || { echo "SKIP no node"; return 0; }
	local prog='const fs = require("fs");
for (let i = 0; i < 20000; i++) fs.writeSync(1, "line " + i + " of node output\n");
console.log("console.log after"); process.stdout.write("stream write last\n");'
	local plain shimmed
	plain=$(writes -- node -e "$prog") || return 1
	cp "$T/out" "$T/plain"
	shimmed=$(writes LD_PRELOAD="$LIB" -- node -e "$prog") || return 1
	same_files "$T/plain" "$T/out" || return 1
	at_least_times_fewer "$plain" "$shimmed" 50 || return 1
	echo "$plain -> $shimmed writes"
	# files under BUFSHIM_FDS=all: libuv closes and stats through syscall()
	local files='const fs = require("fs"), f = process.argv[1];
const fd = fs.openSync(f, "w");
for (let i = 0; i < 1000; i++) fs.writeSync(fd, "record " + i + "\n");
console.log(fs.statSync(f).size);
fs.closeSync(fd);
console.log(fs.readFileSync(f, "utf8").length);'
	node -e "$files" "$T/n.plain" >"$T/np.out"
	shim BUFSHIM_FDS=all node -e "$files" "$T/n.shim" >"$T/ns.out"
	same_files "$T/np.out" "$T/ns.out" || return 1
	same_files "$T/n.plain" "$T/n.shim"
}

test_perl_autoflush_lines() {
	local plain shimmed
	plain=$(writes -- perl -e '$|=1; print "perl line $_\n" for 1..20000') || return 1
	cp "$T/out" "$T/plain"
	shimmed=$(writes LD_PRELOAD="$LIB" -- perl -e '$|=1; print "perl line $_\n" for 1..20000') || return 1
	same_files "$T/plain" "$T/out" && at_least_times_fewer "$plain" "$shimmed" 50 &&
		echo "$plain -> $shimmed writes"
}

test_dash_loop_and_commands_fds_1_2() {
	local script='i=0; while [ $i -lt 300 ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done
		/bin/echo external; echo after; ls /nonexistent 2>&1; echo "status $?"; exit 3'
	local st1=0 st2=0
	dash -c "$script" >"$T/plain.1" 2>"$T/plain.2" || st1=$?
	shim BUFSHIM_FDS=1,2 BUFSHIM_MODE=full dash -c "$script" >"$T/out.1" 2>"$T/out.2" || st2=$?
	same_files "$T/plain.1" "$T/out.1" && same_files "$T/plain.2" "$T/out.2" &&
		(( st1 == st2 )) || fail "status $st1 vs $st2"
}

# ---- sync points ---------------------------------------------------------------------

test_fsync_fdatasync_close_make_bytes_visible() {
	local op
	for op in fsync fdatasync close; do
		rm -f "$T/f"
		shim BUFSHIM_MODE=full "$P/sync_visible" "$T/f" $op >"$T/f" || fail "$op: not visible" || return 1
	done
	# the control: without a sync point the bytes are still held
	rm -f "$T/f"
	shim BUFSHIM_MODE=full "$P/sync_visible" "$T/f" none >"$T/f" || fail "control: visible without a sync"
}

test_looking_at_its_own_file_sees_every_byte() {
	# the program reads, stats, maps, cuts and copies a file it writes
	# through a buffered fd, and appends to it through a second fd: it
	# sees what it sees without us, and the bytes were held each time
	# (without CAP_FSETID, as most users: a late write would clear set-ID bits)
	local nofsetid=()
	setpriv --bounding-set=-fsetid true 2>/dev/null && nofsetid=(setpriv --bounding-set=-fsetid)
	mkdir "$T/plain" "$T/shim"
	"${nofsetid[@]}" "$P/own_file" "$T/plain" >"$T/plain.out" 2>"$T/plain.err"
	shim BUFSHIM_FDS=all "${nofsetid[@]}" "$P/own_file" "$T/shim" >"$T/shim.out" 2>"$T/shim.err" ||
		fail "status $? under bufshim" || return 1
	same_files "$T/plain.out" "$T/shim.out" || return 1
	grep -qx 'mode: fchmod 4755' "$T/plain.out" || fail "plain: $(grep mode "$T/plain.out")" || return 1
	[[ $(wc -l <"$T/shim.err") -eq 18 ]] || fail "cases: $(cat "$T/shim.err")" || return 1
	! grep -v ' held [1-9][0-9]*$' "$T/shim.err" || fail "bytes were not held in these cases"
	cmp -s "$T/plain/own" "$T/shim/own" || fail "the files differ"
	# a real program: python -u prints to >>log and appends to log itself
	local py='import os, sys
print("one"); open(sys.argv[1], "a").write("two\n"); print("three")
print(os.path.getsize(sys.argv[1]))'
	: >"$T/log.plain"; : >"$T/log.shim"
	python3 -u -c "$py" "$T/log.plain" >>"$T/log.plain"
	shim python3 -u -c "$py" "$T/log.shim" >>"$T/log.shim"
	same_files "$T/log.plain" "$T/log.shim" || return 1
	# bash: fd 3 held open on >>log, and each echo's own >>log
	local sh='exec 3>>"$1"; for i in $(seq 1 500); do echo a$i >&3; echo b$i >>"$1"; done'
	bash -c "$sh" sh "$T/b.plain"
	shim BUFSHIM_FDS=all bash -c "$sh" sh "$T/b.shim"
	same_files "$T/b.plain" "$T/b.shim" || return 1
	# stdout >>log, and the program's own stream, dprintf and fd on log
	local fds
	: >"$T/mix.plain"
	"$P/append_mix" "$T/mix.plain" >>"$T/mix.plain"
	for fds in 1 all; do
		: >"$T/mix.shim"
		shim BUFSHIM_FDS=$fds "$P/append_mix" "$T/mix.shim" >>"$T/mix.shim"
		same_files "$T/mix.plain" "$T/mix.shim" || fail "BUFSHIM_FDS=$fds" || return 1
	done
}

# ---- processes and threads -----------------------------------------------------------

test_fork_doubles_nothing() {
	local how
	for how in exit _exit vfork; do
		shim "$P/forker" $how >"$T/out" || return 1
		printf 'before\nchild\nparent\n' | cmp -s - "$T/out" ||
			fail "$how: got $(tr '\n' ' ' <"$T/out")" || return 1
		shim "$P/forker" $how | cat >"$T/out"
		printf 'before\nchild\nparent\n' | cmp -s - "$T/out" ||
			fail "$how (pipe): got $(tr '\n' ' ' <"$T/out")" || return 1
	done
}

test_quick_exit_and__Exit_deliver() {
	local how
	for how in quick_exit _Exit; do
		printf '#include <stdlib.h>\n#include <unistd.h>\nstatic void h(void) { write(1, "handler\\n", 8); }\nint main(void) { at_quick_exit(h); write(1, "main\\n", 5); %s(0); }\n' \
			"$how" >"$T/q.c"
		cc -o "$T/q" "$T/q.c"
		shim BUFSHIM_MODE=full "$T/q" >"$T/out"
		"$T/q" >"$T/plain"
		same_files "$T/plain" "$T/out" || fail "$how"
	done
}

test_write_is_still_a_cancellation_point() {
	timeout 10 env LD_PRELOAD="$LIB" BUFSHIM_MODE=full "$P/boundaries" cancel >/dev/null 2>"$T/err" ||
		fail "status $? (124: the thread was never cancelled)"
	grep -qx joined "$T/err"
}

test_write_before_our_constructor() {
	# another preloaded library writes from its constructor, before or
	# after ours has run
	printf '#include <unistd.h>\n__attribute__((constructor)) static void early(void) { write(1, "early\\n", 6); }\n' >"$T/early.c"
	cc -shared -fPIC -o "$T/early.so" "$T/early.c"
	"$P/writer" 3 10 >"$T/w"
	{ echo early; cat "$T/w"; } >"$T/plain"
	local order
	for order in "$LIB:$T/early.so" "$T/early.so:$LIB"; do
		env LD_PRELOAD="$order" BUFSHIM_MODE=full "$P/writer" 3 10 >"$T/out" || fail "$order: status $?"
		same_files "$T/plain" "$T/out" || fail "LD_PRELOAD=$order"
	done
}

test_bad_fds_and_fds_above_the_first_table_chunk() {
	local prog='import os, resource
try:
    os.write(77, b"x")
except OSError as e:
    os.write(1, b"fd 77: %s\n" % e.strerror.encode())
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if hard != resource.RLIM_INFINITY and hard < 6000:
    raise SystemExit("RLIMIT_NOFILE hard limit below 6000")
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 6000), hard))
os.dup2(1, 5000)
for i in range(3000):
    os.write(5000 if i % 2 else 1, b"line %d\n" % i)
os.close(5000)
os.write(1, b"end\n")'
	python3 -c "$prog" >"$T/plain" || { echo "SKIP $(python3 -c "$prog" 2>&1 >/dev/null | tail -1)"; return 0; }
	grep -qx 'fd 77: Bad file descriptor' "$T/plain" || fail "plain: $(head -1 "$T/plain")"
	local writes
	writes=$(writes LD_PRELOAD="$LIB" BUFSHIM_FDS=all BUFSHIM_MODE=full -- python3 -c "$prog")
	same_files "$T/plain" "$T/out" || fail "output"
	(( writes < 100 )) || fail "$writes write syscalls for 3001 writes"
}

SECURE_LIB=
test_secure_execution_does_nothing() {
	# ld.so preloads into a set-user-ID program only a library in a trusted
	# directory that is set-user-ID itself: install a copy there, run a
	# setuid-root program as nobody. A bad setting and stats prove silence.
	[[ $(id -u) == 0 ]] && command -v setpriv >/dev/null || { echo "SKIP needs root and setpriv"; return 0; }
	[[ -z ${PRELOAD_FIRST:-} ]] || { echo "SKIP a sanitized library cannot load in secure mode"; return 0; }
	local libdir name=libbufshim-securetest-$$.so d
	libdir=$(dirname "$(ldd /bin/true | awk '/libc.so/ { print $3 }')")
	d=$(mktemp -d -p "$T") && chmod 755 "$T" "$d"
	SECURE_LIB=$libdir/$name
	trap 'rm -f "$SECURE_LIB"; rm -rf "$T"' EXIT
	install -m 4755 "$LIBFILE" "$SECURE_LIB"
	install -m 4755 "$P/writer" "$d/suid_writer"
	install -m 755 "$P/writer" "$d/plain_writer"
	# env runs inside setpriv, so that only the program gets the library
	local as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups env LD_PRELOAD="$name")
	# control: the same preload in a program that is not set-user-ID speaks
	"${as_nobody[@]}" BUFSHIM_SIZE=12x "$d/plain_writer" 5 10 >/dev/null 2>"$T/err" || fail "control: status $?"
	grep -q "BUFSHIM_SIZE='12x'" "$T/err" || fail "control: the library did not load: $(cat "$T/err")"
	"${as_nobody[@]}" BUFSHIM_SIZE=12x "$d/suid_writer" 5 10 >"$T/out" 2>"$T/err" || fail "setuid: status $?"
	[[ ! -s $T/err ]] || fail "secure mode: the library spoke: $(cat "$T/err")"
	cmp -s "$T/out" <("$P/writer" 5 10) || fail "secure mode: output"
	"${as_nobody[@]}" BUFSHIM_STATS=1 "$d/suid_writer" 5 10 >/dev/null 2>"$T/err"
	[[ ! -s $T/err ]] || fail "secure mode: stats: $(cat "$T/err")"
	rm -f "$SECURE_LIB"
}

test_threads_tear_no_record() {
	shim "$P/threads" write 4 20000 >"$T/out" || fail "writer failed" || return 1
	"$P/threads" check 4 20000 <"$T/out" || return 1
	shim "$P/threads" write 4 20000 | "$P/threads" check 4 20000
}

# ---- failures --------------------------------------------------------------------------

test_bad_setting_fails_open() {
	local plain shimmed
	plain=$(writes -- "$P/writer" 100 10) || return 1
	cp "$T/out" "$T/plain"
	shimmed=$(writes LD_PRELOAD="$LIB" BUFSHIM_SIZE=12x -- "$P/writer" 100 10 2>/dev/null) || return 1
	same_files "$T/plain" "$T/out" || return 1
	# one more write: the message on stderr
	(( shimmed == plain + 1 )) || fail "bad setting still buffered: $shimmed writes"
	shim BUFSHIM_SIZE=12x "$P/writer" 100 10 2>"$T/err" >/dev/null
	[[ $(cat "$T/err") == "bufshim: BUFSHIM_SIZE='12x' is not a size (e.g. 4096, 64K, 1M); buffering off" ]] ||
		fail "stderr: $(cat "$T/err")"
}

test_write_error_reaches_the_program() {
	# RLIMIT_FSIZE: the kernel writes a short count, then says EFBIG
	"$P/fsize" 10000 20000 >"$T/plain" 2>"$T/plain.err" || fail "fsize failed"
	shim BUFSHIM_MODE=full "$P/fsize" 10000 20000 >"$T/out" 2>"$T/out.err"
	same_files "$T/plain" "$T/out" || return 1
	grep -q "error EFBIG" "$T/out.err" || fail "program was not told: $(cat "$T/out.err")" || return 1
	grep -q "accepted 10000, error EFBIG" "$T/plain.err" || fail "plain: $(cat "$T/plain.err")"
}

# ---- real faults (SPEC invariant 3) ---------------------------------------------------------

# inject SYSCALL:ERR:WHEN [VAR=VAL...] -- CMD...: run CMD under strace with
# the syscall failing with ERR on the calls WHEN selects; stdout to $T/out,
# the trace to $T/trace (strace injects only into calls it traces)
inject() {
	local spec=$1 envs=() st=0
	shift
	while [[ $1 != -- ]]; do envs+=(-E "$1"); shift; done
	shift
	strace -f -qq -o "$T/trace" -e trace="${spec%%:*}" \
		-e inject="${spec%%:*}:error=$(cut -d: -f2 <<<"$spec"):when=${spec##*:}" \
		"${envs[@]}" -- "$@" >"$T/out" || st=$?
	grep -q '(INJECTED)' "$T/trace" || { echo "nothing was injected"; return 99; }
	return $st
}

# Records of 40 bytes are buffered; records of 5000 (more than the buffer)
# go straight out, by a shorter path of their own: both are faulted.
SIZES_BOTH_PATHS="20000x40 400x5000"

test_faults_eintr_and_eagain_are_retried() {
	local spec cs
	for cs in $SIZES_BOTH_PATHS; do
		"$P/writer" ${cs%x*} ${cs#*x} >"$T/plain"
		for spec in write,writev:EINTR:1+2 write,writev:EAGAIN:1+3; do
			rm -f "$T/stats"
			inject "$spec" LD_PRELOAD="$LIB" BUFSHIM_MODE=full BUFSHIM_STATS="$T/stats" -- \
				"$P/writer" ${cs%x*} ${cs#*x} || fail "$cs $spec: status $? (the program saw a failure?)"
			same_files "$T/plain" "$T/out" || fail "$cs $spec"
			grep -q '; 0 errors, 0 B dropped$' "$T/stats" || fail "$cs $spec: $(cat "$T/stats")"
		done
	done
}

test_faults_enospc_reported_once_file_an_exact_prefix() {
	local st n cs
	for cs in $SIZES_BOTH_PATHS; do
		"$P/writer" ${cs%x*} ${cs#*x} >"$T/plain"
		st=0
		rm -f "$T/stats"
		inject write,writev:ENOSPC:3 LD_PRELOAD="$LIB" BUFSHIM_MODE=full BUFSHIM_STATS="$T/stats" -- \
			"$P/writer" ${cs%x*} ${cs#*x} 2>"$T/err" || st=$?
		(( st == 1 )) || fail "$cs: status $st: the program was not told"
		grep -qx 'writer: No space left on device' "$T/err" || fail "$cs: stderr: $(cat "$T/err")"
		n=$(stat -c %s "$T/out")
		(( n > 0 )) && cmp -s "$T/out" <(head -c "$n" "$T/plain") || fail "$cs: not a prefix ($n bytes)"
		grep -qE '; 1 error, [0-9]+ B dropped$' "$T/stats" || fail "$cs: stats: $(cat "$T/stats")"
		echo -n "$cs: prefix of $n bytes, $(grep -oE '[0-9]+ B dropped' "$T/stats"); "
	done
}

test_faults_on_every_delivery_reach_the_program() {
	# a fault on every call (only an injector can do that): the program is
	# told, as without us, instead of the library retrying for ever; its
	# own message fails like every other write
	local err plain shimmed cs
	for cs in $SIZES_BOTH_PATHS; do
		for err in EINTR EAGAIN; do
			plain=0 shimmed=0
			inject write,writev:$err:1+1 -- "$P/writer" ${cs%x*} ${cs#*x} 2>"$T/perr" || plain=$?
			cp "$T/out" "$T/plain"
			timeout 60 strace -f -qq -o "$T/trace" -e trace=write,writev \
				-e inject=write,writev:error=$err -E LD_PRELOAD="$LIB" -E BUFSHIM_MODE=full \
				-- "$P/writer" ${cs%x*} ${cs#*x} >"$T/out" 2>"$T/err" || shimmed=$?
			(( plain == 1 && shimmed == 1 )) || fail "$cs $err: status $plain plain, $shimmed bufshim"
			[[ ! -s $T/plain && ! -s $T/out ]] || fail "$cs $err: bytes arrived"
			same_files "$T/perr" "$T/err" || fail "$cs $err: stderr: $(cat "$T/err")"
		done
	done
}

test_faults_failure_at_exit_said_once() {
	inject write:ENOSPC:1 LD_PRELOAD="$LIB" BUFSHIM_MODE=full -- "$P/writer" 10 10 2>"$T/err" ||
		fail "status $?"
	[[ $(cat "$T/err") == 'bufshim: fd 1: output lost: No space left on device (100 B dropped in all)' ]] ||
		fail "stderr: $(cat "$T/err")"
}

test_faults_epipe_with_sigpipe_default_and_ignored() {
	local a b
	"$P/writer" 100000 40 | head -c 10 >/dev/null; a=${PIPESTATUS[0]}
	shim BUFSHIM_MODE=full "$P/writer" 100000 40 | head -c 10 >/dev/null; b=${PIPESTATUS[0]}
	(( a == 141 && b == 141 )) || fail "SIGPIPE default: status $a plain, $b bufshim"
	bash -c "trap '' PIPE; exec '$P/writer' 100000 40" 2>"$T/perr" | head -c 10 >/dev/null; a=${PIPESTATUS[0]}
	bash -c "trap '' PIPE; exec env LD_PRELOAD='$LIB' BUFSHIM_MODE=full '$P/writer' 100000 40" 2>"$T/oerr" |
		head -c 10 >/dev/null; b=${PIPESTATUS[0]}
	(( a == 1 && b == 1 )) || fail "SIGPIPE ignored: status $a plain, $b bufshim"
	same_files "$T/perr" "$T/oerr" || fail "stderr: $(cat "$T/oerr")"
}

test_faults_fd_closed_behind_our_back() {
	# (a close through syscall() is seen: own_file checks that)
	[[ $(uname -m) == x86_64 ]] || { echo "SKIP the raw close is x86-64 assembly"; return 0; }
	shim BUFSHIM_MODE=full "$P/faults" rawclose >"$T/out" 2>"$T/err" || fail "status $?"
	[[ $(cat "$T/err") == 'bufshim: fd 1: output lost: Bad file descriptor (1 B dropped in all)' ]] ||
		fail "stderr: $(cat "$T/err")"
}

test_faults_sigkill_loses_at_most_one_buffer() {
	{ "$P/faults" kill 1000 >"$T/plain"; } 2>/dev/null || true
	{ shim BUFSHIM_MODE=full "$P/faults" kill 1000 >"$T/out"; } 2>/dev/null || true
	local n
	n=$(stat -c %s "$T/out")
	(( $(stat -c %s "$T/plain") == 39000 && n >= 39000 - 4096 )) || fail "$n of 39000 bytes"
	cmp -s "$T/out" <(head -c "$n" "$T/plain") || fail "not a prefix"
	echo "$((39000 - n)) bytes lost"
}

test_faults_abort_and_assert_deliver_first() {
	local st=0
	shim BUFSHIM_MODE=full "$P/faults" abort 1000 >"$T/out" 2>/dev/null || st=$?
	(( st == 134 )) || fail "abort: status $st"
	(( $(stat -c %s "$T/out") == 39000 )) || fail "abort lost output: $(stat -c %s "$T/out") bytes"
	st=0
	shim BUFSHIM_FDS=1,2 BUFSHIM_MODE=full "$P/faults" assert 1000 >"$T/out" 2>"$T/err" || st=$?
	(( st == 134 )) || fail "assert: status $st"
	(( $(stat -c %s "$T/out") == 39000 )) || fail "assert lost output"
	grep -q '^about to fail$' "$T/err" && grep -q "Assertion \`n < 0' failed" "$T/err" ||
		fail "assert: stderr: $(cat "$T/err")"
}

# ---- concurrency across processes ---------------------------------------------------------------

test_processes_appending_keep_records_whole() {
	local prog='import os, sys
t, n = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    os.write(1, b"%d:%d:%s\n" % (t, i, bytes([97 + t]) * (i % 97)))'
	: >"$T/append"
	local t
	for t in 0 1 2 3; do
		shim BUFSHIM_MODE=full python3 -c "$prog" $t 20000 >>"$T/append" &
	done
	wait
	"$P/threads" check 4 20000 <"$T/append" || fail "O_APPEND file"
	{ for t in 0 1 2 3; do shim BUFSHIM_MODE=full python3 -c "$prog" $t 20000 & done; wait; } |
		"$P/threads" check 4 20000 || fail "one pipe"
}

# ---- bad settings fail open ----------------------------------------------------------------------

test_bad_settings_table() {
	"$P/writer" 200 20 >"$T/plain"
	local bad=(
		"BUFSHIM_FDS=" "BUFSHIM_FDS=x" "BUFSHIM_FDS=-1" "BUFSHIM_FDS=1,1" "BUFSHIM_FDS=99999999999"
		"BUFSHIM_FDS=1:fast" "BUFSHIM_FDS=1 2" "BUFSHIM_SIZE=" "BUFSHIM_SIZE=0" "BUFSHIM_SIZE=-5"
		"BUFSHIM_SIZE=99999999999999999999" "BUFSHIM_SIZE=12x" "BUFSHIM_SIZE=4KX" "BUFSHIM_SIZE=2G"
		"BUFSHIM_MODE=fast" "BUFSHIM_MODE=" "BUFSHIM_FLUSH_MS=-1" "BUFSHIM_FLUSH_MS=1s"
		"BUFSHIM_STDIO=yes"
	)
	local b lines
	for b in "${bad[@]}"; do
		shim "$b" "$P/writer" 200 20 >"$T/out" 2>"$T/err" || fail "$b: status $?"
		same_files "$T/plain" "$T/out" || fail "$b"
		lines=$(wc -l <"$T/err")
		(( lines == 1 )) && grep -q "^bufshim: ${b%%=*}='.*; buffering off$" "$T/err" ||
			fail "$b: stderr: $(cat "$T/err")"
	done
	# forgiven: spaces around values and items
	shim "BUFSHIM_FDS= 1 , 2 " "BUFSHIM_SIZE= 64K " "$P/writer" 200 20 >"$T/out" 2>"$T/err"
	[[ ! -s $T/err ]] && same_files "$T/plain" "$T/out" || fail "spaces: $(cat "$T/err")"
	echo "${#bad[@]} bad settings"
}

# ---- stats -----------------------------------------------------------------------------

test_stats_line_at_exit() {
	shim BUFSHIM_STATS=1 BUFSHIM_MODE=full "$P/writer" 1000 10 2>"$T/err" | cat >/dev/null
	grep -qxE 'bufshim: fd 1 \(pipe, full, 4096 B\): 1000 writes, 10000 B in [0-9]+ syscalls \([0-9]+x fewer\); flushes: [0-9]+ full, 1 exit; 0 errors, 0 B dropped' "$T/err" ||
		fail "stats: $(cat "$T/err")" || return 1
	shim BUFSHIM_STATS="$T/stats" BUFSHIM_MODE=full "$P/writer" 10 10 >/dev/null 2>"$T/err"
	[[ ! -s $T/err ]] || fail "stats to a file also on stderr"
	grep -q '^bufshim: fd 1 (null, full, 4096 B): 10 writes, 100 B in 1 syscall ' "$T/stats" ||
		fail "stats file: $(cat "$T/stats")"
}

# ---- fd boundaries, fd kinds, signals (SPEC invariants 6-8) -------------------------------

test_seek_pwrite_ftruncate_see_earlier_writes() {
	"$P/boundaries" seek >"$T/plain"
	shim BUFSHIM_MODE=full "$P/boundaries" seek >"$T/out"
	[[ $(cat "$T/out") == 'Jello!' ]] || fail "file holds '$(cat "$T/out")'"
	same_files "$T/plain" "$T/out"
}

test_vmsplice_comes_after_earlier_writes() {
	shim BUFSHIM_MODE=full "$P/boundaries" vmsplice | cat >"$T/out"
	[[ $(tr '\n' ' ' <"$T/out") == 'first second third ' ]] || fail "pipe got: $(cat "$T/out")"
}

test_never_buffered_kinds_under_all() {
	local c
	for c in dgram eventfd nonblock; do
		timeout 20 env LD_PRELOAD="$LIB" BUFSHIM_FDS=all BUFSHIM_MODE=full "$P/boundaries" $c ||
			fail "$c"
	done
}

test_fclose_delivers() {
	shim BUFSHIM_MODE=full "$P/boundaries" fclose >"$T/out"
	[[ $(cat "$T/out") == 'via write' ]] || fail "got '$(cat "$T/out")'"
}

test_signal_handler_writing_every_100us() {
	timeout 120 env LD_PRELOAD="$LIB" BUFSHIM_MODE=full "$P/boundaries" signals >"$T/out" 2>"$T/err" ||
		fail "exit $? (deadlock?)"
	local fired
	fired=$(awk '{print $2}' "$T/err")
	(( fired > 0 )) || fail "the handler never ran"
	[[ $(grep -c '^S$' "$T/out") == "$fired" ]] || fail "handler wrote $fired lines, $(grep -c '^S$' "$T/out") arrived"
	awk '/^R / { if ($2 != n++) { print "record " $2 " where " n-1 " was due"; exit 1 } }
	     END { if (n != 300000) { print n " records"; exit 1 } }' "$T/out"
	echo "$fired handler writes"
}

# ---- one open file, one buffer (SPEC invariant 9) ----------------------------------------

test_stdout_stderr_sharing_a_file_keep_order() {
	local prog='import os
for i in range(5000):
    os.write(1, b"out %d\n" % i)
    if i % 7 == 0: os.write(2, b"err %d\n" % i)'
	python3 -c "$prog" >"$T/plain" 2>&1
	local fds writes
	for fds in 1 1,2 2 all; do
		shim BUFSHIM_FDS=$fds BUFSHIM_MODE=full python3 -c "$prog" >"$T/out" 2>&1
		same_files "$T/plain" "$T/out" || fail "BUFSHIM_FDS=$fds, 2>&1 to a file"
		shim BUFSHIM_FDS=$fds BUFSHIM_MODE=full python3 -c "$prog" 2>&1 | cat >"$T/out"
		same_files "$T/plain" "$T/out" || fail "BUFSHIM_FDS=$fds, 2>&1 to a pipe"
	done
	# both chosen and sharing one buffer, the interleaving costs nothing
	strace -f -qq -c -o "$T/strace" -e trace=write,writev -E LD_PRELOAD="$LIB" \
		-E BUFSHIM_FDS=1,2 -E BUFSHIM_MODE=full python3 -c "$prog" >"$T/out" 2>&1
	writes=$(awk '$NF == "total" { print $4 }' "$T/strace")
	(( writes < 5715 / 50 )) || fail "$writes write syscalls for 5715 writes"
	echo "5715 writes -> $writes syscalls"
}

test_dup_in_process_shares_the_buffer() {
	local prog='import os
d = os.dup(1)
for i in range(3000):
    os.write(1 if i % 2 else d, b"line %d\n" % i)
os.dup2(d, 2)
os.write(2, b"via 2\n"); os.write(1, b"via 1\n")'
	python3 -c "$prog" >"$T/plain" 2>/dev/null
	shim BUFSHIM_FDS=all BUFSHIM_MODE=full python3 -c "$prog" >"$T/out" 2>/dev/null
	same_files "$T/plain" "$T/out"
}

# ---- the stdio bridge (SPEC invariant 10) ------------------------------------------------

test_stdio_and_raw_writes_keep_order_everywhere() {
	local c m fds
	for c in mix setvbuf; do
		"$P/stdio_mix" $c >"$T/p1" 2>"$T/p2"
		"$P/stdio_mix" $c >"$T/p12" 2>&1
		"$P/stdio_mix" $c 2>&1 | cat >"$T/pp"
		for m in full line none; do
			for fds in 1 1,2 all; do
				shim BUFSHIM_MODE=$m BUFSHIM_FDS=$fds "$P/stdio_mix" $c >"$T/o1" 2>"$T/o2"
				cmp -s "$T/p1" "$T/o1" && cmp -s "$T/p2" "$T/o2" || fail "$c $m $fds: files"
				shim BUFSHIM_MODE=$m BUFSHIM_FDS=$fds "$P/stdio_mix" $c >"$T/o12" 2>&1
				cmp -s "$T/p12" "$T/o12" || fail "$c $m $fds: 2>&1 to a file"
				shim BUFSHIM_MODE=$m BUFSHIM_FDS=$fds "$P/stdio_mix" $c 2>&1 | cat >"$T/op"
				cmp -s "$T/pp" "$T/op" || fail "$c $m $fds: 2>&1 to a pipe"
			done
		done
	done
	# with the bridge off, stdio still keeps its place: each hand-over goes out at once
	"$P/stdio_mix" mix >"$T/p12" 2>&1
	shim BUFSHIM_STDIO=0 BUFSHIM_FDS=1,2 BUFSHIM_MODE=full "$P/stdio_mix" mix >"$T/o12" 2>&1
	same_files "$T/p12" "$T/o12"
}

test_stdio_chatty_programs_50x_fewer() {
	seq 1 20000 >"$T/nums"
	local cmds=(
		"bash -c 'for ((i=0;i<20000;i++)); do echo line \$i; done'"
		"bash -c 'for ((i=0;i<5000;i++)); do printf \"%d\\n\" \$i; done'"
		"grep --line-buffered 1 $T/nums"
		"sed -u -n p $T/nums"
		"mawk -W interactive '{print}' $T/nums"
	)
	local c plain shimmed report=""
	for c in "${cmds[@]}"; do
		plain=$(writes -- bash -c "$c") || fail "$c"
		cp "$T/out" "$T/plain"
		shimmed=$(writes LD_PRELOAD="$LIB" BUFSHIM_MODE=full -- bash -c "$c") || fail "$c"
		same_files "$T/plain" "$T/out" || fail "$c: output differs"
		at_least_times_fewer "$plain" "$shimmed" 50 || fail "$c"
		report+="${c%% *}: $plain -> $shimmed; "
	done
	echo "$report"
}

test_stdio_ftell_freopen_fclose_wide() {
	"$P/stdio_mix" ftell >"$T/p" 2>"$T/pe"
	shim BUFSHIM_MODE=full "$P/stdio_mix" ftell >"$T/o" 2>"$T/oe"
	same_files "$T/p" "$T/o" && same_files "$T/pe" "$T/oe" || fail "ftell: $(cat "$T/oe")"
	[[ $(cat "$T/oe") == "ftell 5 7 12 fileno 1 2" ]] || fail "ftell: $(cat "$T/oe")"

	"$P/stdio_mix" freopen "$T/pf" >"$T/p"
	shim BUFSHIM_MODE=full "$P/stdio_mix" freopen "$T/of" >"$T/o"
	same_files "$T/p" "$T/o" && same_files "$T/pf" "$T/of" || fail "freopen"
	grep -qx 'fileno 1' "$T/of" || fail "freopen: $(cat "$T/of")"

	# the raw write after the failed hand-over may be accepted (buffered)
	# where it failed without us: the failure is reported by fclose
	"$P/stdio_mix" fclose >"$T/p" 2>"$T/pe"
	shim BUFSHIM_MODE=full "$P/stdio_mix" fclose >"$T/o" 2>"$T/oe"
	same_files "$T/p" "$T/o" || fail "fclose: file"
	grep -qx 'fclose -1 EFBIG' "$T/pe" && grep -qx 'fclose -1 EFBIG' "$T/oe" || fail "fclose: $(cat "$T/oe")"
	"$P/stdio_mix" fclose >/dev/full 2>"$T/pe"
	shim "$P/stdio_mix" fclose >/dev/full 2>"$T/oe"
	grep -qx 'fclose -1 ENOSPC' "$T/oe" && same_files "$T/pe" "$T/oe" || fail "fclose /dev/full: $(cat "$T/oe")"

	"$P/stdio_mix" wide >"$T/p"
	shim BUFSHIM_MODE=full "$P/stdio_mix" wide >"$T/o"
	same_files "$T/p" "$T/o" || fail "wide"
	grep -qx 'wide 1' "$T/o" || fail "wide: $(cat "$T/o")"
}

test_other_streams_and_dprintf_keep_order_under_all() {
	"$P/stdio_mix" streams "$T/pf" >"$T/p"
	local m
	for m in full line; do
		shim BUFSHIM_FDS=all BUFSHIM_MODE=$m "$P/stdio_mix" streams "$T/of" >"$T/o"
		same_files "$T/pf" "$T/of" || fail "$m: the file"
		same_files "$T/p" "$T/o" || fail "$m: stdout"
	done
}

test_stdio_coprocess_does_not_deadlock() {
	timeout 20 env LD_PRELOAD="$LIB" BUFSHIM_FDS=all BUFSHIM_MODE=full "$P/stdio_mix" coproc ||
		fail "exit $? (124: deadlock)"
}

test_stdio_prompt_shows_on_a_terminal() {
	timeout 20 python3 - "$LIB" "$P/stdio_mix" <<'PY'
import os, pty, sys, select, time
lib, prog = sys.argv[1], sys.argv[2]
pid, master = pty.fork()
if pid == 0:
    os.environ["LD_PRELOAD"] = lib
    os.execv(prog, [prog, "prompt"])
seen, deadline = b"", time.time() + 10
def wait_for(s):
    global seen
    while s not in seen and time.time() < deadline:
        if select.select([master], [], [], 0.5)[0]:
            try: seen += os.read(master, 100)
            except OSError: return
wait_for(b"name? ")
if b"name? " not in seen:
    print("prompt never showed:", seen); sys.exit(1)
os.write(master, b"ann\n")
wait_for(b"hi ann")
os.waitpid(pid, 0)
sys.exit(0 if b"hi ann" in seen else 1)
PY
}

# ---- waits (SPEC invariant 4) ---------------------------------------------------------------

test_coprocess_over_pipes_does_not_deadlock() {
	timeout 20 env LD_PRELOAD="$LIB" BUFSHIM_FDS=all BUFSHIM_MODE=full "$P/boundaries" coproc ||
		fail "exit $? (124: deadlock)"
}

test_prompt_shows_on_a_terminal_before_the_read() {
	# auto mode on a terminal is line mode: "name? " has no newline, so only
	# the read hook can show it before the program waits for the answer
	timeout 20 python3 - "$LIB" <<'PY'
import os, pty, sys, select, time
lib = sys.argv[1]
pid, master = pty.fork()
if pid == 0:
    os.environ["LD_PRELOAD"] = lib
    os.execvp("python3", ["python3", "-u", "-c",
        "import os; os.write(1, b'name? '); n = os.read(0, 100); os.write(1, b'hi ' + n)"])
seen = b""
deadline = time.time() + 10
while b"name? " not in seen and time.time() < deadline:
    r, _, _ = select.select([master], [], [], 0.5)
    if r:
        seen += os.read(master, 100)
if b"name? " not in seen:
    print("prompt never showed:", seen); sys.exit(1)
os.write(master, b"bob\n")
while b"hi bob" not in seen and time.time() < deadline:
    r, _, _ = select.select([master], [], [], 0.5)
    if r:
        try: seen += os.read(master, 100)
        except OSError: break
os.waitpid(pid, 0)
sys.exit(0 if b"hi bob" in seen else 1)
PY
}

# A reader sees the bytes while the writer sleeps or waits.
held_while() {
	local what=$1; shift
	( shim BUFSHIM_MODE=full "$@" ) >"$T/sleep.out" &
	local pid=$!
	sleep 1.5
	[[ $(cat "$T/sleep.out") == before ]] || fail "$what: held: '$(cat "$T/sleep.out")'"
	wait $pid
}

test_sleep_and_wait_deliver_first() {
	held_while "perl sleep" perl -e '$|=1; print "before\n"; sleep 3; print "after\n"'
	held_while "python time.sleep" python3 -u -c 'import time; print("before"); time.sleep(3)'
	held_while "dash waiting for a child" dash -c 'echo before; sleep 3'
	held_while "python select" python3 -u -c 'import select; print("before"); select.select([], [], [], 3)'
}

# ---- process boundaries (SPEC invariant 5) --------------------------------------------------

test_python_exec_exit_system_spawn_keep_order() {
	local prog='import os, subprocess, sys
w = lambda s: os.write(1, s.encode())
w("1 "); os.system("echo 2"); w("3 ")
subprocess.run(["echo", "4"]); w("5 ")
pid = os.posix_spawnp("echo", ["echo", "6"], dict(os.environ)); os.waitpid(pid, 0); w("7 ")
if os.fork() == 0:
    w("8 "); os._exit(0)
os.wait(); w("9 ")
os.execv("/bin/echo", ["echo", "10"])'
	python3 -c "$prog" >"$T/plain"
	shim BUFSHIM_FDS=1,2 BUFSHIM_MODE=full python3 -c "$prog" >"$T/out"
	same_files "$T/plain" "$T/out"
	shim BUFSHIM_FDS=1,2 BUFSHIM_MODE=full python3 -c "$prog" | cat >"$T/out"
	same_files "$T/plain" "$T/out"
}

test_bash_script_builtins_subshells_redirections() {
	local script='echo start; printf "%s-%d\n" a 1 b 2
{ echo grouped; echo to-err >&2; } 2>&1
( echo subshell; ls /nonexistent-dir ) 2>&1
echo "to file" >"$1/f"; cat "$1/f"; echo appended >>"$1/f"; cat <"$1/f"
exec 3>&1; echo three >&3; exec 3>&-
for i in 1 2 3; do echo "loop $i"; done | while read -r l; do echo "read: $l"; done
x=$(echo captured); echo "$x"
echo err-line >&2; /bin/echo external; echo end; exit 7'
	local st1=0 st2=0
	bash -c "$script" _ "$T" >"$T/plain.1" 2>"$T/plain.2" || st1=$?
	shim BUFSHIM_FDS=1,2 BUFSHIM_MODE=full bash -c "$script" _ "$T" >"$T/out.1" 2>"$T/out.2" || st2=$?
	same_files "$T/plain.1" "$T/out.1"
	same_files "$T/plain.2" "$T/out.2"
	(( st1 == st2 )) || fail "status $st1 vs $st2"
	bash -c "$script" _ "$T" >"$T/plain.1" 2>&1 || true
	shim BUFSHIM_FDS=1,2 BUFSHIM_MODE=full bash -c "$script" _ "$T" >"$T/out.1" 2>&1 || true
	same_files "$T/plain.1" "$T/out.1"
}

# Programs the system ships, run as a new user would: same stdout, stderr, status.
test_system_programs_unchanged() {
	mkdir -p "$T/tree/sub"
	seq 1 20000 >"$T/tree/numbers"; printf 'b\na\nc\n' >"$T/tree/sub/letters"
	local cmds=(
		"dd if=$T/tree/numbers bs=7 status=none"
		"dd if=$T/tree/numbers bs=1 count=3000 status=noxfer"
		"cat $T/tree/numbers $T/tree/sub/letters"
		"sort -r $T/tree/sub/letters"
		"head -c 5000 $T/tree/numbers"
		"wc -l $T/tree/numbers"
		"grep -c 7 $T/tree/numbers"
		"grep --line-buffered 99 $T/tree/numbers"
		"sed -u -n 1~500p $T/tree/numbers"
		"awk 'NR % 1000 == 0' $T/tree/numbers"
		"tar -C $T/tree -cf - numbers sub --owner=0 --group=0 --mtime=@0"
		"gzip -c -n $T/tree/numbers"
		"md5sum $T/tree/numbers"
		"ls -la --time-style=+ $T/tree"
		"find $T/tree -type f"
		"perl -e '\$|=1; print \"p\$_\n\" for 1..3000; print STDERR \"e\n\"; exit 3'"
		"python3 -u -c 'import sys; [print(i) for i in range(3000)]; sys.exit(\"bye\")'"
		"dash -c 'for i in \$(seq 1 300); do echo \$i; done; false'"
		"bash -c 'for ((i=0;i<300;i++)); do echo \$i; echo e\$i >&2; done'"
		"ls /nonexistent"
		"cat /nonexistent"
	)
	local c st1 st2 bad=0
	for c in "${cmds[@]}"; do
		[[ $c == dd* ]] && (( SAN_BREAKS_DD )) && continue
		st1=0 st2=0
		bash -c "$c" >"$T/p1" 2>"$T/p2" || st1=$?
		shim BUFSHIM_FDS=1,2 BUFSHIM_MODE=full bash -c "$c" >"$T/o1" 2>"$T/o2" || st2=$?
		if ! cmp -s "$T/p1" "$T/o1" || ! cmp -s "$T/p2" "$T/o2" || (( st1 != st2 )); then
			echo "differs: $c (status $st1 vs $st2)"; bad=1
		fi
		bash -c "$c" 2>&1 | cat >"$T/p1"
		shim BUFSHIM_FDS=1,2 BUFSHIM_MODE=full bash -c "$c" 2>&1 | cat >"$T/o1"
		cmp -s "$T/p1" "$T/o1" || { echo "differs through a pipe with 2>&1: $c"; bad=1; }
	done
	(( bad == 0 ))
	echo "${#cmds[@]} programs"
}

# ---- the latency bound (BUFSHIM_FLUSH_MS) ---------------------------------------------------

# arrival MS [fork]: ms from the write to its arrival, the writer busy 1.5 s
arrival() {
	shim BUFSHIM_MODE=full "$@" "$P/latency" write 1500 ${FORK:-} | "$P/latency" read
}

test_flush_ms_bounds_the_wait_of_a_busy_program() {
	local ms
	ms=$(arrival BUFSHIM_FLUSH_MS=100)
	(( ms < 400 )) || fail "bound 100 ms: arrived after $ms ms"
	local child
	child=$(FORK=fork arrival BUFSHIM_FLUSH_MS=100)
	(( child < 400 )) || fail "forked child, bound 100 ms: arrived after $child ms"
	local held
	held=$(arrival)
	(( held >= 1400 )) || fail "without a bound the byte should wait for exit: $held ms"
	echo "bound 100 ms: $ms ms, in a forked child $child ms; no bound: $held ms"
}

test_flush_ms_busy_writer_still_coalesces() {
	local writes count
	strace -f -qq -c -o "$T/strace" -e trace=write,writev -E LD_PRELOAD="$LIB" \
		-E BUFSHIM_FLUSH_MS=20 -E BUFSHIM_MODE=full "$P/latency" busy 500 >/dev/null 2>"$T/count"
	count=$(cat "$T/count")
	writes=$(awk '$NF == "total" { print $4 }' "$T/strace")
	(( count > 1000 && writes * 50 < count )) || fail "$count writes made $writes syscalls"
	echo "$count writes -> $writes syscalls"
}

test_flush_ms_no_wakeups_while_nothing_is_pending() {
	# a 10 ms bound, then 2 s asleep with nothing pending: a periodic timer
	# would make ~200 calls
	strace -f -qq -c -o "$T/strace" -E LD_PRELOAD="$LIB" -E BUFSHIM_FLUSH_MS=10 \
		-E BUFSHIM_MODE=full "$P/latency" idle 2000 >/dev/null
	local futex
	futex=$(awk '$NF ~ /^(futex|clock_nanosleep|nanosleep)$/ { n += $4 } END { print n + 0 }' "$T/strace")
	(( futex <= 10 )) || fail "$futex timer calls while idle"
	echo "$futex timer calls in 2 s"
}

# ---- the command (bufshim) and the compare script ----------------------------------------

test_command_options_set_the_environment() {
	"$CMD" -f 1,2 -s 64K -m line -t 100 --stats --no-stdio env >"$T/env"
	local v
	for v in BUFSHIM_FDS=1,2 BUFSHIM_SIZE=64K BUFSHIM_MODE=line BUFSHIM_FLUSH_MS=100 \
		 BUFSHIM_STATS=1 BUFSHIM_STDIO=0 "LD_PRELOAD=$LIB"; do
		grep -qx "$v" "$T/env" || fail "missing $v"
	done
	"$CMD" --stats="$T/s" --fds=all --size=1M --mode=full --max-latency=5 env >"$T/env"
	for v in "BUFSHIM_STATS=$T/s" BUFSHIM_FDS=all BUFSHIM_SIZE=1M BUFSHIM_MODE=full BUFSHIM_FLUSH_MS=5; do
		grep -qx "$v" "$T/env" || fail "missing $v"
	done
	"$CMD" --help | grep -q -- '--max-latency' || fail "help"
	[[ $("$CMD" --version) == "bufshim 0.1.0" ]] || fail "version"
}

test_command_exit_codes() {
	local st
	st=0; "$CMD" -s 12x true 2>"$T/err" || st=$?
	(( st == 125 )) || fail "bad value: $st"
	[[ $(cat "$T/err") == "bufshim: -s '12x': not a size (e.g. 4096, 64K, 1M)" ]] ||
		fail "message: $(cat "$T/err")"
	st=0; "$CMD" --bogus true 2>/dev/null || st=$?; (( st == 125 )) || fail "bad option: $st"
	st=0; "$CMD" 2>/dev/null || st=$?; (( st == 125 )) || fail "no command: $st"
	st=0; "$CMD" /nonexistent/cmd 2>/dev/null || st=$?; (( st == 127 )) || fail "not found: $st"
	st=0; "$CMD" no-such-command-anywhere 2>/dev/null || st=$?; (( st == 127 )) || fail "not on PATH: $st"
	printf 'x' >"$T/notexec"
	st=0; "$CMD" "$T/notexec" 2>/dev/null || st=$?; (( st == 126 )) || fail "not executable: $st"
	st=0; "$CMD" sh -c 'exit 42' || st=$?; (( st == 42 )) || fail "command's status: $st"
	st=0; ( "$CMD" -- sh -c 'kill -TERM $$' ) 2>/dev/null || st=$?; (( st == 143 )) || fail "signal: $st"
}

test_command_keeps_ld_preload_and_finds_the_library() {
	local other
	other=$(find /lib /usr/lib -name 'libdl.so.2' 2>/dev/null | head -1)
	[[ -n $other ]] || { echo "SKIP no second library to preload"; return; }
	[[ $(LD_PRELOAD=$other "$CMD" printenv LD_PRELOAD) == "$LIB:$other" ]] || fail "LD_PRELOAD not kept"
	[[ $(BUFSHIM_LIB=$other "$CMD" printenv LD_PRELOAD) == "$other" ]] || fail "BUFSHIM_LIB ignored"
	# an install into a staging tree finds its own library
	make -s -C "$ROOT" install DESTDIR="$T/stage" PREFIX=/usr >/dev/null
	[[ -x $T/stage/usr/bin/bufshim && -x $T/stage/usr/bin/bufshim-compare &&
	   -f $T/stage/usr/lib/bufshim/libbufshim.so && -f $T/stage/usr/share/man/man1/bufshim.1 ]] ||
		fail "install: $(cd "$T/stage" && find . -type f)"
	[[ $(env -u BUFSHIM_LIB "$T/stage/usr/bin/bufshim" printenv LD_PRELOAD) == "$T/stage/usr/bin/../lib/bufshim/libbufshim.so" ]] ||
		fail "installed command: $(env -u BUFSHIM_LIB "$T/stage/usr/bin/bufshim" printenv LD_PRELOAD)"
	if [[ -z ${PRELOAD_FIRST:-} ]]; then	# the installed library is not sanitized
		env -u BUFSHIM_LIB "$T/stage/usr/bin/bufshim" -m full "$P/writer" 100 10 |
			cmp -s - <("$P/writer" 100 10) || fail "installed bufshim changed the output"
	fi
	make -s -C "$ROOT" uninstall DESTDIR="$T/stage" PREFIX=/usr >/dev/null
	[[ -z $(find "$T/stage" -type f) ]] || fail "uninstall left $(find "$T/stage" -type f)"
}

test_command_warns_for_static_and_setuid() {
	"$CMD" "$P/static_hello" >"$T/out" 2>"$T/err" || fail "static program failed"
	grep -q 'static_hello is statically linked' "$T/err" || fail "no warning: $(cat "$T/err")"
	[[ $(cat "$T/out") == static ]] || fail "output"
	cp "$P/writer" "$T/suid" && chmod u+s "$T/suid"
	"$CMD" "$T/suid" 1 5 >/dev/null 2>"$T/err" || fail "setuid program failed"
	grep -q 'suid is set-user-ID' "$T/err" || fail "no warning: $(cat "$T/err")"
	"$CMD" "$P/writer" 1 5 >/dev/null 2>"$T/err"
	[[ ! -s $T/err ]] || fail "warned for a plain program: $(cat "$T/err")"
}

test_stats_through_the_command() {
	skip_dd_under_asan && return 0
	"$CMD" --stats="$T/stats" -m full dd if=/dev/zero bs=10 count=1000 status=none >/dev/null
	grep -qE '^bufshim: fd 1 \(null, full, 4096 B\): 1000 writes, 10000 B in 3 syscalls \(333x fewer\); flushes: 2 full, 1 sync; 0 errors, 0 B dropped$' "$T/stats" ||
		fail "stats: $(cat "$T/stats")"
}

test_compare_script() {
	"$ROOT/scripts/bufshim-compare" -m full -- "$P/writer" 3000 10 >"$T/cmp" || fail "said different: $(cat "$T/cmp")"
	grep -qE '^write syscalls +3000 +[0-9]+ +[0-9]+x fewer$' "$T/cmp" || fail "table: $(cat "$T/cmp")"
	grep -q '^output  *identical' "$T/cmp" || fail "verdict: $(cat "$T/cmp")"
	local st=0
	"$ROOT/scripts/bufshim-compare" -- sh -c 'echo "${LD_PRELOAD:-none}"' >"$T/cmp" || st=$?
	(( st == 1 )) || fail "a difference not detected (status $st): $(cat "$T/cmp")"
	grep -q 'DIFFERENT: stdout' "$T/cmp" || fail "verdict: $(cat "$T/cmp")"
}

test_make_demo_runs() {
	local start=$SECONDS
	env -u BUFSHIM_LIB make -s -C "$ROOT" demo >"$T/demo" 2>&1 || fail "make demo failed: $(tail -5 "$T/demo")"
	(( $(grep -c '^output  *identical' "$T/demo") >= 4 )) || fail "$(cat "$T/demo")"
	echo "$((SECONDS - start)) s"
}

# ---- run ---------------------------------------------------------------------------------

if [[ ${1:-} == --one ]]; then
	set -e
	"test_$2"
	exit 0
fi

[[ -x $LIBFILE ]] || { echo "build first: make"; exit 1; }
command -v strace >/dev/null || { echo "strace is missing: scripts/install-deps.sh"; exit 1; }

for t in $(declare -F | awk '$3 ~ /^test_/ { sub(/^test_/, "", $3); print $3 }'); do
	run "$t"
done
echo "$passed passed, $failed failed, $skipped skipped"
(( failed == 0 ))
