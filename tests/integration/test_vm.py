"""The microVM backend (`vessel run --isolation=vm`, `vessel vm kernel`),
under whatever accelerator the host offers (TCG on our CI machines).

The guest kernel is built once per session by the `vm_kernel` fixture
(`vessel vm kernel`), which finds it in the shared cache
($VESSEL_KERNEL_CACHE, default /var/cache/vessel/kernel) when an earlier run
built it. After each test every container is removed and no record, mount,
runtime state, monitor or QEMU process may be left."""

import fcntl
import json
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

import helpers
from test_engine import Engine, _mountpoints_under
from test_network import net, wget_in  # noqa: F401 (a fixture)

KERNEL_BUILD_TIMEOUT = 60 * 60
TIMEOUT = 180


def _qemu_pids(marker):
    """QEMU processes whose command line mentions marker (a test's data root)."""
    pids = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "qemu-system" in cmd and marker in cmd:
            pids.append(int(p.name))
    return pids


def _cmdline(p):
    try:
        return (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _expected_accel():
    with open("/proc/cpuinfo") as f:
        flags = " ".join(l for l in f if l.startswith("flags"))
    if " vmx" not in flags and " svm" not in flags:
        return "tcg"
    return None  # depends on /dev/kvm: not asserted


@pytest.fixture(scope="session")
def vm_kernel(vessel_bin, tmp_path_factory):
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86_64 is not installed (Debian's qemu-system-x86)")
    data = tmp_path_factory.mktemp("vm-kernel")
    env = dict(os.environ, VESSEL_ROOT=str(data))
    proc = subprocess.run([str(vessel_bin), "vm", "kernel", "--path"], env=env,
                          capture_output=True, text=True, timeout=KERNEL_BUILD_TIMEOUT)
    assert proc.returncode == 0, f"vessel vm kernel failed: {proc.stderr}"
    path = proc.stdout.strip()
    assert os.path.getsize(path) > 500_000, path
    return path


@pytest.fixture(scope="session")
def vm_data(tmp_path_factory):
    return tmp_path_factory.mktemp("vm-data")


@pytest.fixture
def vm(vessel_bin, vm_kernel, vm_data, tmp_path):
    eng = Engine(vessel_bin, vm_data, tmp_path / "run", tmp_path)
    yield eng
    for cid in eng.records():
        eng("rm", "-f", cid)
    leftovers = eng.records()
    mounts = _mountpoints_under(str(eng.containers_dir()))
    qemus = _qemu_pids(str(vm_data))
    for p in qemus:
        os.kill(p, 9)
    for mp in reversed(mounts):
        subprocess.run(["umount", "-l", mp], capture_output=True)
    assert not leftovers, f"records left: {leftovers}"
    assert not mounts, f"mounts left: {mounts}"
    assert not qemus, f"QEMU processes left: {qemus}"
    assert eng.runtime_entries() == []
    # QEMU's ids are released with the container (src/engine/userns.c).
    assert _allocations(eng.data_root) == [], "id ranges left after every rm"


def run_vm(vm, *args, **kw):
    return vm("run", "--rm", "--isolation=vm", *args, timeout=TIMEOUT, **kw)


# --------------------------------------------------------------------------
# the kernel


def test_kernel_is_cached_and_reported(vessel_bin, vm_kernel, tmp_path):
    env = dict(os.environ, VESSEL_ROOT=str(tmp_path / "data"))
    out = subprocess.run([str(vessel_bin), "vm", "kernel", "--no-build"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    fields = dict(line.split(None, 1) for line in out.stdout.splitlines())
    assert fields["kernel"] == vm_kernel
    # The key names the kernel's directory; the accelerator says why.
    assert Path(vm_kernel).parent.name == fields["key"]
    accel = _expected_accel()
    if accel:
        assert fields["accelerator"].startswith(accel + " ("), fields["accelerator"]
    cfg = subprocess.run([str(vessel_bin), "vm", "kernel", "--config"], capture_output=True,
                         text=True, timeout=30).stdout
    built = (Path(vm_kernel).parent / "config").read_text()
    # Every option the fragment turns on is in the kernel's real config.
    for line in cfg.splitlines():
        if line.startswith("CONFIG_") and not line.endswith("=n"):
            assert line + "\n" in built, line


def test_no_kernel_and_no_source_is_one_clear_error(vm, tmp_path):
    vm.env["VESSEL_ROOT"] = str(tmp_path / "fresh")
    vm.data_root = tmp_path / "fresh"
    vm.env["VESSEL_KERNEL_CACHE"] = str(tmp_path / "no-cache")
    vm.env["VESSEL_LINUX_SOURCE"] = str(tmp_path / "no-source.tar.xz")
    res = run_vm(vm, "busybox", "true")
    assert res.returncode == 125
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "no guest kernel" in lines[0] and "linux-source-6.1" in lines[0]
    assert vm.records() == []


# --------------------------------------------------------------------------
# run


def test_echo_in_its_own_kernel(vm):
    res = run_vm(vm, "busybox", "sh", "-c", "echo hello; uname -r")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "hello"
    # The guest's kernel, not the host's.
    assert lines[1] != os.uname().release
    assert lines[1].startswith("6.1."), lines[1]
    assert vm.records() == []


def test_exit_codes(vm):
    assert run_vm(vm, "busybox", "true").returncode == 0
    assert run_vm(vm, "busybox", "false").returncode == 1
    # The guest's process is pid 1 of its pid namespace, as a container's
    # is: `kill -9 $$` is ignored there in both (the shell goes on to exit
    # 4); a process killed by SIGKILL is 137 (a shell inside passes its
    # child's status on; `vessel kill` from outside: test_kill_is_137...).
    for script, code in (("kill -9 $$; exit 4", 4), ('sh -c "kill -9 \\$\\$"; exit $?', 137)):
        res = run_vm(vm, "busybox", "sh", "-c", script)
        ctr = vm("run", "--rm", "busybox", "sh", "-c", script)
        assert res.returncode == ctr.returncode == code, (script, res.stderr, ctr.stderr)


def test_stdout_and_stderr_separated(vm):
    res = run_vm(vm, "busybox", "sh", "-c", "echo out; echo err >&2; echo out2; exit 7")
    assert res.returncode == 7
    assert res.stdout == "out\nout2\n"
    assert res.stderr == "err\n"


def test_large_output_arrives_whole(vm):
    res = run_vm(vm, "busybox", "sh", "-c", "seq 1 20000")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "".join(f"{i}\n" for i in range(1, 20001))


def test_stdin_with_interactive(vm):
    res = vm("run", "-i", "--rm", "--isolation=vm", "busybox", "sh", "-c", "wc -l; echo done",
             input=b"a\nb\nc\n", timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["3", "done"]


def test_missing_command_is_127(vm):
    res = run_vm(vm, "busybox", "/no/such/cmd")
    assert res.returncode == 127
    assert "/no/such/cmd" in res.stderr


def test_env_workdir_user(vm):
    res = run_vm(vm, "-e", "FOO=bar", "-w", "/tmp", "-u", "nobody", "busybox", "sh", "-c",
                 "echo $FOO; pwd; id -u; id -g")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["bar", "/tmp", "65534", "65534"]


def test_env_file_and_entrypoint(vm, tmp_path):
    env = tmp_path / "env"
    env.write_text("# a comment\nFROM_FILE=one two\nOVERRIDDEN=file\n")
    res = run_vm(vm, "--env-file", str(env), "-e", "OVERRIDDEN=flag", "--entrypoint", "/bin/sh",
                 "busybox", "-c", 'echo "$FROM_FILE|$OVERRIDDEN|$0"')
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["one two|flag|/bin/sh"]


def test_wait_returns_the_guests_exit_code(vm):
    cid = vm.ok("run", "-d", "--isolation=vm", "busybox", "sh", "-c", "sleep 1; exit 7").strip()
    res = vm("wait", cid, timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "7"
    # A second wait of the exited VM answers at once, as for a container.
    assert vm.ok("wait", cid).strip() == "7"
    vm.ok("rm", cid)


def test_hostname_and_etc_files_as_for_a_container(vm):
    res = run_vm(vm, "--hostname", "vmbox", "busybox", "sh", "-c",
                 "hostname; cat /etc/hostname; grep -c vmbox /etc/hosts")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["vmbox", "vmbox", "1"]


# (Not `ulimit -u`: the default process limit follows each kernel's RAM.)
STATUS = 'grep -E "^(Cap|NoNewPrivs|Seccomp:)" /proc/self/status; ulimit -n'


@pytest.mark.parametrize("flags", [
    [],
    ["--cap-drop", "ALL"],
    ["--cap-add", "SYS_ADMIN", "--ulimit", "nofile=100:200"],
    ["--security-opt", "no-new-privileges", "-u", "nobody"],
    ["--security-opt", "seccomp=unconfined"],
    ["--privileged"],
])
def test_process_isolation_same_as_container(vm, flags):
    """The guest's process gets the isolation a container would: the same
    capability sets, no_new_privs, seccomp mode and rlimits as the same
    command run as a container (the reference, on the host kernel)."""
    ctr = vm("run", "--rm", *flags, "busybox", "sh", "-c", STATUS)
    assert ctr.returncode == 0, ctr.stderr
    res = run_vm(vm, *flags, "busybox", "sh", "-c", STATUS)
    assert res.returncode == 0, res.stderr
    assert res.stdout == ctr.stdout


# What the container's process sees of its root, its tmpfs, /proc and its
# pid namespace (lines that differ between a VM and a container only when
# the guest's isolation differs from the runtime's).
PATHS = (
    'echo pid=$$; touch /x 2>/dev/null && echo root=rw || echo root=ro; '
    'touch /scratch/y && echo scratch=rw; df -k /scratch | awk \'NR==2{print "scratch-kb="$2}\'; '
    '[ -s /proc/kcore ] && echo kcore=readable || echo kcore=masked; '
    'echo "firmware=$(ls /sys/firmware 2>/dev/null | wc -l)"; '
    '(echo 1 > /proc/sys/vm/drop_caches) 2>/dev/null && echo procsys=rw || echo procsys=ro; '
    'echo "pid1=$(tr "\\0" " " < /proc/1/cmdline | cut -c1-12)"'
)


@pytest.mark.parametrize("flags", [
    ["--tmpfs", "/scratch:size=1m"],
    ["--read-only", "--tmpfs", "/scratch:size=2m,mode=1777"],
    ["--mount", "type=tmpfs,destination=/scratch,tmpfs-size=1048576", "--cap-add", "SYS_ADMIN"],
])
def test_paths_and_pid_namespace_same_as_container(vm, flags):
    """The rest of a container's isolation, applied by the agent in the
    guest: --read-only, --tmpfs/--mount type=tmpfs, the masked and
    read-only paths (/proc/kcore, /sys/firmware, /proc/sys), and a pid
    namespace of its own (the process is pid 1 and sees only its own
    processes, not the agent): the same lines as the same command run as
    a container on the host kernel."""
    ctr = vm("run", "--rm", *flags, "busybox", "sh", "-c", PATHS)
    assert ctr.returncode == 0, ctr.stderr
    assert "pid=1\n" in ctr.stdout and "kcore=masked" in ctr.stdout, ctr.stdout
    res = run_vm(vm, *flags, "busybox", "sh", "-c", PATHS)
    assert res.returncode == 0, res.stderr
    assert res.stdout == ctr.stdout


def test_seccomp_filter_enforced_in_guest(vm):
    # Docker's default profile denies unshare of a user namespace... through
    # the filter compiled on the host and installed by the agent.
    res = run_vm(vm, "busybox", "unshare", "-U", "true")
    assert res.returncode != 0
    assert "Operation not permitted" in res.stderr, res.stderr
    ok = run_vm(vm, "--security-opt", "seccomp=unconfined", "--cap-add", "SYS_ADMIN",
                "busybox", "unshare", "-U", "true")
    assert ok.returncode == 0, ok.stderr


def test_memory_is_guest_ram(vm):
    res = run_vm(vm, "--memory", "128m", "busybox", "grep", "MemTotal", "/proc/meminfo")
    assert res.returncode == 0, res.stderr
    kib = int(res.stdout.split()[1])
    # The guest's RAM less what its kernel reserves: not the host's.
    assert 90 * 1024 < kib <= 128 * 1024, res.stdout


def test_cpus_are_vcpus(vm):
    if os.cpu_count() < 2:
        pytest.skip("--cpus 2 needs 2 host CPUs")
    res = run_vm(vm, "--cpus", "2", "busybox", "nproc")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "2\n"
    res = run_vm(vm, "busybox", "nproc")
    assert res.stdout == "1\n"


def test_writes_land_in_the_container_rootfs(vm):
    """The guest runs the rootfs the engine prepared for the container: a
    file written in the VM is in the container's filesystem afterwards."""
    res = vm("run", "--name", "w", "--isolation=vm", "busybox", "sh", "-c",
             "echo from-guest > /root/f", timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    upper = Path(vm.inspect("w")["GraphDriver"]["Data"]["UpperDir"])
    assert (upper / "root" / "f").read_text() == "from-guest\n"


def test_volumes_are_shared_with_the_host(vm, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "in").write_text("from-host\n")
    res = run_vm(vm, "-v", f"{vol}:/data", "busybox", "sh", "-c",
                 "cat /data/in; echo from-guest > /data/out")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "from-host\n"
    assert (vol / "out").read_text() == "from-guest\n"
    res = run_vm(vm, "-v", f"{vol}:/data:ro", "busybox", "sh", "-c", "echo x > /data/x")
    assert res.returncode == 1
    assert "Read-only file system" in res.stderr
    assert not (vol / "x").exists()


MMAP_WRITER = r"""
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv)
{
        int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || ftruncate(fd, 4096) < 0) { perror(argv[1]); return 2; }
        char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) { perror("mmap MAP_SHARED"); return 3; }
        strcpy(p, argv[2]);
        if (msync(p, 4096, MS_SYNC) < 0 || munmap(p, 4096) < 0) { perror("msync"); return 4; }
        return 0;
}
"""


def test_shared_writable_mmap_on_9p(vm, tmp_path):
    """The 9p root and volumes take shared writable mappings (cache=mmap;
    cache=none refused them with EINVAL), and what the guest writes through
    one reaches the host."""
    vol = tmp_path / "vol"
    vol.mkdir()
    (tmp_path / "w.c").write_text(MMAP_WRITER)
    subprocess.run(["cc", "-static", "-O1", "-o", str(vol / "mmapw"), str(tmp_path / "w.c")],
                   check=True, timeout=120)
    res = run_vm(vm, "-v", f"{vol}:/data", "busybox", "sh", "-c",
                 "/data/mmapw /data/out via-volume && /data/mmapw /root-file via-root && "
                 "head -c 8 /root-file")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "via-root"
    assert (vol / "out").read_bytes().rstrip(b"\0") == b"via-volume"


# The capabilities QEMU keeps (src/vm/jail.c): CHOWN, DAC_OVERRIDE,
# DAC_READ_SEARCH, FOWNER, FSETID.
JAIL_CAPS = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4)


def _status(pid):
    return dict(l.split(":\t", 1) for l in Path(f"/proc/{pid}/status").read_text().splitlines()
                if ":\t" in l)


def test_qemu_is_jailed(vm, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    secret = tmp_path / "secret"
    secret.write_text("host-only\n")
    _start_vm(vm, "j", "sleep 1000", "-v", f"{vol}:/data")
    [q] = _qemu_pids(str(vm.data_root))
    root = Path(f"/proc/{q}/root")
    # A root of its own with only what it needs.
    assert sorted(os.listdir(root)) == ["bin", "dev", "etc", "lib", "lib64", "proc", "sbin",
                                        "usr", "vm"]
    assert sorted(os.listdir(root / "dev")) == ["null", "random", "urandom", "zero"]
    assert sorted(os.listdir(root / "vm")) == ["console.log", "initrd", "kernel", "rootfs",
                                               "vol0"]
    assert os.listdir(root / "etc") in ([], ["ld.so.cache"])
    # Host paths it does not need are not there: not the test's files, not
    # the data root, not the host's /tmp, /root, /var, /work.
    for p in (secret, vm.data_root, Path("/tmp"), Path("/root"), Path("/var"), Path("/work")):
        assert not os.path.exists(f"{root}{p}"), p
    # Its own pid, mount and network namespaces; it is pid 1 in its own.
    for ns in ("pid", "mnt", "net", "ipc", "uts"):
        assert os.readlink(f"/proc/{q}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), ns
    st = _status(q)
    assert st["NSpid"].split()[-1] == "1", st["NSpid"]
    assert st["NoNewPrivs"].strip() == "1"
    assert st["Seccomp"].strip() == "2"  # QEMU's -sandbox
    assert int(st["CapBnd"], 16) == JAIL_CAPS, st["CapBnd"]
    assert int(st["CapEff"], 16) & ~JAIL_CAPS == 0, st["CapEff"]
    # /usr and the kernel are read-only to it.
    mounts = Path(f"/proc/{q}/mountinfo").read_text().splitlines()
    opts = {l.split()[4]: l.split()[5] for l in mounts}
    assert opts["/usr"].startswith("ro") and opts["/vm/kernel"].startswith("ro"), opts
    assert "nodev" in opts["/vm/rootfs"] and "nosuid" in opts["/vm/rootfs"], opts


def _allocations(data_root):
    d = Path(data_root) / "userns"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_qemu_runs_as_an_unprivileged_uid(vm, tmp_path):
    """QEMU is root of a user namespace of its own whose ids 0-65535 are a
    range of host ids allocated for the VM (docs/vm.md, "QEMU's jail");
    the rootfs and the volumes are idmapped for it, so what the guest
    writes over 9p keeps the container's ids on the host, and rm releases
    the range."""
    vol = tmp_path / "vol"
    vol.mkdir()
    vm.ok("volume", "create", "nv")
    named = Path(json.loads(vm.ok("volume", "inspect", "nv"))[0]["Mountpoint"])
    _start_vm(vm, "u", "sleep 1000", "-v", f"{vol}:/data", "-v", "nv:/nv")
    cid = vm.inspect("u")["Id"]
    assert _allocations(vm.data_root) == [cid]
    [q] = _qemu_pids(str(vm.data_root))
    st = _status(q)
    uids = [int(x) for x in st["Uid"].split()]
    gids = [int(x) for x in st["Gid"].split()]
    base = uids[0]
    assert base >= 65536 and uids == [base] * 4, st["Uid"]
    assert gids[0] >= 65536 and gids == [gids[0]] * 4, st["Gid"]
    assert st["Groups"].strip() == "", st["Groups"]
    assert Path(f"/proc/{q}/uid_map").read_text().split() == ["0", str(base), "65536"]
    assert Path(f"/proc/{q}/gid_map").read_text().split() == ["0", str(gids[0]), "65536"]
    info = vm.inspect("u")["VM"]
    assert (info["HypervisorUid"], info["HypervisorGid"]) == (base, gids[0]), info
    # Still only the jail's capabilities, now over its own ids.
    assert int(st["CapBnd"], 16) == JAIL_CAPS, st["CapBnd"]
    # Written as the guest's root and as its uid 1000, in the rootfs, a
    # bind-mounted directory and a named volume.
    script = ("set -e; for d in /data /nv /; do touch $d/by-root; mkdir $d/u; "
              "chown 1000:1000 $d/u; done")
    res = vm("exec", "u", "sh", "-c", script, timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    res = vm("exec", "-u", "1000:1000", "u", "sh", "-c",
             "set -e; for d in /data /nv /; do echo payload > $d/u/by-1000; done",
             timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    upper = Path(vm.inspect("u")["GraphDriver"]["Data"]["UpperDir"])
    for d in (vol, named, upper):
        st0 = (d / "by-root").stat()
        assert (st0.st_uid, st0.st_gid) == (0, 0), d
        st1 = (d / "u" / "by-1000").stat()
        assert (st1.st_uid, st1.st_gid) == (1000, 1000), d
        assert (d / "u" / "by-1000").read_text() == "payload\n"
        assert (d / "u").stat().st_uid == 1000
    # The host's files the guest sees are its own root's (the image's
    # too): the guest reads them back with the container's ids.
    res = vm("exec", "u", "stat", "-c", "%u %g", "/data/by-root", "/bin/sh", "/nv/u/by-1000",
             timeout=TIMEOUT)
    assert res.stdout.split() == ["0", "0", "0", "0", "1000", "1000"], res.stdout
    # `cp` into it is made as its root (host root's owner could not be
    # stored through the idmapped upper dir).
    (tmp_path / "cpf").write_text("copied\n")
    vm.ok("cp", str(tmp_path / "cpf"), "u:/cpf")
    assert (upper / "cpf").stat().st_uid == 0
    res = vm("exec", "u", "sh", "-c", "stat -c %u /cpf; cat /cpf", timeout=TIMEOUT)
    assert res.stdout.split() == ["0", "copied"], res.stdout + res.stderr
    assert vm("rm", "-f", "u").returncode == 0
    assert _allocations(vm.data_root) == []


def _cgroup_dirs(pid):
    """The directories of pid's cgroups, in every hierarchy."""
    paths = {l.split(":", 2)[2] for l in Path(f"/proc/{pid}/cgroup").read_text().splitlines()}
    return sorted({os.path.normpath(f"{mp}/{p}") for mp in helpers.cgroup_mountpoints()
                   for p in paths if p != "/" and os.path.isdir(f"{mp}/{p}")})


def _cg_read(dirs, *names):
    for name in names:
        for d in dirs:
            if os.path.exists(os.path.join(d, name)):
                return Path(d, name).read_text().strip()
    raise AssertionError(f"none of {names} in {dirs}")


def test_vm_runs_in_the_containers_cgroup(vm):
    """QEMU and its launcher are in the container's cgroup (vessel-<id>),
    whose memory limit is the guest's RAM plus QEMU's 128 MiB; rm removes
    it, and so does rm after a kill -9 of the monitor (which QEMU does not
    outlive), and `system prune` when an rm was killed after removing the
    record (the directory then holds only what names the cgroup)."""
    for case in ("rm", "kill-rm", "kill-prune"):
        kill_monitor = case != "rm"
        name = f"cg-{case}"
        _start_vm(vm, name, "sleep 1000", "--memory", "128m")
        info = vm.inspect(name)
        cid = info["Id"]
        [q] = _qemu_pids(str(vm.data_root))
        for pid in (q, info["State"]["Pid"]):
            lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
            assert all(l.endswith(f"/vessel-{cid}") for l in lines), lines
        dirs = _cgroup_dirs(q)
        assert dirs and all(d.endswith(f"/vessel-{cid}") for d in dirs), dirs
        assert int(_cg_read(dirs, "memory.limit_in_bytes", "memory.max")) == 256 << 20
        procs = {int(p) for p in _cg_read(dirs, "cgroup.procs").split()}
        assert {q, info["State"]["Pid"]} <= procs, procs
        if kill_monitor:
            os.kill(info["MonitorPid"], 9)
            helpers.wait_for(lambda: _qemu_pids(str(vm.data_root)) == [], 30, what="QEMU gone")
            assert any(os.path.isdir(d) for d in dirs)  # until rm
        if case == "kill-prune":
            ctr_dir = vm.data_root / "containers" / cid
            assert (ctr_dir / "vm-cgroup.json").exists()
            (ctr_dir / "record.json").unlink()
            assert vm("system", "prune", "-f").returncode == 0
            assert not ctr_dir.exists()
        else:
            assert vm("rm", "-f", name).returncode == 0
        assert [d for d in dirs if os.path.exists(d)] == []


def test_pids_limit_applies_in_the_guest(vm):
    """--pids-limit limits the container's processes in the guest (a cgroup
    of the guest's, which exec'd processes join too), not QEMU's threads:
    the host cgroup's pids.max is the limit plus QEMU's allowance."""
    _start_vm(vm, "pl", "sleep 1000", "--pids-limit", "12")
    [q] = _qemu_pids(str(vm.data_root))
    assert int(_cg_read(_cgroup_dirs(q), "pids.max")) == 12 + 256
    # The main process (sh execs sleep 1000) and the exec's sh are 2: at
    # most 10 sleeps start, then busybox sh's fork fails and it gives up.
    res = vm("exec", "pl", "sh", "-c",
             "n=0; for i in $(seq 30); do sleep 100 >/dev/null 2>&1 & n=$((n+1)); echo $n; done",
             timeout=TIMEOUT)
    assert res.returncode != 0 and "fork" in res.stderr, (res.stdout, res.stderr)
    started = int(res.stdout.split()[-1])
    assert 3 <= started <= 10, (res.stdout, res.stderr)
    assert vm("rm", "-f", "pl", timeout=TIMEOUT).returncode == 0


def test_guest_cannot_create_device_nodes_on_the_host(vm, tmp_path):
    """9p passthrough writes what the guest asks for into host directories:
    QEMU lacks CAP_MKNOD in its jail, so a guest's device node never lands
    on the host (in a volume or the container's upper layer), while
    ownership changes still pass through (CAP_CHOWN). (A device node the
    guest opens is its own kernel's device: 9p carries only its numbers.)"""
    vol = tmp_path / "vol"
    vol.mkdir()
    res = run_vm(vm, "-v", f"{vol}:/data", "busybox", "sh", "-c",
                 "mknod /data/null c 1 3 || echo mknod-failed; "
                 "mknod /tmp/null c 1 3 || echo mknod-failed; "
                 "touch /data/f && chown 1234:1234 /data/f && stat -c %u /data/f")
    assert res.stdout.split() == ["mknod-failed", "mknod-failed", "1234"], res.stderr
    assert "Operation not permitted" in res.stderr
    assert not (vol / "null").exists()
    assert (vol / "f").stat().st_uid == 1234


def test_default_network_is_loopback_only(vm):
    res = run_vm(vm, "busybox", "sh", "-c",
                 "ls /sys/class/net; ip -o link show lo | grep -c UP; "
                 "(echo hi | nc -l -p 1234 &) ; sleep 0.5; nc 127.0.0.1 1234 </dev/null")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["lo", "1", "hi"], res.stdout


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_user_mode_network_and_published_port(vm):
    import socket
    port = _free_port()
    _start_vm(vm, "n", "ip -o -4 addr show eth0; ip route; "
              "while true; do echo reply-from-guest | nc -l -p 8080; done",
              "--network", "slirp4netns", "-p", f"127.0.0.1:{port}:8080")
    helpers.wait_for(lambda: "default via" in vm("logs", "n").stdout, 60, what="the routes")
    logs = vm("logs", "n").stdout
    assert "10.0.2.15/24" in logs and "default via 10.0.2.2" in logs, logs

    def fetch():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                return c.recv(100)
        except OSError:
            return b""

    helpers.wait_for(lambda: fetch() == b"reply-from-guest\n", 60, what="the published port")
    # QEMU stays in the host's network namespace for its user-mode network.
    [q] = _qemu_pids(str(vm.data_root))
    assert os.readlink(f"/proc/{q}/ns/net") == os.readlink("/proc/self/ns/net")
    assert vm("rm", "-f", "n").returncode == 0
    assert fetch() == b""


DNS_SERVER = r"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.2", 53))
print("ready", flush=True)
while True:
    q, peer = s.recvfrom(512)
    i = 12
    while q[i]:
        i += q[i] + 1
    qtype = int.from_bytes(q[i + 1:i + 3], "big")
    ans, n = b"", 0
    if qtype == 1 and q[12:i + 1] == b"\x0avessel-dns\x04test\x00":
        ans = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([192, 0, 2, 7])
        n = 1
    hdr = q[:2] + b"\x81\x80\x00\x01" + n.to_bytes(2, "big") + b"\x00\x00\x00\x00"
    s.sendto(hdr + q[12:i + 5] + ans, peer)
"""


def test_user_mode_dns_reaches_a_loopback_resolver(vm, tmp_path):
    """With --network slirp4netns the guest's nameserver is libslirp's
    forwarder (10.0.2.3, as podman's slirp4netns gives), which relays to
    the host's first nameserver, a loopback one included. The "host" here
    is a network namespace of the test's, whose resolv.conf (bound over
    /etc/resolv.conf in a mount namespace of vessel's own) names a small
    DNS server on its 127.0.0.2 (not 127.0.0.1, where libslirp goes when
    it cannot read the host's resolv.conf)."""
    import sys
    ns = f"vs-vmdns-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    server = None
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        server = subprocess.Popen(["nsenter", f"--net=/run/netns/{ns}", sys.executable, "-c",
                                   DNS_SERVER], stdout=subprocess.PIPE, text=True)
        assert server.stdout.readline().strip() == "ready"
        resolv = tmp_path / "resolv.conf"
        resolv.write_text("nameserver 127.0.0.2\n")
        proc = subprocess.run(
            ["unshare", "-m", "--propagation", "private", "sh", "-c",
             'mount --bind "$0" /etc/resolv.conf && exec nsenter --net="$1" "$2" run --rm '
             '--isolation=vm --network slirp4netns busybox sh -c '
             '"cat /etc/resolv.conf; nslookup vessel-dns.test"',
             str(resolv), f"/run/netns/{ns}", vm.binary],
            env=vm.env, capture_output=True, text=True, timeout=TIMEOUT)
        assert proc.returncode == 0, (proc.stdout, proc.stderr)
        assert proc.stdout.splitlines()[0] == "nameserver 10.0.2.3", proc.stdout
        assert "192.0.2.7" in proc.stdout, proc.stdout
    finally:
        if server:
            server.kill()
            server.wait()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.mark.parametrize("args,words", [
    (["--network", "host"], ["--network host", "not supported with --isolation=vm"]),
    (["--network", "nosuchnet"], ["nosuchnet"]),
    (["-p", "8080:80"], ["-p", "slirp4netns"]),
    (["--network", "slirp4netns", "--ip", "10.0.2.20"], ["--ip"]),
])
def test_unsupported_network_flags_refused(vm, args, words):
    res = run_vm(vm, *args, "busybox", "true")
    _one_error_line(res, *words)
    assert vm.records() == []


def test_vm_on_a_vessel_network(vm_kernel, net):
    """--network NAME: a tap on the network's bridge, passed to QEMU as an
    fd: the guest holds its leased address itself and the network's MTU, reaches its peers (by
    name and address), a peer reaches every port of the VM (published or
    not), the host through -p. The tap goes with QEMU (kill -9 of the
    monitor) and with rm. Everything in a network namespace of the test's
    (test_network.py's `net` fixture, which also checks that no veth or tap,
    lease or rule is left)."""
    net.ok("network", "create", "--ipv6", "--subnet", "10.31.0.0/24", "--subnet",
           "fd00:31::/64", "vmnet")
    net.ok("run", "-d", "--name", "web", "--network", "vmnet", "busybox", "sh", "-c",
           "echo served-by-web > /tmp/index.html; exec httpd -f -p 80 -h /tmp")
    cid = net.ok("run", "-d", "--name", "vmweb", "--isolation=vm", "--network", "vmnet",
                 "-p", "127.0.0.1:8080:80", "busybox", "sh", "-c",
                 "(while true; do echo unpublished | nc -l -p 7000; done) & "
                 "echo served-by-vm > /tmp/i.html; echo up; exec httpd -f -p 80 -h /tmp",
                 timeout=TIMEOUT).strip()
    helpers.wait_for(lambda: "up" in net.ok("logs", "vmweb"), 120, what="the guest")
    vm_ip = net.net("vmnet")["Containers"][cid]["IPv4Address"].split("/")[0]
    assert vm_ip.startswith("10.31.0."), vm_ip
    # The guest's own eth0 holds the lease (not libslirp's 10.0.2.15).
    addrs = net.ok("exec", "vmweb", "ip", "-o", "-4", "addr", "show", "eth0", timeout=TIMEOUT)
    assert f"inet {vm_ip}/24" in addrs, addrs
    # ... and its IPv6 lease on the dual-stack network, usable at once (no
    # DAD), with the default route through the network's gateway.
    vm_ip6 = net.net("vmnet")["Containers"][cid]["IPv6Address"].split("/")[0]
    assert vm_ip6.startswith("fd00:31::"), vm_ip6
    addrs6 = net.ok("exec", "vmweb", "ip", "-o", "-6", "addr", "show", "eth0", timeout=TIMEOUT)
    assert f"inet6 {vm_ip6}/64" in addrs6 and "tentative" not in addrs6, addrs6
    routes6 = net.ok("exec", "vmweb", "ip", "-6", "route", "show", "default", timeout=TIMEOUT)
    assert "via fd00:31::1" in routes6, routes6
    # inspect shows the VM's accelerator and kernel on a network too.
    vm_info = json.loads(net.ok("inspect", "vmweb"))[0]["VM"]
    assert vm_info["Accelerator"] in ("kvm", "tcg") and vm_info["Kernel"], vm_info
    tap = net.leases()["vmnet"][cid]["Veth"]
    link = net.ip("-o", "-d", "link", "show", tap)
    assert "tun" in link and "master" in link, link
    # The network's MTU (the default, 65520) on the tap and on the guest's
    # NIC (set by the agent): frames between the VM and its peers are as
    # large as between containers.
    assert "mtu 65520" in link, link
    assert net.ok("exec", "vmweb", "cat", "/sys/class/net/eth0/mtu",
                  timeout=TIMEOUT) == "65520\n"
    helpers.wait_for(lambda: net("exec", "vmweb", "wget", "-qO-", "http://web/index.html",
                                 timeout=TIMEOUT).stdout == "served-by-web\n",
                     60, what="the peer from the VM")
    helpers.wait_for(lambda: net("exec", "web", "wget", "-qO-",
                                 f"http://{vm_ip}/i.html").stdout == "served-by-vm\n",
                     60, what="the VM from its peer")
    helpers.wait_for(lambda: net("exec", "web", "wget", "-qO-",
                                 f"http://[{vm_ip6}]/i.html").stdout == "served-by-vm\n",
                     60, what="the VM from its peer over IPv6")
    web_ip6 = json.loads(net.ok("inspect", "web"))[0]["NetworkSettings"]["GlobalIPv6Address"]
    helpers.wait_for(lambda: net("exec", "vmweb", "wget", "-qO-", f"http://[{web_ip6}]/index.html",
                                 timeout=TIMEOUT).stdout == "served-by-web\n",
                     60, what="the peer from the VM over IPv6")
    # A port nobody published: the peer reaches it all the same.
    helpers.wait_for(lambda: net("exec", "web", "sh", "-c",
                                 f"nc {vm_ip} 7000 </dev/null").stdout == "unpublished\n",
                     60, what="an unpublished port of the VM from its peer")
    assert wget_in(net.netns, "http://127.0.0.1:8080/i.html") == "served-by-vm\n"
    # kill -9 of the monitor: QEMU goes, and its tap with it.
    os.kill(json.loads(net.ok("inspect", "vmweb"))[0]["MonitorPid"], 9)
    helpers.wait_for(lambda: tap not in net.ip("-o", "link"), 30, what="the tap gone")
    net.ok("rm", "-f", "vmweb", timeout=TIMEOUT)


def test_file_binds(vm, tmp_path):
    """A bind of a regular file: shared as the one entry of a directory of
    its own, bound by the agent at the destination (made when the image
    has none, under a directory volume too); rw writes reach the host's
    file, ro refuses them; nothing beside the file is visible."""
    (tmp_path / "secret").write_text("not-shared\n")
    f = tmp_path / "file"
    f.write_text("from-host\n")
    ro = tmp_path / "ro"
    ro.write_text("read-only\n")
    vol = tmp_path / "vol"
    vol.mkdir()
    res = run_vm(vm, "-v", f"{f}:/new/dir/f", "-v", f"{ro}:/etc/motd:ro",
                 "-v", f"{vol}:/data", "-v", f"{f}:/data/inner",
                 "busybox", "sh", "-c",
                 "cat /new/dir/f /etc/motd /data/inner; ls /new/dir; "
                 "echo from-guest > /new/dir/f; "
                 "echo x > /etc/motd 2>/dev/null && echo ro-written; "
                 "ls -a / | grep -c vessel-files; true")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["from-host", "read-only", "from-host", "f", "0"], res.stdout
    assert f.read_text() == "from-guest\n"
    assert ro.read_text() == "read-only\n"
    # the mount point made in the volume, as runc makes it; left empty
    assert (vol / "inner").read_text() == ""
    assert vm.records() == []


def test_special_file_bind_refused(vm, tmp_path):
    import socket
    path = tmp_path / "sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    try:
        res = run_vm(vm, "-v", f"{path}:/s", "busybox", "true")
    finally:
        s.close()
    _one_error_line(res, "only directories and regular files", str(path))
    assert vm.records() == []


def test_inspect_shows_isolation_accelerator_kernel(vm, vm_kernel):
    res = vm("run", "--name", "insp", "--isolation=vm", "busybox", "true", timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    info = vm.inspect("insp")
    assert info["HostConfig"]["Isolation"] == "vm"
    assert info["State"]["ExitCode"] == 0
    v = info["VM"]
    accel = _expected_accel()
    assert v["Accelerator"] in ("tcg", "kvm")
    if accel:
        assert v["Accelerator"] == accel, v
    assert v["Kernel"] == vm_kernel
    assert v["MemoryMiB"] == 256 and v["Cpus"] == 1
    plain = vm("run", "--name", "plain", "busybox", "true", timeout=TIMEOUT)
    assert plain.returncode == 0
    assert vm.inspect("plain")["HostConfig"]["Isolation"] == "container"
    assert "VM" not in vm.inspect("plain")


def test_detached_logs_stop_delivers_sigterm(vm):
    res = vm("run", "-d", "--name", "d", "--isolation=vm", "busybox", "sh", "-c",
             "trap 'echo got-term; exit 3' TERM; echo up; while true; do sleep 0.1; done",
             timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    helpers.wait_for(lambda: "up" in vm("logs", "d").stdout, 120, what="the guest's output")
    assert vm.inspect("d")["State"]["Running"]
    assert len(_qemu_pids(str(vm.data_root))) == 1
    stop = vm("stop", "-t", "60", "d", timeout=TIMEOUT)
    assert stop.returncode == 0, stop.stderr
    info = vm.inspect("d")
    assert info["State"]["Status"] == "exited"
    assert info["State"]["ExitCode"] == 3
    assert vm("logs", "d").stdout == "up\ngot-term\n"
    assert _qemu_pids(str(vm.data_root)) == []


def test_kill_is_137_and_ends_qemu(vm):
    res = vm("run", "-d", "--name", "k", "--isolation=vm", "busybox", "sleep", "1000",
             timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    vm.wait_state("k", lambda i: i["State"]["Running"], what="running")
    helpers.wait_for(lambda: len(_qemu_pids(str(vm.data_root))) == 1, 30, what="QEMU")
    assert vm("kill", "k").returncode == 0
    vm.wait_state("k", lambda i: i["State"]["Status"] == "exited", timeout=60, what="exited")
    assert vm.inspect("k")["State"]["ExitCode"] == 137
    helpers.wait_for(lambda: _qemu_pids(str(vm.data_root)) == [], 30, what="QEMU gone")


def test_create_then_start_attached(vm):
    cid = vm.ok("create", "--name", "cs", "--isolation=vm", "busybox", "sh", "-c",
                "echo started; exit 4").strip()
    assert vm.inspect("cs")["State"]["Status"] == "created"
    res = vm("start", "-a", "cs", timeout=TIMEOUT)
    assert res.returncode == 4, res.stderr
    assert res.stdout == "started\n"
    assert vm.inspect(cid)["State"]["ExitCode"] == 4


def test_restart_policy_restarts_a_crashing_vm(vm):
    res = vm("run", "-d", "--name", "r", "--restart", "on-failure:2", "--isolation=vm",
             "busybox", "sh", "-c", "echo boot; exit 3", timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    info = vm.wait_state("r", lambda i: i["RestartCount"] == 2 and
                         i["State"]["Status"] == "exited" and not vm.monitor_alive("r"),
                         timeout=180, what="two restarts, then exited")
    assert info["State"]["ExitCode"] == 3
    assert vm("logs", "r").stdout == "boot\n" * 3


def test_boot_timeout_kills_the_hypervisor(vm, tmp_path):
    """A hypervisor that never boots anything: the run fails after the boot
    timeout, says so, and the process is gone."""
    # (It runs in QEMU's jail, which sees nothing of tmp_path: it is found
    # by its unique sleep duration.)
    fake = tmp_path / "qemu"
    fake.write_text("#!/bin/sh\nexec sleep 987.654\n")
    fake.chmod(0o755)
    vm.env["VESSEL_QEMU"] = str(fake)
    vm.env["VESSEL_VM_BOOT_TIMEOUT"] = "3"

    def hung():
        return [p for p in Path("/proc").iterdir() if p.name.isdigit() and
                _cmdline(p) == "sleep 987.654"]

    res = vm("run", "--rm", "--isolation=vm", "busybox", "true", timeout=TIMEOUT)
    assert res.returncode == 125
    assert "did not boot within 3 s" in res.stderr, res.stderr
    helpers.wait_for(lambda: hung() == [], 10, what="hung QEMU gone")
    assert vm.records() == []


def test_unsupported_commands_say_so(vm):
    res = vm("run", "-d", "--name", "u", "--isolation=vm", "busybox", "sleep", "1000",
             timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    vm.wait_state("u", lambda i: i["State"]["Running"], what="running")
    # top lists the guest's processes (test_vm_checkpoint.py); the host's
    # ps options cannot apply to them.
    for cmd in (["top", "u", "aux"],):
        r = vm(*cmd)
        assert r.returncode != 0, cmd
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "runs in a VM" in lines[0], (cmd, r.stderr)
    assert vm.inspect("u")["State"]["Running"]


def _start_vm(vm, name, script="sleep 1000", *flags):
    """A detached VM container whose guest has printed 'up' (so it is
    booted and its launcher takes exec requests)."""
    res = vm("run", "-d", "--name", name, "--isolation=vm", *flags, "busybox", "sh", "-c",
             f"echo up; {script}", timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    helpers.wait_for(lambda: "up" in vm("logs", name).stdout, 120, what="the guest's output")


def test_detached_exec_into_a_vm_gets_its_exec_die(vm):
    """exec -d into a VM: the request returns at once; a waiter keeps the
    session and writes exec_die with the exit code when the process ends in
    the guest, 137 when the VM's end takes it."""
    _start_vm(vm, "xd")

    def dies():
        out = vm.ok("events", "--since", "10m", "--until", str(time.time() + 0.2),
                    "--filter", "container=xd", "--filter", "event=exec_die",
                    "--format", "{{json .}}")
        return [json.loads(l)["Actor"]["Attributes"]["exitCode"] for l in out.splitlines()]

    start = time.monotonic()
    res = vm("exec", "-d", "xd", "sh", "-c", "sleep 1; exit 7", timeout=TIMEOUT)
    assert res.returncode == 0 and res.stdout == "" and res.stderr == "", res.stderr
    assert time.monotonic() - start < 30
    helpers.wait_for(lambda: dies() == ["7"], 60, what="the detached exec's exec_die")
    vm.ok("exec", "-d", "xd", "sleep", "100", timeout=TIMEOUT)
    time.sleep(1)
    assert vm("rm", "-f", "xd", timeout=TIMEOUT).returncode == 0
    helpers.wait_for(lambda: dies() == ["7", "137"], 60, what="the killed exec's exec_die")


def test_exec_into_a_running_vm(vm):
    _start_vm(vm, "x", "echo from-main > /tmp/f; exec sleep 1000")
    # The same root (a file the main process wrote) and the same processes.
    res = vm("exec", "x", "sh", "-c", "cat /tmp/f; pidof sleep >/dev/null && echo sees-main",
             timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "from-main\nsees-main\n"
    # The guest's kernel.
    assert vm.ok("exec", "x", "uname", "-r", timeout=TIMEOUT).strip() != os.uname().release
    res = vm("exec", "-e", "FOO=bar", "-w", "/var/newdir", "-u", "nobody", "x", "sh", "-c",
             "echo $FOO; pwd; id -u; id -g; echo err >&2; exit 5", timeout=TIMEOUT)
    assert res.returncode == 5, res.stderr
    assert res.stdout.splitlines() == ["bar", "/var/newdir", "65534", "65534"]
    assert res.stderr == "err\n"
    res = vm("exec", "x", "/no/such/cmd", timeout=TIMEOUT)
    assert res.returncode == 127 and "/no/such/cmd" in res.stderr, res.stderr
    res = vm("exec", "x", "sh", "-c", "kill -9 $$", timeout=TIMEOUT)
    assert res.returncode == 137, res.stderr
    res = vm("exec", "-i", "x", "sh", "-c", "wc -l", input=b"a\nb\n", timeout=TIMEOUT)
    assert res.returncode == 0 and res.stdout.strip() == "2", res.stderr
    # Without -i the process's stdin is empty, not the caller's.
    res = vm("exec", "x", "sh", "-c", "wc -c", input=b"abc", timeout=TIMEOUT)
    assert res.stdout.strip() == "0", res.stderr
    # -d: runs on in the guest without a client.
    assert vm("exec", "-d", "x", "sh", "-c", "sleep 1; echo bg > /tmp/d").returncode == 0
    helpers.wait_for(lambda: vm("exec", "x", "cat", "/tmp/d", timeout=TIMEOUT).stdout == "bg\n",
                     60, what="the detached exec's file")
    # The container's isolation applies to exec'd processes too.
    res = vm("exec", "x", "grep", "-E", "^(CapBnd|NoNewPrivs|Seccomp):", "/proc/self/status",
             timeout=TIMEOUT)
    main = vm("exec", "x", "sh", "-c",
              'grep -E "^(CapBnd|NoNewPrivs|Seccomp):" /proc/$(pidof sleep)/status',
              timeout=TIMEOUT)
    assert res.stdout == main.stdout and "Seccomp:\t2" in res.stdout, (res.stdout, main.stdout)
    assert vm.inspect("x")["State"]["Running"]


def test_exec_signals_and_container_end(vm):
    _start_vm(vm, "xs")
    proc = vm.popen("exec", "xs", "sh", "-c",
                    "trap 'echo got-term; exit 9' TERM; echo ready; "
                    "while true; do sleep 0.1; done",
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(15)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 9, err
    assert out == b"got-term\n"
    # A running exec when the container ends: killed with it (137).
    proc = vm.popen("exec", "xs", "sh", "-c", "echo ready; sleep 1000",
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"ready\n"
        assert vm("kill", "xs").returncode == 0
        proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 137


def _pty_session(argv, env, resize_to=None, send=None, timeout=TIMEOUT):
    """Runs argv with a new pty of 33x101 as its controlling terminal; at
    READY in the output resizes it (resize_to) and types send. Returns
    (exit status, output)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))

    def ctty():
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    p = subprocess.Popen(argv, env=env, stdin=slave, stdout=slave, stderr=slave,
                         start_new_session=True, preexec_fn=ctty)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    sent = False
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            out += data
        if not sent and b"READY" in out:
            sent = True
            if resize_to:
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", *resize_to, 0, 0))
                time.sleep(1)
            if send:
                os.write(master, send)
        if p.poll() is not None and not r:
            break
    os.close(master)
    try:
        code = p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        code = p.wait()
    return code, out.decode(errors="replace")


TTY_SCRIPT = ("tty; stty size; echo TERM=$TERM; echo READY; read x; stty size; "
              "echo got:$x; exit 5")


def _check_tty_session(code, out):
    assert code == 5, out
    lines = [l.strip() for l in out.splitlines() if l.strip()]
    # A pty of the guest's own (the container's devpts), sized as ours.
    assert lines[0].startswith("/dev/pts/"), out
    assert lines[1] == "33 101", out
    assert "TERM=xterm" in lines, out
    # Resized while running: the guest's pty follows.
    assert "40 120" in lines, out
    assert "got:abc" in lines, out
    # Our side is in raw mode: only the guest's pty echoes what we type.
    assert out.count("abc") == 2, out


def test_run_it_is_a_pty_in_the_guest(vm):
    code, out = _pty_session([vm.binary, "run", "--rm", "-it", "--isolation=vm", "busybox",
                              "sh", "-c", TTY_SCRIPT], vm.env, resize_to=(40, 120),
                             send=b"abc\r")
    _check_tty_session(code, out)
    assert vm.records() == []


def test_exec_it_is_a_pty_in_the_guest(vm):
    _start_vm(vm, "xt")
    code, out = _pty_session([vm.binary, "exec", "-it", "xt", "sh", "-c", TTY_SCRIPT], vm.env,
                             resize_to=(40, 120), send=b"abc\r")
    _check_tty_session(code, out)
    # ^C typed on our side reaches the guest's pty as the interrupt key.
    code, out = _pty_session([vm.binary, "exec", "-it", "xt", "sh", "-c",
                              "echo READY; sleep 1000"], vm.env, send=b"\x03")
    assert code == 130, out


COUNTER = "i=0; while true; do echo $i; i=$((i+1)); sleep 0.2; done"


def test_pause_unpause_stops_and_continues_the_guest(vm):
    _start_vm(vm, "p", "trap 'echo got-term; exit 3' TERM; " + COUNTER)
    assert vm("pause", "p").returncode == 0
    info = vm.inspect("p")
    assert info["State"]["Status"] == "paused" and info["State"]["Paused"], info["State"]
    before = vm("logs", "p").stdout
    time.sleep(2)
    assert vm("logs", "p").stdout == before, "the guest ran while paused"
    r = vm("exec", "p", "true")
    assert r.returncode != 0 and "paused" in r.stderr, r.stderr
    assert vm("pause", "p").returncode != 0  # already paused
    assert vm("unpause", "p").returncode == 0
    assert vm.inspect("p")["State"]["Status"] == "running"
    n = len(before.splitlines())
    helpers.wait_for(lambda: len(vm("logs", "p").stdout.splitlines()) > n + 3, 60,
                     what="the counter going on")
    assert vm("unpause", "p").returncode != 0  # not paused
    # stop of a paused VM: the guest is continued and gets SIGTERM.
    assert vm("pause", "p").returncode == 0
    assert vm("stop", "-t", "60", "p", timeout=TIMEOUT).returncode == 0
    info = vm.inspect("p")
    assert info["State"]["ExitCode"] == 3, info["State"]
    assert vm("logs", "p").stdout.endswith("got-term\n")


def test_stats_show_guest_memory_and_processes(vm):
    _start_vm(vm, "st", "sleep 1000 & sleep 1000 & wait", "--memory", "128m")

    def stats():
        res = vm("stats", "--no-stream", "--format", "json", "st", timeout=TIMEOUT)
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout.splitlines()[0])

    # "up" is printed before the shell forks its sleeps: wait for them.
    helpers.wait_for(lambda: stats()["PIDs"] == 3, 60, what="the guest's 3 processes")
    row = stats()
    # The guest's RAM (less what its kernel reserves), not the host's.
    assert 100 << 20 < row["MemLimit"] <= 128 << 20, row
    assert 0 < row["MemUsage"] < row["MemLimit"], row
    # sh and its two sleeps.
    assert row["PIDs"] == 3, row
    assert float(row["CPUPerc"].rstrip("%")) >= 0


# --------------------------------------------------------------------------
# host memory (docs/vm.md, "Host memory"; the figures: bench/vm-mem.sh)


def _guest_ram_kb(pid, mem_kb):
    """What QEMU holds resident of the guest's RAM (kB): its anonymous
    mapping of the guest's size."""
    size = None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and ":" not in head[0]:
            lo, hi = (int(x, 16) for x in head[0].split("-"))
            size = (hi - lo) // 1024 if len(head) == 5 else None
        elif head[0] == "Rss:" and size == mem_kb:
            return int(head[1])
    raise AssertionError(f"no {mem_kb} kB mapping in QEMU {pid}'s smaps")


def test_qemu_has_no_transparent_huge_pages(vm):
    """QEMU asks for huge pages on guest RAM and TCG's cache; the jail turns
    them off, so a page the guest touches costs the host 4 KiB, not 2 MiB."""
    _start_vm(vm, "thp", "sleep 1000", "--memory", "128m")
    [q] = _qemu_pids(str(vm.data_root))
    assert _status(q)["THP_enabled"].strip() == "0"
    rollup = Path(f"/proc/{q}/smaps_rollup").read_text()
    huge = [l for l in rollup.splitlines() if l.startswith("AnonHugePages:")]
    assert huge and int(huge[0].split()[1]) == 0, huge


def test_guest_hands_freed_memory_back_to_the_host(vm):
    """Free page reporting (virtio-balloon): 48 MiB the guest writes is
    resident in QEMU; once the guest frees it, the host gets it back."""
    _start_vm(vm, "fpr", "sleep 1000", "--memory", "128m")
    [q] = _qemu_pids(str(vm.data_root))
    res = vm("exec", "fpr", "sh", "-c",
             "dd if=/dev/zero of=/dev/shm/fill bs=1M count=48 2>/dev/null && echo filled",
             timeout=TIMEOUT)
    assert res.stdout.strip() == "filled", res.stderr
    full = _guest_ram_kb(q, 128 << 10)
    assert full > 48 << 10, full
    res = vm("exec", "fpr", "rm", "/dev/shm/fill", timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    helpers.wait_for(lambda: _guest_ram_kb(q, 128 << 10) < full - (32 << 10), 60, interval=1,
                     what=f"QEMU's guest RAM to fall from {full} kB by 32 MiB")


def test_control_port_buffers_are_bounded(vm):
    """QEMU's virtio-mmio offers every queue at 1024 entries and the guest's
    virtio-console fills its receive queues with a 4 KiB buffer each (8 MiB
    touched for the control port); the guest kernel takes 128 entries a
    queue (guest/build-kernel.sh)."""
    res = run_vm(vm, "busybox", "grep", "^kmalloc-4k ", "/proc/slabinfo")
    assert res.returncode == 0, res.stderr
    active = int(res.stdout.split()[1])
    assert active < 1024, res.stdout


def test_detached_tty_then_attach(vm):
    res = vm("run", "-dit", "--name", "dt", "--isolation=vm", "busybox", "sh", "-c",
             "echo up; read x; echo got:$x; exit 7", timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    helpers.wait_for(lambda: "up" in vm("logs", "dt").stdout, 120, what="the guest's output")
    # attach prints nothing before our input: type after a moment.
    master, slave = pty.openpty()
    p = subprocess.Popen([vm.binary, "attach", "dt"], env=vm.env, stdin=slave, stdout=slave,
                         stderr=slave, start_new_session=True)
    os.close(slave)
    time.sleep(1)
    os.write(master, b"hello\r")
    out = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and p.poll() is None:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                out += os.read(master, 4096)
            except OSError:
                break
    os.close(master)
    assert p.wait(timeout=10) == 7, out
    assert b"got:hello" in out, out
    assert vm.inspect("dt")["State"]["ExitCode"] == 7
    assert "got:hello" in vm("logs", "dt").stdout


def test_exec_into_stopped_vm_refused(vm):
    res = vm("create", "--name", "xc", "--isolation=vm", "busybox", "true")
    assert res.returncode == 0, res.stderr
    r = vm("exec", "xc", "true")
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "not running" in lines[0], r.stderr


def test_killed_monitor_takes_qemu_with_it(vm):
    res = vm("run", "-d", "--name", "m", "--isolation=vm", "busybox", "sleep", "1000",
             timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    vm.wait_state("m", lambda i: i["State"]["Running"], what="running")
    helpers.wait_for(lambda: len(_qemu_pids(str(vm.data_root))) == 1, 30, what="QEMU")
    os.kill(vm.inspect("m")["MonitorPid"], 9)
    helpers.wait_for(lambda: _qemu_pids(str(vm.data_root)) == [], 30, what="QEMU gone")
    info = vm.inspect("m")
    assert not info["State"]["Running"]
    # rm cleans what the monitor could not (the rootfs mount); the fixture
    # checks that nothing is left.
    assert vm("rm", "m").returncode == 0


# --------------------------------------------------------------------------
# bad input


def _one_error_line(res, *words):
    assert res.returncode == 125, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    for w in words:
        assert w in lines[0], lines[0]


def test_bogus_isolation_refused(vm):
    res = vm("run", "--rm", "--isolation=bogus", "busybox", "true")
    _one_error_line(res, "--isolation", "bogus")
    assert vm.records() == []


def test_memory_below_guest_minimum_refused(vm):
    res = vm("run", "--rm", "--isolation=vm", "--memory", "32m", "busybox", "true")
    _one_error_line(res, "--memory", "minimum")
    assert vm.records() == []


def test_qemu_missing_refused(vm, tmp_path):
    vm.env["VESSEL_QEMU"] = str(tmp_path / "no-qemu")
    res = vm("run", "--rm", "--isolation=vm", "busybox", "true")
    _one_error_line(res, "QEMU", "no-qemu")
    assert vm.records() == []


def test_boot_failure_reported_and_cleaned(vm, tmp_path):
    """A QEMU that cannot start the machine: the run fails with QEMU's own
    reason and leaves nothing (the fixture checks records, mounts, QEMU)."""
    fake = tmp_path / "qemu"
    fake.write_text("#!/bin/sh\necho 'qemu: could not load kernel' >&2\nexit 1\n")
    fake.chmod(0o755)
    vm.env["VESSEL_QEMU"] = str(fake)
    res = vm("run", "--rm", "--isolation=vm", "busybox", "true", timeout=TIMEOUT)
    assert res.returncode == 125
    assert "could not load kernel" in res.stderr


# --------------------------------------------------------------------------
# the OCI runtime side: podman selects VM isolation per container


@pytest.fixture(scope="module")
def podman_vm(vessel_bin, vm_kernel, tmp_path_factory):
    """podman with two runtimes: vessel invoked as vessel-vm (every bundle
    in a VM) and as vessel-runtime (a VM when the bundle's annotation asks),
    each through a wrapper that fixes its state root (podman's cleanup
    process is not given --runtime-flag). Everything under a temp dir; no
    network (netns none)."""
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed (scripts/deps.sh installs it)")
    import resource
    from test_callers import _cleanup_dir, _entries, _mounts_under, _ok, _run

    base = tmp_path_factory.mktemp("podman-vm")
    (base / "tmp").mkdir()
    nofile = min(1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    nproc = min(4096, resource.getrlimit(resource.RLIMIT_NPROC)[1])
    conf = base / "containers.conf"
    conf.write_text(
        "[containers]\n"
        'netns = "none"\n'
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        "[engine]\n"
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
        f'events_logfile_path = "{base}/events.log"\n'
        f'tmp_dir = "{base}/tmp"\n')
    wrappers, states = {}, {}
    cache = os.environ.get("VESSEL_KERNEL_CACHE")
    for name in ("vessel-vm", "vessel-runtime"):
        link = base / name
        link.symlink_to(vessel_bin)
        states[name] = base / f"state-{name}"
        w = base / f"{name}-wrapper"
        env_line = f"export VESSEL_KERNEL_CACHE={cache}\n" if cache else ""
        # podman gives its runtime no environment of the caller's.
        env_line += f"export VESSEL_VM_IDS_DIR={os.environ['VESSEL_VM_IDS_DIR']}\n"
        w.write_text(f'#!/bin/sh\n{env_line}exec {link} --root {states[name]} "$@"\n')
        w.chmod(0o755)
        wrappers[name] = str(w)
    tar = base / "busybox.tar"
    _ok([vessel_bin, "save", "-o", tar, "busybox"],
        env=dict(os.environ, VESSEL_ROOT=str(base / "data")))
    env = dict(os.environ, CONTAINERS_CONF=str(conf))
    env.pop("CONTAINER_HOST", None)

    def podman(runtime, *args, timeout=TIMEOUT):
        return _run(["podman", "--root", base / "root", "--runroot", base / "runroot",
                     "--tmpdir", base / "tmp", "--cgroup-manager", "cgroupfs",
                     "--events-backend", "file", "--runtime", wrappers[runtime], *args],
                    timeout=timeout, env=env)

    problems = []
    try:
        res = podman("vessel-vm", "load", "-i", tar)
        assert res.returncode == 0, res.stderr
        podman.states = states
        podman.base = base
        yield podman
        res = podman("vessel-vm", "ps", "-aq")
        if res.stdout.split():
            problems.append(f"containers left in podman: {res.stdout.split()}")
            podman("vessel-vm", "rm", "-af", "-t", "0")
    finally:
        for name, state in states.items():
            if _entries(state):
                problems.append(f"{name} state left: {_entries(state)}")
        qemus = _qemu_pids(str(base))
        if qemus:
            problems.append(f"QEMU processes left: {qemus}")
        _cleanup_dir(base / "tmp", problems)
        for mp in sorted(_mounts_under(base), key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        _cleanup_dir(base, problems)
    assert not problems, "podman teardown:\n  " + "\n  ".join(problems)


def test_podman_runs_a_container_in_a_vm_via_vessel_vm(podman_vm):
    res = podman_vm("vessel-vm", "run", "--rm", "busybox", "sh", "-c",
                    "uname -r; echo err >&2; exit 3", timeout=TIMEOUT)
    assert res.returncode == 3, res.stderr
    kernel = res.stdout.strip()
    assert kernel.startswith("6.1.") and kernel != os.uname().release, res.stdout
    assert res.stderr.endswith("err\n"), res.stderr
    # A pty through podman's console socket.
    res = podman_vm("vessel-vm", "run", "-t", "--rm", "busybox", "tty", timeout=TIMEOUT)
    assert res.returncode == 0 and res.stdout.startswith("/dev/pts/"), res.stdout + res.stderr


def test_podman_detached_vm_stop_delivers_sigterm(podman_vm):
    res = podman_vm("vessel-vm", "run", "-d", "--name", "pvm", "busybox", "sh", "-c",
                    "trap 'echo got-term; exit 4' TERM; echo up; "
                    "while true; do sleep 0.1; done", timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    try:
        helpers.wait_for(lambda: "up" in podman_vm("vessel-vm", "logs", "pvm").stdout, 120,
                         what="the guest's output")
        assert len(_qemu_pids(str(podman_vm.base))) == 1
        # exec runs in the guest (through the launcher), not in the
        # launcher's (the host's) namespaces.
        r = podman_vm("vessel-vm", "exec", "pvm", "sh", "-c",
                      "uname -r; echo err >&2; exit 6", timeout=TIMEOUT)
        assert r.returncode == 6, r.stderr
        assert r.stdout.strip().startswith("6.1."), r.stdout
        assert r.stderr.endswith("err\n"), r.stderr
        r = podman_vm("vessel-vm", "exec", "-t", "pvm", "tty", timeout=TIMEOUT)
        assert r.returncode == 0 and r.stdout.startswith("/dev/pts/"), r.stdout + r.stderr
        assert podman_vm("vessel-vm", "stop", "-t", "60", "pvm",
                         timeout=TIMEOUT).returncode == 0
        out = podman_vm("vessel-vm", "inspect", "pvm", "--format", "{{.State.ExitCode}}").stdout
        assert out.strip() == "4"
        assert podman_vm("vessel-vm", "logs", "pvm").stdout == "up\ngot-term\n"
    finally:
        podman_vm("vessel-vm", "rm", "-f", "-t", "0", "pvm")
    assert _qemu_pids(str(podman_vm.base)) == []


OCI_IDS_START = 0x74000000  # the OCI runtime's block of QEMU ids (src/vm/oci_root.c)


def _qemu_uid(pid):
    """QEMU's host uid: on the OCI path one of the runtime's block."""
    return int(_status(pid)["Uid"].split()[0])


def _oci_slots():
    d = Path(os.environ["VESSEL_VM_IDS_DIR"])
    return {p.name: p.read_text() for p in d.glob("slot-*")}


def _slots_under(path):
    """The state dirs under path that hold a slot of QEMU's ids."""
    return [v for v in _oci_slots().values() if v.startswith(str(path))]


def test_podman_vm_qemu_runs_under_ids_of_its_own(podman_vm, tmp_path):
    """On the OCI path too QEMU is root of a user namespace of its own over
    a range of unprivileged host ids (docs/vm.md, "QEMU's own ids"): the
    caller's overlay root is mounted again in QEMU's jail over idmapped
    layers, so what the guest writes as its root and its uid 1000 lands in
    podman's upper dir and in a bind-mounted directory as 0 and 1000; the
    range is recorded for the state dir and released by delete."""
    vol = tmp_path / "vol"
    vol.mkdir()
    res = podman_vm("vessel-vm", "run", "-d", "--name", "pids", "-v", f"{vol}:/data",
                    "busybox", "sleep", "1000", timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    try:
        cid = res.stdout.strip()
        helpers.wait_for(lambda: podman_vm("vessel-vm", "exec", "pids", "true").returncode == 0,
                         120, what="the guest's boot")
        [q] = _qemu_pids(str(podman_vm.base))
        st = _status(q)
        base = int(st["Uid"].split()[0])
        assert base >= OCI_IDS_START and st["Uid"].split() == [str(base)] * 4, st["Uid"]
        assert st["Gid"].split() == [str(base)] * 4, st["Gid"]
        assert Path(f"/proc/{q}/uid_map").read_text().split() == ["0", str(base), "65536"]
        assert int(st["CapBnd"], 16) == JAIL_CAPS, st["CapBnd"]
        state_dir = str(podman_vm.states["vessel-vm"] / cid)
        assert state_dir in _oci_slots().values(), _oci_slots()
        # QEMU's root is an overlay of its own (idmapped layers), not
        # podman's mount.
        mounts = Path(f"/proc/{q}/mountinfo").read_text().splitlines()
        root = [l.split() for l in mounts if l.split()[4] == "/vm/rootfs"]
        assert root and root[0][root[0].index("-") + 1] == "overlay", root
        script = ("set -e; for d in /data /; do touch $d/by-root; mkdir $d/u; "
                  "chown 1000:1000 $d/u; done")
        r = podman_vm("vessel-vm", "exec", "pids", "sh", "-c", script, timeout=TIMEOUT)
        assert r.returncode == 0, r.stderr
        r = podman_vm("vessel-vm", "exec", "-u", "1000:1000", "pids", "sh", "-c",
                      "set -e; for d in /data /; do echo payload > $d/u/by-1000; done",
                      timeout=TIMEOUT)
        assert r.returncode == 0, r.stderr
        upper = Path(podman_vm("vessel-vm", "inspect", "pids", "--format",
                               "{{.GraphDriver.Data.UpperDir}}").stdout.strip())
        for d in (vol, upper):
            s0 = (d / "by-root").stat()
            assert (s0.st_uid, s0.st_gid) == (0, 0), d
            s1 = (d / "u" / "by-1000").stat()
            assert (s1.st_uid, s1.st_gid) == (1000, 1000), d
            assert (d / "u" / "by-1000").read_text() == "payload\n"
        # The image's files keep their owners in the guest.
        r = podman_vm("vessel-vm", "exec", "pids", "stat", "-c", "%u:%g", "/bin/sh")
        assert r.stdout.strip() == "0:0", r.stdout + r.stderr
    finally:
        podman_vm("vessel-vm", "rm", "-f", "-t", "0", "pids")
    assert _qemu_pids(str(podman_vm.base)) == []
    assert _slots_under(podman_vm.base) == [], _oci_slots()


def test_podman_cp_reaches_the_containers_files_not_the_hosts(podman_vm, tmp_path):
    """The pid podman knows is the launcher's stand-in, and `podman cp`
    joins its mount namespace and works at "/": that root is the
    container's (with its binds), never the host's. Before, a copy into a
    running VM container wrote onto the host's root."""
    vol = tmp_path / "vol"
    vol.mkdir()
    res = podman_vm("vessel-vm", "run", "-d", "--name", "pcp", "-v", f"{vol}:/data",
                    "-v", f"{vol}:/ro:ro", "busybox", "sh", "-c",
                    "echo made-in-guest > /guest-file; sleep 1000", timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    name = f"vessel-cp-{os.getpid()}-{time.monotonic_ns()}"
    try:
        helpers.wait_for(lambda: podman_vm("vessel-vm", "exec", "pcp", "true").returncode == 0,
                         120, what="the guest's boot")
        src = tmp_path / "src"
        src.write_text("from-host\n")
        r = podman_vm("vessel-vm", "cp", str(src), f"pcp:/{name}")
        assert r.returncode == 0, r.stderr
        assert not Path(f"/{name}").exists(), "podman cp wrote onto the host's root"
        r = podman_vm("vessel-vm", "exec", "pcp", "cat", f"/{name}")
        assert r.stdout == "from-host\n", r.stdout + r.stderr
        # Out of the container: its files, not the host's.
        r = podman_vm("vessel-vm", "cp", "pcp:/guest-file", str(tmp_path / "out"))
        assert r.returncode == 0 and (tmp_path / "out").read_text() == "made-in-guest\n", \
            r.stderr
        r = podman_vm("vessel-vm", "cp", "pcp:/etc/os-release", str(tmp_path / "osr"))
        assert r.returncode != 0 and not (tmp_path / "osr").exists(), r.stdout
        # Into a volume, and not through a read-only one.
        r = podman_vm("vessel-vm", "cp", str(src), "pcp:/data/in-volume")
        assert r.returncode == 0 and (vol / "in-volume").read_text() == "from-host\n", r.stderr
        r = podman_vm("vessel-vm", "cp", str(src), "pcp:/ro/refused")
        assert r.returncode != 0 and not (vol / "refused").exists(), r.stdout
        # --read-only: the root of the stand-in's view is read-only too.
        res = podman_vm("vessel-vm", "run", "-d", "--name", "pcpro", "--read-only", "busybox",
                        "sleep", "1000", timeout=TIMEOUT)
        assert res.returncode == 0, res.stderr
        helpers.wait_for(lambda: podman_vm("vessel-vm", "exec", "pcpro", "true").returncode == 0,
                         120, what="the guest's boot")
        r = podman_vm("vessel-vm", "cp", str(src), "pcpro:/refused")
        assert r.returncode != 0, r.stdout
        assert podman_vm("vessel-vm", "exec", "pcpro", "test", "-e", "/refused").returncode == 1
    finally:
        podman_vm("vessel-vm", "rm", "-f", "-t", "0", "pcp", "pcpro")
        if Path(f"/{name}").exists():
            Path(f"/{name}").unlink()
    assert _qemu_pids(str(podman_vm.base)) == []


def test_podman_vm_kill_9_of_the_stand_in_or_its_worker(podman_vm):
    """kill -9 of the pid podman knows (the stand-in) or of the worker
    under it ends the container with 137; QEMU, the runtime's state and
    QEMU's id slot go with it."""
    for victim in ("stand-in", "worker"):
        name = f"pk9{victim[0]}"
        res = podman_vm("vessel-vm", "run", "-d", "--name", name, "busybox", "sleep", "1000",
                        timeout=TIMEOUT)
        assert res.returncode == 0, res.stderr
        try:
            helpers.wait_for(
                lambda: podman_vm("vessel-vm", "exec", name, "true").returncode == 0, 120,
                what="the guest's boot")
            pid = int(podman_vm("vessel-vm", "inspect", name, "--format",
                                "{{.State.Pid}}").stdout)
            workers = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                     text=True).stdout.split()
            assert len(workers) == 1, workers
            os.kill(pid if victim == "stand-in" else int(workers[0]), signal.SIGKILL)
            helpers.wait_for(lambda: podman_vm("vessel-vm", "inspect", name, "--format",
                                               "{{.State.Status}}").stdout.strip() == "exited",
                             60, what=f"the container to end after kill -9 of its {victim}")
            code = podman_vm("vessel-vm", "inspect", name, "--format", "{{.State.ExitCode}}")
            assert code.stdout.strip() == "137", (victim, code.stdout)
            helpers.wait_for(lambda: _qemu_pids(str(podman_vm.base)) == [], 30,
                             what="QEMU to end")
        finally:
            podman_vm("vessel-vm", "rm", "-f", "-t", "0", name)
        assert _slots_under(podman_vm.base) == [], _oci_slots()


def test_podman_annotation_selects_a_vm_per_container(podman_vm):
    vm_run = podman_vm("vessel-runtime", "run", "--rm", "--annotation",
                       "run.vessel.isolation=vm", "busybox", "uname", "-r", timeout=TIMEOUT)
    plain = podman_vm("vessel-runtime", "run", "--rm", "busybox", "uname", "-r")
    assert vm_run.returncode == 0 and plain.returncode == 0, vm_run.stderr + plain.stderr
    assert vm_run.stdout.strip().startswith("6.1.") and vm_run.stdout != plain.stdout
    assert plain.stdout.strip() == os.uname().release



# the OCI runtime side, driven directly with a bundle


def test_oci_bundle_vm_under_own_ids_and_a_failing_jail(vessel_bin, vm_kernel, bundle,
                                                        tmp_path):
    """vessel-vm with a bundle whose root is a plain directory: QEMU's ids
    are a slot of the runtime's (an idmapped bind of the root), files the
    guest makes are root's on the host, delete frees the slot. A jail that
    fails before QEMU's user namespace (a bind mount's source removed
    between create and start) makes start fail with the reason at once, not
    wait for ever, and leaves nothing behind."""
    link = tmp_path / "vessel-vm"
    link.symlink_to(vessel_bin)
    root = tmp_path / "vm-state"

    def rt(*args):
        return subprocess.run([str(link), "--root", str(root), *args], capture_output=True,
                              text=True, timeout=TIMEOUT)

    def create(cid):
        """create CID from b; what it said (the launcher keeps create's
        stdio, the container's: a file, not a pipe)."""
        out = tmp_path / f"{cid}.out"
        with open(out, "w") as f:
            res = subprocess.run([str(link), "--root", str(root), "create", "--bundle",
                                  str(b.path), cid], stdin=subprocess.DEVNULL, stdout=f,
                                 stderr=f, timeout=TIMEOUT)
        assert res.returncode == 0, out.read_text()
        return out.read_text()

    d = tmp_path / "shared"
    d.mkdir()
    b = bundle("sh", "-c", "touch /by-root /d/by-root && echo ok")
    b.add_mount("/d", "bind", str(d), ["rbind"])
    b.save()
    res = rt("run", "--bundle", str(b.path), "vmb")
    assert res.returncode == 0 and res.stdout == "ok\n", res.stdout + res.stderr
    for f in (b.path / "rootfs" / "by-root", d / "by-root"):
        assert (f.stat().st_uid, f.stat().st_gid) == (0, 0), f
    assert _slots_under(root) == [], _oci_slots()

    # The pid the caller knows sees the container's root, its binds placed
    # through the container's symlinks as the guest places them (an
    # absolute one, as /var/run -> /run).
    (b.path / "rootfs" / "real").mkdir()
    (b.path / "rootfs" / "nest").mkdir()
    (b.path / "rootfs" / "nest" / "link").symlink_to("/real")
    b.add_mount("/nest/link/vol", "bind", str(d), ["rbind"])
    b.set_args("sleep", "1000")
    b.save()
    create("vmv")
    try:
        assert rt("start", "vmv").returncode == 0
        pid = json.loads(rt("state", "vmv").stdout)["pid"]
        view = Path(f"/proc/{pid}/root")
        assert (view / "real" / "vol" / "by-root").exists(), list((view / "real").iterdir())
        assert (view / "bin" / "busybox").exists() and not (view / "etc" / "os-release").exists()
    finally:
        rt("delete", "-f", "vmv")
    b.remove_mount("/nest/link/vol")
    b.save()

    create("vmf")
    try:
        assert _slots_under(root) == [str(root / "vmf")], _oci_slots()
        shutil.rmtree(d)
        t0 = time.monotonic()
        res = rt("start", "vmf")
        assert res.returncode != 0, res.stdout + res.stderr
        assert time.monotonic() - t0 < 60
        assert "jail" in res.stderr and str(d) in res.stderr, res.stderr
    finally:
        rt("delete", "-f", "vmf")
    assert _qemu_pids(str(root)) == []
    assert _slots_under(root) == [], _oci_slots()

    # A bundle with id mappings (its files' host ids are the mapping's):
    # QEMU stays host root, and create says why.
    b.linux.setdefault("uidMappings", [{"containerID": 0, "hostID": 100000, "size": 65536}])
    b.linux.setdefault("gidMappings", [{"containerID": 0, "hostID": 100000, "size": 65536}])
    b.set_namespace("user")
    b.save()
    said = create("vmm")
    try:
        assert "QEMU runs as host root" in said and "id mappings" in said, said
        assert _slots_under(root) == [], _oci_slots()
    finally:
        rt("delete", "-f", "vmm")
    assert list(root.iterdir()) == [] or [p.name for p in root.iterdir()] == [".vm"]
