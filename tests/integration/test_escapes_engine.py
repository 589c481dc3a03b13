"""Escape classes of issue 9 that the engine and the runtime close at one
shared mechanism each:

- uid/gid 4294967295, (uid_t)-1, is "unchanged" to setresuid/setresgid and
  would keep root: refused wherever an id enters (image User, -u, exec -u,
  names in the container's /etc/passwd and /etc/group, config.json).
- files the container controls (FIFOs, device nodes, files swapped under a
  reader) are never opened by the engine except as checked regular files:
  commit, cp and the user lookup of run/exec.
- user-given output paths (save -o, --pid-file) are never replaced by a
  rename when they are a device, a FIFO or a symlink."""

import os
import shutil
import stat
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

import helpers
from test_engine import engine, engine_data  # noqa: F401 (fixtures)

BAD = 4294967295


def _refused(res, *mentions):
    """A clean refusal by the engine: non-zero exit, one error line naming
    every mention, and the container's command never ran."""
    assert res.returncode != 0, f"expected a failure: {res.stdout!r} {res.stderr!r}"
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("vessel"), res.stderr
    for m in mentions:
        assert str(m) in res.stderr, res.stderr
    assert "RAN" not in res.stdout, res.stdout


# --------------------------------------------------------------------------
# uid/gid -1


@pytest.mark.parametrize("user", [str(BAD), f"0:{BAD}", f"1000:{BAD}", f"{BAD}:0"])
def test_run_user_minus_one_is_refused(engine, user):
    res = engine("run", "--rm", "-u", user, "busybox", "sh", "-c", "echo RAN; id")
    _refused(res, BAD)
    assert engine.records() == []


def test_image_user_minus_one_is_refused(engine):
    engine.ok("create", "--name", "ubase", "busybox")
    engine.ok("commit", "--change", f"USER {BAD}", "ubase", "uidimg:1")
    engine.ok("rm", "ubase")
    res = engine("run", "--rm", "uidimg:1", "sh", "-c", "echo RAN; id")
    _refused(res, BAD)
    engine.ok("rmi", "uidimg:1")


def _image_with_db(engine, tag, script):
    engine.ok("run", "--name", "mkdb", "busybox", "sh", "-c", script)
    engine.ok("commit", "mkdb", tag)
    engine.ok("rm", "mkdb")


def test_names_resolving_to_minus_one_are_refused(engine):
    _image_with_db(engine, "uiddb:1",
                   f"echo evil:x:{BAD}:0::/:/bin/sh >> /etc/passwd; "
                   f"echo evilg:x:0:{BAD}::/:/bin/sh >> /etc/passwd; "
                   f"echo member:x:1234:1234::/:/bin/sh >> /etc/passwd; "
                   f"echo badgrp:x:{BAD}:member >> /etc/group")
    try:
        for user in ("evil", "evilg", "member", f"0:badgrp"):
            res = engine("run", "--rm", "-u", user, "uiddb:1", "sh", "-c", "echo RAN; id")
            _refused(res, BAD)
        # exec -u: the same resolution, in a running container
        engine.ok("run", "-d", "--name", "ux", "uiddb:1", "sleep", "1000")
        engine.wait_state("ux", lambda i: i["State"]["Running"], what="running")
        for user in (str(BAD), f"0:{BAD}", "evil", "member"):
            res = engine("exec", "-u", user, "ux", "sh", "-c", "echo RAN; id")
            _refused(res, BAD)
        assert engine.ok("exec", "-u", "4321", "ux", "id", "-u") == "4321\n"
        engine.ok("rm", "-f", "ux")
    finally:
        engine("rmi", "uiddb:1")


@pytest.mark.parametrize("field", ["uid", "gid", "additionalGids"])
def test_runtime_config_user_minus_one_is_refused(vessel, bundle, field):
    b = bundle("sh", "-c", "echo RAN; id")
    b.process["user"][field] = [BAD] if field == "additionalGids" else BAD
    res = vessel.run(b)
    helpers.assert_error(res, f"process.user.{field}", BAD)
    assert "RAN" not in res.stdout


def test_runtime_exec_user_minus_one_is_refused(vessel, bundle, cid):
    vessel.run_detached(bundle("sleep", "1000"), cid)
    for args in (["--user", str(BAD)], ["--user", f"0:{BAD}"], ["--additional-gids", str(BAD)]):
        res = vessel("exec", *args, cid, "sh", "-c", "echo RAN; id")
        helpers.assert_error(res, BAD)
        assert "RAN" not in res.stdout


# --------------------------------------------------------------------------
# files the container controls

# Swaps DIR/i/a (a regular file) with DIR/i/b (a device node or a FIFO) for
# every i < N, round and round, as fast as it can: whatever reads a by the
# name it stat'ed may open b instead. busybox has no renameat2. The xattrs
# on each a (best effort) make commit spend longer between its stat and its
# open of the file, so the race is won within a few commits.
XCHG_C = textwrap.dedent("""\
    #define _GNU_SOURCE
    #include <fcntl.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <sys/xattr.h>
    #include <unistd.h>
    int main(int argc, char **argv)
    {
            int n = atoi(argv[2]);
            char a[4096], b[4096], ready[4096], key[32], value[256];
            memset(value, 'v', sizeof(value));
            for (int i = 0; i < n; i++) {
                    snprintf(a, sizeof(a), "%s/%d/a", argv[1], i);
                    for (int k = 0; k < 32; k++) {
                            snprintf(key, sizeof(key), "user.k%02d", k);
                            lsetxattr(a, key, value, sizeof(value), 0);
                    }
            }
            snprintf(ready, sizeof(ready), "%s/ready", argv[1]);
            close(open(ready, O_WRONLY | O_CREAT, 0644));
            for (;;)
                    for (int i = 0; i < n; i++) {
                            snprintf(a, sizeof(a), "%s/%d/a", argv[1], i);
                            snprintf(b, sizeof(b), "%s/%d/b", argv[1], i);
                            renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
                    }
    }
""")

PAIRS = 40
FILE_DATA = b"A" * 4096


@pytest.fixture
def xchg(tmp_path):
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler (cc) to build the static RENAME_EXCHANGE helper")
    d = tmp_path / "xchg-bin"
    d.mkdir()
    (d / "xchg.c").write_text(XCHG_C)
    res = subprocess.run([cc, "-static", "-O2", "-o", str(d / "xchg"), str(d / "xchg.c")],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot build a static helper (cc -static): {res.stderr.strip()}")
    return d


def _layer_members(engine, tmp_path, image):
    """The entries of the top layer of image (from `vessel save`)."""
    import json
    import tarfile
    out = tmp_path / f"{image.replace(':', '_')}.tar"
    engine.ok("save", "-o", out, image)
    with tarfile.open(out) as t:
        manifest = json.load(t.extractfile("manifest.json"))
        layer = manifest[0]["Layers"][-1]
        data = t.extractfile(layer).read()
    import io
    lt = tarfile.open(fileobj=io.BytesIO(data))
    return {m.name: (m, lt.extractfile(m).read() if m.isfile() else None)
            for m in lt.getmembers()}


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_commit_reads_only_checked_regular_files(engine, xchg, tmp_path, kind):
    """A running container swaps files for device nodes (1:5, zeros) or
    FIFOs while `commit --pause=false` packs them. Each entry is packed
    from the one inode commit opened: commit never hangs on a FIFO, never
    puts a device's data in the layer (a device node is a header), and
    never fails because an entry changed between its header and its data.
    Before the fix each of the three happened within a few commits."""
    make = "mknod /race/$i/b c 1 5" if kind == "device" else "mkfifo /race/$i/b"
    setup = (f"for i in $(seq 0 {PAIRS - 1}); do mkdir -p /race/$i; "
             f"head -c {len(FILE_DATA)} /dev/zero | tr '\\0' A > /race/$i/a; {make}; done; "
             f"exec /x/xchg /race {PAIRS}")
    engine.ok("run", "-d", "--name", "race", "-v", f"{xchg}:/x:ro", "busybox", "sh", "-c", setup)
    engine.wait_state("race", lambda i: i["State"]["Running"], what="running")
    helpers.wait_for(lambda: engine("exec", "race", "test", "-e", "/race/ready").returncode == 0,
                     20, what="the exchange loop")
    for n in range(12):
        tag = f"racec:{n}"
        try:
            res = engine("commit", "--pause=false", "race", tag, timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail("commit hung on a file the container swapped for a FIFO")
        assert res.returncode == 0, res.stderr
        for name, (m, data) in _layer_members(engine, tmp_path, tag).items():
            if not name.startswith("race/") or name.endswith("ready") or m.isdir():
                continue
            if m.isfile():
                assert data == FILE_DATA, f"{name}: {len(data)} bytes not the file's own: " \
                    f"{data[:16]!r}"
            elif m.ischr():
                assert (m.devmajor, m.devminor) == (1, 5) and m.size == 0, name
            else:
                assert m.isfifo() and kind == "fifo", name
        engine.ok("rmi", tag)
    engine.ok("rm", "-f", "race")


def test_commit_packs_device_nodes_and_fifos_as_metadata(engine, tmp_path):
    engine.ok("run", "--name", "devs", "busybox", "sh", "-c",
              "mkdir /d; mknod /d/zero c 1 5; mknod /d/blk b 7 0; mkfifo /d/fifo; "
              "echo x > /d/file")
    try:
        res = engine("commit", "devs", "devsimg:1", timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("commit hung on a FIFO")
    assert res.returncode == 0, res.stderr
    members = _layer_members(engine, tmp_path, "devsimg:1")
    z, _ = members["d/zero"]
    assert z.ischr() and (z.devmajor, z.devminor) == (1, 5) and z.size == 0
    b, _ = members["d/blk"]
    assert b.isblk() and (b.devmajor, b.devminor) == (7, 0) and b.size == 0
    assert members["d/fifo"][0].isfifo()
    assert members["d/file"][1] == b"x\n"
    engine.ok("rm", "devs")
    engine.ok("rmi", "devsimg:1")


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_exec_user_lookup_never_opens_a_special_passwd(engine, kind):
    """/etc/passwd (or /etc/group) planted as a FIFO would hang exec -u
    NAME; as a device node it would be opened on the host. Both are
    refused with the file's type named."""
    make = "mkfifo {f}" if kind == "fifo" else "mknod {f} c 1 5"
    for db in ("/etc/passwd", "/etc/group"):
        name = f"pw{kind}{db[5]}"
        engine.ok("run", "-d", "--name", name, "busybox", "sh", "-c",
                  f"rm {db}; {make.format(f=db)}; touch /ready; exec sleep 1000")
        engine.wait_state(name, lambda i: i["State"]["Running"], what="running")
        helpers.wait_for(lambda: engine("exec", name, "test", "-e", "/ready").returncode == 0,
                         20, what="the planted file")
        for user in ("nobody", "1000", "0:0"):
            try:
                res = engine("exec", "-u", user, name, "sh", "-c", "echo RAN", timeout=20)
            except subprocess.TimeoutExpired:
                pytest.fail(f"exec -u {user} hung on a {kind} at {db}")
            _refused(res, db, "FIFO" if kind == "fifo" else "character device")
        engine.ok("rm", "-f", name)


def test_cp_out_gives_files_to_the_caller_and_no_devices(engine, tmp_path):
    engine.ok("run", "--name", "cpdev", "busybox", "sh", "-c",
              "mkdir -p /src/sub; echo data > /src/sub/f; chown -R 1234:1234 /src; "
              "chmod 4755 /src/sub/f; mknod /src/zero c 1 5; mknod /src/sub/blk b 7 0; "
              "mkfifo /src/fifo; chown 1234:1234 /src/zero /src/fifo")
    out = tmp_path / "out"
    res = engine("cp", "cpdev:/src", out)
    assert res.returncode == 0, res.stderr
    assert "/src/zero" in res.stderr and "/src/sub/blk" in res.stderr
    assert not os.path.lexists(out / "zero") and not os.path.lexists(out / "sub" / "blk")
    assert stat.S_ISFIFO(os.lstat(out / "fifo").st_mode)
    assert (out / "sub" / "f").read_text() == "data\n"
    for p in (out, out / "sub", out / "sub" / "f", out / "fifo"):
        st = os.lstat(p)
        assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid()), p
    assert stat.S_IMODE(os.lstat(out / "sub" / "f").st_mode) == 0o755
    # a device node asked for by name: refused, nothing created
    res = engine("cp", "cpdev:/src/zero", tmp_path / "zero")
    _refused(res, "character device")
    assert not os.path.lexists(tmp_path / "zero")
    engine.ok("rm", "cpdev")


# --------------------------------------------------------------------------
# user-given output paths


def _read_fifo_in_background(path):
    """Opens the FIFO for reading in a thread; returns a function that
    returns everything read once the writer closed it."""
    import threading
    got = {}

    def reader():
        with open(path, "rb") as f:
            got["data"] = f.read()
    t = threading.Thread(target=reader, daemon=True)
    t.start()

    def result():
        t.join(30)
        assert not t.is_alive(), f"nothing closed the FIFO {path}"
        return got["data"]
    return result


def _is_tar(data):
    import io
    import tarfile
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return "manifest.json" in t.getnames()


def _no_temp_files(d):
    left = [p.name for p in Path(d).iterdir() if ".tmp." in p.name]
    assert not left, f"temp files left: {left}"


def test_save_writes_devices_and_fifos_in_place(engine, tmp_path):
    d = tmp_path / "outs"
    d.mkdir()
    null = d / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    engine.ok("save", "-o", null, "busybox")
    st = os.lstat(null)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3), \
        "save -o replaced a character device"
    # a symlink to the device: both stay what they are
    link = d / "link-to-null"
    link.symlink_to(null)
    engine.ok("save", "-o", link, "busybox")
    assert link.is_symlink() and os.readlink(link) == str(null)
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    # a FIFO: written through, to its reader
    fifo = d / "fifo"
    os.mkfifo(fifo)
    result = _read_fifo_in_background(fifo)
    engine.ok("save", "-o", fifo, "busybox")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "save -o replaced a FIFO"
    assert _is_tar(result())
    _no_temp_files(d)


def test_save_replaces_regular_files_atomically_and_follows_links(engine, tmp_path):
    d = tmp_path / "outs"
    d.mkdir()
    target = d / "archive.tar"
    target.write_text("old")
    ino = os.lstat(target).st_ino
    link = d / "link.tar"
    link.symlink_to(target)
    engine.ok("save", "-o", link, "busybox")
    assert link.is_symlink(), "save -o replaced the symlink instead of writing through it"
    assert os.lstat(target).st_ino != ino, "not replaced by a rename"
    assert _is_tar(target.read_bytes())
    dangling = d / "dangling"
    dangling.symlink_to(d / "created.tar")
    engine.ok("save", "-o", dangling, "busybox")
    assert dangling.is_symlink() and _is_tar((d / "created.tar").read_bytes())
    res = engine("save", "-o", d, "busybox")
    _refused(res, "directory")
    _no_temp_files(d)


def test_pid_file_never_replaces_a_device_or_fifo(vessel, bundle, cid, tmp_path):
    d = tmp_path / "pids"
    d.mkdir()
    null = d / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    vessel.create_ok(bundle("true"), cid, "--pid-file", null)
    st = os.lstat(null)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    fifo = d / "fifo"
    os.mkfifo(fifo)
    result = _read_fifo_in_background(fifo)
    c2 = cid + "-2"
    vessel.create_ok(bundle("true"), c2, "--pid-file", fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert int(result()) == vessel.state(c2)["pid"]
    _no_temp_files(d)


def test_cp_out_never_replaces_a_host_device_or_fifo(engine, tmp_path):
    engine.ok("run", "--name", "cpo", "busybox", "sh", "-c",
              "mkdir /src; echo secret > /src/null; echo data > /f")
    d = tmp_path / "host"
    d.mkdir()
    null = d / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    before = os.lstat(null)
    # named by the caller: written in place, as save -o does
    engine.ok("cp", "cpo:/f", null)
    st = os.lstat(null)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert (st.st_ino, st.st_mode) == (before.st_ino, before.st_mode)
    fifo = d / "fifo"
    os.mkfifo(fifo)
    result = _read_fifo_in_background(fifo)
    engine.ok("cp", "cpo:/f", fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and result() == b"data\n"
    # named by the container, inside a directory: refused, never removed
    res = engine("cp", "cpo:/src/.", d)
    _refused(res, "character device")
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    engine.ok("rm", "cpo")
