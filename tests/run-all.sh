#!/bin/sh
# The whole test run behind `make test`: unit tests (sanitizer build), the
# cross-built unit tests under qemu-user when $CROSS_UNITS lists them (run by
# $CROSS_RUNNER), then the integration tests against build/vessel, then one
# closing line "N passed, M failed[, K skipped]".
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
echo "unit: $up passed, $uf failed, $us skipped; integration: $ip passed, $if_ failed, $is skipped"
echo "$((up + ip)) passed, $((uf + if_)) failed, $((us + is)) skipped"
[ $((uf + if_)) -eq 0 ]
