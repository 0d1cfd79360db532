# Signals: a handler writing while the program writes, SIGKILL, abort()
# and a failed assert.

test_signal_handler_writing_every_100us() {
	shim_within 120 BUFSHIM_MODE=full "$P/boundaries" signals >"$T/out" 2>"$T/err" ||
		fail "exit $? (deadlock?)"
	local fired
	fired=$(awk '{print $2}' "$T/err")
	(( fired > 0 )) || fail "the handler never ran"
	[[ $(grep -c '^S$' "$T/out") == "$fired" ]] || fail "handler wrote $fired lines, $(grep -c '^S$' "$T/out") arrived"
	awk '/^R / { if ($2 != n++) { print "record " $2 " where " n-1 " was due"; exit 1 } }
	     END { if (n != 300000) { print n " records"; exit 1 } }' "$T/out"
	echo "$fired handler writes"
}

test_faults_sigkill_loses_at_most_one_buffer() {
	{ "$P/faults" kill 1000 >"$T/plain"; } 2>/dev/null || true
	{ shim BUFSHIM_MODE=full "$P/faults" kill 1000 >"$T/out"; } 2>/dev/null || true
	local n
	n=$(stat -c %s "$T/out")
	(( $(stat -c %s "$T/plain") == 39000 && n >= 39000 - 4096 )) || fail "$n of 39000 bytes"
	cmp -s "$T/out" <(head -c "$n" "$T/plain") || fail "not a prefix"
	echo "$((39000 - n)) bytes lost"
}

test_faults_abort_and_assert_deliver_first() {
	local st=0
	shim BUFSHIM_MODE=full "$P/faults" abort 1000 >"$T/out" 2>/dev/null || st=$?
	(( st == 134 )) || fail "abort: status $st"
	(( $(stat -c %s "$T/out") == 39000 )) || fail "abort lost output: $(stat -c %s "$T/out") bytes"
	st=0
	shim BUFSHIM_FDS=1,2 BUFSHIM_MODE=full "$P/faults" assert 1000 >"$T/out" 2>"$T/err" || st=$?
	(( st == 134 )) || fail "assert: status $st"
	(( $(stat -c %s "$T/out") == 39000 )) || fail "assert lost output"
	grep -q '^about to fail$' "$T/err" && grep -q "Assertion \`n < 0' failed" "$T/err" ||
		fail "assert: stderr: $(cat "$T/err")"
}
