#!/bin/sh
# Runs the cmocka unit tests (ASan/UBSan build). Prints per-binary results
# and writes "passed failed skipped" totals to $UNIT_COUNTS when set. $UNIT_RUNNER,
# when set, runs each binary (qemu-aarch64 for a cross build: make cross-test).
set -u
runner=${UNIT_RUNNER:-}
label=${UNIT_LABEL:-unit}
if [ -n "$runner" ] && ! command -v "${runner%% *}" >/dev/null 2>&1; then
	echo "$label: ${runner%% *} not found (scripts/deps.sh installs qemu-user)"
	[ -n "${UNIT_COUNTS:-}" ] && echo "0 1 0" >"$UNIT_COUNTS"
	exit 1
fi
passed=0
failed=0
skipped=0
for t in "$@"; do
	# shellcheck disable=SC2086
	out=$($runner "$t" 2>&1)
	rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
	s=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | tail -n1)
	p=${p:-0}
	f=${f:-0}
	s=${s:-0}
	# Why tests were skipped: cmocka's print_message("skipped: ...") lines,
	# or a whole binary's "[  SKIPPED ] name: reason".
	why=$(printf '%s\n' "$out" | grep -E '^skipped: |^\[  SKIPPED \] [a-z_]+[: ]' | sort -u)
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# crashed (sanitizer report, abort): count the binary as one failure
		f=1
	fi
	if [ "$f" -ne 0 ]; then
		printf '%s\n' "$out"
		echo "FAIL $(basename "$t"): $p passed, $f failed"
	elif [ -n "$why" ] && [ "$p" -eq 0 ] && [ "$s" -eq 0 ]; then
		echo "ok   $(basename "$t"): skipped"
		printf '%s\n' "$why" | sed 's/^/       /'
	elif [ -n "$why" ]; then
		echo "ok   $(basename "$t"): $p passed, $s skipped"
		printf '%s\n' "$why" | sed 's/^/       /'
	else
		echo "ok   $(basename "$t"): $p passed"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
done
echo "$label: $passed passed, $failed failed, $skipped skipped"
[ -n "${UNIT_COUNTS:-}" ] && echo "$passed $failed $skipped" >"$UNIT_COUNTS"
[ "$failed" -eq 0 ]
