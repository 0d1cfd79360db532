# SPDX-License-Identifier: MIT
# A program looking at the file it writes: it sees what it sees without
# the library, and the bytes were held before each look.

test_looking_at_its_own_file_sees_every_byte() {
	# the program reads, stats, maps, cuts and copies a file it writes
	# through a buffered fd, and appends to it through a second fd: it
	# sees what it sees without us, and the bytes were held each time
	# (without CAP_FSETID, as most users: a late write would clear set-ID bits)
	local nofsetid=()
	setpriv --bounding-set=-fsetid true 2>/dev/null && nofsetid=(setpriv --bounding-set=-fsetid)
	mkdir "$T/plain" "$T/shim"
	"${nofsetid[@]}" "$P/own_file" "$T/plain" >"$T/plain.out" 2>"$T/plain.err"
	# setpriv first, then the wrapper of TEST_PREFIX, if any
	local PREFIX=("${nofsetid[@]}" "${PREFIX[@]}")
	shim BUFSHIM_FDS=all "$P/own_file" "$T/shim" >"$T/shim.out" 2>"$T/shim.err" ||
		fail "status $? under bufshim" || return 1
	same_files "$T/plain.out" "$T/shim.out" || return 1
	grep -qx 'mode: fchmod 4755' "$T/plain.out" || fail "plain: $(grep mode "$T/plain.out")" || return 1
	[[ $(wc -l <"$T/shim.err") -eq 18 ]] || fail "cases: $(cat "$T/shim.err")" || return 1
	! grep -v ' held [1-9][0-9]*$' "$T/shim.err" || fail "bytes were not held in these cases"
	cmp -s "$T/plain/own" "$T/shim/own" || fail "the files differ"
}

test_python_appending_to_its_own_stdout_log() {
	# a real program: python -u prints to >>log and appends to log itself
	local py='import os, sys
print("one"); open(sys.argv[1], "a").write("two\n"); print("three")
print(os.path.getsize(sys.argv[1]))'
	: >"$T/log.plain"; : >"$T/log.shim"
	python3 -u -c "$py" "$T/log.plain" >>"$T/log.plain"
	shim python3 -u -c "$py" "$T/log.shim" >>"$T/log.shim"
	same_files "$T/log.plain" "$T/log.shim"
}

test_bash_fd_3_and_each_echo_appending_to_one_log() {
	# bash: fd 3 held open on >>log, and each echo's own >>log
	local sh='exec 3>>"$1"; for i in $(seq 1 500); do echo a$i >&3; echo b$i >>"$1"; done'
	bash -c "$sh" sh "$T/b.plain"
	shim BUFSHIM_FDS=all bash -c "$sh" sh "$T/b.shim"
	same_files "$T/b.plain" "$T/b.shim"
}

test_stdout_and_own_streams_appending_to_one_log() {
	# stdout >>log, and the program's own stream, dprintf and fd on log
	local fds
	: >"$T/mix.plain"
	"$P/append_mix" "$T/mix.plain" >>"$T/mix.plain"
	for fds in 1 all; do
		: >"$T/mix.shim"
		shim BUFSHIM_FDS=$fds "$P/append_mix" "$T/mix.shim" >>"$T/mix.shim"
		same_files "$T/mix.plain" "$T/mix.shim" || fail "BUFSHIM_FDS=$fds" || return 1
	done
}
