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
	[[ -z $(ls -A "$T/run") ]] || fail "stray files: $(ls -A "$T/run" | cat -A)"
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
