#!/bin/sh
# Registry pull benchmark: a ~200 MB, 5-layer image (gzip layers of random
# content) served by Debian's docker-registry on 127.0.0.1, pulled by
# `vessel pull` into a fresh data root, by `skopeo copy` into an OCI layout
# directory and by `podman pull` into private storage, in the same run
# (median of BENCH_RUNS each); prints vessel/skopeo (target <= 0.8) and
# vessel/podman, then a second `vessel pull` of the same image (target
# < 100 ms: only the manifest moves). See docs/benchmarks.md.
#
# Environment: VESSEL      the vessel binary (default: build/vessel)
#              VESSEL_BEFORE  another vessel binary (an older build) timed in
#                          the same runs, for a before/after ratio
#              BENCH_MB    image size in MB (default 200)
#              BENCH_RUNS  runs per contender (default 3)
#              BENCH_DIR   where to work (default $TMPDIR or /var/tmp)
# Exit status: 0 when vessel was measured (targets met or not), 1 otherwise.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
vessel=${VESSEL:-$here/build/vessel}
mb=${BENCH_MB:-200}
runs=${BENCH_RUNS:-3}

die() {
	echo "registry-pull: $*" >&2
	exit 1
}

[ -x "$vessel" ] || die "$vessel is not built (run: make all)"
command -v docker-registry >/dev/null || die "docker-registry is not installed (scripts/deps.sh)"
command -v skopeo >/dev/null || die "skopeo is not installed (scripts/deps.sh)"
case $mb$runs in *[!0-9]*) die "BENCH_MB and BENCH_RUNS must be numbers" ;; esac

work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/var/tmp}}/vessel-registry-pull.XXXXXX")
podrun=$(mktemp -d /tmp/vessel-bench-podman.XXXXXX)
reg_pid=""
cleanup() {
	if [ -n "$reg_pid" ]; then
		kill "$reg_pid" 2>/dev/null || true
		wait "$reg_pid" 2>/dev/null || true
	fi
	rm -rf "$work" "$podrun"
}
trap 'st=$?; cleanup; exit $st' EXIT
trap 'exit 1' INT TERM

now() {
	date +%s.%N
}

elapsed() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'
}

median() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# The image, as an OCI layout: 5 layers of MB/5 each, random files (1 MiB
# and 16 KiB), gzip level 1 (what random data costs to decompress is small;
# the layers are as big as the content).
echo "registry-pull: making a ${mb} MB, 5-layer image..." >&2
python3 - "$work/layout" "$mb" <<'EOF'
import gzip, hashlib, io, json, os, sys, tarfile
out, mb = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{out}/blobs/sha256")
def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(f"{out}/blobs/sha256/{d}", "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)
layers, diff_ids = [], []
per = mb * 1024 * 1024 // 5
for n in range(5):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        ti = tarfile.TarInfo(f"layer{n}"); ti.type = tarfile.DIRTYPE; ti.mode = 0o755
        t.addfile(ti)
        done, i = 0, 0
        while done < per:
            size = 1 << 20 if i % 2 == 0 else 16 << 10
            data = os.urandom(size)
            ti = tarfile.TarInfo(f"layer{n}/f{i}"); ti.size = size; ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
            done += size; i += 1
    raw = buf.getvalue()
    diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
    d, s = put(gzip.compress(raw, compresslevel=1, mtime=0))
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": s})
arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
config = json.dumps({"architecture": arch, "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
cd, cs = put(config)
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": cd, "size": cs}, "layers": layers}).encode()
md, ms = put(manifest)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "latest"}}]},
          open(f"{out}/index.json", "w"))
open(f"{out}/oci-layout", "w").write('{"imageLayoutVersion": "1.0.0"}')
EOF

# The registry, on a free loopback port.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/registry.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || die "docker-registry did not start: $(cat "$work/registry.log")"
	sleep 0.1
done
ref=127.0.0.1:$port/bench/pull:latest
skopeo copy -q --dest-tls-verify=false "oci:$work/layout:latest" "docker://$ref" ||
	die "skopeo could not push the image"

podman_ok=0
command -v podman >/dev/null && podman_ok=1
sync
sleep 1
v_times=""
d_times=""
b_times=""
s_times=""
p_times=""
r=1
while [ $r -le "$runs" ]; do
	sync
	t0=$(now)
	"$vessel" --debug --data-root "$work/v$r" pull -q "$ref" >/dev/null 2>"$work/v.err" ||
		die "vessel pull failed: $(tail -1 "$work/v.err")"
	t1=$(now)
	v_times="$v_times $(elapsed "$t0" "$t1")"
	# The pull's own account of its phases (a debug line): until the
	# last layer's bytes were received, hashed and written as blobs.
	share=$(sed -n 's/.*: manifest and config \([0-9.]*\) s, layers received ([^)]*) \([0-9.]*\) s.*/\1 \2/p' "$work/v.err" |
		awk '{ printf "%.3f", $1 + $2 }')
	[ -z "$share" ] || d_times="$d_times $share"

	if [ -n "${VESSEL_BEFORE:-}" ]; then
		sync
		t0=$(now)
		"$VESSEL_BEFORE" --data-root "$work/b$r" pull -q "$ref" >/dev/null ||
			die "$VESSEL_BEFORE pull failed"
		t1=$(now)
		b_times="$b_times $(elapsed "$t0" "$t1")"
	fi

	sync
	t0=$(now)
	skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$work/s$r:latest" ||
		die "skopeo copy failed"
	t1=$(now)
	s_times="$s_times $(elapsed "$t0" "$t1")"

	if [ $podman_ok = 1 ]; then
		sync
		t0=$(now)
		if podman --root "$work/p$r" --runroot "$podrun/r$r" --storage-driver vfs \
			--cgroup-manager cgroupfs --events-backend file \
			pull -q --tls-verify=false "$ref" >/dev/null 2>"$work/podman.err"; then
			t1=$(now)
			p_times="$p_times $(elapsed "$t0" "$t1")"
		else
			echo "registry-pull: podman pull failed: $(tail -1 "$work/podman.err")" >&2
			podman_ok=0
		fi
	fi
	r=$((r + 1))
done

# A second pull of the same image into the same root: nothing but the
# manifest moves.
again=""
i=0
while [ $i -lt 5 ]; do
	t0=$(now)
	"$vessel" --data-root "$work/v1" pull -q "$ref" >/dev/null ||
		die "second vessel pull failed"
	t1=$(now)
	again="$again $(elapsed "$t0" "$t1")"
	i=$((i + 1))
done

size=$(du -sm "$work/layout/blobs" | cut -f1)
# shellcheck disable=SC2086
v=$(median $v_times)
# shellcheck disable=SC2086
s=$(median $s_times)
# shellcheck disable=SC2086
a=$(median $again)
ratio=$(awk -v a="$v" -v b="$s" 'BEGIN { printf "%.2f", a / b }')
met=$(awk -v r="$ratio" 'BEGIN { print (r <= 0.8) ? "met" : "NOT met" }')
a_ms=$(awk -v a="$a" 'BEGIN { printf "%.0f", a * 1000 }')
a_met=$(awk -v a="$a_ms" 'BEGIN { print (a < 100) ? "met" : "NOT met" }')
echo "registry pull: ${size} MB, 5 layers, loopback docker-registry, median of $runs runs"
printf '  %-34s %8.3f s\n' "vessel pull" "$v"
printf '  %-34s %8.3f s\n' "skopeo copy docker:// -> oci:" "$s"
if [ -n "$p_times" ]; then
	# shellcheck disable=SC2086
	p=$(median $p_times)
	printf '  %-34s %8.3f s\n' "podman pull (vfs)" "$p"
fi
echo "  vessel / skopeo: ${ratio}x (target <= 0.8x: $met)"
if [ -n "$d_times" ]; then
	# shellcheck disable=SC2086
	d=$(median $d_times)
	printf '  %-34s %8.3f s\n' "vessel: received, hashed, stored" "$d"
	echo "  (vessel's share that is skopeo's work: download, sha256, blobs written; its unpack runs beside it)"
	echo "  vessel's download share / skopeo: $(awk -v a="$d" -v b="$s" 'BEGIN { printf "%.2f", a / b }')x"
fi
if [ -n "$b_times" ]; then
	# shellcheck disable=SC2086
	b=$(median $b_times)
	printf '  %-34s %8.3f s\n' "VESSEL_BEFORE pull" "$b"
	echo "  VESSEL_BEFORE / skopeo: $(awk -v a="$b" -v b="$s" 'BEGIN { printf "%.2f", a / b }')x"
fi
if [ -n "$p_times" ]; then
	echo "  vessel / podman: $(awk -v a="$v" -v b="$p" 'BEGIN { printf "%.2f", a / b }')x"
fi
echo "  second vessel pull: ${a_ms} ms (median of 5; target < 100 ms: $a_met)"
