#!/bin/sh
# SPDX-License-Identifier: MIT
# Install what building and testing bufshim needs, from Debian/Ubuntu packages.
#   scripts/install-deps.sh              install whatever is missing (root or sudo)
#   scripts/install-deps.sh --if-missing the same, but say nothing when all is there
#   scripts/install-deps.sh --all        also the tools of make check-all: valgrind,
#                                        cppcheck, clang, clang-tidy, clang's
#                                        sanitizer and fuzzer runtimes
#   scripts/install-deps.sh --bench      also what make bench uses beyond the tests:
#                                        gnuplot (the chart), mawk (a program it
#                                        times), valgrind (instruction counts)
#   scripts/install-deps.sh --demo       only what make demo needs: a C compiler,
#                                        make, strace, dash, perl (no Check)
#   scripts/install-deps.sh --package    only what building and checking the Debian
#                                        package needs (scripts/check-package.sh):
#                                        build-essential, debhelper, dpkg-dev,
#                                        lintian, Check and pkg-config (its unit tests)
#   scripts/install-deps.sh --aarch64    what make check-aarch64 needs besides make
#                                        check's: the cross compiler, qemu-user and
#                                        Check for arm64 (dpkg's arm64 architecture
#                                        is added for it: libc6:arm64 comes along)
# --if-missing goes with any of them. On other systems, install: a C compiler,
# make, pkg-config, Check (libcheck), strace, and the programs the tests drive
# (dash, perl, python3; optional).
set -eu

quiet=0
mode="tests"
for arg; do
	case $arg in
	--if-missing) quiet=1 ;;
	--all | --bench | --demo | --package | --aarch64) mode=${arg#--} ;;
	*)
		echo "install-deps: $arg: unknown option" >&2
		exit 2
		;;
	esac
done

missing=""
need() { # need COMMAND PACKAGE: PACKAGE unless COMMAND is there
	command -v "$1" >/dev/null 2>&1 || missing="$missing $2"
}

# --bench: gnuplot draws the chart in BENCHMARKS.md, mawk is one of the
# whole programs timed, valgrind counts start-up instructions; node is timed
# where it is installed, never installed here
if [ "$mode" = all ]; then
	need valgrind valgrind
	need cppcheck cppcheck
	need clang clang
	need clang-tidy clang-tidy
	# libFuzzer and clang's sanitizer runtimes, for the clang that is here
	v=$(clang --version 2>/dev/null | sed -n 's/.*clang version \([0-9]*\).*/\1/p')
	[ -n "$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null | grep /)" ] ||
		missing="$missing libclang-rt-${v:-14}-dev"
fi
if [ "$mode" = bench ]; then
	need gnuplot gnuplot-nox
	need stdbuf coreutils
	need mawk mawk
	need valgrind valgrind
fi
need cc gcc
need make make
add_arch=""
case $mode in
aarch64)
	need aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
	[ -e /usr/aarch64-linux-gnu/include/stdio.h ] || missing="$missing libc6-dev-arm64-cross"
	need qemu-aarch64 qemu-user
	# a static C library for the host: tests/aarch64/guest.c is built static
	[ -e "$(cc -print-file-name=libc.a 2>/dev/null)" ] || missing="$missing libc6-dev"
	need pkg-config pkg-config
	PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig pkg-config --exists check 2>/dev/null ||
		{ missing="$missing check:arm64"; add_arch=arm64; }
	need strace strace
	need objdump binutils
	;;
demo)
	need strace strace
	need dash dash
	need perl perl
	;;
package)
	# dpkg-buildpackage checks build-essential as well as Build-Depends
	dpkg-query -W -f '${Status}' build-essential 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing build-essential"
	need dh debhelper
	need dpkg-buildpackage dpkg-dev
	need lintian lintian
	need pkg-config pkg-config
	pkg-config --exists check 2>/dev/null || missing="$missing check"
	;;
*)
	need pkg-config pkg-config
	pkg-config --exists check 2>/dev/null || missing="$missing check"
	need strace strace
	need dash dash
	need perl perl
	need python3 python3
	need nm binutils
	;;
esac

if [ -z "$missing" ]; then
	[ "$quiet" = 1 ] || echo "install-deps: everything is installed"
	exit 0
fi

echo "install-deps: installing:$missing"
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: no apt-get here; install these yourself:$missing" >&2
	exit 1
fi
if [ "$(id -u)" = 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	echo "install-deps: not root and no sudo; run as root: apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [ -n "$add_arch" ] && ! dpkg --print-foreign-architectures | grep -qx "$add_arch"; then
	$sudo dpkg --add-architecture "$add_arch"
fi
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "install-deps: done"
