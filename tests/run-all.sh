#!/bin/sh
# The whole test run behind `make test`: unit tests (sanitizer build), the
# cross-built unit tests under qemu-user when $CROSS_UNITS lists them (run by
# $CROSS_RUNNER), the fuzz targets' smoke run, then the integration tests
# against build/vessel, then one closing line "N passed, M failed[, K skipped]".
set -u
cd "$(dirname "$0")/.."
tmp=$(mktemp -d /tmp/vessel-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

UNIT_COUNTS=$tmp/unit sh tests/run-unit.sh "$@"
read -r up uf us <"$tmp/unit" || { up=0; uf=1; us=0; }
if [ -n "${CROSS_UNITS:-}" ]; then
	# shellcheck disable=SC2086
	UNIT_COUNTS=$tmp/cross UNIT_RUNNER=$CROSS_RUNNER UNIT_LABEL="unit ($CROSS_RUNNER)" \
		sh tests/run-unit.sh $CROSS_UNITS
	read -r cp cf cs <"$tmp/cross" || { cp=0; cf=1; cs=0; }
	up=$((up + cp))
	uf=$((uf + cf))
	us=$((us + cs))
fi

# Every fuzz target for a short time on its corpus (tests/fuzz/run.sh): one
# pass or fail per target.
set -- build/fuzz/fuzz_*
if [ -x "$1" ]; then
	FUZZ_COUNTS=$tmp/fuzz sh tests/fuzz/run.sh "${FUZZ_SMOKE_SECONDS:-15}" "$@"
	read -r fp ff <"$tmp/fuzz" || { fp=0; ff=1; }
else
	echo "FAIL fuzz: no targets under build/fuzz (make fuzz)"
	fp=0 ff=1
fi

/usr/bin/python3 -m pytest tests/integration -q -rs -p no:cacheprovider \
	--junitxml="$tmp/junit.xml" 2>&1 | tee "$tmp/pytest.log"
counts=$(/usr/bin/python3 - "$tmp/junit.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print("0 1 0"); sys.exit()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = f = s = 0
for su in suites:
    t += int(su.get("tests", 0)); s += int(su.get("skipped", 0))
    f += int(su.get("failures", 0)) + int(su.get("errors", 0))
print(t - f - s, f, s)
PY
)
set -- $counts
ip=$1 if_=$2 is=$3
echo
echo "unit: $up passed, $uf failed, $us skipped; fuzz: $fp passed, $ff failed; integration: $ip passed, $if_ failed, $is skipped"
echo "$((up + fp + ip)) passed, $((uf + ff + if_)) failed, $((us + is)) skipped"
[ $((uf + ff + if_)) -eq 0 ]
