#!/bin/sh
# Engine benchmark:
#   1. median wall time of N `vessel run --rm busybox true` (image, record,
#      monitor, overlay mount, logs, cleanup) against N `vessel runtime run`
#      of a bundle holding the same root filesystem (the OCI runtime alone),
#      and N `podman run --rm` of the same rootfs where podman works;
#   2. memory per detached container, as the host pays it: PSS and USS
#      (from /proc/PID/smaps_rollup) of vessel's monitor against podman's
#      conmon, 3 containers each; and vessel's own memory during a start: the
#      CLI's peak RSS (wait4) and PSS/USS while attached, the monitor's peak
#      RSS (VmHWM). See docs/benchmarks.md.
# Usage: sh bench/engine-run.sh [N]   (N defaults to 50; run as root)
# Everything lives in a temporary directory removed at the end; results are
# printed, never committed.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
vessel=${VESSEL:-$here/build/vessel}
n=${1:-50}
[ -x "$vessel" ] || { echo "engine-run: $vessel not built (make)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "engine-run: must run as root" >&2; exit 1; }

tmp=$(mktemp -d /var/tmp/vessel-bench.XXXXXX)
export VESSEL_ROOT="$tmp/data" VESSEL_RUNTIME_ROOT="$tmp/run"
pm="podman --root $tmp/podman/root --runroot $tmp/podman/run --cgroup-manager cgroupfs"
pm="$pm --events-backend file"
podman_ok=0
cleanup() {
	for c in $("$vessel" ps -aq 2>/dev/null); do "$vessel" rm -f "$c" >/dev/null 2>&1; done
	if [ $podman_ok = 1 ]; then
		$pm rm -af >/dev/null 2>&1
		$pm rmi -af >/dev/null 2>&1
		umount "$tmp/podman/root/overlay" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

now_ns() { date +%s%N; }

# median of the numbers on stdin, in ms with one decimal
median_ms() {
	sort -n | awk '{v[NR]=$1} END {
		if (NR == 0) { print "n/a"; exit }
		m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
		printf "%.1f", m / 1e6 }'
}

# time_n LABEL CMD...: runs CMD n times (stdout/stderr to a log), prints the
# median; stops at the first failure and prints "failed: <last error line>".
time_n() {
	label=$1
	shift
	: >"$tmp/times.$label"
	i=0
	while [ $i -lt "$n" ]; do
		t0=$(now_ns)
		if ! "$@" >"$tmp/out.$label" 2>&1; then
			echo "failed: $(tail -n 1 "$tmp/out.$label")"
			return 1
		fi
		t1=$(now_ns)
		echo $((t1 - t0)) >>"$tmp/times.$label"
		i=$((i + 1))
	done
	median_ms <"$tmp/times.$label"
}

echo "vessel engine benchmark: $n runs each, medians (ms)"
echo "binary: $vessel"

# Warm up: creates the busybox image and its unpacked layer.
"$vessel" run --rm busybox true >/dev/null 2>&1 ||
	{ echo "engine-run: vessel run busybox true fails:" >&2; "$vessel" run --rm busybox true; exit 1; }

# The same root filesystem as bundles for the runtime alone: one with
# runc's default config (`vessel spec`), one with the very config the engine
# generated for that container (its seccomp profile, mounts, limits).
mkdir -p "$tmp/bundle" "$tmp/bundle-engine"
"$vessel" run --name vessel-bench-cfg busybox true >/dev/null
cdir="$VESSEL_ROOT/containers/$("$vessel" inspect -f '{{.Id}}' vessel-bench-cfg)"
"$vessel" cp vessel-bench-cfg:/ "$tmp/bundle/" >/dev/null
cp "$cdir/config.json" "$cdir/hostname" "$cdir/hosts" "$cdir/resolv.conf" "$tmp/bundle-engine/"
"$vessel" rm vessel-bench-cfg >/dev/null
ln -s ../bundle/rootfs "$tmp/bundle-engine/rootfs"
(cd "$tmp/bundle" && "$vessel" --root "$tmp/rt-bundle" spec >/dev/null)
/usr/bin/python3 - "$tmp/bundle/config.json" "$tmp/bundle-engine/config.json" "$cdir" <<'PY'
import json, sys
plain, engine, cdir = sys.argv[1:4]
c = json.load(open(plain))
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
json.dump(c, open(plain, "w"))
e = json.load(open(engine))
bundle = engine.rsplit("/", 1)[0]
e["root"]["path"] = bundle + "/rootfs"
for m in e["mounts"]:
    if m.get("source", "").startswith(cdir + "/"):
        m["source"] = bundle + m["source"][len(cdir):]
json.dump(e, open(engine, "w"))
PY

engine=$(time_n engine "$vessel" run --rm busybox true)
echo "vessel run --rm busybox true            $engine"
runtime=$(time_n runtime "$vessel" --root "$tmp/rt-bundle" run --bundle "$tmp/bundle" bench)
echo "vessel runtime run, runc default config $runtime"
runtime_cfg=$(time_n runtime2 "$vessel" --root "$tmp/rt-bundle" run --bundle "$tmp/bundle-engine" \
	bench)
echo "vessel runtime run, the engine's config $runtime_cfg"
ratio() {
	case "$1$2" in
	*failed* | *n/a*) echo "n/a" ;;
	*) awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx (+%.1f ms)", a / b, a - b }' ;;
	esac
}
echo "engine / runtime (default config)      $(ratio "$engine" "$runtime")"
echo "engine / runtime (same config)         $(ratio "$engine" "$runtime_cfg")"

podman_run=""
if command -v podman >/dev/null 2>&1; then
	mkdir -p "$tmp/podman"
	if tar -C "$tmp/bundle/rootfs" -c . | $pm import - localhost/vessel-bench-busybox \
		>"$tmp/podman.import" 2>&1; then
		podman_ok=1
		podman_run=$(time_n podman $pm run --rm --network none localhost/vessel-bench-busybox true)
		echo "podman run --rm (default runtime)       $podman_run"
		case "$podman_run" in
		failed*)
			# This host's limits and hybrid cgroups trip podman's defaults:
			# try runc with limits below the hard ones.
			podman_run=$(time_n podman2 $pm --runtime runc run --rm --network none \
				--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
				localhost/vessel-bench-busybox true)
			echo "podman --runtime runc run --rm, ulimits nofile,nproc 1024: $podman_run"
			;;
		esac
	else
		echo "podman: import failed: $(tail -n 1 "$tmp/podman.import")"
	fi
else
	echo "podman: not installed"
fi

# Memory per detached container. PSS: the process's pages, each shared page
# divided among the processes mapping it (what the host pays for it, summed
# over processes it is the total); USS: its private pages (what removing it
# frees). RSS counts every shared library page in full for each process.
mem() {
	awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} /^Private_(Clean|Dirty):/ {u+=$2}
		END {printf "%7d %7d %7d", p, u, r}' /proc/"$1"/smaps_rollup
}
echo
echo "memory per detached container (kB; 3 containers each, idle 2 s)"
echo "process        pid          PSS     USS     RSS"
ids=""
for i in 1 2 3; do
	ids="$ids $("$vessel" run -d busybox sleep 1000)"
done
sleep 2
for id in $ids; do
	mp=$("$vessel" inspect -f '{{.MonitorPid}}' "$id")
	printf "vessel monitor %-8s %s\n" "$mp" "$(mem "$mp")"
done
if [ $podman_ok = 1 ]; then
	case "$podman_run" in
	failed*)
		echo "conmon: podman cannot run containers here ($podman_run)"
		;;
	*)
		global="" extra=""
		if ! $pm run -d --network none localhost/vessel-bench-busybox sleep 1 >/dev/null 2>&1
		then
			global="--runtime runc"
			extra="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
		fi
		for i in 1 2 3; do
			# shellcheck disable=SC2086
			pid=$($pm $global run -d $extra --network none localhost/vessel-bench-busybox \
				sleep 1000)
			pids="${pids:-} $pid"
		done
		sleep 2
		for p in $pids; do
			cp=$($pm inspect -f '{{.State.ConmonPid}}' "$p")
			printf "conmon         %-8s %s\n" "$cp" "$(mem "$cp")"
		done
		;;
	esac
elif command -v conmon >/dev/null 2>&1; then
	echo "conmon: installed, but podman could not import the image"
else
	echo "conmon: not installed"
fi

# vessel's own memory during a start: the CLI's peak RSS over 10 runs
# (GNU time's %M: ru_maxrss of the CLI and of the helper it waits for; the
# kernel keeps no peak PSS), the CLI's PSS/USS while it is attached to a
# running container, and the monitors' peak RSS (VmHWM: setup included).
echo
echo "vessel during a start (kB)"
peak=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	m=$(/usr/bin/time -f %M "$vessel" run --rm busybox true 2>&1 >/dev/null | tail -n 1)
	[ "$m" -gt "$peak" ] && peak=$m
done
echo "CLI vessel run --rm busybox true: peak RSS $peak (max of 10; /bin/true: $(/usr/bin/time -f %M /bin/true 2>&1))"
"$vessel" run --rm busybox sleep 2 >/dev/null &
sleep 1
cli=$(pgrep -n -f "^$vessel run --rm busybox sleep 2")
echo "CLI attached to a running container: PSS, USS, RSS $(mem "$cli")"
wait
for id in $ids; do
	mp=$("$vessel" inspect -f '{{.MonitorPid}}' "$id")
	echo "monitor $mp: peak RSS (VmHWM) $(awk '/VmHWM/ {print $2}' /proc/"$mp"/status)"
done
