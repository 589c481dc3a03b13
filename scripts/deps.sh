#!/bin/sh
# Installs vessel's build, test and benchmark dependencies from Debian's
# archive. Idempotent: installs only what is missing, silent when all is there.
set -eu

PKGS="build-essential pkg-config libjson-c-dev libseccomp-dev libcap-dev \
libarchive-dev libssl-dev libcmocka-dev python3 python3-pytest busybox-static \
iproute2 procps"
# Fuzzing (make fuzz, and the fuzz smoke run of make test): clang-14 with
# libFuzzer and the sanitizer runtimes; zstd makes one seed of the corpus.
PKGS="$PKGS clang-14 libclang-rt-14-dev zstd"
# Peers for the benchmarks (runc, crun) and the image interoperability
# tests (podman, skopeo, umoci). VESSEL_DEPS_OPTIONAL=0 leaves them out.
if [ "${VESSEL_DEPS_OPTIONAL:-1}" = 1 ]; then
	PKGS="$PKGS runc crun podman skopeo umoci"
fi

missing=""
for p in $PKGS; do
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
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
