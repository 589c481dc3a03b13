"""A hostile Dockerfile or build context against `vessel build` (docs/security.md,
"A build's Dockerfile and context"): the Dockerfile and .dockerignore are read
only inside the context and only as regular files; ADD of a local archive never
opens a FIFO (a tar context on stdin can hold one); RUN --mount=type=bind,rw never writes
into the host's context (BuildKit discards such writes), and binds into a step
are nosuid,nodev. Each test has its own data root under its tmp_path."""

import io
import os
import subprocess
import tarfile

import pytest

from test_build import context, vb  # noqa: F401 (fixture)

HANG = 60  # a build that blocks on a FIFO is killed after this


def test_add_of_a_fifo_in_a_tar_context_is_refused(vb, tmp_path):
    """A context on stdin is a tar the attacker wrote: its FIFO named x.tar
    must not hang ADD."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        df = b"FROM busybox\nADD x.tar /unpacked/\n"
        ti = tarfile.TarInfo("Dockerfile")
        ti.size = len(df)
        t.addfile(ti, io.BytesIO(df))
        fi = tarfile.TarInfo("x.tar")
        fi.type = tarfile.FIFOTYPE
        t.addfile(fi)
    try:
        p = subprocess.run([vb.bin, "build", "--progress", "plain", "-"], env=vb.env,
                           input=buf.getvalue(), capture_output=True, timeout=HANG)
    except subprocess.TimeoutExpired:
        pytest.fail("ADD opened the context's FIFO and hung")
    err = p.stderr.decode()
    assert p.returncode != 0, "ADD read a FIFO as an archive"
    assert "x.tar" in err and "not a regular file" in err, err


def test_add_of_a_fifo_in_the_context_is_refused(vb, tmp_path):
    ctx = context(tmp_path, "FROM busybox\nADD x.tar /unpacked/\n")
    os.mkfifo(ctx / "x.tar")
    try:
        p = subprocess.run([vb.bin, "build", "--progress", "plain", str(ctx)], env=vb.env,
                           capture_output=True, text=True, timeout=HANG)
    except subprocess.TimeoutExpired:
        pytest.fail("ADD opened a FIFO in the context and hung")
    assert p.returncode != 0
    assert "not a regular file" in p.stderr, p.stderr


@pytest.mark.parametrize("how", ["relative", "absolute"])
def test_dockerfile_symlink_out_of_the_context_is_not_followed(vb, tmp_path, how):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Dockerfile").write_text("FROM busybox\nLABEL read=outside\n")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    target = "../outside/Dockerfile" if how == "relative" else str(outside / "Dockerfile")
    os.symlink(target, ctx / "Dockerfile")
    p = vb.build(ctx, "-t", "esc:1")
    assert p.returncode != 0, "the Dockerfile was read from outside the context"
    assert "Dockerfile" in p.err


def test_dockerfile_symlink_inside_the_context_still_works(vb, tmp_path):
    ctx = tmp_path / "ctx"
    (ctx / "sub").mkdir(parents=True)
    (ctx / "sub" / "Dockerfile.real").write_text("FROM busybox\nLABEL read=inside\n")
    os.symlink("/sub/Dockerfile.real", ctx / "Dockerfile")  # absolute: the context's root
    vb.build(ctx, "-t", "in:1", check=True)
    p = vb("image", "inspect", "in:1", check=True)
    assert '"read": "inside"' in p.out or '"read":"inside"' in p.out


def test_fifo_dockerignore_is_refused(vb, tmp_path):
    ctx = context(tmp_path, "FROM busybox\nCOPY . /c/\n", {"a.txt": "a\n"})
    os.mkfifo(ctx / ".dockerignore")
    try:
        p = subprocess.run([vb.bin, "build", "--progress", "plain", str(ctx)], env=vb.env,
                           capture_output=True, text=True, timeout=HANG)
    except subprocess.TimeoutExpired:
        pytest.fail("reading a FIFO .dockerignore hung")
    assert p.returncode != 0
    assert ".dockerignore" in p.stderr and "FIFO" in p.stderr, p.stderr


def test_dockerignore_symlink_out_of_the_context_is_not_read(vb, tmp_path):
    ctx = context(tmp_path, "FROM busybox\nCOPY . /c/\n", {"a.txt": "a\n"})
    (tmp_path / "ign").write_text("a.txt\n")
    os.symlink(str(tmp_path / "ign"), ctx / ".dockerignore")
    vb.build(ctx, "-t", "ign:1", check=True)
    p = vb("run", "--rm", "ign:1", "cat", "/c/a.txt")
    assert (p.returncode, p.out) == (0, "a\n"), "the host file outside was read as .dockerignore"


def test_run_bind_mount_rw_never_writes_the_context(vb, tmp_path):
    ctx = context(tmp_path, "FROM busybox\n"
                            "RUN --mount=type=bind,rw,target=/c sh -c '"
                            "echo planted > /c/planted && cp /bin/busybox /c/sh && "
                            "chmod 4755 /c/sh && echo changed > /c/kept.txt && "
                            "cat /c/planted /c/kept.txt'\n"
                            "RUN --mount=type=bind,source=kept.txt,target=/k.txt,rw sh -c '"
                            "echo file-changed > /k.txt && cat /k.txt'\n"
                            "RUN --mount=type=bind,source=sub,target=/s,rw sh -c '"
                            "echo sub-planted > /s/new && cat /s/new /s/x'\n"
                            "RUN --mount=type=bind,target=/c cat /c/kept.txt\n",
                  {"kept.txt": "original\n", "sub/x": "sub-x\n"})
    before = sorted(os.listdir(ctx))
    p = vb.build(ctx, check=True)
    for seen in ("planted", "changed", "file-changed", "sub-planted", "sub-x"):
        assert seen in p.err, p.err  # each step saw its writes
    assert sorted(os.listdir(ctx)) == before, "the step wrote into the host's context"
    assert (ctx / "kept.txt").read_text() == "original\n"
    assert sorted(os.listdir(ctx / "sub")) == ["x"]
    assert "original" in p.err  # the next step sees the context as it is


@pytest.mark.parametrize("spec", ["type=bind,target=/c", "type=bind,rw,target=/c",
                                  "type=cache,target=/c"])
def test_run_mounts_are_nosuid_nodev(vb, tmp_path, spec):
    ctx = context(tmp_path, f"FROM busybox\nRUN --mount={spec} "
                            "sh -c 'grep \" /c \" /proc/self/mountinfo'\n")
    p = vb.build(ctx, check=True)
    line = [l for l in p.err.splitlines() if " /c " in l]
    assert line, p.err
    opts = line[-1].split(" /c ")[1].split()[0].split(",")
    assert "nosuid" in opts and "nodev" in opts, line[-1]


def test_output_local_drops_setuid_and_setgid_bits(vb, tmp_path):
    ctx = context(tmp_path, "FROM busybox\n"
                            "RUN cp /bin/busybox /suid && chmod 4755 /suid && "
                            "cp /bin/busybox /sgid && chmod 2711 /sgid && "
                            "mkdir /shared && chmod 2775 /shared\n")
    dest = tmp_path / "out"
    vb.build(ctx, "-o", f"type=local,dest={dest}", check=True)
    assert os.lstat(dest / "suid").st_mode & 0o7777 == 0o755
    assert os.lstat(dest / "sgid").st_mode & 0o7777 == 0o711
    assert os.lstat(dest / "shared").st_mode & 0o7777 == 0o2775  # a directory's is kept
