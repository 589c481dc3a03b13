"""/dev inside the container: default device nodes, linux.devices entries,
the /dev/fd and std* links, and host devices not leaking in."""


import pytest

from helpers import assert_error, mount_at, parse_mountinfo

DEFAULT_DEVICES = {
    # path: (major, minor)
    "/dev/null": (1, 3),
    "/dev/zero": (1, 5),
    "/dev/full": (1, 7),
    "/dev/random": (1, 8),
    "/dev/urandom": (1, 9),
    "/dev/tty": (5, 0),
}


def stat_lines(vessel, b, paths, fmt="%n|%F|%t|%T|%a|%u|%g"):
    b.sh("stat -c '" + fmt + "' " + " ".join(paths))
    out = vessel.run_ok(b)
    result = {}
    for line in out.splitlines():
        fields = line.split("|")
        result[fields[0]] = fields[1:]
    return result


def test_default_device_nodes(vessel, bundle):
    b = bundle()
    st = stat_lines(vessel, b, list(DEFAULT_DEVICES))
    for path, (major, minor) in DEFAULT_DEVICES.items():
        assert path in st, f"{path} missing"
        ftype, hmaj, hmin, mode, _, _ = st[path]
        assert ftype == "character special file", f"{path}: {ftype}"
        assert (int(hmaj, 16), int(hmin, 16)) == (major, minor), f"{path}: {hmaj}:{hmin} (hex)"
        assert mode == "666", f"{path} mode {mode}"


def test_ptmx_pts_shm(vessel, bundle):
    b = bundle(
        "sh",
        "-c",
        "stat -L -c '%F %t %T' /dev/ptmx; stat -c %F /dev/pts /dev/shm; ls -l /dev/ptmx; cat /proc/self/mountinfo",
    )
    out = vessel.run_ok(b).splitlines()
    assert out[0] == "character special file 5 2", out[0]
    assert out[1] == "directory" and out[2] == "directory"
    # /dev/ptmx is the container's own devpts instance's ptmx (a symlink to
    # pts/ptmx or a bind of it), never the host's /dev/ptmx device node
    # shared with the host's devpts.
    ptmx = out[3]
    mounts = parse_mountinfo("\n".join(out[4:]))
    assert ptmx.startswith("l") and ptmx.endswith("pts/ptmx") or mount_at(mounts, "/dev/ptmx"), ptmx
    assert mount_at(mounts, "/dev/pts").fstype == "devpts"
    assert mount_at(mounts, "/dev/shm").fstype == "tmpfs"


def test_devices_usable_despite_deny_all_cgroup(vessel, bundle):
    # The default config denies every device in the cgroup: the runtime
    # must still allow the standard ones.
    b = bundle(
        "sh",
        "-c",
        "echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; "
        "head -c 8 /dev/urandom | wc -c; head -c 8 /dev/random | wc -c; "
        "echo x > /dev/full; echo full-rc=$?",
    )
    assert b.config["linux"]["resources"]["devices"][0]["allow"] is False
    res = vessel.run(b)
    assert res.returncode == 0, res.describe()
    out = res.stdout.split()
    assert out[:4] == ["null-ok", "4", "8", "8"], res.describe()
    assert "full-rc=1" in out
    assert "No space left on device" in res.stderr


def test_dev_symlinks(vessel, bundle):
    b = bundle("sh", "-c", "for l in fd stdin stdout stderr; do readlink /dev/$l; done")
    out = vessel.run_ok(b).splitlines()
    assert out == ["/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1", "/proc/self/fd/2"]


def test_dev_is_private_tmpfs_without_host_devices(vessel, bundle):
    import os

    b = bundle("sh", "-c", "ls /dev; echo ---; cat /proc/self/mountinfo")
    listing, mi = vessel.run_ok(b).split("---\n")
    names = set(listing.split())
    assert mount_at(mi, "/dev").fstype == "tmpfs"
    host_only = {n for n in os.listdir("/dev") if n.startswith(("vd", "sd", "nvme", "loop", "kvm", "mem", "kmsg"))}
    assert not (names & host_only), f"host devices visible inside: {names & host_only}"


def test_linux_devices_entry(vessel, bundle):
    b = bundle()
    b.linux["devices"] = [
        {"path": "/dev/mydev", "type": "c", "major": 1, "minor": 7, "fileMode": 0o640, "uid": 1000, "gid": 1001},
        {"path": "/dev/sub/dir/myblk", "type": "b", "major": 7, "minor": 200, "fileMode": 0o600, "uid": 0, "gid": 0},
    ]
    st = stat_lines(vessel, b, ["/dev/mydev", "/dev/sub/dir/myblk"])
    ftype, hmaj, hmin, mode, uid, gid = st["/dev/mydev"]
    assert ftype == "character special file"
    assert (int(hmaj, 16), int(hmin, 16)) == (1, 7)
    assert (mode, uid, gid) == ("640", "1000", "1001")
    ftype, hmaj, hmin, mode, uid, gid = st["/dev/sub/dir/myblk"]
    assert ftype == "block special file"
    assert (int(hmaj, 16), int(hmin, 16)) == (7, 200)
    assert (mode, uid, gid) == ("600", "0", "0")


def test_linux_devices_file_mode_with_type_bits(vessel, bundle):
    """podman --privileged passes fileMode as stat(2) reports it, with the
    file-type bits (0o20600 for a character device); runc accepts that."""
    b = bundle()
    b.linux["devices"] = [
        {"path": "/dev/mychr", "type": "c", "major": 1, "minor": 7, "fileMode": 0o20620},
        {"path": "/dev/myblk", "type": "b", "major": 7, "minor": 200, "fileMode": 0o60640},
    ]
    st = stat_lines(vessel, b, ["/dev/mychr", "/dev/myblk"])
    assert st["/dev/mychr"][0] == "character special file" and st["/dev/mychr"][3] == "620"
    assert st["/dev/myblk"][0] == "block special file" and st["/dev/myblk"][3] == "640"


@pytest.mark.parametrize("mode,mentions", [
    (0o60600, ["linux.devices[0].fileMode", "contradict", "'c'"]),  # block bits on a char device
    (0o1000600, ["linux.devices[0].fileMode", "not a file mode"]),
])
def test_linux_devices_bad_file_mode(vessel, bundle, cid, mode, mentions):
    b = bundle("true")
    b.linux["devices"] = [{"path": "/dev/bad", "type": "c", "major": 1, "minor": 7, "fileMode": mode}]
    assert_error(vessel.create(b, cid), *mentions, status=1)
    assert vessel.entries() == []


def test_linux_devices_entry_is_usable(vessel, bundle):
    b = bundle("sh", "-c", "head -c 3 /dev/myzero | wc -c")
    b.linux["devices"] = [{"path": "/dev/myzero", "type": "c", "major": 1, "minor": 5, "fileMode": 0o666}]
    b.linux.setdefault("resources", {}).setdefault("devices", []).append(
        {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"}
    )
    assert vessel.run_ok(b).strip() == "3"


def test_linux_devices_without_cgroup_rule_is_denied(vessel, bundle):
    # /dev/loop-control (10:237) is not among the default allowed devices:
    # with the default deny-all rule, opening it must fail (the node exists).
    b = bundle("sh", "-c", "ls /dev/lc && cat /dev/lc; echo rc=$?")
    b.linux["devices"] = [{"path": "/dev/lc", "type": "c", "major": 10, "minor": 237, "fileMode": 0o666}]
    res = vessel.run(b)
    assert res.returncode == 0, res.describe()
    assert "/dev/lc" in res.stdout and "rc=1" in res.stdout, res.describe()
    assert "Operation not permitted" in res.stderr, res.describe()
