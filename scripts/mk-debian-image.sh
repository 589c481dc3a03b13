#!/bin/sh
# Makes (once) the Debian base image of the build tests and benchmark: a
# bookworm root with gcc and libc6-dev made by mmdebstrap, as a tar cached
# outside the clone. Prints the tar's path. Exit 2 (with the reason on
# stderr) when mmdebstrap is missing or cannot reach a mirror.
#   sh scripts/mk-debian-image.sh [CACHE_DIR]   (default /var/cache/vessel/test-images)
set -eu
dir=${1:-${VESSEL_TEST_IMAGES:-/var/cache/vessel/test-images}}
out=$dir/debian-bookworm-gcc.tar
if [ -f "$out" ] && [ -s "$out" ]; then
	echo "$out"
	exit 0
fi
if ! command -v mmdebstrap >/dev/null 2>&1; then
	echo "mk-debian-image: mmdebstrap is not installed (scripts/deps.sh installs it)" >&2
	exit 2
fi
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
[ -f "$out" ] && [ -s "$out" ] && { echo "$out"; exit 0; }
# mmdebstrap picks its output format from the name: keep ".tar" last.
tmp=$dir/.tmp.$$.tar
trap 'rm -f "$tmp"' EXIT
if ! mmdebstrap --quiet --variant=apt --include=gcc,libc6-dev \
	--customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
	bookworm "$tmp" >"$dir/mmdebstrap.log" 2>&1; then
	echo "mk-debian-image: mmdebstrap failed (no mirror reachable?): $(tail -n 3 "$dir/mmdebstrap.log" | tr '\n' ' ')" >&2
	exit 2
fi
mv "$tmp" "$out"
trap - EXIT
echo "$out"
