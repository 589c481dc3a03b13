#!/bin/sh
# Noisy neighbour: the host's fork+exec latency while a fork bomb runs in a
# container with vessel's defaults (pids limit 2048), against the same host
# idle, in one run; and, for contrast, the same bomb with --pids-limit -1
# (no process limit). Both bombs run under a memory limit and are removed
# after a few seconds, so the host survives the unlimited one.
# Target (docs/configuration.md): default container <= 2x idle.
# Usage: sh bench/fork-bomb.sh [SECONDS]   (measured seconds per phase,
# default 3; run as root). Results are printed, never committed.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
vessel=${VESSEL:-$here/build/vessel}
secs=${1:-3}
[ -x "$vessel" ] || { echo "fork-bomb: $vessel not built (make)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "fork-bomb: must run as root" >&2; exit 1; }

tmp=$(mktemp -d /var/tmp/vessel-bench.XXXXXX)
export VESSEL_ROOT="$tmp/data" VESSEL_RUNTIME_ROOT="$tmp/run"
export VESSEL_SYSTEM_CONFIG="$tmp/no-system.json" XDG_CONFIG_HOME="$tmp/xdg"
unset VESSEL_CONFIG
cleanup() {
	"$vessel" rm -f bomb >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# Fork+exec of /bin/true for $1 seconds; prints "median_ms p99_ms count";
# with a container pid as $2, also the peak of its pids.current.
measure() {
	/usr/bin/python3 - "$1" "${2:-}" <<'PY'
import os, sys, time
secs, pid = float(sys.argv[1]), sys.argv[2]
cur = None
if pid:
    for line in open(f"/proc/{pid}/cgroup"):
        _, ctrls, path = line.rstrip("\n").split(":", 2)
        if "pids" in ctrls.split(","):
            cur = f"/sys/fs/cgroup/pids{path}/pids.current"
    if cur is None:
        for line in open(f"/proc/{pid}/cgroup"):
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if ctrls == "" and os.path.exists(f"/sys/fs/cgroup{path}/pids.current"):
                cur = f"/sys/fs/cgroup{path}/pids.current"
times, peak, end = [], 0, time.monotonic() + secs
while time.monotonic() < end:
    t = time.perf_counter()
    child = os.fork()
    if child == 0:
        try:
            os.execv("/bin/true", ["true"])
        finally:
            os._exit(127)
    os.waitpid(child, 0)
    times.append((time.perf_counter() - t) * 1000)
    if cur:
        try:
            peak = max(peak, int(open(cur).read()))
        except OSError:
            pass
times.sort()
print(f"{times[len(times)//2]:.3f} {times[int(len(times)*0.99)]:.3f} {len(times)} {peak}")
PY
}

bomb() { # NAME FLAGS...: starts the bomb detached, prints the init pid
	"$vessel" run -d --name bomb -m 256m "$@" busybox sh -c 'f() { f | f & }; f; sleep 60' \
		>/dev/null || return 1
	"$vessel" inspect --format '{{.State.Pid}}' bomb
}

"$vessel" run --rm busybox true >/dev/null || { echo "fork-bomb: vessel run failed" >&2; exit 1; }
set -- $(measure "$secs")
idle_med=$1 idle_p99=$2 idle_n=$3

pid=$(bomb) || exit 1
sleep 1
set -- $(measure "$secs" "$pid")
def_med=$1 def_p99=$2 def_n=$3 def_peak=$4
"$vessel" rm -f bomb >/dev/null

pid=$(bomb --pids-limit -1) || exit 1
sleep 1
set -- $(measure "$secs" "$pid")
unl_med=$1 unl_p99=$2 unl_n=$3 unl_peak=$4
"$vessel" rm -f bomb >/dev/null

printf '\nHost fork+exec of /bin/true, %ss per phase (median / p99 ms, runs):\n' "$secs"
printf '  %-36s %8s / %-8s %6s\n' "idle" "$idle_med" "$idle_p99" "$idle_n"
printf '  %-36s %8s / %-8s %6s  peak pids %s\n' "fork bomb, default container" \
	"$def_med" "$def_p99" "$def_n" "$def_peak"
printf '  %-36s %8s / %-8s %6s  peak pids %s\n' "fork bomb, --pids-limit -1 (contrast)" \
	"$unl_med" "$unl_p99" "$unl_n" "$unl_peak"
awk -v i="$idle_med" -v d="$def_med" -v u="$unl_med" 'BEGIN {
	printf "  default/idle %.2fx (target <= 2x: %s); unlimited/idle %.2fx\n",
	       d / i, (d / i <= 2 ? "met" : "NOT met"), u / i }'
