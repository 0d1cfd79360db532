#!/bin/sh
# SPDX-License-Identifier: MIT
# spdx_check.sh: every source file of the repository says its licence in
# its first three lines (LICENSE holds the text).
cd "$(dirname "$0")/.." || exit 2
missing=$(git ls-files 2>/dev/null | grep -E '\.(c|h|sh|py|S)$|(^|/)Makefile$|^cmd/|^scripts/|^\.ci/run$' |
	grep -vE '^debian/|\.(md|1|png)$' | while read -r f; do
		[ -f "$f" ] || continue
		head -3 "$f" | grep -q 'SPDX-License-Identifier: MIT' || echo "$f"
	done)
if [ -n "$missing" ]; then
	echo "spdx_check: no SPDX-License-Identifier line in:"
	echo "$missing"
	exit 1
fi
echo "     spdx_check: every source file names its licence"
