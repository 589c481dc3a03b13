"""Docker parity (issue 17), fifth round: --ipc, --pid, --uts; -a and
--cidfile; exec --detach-keys; image, network and exec events; system prune
--filter. Each test checks the real effect (namespace inodes, processes
seen, files written) and the bad inputs (one error line, exit 125, nothing
created)."""

import json
import os
import socket
import time

import pytest

import helpers
from test_engine import Engine, engine, engine_data  # noqa: F401 (fixtures)


def _ns(engine, name, ns):
    return engine.ok("exec", name, "readlink", f"/proc/self/ns/{ns}").strip()


def _bad(engine, *args, want):
    """A bad input: exit 125, one error line naming the problem, no record."""
    before = engine.records()
    res = engine(*args)
    assert res.returncode == 125, (res.returncode, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and want in lines[0], res.stderr
    assert engine.records() == before


# --------------------------------------------------------------------------
# --ipc, --pid, --uts


def test_ipc_container_joins_a_shareable_ipc_namespace(engine):
    engine.ok("run", "-d", "--name", "donor", "--ipc", "shareable", "busybox", "sleep", "100")
    theirs = _ns(engine, "donor", "ipc")
    out = engine.ok("run", "--rm", "--ipc", "container:donor", "busybox", "readlink",
                    "/proc/self/ns/ipc").strip()
    assert out == theirs
    # its own namespace otherwise
    own = engine.ok("run", "--rm", "busybox", "readlink", "/proc/self/ns/ipc").strip()
    assert own != theirs
    assert engine.inspect("donor")["HostConfig"]["IpcMode"] == "shareable"


def test_ipc_container_shares_the_donors_dev_shm(engine):
    """A shareable container's /dev/shm is a tmpfs the engine mounts on the
    host (<container dir>/shm, --shm-size) and binds in; a joiner binds the
    same one, as Docker's: POSIX shared memory crosses. It goes with the
    donor's stop (a running joiner keeps its bind) and nothing is left
    mounted after rm."""
    engine.ok("run", "-d", "--name", "shmdonor", "--ipc", "shareable", "--shm-size", "8m",
              "busybox", "sh", "-c", "echo from-donor > /dev/shm/seg; sleep 100")
    helpers.wait_for(lambda: engine("exec", "shmdonor", "test", "-f", "/dev/shm/seg")
                     .returncode == 0, 30, what="the donor's segment")
    cid = engine.inspect("shmdonor")["Id"]
    host_shm = engine.data_root / "containers" / cid / "shm"
    assert (host_shm / "seg").read_text() == "from-donor\n"
    out = engine.ok("run", "--rm", "--ipc", "container:shmdonor", "busybox", "sh", "-c",
                    "cat /dev/shm/seg; echo from-joiner > /dev/shm/back; df -k /dev/shm | tail -1")
    lines = out.splitlines()
    assert lines[0] == "from-donor", out
    assert lines[1].split()[1] == "8192", out  # the donor's size
    assert engine.ok("exec", "shmdonor", "cat", "/dev/shm/back") == "from-joiner\n"
    # a private container has its own
    assert engine("run", "--rm", "busybox", "cat", "/dev/shm/seg").returncode == 1
    engine.ok("stop", "-t", "1", "shmdonor")
    assert not os.path.ismount(host_shm)
    engine.ok("rm", "shmdonor")
    assert not host_shm.exists()
    # kill -9 of the monitor: rm unmounts what it left
    engine.ok("run", "-d", "--name", "shmdonor2", "--ipc", "shareable", "busybox", "sleep", "100")
    cid = engine.inspect("shmdonor2")["Id"]
    host_shm = engine.data_root / "containers" / cid / "shm"
    assert os.path.ismount(host_shm)
    os.kill(engine.inspect("shmdonor2")["MonitorPid"], 9)
    engine.ok("rm", "-f", "shmdonor2")
    assert not host_shm.exists()
    assert str(host_shm) not in open("/proc/self/mountinfo").read()


def test_ipc_modes_host_none_private(engine):
    host = os.readlink("/proc/self/ns/ipc")
    assert engine.ok("run", "--rm", "--ipc", "host", "busybox", "readlink",
                     "/proc/self/ns/ipc").strip() == host
    res = engine("run", "--rm", "--ipc", "none", "busybox", "ls", "/dev/shm")
    assert res.returncode == 1 and "No such file" in res.stderr
    out = engine.ok("run", "--rm", "--ipc", "private", "busybox", "sh", "-c",
                    "readlink /proc/self/ns/ipc; grep -c ' /dev/shm ' /proc/mounts")
    ns, shm = out.split()
    assert ns != host and shm == "1"
    engine.ok("create", "--name", "c1", "busybox", "true")
    hc = engine.inspect("c1")["HostConfig"]
    assert (hc["IpcMode"], hc["PidMode"], hc["UTSMode"]) == ("private", "", "")


def test_ipc_container_refuses_a_private_donor(engine):
    engine.ok("run", "-d", "--name", "priv", "busybox", "sleep", "100")
    _bad(engine, "run", "--rm", "--ipc", "container:priv", "busybox", "true",
         want="non-shareable IPC namespace")


def test_pid_container_sees_the_targets_processes(engine):
    engine.ok("run", "-d", "--name", "target", "busybox", "sleep", "1001")
    out = engine.ok("run", "--rm", "--pid", "container:target", "busybox", "ps", "-o", "args")
    assert "sleep 1001" in out
    assert _ns(engine, "target", "pid") == engine.ok(
        "run", "--rm", "--pid", "container:target", "busybox", "readlink",
        "/proc/self/ns/pid").strip()
    engine.ok("run", "-d", "--name", "joiner", "--pid", "container:target", "busybox",
              "sleep", "1002")
    tid = engine.inspect("target")["Id"]
    assert engine.inspect("joiner")["HostConfig"]["PidMode"] == f"container:{tid}"
    # exec in the joiner is in the same namespace: it sees both sleeps
    ps = engine.ok("exec", "joiner", "ps", "-o", "args")
    assert "sleep 1001" in ps and "sleep 1002" in ps


def test_pid_container_joiner_stops_with_its_target(engine):
    """The target's init is the namespace's: when it dies the kernel kills
    every process in it. rm -f of the target stops the joiner (137, as
    Docker); nothing of it runs on, and it cannot start without it."""
    engine.ok("run", "-d", "--name", "target", "busybox", "sleep", "1001")
    engine.ok("run", "-d", "--name", "joiner", "--pid", "container:target", "busybox",
              "sleep", "1003")
    pid = engine.inspect("joiner")["State"]["Pid"]
    engine.ok("rm", "-f", "target")
    st = engine.wait_state("joiner", lambda i: not i["State"]["Running"], what="joiner stops")
    assert st["State"]["ExitCode"] == 137
    assert not os.path.exists(f"/proc/{pid}") or "1003" not in open(
        f"/proc/{pid}/cmdline").read()
    res = engine("start", "joiner")
    assert res.returncode != 0 and "no such container" in res.stderr


def test_pid_and_uts_host(engine):
    assert engine.ok("run", "--rm", "--pid", "host", "busybox", "readlink",
                     "/proc/self/ns/pid").strip() == os.readlink("/proc/self/ns/pid")
    out = engine.ok("run", "--rm", "--uts", "host", "busybox", "sh", "-c",
                    "hostname; cat /etc/hostname; echo $HOSTNAME; readlink /proc/self/ns/uts")
    name = socket.gethostname()
    assert out.split() == [name, name, name, os.readlink("/proc/self/ns/uts")]
    engine.ok("create", "--name", "c1", "--uts", "host", "--pid", "host", "busybox", "true")
    hc = engine.inspect("c1")["HostConfig"]
    assert (hc["PidMode"], hc["UTSMode"]) == ("host", "host")


def test_namespace_modes_bad_input(engine):
    _bad(engine, "run", "--rm", "--ipc", "bogus", "busybox", "true", want="--ipc: invalid value")
    _bad(engine, "run", "--rm", "--pid", "private", "busybox", "true",
         want="--pid: invalid value")
    _bad(engine, "run", "--rm", "--uts", "container:x", "busybox", "true",
         want="--uts: invalid value")
    _bad(engine, "run", "--rm", "--pid", "container:nosuch", "busybox", "true",
         want="no such container")
    _bad(engine, "run", "--rm", "--pid", "container:", "busybox", "true", want="missing")
    _bad(engine, "run", "--rm", "--uts", "host", "--hostname", "x", "busybox", "true",
         want="conflicting options")
    engine.ok("create", "--name", "stopped", "busybox", "true")
    _bad(engine, "run", "--rm", "--pid", "container:stopped", "busybox", "true",
         want="is not running")
    _bad(engine, "create", "--ipc", "container:stopped", "busybox", "true",
         want="is not running")


# --------------------------------------------------------------------------
# -a, --cidfile


def test_attach_streams(engine):
    cmd = ["busybox", "sh", "-c", "echo out; echo err >&2; exit 3"]
    res = engine("run", "--rm", "-a", "stdout", *cmd)
    assert (res.returncode, res.stdout, res.stderr) == (3, "out\n", "")
    res = engine("run", "--rm", "-a", "STDERR", *cmd)
    assert (res.returncode, res.stdout, res.stderr) == (3, "", "err\n")
    res = engine("run", "--rm", "-a", "stdout", "-a", "stderr", *cmd)
    assert (res.stdout, res.stderr) == ("out\n", "err\n")
    # -a stdin with -i: input reaches it, no output shown
    res = engine("run", "--rm", "-i", "-a", "stdin", "busybox", "sh", "-c",
                 "read x; echo got $x; exit 4", input=b"hi\n")
    assert (res.returncode, res.stdout, res.stderr) == (4, "", "")
    engine.ok("create", "--name", "c1", "-a", "stdout", "busybox", "true")
    cfg = engine.inspect("c1")["Config"]
    assert (cfg["AttachStdin"], cfg["AttachStdout"], cfg["AttachStderr"]) == (False, True, False)
    _bad(engine, "run", "--rm", "-a", "stdlog", "busybox", "true", want="invalid stream")
    _bad(engine, "run", "-d", "-a", "stdout", "busybox", "true", want="-a and -d")


def test_cidfile(engine, tmp_path):
    path = tmp_path / "cid"
    cid = engine.ok("run", "-d", "--cidfile", path, "busybox", "sleep", "100").strip()
    assert path.read_text() == cid
    assert engine.inspect(cid)["HostConfig"]["ContainerIDFile"] == str(path)
    # an existing file is refused before anything is made, and kept
    _bad(engine, "run", "--rm", "--cidfile", path, "busybox", "true", want="exists")
    assert path.read_text() == cid
    # rm leaves it (Docker's daemon does not remove it either)
    engine.ok("rm", "-f", cid)
    assert path.read_text() == cid
    # a failed create leaves no file
    other = tmp_path / "cid2"
    res = engine("run", "--rm", "--cidfile", other, "nosuch-image-p5", "true")
    assert res.returncode == 125 and not other.exists()
    _bad(engine, "run", "--rm", "--cidfile", tmp_path / "no" / "dir", "busybox", "true",
         want="--cidfile")


# --------------------------------------------------------------------------
# exec --detach-keys


def test_exec_detach_keys(engine):
    from test_docker_compat import _pty_run, _read_until
    engine.ok("run", "-d", "--name", "ex", "busybox", "sleep", "1000")
    p, master = _pty_run(engine, "exec", "-it", "--detach-keys", "ctrl-x,a", "ex", "sh")
    try:
        _read_until(master, b"# ")
        # the default keys and a lone first key go through to the shell
        os.write(master, b"\x10\x11echo \x18b$((1+1))\n")
        _read_until(master, b"2\r\n")
        os.write(master, b"sleep 1004\n")
        os.write(master, b"\x18a")  # ctrl-x a
        out = _read_until(master, b"read escape sequence")
        assert p.wait(timeout=10) == 0, out
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    # the exec's shell runs on, in the container
    helpers.wait_for(lambda: "sleep 1004" in engine.ok("exec", "ex", "ps", "-o", "args"), 10,
                     what="the detached exec's command runs")
    # default keys: ctrl-p ctrl-q
    p, master = _pty_run(engine, "exec", "-it", "ex", "sh")
    try:
        _read_until(master, b"# ")
        os.write(master, b"\x10\x11")
        _read_until(master, b"read escape sequence")
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    # without a terminal the keys are data
    res = engine("exec", "-i", "ex", "cat", input=b"a\x10\x11b")
    assert res.returncode == 0 and res.stdout == "a\x10\x11b"
    for bad in ("ctrl-", "ctrl-1", "ab"):
        res = engine("exec", "--detach-keys", bad, "ex", "true")
        assert res.returncode == 125 and "--detach-keys" in res.stderr, (bad, res.stderr)
    engine.ok("rm", "-f", "ex")


# --------------------------------------------------------------------------
# image and exec events


def _events(engine, *filters):
    # --until 0s is now in whole seconds (Docker's GetTimestamp): this
    # second's events come once it has passed
    time.sleep(1.1)
    args = ["events", "--since", "10m", "--until", "0s"]
    for f in filters:
        args += ["--filter", f]
    out = engine.ok(*args, "--format", "{{json .}}")
    return [json.loads(line) for line in out.splitlines()]


def test_image_events(engine, tmp_path):
    img = json.loads(engine.ok("image", "inspect", "busybox"))[0]
    iid = img["Id"]
    engine.ok("tag", "busybox", "p5ev:1")
    engine.ok("rmi", "p5ev:1")
    arch = tmp_path / "b.tar"
    engine.ok("save", "-o", arch, "busybox")
    engine.ok("load", "-i", arch)
    engine.ok("run", "--name", "cm", "busybox", "touch", "/x")
    cm_id = engine.ok("commit", "cm", "p5ev:2").strip()
    engine.ok("rmi", "p5ev:2")
    engine.ok("rm", "cm")
    assert engine("tag", "nosuch-p5", "p5ev:3").returncode != 0  # no event
    evs = _events(engine, "type=image")
    seen = [(e["Action"], e["Actor"]["ID"], e["Actor"]["Attributes"]["name"]) for e in evs
            if e["Action"] != "pull"]
    want = [("tag", iid, "p5ev:1"), ("untag", iid, iid), ("save", iid, iid),
            ("load", iid, iid), ("tag", cm_id, "p5ev:2"), ("untag", cm_id, cm_id),
            ("delete", cm_id, cm_id)]
    assert seen[-len(want):] == want, seen
    for e in evs:
        assert e["Type"] == "image" and e["status"] == e["Action"]
        assert e["id"] == e["Actor"]["ID"] and "from" not in e
    # the event filter and the image filter select them
    assert [e["Action"] for e in _events(engine, "type=image", "event=delete")][-1:] == ["delete"]


def test_exec_events(engine):
    engine.ok("run", "-d", "--name", "ev", "busybox", "sleep", "100")
    assert engine("exec", "ev", "sh", "-c", "exit 3").returncode == 3
    engine.ok("exec", "-d", "ev", "sh", "-c", "exit 4")
    # the detached one's exec_die comes from its waiter once it has ended
    helpers.wait_for(lambda: len(_events(engine, "container=ev", "event=exec_die")) == 2, 15,
                     what="the detached exec's exec_die")
    evs = [e for e in _events(engine, "container=ev") if e["Action"].startswith("exec_")]
    acts = [e["Action"] for e in evs]
    assert acts == ["exec_create: sh -c exit 3", "exec_start: sh -c exit 3", "exec_die",
                    "exec_create: sh -c exit 4", "exec_start: sh -c exit 4", "exec_die"], acts
    assert evs[5]["Actor"]["Attributes"]["exitCode"] == "4"
    ids = {e["Actor"]["Attributes"]["execID"] for e in evs[:3]}
    assert len(ids) == 1 and len(ids.pop()) == 64
    assert evs[2]["Actor"]["Attributes"]["exitCode"] == "3"
    assert evs[2]["Actor"]["Attributes"]["name"] == "ev"
    # `event=exec_create` matches the action's part before the colon, as Docker's
    got = [e["Action"] for e in _events(engine, "container=ev", "event=exec_create")]
    assert got == ["exec_create: sh -c exit 3", "exec_create: sh -c exit 4"]


# --------------------------------------------------------------------------
# system prune: the question, --filter


@pytest.fixture
def own(vessel_bin, tmp_path):
    """An engine on a data root of its own: prune removes everything there."""
    eng = Engine(vessel_bin, tmp_path / "data", tmp_path / "run", tmp_path)
    yield eng
    for cid in eng.records():
        eng("rm", "-f", "-v", cid)
    assert eng.records() == []
    assert eng.runtime_entries() == []


def _names(eng):
    return sorted(eng.ok("ps", "-a", "--format", "{{.Names}}").split())


def test_system_prune_asks(own):
    own.ok("create", "--name", "s1", "busybox", "true")
    res = own("system", "prune", input=b"n\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("WARNING! This will remove:\n  - all stopped containers\n")
    assert res.stdout.rstrip().endswith("Are you sure you want to continue? [y/N]")
    assert _names(own) == ["s1"]
    res = own("system", "prune")  # no answer (end of input) is no
    assert res.returncode == 0 and _names(own) == ["s1"]
    res = own("system", "prune", input=b"y\n")
    assert res.returncode == 0 and "Deleted Containers:" in res.stdout
    assert _names(own) == []
    res = own("image", "prune", "-a", input=b"n\n")
    assert res.stdout.startswith("WARNING! This will remove all images without at least one "
                                 "container associated to them.")
    assert "busybox" in own.ok("images", "--format", "{{.Repository}}")


def test_system_prune_filters(own):
    own.ok("create", "--name", "old", "busybox", "true")
    time.sleep(1.1)
    mid = int(time.time())
    time.sleep(1.1)
    own.ok("create", "--name", "new", "--label", "keep=1", "busybox", "true")
    own.ok("create", "--name", "other", "--label", "keep=2", "busybox", "true")
    out = own.ok("system", "prune", "-f", "--filter", f"until={mid}")
    assert _names(own) == ["new", "other"], out
    own.ok("system", "prune", "-f", "--filter", "label!=keep=1")
    assert _names(own) == ["new"]
    own.ok("system", "prune", "-f", "--filter", "label=keep=2")
    assert _names(own) == ["new"]
    own.ok("system", "prune", "-f", "--filter", "label=keep")
    assert _names(own) == []
    # volumes by label (until is refused with --volumes, as Docker)
    own.ok("volume", "create", "--label", "tier=a", "va")
    own.ok("volume", "create", "vb")
    own.ok("system", "prune", "-f", "--volumes", "--filter", "label=tier=a")
    assert own.ok("volume", "ls", "-q").split() == ["vb"]
    # a dangling image: kept by a label it lacks, removed without the filter
    own.ok("run", "--name", "c", "busybox", "touch", "/f")
    own.ok("commit", "c", "p5dang:1")
    own.ok("rm", "c")
    own.ok("tag", "busybox", "p5dang:1")  # the committed image loses its name
    assert own.ok("images", "-q", "--filter", "dangling=true").strip()
    own.ok("image", "prune", "-f", "--filter", "label=nosuch")
    assert own.ok("images", "-q", "--filter", "dangling=true").strip()
    own.ok("image", "prune", "-f")
    assert own.ok("images", "-q", "--filter", "dangling=true").strip() == ""
    own.ok("volume", "rm", "vb")


def test_system_prune_filter_bad_input(own):
    own.ok("create", "--name", "s1", "busybox", "true")
    own.ok("volume", "create", "v1")
    for args, want in ((["--filter", "bogus=1"], "invalid filter 'bogus'"),
                       (["--filter", "until=yesterday"], "until='yesterday'"),
                       (["--filter", "label"], "expected KEY=VALUE"),
                       (["--volumes", "--filter", "until=1h"], "not supported with")):
        res = own("system", "prune", "-f", *args)
        assert res.returncode == 125, (args, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and want in lines[0], (args, res.stderr)
        assert _names(own) == ["s1"] and own.ok("volume", "ls", "-q").split() == ["v1"]
    own.ok("volume", "rm", "v1")


# --------------------------------------------------------------------------
# --health-start-interval


def test_health_start_interval(engine):
    common = ["--health-cmd", "echo x >> /tmp/checks", "--health-interval", "1h",
              "--health-start-period", "1h"]
    engine.ok("run", "-d", "--name", "hs", *common, "--health-start-interval", "100ms",
              "busybox", "sleep", "1000")
    engine.ok("run", "-d", "--name", "hn", *common, "busybox", "sleep", "1000")
    hc = engine.inspect("hs")["Config"]["Healthcheck"]
    assert hc["StartInterval"] == 100_000_000 and hc["StartPeriod"] == 3600_000_000_000

    def count(name):
        res = engine("exec", name, "sh", "-c", "cat /tmp/checks 2>/dev/null | wc -l")
        return int(res.stdout.strip() or 0)
    helpers.wait_for(lambda: count("hs") >= 3, 20, what="checks every 100ms during the start")
    assert engine.inspect("hs")["State"]["Health"]["Status"] == "healthy"
    # without it the interval (1h) applies from the start: no check yet
    assert count("hn") == 0
    assert "StartInterval" not in engine.inspect("hn")["Config"]["Healthcheck"]
    for bad in ("0s", "abc", "-1s"):  # the option parser's usage error (and its hint)
        res = engine("run", "--rm", "--health-start-interval", bad, "busybox", "true")
        assert res.returncode == 125 and "--health-start-interval" in res.stderr.splitlines()[0]
    assert sorted(engine.records()) == sorted([engine.inspect(n)["Id"] for n in ("hs", "hn")])
