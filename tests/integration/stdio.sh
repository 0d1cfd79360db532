# SPDX-License-Identifier: MIT
# The stdio bridge: printf and friends mixed with write(2) keep their order
# in every mode, chatty programs make fewer syscalls, ftell, freopen,
# fclose, wide output, other streams, a coprocess and a prompt through stdio.

# stdio_mix_everywhere CASE: stdio_mix CASE in every mode and choice of
# fds, to files, 2>&1 to a file and to a pipe: what it writes without us
# in full mode; in line and none mode, what it writes under stdbuf -oL and
# -o0, whose stdio buffering those modes give stdout (which moves printf's
# bytes among the raw writes: stdout is fully buffered into files and pipes)
stdio_mix_everywhere() {
	local c=$1 m fds plain=() choices=(1 1,2 all)
	(( ${#PREFIX[@]} == 0 )) || choices=(all)	# under valgrind: the widest only
	for m in full line none; do
		case $m in
		full) plain=() ;;
		line) plain=(stdbuf -oL) ;;
		none) plain=(stdbuf -o0) ;;
		esac
		"${plain[@]}" "$P/stdio_mix" $c >"$T/p1" 2>"$T/p2"
		"${plain[@]}" "$P/stdio_mix" $c >"$T/p12" 2>&1
		"${plain[@]}" "$P/stdio_mix" $c 2>&1 | cat >"$T/pp"
		for fds in "${choices[@]}"; do
			shim BUFSHIM_MODE=$m BUFSHIM_FDS=$fds "$P/stdio_mix" $c >"$T/o1" 2>"$T/o2"
			cmp -s "$T/p1" "$T/o1" && cmp -s "$T/p2" "$T/o2" || fail "$c $m $fds: files"
			shim BUFSHIM_MODE=$m BUFSHIM_FDS=$fds "$P/stdio_mix" $c >"$T/o12" 2>&1
			cmp -s "$T/p12" "$T/o12" || fail "$c $m $fds: 2>&1 to a file"
			shim BUFSHIM_MODE=$m BUFSHIM_FDS=$fds "$P/stdio_mix" $c 2>&1 | cat >"$T/op"
			cmp -s "$T/pp" "$T/op" || fail "$c $m $fds: 2>&1 to a pipe"
		done
	done
}

SLOW+=(test_stdio_and_raw_writes_keep_order_everywhere)
test_stdio_and_raw_writes_keep_order_everywhere() {
	stdio_mix_everywhere mix
	# with the bridge off, stdio still keeps its place: each hand-over goes out at once
	"$P/stdio_mix" mix >"$T/p12" 2>&1
	shim BUFSHIM_STDIO=0 BUFSHIM_FDS=1,2 BUFSHIM_MODE=full "$P/stdio_mix" mix >"$T/o12" 2>&1
	same_files "$T/p12" "$T/o12"
}

SLOW+=(test_stdio_setvbuf_and_raw_writes_keep_order_everywhere)
test_stdio_setvbuf_and_raw_writes_keep_order_everywhere() {
	stdio_mix_everywhere setvbuf
}

SLOW+=(test_stdio_chatty_programs_50x_fewer)
test_stdio_chatty_programs_50x_fewer() {
	skip_under_prefix "counts syscalls under strace"
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
	shim_within 20 BUFSHIM_FDS=all BUFSHIM_MODE=full "$P/stdio_mix" coproc ||
		fail "exit $? (124: deadlock)"
}

# waits for the prompt on a terminal with a deadline: run alone
SERIAL+=(test_stdio_prompt_shows_on_a_terminal)
test_stdio_prompt_shows_on_a_terminal() {
	skip_under_prefix "waits on a terminal with a deadline"
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

# fflush(NULL) between printf and write(2), 429 times, and a stream of the C
# library's own on a dup of stdout now and then: the same bytes, and no
# syscall for the fflush(NULL) calls (it cost one each).
test_stdio_fflush_null_costs_nothing() {
	skip_under_prefix "counts syscalls under strace"
	"$P/fflush_all" >"$T/plain"
	local n
	n=$(writes LD_PRELOAD="$LIB" -- "$P/fflush_all")
	same_files "$T/plain" "$T/out" || return 1
	# the stream has output 5 times: ours, then its own; then the last
	(( n <= 12 )) || fail "$n write syscalls for 858 writes and 429 fflush(NULL)"
	shim BUFSHIM_FDS=all "$P/fflush_all" >"$T/out"
	same_files "$T/plain" "$T/out" && echo "$n syscalls"
}

# ---- stdbuf beside the library ------------------------------------------------------

# The library stdbuf preloads (it reads _STDBUF_O and calls setvbuf on stdout
# in its constructor), wherever coreutils installed it.
stdbuf_lib() { env -i PATH="$PATH" stdbuf -oL printenv LD_PRELOAD; }

# grep without --line-buffered keeps its lines in stdio when it writes to a
# pipe. A producer writes a line, then waits 2 s: under -m line and -m none
# (stdbuf -oL's and -o0's equivalents), and under stdbuf -oL beside the
# library (stdbuf's constructor before ours, as both commands order them,
# and after it), the line must reach the reader at once, as under stdbuf
# -oL alone; plain grep holds it the 2 s.
SLOW+=(test_line_mode_and_stdbuf_deliver_each_line_of_grep)
test_line_mode_and_stdbuf_deliver_each_line_of_grep() {
	skip_under_prefix "measures arrival times"
	local sl i=0 s
	sl=$(stdbuf_lib)
	[[ -f $sl ]] || skip "no stdbuf library"
	local producer="python3 -c 'import time; print(\"x\", time.monotonic(), flush=True); time.sleep(2); print(\"x end\")'"
	local cases=(
		"grep x"
		"$CMD -m line grep x"
		"$CMD -m none grep x"
		"$CMD -m line stdbuf -oL grep x"
		"stdbuf -oL $CMD grep x"
		"$CMD stdbuf -oL grep x"
		"env LD_PRELOAD=$LIB:$sl _STDBUF_O=L grep x"
		"env LD_PRELOAD=$sl:$LIB _STDBUF_O=L grep x"
	)
	for c in "${cases[@]}"; do
		i=$((i + 1))
		python3 "$HERE/arrival.py" -- sh -c "$producer | $c" >"$T/late.$i" 2>&1 &
	done
	wait
	i=0
	for c in "${cases[@]}"; do
		i=$((i + 1))
		s=$(cat "$T/late.$i")
		if (( i == 1 )); then	# the control: held without stdbuf or us
			awk -v s="$s" 'BEGIN { exit !(s + 0 == s && s > 1.5) }' ||
				fail "plain grep did not hold its line: $s" || return 1
			continue
		fi
		awk -v s="$s" 'BEGIN { exit !(s + 0 == s && s < 1) }' ||
			fail "$c: the line arrived late: $s" || return 1
	done
}

# Under each stdbuf option, with the library's stdio hand-overs going out
# as they come (--no-stdio), grep makes exactly the write syscalls it makes
# under stdbuf alone: its stdio buffering is the one stdbuf chose, whichever
# constructor runs first. -m line and -m none make the syscalls of stdbuf
# -oL and -o0; -s 16K makes blocks of 16 KiB or more, as stdbuf -o16K does.
SLOW+=(test_stdbuf_options_keep_their_syscalls_and_have_equivalents)
test_stdbuf_options_keep_their_syscalls_and_have_equivalents() {
	skip_under_prefix "counts syscalls under strace"
	local sl opt plain n report="" bytes
	sl=$(stdbuf_lib)
	[[ -f $sl ]] || skip "no stdbuf library"
	seq 1 10000 >"$T/nums"
	grep 1 "$T/nums" >"$T/want"
	for opt in L 0 1000 16384; do
		plain=$(writes -- stdbuf -o$opt grep 1 "$T/nums")
		same_files "$T/want" "$T/out" || return 1
		n=$(writes -- stdbuf -o$opt "$CMD" --no-stdio grep 1 "$T/nums")
		same_files "$T/want" "$T/out" && (( n == plain )) ||
			fail "stdbuf -o$opt bufshim: $n writes, $plain under stdbuf alone" || return 1
		n=$(writes -- "$CMD" --no-stdio stdbuf -o$opt grep 1 "$T/nums")
		same_files "$T/want" "$T/out" && (( n == plain )) ||
			fail "bufshim stdbuf -o$opt: $n writes, $plain under stdbuf alone" || return 1
		n=$(writes LD_PRELOAD="$sl:$LIB" _STDBUF_O=$opt BUFSHIM_STDIO=0 -- grep 1 "$T/nums")
		same_files "$T/want" "$T/out" && (( n == plain )) ||
			fail "stdbuf's library after ours, -o$opt: $n writes, $plain under stdbuf alone" || return 1
		report+="-o$opt: $plain; "
	done
	plain=$(writes -- stdbuf -oL grep 1 "$T/nums")
	n=$(writes -- "$CMD" -m line grep 1 "$T/nums")
	same_files "$T/want" "$T/out" && (( n == plain )) || fail "-m line: $n writes, stdbuf -oL $plain" || return 1
	plain=$(writes -- stdbuf -o0 grep 1 "$T/nums")
	n=$(writes -- "$CMD" -m none grep 1 "$T/nums")
	same_files "$T/want" "$T/out" && (( n == plain )) || fail "-m none: $n writes, stdbuf -o0 $plain" || return 1
	bytes=$(stat -c %s "$T/want")
	n=$(writes -- "$CMD" -s 16K grep 1 "$T/nums")
	same_files "$T/want" "$T/out" && (( n <= (bytes + 16383) / 16384 + 1 )) ||
		fail "-s 16K: $n writes for $bytes B" || return 1
	echo "${report}-s 16K: $n"
}

# stderr is unbuffered: each fprintf is a write(2) of its own. In line mode
# its pieces wait in the buffer for the end of their line, so a line written
# in three calls costs one syscall, as under stdbuf -eL; a prompt that the
# program flushes (fflush(stderr)) still shows at once, not 2 s later when
# its line ends, while the program computes.
test_line_mode_joins_stderr_pieces_into_lines() {
	skip_under_prefix "counts syscalls under strace"
	local plain eL n s
	plain=$(writes -- sh -c "\"$P/stderr_pieces\" 1000 0 2>\"$T/plain\"")
	eL=$(writes -- sh -c "stdbuf -eL \"$P/stderr_pieces\" 1000 0 2>\"$T/eL\"")
	n=$(writes -- sh -c "\"$CMD\" -f 2:line \"$P/stderr_pieces\" 1000 0 2>\"$T/ours\"")
	cmp -s <(head -1000 "$T/plain") <(head -1000 "$T/ours") || fail "output differs"
	(( n <= eL && n * 2 < plain )) || fail "-f 2:line: $n writes; stdbuf -eL $eL, plain $plain" || return 1
	s=$(python3 "$HERE/arrival.py" --partial -- sh -c "\"$CMD\" -f 2:line \"$P/stderr_pieces\" 0 2 2>&1")
	awk -v s="$s" 'BEGIN { exit !(s + 0 == s && s < 1) }' || fail "the flushed prompt arrived late: $s" || return 1
	echo "plain $plain, stdbuf -eL $eL, -f 2:line $n"
}

# A stdio write that the kernel cuts short (a file size limit, a full
# disk) fails as without the library: with the errno of the failing
# write, so the program names the cause (it said "No such file or
# directory" in line mode: a short count ended the stream's write).
test_stdio_write_error_names_its_cause() {
	local mode
	for mode in line full; do
		( trap '' XFSZ; ulimit -f 100
		  if [[ $mode == line ]]; then stdbuf -oL seq 100000; else seq 100000; fi >"$T/plain" 2>"$T/plain-err"
		  echo $? >"$T/plain-st"
		  shim BUFSHIM_MODE=$mode seq 100000 >"$T/out" 2>"$T/err"
		  echo $? >"$T/st" ) || true
		same_files "$T/plain-err" "$T/err" ||
			fail "$mode: '$(cat "$T/plain-err")' / '$(cat "$T/err")'" || return 1
		same_files "$T/plain-st" "$T/st" && same_files "$T/plain" "$T/out" || return 1
	done
}

# mix_plain_and_shim CASE HOW: stdio_mix CASE without and with the library,
# its stdout /dev/full (full), open only for reading (readonly) or
# $T/PRE.out (file); its stderr, then its status, in $T/PRE.err (PRE:
# plain, shim), and the two compared
mix_plain_and_shim() {
	local pre st
	for pre in plain shim; do
		local run=("$P/stdio_mix" "$1")
		[[ $pre == shim ]] && run=(shim "${run[@]}")
		st=0
		case $2 in
		full) "${run[@]}" >/dev/full 2>"$T/$pre.err" || st=$? ;;
		readonly) "${run[@]}" 1</dev/null 2>"$T/$pre.err" || st=$? ;;
		file) "${run[@]}" >"$T/$pre.out" 2>"$T/$pre.err" || st=$? ;;
		esac
		echo "status $st" >>"$T/$pre.err"
	done
	same_files "$T/plain.err" "$T/shim.err" ||
		fail "$2: '$(cat "$T/plain.err")' / '$(cat "$T/shim.err")'"
}

# A stdio write that fails (a full disk, stdout not open for writing) is a
# short count that glibc can take: printf says -1 with the cause, as
# without the library, and the program goes on (a count of -1 from the
# bridge once made glibc copy from far past the string: SIGSEGV).
test_stdio_failed_large_printf_reported_not_crashing() {
	mix_plain_and_shim bigfail full || return 1
	mix_plain_and_shim bigfail readonly
}

# gnulib's close_stdout (coreutils, find, ...) closes stdout and then may
# call error(), which flushes stdout: glibc never frees its own stdout,
# and the bridge's stream must not be freed either (it was: a use after
# free, SIGSEGV or a heap abort). To a file and to /dev/full (fclose
# fails), the output, stderr and status as without the library.
test_stdio_stdout_used_after_fclose() {
	mix_plain_and_shim closeuse file || return 1
	same_files "$T/plain.out" "$T/shim.out" || return 1
	mix_plain_and_shim closeuse full
}
