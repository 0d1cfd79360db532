# SPDX-License-Identifier: MIT
# Asynchronous delivery (BUFSHIM_ASYNC=1): a helper thread writes the full
# buffers of regular files. The same bytes as a plain run, every boundary
# waits for a block in flight, a failure of the helper's write reaches the
# program, and nothing changes where it is not used.

# tids_writing TRACE: how many threads made a write syscall (strace -f -o)
tids_writing() { awk '$2 ~ /^write/ { print $1 }' "$1" | sort -u | wc -l; }

# The same bytes as a plain run, in about as many syscalls as without (a
# record that fills the buffer goes out alone, not joined to its bytes:
# a few more), some of them made by the helper, another thread.
test_async_same_bytes_helper_writes() {
	skip_under_prefix "counts syscalls under strace"
	local how sync async
	for how in write writev split; do
		"$P/writer" 20000 37 $how >"$T/plain"
		sync=$(writes LD_PRELOAD="$LIB" -- "$P/writer" 20000 37 $how) || return 1
		same_files "$T/plain" "$T/out" || fail "sync, $how" || return 1
		"${TRACE[@]}" -o "$T/trace" -e trace=write,writev -E LD_PRELOAD="$LIB" \
			-E BUFSHIM_ASYNC=1 -- "$P/writer" 20000 37 $how >"$T/out" || return 1
		same_files "$T/plain" "$T/out" || fail "async, $how" || return 1
		async=$(grep -c '^[0-9]* *write' "$T/trace")
		(( async >= sync && async <= sync + sync / 50 )) ||
			fail "$how: $async write syscalls, $sync without async" || return 1
		(( $(tids_writing "$T/trace") == 2 )) || fail "$how: the helper made no write" || return 1
	done
	"$P/threads" write 4 20000 >"$T/plain"
	shim BUFSHIM_ASYNC=1 "$P/threads" write 4 20000 >"$T/out" || fail "threads: writer failed"
	"$P/threads" check 4 20000 <"$T/out" || fail "threads: the records"
	echo "20000 records of 37 B: $sync syscalls, $async with async"
}

# A block in flight at a boundary: the helper's first write is held back
# 0.3 s (a slow disk), the threads' records fill more than a buffer, and
# the boundary (fsync, close, lseek, exec, _exit, a fatal signal) must find
# every record in the file once it is crossed (held checks that the file
# was still empty before: the bytes were held or in flight). The injector
# counts each thread's writes: the main thread's first is a mark on
# stderr, so its delivery at the boundary is not held back and would
# overtake a flight it did not wait for. (fork is crossed by another
# thread, whose first write is held back as long as the flight.)
SLOW+=(test_async_boundaries_wait_for_the_flight)
test_async_boundaries_wait_for_the_flight() {
	skip_under_prefix "injects delays under strace"
	local b want st
	for b in fsync close lseek exec _exit fork term abort segv; do
		case $b in
		term) want=143 ;;
		abort) want=134 ;;
		segv) want=139 ;;
		*) want=0 ;;
		esac
		st=0
		( ulimit -c 0; "${TRACE[@]}" -o "$T/trace" -e trace=write,writev \
			-e inject=write,writev:delay_enter=300000:when=1 -E LD_PRELOAD="$LIB" \
			-E BUFSHIM_ASYNC=1 -E BUFSHIM_SIZE=1K -E HELD_MARK=. -- "$P/held" $b 4 20
		  exit $? ) >"$T/out" 2>"$T/err" || st=$?
		(( st != 3 )) || fail "$b: nothing was held before the boundary" || return 1
		(( st == want )) || fail "$b: status $st, not $want ($(head -c 200 "$T/err"))" || return 1
		"$P/threads" check 4 20 <"$T/out" || fail "$b: the records" || return 1
		(( $(tids_writing "$T/trace") >= 2 )) || fail "$b: the helper made no write" || return 1
	done
	echo "9 boundaries"
}

# The helper's write fails (the first write syscall, injected: a full
# disk): the program is told by a later write, as it is told plain.
test_async_failure_reaches_the_program() {
	skip_under_prefix "injects faults under strace"
	local a st
	for a in 0 1; do
		st=0
		"${TRACE[@]}" -o "$T/trace" -e trace=write,writev -e inject=write,writev:error=ENOSPC:when=1 \
			-E LD_PRELOAD="$LIB" -E BUFSHIM_ASYNC=$a -- "$P/writer" 20000 37 >"$T/out" || st=$?
		grep -q '(INJECTED)\|= -1 errno=28' "$T/trace" || fail "async=$a: nothing was injected" || return 1
		(( st == 1 )) || fail "async=$a: the writer ended $st, not told of the failure" || return 1
	done
	(( $(tids_writing "$T/trace") == 2 )) || fail "the helper made no write"
}

# Pipes and /dev/null deliver as without it: no helper thread.
test_async_only_regular_files() {
	skip_under_prefix "counts threads under strace"
	"${TRACE[@]}" -o "$T/trace" -e trace=clone,clone3 -E LD_PRELOAD="$LIB" -E BUFSHIM_ASYNC=1 \
		-- "$P/writer" 20000 37 | cat >/dev/null || return 1
	"${TRACE[@]}" -o "$T/trace2" -e trace=clone,clone3 -E LD_PRELOAD="$LIB" -E BUFSHIM_ASYNC=1 \
		-- "$P/writer" 20000 37 >/dev/null || return 1
	! grep -q 'CLONE_THREAD' "$T/trace" "$T/trace2" || fail "a thread was made: $(grep CLONE_THREAD "$T/trace")"
	"${TRACE[@]}" -o "$T/trace" -e trace=clone,clone3 -E LD_PRELOAD="$LIB" -E BUFSHIM_ASYNC=1 \
		-- "$P/writer" 20000 37 >"$T/out" || return 1
	grep -q 'CLONE_THREAD' "$T/trace" || fail "no helper for a regular file (the check could not fail)"
}

# A bad setting: one line naming it, the program runs unbuffered.
test_async_setting_checked() {
	"$P/writer" 100 20 >"$T/plain"
	shim BUFSHIM_ASYNC=yes "$P/writer" 100 20 >"$T/out" 2>"$T/err" || fail "status $?" || return 1
	same_files "$T/plain" "$T/out" || return 1
	[[ $(cat "$T/err") == "bufshim: BUFSHIM_ASYNC='yes' is not 0 or 1; buffering off" ]] ||
		fail "stderr: $(cat "$T/err")"
}

# The command's --async sets it.
test_async_command_option() {
	[[ $(BUFSHIM_LIB="$LIB" "$CMD" --async -- env | grep '^BUFSHIM_ASYNC=') == BUFSHIM_ASYNC=1 ]] ||
		fail "--async did not set BUFSHIM_ASYNC=1"
}

# No thread can be made (a preloaded library refuses pthread_create): the
# blocks are written where they are handed over, every byte once, and
# nothing waits for a helper that does not exist (killed after 30 s: a
# wait inside the library holds SIGTERM back).
test_async_without_a_thread_writes_in_place() {
	skip_under_prefix "times out with SIGKILL"
	local var=LD_PRELOAD st=0
	[[ -z ${TEST_EMULATOR:-} ]] || var=GUEST_LD_PRELOAD
	"$P/writer" 20000 37 >"$T/plain"
	timeout -s KILL 30 env "$var=$P/libno_threads.so:$LIB" BUFSHIM_ASYNC=1 "$P/writer" 20000 37 \
		>"$T/out" || st=$?
	(( st == 0 )) || fail "status $st (137: it hung)" || return 1
	same_files "$T/plain" "$T/out"
}

# The first hand-over happens in a program's signal handler (its write does
# not fit a 64-byte buffer holding nine lines): no thread is made there
# (making one allocates, which a handler must not), the block is written in
# place, and the process ends as plain does.
test_async_no_thread_made_in_a_signal_handler() {
	skip_under_prefix "counts threads under strace"
	local st=0
	# (the shell's word on the death goes to /dev/null, not into the files)
	{ "$P/signals" reraise 10 9 >"$T/plain" 2>&1; } 2>/dev/null || true
	{ "${TRACE[@]}" -o "$T/trace" -e trace=clone,clone3,write,writev -E LD_PRELOAD="$LIB" \
		-E BUFSHIM_FDS=1,2 -E BUFSHIM_SIZE=64 -E BUFSHIM_ASYNC=1 -- "$P/signals" reraise 10 9 \
		>"$T/out" 2>&1; } 2>/dev/null || st=$?
	(( st == 138 )) || fail "status $st, not 138 (SIGUSR1)" || return 1
	same_files "$T/plain" "$T/out" || return 1
	! grep -q CLONE_THREAD "$T/trace" || fail "a thread was made: $(grep CLONE_THREAD "$T/trace")" || return 1
	grep -q '^[0-9]* *write(1, "line 0' "$T/trace" || fail "the nine lines were not handed over: $(cat "$T/trace")"
}

# A helper's write that fails (a file size limit) is the program's next
# write's to report, though that write fits in the block it fills: bash's
# printf (stdio, fflushed at every line) learns it as it does without the
# library, and stops. The limit (102400 B) falls inside a block of 409
# records of 10 B, handed over when the next one did not fit, and fewer
# than a block's worth follow: no later hand-over would report it.
test_async_failure_reported_by_the_next_write_that_fits() {
	# the last records come slowly (computing, no call): the helper's
	# write lands before the program is done, on a busy machine too
	local sh='for ((i = 0; i < 10800; i++)); do
	printf "%09d\n" $i || exit 7
	(( i < 10200 )) || for ((j = 0; j < 300; j++)); do :; done
done' st=0 plain=0
	( trap '' XFSZ; ulimit -f 100; bash -c "$sh" >"$T/plain" 2>/dev/null ) || plain=$?
	( trap '' XFSZ; ulimit -f 100; shim BUFSHIM_ASYNC=1 bash -c "$sh" >"$T/out" 2>"$T/err" ) || st=$?
	(( plain == 7 )) || fail "plain: status $plain" || return 1
	(( st == 7 )) || fail "status $st, not 7: $(head -c 300 "$T/err")" || return 1
	cmp -s "$T/plain" "$T/out" || fail "the file differs: $(cmp "$T/plain" "$T/out" 2>&1)"
}
