"""Namespaces: new ones of each type, user mappings, time offsets, joining
existing namespaces by path; hostname, domainname, sysctl."""

import os
import socket
import subprocess
from pathlib import Path

import pytest

from helpers import assert_error, new_id, ns_id, ns_inode, parse_status, wait_for, wait_for_text

ALL_NS = ("pid", "network", "ipc", "uts", "mount", "cgroup")
PROC_NAME = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt",
             "cgroup": "cgroup", "user": "user", "time": "time"}


def make_traversable(path):
    """chmod o+x on path and its ancestors up to /tmp, so that a process
    running as a mapped (non-root on the host) uid can reach the bundle."""
    p = Path(path)
    while p != p.parent and str(p) not in ("/tmp", "/"):
        mode = p.stat().st_mode & 0o7777
        p.chmod(mode | 0o011)
        p = p.parent


@pytest.mark.parametrize("ns_type", ALL_NS)
def test_new_namespace_differs_from_host(vessel, bundle, ns_type):
    b = bundle("readlink", f"/proc/self/ns/{PROC_NAME[ns_type]}")
    for t in ALL_NS:
        b.set_namespace(t)
    out = vessel.run_ok(b).strip()
    assert out.startswith(PROC_NAME[ns_type] + ":["), out
    assert out != ns_id("self", PROC_NAME[ns_type]), f"{ns_type} namespace shared with the host"


@pytest.mark.parametrize("ns_type", ["network", "ipc", "uts", "cgroup"])
def test_namespace_not_listed_is_shared_with_host(vessel, bundle, ns_type):
    b = bundle("readlink", f"/proc/self/ns/{PROC_NAME[ns_type]}")
    b.remove_namespace(ns_type)
    if ns_type == "uts":
        b.config.pop("hostname", None)
        b.config.pop("domainname", None)
    if ns_type == "network":
        # sysfs cannot be mounted fresh without a network namespace of one's own
        for m in b.config["mounts"]:
            if m["destination"] == "/sys":
                m.update(type="bind", source="/sys", options=["rbind", "nosuid", "noexec", "nodev", "ro"])
    out = vessel.run_ok(b).strip()
    assert out == ns_id("self", PROC_NAME[ns_type])


def test_pid_namespace_init_is_pid1(vessel, bundle):
    # (busybox sh execs the last command of -c in place: keep it last)
    b = bundle("sh", "-c", "cat /proc/1/comm; echo pid=$$; ls /proc | grep -E '^[0-9]+$' | wc -l")
    b.set_namespace("pid")
    out = vessel.run_ok(b).splitlines()
    assert out[0] == "sh"
    assert out[1] == "pid=1"
    # sh, ls, grep, wc at most (plus maybe a subshell): no host process visible
    assert int(out[2]) <= 6, f"too many pids visible in the container: {out[2]}"


def test_uts_namespace_hostname_and_domainname(vessel, bundle):
    host_name = socket.gethostname()
    host_domain = Path("/proc/sys/kernel/domainname").read_text().strip()
    b = bundle("sh", "-c", "hostname; cat /proc/sys/kernel/hostname; cat /proc/sys/kernel/domainname")
    b.set_namespace("uts")
    b.config["hostname"] = "vessel-test-host"
    b.config["domainname"] = "example.org"
    out = vessel.run_ok(b).splitlines()
    assert out == ["vessel-test-host", "vessel-test-host", "example.org"]
    assert socket.gethostname() == host_name
    assert Path("/proc/sys/kernel/domainname").read_text().strip() == host_domain


def test_new_network_namespace_loopback_like_runc_unless_annotated(vessel, bundle):
    # runc leaves a new network namespace's lo down; vessel's engine asks
    # for it up with run.vessel.net.loopback=up (Docker's and podman's none).
    b = bundle("cat", "/sys/class/net/lo/flags")
    b.set_namespace("network")
    assert not int(vessel.run_ok(b).strip(), 16) & 1
    b = bundle("cat", "/sys/class/net/lo/flags")
    b.set_namespace("network")
    b.config.setdefault("annotations", {})["run.vessel.net.loopback"] = "up"
    assert int(vessel.run_ok(b).strip(), 16) & 1


def test_ipc_namespace_isolated(vessel, bundle):
    # A SysV message queue made on the host must not be visible inside.
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    qid = libc.msgget(0x5E55E1, 0o1600)  # IPC_CREAT | 0600
    if qid < 0:
        pytest.skip(f"msgget failed on the host: errno {ctypes.get_errno()}")
    try:
        b = bundle("cat", "/proc/sysvipc/msg")
        b.set_namespace("ipc")
        out = vessel.run_ok(b)
        host = Path("/proc/sysvipc/msg").read_text()
        assert str(qid) in host.split()
        rows = [l for l in out.splitlines()[1:] if l.strip()]
        assert rows == [], f"host message queue visible inside: {out!r}"
    finally:
        libc.msgctl(qid, 0, None)  # IPC_RMID


def test_network_namespace_has_only_lo(vessel, bundle):
    b = bundle("sh", "-c", "cat /proc/net/dev; echo ---; readlink /proc/self/ns/net")
    b.set_namespace("network")
    out = vessel.run_ok(b)
    dev, _, ns = out.partition("---\n")
    names = [l.split(":")[0].strip() for l in dev.splitlines()[2:] if ":" in l]
    assert names == ["lo"], f"interfaces inside: {names}"
    assert ns.strip() != ns_id("self", "net")


def test_cgroup_namespace_root(vessel, bundle):
    b = bundle("cat", "/proc/self/cgroup")
    b.set_namespace("cgroup")
    out = vessel.run_ok(b)
    lines = [l for l in out.splitlines() if l.strip()]
    assert lines
    for line in lines:
        path = line.split(":", 2)[2]
        assert path == "/", f"cgroup path not virtualised by the cgroup namespace: {line!r}"


# --------------------------------------------------------------------------
# user namespace


def userns_bundle(bundle, script):
    b = bundle("sh", "-c", script, private=True)
    subprocess.run(["chown", "-R", "-h", "100000:100000", str(b.rootfs)], check=True)
    make_traversable(b.path)
    b.set_namespace("user")
    b.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    return b


def test_user_namespace_mappings(vessel, bundle, cid):
    b = userns_bundle(
        bundle,
        "cat /proc/self/uid_map; cat /proc/self/gid_map; id -u; id -g; "
        "readlink /proc/self/ns/user; echo ready; exec sleep 1000",
    )
    res = vessel.run_detached(b, cid)
    out = wait_for_text(res.out_path, "ready")
    lines = out.splitlines()
    assert lines[0].split() == ["0", "100000", "65536"], out
    assert lines[1].split() == ["0", "100000", "65536"], out
    assert lines[2] == "0" and lines[3] == "0", out
    assert lines[4] != ns_id("self", "user")

    pid = vessel.state(cid)["pid"]
    status = parse_status(Path(f"/proc/{pid}/status").read_text())
    assert status["Uid"].split() == ["100000"] * 4, status["Uid"]
    assert status["Gid"].split() == ["100000"] * 4, status["Gid"]
    assert Path(f"/proc/{pid}/uid_map").read_text().split() == ["0", "100000", "65536"]


def test_user_namespace_unprivileged_user_inside(vessel, bundle):
    b = userns_bundle(bundle, "id -u; id -g; grep -E '^(Uid|Gid)' /proc/self/status")
    b.process["user"] = {"uid": 1000, "gid": 1000}
    out = vessel.run_ok(b).splitlines()
    assert out[0] == "1000" and out[1] == "1000", out
    assert out[2].split()[1:] == ["1000"] * 4, out


# --------------------------------------------------------------------------
# time namespace


def test_time_namespace_offsets(vessel, bundle):
    if not os.path.exists("/proc/self/ns/time"):
        pytest.skip("kernel without time namespaces (/proc/self/ns/time missing)")
    b = bundle("sh", "-c", "cat /proc/uptime; cat /proc/self/timens_offsets; readlink /proc/self/ns/time")
    b.set_namespace("time")
    b.linux["timeOffsets"] = {
        "monotonic": {"secs": 86400, "nanosecs": 0},
        "boottime": {"secs": 172800, "nanosecs": 0},
    }
    host_uptime = float(Path("/proc/uptime").read_text().split()[0])
    out = vessel.run_ok(b).splitlines()
    inside_uptime = float(out[0].split()[0])
    assert abs(inside_uptime - (host_uptime + 172800)) < 60, (
        f"uptime inside {inside_uptime}, host {host_uptime}: boottime offset not applied"
    )
    offsets = {l.split()[0]: l.split()[1:] for l in out[1:3]}
    assert offsets.get("monotonic") == ["86400", "0"], out
    assert offsets.get("boottime") == ["172800", "0"], out
    assert out[3] != ns_id("self", "time")


# --------------------------------------------------------------------------
# joining namespaces by path


@pytest.fixture
def netns():
    name = new_id("vnet")
    subprocess.run(["ip", "netns", "add", name], check=True)
    path = Path("/var/run/netns") / name
    yield path
    subprocess.run(["ip", "netns", "del", name], capture_output=True)


def test_join_network_namespace_by_path(vessel, bundle, netns):
    subprocess.run(["ip", "netns", "exec", netns.name, "ip", "link", "set", "lo", "up"], check=True)
    b = bundle("sh", "-c", "readlink /proc/self/ns/net; cat /proc/net/dev")
    b.set_namespace("network", netns)
    out = vessel.run_ok(b).splitlines()
    assert ns_inode(out[0]) == os.stat(netns).st_ino
    assert ns_inode(out[0]) != ns_inode(ns_id("self", "net"))


def test_join_another_containers_namespaces(vessel, bundle):
    a_id, b_id = new_id("ja"), new_id("jb")
    vessel.used_ids.update({a_id, b_id})
    a = bundle("sleep", "1000")
    vessel.run_detached(a, a_id)
    a_pid = vessel.state(a_id)["pid"]

    b = bundle("sh", "-c", "readlink /proc/self/ns/ipc; readlink /proc/self/ns/net; readlink /proc/self/ns/pid")
    b.set_namespace("ipc", f"/proc/{a_pid}/ns/ipc")
    b.set_namespace("network", f"/proc/{a_pid}/ns/net")
    out = vessel.run_ok(b, b_id).splitlines()
    assert out[0] == ns_id(a_pid, "ipc")
    assert out[1] == ns_id(a_pid, "net")
    assert out[2] != ns_id(a_pid, "pid"), "pid namespace was not asked to be shared"


def no_namespaces(b):
    """runtime-tools linux_ns_itype: every namespace removed (and what
    cannot work without them: hostname, masked and read-only paths)."""
    b.linux["namespaces"] = []
    b.config.pop("hostname", None)
    b.config.pop("domainname", None)
    b.linux.pop("maskedPaths", None)
    b.linux.pop("readonlyPaths", None)
    for m in b.config["mounts"]:
        if m["destination"] == "/sys":  # a bind: fresh sysfs would be the host's anyway
            m.update(type="bind", source="/sys", options=["rbind", "nosuid", "noexec", "nodev", "ro"])


def test_no_namespaces_runs_in_the_callers(vessel, bundle, cid, tmp_path):
    names = ["mnt", "pid", "net", "ipc", "uts", "cgroup"]
    b = bundle("sh", "-c", "sleep 1000; :")
    no_namespaces(b)
    vessel.create_ok(b, cid)
    pid = vessel.state(cid)["pid"]
    for n in names:
        assert ns_id(pid, n) == ns_id("self", n), f"{n} namespace is not the caller's"
    # Entered by chroot: the container sees its own root, with its mounts.
    assert os.path.samefile(f"/proc/{pid}/root", b.rootfs)
    vessel.start_ok(cid)
    res = vessel("exec", cid, "sh", "-c", "cat /etc/hostname 2>/dev/null; ls /proc/self/fd >/dev/null && "
                 "test -c /dev/null && echo inside")
    assert res.returncode == 0 and "inside" in res.stdout, res.describe()
    # Its mounts are in this (the caller's) namespace while it lives ...
    mounted = [line for line in open("/proc/self/mountinfo") if f" {b.rootfs}/" in line]
    assert any(f" {b.rootfs}/proc " in line for line in mounted), mounted
    # ... and delete detaches every one of them.
    d = vessel.delete(cid, force=True)
    assert d.returncode == 0, d.describe()
    left = [line for line in open("/proc/self/mountinfo") if str(b.rootfs) in line]
    assert left == [], left


def test_no_namespaces_foreground_run(vessel, bundle):
    b = bundle("sh", "-c", "readlink /proc/self/ns/mnt; test -c /dev/null && echo ok")
    no_namespaces(b)
    out = vessel.run_ok(b).splitlines()
    assert out == [ns_id("self", "mnt"), "ok"]
    assert [line for line in open("/proc/self/mountinfo") if str(b.rootfs) in line] == []


def test_no_mount_namespace_failed_create_leaves_no_mount(vessel, bundle, cid):
    b = bundle("true")
    no_namespaces(b)
    b.add_mount("/late", type="nosuchfs", source="none")  # after /proc, /dev... are mounted
    assert_error(vessel.create(b, cid), "mounts[", "nosuchfs", status=1)
    assert vessel.entries() == []
    assert [line for line in open("/proc/self/mountinfo") if str(b.rootfs) in line] == []


@pytest.mark.parametrize("field,value", [("maskedPaths", ["/proc/kcore"]),
                                         ("readonlyPaths", ["/proc/sys"])])
def test_no_mount_namespace_refuses_masking(vessel, bundle, cid, field, value):
    b = bundle("true")
    no_namespaces(b)
    b.linux[field] = value
    assert_error(vessel.create(b, cid), f"linux.{field}", "mount namespace", status=1)
    assert vessel.entries() == []
    assert [line for line in open("/proc/self/mountinfo") if str(b.rootfs) in line] == []


@pytest.fixture
def uts_ns():
    """A uts namespace held by a sleeping process; its path."""
    p = subprocess.Popen(["unshare", "--uts", "sleep", "1000"])
    try:
        wait_for(lambda: ns_id(p.pid, "uts") != ns_id("self", "uts"), 5, what="unshare --uts")
        yield Path(f"/proc/{p.pid}/ns/uts"), p.pid
    finally:
        p.kill()
        p.wait()


def test_hostname_set_in_uts_namespace_joined_by_path(vessel, bundle, uts_ns):
    """runtime-tools linux_ns_path: the uts namespace given by path is the
    container's, and its hostname is the config's (runc does the same)."""
    path, holder = uts_ns
    host_name = socket.gethostname()
    b = bundle("sh", "-c", "readlink /proc/self/ns/uts; hostname")
    b.set_namespace("uts", path)
    b.config["hostname"] = "joined-uts"
    out = vessel.run_ok(b).splitlines()
    assert out[0] == ns_id(holder, "uts")
    assert out[1] == "joined-uts"
    # Set in that namespace (the holder sees it), never in the host's.
    holder_name = subprocess.run(["nsenter", "-t", str(holder), "--uts", "hostname"],
                                 capture_output=True, text=True, check=True).stdout.strip()
    assert holder_name == "joined-uts"
    assert socket.gethostname() == host_name


def test_hostname_without_uts_namespace_refused(vessel, bundle, cid):
    b = bundle("true")
    b.remove_namespace("uts")
    b.config["hostname"] = "nope"
    assert_error(vessel.create(b, cid), "hostname", "uts namespace", status=1)
    assert vessel.entries() == []


# --------------------------------------------------------------------------
# sysctl


def test_sysctl_applied_in_container_only(vessel, bundle):
    host_fwd = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()
    host_rmid = Path("/proc/sys/kernel/shm_rmid_forced").read_text().strip()
    if host_fwd == "1" or host_rmid == "1":
        pytest.skip("host already has ip_forward or shm_rmid_forced at 1")
    b = bundle("sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced")
    b.set_namespace("network")
    b.set_namespace("ipc")
    b.linux["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1"}
    out = vessel.run_ok(b).split()
    assert out == ["1", "1"]
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == host_fwd
    assert Path("/proc/sys/kernel/shm_rmid_forced").read_text().strip() == host_rmid
