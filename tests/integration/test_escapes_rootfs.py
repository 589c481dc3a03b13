"""Escapes through the container's filesystem setup (issue 9, findings 1
and 5).

1. Whatever the runtime creates or mounts inside the container (device
   nodes, /dev links, mount targets and the directories above them, the
   cwd, masks) must land on the filesystem vessel mounted there, whatever
   symlinks the image holds: an image whose /dev (or any path above a mount
   target) is a symlink into a volume must not get entries created in, or
   mounts made on, that volume. vessel refuses such a container with one
   clear error line.
5. Mounts over kernel interfaces: only procfs on /proc, only sysfs on /sys,
   nothing inside procfs but the files lxcfs emulates (runc's rule); and the
   container's cgroup hierarchies matched by exact controller names.

Every test here failed before the fix unless its docstring says it guards a
case that already held."""

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

import helpers
from helpers import assert_error, assert_one_error_line, mount_at, new_id
from test_engine import engine, engine_data  # noqa: F401  (fixtures)

DEV_MOUNTS = ("/dev", "/dev/pts", "/dev/shm", "/dev/mqueue")


def _volume(tmp_path, name="vol"):
    vol = tmp_path / name
    vol.mkdir()
    return vol


def _bind(b, dest, src, first=False, extra=()):
    m = {"destination": dest, "type": "bind", "source": str(src), "options": ["rbind", *extra]}
    mounts = b.config.setdefault("mounts", [])
    if first:
        mounts.insert(0, m)
    else:
        mounts.append(m)
    return m


def _drop_dev_mounts(b):
    for d in DEV_MOUNTS:
        b.remove_mount(d)


def _symlink_dir(b, path, target):
    """Replaces rootfs/path by a symlink to target (an in-container path)."""
    p = b.rootfs / path.lstrip("/")
    if p.is_symlink() or p.is_file():
        p.unlink()
    elif p.is_dir():
        shutil.rmtree(p)
    p.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, p)


def _refused(res, vol, *mentions):
    assert sorted(os.listdir(vol)) == [], f"vessel wrote into the volume: {sorted(os.listdir(vol))}"
    assert_error(res, *mentions)
    assert_one_error_line(res)


# --------------------------------------------------------------------------
# 1. device setup and mount targets through symlinks into volumes


@pytest.mark.parametrize("volume_first", [False, True], ids=["volume-last", "volume-first"])
def test_dev_symlink_into_bind_volume(vessel, bundle, tmp_path, volume_first):
    """The audit's case on the runtime: /dev -> /data, a bind mount at
    /data. Before: null, zero, ..., fd, ptmx links created in the volume."""
    vol = _volume(tmp_path)
    b = bundle("sh", "-c", "ls -la /dev/ /data")
    _symlink_dir(b, "/dev", "/data")
    (b.rootfs / "data").mkdir()
    _bind(b, "/data", vol, first=volume_first)
    res = vessel.run(b)
    _refused(res, vol, "symlink")


def test_dev_symlink_into_volume_without_dev_tmpfs(vessel, bundle, tmp_path):
    """No /dev mount in the config: devices go to the image's /dev, which
    here is a symlink into a volume. Before: mknod in the volume."""
    vol = _volume(tmp_path)
    b = bundle("true")
    _drop_dev_mounts(b)
    _symlink_dir(b, "/dev", "/data")
    (b.rootfs / "data").mkdir()
    _bind(b, "/data", vol, first=True)
    res = vessel.run(b)
    _refused(res, vol, "/dev")


def test_mount_target_parent_symlink_into_volume(vessel, bundle, tmp_path):
    """A mount whose destination's parent is a symlink into a volume.
    Before: mkdir of the mount point in the volume."""
    vol = _volume(tmp_path)
    b = bundle("true")
    _symlink_dir(b, "/srv", "/data")
    _bind(b, "/data", vol, first=True)
    b.add_mount("/srv/cache", "tmpfs", "tmpfs", ["size=64k"])
    res = vessel.run(b)
    _refused(res, vol, "/srv/cache")


def test_mount_target_parent_symlink_into_sysfs(vessel, bundle):
    """A mount destination whose parent is a symlink into /sys: the mount
    would land on a sysfs directory (/sys/kernel/debug). Before: it did."""
    b = bundle("true")
    _symlink_dir(b, "/srv", "/sys/kernel")
    b.add_mount("/srv/debug", "tmpfs", "tmpfs", ["size=64k"])
    res = vessel.run(b)
    assert_error(res, "/srv/debug", "/sys")
    assert_one_error_line(res)


def test_file_mount_target_symlink_into_volume(vessel, bundle, tmp_path):
    """A file bind whose destination's parent leads into a volume. Before:
    an empty file was created in the volume as the mount target."""
    vol = _volume(tmp_path)
    conf = tmp_path / "app.conf"
    conf.write_text("conf\n")
    b = bundle("true")
    _symlink_dir(b, "/etc/app", "/data")
    _bind(b, "/data", vol, first=True)
    _bind(b, "/etc/app/app.conf", conf)
    res = vessel.run(b)
    _refused(res, vol, "/etc/app")


def test_cwd_symlink_into_volume(vessel, bundle, tmp_path):
    """process.cwd through a symlink into a volume. Before: the missing
    directory was created in the volume."""
    vol = _volume(tmp_path)
    b = bundle("true")
    _symlink_dir(b, "/work", "/data")
    _bind(b, "/data", vol, first=True)
    b.process["cwd"] = "/work/app"
    res = vessel.run(b)
    _refused(res, vol, "/work")


@pytest.mark.parametrize("dest,link,mount", [
    ("/srv", "/data", ("tmpfs", "tmpfs", ["size=64k"])),
    ("/dev/shm", "/data/shm", None),
    ("/dev/pts", "/data/pts", None),
    ("/dev/mqueue", "/data/mqueue", None),
])
def test_mount_target_symlink_onto_volume_refused(vessel, bundle, tmp_path, dest, link, mount):
    """A mount target that a symlink in the image sends onto a directory of
    a volume (for the /dev targets: in a config without a /dev tmpfs, where
    /dev is the image's). Mount propagation never reaches the host (the
    container's mounts are slaves), but the mount lands on the volume rather
    than where it was asked. Before: the container ran with the tmpfs,
    devpts or mqueue mounted on the volume's directory."""
    vol = _volume(tmp_path)
    if link != "/data":
        os.mkdir(vol / Path(link).name)
    before = sorted(os.listdir(vol))
    b = bundle("true")
    if dest.startswith("/dev/"):
        b.remove_mount("/dev")
        (b.rootfs / "dev").mkdir(exist_ok=True)
    _symlink_dir(b, dest, link)
    _bind(b, "/data", vol, first=True)
    if mount:
        b.add_mount(dest, *mount)
    res = vessel.run(b)
    assert sorted(os.listdir(vol)) == before
    assert_error(res, dest, "symlink")
    assert_one_error_line(res)


@pytest.mark.parametrize("link", ["/data/console", "/proc/sys/kernel/hostname"],
                         ids=["volume", "procfs"])
def test_console_symlink_out_of_dev(vessel, bundle, tmp_path, link):
    """/dev/console, a symlink in the image's /dev (a config without a /dev
    tmpfs) to a file of a volume, or to a procfs file (the console bind had
    no procfs-target check). Before: the pty was bound onto that file and
    the container created."""
    vol = _volume(tmp_path)
    (vol / "console").write_text("volume file\n")
    b = bundle("true")
    b.process["terminal"] = True
    b.remove_mount("/dev")
    (b.rootfs / "dev").mkdir(exist_ok=True)
    _symlink_dir(b, "/dev/console", link)
    _bind(b, "/data", vol, first=True)
    server = helpers.ConsoleServer(tmp_path / "console.sock")
    cid = new_id()
    try:
        res = vessel.create(b, cid, "--console-socket", tmp_path / "console.sock")
    finally:
        server.close()
    assert (vol / "console").read_text() == "volume file\n"
    assert_error(res, "/dev/console", "symlink")
    assert_one_error_line(res)


def test_masked_path_symlink_into_volume(vessel, bundle, tmp_path):
    """A masked path that a symlink sends into a volume: refused rather
    than masking a file of the volume instead of what was asked. Before:
    the volume's file was masked and the container ran."""
    vol = _volume(tmp_path)
    (vol / "secret").write_text("x\n")
    b = bundle("true")
    _symlink_dir(b, "/etc/priv", "/data")
    _bind(b, "/data", vol, first=True)
    b.linux.setdefault("maskedPaths", []).append("/etc/priv/secret")
    res = vessel.run(b)
    assert_error(res, "maskedpaths", "/etc/priv/secret")
    assert (vol / "secret").read_text() == "x\n"


def test_symlinks_within_the_root_filesystem_still_work(vessel, bundle):
    """Not an escape: a symlink that stays on the same filesystem (/var/run
    -> /run in most images) is followed as runc does."""
    b = bundle("sh", "-c", "cat /run/app/f; ls -d /run/cache")
    (b.rootfs / "run").mkdir(exist_ok=True)
    (b.rootfs / "var").mkdir(exist_ok=True)
    os.symlink("../run", b.rootfs / "var" / "run")
    src = b.path / "src"
    src.mkdir()
    (src / "f").write_text("through the symlink\n")
    _bind(b, "/var/run/app", src)
    b.add_mount("/var/run/cache", "tmpfs", "tmpfs", ["size=64k"])
    assert vessel.run_ok(b).splitlines() == ["through the symlink", "/run/cache"]


def test_bind_mounted_dev_is_left_alone(vessel, bundle, tmp_path):
    """A bind mount at /dev (-v /dev:/dev, here a stand-in directory) is host
    storage: as runc does, vessel creates nothing in it. Before: the fd,
    stdin, stdout, stderr links were created in it and its ptmx was deleted
    and replaced by a symlink (on a real /dev: the host's /dev/ptmx)."""
    hostdev = tmp_path / "hostdev"
    hostdev.mkdir()
    (hostdev / "ptmx").write_text("stand-in for the host's ptmx\n")
    for d in ("pts", "shm", "mqueue"):  # as on a real /dev
        (hostdev / d).mkdir()
    b = bundle("true")
    b.remove_mount("/dev")
    _bind(b, "/dev", hostdev, first=True)
    b.linux["maskedPaths"] = []  # they need a null device the stand-in lacks
    vessel.run_ok(b)
    assert sorted(os.listdir(hostdev)) == ["mqueue", "ptmx", "pts", "shm"], os.listdir(hostdev)
    assert (hostdev / "ptmx").read_text() == "stand-in for the host's ptmx\n"


def test_engine_image_dev_symlink_into_volume(engine, tmp_path):
    """The audit's case on the engine: an image whose /dev -> /data, run
    with -v vol:/data. Before: device nodes and links in the volume."""
    rootfs = tmp_path / "evil-rootfs"
    shutil.copytree("/bin", rootfs / "bin", symlinks=True, ignore=lambda d, n: [
        x for x in n if x not in ("busybox", "sh")])
    if not (rootfs / "bin" / "busybox").exists():
        pytest.skip("/bin/busybox (busybox-static) is missing")
    (rootfs / "data").mkdir()
    os.symlink("/data", rootfs / "dev")
    tar = tmp_path / "evil.tar"
    with tarfile.open(tar, "w") as t:
        t.add(rootfs, arcname=".")
    engine.ok("import", tar, "evil-dev:1")
    vname = new_id("vol")
    try:
        res = engine("run", "--rm", "-v", f"{vname}:/data", "evil-dev:1", "/bin/busybox", "true")
        vol = engine.data_root / "volumes" / vname / "_data"
        assert sorted(os.listdir(vol)) == [], f"vessel wrote into the volume: {os.listdir(vol)}"
        assert res.returncode != 0, res
        lines = [line for line in res.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("vessel"), res.stderr
        assert "symlink" in res.stderr, res.stderr
    finally:
        shutil.rmtree(engine.data_root / "volumes" / vname, ignore_errors=True)
        engine("rmi", "evil-dev:1")


# --------------------------------------------------------------------------
# 5. mounts over kernel interfaces


def test_bind_over_proc_refused(vessel, bundle, tmp_path):
    """-v HOST:/proc replaced procfs silently. Before: it ran."""
    host = tmp_path / "fakeproc"
    host.mkdir()
    (host / "marker").write_text("host\n")
    b = bundle("cat", "/proc/marker")
    _bind(b, "/proc", host)
    res = vessel.run(b)
    assert_error(res, "/proc", "procfs")
    assert_one_error_line(res)


def test_tmpfs_over_proc_refused(vessel, bundle):
    b = bundle("true")
    b.add_mount("/proc", "tmpfs", "tmpfs")
    res = vessel.run(b)
    assert_error(res, "/proc", "procfs")


def test_bind_before_proc_mount_inside_proc_refused(vessel, bundle, tmp_path):
    """A bind inside /proc listed before the proc mount: it is still inside
    /proc (by identity, not by what is mounted yet). Before: accepted."""
    host = tmp_path / "d"
    host.mkdir()
    b = bundle("true")
    (b.rootfs / "proc" / "sys").mkdir(parents=True, exist_ok=True)
    _bind(b, "/proc/sys", host, first=True)
    res = vessel.run(b)
    assert_error(res, "/proc/sys", "inside procfs")


def test_bind_over_proc_through_symlink_refused(vessel, bundle, tmp_path):
    """A destination that a symlink sends onto /proc. Guards a case that
    held before."""
    host = tmp_path / "d"
    host.mkdir()
    b = bundle("true")
    os.symlink("/proc", b.rootfs / "myproc")
    _bind(b, "/myproc", host)
    res = vessel.run(b)
    assert_error(res, "/myproc")


def test_bind_over_sys_refused(vessel, bundle, tmp_path):
    host = tmp_path / "fakesys"
    host.mkdir()
    b = bundle("true")
    b.remove_mount("/sys/fs/cgroup")
    _bind(b, "/sys", host)
    res = vessel.run(b)
    assert_error(res, "/sys", "sysfs")


def test_procfs_bind_on_proc_and_lxcfs_file_allowed(vessel, bundle, tmp_path):
    """runc's rule also allows: a bind of a procfs root on /proc, and binds
    onto the files lxcfs emulates (/proc/uptime...)."""
    fake = tmp_path / "uptime"
    fake.write_text("12345.67 0.00\n")
    b = bundle("sh", "-c", "cat /proc/uptime; test -r /proc/self/status && echo proc-ok")
    b.add_mount("/proc/uptime", "bind", fake, ["bind", "ro"])
    assert vessel.run_ok(b).splitlines() == ["12345.67 0.00", "proc-ok"]
    b2 = bundle("sh", "-c", "test -r /proc/self/status && echo proc-ok")
    b2.remove_mount("/proc")
    _bind(b2, "/proc", "/proc", first=True)
    assert vessel.run_ok(b2).strip() == "proc-ok"


def test_engine_volume_over_proc_refused(engine, tmp_path):
    host = tmp_path / "fakeproc"
    host.mkdir()
    res = engine("run", "--rm", "-v", f"{host}:/proc", "busybox", "true")
    assert res.returncode != 0, res
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("vessel"), res.stderr
    assert "/proc" in res.stderr and "procfs" in res.stderr, res.stderr


def _v1_names(cgroup_text):
    names = set()
    for line in cgroup_text.splitlines():
        _, ctrls, _ = line.split(":", 2)
        names.add(ctrls.replace("name=", "") if ctrls else "unified")
        if "," in ctrls:
            names.update(c.replace("name=", "") for c in ctrls.split(","))
    return names


def test_cgroup_hierarchies_matched_by_exact_controller_names(vessel, bundle, tmp_path):
    """Controllers were matched by strstr on the mount point's name: a
    hierarchy mounted on the host at .../cpusetx was taken for cpuset (and
    'cpu' matched cpuset and cpuacct). The container's /sys/fs/cgroup must
    hold exactly its own hierarchies, each named after its controllers, each
    its own cgroup. The extra host mount is made in a private mount
    namespace that only this vessel run sees."""
    if not os.path.isdir("/sys/fs/cgroup/cpu") or os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        pytest.skip("needs a cgroup v1 cpu hierarchy (this host is pure cgroup v2)")
    decoy = tmp_path / "cpusetx"
    decoy.mkdir()
    b = bundle("sh", "-c", "ls /sys/fs/cgroup; echo ---; cat /proc/self/cgroup; echo ---; "
                           "cat /proc/self/mountinfo")
    b.save()
    cid = new_id()
    vessel.used_ids.add(cid)
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh",
            "/sys/fs/cgroup/cpu", str(decoy), *vessel.argv("run", "--bundle", b.path, cid)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    listing, cgroup, mountinfo = proc.stdout.split("---\n")
    assert set(listing.split()) == _v1_names(cgroup), (listing, cgroup)
    own = {}
    for line in cgroup.splitlines():
        _, ctrls, path = line.split(":", 2)
        own[ctrls.replace("name=", "") if ctrls else "unified"] = path
    for name, path in own.items():
        m = mount_at(mountinfo, f"/sys/fs/cgroup/{name}")
        assert m is not None, f"/sys/fs/cgroup/{name} not mounted:\n{mountinfo}"
        assert m.root == path, f"/sys/fs/cgroup/{name} is {m.root}, not the container's {path}"
