"""Registries: vessel pull/push/login/logout and run --pull against Debian's
docker-registry (the Distribution server) started by the tests on 127.0.0.1
with its own temporary config and storage: plain HTTP; TLS with a CA made
here plus htpasswd Basic auth; Bearer tokens from a token server written
here. Faults come from a proxy written here that cuts a blob short, serves a
corrupted one, or trickles it. skopeo and podman check interoperability.

Images are made from the built-in busybox image; the multi-layer one by
running containers and committing them. Every test pulls into a fresh data
root and ends with `vessel system check` passing."""

import base64
import datetime
import hashlib
import http.client
import http.server
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import helpers

TIMEOUT = 120
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def need(tool):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (apt-get install {tool}; scripts/deps.sh)")


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def host_arch():
    m = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(m, m)


# --------------------------------------------------------------------------
# the registry


class Registry:
    """docker-registry serving from a temporary directory on 127.0.0.1."""

    def __init__(self, tmp, name, auth=None, tls=None):
        need("docker-registry")
        self.dir = Path(tmp) / name
        self.dir.mkdir()
        self.port = free_port()
        self.host = f"{'localhost' if tls else '127.0.0.1'}:{self.port}"
        cfg = [
            "version: 0.1",
            "log:",
            "  level: error",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.dir / 'data'}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
        ]
        if tls:
            cfg += ["  tls:", f"    certificate: {tls[0]}", f"    key: {tls[1]}"]
        if auth:
            cfg += ["auth:"] + ["  " + line for line in auth]
        (self.dir / "config.yml").write_text("\n".join(cfg) + "\n")
        self.log = open(self.dir / "registry.log", "wb")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(self.dir / "config.yml")],
                                     stdout=self.log, stderr=subprocess.STDOUT)

        def up():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                assert self.proc.poll() is None, (self.dir / "registry.log").read_text()
                return False
        try:
            helpers.wait_for(up, timeout=20, what="docker-registry listening")
        except BaseException:
            self.stop()
            raise

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.log.close()


def plain_put(base, repo, blobs, manifest, ref, media_type):
    """Pushes blobs and a manifest over plain HTTP (no vessel involved)."""
    for data in blobs:
        req = urllib.request.Request(f"{base}/v2/{repo}/blobs/uploads/", method="POST", data=b"")
        with urllib.request.urlopen(req) as r:
            loc = r.headers["Location"]
        loc = urllib.parse.urljoin(base, loc)
        sep = "&" if "?" in loc else "?"
        req = urllib.request.Request(f"{loc}{sep}digest={sha(data)}", method="PUT", data=data,
                                     headers={"Content-Type": "application/octet-stream"})
        urllib.request.urlopen(req).close()
    req = urllib.request.Request(f"{base}/v2/{repo}/manifests/{ref}", method="PUT",
                                 data=manifest, headers={"Content-Type": media_type})
    urllib.request.urlopen(req).close()


# --------------------------------------------------------------------------
# vessel


class V:
    """vessel with a private data root, runtime root and Docker config dir;
    no configuration file of the host's applies unless a test writes one."""

    def __init__(self, binary, tmp, name="v"):
        self.binary = str(binary)
        self.base = Path(tmp) / name
        self.base.mkdir(exist_ok=True)
        self.root = self.base / "data"
        self.env = dict(os.environ, VESSEL_ROOT=str(self.root),
                        VESSEL_RUNTIME_ROOT=str(self.base / "run"),
                        VESSEL_SYSTEM_CONFIG=str(self.base / "no-system-config.json"),
                        XDG_CONFIG_HOME=str(self.base / "xdg"),
                        DOCKER_CONFIG=str(self.base / "docker"),
                        VESSEL_REGISTRY_CERTS_DIR=str(self.base / "certs.d"),
                        TMPDIR=str(self.base))
        self.env.pop("VESSEL_CONFIG", None)

    def __call__(self, *args, timeout=TIMEOUT, input=None):
        p = subprocess.run([self.binary, *map(str, args)], env=self.env, input=input,
                           capture_output=True, timeout=timeout)
        p.stdout = p.stdout.decode(errors="replace")
        p.stderr = p.stderr.decode(errors="replace")
        return p

    def popen(self, *args):
        return subprocess.Popen([self.binary, *map(str, args)], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def ok(self, *args, **kw):
        p = self(*args, **kw)
        assert p.returncode == 0, (f"vessel {' '.join(map(str, args))} -> {p.returncode}\n"
                                   f"stdout: {p.stdout!r}\nstderr: {p.stderr!r}")
        return p.stdout

    def fails(self, *args, mentions=(), **kw):
        p = self(*args, **kw)
        assert p.returncode != 0, f"expected failure: vessel {args}\n{p.stdout}"
        lines = [line for line in p.stderr.splitlines() if line.strip()]
        assert lines and lines[-1].startswith("vessel"), f"no error line: {p.stderr!r}"
        for m in mentions:
            assert m.lower() in lines[-1].lower(), f"error does not mention {m!r}: {lines[-1]!r}"
        return lines[-1]

    def inspect(self, ref):
        return json.loads(self.ok("image", "inspect", ref))[0]

    def check(self, tmp_empty=True):
        out = self.ok("system", "check")
        assert out.startswith("ok:"), out
        tmp = self.root / "tmp"
        if tmp_empty:
            assert not tmp.exists() or not list(tmp.iterdir()), "temporary files left in the store"

    def blobs(self):
        d = self.root / "blobs" / "sha256"
        return sorted(p.name for p in d.iterdir()) if d.exists() else []

    def cleanup(self):
        for rec in (self.root / "containers").glob("*") if (self.root / "containers").exists() \
                else []:
            self("rm", "-f", rec.name)


@pytest.fixture(scope="module")
def source(vessel_bin, tmp_path_factory):
    """A data root holding busybox and `multi:latest`, busybox plus two
    committed layers (3 layers)."""
    v = V(vessel_bin, tmp_path_factory.mktemp("registry-source"))
    v.ok("pull", "busybox")
    v.ok("run", "--name", "c1", "busybox", "sh", "-c", "echo one > /one; mkdir /d")
    v.ok("commit", "c1", "step:1")
    v.ok("run", "--name", "c2", "step:1", "sh", "-c",
         "head -c 300000 /dev/urandom > /d/random; echo two > /two")
    v.ok("commit", "--change", 'CMD ["cat", "/two"]', "c2", "multi:latest")
    v.ok("rm", "c1", "c2")
    assert len(v.inspect("multi")["RootFS"]["Layers"]) == 3
    return v


@pytest.fixture
def fresh(vessel_bin, tmp_path):
    v = V(vessel_bin, tmp_path, "fresh")
    yield v
    v.cleanup()
    if v.root.exists():
        v.check()


@pytest.fixture
def plain(tmp_path):
    r = Registry(tmp_path, "plain")
    yield r
    r.stop()


def push(source, registry, name, target):
    ref = f"{registry.host}/{target}"
    source.ok("tag", name, ref)
    out = source.ok("push", ref)
    source.ok("rmi", ref)
    line = [x for x in out.splitlines() if ": digest: " in x]
    assert line, out
    return ref, line[-1].split()[2]


# --------------------------------------------------------------------------
# plain HTTP


def test_push_pull_round_trip_multi_layer(source, plain, fresh):
    ref, digest = push(source, plain, "multi", "app/multi:v1")
    out = fresh.ok("pull", ref)
    assert f"Digest: {digest}" in out
    assert out.strip().splitlines()[-1] == ref
    src, got = source.inspect("multi"), fresh.inspect(ref)
    assert got["Id"] == src["Id"]
    assert got["RootFS"]["Layers"] == src["RootFS"]["Layers"]
    assert len(got["RootFS"]["Layers"]) == 3
    # The pulled image runs, with the committed files and CMD.
    assert fresh.ok("run", "--rm", ref) == "two\n"
    assert fresh.ok("run", "--rm", ref, "wc", "-c", "/d/random").split()[0] == "300000"
    # A second pull transfers nothing but the manifest.
    blobs = fresh.blobs()
    out = fresh.ok("pull", ref)
    assert "Image is up to date" in out
    assert fresh.blobs() == blobs
    # Pushing again finds every blob there.
    source.ok("tag", "multi", ref)
    out = source.ok("push", ref)
    assert out.count("Layer already exists") == 4, out
    source.ok("rmi", ref)


def test_pull_skips_blobs_the_store_has(source, plain, fresh):
    ref_bb, _ = push(source, plain, "busybox", "base/bb:1")
    ref, _ = push(source, plain, "multi", "app/multi:v2")
    fresh.ok("pull", ref_bb)
    out = fresh.ok("pull", ref)
    assert out.count("Already exists") == 1, out
    assert out.count("Pull complete") == 2, out


def test_progress_on_a_terminal(source, plain, fresh):
    """stderr a terminal: per-layer lines redrawn in place (cursor up), with
    Docker's statuses; stdout keeps the summary."""
    import pty
    ref, _ = push(source, plain, "multi", "app/tty:1")
    master, slave = pty.openpty()
    try:
        p = subprocess.run([fresh.binary, "pull", ref], env=fresh.env, stdout=subprocess.PIPE,
                           stderr=slave, timeout=TIMEOUT)
        os.close(slave)
        slave = -1
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert p.returncode == 0
    tty = b"".join(chunks).decode(errors="replace")
    assert "Pull complete" in tty and re.search(r"\x1b\[\d+A", tty), tty
    out = p.stdout.decode()
    assert "Pull complete" not in out and "Status: Downloaded newer image" in out, out


def test_pull_by_digest(source, plain, fresh):
    ref, digest = push(source, plain, "multi", "app/multi:d")
    repo = ref.rsplit(":", 1)[0]
    out = fresh.ok("pull", f"{repo}@{digest}")
    assert out.strip().splitlines()[-1] == f"{repo}@{digest}"
    assert fresh.inspect(source.inspect("multi")["Id"])["Id"] == source.inspect("multi")["Id"]
    # Stored as NAME@DIGEST: run and inspect find it by that reference (a
    # tag given with the digest is dropped, as Docker does), images lists it
    # with a <none> tag, and pulling it again moves only the manifest.
    assert fresh.ok("run", "--rm", f"{repo}@{digest}") == "two\n"
    assert fresh.inspect(f"{repo}:d@{digest}")["Id"] == source.inspect("multi")["Id"]
    rows = [line.split() for line in fresh.ok("images").splitlines()[1:]]
    assert [repo, "<none>"] in [r[:2] for r in rows], rows
    assert "Image is up to date" in fresh.ok("pull", f"{repo}@{digest}")
    fresh.fails("image", "inspect", f"{repo}@sha256:{'1' * 64}", mentions=["not found"])
    fresh.fails("tag", f"{repo}@{digest}", f"{repo}@sha256:{'1' * 64}", mentions=["digest"])
    # A digest the registry does not have, and a malformed one.
    fresh.fails("pull", f"{repo}@sha256:{'0' * 64}", mentions=["manifest unknown"])
    fresh.fails("pull", f"{repo}@sha256:xyz", mentions=["invalid"])


def test_pull_all_tags_follows_pages(source, plain, fresh):
    """--all-tags pulls every tag of tags/list, following its Link headers
    (pages of 2 here, so 5 tags take 3 pages)."""
    ref_bb, _ = push(source, plain, "busybox", "all/t:a")
    repo = ref_bb.rsplit(":", 1)[0]
    tags = ["a", "b", "c", "d", "e"]
    for t in tags[1:]:
        source.ok("tag", "multi" if t in ("c", "e") else "busybox", f"{repo}:{t}")
        source.ok("push", f"{repo}:{t}")
        source.ok("rmi", f"{repo}:{t}")
    # Debian's docker-registry sends every tag at once: a proxy pages them
    # by 2 as the Distribution spec allows (fewer than n, Link to the next).
    proxy = FaultProxy(plain.port, "pages")
    try:
        repo = f"{proxy.host}/all/t"
        out = fresh.ok("pull", "--all-tags", repo)
        pages = [p for m, p, _ in proxy.requests if "/tags/list" in p]
    finally:
        proxy.stop()
    assert len(pages) == 3 and "last=b" in pages[1] and "last=d" in pages[2], pages
    for t in tags:
        assert f"{t}: Pulling from all/t" in out, out
        assert fresh.inspect(f"{repo}:{t}")["Id"] == \
            source.inspect("multi" if t in ("c", "e") else "busybox")["Id"]
    # A tag or digest with --all-tags, a local source, an empty repository.
    fresh.fails("pull", "-a", f"{repo}:a", mentions=["--all-tags"])
    fresh.fails("pull", "-a", "oci:/nonexistent", mentions=["--all-tags"])
    fresh.fails("pull", "-a", f"{plain.host}/none/here", mentions=["unknown"])


def test_unknown_image_and_tag(source, plain, fresh):
    ref, _ = push(source, plain, "busybox", "known/bb:1")
    fresh.fails("pull", f"{plain.host}/known/bb:2", mentions=["manifest unknown", "bb:2"])
    fresh.fails("pull", f"{plain.host}/unknown/img", mentions=["unknown"])
    fresh.fails("pull", f"{plain.host}/Bad/Name", mentions=["lowercase"])
    assert fresh.blobs() == []


def test_registry_mirrors_serve_docker_hub_pulls(source, plain, fresh):
    """registry-mirrors: a Docker Hub name is pulled from the mirrors, in
    order (a dead one is passed over), never from Docker Hub here: a proxy
    that does not answer stands in front of everything but 127.0.0.1."""
    push(source, plain, "multi", "library/mirrored:v1")
    fresh.env.update(https_proxy="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
                     no_proxy="127.0.0.1", NO_PROXY="127.0.0.1")
    cfg = Path(fresh.env["XDG_CONFIG_HOME"]) / "vessel" / "config.json"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(json.dumps({"registry-mirrors": ["http://127.0.0.1:9/",
                                                    f"http://{plain.host}"]}))
    out = fresh.ok("pull", "mirrored:v1")
    assert out.strip().splitlines()[-1] == "docker.io/library/mirrored:v1", out
    assert fresh.inspect("mirrored:v1")["Id"] == source.inspect("multi")["Id"]
    assert fresh.ok("run", "--rm", "mirrored:v1") == "two\n"
    # Without the mirrors the name means Docker Hub, which is not reachable.
    cfg.write_text(json.dumps({}))
    fresh.ok("rmi", "mirrored:v1")
    fresh.fails("pull", "mirrored:v1", mentions=["mirrored"], timeout=120)


def test_run_pull_policies(source, plain, fresh):
    ref, _ = push(source, plain, "multi", "app/run:1")
    fresh.fails("run", "--rm", "--pull=never", ref, "true", mentions=["not found"])
    p = fresh("run", "--rm", ref)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "two\n"
    assert "Unable to find image" in p.stderr
    p = fresh("run", "--rm", "--pull=always", ref)
    assert p.returncode == 0 and "Image is up to date" in p.stderr, p.stderr
    p = fresh("create", "--pull=sometimes", ref)
    # Docker's exit status for an engine usage error, and the option parser's one format.
    assert p.returncode == 125 and "invalid value 'sometimes' for --pull" in p.stderr, p.stderr


def test_run_and_create_quiet_print_nothing_of_the_pull(source, plain, fresh):
    """run -q/--quiet and create -q: Docker's pull output (the "Unable to
    find image" line and the progress) is left out; the command's own output
    and errors are not."""
    ref, _ = push(source, plain, "multi", "app/quiet:1")
    p = fresh("run", "--rm", "-q", ref)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "two\n" and p.stderr == "", (p.stdout, p.stderr)
    p = fresh("run", "--rm", "--quiet", "--pull=always", ref, "sh", "-c", "echo err >&2")
    assert p.returncode == 0 and p.stdout == "" and p.stderr == "err\n", (p.stdout, p.stderr)
    fresh.ok("rmi", ref)
    p = fresh("create", "-q", "--name", "qc", ref)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert len(p.stdout.strip()) == 64, p.stdout  # the id alone, as without -q
    assert json.loads(fresh.ok("container", "inspect", "qc"))[0]["Config"]["Image"] == ref
    # an image that is nowhere: the error is still said, in one line
    p = fresh("run", "--rm", "-q", f"{plain.host}/app/nosuch:1", "true")
    assert p.returncode == 125 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "Unable to find image" not in p.stderr, p.stderr


def test_multi_platform_index(source, plain, fresh):
    ref, host_digest = push(source, plain, "busybox", "multi/plat:host")
    base = f"http://{plain.host}"
    # A second platform: one layer, a config saying so.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = b"other platform\n"
        ti = tarfile.TarInfo("platform.txt")
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    layer = buf.getvalue()
    other = "riscv64" if host_arch() != "riscv64" else "s390x"
    config = json.dumps({"architecture": other, "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [sha(layer)]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": OCI_CONFIG, "digest": sha(config),
                                      "size": len(config)},
                           "layers": [{"mediaType": OCI_LAYER, "digest": sha(layer),
                                       "size": len(layer)}]}).encode()
    plain_put(base, "multi/plat", [layer, config], manifest, "other", OCI_MANIFEST)
    with urllib.request.urlopen(urllib.request.Request(
            f"{base}/v2/multi/plat/manifests/host",
            headers={"Accept": OCI_MANIFEST})) as r:
        host_manifest = r.read()
        host_type = r.headers["Content-Type"]
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": sha(manifest), "size": len(manifest),
         "platform": {"os": "linux", "architecture": other}},
        {"mediaType": host_type, "digest": host_digest, "size": len(host_manifest),
         "platform": {"os": "linux", "architecture": host_arch()}},
    ]}).encode()
    plain_put(base, "multi/plat", [], index, "both", OCI_INDEX)
    ref = f"{plain.host}/multi/plat:both"
    fresh.ok("pull", ref)
    assert fresh.inspect(ref)["Id"] == source.inspect("busybox")["Id"]
    fresh.ok("pull", "--platform", f"linux/{other}", ref)
    got = fresh.inspect(ref)
    assert got["Architecture"] == other
    assert got["RootFS"]["Layers"] == [sha(layer)]
    fresh.fails("pull", "--platform", "linux/mips64le", ref, mentions=["no image for linux/mips64le"])
    p = fresh("pull", "--platform", "linux", ref)
    assert p.returncode == 125 and "invalid value 'linux' for --platform" in p.stderr, p.stderr


# --------------------------------------------------------------------------
# faults: a proxy in front of the plain registry


class FaultProxy:
    """Forwards to the registry; blob GETs of `target` are cut short once
    (mode "drop"), served with one byte flipped ("corrupt") or trickled
    ("slow"); tags/list is served 2 tags a page with Link headers
    ("pages"); "record" only records (uploads pass through it too); the
    second PATCH of an upload is lost ("lose-patch": the connection closes
    before the registry sees a byte) or cut ("cut-patch": half of it reaches
    the registry, then the connection closes)."""

    def __init__(self, upstream_port, mode, target=None):
        self.mode, self.target, self.cut = mode, target, set()
        self.requests = []
        self.patches = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_HEAD(self):
                self.forward()

            def do_GET(self):
                self.forward()

            do_POST = do_PATCH = do_PUT = do_GET

            def forward(self):
                range_ = self.headers.get("Content-Range" if self.command == "PATCH" else "Range")
                proxy.requests.append((self.command, self.path, range_))
                body = None
                if self.headers.get("Content-Length"):
                    body = self.rfile.read(int(self.headers["Content-Length"]))
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
                # The registry's upload Locations name the host it was asked
                # for: the proxy's, in "record" mode.
                keep_host = proxy.mode in ("record", "lose-patch", "cut-patch")
                headers = {k: v for k, v in self.headers.items()
                           if keep_host or k.lower() != "host"}
                if self.command == "PATCH" and proxy.mode.endswith("-patch"):
                    proxy.patches += 1
                    if proxy.patches == 2:
                        return self.lose_patch(conn, headers, body, range_)
                url = urllib.parse.urlsplit(self.path)
                paged = proxy.mode == "pages" and url.path.endswith("/tags/list")
                conn.request(self.command, url.path if paged else self.path, body=body,
                             headers=headers)
                r = conn.getresponse()
                body = r.read()
                conn.close()
                if paged and r.status == 200:
                    return self.page(url, json.loads(body))
                blob = "/blobs/" in self.path and (proxy.target is None or
                                                    self.path.endswith(proxy.target))
                if blob and self.command == "GET" and r.status in (200, 206):
                    return self.fault(r, body)
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding"):
                        self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def lose_patch(self, conn, headers, body, range_):
                if proxy.mode == "cut-patch":
                    half = body[:len(body) // 2]
                    start = int(range_.split("-")[0])
                    headers = dict(headers, **{"Content-Range": f"{start}-{start + len(half) - 1}",
                                               "Content-Length": str(len(half))})
                    conn.request("PATCH", self.path, body=half, headers=headers)
                    conn.getresponse().read()
                conn.close()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

            def page(self, url, doc):
                last = urllib.parse.parse_qs(url.query).get("last", [""])[0]
                rest = sorted(t for t in doc["tags"] if t > last)
                body = json.dumps({"name": doc["name"], "tags": rest[:2]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if len(rest) > 2:
                    self.send_header("Link", f'<{url.path}?last={rest[1]}&n=2>; rel="next"')
                self.end_headers()
                self.wfile.write(body)

            def fault(self, r, body):
                try:
                    self.fault_body(r, body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def fault_body(self, r, body):
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding"):
                        self.send_header(k, v)
                self.end_headers()
                if proxy.mode == "corrupt":
                    body = bytes([body[0] ^ 0xFF]) + body[1:]
                    self.wfile.write(body)
                elif proxy.mode == "drop" and self.path not in proxy.cut and len(body) > 1000:
                    proxy.cut.add(self.path)
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif proxy.mode == "slow":
                    for i in range(0, len(body), 4096):
                        self.wfile.write(body[i:i + 4096])
                        self.wfile.flush()
                        time.sleep(0.05)
                else:
                    self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_push_large_blobs_in_chunks(source, plain, fresh):
    """Blobs over the chunk size go up as PATCHes with Content-Range, then a
    PUT without a body; what the registry assembled pulls back intact."""
    proxy = FaultProxy(plain.port, "record")
    try:
        ref = f"{proxy.host}/chunks/multi:1"
        source.ok("tag", "multi", ref)
        source.env["VESSEL_REGISTRY_CHUNK_SIZE"] = "65536"
        try:
            source.ok("push", ref)
        finally:
            del source.env["VESSEL_REGISTRY_CHUNK_SIZE"]
            source.ok("rmi", ref)
        patches = [r for m, _, r in proxy.requests if m == "PATCH"]
        # The 300,000 random bytes' layer alone needs 5 chunks of 64 KiB.
        assert len(patches) >= 5, proxy.requests
        assert "0-65535" in patches and "65536-131071" in patches, patches
        puts = [p for m, p, _ in proxy.requests if m == "PUT" and "/blobs/" in p]
        assert puts and all("digest=sha256:" in p for p in puts), puts
        # Under the default chunk size the same blobs go up in one PUT each.
        proxy.requests.clear()
        ref2 = f"{proxy.host}/mono/multi:1"
        source.ok("tag", "multi", ref2)
        source.ok("push", ref2)
        source.ok("rmi", ref2)
        assert not [m for m, _, _ in proxy.requests if m == "PATCH"], proxy.requests
    finally:
        proxy.stop()
    fresh.ok("pull", f"{plain.host}/chunks/multi:1")
    src = source.inspect("multi")
    got = fresh.inspect(f"{plain.host}/chunks/multi:1")
    assert got["Id"] == src["Id"] and got["RootFS"]["Layers"] == src["RootFS"]["Layers"]
    assert fresh.ok("run", "--rm", f"{plain.host}/chunks/multi:1", "wc", "-c",
                    "/d/random").split()[0] == "300000"


@pytest.mark.parametrize("mode", ["lose-patch", "cut-patch"])
def test_push_resumes_a_chunk_cut_short(source, plain, fresh, mode):
    """A PATCH whose connection closes goes on where the upload session
    stands (GET of its Location); a session the registry gave up (part of
    the chunk arrived, so Distribution no longer accepts the Location) is
    started again. The image the registry assembles pulls back intact."""
    proxy = FaultProxy(plain.port, mode)
    ref = f"{proxy.host}/resume/{mode}:1"
    try:
        source.ok("tag", "multi", ref)
        source.env["VESSEL_REGISTRY_CHUNK_SIZE"] = "65536"
        try:
            source.ok("push", ref)
        finally:
            del source.env["VESSEL_REGISTRY_CHUNK_SIZE"]
            source.ok("rmi", ref)
    finally:
        proxy.stop()
    # The requests of each upload session (its UUID in the path).
    sessions = {}
    for m, p, r in proxy.requests:
        if "/blobs/uploads/" in p and m != "POST":
            uuid = p.split("/blobs/uploads/")[1].split("?")[0]
            sessions.setdefault(uuid, []).append((m, r))
    status = [(u, r) for u, reqs in sessions.items() for m, r in reqs if m == "GET"]
    assert len(status) == 1, proxy.requests
    cut = status[0][0]
    patches = [r for m, r in sessions[cut] if m == "PATCH"]
    abandoned = [u for u, reqs in sessions.items() if not any(m == "PUT" for m, _ in reqs)]
    if mode == "lose-patch":
        # the same session went on from the byte the registry held
        assert patches[:3] == ["0-65535", "65536-131071", "65536-131071"], patches
        assert sessions[cut][-1][0] == "PUT" and not abandoned, sessions
    else:
        # the session was given up after its status, a new one took the blob
        assert patches == ["0-65535", "65536-131071"], patches
        assert abandoned == [cut], sessions
        restarted = [u for u, reqs in sessions.items() if u != cut and
                     [r for m, r in reqs if m == "PATCH"][:1] == ["0-65535"]]
        assert restarted, sessions
    fresh.ok("pull", f"{plain.host}/resume/{mode}:1")
    got = fresh.inspect(f"{plain.host}/resume/{mode}:1")
    assert got["Id"] == source.inspect("multi")["Id"]
    assert fresh.ok("run", "--rm", f"{plain.host}/resume/{mode}:1", "wc", "-c",
                    "/d/random").split()[0] == "300000"


def layer_digests(v, name):
    """The manifest's layer digests of a local image (from the store)."""
    index = json.loads((v.root / "index.json").read_text())
    for d in index["manifests"]:
        if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == name:
            m = json.loads((v.root / "blobs" / "sha256" / d["digest"].split(":")[1]).read_text())
            return [(layer["digest"], layer["size"]) for layer in m["layers"]]
    raise AssertionError(f"{name} not in {index}")


def test_layers_are_received_by_their_unpackers(source, plain, fresh, tmp_path):
    """Each layer is downloaded by the child that keeps and unpacks it: the
    pulling process itself receives the manifest and config only (it
    received every layer byte when it fed the children), and --debug
    accounts for the pull's phases in one line (bench/registry-pull.sh)."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    ref, _ = push(source, plain, "multi", "app/recv:v1")
    layers = sum(size for _, size in layer_digests(source, "multi:latest"))
    trace = tmp_path / "trace"
    p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=recvfrom", "-o", str(trace),
                        fresh.binary, "--debug", "pull", "-q", ref],
                       env=fresh.env, capture_output=True, timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    got = {}
    first = None
    for line in trace.read_text().splitlines():
        m = re.match(r"^(\d+)\s+(?:recvfrom\(|<\.\.\. recvfrom resumed>).*=\s+(\d+)", line)
        if m:
            got[m[1]] = got.get(m[1], 0) + int(m[2])
        first = first or line.split()[0]
    parent = got.pop(first, 0)
    assert parent < 64 * 1024, (parent, got)
    assert sum(got.values()) >= layers, (layers, got)
    err = p.stderr.decode(errors="replace")
    m = re.search(r"manifest and config ([0-9.]+) s, layers received \(.*\) ([0-9.]+) s, "
                  r"unpacks finished and blobs verified ([0-9.]+) s, committed ([0-9.]+) s", err)
    assert m, err
    assert all(float(x) >= 0 for x in m.groups())
    assert fresh.inspect(ref)["Id"] == source.inspect("multi")["Id"]


def test_connection_dropped_mid_blob_resumes(source, plain, fresh):
    ref, _ = push(source, plain, "multi", "fault/drop:1")
    proxy = FaultProxy(plain.port, "drop")
    try:
        out = fresh.ok("pull", f"{proxy.host}/fault/drop:1")
    finally:
        proxy.stop()
    assert proxy.cut, "the proxy cut no blob short"
    ranges = [rg for (_, path, rg) in proxy.requests if rg]
    assert ranges and all(rg.startswith("bytes=") and rg.endswith("-") and
                          int(rg[6:-1]) > 0 for rg in ranges), proxy.requests
    assert "Downloaded newer image" in out
    assert fresh.inspect(f"{proxy.host}/fault/drop:1")["Id"] == source.inspect("multi")["Id"]


def test_corrupted_blob_is_refused_and_nothing_stored(source, plain, fresh):
    ref, _ = push(source, plain, "multi", "fault/bad:1")
    source.ok("tag", "multi", "multi-copy:1")
    digests = layer_digests(source, "multi-copy:1")
    source.ok("rmi", "multi-copy:1")
    target = max(digests, key=lambda d: d[1])[0]
    proxy = FaultProxy(plain.port, "corrupt", target)
    try:
        err = fresh.fails("pull", f"{proxy.host}/fault/bad:1",
                          mentions=["does not match its digest", target])
    finally:
        proxy.stop()
    assert "cannot pull" in err
    assert fresh.blobs() == []
    assert not (fresh.root / "layers").exists() or not list((fresh.root / "layers").iterdir())
    fresh.check()


def test_kill_9_mid_pull_then_pull_again(source, plain, fresh):
    ref, _ = push(source, plain, "multi", "fault/slow:1")
    proxy = FaultProxy(plain.port, "slow")
    try:
        p = fresh.popen("pull", f"{proxy.host}/fault/slow:1")
        # Killed once blob bytes are streaming into the store's temporary dir.
        helpers.wait_for(lambda: any(x[0] == "GET" and "/blobs/" in x[1]
                                     for x in proxy.requests) and p.poll() is None,
                         timeout=30, what="a blob download under way")
        time.sleep(0.3)
        assert p.poll() is None, p.stderr.read()
        p.send_signal(signal.SIGKILL)
        p.wait()
    finally:
        proxy.stop()
    # Consistent; the killed transaction's files go with the next one.
    fresh.check(tmp_empty=False)
    fresh.ok("pull", ref)
    assert fresh.inspect(ref)["Id"] == source.inspect("multi")["Id"]


# --------------------------------------------------------------------------
# TLS + Basic


def make_ca_and_cert(d, hosts=("localhost",)):
    crypto = pytest.importorskip("cryptography", reason="python3-cryptography is not installed")
    del crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    import ipaddress

    now = datetime.datetime.utcnow()

    def key():
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    ca_key = key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vessel test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    srv_key = key()
    srv = (x509.CertificateBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
           .issuer_name(ca_name).public_key(srv_key.public_key())
           .serial_number(x509.random_serial_number())
           .not_valid_before(now - datetime.timedelta(days=1))
           .not_valid_after(now + datetime.timedelta(days=2))
           .add_extension(x509.SubjectAlternativeName(
               [x509.DNSName(h) for h in hosts] +
               [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
           .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (d / "ca.crt").write_bytes(ca.public_bytes(pem))
    (d / "server.crt").write_bytes(srv.public_bytes(pem))
    (d / "server.key").write_bytes(srv_key.private_bytes(
        pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    return d / "ca.crt", d / "server.crt", d / "server.key"


@pytest.fixture
def tls_basic(tmp_path):
    need("htpasswd")
    d = tmp_path / "pki"
    d.mkdir()
    ca, crt, key = make_ca_and_cert(d)
    pw = subprocess.run(["htpasswd", "-Bbn", "alice", "s3cret"], capture_output=True,
                        text=True, check=True).stdout
    (d / "htpasswd").write_text(pw)
    r = Registry(tmp_path, "tls", tls=(crt, key),
                 auth=["htpasswd:", "  realm: vessel-test", f"  path: {d / 'htpasswd'}"])
    r.ca = ca
    yield r
    r.stop()


def trust(v, registry):
    d = Path(v.env["VESSEL_REGISTRY_CERTS_DIR"]) / registry.host
    d.mkdir(parents=True, exist_ok=True)
    shutil.copy(registry.ca, d / "ca.crt")


def test_tls_basic_login_push_pull(source, tls_basic, fresh, vessel_bin, tmp_path):
    ref = f"{tls_basic.host}/secure/multi:1"
    # Without the CA: the certificate is refused (no fallback to HTTP).
    fresh.fails("pull", ref, mentions=["certificate"])
    trust(fresh, tls_basic)
    trust(source, tls_basic)
    # Without credentials, then with a wrong password.
    fresh.fails("pull", ref, mentions=["authentication required"])
    fresh.fails("login", "-u", "alice", "--password-stdin", tls_basic.host, input=b"wrong\n",
                mentions=["wrong user name or password"])
    assert not (Path(fresh.env["DOCKER_CONFIG"]) / "config.json").exists()
    # Login writes Docker's config.json (base64 user:password).
    out = fresh.ok("login", "-u", "alice", "--password-stdin", tls_basic.host,
                   input=b"s3cret\n")
    assert "Login Succeeded" in out
    cfg = json.loads((Path(fresh.env["DOCKER_CONFIG"]) / "config.json").read_text())
    assert base64.b64decode(cfg["auths"][tls_basic.host]["auth"]) == b"alice:s3cret"
    # The source root gets the same credentials by config.json written by hand.
    Path(source.env["DOCKER_CONFIG"]).mkdir(exist_ok=True)
    (Path(source.env["DOCKER_CONFIG"]) / "config.json").write_text(json.dumps(cfg))
    source.ok("tag", "multi", ref)
    source.ok("push", ref)
    source.ok("rmi", ref)
    fresh.ok("pull", ref)
    assert fresh.inspect(ref)["Id"] == source.inspect("multi")["Id"]
    out = fresh.ok("logout", tls_basic.host)
    assert "Removing login credentials" in out
    cfg = json.loads((Path(fresh.env["DOCKER_CONFIG"]) / "config.json").read_text())
    assert tls_basic.host not in cfg.get("auths", {})
    fresh.fails("pull", ref, mentions=["authentication required"])
    shutil.rmtree(Path(source.env["DOCKER_CONFIG"]))


def test_login_asks_on_a_terminal(tls_basic, fresh):
    """Without -u or a password, login asks on the terminal, the password
    without echo; without a terminal it says so and stores nothing."""
    import pty
    trust(fresh, tls_basic)
    p = fresh("login", tls_basic.host, input=b"alice\ns3cret\n")
    assert p.returncode == 125 and "not a terminal" in p.stderr, p.stderr
    p = fresh("login", "-u", "alice", tls_basic.host, input=b"s3cret\n")
    assert p.returncode == 125 and "cannot ask for a password" in p.stderr, p.stderr
    assert not (Path(fresh.env["DOCKER_CONFIG"]) / "config.json").exists()
    master, slave = pty.openpty()
    seen = b""

    def read_until(text):
        nonlocal seen
        deadline = time.monotonic() + TIMEOUT
        while text not in seen:
            assert time.monotonic() < deadline, seen
            seen += os.read(master, 4096)
    try:
        proc = subprocess.Popen([fresh.binary, "login", tls_basic.host], env=fresh.env,
                                stdin=slave, stdout=slave, stderr=subprocess.PIPE)
        os.close(slave)
        slave = -1
        read_until(b"Username: ")
        os.write(master, b"alice\n")
        read_until(b"Password: ")
        os.write(master, b"s3cret\n")
        read_until(b"Login Succeeded")
        assert proc.wait(timeout=TIMEOUT) == 0, proc.stderr.read()
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert b"alice" in seen          # the user name is echoed
    assert b"s3cret" not in seen, seen  # the password is not
    cfg = json.loads((Path(fresh.env["DOCKER_CONFIG"]) / "config.json").read_text())
    assert base64.b64decode(cfg["auths"][tls_basic.host]["auth"]) == b"alice:s3cret"


def test_insecure_registry_setting_skips_verification(source, tls_basic, fresh):
    ref = f"{tls_basic.host}/secure/bb:1"
    fresh.fails("pull", ref, mentions=["certificate"])
    cfg = Path(fresh.env["XDG_CONFIG_HOME"]) / "vessel" / "config.json"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(json.dumps({"insecure-registries": [tls_basic.host]}))
    # Verification is off now: what is left is the registry asking for credentials.
    fresh.fails("pull", ref, mentions=["authentication required"])


def test_credential_helper(source, tls_basic, fresh, tmp_path):
    """credsStore: docker-credential-NAME get/store/erase, as Docker runs it."""
    trust(fresh, tls_basic)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    store = tmp_path / "helper-store.json"
    helper = bindir / "docker-credential-vtest"
    helper.write_text(f"""#!/usr/bin/python3
import json, sys
path = {str(store)!r}
try:
    db = json.load(open(path))
except OSError:
    db = {{}}
op = sys.argv[1]
data = sys.stdin.read()
if op == "store":
    e = json.loads(data)
    db[e["ServerURL"]] = [e["Username"], e["Secret"]]
elif op == "get":
    if data.strip() not in db:
        print("credentials not found in native keychain")
        sys.exit(1)
    u, s = db[data.strip()]
    print(json.dumps({{"ServerURL": data.strip(), "Username": u, "Secret": s}}))
elif op == "erase":
    db.pop(data.strip(), None)
json.dump(db, open(path, "w"))
""")
    helper.chmod(0o755)
    fresh.env["PATH"] = f"{bindir}:{fresh.env['PATH']}"
    dc = Path(fresh.env["DOCKER_CONFIG"])
    dc.mkdir()
    (dc / "config.json").write_text(json.dumps({"credsStore": "vtest"}))
    fresh.ok("login", "-u", "alice", "--password-stdin", tls_basic.host, input=b"s3cret\n")
    assert json.loads(store.read_text())[tls_basic.host] == ["alice", "s3cret"]
    cfg = json.loads((dc / "config.json").read_text())
    assert "auth" not in cfg["auths"].get(tls_basic.host, {})
    trust(source, tls_basic)
    Path(source.env["DOCKER_CONFIG"]).mkdir(exist_ok=True)
    (Path(source.env["DOCKER_CONFIG"]) / "config.json").write_text(json.dumps(
        {"auths": {tls_basic.host: {"auth": base64.b64encode(b"alice:s3cret").decode()}}}))
    ref = f"{tls_basic.host}/helper/bb:1"
    source.ok("tag", "busybox", ref)
    source.ok("push", ref)
    source.ok("rmi", ref)
    shutil.rmtree(Path(source.env["DOCKER_CONFIG"]))
    fresh.ok("pull", ref)
    fresh.ok("logout", tls_basic.host)
    assert tls_basic.host not in json.loads(store.read_text())


# --------------------------------------------------------------------------
# Bearer tokens


class TokenServer:
    """Issues RS256 JWTs the registry trusts (its rootcertbundle holds our
    self-signed certificate, sent in the x5c header). Users: bob/hunter2;
    anonymous callers get pull access. The next token issued is already
    expired when expire_next is set."""

    def __init__(self, d):
        pytest.importorskip("cryptography", reason="python3-cryptography is not installed")
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
        from cryptography.x509.oid import NameOID

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "token")])
        now = datetime.datetime.utcnow()
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=2))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(self.key, hashes.SHA256()))
        self.bundle = d / "token.crt"
        self.bundle.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        self.expire_next = False
        self.issued = []
        self.padding, self.hashes = padding, hashes
        srv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                user = None
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
                    if (u, p) != ("bob", "hunter2"):
                        self.send_response(401)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    user = u
                access = []
                for scope in q.get("scope", []):
                    kind, repo, actions = scope.split(":")
                    allowed = [a for a in actions.split(",") if a == "pull" or user]
                    access.append({"type": kind, "name": repo, "actions": allowed})
                token = srv.token(user or "", q.get("service", [""])[0], access)
                body = json.dumps({"token": token}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, sub, service, access):
        def b64(b):
            return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
        now = int(time.time())
        exp = now + 300
        if self.expire_next:
            self.expire_next = False
            exp = now - 3600
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {"iss": "vessel-test", "sub": sub, "aud": service, "exp": exp,
                  "nbf": now - 7200, "iat": now - 7200, "jti": os.urandom(8).hex(),
                  "access": access}
        signing = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
        sig = self.key.sign(signing.encode(), self.padding.PKCS1v15(), self.hashes.SHA256())
        self.issued.append((sub, exp, access))
        return f"{signing}.{b64(sig)}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def bearer_registry(tmp_path):
    d = tmp_path / "token"
    d.mkdir()
    ts = TokenServer(d)
    r = Registry(tmp_path, "bearer", auth=[
        "token:", f"  realm: {ts.url}", "  service: vessel-registry", "  issuer: vessel-test",
        f"  rootcertbundle: {ts.bundle}"])
    return r, ts


def test_bearer_anonymous_pull_and_credentials_push(source, fresh, tmp_path):
    r, ts = bearer_registry(tmp_path)
    try:
        ref = f"{r.host}/tok/multi:1"
        source.ok("tag", "multi", ref)
        err = source.fails("push", ref)
        assert "denied" in err or "authentication" in err or "unauthorized" in err, err
        source.fails("login", "-u", "bob", "--password-stdin", r.host, input=b"nope\n",
                     mentions=["wrong user name or password"])
        source.ok("login", "-u", "bob", "--password-stdin", r.host, input=b"hunter2\n")
        source.ok("push", ref)
        source.ok("rmi", ref)
        assert any(sub == "bob" and any("push" in a["actions"] for a in acc)
                   for sub, _, acc in ts.issued), ts.issued
        n = len(ts.issued)
        fresh.ok("pull", ref)  # anonymous
        assert fresh.inspect(ref)["Id"] == source.inspect("multi")["Id"]
        assert ts.issued[n][0] == ""
        # One token serves the whole pull (cached, not one per blob).
        assert len(ts.issued) == n + 1, ts.issued[n:]
        source.ok("logout", r.host)
    finally:
        r.stop()
        ts.stop()


def test_bearer_expired_token_is_refreshed(source, fresh, tmp_path):
    """The registry refuses an expired token with 401: vessel fetches a
    fresh one and carries on, for push and for pull."""
    r, ts = bearer_registry(tmp_path)
    try:
        ref = f"{r.host}/tok/bb:1"
        source.ok("login", "-u", "bob", "--password-stdin", r.host, input=b"hunter2\n")
        source.ok("tag", "busybox", ref)
        n = len(ts.issued)
        ts.expire_next = True
        source.ok("push", ref)
        source.ok("rmi", ref)
        source.ok("logout", r.host)
        assert ts.issued[n][1] < time.time(), "the push's first token was not expired"
        assert len(ts.issued) == n + 2, ts.issued[n:]
        n = len(ts.issued)
        ts.expire_next = True
        fresh.ok("pull", ref)
        assert ts.issued[n][1] < time.time()
        assert len(ts.issued) == n + 2, ts.issued[n:]
        assert fresh.inspect(ref)["Id"] == source.inspect("busybox")["Id"]
    finally:
        r.stop()
        ts.stop()


# --------------------------------------------------------------------------
# interoperability


def test_skopeo_pushes_vessel_pulls(source, plain, fresh, tmp_path):
    need("skopeo")
    arch = tmp_path / "multi.tar"
    source.ok("save", "--format", "oci-archive", "-o", arch, "multi")
    subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", f"oci-archive:{arch}",
                    f"docker://{plain.host}/sk/multi:1"], check=True, capture_output=True,
                   timeout=TIMEOUT)
    ref = f"{plain.host}/sk/multi:1"
    fresh.ok("pull", ref)
    assert fresh.inspect(ref)["Id"] == source.inspect("multi")["Id"]
    assert fresh.ok("run", "--rm", ref) == "two\n"


def test_vessel_pushes_skopeo_and_podman_pull(source, plain, tmp_path):
    need("skopeo")
    need("podman")
    ref, digest = push(source, plain, "multi", "vs/multi:1")
    oci = tmp_path / "oci"
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}",
                    f"oci:{oci}:x"], check=True, capture_output=True, timeout=TIMEOUT)
    index = json.loads((oci / "index.json").read_text())
    m = json.loads((oci / "blobs" / "sha256" /
                    index["manifests"][0]["digest"].split(":")[1]).read_text())
    assert m["config"]["digest"] == source.inspect("multi")["Id"]
    assert len(m["layers"]) == 3
    short = Path(tempfile.mkdtemp(prefix="vessel-podman-", dir="/tmp"))
    try:
        base = ["podman", "--root", str(tmp_path / "podman-root"), "--runroot",
                str(short / "run"), "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
                "--events-backend", "file"]
        env = dict(os.environ, TMPDIR=str(tmp_path))
        p = subprocess.run([*base, "pull", "--tls-verify=false", ref], capture_output=True,
                           text=True, env=env, timeout=TIMEOUT)
        assert p.returncode == 0, p.stderr
        p = subprocess.run([*base, "image", "inspect", "--format", "{{.Id}}", ref],
                           capture_output=True, text=True, env=env, timeout=TIMEOUT)
        assert p.stdout.strip() == source.inspect("multi")["Id"].split(":")[1]
    finally:
        shutil.rmtree(short, ignore_errors=True)
