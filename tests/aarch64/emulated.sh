# SPDX-License-Identifier: MIT
# Tests for a build run under TEST_EMULATOR (tests/aarch64/run.sh; found by
# tests/integration/run.sh through TEST_MORE_DIR): what only an emulator
# shows (the emulated program's own syscalls, in qemu's -strace log), and
# the parts of tests/integration's tests that need no host program to load
# the library (their originals also drive python3 or dash, or compile with
# the host's cc). Same helpers, same rules (TESTING.md).

# same_ending and FATAL_SIGNALS
# shellcheck source=tests/integration/signals.sh
source "$HERE/signals.sh"

# qemu_log [VAR=VAL...] CMD...: shim CMD, the emulated program's syscalls
# (children included) logged by the emulator in $T/qemu.log
qemu_log() {
	rm -f "$T/qemu.log"
	TEST_EMULATOR="$TEST_EMULATOR -strace -D $T/qemu.log" shim "$@"
}

# emulated_program NAME: $T/emulated/NAME runs $T/progs/NAME (to be built
# there) as $P/NAME runs a test program
emulated_program() {
	mkdir -p "$T/emulated" "$T/progs"
	ln -sfn "$BUILD/emulated/.guest" "$T/emulated/$1"
	ln -sfn "$BUILD/emulated/host" "$T/emulated/host"
	echo "$T/emulated/$1"
}

# The processor's header alone (arch_check.c): its raw syscall and its
# rewrite of a signal context that would restart a syscall, built for the
# host and run there, and built for the emulated processor and run there.
test_emulated_arch_header() {
	[[ -n ${CROSS_CC:-} ]] || skip "CROSS_CC is not set"
	local flags=(-std=gnu11 -Wall -Wextra -O2 -Werror -I "$ROOT/shim")
	cc "${flags[@]}" -o "$T/host_check" "$ROOT/tests/aarch64/arch_check.c" -lpthread
	"$CROSS_CC" "${flags[@]}" -o "$T/guest_check" "$ROOT/tests/aarch64/arch_check.c" -lpthread
	"$T/host_check" >"$T/host" || fail "on the host: $(cat "$T/host")" || return 1
	$TEST_EMULATOR "$T/guest_check" >"$T/guest" || fail "emulated: $(cat "$T/guest")" || return 1
	same_files "$T/host" "$T/guest"
}

# vfork stays vfork: the stub (arch/aarch64.h) ends in the C library's
# vfork, which asks for clone(CLONE_VM|CLONE_VFORK); the child writes
# straight through, the parent buffers again afterwards. (The emulator
# makes the child a copy, so the parent does not wait for it: the program
# does.)
test_emulated_vfork_stays_vfork() {
	skip_under_prefix "reads the emulator's log"
	"$P/forker" vfork_write >"$T/plain"
	qemu_log "$P/forker" vfork_write >"$T/out"
	same_files "$T/plain" "$T/out" || return 1
	local vforks clones writes
	vforks=$(grep -c '^[0-9]* clone(CLONE_VM|CLONE_VFORK|' "$T/qemu.log" || true)
	clones=$(grep -c '^[0-9]* clone(' "$T/qemu.log" || true)
	writes=$(grep -cE '^[0-9]+ (write|writev)\(' "$T/qemu.log" || true)
	(( vforks == 1 && clones == 1 )) ||
		fail "vfork ran as: $(grep '^[0-9]* clone(' "$T/qemu.log" | cut -c1-80)" || return 1
	# before, the child's line, then 2000 lines in a few syscalls
	(( writes <= 8 )) || fail "$writes write syscalls: the parent did not buffer again"
	echo "1 vfork, $writes write syscalls"
}

# The same stub in a library built with -mbranch-protection=standard, as
# some distributions build: its pages are then guarded, and the program's
# call to vfork through its PLT must land on a BTI instruction (SIGILL
# otherwise; the emulator enforces BTI as such a processor does). The
# library is linked without the start files as always; Debian 12's libgcc
# carries no BTI note, so atomics are inline, and the library is marked
# with -z force-bti.
SLOW+=(test_emulated_vfork_stub_under_branch_protection)
test_emulated_vfork_stub_under_branch_protection() {
	[[ -n ${CROSS_CC:-} ]] || skip "CROSS_CC is not set"
	"$CROSS_CC" -std=gnu11 -O2 -mbranch-protection=standard -mno-outline-atomics \
		-nostartfiles -Wl,-z,force-bti -fPIC -shared -fvisibility=hidden \
		-Wl,--version-script="$BUILD/libbufshim.map" -I "$ROOT/core" -I "$ROOT/shim" \
		-o "$T/libbti.so" "$ROOT"/core/*.c "$ROOT"/shim/*.c -ldl -lpthread 2>"$T/cc.err" ||
		fail "build: $(cat "$T/cc.err")" || return 1
	"${CROSS_CC%gcc}readelf" -n "$T/libbti.so" | grep -q 'feature: BTI' || fail "not marked BTI" || return 1
	"$P/forker" vfork_write >"$T/plain"
	local st=0
	preload "$T/libbti.so" "$P/forker" vfork_write >"$T/out" 2>"$T/err" || st=$?
	(( st == 0 )) || fail "status $st: $(head -c 200 "$T/err")" || return 1
	same_files "$T/plain" "$T/out"
}

# A handler without SA_RESTART interrupts a 1 MiB write to a pipe read
# later: the same short count as without the library; with SA_RESTART too.
# (signals.sh's test also runs python3's handler.)
test_emulated_signals_interrupt_a_blocked_write() {
	skip_under_prefix "relies on a reader that starts late"
	local how
	for how in short restart; do	# the four runs at once: each waits for its late reader
		"$P/signals" "$how" 1048576 "$T/mark-$how-plain" 2>"$T/$how-plain" | late_reader "$T/mark-$how-plain" &
		shim BUFSHIM_SIZE=64K "$P/signals" "$how" 1048576 "$T/mark-$how-out" 2>"$T/$how-out" |
			late_reader "$T/mark-$how-out" &
	done
	wait
	for how in short restart; do
		grep -q 'handler ran' "$T/$how-plain" || fail "plain: $(cat "$T/$how-plain")" || return 1
		same_files "$T/$how-plain" "$T/$how-out" ||
			{ fail "$how: $(cat "$T/$how-plain") / $(cat "$T/$how-out")"; return 1; }
	done
}

# Sent by another process while the program computes with bytes held, and
# through timeout(1). (signals.sh's test drives python3, perl and dd.)
test_emulated_signals_sent_from_outside() {
	skip_under_prefix "kills with deadlines"
	local mode st pre
	for mode in plain shim; do
		pre=()
		[[ $mode == shim ]] && pre=(env GUEST_LD_PRELOAD="$LIB" BUFSHIM_SIZE=64K)
		"${pre[@]}" "$P/signals" die 15 3000 wait >"$T/$mode.out" 2>"$T/$mode.err" &
		wait_until 20 grep -q ready "$T/$mode.err" || fail "$mode: never ready" || return 1
		kill -TERM $!
		st=0; wait $! 2>/dev/null || st=$?
		(( st == 143 )) || fail "$mode: status $st" || return 1
	done
	same_files "$T/plain.out" "$T/shim.out" || return 1
	st=0; shim_within 3 BUFSHIM_SIZE=64K "$P/signals" die 15 5000 wait >"$T/t.out" 2>/dev/null || st=$?
	(( st == 124 )) && [[ $(wc -l <"$T/t.out") == 5000 ]] ||
		fail "timeout: status $st, $(wc -l <"$T/t.out") of 5000 lines"
}

# SIGTSTP delivers before the stop; SIGCONT resumes it, nothing lost.
# (signals.sh's test stops python3.)
test_emulated_signals_stop_delivers_first() {
	skip_under_prefix "stops and continues with deadlines"
	env GUEST_LD_PRELOAD="$LIB" BUFSHIM_FDS=1 "$P/signals" compute 300 3 >"$T/out" 2>"$T/err" &
	local pid=$! st
	wait_until 20 grep -q ready "$T/err" || fail "never ready" || return 1
	kill -TSTP $pid
	wait_until 5 stopped "$pid" || fail "not stopped" || return 1
	[[ $(wc -l <"$T/out") == 300 ]] || fail "stopped with $(wc -l <"$T/out") of 300 lines out" || return 1
	kill -CONT $pid
	st=0; wait $pid || st=$?
	(( st == 0 )) && [[ $(tail -1 "$T/out") == done && $(wc -l <"$T/out") == 301 ]] ||
		fail "after SIGCONT: status $st, $(wc -l <"$T/out") lines"
}

# ^Z while stdout's reader has stopped reading: the stop is prompt, no
# write fails, no line is lost. (signals.sh's test writes with perl.)
test_emulated_signals_stop_with_a_stalled_reader() {
	skip_under_prefix "stops and continues with deadlines"
	local mode pid pre
	local -A pids=()
	for mode in plain shim; do	# both at once: each waits for its reader
		pre=()
		[[ $mode == shim ]] && pre=(env GUEST_LD_PRELOAD="$LIB")
		mkfifo "$T/fifo-$mode"
		(exec 3<"$T/fifo-$mode"; sleep 3; cat <&3 >"$T/$mode") &
		"${pre[@]}" "$P/writer" 20000 10 >"$T/fifo-$mode" &
		pids[$mode]=$!
	done
	sleep 0.5
	for mode in plain shim; do
		pid=${pids[$mode]}
		kill -TSTP "$pid"
		wait_until 1 stopped "$pid" || fail "$mode: not stopped within a second" || return 1
		kill -CONT "$pid"
	done
	wait
	[[ $(wc -l <"$T/plain") == 20000 ]] || fail "plain: $(wc -l <"$T/plain") lines" || return 1
	same_files "$T/plain" "$T/shim"
}

# A death while stdout and stderr share a pipe nobody reads: the process
# ends within the grace of a second or two. (signals.sh's test writes with
# perl.)
test_emulated_signals_death_with_a_stalled_reader_ends() {
	skip_under_prefix "times a death"
	local start took
	mkfifo "$T/fifo"
	(exec 3<"$T/fifo"; sleep 6; cat <&3 >/dev/null) &
	start=${EPOCHREALTIME/./}
	shim_within 1 "$P/writer" 1000000000 256 >"$T/fifo" 2>&1 || true
	took=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
	(( took < 4500 )) || fail "it took $took ms to die" || return 1
	wait
}

test_emulated_signals_dispositions_as_without_the_library() {
	"$P/signals" dump >"$T/plain"
	shim "$P/signals" dump >"$T/out"
	same_files "$T/plain" "$T/out" || return 1
	shim BUFSHIM_FDS=all "$P/signals" dump | cat >"$T/out"
	same_files "$T/plain" "$T/out" || return 1
	# inherited: SIG_IGN from the shell (nohup, trap '' TERM) stays ignored
	bash -c "trap '' TERM HUP; exec $P/signals dump" >"$T/plain"
	bash -c "trap '' TERM HUP; exec env LD_PRELOAD=$LIB $P/signals dump" >"$T/out"
	same_files "$T/plain" "$T/out"
}

test_emulated_signals_c_handler_reraises() {
	ulimit -c 0
	same_ending "a C handler that reports and re-raises" "$P/signals" reraise 15 1000
}

# A SIGALRM handler writes a line and _exits while the program writes: the
# handler's line comes after every line a write had accepted, none lost.
# (signals.sh's test makes 200 runs; each costs more here.)
SLOW+=(test_emulated_signals_handler_during_a_write_loop_48_runs)
test_emulated_signals_handler_during_a_write_loop_48_runs() {
	handler_race_runs 48
}

# A thread blocked writing 1 MiB into a pipe the main thread reads only
# after a line of its own. (waits.sh's test also has the process _exit
# 200 ms after a thread starts its write: too short a time for the
# emulator to be sure the thread got there.)
test_emulated_waits_never_on_a_blocked_delivery() {
	shim_within 20 BUFSHIM_FDS=all "$P/waits" selfpipe >"$T/out" 2>&1 ||
		fail "status $? (124: deadlock): $(cat "$T/out")" || return 1
	grep -q '^read 1048576$' "$T/out" || fail "$(cat "$T/out")"
}

# The aarch64 command: options and exit codes, and the environment it
# hands the command it runs (a static host env(1): see hostcmd.c)
test_emulated_command() {
	local st cmd=(env PATH="$BUILD/emulated/host:$PATH" $TEST_EMULATOR "$CMD")
	[[ $("${cmd[@]}" --version) == "bufshim 0.1.0" ]] || fail "version" || return 1
	"${cmd[@]}" -f 1,2 -s 64K -m line -t 100 --stats --no-stdio env >"$T/env" 2>"$T/err"
	local v
	for v in BUFSHIM_FDS=1,2 BUFSHIM_SIZE=64K BUFSHIM_MODE=line BUFSHIM_FLUSH_MS=100 \
		 BUFSHIM_STATS=1 BUFSHIM_STDIO=0 "LD_PRELOAD=$LIB"; do
		grep -qx "$v" "$T/env" || fail "missing $v" || return 1
	done
	grep -q 'statically linked' "$T/err" || fail "no warning for a static program: $(cat "$T/err")" || return 1
	st=0; "${cmd[@]}" -s 12x true 2>"$T/err" || st=$?
	(( st == 125 )) || fail "bad value: $st" || return 1
	[[ $(cat "$T/err") == "bufshim: -s '12x': not a size (e.g. 4096, 64K, 1M)" ]] ||
		fail "message: $(cat "$T/err")" || return 1
	st=0; "${cmd[@]}" /nonexistent/cmd 2>/dev/null || st=$?; (( st == 127 )) || fail "not found: $st" || return 1
	printf 'x' >"$T/notexec"
	st=0; "${cmd[@]}" "$T/notexec" 2>/dev/null || st=$?; (( st == 126 )) || fail "not executable: $st"
}

# On a terminal a partial line shows within 50 ms while the program
# computes (terminals.sh's tests drive python3 and shells).
SERIAL+=(test_emulated_terminal_partial_line_within_50_ms)
test_emulated_terminal_partial_line_within_50_ms() {
	skip_under_prefix "measures arrival times"
	local s tty
	tty=$(python3 "$ROOT/tests/integration/arrival.py" --pty --partial GUEST_LD_PRELOAD="$LIB" -- \
		"$P/latency" partial 1000)
	awk -v s="$tty" 'BEGIN { exit !(s + 0 == s && s < 0.5) }' ||
		fail "the partial line arrived after $tty s" || return 1
	# the control: held until its line ends without the bound
	s=$(python3 "$ROOT/tests/integration/arrival.py" --partial GUEST_LD_PRELOAD="$LIB" -- \
		"$P/latency" partial 1000)
	awk -v s="$s" 'BEGIN { exit !(s + 0 == s && s > 0.8) }' ||
		fail "into a pipe the partial line arrived after $s s, not at its end" || return 1
	echo "terminal $tty s, pipe $s s"
}

# Bytes held before system, posix_spawn, popen and exec come out before
# what the child writes (boundaries.sh's test makes these calls from
# python3). The children are static host programs (host/, first in the
# emulated program's PATH) and /bin/sh.
test_emulated_exec_system_spawn_keep_order() {
	[[ -n ${CROSS_CC:-} ]] || skip "CROSS_CC is not set"
	local q P=$T/emulated
	q=$(emulated_program boundaries_exec)
	cat >"$T/b.c" <<'C'
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
static void say(const char *s) { if (write(1, s, strlen(s)) != (ssize_t)strlen(s)) _exit(3); }
int main(void)
{
	char *echo[] = { "echo", "4 posix_spawnp", NULL };
	pid_t pid;
	FILE *f;

	say("1 before system\n");
	if (system("echo 2 system") != 0) return 1;
	say("3 before posix_spawnp\n");
	if (posix_spawnp(&pid, "echo", NULL, NULL, echo, environ) != 0) return 1;
	waitpid(pid, NULL, 0);
	say("5 before popen\n");
	if (!(f = popen("cat", "w"))) return 1;
	fputs("6 popen\n", f);
	pclose(f);
	say("7 before exec\n");
	execlp("echo", "echo", "8 exec", (char *)NULL);
	return 1;
}
C
	"$CROSS_CC" -Wall -Werror -o "$T/progs/boundaries_exec" "$T/b.c"
	"$q" >"$T/plain" 2>"$T/err" || fail "plain: status $?: $(cat "$T/err")" || return 1
	[[ $(cut -c1 "$T/plain" | tr -d '\n') == 12345678 ]] || fail "plain: $(cat "$T/plain")" || return 1
	local m
	for m in full line; do
		shim BUFSHIM_MODE=$m "$q" >"$T/out" 2>/dev/null
		same_files "$T/plain" "$T/out" || fail "$m, to a file: $(tr '\n' ' ' <"$T/out")" || return 1
		shim BUFSHIM_MODE=$m "$q" 2>/dev/null | cat >"$T/out"
		same_files "$T/plain" "$T/out" || fail "$m, to a pipe: $(tr '\n' ' ' <"$T/out")" || return 1
	done
}

# stats.sh's test, but for its first run (true(1), a host program)
test_emulated_stats_file_made_only_with_something_to_report() {
	shim BUFSHIM_STATS="$T/stats" "$P/writer" 0 10 >/dev/null
	[[ ! -e $T/stats ]] || fail "made with nothing to report"
	shim BUFSHIM_STATS="$T/stats" "$P/writer" 1 10 >/dev/null
	[[ -s $T/stats ]] || fail "not made"
}
