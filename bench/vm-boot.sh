#!/bin/sh
# MicroVM boot-to-exit benchmark, all in one run:
#   floor:     bare QEMU microvm, vessel's guest kernel, the same machine
#              options and command line, and an /init that ends the VM at once;
#   vessel vm: `vessel run --rm --isolation=vm busybox true` (record, overlay
#              rootfs, monitor, QEMU with virtio-serial + virtio-9p, the agent
#              mounting the rootfs and running `true`, cleanup);
#   container: `vessel run --rm busybox true`, for scale.
# Prints the median of each, the vm/floor ratio, and the accelerator (TCG or
# KVM) every figure was taken with.
# Usage: sh bench/vm-boot.sh [N]   (N defaults to 10; run as root; needs the
# guest kernel: `vessel vm kernel` builds it once)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
vessel=${VESSEL:-$here/build/vessel}
n=${1:-10}
[ -x "$vessel" ] || { echo "vm-boot: $vessel not built (make)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "vm-boot: must run as root" >&2; exit 1; }
qemu=$(command -v qemu-system-x86_64) || { echo "vm-boot: QEMU is not installed" >&2; exit 1; }

tmp=$(mktemp -d /var/tmp/vessel-vmbench.XXXXXX)
export VESSEL_ROOT="$tmp/data" VESSEL_RUNTIME_ROOT="$tmp/run"
cleanup() {
	for c in $("$vessel" ps -aq 2>/dev/null); do "$vessel" rm -f "$c" >/dev/null 2>&1; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

kernel=$("$vessel" vm kernel --path) || exit 1
accel=$("$vessel" vm kernel | awk '$1 == "accelerator" {print $2}')
ACCEL=$(echo "$accel" | tr a-z A-Z)
tb=$(sed -n 's/.*#define VS_VM_TB_SIZE_MIB *\([0-9]*\).*/\1/p' "$here/src/vm/launch.c")
if [ "$accel" = kvm ]; then cpu=host accel_opt=kvm; else cpu=max accel_opt=tcg,tb-size=${tb:-64}; fi

# The floor's initramfs: /init and /dev/console.
mkdir -p "$tmp/floor/dev"
cc -O2 -static -s -o "$tmp/floor/init" "$here/bench/vm-floor-init.c" || exit 1
mknod "$tmp/floor/dev/console" c 5 1
(cd "$tmp/floor" && find . | cpio -o -H newc --quiet) >"$tmp/floor.cpio" || exit 1

now_ns() { date +%s%N; }
median_ms() {
	sort -n | awk '{v[NR]=$1} END {
		if (NR == 0) { print "n/a"; exit }
		m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
		printf "%.1f", m / 1e6 }'
}
# run_once LABEL CMD...: one timed run appended to $tmp/times.LABEL; on a
# failure prints "LABEL failed: <last error line>" and exits.
run_once() {
	label=$1
	shift
	t0=$(now_ns)
	if ! timeout 120 "$@" >"$tmp/out.$label" 2>&1; then
		echo "$label failed: $(tail -n 1 "$tmp/out.$label")" >&2
		exit 1
	fi
	t1=$(now_ns)
	echo $((t1 - t0)) >>"$tmp/times.$label"
}

# The same machine and command line as src/vm/launch.c, without devices
# (a script, so that `timeout` can run it).
cat >"$tmp/floor.sh" <<EOS
exec "$qemu" -M microvm,acpi=off,x-option-roms=off,rtc=on -accel $accel_opt -cpu $cpu \\
	-m 256 -smp 1 -nodefaults -no-user-config -nographic -no-reboot \\
	-kernel "$kernel" -initrd "$tmp/floor.cpio" \\
	-append "console=ttyS0 quiet panic=-1 reboot=t tsc=reliable lpj=4000000" \\
	-serial null
EOS

"$vessel" run --rm busybox true >/dev/null 2>&1 # imports the image
"$vessel" run --rm --isolation=vm busybox true >/dev/null 2>&1 # writes the initramfs
# Interleaved, so that a change in the machine's load hits all three alike.
: >"$tmp/times.floor"
: >"$tmp/times.vm"
: >"$tmp/times.ctr"
i=0
while [ $i -lt "$n" ]; do
	run_once floor sh "$tmp/floor.sh"
	run_once vm "$vessel" run --rm --isolation=vm busybox true
	run_once ctr "$vessel" run --rm busybox true
	i=$((i + 1))
done
f=$(median_ms <"$tmp/times.floor")
v=$(median_ms <"$tmp/times.vm")
c=$(median_ms <"$tmp/times.ctr")
echo "vm boot to exit, median of $n ($ACCEL; kernel $kernel):"
echo "  floor (bare QEMU microvm, init powers off)  ${f} ms"
echo "  vessel run --rm --isolation=vm busybox true ${v} ms"
echo "  vessel run --rm busybox true (container)    ${c} ms"
awk -v v="$v" -v f="$f" -v a="$ACCEL" 'BEGIN {
	if (f + 0 > 0 && v + 0 > 0) printf "  ratio vm/floor %.2fx (%s; target <= 1.2x)\n", v / f, a }'

# Host memory of an idle VM container: bench/vm-mem.sh.
