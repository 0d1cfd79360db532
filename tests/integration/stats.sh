# SPDX-License-Identifier: MIT
# The stats (BUFSHIM_STATS): where they go, whatever the program does to
# its environment, its working directory or the file's path, and the
# summary the command prints for a whole process tree.

# A program that sets its process title overwrites its environment's
# strings: the stats still go to the file named at start, for the parent
# and for the child it forks, and no stray file appears where it runs.
test_stats_survive_a_rewritten_environment() {
	mkdir "$T/run"
	(cd "$T/run" && shim BUFSHIM_STATS="$T/stats" BUFSHIM_MODE=full \
		"$P/proctitle" "postgres: writer process" 10 >"$T/out")
	[[ $(grep -c 'fd 1 (file, full, 4096 B): 10 writes, ' "$T/stats") == 2 ]] ||
		fail "stats: $(cat "$T/stats" 2>&1)" || return 1
	[[ -z $(ls -A "$T/run") ]] || fail "stray files: $(ls -A "$T/run" | cat -A)" || return 1
	# each line names its process: two pids, the program's name as it started
	[[ $(grep -oE '^bufshim: pid [0-9]+ \(proctitle\): ' "$T/stats" | sort -u | wc -l) == 2 ]] ||
		fail "not named: $(cat "$T/stats")"
}

# A relative path names a file in the directory the process started in,
# even after it moves elsewhere.
test_stats_relative_path_is_where_the_process_started() {
	mkdir -p "$T/run/sub"
	(cd "$T/run" && shim BUFSHIM_STATS=rel.stats BUFSHIM_MODE=full \
		"$P/proctitle" title 10 sub >"$T/out")
	[[ $(grep -c 'fd 1 (file, full, 4096 B): 10 writes, ' "$T/run/rel.stats") == 2 ]] ||
		fail "stats: $(cat "$T/run/rel.stats" 2>&1)" || return 1
	[[ ! -e $T/run/sub/rel.stats ]] || fail "stats written where the program moved"
}

# A symbolic link planted at the path (by another user, in a shared
# directory) is not followed: the file it names stays as it was, and one
# line on stderr says why there are no stats, however many fds had some.
test_stats_refuse_a_symbolic_link() {
	echo "someone else's file" >"$T/target"
	ln -s "$T/target" "$T/stats"
	"$P/stdio_mix" mix >"$T/p1" 2>"$T/p2"
	shim BUFSHIM_STATS="$T/stats" BUFSHIM_FDS=1,2 BUFSHIM_MODE=full "$P/stdio_mix" mix >"$T/o1" 2>"$T/o2"
	same_files "$T/p1" "$T/o1" || return 1
	[[ $(cat "$T/target") == "someone else's file" ]] || fail "followed the link: $(cat "$T/target")"
	[[ $(grep -c '^bufshim:' "$T/o2") == 1 ]] &&
		grep -qxF "bufshim: stats not written to '$T/stats': it is a symbolic link" "$T/o2" ||
		fail "stderr: $(grep bufshim "$T/o2")" || return 1
	cmp -s "$T/p2" <(grep -v '^bufshim:' "$T/o2") || fail "the program's stderr changed"
}

# A process whose exec fails reports at the exec and again at exit: one line
# says the stats file is refused, not two.
test_stats_refused_once_across_a_failed_exec() {
	echo "someone else's file" >"$T/target"
	ln -s "$T/target" "$T/stats"
	shim BUFSHIM_STATS="$T/stats" BUFSHIM_MODE=full dash -c 'echo hi; exec /nonexistent/x' >/dev/null 2>"$T/err" || true
	[[ $(grep -c '^bufshim:' "$T/err") == 1 ]] || fail "after a failed exec: $(cat "$T/err")"
}

# shim killed after SECONDS, and SIGKILLed 5 s later if it ignores that
# (a program blocked inside the library defers the signal): status 124 or 137
shim_killed_after() {
	local s=$1
	shift
	(( ${#PREFIX[@]} == 0 )) || s=$((s * 10))
	timeout -k 5 "$s" "${PREFIX[@]}" env LD_PRELOAD="$LIB" "$@"
}

# A FIFO at the path, with no reader: the program still ends (a blocking
# open would hang it at exit), and says why there are no stats. With a
# reader, nothing is written into it either.
test_stats_refuse_a_fifo_without_hanging() {
	mkfifo "$T/stats"
	local st=0 got=""
	shim_killed_after 10 BUFSHIM_STATS="$T/stats" BUFSHIM_MODE=full "$P/writer" 10 10 >/dev/null 2>"$T/err" || st=$?
	(( st == 0 )) || fail "status $st (124, 137: hung)" || return 1
	[[ $(cat "$T/err") == "bufshim: stats not written to '$T/stats': it is not a regular file" ]] ||
		fail "stderr: $(cat "$T/err")" || return 1
	exec 3<>"$T/stats"	# a reader (and a writer: the open does not wait)
	shim_killed_after 10 BUFSHIM_STATS="$T/stats" BUFSHIM_MODE=full "$P/writer" 10 10 >/dev/null 2>"$T/err" || st=$?
	(( st == 0 )) || fail "with a reader: status $st" || return 1
	read -r -t 0.2 -u 3 got || true
	exec 3<&-
	[[ -z $got ]] || fail "written into the FIFO: $got" || return 1
	[[ $(cat "$T/err") == "bufshim: stats not written to '$T/stats': it is not a regular file" ]] ||
		fail "with a reader: stderr: $(cat "$T/err")"
}

# Nothing to report, no file: a program that writes nothing to a buffered
# fd leaves no empty stats file behind; one that does makes it.
test_stats_file_made_only_with_something_to_report() {
	shim BUFSHIM_STATS="$T/stats" true
	shim BUFSHIM_STATS="$T/stats" "$P/writer" 0 10 >/dev/null
	[[ ! -e $T/stats ]] || fail "made with nothing to report"
	shim BUFSHIM_STATS="$T/stats" "$P/writer" 1 10 >/dev/null
	[[ -s $T/stats ]] || fail "not made"
}

# ---- --stats=summary: one line for a whole process tree --------------------------------

# sh, two writers (one into a pipe) and wc, then sh execs a third writer:
# one line adds up the four processes that wrote (sh and the writer it
# became are one), the same writes and bytes as their own stats lines; the
# output is the same as without bufshim, and the private directory the
# processes reported into is gone.
test_summary_over_a_process_tree() {
	local tree="\"$P/writer\" 1000 10; \"$P/writer\" 500 10 | wc -c >/dev/null; echo hi; exec \"$P/writer\" 7 10"
	mkdir "$T/tmp"
	sh -c "$tree" >"$T/plain"
	TMPDIR=$T/tmp "$CMD" --stats=summary -- sh -c "$tree" >"$T/out" 2>"$T/err"
	same_files "$T/plain" "$T/out" || return 1
	[[ $(wc -l <"$T/err") == 1 ]] &&
		grep -qxE 'bufshim: summary: 4 processes, 1509 writes, 15078 B in [0-9]+ syscalls \([0-9]+x fewer\); flushes: [^;]+; 0 errors, 0 B dropped' "$T/err" ||
		fail "summary: $(cat "$T/err")" || return 1
	local n
	n=$(grep -oE 'in [0-9]+ syscalls' "$T/err" | grep -oE '[0-9]+')
	(( n <= 10 )) || fail "$n syscalls for 15078 B in four processes" || return 1
	[[ -z $(ls -A "$T/tmp") ]] || fail "left behind: $(ls -A "$T/tmp")" || return 1
	# the same tree's own stats lines add up to the same writes and bytes
	"$CMD" --stats="$T/lines" -- sh -c "$tree" >/dev/null
	[[ $(grep -oE '[0-9]+ writes?, [0-9]+ B in' "$T/lines" | awk '{ w += $1; b += $3 } END { print w, b }') == "1509 15078" ]] ||
		fail "per-process lines: $(cat "$T/lines")"
}

# status CMD...: CMD's exit status, or minus the signal that killed it
status() {
	python3 -c 'import subprocess, sys; print(subprocess.run(sys.argv[1:], stderr=subprocess.DEVNULL).returncode)' "$@"
}

# The command runs COMMAND as its child: it ends as COMMAND ended (its
# status, or killed by the same signal), says when COMMAND cannot run,
# and leaves nothing behind in each case.
test_summary_ends_as_the_command_ends() {
	local st
	mkdir "$T/tmp"
	st=0; TMPDIR=$T/tmp "$CMD" --stats=summary -- sh -c 'exit 3' 2>"$T/err" || st=$?
	(( st == 3 )) && grep -q '^bufshim: summary: 0 processes, ' "$T/err" || fail "exit 3: $st: $(cat "$T/err")" || return 1
	st=$(TMPDIR=$T/tmp status "$CMD" --stats=summary -- sh -c 'kill -TERM $$')
	(( st == -15 )) || fail "killed by TERM: $st" || return 1
	st=$(TMPDIR=$T/tmp status "$CMD" --stats=summary -- sh -c 'kill -SEGV $$')
	(( st == -11 )) || fail "killed by SEGV: $st" || return 1
	st=0; TMPDIR=$T/tmp "$CMD" --stats=summary -- no-such-command-anywhere 2>"$T/err" || st=$?
	(( st == 127 )) && [[ $(cat "$T/err") == "bufshim: no-such-command-anywhere: No such file or directory" ]] ||
		fail "not found: $st: $(cat "$T/err")" || return 1
	printf 'x' >"$T/notexec"
	st=0; TMPDIR=$T/tmp "$CMD" --stats=summary -- "$T/notexec" 2>/dev/null || st=$?
	(( st == 126 )) || fail "not executable: $st" || return 1
	[[ -z $(ls -A "$T/tmp") ]] || fail "left behind: $(ls -A "$T/tmp")"
}

# gone PID: the process has ended (or is a zombie)
gone() { [[ ! -e /proc/$1/stat || $(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) == Z ]]; }
running() { ! gone "$1" && ! stopped "$1"; }
has_child() { [[ -n $(pgrep -P "$1") ]]; }

# Signals sent to the command reach COMMAND: a TERM it traps (it exits 7,
# and so does the command), a TERM it dies of, a stop and a continue (the
# command stops too, so that a shell sees the job stopped).
test_summary_passes_signals_on() {
	local pid child st
	mkdir "$T/tmp"
	export TMPDIR=$T/tmp
	"$CMD" --stats=summary -- sh -c 'trap "echo got TERM; exit 7" TERM; echo $$ >"$0"; while :; do sleep 0.05; done' \
		"$T/child" >"$T/out" 2>"$T/err" &
	pid=$!
	wait_until 10 test -s "$T/child" || fail "never started" || return 1
	kill -TERM "$pid"
	wait_until 10 gone "$pid" || { kill -KILL "$pid" "$(cat "$T/child")"; fail "TERM not passed on"; return 1; }
	st=0; wait "$pid" || st=$?
	(( st == 7 )) && grep -qx 'got TERM' "$T/out" || fail "trapped TERM: status $st, $(cat "$T/out")" || return 1
	grep -q '^bufshim: summary: ' "$T/err" || fail "no summary: $(cat "$T/err")" || return 1

	"$CMD" --stats=summary -- sleep 30 2>/dev/null &
	pid=$!
	wait_until 10 has_child "$pid" || fail "sleep never started" || return 1
	kill -TERM "$pid"
	wait_until 10 gone "$pid" || { kill -KILL "$pid"; fail "TERM not passed on to sleep"; return 1; }
	st=0; wait "$pid" || st=$?
	(( st == 143 )) || fail "sleep killed by TERM: status $st" || return 1

	rm -f "$T/child"
	"$CMD" --stats=summary -- sh -c 'echo $$ >"$0"; while [ ! -e "$0.go" ]; do sleep 0.05; done; echo done' \
		"$T/child" >"$T/out" 2>/dev/null &
	pid=$!
	wait_until 10 test -s "$T/child" || fail "never started" || return 1
	child=$(cat "$T/child")
	kill -TSTP "$pid"
	wait_until 10 stopped "$pid" && wait_until 10 stopped "$child" ||
		{ kill -KILL "$pid" "$child"; fail "not stopped"; return 1; }
	kill -CONT "$pid"
	wait_until 10 running "$pid" && wait_until 10 running "$child" ||
		{ kill -KILL "$pid" "$child"; fail "not continued"; return 1; }
	touch "$T/child.go"
	st=0; wait "$pid" || st=$?
	(( st == 0 )) && grep -qx done "$T/out" || fail "after the stop: status $st" || return 1
	[[ -z $(ls -A "$T/tmp") ]] || fail "left behind: $(ls -A "$T/tmp")"
}

# A descendant still running when the command ends is not counted, and
# when it ends later it finds the summary over: it says nothing.
test_summary_late_descendants_stay_quiet() {
	mkdir "$T/tmp"
	TMPDIR=$T/tmp "$CMD" --stats=summary -- sh -c \
		"(sleep 1; \"$P/writer\" 10 10 >\"$T/late\"; touch \"$T/done\") & \"$P/writer\" 5 10" >"$T/out" 2>"$T/err"
	wait_until 20 test -e "$T/done" || fail "the late writer never ended" || return 1
	[[ $(cat "$T/err") == "bufshim: summary: 1 process, 5 writes, 50 B in 1 syscall (5x fewer); flushes: 1 exit; 0 errors, 0 B dropped" ]] ||
		fail "stderr: $(cat "$T/err")" || return 1
	[[ $(wc -l <"$T/late") == 10 && -z $(ls -A "$T/tmp") ]] || fail "late: $(wc -l <"$T/late"), $(ls -A "$T/tmp")"
}
