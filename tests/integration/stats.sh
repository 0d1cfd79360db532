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
	cmp -s "$T/p2" <(grep -v '^bufshim:' "$T/o2") || fail "the program's stderr changed" || return 1
	# a process whose exec fails reports at the exec and again at exit: one line
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
