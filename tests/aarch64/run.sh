#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The aarch64 build (make CROSS=aarch64-linux-gnu-, into build-aarch64)
# tested under qemu-aarch64 on this machine: the unit tests, the library's
# PLT check, and the integration tests whose programs are the project's own
# C programs (tests/progs), each run plainly and preloaded, both emulated.
# make check-aarch64 builds first and runs this.
#
# Usage: tests/aarch64/run.sh [PATTERN...]   (default: all of them)
#
# The integration tests are tests/integration's own, unchanged, run by its
# runner with TEST_EMULATOR set (lib.sh), plus those of this directory
# (emulated.sh: vfork, the checks of our programs that tests elsewhere
# make beside python3, perl or shells, the programs the originals compile
# with the host's cc). python3, perl, the shells and coreutils are host
# programs: the aarch64 library cannot load into them, so the tests that
# preload into them are left out, each with its reason (left-out); the
# runner says skip for each. A new test runs here unless it is listed.
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
UNIT='for t in test_buffer test_config test_local test_async; do $TEST_EMULATOR "$B/$t" || exit 1; done; plt_check'

# Every integration test runs but those left-out lists, each with its reason
export TEST_LEFT_OUT=$HERE/left-out
exec "$ROOT/tests/integration/run.sh" --alongside "$UNIT" "$@"
