# SPDX-License-Identifier: MIT
# Terminals (invariant 4): a person watches. What a program writes to a
# terminal shows within 50 ms even while it computes, a carriage return
# ends a line in line mode, and an interactive session looks the same.

# chunks CMD...: CMD on a pseudo-terminal; each chunk that reached the
# terminal, with its arrival time (s from the start)
chunks() { python3 "$HERE/arrival.py" --pty --chunks -- "$@"; }

# A prompt with no newline, then 0.4 s of computing; a progress line
# redrawn with \r, 0.4 s apart: each must show at once, not at the end.
SERIAL+=(test_terminal_prompt_and_progress_show_while_computing)
test_terminal_prompt_and_progress_show_while_computing() {
	skip_under_prefix "measures arrival times"
	local prog='import os, time
def busy(s):
    t = time.monotonic()
    while time.monotonic() - t < s: pass
os.write(1, b"name> ")
busy(0.4)
os.write(1, b"\rprogress 40%")
busy(0.4)
os.write(1, b"\rdone\n")'
	chunks env LD_PRELOAD="$LIB" python3 -c "$prog" >"$T/out"
	# three chunks, 0.4 s apart: "name> " at once, not with the rest
	python3 - "$T/out" <<'PY' || fail "arrivals: $(cat "$T/out")"
import re, sys
arr = [(float(t), d) for t, d in re.findall(r"([0-9.]+):(b'[^']*')", open(sys.argv[1]).read())]
text = b"".join(eval(d) for _, d in arr)
assert text == b"name> \rprogress 40%\rdone\r\n", text
starts = {}
for t, d in arr:
    for word in (b"name>", b"progress", b"done"):
        if word in eval(d) and word not in starts:
            starts[word] = t
assert starts[b"progress"] - starts[b"name>"] > 0.3, starts
assert starts[b"done"] - starts[b"progress"] > 0.3, starts
PY
}

# A prompt written by a program that then computes: it shows within the
# 50 ms bound, timed from the write (the first line carries the time).
SERIAL+=(test_terminal_partial_line_within_50_ms)
test_terminal_partial_line_within_50_ms() {
	skip_under_prefix "measures arrival times"
	local s
	s=$(python3 "$HERE/arrival.py" --pty --partial LD_PRELOAD="$LIB" -- python3 -c 'import os, time
os.write(1, b"working since %f" % time.monotonic())
t = time.monotonic()
while time.monotonic() - t < 0.6: pass
os.write(1, b"\n")')
	# the bound itself here, where it runs alone; a sanitized library or
	# an emulator is slower than a person would see
	local limit=0.05
	[[ -z ${PRELOAD_FIRST:-}${TEST_EMULATOR:-} ]] || limit=0.3
	awk -v s="$s" -v l=$limit 'BEGIN { exit !(s + 0 == s && s < l) }' ||
		fail "the partial line showed $s s after it was written"
	echo "$s s"
}

# Output processing turned off and on again (tcsetattr, then the ioctl
# itself) between writes held in full mode: each line reaches the terminal
# under the settings it was written under ("c" without a carriage return).
test_terminal_settings_changed_between_writes() {
	local var=LD_PRELOAD	# (under the emulator, the guest's: see run_preloaded)
	[[ -z ${TEST_EMULATOR:-} ]] || var=GUEST_LD_PRELOAD
	local how hows=(opost opost2)	# (opost2: the termios2 requests,
	[[ -z ${TEST_EMULATOR:-} ]] || hows=(opost)	# which qemu-user does not carry)
	for how in "${hows[@]}"; do
		python3 "$HERE/arrival.py" --pty --bytes -- "$P/latency" $how >"$T/plain"
		python3 "$HERE/arrival.py" --pty --bytes "$var=$LIB" BUFSHIM_MODE=full -- \
			"$P/latency" $how >"$T/out"
		grep -qF "b'a\\r\\nb\\r\\nc\\nd\\r\\n'" "$T/plain" || fail "plain: $(cat "$T/plain")" || return 1
		same_files "$T/plain" "$T/out" || fail "$how: $(cat "$T/out"), plain $(cat "$T/plain")" || return 1
	done
}

# A prompt written to the terminal by another way than stdout: getpass
# (inside the C library), or the program's own write to /dev/tty (an fd
# not chosen, or with a buffer of its own under -f all): what the program
# wrote to stdout before it (a partial line, held in line mode) shows
# first, as without the library.
test_terminal_prompt_elsewhere_after_earlier_output() {
	skip_under_prefix "drives a terminal"
	local var=LD_PRELOAD how fds	# (under the emulator, the guest's: see run_preloaded)
	[[ -z ${TEST_EMULATOR:-} ]] || var=GUEST_LD_PRELOAD
	printf '%s\n' 'expect Password: ' 'send x\n' 'expect got' >"$T/script"
	for how in getpass devtty; do
		python3 "$HERE/pty_session.py" "$T/script" -- "$P/latency" $how >"$T/plain" ||
			fail "plain: $(cat "$T/plain")" || return 1
		grep -qF 'user alice, Password: ' "$T/plain" || fail "plain: $(cat "$T/plain")" || return 1
		for fds in 1,2 all; do
			python3 "$HERE/pty_session.py" "$T/script" -- env "$var=$LIB" BUFSHIM_FDS=$fds \
				"$P/latency" $how >"$T/out" || fail "$(cat "$T/out")" || return 1
			same_files "$T/plain" "$T/out" || fail "$how, -f $fds: $(cat "$T/out"), plain $(cat "$T/plain")" ||
				return 1
		done
	done
}

# An interactive shell and a Python prompt, typed at: the same screen.
# Each line is typed only once the prompt is back (typeahead is echoed
# whenever it arrives, so the screen would depend on timing), and what is
# awaited is spelt so that the echo of the typed line cannot match it.
test_terminal_interactive_session_looks_the_same() {
	skip_under_prefix "drives a terminal with deadlines"
	cat >"$T/script" <<'SCRIPT'
expect $ 
send read -p 'nam''e? ' n; echo "hi $n"\n
expect name? 
send bob\n
expect hi bob
expect $ 
send printf 'step 1\\rstep 2\\rdo''ne\\n'\n
expect done
expect $ 
send for i in 1 2 3; do echo line $i; done\n
expect line 3
expect $ 
send python3 -q\n
expect >>> 
send print(6 * 7)\n
expect 42
expect >>> 
send exit()\n
expect $ 
send exit\n
SCRIPT
	python3 "$HERE/pty_session.py" "$T/script" -- \
		env PS1='$ ' bash --norc --noprofile -i >"$T/plain" || fail "plain: $(cat "$T/plain")" || return 1
	python3 "$HERE/pty_session.py" "$T/script" -- env LD_PRELOAD="$LIB" BUFSHIM_FDS=1,2 \
		PS1='$ ' bash --norc --noprofile -i >"$T/out" || fail "preloaded: $(cat "$T/out")" || return 1
	same_files "$T/plain" "$T/out"
}

# Ctrl-C and Ctrl-Z on a job in a pipeline at an interactive shell. The
# job's output goes to a pipe (full mode, 64 KiB: held while it computes);
# Ctrl-Z delivers it before the job stops, fg continues it, Ctrl-C ends it.
# Ctrl-Z is typed a second after the job has written everything (it then
# makes a file), so a slow start cannot have it stopped too early, and cat
# has had time to show it (Ctrl-Z discards what the terminal still holds).
# Ctrl-C comes 0.3 s after fg: nothing is written in between.
test_terminal_ctrl_z_and_ctrl_c_on_a_pipeline() {
	skip_under_prefix "drives a terminal with deadlines"
	cat >"$T/script" <<'SCRIPT'
expect $ 
send python3 -u -c 'import time; [print("line", i) for i in range(300)]; print("compu" + "ting"); open("READY", "w"); t = time.time(); exec("while time.time() - t < 30: pass")' | cat\n
until READY
sleep 1
send \x1a
expect Stopped
send jobs\n
expect $ 
send fg\n
expect | cat
sleep 0.3
send \x03
expect $ 
send echo after; exit\n
expect after
SCRIPT
	local mode
	for mode in plain shim; do
		pre=()
		[[ $mode == shim ]] && pre=(env LD_PRELOAD="$LIB" BUFSHIM_FDS=1,2 BUFSHIM_MODE=full BUFSHIM_SIZE=64K)
		rm -f "$T/ready"
		sed "s|READY|$T/ready|" "$T/script" >"$T/script.$mode"
		python3 "$HERE/pty_session.py" "$T/script.$mode" -- "${pre[@]}" \
			env PS1='$ ' bash --norc --noprofile -i >"$T/$mode" || fail "$mode: $(cat "$T/$mode")" || return 1
		# every line, and "computing", on the screen before the end
		python3 - "$T/$mode" <<'PY' || fail "$mode: $(cat "$T/$mode")" || return 1
import sys
screen = eval(open(sys.argv[1]).read()).replace(b"\r", b"")
end = screen.index(b"after")
assert all(b"\nline %d\n" % i in screen[:end] for i in range(1, 300)), "a line is missing"
assert b"\ncomputing\n" in screen[:end], "computing is missing"
PY
	done
}

# A background job and a terminal with `stty tostop`: what it writes shows
# only once it is brought to the foreground, as without the library (the
# 50 ms bound is for a person watching the foreground)
test_terminal_tostop_background_job_stops_first() {
	skip_under_prefix "drives a terminal with deadlines"
	cat >"$T/script" <<'SCRIPT'
expect $ 
send stty tostop\n
expect $ 
send perl -MTime::HiRes=time -e '$|=1; print "part" . "ial"; $t = time; 1 while time - $t < 0.5; print " line1\\n"' &\n
expect $ 
sleep 1.5
send jobs\n
expect Stopped
expect $ 
send fg\n
expect partial line1
expect $ 
send exit\n
SCRIPT
	local mode
	for mode in plain shim; do	# both at once, each on a terminal of its own
		local inner=""
		[[ $mode == shim ]] && inner="export LD_PRELOAD=$LIB;"
		{ python3 "$HERE/pty_session.py" "$T/script" -- env PS1='$ ' bash --norc --noprofile -i \
			-c "$inner exec bash --norc --noprofile -i" >"$T/$mode"; echo $? >"$T/$mode.st"; } &
	done
	wait
	for mode in plain shim; do
		[[ $(cat "$T/$mode.st") == 0 ]] || fail "$mode: $(cat "$T/$mode")" || return 1
		sed -i 's/\[1\] [0-9]*/[1] PID/g' "$T/$mode"
	done
	same_files "$T/plain" "$T/shim"
}
