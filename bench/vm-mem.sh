#!/bin/sh
# Host memory of one idle VM container, against a floor, in one run:
#   floor:  bare QEMU microvm with vessel's guest kernel, the same machine and
#           memory options as src/vm/launch.c and its jail (128 MiB, TCG's
#           translation cache size, no transparent huge pages, the balloon
#           with free page reporting) and an /init that only sleeps;
#   vessel: `vessel run -d --isolation=vm --memory 128m busybox sleep`:
#           QEMU (with virtio-serial and virtio-9p, the agent, the rootfs
#           mounted, `sleep` running), its launcher and the monitor.
# Each is measured once its PSS has settled (the guest hands freed pages
# back a few seconds after boot). Prints PSS and USS (kB) of every process,
# where QEMU's PSS goes (guest RAM touched, TCG's translation cache, file
# mappings: QEMU's code and libraries, the rest: its heap and stacks), the
# vessel/floor ratio and the total against the issue's target (< 40 MiB).
# Then VMS (default 4) idle VM containers side by side: what each costs
# when QEMU's code and libraries are shared between them (PSS splits shared
# pages between their users), the figure for a host running many.
# Every figure is labelled TCG or KVM.
# Usage: [VMS=N] sh bench/vm-mem.sh   (run as root; needs the guest kernel:
# `vessel vm kernel` builds it once; nothing else may run a QEMU of the same
# binary, or the shared code pages' PSS is split with it)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
vessel=${VESSEL:-$here/build/vessel}
[ -x "$vessel" ] || { echo "vm-mem: $vessel not built (make)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "vm-mem: must run as root" >&2; exit 1; }
qemu=$(command -v qemu-system-x86_64) || { echo "vm-mem: QEMU is not installed" >&2; exit 1; }

tmp=$(mktemp -d /var/tmp/vessel-vmmem.XXXXXX)
export VESSEL_ROOT="$tmp/data" VESSEL_RUNTIME_ROOT="$tmp/run"
floor_pid=
cleanup() {
	[ -n "$floor_pid" ] && kill "$floor_pid" 2>/dev/null && wait "$floor_pid" 2>/dev/null
	for c in $("$vessel" ps -aq 2>/dev/null); do "$vessel" rm -f "$c" >/dev/null 2>&1; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

kernel=$("$vessel" vm kernel --path) || exit 1
accel=$("$vessel" vm kernel | awk '$1 == "accelerator" {print $2}')
ACCEL=$(echo "$accel" | tr a-z A-Z)
# The options that decide memory, as src/vm/launch.c sets them.
tb=$(sed -n 's/.*#define VS_VM_TB_SIZE_MIB *\([0-9]*\).*/\1/p' "$here/src/vm/launch.c")
if [ "$accel" = kvm ]; then cpu=host accel_opt=kvm; else cpu=max accel_opt=tcg,tb-size=${tb:-64}; fi

# The floor's initramfs: /init (with "floor-idle" on the command line it sets
# the page reporting order as vessel's agent does, and sleeps).
mkdir -p "$tmp/floor/dev" "$tmp/floor/sys"
cc -O2 -static -s -o "$tmp/floor/init" "$here/bench/vm-floor-init.c" || exit 1
mknod "$tmp/floor/dev/console" c 5 1
(cd "$tmp/floor" && find . | cpio -o -H newc --quiet) >"$tmp/floor.cpio" || exit 1

# pss_uss PID: "PSS USS" in kB, from smaps_rollup.
pss_uss() {
	awk '/^Pss:/ {p = $2} /^Private_(Clean|Dirty):/ {u += $2} END {print p + 0, u + 0}' \
		"/proc/$1/smaps_rollup" 2>/dev/null || echo "0 0"
}
# settle PID...: waits (at most 40 s) until the processes' PSS stops falling.
settle() {
	last=0 same=0 i=0
	while [ $i -lt 40 ]; do
		sleep 1
		now=0
		for p in "$@"; do now=$((now + $(pss_uss "$p" | cut -d' ' -f1))); done
		d=$((now - last))
		[ ${d#-} -lt 256 ] && same=$((same + 1)) || same=0
		[ $same -ge 3 ] && return 0
		last=$now i=$((i + 1))
	done
}
# breakdown PID MEM_KB: where QEMU's PSS goes (guest RAM: the anonymous
# mapping of the guest's size; TCG's cache: the anonymous executable one).
breakdown() {
	python3 - "$1" "$2" <<'EOF'
import re, sys
t = {"guest": 0, "tcg": 0, "file": 0, "other": 0}
kind = "other"
for line in open("/proc/%s/smaps" % sys.argv[1]):
    m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+ *(.*)", line)
    if m:
        size = (int(m.group(2), 16) - int(m.group(1), 16)) // 1024
        name = m.group(4).strip()
        kind = ("file" if name.startswith("/") else
                "guest" if not name and size == int(sys.argv[2]) else
                "tcg" if not name and "x" in m.group(3) else "other")
    elif line.startswith("Pss:"):
        t[kind] += int(line.split()[1])
print("guest RAM touched %(guest)d, TCG translation cache %(tcg)d, file mappings "
      "(code, data) %(file)d, heap and stacks %(other)d (kB)" % t)
EOF
}
kb_mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

echo "idle VM memory, 128 MiB guest RAM ($ACCEL; kernel $kernel)"

# The floor: with vessel's options (no THP: the jail's prctl, kept across
# exec; the balloon's free page reporting).
python3 -c 'import ctypes, os, sys
ctypes.CDLL(None, use_errno=True).prctl(41, 1, 0, 0, 0)  # PR_SET_THP_DISABLE
os.execv(sys.argv[1], sys.argv[1:])' "$qemu" \
	-M microvm,acpi=off,x-option-roms=off,rtc=on -accel "$accel_opt" -cpu "$cpu" \
	-m 128 -smp 1 -nodefaults -no-user-config -nographic -no-reboot \
	-kernel "$kernel" -initrd "$tmp/floor.cpio" \
	-append "console=ttyS0 quiet panic=-1 reboot=t tsc=reliable rcupdate.rcu_expedited=1 lpj=4000000 floor-idle" \
	-serial null -device virtio-balloon-device,free-page-reporting=on 2>"$tmp/floor.log" &
floor_pid=$!
sleep 2
settle "$floor_pid"
set -- $(pss_uss "$floor_pid")
floor_pss=$1 floor_uss=$2
echo "  floor (bare QEMU, idle init)  PSS ${floor_pss} kB  USS ${floor_uss} kB"
echo "    QEMU: $(breakdown "$floor_pid" 131072)"
kill "$floor_pid"
wait "$floor_pid" 2>/dev/null
floor_pid=

"$vessel" run --rm busybox true >/dev/null 2>&1 # imports the image
"$vessel" run -d --name idle --isolation=vm --memory 128m busybox sleep 1000 >/dev/null || exit 1
mon=$("$vessel" inspect idle | awk -F'[:,]' '/"MonitorPid"/ {gsub(/ /, "", $2); print $2}')
launcher=$(pgrep -P "$mon" | head -n 1)
qpid=$(pgrep -P "$launcher" | head -n 1)
[ -n "$qpid" ] || { echo "vm-mem: no QEMU under monitor $mon" >&2; exit 1; }
until "$vessel" exec idle true >/dev/null 2>&1; do sleep 0.5; done # booted
settle "$mon" "$launcher" "$qpid"
total_pss=0 total_uss=0
for p in "$qpid" "$launcher" "$mon"; do
	set -- $(pss_uss "$p")
	case $p in "$qpid") what=QEMU ;; "$launcher") what=launcher ;; *) what=monitor ;; esac
	printf '  vessel %-8s PSS %6d kB  USS %6d kB\n' "$what" "$1" "$2"
	total_pss=$((total_pss + $1)) total_uss=$((total_uss + $2))
done
echo "    QEMU: $(breakdown "$qpid" 131072)"
echo "  vessel total (QEMU + launcher + monitor)  PSS ${total_pss} kB ($(kb_mib $total_pss) MiB)  USS ${total_uss} kB ($(kb_mib $total_uss) MiB)"
awk -v v="$total_pss" -v f="$floor_pss" -v a="$ACCEL" 'BEGIN {
	printf "  ratio vessel/floor (PSS) %.2fx (%s)\n", v / f, a
	printf "  target < 40 MiB: %.1f MiB PSS, %s (%s)\n", v / 1024, (v < 40 * 1024) ? "met" : "not met", a }'

# VMS idle containers side by side: the per-container PSS.
vms=${VMS:-4}
[ "$vms" -ge 2 ] 2>/dev/null || exit 0
i=2
while [ $i -le "$vms" ]; do
	"$vessel" run -d --name "idle$i" --isolation=vm --memory 128m busybox sleep 1000 >/dev/null || exit 1
	until "$vessel" exec "idle$i" true >/dev/null 2>&1; do sleep 0.5; done
	i=$((i + 1))
done
pids=
for c in idle $(i=2; while [ $i -le "$vms" ]; do echo "idle$i"; i=$((i + 1)); done); do
	m=$("$vessel" inspect "$c" | awk -F'[:,]' '/"MonitorPid"/ {gsub(/ /, "", $2); print $2}')
	l=$(pgrep -P "$m" | head -n 1)
	q=$(pgrep -P "$l" | head -n 1)
	pids="$pids $m $l $q"
done
settle $pids
sum=0
for p in $pids; do sum=$((sum + $(pss_uss "$p" | cut -d' ' -f1))); done
per=$((sum / vms))
echo "  $vms idle VM containers side by side: PSS ${sum} kB in all, $(kb_mib $per) MiB per container ($ACCEL)"
awk -v v="$per" -v a="$ACCEL" 'BEGIN {
	printf "  target < 40 MiB per container: %.1f MiB PSS, %s (%s)\n", v / 1024, (v < 40 * 1024) ? "met" : "not met", a }'
