#!/bin/sh
# vessel against Docker (issue 17): the same operations on the same busybox
# image, interleaved round by round so that both see the same load, medians
# and the ratio docker / vessel:
#   run --rm busybox true; run -d + rm -f; exec; ps -a with 20 containers;
#   commit; save + load.
# vessel runs as it ships: every command also writes its events to the
# event log (docs/engine.md, "Events"). Docker is Debian's docker.io, a
# private dockerd started here as the integration tests start it (its own
# mount namespace, data and exec roots, socket; --bridge=none
# --iptables=false --ip-masq=false --ip-forward=false), so neither side
# has a network.
# Usage: sh bench/docker.sh [N]   (N rounds, default 20; run as root)
# VESSEL_BEFORE=/path/to/an/older/vessel adds that build as a third engine
# in the same rounds (its own data root), for a before/after comparison.
# Everything lives in a temporary directory removed at the end; results are
# printed, never committed (docs/benchmarks.md).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
vessel=${VESSEL:-$here/build/vessel}
timeit=$here/build/bench/timeit
n=${1:-20}
before=${VESSEL_BEFORE:-}
[ -z "$before" ] || [ -x "$before" ] || { echo "docker bench: VESSEL_BEFORE=$before is not executable" >&2; exit 1; }
[ -x "$vessel" ] || { echo "docker bench: $vessel not built (make)" >&2; exit 1; }
[ -x "$timeit" ] || { echo "docker bench: $timeit not built (make build/bench/timeit)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "docker bench: must run as root" >&2; exit 1; }
command -v dockerd >/dev/null 2>&1 && [ -x /usr/bin/docker ] ||
	{ echo "docker bench: docker.io is not installed (scripts/deps.sh installs it)" >&2; exit 1; }

tmp=$(mktemp -d /var/tmp/vessel-bench-docker.XXXXXX)
export VESSEL_ROOT="$tmp/vessel" VESSEL_RUNTIME_ROOT="$tmp/vessel-run"
export DOCKER_HOST="unix://$tmp/docker.sock"
unset DOCKER_CONTEXT
docker=/usr/bin/docker
dpid=""
# use_root ENGINE: the data and runtime roots of vessel or of the before build
use_root() {
	if [ "$1" = before ]; then
		export VESSEL_ROOT="$tmp/before" VESSEL_RUNTIME_ROOT="$tmp/before-run"
	else
		export VESSEL_ROOT="$tmp/vessel" VESSEL_RUNTIME_ROOT="$tmp/vessel-run"
	fi
}
cleanup() {
	for c in $("$vessel" ps -aq 2>/dev/null); do "$vessel" rm -f "$c" >/dev/null 2>&1; done
	if [ -n "$before" ]; then
		use_root before
		for c in $("$before" ps -aq 2>/dev/null); do "$before" rm -f "$c" >/dev/null 2>&1; done
		use_root vessel
	fi
	if [ -n "$dpid" ]; then
		ids=$($docker ps -aq 2>/dev/null)
		[ -n "$ids" ] && $docker rm -f $ids >/dev/null 2>&1
		kill "$dpid" 2>/dev/null
		i=0
		while kill -0 "$dpid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

echo '{}' >"$tmp/daemon.json"
unshare --mount --propagation slave sh -c \
	'set -e; mount -t tmpfs -o mode=755 tmpfs /run;
	 if [ -d /etc/docker ]; then mount -t tmpfs -o mode=755 tmpfs /etc/docker; fi; exec "$@"' sh \
	dockerd --config-file "$tmp/daemon.json" --bridge=none --iptables=false --ip-masq=false \
	--ip-forward=false --data-root "$tmp/docker" --exec-root "$tmp/docker-exec" \
	--pidfile "$tmp/docker.pid" -H "$DOCKER_HOST" >"$tmp/dockerd.log" 2>&1 </dev/null &
dpid=$!
i=0
until $docker version >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 $dpid 2>/dev/null; then
		echo "docker bench: dockerd did not start:" >&2
		tail -n 20 "$tmp/dockerd.log" >&2
		exit 1
	fi
	sleep 0.1
done

# The same image in both: vessel's busybox, saved and loaded into Docker.
"$vessel" save -o "$tmp/busybox.tar" busybox >/dev/null
$docker load -q -i "$tmp/busybox.tar" >/dev/null
"$vessel" run --rm busybox true >/dev/null
$docker run --rm busybox true >/dev/null 2>&1

# Each command is timed by bench/timeit (fork, exec, wait: the time a
# script calling it sees), not by `date` before and after, whose own fork
# and exec (~5 ms here) would be most of a fast command's figure. An
# operation of several commands (run -d then rm -f; save, rmi, load) is the
# sum of its commands' times, without the shell between them.
# part LABEL CMD...: times one command of an operation; its stdout is in
# $tmp/out, its stderr in $tmp/err
part() {
	label=$1
	shift
	if ! "$timeit" "$tmp/part" "$@" >"$tmp/out" 2>"$tmp/err"; then
		echo "docker bench: $eng $label failed: $(tail -n 1 "$tmp/err")" >&2
		exit 1
	fi
}
# done_op ENGINE LABEL: appends the sum of the parts (ns) to times.ENGINE.LABEL
done_op() {
	awk '{ s += $1 } END { print s }' "$tmp/part" >>"$tmp/times.$1.$2"
	rm -f "$tmp/part"
}
# timed ENGINE LABEL CMD...: one operation of one command
timed() {
	eng=$1 label=$2
	shift 2
	part "$label" "$@"
	done_op "$eng" "$label"
}

median_ms() {
	sort -n "$1" | awk '{v[NR]=$1} END {
		m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
		printf "%.1f", m / 1e6 }'
}

# One round of every operation on one engine ($1: vessel or docker, $2: its
# command line).
round() {
	eng=$1
	cli=$2
	use_root "$eng"
	timed "$eng" run-rm $cli run --rm busybox true
	part run-d-rm $cli run -d busybox sleep 1000
	id=$(tail -n 1 "$tmp/out")
	part run-d-rm $cli rm -f "$id"
	done_op "$eng" run-d-rm
	timed "$eng" exec $cli exec bench-exec true
	timed "$eng" ps-a $cli ps -a
	timed "$eng" commit $cli commit bench-exec bench-img:1
	part save-load $cli save -o "$tmp/$eng-img.tar" bench-img:1
	part save-load $cli rmi bench-img:1
	part save-load $cli load -i "$tmp/$eng-img.tar"
	done_op "$eng" save-load
	$cli rmi bench-img:1 >/dev/null 2>&1
	use_root vessel
}

engines="vessel docker"
[ -n "$before" ] && engines="vessel before docker"
for eng in $engines; do
	cli=$vessel
	[ $eng = docker ] && cli=$docker
	[ $eng = before ] && cli=$before
	use_root $eng
	# (Docker's warning that IPv4 forwarding is off, on every create, is
	# shown only when the command fails)
	part setup $cli run -d --name bench-exec busybox sleep 100000
	# ps -a lists 20 containers (the exec target and 19 stopped ones)
	j=0
	while [ $j -lt 19 ]; do
		part setup $cli create busybox true
		j=$((j + 1))
	done
	rm -f "$tmp/part"
	use_root vessel
done

echo "vessel vs Docker: $n interleaved rounds, medians (ms)"
echo "vessel: $vessel"
echo "docker: $($docker version --format '{{.Server.Version}}' 2>/dev/null)"
[ -n "$before" ] && echo "before: $before"
r=0
while [ $r -lt "$n" ]; do
	round vessel "$vessel"
	[ -n "$before" ] && round before "$before"
	round docker "$docker"
	r=$((r + 1))
done

if [ -n "$before" ]; then
	printf '%-24s %10s %10s %8s %10s %8s\n' operation vessel docker ratio before ratio
else
	printf '%-24s %10s %10s %8s\n' operation vessel docker ratio
fi
worst=""
for op in run-rm run-d-rm exec ps-a commit save-load; do
	v=$(median_ms "$tmp/times.vessel.$op")
	d=$(median_ms "$tmp/times.docker.$op")
	ratio=$(awk -v v="$v" -v d="$d" 'BEGIN { printf "%.1f", d / v }')
	if [ -n "$before" ]; then
		b=$(median_ms "$tmp/times.before.$op")
		bratio=$(awk -v v="$b" -v d="$d" 'BEGIN { printf "%.1f", d / v }')
		printf '%-24s %10s %10s %7sx %10s %7sx\n' "$op" "$v" "$d" "$ratio" "$b" "$bratio"
	else
		printf '%-24s %10s %10s %7sx\n' "$op" "$v" "$d" "$ratio"
	fi
	worst=$(printf '%s\n%s\n' "$worst" "$ratio" | awk 'NF' | sort -n | head -n 1)
done
echo "smallest ratio (docker / vessel): ${worst}x (target: >= 8x)"
