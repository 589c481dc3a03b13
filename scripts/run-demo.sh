#!/bin/sh
# `make run`: first the OCI runtime alone: builds a busybox bundle in a
# temporary directory and runs one container from it in the foreground under
# a private runtime root (it says hello from inside its namespaces). Then the
# engine, as a user would: `vessel run --rm busybox echo hello`, with the
# built-in busybox image (made from Debian's busybox-static on first use) in
# the default data root. Exit status: the first failure's.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
vessel=${VESSEL:-$here/build/vessel}

[ "$(id -u)" = 0 ] || { echo "run-demo: must run as root (namespaces, mounts)" >&2; exit 1; }
[ -x "$vessel" ] || { echo "run-demo: $vessel is not built (run: make all)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vessel-demo.XXXXXX")
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	# A container left behind by a failed run is removed before its files.
	"$vessel" --root "$tmp/state" delete --force demo >/dev/null 2>&1 || true
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck disable=SC2016 # expanded by the container's shell, not this one
VESSEL=$vessel sh "$here/scripts/mkbundle.sh" "$tmp/bundle" /bin/sh -c '
echo "hello from vessel: hostname=$(hostname) pid=$$ uid=$(id -u)"
grep -E "^(NSpid|CapEff)" /proc/self/status
echo "root filesystem:" $(ls /)'

echo "run-demo: $vessel --root $tmp/state run --bundle $tmp/bundle demo" >&2
status=0
"$vessel" --root "$tmp/state" run --bundle "$tmp/bundle" demo || status=$?
[ "$status" = 0 ] || { echo "run-demo: the container exited with status $status" >&2; exit "$status"; }

echo "run-demo: $vessel run --rm busybox echo hello" >&2
"$vessel" run --rm busybox echo hello || status=$?
[ "$status" = 0 ] || echo "run-demo: vessel run exited with status $status" >&2
exit "$status"
