# SPDX-License-Identifier: MIT
# Failures: faults injected by strace (EINTR, EAGAIN, ENOSPC), the
# kernel's own (RLIMIT_FSIZE, EPIPE, a fd closed behind our back), bad
# settings, and the secure mode of set-user-ID programs.

# inject SYSCALL:ERR:WHEN [VAR=VAL...] -- CMD...: run CMD under strace with
# the syscall failing with ERR on the calls WHEN selects; stdout to $T/out,
# the trace to $T/trace (strace injects only into calls it traces)
inject() {
	local spec=$1 envs=() st=0
	shift
	while [[ $1 != -- ]]; do envs+=(-E "$1"); shift; done
	shift
	"${TRACE[@]}" -o "$T/trace" -e trace="${spec%%:*}" \
		-e inject="${spec%%:*}:error=$(cut -d: -f2 <<<"$spec"):when=${spec##*:}" \
		"${envs[@]}" -- "$@" >"$T/out" || st=$?
	grep -q '(INJECTED)' "$T/trace" || { echo "nothing was injected"; return 99; }
	return $st
}

# Records of 40 bytes are buffered; records of 5000 (more than the buffer)
# go straight out, by a shorter path of their own: both are faulted.
SIZES_BOTH_PATHS="20000x40 400x5000"

test_faults_eintr_and_eagain_are_retried() {
	skip_under_prefix "injects faults under strace"
	local spec cs
	for cs in $SIZES_BOTH_PATHS; do
		"$P/writer" ${cs%x*} ${cs#*x} >"$T/plain"
		for spec in write,writev:EINTR:1+2 write,writev:EAGAIN:1+3; do
			rm -f "$T/stats"
			inject "$spec" LD_PRELOAD="$LIB" BUFSHIM_MODE=full BUFSHIM_STATS="$T/stats" -- \
				"$P/writer" ${cs%x*} ${cs#*x} || fail "$cs $spec: status $? (the program saw a failure?)"
			same_files "$T/plain" "$T/out" || fail "$cs $spec"
			grep -q '; 0 errors, 0 B dropped$' "$T/stats" || fail "$cs $spec: $(cat "$T/stats")"
		done
	done
}

test_faults_enospc_reported_once_file_an_exact_prefix() {
	skip_under_prefix "injects faults under strace"
	local st n cs
	for cs in $SIZES_BOTH_PATHS; do
		"$P/writer" ${cs%x*} ${cs#*x} >"$T/plain"
		st=0
		rm -f "$T/stats"
		inject write,writev:ENOSPC:3 LD_PRELOAD="$LIB" BUFSHIM_MODE=full BUFSHIM_STATS="$T/stats" -- \
			"$P/writer" ${cs%x*} ${cs#*x} 2>"$T/err" || st=$?
		(( st == 1 )) || fail "$cs: status $st: the program was not told"
		grep -qx 'writer: No space left on device' "$T/err" || fail "$cs: stderr: $(cat "$T/err")"
		n=$(stat -c %s "$T/out")
		(( n > 0 )) && cmp -s "$T/out" <(head -c "$n" "$T/plain") || fail "$cs: not a prefix ($n bytes)"
		grep -qE '; 1 error, [0-9]+ B dropped$' "$T/stats" || fail "$cs: stats: $(cat "$T/stats")"
		echo -n "$cs: prefix of $n bytes, $(grep -oE '[0-9]+ B dropped' "$T/stats"); "
	done
}

test_faults_on_every_delivery_reach_the_program() {
	# a fault on every call (only an injector can do that): the program is
	# told, as without us, instead of the library retrying for ever; its
	# own message fails like every other write
	skip_under_prefix "injects faults under strace"
	local err plain shimmed cs
	for cs in $SIZES_BOTH_PATHS; do
		for err in EINTR EAGAIN; do
			plain=0 shimmed=0
			inject write,writev:$err:1+1 -- "$P/writer" ${cs%x*} ${cs#*x} 2>"$T/perr" || plain=$?
			cp "$T/out" "$T/plain"
			timeout 60 "${TRACE[@]}" -o "$T/trace" -e trace=write,writev \
				-e inject=write,writev:error=$err -E LD_PRELOAD="$LIB" -E BUFSHIM_MODE=full \
				-- "$P/writer" ${cs%x*} ${cs#*x} >"$T/out" 2>"$T/err" || shimmed=$?
			(( plain == 1 && shimmed == 1 )) || fail "$cs $err: status $plain plain, $shimmed bufshim"
			[[ ! -s $T/plain && ! -s $T/out ]] || fail "$cs $err: bytes arrived"
			same_files "$T/perr" "$T/err" || fail "$cs $err: stderr: $(cat "$T/err")"
		done
	done
}

test_faults_failure_at_exit_said_once() {
	skip_under_prefix "injects faults under strace"
	inject write:ENOSPC:1 LD_PRELOAD="$LIB" BUFSHIM_MODE=full -- "$P/writer" 10 10 2>"$T/err" ||
		fail "status $?"
	[[ $(cat "$T/err") == 'bufshim: fd 1: output lost: No space left on device (100 B dropped in all)' ]] ||
		fail "stderr: $(cat "$T/err")"
}

test_faults_epipe_with_sigpipe_default_and_ignored() {
	local a b
	"$P/writer" 100000 40 | head -c 10 >/dev/null; a=${PIPESTATUS[0]}
	shim BUFSHIM_MODE=full "$P/writer" 100000 40 | head -c 10 >/dev/null; b=${PIPESTATUS[0]}
	(( a == 141 && b == 141 )) || fail "SIGPIPE default: status $a plain, $b bufshim"
	( trap '' PIPE; exec "$P/writer" 100000 40 ) 2>"$T/perr" | head -c 10 >/dev/null; a=${PIPESTATUS[0]}
	( trap '' PIPE; shim BUFSHIM_MODE=full "$P/writer" 100000 40 ) 2>"$T/oerr" | head -c 10 >/dev/null
	b=${PIPESTATUS[0]}
	(( a == 1 && b == 1 )) || fail "SIGPIPE ignored: status $a plain, $b bufshim"
	same_files "$T/perr" "$T/oerr" || fail "stderr: $(cat "$T/oerr")"
}

# A failed delivery is reported exactly once (invariant 3): by the next
# close or fsync of an fd whose flags were set again (F_SETFL, FIONBIO:
# judged anew, which dropped the error), or, where the fd is closed with
# no call to say it (close_range, closefrom, dup2 over it), one line on
# stderr. Plain, the write itself says EPIPE.
test_faults_failure_reported_once_past_new_flags_and_closes() {
	local how n
	for how in setfl fionbio fsync close_range closefrom dup2; do
		"$P/faults" lostpipe $how >"$T/plain" 2>&1
		[[ $(grep -c 'Broken pipe' "$T/plain") == 1 ]] || fail "plain $how: $(cat "$T/plain")" || return 1
		shim BUFSHIM_FDS=all BUFSHIM_MODE=full "$P/faults" lostpipe $how >"$T/out" 2>"$T/err"
		grep -qx 'write: 5' "$T/out" || fail "$how: the write was not held: $(cat "$T/out")" || return 1
		n=$(cat "$T/out" "$T/err" | grep -c 'Broken pipe') || true
		(( n == 1 )) || fail "$how: reported $n times: $(cat "$T/out" "$T/err" | tr '\n' ' ')" || return 1
	done
}

test_faults_fd_closed_behind_our_back() {
	# (a close through syscall() is seen: own_file checks that)
	[[ $(uname -m) == x86_64 ]] || skip "the raw close is x86-64 assembly"
	shim BUFSHIM_MODE=full "$P/faults" rawclose >"$T/out" 2>"$T/err" || fail "status $?"
	[[ $(cat "$T/err") == 'bufshim: fd 1: output lost: Bad file descriptor (1 B dropped in all)' ]] ||
		fail "stderr: $(cat "$T/err")"
}

test_write_error_reaches_the_program() {
	# RLIMIT_FSIZE: the kernel writes a short count, then says EFBIG
	"$P/fsize" 10000 20000 >"$T/plain" 2>"$T/plain.err" || fail "fsize failed"
	shim BUFSHIM_MODE=full "$P/fsize" 10000 20000 >"$T/out" 2>"$T/out.err"
	same_files "$T/plain" "$T/out" || return 1
	grep -q "error EFBIG" "$T/out.err" || fail "program was not told: $(cat "$T/out.err")" || return 1
	grep -q "accepted 10000, error EFBIG" "$T/plain.err" || fail "plain: $(cat "$T/plain.err")"
}

test_bad_setting_fails_open() {
	skip_under_prefix "counts syscalls under strace"
	local plain shimmed
	plain=$(writes -- "$P/writer" 100 10) || return 1
	cp "$T/out" "$T/plain"
	shimmed=$(writes LD_PRELOAD="$LIB" BUFSHIM_SIZE=12x -- "$P/writer" 100 10 2>/dev/null) || return 1
	same_files "$T/plain" "$T/out" || return 1
	# one more write: the message on stderr
	(( shimmed == plain + 1 )) || fail "bad setting still buffered: $shimmed writes"
	shim BUFSHIM_SIZE=12x "$P/writer" 100 10 2>"$T/err" >/dev/null
	[[ $(cat "$T/err") == "bufshim: BUFSHIM_SIZE='12x' is not a size (e.g. 4096, 64K, 1M); buffering off" ]] ||
		fail "stderr: $(cat "$T/err")"
}

test_bad_settings_table() {
	"$P/writer" 200 20 >"$T/plain"
	local bad=(
		"BUFSHIM_FDS=" "BUFSHIM_FDS=x" "BUFSHIM_FDS=-1" "BUFSHIM_FDS=1,1" "BUFSHIM_FDS=99999999999"
		"BUFSHIM_FDS=1:fast" "BUFSHIM_FDS=1 2" "BUFSHIM_SIZE=" "BUFSHIM_SIZE=0" "BUFSHIM_SIZE=-5"
		"BUFSHIM_SIZE=99999999999999999999" "BUFSHIM_SIZE=12x" "BUFSHIM_SIZE=4KX" "BUFSHIM_SIZE=2G"
		"BUFSHIM_MODE=fast" "BUFSHIM_MODE=" "BUFSHIM_FLUSH_MS=-1" "BUFSHIM_FLUSH_MS=1s"
		"BUFSHIM_STDIO=yes"
	)
	local b lines
	for b in "${bad[@]}"; do
		shim "$b" "$P/writer" 200 20 >"$T/out" 2>"$T/err" || fail "$b: status $?"
		same_files "$T/plain" "$T/out" || fail "$b"
		lines=$(wc -l <"$T/err")
		(( lines == 1 )) && grep -q "^bufshim: ${b%%=*}='.*; buffering off$" "$T/err" ||
			fail "$b: stderr: $(cat "$T/err")"
	done
	# forgiven: spaces around values and items
	shim "BUFSHIM_FDS= 1 , 2 " "BUFSHIM_SIZE= 64K " "$P/writer" 200 20 >"$T/out" 2>"$T/err"
	[[ ! -s $T/err ]] && same_files "$T/plain" "$T/out" || fail "spaces: $(cat "$T/err")"
	echo "${#bad[@]} bad settings"
}

test_secure_execution_does_nothing() {
	# ld.so preloads into a set-user-ID program only a library in a trusted
	# directory that is set-user-ID itself: install a copy there, run a
	# setuid-root program as nobody. A bad setting and stats prove silence.
	[[ $(id -u) == 0 ]] && command -v setpriv >/dev/null || skip "needs root and setpriv"
	[[ -z ${PRELOAD_FIRST:-} ]] || skip "a sanitized library cannot load in secure mode"
	skip_under_prefix "a set-user-ID program runs as itself"
	local libdir name=libbufshim-securetest-$$.so d
	libdir=$(dirname "$(ldd /bin/true | awk '/libc.so/ { print $3 }')")
	# (out of $T: the runner's directories are the runner's user's alone)
	d=$(mktemp -d) && chmod 755 "$d"
	printf -v CLEANUP 'rm -rf -- %q %q' "$libdir/$name" "$d"
	install -m 4755 "$LIBFILE" "$libdir/$name"
	install -m 4755 "$P/writer" "$d/suid_writer"
	install -m 755 "$P/writer" "$d/plain_writer"
	# env runs inside setpriv, so that only the program gets the library
	local as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups env LD_PRELOAD="$name")
	# control: the same preload in a program that is not set-user-ID speaks
	"${as_nobody[@]}" BUFSHIM_SIZE=12x "$d/plain_writer" 5 10 >/dev/null 2>"$T/err" || fail "control: status $?"
	grep -q "BUFSHIM_SIZE='12x'" "$T/err" || fail "control: the library did not load: $(cat "$T/err")"
	"${as_nobody[@]}" BUFSHIM_SIZE=12x "$d/suid_writer" 5 10 >"$T/out" 2>"$T/err" || fail "setuid: status $?"
	[[ ! -s $T/err ]] || fail "secure mode: the library spoke: $(cat "$T/err")"
	cmp -s "$T/out" <("$P/writer" 5 10) || fail "secure mode: output"
	"${as_nobody[@]}" BUFSHIM_STATS=1 "$d/suid_writer" 5 10 >/dev/null 2>"$T/err"
	[[ ! -s $T/err ]] || fail "secure mode: stats: $(cat "$T/err")"
}
