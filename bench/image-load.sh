#!/bin/sh
# Image load benchmark: `vessel load` of a ~200 MB docker-archive against the
# floor of a plain `tar -x` of the same layer tars into an empty directory,
# both measured in this run (median of BENCH_RUNS each), and the ratio
# (target: load <= 1.5x tar). vessel load also hashes every blob twice
# (digest and diff_id), keeps the layer blobs, and makes everything durable
# (syncfs) before index.json names the image; so the same ratio against
# `tar -x; sync` is printed too. See docs/images.md.
#
# Environment: VESSEL      the vessel binary (default: build/vessel)
#              BENCH_MB    image size in MB (default 200)
#              BENCH_RUNS  runs per contender (default 3)
#              BENCH_DIR   where to work (default $TMPDIR or /var/tmp); the
#                          data roots and tar targets share its filesystem
# Exit status: 0 when both were measured (target met or not), 1 otherwise.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
vessel=${VESSEL:-$here/build/vessel}
mb=${BENCH_MB:-200}
runs=${BENCH_RUNS:-3}

die() {
	echo "image-load: $*" >&2
	exit 1
}

[ -x "$vessel" ] || die "$vessel is not built (run: make all)"
case $mb$runs in *[!0-9]*) die "BENCH_MB and BENCH_RUNS must be numbers" ;; esac

work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/var/tmp}}/vessel-image-load.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

now() {
	date +%s.%N
}

elapsed() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'
}

median() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# A root filesystem of random (incompressible) content: three quarters of the
# bytes in a few large files, the rest in many small ones, in 20 directories.
echo "image-load: making a ${mb} MB image..." >&2
rootfs=$work/rootfs
mkdir -p "$rootfs"
big=$((mb * 3 / 4))
small_files=$((mb * 1024 / 4 / 16)) # 16 KiB each
i=0
while [ $i -lt $((big / 4)) ]; do
	mkdir -p "$rootfs/big$((i % 4))"
	head -c 4194304 /dev/urandom >"$rootfs/big$((i % 4))/blob$i"
	i=$((i + 1))
done
i=0
while [ $i -lt $small_files ]; do
	d=$rootfs/dir$((i % 20))
	[ -d "$d" ] || mkdir -p "$d"
	head -c 16384 /dev/urandom >"$d/file$i"
	i=$((i + 1))
done
tar -C "$rootfs" -cf "$work/rootfs.tar" .

# The image: imported, then saved as a docker-archive (layers as plain tars).
src=$work/src-root
"$vessel" --data-root "$src" import "$work/rootfs.tar" bench/load:latest >/dev/null ||
	die "vessel import failed"
"$vessel" --data-root "$src" save -o "$work/image.tar" bench/load:latest ||
	die "vessel save failed"
mkdir "$work/layers"
tar -C "$work/layers" -xf "$work/image.tar" --wildcards '*/layer.tar'
layers=$(find "$work/layers" -name layer.tar | sort)
size=$(du -sm "$work/image.tar" | cut -f1)

# Nothing is removed before the end: deletions (and the discards that follow
# them on some filesystems) would slow down whichever run comes next.
sync
sleep 2
load_times=""
tar_times=""
tar_sync_times=""
r=1
while [ $r -le "$runs" ]; do
	# vessel load into a fresh data root
	sync
	t0=$(now)
	"$vessel" --data-root "$work/root$r" load -q -i "$work/image.tar" >/dev/null ||
		die "vessel load failed"
	t1=$(now)
	load_times="$load_times $(elapsed "$t0" "$t1")"

	# the floor: tar -x of the same layers (then the same, made durable)
	sync
	mkdir "$work/x$r"
	t0=$(now)
	for l in $layers; do
		tar -C "$work/x$r" -xf "$l"
	done
	t1=$(now)
	sync
	t2=$(now)
	tar_times="$tar_times $(elapsed "$t0" "$t1")"
	tar_sync_times="$tar_sync_times $(elapsed "$t0" "$t2")"
	r=$((r + 1))
done

# shellcheck disable=SC2086
load=$(median $load_times)
# shellcheck disable=SC2086
floor=$(median $tar_times)
# shellcheck disable=SC2086
floor_sync=$(median $tar_sync_times)
ratio=$(awk -v a="$load" -v b="$floor" 'BEGIN { printf "%.2f", a / b }')
ratio_sync=$(awk -v a="$load" -v b="$floor_sync" 'BEGIN { printf "%.2f", a / b }')
met=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.5) ? "met" : "NOT met" }')

echo "image load: ${size} MB docker-archive, $(echo "$layers" | wc -l) layer(s), median of $runs runs"
echo "  vessel load          ${load} s   (runs:${load_times})"
echo "  tar -x (floor)       ${floor} s   (runs:${tar_times})"
echo "  tar -x; sync         ${floor_sync} s   (runs:${tar_sync_times})"
echo "  ratio load / tar -x          ${ratio}x  (target <= 1.5x: $met)"
echo "  ratio load / tar -x; sync    ${ratio_sync}x"
