# SPDX-License-Identifier: MIT
# What users run besides the library: the exported symbols, the bufshim
# command, the stats line, the compare script and the demo.

test_exports_only_hooks() {
	local want got
	want=$(tr ' ;{}' '\n\n\n\n' <"$BUILD/libbufshim.map" | grep -vxE 'global:|local:|\*|' | sort)
	got=$(nm -D --defined-only "$LIBFILE" | awk '{print $3}' | sort)
	[[ $(wc -l <<<"$want") -gt 100 ]] || fail "too few hooks in the map: $want"
	[[ $want == "$got" ]] || fail "exports differ from the hooks: $(diff <(echo "$want") <(echo "$got") | grep '^[<>]' | tr '\n' ' ')"
}

test_command_options_set_the_environment() {
	"$CMD" -f 1,2 -s 64K -m line -t 100 --stats --no-stdio env >"$T/env"
	local v
	for v in BUFSHIM_FDS=1,2 BUFSHIM_SIZE=64K BUFSHIM_MODE=line BUFSHIM_FLUSH_MS=100 \
		 BUFSHIM_STATS=1 BUFSHIM_STDIO=0 "LD_PRELOAD=$LIB"; do
		grep -qx "$v" "$T/env" || fail "missing $v"
	done
	"$CMD" --stats="$T/s" --fds=all --size=1M --mode=full --max-latency=5 env >"$T/env"
	for v in "BUFSHIM_STATS=$T/s" BUFSHIM_FDS=all BUFSHIM_SIZE=1M BUFSHIM_MODE=full BUFSHIM_FLUSH_MS=5; do
		grep -qx "$v" "$T/env" || fail "missing $v"
	done
	"$CMD" --help | grep -q -- '--max-latency' || fail "help"
	[[ $("$CMD" --version) == "bufshim 0.1.0" ]] || fail "version"
}

test_command_exit_codes() {
	local st
	st=0; "$CMD" -s 12x true 2>"$T/err" || st=$?
	(( st == 125 )) || fail "bad value: $st"
	[[ $(cat "$T/err") == "bufshim: -s '12x': not a size (e.g. 4096, 64K, 1M)" ]] ||
		fail "message: $(cat "$T/err")"
	st=0; "$CMD" --bogus true 2>/dev/null || st=$?; (( st == 125 )) || fail "bad option: $st"
	st=0; "$CMD" 2>/dev/null || st=$?; (( st == 125 )) || fail "no command: $st"
	st=0; "$CMD" /nonexistent/cmd 2>/dev/null || st=$?; (( st == 127 )) || fail "not found: $st"
	st=0; "$CMD" no-such-command-anywhere 2>/dev/null || st=$?; (( st == 127 )) || fail "not on PATH: $st"
	printf 'x' >"$T/notexec"
	st=0; "$CMD" "$T/notexec" 2>/dev/null || st=$?; (( st == 126 )) || fail "not executable: $st"
	st=0; "$CMD" sh -c 'exit 42' || st=$?; (( st == 42 )) || fail "command's status: $st"
	st=0; ( "$CMD" -- sh -c 'kill -TERM $$' ) 2>/dev/null || st=$?; (( st == 143 )) || fail "signal: $st"
}

test_command_keeps_ld_preload_and_finds_the_library() {
	local other
	# this machine's own libdl (a cross toolchain may have put others beside it)
	other=$(${CC:-cc} -print-file-name=libdl.so.2 2>/dev/null)
	[[ $other == /* && -f $other ]] || other=
	[[ -n $other ]] || skip "no second library to preload"
	[[ $(LD_PRELOAD=$other "$CMD" printenv LD_PRELOAD) == "$LIB:$other" ]] || fail "LD_PRELOAD not kept"
	[[ $(BUFSHIM_LIB=$other "$CMD" printenv LD_PRELOAD) == "$other" ]] || fail "BUFSHIM_LIB ignored"
	# an install into a staging tree finds its own library. Another
	# PREFIX rebuilds the command: in a copy of the build, so that the
	# other tests' command is never rewritten while they run it (a
	# sanitized build would need its flags: it installs as built)
	local b=$BUILD pre=/usr/local
	if [[ -z ${PRELOAD_FIRST:-} ]]; then
		cp -a "$BUILD" "$T/build"
		b=$T/build pre=/usr
	fi
	make -s -C "$ROOT" install B="$b" DESTDIR="$T/stage" PREFIX=$pre >/dev/null
	[[ -x $T/stage$pre/bin/bufshim && -x $T/stage$pre/bin/bufshim-compare &&
	   -f $T/stage$pre/lib/bufshim/libbufshim.so && -f $T/stage$pre/share/man/man1/bufshim.1 ]] ||
		fail "install: $(cd "$T/stage" && find . -type f)"
	[[ $(env -u BUFSHIM_LIB "$T/stage$pre/bin/bufshim" printenv LD_PRELOAD) == "$T/stage$pre/bin/../lib/bufshim/libbufshim.so" ]] ||
		fail "installed command: $(env -u BUFSHIM_LIB "$T/stage$pre/bin/bufshim" printenv LD_PRELOAD)"
	if [[ -z ${PRELOAD_FIRST:-} ]]; then	# the installed library is not sanitized
		env -u BUFSHIM_LIB "$T/stage$pre/bin/bufshim" -m full "$P/writer" 100 10 |
			cmp -s - <("$P/writer" 100 10) || fail "installed bufshim changed the output"
	fi
	make -s -C "$ROOT" uninstall B="$b" DESTDIR="$T/stage" PREFIX=$pre >/dev/null
	[[ -z $(find "$T/stage" -type f) ]] || fail "uninstall left $(find "$T/stage" -type f)"
}

test_command_warns_for_static_and_setuid() {
	"$CMD" "$P/static_hello" >"$T/out" 2>"$T/err" || fail "static program failed"
	grep -q 'static_hello is statically linked' "$T/err" || fail "no warning: $(cat "$T/err")"
	[[ $(cat "$T/out") == static ]] || fail "output"
	cp "$P/writer" "$T/suid" && chmod u+s "$T/suid"
	"$CMD" "$T/suid" 1 5 >/dev/null 2>"$T/err" || fail "setuid program failed"
	grep -q 'suid is set-user-ID' "$T/err" || fail "no warning: $(cat "$T/err")"
	"$CMD" "$P/writer" 1 5 >/dev/null 2>"$T/err"
	[[ ! -s $T/err ]] || fail "warned for a plain program: $(cat "$T/err")"
}

test_stats_line_at_exit() {
	shim BUFSHIM_STATS=1 BUFSHIM_MODE=full "$P/writer" 1000 10 2>"$T/err" | cat >/dev/null
	grep -qxE 'bufshim: pid [0-9]+ \(writer\): fd 1 \(pipe, full, 4096 B\): 1000 writes, 10000 B in [0-9]+ syscalls \([0-9]+x fewer\); flushes: [0-9]+ full, 1 exit; 0 errors, 0 B dropped' "$T/err" ||
		fail "stats: $(cat "$T/err")" || return 1
	shim BUFSHIM_STATS="$T/stats" BUFSHIM_MODE=full "$P/writer" 10 10 >/dev/null 2>"$T/err"
	[[ ! -s $T/err ]] || fail "stats to a file also on stderr"
	grep -qE '^bufshim: pid [0-9]+ \(writer\): fd 1 \(null, full, 4096 B\): 10 writes, 100 B in 1 syscall ' "$T/stats" ||
		fail "stats file: $(cat "$T/stats")"
}

test_stats_through_the_command() {
	skip_dd_under_asan
	"$CMD" --stats="$T/stats" -m full dd if=/dev/zero bs=10 count=1000 status=none >/dev/null
	grep -qE '^bufshim: pid [0-9]+ \(dd\): fd 1 \(null, full, 4096 B\): 1000 writes, 10000 B in 3 syscalls \(333x fewer\); flushes: 2 full, 1 sync; 0 errors, 0 B dropped$' "$T/stats" ||
		fail "stats: $(cat "$T/stats")"
}

test_compare_script() {
	"$ROOT/scripts/bufshim-compare" -m full -- "$P/writer" 3000 10 >"$T/cmp" || fail "said different: $(cat "$T/cmp")"
	grep -qE '^write syscalls +3000 +[0-9]+ +[0-9]+x fewer$' "$T/cmp" || fail "table: $(cat "$T/cmp")"
	grep -q '^output  *identical' "$T/cmp" || fail "verdict: $(cat "$T/cmp")"
	local st=0
	"$ROOT/scripts/bufshim-compare" -- sh -c 'echo "${LD_PRELOAD:-none}"' >"$T/cmp" || st=$?
	(( st == 1 )) || fail "a difference not detected (status $st): $(cat "$T/cmp")"
	grep -q 'DIFFERENT: stdout' "$T/cmp" || fail "verdict: $(cat "$T/cmp")"
}

test_demo_script_shows_each_program() {
	# make demo itself (strace on every program, ~15 s) runs in CI: here
	# scripts/demo.sh runs beside a stand-in for the compare script, which
	# runs each command plainly
	cp "$ROOT/scripts/demo.sh" "$T/demo.sh"
	cat >"$T/bufshim-compare" <<-'SH'
	#!/bin/sh
	printf "%s\n" "$*" >>"$(dirname "$0")/shown"
	[ -z "${COMPARE_STATUS:-}" ] || exit "$COMPARE_STATUS"
	while [ "$1" != -- ]; do shift; done
	shift
	exec "$@" >/dev/null 2>&1
	SH
	chmod +x "$T/bufshim-compare"
	sh "$T/demo.sh" >"$T/demo" 2>&1 || fail "demo.sh: status $?: $(cat "$T/shown")"
	local n st=0
	n=$(wc -l <"$T/shown")
	(( n >= 4 )) || fail "shown: $(cat "$T/shown")"
	COMPARE_STATUS=1 sh "$T/demo.sh" >/dev/null 2>&1 || st=$?
	(( st == 1 )) || fail "a difference not passed on: status $st"
	echo "$n programs"
}
