"""run/create flags of Docker parity (issue 17), each checked by its effect
inside the container, kept across a restart, shown in inspect under
Docker's HostConfig name, and refused with one line and exit 125 before
anything exists when its value is bad: --shm-size, --sysctl, --group-add,
--device, --device-cgroup-rule, --oom-score-adj, --oom-kill-disable,
--cpu-period/--cpu-quota, the --device-read/write-bps/iops family.

Device tests use the host's /dev/null, /dev/zero and /dev/full (read only),
nodes the container makes in its own /dev with majors no driver has, and a
loop device the test attaches to a file of its own."""

import os
import re
import stat
from pathlib import Path

import pytest

from helpers import parse_status
from test_cgroups import cg_file, cg_read, controller_on_v1, loop_device  # noqa: F401
from test_engine import engine, engine_data  # noqa: F401 (fixtures)

MiB = 1 << 20


def _bg(engine, *args):
    res = engine("run", "-d", *args)
    assert res.returncode == 0, res.stderr
    cid = res.stdout.strip()
    engine.wait_state(cid, lambda i: i["State"]["Running"], what="running")
    return cid


def _restart(engine, name):
    engine.ok("restart", "-t", "1", name)
    engine.wait_state(name, lambda i: i["State"]["Running"], what="running after restart")


def _refused(engine, args, *needles):
    """args fail with exit 125 and one error line naming each needle; no
    record is left."""
    before = set(engine.records())
    res = engine("run", "--rm", *args, "busybox", "true")
    assert res.returncode == 125, (args, res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, (args, res.stderr)
    for n in needles:
        assert n in lines[0], (args, n, lines[0])
    assert set(engine.records()) == before, f"{args} left a record"


def _can_lower_oom_score_adj():
    eff = int(parse_status(Path("/proc/self/status").read_text())["CapEff"], 16)
    return bool(eff & (1 << 24))  # CAP_SYS_RESOURCE


# --------------------------------------------------------------------------
# --shm-size


def _shm_kib(engine, name):
    out = engine.ok("exec", name, "df", "-k", "/dev/shm").splitlines()[-1].split()
    return int(out[1])


def test_shm_size_default_and_given(engine):
    out = engine.ok("run", "--rm", "busybox", "df", "-k", "/dev/shm")
    assert int(out.splitlines()[-1].split()[1]) == 64 * 1024
    cid = _bg(engine, "--name", "shm", "--shm-size", "96m", "busybox", "sleep", "1000")
    assert _shm_kib(engine, "shm") == 96 * 1024
    mounts = engine.ok("exec", "shm", "cat", "/proc/mounts")
    line = [ln for ln in mounts.splitlines() if " /dev/shm " in ln]
    assert line and {"nosuid", "nodev", "noexec"} <= set(line[0].split()[3].split(",")), line
    assert engine.inspect("shm")["HostConfig"]["ShmSize"] == 96 * MiB
    _restart(engine, "shm")
    assert _shm_kib(engine, "shm") == 96 * 1024
    engine.ok("rm", "-f", cid)


def test_user_mount_at_dev_shm_keeps_its_size(engine):
    # a --tmpfs at /dev/shm replaces the default mount, as in Docker
    out = engine.ok("run", "--rm", "--shm-size", "96m", "--tmpfs", "/dev/shm:size=1m", "busybox",
                    "df", "-k", "/dev/shm")
    assert int(out.splitlines()[-1].split()[1]) == 1024


def test_shm_size_zero_is_the_default(engine):
    out = engine.ok("run", "--rm", "--shm-size", "0", "busybox", "df", "-k", "/dev/shm")
    assert int(out.splitlines()[-1].split()[1]) == 64 * 1024


@pytest.mark.parametrize("value", ["12x", "-1", "1.5q", ""])
def test_shm_size_bad(engine, value):
    _refused(engine, ["--shm-size", value], "--shm-size", "invalid size")


# --------------------------------------------------------------------------
# --sysctl


def test_sysctl_namespaced_keys_apply_inside_only(engine):
    host = {k: Path("/proc/sys", k.replace(".", "/")).read_text()
            for k in ("net.ipv4.ip_forward", "kernel.shmmax", "fs.mqueue.msg_max")}
    want = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "123456", "fs.mqueue.msg_max": "21"}
    args = [a for k, v in want.items() for a in ("--sysctl", f"{k}={v}")]
    _bg(engine, "--name", "sc", *args, "busybox", "sleep", "1000")

    def inside():
        return {k: engine.ok("exec", "sc", "cat", "/proc/sys/" + k.replace(".", "/")).strip()
                for k in want}
    assert inside() == want
    assert engine.inspect("sc")["HostConfig"]["Sysctls"] == want
    _restart(engine, "sc")
    assert inside() == want
    # the host's values are untouched
    for k, v in host.items():
        assert Path("/proc/sys", k.replace(".", "/")).read_text() == v, k
    engine.ok("rm", "-f", "sc")


def test_sysctl_absent_from_inspect_when_none(engine):
    engine.ok("create", "--name", "nosc", "busybox", "true")
    assert "Sysctls" not in engine.inspect("nosc")["HostConfig"]
    engine.ok("rm", "nosc")


@pytest.mark.parametrize("args,needle", [
    (["--sysctl", "kernel.pid_max=5"], "not a namespaced sysctl"),
    (["--sysctl", "vm.swappiness=1"], "not a namespaced sysctl"),
    (["--sysctl", "kernel.hostname=x"], "not a namespaced sysctl"),
    (["--sysctl", "net.ipv4.ip_forward"], "KEY=VALUE"),
    (["--sysctl", "=1"], "KEY=VALUE"),
    (["--sysctl", "net.ipv4..x=1"], "invalid key"),
    (["--sysctl", "net.ipv4/../../x=1"], "invalid key"),
    (["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"], "--network host"),
])
def test_sysctl_bad(engine, args, needle):
    _refused(engine, args, "--sysctl", needle)


# --------------------------------------------------------------------------
# --group-add


def test_group_add_names_and_gids(engine):
    _bg(engine, "--name", "ga", "--group-add", "daemon", "--group-add", "4321",
        "--group-add", "0", "busybox", "sleep", "1000")

    def groups(*exec_args):
        out = engine.ok("exec", *exec_args, "ga", "id")
        return set(re.findall(r"(\d+)(?:\(\w+\))?", out.split("groups=")[1]))
    assert groups() == {"0", "1", "4321"}
    # exec -u keeps them beside the user's own (Docker's getUser)
    assert groups("-u", "nobody") == {"65534", "1", "4321", "0"}
    assert engine.inspect("ga")["HostConfig"]["GroupAdd"] == ["daemon", "4321", "0"]
    _restart(engine, "ga")
    assert groups() == {"0", "1", "4321"}
    engine.ok("rm", "-f", "ga")


def test_group_add_with_user(engine):
    out = engine.ok("run", "--rm", "-u", "nobody", "--group-add", "tty", "busybox", "id")
    assert out.strip() == "uid=65534(nobody) gid=65534(nogroup) groups=5(tty),65534(nogroup)"


def test_group_add_unknown_name(engine):
    # resolved in the image's /etc/group at start, as -u's names (Docker too)
    res = engine("run", "--rm", "--group-add", "nosuchgroup", "busybox", "id")
    assert res.returncode == 125, res.stderr
    assert res.stderr.strip().splitlines() == [
        "vessel: --group-add: unable to find group nosuchgroup: no matching entries in the "
        "container's /etc/group"]


@pytest.mark.parametrize("value,needle", [
    ("4294967295", "not a valid id"),
    ("a:b", "invalid group"),
    ("", "invalid group"),
])
def test_group_add_bad(engine, value, needle):
    if value == "4294967295":
        # a gid is only checked when the root's /etc/group is read, at start
        res = engine("run", "--rm", "--group-add", value, "busybox", "id")
        assert res.returncode == 125 and needle in res.stderr, res.stderr
        return
    _refused(engine, ["--group-add", value], "--group-add", needle)


# --------------------------------------------------------------------------
# --device, --device-cgroup-rule


def _free_char_majors(n):
    """Character majors in the local/experimental range (240-254) that no
    driver registered: opening such a node reaches no device at all."""
    used = set()
    in_char = False
    for line in Path("/proc/devices").read_text().splitlines():
        if line.startswith("Character devices"):
            in_char = True
        elif line.startswith("Block devices"):
            in_char = False
        elif in_char and line.strip():
            used.add(int(line.split()[0]))
    free = [m for m in range(240, 255) if m not in used]
    if len(free) < n:
        pytest.skip(f"fewer than {n} unregistered character majors in 240-254 here")
    return free[:n]


def _devices_list(engine, name):
    pid = engine.inspect(name)["State"]["Pid"]
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        if "devices" in ctrls.split(","):
            return Path(f"/sys/fs/cgroup/devices{path}/devices.list").read_text().splitlines()
    pytest.skip("no cgroup v1 devices controller here (v2 checks the eBPF program)")


def test_device_nodes_and_their_cgroup_rules(engine):
    _bg(engine, "--name", "dv", "--device", "/dev/zero:/dev/myzero:r", "--device", "/dev/full",
        "--device", "/dev/null:/dev/sub/nul", "busybox", "sleep", "1000")

    def nodes():
        out = engine.ok("exec", "dv", "ls", "-l", "/dev/myzero", "/dev/full", "/dev/sub/nul")
        return sorted(re.sub(r"\s+", " ", ln).split(" ")[4:6] for ln in out.splitlines())
    want = [["1,", "3"], ["1,", "5"], ["1,", "7"]]
    assert nodes() == want
    assert engine.ok("exec", "dv", "sh", "-c", "head -c 4 /dev/myzero | od -An -tx1").split() == \
        ["00"] * 4
    res = engine("exec", "dv", "sh", "-c", "echo x > /dev/full")
    assert res.returncode != 0 and "No space left" in res.stderr, res.stderr
    # (1:3, 1:5 and 1:7 are in every container's default rules: the rule of
    # a --device's permissions is checked on a loop device below)
    hc = engine.inspect("dv")["HostConfig"]
    assert hc["Devices"][0] == {"PathOnHost": "/dev/zero", "PathInContainer": "/dev/myzero",
                                "CgroupPermissions": "r"}
    assert hc["Devices"][1]["PathInContainer"] == "/dev/full"
    assert hc["Devices"][1]["CgroupPermissions"] == "rwm"
    _restart(engine, "dv")
    assert nodes() == want
    engine.ok("rm", "-f", "dv")


@pytest.mark.parametrize("perms,userns", [("r", False), ("rw", False), ("r", True)])
def test_device_permissions_on_a_loop_device(engine, loop_device, tmp_path, perms, userns):
    st = os.stat(loop_device)
    mm = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    maps, source = [], loop_device
    if userns:
        # the mapped root is no owner of the host's node (0600 root's): a
        # node of the test's own, open to all, stands for it
        maps, source = ["--uidmap", "0:100000:65536"], str(tmp_path / "vblk")
        os.mknod(source, 0o666 | stat.S_IFBLK, st.st_rdev)
        os.chmod(source, 0o666)
    _bg(engine, "--name", "dp", *maps, "--device", f"{source}:/dev/vblk:{perms}",
        "busybox", "sleep", "1000")
    rules = _devices_list(engine, "dp")
    assert f"b {mm} {perms}" in rules, rules
    read = engine("exec", "dp", "dd", "if=/dev/vblk", "of=/dev/null", "bs=4k", "count=1")
    assert read.returncode == 0, read.stderr
    write = engine("exec", "dp", "dd", "if=/dev/zero", "of=/dev/vblk", "bs=4k", "count=1")
    if perms == "r":
        assert write.returncode != 0 and "Operation not permitted" in write.stderr, write.stderr
    else:
        assert write.returncode == 0, write.stderr
    engine.ok("rm", "-f", "dp")


def test_device_cgroup_rule_allows_only_what_it_lists(engine):
    allowed, denied = _free_char_majors(2)
    script = (f"mknod /dev/ok c {allowed} 0; mknod /dev/no c {denied} 0; "
              "cat /dev/ok; cat /dev/no; true")
    res = engine("run", "--rm", "--device-cgroup-rule", f"c {allowed}:* r", "busybox",
                 "sh", "-c", script)
    assert res.returncode == 0, res.stderr
    # allowed: the open reaches the kernel's driver lookup (no driver);
    # not listed: the devices cgroup refuses it first
    assert f"can't open '/dev/ok': No such device or address" in res.stderr, res.stderr
    assert f"can't open '/dev/no': Operation not permitted" in res.stderr, res.stderr
    _bg(engine, "--name", "dr", "--device-cgroup-rule", f"c {allowed}:7 rw",
        "--device-cgroup-rule", "b *:* m", "busybox", "sleep", "1000")
    rules = _devices_list(engine, "dr")
    assert f"c {allowed}:7 rw" in rules and "b *:* m" in rules, rules
    assert engine.inspect("dr")["HostConfig"]["DeviceCgroupRules"] == \
        [f"c {allowed}:7 rw", "b *:* m"]
    engine.ok("rm", "-f", "dr")


def test_device_fields_null_or_empty_when_none(engine):
    engine.ok("create", "--name", "nodv", "busybox", "true")
    hc = engine.inspect("nodv")["HostConfig"]
    assert hc["Devices"] == [] and hc["DeviceCgroupRules"] is None and hc["GroupAdd"] is None
    engine.ok("rm", "nodv")


@pytest.mark.parametrize("spec,needle", [
    ("/dev/nosuchdevice", "No such file or directory"),
    ("/etc/hostname", "not a device node"),
    ("/dev/null:relative", "not an absolute path"),
    ("/dev/null:/x:rwx", "bad mode"),
    ("/dev/null:/a:/b:/c", "bad format"),
    (":/x", "bad format"),
    ("dev/null:/x", "not absolute"),
])
def test_device_bad(engine, spec, needle):
    _refused(engine, ["--device", spec], "--device", needle)


@pytest.mark.parametrize("rule", ["c 1:3", "x 1:3 rwm", "c 1:3 rwmx", "c a:3 r", "c 1:3  r",
                                  "c 1:3 q", ""])
def test_device_cgroup_rule_bad(engine, rule):
    _refused(engine, ["--device-cgroup-rule", rule], "--device-cgroup-rule",
             "invalid device cgroup format")


def test_device_in_a_user_namespace_is_bound_from_the_host(engine):
    # mknod is the initial namespace's: the host's node is bound instead
    out = engine.ok("run", "--rm", "--uidmap", "0:100000:65536", "--device",
                    "/dev/zero:/dev/myzero:r", "--device", "/dev/full", "--device",
                    "/dev/null:/dev/sub/n", "busybox", "sh", "-c",
                    "ls -l /dev/myzero /dev/full /dev/sub/n; head -c 3 /dev/myzero | od -An -tx1; "
                    "grep -c ' /dev/myzero ' /proc/mounts")
    lines = out.splitlines()
    assert [re.sub(r"\s+", " ", ln).split(" ")[4:6] for ln in lines[:3]] == \
        [["1,", "7"], ["1,", "5"], ["1,", "3"]], out
    assert lines[3].split() == ["00"] * 3 and lines[4] == "1", out
    # a default node of the container cannot be another device there
    res = engine("run", "--rm", "--uidmap", "0:100000:65536", "--device",
                 "/dev/zero:/dev/full", "busybox", "true")
    assert res.returncode == 125 and "default device" in res.stderr, res.stderr


@pytest.mark.parametrize("flag", [["--device", "/dev/zero"], ["--sysctl", "net.core.somaxconn=9"],
                                  ["--shm-size", "1g"], ["--oom-kill-disable"],
                                  ["--cpu-period", "10000"]])
def test_vm_refuses_host_kernel_flags(engine, flag):
    _refused(engine, ["--isolation", "vm", *flag], flag[0], "--isolation=vm")


# --------------------------------------------------------------------------
# --oom-score-adj, --oom-kill-disable


def test_oom_score_adj(engine):
    own = int(Path("/proc/self/oom_score_adj").read_text())
    value = max(own, 0) + 300
    _bg(engine, "--name", "oom", "--oom-score-adj", str(value), "busybox", "sleep", "1000")
    pid = engine.inspect("oom")["State"]["Pid"]
    assert int(Path(f"/proc/{pid}/oom_score_adj").read_text()) == value
    assert engine.ok("exec", "oom", "cat", "/proc/1/oom_score_adj").strip() == str(value)
    assert engine.inspect("oom")["HostConfig"]["OomScoreAdj"] == value
    _restart(engine, "oom")
    pid = engine.inspect("oom")["State"]["Pid"]
    assert int(Path(f"/proc/{pid}/oom_score_adj").read_text()) == value
    engine.ok("rm", "-f", "oom")


def test_oom_score_adj_lowered(engine):
    if not _can_lower_oom_score_adj():
        pytest.skip("lowering oom_score_adj needs CAP_SYS_RESOURCE, which this host's root lacks")
    out = engine.ok("run", "--rm", "--oom-score-adj", "-500", "busybox", "cat",
                    "/proc/self/oom_score_adj")
    assert out.strip() == "-500"


@pytest.mark.parametrize("value", ["1001", "-1001", "x", "1.5", ""])
def test_oom_score_adj_bad(engine, value):
    _refused(engine, ["--oom-score-adj", value], "--oom-score-adj", "-1000 to 1000")


def test_oom_kill_disable(engine):
    if not controller_on_v1("memory"):
        pytest.skip("memory.oom_control is cgroup v1's; this host's memory controller is v2")
    _bg(engine, "--name", "okd", "-m", "32m", "--oom-kill-disable", "busybox", "sleep", "1000")

    def disabled():
        out = engine.ok("exec", "okd", "cat", "/sys/fs/cgroup/memory/memory.oom_control")
        return dict(ln.split() for ln in out.splitlines())["oom_kill_disable"]
    assert disabled() == "1"
    assert engine.inspect("okd")["HostConfig"]["OomKillDisable"] is True
    _restart(engine, "okd")
    assert disabled() == "1"
    engine.ok("rm", "-f", "okd")
    out = engine.ok("run", "--rm", "-m", "32m", "busybox", "cat",
                    "/sys/fs/cgroup/memory/memory.oom_control")
    assert "oom_kill_disable 0" in out


# --------------------------------------------------------------------------
# --cpu-period, --cpu-quota


def _cfs(engine, name):
    out = engine.ok("exec", name, "sh", "-c", "cat /sys/fs/cgroup/cpu/cpu.cfs_period_us "
                    "/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
    return [int(x) for x in out.split()]


def test_cpu_period_quota_run_update_restart(engine):
    if not controller_on_v1("cpu"):
        pytest.skip("the cpu controller is not on cgroup v1 here (cpu.max on v2)")
    _bg(engine, "--name", "cq", "--cpu-period", "50000", "--cpu-quota", "25000", "busybox",
        "sleep", "1000")
    assert _cfs(engine, "cq") == [50000, 25000]
    hc = engine.inspect("cq")["HostConfig"]
    assert (hc["CpuPeriod"], hc["CpuQuota"], hc["NanoCpus"]) == (50000, 25000, 0)
    engine.ok("update", "--cpu-period", "20000", "--cpu-quota", "10000", "cq")
    assert _cfs(engine, "cq") == [20000, 10000]
    _restart(engine, "cq")
    assert _cfs(engine, "cq") == [20000, 10000]
    res = engine("update", "--cpus", "1", "cq")
    assert res.returncode != 0 and "conflicting options" in res.stderr, res.stderr
    assert engine.inspect("cq")["HostConfig"]["NanoCpus"] == 0
    engine.ok("rm", "-f", "cq")
    out = engine.ok("run", "--rm", "--cpu-quota=-1", "busybox", "cat",
                    "/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
    assert out.strip() == "-1"


@pytest.mark.parametrize("args,needle", [
    (["--cpu-period", "999"], "out of range"),
    (["--cpu-period", "1000001"], "out of range"),
    (["--cpu-period", "x"], "invalid value"),
    (["--cpu-quota", "999"], "below the minimum"),
    (["--cpu-quota", "-2"], "invalid value"),
    (["--cpus", "1", "--cpu-period", "10000"], "conflicting options"),
    (["--cpus", "1", "--cpu-quota", "10000"], "conflicting options"),
])
def test_cpu_period_quota_bad(engine, args, needle):
    _refused(engine, args, "--cpu-", needle)


# --------------------------------------------------------------------------
# --device-read/write-bps/iops


def test_blkio_throttles_on_a_loop_device(engine, loop_device):
    if not controller_on_v1("blkio"):
        pytest.skip("blkio throttling files are cgroup v1's here")
    st = os.stat(loop_device)
    mm = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    _bg(engine, "--name", "bt", "--device", f"{loop_device}:/dev/vblk",
        "--device-write-bps", f"{loop_device}:4mb", "--device-read-bps", f"{loop_device}:2mb",
        "--device-read-iops", f"{loop_device}:100", "--device-write-iops", f"{loop_device}:50",
        "busybox", "sleep", "1000")
    pid = engine.inspect("bt")["State"]["Pid"]
    path = [ln.split(":", 2)[2] for ln in Path(f"/proc/{pid}/cgroup").read_text().splitlines()
            if "blkio" in ln.split(":", 2)[1].split(",")][0]
    base = Path(f"/sys/fs/cgroup/blkio{path}")

    def throttles():
        return {name: (base / f"blkio.throttle.{name}").read_text().split()
                for name in ("write_bps_device", "read_bps_device", "read_iops_device",
                             "write_iops_device")}
    want = {"write_bps_device": [mm, str(4 * MiB)], "read_bps_device": [mm, str(2 * MiB)],
            "read_iops_device": [mm, "100"], "write_iops_device": [mm, "50"]}
    assert throttles() == want
    ls = engine.ok("exec", "bt", "ls", "-l", "/dev/vblk")
    assert ls.startswith("b"), ls
    hc = engine.inspect("bt")["HostConfig"]
    assert hc["BlkioDeviceWriteBps"] == [{"Path": loop_device, "Rate": 4 * MiB}]
    assert hc["BlkioDeviceReadIOps"] == [{"Path": loop_device, "Rate": 100}]
    _restart(engine, "bt")
    pid = engine.inspect("bt")["State"]["Pid"]
    assert throttles() == want
    engine.ok("rm", "-f", "bt")
    _refused(engine, ["--device-write-iops", f"{loop_device}:x"], "--device-write-iops",
             "invalid value")
    _refused(engine, ["--device-read-bps", f"{loop_device}:1q"], "--device-read-bps",
             "invalid size")


@pytest.mark.parametrize("args,needle", [
    (["--device-read-bps", "/dev/null:1mb"], "not a block device"),
    (["--device-write-bps", "/dev/nosuchdevice:1mb"], "No such file"),
    (["--device-read-iops", "/dev/null"], "DEVICE:RATE"),
    (["--device-write-iops", "/dev/zero:5"], "not a block device"),
])
def test_blkio_throttle_bad(engine, args, needle):
    _refused(engine, args, args[0], needle)
