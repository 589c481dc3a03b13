#!/bin/sh
# MicroVM boot-to-exit benchmark, all in one run:
#   floor:     bare QEMU microvm, vessel's guest kernel, the same machine
#              options and command line, and an /init that ends the VM at once;
#   vessel vm: `vessel run --rm --isolation=vm busybox true` (record, overlay
#              rootfs, monitor, QEMU with virtio-serial + virtio-9p, the agent
#              mounting the rootfs and running `true`, cleanup);
#   container: `vessel run --rm busybox true`, for scale.
# Prints the median of each (wall time, and the CPU time of every process a
# run started), the vm/floor ratios, the accelerator (TCG or KVM) every figure
# was taken with, and the load average.
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

median_ms() {
	sort -n | awk '{v[NR]=$1} END {
		if (NR == 0) { print "n/a"; exit }
		m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
		printf "%.1f", m / 1e6 }'
}
# cputime.py CMD...: runs CMD as a child subreaper and waits for every
# process it started (the monitor daemonizes; QEMU is the launcher's child),
# then writes to fd 3 the command's wall time (ns, until it exits) and the CPU
# time (user + system, ms) all of them used. On a
# loaded machine wall time mostly measures the wait for a core; CPU time
# measures the work.
cat >"$tmp/cputime.py" <<'EOF'
import ctypes, os, resource, sys, time
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
# What the interpreter's own start cost (a wrapper such as pyenv's shim)
# is not the run's.
r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.monotonic_ns()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
code = os.waitpid(pid, 0)[1]
wall = time.monotonic_ns() - t0
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = ru.ru_utime + ru.ru_stime - r0.ru_utime - r0.ru_stime
os.write(3, b"%d %d\n" % (wall, int(cpu * 1000)))
sys.exit(os.waitstatus_to_exitcode(code))
EOF
# run_once LABEL CMD...: one timed run appended to $tmp/times.LABEL (wall,
# ns) and $tmp/cpu.LABEL (CPU, ms); on a failure prints "LABEL failed: <last
# error line>" and exits.
run_once() {
	label=$1
	shift
	if ! timeout 120 python3 "$tmp/cputime.py" "$@" >"$tmp/out.$label" 2>&1 \
		3>"$tmp/one"; then
		echo "$label failed: $(tail -n 1 "$tmp/out.$label")" >&2
		exit 1
	fi
	read -r wall cpu <"$tmp/one"
	echo "$wall" >>"$tmp/times.$label"
	echo "$cpu" >>"$tmp/cpu.$label"
}

# The same machine and command line as src/vm/launch.c, without devices
# (a script, so that `timeout` can run it).
cat >"$tmp/floor.sh" <<EOS
exec "$qemu" -M microvm,acpi=off,x-option-roms=off,rtc=on -accel $accel_opt -cpu $cpu \\
	-m 256 -smp 1 -nodefaults -no-user-config -nographic -no-reboot \\
	-kernel "$kernel" -initrd "$tmp/floor.cpio" \\
	-append "console=ttyS0 quiet panic=-1 reboot=t tsc=reliable rcupdate.rcu_expedited=1 lpj=4000000" \\
	-serial null
EOS

"$vessel" run --rm busybox true >/dev/null 2>&1 # imports the image
"$vessel" run --rm --isolation=vm busybox true >/dev/null 2>&1 # writes the initramfs
# Interleaved, so that a change in the machine's load hits all three alike.
: >"$tmp/times.floor"
: >"$tmp/times.vm"
: >"$tmp/times.ctr"
: >"$tmp/cpu.floor"
: >"$tmp/cpu.vm"
: >"$tmp/cpu.ctr"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
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
# The same runs' CPU time (every process each started, QEMU included).
cmed() {
	sort -n | awk '{v[NR]=$1} END { if (NR == 0) { print "n/a"; exit }
		printf "%.0f", (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2 }'
}
fc=$(cmed <"$tmp/cpu.floor")
vc=$(cmed <"$tmp/cpu.vm")
ctrc=$(cmed <"$tmp/cpu.ctr")
echo "  CPU time (user+system of every process of a run), medians: floor ${fc} ms," \
	"vm ${vc} ms, container ${ctrc} ms"
awk -v v="$vc" -v f="$fc" -v a="$ACCEL" 'BEGIN {
	if (f + 0 > 0 && v + 0 > 0) printf "  CPU ratio vm/floor %.2fx (%s)\n", v / f, a }'
echo "  load average: $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"

# Host memory of an idle VM container: bench/vm-mem.sh.
