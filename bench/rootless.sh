#!/bin/sh
# Rootless start latency: median wall time of N `vessel run --rm busybox
# true` run by an ordinary user (the rootless engine: join the pause
# process's user+mount namespaces, overlay mounted in them, no cgroup)
# against N run by root, interleaved, in one run; prints both and their
# ratio, and podman's rootless figure beside them when podman can run
# rootless here. Then `--userns=keep-id` (rootless): the same run with
# the image's shifted copy cached (interleaved with the above), and the
# first run of a map, which makes the copy (the cache removed before each
# of 5 runs), for busybox and for an image of /usr/lib/python3 (about
# 54 MB): docs/rootless.md.
# Usage: sh bench/rootless.sh [N]   (N defaults to 30; run as root)
# A user is created for the run (with a subuid/subgid range written for it)
# and removed at the end with its entries and its pause process; everything
# else lives in a temporary directory removed at the end. Results are
# printed, never committed.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-30}
[ -x "$here/build/vessel" ] || { echo "rootless: build/vessel not built (make)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "rootless: must run as root" >&2; exit 1; }
command -v newuidmap >/dev/null || { echo "rootless: newuidmap missing (uidmap)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/vessel-bench-rootless.XXXXXX)
chmod 0755 "$tmp"
user=vsbench$$
useradd -M -N -d "$tmp/home" -s /bin/sh -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$user" || exit 1
uid=$(id -u "$user")
mkdir -p "$tmp/home" "$tmp/xdg" "$tmp/bin"
cp "$here/build/vessel" "$tmp/bin/vessel"
chown "$uid" "$tmp/home" "$tmp/xdg"
chmod 0700 "$tmp/xdg"
for f in subuid subgid; do echo "$user:450000000:65536" >>/etc/$f; done
export VESSEL_ROOT="$tmp/data" VESSEL_RUNTIME_ROOT="$tmp/run"
export VESSEL_SYSTEM_CONFIG="$tmp/none.json" XDG_CONFIG_HOME="$tmp/xdgconf"
vessel="$tmp/bin/vessel"
as_user() {
	env -i PATH="$PATH" HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/xdg" USER="$user" \
		setpriv --reuid "$uid" --regid "$(id -g "$user")" --init-groups "$@"
}
cleanup() {
	for c in $("$vessel" ps -aq 2>/dev/null); do "$vessel" rm -f "$c" >/dev/null 2>&1; done
	for c in $(as_user "$vessel" ps -aq 2>/dev/null); do as_user "$vessel" rm -f "$c" >/dev/null 2>&1; done
	p=$(cat "$tmp/xdg/vessel/pause.pid" 2>/dev/null)
	[ -n "$p" ] && [ "$(cat /proc/$p/comm 2>/dev/null)" = vessel-pause ] && kill "$p"
	# What else runs as the user (podman's own pause process) ends too:
	# found by uid, killed by pid.
	sleep 0.3
	for d in /proc/[0-9]*; do
		[ "$(awk '/^Uid:/ {print $2}' "$d/status" 2>/dev/null)" = "$uid" ] && kill "${d#/proc/}" 2>/dev/null
	done
	sleep 0.3
	userdel "$user" || echo "rootless: userdel $user failed: remove it by hand" >&2
	for f in subuid subgid; do sed -i "/^$user:/d" /etc/$f; done
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

"$vessel" run --rm busybox true >/dev/null || exit 1
as_user "$vessel" run --rm busybox true >/dev/null || exit 1 # pause process + image, once
# podman rootless, when it runs here (its own storage in the temporary dir).
podman_ok=""
if command -v podman >/dev/null; then
	as_user "$vessel" save -o "$tmp/home/bb.tar" busybox
	pod() { as_user podman --root "$tmp/home/pstore" --runroot "$tmp/xdg/prun" \
		--cgroup-manager cgroupfs --events-backend none "$@"; }
	if pod load -i "$tmp/home/bb.tar" >/dev/null 2>"$tmp/podman.err" &&
		pod run --rm --network none busybox true >/dev/null 2>>"$tmp/podman.err"; then
		podman_ok=1
	fi
fi
: >"$tmp/t.root"
: >"$tmp/t.rootless"
: >"$tmp/t.podman"
: >"$tmp/t.keepid"
as_user "$vessel" run --rm --userns=keep-id busybox true >/dev/null || exit 1
i=0
while [ $i -lt "$n" ]; do
	t0=$(now_ns)
	"$vessel" run --rm busybox true >/dev/null 2>&1 || { echo "rootful run failed" >&2; exit 1; }
	echo $(($(now_ns) - t0)) >>"$tmp/t.root"
	t0=$(now_ns)
	as_user "$vessel" run --rm busybox true >/dev/null 2>&1 || { echo "rootless run failed" >&2; exit 1; }
	echo $(($(now_ns) - t0)) >>"$tmp/t.rootless"
	t0=$(now_ns)
	as_user "$vessel" run --rm --userns=keep-id busybox true >/dev/null 2>&1 || { echo "keep-id run failed" >&2; exit 1; }
	echo $(($(now_ns) - t0)) >>"$tmp/t.keepid"
	if [ -n "$podman_ok" ]; then
		t0=$(now_ns)
		pod run --rm --network none busybox true >/dev/null 2>&1
		echo $(($(now_ns) - t0)) >>"$tmp/t.podman"
	fi
	i=$((i + 1))
done
root=$(median_ms <"$tmp/t.root")
rl=$(median_ms <"$tmp/t.rootless")
echo "vessel run --rm busybox true, median of $n (interleaved):"
echo "  root            $root ms"
echo "  rootless        $rl ms"
awk -v a="$rl" -v h="$root" 'BEGIN { printf "  ratio rootless/root  %.2fx\n", a / h }'
if [ -n "$podman_ok" ]; then
	echo "  podman rootless (--network none)  $(median_ms <"$tmp/t.podman") ms"
else
	echo "  podman rootless: not run here ($(tail -n 1 "$tmp/podman.err" 2>/dev/null))"
fi
echo "  rootless --userns=keep-id (copy cached)  $(median_ms <"$tmp/t.keepid") ms"
# The first run of a map makes the shifted copy: measured with the cache
# removed before each run (in the user's namespaces: the copies belong to
# its subordinate ids).
data="$tmp/home/.local/share/vessel"
mkdir -p "$tmp/pyimg/bin" && cp /bin/busybox "$tmp/pyimg/bin/" && ln -s busybox "$tmp/pyimg/bin/true"
tar -cf "$tmp/home/py.tar" -C /usr/lib/python3 . -C "$tmp/pyimg" . && chown "$uid" "$tmp/home/py.tar"
as_user "$vessel" import "$tmp/home/py.tar" py:1 >/dev/null || exit 1
pybytes=$(du -sb /usr/lib/python3 | cut -f1)
for img in busybox py:1; do
	: >"$tmp/t.cold"
	: >"$tmp/t.warm"
	k=0
	while [ $k -lt 5 ]; do
		as_user "$vessel" unshare rm -rf "$data/shifted"
		for kind in cold warm; do
			t0=$(now_ns)
			as_user "$vessel" run --rm --userns=keep-id "$img" /bin/true >/dev/null 2>&1 ||
				{ echo "keep-id run of $img failed" >&2; exit 1; }
			echo $(($(now_ns) - t0)) >>"$tmp/t.$kind"
		done
		k=$((k + 1))
	done
	echo "  rootless --userns=keep-id $img: first run of the map (makes the copy) $(median_ms <"$tmp/t.cold") ms, the next $(median_ms <"$tmp/t.warm") ms (medians of 5)"
done
echo "  (py:1 is /usr/lib/python3: $((pybytes / 1048576)) MiB, $(find /usr/lib/python3 | wc -l) entries)"
# The copy alone, against a plain copy of the same tree (the floor), with
# its CPU time: wall time on a loaded 2-core machine is mostly waiting.
if [ -x "$here/build/bench/shift-copy" ]; then
	echo "/usr/lib/python3 copied by vessel's layer copier (build/bench/shift-copy, as root):"
	mkdir "$tmp/sc" && "$here/build/bench/shift-copy" /usr/lib/python3 "$tmp/sc" 5
else
	echo "  (make build/bench/shift-copy for the copy's own cost)"
fi
