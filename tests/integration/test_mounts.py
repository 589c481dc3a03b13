"""Root filesystem (readonly, pivot_root / --no-pivot, rootfsPropagation) and
config mounts (bind/rbind options, propagation, proc, sysfs, tmpfs, devpts,
mqueue, cgroup, missing targets, file binds)."""

import os

import pytest

from helpers import mount_at, parse_mountinfo

MOUNTINFO = "cat /proc/self/mountinfo"


def inside_mountinfo(vessel, b, extra_script=""):
    b.sh(f"{extra_script}{MOUNTINFO}" if not extra_script else f"{MOUNTINFO}; echo ---; {extra_script}")
    out = vessel.run_ok(b)
    mi, _, rest = out.partition("---\n")
    return parse_mountinfo(mi), rest


# --------------------------------------------------------------------------
# root


def test_root_readonly(vessel, bundle):
    b = bundle()
    b.config["root"]["readonly"] = True
    mounts, rest = inside_mountinfo(vessel, b, "touch /newfile 2>&1; echo rc=$?; touch /tmp/x 2>&1; echo rc=$?")
    root = mount_at(mounts, "/")
    assert root is not None and "ro" in root.options, root
    lines = rest.splitlines()
    assert "Read-only file system" in rest, rest
    assert "rc=0" not in lines, f"a write to the read-only root succeeded: {rest!r}"
    assert not (b.rootfs / "newfile").exists()
    # The runtime's own mounts still happened.
    assert mount_at(mounts, "/proc") is not None
    assert mount_at(mounts, "/dev") is not None


def test_root_writable(vessel, bundle):
    b = bundle("sh", "-c", "echo data > /newfile && cat /newfile")
    b.config["root"]["readonly"] = False
    assert vessel.run_ok(b).strip() == "data"
    assert (b.rootfs / "newfile").read_text() == "data\n"


@pytest.mark.parametrize("pivot", ["pivot_root", "no-pivot"])
def test_host_root_not_reachable(vessel, bundle, pivot):
    b = bundle()
    b.sh(
        "ls -a /; echo ---; cat /proc/self/mountinfo; echo ---; "
        "ls /work 2>&1; echo ---; stat -c %i / /.. /../..; echo ---; ls /proc/1/root/"
    )
    extra = ("--no-pivot",) if pivot == "no-pivot" else ()
    out = vessel.run_ok(b, None, *extra)
    listing, mi, work, inodes, proc1root = out.split("---\n")
    inside = {n for n in listing.split() if n not in (".", "..")}
    assert inside == set(os.listdir(b.rootfs)), (
        f"/ inside does not show exactly the bundle's rootfs: {sorted(inside)}"
    )
    assert "No such file" in work, "the host's /work is visible inside"
    ino = inodes.split()
    assert ino[0] == ino[1] == ino[2], f"/.. escapes the root: {ino}"
    assert set(proc1root.split()) == inside
    for e in parse_mountinfo(mi):
        assert not e.mountpoint.startswith("/mnt/sandboxing"), f"host mount visible: {e.line}"
        assert "pytest" not in e.mountpoint, f"host path visible as mountpoint: {e.line}"
        assert "oldroot" not in e.mountpoint and "pivot" not in e.mountpoint, e.line


@pytest.mark.parametrize(
    "prop,host_shared,expect",
    [
        ("slave", True, "slave"),
        ("rslave", True, "slave"),
        ("private", True, "private"),
        ("rprivate", True, "private"),
        ("shared", False, "shared"),
        ("rshared", False, "shared"),
    ],
)
def test_rootfs_propagation(vessel, bundle, host_mounts, prop, host_shared, expect):
    b = bundle()
    if host_shared:
        # As on systemd hosts: the bundle lives on a shared mount.
        host_mounts.bind(b.path, b.path, make="shared")
    b.linux["rootfsPropagation"] = prop
    mounts, _ = inside_mountinfo(vessel, b)
    root = mount_at(mounts, "/")
    assert root is not None
    if expect == "slave":
        assert root.slave and not root.shared, f"/ is not a slave mount: {root.line}"
    elif expect == "shared":
        assert root.shared, f"/ is not a shared mount: {root.line}"
    else:
        assert root.private, f"/ is not private: {root.line}"


def test_rootfs_slave_receives_host_mounts(vessel, bundle, host_mounts, cid, tmp_path):
    """With rootfsPropagation slave, a mount made on the host under the
    bundle after start shows up inside (and nothing flows back)."""
    b = bundle()
    (b.rootfs / "mnt" / "late").mkdir(parents=True)
    host_mounts.bind(b.path, b.path, make="shared")
    b.linux["rootfsPropagation"] = "rslave"
    b.sh("echo ready; while [ ! -e /mnt/late/marker ]; do sleep 0.05; done; echo seen")
    res = vessel.run_detached(b, cid)
    from helpers import wait_for_text

    wait_for_text(res.out_path, "ready")
    src = tmp_path / "late-src"
    src.mkdir()
    (src / "marker").write_text("x")
    host_mounts.bind(src, b.rootfs / "mnt" / "late")
    wait_for_text(res.out_path, "seen")


# --------------------------------------------------------------------------
# bind mounts


@pytest.fixture
def src_dir(tmp_path):
    d = tmp_path / "bind-src"
    d.mkdir()
    (d / "data.txt").write_text("host data\n")
    return d


@pytest.mark.parametrize("opt", ["ro", "nosuid", "nodev", "noexec", "noatime", "relatime"])
@pytest.mark.parametrize("kind", ["bind", "rbind"])
def test_bind_mount_options_visible(vessel, bundle, src_dir, opt, kind):
    b = bundle()
    b.add_mount("/mnt/data", "bind", src_dir, [kind, opt])
    mounts, rest = inside_mountinfo(vessel, b, "cat /mnt/data/data.txt")
    m = mount_at(mounts, "/mnt/data")
    assert m is not None, "bind mount missing"
    assert opt in m.options, f"{opt} not in the mount options: {m.line}"
    assert rest == "host data\n"


def test_bind_mount_strictatime(vessel, bundle, src_dir):
    b = bundle()
    b.add_mount("/mnt/data", "bind", src_dir, ["bind", "strictatime"])
    mounts, _ = inside_mountinfo(vessel, b)
    m = mount_at(mounts, "/mnt/data")
    assert "relatime" not in m.options and "noatime" not in m.options, m.line


def test_bind_mount_rw_option_after_ro_clears_it(vessel, bundle, src_dir):
    b = bundle()
    b.add_mount("/mnt/data", "bind", src_dir, ["bind", "ro", "rw"])
    mounts, _ = inside_mountinfo(vessel, b)
    assert "rw" in mount_at(mounts, "/mnt/data").options


def test_bind_mount_ro_enforced(vessel, bundle, src_dir):
    b = bundle("sh", "-c", "touch /mnt/data/new 2>&1; echo rc=$?; cat /mnt/data/data.txt")
    b.add_mount("/mnt/data", "bind", src_dir, ["rbind", "ro"])
    out = vessel.run_ok(b)
    assert "Read-only file system" in out and "rc=0" not in out, out
    assert not (src_dir / "new").exists()
    assert "host data" in out


def test_bind_mount_rw_writes_reach_host(vessel, bundle, src_dir):
    b = bundle("sh", "-c", "echo from-container > /mnt/data/new")
    b.add_mount("/mnt/data", "bind", src_dir, ["rbind", "rw"])
    vessel.run_ok(b)
    assert (src_dir / "new").read_text() == "from-container\n"


def test_bind_mount_noexec_enforced(vessel, bundle, src_dir):
    import shutil

    shutil.copy("/bin/busybox", src_dir / "busybox")
    (src_dir / "busybox").chmod(0o755)
    b = bundle("sh", "-c", "/mnt/data/busybox true 2>&1; echo rc=$?; /mnt/exec/busybox echo exec-ok")
    b.add_mount("/mnt/data", "bind", src_dir, ["bind", "noexec"])
    b.add_mount("/mnt/exec", "bind", src_dir, ["bind"])
    out = vessel.run_ok(b)
    assert "Permission denied" in out and "rc=0" not in out, out
    assert "exec-ok" in out


@pytest.mark.parametrize("mtype", ["bind", "none", None])
def test_bind_mount_type_variants(vessel, bundle, src_dir, mtype):
    b = bundle("cat", "/mnt/data/data.txt")
    b.add_mount("/mnt/data", mtype, src_dir, ["rbind"])
    assert vessel.run_ok(b) == "host data\n"


def test_rbind_includes_submounts_bind_does_not(vessel, bundle, src_dir, host_mounts, tmp_path):
    sub = src_dir / "sub"
    sub.mkdir()
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "inner.txt").write_text("inner\n")
    host_mounts.bind(inner, sub)
    b = bundle("sh", "-c", "ls /mnt/r/sub; echo ---; ls /mnt/b/sub")
    b.add_mount("/mnt/r", "bind", src_dir, ["rbind"])
    b.add_mount("/mnt/b", "bind", src_dir, ["bind"])
    r, b_out = vessel.run_ok(b).split("---\n")
    assert r.split() == ["inner.txt"]
    assert b_out.split() == []


@pytest.mark.parametrize(
    "prop,host_shared,check",
    [
        ("rprivate", False, "private"),
        ("private", False, "private"),
        ("rshared", False, "shared"),
        ("shared", False, "shared"),
        ("rslave", True, "slave"),
        ("slave", True, "slave"),
        ("runbindable", False, "unbindable"),
    ],
)
def test_bind_mount_propagation(vessel, bundle, src_dir, host_mounts, prop, host_shared, check):
    if host_shared:
        host_mounts.bind(src_dir, src_dir, make="shared")
    b = bundle()
    b.add_mount("/mnt/data", "bind", src_dir, ["rbind", prop])
    mounts, _ = inside_mountinfo(vessel, b)
    m = mount_at(mounts, "/mnt/data")
    assert m is not None
    if check == "shared":
        assert m.shared, m.line
    elif check == "slave":
        assert m.slave and not m.shared, m.line
    elif check == "unbindable":
        assert "unbindable" in m.optional, m.line
    else:
        assert m.private, m.line


def test_missing_nested_target_created(vessel, bundle, src_dir):
    b = bundle("sh", "-c", f"{MOUNTINFO}; echo ---; cat /a/b/c/data.txt; ls -d /x/y/z")
    b.add_mount("/a/b/c", "bind", src_dir, ["rbind"])
    b.add_mount("/x/y/z", "tmpfs", "tmpfs", ["size=64k"])
    assert not (b.rootfs / "a").exists()
    out = vessel.run_ok(b)
    mi, rest = out.split("---\n")
    assert mount_at(mi, "/a/b/c") is not None
    assert mount_at(mi, "/x/y/z").fstype == "tmpfs"
    assert rest.splitlines() == ["host data", "/x/y/z"]


def test_bind_file_onto_missing_path(vessel, bundle, tmp_path):
    f = tmp_path / "host-file.conf"
    f.write_text("file content\n")
    b = bundle("sh", "-c", "cat /etc/vessel/app/file.conf; stat -c %F /etc/vessel/app/file.conf")
    b.add_mount("/etc/vessel/app/file.conf", "bind", f, ["bind", "ro"])
    out = vessel.run_ok(b).splitlines()
    assert out == ["file content", "regular file"]


def test_bind_file_onto_existing_file(vessel, bundle, tmp_path):
    f = tmp_path / "passwd"
    f.write_text("root:x:0:0:replaced:/root:/bin/sh\n")
    b = bundle("cat", "/etc/passwd")
    b.add_mount("/etc/passwd", "bind", f, ["bind", "ro"])
    assert vessel.run_ok(b) == "root:x:0:0:replaced:/root:/bin/sh\n"


def test_mount_over_symlinked_directory_in_rootfs(vessel, bundle, src_dir):
    b = bundle("cat", "/link/data.txt")
    (b.rootfs / "real").mkdir()
    os.symlink("real", b.rootfs / "link")
    b.add_mount("/link", "bind", src_dir, ["rbind"])
    assert vessel.run_ok(b) == "host data\n"


# --------------------------------------------------------------------------
# filesystem mounts


def test_tmpfs_size_and_mode(vessel, bundle):
    b = bundle()
    b.add_mount("/mnt/t", "tmpfs", "tmpfs", ["nosuid", "size=1m", "mode=0750"])
    mounts, rest = inside_mountinfo(vessel, b, "stat -c %a /mnt/t")
    m = mount_at(mounts, "/mnt/t")
    assert m.fstype == "tmpfs"
    assert "size=1024k" in m.super_options, m.line
    assert "mode=750" in m.super_options, m.line
    assert "nosuid" in m.options
    assert rest.strip() == "750"


def test_default_filesystems(vessel, bundle):
    b = bundle()
    mounts, rest = inside_mountinfo(vessel, b, "cat /proc/self/comm; ls /sys/kernel >/dev/null && echo sys-ok")
    expect = {
        "/proc": "proc",
        "/dev": "tmpfs",
        "/dev/pts": "devpts",
        "/dev/shm": "tmpfs",
        "/dev/mqueue": "mqueue",
        "/sys": "sysfs",
    }
    for path, fstype in expect.items():
        m = mount_at(mounts, path)
        assert m is not None, f"{path} not mounted"
        assert m.fstype == fstype, m.line
    assert "ro" in mount_at(mounts, "/sys").options
    shm = mount_at(mounts, "/dev/shm")
    assert {"nosuid", "nodev", "noexec"} <= shm.options, shm.line
    assert "size=65536k" in shm.super_options, shm.line
    pts = mount_at(mounts, "/dev/pts")
    assert "ptmxmode=666" in pts.super_options and "mode=620" in pts.super_options, pts.line
    assert rest.split() == ["cat", "sys-ok"]


def test_proc_mount_at_second_location(vessel, bundle):
    b = bundle("sh", "-c", "cat /proc2/1/comm; grep -c . /proc2/self/status >/dev/null && echo ok")
    b.add_mount("/proc2", "proc", "proc")
    assert vessel.run_ok(b).split() == ["sh", "ok"]


def test_cgroup_mount(vessel, bundle):
    b = bundle()
    b.set_namespace("cgroup")
    mounts, rest = inside_mountinfo(
        vessel, b, "ls /sys/fs/cgroup | wc -l; mkdir /sys/fs/cgroup/vessel-x 2>&1; echo rc=$?"
    )
    cg = [e for e in mounts if e.mountpoint == "/sys/fs/cgroup" or e.mountpoint.startswith("/sys/fs/cgroup/")]
    fs = [e for e in cg if e.fstype in ("cgroup", "cgroup2")]
    assert fs, f"no cgroup filesystem mounted under /sys/fs/cgroup: {[e.line for e in cg]}"
    for e in fs:
        assert "ro" in e.options, f"cgroupfs must be read-only inside: {e.line}"
    lines = rest.splitlines()
    assert int(lines[0]) > 0
    assert "rc=0" not in lines, rest


def test_sysfs_read_only(vessel, bundle):
    b = bundle("sh", "-c", "echo 1 > /sys/kernel/profiling 2>&1; echo rc=$?; mkdir /sys/vessel 2>&1; echo rc=$?")
    out = vessel.run_ok(b)
    assert "rc=0" not in out.splitlines(), out


def test_mqueue_usable(vessel, bundle):
    b = bundle("sh", "-c", "ls -a /dev/mqueue; stat -c %a /dev/mqueue")
    out = vessel.run_ok(b).split()
    assert "." in out


def test_mounts_do_not_leak_to_host(vessel, bundle, src_dir, tmp_path):
    b = bundle("true")
    b.add_mount("/mnt/data", "bind", src_dir, ["rbind"])
    b.add_mount("/mnt/t", "tmpfs", "tmpfs")
    before = [l for l in open("/proc/self/mountinfo") if str(tmp_path) in l]
    vessel.run_ok(b)
    after = [l for l in open("/proc/self/mountinfo") if str(tmp_path) in l]
    assert after == before
    # mount points created for the container are plain directories on the host
    assert not os.path.ismount(b.rootfs / "proc")
