# SPDX-License-Identifier: MIT
# Signals: a handler writing while the program writes, SIGKILL, abort()
# and a failed assert.

test_signal_handler_writing_every_100us() {
	shim_within 120 BUFSHIM_MODE=full "$P/boundaries" signals >"$T/out" 2>"$T/err" ||
		fail "exit $? (deadlock?)"
	local fired
	fired=$(awk '{print $2}' "$T/err")
	(( fired > 0 )) || fail "the handler never ran"
	[[ $(grep -c '^S$' "$T/out") == "$fired" ]] || fail "handler wrote $fired lines, $(grep -c '^S$' "$T/out") arrived"
	awk '/^R / { if ($2 != n++) { print "record " $2 " where " n-1 " was due"; exit 1 } }
	     END { if (n != 300000) { print n " records"; exit 1 } }' "$T/out"
	echo "$fired handler writes"
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

# ---- deaths by signal (invariant 11) ---------------------------------------------------

# same_ending NAME CMD...: CMD plain and preloaded with fds 1 and 2 buffered
# in 64 KiB: the same stdout, stderr and wait status
# (the shell's own "Terminated" notice kept out of what is compared; the
# addresses in a crash report normalised)
same_ending() {
	local name=$1 ps=0 ss=0
	shift
	# sh redirects: the shell that reports a death is then not writing
	# to the program's stderr
	{ sh -c 'exec "$@" >"$0.out" 2>"$0.err"' "$T/p" "$@"; } 2>/dev/null || ps=$?
	{ shim BUFSHIM_FDS=1,2 BUFSHIM_SIZE=64K sh -c 'exec "$@" >"$0.out" 2>"$0.err"' "$T/s" "$@"; } \
		2>/dev/null || ss=$?
	(( ps == ss )) || fail "$name: status $ps plain, $ss preloaded" || return 1
	cmp -s "$T/p.out" "$T/s.out" ||
		fail "$name: stdout $(wc -c <"$T/p.out") bytes plain, $(wc -c <"$T/s.out") preloaded" || return 1
	cmp -s "$T/p.err" "$T/s.err" && return 0
	sed -i 's/0x[0-9a-f]\{6,\}/0xADDRESS/g' "$T/p.err" "$T/s.err"
	cmp -s "$T/p.err" "$T/s.err" || fail "$name: stderr differs: $(diff "$T/p.err" "$T/s.err" | head -3)"
}

# Every catchable signal whose default ends the process, sent by the
# program to itself after 2000 lines and a line on stderr.
FATAL_SIGNALS=(HUP INT QUIT ILL TRAP ABRT BUS FPE USR1 SEGV USR2 PIPE ALRM TERM STKFLT XCPU
	XFSZ VTALRM PROF IO PWR SYS RTMIN RTMIN+7 RTMAX)

test_signals_fatal_every_signal_raw_write() {
	local sig n
	ulimit -c 0
	for sig in "${FATAL_SIGNALS[@]}"; do
		n=$(kill -l "$sig")
		same_ending "SIG$sig" "$P/signals" die "$n" 2000 self || return 1
	done
	# faults at an instruction: the same instruction faults again
	same_ending "a segfault" "$P/signals" die "$(kill -l SEGV)" 2000 self &&
		same_ending "a division by zero" "$P/signals" die "$(kill -l FPE)" 2000 self
}

test_signals_fatal_interpreters_and_shells() {
	local sig n
	ulimit -c 0
	for sig in INT TERM HUP QUIT USR1 ALRM PIPE RTMIN; do
		n=$(kill -l "$sig")
		same_ending "python3 SIG$sig" python3 -u -c "import os, sys
for i in range(2000): print('line', i)
print('to stderr', file=sys.stderr)
os.kill(os.getpid(), $n)" || return 1
		same_ending "perl SIG$sig" perl -e "\$|=1; print \"line \$_\\n\" for 1..2000;
			print STDERR \"to stderr\\n\"; kill $n, \$\$" || return 1
		same_ending "bash SIG$sig" bash -c "for ((i=0;i<2000;i++)); do echo \$i; done
			echo to stderr >&2; kill -$n \$\$" || return 1
		same_ending "dash SIG$sig" dash -c "i=0; while [ \$i -lt 2000 ]; do echo \$i;
			i=\$((i+1)); done; echo to stderr >&2; kill -$n \$\$" || return 1
	done
}

# what interpreters do on their own: re-raise SIGINT after
# KeyboardInterrupt, faulthandler's report before the re-raise
test_signals_interpreters_reraise() {
	ulimit -c 0
	same_ending "python3 KeyboardInterrupt" python3 -u -c 'import os, signal
for i in range(500): print("line", i)
os.kill(os.getpid(), signal.SIGINT)' &&
	same_ending "python3 faulthandler" python3 -X faulthandler -u -c 'import ctypes
for i in range(500): print("line", i)
ctypes.string_at(0)' || return 1
	grep -q '^Fatal Python error: Segmentation fault' "$T/s.err" ||
		fail "faulthandler's report: $(head -2 "$T/s.err")" || return 1
	same_ending "a C handler that reports and re-raises" "$P/signals" reraise 15 1000
}

# sent by another process while the program computes with bytes held;
# through timeout(1); dd's own SIGINT handler, which re-raises
test_signals_sent_from_outside() {
	skip_under_prefix "kills with deadlines"
	local mode st lines pre
	for mode in plain shim; do
		rm -f "$T/ready"
		pre=()
		[[ $mode == shim ]] && pre=(env LD_PRELOAD="$LIB" BUFSHIM_FDS=1,2 BUFSHIM_SIZE=64K)
		( exec "${pre[@]}" python3 -u -c "import os
for i in range(3000): print('line', i)
os.close(os.open('$T/ready', os.O_CREAT | os.O_WRONLY))
while True: pass" >"$T/$mode.out" ) &
		wait_until 20 test -e "$T/ready" || fail "$mode: never ready" || return 1
		kill -TERM $!
		st=0; wait $! 2>/dev/null || st=$?
		(( st == 143 )) || fail "$mode: status $st" || return 1
	done
	same_files "$T/plain.out" "$T/shim.out" || return 1
	st=0; timeout 1 env LD_PRELOAD="$LIB" BUFSHIM_SIZE=64K \
		perl -e '$|=1; print "line $_\n" for 1..5000; 1 while 1' >"$T/t.out" 2>/dev/null || st=$?
	(( st == 124 )) && [[ $(wc -l <"$T/t.out") == 5000 ]] ||
		fail "timeout: status $st, $(wc -l <"$T/t.out") of 5000 lines" || return 1
	skip_dd_under_asan
	# a background job of a script ignores SIGINT: dd gets it back first
	python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp("env", ["env"] + sys.argv[1:])' LD_PRELOAD="$LIB" BUFSHIM_FDS=1,2 \
		dd if=/dev/zero bs=1 count=100000000 >"$T/dd.out" 2>"$T/dd.err" &
	wait_until 20 test -s "$T/dd.out" || true
	kill -INT $!
	st=0; wait $! 2>/dev/null || st=$?
	(( st == 130 )) || fail "dd: status $st" || return 1
	lines=$(sed -n 's/ bytes .*//p' "$T/dd.err")
	[[ $lines == "$(stat -c %s "$T/dd.out")" ]] ||
		fail "dd said $lines bytes copied, the file has $(stat -c %s "$T/dd.out")"
}

# ---- what the program sees of its signals ------------------------------------------------

test_signals_dispositions_as_without_the_library() {
	# every signal's action through sigaction, signal, siginterrupt and
	# sysv_signal; before and after the first byte is held (stdout a file)
	"$P/signals" dump >"$T/plain"
	shim "$P/signals" dump >"$T/out"
	same_files "$T/plain" "$T/out" || return 1
	shim BUFSHIM_FDS=all "$P/signals" dump | cat >"$T/out"
	same_files "$T/plain" "$T/out" || return 1
	# inherited: SIG_IGN from the shell (nohup, trap '' TERM) stays ignored
	bash -c "trap '' TERM HUP; exec $P/signals dump" >"$T/plain"
	bash -c "trap '' TERM HUP; exec env LD_PRELOAD=$LIB $P/signals dump" >"$T/out"
	same_files "$T/plain" "$T/out" || return 1
	# and what an exec'd program inherits from a buffered one
	python3 -u -c 'import os; print("held"); os.execvp("grep", ["grep", "^Sig[IB]", "/proc/self/status"])' \
		>"$T/plain"
	shim python3 -u -c 'import os; print("held"); os.execvp("grep", ["grep", "^Sig[IB]", "/proc/self/status"])' \
		>"$T/out"
	same_files "$T/plain" "$T/out"
}

test_signals_handlers_keep_their_flags() {
	"$P/signals" handlers >"$T/plain"
	shim "$P/signals" handlers >"$T/out"
	same_files "$T/plain" "$T/out" || return 1
	shim BUFSHIM_FDS=all BUFSHIM_MODE=full "$P/signals" handlers >"$T/out"
	same_files "$T/plain" "$T/out"
}

# A SIGALRM handler writes a line and _exits while the program writes: the
# handler's line comes after every line a write had accepted, none lost.
SLOW+=(test_signals_handler_during_a_write_loop_200_runs)
test_signals_handler_during_a_write_loop_200_runs() {
	handler_race_runs 200
}

# A handler without SA_RESTART interrupts a 1 MiB write to a pipe read
# later: the same short count as without the library; with SA_RESTART too.
SLOW+=(test_signals_interrupt_a_blocked_write)
test_signals_interrupt_a_blocked_write() {
	skip_under_prefix "relies on a reader that starts late"
	# Python's handler runs, and os.write says what the kernel said
	local py='import os, signal, sys
signal.signal(signal.SIGALRM, lambda *a: os.write(2, b"handler\n"))
os.close(os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY))
signal.alarm(1)
print(os.write(1, b"x" * 1048576), file=sys.stderr)'
	# the six runs at once: each waits for its late reader
	local how
	for how in short restart; do
		"$P/signals" "$how" 1048576 "$T/mark-$how-plain" 2>"$T/$how-plain" | late_reader "$T/mark-$how-plain" &
		shim BUFSHIM_SIZE=64K "$P/signals" "$how" 1048576 "$T/mark-$how-out" 2>"$T/$how-out" |
			late_reader "$T/mark-$how-out" &
	done
	python3 -c "$py" "$T/mark-py-plain" 2>"$T/py-plain" | late_reader "$T/mark-py-plain" &
	shim BUFSHIM_SIZE=64K python3 -c "$py" "$T/mark-py-out" 2>"$T/py-out" | late_reader "$T/mark-py-out" &
	wait
	for how in short restart; do
		grep -q 'handler ran' "$T/$how-plain" || fail "plain: $(cat "$T/$how-plain")" || return 1
		same_files "$T/$how-plain" "$T/$how-out" ||
			{ fail "$how: $(cat "$T/$how-plain") / $(cat "$T/$how-out")"; return 1; }
	done
	grep -q handler "$T/py-plain" || fail "plain python: $(cat "$T/py-plain")" || return 1
	same_files "$T/py-plain" "$T/py-out" || fail "python: $(cat "$T/py-plain") / $(cat "$T/py-out")"
}

# late_reader MARK: a reader that starts reading 2.5 s after the writer made MARK
late_reader() {
	wait_until 30 test -e "$1" || true
	sleep 2.5
	cat >/dev/null
}

# Three threads write numbered records; the process raises a fatal signal:
# every record whole, none twice, none a write had returned missing. The
# one exception is the kernel's, with or without the library: a write
# that is still going on when the process dies stops at a page boundary
# (a fatal signal is checked between pages), so the file may end in the
# first part of a record whose write never returned; it must be the one
# that thread had due.
test_signals_threads_die_losing_nothing() {
	local st=0
	ulimit -c 0
	{ shim BUFSHIM_SIZE=64K "$P/signals" threads "$T/counts" 15 >"$T/out"; } 2>/dev/null || st=$?
	(( st == 143 )) || fail "status $st" || return 1
	thread_records_kept "$T/out" "$T/counts"
}

# thread_records_kept OUT COUNTS: what `signals threads` wrote to OUT holds
# every record whose write returned (COUNTS), whole, once, in order
thread_records_kept() {
	"$P/records" threads "$1" "$2"
}

# The process ends (exit, _exit, return from main) while three threads
# write to a file: no record whose write returned is left behind, though
# a thread was delivering a full buffer when the end came (seen losing a
# buffer of one thread, 1 run in 10 with a buffer per thread).
test_threads_end_of_process_loses_nothing() {
	local how threads run
	for run in 1 2 3 4 5 6; do
		for threads in shared local; do
			for how in exit _exit return; do
				shim BUFSHIM_THREADS=$threads "$P/signals" threads "$T/counts" $how >"$T/out" ||
					fail "$threads, $how: status $?" || return 1
				thread_records_kept "$T/out" "$T/counts" ||
					fail "$threads, $how, run $run" || return 1
			done
		done
	done
}

# SIGTSTP delivers before the stop; SIGCONT resumes it, nothing lost. The
# program computes (no call a wait would make) until a SIGUSR1 after the
# SIGCONT, or 20 s.
test_signals_stop_delivers_first() {
	skip_under_prefix "stops and continues with deadlines"
	rm -f "$T/ready"
	( exec env LD_PRELOAD="$LIB" BUFSHIM_FDS=1,2 python3 -u -c "import os, signal, time
go = []
signal.signal(signal.SIGUSR1, lambda s, f: go.append(s))
for i in range(300): print('line', i)
os.close(os.open('$T/ready', os.O_CREAT | os.O_WRONLY))
t = time.time()
while not go and time.time() - t < 20: pass
print('done')" >"$T/out" ) &
	local pid=$! st
	wait_until 20 test -e "$T/ready" || fail "never ready" || return 1
	kill -TSTP $pid
	wait_until 5 stopped "$pid" || fail "not stopped" || return 1
	[[ $(wc -l <"$T/out") == 300 ]] || fail "stopped with $(wc -l <"$T/out") of 300 lines out" || return 1
	kill -CONT $pid
	kill -USR1 $pid
	st=0; wait $pid || st=$?
	(( st == 0 )) && [[ $(tail -1 "$T/out") == done && $(wc -l <"$T/out") == 301 ]] ||
		fail "after SIGCONT: status $st, $(wc -l <"$T/out") lines"
}

# A stop and continue ends epoll_wait, semtimedop and sigtimedwait with
# EINTR even where no handler runs (signal(7)): so under the library too,
# which makes other waits again after its own stop action (without it
# they would have gone on waiting)
test_signals_stop_ends_the_waits_linux_ends() {
	skip_under_prefix "stops and continues with deadlines"
	local c m pids
	for c in epoll_wait semtimedop sigtimedwait; do
		pids=()
		for m in plain shim; do
			if [[ $m == plain ]]; then
				( exec "$P/signals" stopwait $c >"$T/$m" ) & pids+=($!)
			else
				( exec env LD_PRELOAD="$LIB" "$P/signals" stopwait $c >"$T/$m" ) & pids+=($!)
			fi
		done
		wait_until 5 eval 'grep -q waiting "$T/plain" && grep -q waiting "$T/shim"' ||
			fail "$c: never waiting" || return 1
		sleep 0.1	# in the call by now, on a busy machine too
		kill -TSTP "${pids[@]}"
		wait_until 5 stopped "${pids[0]}" && wait_until 5 stopped "${pids[1]}" || fail "$c: not stopped" || return 1
		kill -CONT "${pids[@]}"
		wait "${pids[@]}"
		grep -q "$c: -1 EINTR" "$T/plain" || fail "$c plain: $(cat "$T/plain")" || return 1
		same_files "$T/plain" "$T/shim" || return 1
	done
}

# A signal whose handler ran while the delivery before a sleep, a poll, a
# read of a pipe, a waitpid or a sem_wait went on interrupts that wait, as
# it would have without the library, instead of being followed by the
# whole wait (found by an outsider: Python's time.sleep slept on after a
# SIGINT). The signal is SIGXFSZ, which that delivery itself raises: 2 MiB
# held for a file that may hold 1 MiB.
test_signals_handler_during_the_delivery_before_a_wait() {
	skip_under_prefix "times a sleep"
	local c
	for c in sleep nanosleep poll read waitpid sem_wait; do
		shim_within 10 BUFSHIM_SIZE=4M "$P/signals" sleepsig $c >"$T/out" 2>"$T/err" < <(sleep 4) ||
			fail "$c: status $? (124, 137: it never woke)" || return 1
		[[ $(stat -c %s "$T/out") == 1048576 ]] || fail "$c: $(stat -c %s "$T/out") bytes" || return 1
		grep -q "said -\?[0-9]* [A-Z]* *after 0\.[0-9] s" "$T/err" || fail "$c: $(cat "$T/err")" || return 1
	done
	# a poll that does not wait says what is ready, not EINTR
	shim BUFSHIM_SIZE=4M "$P/signals" sleepsig poll0 >"$T/out" 2>"$T/err"
	grep -q "poll0 said 1 " "$T/err" || fail "poll0: $(cat "$T/err")"
}

# ---- signals while a reader does not read ----------------------------------------------

# ^Z while stdout's reader has stopped reading: the stop is prompt, no
# write fails, no line is lost (before, a write said EAGAIN and a line
# went missing, and the stop came a second late)
SLOW+=(test_signals_stop_with_a_stalled_reader)
test_signals_stop_with_a_stalled_reader() {
	skip_under_prefix "stops and continues with deadlines"
	local mode pid
	local -A pids=()
	for mode in plain shim; do	# both at once: each waits for its reader
		pre=()
		[[ $mode == shim ]] && pre=(env LD_PRELOAD="$LIB")
		mkfifo "$T/fifo-$mode"
		(exec 3<"$T/fifo-$mode"; sleep 3; cat <&3 >"$T/$mode") &
		"${pre[@]}" perl -e '$|=1; print "$_\n" for 1..20000' >"$T/fifo-$mode" &
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
	same_files "$T/plain" "$T/shim"
}

# A handler runs when its signal comes, though the delivery before a
# sleep, or at a close, is blocked on a reader that reads 3.5 s later
SLOW+=(test_signals_handler_runs_during_a_blocked_delivery)
test_signals_handler_runs_during_a_blocked_delivery() {
	skip_under_prefix "relies on a reader that starts late"
	local how
	for how in sleep close; do	# both at once: each waits for its reader
		shim "$P/signals" boundary "$how" 2>"$T/err-$how" | (sleep 3.5; cat >/dev/null) &
	done
	wait
	for how in sleep close; do
		grep -qx 'handler at 1.[0-4]' "$T/err-$how" || fail "$how: $(tr '\n' ' ' <"$T/err-$how")" || return 1
	done
}

# A handler that writes to stdout while fork's delivery waits on a reader
# (the pipe is full): its line is kept, and beside a second thread nothing
# deadlocks (before, the line was lost, or the handler waited for a lock
# its own thread held and the process hung for good). It runs once fork
# is done, after "tail" (whose write had returned): as when the pipe has
# room. The child's line may come before it or after.
SLOW+=(test_signals_handler_during_a_fork_delivery)
test_signals_handler_during_a_fork_delivery() {
	skip_under_prefix "relies on a reader that starts late"
	local how st
	# each reader starts 0.5 s after its program armed the 0.2 s alarm
	# (a mark it makes), so that the alarm always lands in the wait, on a
	# busy machine too (a slow start once let a reader go first, the fork
	# never waited, and the program ended before its alarm)
	for how in alone thread; do
		"$P/signals" forkhandler $how "$T/mark-plain-$how" |
			(wait_until 10 test -e "$T/mark-plain-$how"; sleep 0.5; cat) >"$T/plain-$how" &
		( shim_within 10 "$P/signals" forkhandler $how "$T/mark-shim-$how" |
			(wait_until 10 test -e "$T/mark-shim-$how"; sleep 0.5; cat) >"$T/shim-$how"
		  echo "${PIPESTATUS[0]}" >"$T/st-$how" ) &
	done
	wait
	for how in alone thread; do
		st=$(<"$T/st-$how")
		(( st == 0 )) || fail "$how: status $st (124, 137: it hung)" || return 1
		[[ $(tr -cd x <"$T/shim-$how" | wc -c) == 65536 ]] || fail "$how: the 64 KiB changed" || return 1
		[[ $(tr -d x <"$T/shim-$how" | sort) == "$(tr -d x <"$T/plain-$how" | sort)" ]] ||
			fail "$how: $(tr -d x <"$T/shim-$how" | tr '\n' ' ') against $(tr -d x <"$T/plain-$how" | tr '\n' ' ')" ||
			return 1
		[[ $(tr -d x <"$T/shim-$how" | grep -v handler | tr '\n' ' ') == "tail child parent " ]] ||
			fail "$how: order $(tr -d x <"$T/shim-$how" | tr '\n' ' ')" || return 1
	done
}

# A death while stdout and stderr share a pipe nobody reads: the process
# ends within the grace of a second or two, and says what it lost
SLOW+=(test_signals_death_with_a_stalled_reader_ends)
test_signals_death_with_a_stalled_reader_ends() {
	skip_under_prefix "times a death"
	local start took
	mkfifo "$T/fifo"
	(exec 3<"$T/fifo"; sleep 6; cat <&3 >/dev/null) &
	start=${EPOCHREALTIME/./}
	timeout -s TERM 1 env LD_PRELOAD="$LIB" perl -e '$|=1; print "x" x 255, "\n" while 1' \
		>"$T/fifo" 2>&1 || true
	took=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
	(( took < 4500 )) || fail "it took $took ms to die" || return 1
	wait
}

# A SIGABRT handler that returns, then the C library aborts (a double
# free): what was written, and what the handler wrote, are out
test_signals_abort_inside_the_c_library() {
	[[ ${PRELOAD_FIRST:-} != *asan* ]] || skip "ASan preloaded finds the double free before the C library"
	ulimit -c 0
	same_ending "a double free" "$P/signals" double_free 300
}

# A stack overflow in a write, a handler on an alternate stack that jumps
# back: every line written before is out, the program goes on buffering
# (and a fault that surely is inside the library: a write from a pointer
# that faults in its copy, where the kernel would have said EFAULT)
test_signals_overflow_inside_a_write() {
	local st how
	for how in overflow badptr; do
		st=0
		( ulimit -s 1024; exec env LD_PRELOAD="$LIB" "$P/signals" $how ) >"$T/out" || st=$?
		(( st == 0 )) || fail "$how: status $st" || return 1
		awk -v how=$how '/^depth/ { if ($2 != n) { print how ": gap at " $2; exit 1 } n++; next }
		     /^handler$/ { h = 1; next }
		     /^after/ { a++ }
		     END { if (n < 1000 || !h || a != 4) { print how ": " n " lines, handler " h ", after " a; exit 1 } }' \
			"$T/out" || return 1
	done
}

# A close waits for another thread's delivery to the same pipe when that
# delivery waits for a reader that does not read (a known limit: without
# the library, close returns and that thread's write stays blocked).
# SIGTERM, as from timeout or systemctl stop, still ends the program, of
# SIGTERM, with what it wrote to stdout delivered: the wait for the lock
# gives way to a signal that waits (before, only SIGKILL ended it).
test_signals_term_ends_a_close_behind_a_blocked_delivery() {
	skip_under_prefix "kills with deadlines"
	local st=0
	"$P/threads" blocked 2 0 >"$T/plain" || fail "plain: status $?" || return 1
	( exec env LD_PRELOAD="$LIB" BUFSHIM_FDS=all "$P/threads" blocked 2 0 >"$T/out" ) &
	sleep 1		# the threads fill the pipe in 0.3 s; then main closes it
	kill -TERM $!
	if ! wait_until 10 eval '! kill -0 $! 2>/dev/null'; then
		kill -KILL $!
		fail "SIGTERM did not end it"
	fi
	wait $! 2>/dev/null || st=$?
	(( st == 143 )) || fail "status $st" || return 1
	[[ $(cat "$T/out") == main ]] || fail "stdout: '$(cat "$T/out")'"
}
