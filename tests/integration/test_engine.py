"""The engine (`vessel run/ps/logs/...`): records, monitor, restart policies,
logs, exec, inspect, stop, names, commit/diff, cp, and cleanup after a
killed monitor.

Engine commands are selected by running without --root (which picks the
runtime CLI): the data root comes from VESSEL_ROOT and the runtime state
root from VESSEL_RUNTIME_ROOT, both temporary. After each test every
container is removed, and no record, runtime state, mount, cgroup or
monitor may be left."""

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

TIMEOUT = 60


def _mountpoints_under(prefix):
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = helpers.MountEntry(line).mountpoint
            if mp == prefix or mp.startswith(prefix + "/"):
                out.append(mp)
    return out


def _own_cgroup_dirs():
    """Our cgroup in the memory hierarchy (v1) and in cgroup2: containers we
    start get their cgroups beneath these (other users of the machine do
    not)."""
    dirs = []
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if controllers == "memory":
                dirs.append("/sys/fs/cgroup/memory" + path)
            elif controllers == "":
                for base in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
                    if os.path.exists(base + "/cgroup.controllers") or base.endswith("unified"):
                        dirs.append(base + path)
                        break
    dirs = [d for d in dirs if os.path.isdir(d)]
    # A cgroup at a hierarchy's root is everyone's: prefer a narrower one.
    narrow = [d for d in dirs if d.rstrip("/") not in ("/sys/fs/cgroup/memory",
                                                       "/sys/fs/cgroup/unified", "/sys/fs/cgroup")]
    return narrow or dirs


def _engine_cgroups():
    """Cgroup directories named after engine ids (vessel-<64 hex>) beneath
    our own cgroups."""
    found = set()
    pat = re.compile(r"vessel-[0-9a-f]{64}$")
    for base in _own_cgroup_dirs():
        for root, dirs, _ in os.walk(base):
            for d in dirs:
                if pat.match(d):
                    found.add(os.path.join(root, d))
    return found


class Engine:
    def __init__(self, binary, data_root, runtime_root, workdir):
        self.binary = str(binary)
        self.data_root = Path(data_root)
        self.runtime_root = Path(runtime_root)
        self.workdir = Path(workdir)
        # No configuration file of the host's or the user's applies:
        # built-in defaults unless a test writes its own (test_config.py).
        self.env = dict(os.environ, VESSEL_ROOT=str(data_root),
                        VESSEL_RUNTIME_ROOT=str(runtime_root),
                        VESSEL_SYSTEM_CONFIG=str(Path(workdir) / "no-system-config.json"),
                        XDG_CONFIG_HOME=str(Path(workdir) / "xdg"))
        self.env.pop("VESSEL_CONFIG", None)
        self.env.pop("VESSEL_NO_OVERLAY", None)

    def __call__(self, *args, timeout=TIMEOUT, input=None, check=False):
        proc = subprocess.run([self.binary, *map(str, args)], env=self.env,
                              input=input, capture_output=True, timeout=timeout)
        proc.stdout = proc.stdout.decode(errors="replace")
        proc.stderr = proc.stderr.decode(errors="replace")
        if check:
            assert proc.returncode == 0, (
                f"vessel {' '.join(map(str, args))} -> {proc.returncode}\n"
                f"stdout: {proc.stdout!r}\nstderr: {proc.stderr!r}")
        return proc

    def ok(self, *args, **kw):
        return self(*args, check=True, **kw).stdout

    def popen(self, *args, **kw):
        return subprocess.Popen([self.binary, *map(str, args)], env=self.env, **kw)

    def inspect(self, name):
        return json.loads(self.ok("inspect", name))[0]

    def containers_dir(self):
        return self.data_root / "containers"

    def records(self):
        d = self.containers_dir()
        return sorted(p.name for p in d.iterdir()) if d.exists() else []

    def runtime_entries(self):
        r = self.runtime_root
        return sorted(p.name for p in r.iterdir() if not p.name.startswith(".")) \
            if r.exists() else []

    def wait_state(self, name, pred, timeout=20, what="state"):
        last = {}

        def check():
            last["i"] = self.inspect(name)
            return pred(last["i"])
        try:
            helpers.wait_for(check, timeout, interval=0.1, what=what)
            return last["i"]
        except AssertionError:
            raise AssertionError(f"{what}: last inspect {json.dumps(last.get('i'), indent=1)}")

    def monitor_alive(self, name):
        pid = self.inspect(name)["MonitorPid"]
        return pid > 0 and os.path.exists(f"/proc/{pid}")


@pytest.fixture(scope="session")
def engine_data(tmp_path_factory):
    return tmp_path_factory.mktemp("engine-data")


@pytest.fixture
def engine(vessel_bin, engine_data, tmp_path):
    rt = tmp_path / "run"
    eng = Engine(vessel_bin, engine_data, rt, tmp_path)
    cgroups_before = _engine_cgroups()
    yield eng
    # Remove everything; then nothing may be left.
    monitors = []
    for cid in eng.records():
        try:
            rec = json.loads((eng.containers_dir() / cid / "record.json").read_text())
            monitors.append(rec.get("MonitorPid", 0))
        except (OSError, ValueError):
            pass
        eng("rm", "-f", "-v", cid)
    leftovers = eng.records()
    mounts = _mountpoints_under(str(eng.containers_dir()))
    runtime = eng.runtime_entries()
    cgroups = _engine_cgroups() - cgroups_before
    alive = [p for p in monitors if p > 0 and os.path.exists(f"/proc/{p}")
             and "vessel" in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")]
    for p in alive:
        os.kill(p, signal.SIGKILL)
    for mp in reversed(mounts):
        subprocess.run(["umount", "-l", mp], capture_output=True)
    assert not leftovers, f"records left: {leftovers}"
    assert not mounts, f"mounts left: {mounts}"
    assert not runtime, f"runtime state left: {runtime}"
    assert not cgroups, f"cgroups left: {cgroups}"
    assert not alive, f"monitors left: {alive}"


# --------------------------------------------------------------------------
# run


def test_run_rm_prints_and_leaves_nothing(engine):
    before = _engine_cgroups()
    res = engine("run", "--rm", "busybox", "echo", "hello")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "hello\n"
    assert engine.records() == []
    assert engine.runtime_entries() == []
    assert _mountpoints_under(str(engine.containers_dir())) == []
    assert _engine_cgroups() - before == set()


def test_run_exit_code_and_stderr(engine):
    res = engine("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert res.returncode == 7
    assert res.stdout == "out\n"
    assert res.stderr == "err\n"


def test_run_missing_command_is_127(engine):
    res = engine("run", "--rm", "busybox", "/no/such/cmd")
    assert res.returncode == 127, res.stderr
    assert "/no/such/cmd" in res.stderr
    assert engine.records() == []


def test_run_detached_prints_id_and_keeps_record(engine):
    res = engine("run", "-d", "--name", "det", "busybox", "sh", "-c", "echo hi; sleep 100")
    assert res.returncode == 0, res.stderr
    cid = res.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    assert engine.records() == [cid]
    info = engine.wait_state("det", lambda i: i["State"]["Running"], what="running")
    assert info["Id"] == cid
    assert info["State"]["Status"] == "running"
    # Names, full ids and unique prefixes all work.
    assert engine.inspect(cid[:5])["Id"] == cid
    helpers.wait_for(lambda: engine("logs", "det").stdout == "hi\n", 5, what="log line")


def test_env_workdir_user_hostname(engine):
    out = engine.ok("run", "--rm", "-e", "FOO=bar", "-w", "/tmp", "-u", "nobody",
                    "--hostname", "box1", "busybox", "sh", "-c",
                    "echo $FOO; pwd; id -u; hostname; cat /etc/hostname")
    assert out.split("\n")[:5] == ["bar", "/tmp", "65534", "box1", "box1"]


def test_interactive_stdin(engine):
    res = engine("run", "--rm", "-i", "busybox", "sh", "-c", "cat; echo done",
                 input=b"one\ntwo\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "one\ntwo\ndone\n"


def test_read_only_and_tmpfs(engine):
    out = engine.ok("run", "--rm", "--read-only", "--tmpfs", "/scratch:size=1m", "busybox",
                    "sh", "-c", "touch /x 2>/dev/null || echo ro; touch /scratch/y && echo tmp")
    assert out == "ro\ntmp\n"


def test_volume_bind(engine, tmp_path):
    host = tmp_path / "vol"
    host.mkdir()
    (host / "in").write_text("from host\n")
    out = engine.ok("run", "--rm", "-v", f"{host}:/data", "busybox", "sh", "-c",
                    "cat /data/in; echo from ctr > /data/out")
    assert out == "from host\n"
    assert (host / "out").read_text() == "from ctr\n"
    res = engine("run", "--rm", "-v", f"{host}:/data:ro", "busybox", "sh", "-c",
                 "echo x > /data/out2")
    assert res.returncode != 0
    assert not (host / "out2").exists()


@pytest.mark.parametrize("args,flag", [
    (["-m", "12x"], "--memory"),
    (["--cpus", "abc"], "--cpus"),
    (["--cpus", "4096"], "--cpus"),
    (["--restart", "sometimes"], "--restart"),
    (["--ulimit", "nofile"], "--ulimit"),
    (["--pids-limit", "many"], "--pids-limit"),
    (["--blkio-weight", "5"], "--blkio-weight"),
    (["--cap-add", "NOT_A_CAP"], "--cap-add"),
    (["--security-opt", "apparmor=x"], "--security-opt"),
    (["--network", "bridge0"], "--network"),
    (["--stop-signal", "SIGNOPE"], "--stop-signal"),
    (["--memory-swap", "10m"], "--memory-swap"),
    (["-v", "relative/path:/x"], "--volume"),
    (["--name", "-bad"], "name"),
    (["--hostname", "a\nb"], "--hostname"),
    (["--hostname", "a b"], "--hostname"),
])
def test_bad_flag_values_name_the_flag(engine, args, flag):
    res = engine("run", "--rm", *args, "busybox", "true")
    assert res.returncode == 125, res.stderr
    assert flag in res.stderr
    assert engine.records() == []


def test_rm_and_restart_conflict(engine):
    res = engine("run", "--rm", "--restart", "always", "busybox", "true")
    assert res.returncode == 125
    assert "--restart" in res.stderr and "--rm" in res.stderr


# --------------------------------------------------------------------------
# names


def test_name_taken_is_a_clear_error(engine):
    engine.ok("create", "--name", "dup", "busybox", "true")
    res = engine("create", "--name", "dup", "busybox", "true")
    assert res.returncode == 125
    assert "'dup' is already in use" in res.stderr
    assert len(engine.records()) == 1


def test_generated_names_and_rename(engine):
    cid = engine.ok("create", "busybox", "true").strip()
    name = engine.inspect(cid)["Name"].lstrip("/")
    assert re.fullmatch(r"[a-z]+_[a-z]+\d*", name), name
    engine.ok("rename", name, "renamed")
    assert engine.inspect("renamed")["Id"] == cid
    assert engine("inspect", name).returncode != 0
    engine.ok("create", "--name", "other", "busybox", "true")
    res = engine("rename", "other", "renamed")
    assert res.returncode != 0 and "already in use" in res.stderr


def test_ambiguous_prefix_and_missing(engine):
    res = engine("inspect", "nosuchcontainer")
    assert res.returncode != 0
    assert "nosuchcontainer" in res.stderr


# --------------------------------------------------------------------------
# restart policies


def test_restart_on_failure_2_restarts_exactly_twice(engine):
    engine.ok("run", "-d", "--name", "of", "--restart", "on-failure:2", "busybox",
              "sh", "-c", "echo run; exit 3")
    info = engine.wait_state(
        "of", lambda i: i["State"]["Status"] == "exited" and i["MonitorPid"] == 0,
        what="the final exit")
    assert info["RestartCount"] == 2
    assert info["State"]["ExitCode"] == 3
    time.sleep(1)
    assert engine.inspect("of")["RestartCount"] == 2
    assert engine.ok("logs", "of") == "run\nrun\nrun\n"


def test_on_failure_does_not_restart_success(engine):
    engine.ok("run", "-d", "--name", "ok0", "--restart", "on-failure", "busybox", "true")
    info = engine.wait_state("ok0", lambda i: i["MonitorPid"] == 0, what="monitor exit")
    assert info["RestartCount"] == 0
    assert info["State"]["Status"] == "exited"


def test_restart_always_restarts_then_stop_holds(engine):
    engine.ok("run", "-d", "--name", "al", "--restart", "always", "busybox", "sh", "-c",
              "echo up; sleep 0.1")
    engine.wait_state("al", lambda i: i["RestartCount"] >= 3, what="3 restarts")
    engine.ok("stop", "-t", "1", "al")
    info = engine.inspect("al")
    assert info["State"]["Status"] == "exited"
    n = info["RestartCount"]
    time.sleep(1.5)
    info = engine.inspect("al")
    assert info["RestartCount"] == n
    assert info["State"]["Status"] == "exited"
    assert info["MonitorPid"] == 0


def test_unless_stopped_stays_down_after_stop(engine):
    engine.ok("run", "-d", "--name", "us", "--restart", "unless-stopped", "busybox",
              "sleep", "1000")
    engine.wait_state("us", lambda i: i["State"]["Running"], what="running")
    engine.ok("stop", "-t", "1", "us")
    time.sleep(1.5)
    info = engine.inspect("us")
    assert info["State"]["Status"] == "exited"
    assert info["RestartCount"] == 0
    assert not engine.monitor_alive("us")
    # start clears the manual stop; a crash restarts again.
    engine.ok("start", "us")
    engine.wait_state("us", lambda i: i["State"]["Running"], what="running again")
    pid = engine.inspect("us")["State"]["Pid"]
    assert pid > 0
    os.kill(pid, signal.SIGKILL)
    engine.wait_state("us", lambda i: i["RestartCount"] == 1 and i["State"]["Running"],
                      what="restart after a crash")


# --------------------------------------------------------------------------
# logs, exec, attach


def test_logs_follow_gets_new_lines(engine):
    engine.ok("run", "-d", "--name", "lf", "busybox", "sh", "-c",
              "echo first; sleep 1.5; echo second >&2; sleep 100")
    p = engine.popen("logs", "-f", "lf", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out = b""
        deadline = time.monotonic() + 10
        while b"first\n" not in out and time.monotonic() < deadline:
            r, _, _ = select.select([p.stdout], [], [], 0.5)
            if r:
                out += os.read(p.stdout.fileno(), 4096)
        assert b"first\n" in out
        err = b""
        while b"second\n" not in err and time.monotonic() < deadline + 5:
            r, _, _ = select.select([p.stderr], [], [], 0.5)
            if r:
                err += os.read(p.stderr.fileno(), 4096)
        assert b"second\n" in err
        assert p.poll() is None  # still following
        engine.ok("stop", "-t", "0", "lf")
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    # --tail and --timestamps
    out = engine("logs", "--tail", "1", "--timestamps", "lf")
    assert out.stdout == ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z second\n", out.stderr)
    log = Path(engine.inspect("lf")["LogPath"]).read_text().splitlines()
    first = json.loads(log[0])
    assert first["log"] == "first\n" and first["stream"] == "stdout"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", first["time"])


def _pty_run(argv, env, send=None, timeout=20):
    """Runs argv on a new pty; returns (exit status, output)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, env=env, stdin=slave, stdout=slave, stderr=slave,
                         start_new_session=True)
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
        if send and not sent and b"READY" in out:
            os.write(master, send)
            sent = True
        if p.poll() is not None and not r:
            break
    os.close(master)
    try:
        code = p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        code = p.wait()
    return code, out.decode(errors="replace")


def test_exec_it_gets_a_tty(engine):
    engine.ok("run", "-d", "--name", "ex", "busybox", "sleep", "1000")
    engine.wait_state("ex", lambda i: i["State"]["Running"], what="running")
    code, out = _pty_run([engine.binary, "exec", "-it", "ex", "sh", "-c",
                          "tty; echo TERM=$TERM; echo READY; read x; echo got:$x; exit 4"],
                         engine.env, send=b"abc\r")
    assert code == 4, out
    assert "/dev/pts/" in out
    assert "TERM=xterm" in out
    assert "got:abc" in out


def test_exec_plain_env_user_workdir(engine):
    engine.ok("run", "-d", "--name", "ex2", "busybox", "sleep", "1000")
    engine.wait_state("ex2", lambda i: i["State"]["Running"], what="running")
    res = engine("exec", "-e", "X=1", "-u", "nobody", "-w", "/tmp", "ex2", "sh", "-c",
                 "echo $X; id -u; pwd; tty || true; exit 3")
    assert res.returncode == 3
    lines = res.stdout.splitlines()
    assert lines[:3] == ["1", "65534", "/tmp"]
    assert "not a tty" in res.stdout
    res = engine("exec", "-d", "ex2", "sh", "-c", "echo bg > /tmp/bg")
    assert res.returncode == 0
    helpers.wait_for(lambda: engine("exec", "ex2", "cat", "/tmp/bg").stdout == "bg\n", 5,
                     what="detached exec output")


def test_run_it_gets_a_tty(engine):
    code, out = _pty_run([engine.binary, "run", "--rm", "-it", "busybox", "sh", "-c",
                          "tty; stty size; exit 5"], engine.env)
    assert code == 5, out
    assert "/dev/pts/0" in out
    assert engine.records() == []


# --------------------------------------------------------------------------
# inspect and the OCI config


def test_inspect_shape_and_oci_config(engine, tmp_path):
    host = tmp_path / "data"
    host.mkdir()
    engine.ok("create", "--name", "shape", "-m", "64m", "--cpus", "0.5", "-e", "A=b",
              "--restart", "on-failure:3", "-v", f"{host}:/data:ro", "--pids-limit", "50",
              "--cap-drop", "NET_RAW", "--cap-add", "SYS_PTRACE", "--ulimit", "nofile=100:200",
              "busybox", "sh", "-c", "sleep 1000")
    info = engine.inspect("shape")
    for key in ["Id", "Created", "Path", "Args", "State", "Image", "Name", "RestartCount",
                "LogPath", "HostConfig", "Mounts", "Config", "ResolvConfPath", "HostsPath",
                "HostnamePath", "GraphDriver"]:
        assert key in info, key
    assert re.fullmatch(r"[0-9a-f]{64}", info["Id"])
    assert info["Name"] == "/shape"
    assert info["Path"] == "sh" and info["Args"] == ["-c", "sleep 1000"]
    assert info["Image"].startswith("sha256:")
    st = info["State"]
    for key in ["Status", "Running", "Paused", "Restarting", "OOMKilled", "Dead", "Pid",
                "ExitCode", "Error", "StartedAt", "FinishedAt"]:
        assert key in st, key
    assert st["Status"] == "created" and st["Running"] is False
    hc = info["HostConfig"]
    assert hc["Memory"] == 64 << 20
    assert hc["NanoCpus"] == 500000000
    assert hc["PidsLimit"] == 50
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert hc["CapDrop"] == ["CAP_NET_RAW"] and hc["CapAdd"] == ["CAP_SYS_PTRACE"]
    assert hc["Ulimits"] == [{"Name": "nofile", "Soft": 100, "Hard": 200}]
    assert info["Mounts"][0]["Destination"] == "/data"
    assert info["Mounts"][0]["RW"] is False
    assert "A=b" in info["Config"]["Env"]
    assert info["Config"]["Hostname"] == info["Id"][:12]
    json.loads(engine.ok("inspect", "--format", "{{json .State}}", "shape"))
    assert engine.ok("inspect", "-f", "{{.State.Status}}", "shape") == "created\n"

    engine.ok("start", "shape")
    engine.wait_state("shape", lambda i: i["State"]["Running"], what="running")
    cfg = json.loads((engine.containers_dir() / info["Id"] / "config.json").read_text())
    res = cfg["linux"]["resources"]
    assert res["cpu"]["quota"] == 50000 and res["cpu"]["period"] == 100000
    assert res["memory"]["limit"] == 64 << 20
    assert res["pids"]["limit"] == 50
    caps = set(cfg["process"]["capabilities"]["bounding"])
    default = {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
               "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
               "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}
    assert caps == (default - {"CAP_NET_RAW"}) | {"CAP_SYS_PTRACE"}
    assert cfg["process"]["noNewPrivileges"] is False
    assert cfg["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}]
    sec = cfg["linux"]["seccomp"]
    assert sec["defaultAction"] == "SCMP_ACT_ERRNO"
    assert "/proc/kcore" in cfg["linux"]["maskedPaths"]
    assert "/proc/sys" in cfg["linux"]["readonlyPaths"]
    dests = [m["destination"] for m in cfg["mounts"]]
    for d in ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/data"]:
        assert d in dests
    assert cfg["hostname"] == info["Id"][:12]
    # The limits are live in the container.
    out = engine.ok("exec", "shape", "sh", "-c", "ulimit -n; cat /proc/self/status")
    assert out.splitlines()[0] == "100"
    assert re.search(r"CapBnd:\s+0*[0-9a-f]+", out)


def test_seccomp_default_and_options(engine):
    # The default profile refuses what it does not list (unshare: EPERM).
    res = engine("run", "--rm", "busybox", "unshare", "-U", "true")
    assert res.returncode != 0
    out = engine.ok("run", "--rm", "--security-opt", "seccomp=unconfined",
                    "--security-opt", "no-new-privileges", "busybox",
                    "sh", "-c", "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status")
    assert "Seccomp:\t0" in out and "NoNewPrivs:\t1" in out
    out = engine.ok("run", "--rm", "busybox", "grep", "Seccomp:", "/proc/self/status")
    assert out == "Seccomp:\t2\n"


def test_network_none_and_host(engine):
    out = engine.ok("run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net")
    assert out.split() == ["lo"]
    out = engine.ok("run", "--rm", "--network", "host", "busybox", "hostname")
    assert out.strip() == os.uname().nodename


@pytest.mark.parametrize("net", [[], ["--network", "none"]])
def test_loopback_is_up_in_a_namespace_of_its_own(engine, net):
    # Docker's and podman's none (and vessel's loopback-only default): lo is
    # up with 127.0.0.1, so a server and a client in one container talk.
    out = engine.ok("run", "--rm", *net, "busybox", "cat", "/sys/class/net/lo/operstate",
                    "/sys/class/net/lo/flags")
    assert int(out.split()[1], 16) & 1, out  # IFF_UP
    out = engine.ok("run", "--rm", *net, "busybox", "sh", "-c",
                    "nc -l -p 8080 -e echo pong & sleep 0.5; nc 127.0.0.1 8080")
    assert out.strip() == "pong"


# --------------------------------------------------------------------------
# stop, kill, pause, wait


def test_stop_escalates_to_sigkill_after_timeout(engine):
    engine.ok("run", "-d", "--name", "trap", "busybox", "sh", "-c",
              "trap 'echo got TERM' TERM; echo ready; while :; do sleep 0.1; done")
    helpers.wait_for(lambda: "ready" in engine("logs", "trap").stdout, 10, what="ready")
    t0 = time.monotonic()
    engine.ok("stop", "-t", "2", "trap")
    elapsed = time.monotonic() - t0
    assert 2 <= elapsed < 10, elapsed
    info = engine.inspect("trap")
    assert info["State"]["ExitCode"] == 137
    assert info["State"]["Status"] == "exited"
    assert "got TERM" in engine.ok("logs", "trap")


def test_stop_graceful_and_stop_signal(engine):
    engine.ok("run", "-d", "--name", "grace", "--stop-signal", "USR1", "busybox", "sh", "-c",
              "trap 'exit 0' USR1; echo ready; while :; do sleep 0.1; done")
    helpers.wait_for(lambda: "ready" in engine("logs", "grace").stdout, 10, what="ready")
    t0 = time.monotonic()
    engine.ok("stop", "grace")
    assert time.monotonic() - t0 < 5
    assert engine.inspect("grace")["State"]["ExitCode"] == 0


def test_kill_pause_unpause_wait(engine):
    engine.ok("run", "-d", "--name", "kp", "busybox", "sleep", "1000")
    engine.wait_state("kp", lambda i: i["State"]["Running"], what="running")
    engine.ok("pause", "kp")
    info = engine.inspect("kp")
    assert info["State"]["Status"] == "paused" and info["State"]["Paused"] is True
    assert "(Paused)" in engine.ok("ps")
    engine.ok("unpause", "kp")
    assert engine.inspect("kp")["State"]["Status"] == "running"
    w = engine.popen("wait", "kp", stdout=subprocess.PIPE)
    time.sleep(0.3)
    assert w.poll() is None
    engine.ok("kill", "-s", "TERM", "kp")  # pid 1 without a handler: ignored
    time.sleep(0.5)
    assert w.poll() is None
    engine.ok("kill", "kp")
    assert w.wait(timeout=10) == 0
    assert w.stdout.read() == b"137\n"


def test_ps_formats(engine):
    cid = engine.ok("run", "-d", "--name", "psa", "busybox", "sleep", "1000").strip()
    engine.ok("create", "--name", "psb", "busybox", "true")
    out = engine.ok("ps")
    header = out.splitlines()[0]
    for col in ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"]:
        assert col in header
    assert "psa" in out and "psb" not in out
    out = engine.ok("ps", "-a")
    assert "psb" in out and "Created" in out
    assert engine.ok("ps", "-q").split() == [cid[:12]]
    rows = [json.loads(line) for line in engine.ok("ps", "-a", "--format", "json").splitlines()]
    by_name = {r["Names"]: r for r in rows}
    assert by_name["psa"]["State"] == "running"
    assert by_name["psb"]["State"] == "created"


def test_top_and_stats(engine):
    engine.ok("run", "-d", "--name", "ts", "busybox", "sleep", "1000")
    engine.wait_state("ts", lambda i: i["State"]["Running"], what="running")
    out = engine.ok("top", "ts")
    assert "PID" in out.splitlines()[0]
    assert "sleep 1000" in out
    out = engine.ok("stats", "--no-stream", "ts")
    assert "CPU %" in out and "ts" in out


# --------------------------------------------------------------------------
# images: rmi, commit, diff, cp


def test_rmi_of_an_image_in_use_is_refused(engine):
    engine.ok("create", "--name", "user1", "busybox", "true")
    res = engine("rmi", "busybox")
    assert res.returncode != 0
    assert "in use" in res.stderr


def test_commit_then_run_sees_change_and_deletion(engine):
    engine.ok("run", "--name", "c1", "busybox", "sh", "-c",
              "echo committed > /newfile; rm /etc/group; mkdir -p /d && echo x > /d/f")
    diff = engine.ok("diff", "c1").splitlines()
    assert "A /newfile" in diff
    assert "D /etc/group" in diff
    assert "A /d" in diff
    image_id = engine.ok("commit", "--change", 'CMD ["cat", "/newfile"]', "--change",
                         "ENV COMMITTED=yes", "c1", "committed:1").strip()
    assert image_id.startswith("sha256:")
    assert engine.ok("run", "--rm", "committed:1") == "committed\n"
    out = engine.ok("run", "--rm", "committed:1", "sh", "-c",
                    "test -e /etc/group && echo present || echo gone; echo $COMMITTED; cat /d/f")
    assert out == "gone\nyes\nx\n"
    # In use by a container: rmi refuses; once removed, rmi works.
    engine.ok("create", "--name", "c2", "committed:1")
    res = engine("rmi", "committed:1")
    assert res.returncode != 0 and "in use" in res.stderr
    engine.ok("rm", "c2")
    engine.ok("rmi", "committed:1")


def test_cp_both_ways_stays_in_the_root(engine, tmp_path):
    engine.ok("run", "-d", "--name", "cp1", "busybox", "sh", "-c",
              f"mkdir -p /src/sub; echo a > /src/sub/a; ln -s /etc/passwd /src/link; "
              f"ln -s {tmp_path} /escape; sleep 1000")
    engine.wait_state("cp1", lambda i: i["State"]["Running"], what="running")
    time.sleep(0.3)
    out = tmp_path / "out"
    engine.ok("cp", "cp1:/src", str(out))
    assert (out / "sub" / "a").read_text() == "a\n"
    assert os.readlink(out / "link") == "/etc/passwd"
    f = tmp_path / "hostfile"
    f.write_text("from host\n")
    engine.ok("cp", str(f), "cp1:/tmp/")
    assert engine.ok("exec", "cp1", "cat", "/tmp/hostfile") == "from host\n"
    # /escape points at a host path: it must resolve inside the container.
    res = engine("cp", str(f), "cp1:/escape/evil")
    assert not (tmp_path / "evil").exists()
    assert res.returncode != 0
    # A stopped container: cp mounts its root for the copy only.
    engine.ok("stop", "-t", "0", "cp1")
    engine.ok("cp", "cp1:/tmp/hostfile", str(tmp_path / "back"))
    assert (tmp_path / "back").read_text() == "from host\n"
    assert _mountpoints_under(str(engine.containers_dir())) == []


# --------------------------------------------------------------------------
# a killed monitor


def test_killed_monitor_ps_is_truthful_and_rm_cleans(engine):
    before = _engine_cgroups()
    cid = engine.ok("run", "-d", "--name", "km", "busybox", "sleep", "1000").strip()
    info = engine.wait_state("km", lambda i: i["State"]["Running"] and i["MonitorPid"] > 0,
                             what="running")
    os.kill(info["MonitorPid"], signal.SIGKILL)
    helpers.wait_for(lambda: not os.path.exists(f"/proc/{info['MonitorPid']}/status") or
                     "Z" in Path(f"/proc/{info['MonitorPid']}/status").read_text(), 5,
                     what="monitor death")
    time.sleep(0.2)
    # The container still runs: ps says so, and that nothing watches it.
    line = [l for l in engine.ok("ps", "-a").splitlines() if "km" in l][0]
    assert "Up" in line and "monitor gone" in line
    # Now the container dies too: nobody can know its exit status.
    pid = engine.inspect("km")["State"]["Pid"]
    assert pid > 0
    os.kill(pid, signal.SIGKILL)
    engine.wait_state("km", lambda i: i["State"]["Status"] == "exited", what="exited")
    line = [l for l in engine.ok("ps", "-a").splitlines() if "km" in l][0]
    assert "Exited (unknown)" in line
    assert engine.inspect("km")["State"]["ExitCode"] == -1
    assert engine.runtime_entries() == [cid]
    assert _mountpoints_under(str(engine.containers_dir()))
    engine.ok("rm", "km")
    assert engine.records() == []
    assert engine.runtime_entries() == []
    assert _mountpoints_under(str(engine.containers_dir())) == []
    assert _engine_cgroups() - before == set()


def test_start_after_killed_monitor_recovers(engine):
    engine.ok("run", "-d", "--name", "km2", "busybox", "sh", "-c", "echo up; sleep 1000")
    info = engine.wait_state("km2", lambda i: i["State"]["Running"] and i["MonitorPid"] > 0,
                             what="running")
    os.kill(info["MonitorPid"], signal.SIGKILL)
    time.sleep(0.3)
    res = engine("start", "km2")
    assert res.returncode != 0 and "without its monitor" in res.stderr
    engine.ok("stop", "-t", "0", "km2")
    assert engine.inspect("km2")["State"]["Status"] == "exited"
    engine.ok("start", "km2")
    engine.wait_state("km2", lambda i: i["State"]["Running"] and i["MonitorPid"] > 0,
                      what="running again")
    assert engine.monitor_alive("km2")


# --------------------------------------------------------------------------
# more lifecycle


def test_oom_killed_is_recorded(engine):
    res = engine("run", "--name", "oom", "-m", "8m", "--memory-swap", "8m", "busybox", "sh",
                 "-c", "a=$(head -c 30000000 /dev/zero | tr '\\0' a); echo survived")
    assert res.returncode == 137, res.stdout + res.stderr
    st = engine.inspect("oom")["State"]
    assert st["OOMKilled"] is True and st["ExitCode"] == 137


def test_restart_command_and_attach(engine):
    engine.ok("run", "-d", "--name", "rs", "busybox", "sh", "-c",
              "echo start; while :; do sleep 0.1; done")
    helpers.wait_for(lambda: engine.ok("logs", "rs") == "start\n", 5, what="first start")
    first = engine.inspect("rs")["State"]["StartedAt"]
    engine.ok("restart", "-t", "0", "rs")
    info = engine.wait_state("rs", lambda i: i["State"]["Running"], what="running again")
    assert info["State"]["StartedAt"] != first
    assert info["RestartCount"] == 0  # a manual restart is not the policy's
    helpers.wait_for(lambda: engine.ok("logs", "rs") == "start\nstart\n", 5, what="2 starts")
    # attach follows new output and ends with the container's exit code.
    engine.ok("run", "-d", "--name", "att", "busybox", "sh", "-c",
              "sleep 1; echo attached-out; exit 9")
    res = engine("attach", "att")
    assert res.returncode == 9, res.stderr
    assert "attached-out" in res.stdout


def test_start_attach_interactive(engine):
    engine.ok("create", "-i", "--name", "sai", "busybox", "sh", "-c", "read x; echo got $x")
    res = engine("start", "-a", "-i", "sai", input=b"hello\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "got hello\n"


def test_anonymous_volume_removed_with_rm_v(engine):
    engine.ok("run", "-d", "--name", "av", "-v", "/anon", "-v", "namedvol:/named", "busybox",
              "sh", "-c", "echo x > /anon/f; echo y > /named/f; sleep 100")
    engine.wait_state("av", lambda i: i["State"]["Running"], what="running")
    mounts = {m["Destination"]: m for m in engine.inspect("av")["Mounts"]}
    anon = Path(mounts["/anon"]["Source"])
    named = Path(mounts["/named"]["Source"])
    helpers.wait_for(lambda: (anon / "f").exists() and (named / "f").exists(), 5,
                     what="volume files")
    engine.ok("rm", "-f", "-v", "av")
    assert not anon.exists()
    assert (named / "f").read_text() == "y\n"  # named volumes stay
    shutil.rmtree(named.parent)


def test_exec_errors(engine):
    engine.ok("run", "-d", "--name", "ee", "busybox", "sleep", "100")
    engine.wait_state("ee", lambda i: i["State"]["Running"], what="running")
    res = engine("exec", "ee", "/no/such/thing")
    assert res.returncode in (126, 127)
    engine.ok("stop", "-t", "0", "ee")
    res = engine("exec", "ee", "true")
    assert res.returncode != 0 and "not running" in res.stderr


def test_rm_running_needs_force(engine):
    engine.ok("run", "-d", "--name", "rf", "busybox", "sleep", "100")
    res = engine("rm", "rf")
    assert res.returncode != 0 and "-f" in res.stderr
    engine.ok("rm", "-f", "rf")
    assert engine.records() == []


# --------------------------------------------------------------------------
# the start path never loads the image libraries


IMAGE_LIBS = ("libarchive.so", "libcrypto.so", "libcurl.so")


def _libraries_loaded(ld_debug_dir):
    """{pid: set of shared objects loaded} from LD_DEBUG=files output files."""
    loaded = {}
    for f in Path(ld_debug_dir).iterdir():
        libs = set()
        for line in f.read_text(errors="replace").splitlines():
            m = re.search(r"calling init: (\S+)", line)
            if m:
                libs.add(os.path.basename(m.group(1)))
        loaded[f.name] = libs
    return loaded


def _with_ld_debug(engine, tmp_path, name, *args):
    out = tmp_path / f"ld-{name}"
    out.mkdir()
    env = dict(engine.env, LD_DEBUG="files", LD_DEBUG_OUTPUT=str(out / "ld"))
    p = subprocess.run([engine.binary, *args], env=env, capture_output=True, timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr
    return _libraries_loaded(out)


def _needed(binary):
    """The sonames the binary is linked with (its DT_NEEDED entries)."""
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True)
    return set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out.stdout))


def test_start_never_loads_image_libraries(engine, tmp_path):
    """Starting a container loads the shared libraries vessel is linked with
    and nothing more: no dlopen() of libcrypto, libcurl or (in a
    STATIC_LIBS=0 build) libarchive. In the default build libarchive is
    linked statically (Makefile, docs/design.md) and never loaded at all."""
    needed = _needed(engine.binary)
    assert "libc.so.6" in needed, needed
    static = "libjson-c.so.5" not in needed
    engine.ok("run", "--rm", "busybox", "true")  # the image exists from here on
    # Every process of a run (the CLI, the monitor it execs, the container
    # setup in it): vessel's own libraries, never an image library.
    loaded = _with_ld_debug(engine, tmp_path, "run", "run", "--rm", "busybox", "true")
    assert len(loaded) >= 2, f"expected the CLI and the monitor: {loaded}"
    for pid, libs in loaded.items():
        assert libs - {"libc.so.6"}, (pid, libs)
        assert libs <= needed, f"process {pid} of `vessel run` loaded {libs - needed}"
    # A detached container's monitor, and the CLI's create + start.
    engine.ok("create", "--name", "nolibs", "busybox", "sleep", "100")
    loaded = _with_ld_debug(engine, tmp_path, "start", "start", "nolibs")
    for pid, libs in loaded.items():
        assert libs <= needed, f"process {pid} of `vessel start` loaded {libs - needed}"
    mon = engine.inspect("nolibs")["MonitorPid"]
    maps = Path(f"/proc/{mon}/maps").read_text()
    assert "libc.so.6" in maps
    for lib in IMAGE_LIBS:
        assert lib not in maps, f"the monitor maps {lib}"
    # The check itself works: an image operation that hashes a layer does
    # load libcrypto (and libarchive, when it is not linked in).
    engine.ok("save", "-o", tmp_path / "bb.tar", "busybox")
    # (a layer the store holds is not read, so the image goes first)
    engine.ok("rm", "-f", "nolibs")
    engine.ok("rmi", "busybox")
    loaded = _with_ld_debug(engine, tmp_path, "load", "load", "-i", tmp_path / "bb.tar")
    libs = set().union(*loaded.values())
    expect = ["libcrypto.so"] if static else ["libarchive.so", "libcrypto.so"]
    for lib in expect:
        assert any(x.startswith(lib) for x in libs), f"load did not load {lib}: {libs}"
    if static:
        assert not any(x.startswith("libarchive.so") for x in libs), libs


# runtime state per data root


def _fnv1a64(s):
    h = 1469598103934665603
    for b in s.encode():
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def _derived_runtime_root(data_root):
    return Path(f"/run/vessel/engine@{_fnv1a64(os.path.realpath(data_root)):016x}")


def _state_dirs(root):
    return sorted(p.name for p in Path(root).iterdir()
                  if p.is_dir() and not p.name.startswith(".")) \
        if Path(root).exists() else []


def test_two_data_roots_never_share_runtime_state(vessel_bin, tmp_path):
    """Without VESSEL_RUNTIME_ROOT the runtime state root derives from the
    data root: two engines with a container of the same name each see and
    remove only their own."""
    engines = []
    for name in ("a", "b"):
        eng = Engine(vessel_bin, tmp_path / f"data-{name}", tmp_path / "unused", tmp_path)
        eng.env.pop("VESSEL_RUNTIME_ROOT")
        eng.runtime_root = _derived_runtime_root(tmp_path / f"data-{name}")
        engines.append(eng)
    a, b = engines
    assert a.runtime_root != b.runtime_root
    try:
        ids = [e.ok("run", "-d", "--name", "same", "busybox", "sleep", "100").strip()
               for e in engines]
        for eng, cid in zip(engines, ids):
            eng.wait_state("same", lambda i: i["State"]["Running"], what="running")
            info = eng.inspect("same")
            assert info["Id"] == cid
            record = json.loads((eng.containers_dir() / cid / "record.json").read_text())
            assert record["RuntimeRoot"] == str(eng.runtime_root)
            assert (eng.runtime_root / "data-root").read_text() == \
                os.path.realpath(eng.data_root)
            # Each state root holds its own container and nothing else.
            assert _state_dirs(eng.runtime_root) == [cid]
            assert eng.ok("ps", "-q", "--no-trunc").split() == [cid]
        a.ok("rm", "-f", "same")
        assert a.ok("ps", "-a", "-q", "--no-trunc").split() == []
        assert _state_dirs(a.runtime_root) == []
        info = b.inspect("same")
        assert info["State"]["Running"] and info["Id"] == ids[1]
        assert _state_dirs(b.runtime_root) == [ids[1]]
        assert b.ok("exec", "same", "echo", "alive") == "alive\n"
        b.ok("rm", "-f", "same")
        assert _state_dirs(b.runtime_root) == []
    finally:
        for eng in engines:
            for cid in eng.records():
                eng("rm", "-f", "-v", cid)
            shutil.rmtree(eng.runtime_root, ignore_errors=True)


def test_runtime_state_dir_of_another_data_root_is_refused(vessel_bin, tmp_path):
    """A derived state dir names its data root; one that names another (a
    hash collision, a reused dir) is an error, never shared."""
    data = tmp_path / "data"
    data.mkdir()
    rt = _derived_runtime_root(data)
    rt.mkdir(parents=True)
    try:
        (rt / "data-root").write_text("/somewhere/else")
        env = dict(os.environ, VESSEL_ROOT=str(data))
        env.pop("VESSEL_RUNTIME_ROOT", None)
        res = subprocess.run([str(vessel_bin), "ps"], env=env, capture_output=True,
                             text=True, timeout=TIMEOUT)
        assert res.returncode != 0
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1, res.stderr
        assert str(rt) in lines[0] and "/somewhere/else" in lines[0], lines[0]
        assert _state_dirs(rt) == []
    finally:
        shutil.rmtree(rt, ignore_errors=True)
