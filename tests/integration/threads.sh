# SPDX-License-Identifier: MIT
# Threads: BUFSHIM_THREADS=local (a buffer per thread) beside the shared
# buffer, each tested the same way: records whole, each thread's order,
# every boundary with several threads holding bytes, fork from a thread,
# fatal signals, a thread's end, the same bytes as a plain run, syscalls.

# THREADS x RECORDS from `threads`, to a file and a pipe, in both modes
test_threads_each_threads_order_and_records_whole_both_modes() {
	local m n
	for m in shared local; do
		for n in 4 8; do
			shim BUFSHIM_THREADS=$m "$P/threads" write $n 20000 >"$T/out" ||
				fail "$m, $n threads: writer failed"
			"$P/threads" check $n 20000 <"$T/out" || fail "$m, $n threads, a file"
			shim BUFSHIM_THREADS=$m BUFSHIM_SIZE=64K "$P/threads" write $n 20000 |
				"$P/threads" check $n 20000 || fail "$m, $n threads, a pipe"
		done
	done
}

# held BOUNDARY: threads hold bytes (the file is still empty), the main
# thread (thread 0 for fork) crosses the boundary; afterwards every record
# is in the file, once, in its thread's order. STATUS: what the process
# must end with.
held_run() {
	local mode=$1 b=$2 want=$3 st=0
	( ulimit -c 0; shim BUFSHIM_THREADS="$mode" "$P/held" "$b" 4 20 ) >"$T/out" 2>"$T/err" || st=$?
	(( st != 3 )) || fail "$mode, $b: nothing was held before the boundary"
	(( st == want )) || fail "$mode, $b: status $st, not $want ($(head -c 200 "$T/err"))"
	"$P/threads" check 4 20 <"$T/out" || fail "$mode, $b: the records"
}

test_threads_every_boundary_delivers_every_threads_bytes() {
	local m b
	for m in shared local; do
		for b in fsync fdatasync lseek close dup2 sleep poll condwait spawn fork exec exit \
			_exit quick_exit; do
			held_run $m $b 0
		done
	done
	echo "14 boundaries, both modes"
}

test_threads_fatal_signals_lose_nothing_either_mode() {
	local m
	for m in shared local; do
		held_run $m term 143
		held_run $m abort 134
		held_run $m segv 139
	done
}

# A thread that ends delivers its own buffer (the shared buffer keeps
# holding what ended threads wrote, for the next delivery).
test_threads_local_a_thread_that_ends_delivers_its_own() {
	held_run local thread_end 0
	local st=0
	shim BUFSHIM_THREADS=shared "$P/held" thread_end 4 20 >"$T/out" || st=$?
	(( st == 1 )) || fail "shared: status $st (the test would not see a difference)"
}

# A delivery that fails at a wait (here the first one, of the newest
# thread's buffer, injected): the next write on the fd reports it, whichever
# thread makes it, and it is not said again at exit.
test_threads_a_failure_is_reported_by_the_next_write_of_any_thread() {
	skip_under_prefix "injects faults under strace"
	local m st
	for m in shared local; do
		st=0
		"${TRACE[@]}" -o "$T/trace" -e trace=write,writev -e inject=write,writev:error=ENOSPC:when=1 \
			-E LD_PRELOAD="$LIB" -E BUFSHIM_THREADS=$m -- "$P/held" error 4 20 >"$T/out" \
			2>"$T/err" || st=$?
		grep -q '(INJECTED)' "$T/trace" || fail "$m: nothing was injected"
		(( st == 0 )) || fail "$m: status $st (4: the main thread's write was not told)"
		[[ ! -s $T/err ]] || fail "$m: stderr: $(cat "$T/err")"
	done
}

# One thread: local mode writes what shared mode writes, call for call.
# Several: the same records as a plain run, each thread's in order.
test_threads_local_same_bytes_as_a_plain_run() {
	skip_under_prefix "counts syscalls under strace"
	local how shared loc
	for how in write writev split; do
		"$P/writer" 3000 37 $how >"$T/plain"
		shared=$(writes LD_PRELOAD="$LIB" -- "$P/writer" 3000 37 $how) || return 1
		same_files "$T/plain" "$T/out" || fail "shared, $how"
		loc=$(writes LD_PRELOAD="$LIB" BUFSHIM_THREADS=local -- "$P/writer" 3000 37 $how) ||
			return 1
		same_files "$T/plain" "$T/out" || fail "local, $how"
		(( loc == shared )) || fail "$how: $loc write syscalls, $shared shared"
	done
	"$P/threads" write 4 5000 >"$T/plain"
	shim BUFSHIM_THREADS=local "$P/threads" write 4 5000 >"$T/out"
	cmp -s <(sort "$T/plain") <(sort "$T/out") || fail "4 threads: other records than plain"
}

# 4 threads x 20000 records: at most one syscall per buffer of bytes, plus
# one per thread's end, plus the exit: as few as the shared buffer makes.
test_threads_local_syscalls_counted() {
	skip_under_prefix "counts syscalls under strace"
	local plain shared loc bytes floor
	plain=$(writes -- "$P/threads" write 4 20000) || return 1
	bytes=$(stat -c %s "$T/out")
	shared=$(writes LD_PRELOAD="$LIB" -- "$P/threads" write 4 20000) || return 1
	loc=$(writes LD_PRELOAD="$LIB" BUFSHIM_THREADS=local -- "$P/threads" write 4 20000) ||
		return 1
	"$P/threads" check 4 20000 <"$T/out" || return 1
	floor=$(( (bytes + 4095) / 4096 ))
	(( loc <= floor + 4 + 4 )) ||
		fail "local: $loc write syscalls for $bytes B (floor $floor, shared $shared)"
	(( plain >= loc * 50 )) || fail "local: $loc, plain $plain"
	echo "80000 writes -> plain $plain, shared $shared, local $loc syscalls (floor $floor)"
}

test_threads_setting_checked() {
	"$P/writer" 200 20 >"$T/plain"
	local b
	for b in BUFSHIM_THREADS= BUFSHIM_THREADS=Local BUFSHIM_THREADS=2 "BUFSHIM_THREADS=local x"; do
		shim "$b" "$P/writer" 200 20 >"$T/out" 2>"$T/err" || fail "$b: status $?"
		same_files "$T/plain" "$T/out" || fail "$b"
		[[ $(cat "$T/err") == "bufshim: BUFSHIM_THREADS='${b#*=}' is not shared or local; buffering off" ]] ||
			fail "$b: stderr: $(cat "$T/err")"
	done
	shim "BUFSHIM_THREADS= local " "$P/writer" 200 20 >"$T/out" 2>"$T/err"
	[[ ! -s $T/err ]] && same_files "$T/plain" "$T/out" || fail "spaces: $(cat "$T/err")"
}

test_threads_command_option() {
	"$CMD" --threads=local env | grep -qx BUFSHIM_THREADS=local || fail "--threads=local"
	local st=0
	"$CMD" --threads=many true 2>"$T/err" || st=$?
	(( st == 125 )) && [[ $(cat "$T/err") == "bufshim: --threads='many': not shared or local" ]] ||
		fail "--threads=many: status $st, $(cat "$T/err")"
}
