#!/bin/sh
# Build vessel's guest kernel. Called by `vessel vm kernel` (which embeds this
# script and the config fragment) with:
#   $1 linux-source tarball  $2 config fragment  $3 output dir  $4 make jobs
# Writes $3/bzImage, $3/vmlinux and $3/config; builds in $3.build and removes
# it afterwards. Exits non-zero with a message on stderr on any failure.
set -eu
src=$1 frag=$2 out=$3 jobs=${4:-2}
build=$out.build
rm -rf "$build"
mkdir -p "$build" "$out"
trap 'rm -rf "$build"' EXIT
echo "vessel: extracting $src" >&2
# Skip what an x86 build never reads (docs, device trees, the sources of big
# driver trees); every Kconfig file stays, since Kconfig reads them all.
tar -xf "$src" -C "$build" --strip-components=1 --exclude='*/Documentation/*/*' \
	--exclude='*.dts' --exclude='*.dtsi' --exclude='*/drivers/gpu/*.[ch]' \
	--exclude='*/drivers/media/*.[ch]' --exclude='*/drivers/staging/*.[ch]' \
	--exclude='*/drivers/net/wireless/*.[ch]' --exclude='*/sound/*.[ch]'
# QEMU's virtio-mmio offers every queue at its 1024-entry maximum, whatever
# size the device declares (128 for virtio-serial and virtio-9p), and the
# guest's virtio-console fills each receive queue with a page per entry: 8 MiB
# of guest RAM for the control port, all of it touched on the host. The guest
# takes at most 128 entries a queue (docs/vm.md, "Host memory").
mmio=$build/drivers/virtio/virtio_mmio.c
sed -i 's/^\tnum = readl(vm_dev->base + VIRTIO_MMIO_QUEUE_NUM_MAX);$/&\n\tnum = min(num, 128U);/' "$mmio"
grep -q 'num = min(num, 128U);' "$mmio" || { echo "vessel: cannot cap the virtio-mmio queue size in $mmio" >&2; exit 1; }
echo "vessel: configuring (allnoconfig + $(basename "$frag"))" >&2
make -C "$build" -s ARCH=x86_64 KCONFIG_ALLCONFIG="$frag" allnoconfig >&2
# Every option the fragment sets must have survived dependency resolution.
bad=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=n) opt=${line%%=*}
		if grep -q "^$opt=" "$build/.config"; then
			echo "vessel: $opt is set, the fragment wants it off" >&2; bad=1; fi ;;
	CONFIG_*=*)
		if ! grep -qxF "$line" "$build/.config"; then
			echo "vessel: $line did not survive (unmet dependency?)" >&2; bad=1; fi ;;
	esac
done <"$frag"
[ $bad = 0 ] || exit 1
echo "vessel: compiling with $jobs jobs" >&2
make -C "$build" ARCH=x86_64 -j"$jobs" bzImage
cp "$build/arch/x86/boot/bzImage" "$out/bzImage.tmp"
cp "$build/vmlinux" "$out/vmlinux.tmp"
cp "$build/.config" "$out/config"
mv "$out/vmlinux.tmp" "$out/vmlinux"
mv "$out/bzImage.tmp" "$out/bzImage"
