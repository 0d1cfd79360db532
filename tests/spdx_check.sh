#!/bin/sh
# SPDX-License-Identifier: MIT
# spdx_check.sh: every source file of the repository says its licence in
# its first three lines (LICENSE holds the text).
cd "$(dirname "$0")/.." || exit 2
files=$(git ls-files 2>/dev/null | grep -E '\.(c|h|sh|py|S)$|(^|/)Makefile$|^cmd/|^scripts/|^\.ci/run$' |
	grep -vE '^debian/|\.(md|1|png)$' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
[ -n "$files" ] || { echo "spdx_check: no source files found: cannot check"; exit 1; }
# one head for all of them: "==> FILE <==" and its first three lines
# shellcheck disable=SC2086 # the names have no spaces (git ls-files above)
missing=$(head -v -n 3 -- $files | awk '
	/^==> .* <==$/ { if (f != "" && !ok) print f; f = substr($0, 5, length($0) - 8); ok = 0; next }
	/SPDX-License-Identifier: MIT/ { ok = 1 }
	END { if (f != "" && !ok) print f }')
if [ -n "$missing" ]; then
	echo "spdx_check: no SPDX-License-Identifier line in:"
	echo "$missing"
	exit 1
fi
echo "     spdx_check: every source file names its licence ($(echo "$files" | wc -l) files)"
