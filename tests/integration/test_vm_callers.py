"""Docker and containerd choose VM isolation per container through vessel's
OCI runtime (issue 10, docs/vm.md "As an OCI runtime"): `vessel-vm` (a
symlink to vessel) registered as Docker's `--add-runtime` and given to
containerd as `--runc-binary` boots every bundle in a microVM with the
guest kernel; podman's side is in test_vm.py. Each daemon is the one
test_callers.py starts (private dirs and socket, no bridge, no iptables),
and its teardown fails on any container or runtime state left; these tests
also check that no QEMU process outlives its container."""

import pytest

import helpers
from helpers import new_id
from test_callers import (  # noqa: F401 (fixtures)
    IMAGE_REF,
    TIMEOUT,
    Runtime,
    _describe,
    _entries,
    _wait_emptied,
    busybox_tar,
    ctr,
    docker,
    runtime_paths,
)
from test_vm import OCI_IDS_START, _qemu_pids, _qemu_uid, vm_kernel  # noqa: F401 (a fixture)

VM_TIMEOUT = max(TIMEOUT, 300)  # a TCG boot on a loaded 2-core host


@pytest.fixture
def vm_rt(runtime_paths, vm_kernel):  # noqa: F811
    return Runtime("vessel-vm", runtime_paths["vessel-vm"])


def _guest_kernel(out):
    """`uname -r` in the guest: the 6.1 guest kernel (guest/), never the
    host's."""
    import os

    release = out.strip()
    return release.startswith("6.1.") and release != os.uname().release


def test_docker_runtime_vessel_vm_runs_the_container_in_a_vm(docker, vm_rt):  # noqa: F811
    name = new_id("dkvm")
    try:
        res = docker("run", "--runtime", vm_rt.name, "--rm", "--name", name, "busybox", "sh",
                     "-c", "uname -r; echo err >&2; exit 3", timeout=VM_TIMEOUT)
        assert res.returncode == 3, _describe(res)
        assert _guest_kernel(res.stdout), res.stdout
        assert res.stderr.endswith("err\n"), res.stderr
    finally:
        docker("rm", "-f", name)
    assert _qemu_pids(str(docker.exec_root)) == []
    _wait_emptied(lambda: docker.runtime_entries(vm_rt), "vessel-vm's state root under dockerd")


def test_docker_vessel_vm_file_and_dir_binds(docker, vm_rt, tmp_path):  # noqa: F811
    """Docker's -v of a file and of a directory reach the guest through
    vessel-vm: the file as a 9p share of its own, bound by the agent."""
    conf = tmp_path / "app.conf"
    conf.write_text("from-host\n")
    d = tmp_path / "d"
    d.mkdir()
    name = new_id("dkvm")
    try:
        res = docker("run", "--runtime", vm_rt.name, "--rm", "--name", name,
                     "-v", f"{conf}:/etc/app.conf", "-v", f"{d}:/d", "busybox", "sh", "-c",
                     "cat /etc/app.conf; echo from-guest > /etc/app.conf; echo x > /d/x",
                     timeout=VM_TIMEOUT)
        assert res.returncode == 0, _describe(res)
        assert res.stdout == "from-host\n", res.stdout
        assert conf.read_text() == "from-guest\n"
        assert (d / "x").read_text() == "x\n"
    finally:
        docker("rm", "-f", name)
    assert _qemu_pids(str(docker.exec_root)) == []
    _wait_emptied(lambda: docker.runtime_entries(vm_rt), "vessel-vm's state root under dockerd")


def test_docker_vessel_vm_pids_limit_in_the_guest(docker, vm_rt):  # noqa: F811
    """Docker's --pids-limit through vessel-vm limits the guest's processes
    (the bundle's limit, raised for QEMU on the host, is given back to the
    guest as it was)."""
    name = new_id("dkvm")
    try:
        res = docker("run", "--runtime", vm_rt.name, "--rm", "--name", name,
                     "--pids-limit", "8", "busybox", "sh", "-c",
                     "n=0; for i in $(seq 30); do sleep 100 >/dev/null 2>&1 & n=$((n+1)); "
                     "echo $n; done", timeout=VM_TIMEOUT)
        assert res.returncode != 0 and "fork" in res.stderr, _describe(res)
        # the shell itself is one of the 8
        assert 3 <= int(res.stdout.split()[-1]) <= 7, res.stdout
    finally:
        docker("rm", "-f", name)
    assert _qemu_pids(str(docker.exec_root)) == []
    _wait_emptied(lambda: docker.runtime_entries(vm_rt), "vessel-vm's state root under dockerd")


def test_docker_vessel_vm_detached_exec_stop(docker, vm_rt):  # noqa: F811
    name = new_id("dkvm")
    try:
        docker.ok("run", "-d", "--runtime", vm_rt.name, "--name", name, "busybox", "sh", "-c",
                  "trap 'echo got-term; exit 4' TERM; echo up; while true; do sleep 0.1; done",
                  timeout=VM_TIMEOUT)
        helpers.wait_for(lambda: "up" in docker("logs", name).stdout, VM_TIMEOUT,
                         what="the guest's output")
        assert docker.inspect(name)["State"]["Running"]
        [q] = _qemu_pids(str(docker.exec_root))
        # QEMU under ids of its own, over Docker's overlay2 root.
        assert _qemu_uid(q) >= OCI_IDS_START
        # exec runs in the guest, not in the launcher's namespaces.
        res = docker("exec", name, "sh", "-c", "uname -r; exit 6", timeout=VM_TIMEOUT)
        assert res.returncode == 6, _describe(res)
        assert _guest_kernel(res.stdout), res.stdout
        res = docker("stop", "-t", "120", name, timeout=VM_TIMEOUT)
        assert res.returncode == 0, _describe(res)
        assert docker.inspect(name)["State"]["ExitCode"] == 4
        assert docker("logs", name).stdout == "up\ngot-term\n"
        assert _qemu_pids(str(docker.exec_root)) == []
    finally:
        docker("rm", "-f", name)
    _wait_emptied(lambda: docker.runtime_entries(vm_rt), "vessel-vm's state root under dockerd")


def test_containerd_runc_binary_vessel_vm_runs_the_task_in_a_vm(ctr, vm_rt):  # noqa: F811
    cid = new_id("cdvm")
    root = ctr.runc_root(vm_rt)
    try:
        res = ctr("run", "--rm", *ctr.runtime_opts(vm_rt), IMAGE_REF, cid, "sh", "-c",
                  "uname -r; exit 5", timeout=VM_TIMEOUT)
        assert res.returncode == 5, _describe(res)
        assert _guest_kernel(res.stdout), res.stdout
        assert _qemu_pids(str(ctr.base)) == []
        # A task that runs on: killed by containerd, it ends with its VM.
        ctr.ok("run", "-d", *ctr.runtime_opts(vm_rt), IMAGE_REF, cid + "d", "sleep", "1000",
               timeout=VM_TIMEOUT)
        assert ctr.task_status(cid + "d") == "RUNNING"
        [q] = _qemu_pids(str(ctr.base))
        assert _qemu_uid(q) >= OCI_IDS_START  # over containerd's overlayfs snapshot
        ctr.ok("task", "kill", "-s", "SIGKILL", cid + "d")
        helpers.wait_for(lambda: ctr.task_status(cid + "d") == "STOPPED", VM_TIMEOUT,
                         what="the task to stop")
        ctr.ok("task", "delete", cid + "d")
    finally:
        for c in (cid, cid + "d"):
            if ctr.task_status(c) is not None:
                ctr("task", "kill", "-s", "SIGKILL", c)
                ctr("task", "delete", "--force", c)
            ctr("container", "delete", c)
    assert _qemu_pids(str(ctr.base)) == []
    _wait_emptied(lambda: _entries(root / "vessel-test"), "vessel-vm's state root under containerd")
