# SPDX-License-Identifier: MIT
# Memory as it is used: buffers take address space and memory as bytes
# arrive, give back what a large idle one held, and an fd the library finds
# no memory for writes straight through, counted in the stats.

# ASan reserves terabytes of address space (ulimit -v refuses it) and its
# shadow memory makes resident sizes meaningless.
skip_under_asan() {
	[[ ${PRELOAD_FIRST:-} != *asan* ]] || skip "AddressSanitizer: $1"
}

# -s 1G with 200 files under ulimit -v 1 GB: each file's buffer used to ask
# for its gigabyte at once, was refused, and every write went straight out.
test_memory_ulimit_v_still_buffers() {
	skip_under_asan "its address space is not limited"
	skip_under_prefix "counts syscalls under strace"
	local n peak
	mkdir "$T/plain" "$T/shim"
	"$P/memory" files "$T/plain" 200 2>/dev/null
	n=$(ulimit -v 1000000 && writes LD_PRELOAD="$LIB" BUFSHIM_SIZE=1G BUFSHIM_FDS=all -- \
		"$P/memory" files "$T/shim" 200 2>"$T/err") || fail "$(cat "$T/err")" || return 1
	same_trees "$T/plain" "$T/shim" || return 1
	# one delivery per file at exit, and the line on stderr
	(( n <= 205 )) || fail "$n write syscalls for 200 files of 100 records" || return 1
	peak=$(awk '/^peak/ { print $2 }' "$T/err")
	(( peak < 500000 )) || fail "VmPeak $peak kB" || return 1
	echo "$n writes, VmPeak $peak kB"
}

# With no address space left but 1 MiB, the first files get buffers and
# the others write straight through, each counted in the stats; not a
# byte differs.
test_memory_fds_without_memory_are_counted() {
	skip_under_asan "its address space is not limited"
	mkdir "$T/plain" "$T/shim"
	"$P/memory" files "$T/plain" 40 2>/dev/null
	(ulimit -v 400000 && shim BUFSHIM_SIZE=1G BUFSHIM_FDS=all BUFSHIM_STATS="$T/stats" \
		"$P/memory" squeeze "$T/shim" 40 2>"$T/err") || fail "$(cat "$T/err")" || return 1
	same_trees "$T/plain" "$T/shim" || return 1
	local straight buffered
	straight=$(grep -cE ': 100 writes, 1000 B in 100 syscalls .*; no memory: written straight through$' "$T/stats") || true
	buffered=$(grep -E ': 100 writes, 1000 B in 1 syscall ' "$T/stats" | grep -vc 'no memory') || true
	(( straight > 0 && buffered > 0 && straight + buffered == 40 )) ||
		fail "$straight straight, $buffered buffered: $(cat "$T/stats")" || return 1
	echo "$buffered buffered, $straight without memory"
}

# rss_kb WHAT: the resident kB `memory rss` reported in $T/err as WHAT
# (held, after), above its own at the start (an emulator's is 17 MB)
rss_kb() { awk -v what="$1" '$1 == "start" { s = $2 } $1 == what { print $2 - s }' "$T/err"; }

# 32 MiB held in a 1 GiB buffer is resident until delivered; delivered
# before the program sleeps, the memory goes back.
test_memory_given_back_after_a_large_delivery() {
	skip_under_asan "resident sizes count its shadow memory"
	local held after
	shim BUFSHIM_SIZE=1G "$P/memory" rss 32 >/dev/null 2>"$T/err" || fail "$(cat "$T/err")" || return 1
	held=$(rss_kb held) after=$(rss_kb after)
	(( held > 25000 )) || fail "only $held kB resident: not buffered?" || return 1
	(( after < 8000 )) || fail "$after kB still resident after the delivery (held $held kB)" || return 1
	echo "VmRSS $held kB more held, $after kB more after"
}

# With asynchronous delivery each file has a second block, as large as the
# first grew: it goes back with the first when the program goes idle.
test_memory_async_second_block_given_back() {
	skip_under_asan "resident sizes count its shadow memory"
	local held after
	shim BUFSHIM_SIZE=16M BUFSHIM_ASYNC=1 "$P/memory" rss 48 >"$T/out" 2>"$T/err" ||
		fail "$(cat "$T/err")" || return 1
	held=$(rss_kb held) after=$(rss_kb after)
	(( held > 24000 )) || fail "only $held kB resident: not two blocks?" || return 1
	(( after < 8000 )) || fail "$after kB still resident after the delivery (held $held kB)" || return 1
	(( $(stat -c %s "$T/out") == 48 * 1048576 )) || fail "the file has $(stat -c %s "$T/out") bytes"
	echo "VmRSS $held kB more held, $after kB more after"
}
