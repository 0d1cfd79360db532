#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the Debian package from a copy of this tree (the tree stays clean),
# check it with lintian (errors fail), install it, use the installed command,
# remove it and check that nothing is left. Needs root (or sudo) for
# dpkg -i / -r; installs its tools with install-deps.sh --package.
#   scripts/check-package.sh            build, lint, install, try, remove
#   scripts/check-package.sh --keep DIR also copy the built .deb files to DIR
# A bufshim package installed before is replaced, then removed.
set -eu

keep=""
case ${1:-} in
--keep) keep=${2:?--keep needs a directory} ;;
"") ;;
*)
	echo "check-package: $1: unknown option" >&2
	exit 2
	;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" --package --if-missing

sudo=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "check-package: dpkg -i needs root (or sudo)" >&2; exit 1; }
	sudo=sudo
fi

version=$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
deb=bufshim_${version}_$arch.deb

t=$(mktemp -d)
installed=0
cleanup() {
	[ "$installed" = 1 ] && $sudo dpkg -r bufshim >/dev/null 2>&1
	rm -rf "$t"
}
trap cleanup EXIT
passed=0
ok() {
	passed=$((passed + 1))
	[ -z "$*" ] || echo "check-package: $*"
}
fail() {
	echo "check-package: FAIL: $*" >&2
	echo "check-package: $passed passed, 1 failed"
	exit 1
}

# ---- build, from a copy: the files git knows (committed or not), else all
src=$t/bufshim-${version%-*}
mkdir "$src"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$root" && git ls-files -z -co --exclude-standard) | (cd "$root" && xargs -0 tar -cf -) | tar -xf - -C "$src"
else
	(cd "$root" && tar -cf - --exclude='./build*' --exclude=./debian/bufshim --exclude=./debian/.debhelper .) |
		tar -xf - -C "$src"
fi
start=$(date +%s)
# nocheck: the unit tests that debian/rules runs take 20 s here, and make
# check runs them already; a build for users runs them.
(cd "$src" && DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" dpkg-buildpackage -us -uc -b -Pnocheck) \
	>"$t/build.log" 2>&1 ||
	{ tail -40 "$t/build.log" >&2; fail "dpkg-buildpackage (log above)"; }
[ -f "$t/$deb" ] || fail "no $deb was built"
ok "built $deb in $(($(date +%s) - start)) s"
[ -z "$keep" ] || { mkdir -p "$keep" && cp "$t"/*.deb "$keep"/; }

# dh_strip kept the debug symbols: each binary's build ID has its file in
# the -dbgsym package
dpkg-deb -x "$t/$deb" "$t/x"
dpkg-deb -c "$t/bufshim-dbgsym_${version}_$arch.deb" >"$t/dbgsym"
for f in usr/bin/bufshim "usr/lib/$multiarch/bufshim/libbufshim.so"; do
	id=$(readelf -n "$t/x/$f" | sed -n 's/.*Build ID: *//p')
	[ -n "$id" ] || fail "$f has no build ID"
	grep -q "/usr/lib/debug/.build-id/$(echo "$id" | cut -c1-2)/$(echo "$id" | cut -c3-).debug\$" "$t/dbgsym" ||
		fail "bufshim-dbgsym has no debug file for $f"
	readelf -S "$t/x/$f" | grep -q '\.debug_info' && fail "$f is not stripped"
done
ok "stripped, with the debug symbols in bufshim-dbgsym"

# ---- lintian: errors fail, warnings are shown
lintian --fail-on error "$t/$deb" >"$t/lintian" 2>&1 || { cat "$t/lintian" >&2; fail "lintian reports errors"; }
grep -E '^[EW]:' "$t/lintian" || true
ok "lintian: no errors"

# ---- install and use
if dpkg-query -W -f '${Status}' bufshim 2>/dev/null | grep -q 'ok installed'; then
	echo "check-package: note: replacing the bufshim package installed before"
fi
installed=1
$sudo dpkg -i "$t/$deb" >/dev/null
dpkg -L bufshim >"$t/files"

run() { env -i PATH=/usr/bin:/bin "$@"; }
lib=/usr/lib/$multiarch/bufshim/libbufshim.so
[ -f "$lib" ] || fail "$lib is not installed"
got=$(run /usr/bin/bufshim printenv LD_PRELOAD)
[ "$(readlink -f "$got")" = "$lib" ] || fail "the installed command preloads $got, not $lib"
ok "installed; the command preloads $got"
[ "$(run /usr/bin/bufshim --version)" = "bufshim ${version%-*}" ] || fail "bufshim --version"
ok

run /usr/bin/bufshim --stats -- dd if=/dev/zero bs=1 count=1000 status=none >"$t/out" 2>"$t/err" ||
	fail "bufshim dd failed: $(cat "$t/err")"
head -c 1000 /dev/zero | cmp -s - "$t/out" || fail "bufshim dd: the output is not 1000 zero bytes"
calls=$(sed -n 's/^bufshim: pid [0-9]* (dd): fd 1 (.*): 1000 writes, 1000 B in \([0-9]*\) syscalls\{0,1\} .*/\1/p' "$t/err")
if [ -z "$calls" ] || [ "$calls" -ge 1000 ]; then
	fail "stats: $(cat "$t/err")"
fi
ok "dd bs=1 count=1000 under the installed bufshim: the same 1000 bytes, in $calls write syscall(s)"

if command -v strace >/dev/null 2>&1; then
	run /usr/bin/bufshim-compare -- dd if=/dev/zero bs=1 count=1000 status=none >"$t/cmp" ||
		fail "bufshim-compare: $(cat "$t/cmp")"
	ok "the installed bufshim-compare says: identical"
fi

for page in bufshim bufshim-compare; do
	grep -qx "/usr/share/man/man1/$page.1.gz" "$t/files" || fail "no man page $page.1.gz in the package"
	if command -v man >/dev/null 2>&1 && [ -f "/usr/share/man/man1/$page.1.gz" ]; then
		man -w "$page" >/dev/null 2>&1 || fail "man -w $page finds no page"
	fi
	ok
done
comp=/usr/share/bash-completion/completions/bufshim
[ -f "$comp" ] || fail "no bash completion at $comp"
bash -c ". $comp && complete -p bufshim" >/dev/null || fail "the bash completion does not load"
ok

# ---- remove: every file the package installed is gone
$sudo dpkg -r bufshim >/dev/null
installed=0
left=$(while read -r f; do [ -d "$f" ] || [ ! -e "$f" ] || echo "$f"; done <"$t/files")
[ -z "$left" ] || fail "dpkg -r left: $left"
[ ! -e "/usr/lib/$multiarch/bufshim" ] || fail "dpkg -r left /usr/lib/$multiarch/bufshim"
ok "dpkg -r bufshim removed every file"
echo "check-package: $passed passed, 0 failed"
