"""vessel driven by its real callers: Docker 20.10, podman 4.3 and containerd
1.6 (Debian packages, installed by scripts/deps.sh), with vessel as their
OCI runtime. Every test runs twice, against vessel and against runc, so a
test that fails for both is a test (or host) problem, not a vessel one.

Each daemon is started once per module, with every directory it writes
(data, exec/state roots, sockets, runtime roots) under the module's temp
directory. dockerd and containerd run in a private mount namespace whose
/run and /etc/docker are fresh tmpfs: the shim sockets containerd 1.6
hard-codes under /run/containerd and the key.json dockerd 20.10 writes
into /etc/docker never reach the host, and any mount the daemons leave
behind dies with the namespace. Teardown stops the daemon, kills whatever
still names the module's directory, and unmounts anything beneath it.
No network is touched: Docker runs with --bridge=none --iptables=false --ip-forward=false,
podman with netns "none", containerd without its CRI plugin (and so
without CNI)."""

import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import helpers
from helpers import new_id, wait_for

DOCKER = "/usr/bin/docker"  # Debian's docker.io client, not any other on PATH
TIMEOUT = 60


# --------------------------------------------------------------------------
# runtimes under test


class Runtime:
    def __init__(self, name, path):
        self.name = name
        self.path = str(path)

    def __repr__(self):
        return self.name


@pytest.fixture(scope="module")
def runtime_paths(vessel_bin, tmp_path_factory):
    """vessel under its install name vessel-runtime (argv0 selects the runc
    command set: podman calls `start ID` with no global option), and runc."""
    d = tmp_path_factory.mktemp("runtimes")
    link = d / "vessel-runtime"
    link.symlink_to(vessel_bin)
    # vessel-vm runs every bundle in a microVM (test_vm_callers.py).
    vm = d / "vessel-vm"
    vm.symlink_to(vessel_bin)
    return {"vessel": str(link), "runc": shutil.which("runc"), "vessel-vm": str(vm)}


@pytest.fixture(params=["vessel", "runc"])
def rt(request, runtime_paths):
    path = runtime_paths[request.param]
    if path is None:
        pytest.skip(f"{request.param} is not installed (scripts/deps.sh installs it)")
    return Runtime(request.param, path)


# --------------------------------------------------------------------------
# process and mount hygiene


def _run(argv, timeout=TIMEOUT, **kw):
    try:
        return subprocess.run(
            [str(a) for a in argv], capture_output=True, text=True, timeout=timeout, **kw
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"timed out after {timeout}s: {' '.join(map(str, argv))}")


def _describe(res):
    return (
        f"command: {' '.join(map(str, res.args))}\nexit status: {res.returncode}\n"
        f"stdout: {res.stdout!r}\nstderr: {res.stderr!r}"
    )


def _ok(argv, **kw):
    res = _run(argv, **kw)
    assert res.returncode == 0, _describe(res)
    return res.stdout


def _processes_naming(path):
    """Live processes whose command line, root or cwd mentions path."""
    path = str(path)
    found = []
    excluded = {os.getpid(), os.getppid()}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in excluded:
            continue
        pid = int(name)
        if not helpers.pid_alive(pid):
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace").replace("\0", " ")
        except OSError:
            continue
        hit = path in cmd
        for link in ("cwd", "root"):
            try:
                target = os.readlink(f"/proc/{pid}/{link}")
            except OSError:
                continue
            if target == path or target.startswith(path + "/"):
                hit = True
        if hit:
            found.append((pid, cmd.strip()))
    return found


def _mounts_under(path):
    path = str(path)
    with open("/proc/self/mountinfo") as f:
        entries = helpers.parse_mountinfo(f.read())
    return [e.mountpoint for e in entries if e.mountpoint == path or e.mountpoint.startswith(path + "/")]


def _entries(d):
    """Names in a runtime state root; hidden ones (vessel's .seccomp cache)
    are not containers."""
    d = Path(d)
    return sorted(n for n in os.listdir(d) if not n.startswith(".")) if d.is_dir() else []


def _wait_emptied(entries, what):
    """Waits until entries() is empty (a client may finish its teardown
    just after the command returns); fails naming what is left."""
    try:
        wait_for(lambda: entries() == [], 15)
    except AssertionError:
        raise AssertionError(f"{what} is not empty: {entries()}") from None


def _cleanup_dir(base, problems):
    """Kills what still names base, unmounts what is mounted beneath it;
    records each as a problem (a leak)."""
    for pid, cmd in _processes_naming(base):
        problems.append(f"leftover process {pid}: {cmd}")
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for mp in sorted(_mounts_under(base), key=len, reverse=True):
        problems.append(f"leftover mount {mp}")
        subprocess.run(["umount", "-l", mp], capture_output=True)


def _stop_daemon(proc, pidfile=None, timeout=30):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# A daemon in its own mount namespace: its mounts and the host paths it
# hard-codes (/run/containerd/s, /etc/docker/key.json) stay there.
_PRIVATE_NS = (
    "set -e; mount -t tmpfs -o mode=755 tmpfs /run; "
    "if [ -d /etc/docker ]; then mount -t tmpfs -o mode=755 tmpfs /etc/docker; fi; "
    'exec "$@"'
)


def _spawn_private(argv, log):
    with open(log, "wb") as out:
        return subprocess.Popen(
            ["unshare", "--mount", "--propagation", "slave", "sh", "-c", _PRIVATE_NS, "sh"]
            + [str(a) for a in argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_socket(proc, sock, log, what):
    def ready():
        if proc.poll() is not None:
            raise AssertionError(
                f"{what} exited with {proc.returncode}:\n{Path(log).read_text(errors='replace')[-3000:]}"
            )
        return os.path.exists(sock)

    wait_for(ready, 60, interval=0.1, what=f"{what} socket {sock}")


# --------------------------------------------------------------------------
# the busybox image, as an archive every client can load


@pytest.fixture(scope="module")
def busybox_tar(vessel_bin, tmp_path_factory):
    d = tmp_path_factory.mktemp("image")
    tar = d / "busybox.tar"
    env = dict(os.environ, VESSEL_ROOT=str(d / "data"))
    res = _run([vessel_bin, "save", "-o", tar, "busybox"], env=env)
    assert res.returncode == 0, f"vessel save busybox failed:\n{_describe(res)}"
    return tar


def _cgroup_file_script(v1, v2):
    """Shell that prints a cgroup file of the container, v1 or v2 layout."""
    return f"cat /sys/fs/cgroup/{v1} 2>/dev/null || cat /sys/fs/cgroup/{v2}"


MEMORY_LIMIT = _cgroup_file_script("memory/memory.limit_in_bytes", "memory.max")
CPU_QUOTA = (
    "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max"
)


def _cap_eff(status_text):
    for line in status_text.splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    raise AssertionError(f"no CapEff in {status_text!r}")


def _all_caps_available():
    """Docker's --privileged asks for every capability the kernel knows;
    a host whose bounding set lacks one cannot grant it (runc fails too)."""
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    bnd = int(helpers.parse_status(Path("/proc/self/status").read_text())["CapBnd"], 16)
    missing = [helpers.CAP_NAMES[i] if i < len(helpers.CAP_NAMES) else str(i)
               for i in range(last + 1) if not bnd & (1 << i)]
    return missing


# --------------------------------------------------------------------------
# Docker


class Docker:
    def __init__(self, sock, exec_root):
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{sock}")
        self.env.pop("DOCKER_CONTEXT", None)
        self.exec_root = Path(exec_root)

    def __call__(self, *args, timeout=TIMEOUT):
        return _run([DOCKER, *args], timeout=timeout, env=self.env)

    def ok(self, *args, timeout=TIMEOUT):
        return _ok([DOCKER, *args], timeout=timeout, env=self.env)

    def inspect(self, name):
        return json.loads(self.ok("inspect", name))[0]

    def runtime_entries(self, rt):
        """Containers under the runtime's state root (dockerd 20.10 gives
        every runtime the root <exec-root>/runtime-runc/moby)."""
        return _entries(self.exec_root / "runtime-runc" / "moby")


@pytest.fixture(scope="module")
def docker(runtime_paths, busybox_tar, tmp_path_factory):
    dockerd = shutil.which("dockerd")
    if dockerd is None or not os.access(DOCKER, os.X_OK):
        pytest.skip("docker.io is not installed (scripts/deps.sh installs it)")
    base = tmp_path_factory.mktemp("dockerd")
    sock = base / "docker.sock"
    (base / "daemon.json").write_text("{}\n")
    argv = [dockerd, "--config-file", base / "daemon.json",
            "--add-runtime", f"vessel={runtime_paths['vessel']}",
            "--add-runtime", f"vessel-vm={runtime_paths['vessel-vm']}",
            "--bridge=none", "--iptables=false", "--ip-masq=false", "--ip-forward=false",
            "--data-root", base / "data", "--exec-root", base / "exec",
            "--pidfile", base / "docker.pid", "-H", f"unix://{sock}"]
    log = base / "dockerd.log"
    proc = _spawn_private(argv, log)
    problems = []
    try:
        _wait_socket(proc, sock, log, "dockerd")
        d = Docker(sock, base / "exec")
        wait_for(lambda: d("version").returncode == 0, 30, what="dockerd to answer")
        d.ok("load", "-i", busybox_tar)
        yield d
        res = d("ps", "-aq")
        ids = res.stdout.split()
        if ids:
            problems.append(f"containers left in dockerd: {ids}")
            d("rm", "-f", *ids)
    finally:
        _stop_daemon(proc)
        _cleanup_dir(base, problems)
    assert not problems, "dockerd teardown:\n  " + "\n  ".join(problems)


@pytest.fixture
def dname(docker, rt):
    """A container name; after the test the container is gone from Docker
    and from the runtime's state root."""
    name = new_id("dk")
    yield name
    docker("rm", "-f", name)
    _wait_emptied(lambda: docker.runtime_entries(rt), f"{rt.name}'s state root under dockerd")


def test_docker_run_echo(docker, rt, dname):
    # Docker sends zeros for unset resources (blockIO.weight 0...).
    out = docker.ok("run", "--runtime", rt.name, "--rm", "--name", dname, "busybox", "echo", "hi")
    assert out == "hi\n"


def test_docker_exit_status(docker, rt, dname):
    res = docker("run", "--runtime", rt.name, "--rm", "--name", dname, "busybox", "sh", "-c",
                 "exit 7")
    assert res.returncode == 7, _describe(res)


def test_docker_detached_lifecycle(docker, rt, dname):
    docker.ok("run", "-d", "--runtime", rt.name, "--name", dname, "busybox", "sleep", "1000")
    assert docker.inspect(dname)["State"]["Running"]
    assert docker.ok("exec", dname, "echo", "from-exec") == "from-exec\n"
    assert docker.ok("exec", "-t", dname, "tty").strip().startswith("/dev/pts/")

    docker.ok("pause", dname)
    assert docker.inspect(dname)["State"]["Paused"]
    docker.ok("unpause", dname)
    assert not docker.inspect(dname)["State"]["Paused"]

    docker.ok("update", "--memory", "64m", "--memory-swap", "128m", dname)
    assert docker.ok("exec", dname, "sh", "-c", MEMORY_LIMIT).strip() == str(64 << 20)

    docker.ok("stop", "-t", "1", dname)
    st = docker.inspect(dname)["State"]
    assert not st["Running"] and st["ExitCode"] == 137, st
    docker.ok("start", dname)
    assert docker.inspect(dname)["State"]["Running"]
    docker.ok("kill", dname)
    wait_for(lambda: not docker.inspect(dname)["State"]["Running"], 10, what="kill to stop it")
    docker.ok("rm", dname)
    assert docker("inspect", dname).returncode != 0


def test_docker_tty(docker, rt, dname):
    out = docker.ok("run", "-t", "--runtime", rt.name, "--rm", "--name", dname, "busybox", "tty")
    assert out.strip().startswith("/dev/pts/"), out


def test_docker_memory_and_cpus(docker, rt, dname):
    out = docker.ok("run", "--runtime", rt.name, "--rm", "--name", dname, "--memory", "32m",
                    "--cpus", "0.5", "busybox", "sh", "-c", f"{MEMORY_LIMIT}; {CPU_QUOTA}")
    mem, quota = out.split()
    assert int(mem) == 32 << 20
    assert int(quota) == 50000  # 0.5 of the default 100ms period


def test_docker_privileged(docker, rt, dname):
    missing = _all_caps_available()
    if missing:
        pytest.skip(f"--privileged asks for every capability; this host's bounding set lacks "
                    f"{', '.join(missing)} (runc fails the same way)")
    out = docker.ok("run", "--privileged", "--runtime", rt.name, "--rm", "--name", dname,
                    "busybox", "grep", "CapEff", "/proc/self/status")
    assert _cap_eff(out) != 0


def test_docker_read_only(docker, rt, dname):
    res = docker("run", "--read-only", "--runtime", rt.name, "--rm", "--name", dname, "busybox",
                 "touch", "/x")
    assert res.returncode != 0 and "Read-only file system" in res.stderr, _describe(res)


def test_docker_user(docker, rt, dname):
    out = docker.ok("run", "--user", "1000:1000", "--runtime", rt.name, "--rm", "--name", dname,
                    "busybox", "id")
    assert out.startswith("uid=1000 gid=1000"), out


def test_docker_cap_drop(docker, rt, dname):
    out = docker.ok("run", "--cap-drop", "ALL", "--runtime", rt.name, "--rm", "--name", dname,
                    "busybox", "cat", "/proc/self/status")
    assert _cap_eff(out) == 0


# --------------------------------------------------------------------------
# podman


class Podman:
    def __init__(self, base, env, wrappers):
        self.base = Path(base)
        self.env = env
        self.wrappers = wrappers  # runtime name -> (wrapper path, state root)

    def argv(self, rt, *args):
        return ["podman", "--root", self.base / "root", "--runroot", self.base / "runroot",
                "--tmpdir", self.base / "tmp", "--cgroup-manager", "cgroupfs",
                "--events-backend", "file", "--runtime", self.wrappers[rt.name][0], *args]

    def __call__(self, rt, *args, timeout=TIMEOUT):
        return _run(self.argv(rt, *args), timeout=timeout, env=self.env)

    def ok(self, rt, *args, timeout=TIMEOUT):
        return _ok(self.argv(rt, *args), timeout=timeout, env=self.env)

    def inspect(self, rt, name):
        return json.loads(self.ok(rt, "inspect", name))[0]

    def runtime_entries(self, rt):
        return _entries(self.wrappers[rt.name][1])


@pytest.fixture(scope="module")
def podman(runtime_paths, busybox_tar, tmp_path_factory):
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed (scripts/deps.sh installs it)")
    import resource

    base = tmp_path_factory.mktemp("podman")
    (base / "tmp").mkdir()
    # Default ulimits the host can grant (this host's root lacks
    # CAP_SYS_RESOURCE: podman's defaults above the hard limits fail).
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
        f'tmp_dir = "{base}/tmp"\n'
    )
    # podman hands --runtime-flag to conmon but not to the cleanup process
    # conmon starts when the container exits, which would then look for the
    # container under the runtime's default root: a two-line wrapper fixes
    # the state root for every call.
    wrappers = {}
    for name, path in runtime_paths.items():
        if path is None:
            continue
        state = base / f"state-{name}"
        w = base / f"{name}-wrapper"
        w.write_text(f'#!/bin/sh\nexec {path} --root {state} "$@"\n')
        w.chmod(0o755)
        wrappers[name] = (str(w), str(state))
    env = dict(os.environ, CONTAINERS_CONF=str(conf))
    env.pop("CONTAINER_HOST", None)
    p = Podman(base, env, wrappers)
    problems = []
    try:
        _ok(p.argv(Runtime("vessel", ""), "load", "-i", busybox_tar), env=env)
        yield p
        res = _run(p.argv(Runtime("vessel", ""), "ps", "-aq"), env=env)
        if res.stdout.split():
            problems.append(f"containers left in podman: {res.stdout.split()}")
            _run(p.argv(Runtime("vessel", ""), "rm", "-af", "-t", "0"), env=env)
    finally:
        for name, (_, state) in wrappers.items():
            if _entries(state):
                problems.append(f"{name} state left: {_entries(state)}")
                for cid in _entries(state):
                    _run([runtime_paths[name], "--root", state, "delete", "--force", cid])
        _cleanup_dir(base / "tmp", problems)
        # containers/storage keeps its overlay directory bind-mounted
        # (private) while podman uses it: not a leak, but ours to undo.
        for mp in sorted(_mounts_under(base), key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        _cleanup_dir(base, problems)
    assert not problems, "podman teardown:\n  " + "\n  ".join(problems)


@pytest.fixture
def pname(podman, rt):
    name = new_id("pd")
    yield name
    podman(rt, "rm", "-f", "-t", "0", name)
    _wait_emptied(lambda: podman.runtime_entries(rt), f"{rt.name}'s state root under podman")


def test_podman_run_echo(podman, rt, pname):
    assert podman.ok(rt, "run", "--rm", "--name", pname, "busybox", "echo", "hi") == "hi\n"


def test_podman_detached_lifecycle(podman, rt, pname):
    podman.ok(rt, "run", "-d", "--name", pname, "busybox", "sleep", "1000")
    assert podman.inspect(rt, pname)["State"]["Running"]
    assert podman.ok(rt, "exec", pname, "echo", "from-exec") == "from-exec\n"
    assert podman.ok(rt, "exec", "-t", pname, "tty").strip().startswith("/dev/pts/")

    podman.ok(rt, "pause", pname)
    assert podman.inspect(rt, pname)["State"]["Status"] == "paused"
    podman.ok(rt, "unpause", pname)
    assert podman.inspect(rt, pname)["State"]["Status"] == "running"

    podman.ok(rt, "update", "--memory", "64m", pname)
    assert podman.ok(rt, "exec", pname, "sh", "-c", MEMORY_LIMIT).strip() == str(64 << 20)

    podman.ok(rt, "stop", "-t", "1", pname)
    assert not podman.inspect(rt, pname)["State"]["Running"]
    podman.ok(rt, "start", pname)
    assert podman.inspect(rt, pname)["State"]["Running"]
    podman.ok(rt, "kill", pname)
    wait_for(lambda: not podman.inspect(rt, pname)["State"]["Running"], 10,
             what="kill to stop it")
    podman.ok(rt, "rm", pname)
    assert podman(rt, "inspect", pname).returncode != 0


def test_podman_tty(podman, rt, pname):
    out = podman.ok(rt, "run", "-t", "--rm", "--name", pname, "busybox", "tty")
    assert out.strip().startswith("/dev/pts/"), out


def test_podman_memory_and_cpus(podman, rt, pname):
    out = podman.ok(rt, "run", "--rm", "--name", pname, "--memory", "32m", "--cpus", "0.5",
                    "busybox", "sh", "-c", f"{MEMORY_LIMIT}; {CPU_QUOTA}")
    mem, quota = out.split()
    assert int(mem) == 32 << 20
    assert int(quota) == 50000


def test_podman_privileged(podman, rt, pname):
    # podman passes every host device, fileMode with its file-type bits
    # (020600...), and the capabilities the host has.
    out = podman.ok(rt, "run", "--rm", "--privileged", "--name", pname, "busybox", "sh", "-c",
                    "stat -c '%F %a' /dev/null; grep CapEff /proc/self/status")
    lines = out.splitlines()
    assert lines[0] == "character special file 666", out
    assert _cap_eff(lines[1]) != 0


def test_podman_read_only(podman, rt, pname):
    res = podman(rt, "run", "--rm", "--read-only", "--name", pname, "busybox", "touch", "/x")
    assert res.returncode != 0 and "Read-only file system" in res.stderr, _describe(res)


def test_podman_user(podman, rt, pname):
    out = podman.ok(rt, "run", "--rm", "--user", "1000:1000", "--name", pname, "busybox", "id")
    assert out.startswith("uid=1000(1000) gid=1000(1000)") or out.startswith(
        "uid=1000 gid=1000"), out


def test_podman_cap_drop(podman, rt, pname):
    out = podman.ok(rt, "run", "--rm", "--cap-drop", "all", "--name", pname, "busybox", "cat",
                    "/proc/self/status")
    assert _cap_eff(out) == 0


# --------------------------------------------------------------------------
# containerd


IMAGE_REF = "docker.io/library/busybox:latest"


class Ctr:
    def __init__(self, sock, base):
        self.sock = str(sock)
        self.base = Path(base)

    def argv(self, *args):
        return ["ctr", "--address", self.sock, "--namespace", "vessel-test", *args]

    def __call__(self, *args, timeout=TIMEOUT):
        return _run(self.argv(*args), timeout=timeout)

    def ok(self, *args, timeout=TIMEOUT):
        return _ok(self.argv(*args), timeout=timeout)

    def runc_root(self, rt):
        return self.base / "runc-root" / rt.name

    def runtime_opts(self, rt):
        return ["--runc-binary", rt.path, "--runc-root", self.runc_root(rt),
                "--fifo-dir", self.base / "fifo"]

    def task_status(self, cid):
        for line in self.ok("task", "ls").splitlines()[1:]:
            f = line.split()
            if f and f[0] == cid:
                return f[2]
        return None

    def in_pty(self, *args, timeout=TIMEOUT):
        """ctr -t insists on a console of its own: run it on a pty."""
        master, slave = pty.openpty()
        p = subprocess.Popen(self.argv(*args), stdin=slave, stdout=slave, stderr=slave,
                             start_new_session=True)
        os.close(slave)
        out = bytearray()
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                r, _, _ = select.select([master], [], [], 0.2)
                if r:
                    try:
                        chunk = os.read(master, 4096)
                    except OSError:
                        break
                    if not chunk:
                        break
                    out += chunk
                elif p.poll() is not None:
                    break
            else:
                p.kill()
                pytest.fail(f"timed out: {' '.join(map(str, self.argv(*args)))}")
            p.wait(10)
        finally:
            os.close(master)
        return p.returncode, out.decode(errors="replace").replace("\r\n", "\n")


@pytest.fixture(scope="module")
def ctr(busybox_tar, tmp_path_factory):
    containerd = shutil.which("containerd")
    if containerd is None or shutil.which("ctr") is None:
        pytest.skip("containerd is not installed (scripts/deps.sh installs it)")
    base = tmp_path_factory.mktemp("containerd")
    sock = base / "containerd.sock"
    (base / "fifo").mkdir()
    conf = base / "config.toml"
    conf.write_text(
        "version = 2\n"
        f'root = "{base}/root"\n'
        f'state = "{base}/state"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.tracing",\n'
        '  "io.containerd.tracing.processor.v1.otlp", "io.containerd.snapshotter.v1.btrfs",\n'
        '  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",\n'
        '  "io.containerd.snapshotter.v1.aufs"]\n'
        "[grpc]\n"
        f'  address = "{sock}"\n'
        "[ttrpc]\n"
        f'  address = "{sock}.ttrpc"\n'
        "[debug]\n"
        '  address = ""\n'
        "[metrics]\n"
        '  address = ""\n'
    )
    log = base / "containerd.log"
    proc = _spawn_private([containerd, "--config", conf], log)
    problems = []
    try:
        _wait_socket(proc, sock, log, "containerd")
        c = Ctr(sock, base)
        wait_for(lambda: c("version").returncode == 0, 30, what="containerd to answer")
        c.ok("image", "import", busybox_tar)
        yield c
        left = [line.split()[0] for line in c("container", "ls", "-q").stdout.splitlines() if line]
        if left:
            problems.append(f"containers left in containerd: {left}")
            for cid in left:
                c("task", "kill", "-s", "SIGKILL", cid)
                c("task", "delete", "--force", cid)
                c("container", "delete", cid)
    finally:
        _stop_daemon(proc)
        _cleanup_dir(base, problems)
    assert not problems, "containerd teardown:\n  " + "\n  ".join(problems)


@pytest.fixture
def cname(ctr, rt):
    cid = new_id("cd")
    yield cid
    if ctr.task_status(cid) is not None:
        ctr("task", "kill", "-s", "SIGKILL", cid)
        ctr("task", "delete", "--force", cid)
    ctr("container", "delete", cid)
    root = ctr.runc_root(rt) / "vessel-test"
    _wait_emptied(lambda: _entries(root), f"{rt.name}'s state root under containerd")


def test_containerd_run(ctr, rt, cname):
    out = ctr.ok("run", "--rm", *ctr.runtime_opts(rt), IMAGE_REF, cname, "echo", "hi")
    assert out == "hi\n"


def test_containerd_tty(ctr, rt, cname):
    status, out = ctr.in_pty("run", "--rm", "-t", *ctr.runtime_opts(rt), IMAGE_REF, cname, "tty")
    assert status == 0, out
    assert out.strip().startswith("/dev/pts/"), out


def test_containerd_task_lifecycle(ctr, rt, cname):
    ctr.ok("run", "-d", *ctr.runtime_opts(rt), IMAGE_REF, cname, "sleep", "1000")
    assert ctr.task_status(cname) == "RUNNING"
    out = ctr.ok("task", "exec", "--fifo-dir", ctr.base / "fifo", "--exec-id", "e1", cname,
                 "echo", "from-exec")
    assert out == "from-exec\n"
    status, out = ctr.in_pty("task", "exec", "-t", "--fifo-dir", ctr.base / "fifo", "--exec-id",
                             "e2", cname, "tty")
    assert status == 0 and out.strip().startswith("/dev/pts/"), out

    ctr.ok("task", "pause", cname)
    assert ctr.task_status(cname) == "PAUSED"
    ctr.ok("task", "resume", cname)
    assert ctr.task_status(cname) == "RUNNING"

    metrics = json.loads(ctr.ok("task", "metrics", "--format", "json", cname))
    data = metrics.get("Data") or metrics.get("data") or metrics
    text = json.dumps(data)
    pids = re.search(r'"pids":\s*\{[^}]*"current":\s*(\d+)', text, re.I)
    assert pids and int(pids.group(1)) >= 1, text
    mem = re.search(r'"usage":\s*\{[^}]*"usage":\s*(\d+)', text) or re.search(
        r'"usage":\s*(\d+)', text)
    assert mem and int(mem.group(1)) > 0, text

    ctr.ok("task", "kill", "-s", "SIGKILL", cname)
    wait_for(lambda: ctr.task_status(cname) == "STOPPED", 10, what="SIGKILL to stop the task")
    ctr.ok("task", "delete", cname)
    assert ctr.task_status(cname) is None
    ctr.ok("container", "delete", cname)
