#!/bin/sh
# Prepares an OCI bundle from Debian's busybox-static:
#   scripts/mkbundle.sh DIR [CMD [ARG...]]
# DIR/rootfs holds /bin/busybox and its applet links; DIR/config.json is
# `vessel spec` with terminal off, a writable root and CMD (default: sh).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
vessel=${VESSEL:-$here/build/vessel}
busybox=${BUSYBOX:-/bin/busybox}

if [ $# -lt 1 ]; then
	echo "usage: $0 DIR [CMD [ARG...]]" >&2
	exit 2
fi
dir=$1
shift
[ -x "$busybox" ] || { echo "mkbundle: $busybox not found (apt-get install busybox-static)" >&2; exit 1; }
[ -x "$vessel" ] || { echo "mkbundle: $vessel not built (run make)" >&2; exit 1; }

mkdir -p "$dir/rootfs/bin" "$dir/rootfs/etc" "$dir/rootfs/tmp" "$dir/rootfs/root"
cp "$busybox" "$dir/rootfs/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$dir/rootfs/bin/$applet"
done
ln -sfn bin "$dir/rootfs/sbin"
mkdir -p "$dir/rootfs/usr"
ln -sfn ../bin "$dir/rootfs/usr/bin"
ln -sfn ../bin "$dir/rootfs/usr/sbin"
echo "root:x:0:0:root:/root:/bin/sh" >"$dir/rootfs/etc/passwd"
echo "nobody:x:65534:65534:nobody:/:/bin/false" >>"$dir/rootfs/etc/passwd"
echo "root:x:0:" >"$dir/rootfs/etc/group"
chmod 1777 "$dir/rootfs/tmp"

rm -f "$dir/config.json"
"$vessel" spec --bundle "$dir"
/usr/bin/python3 - "$dir/config.json" "$@" <<'PY'
import json, sys
path, args = sys.argv[1], sys.argv[2:]
with open(path) as f:
    cfg = json.load(f)
cfg["process"]["terminal"] = False
cfg["root"]["readonly"] = False
if args:
    cfg["process"]["args"] = args
with open(path, "w") as f:
    json.dump(cfg, f, indent=2)
PY
