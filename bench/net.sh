#!/bin/sh
# Network benchmark, inside a network namespace of its own (never the
# host's interfaces or firewall):
#   1. median wall time of N `vessel run --rm busybox true` with
#      --network none, the default (loopback-only namespace), --network
#      bridge, and --network bridge -p 8080:80 (nftables), interleaved so
#      that drift hits all alike; the difference bridge - none;
#   2. container-to-container ping RTT on one bridge (busybox ping, 20
#      packets), beside the namespace's own loopback RTT.
# Usage: sh bench/net.sh [N]   (N defaults to 50; run as root)
# Everything lives in a temporary directory and namespace removed at the
# end; results are printed, never committed.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
vessel=${VESSEL:-$here/build/vessel}
n=${1:-50}
[ -x "$vessel" ] || { echo "net: $vessel not built (make)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "net: must run as root" >&2; exit 1; }

tmp=$(mktemp -d /var/tmp/vessel-bench.XXXXXX)
ns=vs-bench-$$
export VESSEL_ROOT="$tmp/data" VESSEL_RUNTIME_ROOT="$tmp/run"
ip netns add "$ns"
ip -n "$ns" link set lo up
v() { nsenter --net=/run/netns/"$ns" "$vessel" "$@"; }
cleanup() {
	for c in $(v ps -aq 2>/dev/null); do v rm -f "$c" >/dev/null 2>&1; done
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

now_ns() { date +%s%N; }
median_ms() {
	sort -n | awk '{v[NR]=$1} END {
		if (NR == 0) { print "n/a"; exit }
		m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
		printf "%.1f", m / 1e6 }'
}
one() { # LABEL ARGS...: one timed run appended to times.LABEL
	label=$1
	shift
	t0=$(now_ns)
	v run --rm "$@" busybox true >"$tmp/out" 2>&1 || { echo "failed ($label): $(tail -n 1 "$tmp/out")"; exit 1; }
	echo $(($(now_ns) - t0)) >>"$tmp/times.$label"
}

v run --rm --network bridge busybox true >/dev/null # creates vessel0 and the nft table
i=0
while [ $i -lt "$n" ]; do
	one none --network none
	one default
	one bridge --network bridge
	one ports --network bridge -p 8080:80
	i=$((i + 1))
done
none=$(median_ms <"$tmp/times.none")
bridge=$(median_ms <"$tmp/times.bridge")
echo "vessel network benchmark: $n runs each, medians (ms), namespace $ns"
echo "run --rm --network none:                $none"
echo "run --rm (loopback-only namespace):     $(median_ms <"$tmp/times.default")"
echo "run --rm --network bridge:              $bridge"
echo "run --rm --network bridge -p 8080:80:   $(median_ms <"$tmp/times.ports")"
echo "bridge - none:                          $(echo "$bridge $none" | awk '{printf "%.1f", $1 - $2}')"

v run -d --name bench-a --network bridge busybox sleep 300 >/dev/null
v run -d --name bench-b --network bridge busybox sleep 300 >/dev/null
ipa=$(v inspect -f '{{.NetworkSettings.IPAddress}}' bench-a 2>/dev/null)
[ -n "$ipa" ] || ipa=$(v exec bench-a ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)
rtt=$(v exec bench-b ping -c 20 -i 0.05 -q "$ipa" | awk -F/ '/min\/avg/ {print $4}')
lo=$(ip netns exec "$ns" busybox ping -c 20 -i 0.05 -q 127.0.0.1 | awk -F/ '/min\/avg/ {print $4}')
echo "ping container -> container avg RTT:    $rtt ms (namespace loopback: $lo ms)"
