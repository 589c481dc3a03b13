#!/bin/sh
# Restore of a VM checkpoint against a cold boot to the same point, in one
# run (interleaved, so load changes hit both alike):
#   cold:    `vessel run -d --isolation=vm --vm-rootfs=block busybox sh -c
#            'echo up; sleep 1000'` until `vessel exec CTR true` succeeds
#            (the guest is up and takes requests);
#   restore: `vessel restore CTR` of that same container, checkpointed once
#            when idle, until `vessel exec CTR true` succeeds (then killed:
#            the next round restores the same checkpoint again).
# Prints the medians, the cold/restore ratio (how many times faster the
# restore is), the checkpoint's size and the accelerator (TCG or KVM).
# Usage: sh bench/vm-restore.sh [N]   (N defaults to 5; root; the guest
# kernel: `vessel vm kernel` builds it once)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
vessel=${VESSEL:-$here/build/vessel}
n=${1:-5}
[ -x "$vessel" ] || { echo "vm-restore: $vessel not built (make)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "vm-restore: must run as root" >&2; exit 1; }

tmp=$(mktemp -d /var/tmp/vessel-vmrestore.XXXXXX)
export VESSEL_ROOT="$tmp/data" VESSEL_RUNTIME_ROOT="$tmp/run"
cleanup() {
	for c in $("$vessel" ps -aq 2>/dev/null); do "$vessel" rm -f "$c" >/dev/null 2>&1; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

"$vessel" vm kernel --path >/dev/null || exit 1
accel=$("$vessel" vm kernel | awk '$1 == "accelerator" {print $2}' | tr a-z A-Z)

now_ns() { date +%s%N; }
median_ms() {
	sort -n | awk '{v[NR]=$1} END {
		if (NR == 0) { print "n/a"; exit }
		m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
		printf "%.1f", m / 1e6 }'
}
# until_exec CTR: polls `exec CTR true` (bounded: 120 s).
until_exec() {
	k=0
	until "$vessel" exec "$1" true >/dev/null 2>&1; do
		k=$((k + 1))
		[ $k -lt 6000 ] || { echo "vm-restore: $1 never took exec" >&2; exit 1; }
		sleep 0.02
	done
}
run_cold() {
	"$vessel" run -d --name "$1" --isolation=vm --vm-rootfs=block busybox \
		sh -c 'echo up; sleep 1000' >/dev/null || exit 1
	until_exec "$1"
}

# The container whose checkpoint every round restores.
run_cold saved
sleep 1
"$vessel" checkpoint saved >/dev/null || exit 1
dir="$VESSEL_ROOT/containers/$("$vessel" inspect -f '{{.Id}}' saved)/checkpoint"
state_mib=$(du -m --apparent-size "$dir/vm.state" | cut -f1)
disk_mib=$(du -m "$dir/root.img" | cut -f1)

for i in $(seq "$n"); do
	t0=$(now_ns)
	run_cold "cold$i"
	t1=$(now_ns)
	echo $((t1 - t0)) >>"$tmp/times.cold"
	"$vessel" rm -f "cold$i" >/dev/null

	t0=$(now_ns)
	"$vessel" restore saved >/dev/null || { echo "vm-restore: restore failed" >&2; exit 1; }
	tm=$(now_ns)
	echo $((tm - t0)) >>"$tmp/times.restore-cmd"
	until_exec saved
	t1=$(now_ns)
	echo $((t1 - t0)) >>"$tmp/times.restore"
	"$vessel" kill saved >/dev/null
	"$vessel" wait saved >/dev/null
done

cold=$(median_ms <"$tmp/times.cold")
restore=$(median_ms <"$tmp/times.restore")
echo "accelerator        $accel"
echo "runs               $n (medians, interleaved)"
echo "cold boot to exec  $cold ms ($accel)"
echo "restore to exec    $restore ms ($accel; \`vessel restore\` itself $(median_ms <"$tmp/times.restore-cmd") ms)"
echo "checkpoint         vm.state $state_mib MiB, root.img $disk_mib MiB on disk"
awk -v c="$cold" -v r="$restore" -v a="$accel" \
	'BEGIN { printf "ratio cold/restore %.2fx (%s; target >= 3x)\n", c / r, a }'
