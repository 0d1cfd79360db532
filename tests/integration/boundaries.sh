# SPDX-License-Identifier: MIT
# Process and fd boundaries: sync points (fsync, close...), fork, exec,
# system, the exits, cancellation, a write before our constructor, fds past
# the table's first chunk, seeks, vmsplice, fds never buffered, fclose.

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

# vfork stays vfork (dash starts every command so), its child writes
# straight through, and the parent buffers again afterwards.
test_vfork_stays_vfork() {
	skip_under_prefix "counts syscalls under strace"
	"$P/forker" vfork_write >"$T/plain"
	"${TRACE[@]}" -c -o "$T/strace" -e trace=vfork,clone,clone3,write,writev -E LD_PRELOAD="$LIB" \
		"$P/forker" vfork_write >"$T/out"
	same_files "$T/plain" "$T/out" || return 1
	local vforks writes
	vforks=$(awk '$NF == "vfork" { print $4 }' "$T/strace")
	writes=$(awk '$NF == "write" || $NF == "writev" { n += $4 } END { print n }' "$T/strace")
	(( vforks == 1 )) || fail "vfork ran as $(grep -E 'clone|vfork' "$T/strace")" || return 1
	# before, the child's line, then 2000 lines in a few syscalls
	(( writes <= 8 )) || fail "$writes write syscalls: the parent did not buffer again"
	shim dash -c 'for i in 1 2 3; do /bin/echo $i; echo x; done' >"$T/out"
	dash -c 'for i in 1 2 3; do /bin/echo $i; echo x; done' >"$T/plain"
	same_files "$T/plain" "$T/out"
}

test_quick_exit_and__Exit_deliver() {
	local how
	for how in quick_exit _Exit; do
		shim BUFSHIM_MODE=full "$P/boundaries" $how >"$T/out"
		"$P/boundaries" $how >"$T/plain"
		same_files "$T/plain" "$T/out" || fail "$how"
	done
}

# Bytes handed to another process by a call that is neither a read, a wait
# nor an exit (tests/progs/passing): clone without CLONE_VM (a copy of the
# buffer went with it), the fortified open with O_TRUNC, a lock given up
# (fcntl F_SETLK, lockf), an fd passed over a socket, a signal sent through
# a pidfd, a memfd sealed against writes, fdopen "a" (O_APPEND set inside
# the C library), daemon() (/dev/null put on stdout by the C library). The
# same stdout and file as without the library.
SLOW+=(test_passed_by_other_means_keep_order)
test_passed_by_other_means_keep_order() {
	local c pids=()
	for c in clone open2 fcntl lockf scm pidfd seal fdopen daemon; do
		mkdir -p "$T/plain/$c" "$T/shim/$c"
		# (stderr apart: a sanitized build warns about the clone's stack)
		"$P/passing" $c "$T/plain/$c" >"$T/plain/$c/out" 2>"$T/$c.plain.err" & pids+=($!)
		shim BUFSHIM_FDS=all "$P/passing" $c "$T/shim/$c" >"$T/shim/$c/out" 2>"$T/$c.err" &
		pids+=($!)
	done
	for c in "${pids[@]}"; do wait "$c" || fail "a run ended with status $?" || return 1; done
	# the daemon's child goes on after its parent's end
	wait_until 10 test -e "$T/plain/daemon/f.done" -a -e "$T/shim/daemon/f.done" ||
		fail "the daemon never finished" || return 1
	same_trees "$T/plain" "$T/shim"
}

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

test_write_is_still_a_cancellation_point() {
	shim_within 10 BUFSHIM_MODE=full "$P/boundaries" cancel >/dev/null 2>"$T/err" ||
		fail "status $? (124: the thread was never cancelled)"
	grep -qx joined "$T/err"
}

test_write_before_our_constructor() {
	# another preloaded library writes from its constructor, before or
	# after ours has run
	local early=$BUILD/progs/libearly_write.so order
	"$P/writer" 3 10 >"$T/w"
	{ echo early; cat "$T/w"; } >"$T/plain"
	for order in "$LIB:$early" "$early:$LIB"; do
		preload "$order" BUFSHIM_MODE=full "$P/writer" 3 10 >"$T/out" || fail "$order: status $?"
		same_files "$T/plain" "$T/out" || fail "LD_PRELOAD=$order"
	done
}

test_bad_fds_and_fds_above_the_first_table_chunk() {
	skip_under_prefix "counts syscalls under strace"
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
	python3 -c "$prog" >"$T/plain" || skip "$(python3 -c "$prog" 2>&1 >/dev/null | tail -1)"
	grep -qx 'fd 77: Bad file descriptor' "$T/plain" || fail "plain: $(head -1 "$T/plain")"
	local writes
	writes=$(writes LD_PRELOAD="$LIB" BUFSHIM_FDS=all BUFSHIM_MODE=full -- python3 -c "$prog")
	same_files "$T/plain" "$T/out" || fail "output"
	(( writes < 100 )) || fail "$writes write syscalls for 3001 writes"
}

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
		shim_within 20 BUFSHIM_FDS=all BUFSHIM_MODE=full "$P/boundaries" $c ||
			fail "$c"
	done
}

test_fclose_delivers() {
	shim BUFSHIM_MODE=full "$P/boundaries" fclose >"$T/out"
	[[ $(cat "$T/out") == 'via write' ]] || fail "got '$(cat "$T/out")'"
}

# A socket's writing shut down: what we held goes first (plain, the peer
# reads it; held, it could never go, and the process died of SIGPIPE).
test_shutdown_delivers_first() {
	local fds
	"$P/handover" shutdown >"$T/plain"
	for fds in 1 all; do
		shim BUFSHIM_FDS=$fds "$P/handover" shutdown >"$T/out" 2>"$T/err" ||
			fail "-f $fds: status $?, $(cat "$T/err")" || return 1
		same_files "$T/plain" "$T/out" || return 1
	done
	# an interpreter, the peer another process (an inetd-style server)
	local pl='use Socket; socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, 0) or die;
if (!fork) { close $a; my $n = sysread $b, my $x, 100; print "peer read $n\n"; exit }
close $b; syswrite $a, "hello\n"; shutdown($a, 1); wait; print "done\n"'
	perl -e "$pl" >"$T/plain"
	shim BUFSHIM_FDS=all perl -e "$pl" >"$T/out" 2>"$T/err" || fail "perl: $(cat "$T/err")" || return 1
	same_files "$T/plain" "$T/out"
}

# Signals the program sends: to itself, SIGKILL and SIGSTOP leave no handler
# a chance, so the bytes go first; to another process, that process may
# read what we wrote ("the file is ready") while we go on computing.
test_signals_the_program_sends_deliver_first() {
	local st pid
	st=0; { env LD_PRELOAD="$LIB" "$P/handover" kill9 >"$T/out"; } 2>/dev/null || st=$?
	(( st == 137 )) && [[ $(cat "$T/out") == before ]] || fail "kill -9 itself: $st, '$(cat "$T/out")'" || return 1
	st=0; { env LD_PRELOAD="$LIB" dash -c 'echo before-kill; kill -9 $$' >"$T/out"; } 2>/dev/null || st=$?
	(( st == 137 )) && [[ $(cat "$T/out") == before-kill ]] || fail "dash kill -9 \$\$: $st, '$(cat "$T/out")'" || return 1
	env LD_PRELOAD="$LIB" "$P/handover" stop >"$T/out" &
	pid=$!
	wait_until 10 stopped_now "$pid" || { kill -KILL "$pid"; fail "never stopped"; return 1; }
	[[ $(cat "$T/out") == before-stop ]] || { kill -KILL "$pid"; fail "while stopped: '$(cat "$T/out")'"; return 1; }
	kill -CONT "$pid"
	wait "$pid"
	printf 'before-stop\nafter\n' | cmp -s - "$T/out" || fail "after: '$(cat "$T/out")'" || return 1
	"$P/handover" tell "$T/f" >"$T/plain"
	shim BUFSHIM_FDS=all "$P/handover" tell "$T/f" >"$T/out"
	same_files "$T/plain" "$T/out"
}
stopped_now() { [[ $(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) == T ]]; }

# A semaphore shared between processes orders them: A writes, then posts;
# B waits for it, then writes. B's line must not come first, though A
# computes 0.3 s before it ends (Python's multiprocessing.Semaphore, as
# its Lock, is such a semaphore). A semaphore private to the process hands
# nothing over: Python's threading.Lock posts one at every release, and a
# line written under it is not delivered at the release.
test_shared_semaphore_post_delivers_first() {
	local py='import multiprocessing as mp, os, time
def first(sem):
    os.write(1, b"A-first\n")
    sem.release()
    t = time.time()
    while time.time() - t < 0.3:
        pass
def second(sem):
    sem.acquire()
    os.write(1, b"B-second\n")
if __name__ == "__main__":
    mp.set_start_method("fork")
    s = mp.Semaphore(0)
    b = mp.Process(target=second, args=(s,))
    a = mp.Process(target=first, args=(s,))
    b.start(); a.start(); a.join(); b.join()'
	shim python3 -c "$py" | cat >"$T/out"
	printf 'A-first\nB-second\n' | cmp -s - "$T/out" || fail "order: $(tr '\n' ' ' <"$T/out")" || return 1
	skip_under_prefix "counts syscalls"
	local n
	n=$(writes LD_PRELOAD="$LIB" -- python3 -u -c 'import threading
lock = threading.Lock()
for i in range(5000):
    with lock:
        print("line", i)') || return 1
	(( n < 100 )) || fail "a private semaphore delivered: $n writes for 5000 lines under a lock"
}
