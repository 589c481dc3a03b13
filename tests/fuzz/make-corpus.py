#!/usr/bin/env python3
"""Regenerates the seed corpus under tests/fuzz/corpus/<target>/ from
fixtures: the default config.json of `vessel spec`, a state file, a
container record made by `vessel create`, tiny
layers (files, dirs, symlinks, hardlinks, whiteouts, an opaque dir; tar,
gzip and zstd), and docker-/oci-archives of a tiny imported image saved by
`vessel save`, with its manifest, index and config. Seeds are named by
content (sha1); the archives carry creation times, so a rerun adds new
ones (delete the old seeds first). Usage:
    python3 tests/fuzz/make-corpus.py [build/vessel]
Findings are added by hand as corpus/<target>/regress-<name>."""
import gzip, hashlib, io, json, os, shutil, subprocess, sys, tarfile, tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(REPO, "tests", "fuzz", "corpus")
VESSEL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "build", "vessel")


def seed(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, data, target in entries:
            ti = tarfile.TarInfo(name)
            ti.type = kind
            ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            ti.linkname = target
            ti.size = len(data) if kind == tarfile.REGTYPE else 0
            t.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return buf.getvalue()


def run(*args, env=None, **kw):
    return subprocess.run([VESSEL, *args], check=True, capture_output=True, env=env, **kw)


def main():
    tmp = tempfile.mkdtemp(prefix="vessel-corpus.")
    try:
        # OCI runtime config: the default spec, and a few shaped variants.
        b = os.path.join(tmp, "bundle")
        os.makedirs(b)
        run("spec", "--bundle", b)
        with open(os.path.join(b, "config.json")) as f:
            spec = json.load(f)
        seed("oci_config", json.dumps(spec))
        v = json.loads(json.dumps(spec))
        v["mounts"].append({"destination": "/data", "type": "bind", "source": "/tmp",
                            "options": ["rbind", "ro", "nosuid", "rprivate"]})
        v["linux"]["resources"] = {"memory": {"limit": 67108864, "swap": -1},
                                   "cpu": {"shares": 512, "quota": 50000, "period": 100000,
                                           "cpus": "0-1"},
                                   "pids": {"limit": 64},
                                   "devices": [{"allow": False, "access": "rwm"},
                                               {"allow": True, "type": "c", "major": 1,
                                                "minor": 3, "access": "rw"}]}
        v["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                                 "architectures": ["SCMP_ARCH_X86_64"],
                                 "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                                               "errnoRet": 1,
                                               "args": [{"index": 1, "value": 0o700,
                                                         "op": "SCMP_CMP_EQ"}]}]}
        v["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
        v["hooks"] = {"prestart": [{"path": "/bin/true", "args": ["true"], "timeout": 5}]}
        v["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        v["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        v["linux"]["namespaces"].append({"type": "user"})
        v["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
        v["process"]["capabilities"]["ambient"] = ["CAP_NET_BIND_SERVICE"]
        seed("oci_config", json.dumps(v))

        seed("state", json.dumps({
            "ociVersion": "1.0.2", "id": "c1", "status": "created", "pid": 4242,
            "pidStartTime": 123456, "bundle": "/tmp/b", "rootfs": "/tmp/b/rootfs",
            "created": "2026-01-01T00:00:00.000000000Z", "owner": "",
            "annotations": {"a": "b"}, "cgroup": {"path": "/vessel/c1"}}))
        seed("state", json.dumps({
            "ociVersion": "1.0.2", "id": "c1", "status": "stopped", "pid": 1,
            "pidStartTime": 0, "bundle": "/b", "rootfs": "/b/r", "created": "x",
            "owner": "root", "exitStatus": 137}))

        # Layers.
        R, D, S, H = tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE
        layers = [
            tar([("etc/", D, b"", ""), ("etc/hostname", R, b"fuzz\n", ""),
                 ("bin/", D, b"", ""), ("bin/sh", R, b"#!/bin/true\n", ""),
                 ("bin/ash", H, b"", "bin/sh"), ("lib", S, b"", "usr/lib"),
                 ("usr/", D, b"", ""), ("usr/lib/", D, b"", "")]),
            tar([("etc/.wh.hostname", R, b"", ""), ("var/", D, b"", ""),
                 ("var/.wh..wh..opq", R, b"", ""), ("var/new", R, b"x", "")]),
            tar([("a/", D, b"", ""), ("a/link", S, b"", "../../../etc"),
                 ("a/abs", S, b"", "/etc/passwd")]),
        ]
        for l in layers:
            seed("layer_unpack", l)
        seed("layer_unpack", gzip.compress(layers[0], mtime=0))
        if shutil.which("zstd"):
            z = subprocess.run(["zstd", "-q", "-c"], input=layers[1], capture_output=True,
                               check=True).stdout
            seed("layer_unpack", z)

        # Archives, manifest, index and config of a tiny imported image.
        env = dict(os.environ, VESSEL_ROOT=os.path.join(tmp, "data"),
                   VESSEL_RUNTIME_ROOT=os.path.join(tmp, "run"))
        rootfs = os.path.join(tmp, "rootfs.tar")
        with open(rootfs, "wb") as f:
            f.write(layers[0])
        run("import", rootfs, "tiny:1", env=env)
        for fmt in ("docker-archive", "oci-archive"):
            out = os.path.join(tmp, fmt + ".tar")
            run("save", "--format", fmt, "-o", out, "tiny:1", env=env)
            with open(out, "rb") as f:
                data = f.read()
            seed("archive", data)
            if fmt == "docker-archive":
                seed("archive", gzip.compress(data, mtime=0))
            with tarfile.open(out) as t:
                for m in t.getmembers():
                    if not m.isfile():
                        continue
                    body = t.extractfile(m).read()
                    try:
                        doc = json.loads(body)
                    except ValueError:
                        continue
                    mt = doc.get("mediaType", "") if isinstance(doc, dict) else ""
                    if isinstance(doc, dict) and "rootfs" in doc:
                        seed("image_config", body)
                    elif "manifest" in mt or "index" in mt or (
                            isinstance(doc, dict) and "manifests" in doc):
                        seed("manifest", body)
        idx = os.path.join(env["VESSEL_ROOT"], "index.json")
        if os.path.exists(idx):
            with open(idx, "rb") as f:
                seed("store_index", f.read())
        d = "sha256:" + "b" * 64
        seed("manifest", json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                       "size": 10, "digest": d},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "size": 20, "digest": d},
                       {"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
                        "size": 20, "digest": d}]}))
        seed("manifest", json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
            "manifests": [{"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "size": 5, "digest": d,
                           "platform": {"os": "linux", "architecture": "arm64",
                                        "variant": "v8"}}]}))
        seed("image_config", json.dumps({
            "architecture": "amd64", "os": "linux",
            "config": {"Env": ["PATH=/bin", "A=b"], "Cmd": ["sh"], "Entrypoint": ["/e"],
                       "User": "1000:1000", "WorkingDir": "/w", "ExposedPorts": {"80/tcp": {}},
                       "Volumes": {"/data": {}}, "Labels": {"k": "v"}, "StopSignal": "SIGTERM"},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "a" * 64]},
            "history": [{"created_by": "x", "empty_layer": True}]}))

        # An engine container record, as `create` writes it.
        cid = run("create", "--name", "rec", "-e", "A=b", "-v", "vol:/data", "--memory", "64m",
                  "--restart", "on-failure:3", "busybox", "sh", "-c", "echo hi",
                  env=env).stdout.decode().strip()
        with open(os.path.join(env["VESSEL_ROOT"], "containers", cid, "record.json")) as f:
            rec = json.load(f)
        run("rm", "-f", "-v", cid, env=env)
        rec["Id"] = "0123456789abcdef" * 4  # the id fuzz_ctr_record loads
        seed("ctr_record", json.dumps(rec).replace(env["VESSEL_ROOT"], "/var/lib/vessel")
             .replace(env["VESSEL_RUNTIME_ROOT"], "/run/vessel"))

        # Engine values: first byte picks the parser (see fuzz_engine_values.c).
        values = {0: ["512m", "1.5GiB", "0", "100b"], 1: ["no", "on-failure:3", "always"],
                  2: ["SIGTERM", "9", "KILL"], 3: ["nofile=1024:2048", "core=-1"],
                  4: ["/run:size=64m,mode=1777", "/tmp:ro"], 5: ["vol:/data:ro,rshared", "/anon"],
                  6: ["0-3,5", "1"], 7: ["# c\nA=b\nB\n  C=d \r\n"], 8: ["1m30s", "500ms", "1.5h"]}
        for k, vs in values.items():
            for s in vs:
                seed("engine_values", bytes([k]) + s.encode())
    finally:
        subprocess.run(["umount", "-R", "-l", os.path.join(tmp, "data")], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
