#!/bin/sh
# SPDX-License-Identifier: MIT
# Install what building and testing bufshim needs, from Debian/Ubuntu packages.
#   scripts/install-deps.sh              install whatever is missing (root or sudo)
#   scripts/install-deps.sh --if-missing the same, but say nothing when all is there
#   scripts/install-deps.sh --all        also the tools of make check-all: valgrind,
#                                        cppcheck, clang, clang-tidy, clang's
#                                        sanitizer and fuzzer runtimes
#   scripts/install-deps.sh --bench      also gnuplot, for the chart of make bench
# On other systems, install: a C compiler, make, pkg-config, Check (libcheck),
# strace, and the programs the tests drive (dash, perl, python3; optional).
set -eu

quiet=0
[ "${1:-}" = --if-missing ] && quiet=1

missing=""
# --bench: gnuplot draws the chart in BENCHMARKS.md; nothing else needs it
if [ "${1:-}" = --all ]; then
	command -v valgrind >/dev/null 2>&1 || missing="$missing valgrind"
	command -v cppcheck >/dev/null 2>&1 || missing="$missing cppcheck"
	command -v clang >/dev/null 2>&1 || missing="$missing clang"
	command -v clang-tidy >/dev/null 2>&1 || missing="$missing clang-tidy"
	# libFuzzer and clang's sanitizer runtimes, for the clang that is here
	v=$(clang --version 2>/dev/null | sed -n 's/.*clang version \([0-9]*\).*/\1/p')
	[ -n "$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null | grep /)" ] ||
		missing="$missing libclang-rt-${v:-14}-dev"
fi
if [ "${1:-}" = --bench ]; then
	command -v gnuplot >/dev/null 2>&1 || missing="gnuplot-nox"
	command -v stdbuf >/dev/null 2>&1 || missing="$missing coreutils"
fi
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
command -v make >/dev/null 2>&1 || missing="$missing make"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
pkg-config --exists check 2>/dev/null || missing="$missing check"
command -v strace >/dev/null 2>&1 || missing="$missing strace"
command -v dash >/dev/null 2>&1 || missing="$missing dash"
command -v perl >/dev/null 2>&1 || missing="$missing perl"
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
command -v nm >/dev/null 2>&1 || missing="$missing binutils"

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
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "install-deps: done"
