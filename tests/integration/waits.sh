# SPDX-License-Identifier: MIT
# Waits (SPEC invariant 4): before a program waits (a read, a coprocess's
# answer, a prompt on a terminal, a sleep, select, a child) the bytes it
# wrote are delivered; and the latency bound (BUFSHIM_FLUSH_MS).
#
# Tests that measure times or wait with deadlines are listed in SERIAL: they
# run alone, after the parallel batch.

test_coprocess_over_pipes_does_not_deadlock() {
	shim_within 20 BUFSHIM_FDS=all BUFSHIM_MODE=full "$P/boundaries" coproc ||
		fail "exit $? (124: deadlock)"
}

SERIAL+=(test_prompt_shows_on_a_terminal_before_the_read)
test_prompt_shows_on_a_terminal_before_the_read() {
	# auto mode on a terminal is line mode: "name? " has no newline, so only
	# the read hook can show it before the program waits for the answer
	skip_under_prefix "waits on a terminal with a deadline"
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

# held_while WHAT CMD...: CMD prints "before", sleeps or waits 3 s, then
# prints "after". A reader polling its output must see "before" alone
# first: held until exit, both lines would arrive at once.
held_while() {
	local what=$1 out=$T/held.$BASHPID pid
	shift
	shim BUFSHIM_MODE=full "$@" >"$out" &
	pid=$!
	wait_until 20 test -s "$out" || fail "$what: nothing arrived" || return 1
	[[ $(cat "$out") == before ]] || fail "$what: held: '$(tr '\n' ' ' <"$out")'" || return 1
	wait $pid || fail "$what: status $?"
}

SLOW+=(test_sleep_and_wait_deliver_first)
test_sleep_and_wait_deliver_first() {
	# the four at once: their waits overlap
	local pids=() p st=0
	held_while "perl sleep" perl -e '$|=1; print "before\n"; sleep 3; print "after\n"' & pids+=($!)
	held_while "python time.sleep" python3 -u -c 'import time; print("before"); time.sleep(3); print("after")' &
	pids+=($!)
	held_while "dash waiting for a child" dash -c 'echo before; sleep 3; echo after' & pids+=($!)
	held_while "python select" python3 -u -c 'import select; print("before"); select.select([], [], [], 3); print("after")' &
	pids+=($!)
	for p in "${pids[@]}"; do wait "$p" || st=1; done
	return $st
}

# arrival MS [fork]: ms from the write to its arrival, the writer
# computing 0.9 s (asleep to the machine: the three at once)
arrival() {
	shim BUFSHIM_MODE=full "$@" "$P/latency" write 900 ${FORK:-} | "$P/latency" read
}

SERIAL+=(test_flush_ms_bounds_the_wait_of_a_busy_program)
test_flush_ms_bounds_the_wait_of_a_busy_program() {
	skip_under_prefix "measures arrival times"
	local ms child held p pids=()
	arrival BUFSHIM_FLUSH_MS=100 >"$T/ms" & pids+=($!)
	FORK=fork arrival BUFSHIM_FLUSH_MS=100 >"$T/child" & pids+=($!)
	arrival >"$T/held" & pids+=($!)
	for p in "${pids[@]}"; do wait "$p" || fail "an arrival failed: status $?" || return 1; done
	ms=$(<"$T/ms") child=$(<"$T/child") held=$(<"$T/held")
	[[ $ms =~ ^[0-9]+$ && $child =~ ^[0-9]+$ && $held =~ ^[0-9]+$ ]] ||
		fail "arrivals: '$ms' '$child' '$held'" || return 1
	(( ms < 400 )) || fail "bound 100 ms: arrived after $ms ms" || return 1
	(( child < 400 )) || fail "forked child, bound 100 ms: arrived after $child ms" || return 1
	(( held >= 850 )) || fail "without a bound the byte should wait for exit: $held ms" || return 1
	echo "bound 100 ms: $ms ms, in a forked child $child ms; no bound: $held ms"
}

# the timer's flushes against a busy writer's pace
SERIAL+=(test_flush_ms_busy_writer_still_coalesces)
test_flush_ms_busy_writer_still_coalesces() {
	skip_under_prefix "counts syscalls under strace"
	local writes count
	"${TRACE[@]}" -c -o "$T/strace" -e trace=write,writev -E LD_PRELOAD="$LIB" \
		-E BUFSHIM_FLUSH_MS=20 -E BUFSHIM_MODE=full "$P/latency" busy 500 >/dev/null 2>"$T/count"
	count=$(cat "$T/count")
	writes=$(awk '$NF == "total" { print $4 }' "$T/strace")
	(( count > 1000 && writes * 50 < count )) || fail "$count writes made $writes syscalls"
	echo "$count writes -> $writes syscalls"
}

SLOW+=(test_flush_ms_no_wakeups_while_nothing_is_pending)
test_flush_ms_no_wakeups_while_nothing_is_pending() {
	# a 10 ms bound, then 2 s asleep with nothing pending: a periodic timer
	# would make ~200 calls (no cost to the suite: other tests run meanwhile)
	skip_under_prefix "counts syscalls under strace"
	"${TRACE[@]}" -c -o "$T/strace" -e trace=futex,clock_nanosleep,nanosleep \
		-E LD_PRELOAD="$LIB" -E BUFSHIM_FLUSH_MS=10 -E BUFSHIM_MODE=full \
		"$P/latency" idle 2000 >/dev/null
	local futex
	futex=$(awk '$NF ~ /^(futex|clock_nanosleep|nanosleep)$/ { n += $4 } END { print n + 0 }' "$T/strace")
	(( futex <= 10 )) || fail "$futex timer calls while idle"
	echo "$futex timer calls in 2 s"
}

test_flush_ms_timer_delivers_each_byte_once() {
	# the timer's flushes alone, no time judged: what make valgrind runs the
	# timer thread with (also in a forked child, which starts its own)
	local f
	for f in "" fork; do
		shim BUFSHIM_MODE=full BUFSHIM_FLUSH_MS=5 "$P/latency" write 50 $f >"$T/out"
		[[ $(wc -l <"$T/out") == 1 ]] && grep -qxE '[0-9]+' "$T/out" ||
			fail "${f:-no fork}: '$(cat "$T/out")'"
	done
}

# ---- every kind of wait: the line before it arrives while the program waits ----

# late KIND...: each kind of tests/progs/waits preloaded (fds all buffered,
# full mode), all at once; the "before" line must arrive well before the 2 s
# wait ends (held, it arrives 2 s late)
late() {
	local kind ms
	for kind in "$@"; do
		python3 "$HERE/arrival.py" LD_PRELOAD="$LIB" BUFSHIM_FDS=all BUFSHIM_MODE=full -- \
			"$P/waits" "$kind" 2 >"$T/late.$kind" 2>&1 &
	done
	wait
	for kind in "$@"; do
		ms=$(cat "$T/late.$kind")
		awk -v s="$ms" 'BEGIN { exit !(s + 0 == s && s < 1) }' ||
			fail "$kind: the line before the wait arrived late: $ms" || return 1
	done
}

SLOW+=(test_waits_other_threads_deliver_first)
test_waits_other_threads_deliver_first() {
	skip_under_prefix "measures arrival times"
	late cond cond_timed cond_clock sem sem_timed sem_clock join join_timed barrier futex \
		cnd_wait thrd_sleep getwc_unlocked sigpause
}

SLOW+=(test_waits_locks_and_ipc_deliver_first)
test_waits_locks_and_ipc_deliver_first() {
	skip_under_prefix "measures arrival times"
	late flock lockf setlkw ofd_setlkw msgrcv semop mq_receive
}

SLOW+=(test_waits_python_threads_and_locks_deliver_first)
test_waits_python_threads_and_locks_deliver_first() {
	skip_under_prefix "measures arrival times"
	local i=0 prog ms
	for prog in 'threading.Event().wait(2)' \
		'q = queue.Queue(); threading.Timer(2, q.put, (1,)).start(); q.get()' \
		'try: queue.Queue().get(timeout=2)
except queue.Empty: pass' \
		't = threading.Thread(target=time.sleep, args=(2,)); t.start(); t.join()'; do
		i=$((i + 1))
		python3 "$HERE/arrival.py" LD_PRELOAD="$LIB" -- python3 -u -c "import threading, queue, time
print('before', time.monotonic())
$prog
print('after')" >"$T/py.$i" 2>&1 &
	done
	wait
	for i in 1 2 3 4; do
		ms=$(cat "$T/py.$i")
		awk -v s="$ms" 'BEGIN { exit !(s + 0 == s && s < 1) }' || fail "case $i: arrived late: $ms" || return 1
	done
}

# A writes "ready" to a pipe and opens a FIFO to read; B reads "ready" and
# then opens the FIFO to write. Held, "ready" would leave both blocked.
test_waits_fifo_handshake_does_not_deadlock() {
	mkfifo "$T/fifo"
	local st
	shim_within 10 BUFSHIM_MODE=full dash -c "echo ready; exec 3<$T/fifo; cat <&3" |
		{ read -r line; [[ $line == ready ]] && timeout 10 sh -c "echo hello >$T/fifo"
		  cat >/dev/null; }
	st=${PIPESTATUS[0]}
	(( st == 0 )) || fail "status $st (124: deadlock)"
}

# A zero timeout asks too: a program that wrote to its own pipe finds it
# readable, as without the library.
test_waits_zero_timeout_sees_our_own_bytes() {
	local how
	for how in poll0 select0 fionread0; do
		[[ $(shim BUFSHIM_FDS=all "$P/waits" $how) == "readable: 1" ]] ||
			fail "$how: $(shim BUFSHIM_FDS=all "$P/waits" $how)" || return 1
	done
}

# The library never waits on itself: a thread blocked writing 1 MiB into a
# pipe the main thread reads only after a line of its own; _exit while a
# thread is blocked in a write.
test_waits_never_on_a_blocked_delivery() {
	shim_within 20 BUFSHIM_FDS=all "$P/waits" selfpipe >"$T/out" 2>&1 ||
		fail "status $? (124: deadlock): $(cat "$T/out")" || return 1
	grep -q '^read 1048576$' "$T/out" || fail "$(cat "$T/out")" || return 1
	local st=0
	{ shim_within 20 BUFSHIM_FDS=all "$P/waits" exit_while_blocked | (sleep 1; wc -c >"$T/n"); } ||
		st=${PIPESTATUS[0]}
	wait_until 5 test -s "$T/n" || true
	"$P/waits" exit_while_blocked | (sleep 1; wc -c >"$T/plain")
	same_files "$T/plain" "$T/n"
}

# A wait's delivery never blocks on a full pipe while the program holds a
# lock its reader needs: the mutex of a condition wait (a thread of the
# program reads the pipe once it has that mutex). Without the library the
# write blocked before the mutex was taken.
test_waits_full_pipe_while_holding_a_mutex() {
	shim_within 20 BUFSHIM_FDS=all "$P/waits" cond_full_pipe >"$T/out" 2>&1 ||
		fail "status $? (124: deadlock): $(cat "$T/out")" || return 1
	grep -qx 'drained 65537' "$T/out" || fail "$(cat "$T/out")"
}

# The same with Python's interpreter lock, which a thread holds when it
# waits on the condition that hands it over (seen in Python's own tests).
test_waits_full_pipe_python_interpreter_lock() {
	local py='import os, threading
r, w = os.pipe()
os.write(w, b"a" * 65536)
got = 0
def reader():
    global got
    while got < 65537:
        got += len(os.read(r, 65536))
t = threading.Thread(target=reader)
t.start()
os.write(w, b"x")
n = 0
for i in range(2000000):
    n += i
t.join()
print("read", got)'
	shim_within 30 BUFSHIM_FDS=all python3 -c "$py" >"$T/out" 2>&1 ||
		fail "status $? (124: deadlock): $(cat "$T/out")" || return 1
	grep -qx 'read 65537' "$T/out" || fail "$(cat "$T/out")"
}

# What a wait left to the helper (its pipe full) is delivered before the
# process ends, though the end comes while the helper waits for the
# reader (seen once in CI: a threaded writer's last records missing).
# The same when the process sends itself SIGKILL, which no handler sees:
# nothing goes to the helper, which would die with it.
SLOW+=(test_waits_hand_over_delivered_before_the_end)
test_waits_hand_over_delivered_before_the_end() {
	local how
	for how in exit_after_hand_over kill_after_full_pipe; do
		{ "$P/waits" $how | (sleep 1; cat >"$T/plain"); } 2>/dev/null
		{ shim_within 20 "$P/waits" $how | (sleep 1; cat >"$T/out"); } 2>/dev/null
		same_files "$T/plain" "$T/out" || fail "$how" || return 1
	done
}

test_waits_multiprocessing_under_all() {
	local prog='import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
def sq(x): return x * x
if __name__ == "__main__":
    print("start")
    with mp.Pool(2) as p: print(sum(p.map(sq, range(200))))
    q = mp.Queue(); pr = mp.Process(target=q.put, args=("hello",)); pr.start()
    print(q.get(timeout=20)); pr.join()
    with ProcessPoolExecutor(2) as ex: print(list(ex.map(sq, range(5))))
    with ThreadPoolExecutor(2) as ex: print(list(ex.map(sq, range(5))))
    print("end")'
	echo "$prog" >"$T/mp.py"
	python3 "$T/mp.py" >"$T/plain" 2>&1
	shim_within 60 BUFSHIM_FDS=all python3 "$T/mp.py" >"$T/out" 2>&1 || fail "status $?" || return 1
	same_files "$T/plain" "$T/out"
}
