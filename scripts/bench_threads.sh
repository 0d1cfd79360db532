#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Per-thread buffers beside the shared buffer, for scripts/bench.sh (make bench):
#
#   scripts/bench_threads.sh SMOKE REPS SECTION_FILE TARGETS_FILE
#
# threads: 32-byte records from 1, 2 and 4 threads to one fd (/dev/null and
# a regular file), alternating REPS times: the shared buffer (the default),
# per-thread buffers (BUFSHIM_THREADS=local) and fwrite into stdout's 4 KiB
# buffer. Each cell is the wall time from the first record to the delivery
# of the last over all records (throughput), median and spread, and the
# CPU time per record (user + system, all threads), which the machine's
# other load changes less. Writes its section (markdown) to SECTION_FILE
# and its row of the targets table to TARGETS_FILE; exit status 1 when a
# run failed.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build/bench_write
LIB=$ROOT/build/libbufshim.so
SMOKE=$1 REPS=$2 SECTION=$3 TARGETS=$4
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
FAILED=0
N=$((SMOKE ? 20000 : 4000000))

# run TARGET CMD...: print "ns_per_record cpu_ns_per_record" of one run
run() {
	local target=$1 line out=/dev/null
	shift
	[[ $target == file ]] && out=$T/file
	# bench_write says "ns writes syscalls" on stderr; bash's time adds "user sys"
	line=$( { TIMEFORMAT='%U %S'; time "$@" 2>&1 >"$out"; } 2>&1 | tr '\n' ' ') || return 1
	awk '{ printf "%.2f %.2f\n", $1 / $2, ($4 + $5) * 1e9 / $2 }' <<<"$line"
}

# median and spread of the numbers on stdin
stats() { sort -n | awk '{ v[NR] = $1 } END { printf "%s %s %s\n", v[int((NR + 1) / 2)], v[1], v[NR] }'; }

declare -A WALL CPU WM SP CM
X4=() X4_TXT=
{
echo "## threads: 32-byte records to one fd, by thread count"
echo
echo "ns per record over all threads (wall time from the first record to the delivery of the last:"
echo "throughput), the median of $REPS alternating runs with the spread (min-max), and the median CPU time"
echo "per record (user + system, all threads). shared: one buffer and one lock per fd (the default);"
echo "local: a buffer per thread (\`BUFSHIM_THREADS=local\`); fwrite: glibc's stdout buffer (4 KiB, its"
echo "own lock). x shared: local's throughput over shared's. Load average when the section began:"
echo "$(cut -d' ' -f1 /proc/loadavg)."
echo
echo "| target | threads | shared ns | local ns | fwrite ns | CPU ns shared / local / fwrite | local MB/s | x shared |"
echo "|---|---|---|---|---|---|---|---|"
for target in null file; do
	for th in 1 2 4; do
		WALL=() CPU=() WM=() SP=() CM=()
		for ((r = 0; r < REPS; r++)); do
			for v in shared local fwrite; do
				case $v in
				shared) cmd=(env LD_PRELOAD="$LIB" "$B" write 32 "$N" "$th") ;;
				local) cmd=(env LD_PRELOAD="$LIB" BUFSHIM_THREADS=local "$B" write 32 "$N" "$th") ;;
				fwrite) cmd=("$B" fwrite 32 "$N" "$th" 4096) ;;
				esac
				read -r w c <<<"$(run $target "${cmd[@]}")" || { FAILED=1; continue; }
				WALL[$v]+="$w " CPU[$v]+="$c "
			done
		done
		for v in shared local fwrite; do
			read -r m lo hi <<<"$(tr ' ' '\n' <<<"${WALL[$v]:-}" | grep . | stats)"
			WM[$v]=$m
			SP[$v]=$(awk -v a="${lo:-0}" -v b="${hi:-0}" 'BEGIN { printf "%.1f-%.1f", a, b }')
			read -r m _ _ <<<"$(tr ' ' '\n' <<<"${CPU[$v]:-}" | grep . | stats)"
			CM[$v]=$m
		done
		awk -v t=$target -v th=$th -v s="${WM[shared]}" -v ss="${SP[shared]}" -v l="${WM[local]}" \
		    -v ls="${SP[local]}" -v f="${WM[fwrite]}" -v fs="${SP[fwrite]}" -v cs="${CM[shared]}" \
		    -v cl="${CM[local]}" -v cf="${CM[fwrite]}" 'BEGIN {
			printf "| %s | %d | %.1f (%s) | %.1f (%s) | %.1f (%s) | %.1f / %.1f / %.1f | %.0f | %.2f |\n",
			t, th, s, ss, l, ls, f, fs, cs, cl, cf, (l > 0 ? 32 * 1000 / l : 0), (l > 0 ? s / l : 0) }'
		if [[ $th == 4 ]]; then
			x=$(awk -v s="${WM[shared]}" -v l="${WM[local]}" 'BEGIN { if (l > 0) printf "%.2f", s / l; else print "n/a" }')
			X4+=("$x") X4_TXT+="$target ${x}x; "
		fi
	done
done
echo
} >"$SECTION"

met=yes
for x in "${X4[@]}"; do
	awk -v v="$x" 'BEGIN { exit !(v != "n/a" && v + 0 >= 2) }' || met=no
done
echo "| 4 threads, 32-byte records, one fd: per-thread buffers' throughput against the shared buffer's | at least 2x | ${X4_TXT%; } | $met |" >"$TARGETS"
exit $FAILED
