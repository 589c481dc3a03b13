#!/bin/sh
# Runs libFuzzer targets for SECONDS each, two at a time, under nice -n 19.
#   sh tests/fuzz/run.sh SECONDS build/fuzz/fuzz_x ...
# Smoke mode (default, `make test`): each target starts from a scratch copy
# of tests/fuzz/corpus/<x> (the repo's corpus never grows by itself).
# FUZZ_LONG=1 (`make fuzz-long`): the corpus is build/fuzz/corpus-long/<x>,
# kept between runs. A target passes when libFuzzer found nothing; a finding
# is saved as build/fuzz/artifacts/<x>-crash-... and its report printed.
# Prints one line per target (executions reached) and writes "passed failed"
# to $FUZZ_COUNTS when set. Exit status: 0 when every target passed.
set -u
cd "$(dirname "$0")/../.." || exit 1
secs=$1
shift
# Scratch space on tmpfs when there is one: the harnesses write files for
# every input (state files, stores, unpacked layers), and a disk shared
# with other work makes that 5-25 times slower.
base=${FUZZ_TMPDIR:-/dev/shm}
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
dir=$(mktemp -d "$base/vessel-fuzz-run.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
mkdir -p build/fuzz/artifacts

dicts_for() {
	case $1 in
	oci_config) echo "json oci_config" ;;
	state) echo "json state" ;;
	ctr_record) echo "json ctr_record" ;;
	manifest | store_index | image_config) echo "json image" ;;
	archive) echo "image layer" ;;
	layer_unpack) echo "layer" ;;
	engine_values) echo "engine_values" ;;
	config) echo "json config" ;;
	dockerfile) echo "dockerfile" ;;
	template) echo "template" ;;
	esac
}

# run_one BINARY: runs one target, leaves its verdict in $dir/<name>.result
run_one() {
	bin=$1
	name=$(basename "$bin")
	what=${name#fuzz_}
	if [ "${FUZZ_LONG:-0}" = 1 ]; then
		corpus=build/fuzz/corpus-long/$what
		mkdir -p "$corpus"
		[ -d "tests/fuzz/corpus/$what" ] && cp -n "tests/fuzz/corpus/$what"/* "$corpus"/ 2>/dev/null
	else
		corpus=$dir/corpus-$what
		mkdir -p "$corpus"
		[ -d "tests/fuzz/corpus/$what" ] && cp "tests/fuzz/corpus/$what"/* "$corpus"/ 2>/dev/null
	fi
	dict=$dir/$what.dict
	: >"$dict"
	for d in $(dicts_for "$what"); do
		cat "tests/fuzz/$d.dict" >>"$dict"
	done
	dictarg=
	[ -s "$dict" ] && dictarg=-dict=$dict
	log=$dir/$what.log
	start=$(date +%s)
	# Each target gets its own TMPDIR (the harnesses make their scratch
	# dirs there), removed afterwards even when the target crashed.
	mkdir -p "$dir/tmp-$what"
	TMPDIR=$dir/tmp-$what ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		nice -n 19 "$bin" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="build/fuzz/artifacts/$what-" \
		$dictarg "$corpus" >"$log" 2>&1
	rc=$?
	rm -rf "$dir/tmp-$what"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	cov=$(sed -n 's/^#[0-9].*cov: \([0-9]*\).*/\1/p' "$log" | tail -n1)
	took=$(($(date +%s) - start))
	if [ "$rc" -eq 0 ]; then
		echo "ok   $name: ${execs:-?} executions in ${took}s, coverage ${cov:-?}" >"$dir/$what.result"
	else
		{
			tail -n 60 "$log"
			echo "FAIL $name (exit $rc): ${execs:-?} executions; input saved under build/fuzz/artifacts/$what-*"
		} >"$dir/$what.result"
	fi
}

pids=""
for bin in "$@"; do
	run_one "$bin" &
	pids="$pids $!"
	set -- $pids
	if [ $# -ge 2 ]; then
		wait "$1"
		pids=$(echo "$pids" | sed "s/^ *$1//")
	fi
done
wait

passed=0
failed=0
for r in "$dir"/*.result; do
	[ -e "$r" ] || continue
	cat "$r"
	if grep -q '^ok ' "$r"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ -n "${FUZZ_COUNTS:-}" ] && echo "$passed $failed" >"$FUZZ_COUNTS"
[ "$failed" -eq 0 ]
