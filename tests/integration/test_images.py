"""The image store: load/save round trips (docker-archive in both layouts,
oci-archive, compressed), import, pull oci:PATH, tag/rmi/prune/inspect/
history, `system check`, bad input of every kind (each leaving the store
exactly as it was, passing `system check`, and nothing written outside the
data root), kill -9 during a load, and interoperability with podman, skopeo
and umoci (skipped, with the reason, when they are not installed).

Image commands are engine commands: they run without --root (which would
pick the runtime CLI), with the data root in VESSEL_ROOT. Every test runs
vessel with its working directory and TMPDIR in empty directories that must
still be empty afterwards, and ends with `vessel system check` passing."""

import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

TIMEOUT = 120

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def hexof(digest):
    return digest.split(":", 1)[1]


# --------------------------------------------------------------------------
# the CLI


class Images:
    """vessel image commands against a private data root. cwd and TMPDIR are
    empty directories, checked to stay empty."""

    def __init__(self, binary, tmp_path):
        self.binary = str(binary)
        self.root = tmp_path / "data"
        self.cwd = tmp_path / "cwd"
        self.tmpdir = tmp_path / "tmpdir"
        self.cwd.mkdir()
        self.tmpdir.mkdir()
        self.env = dict(os.environ, VESSEL_ROOT=str(self.root), TMPDIR=str(self.tmpdir))

    def __call__(self, *args, stdin=None, timeout=TIMEOUT, root=None):
        env = self.env if root is None else dict(self.env, VESSEL_ROOT=str(root))
        stdin_file = open(stdin, "rb") if stdin is not None else subprocess.DEVNULL
        try:
            proc = subprocess.run([self.binary, *map(str, args)], env=env, cwd=self.cwd,
                                  stdin=stdin_file, capture_output=True, timeout=timeout)
        finally:
            if stdin is not None:
                stdin_file.close()
        proc.stdout = proc.stdout.decode(errors="replace")
        proc.stderr = proc.stderr.decode(errors="replace")
        return proc

    def ok(self, *args, **kw):
        p = self(*args, **kw)
        assert p.returncode == 0, (f"vessel {' '.join(map(str, args))} -> {p.returncode}\n"
                                   f"stdout: {p.stdout!r}\nstderr: {p.stderr!r}")
        return p.stdout

    def fails(self, *args, mentions=(), **kw):
        p = self(*args, **kw)
        assert p.returncode != 0, f"expected vessel {' '.join(map(str, args))} to fail:\n{p.stdout}"
        lines = [line for line in p.stderr.splitlines() if line.strip()]
        assert lines and lines[-1].startswith("vessel"), f"no error line: {p.stderr!r}"
        for m in mentions:
            assert m.lower() in p.stderr.lower(), f"error does not mention {m!r}: {p.stderr!r}"
        return p

    def inspect(self, ref, **kw):
        return json.loads(self.ok("image", "inspect", ref, **kw))[0]

    def images(self, **kw):
        return json.loads(self.ok("images", "--format", "json", **kw))

    def names(self):
        return {n: img["Id"] for img in self.images() for n in img["RepoTags"]}

    def layer_dir(self, diff_id, root=None):
        return Path(root or self.root) / "layers" / hexof(diff_id)

    def check(self, root=None):
        p = self("system", "check", root=root)
        assert p.returncode == 0, f"system check failed:\n{p.stdout}{p.stderr}"
        return p.stdout

    def busybox(self):
        self.ok("pull", "busybox")
        return self.inspect("busybox")

    def snapshot(self):
        """Everything under the data root: type, size, content digest."""
        out = {}
        for dirpath, dirs, files in os.walk(self.root):
            for name in dirs + files:
                p = Path(dirpath) / name
                rel = str(p.relative_to(self.root))
                st = p.lstat()
                if p.is_symlink():
                    out[rel] = ("l", os.readlink(p))
                elif p.is_dir():
                    out[rel] = ("d", st.st_mode & 0o7777)
                else:
                    out[rel] = ("f", st.st_size, hashlib.sha256(p.read_bytes()).hexdigest())
        return out


@pytest.fixture
def images(vessel_bin, tmp_path):
    img = Images(vessel_bin, tmp_path)
    yield img
    leftovers = list(img.cwd.iterdir()) + list(img.tmpdir.iterdir())
    assert not leftovers, f"vessel wrote outside its data root: {leftovers}"
    if img.root.exists():
        img.check()
        assert not list((img.root / "tmp").iterdir()), "temporary files left in the store"


def need(tool):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (apt-get install {tool})")


# --------------------------------------------------------------------------
# building images and archives in Python


def tar_bytes(entries, gz=False):
    """entries: (name, kind, payload): kind file (bytes), dir, symlink/hardlink
    (target)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, payload in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            if kind == "file":
                ti.size = len(payload)
                ti.mode = 0o644
                t.addfile(ti, io.BytesIO(payload))
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            elif kind == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = payload
                t.addfile(ti)
            elif kind == "hardlink":
                ti.type = tarfile.LNKTYPE
                ti.linkname = payload
                t.addfile(ti)
    data = buf.getvalue()
    return gzip.compress(data, mtime=0) if gz else data


class Img:
    """An image made of layers (uncompressed tars): blobs, config, manifest."""

    def __init__(self, layers, gz=False, created="2024-01-01T00:00:00Z", cmd=("sh",),
                 layer_type=None, config_type=OCI_CONFIG, manifest_type=OCI_MANIFEST,
                 diff_ids=None, salt=""):
        self.layers = layers
        self.blobs = [gzip.compress(l, mtime=0) if gz else l for l in layers]
        self.layer_type = layer_type or (OCI_LAYER_GZIP if gz else OCI_LAYER)
        self.config = {
            "created": created, "architecture": "amd64", "os": "linux",
            "config": {"Cmd": list(cmd), "Env": ["PATH=/bin", f"SALT={salt}"]},
            "rootfs": {"type": "layers",
                       "diff_ids": diff_ids if diff_ids is not None else [sha(l) for l in layers]},
            "history": [{"created": created, "created_by": "test"} for _ in layers],
        }
        self.config_bytes = json.dumps(self.config).encode()
        self.manifest = {
            "schemaVersion": 2, "mediaType": manifest_type,
            "config": {"mediaType": config_type, "digest": sha(self.config_bytes),
                       "size": len(self.config_bytes)},
            "layers": [{"mediaType": self.layer_type, "digest": sha(b), "size": len(b)}
                       for b in self.blobs],
        }
        self.manifest_bytes = json.dumps(self.manifest).encode()

    @property
    def id(self):
        return sha(self.config_bytes)

    def oci_members(self):
        m = {}
        for b in [self.manifest_bytes, self.config_bytes, *self.blobs]:
            m[f"blobs/sha256/{hexof(sha(b))}"] = b
        return m

    def descriptor(self, name=None):
        d = {"mediaType": OCI_MANIFEST, "digest": sha(self.manifest_bytes),
             "size": len(self.manifest_bytes)}
        if name:
            d["annotations"] = {REF_NAME: name}
        return d


def write_tar(path, members, gz=False):
    """members: path -> bytes (or None for a directory), in order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in members.items():
            ti = tarfile.TarInfo(name)
            if data is None:
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    data = buf.getvalue()
    Path(path).write_bytes(gzip.compress(data) if gz else data)
    return Path(path)


def oci_archive_members(imgs):
    """imgs: [(Img, name or None)] -> members of an oci-archive."""
    members = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}'}
    index = {"schemaVersion": 2, "manifests": []}
    for img, name in imgs:
        members.update(img.oci_members())
        index["manifests"].append(img.descriptor(name))
    members["index.json"] = json.dumps(index).encode()
    return members


def docker_archive_members(imgs, layout="pre25"):
    """imgs: [(Img with uncompressed layers, [repo tags])] -> members of a
    docker-archive as `docker save` wrote it before Docker 25, or (layout
    "25") with blobs/sha256 and an OCI index beside manifest.json."""
    members, manifest = {}, []
    oci = oci_archive_members([(i, (t or [None])[0]) for i, t in imgs]) if layout == "25" else {}
    for img, tags in imgs:
        if layout == "25":
            config = f"blobs/sha256/{hexof(img.id)}"
            layers = [f"blobs/sha256/{hexof(sha(l))}" for l in img.layers]
        else:
            config = f"{hexof(img.id)}.json"
            layers = [f"{hexof(sha(l))}/layer.tar" for l in img.layers]
            members[config] = img.config_bytes
            for l, path in zip(img.layers, layers):
                members[path] = l
        manifest.append({"Config": config, "RepoTags": tags, "Layers": layers})
    members.update(oci)
    members["manifest.json"] = json.dumps(manifest).encode()
    return members


def simple_layer(tag="x", size=100):
    return tar_bytes([("etc", "dir", None), (f"etc/{tag}.txt", "file", tag.encode() * size)])


# --------------------------------------------------------------------------
# the built-in image, round trips


def test_busybox_builtin_image(images, tmp_path):
    bb = images.busybox()
    assert bb["RepoTags"] == ["busybox:latest"]
    assert bb["Config"]["Cmd"] == ["sh"]
    assert any(e.startswith("PATH=") for e in bb["Config"]["Env"])
    assert bb["Os"] == "linux" and bb["RootFS"]["Type"] == "layers"
    layer = images.layer_dir(bb["RootFS"]["Layers"][0])
    assert (layer / "bin/busybox").is_file()
    assert os.readlink(layer / "bin/sh") == "/bin/busybox"
    assert (layer / "tmp").stat().st_mode & 0o7777 == 0o1777
    assert "root:x:0:0" in (layer / "etc/passwd").read_text()
    # the same busybox gives the same image id
    other = tmp_path / "other-root"
    images.ok("pull", "busybox", root=other)
    assert images.inspect("busybox", root=other)["Id"] == bb["Id"]
    images.check(root=other)
    # looked up by name it is made on first use
    third = tmp_path / "third-root"
    assert images.inspect("busybox:latest", root=third)["Id"] == bb["Id"]


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
@pytest.mark.parametrize("compress", [False, True])
def test_save_load_round_trip(images, tmp_path, fmt, compress):
    bb = images.busybox()
    images.ok("tag", "busybox", "example.com/team/bb:v1")
    out = tmp_path / "out" / "bb.tar"
    out.parent.mkdir()
    images.ok("save", "--format", fmt, "-o", out, "busybox", "example.com/team/bb:v1")
    assert [p.name for p in out.parent.iterdir()] == ["bb.tar"]
    if compress:
        data = gzip.compress(out.read_bytes())
        out = tmp_path / "out" / "bb.tar.gz"
        out.write_bytes(data)
    fresh = tmp_path / "fresh"
    res = images.ok("load", "-i", out, root=fresh)
    assert "Loaded image: busybox:latest" in res
    assert "Loaded image: example.com/team/bb:v1" in res
    got = images.inspect("example.com/team/bb:v1", root=fresh)
    assert got["Id"] == bb["Id"]
    assert sorted(got["RepoTags"]) == ["busybox:latest", "example.com/team/bb:v1"]
    assert got["RootFS"] == bb["RootFS"]
    assert (images.layer_dir(bb["RootFS"]["Layers"][0], fresh) / "bin/busybox").is_file()
    images.check(root=fresh)


def test_load_from_stdin_and_by_id(images, tmp_path):
    bb = images.busybox()
    out = tmp_path / "bb.tar"
    images.ok("save", "-o", out, hexof(bb["Id"])[:8])
    manifest = json.loads(tarfile.open(out).extractfile("manifest.json").read())
    assert manifest[0]["RepoTags"] == []  # saved by ID: no names
    fresh = tmp_path / "fresh"
    res = images.ok("load", stdin=out, root=fresh)
    assert res.strip() == f"Loaded image ID: {bb['Id']}"
    assert images.images(root=fresh)[0]["RepoTags"] == []


def test_load_docker_archive_layouts(images, tmp_path):
    a = Img([simple_layer("a"), simple_layer("b")])
    b = Img([simple_layer("a"), simple_layer("c")], salt="b")
    pre25 = write_tar(tmp_path / "pre25.tar",
                      docker_archive_members([(a, ["a:1"]), (b, ["b:1", "b:2"])]))
    res = images.ok("load", "-i", pre25)
    assert res.splitlines() == ["Loaded image: a:1", "Loaded image: b:1", "Loaded image: b:2"]
    names = images.names()
    assert names == {"a:1": a.id, "b:1": b.id, "b:2": b.id}
    assert (images.layer_dir(sha(simple_layer("c"))) / "etc/c.txt").read_bytes() == b"c" * 100
    # Docker 25: blobs/sha256 members, an OCI index beside manifest.json
    c = Img([simple_layer("d")], salt="c")
    d25 = write_tar(tmp_path / "d25.tar", docker_archive_members([(c, ["c:25"])], layout="25"))
    assert images.ok("load", "-i", d25).strip() == "Loaded image: c:25"
    assert images.inspect("c:25")["Id"] == c.id


def test_load_uses_the_stored_blob_of_a_layer_and_proves_the_others(images, tmp_path):
    """A docker-archive whose layers the store already holds is loaded
    without reading them (as a pull skips a blob the store has, and as
    Docker's and Podman's loads skip a layer they hold): the image is the
    one its config names, with the store's proven bytes, whatever the
    member holds. A member whose layer the store lacks must be its layer: a
    forged one fails the load and leaves the store as it was."""
    base = Img([simple_layer("a"), simple_layer("b")])
    images.ok("load", "-i", write_tar(tmp_path / "base.tar",
                                      docker_archive_members([(base, ["base:1"])])))
    a_dir = images.layer_dir(sha(simple_layer("a")))
    a_ino = a_dir.stat().st_ino
    top = Img([simple_layer("a"), simple_layer("t")], salt="top")
    # the layer the store lacks, forged: refused, nothing kept
    m = docker_archive_members([(top, ["top:1"])])
    m[f"{hexof(sha(simple_layer('t')))}/layer.tar"] = simple_layer("evil")
    images.fails("load", "-i", write_tar(tmp_path / "forged.tar", m),
                 mentions=["rootfs.diff_ids"])
    assert images.names() == {"base:1": base.id}
    assert not images.layer_dir(sha(simple_layer("evil"))).exists()
    assert not images.layer_dir(sha(simple_layer("t"))).exists()
    # the layer the store holds, forged (another size, then the same size):
    # the member is never read, the image gets the store's layer "a"
    for forged in (simple_layer("evil"), simple_layer("z")):
        m = docker_archive_members([(top, ["top:1"])])
        m[f"{hexof(sha(simple_layer('a')))}/layer.tar"] = forged
        out = images.ok("load", "-i", write_tar(tmp_path / "forged-stored.tar", m))
        assert out.strip() == "Loaded image: top:1"
        assert images.inspect("top:1")["Id"] == top.id
        assert images.layer_dir(sha(simple_layer("a"))).stat().st_ino == a_ino
        assert not images.layer_dir(sha(forged)).exists()
        assert not (images.root / "blobs/sha256" / hexof(sha(forged))).exists()
        assert (a_dir / "etc/a.txt").read_bytes() == b"a" * 100
        images.ok("rmi", "top:1")
    assert images.names() == {"base:1": base.id}
    out = images.ok("load", "-i", write_tar(tmp_path / "top.tar",
                                            docker_archive_members([(top, ["top:1"])])))
    assert out.strip() == "Loaded image: top:1"
    assert images.names() == {"base:1": base.id, "top:1": top.id}
    assert a_dir.stat().st_ino == a_ino
    assert (images.layer_dir(sha(simple_layer("t"))) / "etc/t.txt").read_bytes() == b"t" * 100
    images.check()


def test_load_oci_archive_gzip_layers_and_index(images, tmp_path):
    img = Img([simple_layer("g"), simple_layer("h")], gz=True)
    members = oci_archive_members([(img, "example.com/gz:1")])
    # a multi-platform index as the archive's entry: the amd64 one is chosen
    other = Img([simple_layer("arm")], salt="arm")
    members.update(other.oci_members())
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        dict(other.descriptor(), platform={"os": "linux", "architecture": "arm64"}),
        dict(img.descriptor(), platform={"os": "linux", "architecture": "amd64"})]}
    ib = json.dumps(index).encode()
    members[f"blobs/sha256/{hexof(sha(ib))}"] = ib
    members["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": OCI_INDEX, "digest": sha(ib), "size": len(ib),
         "annotations": {REF_NAME: "example.com/gz:1"}}]}).encode()
    arch = write_tar(tmp_path / "oci.tar", members, gz=True)
    assert images.ok("load", "-i", arch).strip() == "Loaded image: example.com/gz:1"
    got = images.inspect("example.com/gz:1")
    assert got["Id"] == img.id
    assert (images.layer_dir(sha(simple_layer("h"))) / "etc/h.txt").exists()
    assert not images.layer_dir(sha(simple_layer("arm"))).exists()
    # saved as a docker-archive, the gzip layers are written uncompressed
    out = tmp_path / "docker.tar"
    images.ok("save", "-o", out, "example.com/gz:1")
    with tarfile.open(out) as t:
        manifest = json.loads(t.extractfile("manifest.json").read())[0]
        layers = [t.extractfile(p).read() for p in manifest["Layers"]]
    assert layers == img.layers
    fresh = tmp_path / "fresh"
    images.ok("load", "-i", out, root=fresh)
    assert images.inspect("example.com/gz:1", root=fresh)["Id"] == img.id
    images.check(root=fresh)


def test_load_name_taken_moves_name(images, tmp_path):
    """Like docker load: the name moves to the loaded image, the old one stays untagged."""
    old = Img([simple_layer("old")])
    new = Img([simple_layer("new")])
    images.ok("load", "-i", write_tar(tmp_path / "old.tar", oci_archive_members([(old, "t:1")])))
    images.ok("load", "-i", write_tar(tmp_path / "new.tar", oci_archive_members([(new, "t:1")])))
    by_id = {i["Id"]: i["RepoTags"] for i in images.images()}
    assert by_id == {new.id: ["t:1"], old.id: []}
    table = images.ok("images")
    assert "<none>" in table
    # image prune removes the untagged one and what only it used
    images.ok("image", "prune", "-f")
    assert {i["Id"] for i in images.images()} == {new.id}
    assert not images.layer_dir(sha(simple_layer("old"))).exists()


def test_import_rootfs(images, tmp_path):
    rootfs = tar_bytes([("./", "dir", None), ("./bin", "dir", None),
                        ("./bin/hello", "file", b"#!/bin/sh\necho hi\n"),
                        ("./lib", "symlink", "usr/lib")])
    plain = tmp_path / "rootfs.tar"
    plain.write_bytes(rootfs)
    img_id = images.ok("import", "-m", "first import", plain, "imported:1").strip()
    got = images.inspect("imported:1")
    assert got["Id"] == img_id and len(got["RootFS"]["Layers"]) == 1
    assert got["RootFS"]["Layers"][0] == sha(rootfs)
    assert got["Created"] and got["Architecture"]
    layer = images.layer_dir(got["RootFS"]["Layers"][0])
    assert (layer / "bin/hello").read_bytes() == b"#!/bin/sh\necho hi\n"
    history = images.ok("history", "imported:1")
    assert "vessel import" in history and "first import" in history
    # compressed, from standard input, unnamed
    gz = tmp_path / "rootfs.tar.gz"
    gz.write_bytes(gzip.compress(rootfs))
    images.ok("import", "-", stdin=gz)
    assert len(images.images()) == 2


def test_tag_rmi_and_lookup(images):
    bb = images.busybox()
    short = hexof(bb["Id"])[:12]
    for ref in (bb["Id"], hexof(bb["Id"]), short, hexof(bb["Id"])[:4]):
        assert images.inspect(ref)["Id"] == bb["Id"]
    images.fails("image", "inspect", hexof(bb["Id"])[:3], mentions=["not found"])
    images.ok("tag", short, "mine:1")
    images.ok("tag", "busybox", "docker.io/library/other")
    assert sorted(images.inspect("busybox")["RepoTags"]) == [
        "busybox:latest", "mine:1", "other:latest"]
    images.fails("rmi", short, mentions=["several names"])
    assert images.ok("rmi", "mine:1").strip() == "Untagged: mine:1"
    images.fails("rmi", "nosuch", mentions=["image 'nosuch' not found"])
    images.fails("tag", "busybox", "Bad:Name", mentions=["lowercase"])
    out = images.ok("rmi", "-f", short)
    assert f"Deleted: {bb['Id']}" in out and "Untagged: other:latest" in out
    assert images.images() == []
    assert not list((images.root / "blobs/sha256").iterdir())
    assert not list((images.root / "layers").iterdir())


def test_images_output(images):
    bb = images.busybox()
    table = images.ok("images").splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert table[1].split()[:3] == ["busybox", "latest", hexof(bb["Id"])[:12]]
    assert images.ok("images", "-q").split() == [hexof(bb["Id"])[:12]]
    assert images.ok("images", "-q", "--no-trunc").split() == [bb["Id"]]
    assert len(images.ok("images", "nosuch").splitlines()) == 1
    assert len(images.ok("images", "busybox:latest").splitlines()) == 2
    js = images.images()
    assert js[0]["Id"] == bb["Id"] and js[0]["Size"] == bb["Size"] > 1000000
    hist = images.ok("history", "busybox").splitlines()
    assert hist[0].split()[:2] == ["IMAGE", "CREATED"]
    assert hist[1].startswith(hexof(bb["Id"])[:12])
    assert json.loads(images.ok("history", "--format", "json", "busybox"))[0]["Size"] > 0


def test_pull_from_unreachable_registry_fails(images):
    """Registry pulls are test_registry.py's; here: nothing listens, one error
    line, nothing stored."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = images.fails("pull", f"127.0.0.1:{port}/some/image:3.19",
                     mentions=[f"cannot pull 127.0.0.1:{port}/some/image:3.19", "connect"])
    assert p.returncode == 1


def write_layout(path, imgs):
    """An OCI image layout directory."""
    path.mkdir(parents=True)
    for name, data in oci_archive_members(imgs).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return path


def test_pull_oci_layout(images, tmp_path):
    one = Img([simple_layer("one")])
    two = Img([simple_layer("two")], salt="2")
    layout = write_layout(tmp_path / "MyLayout", [(one, "v1"), (two, "example.com/full:2")])
    assert images.ok("pull", f"oci:{layout}:v1").strip() == "Loaded image: mylayout:v1"
    assert images.ok("pull", f"oci:{layout}:example.com/full:2").strip() == \
        "Loaded image: example.com/full:2"
    images.fails("pull", f"oci:{layout}", mentions=["holds 2 images", "v1, example.com/full:2"])
    images.fails("pull", f"oci:{layout}:nosuch", mentions=["no image named 'nosuch'"])
    single = write_layout(tmp_path / "single", [(one, None)])
    assert images.ok("pull", f"oci:{single}").strip() == f"Loaded image ID: {one.id}"
    images.fails("pull", f"oci:{tmp_path / 'missing'}", mentions=["cannot open"])
    assert images.names() == {"mylayout:v1": one.id, "example.com/full:2": two.id}


def test_system_check_finds_damage(images):
    bb = images.busybox()
    manifest = images.inspect("busybox")
    config_blob = images.root / "blobs/sha256" / hexof(manifest["Id"])
    layer = images.layer_dir(bb["RootFS"]["Layers"][0])
    # a corrupted blob
    saved = config_blob.read_bytes()
    config_blob.write_bytes(saved.replace(b"sh", b"xx"))
    p = images("system", "check")
    assert p.returncode == 1 and "does not match its digest" in p.stdout
    config_blob.write_bytes(saved)
    # a missing unpacked layer
    layer.rename(layer.with_name("moved"))
    p = images("system", "check")
    assert p.returncode == 1 and "is missing" in p.stdout
    layer.with_name("moved").rename(layer)
    images.check()


def test_system_prune_sweeps_strays(images):
    images.busybox()
    stray = b"not referenced by any image"
    (images.root / "blobs/sha256" / hexof(sha(stray))).write_bytes(stray)
    (images.root / "tmp" / "txn-1-1").mkdir()  # as a kill -9 would leave it
    assert "not used by any image" in images.check()
    out = images.ok("system", "prune", "-f")
    assert "1 blobs" in out
    assert not (images.root / "blobs/sha256" / hexof(sha(stray))).exists()
    assert not list((images.root / "tmp").iterdir())
    assert images.names().keys() == {"busybox:latest"}
    images.ok("system", "prune", "-f", "-a")
    assert images.images() == []


# --------------------------------------------------------------------------
# bad input: a clear error, the store exactly as it was, nothing outside it


def bad_archives(tmp_path, bb_archive):
    """name -> (archive path, words the error must mention)."""
    escape = tmp_path / "escape-target"
    good = Img([simple_layer("good")])
    cases = {}

    data = bb_archive.read_bytes()
    cases["truncated"] = (write_bytes(tmp_path / "trunc.tar", data[: len(data) // 2]),
                          ["truncated"])
    gz = gzip.compress(data)
    cases["truncated-gzip"] = (write_bytes(tmp_path / "trunc.tar.gz", gz[: len(gz) // 2]),
                               ["truncated"])
    cases["not-an-archive"] = (write_bytes(tmp_path / "random.bin", os.urandom(4096)),
                               ["cannot read"])

    m = oci_archive_members([(good, "bad:1")])
    layer_path = f"blobs/sha256/{hexof(sha(good.blobs[0]))}"
    m[layer_path] = m[layer_path][:-1] + b"X"
    cases["blob-digest-mismatch"] = (write_tar(tmp_path / "mismatch.tar", m),
                                     ["does not match its digest"])

    m = oci_archive_members([(good, "bad:1")])
    del m[layer_path]
    cases["missing-blob"] = (write_tar(tmp_path / "missing.tar", m), ["not in the archive"])

    m = docker_archive_members([(good, ["bad:1"])])
    m[f"{hexof(sha(good.layers[0]))}/layer.tar"] = simple_layer("other")
    cases["docker-diff-id-mismatch"] = (write_tar(tmp_path / "diffid.tar", m),
                                        ["rootfs.diff_ids"])

    m = docker_archive_members([(good, ["bad:1"])])
    m[f"{hexof(good.id)}.json"] = good.config_bytes + b" "
    cases["docker-config-mismatch"] = (write_tar(tmp_path / "cfg.tar", m),
                                       ["does not match its digest"])

    m = docker_archive_members([(good, ["bad:1"])])
    del m[f"{hexof(sha(good.layers[0]))}/layer.tar"]
    cases["docker-missing-layer"] = (write_tar(tmp_path / "dmissing.tar", m),
                                     ["not in the archive"])

    for name, kw, words in [
        ("unknown-layer-type", {"layer_type": "application/x-evil"},
         ["unknown layer media type 'application/x-evil'"]),
        ("unknown-config-type", {"config_type": "application/x-cfg"},
         ["unknown config media type 'application/x-cfg'"]),
        ("unknown-manifest-type", {"manifest_type": "application/x-man"},
         ["unknown manifest media type 'application/x-man'"]),
    ]:
        img = Img([simple_layer("t")], **kw)
        cases[name] = (write_tar(tmp_path / f"{name}.tar", oci_archive_members([(img, "bad:1")])),
                       words)

    evil_layers = {
        "layer-dotdot": (tar_bytes([("ok", "file", b"x"),
                                    (f"../../../../../../..{escape}/dotdot", "file", b"x")]),
                         ["escapes"]),
        "layer-absolute": (tar_bytes([(f"{escape}/absolute", "file", b"x")]), ["escapes"]),
        "layer-symlink-escape": (tar_bytes([("evil", "symlink", str(escape)),
                                            ("evil/through", "file", b"x")]), ["symlink"]),
        "layer-symlink-relative-escape": (
            tar_bytes([("evil", "symlink", f"../../../../../../..{escape}"),
                       ("evil/through", "file", b"x")]), ["symlink"]),
        "layer-hardlink-escape": (tar_bytes([("h", "hardlink", "../../../../../etc/passwd")]),
                                  ["escapes"]),
    }
    for name, (layer, words) in evil_layers.items():
        img = Img([simple_layer("base"), layer])
        cases[name] = (write_tar(tmp_path / f"{name}.tar", oci_archive_members([(img, "bad:1")])),
                       words)
        cases[name + "-docker"] = (
            write_tar(tmp_path / f"{name}-d.tar", docker_archive_members([(img, ["bad:1"])])),
            words)

    # the second image of the archive is bad: nothing of the first is kept
    bad = Img([simple_layer("bad")], layer_type="application/x-evil")
    cases["second-image-bad"] = (write_tar(tmp_path / "second.tar",
                                           oci_archive_members([(good, "good:1"), (bad, "bad:1")])),
                                 ["unknown layer media type"])
    return cases, escape


def write_bytes(path, data):
    Path(path).write_bytes(data)
    return Path(path)


def test_bad_archives_leave_store_unchanged(images, tmp_path):
    images.busybox()
    bb_archive = tmp_path / "bb.tar"
    images.ok("save", "-o", bb_archive, "busybox")
    (tmp_path / "cases").mkdir()
    cases, escape = bad_archives(tmp_path / "cases", bb_archive)
    escape.mkdir()
    before = images.snapshot()
    for name, (path, words) in cases.items():
        p = images("load", "-i", path)
        assert p.returncode != 0, f"{name}: load succeeded:\n{p.stdout}"
        assert p.stderr.startswith("vessel: "), f"{name}: {p.stderr!r}"
        for w in words:
            assert w.lower() in p.stderr.lower(), f"{name}: error does not say {w!r}: {p.stderr!r}"
        assert images.snapshot() == before, f"{name}: the store changed"
        assert not list(escape.iterdir()), f"{name}: wrote outside the layer: {list(escape.iterdir())}"
        images.check()


def test_bad_rootfs_import_leaves_store_unchanged(images, tmp_path):
    images.busybox()
    escape = tmp_path / "escape"
    escape.mkdir()
    before = images.snapshot()
    for name, layer in {
        "dotdot": tar_bytes([(f"../../../../../../..{escape}/x", "file", b"x")]),
        "symlink": tar_bytes([("e", "symlink", str(escape)), ("e/x", "file", b"x")]),
        "empty": b"",
    }.items():
        path = write_bytes(tmp_path / f"{name}.tar", layer)
        p = images("import", path, "bad:1")
        assert p.returncode != 0, f"{name}: import succeeded"
        assert p.stderr.startswith("vessel: "), p.stderr
        assert images.snapshot() == before, f"{name}: the store changed"
        assert not list(escape.iterdir())


def test_kill_during_load_leaves_store_consistent(images, tmp_path):
    big = Img([tar_bytes([("big", "file", os.urandom(48 << 20))]),
               tar_bytes([("big2", "file", os.urandom(16 << 20))])])
    arch = write_tar(tmp_path / "big.tar", docker_archive_members([(big, ["big:1"])]))
    images.busybox()
    for delay in (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.45):
        if "big:1" in images.names():
            images.ok("rmi", "big:1")
        p = subprocess.Popen([images.binary, "load", "-i", str(arch)], env=images.env,
                             cwd=images.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        images.check()
        names = images.names()
        assert "busybox:latest" in names
        if "big:1" in names:  # the load finished before the kill
            assert images.inspect("big:1")["Id"] == big.id
    images.ok("load", "-i", arch)
    assert images.inspect("big:1")["Id"] == big.id
    assert (images.layer_dir(sha(big.layers[1])) / "big2").stat().st_size == 16 << 20


def test_concurrent_loads(images, tmp_path):
    archives = []
    for i in range(4):
        img = Img([simple_layer(f"c{i}", 10000), simple_layer("shared", 10000)])
        archives.append((img, write_tar(tmp_path / f"c{i}.tar",
                                        docker_archive_members([(img, [f"c:{i}"])]))))
    procs = [subprocess.Popen([images.binary, "load", "-i", str(a)], env=images.env,
                              cwd=images.cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _, a in archives]
    for p in procs:
        out, err = p.communicate(timeout=TIMEOUT)
        assert p.returncode == 0, err
    assert images.names() == {f"c:{i}": img.id for i, (img, _) in enumerate(archives)}


# --------------------------------------------------------------------------
# interoperability


class Podman:
    """podman with its own storage (vfs) in a temporary directory; its
    runroot path must stay under 50 characters."""

    def __init__(self, tmp_path):
        need("podman")
        self.short = Path(tempfile.mkdtemp(prefix="vessel-podman-", dir="/tmp"))
        self.base = ["podman", "--root", str(tmp_path / "podman-root"), "--runroot",
                     str(self.short / "run"), "--storage-driver", "vfs",
                     "--cgroup-manager", "cgroupfs", "--events-backend", "file"]
        self.env = dict(os.environ, TMPDIR=str(tmp_path))

    def cleanup(self):
        shutil.rmtree(self.short, ignore_errors=True)

    def __call__(self, *args):
        p = subprocess.run([*self.base, *map(str, args)], capture_output=True, text=True,
                           env=self.env, timeout=TIMEOUT)
        assert p.returncode == 0, f"podman {args}: {p.stderr}"
        return p.stdout


@pytest.fixture
def podman(tmp_path):
    p = Podman(tmp_path)
    yield p
    p.cleanup()


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_podman_and_skopeo_read_vessel_archives(images, tmp_path, fmt, podman):
    need("skopeo")
    bb = images.busybox()
    arch = tmp_path / "bb.tar"
    images.ok("save", "--format", fmt, "-o", arch, "busybox")
    info = json.loads(subprocess.run(["skopeo", "inspect", f"{fmt}:{arch}"], capture_output=True,
                                     text=True, check=True, timeout=TIMEOUT).stdout)
    assert info["Architecture"] == "amd64" and info["Os"] == "linux"
    assert len(info["Layers"]) == 1
    out = podman("load", "-i", arch)
    assert "busybox:latest" in out
    assert podman("image", "inspect", "--format", "{{.Id}}", "busybox").strip() == hexof(bb["Id"])


def test_vessel_loads_podman_archives(images, tmp_path, podman):
    bb = images.busybox()
    rootfs = tmp_path / "rootfs.tar"
    subprocess.run(["tar", "-C", images.layer_dir(bb["RootFS"]["Layers"][0]), "-cf", rootfs, "."],
                   check=True)
    podman("import", "--change", 'CMD ["sh"]', rootfs, "example.com/podman/img:v1")
    pid = podman("image", "inspect", "--format", "{{.Id}}", "example.com/podman/img:v1").strip()
    for fmt in ("docker-archive", "oci-archive"):
        arch = tmp_path / f"p-{fmt}.tar"
        podman("save", "--format", fmt, "-o", arch, "example.com/podman/img:v1")
        root = tmp_path / f"root-{fmt}"
        assert images.ok("load", "-i", arch, root=root).strip() == \
            "Loaded image: example.com/podman/img:v1"
        got = images.inspect("example.com/podman/img:v1", root=root)
        assert got["Id"] == f"sha256:{pid}"
        assert got["Config"]["Cmd"] == ["sh"]
        assert (images.layer_dir(got["RootFS"]["Layers"][0], root) / "bin/busybox").is_file()
        images.check(root=root)


def test_vessel_pulls_umoci_layouts(images, tmp_path):
    need("umoci")
    bb = images.busybox()
    layout, bundle = tmp_path / "umoci-layout", tmp_path / "bundle"

    def umoci(*args):
        subprocess.run(["umoci", *map(str, args)], check=True, capture_output=True,
                       timeout=TIMEOUT)

    umoci("init", "--layout", layout)
    umoci("new", "--image", f"{layout}:latest")
    umoci("unpack", "--image", f"{layout}:latest", bundle)
    subprocess.run(["cp", "-a", f"{images.layer_dir(bb['RootFS']['Layers'][0])}/.",
                    bundle / "rootfs"], check=True)
    (bundle / "rootfs/hello-umoci").write_text("from umoci\n")
    umoci("repack", "--image", f"{layout}:latest", bundle)
    umoci("config", "--image", f"{layout}:latest", "--config.cmd", "sh")
    assert images.ok("pull", f"oci:{layout}:latest").strip() == "Loaded image: umoci-layout:latest"
    got = images.inspect("umoci-layout")
    assert got["Config"]["Cmd"] == ["sh"]
    files = [images.layer_dir(l) / "hello-umoci" for l in got["RootFS"]["Layers"]]
    assert any(f.exists() and f.read_text() == "from umoci\n" for f in files)
    # the layout as an oci-archive (a tar of it) loads too, into the same image
    arch = tmp_path / "umoci.tar"
    subprocess.run(["tar", "-C", layout, "-cf", arch, "."], check=True)
    fresh = tmp_path / "fresh"
    images.ok("load", "-i", arch, root=fresh)
    assert images.images(root=fresh)[0]["Id"] == got["Id"]


def test_vessel_loads_skopeo_copies(images, tmp_path):
    need("skopeo")
    bb = images.busybox()
    arch = tmp_path / "bb.tar"
    images.ok("save", "-o", arch, "busybox")
    for dest, src in [(f"oci:{tmp_path / 'sk-layout'}:mytag", f"oci:{tmp_path / 'sk-layout'}:mytag"),
                      (f"oci-archive:{tmp_path / 'sk.tar'}:example.com/sk:2",
                       f"oci-archive:{tmp_path / 'sk.tar'}")]:
        subprocess.run(["skopeo", "copy", f"docker-archive:{arch}", dest], check=True,
                       capture_output=True, timeout=TIMEOUT)
        images.ok("pull", src)
    names = images.names()
    assert names["sk-layout:mytag"] == bb["Id"]
    assert names["example.com/sk:2"] == bb["Id"]


# --------------------------------------------------------------------------
# the engine on top (when it is built in)


def test_engine_runs_images_and_rmi_respects_containers(images, tmp_path):
    images.env["VESSEL_RUNTIME_ROOT"] = str(tmp_path / "runtime-root")
    if images("run", "--help").returncode != 0:
        pytest.skip("the engine's run command is not built in")
    bb = images.busybox()
    rootfs = tmp_path / "rootfs.tar"
    layer = images.layer_dir(bb["RootFS"]["Layers"][0])
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra/hello.txt").write_text("hello from an imported image\n")
    subprocess.run(["tar", "-cf", rootfs, "-C", layer, ".", "-C", tmp_path / "extra",
                    "hello.txt"], check=True)
    images.ok("import", rootfs, "imported:run")
    out = images.ok("run", "--rm", "imported:run", "cat", "/hello.txt")
    assert out == "hello from an imported image\n"
    try:
        images.ok("create", "--name", "keeps-busybox", "busybox", "true")
        images.fails("rmi", "busybox", mentions=["in use by container", "keeps-busybox"])
        out = images.ok("rmi", "-f", "busybox")
        assert "Untagged: busybox:latest" in out and "Kept:" in out
        images.ok("image", "prune", "-f")
        assert bb["Id"] in {i["Id"] for i in images.images()}
    finally:
        images("rm", "-f", "keeps-busybox")
    images.ok("image", "prune", "-f")
    assert bb["Id"] not in {i["Id"] for i in images.images()}
