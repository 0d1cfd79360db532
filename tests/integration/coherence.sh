# SPDX-License-Identifier: MIT
# One open file, one buffer: stdout and stderr on one file (2>&1), dup in
# the program, several processes appending to one file or pipe, threads.

test_stdout_stderr_sharing_a_file_keep_order() {
	skip_under_prefix "counts syscalls under strace"
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
	"${TRACE[@]}" -c -o "$T/strace" -e trace=write,writev -E LD_PRELOAD="$LIB" \
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

test_threads_tear_no_record() {
	shim "$P/threads" write 4 20000 >"$T/out" || fail "writer failed" || return 1
	"$P/threads" check 4 20000 <"$T/out" || return 1
	shim "$P/threads" write 4 20000 | "$P/threads" check 4 20000
}
