#!/bin/sh
# Runs the cmocka unit tests (ASan/UBSan build). Prints per-binary results
# and writes "passed failed" totals to $UNIT_COUNTS when set.
set -u
passed=0
failed=0
for t in "$@"; do
	out=$("$t" 2>&1)
	rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# crashed (sanitizer report, abort): count the binary as one failure
		f=1
	fi
	if [ "$f" -ne 0 ]; then
		printf '%s\n' "$out"
		echo "FAIL $(basename "$t"): $p passed, $f failed"
	else
		echo "ok   $(basename "$t"): $p passed"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
done
echo "unit: $passed passed, $failed failed"
[ -n "${UNIT_COUNTS:-}" ] && echo "$passed $failed" >"$UNIT_COUNTS"
[ "$failed" -eq 0 ]
