#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Asynchronous delivery beside synchronous, for scripts/bench.sh (make bench):
#
#   scripts/bench_async.sh SMOKE REPS SECTION_FILE TARGETS_FILE
#
# async: a program writing 200 MB in 100-byte records (bench_write write 100,
# one thread) to a regular file and to /dev/null, with a 64 KiB buffer,
# synchronous (the default) and with BUFSHIM_ASYNC=1, alternating REPS
# times: the wall time of the whole process (the file removed before each
# run) and its CPU time. Then the same hand-over without the library
# (bench_write handoff): the records formatted into 64 KiB blocks that this
# thread writes itself, or that a second thread writes while it fills the
# other block: what a machine charges for a write made by another thread
# from memory this one just wrote. Writes its section (markdown) to
# SECTION_FILE and its row of the targets table to TARGETS_FILE; exit
# status 1 when a run failed.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build/bench_write
LIB=$ROOT/build/libbufshim.so
SMOKE=$1 REPS=$2 SECTION=$3 TARGETS=$4
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
FAILED=0
MB=$((SMOKE ? 2 : 200))
N=$((MB * 10000))

# one TARGET CMD...: "wall_ms cpu_ms" of one run, stdout on TARGET
one() {
	local out=$1 s e line
	shift
	[[ $out == null ]] && out=/dev/null
	[[ $out == file ]] && { out=$T/file; rm -f "$out"; }
	s=$(date +%s%N)
	line=$( { TIMEFORMAT='%U %S'; time "$@" >"$out" 2>/dev/null; } 2>&1) || return 1
	e=$(date +%s%N)
	awk -v w=$(((e - s) / 1000)) '{ printf "%.1f %.1f\n", w / 1000, ($1 + $2) * 1000 }' <<<"$line"
}

stats() { sort -n | awk '{ v[NR] = $1 } END { printf "%s %s %s\n", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
cell() { tr ' ' '\n' <<<"$1" | grep . | stats; }

declare -A W C
for ((r = 0; r < REPS; r++)); do
	for target in file null; do
		for v in sync async self thread; do
			case $v in
			sync) cmd=(env LD_PRELOAD="$LIB" BUFSHIM_SIZE=64K "$B" write 100 "$N" 1) ;;
			async) cmd=(env LD_PRELOAD="$LIB" BUFSHIM_SIZE=64K BUFSHIM_ASYNC=1 "$B" write 100 "$N" 1) ;;
			self | thread) cmd=("$B" handoff $v 65536 $((N * 100))) ;;
			esac
			read -r w c <<<"$(one $target "${cmd[@]}")" || { FAILED=1; continue; }
			W[$target.$v]+="$w " C[$target.$v]+="$c "
		done
	done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
{
echo "## async: $MB MB in 100-byte records, synchronous and asynchronous delivery"
echo
echo "Wall time of the whole process in ms (median of $REPS alternating runs, spread min-max) and its"
echo "CPU time (user + system, all threads), 64 KiB buffer. sync: the default; async:"
echo "\`BUFSHIM_ASYNC=1\` (on /dev/null it is not used: the same path as sync). handoff self / thread:"
echo "no library; the records formatted into 64 KiB blocks that the program writes itself, or that a"
echo "second thread writes while it fills the other block. Load average when the section began:"
echo "$(cut -d' ' -f1 /proc/loadavg)."
echo
echo "| target | sync ms | async ms | async / sync | CPU ms sync / async | handoff self ms | handoff thread ms | thread / self |"
echo "|---|---|---|---|---|---|---|---|"
for target in file null; do
	for v in sync async self thread; do
		read -r m lo hi <<<"$(cell "${W[$target.$v]:-}")"
		W[$target.$v.m]=$m W[$target.$v.s]="$lo-$hi"
		read -r m _ _ <<<"$(cell "${C[$target.$v]:-}")"
		C[$target.$v.m]=$m
	done
	echo "| $target | ${W[$target.sync.m]} (${W[$target.sync.s]}) | ${W[$target.async.m]} (${W[$target.async.s]}) |" \
		"$(ratio "${W[$target.async.m]}" "${W[$target.sync.m]}")x | ${C[$target.sync.m]} / ${C[$target.async.m]} |" \
		"${W[$target.self.m]} (${W[$target.self.s]}) | ${W[$target.thread.m]} (${W[$target.thread.s]}) |" \
		"$(ratio "${W[$target.thread.m]}" "${W[$target.self.m]}")x |"
done
echo
} >"$SECTION"
x=$(ratio "${W[file.async.m]}" "${W[file.sync.m]}")
met=$(awk -v v="$x" 'BEGIN { print (v != "n/a" && v <= 0.85) ? "yes" : "no" }')
echo "| asynchronous delivery: $MB MB in 100 B records to a file, wall time against sync | at most 0.85x | ${x}x (median of $REPS; without the library a second thread's writes take $(ratio "${W[file.thread.m]}" "${W[file.self.m]}")x as long) | $met |" >"$TARGETS"
exit $FAILED
