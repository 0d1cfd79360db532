#!/usr/bin/env bash
# The aarch64 build (make CROSS=aarch64-linux-gnu-, into build-aarch64)
# tested under qemu-aarch64 on this machine: the unit tests, the library's
# PLT check, and the integration tests whose programs are the project's own
# C programs (tests/progs), each run plainly and preloaded, both emulated.
# make check-aarch64 builds first and runs this.
#
# Usage: tests/aarch64/run.sh [PATTERN...]   (default: the list below)
#
# The integration tests are tests/integration's own, unchanged, run by its
# runner with TEST_EMULATOR set (lib.sh), plus those of this directory
# (vfork, the signal cases whose originals also drive python3, the
# programs the originals compile with the host's cc). Shell utilities,
# python3, perl and dash are host programs: the aarch64 library cannot load
# into them, so the tests that drive them are not in the list.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export BUFSHIM_BUILD=${BUFSHIM_BUILD:-build-aarch64}
B=$ROOT/$BUFSHIM_BUILD
CROSS=${CROSS:-aarch64-linux-gnu-}
export TEST_EMULATOR=${TEST_EMULATOR:-qemu-aarch64} TEST_MORE_DIR=$HERE CROSS_CC=${CROSS}gcc

command -v "${TEST_EMULATOR%% *}" >/dev/null ||
	{ echo "${TEST_EMULATOR%% *} is missing: scripts/install-deps.sh --aarch64"; exit 1; }
[[ -x $B/libbufshim.so && -x $B/test_buffer ]] ||
	{ echo "build first: make CROSS=$CROSS check-build (or make check-aarch64)"; exit 1; }
# The emulated programs load the arm64 C library of this machine
# (libc6:arm64, which Check for arm64 needs too). Without it, the cross
# toolchain's copy; never a mix of the two: the C library of one with the
# dynamic loader of the other hangs in fork.
[[ -e /lib/ld-linux-aarch64.so.1 ]] || export QEMU_LD_PREFIX=/usr/${CROSS%-}

# $B/emulated/NAME runs $B/progs/NAME under the emulator (guest.c);
# libraries are linked as they are; host/ has what the programs exec
mkdir -p "$B/emulated/host"
cc -O2 -static -Wall -Wextra -Werror -o "$B/emulated/.guest" "$HERE/guest.c"
cc -O2 -static -Wall -Wextra -Werror -o "$B/emulated/host/echo" "$HERE/hostcmd.c"
ln -sfn echo "$B/emulated/host/cat"
ln -sfn echo "$B/emulated/host/env"
for p in "$B"/progs/*; do
	if [[ $p == *.so ]]; then
		ln -sfn "../progs/${p##*/}" "$B/emulated/${p##*/}"
	else
		ln -sfn .guest "$B/emulated/${p##*/}"
	fi
done

# The library calls none of its own exported names through the PLT
# (tests/plt_check.sh does this for x86-64's call and jmp).
plt_check() {
	local lib=$B/libbufshim.so plt exports both
	plt=$("${CROSS}objdump" -d "$lib" | sed -n 's/.*\sbl\?\s[^<]*<\([^>@]*\)@plt>.*/\1/p' | sort -u)
	exports=$("${CROSS}nm" -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | sort -u)
	[[ -n $plt ]] || { echo "plt_check: no PLT calls found in $lib: cannot check"; return 1; }
	both=$(comm -12 <(echo "$plt") <(echo "$exports"))
	[[ -z $both ]] || { echo "plt_check: the library calls its own exported names through the PLT:" $both; return 1; }
	echo "plt_check: $(wc -l <<<"$plt") PLT targets, none of them ours"
}
export -f plt_check
export B

# Check forks each test; the emulated children report back as on arm64.
UNIT='for t in test_buffer test_config; do $TEST_EMULATOR "$B/$t" || exit 1; done; plt_check'

TESTS=(
	# writes.sh
	c_writer_full_mode c_writer_bytes_in_every_mode c_writer_writev
	c_writer_line_mode_joins_pieces_of_a_line large_writes_straight_out_through_other_preloads
	refused_writes_answered_as_without_the_library
	# boundaries.sh
	fsync_fdatasync_close_make_bytes_visible fork_doubles_nothing
	write_is_still_a_cancellation_point seek_pwrite_ftruncate_see_earlier_writes
	vmsplice_comes_after_earlier_writes never_buffered_kinds_under_all fclose_delivers
	# signals.sh
	signal_handler_writing_every_100us faults_sigkill_loses_at_most_one_buffer
	faults_abort_and_assert_deliver_first signals_fatal_every_signal_raw_write
	signals_handlers_keep_their_flags signals_threads_die_losing_nothing
	# coherence.sh, stdio.sh, own_file.sh
	threads_tear_no_record
	stdio_and_raw_writes_keep_order_everywhere stdio_setvbuf_and_raw_writes_keep_order_everywhere
	stdio_ftell_freopen_fclose_wide other_streams_and_dprintf_keep_order_under_all
	stdio_coprocess_does_not_deadlock stdio_fflush_null_costs_nothing stdio_prompt_shows_on_a_terminal
	looking_at_its_own_file_sees_every_byte stdout_and_own_streams_appending_to_one_log
	# faults.sh
	faults_eintr_and_eagain_are_retried faults_enospc_reported_once_file_an_exact_prefix
	faults_on_every_delivery_reach_the_program faults_failure_at_exit_said_once
	faults_epipe_with_sigpipe_default_and_ignored faults_fd_closed_behind_our_back
	write_error_reaches_the_program bad_setting_fails_open bad_settings_table
	# waits.sh
	coprocess_over_pipes_does_not_deadlock waits_zero_timeout_sees_our_own_bytes
	flush_ms_timer_delivers_each_byte_once waits_other_threads_deliver_first
	waits_locks_and_ipc_deliver_first
	# frontend.sh
	exports_only_hooks
	# this directory
	emulated_
)
(( $# )) && TESTS=("$@")
exec "$ROOT/tests/integration/run.sh" --alongside "$UNIT" "${TESTS[@]}"
