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

# arrival MS [fork]: ms from the write to its arrival, the writer busy 1.5 s
arrival() {
	shim BUFSHIM_MODE=full "$@" "$P/latency" write 1500 ${FORK:-} | "$P/latency" read
}

SERIAL+=(test_flush_ms_bounds_the_wait_of_a_busy_program)
test_flush_ms_bounds_the_wait_of_a_busy_program() {
	skip_under_prefix "measures arrival times"
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
