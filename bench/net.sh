#!/bin/sh
# Network benchmark, inside a network namespace of its own (never the
# host's interfaces or firewall):
#   1. median wall time of N `vessel run --rm busybox true` with
#      --network none, the default (loopback-only namespace), --network
#      bridge, and --network bridge -p 8080:80 (nftables), interleaved so
#      that drift hits all alike; the difference bridge - none;
#   2. container-to-container ping RTT on one bridge (busybox ping, 20
#      packets), beside the namespace's own loopback RTT;
#   3. TCP throughput with iperf3 (Debian's, run in busybox containers from
#      the host's /usr bound read-only): the namespace's loopback, container
#      to container on one bridge, and host to container through a published
#      port (127.0.0.1:5201 -> DNAT); the ratios to loopback;
#   1a. the network layer's own share of a bridged start (lease, hosts,
#      attach, release: build/bench/net-attach, wall and CPU time);
#   1b. the same with a CNI network list (Debian's bridge + host-local +
#      portmap + firewall),
#      beside the native driver, when containernetworking-plugins is there;
#   4. TCP connect latency (python3, median of 300 connects) to loopback,
#      to a container's address, and to a published port.
# IPERF_SECONDS (default 3) sets the length of each iperf3 run,
# IPERF_ROUNDS (default 3) the number of interleaved rounds.
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
# A CNI network from Debian's plugins (bridge + host-local + portmap +
# firewall, the issue's chain), when installed.
cni=""
if [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ]; then
	mkdir -p "$tmp/net.d"
	cat >"$tmp/net.d/10-benchcni.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "benchcni", "plugins": [
 {"type": "bridge", "bridge": "cni-bench0", "isGateway": true,
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.9.0/24"}]],
           "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$tmp/cni-ipam"}},
 {"type": "portmap", "capabilities": {"portMappings": true}},
 {"type": "firewall", "backend": "iptables"}]}
EOF
	echo "{\"cni-config-dir\": \"$tmp/net.d\"}" >"$tmp/vessel.json"
	export VESSEL_CONFIG="$tmp/vessel.json"
	cni=1
fi
i=0
while [ $i -lt "$n" ]; do
	one none --network none
	one default
	one bridge --network bridge
	one ports --network bridge -p 8080:80
	[ -z "$cni" ] || one cni --network benchcni
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
# The same difference taken per round (the two runs of a round are
# neighbours in time, so the machine's drift cancels), then the median.
echo "bridge - none, median of per-round differences: $(paste "$tmp/times.bridge" "$tmp/times.none" | awk '{print $1 - $2}' | median_ms)"
# The network layer's own share, without the rest of a start around it
# (build/bench/net-attach, `make build/bench/net-attach`).
attach=${NET_ATTACH:-$here/build/bench/net-attach}
if [ -x "$attach" ]; then
	mkdir -p "$tmp/attach"
	nsenter --net=/run/netns/"$ns" "$attach" "$tmp/attach" "$n"
fi
[ -z "$cni" ] || echo "run --rm --network CNI (bridge+host-local+portmap+firewall): $(median_ms <"$tmp/times.cni")"

v run -d --name bench-a --network bridge busybox sleep 300 >/dev/null
v run -d --name bench-b --network bridge busybox sleep 300 >/dev/null
ipa=$(v inspect -f '{{.NetworkSettings.IPAddress}}' bench-a 2>/dev/null)
[ -n "$ipa" ] || ipa=$(v exec bench-a ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)
rtt=$(v exec bench-b ping -c 20 -i 0.05 -q "$ipa" | awk -F/ '/min\/avg/ {print $4}')
lo=$(ip netns exec "$ns" busybox ping -c 20 -i 0.05 -q 127.0.0.1 | awk -F/ '/min\/avg/ {print $4}')
echo "ping container -> container avg RTT:    $rtt ms (namespace loopback: $lo ms)"

# ---- 3. iperf3 throughput
command -v iperf3 >/dev/null || { echo "iperf3 not installed (scripts/deps.sh): no throughput"; exit 0; }
secs=${IPERF_SECONDS:-3}
ld=$(readlink -f /usr/lib64/ld-linux-x86-64.so.2)
libdir=$(dirname "$ld")
hostbin() { # the host's binary $1 in a container, through the host's loader
	echo "/host$ld --library-path /host$libdir /host$(command -v "$1")"
}
gbps() { # iperf3 -J on stdin: received Gbit/s
	python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
}
ip netns exec "$ns" iperf3 -s -B 127.0.0.1 -p 5301 >/dev/null 2>&1 &
iperf_lo_pid=$!
v run -d --name bench-srv --network bridge -v /usr:/host/usr:ro -p 5201:5201 busybox \
	sh -c "exec $(hostbin iperf3) -s" >/dev/null
srv=$(v inspect -f '{{.NetworkSettings.IPAddress}}' bench-srv)
sleep 0.5
# IPERF_ROUNDS rounds (default 3), the three paths interleaved so that the
# machine's drift hits all alike; the median of each.
r=0
while [ $r -lt "${IPERF_ROUNDS:-3}" ]; do
	ip netns exec "$ns" iperf3 -c 127.0.0.1 -p 5301 -t "$secs" -J | gbps >>"$tmp/iperf.lo"
	v run --rm --network bridge -v /usr:/host/usr:ro busybox \
		sh -c "exec $(hostbin iperf3) -c $srv -t $secs -J" | gbps >>"$tmp/iperf.c2c"
	ip netns exec "$ns" iperf3 -c 127.0.0.1 -p 5201 -t "$secs" -J | gbps >>"$tmp/iperf.pub"
	r=$((r + 1))
done
kill "$iperf_lo_pid" 2>/dev/null
med() { sort -n "$1" | awk '{v[NR]=$1} END {printf "%.2f", (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
lo_g=$(med "$tmp/iperf.lo")
c2c_g=$(med "$tmp/iperf.c2c")
pub_g=$(med "$tmp/iperf.pub")
echo "iperf3 TCP, ${secs} s each, median of ${IPERF_ROUNDS:-3} interleaved rounds (Gbit/s):"
echo "  namespace loopback:                   $lo_g"
echo "  container -> container (one bridge):  $c2c_g   ($(echo "$c2c_g $lo_g" | awk '{printf "%.2f", $1 / $2}')x loopback)"
echo "  host -> published port (127.0.0.1):   $pub_g   ($(echo "$pub_g $lo_g" | awk '{printf "%.2f", $1 / $2}')x loopback)"

# ---- 4. connect latency
v run -d --name bench-web --network bridge -p 8088:80 busybox httpd -f -p 80 >/dev/null
web=$(v inspect -f '{{.NetworkSettings.IPAddress}}' bench-web)
ip netns exec "$ns" busybox httpd -f -p 127.0.0.1:8089 &
httpd_pid=$!
sleep 0.5
connect_us() { # HOST PORT: median microseconds of 300 TCP connects
	ip netns exec "$ns" python3 -c '
import socket, sys, time
host, port, v = sys.argv[1], int(sys.argv[2]), []
for _ in range(300):
    t = time.perf_counter(); s = socket.create_connection((host, port)); v.append(time.perf_counter() - t); s.close()
v.sort(); print("%.0f" % (v[len(v) // 2] * 1e6))' "$1" "$2"
}
lo_c=$(connect_us 127.0.0.1 8089)
ctr_c=$(connect_us "$web" 80)
pub_c=$(connect_us 127.0.0.1 8088)
kill "$httpd_pid" 2>/dev/null
echo "TCP connect, median of 300 (us): loopback $lo_c, container address $ctr_c, published port $pub_c"
