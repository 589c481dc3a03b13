"""Checkpoint and restore of VM containers (`vessel checkpoint`, `vessel
restore`; docs/vm.md), and `vessel top` for VM containers. Under whatever
accelerator the host offers (TCG on our CI machines); fixtures from
test_vm.py (the kernel built once, nothing left behind after each test)."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import helpers
from test_network import net  # noqa: F401 (a fixture)
from test_vm import TIMEOUT, _qemu_pids, vm, vm_data, vm_kernel  # noqa: F401 (fixtures)

# One number a line, from 0, five a second, in the guest.
COUNTER = "i=0; while true; do echo $i; i=$((i+1)); sleep 0.2; done"


def _start(vm, name, script, *flags):
    res = vm("run", "-d", "--name", name, "--isolation=vm", "--vm-rootfs=block", *flags,
             "busybox", "sh", "-c", f"echo up; {script}", timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    helpers.wait_for(lambda: "up" in vm("logs", name).stdout, 120, what="the guest's output")


def _numbers(vm, name):
    return [int(x) for x in vm("logs", name).stdout.split() if x.isdigit()]


def _ctr_dir(vm, name):
    return vm.containers_dir() / vm.inspect(name)["Id"]


def _refused(res, word):
    """A failure told in one line that names word."""
    assert res.returncode != 0, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and word in lines[0], res.stderr


def test_checkpoint_then_restore_continues_the_guest(vm):
    # The counter runs in the guest; a file in the guest's tmpfs /tmp and
    # one on its root disk must both survive.
    _start(vm, "c", "mount -t tmpfs t /tmp; echo in-ram > /tmp/f; echo on-disk > /disk; "
           + COUNTER)
    helpers.wait_for(lambda: len(_numbers(vm, "c")) > 3, 60, what="the counter")
    res = vm("checkpoint", "c", timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    info = vm.inspect("c")
    assert not info["State"]["Running"] and info["State"]["ExitCode"] == 0, info["State"]
    assert not _qemu_pids(str(_ctr_dir(vm, "c")))
    saved = _numbers(vm, "c")
    time.sleep(2)
    assert _numbers(vm, "c") == saved, "the guest ran after its checkpoint"
    d = _ctr_dir(vm, "c") / "checkpoint"
    assert (d / "vm.state").stat().st_size > 1 << 20
    assert sorted(p.name for p in d.iterdir()) == ["checkpoint.json", "root.img", "vm.state"]
    ck = vm.inspect("c")["VM"]["Checkpoint"]
    assert ck["Path"] == str(d) and ck["StateBytes"] == (d / "vm.state").stat().st_size, ck
    assert vm.inspect("c")["VM"]["RootfsShare"] == "virtio-blk"

    res = vm("restore", "c", timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    assert vm.inspect("c")["State"]["Running"]
    helpers.wait_for(lambda: len(_numbers(vm, "c")) > len(saved) + 3, 60,
                     what="the counter going on")
    nums = _numbers(vm, "c")
    # It went on from where it stopped: no restart from 0, no gap.
    assert nums == list(range(len(nums))), nums
    # exec reaches the restored guest (the control channel is the new
    # launcher's), and sees the tmpfs file and the disk file.
    r = vm("exec", "c", "cat", "/tmp/f", "/disk", timeout=TIMEOUT)
    assert r.returncode == 0 and r.stdout == "in-ram\non-disk\n", (r.returncode, r.stdout,
                                                                   r.stderr)
    # A second round from the restored VM.
    assert vm("checkpoint", "--leave-running", "c", timeout=TIMEOUT).returncode == 0
    assert vm.inspect("c")["State"]["Running"]
    n = len(_numbers(vm, "c"))
    helpers.wait_for(lambda: len(_numbers(vm, "c")) > n + 3, 60,
                     what="the counter going on after --leave-running")
    assert vm("stop", "-t", "1", "c", timeout=TIMEOUT).returncode == 0


def test_checkpoint_of_a_vm_on_a_vessel_network(vm_kernel, net):
    """A VM on a vessel network is checkpointed with its address: stopped,
    it keeps its lease (as any stopped container); the restore leases the
    same address again (the guest holds it in its RAM), and its peer
    reaches the same server process in the guest there. Disconnected from
    its network meanwhile, the restore fails with one line and leaves the
    container stopped. In a network namespace of the test's (the `net`
    fixture checks that no tap, lease or rule is left)."""
    net.ok("network", "create", "--subnet", "10.33.0.0/24", "ckptnet")
    net.ok("run", "-d", "--name", "peer", "--network", "ckptnet", "busybox", "sleep", "1000")
    cid = net.ok("run", "-d", "--name", "vmc", "--isolation=vm", "--vm-rootfs=block",
                 "--network", "ckptnet", "busybox", "sh", "-c",
                 "echo served-before > /i.html; echo up; exec httpd -f -p 80 -h /",
                 timeout=TIMEOUT).strip()
    helpers.wait_for(lambda: "up" in net.ok("logs", "vmc"), 120, what="the guest")
    ip = net.net("ckptnet")["Containers"][cid]["IPv4Address"].split("/")[0]

    def served():
        return net("exec", "peer", "wget", "-qO-", f"http://{ip}/i.html").stdout

    helpers.wait_for(lambda: served() == "served-before\n", 60, what="the VM from its peer")
    net.ok("checkpoint", "vmc", timeout=TIMEOUT)
    # Stopped, it keeps its lease, as every container does until rm.
    assert net.net("ckptnet")["Containers"][cid]["IPv4Address"].split("/")[0] == ip
    assert json.loads(net.ok("inspect", "vmc"))[0]["VM"]["Checkpoint"], "no checkpoint"
    net.ok("restore", "vmc", timeout=TIMEOUT)
    assert net.net("ckptnet")["Containers"][cid]["IPv4Address"].split("/")[0] == ip
    # The same httpd (started before the checkpoint) answers at the same
    # address: the guest went on, it did not boot again.
    helpers.wait_for(lambda: served() == "served-before\n", 60,
                     what="the restored VM from its peer")
    assert "up" == net.ok("logs", "vmc").strip(), "the guest booted again"
    addrs = net.ok("exec", "vmc", "ip", "-o", "-4", "addr", "show", "eth0", timeout=TIMEOUT)
    assert f"inet {ip}/24" in addrs, addrs
    # Running, its NIC cannot be unplugged: a disconnect is refused.
    res = net("network", "disconnect", "ckptnet", "vmc")
    _refused(res, "stop it first")
    assert cid in net.net("ckptnet")["Containers"]
    # Its lease lost (a file gone): the restore asks for the address the
    # guest holds, never another one. Taken meanwhile, that fails in one
    # line; free again, it is the guest's again.
    net.ok("checkpoint", "vmc", timeout=TIMEOUT)
    (net.data_root / "networks" / "leases" / f"{cid}.json").unlink()
    net.ok("run", "-d", "--name", "thief", "--network", "ckptnet", "busybox", "sleep", "1000")
    thief = json.loads(net.ok("inspect", "thief"))[0]["NetworkSettings"]["IPAddress"]
    assert thief == ip, (thief, ip)
    res = net("restore", "vmc", timeout=TIMEOUT)
    _refused(res, ip)
    info = json.loads(net.ok("inspect", "vmc"))[0]
    assert not info["State"]["Running"] and not _qemu_pids(info["Id"]), info["State"]
    net.ok("rm", "-f", "thief")
    net.ok("restore", "vmc", timeout=TIMEOUT)
    assert net.net("ckptnet")["Containers"][cid]["IPv4Address"].split("/")[0] == ip
    helpers.wait_for(lambda: served() == "served-before\n", 60,
                     what="the VM restored at its own address")
    # Disconnected while checkpointed: its NIC has no network to return
    # to, said in one line before QEMU is started.
    net.ok("checkpoint", "vmc", timeout=TIMEOUT)
    net.ok("network", "disconnect", "ckptnet", "vmc")
    res = net("restore", "vmc", timeout=TIMEOUT)
    _refused(res, "ckptnet")
    info = json.loads(net.ok("inspect", "vmc"))[0]
    assert not info["State"]["Running"] and not _qemu_pids(info["Id"]), info["State"]
    net.ok("rm", "-f", "vmc", "peer", timeout=TIMEOUT)


def test_restore_of_a_running_container_refused(vm):
    _start(vm, "r", "sleep 1000")
    assert vm("checkpoint", "--leave-running", "r", timeout=TIMEOUT).returncode == 0
    res = vm("restore", "r", timeout=TIMEOUT)
    _refused(res, "is running")
    assert vm.inspect("r")["State"]["Running"]


def test_corrupt_checkpoint_refused(vm):
    _start(vm, "k", COUNTER)
    assert vm("checkpoint", "k", timeout=TIMEOUT).returncode == 0
    state = _ctr_dir(vm, "k") / "checkpoint" / "vm.state"
    # Same size, garbage inside: QEMU's own checks must refuse it.
    size = state.stat().st_size
    with open(state, "r+b") as f:
        f.write(b"\xde\xad\xbe\xef" * 64)
    res = vm("restore", "k", timeout=TIMEOUT)
    _refused(res, "checkpoint")
    assert not vm.inspect("k")["State"]["Running"]
    assert not _qemu_pids(str(_ctr_dir(vm, "k")))
    # Truncated: refused before QEMU.
    os.truncate(state, size // 2)
    res = vm("restore", "k", timeout=TIMEOUT)
    assert res.returncode != 0 and "damaged" in res.stderr, res.stderr
    assert not (_ctr_dir(vm, "k") / "vm-restore").exists()


def test_checkpoint_refusals_are_one_clear_line(vm, tmp_path):
    # A container on the host kernel: CRIU's absence said.
    assert vm("run", "-d", "--name", "h", "busybox", "sleep", "1000").returncode == 0
    _refused(vm("checkpoint", "h"), "CRIU")

    def refused_running_vm(name, word, *flags):
        """A running VM whose checkpoint is refused in one line naming word;
        it goes on running."""
        res = vm("run", "-d", "--name", name, "--isolation=vm", *flags, "busybox", "sleep",
                 "1000", timeout=TIMEOUT)
        assert res.returncode == 0, res.stderr
        vm.wait_state(name, lambda i: i["State"]["Running"], what="running")
        _refused(vm("checkpoint", name, timeout=TIMEOUT), word)
        assert vm.inspect(name)["State"]["Running"]

    # A VM on a 9p root: QEMU cannot migrate it, and the way out is said.
    refused_running_vm("n", "--vm-rootfs=block")
    # User-mode networking: its connections are QEMU's host sockets.
    refused_running_vm("u", "slirp4netns", "--vm-rootfs=block", "--network", "slirp4netns")
    # Not running; no checkpoint; bad flag values.
    res = vm("checkpoint", "nope")
    assert res.returncode != 0 and len(res.stderr.strip().splitlines()) == 1
    res = vm("create", "--name", "s", "--isolation=vm", "--vm-rootfs=block", "busybox", "true")
    assert res.returncode == 0, res.stderr
    res = vm("restore", "s")
    assert res.returncode != 0 and "no checkpoint" in res.stderr, res.stderr
    res = vm("run", "--rm", "--vm-rootfs=block", "busybox", "true")
    assert res.returncode != 0 and "--isolation=vm" in res.stderr, res.stderr
    res = vm("run", "--rm", "--isolation=vm", "--vm-rootfs=nfs", "busybox", "true")
    assert res.returncode != 0 and "--vm-rootfs" in res.stderr, res.stderr


def test_checkpoint_export_writes_an_archive(vm, tmp_path):
    _start(vm, "x", COUNTER)
    out = tmp_path / "x.tar.zst"
    res = vm("checkpoint", "--leave-running", "--export", out, "x", timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    names = subprocess.run(["tar", "--zstd", "-tf", out], capture_output=True, text=True,
                           check=True).stdout.split()
    assert sorted(names) == sorted(["record.json", "config.json", "checkpoint/checkpoint.json",
                                    "checkpoint/vm.state", "checkpoint/root.img"]), names
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("x.tar")] == ["x.tar.zst"]


def _kill_during(vm, argv, name, delay):
    """Starts argv, SIGKILLs it after delay s."""
    p = subprocess.Popen([vm.binary, *argv], env=vm.env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    time.sleep(delay)
    p.send_signal(signal.SIGKILL)
    p.wait()


def _settle(vm, name, d):
    """After a killed checkpoint/restore: "running" once the guest's counter
    moves on, "stopped" once the container is stopped with no QEMU left (a
    restore or a stop still under way in the background is waited for)."""
    n = len(_numbers(vm, name))

    def settled():
        if vm.inspect(name)["State"]["Running"]:
            return "running" if len(_numbers(vm, name)) > n + 2 else None
        return "stopped" if not _qemu_pids(str(d)) else None
    return helpers.wait_for(settled, 120, interval=0.2, what="a settled state")


def test_kill_during_checkpoint_leaves_no_file(vm):
    _start(vm, "kc", COUNTER)
    d = _ctr_dir(vm, "kc")
    for delay in (0.05, 0.3, 1.0):
        _kill_during(vm, ["checkpoint", "kc"], "kc", delay)
        # Either it finished (the container stopped, a whole checkpoint) or
        # the VM goes on: never a half-written file.
        helpers.wait_for(lambda: not (d / "checkpoint.new").exists(), 30,
                         what="the launcher to continue the VM")
        names = sorted(p.name for p in d.iterdir())
        assert not [n for n in names if n.endswith(".new") or n.endswith(".old")], names
        if _settle(vm, "kc", d) == "stopped":
            ck = d / "checkpoint"
            assert sorted(p.name for p in ck.iterdir()) == ["checkpoint.json", "root.img",
                                                            "vm.state"]
            assert vm("restore", "kc", timeout=TIMEOUT).returncode == 0
            assert _settle(vm, "kc", d) == "running"


def test_top_lists_the_guests_processes(vm):
    _start(vm, "t", "sleep 1001 & sleep 1002 & wait")
    # Both children forked (the shell may not be there yet at "up").
    # (processes whose CMD is each sleep: the shell's own command line names
    # both sleeps before it has forked them)
    def both(r):
        cmds = [l.split(None, 5)[-1] for l in r.stdout.strip().splitlines()[1:]]
        return r if r.returncode != 0 or ("sleep 1001" in cmds and "sleep 1002" in cmds) else None

    res = helpers.wait_for(lambda: both(vm("top", "t", timeout=TIMEOUT)), 60, what="both sleeps")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    # The same header as for a container.
    hres = vm("run", "-d", "--name", "h", "busybox", "sleep", "1000")
    assert hres.returncode == 0, hres.stderr
    hlines = vm("top", "h").stdout.strip().splitlines()
    assert lines[0].split() == hlines[0].split(), (lines[0], hlines[0])
    cmds = [l.split(None, 5)[-1] for l in lines[1:]]
    assert "sleep 1001" in cmds and "sleep 1002" in cmds, lines
    assert any(c.startswith("sh -c") for c in cmds), lines
    assert len(lines) == 4, lines


def test_kill_during_restore_leaves_nothing_half_done(vm):
    _start(vm, "kr", COUNTER)
    assert vm("checkpoint", "kr", timeout=TIMEOUT).returncode == 0
    d = _ctr_dir(vm, "kr")
    for delay in (0.0, 0.05, 0.2):
        _kill_during(vm, ["restore", "kr"], "kr", delay)
        # The monitor, once started, finishes the restore on its own; a
        # restore killed before that leaves the container stopped.
        state = _settle(vm, "kr", d)
        names = sorted(p.name for p in d.iterdir())
        assert not [n for n in names if n.endswith(".new")], names
        if state == "running":
            assert vm("checkpoint", "kr", timeout=TIMEOUT).returncode == 0
    # A restore killed at any point restored or left it stopped: the
    # guest never booted afresh.
    assert vm("logs", "kr").stdout.count("up\n") == 1
    (d / "vm-restore").write_text("stale")
    res = vm("start", "kr", timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    try:
        helpers.wait_for(lambda: vm("logs", "kr").stdout.count("up\n") == 2, 120,
                         what="a fresh boot")
    except AssertionError:
        print(vm.inspect("kr")["State"], vm("logs", "kr").stdout[-300:],
              sorted(p.name for p in d.iterdir()))
        raise
    assert not (d / "vm-restore").exists()
    nums = _numbers(vm, "kr")
    assert vm("restore", "kr").returncode != 0  # running
    assert vm("checkpoint", "kr", timeout=TIMEOUT).returncode == 0
    assert vm("restore", "kr", timeout=TIMEOUT).returncode == 0
    helpers.wait_for(lambda: len(_numbers(vm, "kr")) > len(nums) + 3, 60, what="the counter")


def test_export_then_import_on_another_data_root(vm, vessel_bin, tmp_path):
    """The archive is all another host needs (with the image): a new
    container there goes on from the checkpoint."""
    from test_engine import Engine
    _start(vm, "src", "mount -t tmpfs t /tmp; echo kept > /tmp/f; " + COUNTER)
    helpers.wait_for(lambda: len(_numbers(vm, "src")) > 3, 60, what="the counter")
    out = tmp_path / "src.tar.zst"
    assert vm("checkpoint", "--export", out, "src", timeout=TIMEOUT).returncode == 0
    saved = _numbers(vm, "src")
    other = Engine(vessel_bin, tmp_path / "other-data", tmp_path / "other-run", tmp_path)
    try:
        # Without the image there: one clear line, no container left.
        res = other("restore", "--import", out, "--name", "moved", timeout=TIMEOUT)
        assert res.returncode != 0 and "pull it first" in res.stderr, res.stderr
        assert other.records() == []
        assert other("run", "--rm", "busybox", "true").returncode == 0  # the image, here
        res = other("restore", "--import", out, "--name", "moved", timeout=TIMEOUT)
        assert res.returncode == 0, res.stderr
        helpers.wait_for(lambda: len(other("logs", "moved").stdout.split()) > 3, 60,
                         what="the imported guest's output")
        nums = [int(x) for x in other("logs", "moved").stdout.split() if x.isdigit()]
        # It goes on from the checkpoint: no fresh boot ("up"), no restart.
        assert "up" not in other("logs", "moved").stdout
        assert nums[0] >= len(saved) - 1, (saved[-3:], nums[:3])
        assert nums == list(range(nums[0], nums[0] + len(nums))), nums
        r = other("exec", "moved", "cat", "/tmp/f", timeout=TIMEOUT)
        assert r.returncode == 0 and r.stdout == "kept\n", (r.stdout, r.stderr)
        # The same archive again: the name is taken.
        res = other("restore", "--import", out, "--name", "moved", timeout=TIMEOUT)
        assert res.returncode != 0 and len(res.stderr.strip().splitlines()) == 1, res.stderr
        # A damaged archive: one line, nothing left.
        bad = tmp_path / "bad.tar.zst"
        bad.write_bytes(out.read_bytes()[:4096])
        n = len(other.records())
        res = other("restore", "--import", bad, "--name", "bad", timeout=TIMEOUT)
        assert res.returncode != 0 and len(res.stderr.strip().splitlines()) == 1, res.stderr
        assert len(other.records()) == n
        # A forged record that shares a host directory: refused.
        forged = tmp_path / "forged"
        forged.mkdir()
        subprocess.run(["tar", "--zstd", "-xf", out, "-C", forged], check=True)
        rec = json.loads((forged / "record.json").read_text())
        rec["Mounts"] = [{"Type": "bind", "Source": str(tmp_path), "Destination": "/host",
                          "RW": True}]
        (forged / "record.json").write_text(json.dumps(rec))
        ftar = tmp_path / "forged.tar.zst"
        subprocess.run(["tar", "--zstd", "-cf", ftar, "-C", forged, "record.json", "config.json",
                        "checkpoint"], check=True)
        res = other("restore", "--import", ftar, "--name", "forged", timeout=TIMEOUT)
        _refused(res, "volumes")
        assert len(other.records()) == n
        assert not list((tmp_path / "other-data" / "vm").glob("import-*"))
    finally:
        for cid in other.records():
            other("rm", "-f", cid)
        assert other.records() == []
        assert not _qemu_pids(str(tmp_path / "other-data"))
