#!/bin/sh
# Build benchmark: `vessel build` against `buildah bud` (Debian's), same
# Dockerfile, same base images loaded into both, measured in this run:
#   cold    a multi-stage build with no cache: a Debian base (mmdebstrap,
#           gcc + libc6-dev; scripts/mk-debian-image.sh) compiles a C
#           program of four files, the static binary is copied into a
#           busybox stage (no network);
#   cached  the same build again, every step from the cache.
# Median of BENCH_RUNS each; ratios vessel/buildah printed (targets: cold
# <= 1.0x, cached <= 0.3x and under 300 ms). Then the two results'
# filesystems are compared (paths, types, modes, owners, contents, link
# targets; not times). See docs/build.md.
#
# Environment: VESSEL      the vessel binary (default: build/vessel)
#              BENCH_RUNS  runs per contender and case (default 3)
#              BENCH_DIR   where to work (default $TMPDIR or /var/tmp)
# Exit status: 0 when everything was measured and the filesystems are the
# same, 1 otherwise (2: buildah or the Debian base unavailable, with why).
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
vessel=${VESSEL:-$here/build/vessel}
runs=${BENCH_RUNS:-3}

die() {
	echo "build-bench: $*" >&2
	exit "${2:-1}"
}

[ -x "$vessel" ] || die "$vessel is not built (run: make all)"
command -v buildah >/dev/null 2>&1 || die "buildah is not installed (scripts/deps.sh)" 2
base_tar=$(sh "$here/scripts/mk-debian-image.sh") || die "no Debian base image" 2

work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/var/tmp}}/vessel-build-bench.XXXXXX")
bah() { buildah --root "$work/bah" --runroot "$work/bahrun" --storage-driver overlay "$@"; }
cleanup() {
	bah rm --all >/dev/null 2>&1 || true
	bah rmi --all --force >/dev/null 2>&1 || true
	umount -R "$work/bah/overlay" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

export VESSEL_ROOT="$work/vessel"
export VESSEL_RUNTIME_ROOT="$work/vessel-run"
mkdir -p "$VESSEL_RUNTIME_ROOT"

# The context: four C files and the Dockerfile.
ctx=$work/ctx
mkdir -p "$ctx/src"
cat >"$ctx/src/greet.h" <<'EOF'
const char *greet(void);
int answer(void);
int twice(int);
EOF
printf '#include <stdio.h>\n#include "greet.h"\nint main(void) { printf("%%s %%d\\n", greet(), twice(answer())); return 0; }\n' >"$ctx/src/main.c"
printf '#include "greet.h"\nconst char *greet(void) { return "hello"; }\n' >"$ctx/src/greet.c"
printf '#include "greet.h"\nint answer(void) { return 21; }\n' >"$ctx/src/answer.c"
printf '#include "greet.h"\nint twice(int x) { return 2 * x; }\n' >"$ctx/src/twice.c"
cat >"$ctx/Dockerfile" <<'EOF'
FROM debian-gcc AS build
WORKDIR /src
COPY src/ ./
RUN gcc -O2 -static -o /hello main.c greet.c answer.c twice.c
FROM busybox
COPY --from=build /hello /usr/local/bin/hello
CMD ["hello"]
EOF

# The same base images in both: vessel's, saved and pulled by buildah.
"$vessel" import "$base_tar" debian-gcc >/dev/null
"$vessel" save -o "$work/debian.tar" debian-gcc
"$vessel" save -o "$work/busybox.tar" busybox
bah pull -q docker-archive:"$work/debian.tar" >/dev/null
bah pull -q docker-archive:"$work/busybox.tar" >/dev/null
bah tag "$(bah images -q --filter reference='*debian-gcc*' | head -n1)" localhost/debian-gcc
bah tag "$(bah images -q --filter reference='*busybox*' | head -n1)" localhost/busybox

# ms COMMAND...: milliseconds the command took (its output discarded).
ms() {
	s=$(date +%s%N)
	"$@" >/dev/null 2>"$work/last.err" || {
		cat "$work/last.err" >&2
		die "failed: $*"
	}
	echo $((($(date +%s%N) - s) / 1000000))
}
median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

v_cold="" b_cold="" v_warm="" b_warm=""
i=0
while [ "$i" -lt "$runs" ]; do
	v_cold="$v_cold $(ms "$vessel" build --no-cache -q -t hello "$ctx")"
	b_cold="$b_cold $(ms bah bud --runtime runc --network none --pull=never --layers --no-cache -q -t hello "$ctx")"
	i=$((i + 1))
done
i=0
while [ "$i" -lt "$runs" ]; do
	v_warm="$v_warm $(ms "$vessel" build -q -t hello "$ctx")"
	b_warm="$b_warm $(ms bah bud --runtime runc --network none --pull=never --layers -q -t hello "$ctx")"
	i=$((i + 1))
done
vc=$(echo "$v_cold" | median) bc=$(echo "$b_cold" | median)
vw=$(echo "$v_warm" | median) bw=$(echo "$b_warm" | median)
echo "build: cold multi-stage (gcc on Debian -> busybox), median of $runs"
echo "  vessel build  ${vc} ms   (runs:$v_cold)"
echo "  buildah bud   ${bc} ms   (runs:$b_cold)"
awk -v v="$vc" -v b="$bc" 'BEGIN {printf "  ratio vessel/buildah %.2fx (target <= 1.0x)\n", v / b}'
echo "build: fully cached rebuild, median of $runs"
echo "  vessel build  ${vw} ms   (runs:$v_warm)"
echo "  buildah bud   ${bw} ms   (runs:$b_warm)"
awk -v v="$vw" -v b="$bw" 'BEGIN {printf "  ratio vessel/buildah %.2fx (target <= 0.3x, and vessel under 300 ms)\n", v / b}'

# The results' filesystems, flattened from each image's layers.
"$vessel" save -o "$work/v-out.tar" hello
bah push -q localhost/hello docker-archive:"$work/b-out.tar":hello:latest >/dev/null
python3 - "$work/v-out.tar" "$work/b-out.tar" <<'EOF'
import hashlib, io, json, sys, tarfile

def tree(path):
    outer = tarfile.open(path)
    manifest = json.load(outer.extractfile("manifest.json"))[0]
    files = {}
    for layer in manifest["Layers"]:
        with tarfile.open(fileobj=io.BytesIO(outer.extractfile(layer).read())) as t:
            for m in t.getmembers():
                name = m.name.lstrip("./").rstrip("/")
                base = name.rsplit("/", 1)[-1]
                parent = name.rsplit("/", 1)[0] if "/" in name else ""
                if base == ".wh..wh..opq":
                    for k in [k for k in files if k.startswith(parent + "/")]:
                        del files[k]
                    continue
                if base.startswith(".wh."):
                    gone = (parent + "/" if parent else "") + base[4:]
                    for k in [k for k in files if k == gone or k.startswith(gone + "/")]:
                        del files[k]
                    continue
                what = m.linkname if (m.issym() or m.islnk()) else ""
                if m.isfile():
                    what = hashlib.sha256(t.extractfile(m).read()).hexdigest()
                files[name] = (m.type, oct(m.mode & 0o7777), m.uid, m.gid, what)
    return files

v, b = tree(sys.argv[1]), tree(sys.argv[2])
diff = sorted(set(v.items()) ^ set(b.items()))
print(f"build: filesystems: vessel {len(v)} entries, buildah {len(b)} entries, "
      f"{len({k for k, _ in diff})} differing paths")
for k, meta in diff[:20]:
    print(f"  {'vessel ' if v.get(k) == meta else 'buildah'} {k} {meta}")
sys.exit(1 if diff else 0)
EOF
