#!/bin/sh
# The VM's root: virtio-9p of the overlay directory (the default) against
# virtio-blk of an ext4 image built from it (--vm-rootfs=block), in one run,
# interleaved so that a change in the machine's load hits both alike:
#   boot:   `vessel run --rm --isolation=vm [--vm-rootfs=block] busybox true`
#           (for block, the image is written at each start: part of the cost);
#   boot+:  the same with an image of ~37 MB (3000 small files in a tar and a
#           32 MiB file), where block's image costs more to write;
#   files:  in the guest, untar the 3000 files, `find` them, `rm -rf` them;
#   write:  in the guest, `dd` 32 MiB into the rootfs with conv=fsync;
#   read:   in the guest, `dd` the image's 32 MiB file (cold: a fresh guest).
# The three workloads run in one VM per round and are timed inside it (the
# guest's /proc/uptime, 10 ms steps); boot figures are wall time on the host.
# Prints the median of each (ms, MB/s), the accelerator (TCG or KVM), and the
# load average at the start and the end.
# Usage: sh bench/vm-rootfs.sh [N]   (N rounds, default 5; run as root; needs
# the guest kernel: `vessel vm kernel` builds it once)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
vessel=${VESSEL:-$here/build/vessel}
n=${1:-5}
[ -x "$vessel" ] || { echo "vm-rootfs: $vessel not built (make)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "vm-rootfs: must run as root" >&2; exit 1; }

tmp=$(mktemp -d /var/tmp/vessel-vmrootfs.XXXXXX)
export VESSEL_ROOT="$tmp/data" VESSEL_RUNTIME_ROOT="$tmp/run"
cleanup() {
	for c in $("$vessel" ps -aq 2>/dev/null); do "$vessel" rm -f "$c" >/dev/null 2>&1; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

"$vessel" vm kernel --path >/dev/null || exit 1
accel=$("$vessel" vm kernel | awk '$1 == "accelerator" {print $2}')
ACCEL=$(echo "$accel" | tr a-z A-Z)
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# The workload's image, built on the host kernel.
mkdir -p "$tmp/ctx"
cat >"$tmp/ctx/Dockerfile" <<'EOF'
FROM busybox
RUN mkdir /src && cd /src && for d in $(seq 50); do mkdir d$d; \
      for f in $(seq 60); do echo "file $d $f" >d$d/f$f; done; done && \
    tar -cf /files.tar -C /src . && rm -rf /src && \
    dd if=/dev/urandom of=/big bs=1M count=32 2>/dev/null
EOF
"$vessel" run --rm busybox true >/dev/null 2>&1 # imports busybox
"$vessel" build -q -t vmrootfs-bench "$tmp/ctx" >/dev/null || {
	echo "vm-rootfs: cannot build the workload image" >&2
	exit 1
}

now_ns() { date +%s%N; }
median() {
	sort -n | awk '{v[NR]=$1} END {
		if (NR == 0) { print "n/a"; exit }
		m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
		printf "%.1f", m }'
}
# boot LABEL ARGS...: one timed `vessel run --rm --isolation=vm ARGS`, in ms.
boot() {
	label=$1
	shift
	t0=$(now_ns)
	if ! timeout 300 "$vessel" run --rm --isolation=vm "$@" >"$tmp/out" 2>&1; then
		echo "vm-rootfs: $label failed: $(tail -n 1 "$tmp/out")" >&2
		exit 1
	fi
	t1=$(now_ns)
	echo $(((t1 - t0) / 1000000)) >>"$tmp/t.$label"
}
# The workloads, timed in the guest: "files MS write MS read MS".
work='up() { cut -d" " -f1 /proc/uptime; }
ms() { awk -v a="$1" -v b="$2" "BEGIN {printf \"%d\", (b - a) * 1000}"; }
a=$(up); mkdir /x && tar -xf /files.tar -C /x && find /x | wc -l >/dev/null && rm -rf /x; b=$(up)
dd if=/dev/zero of=/w bs=1M count=32 conv=fsync 2>/dev/null; c=$(up)
dd if=/big of=/dev/null bs=1M 2>/dev/null; d=$(up)
rm -f /w
echo "files $(ms $a $b) write $(ms $b $c) read $(ms $c $d)"'
workload() {
	label=$1
	shift
	if ! timeout 600 "$vessel" run --rm --isolation=vm "$@" vmrootfs-bench sh -c "$work" \
		>"$tmp/out" 2>&1; then
		echo "vm-rootfs: $label workload failed: $(tail -n 1 "$tmp/out")" >&2
		exit 1
	fi
	set -- $(grep '^files ' "$tmp/out")
	[ $# = 6 ] || { echo "vm-rootfs: $label: no figures in: $(cat "$tmp/out")" >&2; exit 1; }
	echo "$2" >>"$tmp/t.$label.files"
	echo "$4" >>"$tmp/t.$label.write"
	echo "$6" >>"$tmp/t.$label.read"
}

for m in 9p block; do
	"$vessel" run --rm --isolation=vm --vm-rootfs=$m busybox true >/dev/null 2>&1 # warm
	for f in "" .big .files .write .read; do : >"$tmp/t.$m$f"; done
done
i=0
while [ $i -lt "$n" ]; do
	for m in 9p block; do
		boot $m --vm-rootfs=$m busybox true
		boot $m.big --vm-rootfs=$m vmrootfs-bench true
		workload $m --vm-rootfs=$m
	done
	i=$((i + 1))
done

mbs() { awk -v ms="$1" 'BEGIN { if (ms + 0 > 0) printf "%.1f", 32 * 1000 / ms; else print "n/a" }'; }
echo "vm rootfs, 9p against block, medians of $n interleaved rounds ($ACCEL):"
printf '  %-44s %12s %12s\n' "" 9p block
for row in "boot to exit, busybox true (ms)|" "boot to exit, 37 MB image, true (ms)|.big" \
	"untar+find+rm 3000 files, in guest (ms)|.files" "dd write 32 MiB, fsync (ms)|.write" \
	"dd read 32 MiB, cold (ms)|.read"; do
	name=${row%|*} suf=${row#*|}
	printf '  %-44s %12s %12s\n' "$name" "$(median <"$tmp/t.9p$suf")" \
		"$(median <"$tmp/t.block$suf")"
done
for what in write read; do
	printf '  %-44s %12s %12s\n' "dd $what throughput (MB/s)" \
		"$(mbs "$(median <"$tmp/t.9p.$what")")" "$(mbs "$(median <"$tmp/t.block.$what")")"
done
echo "  load average: $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
