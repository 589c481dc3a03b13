#!/bin/sh
# Installs vessel's build, test and benchmark dependencies from Debian's
# archive. Idempotent: installs only what is missing, silent when all is there.
set -eu

PKGS="build-essential pkg-config libjson-c-dev libseccomp-dev libcap-dev libmd-dev \
libmnl-dev libnftables-dev nftables \
libarchive-dev libssl-dev libcurl4-openssl-dev libcmocka-dev python3 python3-pytest busybox-static \
iproute2 procps"
# The static archives libarchive's tar and decompression filters need when
# vessel links it statically (STATIC_LIBS=1, the default: Makefile).
PKGS="$PKGS libzstd-dev liblz4-dev liblzma-dev libbz2-dev zlib1g-dev"
# The rootless engine (docs/rootless.md, test_rootless.py): newuidmap and
# newgidmap map a user's /etc/subuid range into its namespace; pasta (passt)
# is --network pasta.
PKGS="$PKGS uidmap passt"
# The arm64 cross build whose unit tests `make test` runs under qemu-user
# (Debian multiarch). VESSEL_CROSS=0 leaves it out.
CROSS_PKGS=""
if [ "${VESSEL_CROSS:-1}" != 0 ]; then
	PKGS="$PKGS gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"
	CROSS_PKGS="libjson-c-dev:arm64 libseccomp-dev:arm64 libcap-dev:arm64 libmd-dev:arm64 \
libarchive-dev:arm64 libssl-dev:arm64 libcurl4-openssl-dev:arm64 libcmocka-dev:arm64 \
libmnl-dev:arm64 libnftables-dev:arm64 libzstd-dev:arm64 liblz4-dev:arm64 liblzma-dev:arm64 \
libbz2-dev:arm64 zlib1g-dev:arm64"
fi
# Fuzzing (make fuzz, and the fuzz smoke run of make test): clang-14 with
# libFuzzer and the sanitizer runtimes; zstd makes one seed of the corpus.
PKGS="$PKGS clang-14 libclang-rt-14-dev zstd"
# make format / make format-check (run by make test): the repo's .clang-format.
PKGS="$PKGS clang-format-14"
# Peers for the benchmarks (runc, crun; GNU time for peak RSS) and the image
# interoperability tests (podman, skopeo, umoci), and the real callers that drive
# vessel as their OCI runtime (docker.io, containerd, podman: test_callers.py).
# VESSEL_DEPS_OPTIONAL=0 leaves them out.
if [ "${VESSEL_DEPS_OPTIONAL:-1}" = 1 ]; then
	PKGS="$PKGS runc crun podman skopeo umoci time docker.io containerd"
	# vessel bench's report: charts (gnuplot's svg terminal) and the test
	# that renders it (headless chromium).
	PKGS="$PKGS gnuplot-nox chromium"
	# The network benchmark (iperf3) and the CNI tests (Debian's plugins).
	PKGS="$PKGS iperf3 containernetworking-plugins"
	# vessel bench's workloads (docs/bench-suites.md): stress-ng, fio.
	PKGS="$PKGS stress-ng fio"
	# vessel build: the Debian base of its tests (mmdebstrap) and its
	# benchmark peer (buildah bud, bench/build.sh).
	PKGS="$PKGS mmdebstrap buildah"
	# Registries (test_registry.py, bench/registry-pull.sh): the Distribution
	# server, htpasswd for its Basic auth, and JWTs for the test token server.
	PKGS="$PKGS docker-registry apache2-utils python3-cryptography"
	# Tests that watch which process makes which system calls (strace):
	# the pull's layers received by their unpackers (test_registry.py).
	PKGS="$PKGS strace"
fi

# The microVM backend (docs/vm.md): QEMU, and what building the guest kernel
# from Debian's linux-source-6.1 takes. VESSEL_DEPS_VM=0 leaves them out.
if [ "${VESSEL_DEPS_VM:-1}" = 1 ]; then
	PKGS="$PKGS qemu-system-x86 linux-source-6.1 flex bison bc libelf-dev cpio xz-utils"
	# --vm-rootfs=block's disk image (mkfs.ext4 -d), checkpoint --export.
	PKGS="$PKGS e2fsprogs tar zstd"
fi

missing=""
for p in $PKGS $CROSS_PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing Debian packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
if [ -n "$CROSS_PKGS" ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
	dpkg --add-architecture arm64
fi
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
