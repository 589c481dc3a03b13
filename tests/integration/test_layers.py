"""Layers through the CLI: hostile layers refused by `vessel load` with
nothing left in the store or outside it; whiteouts and opaque directories
of a loaded multi-layer image, in overlay and in copy mode; diff and commit
in both modes, with the committed layer checked independently (blob digest,
diff_id, whiteout entries).

Each test uses its own data root (VESSEL_ROOT) and runtime root
(VESSEL_RUNTIME_ROOT); containers are removed afterwards and no mount may be
left under the test directory."""

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

import helpers

TIMEOUT = 60


def _sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _mountpoints_under(prefix):
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = helpers.MountEntry(line).mountpoint
            if mp == prefix or mp.startswith(prefix + "/"):
                out.append(mp)
    return out


class Cli:
    def __init__(self, binary, tmp_path, copy_mode=False):
        self.binary = str(binary)
        self.data_root = tmp_path / "data"
        self.env = dict(os.environ, VESSEL_ROOT=str(self.data_root),
                        VESSEL_RUNTIME_ROOT=str(tmp_path / "run"))
        self.env.pop("VESSEL_NO_OVERLAY", None)
        if copy_mode:
            self.env["VESSEL_NO_OVERLAY"] = "1"

    def __call__(self, *args, check=False):
        p = subprocess.run([self.binary, *map(str, args)], env=self.env, capture_output=True,
                           timeout=TIMEOUT)
        p.stdout = p.stdout.decode(errors="replace")
        p.stderr = p.stderr.decode(errors="replace")
        if check:
            assert p.returncode == 0, (f"vessel {' '.join(map(str, args))} -> {p.returncode}\n"
                                       f"stdout: {p.stdout!r}\nstderr: {p.stderr!r}")
        return p

    def ok(self, *args):
        return self(*args, check=True).stdout

    def blob(self, digest):
        return (self.data_root / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()

    def image_manifest(self, name):
        index = json.loads((self.data_root / "index.json").read_text())
        for m in index["manifests"]:
            if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == name:
                return json.loads(self.blob(m["digest"]))
        raise AssertionError(f"{name} not in index.json")


@pytest.fixture
def cli_factory(vessel_bin, tmp_path):
    made = []

    def make(copy_mode=False):
        c = Cli(vessel_bin, tmp_path, copy_mode)
        made.append(c)
        return c

    yield make
    for c in made:
        ps = c("ps", "-a", "-q")
        for cid in ps.stdout.split():
            c("rm", "-f", cid)
    mounts = _mountpoints_under(str(tmp_path))
    for mp in reversed(mounts):
        subprocess.run(["umount", "-l", mp], capture_output=True)
    assert not mounts, f"mounts left: {mounts}"


# --------------------------------------------------------------------------
# archives made here, byte by byte


def _info(name, kind=tarfile.REGTYPE, data=b"", mode=0o644, target=""):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.mtime = 1_600_000_000
    ti.linkname = target
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    return ti, data


def layer_tar(entries):
    """entries: (name, kind, data|target, mode) -> uncompressed tar bytes"""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, payload, mode in entries:
            if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                ti, data = _info(name, kind, mode=mode, target=payload)
            else:
                ti, data = _info(name, kind, payload or b"", mode)
            t.addfile(ti, io.BytesIO(data) if data else None)
    return buf.getvalue()


def docker_archive(path, layers, tag):
    """layers: uncompressed tars; every other one is stored gzip-compressed."""
    diff_ids, names = [], []
    with tarfile.open(path, "w") as out:
        def add(name, data):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            out.addfile(ti, io.BytesIO(data))
        for i, raw in enumerate(layers):
            blob = gzip.compress(raw) if i % 2 else raw
            names.append(f"l{i}/layer.tar")
            add(names[-1], blob)
            diff_ids.append(_sha(raw))
        config = {"architecture": "amd64", "os": "linux",
                  "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids}}
        cfg = json.dumps(config).encode()
        add("config.json", cfg)
        add("manifest.json", json.dumps(
            [{"Config": "config.json", "RepoTags": [tag], "Layers": names}]).encode())


BASE = [
    ("bin", tarfile.DIRTYPE, None, 0o755),
    ("bin/busybox", tarfile.REGTYPE, Path("/bin/busybox").read_bytes(), 0o755),
    ("bin/sh", tarfile.SYMTYPE, "busybox", 0o777),
    ("d", tarfile.DIRTYPE, None, 0o755),
    ("d/keep", tarfile.REGTYPE, b"keep\n", 0o644),
    ("d/gone", tarfile.REGTYPE, b"gone\n", 0o644),
    ("o", tarfile.DIRTYPE, None, 0o755),
    ("o/old", tarfile.REGTYPE, b"old\n", 0o644),
    ("x", tarfile.REGTYPE, b"x1\n", 0o644),
    ("etc", tarfile.DIRTYPE, None, 0o755),
    ("etc/passwd", tarfile.REGTYPE, b"root:x:0:0:root:/:/bin/sh\n", 0o644),
]

TOP = [
    ("d/.wh.gone", tarfile.REGTYPE, b"", 0o644),
    ("o", tarfile.DIRTYPE, None, 0o750),
    ("o/.wh..wh..opq", tarfile.REGTYPE, b"", 0o644),
    ("o/new", tarfile.REGTYPE, b"new\n", 0o644),
    ("x", tarfile.REGTYPE, b"x2\n", 0o644),
]


def load_test_image(cli, tmp_path, tag="layers:test"):
    arch = tmp_path / "image.tar"
    docker_archive(arch, [layer_tar(BASE), layer_tar(TOP)], tag)
    cli.ok("load", "-i", arch)
    return tag


# --------------------------------------------------------------------------
# hostile layers


def _canary(tmp_path):
    c = tmp_path / "canary"
    c.mkdir()
    (c / "file").write_text("original\n")
    return c


HOSTILE = {
    "dotdot": ([("../escape", tarfile.REGTYPE, b"evil", 0o644)],
               "layer entry '../escape': path escapes the layer"),
    "absolute": ([("/escape", tarfile.REGTYPE, b"evil", 0o644)],
                 "layer entry '/escape': path escapes the layer"),
    "symlink-parent": ([("evil", tarfile.SYMTYPE, "{canary}", 0o777),
                        ("evil/file", tarfile.REGTYPE, b"pwned", 0o644)],
                       "parent 'evil' is a symlink"),
    "hardlink-escape": ([("shadow", tarfile.LNKTYPE, "../../etc/shadow", 0o644)],
                        "hardlink target '../../etc/shadow' escapes the layer"),
    "hardlink-through-symlink": ([("out", tarfile.SYMTYPE, "{canary}", 0o777),
                                  ("h", tarfile.LNKTYPE, "out/file", 0o644)],
                                 "parent 'out' is a symlink"),
    "whiteout-dotdot": ([("a", tarfile.DIRTYPE, None, 0o755),
                         ("a/.wh...", tarfile.REGTYPE, b"", 0o644)],
                        "whiteout names '..' outside its directory"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_load_refuses_hostile_layer(cli_factory, tmp_path, case):
    cli = cli_factory()
    canary = _canary(tmp_path)
    entries, message = HOSTILE[case]
    entries = [(n, k, p.format(canary=canary) if isinstance(p, str) else p, m)
               for n, k, p, m in entries]
    arch = tmp_path / "evil.tar"
    docker_archive(arch, [layer_tar(entries)], "evil:latest")
    res = cli("load", "-i", arch)
    assert res.returncode != 0, res.stdout
    assert message in res.stderr
    # nothing written outside, nothing half-made inside
    assert (canary / "file").read_text() == "original\n"
    assert sorted(p.name for p in canary.iterdir()) == ["file"]
    assert not any(p.name == "escape" for p in tmp_path.rglob("escape"))
    layers = cli.data_root / "layers"
    assert not layers.exists() or not [p for p in layers.iterdir() if p.is_dir()]
    leftovers = [p for p in (cli.data_root / "tmp").rglob("*")] \
        if (cli.data_root / "tmp").exists() else []
    assert not leftovers, leftovers
    assert "evil" not in cli.ok("images")


# --------------------------------------------------------------------------
# whiteouts, opaque dirs, diff and commit, in both modes


@pytest.mark.parametrize("mode", ["overlay", "copy"])
def test_loaded_layers_merge(cli_factory, tmp_path, mode):
    cli = cli_factory(copy_mode=(mode == "copy"))
    tag = load_test_image(cli, tmp_path)
    out = cli.ok("run", "--rm", tag, "/bin/busybox", "sh", "-c",
                 "cd /; /bin/busybox ls d o; /bin/busybox cat x;"
                 " /bin/busybox stat -c %a o")
    assert out.split() == ["d:", "keep", "o:", "new", "x2", "750"]


@pytest.mark.parametrize("mode", ["overlay", "copy"])
def test_diff_and_commit(cli_factory, tmp_path, mode):
    cli = cli_factory(copy_mode=(mode == "copy"))
    tag = load_test_image(cli, tmp_path)
    cli.ok("run", "--name", "c1", tag, "/bin/busybox", "sh", "-c",
           "echo changed > /d/keep; /bin/busybox rm /x; /bin/busybox mkdir /n;"
           " echo n > /n/f; /bin/busybox rm -r /o; /bin/busybox mkdir /o;"
           " echo fresh > /o/fresh")
    markers = list((cli.data_root / "containers").glob("*/copy-mode"))
    assert len(markers) == (1 if mode == "copy" else 0)
    diff = cli.ok("diff", "c1").splitlines()
    for line in ["C /d", "C /d/keep", "D /x", "A /n", "A /n/f", "C /o", "D /o/new",
                 "A /o/fresh"]:
        assert line in diff, diff
    assert not any(line.endswith("/d/gone") or line.endswith("/o/old") for line in diff), diff
    cli.ok("commit", "c1", "committed:1")
    out = cli.ok("run", "--rm", "committed:1", "/bin/busybox", "sh", "-c",
                 "cd /; /bin/busybox cat d/keep n/f; /bin/busybox ls o;"
                 " test -e x && echo x-present || echo x-gone")
    assert out.split() == ["changed", "n", "fresh", "x-gone"]

    # the committed layer, checked without vessel: digests and whiteouts
    manifest = cli.image_manifest("committed:1")
    layer = manifest["layers"][-1]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    blob = cli.blob(layer["digest"])
    assert _sha(blob) == layer["digest"] and len(blob) == layer["size"]
    raw = gzip.decompress(blob)
    config = json.loads(cli.blob(manifest["config"]["digest"]))
    assert config["rootfs"]["diff_ids"][-1] == _sha(raw)
    assert config["history"][-1]["created_by"] == "vessel commit"
    names = tarfile.open(fileobj=io.BytesIO(raw)).getnames()
    assert ".wh.x" in names
    assert "d/keep" in names and "n/f" in names
    assert "o/.wh..wh..opq" in names or "o/.wh.new" in names
    assert "d/gone" not in names and "bin/busybox" not in names
