"""`vessel build` against the built-in busybox image: stages and --target,
the cache (hits, misses, .dockerignore), heredocs, ONBUILD, COPY semantics
and paths escaping the context, a tar context on stdin, SOURCE_DATE_EPOCH,
bad Dockerfiles (one line naming file:line), and failing or interrupted
steps leaving no mount, scratch dir or runtime container behind. Each test
has its own data root (VESSEL_ROOT) under its tmp_path."""

import io
import json
import os
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

TIMEOUT = 120


class Builder:
    def __init__(self, binary, tmp):
        self.bin = binary
        self.root = tmp / "data"
        self.root.mkdir()
        self.runtime = tmp / "run"
        self.runtime.mkdir()
        self.env = dict(os.environ, VESSEL_ROOT=str(self.root),
                        VESSEL_RUNTIME_ROOT=str(self.runtime))
        self.env.pop("SOURCE_DATE_EPOCH", None)

    def __call__(self, *args, input=None, env=None, check=False):
        e = dict(self.env, **(env or {}))
        p = subprocess.run([self.bin, *args], env=e, input=input, capture_output=True,
                           timeout=TIMEOUT)
        p.out = p.stdout.decode(errors="replace")
        p.err = p.stderr.decode(errors="replace")
        if check and p.returncode != 0:
            pytest.fail(f"vessel {' '.join(args)} failed ({p.returncode}): {p.err}")
        return p

    def build(self, ctx, *args, **kw):
        return self(*(["build", "--progress", "plain", *args, str(ctx)]), **kw)

    def leftovers(self):
        tmp = self.root / "build" / "tmp"
        left = sorted(os.listdir(tmp)) if tmp.exists() else []
        with open("/proc/self/mountinfo") as f:
            mounts = [l for l in f if str(self.root) in l or str(self.runtime) in l]
        ctrs = [n for n in os.listdir(self.runtime) if not n.startswith(".")] \
            if self.runtime.exists() else []
        return left, mounts, ctrs


@pytest.fixture
def vb(vessel_bin, tmp_path):
    b = Builder(vessel_bin, tmp_path)
    yield b
    left, mounts, ctrs = b.leftovers()
    assert (left, mounts, ctrs) == ([], [], []), "build left things behind"


def context(tmp_path, dockerfile, files=None, name="ctx"):
    ctx = tmp_path / name
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    for path, content in (files or {}).items():
        p = ctx / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content)
    return ctx


def run_cat(vb, image, *paths):
    p = vb("run", "--rm", image, "cat", *paths)
    return p.returncode, p.out


MULTI = """\
FROM busybox AS build
WORKDIR /src
COPY main.txt .
RUN tr a-z A-Z < main.txt > /artifact && echo secret > /src/junk
FROM busybox AS unused
RUN exit 3
FROM busybox
COPY --from=build /artifact /app/artifact
CMD ["cat", "/app/artifact"]
"""


def test_multistage_final_has_only_the_artifact(vb, tmp_path):
    ctx = context(tmp_path, MULTI, {"main.txt": "hello\n"})
    p = vb.build(ctx, "-t", "multi:1", check=True)
    assert p.out.strip().startswith("sha256:")
    # The unused stage (which would fail) was skipped.
    assert "exit 3" not in p.err
    rc, out = run_cat(vb, "multi:1", "/app/artifact")
    assert (rc, out) == (0, "HELLO\n")
    assert vb("run", "--rm", "multi:1", "ls", "/src").returncode != 0
    p = vb("run", "--rm", "multi:1")
    assert p.out == "HELLO\n"
    # --target stops at a stage.
    p = vb.build(ctx, "--target", "build", "-t", "multi:build", check=True)
    rc, out = run_cat(vb, "multi:build", "/src/junk")
    assert (rc, out) == (0, "secret\n")


def test_cache_hits_misses_and_dockerignore(vb, tmp_path):
    df = "FROM busybox\nCOPY . /ctx/\nRUN ls /ctx > /list\nRUN echo done\n"
    ctx = context(tmp_path, df, {"a.txt": "1", "skip.log": "x", ".dockerignore": "*.log\n"})
    first = vb.build(ctx, check=True)
    assert "CACHED" not in first.err
    again = vb.build(ctx, check=True)
    assert again.out == first.out
    assert again.err.count("CACHED") == 3, again.err
    # An ignored file changes nothing.
    (ctx / "skip.log").write_text("changed")
    (ctx / "other.log").write_text("new")
    p = vb.build(ctx, check=True)
    assert p.out == first.out and p.err.count("CACHED") == 3
    rc, out = run_cat(vb, first.out.strip(), "/list")
    assert "skip.log" not in out and "a.txt" in out
    # A changed copied file: the COPY and what follows run again.
    (ctx / "a.txt").write_text("2")
    p = vb.build(ctx, check=True)
    assert p.out != first.out and p.err.count("CACHED") == 0
    # --no-cache runs every step.
    p = vb.build(ctx, "--no-cache", check=True)
    assert "CACHED" not in p.err
    # builder prune removes entries of images with no name.
    vb.build(ctx, "-t", "keep", check=True)
    before = vb("images", check=True).out.count("<none>")
    p = vb("builder", "prune", check=True)
    assert "Removed" in p.out
    # Step images no name uses are gone (untagged results of earlier builds
    # stay, as Docker's); the named result still runs; the store is
    # consistent.
    after = vb("images", check=True).out.count("<none>")
    assert after < before and after <= 4, (before, after)
    assert run_cat(vb, "keep", "/ctx/a.txt") == (0, "2")
    vb("system", "check", check=True)
    p = vb.build(ctx, check=True)
    # The steps' entries are gone, so every step runs again.
    assert p.err.count("CACHED") == 0


def test_heredocs_env_args_and_config(vb, tmp_path):
    df = """\
FROM busybox
ARG WHO=world
ENV GREETING=hello DIR=/w
WORKDIR $DIR
RUN <<EOF
echo "$GREETING $WHO" > out
EOF
COPY <<EOF /etc/conf
dir=${DIR:-none} unset=${NOPE:-dflt} alt=${DIR:+set}
EOF
COPY <<'EOF' /etc/raw
$GREETING
EOF
USER 1000:1000
EXPOSE 8080 53/udp
LABEL org.test=yes
STOPSIGNAL SIGTERM
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat out"]
"""
    ctx = context(tmp_path, df)
    p = vb.build(ctx, "--build-arg", "WHO=you", "-t", "hd", "--label", "extra=1", check=True)
    p = vb("run", "--rm", "--entrypoint", "cat", "hd", "/w/out", "/etc/conf", "/etc/raw")
    assert p.out == "hello you\ndir=/w unset=dflt alt=set\n$GREETING\n", p.err
    cfg = json.loads(vb("image", "inspect", "hd", check=True).out)[0]["Config"]
    assert cfg["User"] == "1000:1000"
    assert cfg["WorkingDir"] == "/w"
    assert set(cfg["ExposedPorts"]) == {"8080/tcp", "53/udp"}
    assert cfg["Labels"] == {"org.test": "yes", "extra": "1"}
    assert cfg["Entrypoint"] == ["/bin/sh", "-c"] and cfg["Cmd"] == ["cat out"]
    assert "GREETING=hello" in cfg["Env"] and not any(e.startswith("WHO=") for e in cfg["Env"])
    hist = vb("history", "--no-trunc", "hd", check=True).out
    assert "RUN |1 WHO=you" in hist


def test_proxy_args_reach_run_but_not_history(vb, tmp_path):
    ctx = context(tmp_path, "FROM busybox\nRUN echo \"p=$HTTP_PROXY\" > /p\n")
    vb.build(ctx, "--build-arg", "HTTP_PROXY=http://proxy:3128", "-t", "px", check=True)
    assert run_cat(vb, "px", "/p") == (0, "p=http://proxy:3128\n")
    hist = vb("history", "--no-trunc", "px", check=True).out
    assert "proxy:3128" not in hist
    # Not in the cache key either: another proxy value reuses the step.
    p = vb.build(ctx, "--build-arg", "HTTP_PROXY=http://other:1", check=True)
    assert "CACHED" in p.err


def test_onbuild_triggers_run_in_the_child(vb, tmp_path):
    parent = context(tmp_path, "FROM busybox\nONBUILD RUN echo triggered > /trig\n", name="p")
    vb.build(parent, "-t", "parent", check=True)
    child = context(tmp_path, "FROM parent\nRUN cat /trig\n", name="c")
    p = vb.build(child, "-t", "child", check=True)
    rc, out = run_cat(vb, "child", "/trig")
    assert (rc, out) == (0, "triggered\n")
    cfg = json.loads(vb("image", "inspect", "child", check=True).out)[0]["Config"]
    assert not cfg.get("OnBuild")


def test_copy_semantics_chown_chmod_symlink_wildcard(vb, tmp_path):
    df = """\
FROM busybox
COPY --chown=12:34 dir /d
COPY --chmod=600 *.txt /t/
COPY link /linked
COPY dir/sub/ /flat/
RUN stat -c '%u:%g %a %n' /d /d/sub/f /t/a.txt /t/b.txt /linked /flat/f > /stat
"""
    ctx = context(tmp_path, df, {"dir/sub/f": "f", "a.txt": "a", "b.txt": "b"})
    (ctx / "link").symlink_to("a.txt")
    vb.build(ctx, "-t", "cp", check=True)
    rc, out = run_cat(vb, "cp", "/stat", "/linked")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].startswith("12:34 ") and lines[0].endswith(" /d")
    assert lines[1].startswith("12:34 ")
    assert lines[2] == "0:0 600 /t/a.txt" and lines[3] == "0:0 600 /t/b.txt"
    assert lines[4].endswith("/linked") and lines[6] == "a"
    assert lines[5].endswith("/flat/f")


@pytest.mark.parametrize("src", ["../outside", "/../../etc/passwd/.."])
def test_copy_outside_the_context_is_refused(vb, tmp_path, src):
    (tmp_path / "outside").write_text("secret")
    ctx = context(tmp_path, f"FROM busybox\nCOPY {src} /x\n")
    p = vb.build(ctx)
    assert p.returncode != 0
    errors = [l for l in p.err.splitlines() if l.startswith("vessel")]
    assert len(errors) == 1 and "Dockerfile:2:" in errors[0], p.err
    assert "forbidden path outside the build context" in errors[0]


def test_symlink_leading_outside_stays_inside(vb, tmp_path):
    ctx = context(tmp_path, "FROM busybox\nCOPY evil /x\n")
    (ctx / "evil").symlink_to("/etc/passwd")
    p = vb.build(ctx, "-t", "evil")
    # Resolved inside the context: /etc/passwd is not there.
    assert p.returncode != 0 and "Dockerfile:2:" in p.err


@pytest.mark.parametrize("text,line,what", [
    ("FROM busybox\nFOO bar\n", 2, "unknown instruction: FOO"),
    ("RUN true\n", 1, "before the first FROM"),
    ("FROM busybox\nSHELL sh -c\n", 2, "JSON form"),
    ("FROM busybox\nRUN <<EOF\necho\n", 2, "unterminated heredoc"),
    ("FROM busybox\nCOPY --from=nope /a /b\n", 2, "no such stage or image"),
    ("FROM busybox\nRUN exit 7\n", 2, "exit code: 7"),
    ("FROM nosuchimage\n", 1, "nosuchimage"),
])
def test_bad_dockerfiles_one_line_with_file_and_line(vb, tmp_path, text, line, what):
    ctx = context(tmp_path, text)
    p = vb.build(ctx)
    assert p.returncode != 0
    last = [l for l in p.err.splitlines() if l.startswith("vessel")]
    assert len(last) == 1, p.err
    assert f"Dockerfile:{line}:" in last[0] and what in last[0], p.err


def test_failing_step_shows_output_and_leaves_nothing(vb, tmp_path):
    ctx = context(tmp_path, "FROM busybox\nRUN echo before-fail && exit 5\n")
    p = vb.build(ctx, "-q")
    assert p.returncode != 0
    assert "before-fail" in p.err and "exit code: 5" in p.err
    assert p.out == ""


def test_context_as_tar_on_stdin(vb, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in [("Dockerfile", b"FROM busybox\nCOPY f /f\n"), ("f", b"from tar\n")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    p = vb("build", "-t", "fromtar", "-", input=buf.getvalue(), check=True)
    assert run_cat(vb, "fromtar", "/f") == (0, "from tar\n")


def test_source_date_epoch_gives_the_same_digest(vb, tmp_path):
    ctx = context(tmp_path, "FROM busybox\nCOPY f /f\nRUN echo x > /y\nENV A=1\n", {"f": "f"})
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    a = vb.build(ctx, "--no-cache", "-q", env=env, check=True).out
    time.sleep(1.1)
    b = vb.build(ctx, "--no-cache", "-q", env=env, check=True).out
    assert a == b and a.startswith("sha256:")
    c = vb.build(ctx, "--no-cache", "-q", check=True).out
    assert c != a


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_run_leaves_nothing(vb, tmp_path, sig):
    marker = f"sleep {900 + int(sig)}"
    ctx = context(tmp_path, f"FROM busybox\nRUN echo started && {marker}\n")
    proc = subprocess.Popen([vb.bin, "build", "--progress", "plain", str(ctx)], env=vb.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    seen = b""
    while b"\nstarted\n" not in seen and time.monotonic() < deadline:
        seen += os.read(proc.stderr.fileno(), 4096)
    assert b"\nstarted\n" in seen
    proc.send_signal(sig)
    proc.wait(timeout=30)
    assert proc.returncode != 0
    if sig == signal.SIGKILL:
        # The step's processes die with the build (the init's parent-death
        # signal)...
        deadline = time.monotonic() + 10
        while subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 0:
            assert time.monotonic() < deadline, f"'{marker}' outlived the killed build"
            time.sleep(0.1)
        # ...and the next build reaps its mount, scratch dir and runtime state.
        ok = context(tmp_path, "FROM busybox\nRUN true\n", name="ok")
        vb.build(ok, check=True)
    else:
        err = proc.stderr.read().decode()
        assert "Dockerfile:2:" in err and "exit code: 137" in err
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout
    assert left == "", f"step processes left: {left}"


def test_interrupt_between_steps_cleans_up(vb, tmp_path):
    """SIGINT at any point (here: soon after start, wherever the build is)
    ends the build with an error and leaves nothing."""
    ctx = context(tmp_path, "FROM busybox\n" + "RUN true\n" * 6)
    for delay in (0.05, 0.2, 0.4):
        proc = subprocess.Popen([vb.bin, "build", "--no-cache", "--progress", "plain", str(ctx)],
                                env=vb.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        assert vb.leftovers() == ([], [], []), f"after SIGINT at {delay}s"



def test_run_mounts_cache_secret_tmpfs_bind(vb, tmp_path):
    secret = tmp_path / "token"
    secret.write_text("s3cr3t-value")
    df = """\
FROM busybox
RUN --mount=type=cache,target=/cache echo x >> /cache/count && wc -l < /cache/count > /seen
RUN --mount=type=secret,id=tok cat /run/secrets/tok > /dev/null && \\
    test "$(cat /run/secrets/tok)" = s3cr3t-value
RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && mount | grep -q ' /scratch '
RUN --mount=type=bind,source=data,target=/in cp /in/f /copied && ! touch /in/g
"""
    ctx = context(tmp_path, df, {"data/f": "bound\n"})
    args = ["--secret", f"id=tok,src={secret}", "-t", "mnt"]
    vb.build(ctx, *args, check=True)
    assert run_cat(vb, "mnt", "/seen", "/copied") == (0, "1\nbound\n")
    # The cache mount persists across builds (here with --no-cache).
    vb.build(ctx, *args, "--no-cache", "-t", "mnt2", check=True)
    assert run_cat(vb, "mnt2", "/seen") == (0, "2\n")
    # Neither the secret nor the mount points land in a layer.
    save = tmp_path / "mnt.tar"
    vb("save", "-o", str(save), "mnt2", check=True)
    with tarfile.open(save) as outer:
        for m in outer.getmembers():
            if not m.isfile():
                continue
            data = outer.extractfile(m).read()
            try:
                inner = tarfile.open(fileobj=io.BytesIO(data))
            except tarfile.TarError:
                continue
            for e in inner.getmembers():
                assert not e.name.lstrip("./").startswith(("run/secrets", "cache", "scratch", "in")), e.name
                if e.isfile():
                    assert b"s3cr3t-value" not in inner.extractfile(e).read()
    assert vb("run", "--rm", "mnt2", "ls", "/run/secrets/tok").returncode != 0
    # A required secret that was not given: one error line.
    ctx2 = context(tmp_path, "FROM busybox\nRUN --mount=type=secret,id=nope,required cat /x\n",
                   name="c2")
    p = vb.build(ctx2)
    assert p.returncode != 0 and "Dockerfile:2:" in p.err and "nope" in p.err



def test_identical_empty_layers_stack(vb, tmp_path):
    """Two steps with identical (empty) layers: the image has the same layer
    twice, which overlayfs refuses as a lower dir twice (ELOOP) unless the
    mount stacks it once."""
    run = "RUN --mount=type=tmpfs,target=/t true\n"
    ctx = context(tmp_path, "FROM busybox\n" + run + run.replace("true", "echo") + "RUN true\n")
    vb.build(ctx, "-t", "dup", check=True)
    cfg = json.loads(vb("image", "inspect", "dup", check=True).out)[0]
    layers = cfg["RootFS"]["Layers"]
    assert layers[-2] == layers[-3]
    assert vb("run", "--rm", "dup", "true").returncode == 0



@pytest.fixture
def http_server(tmp_path):
    """A static HTTP server on 127.0.0.1 (a free port) serving tmp_path/www."""
    import http.server
    import threading
    www = tmp_path / "www"
    www.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(www), **kw)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield www, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_add_url_with_checksum(vb, tmp_path, http_server):
    import hashlib
    www, base = http_server
    data = b"payload from http\n"
    (www / "file.txt").write_bytes(data)
    good = "sha256:" + hashlib.sha256(data).hexdigest()
    ctx = context(tmp_path, f"FROM busybox\nADD --checksum={good} {base}/file.txt /dl/\n"
                            f"ADD {base}/file.txt /named\n")
    vb.build(ctx, "-t", "url", check=True)
    p = vb("run", "--rm", "url", "sh", "-c", "cat /dl/file.txt /named; stat -c %a /named")
    assert p.out == "payload from http\npayload from http\n600\n", p.err
    bad = "sha256:" + "0" * 64
    ctx2 = context(tmp_path, f"FROM busybox\nADD --checksum={bad} {base}/file.txt /x\n", name="c2")
    p = vb.build(ctx2)
    assert p.returncode != 0 and "Dockerfile:2:" in p.err and "checksum mismatch" in p.err
    ctx3 = context(tmp_path, f"FROM busybox\nADD {base}/missing /x\n", name="c3")
    p = vb.build(ctx3)
    assert p.returncode != 0 and "Dockerfile:2:" in p.err and "404" in p.err, p.err



def test_progress_tty_and_plain(vb, tmp_path):
    ctx = context(tmp_path, "FROM busybox\nENV A=1\nRUN echo out-of-run\n")
    vb.build(ctx, check=True)
    p = vb.build(ctx, "--progress", "tty", "--no-cache", check=True)
    # One line per step, finished in place with its time; RUN output on its own line.
    assert "\r\033[K" in p.err and "[2/3] ENV A=1" in p.err
    assert "\nout-of-run\n" in p.err
    p = vb.build(ctx, "--progress", "tty", check=True)
    lines = [l for l in p.err.split("\n") if "ENV A=1" in l]
    assert len(lines) == 1 and "CACHED" in lines[0]
    p = vb.build(ctx, "--progress", "plain", check=True)
    assert "\033" not in p.err and "#2 CACHED" in p.err
    p = vb.build(ctx, "-q", check=True)
    assert p.err == "" and p.out.startswith("sha256:")
    p = vb.build(ctx, "--progress", "fancy")
    assert p.returncode != 0 and "--progress" in p.err


# --------------------------------------------------------------------------
# A Debian base made once with mmdebstrap (scripts/mk-debian-image.sh),
# cached outside the clone: a C program compiled in one stage, only the
# binary copied into a busybox stage.

REPO = Path(__file__).resolve().parents[2]

C_FILES = {
    "src/main.c": '#include <stdio.h>\n#include "greet.h"\n'
                  'int main(void) { printf("%s %d\\n", greet(), answer()); return 0; }\n',
    "src/greet.c": '#include "greet.h"\nconst char *greet(void) { return "hello from gcc"; }\n',
    "src/answer.c": '#include "greet.h"\nint answer(void) { return 6 * 7; }\n',
    "src/greet.h": "const char *greet(void);\nint answer(void);\n",
}

GCC_DOCKERFILE = """\
FROM debian-gcc AS build
WORKDIR /src
COPY src/ ./
RUN gcc -O2 -static -o /hello main.c greet.c answer.c
FROM busybox
COPY --from=build /hello /usr/local/bin/hello
CMD ["hello"]
"""


@pytest.fixture(scope="session")
def debian_tar():
    p = subprocess.run(["sh", str(REPO / "scripts" / "mk-debian-image.sh")],
                       capture_output=True, text=True, timeout=1800)
    if p.returncode == 2:
        pytest.skip(p.stderr.strip() or "mk-debian-image.sh could not make the image")
    if p.returncode != 0:
        pytest.fail(f"mk-debian-image.sh failed: {p.stderr}")
    return p.stdout.strip()


def test_gcc_multistage_on_debian(vb, tmp_path, debian_tar):
    vb("import", debian_tar, "debian-gcc", check=True)
    ctx = context(tmp_path, GCC_DOCKERFILE, C_FILES)
    cold = vb.build(ctx, "-t", "hello:1", check=True)
    p = vb("run", "--rm", "hello:1")
    assert p.out == "hello from gcc 42\n", p.err
    # The final image is busybox plus one layer holding only the binary.
    hist = vb("history", "-q", "hello:1", check=True)
    cfg = json.loads(vb("image", "inspect", "hello:1", check=True).out)[0]
    bb = json.loads(vb("image", "inspect", "busybox", check=True).out)[0]
    assert len(cfg["RootFS"]["Layers"]) == len(bb["RootFS"]["Layers"]) + 1
    assert vb("run", "--rm", "hello:1", "ls", "/src").returncode != 0
    warm = vb.build(ctx, "-t", "hello:1", check=True)
    assert warm.out == cold.out and warm.err.count("CACHED") == 5
    (tmp_path / "ctx" / "src" / "answer.c").write_text(
        '#include "greet.h"\nint answer(void) { return 7; }\n')
    vb.build(ctx, "-t", "hello:2", check=True)
    assert vb("run", "--rm", "hello:2").out == "hello from gcc 7\n"


# --------------------------------------------------------------------------
# --output, --platform, --pull, parallel stages, COPY --link


OUT_DF = "FROM busybox\nRUN echo built > /built && mkdir -m 0750 /d && chown 7:8 /d\n"


def loads_and_runs(vessel_bin, tmp_path, archive, name):
    """A fresh data root loads the archive; the image runs with the file."""
    other = Builder(vessel_bin, tmp_path / name)
    with open(archive, "rb") as f:
        p = other("load", input=f.read())
    assert p.returncode == 0, p.err
    return other, p.out


@pytest.mark.parametrize("kind", ["oci", "docker"])
def test_output_archive(vb, vessel_bin, tmp_path, kind):
    ctx = context(tmp_path, OUT_DF)
    dest = tmp_path / f"out-{kind}.tar"
    p = vb.build(ctx, "-t", "out:1", "--output", f"type={kind},dest={dest}", check=True)
    image_id = p.out.strip()
    with tarfile.open(dest) as t:
        names = t.getnames()
        if kind == "oci":
            assert "oci-layout" in names and "index.json" in names
            index = json.load(t.extractfile("index.json"))
            assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] \
                == "out:1", index
        else:
            manifest = json.load(t.extractfile("manifest.json"))
            assert manifest[0]["RepoTags"] == ["out:1"], manifest
            assert manifest[0]["Config"].startswith(image_id.split(":")[1])
    (tmp_path / "fresh").mkdir()
    other, out = loads_and_runs(vessel_bin, tmp_path, dest, "fresh")
    q = other("run", "--rm", "out:1", "cat", "/built")
    assert (q.returncode, q.out) == (0, "built\n"), q.err
    # dest=-: the archive on stdout, the id on stderr.
    p = vb.build(ctx, "-q", "--output", f"type={kind},dest=-", check=True)
    with tarfile.open(fileobj=io.BytesIO(p.stdout)) as t:
        assert ("index.json" if kind == "oci" else "manifest.json") in t.getnames()
    assert image_id in p.err


def test_output_local_and_bad_values(vb, tmp_path):
    ctx = context(tmp_path, OUT_DF)
    dest = tmp_path / "tree"
    vb.build(ctx, "-o", f"type=local,dest={dest}", check=True)
    assert (dest / "built").read_text() == "built\n"
    st = os.lstat(dest / "d")
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o750, 7, 8)
    assert os.path.islink(dest / "bin" / "sh") or (dest / "bin" / "sh").exists()
    for bad, what in [("type=tar,dest=x", "type oci, docker or local"),
                      ("type=oci", "type=...,dest=..."),
                      ("type=local,dest=-", "needs a directory")]:
        p = vb.build(ctx, "--output", bad)
        assert p.returncode == 125 and what in p.err, p.err
        assert len(p.err.strip().splitlines()) <= 2, p.err


def host_platform():
    m = os.uname().machine
    return "linux/" + {"x86_64": "amd64", "aarch64": "arm64"}.get(m, m)


def test_platform_host_only_and_platform_args(vb, tmp_path):
    host = host_platform()
    other = "linux/s390x" if host != "linux/s390x" else "linux/amd64"
    df = ("ARG TARGETARCH\n"
          "FROM --platform=$BUILDPLATFORM busybox AS b\n"
          "ARG TARGETPLATFORM\nARG TARGETOS\nARG TARGETARCH\nARG BUILDPLATFORM\n"
          "RUN echo $TARGETPLATFORM $TARGETOS $TARGETARCH $BUILDPLATFORM > /p\n"
          "RUN echo \"[$TARGETVARIANT]\" >> /p\n")
    ctx = context(tmp_path, df)
    p = vb.build(ctx, "--platform", host, "-t", "plat", check=True)
    rc, out = run_cat(vb, "plat", "/p")
    arch = host.split("/")[1]
    assert (rc, out) == (0, f"{host} linux {arch} {host}\n[]\n")
    # Without ARG in the stage they are not in scope (as BuildKit).
    ctx2 = context(tmp_path, "FROM busybox\nRUN echo \"[$TARGETARCH]\" > /p\n", name="c2")
    vb.build(ctx2, "-t", "plat2", check=True)
    assert run_cat(vb, "plat2", "/p") == (0, "[]\n")
    p = vb.build(ctx, "--platform", other)
    assert p.returncode == 125, p.err
    assert f"invalid value '{other}' for --platform" in p.err and host in p.err, p.err
    ctx3 = context(tmp_path, f"FROM --platform={other} busybox\n", name="c3")
    p = vb.build(ctx3)
    assert p.returncode != 0
    assert p.err.strip().splitlines()[-1] == (
        f"vessel: Dockerfile:1: FROM --platform={other}: vessel builds "
                             f"only for this host's platform, {host} (no emulation), "
                             f"not {other}"), p.err


@pytest.fixture
def registry(tmp_path):
    from test_registry import Registry
    r = Registry(tmp_path, "registry")
    yield r
    r.stop()


def test_pull_policies_for_base_images(vb, tmp_path, registry):
    ref = f"{registry.host}/base/box:1"
    vb("pull", "busybox", check=True)
    vb("run", "--name", "mk", "busybox", "sh", "-c", "echo from-registry > /origin", check=True)
    vb("commit", "mk", ref, check=True)
    vb("rm", "mk", check=True)
    vb("push", ref, check=True)
    vb("rmi", ref, check=True)
    df = f"FROM {ref}\nRUN cat /origin > /seen\n"
    ctx = context(tmp_path, df)
    # never: the store lacks it, nothing is pulled.
    p = vb.build(ctx, "--pull=never")
    assert p.returncode != 0 and f"FROM {ref}" in p.err and "not found" in p.err, p.err
    assert vb("image", "inspect", ref).returncode != 0
    # missing (the default): pulled through the registry layer.
    p = vb.build(ctx, "-t", "pulled", check=True)
    assert "Unable to find image" in p.err, p.err
    assert run_cat(vb, "pulled", "/seen") == (0, "from-registry\n")
    # A newer image under the same name: missing keeps the local one,
    # a bare --pull (always) fetches it.
    vb("run", "--name", "mk2", ref, "sh", "-c", "echo newer > /origin", check=True)
    vb("commit", "mk2", f"{registry.host}/base/box:2", check=True)
    vb("rm", "mk2", check=True)
    vb("tag", f"{registry.host}/base/box:2", ref, check=True)
    vb("push", ref, check=True)
    vb("rmi", f"{registry.host}/base/box:2", check=True)
    vb("tag", "pulled", ref, check=True)  # the local name points elsewhere
    p = vb.build(ctx, "--pull", "-t", "always", check=True)
    assert run_cat(vb, "always", "/seen") == (0, "newer\n"), p.err
    # COPY --from an image the store lacks pulls it too.
    vb("rmi", "-f", ref, check=True)
    ctx2 = context(tmp_path, f"FROM busybox\nCOPY --from={ref} /origin /o\n", name="c2")
    p = vb.build(ctx2, "-t", "copied", check=True)
    assert run_cat(vb, "copied", "/o") == (0, "newer\n"), p.err
    p = vb.build(ctx, "--pull=sometimes")
    assert p.returncode == 125 and "invalid value 'sometimes' for --pull" in p.err, p.err


def layer_files(vb, image, index):
    """The paths in layer `index` of image (from a docker-archive save)."""
    p = vb("save", image)
    assert p.returncode == 0, p.err
    with tarfile.open(fileobj=io.BytesIO(p.stdout)) as t:
        manifest = json.load(t.extractfile("manifest.json"))
        layer = t.extractfile(manifest[0]["Layers"][index]).read()
    with tarfile.open(fileobj=io.BytesIO(layer)) as lt:
        return {m.name.rstrip("/"): m for m in lt.getmembers()}


def test_copy_link_makes_an_independent_layer(vb, tmp_path):
    # /etc/app is a symlink in the parent: COPY --link (onto an empty root,
    # as BuildKit) does not look at it; the layer holds only what it copied.
    df = ("FROM busybox\n"
          "RUN mkdir /real && ln -s /real /etc/app\n"
          "COPY --link --chown=nobody conf.txt /etc/app/conf.txt\n"
          "COPY conf.txt /plain/conf.txt\n")
    ctx = context(tmp_path, df, {"conf.txt": "conf\n"})
    vb.build(ctx, "-t", "linked", check=True)
    files = layer_files(vb, "linked", -2)
    assert set(files) == {"etc", "etc/app", "etc/app/conf.txt"}, sorted(files)
    assert files["etc/app"].isdir() and files["etc/app/conf.txt"].isfile()
    nobody = files["etc/app/conf.txt"]
    assert (nobody.uid, nobody.gid) == (65534, 65534)
    plain = layer_files(vb, "linked", -1)
    assert "plain/conf.txt" in plain
    # Cached the second time.
    p = vb.build(ctx, check=True)
    assert p.err.count("CACHED") == 3, p.err


PARALLEL = """\
FROM busybox AS a
RUN sleep 2; echo a > /a
FROM busybox AS b
RUN sleep 2; echo b > /b
FROM busybox
COPY --from=a /a /a
COPY --from=b /b /b
RUN cat /a /b
"""


def test_independent_stages_build_in_parallel(vb, tmp_path):
    if os.cpu_count() < 2:
        pytest.skip("one CPU: stages are built one at a time")
    ctx = context(tmp_path, PARALLEL)
    t0 = time.monotonic()
    p = vb.build(ctx, "-t", "par", check=True)
    took = time.monotonic() - t0
    assert took < 3.6, f"two 2 s stages took {took:.1f}s: not in parallel\n{p.err}"
    assert run_cat(vb, "par", "/a", "/b") == (0, "a\nb\n")
    # Readable: every step's start and end line is whole, numbers distinct.
    starts = [l for l in p.err.splitlines() if "] RUN sleep 2" in l]
    assert sorted(starts) == ["#2 [a 2/2] RUN sleep 2; echo a > /a",
                              "#4 [b 2/2] RUN sleep 2; echo b > /b"], p.err
    assert "#2 DONE" in p.err and "#4 DONE" in p.err, p.err
    # RUN output of stages built side by side: whole lines, "#N line".
    df = PARALLEL.replace("sleep 2; echo a", "echo out-a; sleep 1; printf tail-a; echo a") \
                 .replace("sleep 2; echo b", "echo out-b; sleep 1; echo b")
    p = vb.build(context(tmp_path, df, name="out"), check=True)
    lines = p.err.splitlines()
    assert "#2 out-a" in lines and "#4 out-b" in lines and "#2 tail-a" in lines, p.err
    # A rendezvous through a shared cache mount: each stage waits for the
    # other's file, so this finishes only when both run at once.
    wait = ("RUN --mount=type=cache,target=/c,id=meet sh -c 'touch /c/{me}; i=0; "
            "while [ ! -e /c/{other} ]; do i=$((i+1)); [ $i -lt 100 ] || exit 9; "
            "sleep 0.1; done'\n")
    df = ("FROM busybox AS x\n" + wait.format(me="x", other="y") +
          "FROM busybox AS y\n" + wait.format(me="y", other="x") +
          "FROM busybox\nCOPY --from=x /etc/passwd /x\nCOPY --from=y /etc/passwd /y\n")
    vb.build(context(tmp_path, df, name="meet"), check=True)


def test_parallel_stage_failure_stops_the_other(vb, tmp_path):
    df = ("FROM busybox AS slow\nRUN sleep 30\n"
          "FROM busybox AS bad\nRUN echo broken; exit 4\n"
          "FROM busybox\nCOPY --from=slow /etc/passwd /a\nCOPY --from=bad /etc/passwd /b\n")
    t0 = time.monotonic()
    p = vb.build(context(tmp_path, df))
    assert p.returncode != 0
    assert time.monotonic() - t0 < 20, "the other stage was not stopped"
    assert p.err.strip().splitlines()[-1] == (
        'vessel: Dockerfile:4: process ["/bin/sh","-c","echo broken; exit 4"] did not complete '
        "successfully: exit code: 4"), p.err
    assert "broken" in p.err


@pytest.fixture
def netns():
    import uuid
    ns = f"vs-build-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_run_on_a_bridge_network(vb, tmp_path, netns):
    """Inside a namespace of the test's own (bridges, veths, addresses and
    NAT rules exist only there), as test_network.py does."""
    def v(*args):
        p = subprocess.run(["nsenter", f"--net=/run/netns/{netns}", vb.bin, *args], env=vb.env,
                           capture_output=True, timeout=TIMEOUT)
        p.out, p.err = p.stdout.decode(), p.stderr.decode()
        return p
    assert v("network", "create", "--subnet", "10.77.0.0/24", "bnet").returncode == 0
    df = ("FROM busybox\n"
          "RUN ip -4 -o addr show eth0 | awk '{print $4}' > /addr && "
          "ping -c1 -W5 \"$(ip route | awk '/default/{print $3}')\" > /dev/null && echo ok > /ping\n")
    ctx = context(tmp_path, df)
    for net, subnet in [("bnet", "10.77.0."), ("bridge", "")]:
        p = v("build", "--progress", "plain", "--network", net, "-t", f"on-{net}", str(ctx))
        assert p.returncode == 0, p.err
        addr = vb("run", "--rm", f"on-{net}", "cat", "/addr", "/ping").out.split()
        assert addr[1] == "ok" and addr[0].startswith(subnet) and "/" in addr[0], addr
        # A different network is another cache key: the second build ran.
    # No veth and no lease is left once the steps are done.
    links = subprocess.run(["ip", "-n", netns, "-o", "link"], capture_output=True,
                           text=True).stdout
    import re
    assert re.findall(r"^\d+: (vs[0-9a-f]{12}\d?)[@:]", links, re.M) == [], links
    nets = json.loads((vb.root / "networks" / "networks.json").read_text())["networks"]
    assert all(not n["Endpoints"] for n in nets), nets
    leases = vb.root / "networks" / "leases"
    assert not leases.exists() or list(leases.iterdir()) == [], list(leases.iterdir())
    p = v("build", "--network", "nosuch", str(ctx), "--no-cache")
    assert p.returncode != 0, p.err
    assert p.err.strip() == "vessel: --network: no such network: 'nosuch'", p.err
    assert v("network", "rm", "bnet").returncode == 0


def test_copy_exclude_and_parents(vb, tmp_path):
    df = ("FROM busybox\n"
          "COPY --exclude=*.txt hom* /mydir/\n"
          "COPY --exclude=*.md --exclude=sub/*.log docs /docs\n"
          "COPY --parents a/b/f.c x/y.c /src/\n"
          "RUN cd / && find /mydir /docs /src | sort > /list\n")
    files = {"home.txt": "t", "homer.c": "c", "homedir/inner.txt": "i", "homedir/inner.c": "c",
             "docs/README.md": "r", "docs/guide.html": "g", "docs/sub/a.log": "l",
             "docs/sub/keep.txt": "k", "a/b/f.c": "f", "a/b/other.c": "o", "x/y.c": "y"}
    ctx = context(tmp_path, df, files)
    vb.build(ctx, "-t", "ex", check=True)
    rc, out = run_cat(vb, "ex", "/list")
    assert rc == 0
    # --exclude: a source by its name, a directory's contents by their path
    # below it (homedir/inner.txt is "inner.txt"; docs/sub/a.log "sub/a.log").
    assert out.split() == [
        "/docs", "/docs/guide.html", "/docs/sub", "/docs/sub/keep.txt",
        "/mydir", "/mydir/homer.c", "/mydir/inner.c",
        "/src", "/src/a", "/src/a/b", "/src/a/b/f.c", "/src/x", "/src/x/y.c"], out
    # An excluded file's change is not a cache miss; a copied one's is.
    (ctx / "docs" / "README.md").write_text("changed")
    p = vb.build(ctx, check=True)
    assert p.err.count("CACHED") == 4, p.err
    (ctx / "docs" / "guide.html").write_text("changed")
    p = vb.build(ctx, check=True)
    assert p.err.count("CACHED") == 1, p.err
