#!/bin/sh
# `make bench`: container start latency of vessel against two floors (a bare
# clone + pivot_root + exec, and `floor --full`: the kernel work the default
# config requires), runc and crun, all measured in this run, and vessel's
# peak RSS. Prints the table from build/bench/start-latency and whether the
# targets are met. See docs/benchmarks.md.
#
# Environment: BENCH_N      measured iterations per contender (default 200)
#              BENCH_WARMUP unmeasured iterations first (default 5)
#              RUNC, CRUN   peer runtimes (default: from PATH; "" skips one)
#              VESSEL       the vessel binary (default: build/vessel)
# Exit status: 0 when vessel was measured (targets met or not), 1 otherwise.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build
vessel=${VESSEL:-$build/vessel}
floor=$build/bench/floor
harness=$build/bench/start-latency
n=${BENCH_N:-200}
warmup=${BENCH_WARMUP:-5}
runc=${RUNC-$(command -v runc || true)}
crun=${CRUN-$(command -v crun || true)}

die() {
	echo "bench: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root: containers need namespaces and mounts"
for bin in "$vessel" "$floor" "$harness"; do
	[ -x "$bin" ] || die "$bin is not built (run: make all build/bench/floor build/bench/start-latency)"
done
case $n in '' | *[!0-9]*) die "BENCH_N must be a positive number, not '$n'" ;; esac
[ "$n" -gt 0 ] || die "BENCH_N must be a positive number, not '$n'"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench.XXXXXX")
state=$tmp/state

# Remove whatever a failed or interrupted run left: containers in the private
# runtime roots (their cgroups and processes go with them), then the files.
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	for pair in vessel_run:"$vessel" vessel_steps:"$vessel" runc_run:"$runc" crun_run:"$crun"; do
		key=${pair%%:*}
		bin=${pair#*:}
		root=$state/$key-root
		if [ -z "$bin" ] || [ ! -d "$root" ]; then continue; fi
		for id in $("$bin" --root "$root" list -q 2>/dev/null); do
			"$bin" --root "$root" delete --force "$id" >/dev/null 2>&1 ||
				echo "bench: could not delete leftover container $id in $root" >&2
		done
	done
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$state"
VESSEL=$vessel sh "$here/scripts/mkbundle.sh" "$tmp/bundle" /bin/true
# Declare the runtime-spec version runc's own spec writes: crun 1.8 rejects
# any other with "unknown version specified". Every contender reads this one
# config.json; nothing else in it changes.
/usr/bin/python3 - "$tmp/bundle/config.json" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    cfg = json.load(f)
cfg["ociVersion"] = "1.0.2-dev"
with open(sys.argv[1], "w") as f:
    json.dump(cfg, f, indent=2)
PY

set -- --bundle "$tmp/bundle" --tmpdir "$state" -n "$n" -w "$warmup" --json "$tmp/results.json" \
	--floor "$floor" --full-floor "$floor" --vessel "$vessel"
skipped=""
if [ -n "$runc" ]; then set -- "$@" --runc "$runc"; else skipped="$skipped runc"; fi
if [ -n "$crun" ]; then set -- "$@" --crun "$crun"; else skipped="$skipped crun"; fi

echo "vessel start-latency benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "host: $(uname -sr), $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	echo "cgroups: v2 (unified)"
elif [ -d /sys/fs/cgroup/unified ]; then
	echo "cgroups: hybrid (v1 controllers + cgroup2 at /sys/fs/cgroup/unified)"
else
	echo "cgroups: v1"
fi
for rt in "$runc" "$crun"; do
	[ -n "$rt" ] && echo "peer: $rt ($("$rt" --version 2>/dev/null | head -n 1))"
done
[ -z "$skipped" ] || echo "not installed, skipped:$skipped"
echo

"$harness" "$@"

echo
/usr/bin/python3 - "$tmp/results.json" <<'PY'
import json, sys

with open(sys.argv[1]) as f:
    results = {c["key"]: c for c in json.load(f)["contenders"]}

def verdict(ok):
    return "met" if ok else "NOT met"

def unmeasured(*keys):
    for key in keys:
        c = results.get(key)
        if c is None:
            return f"not measured ({key.split('_')[0]} not installed)"
        if not c["ok"]:
            return f"NOT met ({c['label']} failed)"
    return None

print("targets (all figures from this run):")
rows = []
why = unmeasured("full_floor", "vessel_run")
if why:
    rows.append(("vessel run / full floor, median", "<= 1.3", why))
else:
    r = results["vessel_run"]["median_ms"] / results["full_floor"]["median_ms"]
    rows.append(("vessel run / full floor, median", "<= 1.3", f"{r:6.2f}  {verdict(r <= 1.3)}"))

why = unmeasured("runc_run", "vessel_run")
if why:
    rows.append(("runc run / vessel run, median", ">= 3.5", why))
else:
    r = results["runc_run"]["median_ms"] / results["vessel_run"]["median_ms"]
    rows.append(("runc run / vessel run, median", ">= 3.5", f"{r:6.2f}  {verdict(r >= 3.5)}"))

why = unmeasured("floor", "vessel_run")
if not why:
    r = results["vessel_run"]["median_ms"] / results["floor"]["median_ms"]
    rows.append(("vessel run / bare floor, median", "-", f"{r:6.2f}  (for reference)"))

vessel = [results[k] for k in ("vessel_run", "vessel_steps") if k in results and results[k]["ok"]]
if not vessel:
    rows.append(("vessel peak RSS", "< 4 MiB", "NOT met (vessel failed)"))
else:
    mib = max(c["peak_rss_kib"] for c in vessel) / 1024
    rows.append(("vessel peak RSS", "< 4 MiB", f"{mib:6.2f}  {verdict(mib < 4)}  (MiB)"))

for what, target, outcome in rows:
    print(f"  {what:34} target {target:8} measured {outcome}")
PY

# vessel must have been measured for the run to count.
/usr/bin/python3 -c '
import json, sys
c = {c["key"]: c for c in json.load(open(sys.argv[1]))["contenders"]}
sys.exit(0 if c["vessel_run"]["ok"] and c["vessel_steps"]["ok"] else 1)
' "$tmp/results.json" || die "vessel could not start the benchmark container (see FAILED above)"
