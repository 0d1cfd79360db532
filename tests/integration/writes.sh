# SPDX-License-Identifier: MIT
# Bytes and syscall counts on real programs: each run plainly and with the
# library preloaded, the outputs compared byte for byte, the write-family
# syscalls counted (writes, in lib.sh).

SLOW+=(test_dd_bs1_to_file)
test_dd_bs1_to_file() {
	skip_dd_under_asan
	skip_under_prefix "counts syscalls under strace"
	head -c 100000 /dev/urandom >"$T/in"
	local plain shimmed
	plain=$(writes -- dd if="$T/in" bs=1 status=none) || return 1
	cp "$T/out" "$T/plain"
	shimmed=$(writes LD_PRELOAD="$LIB" -- dd if="$T/in" bs=1 status=none) || return 1
	same_files "$T/in" "$T/out" && same_files "$T/plain" "$T/out" &&
		at_least_times_fewer "$plain" "$shimmed" 50 && echo "$plain -> $shimmed writes"
}

# The counts above come from the kernel's accounting (count_writes): it
# must say what strace says, for a process, its children, every call of
# the family, plain and preloaded.
test_write_counts_by_the_kernel_are_straces() {
	skip_under_prefix "counts syscalls under strace"
	(( COUNT_BY_KERNEL )) || skip "the kernel keeps no count here, strace counts"
	local py='import os
fd = os.open(os.environ["OUT"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
for i in range(200):
    os.write(1, b"a" * (i % 7 + 1))
    os.writev(1, [b"b", b"cd\n"])
    os.pwrite(fd, b"x", i)
    os.pwritev(fd, [b"y", b"z"], i)
    os.pwritev(fd, [b"w"], i, os.RWF_APPEND) if hasattr(os, "RWF_APPEND") else None
os.write(1, b"")'
	local sh='for i in 1 2 3 4 5 6 7 8 9 10; do echo $i; (echo sub $i); /bin/echo child $i; done'
	local k s pre cmd
	for pre in "" "LD_PRELOAD=$LIB"; do
		for cmd in "python3 -c" "dash -c" "$P/writer 500 30 writev"; do
			case $cmd in
			python3*) set -- python3 -c "$py" ;;
			dash*) set -- dash -c "$sh" ;;
			*) set -- $cmd ;;
			esac
			k=$(writes OUT="$T/file" $pre -- "$@") || return 1
			s=$(COUNT_BY_KERNEL=0 writes OUT="$T/file" $pre -- "$@") || return 1
			(( k == s && k > 0 )) || fail "${pre:-plain} $1: the kernel counted $k, strace $s" || return 1
			echo -n "${pre:+preloaded }${1##*/} $k; "
		done
	done
}

test_dd_bs1_to_pipe() {
	skip_dd_under_asan
	head -c 50000 /dev/urandom >"$T/in"
	shim dd if="$T/in" bs=1 status=none | cat >"$T/out"
	same_files "$T/in" "$T/out"
}

test_c_writer_full_mode() {
	skip_under_prefix "counts syscalls under strace"
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
	skip_under_prefix "counts syscalls under strace"
	local n
	"$P/writer" 300 5000 >"$T/plain"
	n=$(writes LD_PRELOAD="$LIB" BUFSHIM_MODE=full -- "$P/writer" 300 5000)
	same_files "$T/plain" "$T/out"
	(( n == 300 )) || fail "$n write syscalls for 300 writes of 5000 bytes"
	preload "$LIB:$P/libchain_write.so" CHAIN_WRITE_LOG="$T/chain" BUFSHIM_MODE=full \
		"$P/writer" 300 5000 >"$T/out"
	same_files "$T/plain" "$T/out"
	(( $(cat "$T/chain") >= 300 )) || fail "the next library saw $(cat "$T/chain") of 300 writes"
}

test_c_writer_bytes_in_every_mode() {
	# the bytes alone, no strace: what make valgrind runs the writer with
	local how m
	for how in write writev split; do
		"$P/writer" 2000 30 $how >"$T/plain"
		for m in full line none auto; do
			shim BUFSHIM_MODE=$m "$P/writer" 2000 30 $how >"$T/out"
			same_files "$T/plain" "$T/out" || fail "$how, $m mode"
		done
	done
}

test_c_writer_writev() {
	skip_under_prefix "counts syscalls under strace"
	local plain shimmed
	plain=$(writes -- "$P/writer" 5000 30 writev) || return 1
	cp "$T/out" "$T/plain"
	shimmed=$(writes LD_PRELOAD="$LIB" -- "$P/writer" 5000 30 writev) || return 1
	same_files "$T/plain" "$T/out" && at_least_times_fewer "$plain" "$shimmed" 30
}

test_c_writer_line_mode_joins_pieces_of_a_line() {
	skip_under_prefix "counts syscalls under strace"
	local plain shimmed
	plain=$(writes -- "$P/writer" 3000 20 split) || return 1
	cp "$T/out" "$T/plain"
	shimmed=$(writes LD_PRELOAD="$LIB" BUFSHIM_MODE=line -- "$P/writer" 3000 20 split) || return 1
	same_files "$T/plain" "$T/out" || return 1
	(( plain == 6000 && shimmed == 3000 )) || fail "plain $plain, line mode $shimmed: want 6000 and 3000"
}

SLOW+=(test_python_unbuffered_lines)
test_python_unbuffered_lines() {
	command -v python3 >/dev/null || skip "no python3"
	skip_under_prefix "counts syscalls under strace"
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

SLOW+=(test_node_writesync_lines)
test_node_writesync_lines() {
	# Node is not a Debian default: run when it is there (not installed by
	# scripts/install-deps.sh for this one test: ~200 MB)
	command -v node >/dev/null || skip "no node"
	skip_under_prefix "counts syscalls under strace"
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
	skip_under_prefix "counts syscalls under strace"
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

SLOW+=(test_system_programs_unchanged)
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
	# each command's stdout, stderr, status, and both through one pipe, in
	# plain/N.* and shim/N.*: compared all at once
	local i st dir pre line
	mkdir "$T/plain" "$T/shim"
	for dir in plain shim; do
		pre=()
		[[ $dir == shim ]] && pre=(shim BUFSHIM_FDS=1,2 BUFSHIM_MODE=full)
		for i in "${!cmds[@]}"; do
			[[ ${cmds[i]} == dd* ]] && (( SAN_BREAKS_DD )) && continue
			st=0
			"${pre[@]}" bash -c "${cmds[i]}" >"$T/$dir/$i.out" 2>"$T/$dir/$i.err" || st=$?
			echo "$st" >"$T/$dir/$i.status"
			"${pre[@]}" bash -c "${cmds[i]}" 2>&1 | cat >"$T/$dir/$i.pipe"
		done
	done
	if ! diff -rq "$T/plain" "$T/shim" >"$T/differs"; then
		while read -r line; do
			if [[ $line == Files\ * ]]; then	# Files A and B differ
				i=${line#Files }
				i=${i%% *}
				i=${i##*/}
				echo "differs (${i#*.}): ${cmds[${i%%.*}]}"
			else
				echo "$line"
			fi
		done <"$T/differs"
		return 1
	fi
	echo "${#cmds[@]} programs"
}

# Calls the kernel refuses (a NULL iovec array, a NULL buffer, a bad count,
# bad fds): the same answers as without the library, and no crash (a NULL
# array crashed the one-iovec path with SIGSEGV).
test_refused_writes_answered_as_without_the_library() {
	"$P/bad_args" >"$T/plain" 2>"$T/plain.err"
	local mode
	for mode in full line none; do
		shim BUFSHIM_FDS=all BUFSHIM_MODE=$mode "$P/bad_args" >"$T/out" 2>"$T/err" ||
			fail "$mode: status $?" || return 1
		same_files "$T/plain" "$T/out" && same_files "$T/plain.err" "$T/err" || return 1
	done
}
