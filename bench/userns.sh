#!/bin/sh
# User namespace start latency: median wall time of N `vessel run --rm
# busybox true` with --userns=auto (a subuid range allocated under the names
# lock, a user namespace for the idmapped layers, the overlay of idmapped
# layers, the container in its own user namespace) against N with
# --userns=host, interleaved, in one run; prints both and their ratio
# (target: at most 1.5x; idmapped mounts never copy the image).
# Usage: sh bench/userns.sh [N]   (N defaults to 30; run as root)
# /etc/subuid and /etc/subgid get a "vessel" entry for the run and are
# restored byte for byte at the end; everything else lives in a temporary
# directory removed at the end. Results are printed, never committed.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
vessel=${VESSEL:-$here/build/vessel}
n=${1:-30}
[ -x "$vessel" ] || { echo "userns: $vessel not built (make)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "userns: must run as root" >&2; exit 1; }

tmp=$(mktemp -d /var/tmp/vessel-bench-userns.XXXXXX)
chmod 0711 "$tmp" # the mapped ids must reach the data root
export VESSEL_ROOT="$tmp/data" VESSEL_RUNTIME_ROOT="$tmp/run"
export VESSEL_SYSTEM_CONFIG="$tmp/none.json" XDG_CONFIG_HOME="$tmp/xdg"
for f in subuid subgid; do
	if [ -e /etc/$f ]; then cp -p /etc/$f "$tmp/$f.orig"; fi
done
cleanup() {
	for c in $("$vessel" ps -aq 2>/dev/null); do "$vessel" rm -f "$c" >/dev/null 2>&1; done
	for f in subuid subgid; do
		if [ -e "$tmp/$f.orig" ]; then cp -p "$tmp/$f.orig" /etc/$f; else rm -f /etc/$f; fi
	done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
for f in subuid subgid; do
	{ [ -e "$tmp/$f.orig" ] && cat "$tmp/$f.orig"; echo "vessel:500000000:655360"; } >"$tmp/$f.new"
	cat "$tmp/$f.new" >/etc/$f
done

now_ns() { date +%s%N; }
median_ms() {
	sort -n | awk '{v[NR]=$1} END {
		if (NR == 0) { print "n/a"; exit }
		m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
		printf "%.1f", m / 1e6 }'
}

"$vessel" run --rm busybox true >/dev/null || exit 1 # the image, once
: >"$tmp/t.host"
: >"$tmp/t.auto"
i=0
while [ $i -lt "$n" ]; do
	for mode in host auto; do
		t0=$(now_ns)
		if ! "$vessel" run --rm --userns=$mode busybox true >"$tmp/out" 2>&1; then
			echo "userns: --userns=$mode failed: $(tail -n 1 "$tmp/out")" >&2
			exit 1
		fi
		echo $(($(now_ns) - t0)) >>"$tmp/t.$mode"
	done
	i=$((i + 1))
done
host=$(median_ms <"$tmp/t.host")
auto=$(median_ms <"$tmp/t.auto")
echo "vessel run --rm busybox true, median of $n (interleaved):"
echo "  --userns=host  $host ms"
echo "  --userns=auto  $auto ms"
awk -v a="$auto" -v h="$host" 'BEGIN { printf "  ratio auto/host  %.2fx (target <= 1.5x)\n", a / h }'
