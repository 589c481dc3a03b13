"""Docker parity (issue 17): focused tests per behaviour, and one command
matrix run against vessel and, when Debian's docker.io is installed,
against a private dockerd (started by test_callers.py's fixture: private
dirs, --bridge=none --iptables=false --ip-masq=false --ip-forward=false).
The matrix compares exit codes and normalised output and prints
`N same, M differ`; a difference fails the test unless docs/docker-compat.md
lists it (its matrix key, with the reason it stays)."""

import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import threading
import time
from pathlib import Path

import pytest

import helpers
from test_engine import Engine, engine, engine_data  # noqa: F401 (fixtures)
from test_callers import busybox_tar, docker, runtime_paths  # noqa: F401 (fixtures)

REPO = Path(__file__).resolve().parents[2]


def _run_bg(engine, *args):
    res = engine("run", "-d", *args)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


# --------------------------------------------------------------------------
# defects


def test_kill_of_paused_container_kills_it(engine):
    _run_bg(engine, "--name", "kp", "busybox", "sleep", "1000")
    engine.wait_state("kp", lambda i: i["State"]["Running"], what="running")
    engine.ok("pause", "kp")
    res = engine("kill", "kp")
    assert res.returncode == 0, res.stderr
    info = engine.wait_state("kp", lambda i: i["State"]["Status"] == "exited", 10,
                             what="killed while paused")
    assert info["State"]["ExitCode"] == 137
    assert not info["State"]["Paused"]


def test_two_commits_of_one_running_container_both_succeed(engine):
    _run_bg(engine, "--name", "cc", "busybox", "sh", "-c",
            "while :; do date > /tick; done")
    engine.wait_state("cc", lambda i: i["State"]["Running"], what="running")
    results = []

    def commit(tag):
        results.append(engine("commit", "cc", f"cc-img:{tag}"))

    for _round in range(3):
        results.clear()
        threads = [threading.Thread(target=commit, args=(t,)) for t in ("a", "b", "c")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in results:
            assert r.returncode == 0, r.stderr
    info = engine.inspect("cc")
    assert info["State"]["Status"] == "running" and not info["State"]["Paused"]
    # Thawed: the loop still writes.
    a = engine.ok("exec", "cc", "cat", "/tick")
    helpers.wait_for(lambda: engine.ok("exec", "cc", "cat", "/tick") != a, 5,
                     what="the container to run again after the commits")
    for t in ("a", "b", "c"):
        engine.ok("rmi", f"cc-img:{t}")


def test_pause_during_commit_outlives_it(engine):
    _run_bg(engine, "--name", "pc", "busybox", "sleep", "1000")
    engine.wait_state("pc", lambda i: i["State"]["Running"], what="running")
    engine.ok("pause", "pc")
    engine.ok("commit", "pc", "pc-img")
    info = engine.inspect("pc")
    assert info["State"]["Paused"], "commit thawed a container the user paused"
    engine.ok("unpause", "pc")
    assert engine.ok("exec", "pc", "echo", "alive") == "alive\n"
    engine.ok("rmi", "pc-img")


def test_start_of_running_container_is_a_noop(engine):
    cid = _run_bg(engine, "--name", "sr", "busybox", "sleep", "1000")
    engine.wait_state("sr", lambda i: i["State"]["Running"], what="running")
    pid = engine.inspect("sr")["State"]["Pid"]
    res = engine("start", "sr")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "sr\n"
    info = engine.inspect("sr")
    assert info["State"]["Pid"] == pid and info["Id"] == cid


def _layer_names(engine, image, tmp_path):
    """Every path in every layer of the image, from `save`."""
    out = tmp_path / "saved.tar"
    engine.ok("save", "-o", out, image)
    names = set()
    with tarfile.open(out) as outer:
        for m in outer.getmembers():
            if not m.isfile() or m.size == 0:
                continue
            data = outer.extractfile(m).read()
            try:
                with tarfile.open(fileobj=io.BytesIO(data)) as layer:
                    names.update(n.rstrip("/") for n in layer.getnames())
            except tarfile.TarError:
                continue  # a JSON document
    return names


def test_engine_mounted_files_in_cp_diff_commit(engine, tmp_path):
    _run_bg(engine, "--name", "mf", "--hostname", "box7", "busybox", "sleep", "1000")
    engine.wait_state("mf", lambda i: i["State"]["Running"], what="running")
    engine.ok("exec", "mf", "touch", "/newfile")
    # cp out gives what the container sees
    engine.ok("cp", "mf:/etc/hostname", tmp_path / "hn")
    assert (tmp_path / "hn").read_text() == "box7\n"
    engine.ok("cp", "mf://etc/hosts", tmp_path / "hosts")
    assert (tmp_path / "hosts").read_text() == engine.ok("exec", "mf", "cat", "/etc/hosts")
    # diff lists only the container's own change
    assert engine.ok("diff", "mf").splitlines() == ["A /newfile"]
    # commit stores the change, not the mount targets
    engine.ok("commit", "mf", "mf-img")
    try:
        names = _layer_names(engine, "mf-img", tmp_path)
        assert "newfile" in names
        assert not {"etc/hostname", "etc/hosts", "etc/resolv.conf"} & names, names
    finally:
        engine.ok("rmi", "mf-img")


def test_user_gets_its_groups(engine):
    assert engine.ok("run", "--rm", "-u", "nobody", "busybox", "id").strip() == \
        "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)"
    assert engine.ok("run", "--rm", "-u", "1234:5678", "busybox", "id").strip() == \
        "uid=1234 gid=5678 groups=5678"
    _run_bg(engine, "--name", "ug", "busybox", "sleep", "1000")
    assert "groups=65534(nogroup)" in engine.ok("exec", "-u", "nobody", "ug", "id")


def test_volume_commands(engine):
    assert engine.ok("volume", "create", "--label", "k=v", "vc1") == "vc1\n"
    assert engine.ok("volume", "create", "vc1") == "vc1\n"  # as Docker: no error
    assert engine("volume", "create", "bad/name").returncode == 1
    assert engine.ok("volume", "ls", "-q") .split() == ["vc1"]
    assert engine.ok("volume", "ls", "--filter", "label=k=v", "--format", "{{.Name}}") == "vc1\n"
    assert engine.ok("volume", "ls", "--filter", "label=k=x", "-q") == ""
    info = json.loads(engine.ok("volume", "inspect", "vc1"))[0]
    assert info["Name"] == "vc1" and info["Driver"] == "local" and info["Labels"] == {"k": "v"}
    assert os.path.isdir(info["Mountpoint"])
    engine.ok("run", "--name", "vu", "-v", "vc1:/data", "busybox", "sh", "-c", "echo x > /data/f")
    res = engine("volume", "rm", "vc1")
    assert res.returncode == 1 and "in use" in res.stderr
    assert engine.ok("volume", "ls", "--filter", "dangling=false", "-q").split() == ["vc1"]
    engine.ok("rm", "vu")
    assert engine.ok("volume", "rm", "vc1") == "vc1\n"
    res = engine("volume", "rm", "vc1")
    assert res.returncode == 1 and "no such volume" in res.stderr
    assert engine("volume", "inspect", "vc1").returncode == 1
    engine.ok("volume", "create", "vc2")
    out = engine.ok("volume", "prune", "-f")
    assert "vc2" in out and engine.ok("volume", "ls", "-q") == ""


def test_anonymous_volumes_removed_by_rm_v_and_rm(engine):
    engine.ok("run", "--name", "av", "-v", "/data", "busybox", "true")
    assert len(engine.ok("volume", "ls", "-q").split()) == 1
    engine.ok("rm", "av")  # without -v the volume stays, as in Docker
    assert len(engine.ok("volume", "ls", "-q").split()) == 1
    engine.ok("volume", "prune", "-f")
    engine.ok("run", "--name", "av", "-v", "/data", "busybox", "true")
    engine.ok("rm", "-v", "av")
    assert engine.ok("volume", "ls", "-q") == ""
    engine.ok("run", "--rm", "-v", "/data", "busybox", "true")
    assert engine.ok("volume", "ls", "-q") == ""


def test_container_group_version_info(engine):
    assert engine.ok("container", "run", "--rm", "busybox", "echo", "g") == "g\n"
    engine.ok("container", "create", "--name", "cg", "busybox", "true")
    assert engine.ok("container", "ls", "-a", "--format", "{{.Names}}") == "cg\n"
    assert engine.ok("container", "inspect", "-f", "{{.Name}}", "cg") == "/cg\n"
    out = engine.ok("container", "prune", "-f")
    assert out.startswith("Deleted Containers:\n") and engine.records() == []
    assert engine("container", "nope").returncode != 0
    assert engine.ok("version", "--format", "{{.Client.Os}}/{{.Server.Os}}") == "linux/linux\n"
    assert json.loads(engine.ok("version", "--format", "{{json .Server.Version}}")) != ""
    assert engine.ok("info", "--format", "{{.OSType}} {{.Containers}}") == "linux 0\n"


def test_format_and_filters(engine):
    _run_bg(engine, "--name", "fa", "busybox", "sleep", "1000")
    engine.ok("create", "--name", "fb", "busybox", "true")
    assert engine("run", "--name", "fc", "busybox", "sh", "-c", "exit 3").returncode == 3
    assert engine.ok("ps", "--format", "{{.Names}}") == "fa\n"
    assert engine.ok("ps", "-a", "--filter", "status=created", "--format", "{{.Names}}") == "fb\n"
    assert engine.ok("ps", "-a", "--filter", "exited=3", "--format", "{{.Names}}") == "fc\n"
    assert engine.ok("ps", "-a", "--filter", "name=f[ab]", "--format", "{{.Names}}").split() \
        == ["fb", "fa"]
    assert engine.ok("ps", "-a", "--filter", "since=fa", "--format", "{{.Names}}").split() \
        == ["fc", "fb"]
    assert engine.ok("ps", "-a", "--filter", "before=fb", "--format", "{{.Names}}") == "fa\n"
    out = engine.ok("ps", "-a", "--format", "table {{.Names}}\\t{{.State}}")
    assert out.splitlines()[0].split() == ["NAMES", "STATE"]
    assert len({line.index(line.split()[1]) for line in out.splitlines()}) == 1  # aligned
    res = engine("ps", "--format", "{{.NoSuchField}}")
    assert res.returncode == 1 and "NoSuchField" in res.stderr
    assert engine("ps", "--filter", "colour=red").returncode == 1
    # isolation: vessel's two (default is container); a VM created, not started
    engine.ok("create", "--name", "fv", "--isolation", "vm", "busybox", "true")
    assert engine.ok("ps", "-a", "--filter", "isolation=vm", "--format", "{{.Names}}") == "fv\n"
    assert engine.ok("ps", "-a", "--filter", "isolation=default", "--filter",
                     "isolation=container", "--format", "{{.Names}}").split() == ["fc", "fb", "fa"]
    res = engine("ps", "--filter", "isolation=hyperv")
    assert res.returncode == 1 and "isolation=hyperv" in res.stderr
    engine.ok("rm", "fv")
    assert engine.ok("inspect", "-f", "{{range $i, $a := .Config.Cmd}}{{$i}}{{$a}} {{end}}",
                     "fa") == "0sleep 11000 \n"
    assert engine.ok("images", "--format", "{{.Repository}}:{{.Tag}}",
                     "--filter", "reference=busybox") == "busybox:latest\n"
    assert engine.ok("history", "--format", "{{.Size}}", "busybox").strip() != ""


def test_cp_tar_streams(engine, tmp_path):
    _run_bg(engine, "--name", "ct", "--hostname", "tarbox", "busybox", "sleep", "1000")
    engine.wait_state("ct", lambda i: i["State"]["Running"], what="running")
    out = subprocess.run([engine.binary, "cp", "ct:/etc/hostname", "-"], env=engine.env,
                         capture_output=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as t:
        assert t.getnames() == ["hostname"]
        assert t.extractfile("hostname").read() == b"tarbox\n"
    assert not (tmp_path / "-").exists()
    engine.ok("exec", "ct", "mkdir", "-p", "/d/sub")
    engine.ok("exec", "ct", "sh", "-c", "echo x > /d/sub/f; ln -s sub /d/link")
    out = subprocess.run([engine.binary, "cp", "ct:/d", "-"], env=engine.env,
                         capture_output=True, timeout=60)
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as t:
        names = {m.name.rstrip("/"): m for m in t.getmembers()}
    assert set(names) == {"d", "d/sub", "d/sub/f", "d/link"}
    assert names["d/link"].issym() and names["d/link"].linkname == "sub"
    # in: a tar on stdin, unpacked into a directory of the container
    data = _tar_of("fromtar", b"tar data\n")
    res = engine("cp", "-", "ct:/tmp", input=data)
    assert res.returncode == 0, res.stderr
    assert engine.ok("exec", "ct", "cat", "/tmp/fromtar") == "tar data\n"
    # bad input: not a tar, a file as destination, an escaping entry
    assert engine("cp", "-", "ct:/tmp", input=b"not a tar").returncode == 1
    assert engine("cp", "-", "ct:/etc/passwd", input=data).returncode == 1
    evil = _tar_of("../../escaped", b"x")
    assert engine("cp", "-", "ct:/tmp", input=evil).returncode == 1
    assert engine("exec", "ct", "ls", "/escaped").returncode != 0
    ctr_dir = engine.containers_dir() / engine.inspect("ct")["Id"]
    assert not [p for p in os.listdir(ctr_dir) if p.startswith("cp-")]


def test_logs_since_until(engine):
    engine.ok("run", "--name", "ls1", "busybox", "sh", "-c", "echo one; sleep 2; echo two")
    assert engine.ok("logs", "--since", "1h", "ls1") == "one\ntwo\n"
    assert engine.ok("logs", "--since", "1s", "ls1") == "two\n"
    assert engine.ok("logs", "--until", "2000-01-01T00:00:00Z", "ls1") == ""
    stamps = engine.ok("logs", "-t", "ls1").split()
    first = stamps[0]  # RFC 3339 time of "one"
    assert engine.ok("logs", "--until", first, "ls1") == "one\n"
    assert engine.ok("logs", "--since", "0", "ls1") == "one\ntwo\n"
    res = engine("logs", "--since", "yesterday", "ls1")
    assert res.returncode != 0 and "--since" in res.stderr


def test_top_with_ps_options(engine):
    if not shutil.which("ps"):
        pytest.skip("the host has no ps (procps): top with ps options runs it")
    _run_bg(engine, "--name", "tq", "busybox", "sleep", "1000")
    engine.wait_state("tq", lambda i: i["State"]["Running"], what="running")
    pid = engine.inspect("tq")["State"]["Pid"]
    lines = engine.ok("top", "tq", "-o", "pid,comm").splitlines()
    assert lines[0].split() == ["PID", "COMMAND"]
    assert [line.split() for line in lines[1:]] == [[str(pid), "sleep"]]
    res = engine("top", "tq", "-o", "comm")
    assert res.returncode == 1 and "PID" in res.stderr


def test_export(engine, tmp_path):
    _run_bg(engine, "--name", "xp", "busybox", "sh", "-c", "echo hi > /made; sleep 1000")
    helpers.wait_for(lambda: engine("exec", "xp", "test", "-s", "/made").returncode == 0, 10,
                     what="/made")
    engine.ok("exec", "xp", "mkfifo", "/fifo")
    out = subprocess.run([engine.binary, "export", "xp"], env=engine.env, capture_output=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as t:
        names = {m.name.rstrip("/"): m for m in t.getmembers()}
        assert t.extractfile("made").read() == b"hi\n"
    assert {"bin", "bin/sh", "etc/passwd", "made", "fifo"} <= set(names)
    assert names["fifo"].isfifo()
    # stopped: mounted for the export only
    engine.ok("stop", "-t", "0", "xp")
    engine.ok("export", "-o", tmp_path / "x.tar", "xp")
    with tarfile.open(tmp_path / "x.tar") as t:
        assert "made" in t.getnames()
    ctr = str(engine.containers_dir())
    assert not [line for line in open("/proc/self/mountinfo") if ctr in line]
    assert engine("export", "nosuch-ctr").returncode == 1


def test_system_df(engine):
    _run_bg(engine, "--name", "df1", "busybox", "sh", "-c",
            "dd if=/dev/zero of=/big bs=1k count=512 2>/dev/null; sleep 1000")
    helpers.wait_for(lambda: engine("exec", "df1", "test", "-s", "/big").returncode == 0, 10,
                     what="/big")
    rows = [line.split("|") for line in engine.ok(
        "system", "df", "--format", "{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}").splitlines()]
    by_type = {r[0]: r[1:] for r in rows}
    assert list(by_type) == ["Images", "Containers", "Local Volumes", "Build Cache"]
    assert by_type["Containers"][:2] == ["1", "1"]
    assert by_type["Containers"][2].endswith("kB") or by_type["Containers"][2].endswith("MB")
    assert by_type["Images"][1] == "1"
    header = engine.ok("system", "df").splitlines()[0].split()
    assert header == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]


def _pty_run(engine, *args):
    """vessel ARGS on a new pseudo-terminal: (process, master fd)."""
    master, slave = os.openpty()
    p = subprocess.Popen([engine.binary, *args], env=engine.env, stdin=slave, stdout=slave,
                         stderr=slave, start_new_session=True,
                         preexec_fn=lambda: __import__("fcntl").ioctl(0, __import__(
                             "termios").TIOCSCTTY, 0))
    os.close(slave)
    return p, master


def _read_until(master, needle, timeout=10):
    import select
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {needle!r} in {buf!r}")
        r, _, _ = select.select([master], [], [], left)
        if r:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf


def test_it_raw_terminal_and_detach_keys(engine):
    p, master = _pty_run(engine, "run", "-it", "--name", "itx", "busybox", "sh")
    try:
        _read_until(master, b"# ")
        os.write(master, b"echo o$((1+1)); echo t$((2+1))\n")
        out = _read_until(master, b"t3\r\n")
        assert b"o2\r\nt3\r\n" in out and b"\r\r\n" not in out, out
        os.write(master, b"\x10\x11")  # ctrl-p ctrl-q
        assert p.wait(timeout=10) == 0
        assert engine.inspect("itx")["State"]["Running"], "detaching stopped the container"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    p, master = _pty_run(engine, "attach", "itx")
    try:
        os.write(master, b"echo b$((4+4))\n")
        _read_until(master, b"b8\r\n")
        os.write(master, b"exit 3\n")
        assert p.wait(timeout=10) == 3
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)


MEMORY_LIMIT = ("cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || "
                "cat /sys/fs/cgroup/memory.max")


def test_engine_update_applies_and_persists(engine):
    _run_bg(engine, "--name", "up", "busybox", "sleep", "1000")
    engine.wait_state("up", lambda i: i["State"]["Running"], what="running")
    out = engine.ok("update", "--memory", "64m", "--memory-swap", "128m", "--pids-limit", "50",
                    "--restart", "on-failure:3", "up")
    assert out == "up\n"
    hc = engine.inspect("up")["HostConfig"]
    assert hc["Memory"] == 64 << 20 and hc["MemorySwap"] == 128 << 20
    assert hc["PidsLimit"] == 50
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert engine.ok("exec", "up", "sh", "-c", MEMORY_LIMIT).strip() == str(64 << 20)
    engine.ok("restart", "-t", "1", "up")
    assert engine.ok("exec", "up", "sh", "-c", MEMORY_LIMIT).strip() == str(64 << 20)
    # bad values change nothing
    res = engine("update", "--memory", "12x", "up")
    assert res.returncode == 1 and "--memory" in res.stderr
    assert engine.inspect("up")["HostConfig"]["Memory"] == 64 << 20
    assert engine("update", "--memory", "64m", "nosuch-ctr").returncode == 1
    assert engine("update", "up").returncode == 1
    # a stopped container keeps it for its next start
    engine.ok("stop", "-t", "1", "up")
    engine.ok("update", "--memory", "32m", "up")
    engine.ok("start", "up")
    assert engine.ok("exec", "up", "sh", "-c", MEMORY_LIMIT).strip() == str(32 << 20)


def test_detach_keys_flag(engine):
    p, master = _pty_run(engine, "run", "-it", "--detach-keys", "ctrl-x,a", "--name", "dk",
                         "busybox", "sh")
    try:
        _read_until(master, b"# ")
        # the default keys and a lone first key go through to the shell
        os.write(master, b"\x10\x11echo \x18b$((1+1))\n")
        _read_until(master, b"2\r\n")
        os.write(master, b"\x18a")  # ctrl-x a
        assert p.wait(timeout=10) == 0
        assert engine.inspect("dk")["State"]["Running"], "detaching stopped the container"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    p, master = _pty_run(engine, "attach", "--detach-keys", "ctrl-a", "dk")
    try:
        os.write(master, b"echo c$((2+2))\n")
        _read_until(master, b"c4\r\n")
        os.write(master, b"\x01")
        assert p.wait(timeout=10) == 0
        assert engine.inspect("dk")["State"]["Running"]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    for bad in ("ctrl-", "ctrl-1", "ab", ","):
        res = engine("attach", "--detach-keys", bad, "dk")
        assert res.returncode == 125 and "--detach-keys" in res.stderr, (bad, res.stderr)
    res = engine("create", "--detach-keys", "ctrl-a", "busybox", "true")
    assert res.returncode == 125
    assert len(engine.records()) == 1


def test_log_driver_and_rotation(engine):
    engine.ok("run", "--name", "ln", "--log-driver", "none", "busybox", "echo", "hi")
    res = engine("logs", "ln")
    assert res.returncode == 1 and "does not support reading" in res.stderr
    assert engine.inspect("ln")["HostConfig"]["LogConfig"] == {"Type": "none", "Config": {}}
    assert not list((engine.containers_dir() / engine.inspect("ln")["Id"]).glob("container.log*"))
    engine.ok("run", "--name", "lr", "--log-opt", "max-size=8k", "--log-opt", "max-file=2",
              "busybox", "sh", "-c", "i=0; while [ $i -lt 3000 ]; do echo line$i; "
              "i=$((i+1)); done")
    d = engine.containers_dir() / engine.inspect("lr")["Id"]
    logs = sorted(p.name for p in d.glob("container.log*"))
    assert logs == ["container.log", "container.log.1"], logs
    assert all((d / n).stat().st_size <= 8192 for n in logs)
    out = engine.ok("logs", "lr").splitlines()
    assert out[-1] == "line2999" and 0 < len(out) < 3000
    lc = engine.inspect("lr")["HostConfig"]["LogConfig"]
    assert lc == {"Type": "json-file", "Config": {"max-size": "8k", "max-file": "2"}}
    engine.ok("create", "--name", "ll", "--log-driver", "local", "busybox", "true")
    assert engine.inspect("ll")["HostConfig"]["LogConfig"] == {
        "Type": "local", "Config": {"max-size": "20m", "max-file": "5"}}
    for bad in (["--log-driver", "nosuch"], ["--log-opt", "bogus=1"],
                ["--log-opt", "max-file=0"], ["--log-opt", "max-size=12x"],
                ["--log-driver", "none", "--log-opt", "max-size=1m"]):
        res = engine("run", "--rm", *bad, "busybox", "true")
        assert res.returncode == 125 and "--log" in res.stderr, (bad, res.stderr)
    assert len(engine.records()) == 3


def test_init_reaps_and_forwards_signals(engine):
    _run_bg(engine, "--name", "in1", "--init", "busybox", "sh", "-c",
            "for i in 1 2 3; do (sleep 0.1 &); done; sleep 1000")
    engine.wait_state("in1", lambda i: i["State"]["Running"], what="running")
    helpers.wait_for(lambda: engine.ok("exec", "in1", "ps", "-o", "stat,comm").count("Z") == 0
                     and "docker-init" in engine.ok("exec", "in1", "cat", "/proc/1/comm"), 10,
                     what="orphans reaped by the init")
    # without --init a shell as process 1 ignores SIGTERM and waits for the
    # timeout's SIGKILL; the init forwards it and the shell dies of it
    start = time.monotonic()
    engine.ok("stop", "-t", "20", "in1")
    assert time.monotonic() - start < 10
    assert engine.inspect("in1")["State"]["ExitCode"] == 143
    assert engine.inspect("in1")["HostConfig"]["Init"] is True
    # an image without /sbin: the target is made in the container's layer
    assert engine("run", "--rm", "--init", "busybox", "sh", "-c", "exit 9").returncode == 9
    res = engine("run", "--rm", "--init", "busybox", "/no/such")
    assert res.returncode == 127 and "/no/such" in res.stderr
    res = engine("run", "--rm", "--init", "--isolation", "vm", "busybox", "true")
    assert res.returncode == 125 and "--init" in res.stderr


def test_system_prune_scope(vessel_bin, tmp_path):
    """Docker's scope, in a data root of its own (it removes every stopped
    container, unused network and untagged image of its data root)."""
    eng = Engine(vessel_bin, tmp_path / "data", tmp_path / "run", tmp_path)
    eng.ok("run", "--name", "stopped", "busybox", "true")
    eng.ok("run", "-d", "--name", "up", "busybox", "sleep", "1000")
    eng.ok("network", "create", "--subnet", "10.99.41.0/24", "unused-net")
    eng.ok("volume", "create", "free-vol")
    eng.ok("commit", "stopped", "dangling:1")
    eng.ok("rmi", "dangling:1")
    eng.ok("commit", "up", "tagged:1")
    try:
        out = eng.ok("system", "prune", "-f")
        assert "Deleted Containers:" in out and "Deleted Networks:\nunused-net\n" in out, out
        assert eng.ok("ps", "-a", "--format", "{{.Names}}") == "up\n"
        assert "unused-net" not in eng.ok("network", "ls")
        assert eng.ok("volume", "ls", "-q") == "free-vol\n"  # volumes only with --volumes
        assert "tagged" in eng.ok("images", "--format", "{{.Repository}}")
        eng.ok("system", "prune", "-f", "--volumes", "-a")
        assert eng.ok("volume", "ls", "-q") == ""
        assert "tagged" not in eng.ok("images", "--format", "{{.Repository}}")
        assert eng.ok("ps", "-a", "--format", "{{.Names}}") == "up\n"
        res = eng("image", "prune", "--volumes")
        assert res.returncode == 125
    finally:
        eng("rm", "-f", "up")
    assert eng.records() == []


def test_mount_flag(engine, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("from host\n")
    out = engine.ok("run", "--rm", "--mount", f"type=bind,source={src},target=/s,readonly",
                    "--mount", "type=tmpfs,target=/t,tmpfs-size=2m,tmpfs-mode=1770",
                    "--mount", "source=mnt-vol,target=/v", "busybox", "sh", "-c",
                    "cat /s/f; touch /s/x 2>/dev/null || echo ro; grep ' /t ' /proc/mounts; "
                    "stat -c %a /t; echo kept > /v/k")
    lines = out.splitlines()
    assert lines[:2] == ["from host", "ro"], out
    assert "size=2048k" in lines[2] and lines[3] == "1770", out
    assert not (src / "x").exists()
    assert engine.ok("run", "--rm", "--mount", "type=volume,src=mnt-vol,dst=/v,ro", "busybox",
                     "cat", "/v/k") == "kept\n"
    engine.ok("create", "--name", "mnt", "--mount",
              f"type=bind,src={src},dst=/s,bind-propagation=rslave", "busybox", "true")
    info = engine.inspect("mnt")
    assert info["HostConfig"]["Mounts"] == [{"Type": "bind", "Source": str(src), "Target": "/s",
                                             "BindOptions": {"Propagation": "rslave"}}]
    m = info["Mounts"][0]
    assert (m["Type"], m["Source"], m["Destination"], m["RW"], m["Propagation"]) == (
        "bind", str(src), "/s", True, "rslave")
    before = engine.records()
    for bad, why in ((f"type=bind,source={tmp_path}/none,target=/x", "does not exist"),
                     ("type=bind,target=/x", "needs a source"),
                     (f"type=bind,source={src}", "target is required"),
                     ("type=tmpfs,source=/a,target=/x", "no source"),
                     ("type=volume,target=/x,tmpfs-size=1m", "tmpfs options"),
                     ("type=bind,source=/etc,target=/x,bogus=1", "unknown key"),
                     ("type=nfs,target=/x", "unsupported type"),
                     ("type=bind,source=/etc,target=/x,readonly=maybe", "true or false"),
                     ("type=tmpfs,target=/x,tmpfs-size=12q", "tmpfs-size")):
        res = engine("run", "--rm", "--mount", bad, "busybox", "true")
        assert res.returncode == 125 and why in res.stderr, (bad, res.stderr)
    assert engine.records() == before
    engine.ok("rm", "mnt")
    engine.ok("volume", "rm", "mnt-vol")


# --------------------------------------------------------------------------
# the command matrix

# (key, argv, post): post turns stdout into what is compared (default: the
# normalised text). Steps run in order on one engine; names are fixed.
def _tar_names(out):
    try:
        with tarfile.open(fileobj=io.BytesIO(out), mode="r|*") as t:
            return "\n".join(f"{m.name} {m.type.decode() if isinstance(m.type, bytes) else m.type}"
                             for m in t)
    except tarfile.TarError as e:
        return f"<not a tar: {e.__class__.__name__}>"


def _tar_of(name, data):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _key_sets(out):
    """inspect's shape: the keys of the object and of its nested objects
    (two levels), sorted; values left out."""
    try:
        doc = json.loads(out)[0]
    except (ValueError, IndexError):
        return "<not an inspect array>"
    # vessel's own members (docs/docker-compat.md): not Docker's shape
    for own in ("ImageName", "MonitorPid", "VM", "Digest"):
        doc.pop(own, None)
    shape = {"": sorted(doc)}
    for k, v in doc.items():
        if isinstance(v, dict):
            shape[k] = sorted(v)
            for k2, v2 in v.items():
                if isinstance(v2, dict) and k2 not in ("Labels", "Networks", "Ports",
                                                       "ExposedPorts", "Volumes", "Tmpfs"):
                    shape[f"{k}.{k2}"] = sorted(v2)
    return json.dumps(shape, sort_keys=True, indent=0)


MATRIX = [
    # run and exit codes
    ("run-echo", ["run", "--rm", "busybox", "echo", "hello"]),
    ("run-exit-code", ["run", "--rm", "busybox", "sh", "-c", "exit 3"]),
    ("run-not-found", ["run", "--rm", "busybox", "/no/such/cmd"]),
    ("run-not-executable", ["run", "--rm", "busybox", "/etc"]),
    ("run-bad-memory", ["run", "--rm", "--memory", "12x", "busybox", "true"]),
    ("run-user-groups", ["run", "--rm", "-u", "nobody", "busybox", "id"]),
    ("run-root-groups", ["run", "--rm", "busybox", "id"]),
    ("run-user-group-name", ["run", "--rm", "-u", "nobody:nogroup", "busybox", "id"]),
    ("run-user-uid-gid", ["run", "--rm", "-u", "1234:5678", "busybox", "id"]),
    ("run-detached", ["run", "-d", "--name", "mx1", "busybox", "sleep", "1000"]),
    # ps and its formats and filters
    ("ps-format-fields", ["ps", "--format", "{{.Names}}|{{.Image}}|{{.Command}}|{{.State}}|"
                          "{{.Ports}}|{{.Labels}}|{{.Mounts}}|{{.LocalVolumes}}"]),
    ("ps-format-table", ["ps", "--format", "table {{.Names}}\\t{{.Image}}\\t{{.Command}}"]),
    ("ps-format-status", ["ps", "--format", "{{.Status}}"]),
    ("ps-format-funcs", ["ps", "--format", "{{upper .Names}} {{len .Names}} "
                         "{{printf \"%-6s|\" .State}} {{if eq .State \"running\"}}up{{end}}"]),
    ("ps-format-bad-field", ["ps", "--format", "{{.Nope}}"]),
    ("ps-format-bad-syntax", ["ps", "--format", "{{.Names"]),
    ("ps-filter-status", ["ps", "-a", "--filter", "status=running", "--format", "{{.Names}}"]),
    ("ps-filter-name", ["ps", "-a", "--filter", "name=mx", "--format", "{{.Names}}"]),
    ("ps-filter-ancestor", ["ps", "-a", "--filter", "ancestor=busybox", "--format",
                            "{{.Names}}"]),
    ("ps-filter-exited", ["ps", "-a", "--filter", "exited=0", "--format", "{{.Names}}"]),
    ("ps-filter-bad-key", ["ps", "--filter", "bogus=1"]),
    ("ps-filter-bad-status", ["ps", "--filter", "status=sleepy"]),
    ("ps-quiet", ["ps", "-q"]),
    ("ps-last", ["ps", "-n", "1", "--format", "{{.Names}}"]),
    # inspect templates
    ("inspect-fields", ["inspect", "-f", "{{.State.Running}} {{.State.Status}} {{.Name}} "
                        "{{.Config.Image}}", "mx1"]),
    ("inspect-range", ["inspect", "-f", "{{range .Config.Cmd}}[{{.}}]{{end}}", "mx1"]),
    ("inspect-json", ["inspect", "-f", "{{json .Config.Cmd}}", "mx1"]),
    ("inspect-index", ["inspect", "-f", "{{index .Config.Cmd 0}}", "mx1"]),
    ("inspect-join", ["inspect", "-f", "{{join .Config.Cmd \",\"}}", "mx1"]),
    ("inspect-bad-syntax", ["inspect", "-f", "{{.Name", "mx1"]),
    ("inspect-missing", ["inspect", "nosuch-ctr"]),
    ("inspect-type-image", ["inspect", "--type", "image", "-f", "{{.Id}}", "busybox"]),
    # lifecycle
    ("start-running", ["start", "mx1"]),
    ("pause", ["pause", "mx1"]),
    ("pause-again", ["pause", "mx1"]),
    ("ps-paused", ["ps", "--format", "{{.Names}} {{.State}}"]),
    ("start-paused", ["start", "mx1"]),
    ("kill-paused", ["kill", "mx1"]),
    ("wait-killed", ["wait", "mx1"]),
    ("inspect-killed", ["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "mx1"]),
    ("kill-stopped", ["kill", "mx1"]),
    ("start-stopped", ["start", "mx1"]),
    ("stop", ["stop", "-t", "1", "mx1"]),
    ("rm", ["rm", "mx1"]),
    ("rm-missing", ["rm", "mx1"]),
    # events (the lifecycle above, as recorded). A duration is whole seconds
    # before now in Docker (GetTimestamp): the second ends first.
    ("events-wait-a-second", ["run", "--rm", "busybox", "sleep", "1.1"]),
    ("events-lifecycle", ["events", "--since", "10m", "--until", "0s", "--filter",
                          "container=mx1", "--format",
                          "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} "
                          "{{.Actor.Attributes.signal}} {{.Actor.Attributes.exitCode}}"]),
    ("events-text", ["events", "--since", "10m", "--until", "0s", "--filter", "container=mx1",
                     "--filter", "event=create"]),
    ("events-filter-event", ["events", "--since", "10m", "--until", "0s", "--filter",
                             "event=die", "--filter", "container=mx1", "--format",
                             "{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}"]),
    ("events-json-keys", ["events", "--since", "10m", "--until", "0s", "--filter",
                          "container=mx1", "--format", "{{json .}}"],
     lambda out: [sorted(json.loads(line)) for line in out.decode().splitlines()[:1]]),
    ("events-filter-unknown-key", ["events", "--since", "10m", "--until", "0s", "--filter",
                                   "bogus=1", "--filter", "container=mx1", "--format",
                                   "{{.Action}}"]),
    ("events-filter-no-eq", ["events", "--filter", "bogus", "--until", "0s"]),
    ("events-bad-since", ["events", "--since", "yesterday", "--until", "0s"]),
    # exec, files, diff, commit
    ("run-detached-2", ["run", "-d", "--name", "mx2", "busybox", "sleep", "1000"]),
    ("exec-echo", ["exec", "mx2", "echo", "hi"]),
    ("inspect-shape", ["inspect", "mx2"], _key_sets),
    ("image-inspect-shape", ["image", "inspect", "busybox"], _key_sets),
    ("exec-exit", ["exec", "mx2", "sh", "-c", "exit 4"]),
    ("exec-missing-ctr", ["exec", "nosuch-ctr", "true"]),
    ("exec-touch", ["exec", "mx2", "touch", "/newfile"]),
    ("diff", ["diff", "mx2"]),
    ("cp-hostname-stdout", ["cp", "mx2:/etc/hostname", "-"], _tar_names),
    ("cp-stdin", ["cp", "-", "mx2:/tmp"], None, _tar_of("fromtar", b"tar data\n")),
    ("exec-cat-stdin-file", ["exec", "mx2", "cat", "/tmp/fromtar"]),
    ("cp-missing-path", ["cp", "mx2:/no/such", "-"]),
    ("commit", ["commit", "mx2", "compat-img:1"]),
    ("run-committed", ["run", "--rm", "compat-img:1", "sh", "-c",
                       "ls /newfile; wc -c < /etc/hostname"]),
    ("history-format", ["history", "--format", "{{.Size}}|{{.Comment}}", "compat-img:1"]),
    ("rmi-committed", ["rmi", "compat-img:1"]),
    ("update-memory", ["update", "--memory", "64m", "--memory-swap", "128m", "mx2"]),
    ("inspect-updated", ["inspect", "-f", "{{.HostConfig.Memory}}", "mx2"]),
    ("update-cpu-period-quota", ["update", "--cpu-period", "50000", "--cpu-quota", "25000",
                                "mx2"]),
    ("inspect-updated-cpu", ["inspect", "-f", "{{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}}",
                             "mx2"]),
    ("exec-cpu-updated", ["exec", "mx2", "cat", "/sys/fs/cgroup/cpu/cpu.cfs_period_us",
                          "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"]),
    ("update-missing", ["update", "--memory", "64m", "nosuch-ctr"]),
    ("top", ["top", "mx2"], lambda out: out.decode().splitlines()[0].split()[:2]
     if out.strip() else ""),
    ("top-ps-options", ["top", "mx2", "-o", "pid,comm"],
     lambda out: out.decode().splitlines()[0].split() if out.strip() else ""),
    ("export", ["export", "mx2"], lambda out: "newfile" in _tar_names(out)),
    ("rm-running", ["rm", "mx2"]),
    ("rm-force", ["rm", "-f", "mx2"]),
    # logs, wait of several
    ("run-logs", ["run", "--name", "mx3", "busybox", "sh", "-c", "echo one; echo two"]),
    ("run-log-driver-none", ["run", "--name", "mx6", "--log-driver", "none", "busybox", "echo",
                             "x"]),
    ("logs-driver-none", ["logs", "mx6"]),
    ("inspect-log-config", ["inspect", "-f", "{{.HostConfig.LogConfig.Type}}", "mx6"]),
    ("rm-mx6", ["rm", "mx6"]),
    ("run-log-driver-bad", ["run", "--rm", "--log-driver", "nosuch", "busybox", "true"]),
    ("run-log-opt-bad", ["run", "--rm", "--log-opt", "bogus=1", "busybox", "true"]),
    ("run-log-opt-size", ["run", "--rm", "--log-opt", "max-size=1m", "--log-opt", "max-file=2",
                          "busybox", "echo", "rotated"]),
    ("run-labels", ["run", "--name", "mx7", "-l", "a=1", "--label", "b", "busybox", "true"]),
    ("inspect-labels", ["inspect", "-f", "{{json .Config.Labels}}", "mx7"]),
    ("ps-filter-label", ["ps", "-a", "--filter", "label=a=1", "--filter", "label=b",
                         "--format", "{{.Names}}"]),
    ("rm-mx7", ["rm", "mx7"]),
    # --mount
    ("mount-bind-ro", ["run", "--rm", "--mount", "type=bind,source=/etc,target=/h,readonly",
                       "busybox", "sh", "-c", "test -f /h/hostname && touch /h/x"]),
    ("mount-tmpfs", ["run", "--rm", "--mount", "type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770",
                     "busybox", "sh", "-c", "grep ' /t ' /proc/mounts; stat -c %a /t"]),
    ("mount-volume-write", ["run", "--rm", "--mount", "source=compat-mvol,target=/v", "busybox",
                            "sh", "-c", "echo kept > /v/f"]),
    ("mount-volume-read", ["run", "--rm", "--mount", "type=volume,src=compat-mvol,dst=/v,ro",
                           "busybox", "sh", "-c", "cat /v/f; touch /v/g"]),
    ("mount-inspect", ["run", "--name", "mx8", "--mount", "type=volume,target=/anon",
                       "--mount", "type=tmpfs,destination=/t", "busybox", "true"]),
    # Docker lists .Mounts from a Go map: in no fixed order (seen both ways).
    ("mount-inspect-mounts", ["inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Destination}} "
                              "{{.RW}} {{.Mode}};{{end}}", "mx8"],
     lambda out: sorted(out.decode().strip().split(";"))),
    ("mount-inspect-hostconfig", ["inspect", "-f", "{{json .HostConfig.Mounts}}", "mx8"]),
    ("rm-mx8", ["rm", "-v", "mx8"]),
    ("volume-rm-mvol", ["volume", "rm", "compat-mvol"]),
    ("mount-bind-missing-source", ["run", "--rm", "--mount",
                                   "type=bind,source=/no/such/dir,target=/x", "busybox", "true"]),
    ("mount-no-target", ["run", "--rm", "--mount", "type=bind,source=/etc", "busybox", "true"]),
    ("mount-bad-key", ["run", "--rm", "--mount", "type=bind,source=/etc,target=/x,bogus=1",
                       "busybox", "true"]),
    ("mount-bad-type", ["run", "--rm", "--mount", "type=npipe,source=/etc,target=/x",
                        "busybox", "true"]),
    # --init
    ("run-init-pid1", ["run", "--rm", "--init", "busybox", "cat", "/proc/1/comm"]),
    ("run-init-exit", ["run", "--rm", "--init", "busybox", "sh", "-c", "exit 7"]),
    ("run-init-reaps", ["run", "--rm", "--init", "busybox", "sh", "-c",
                        "(sleep 0.1 &); sleep 0.6; ps -o stat | grep -c Z"]),
    ("run-init-inspect", ["create", "--name", "mx9", "--init", "busybox", "true"]),
    ("inspect-init", ["inspect", "-f", "{{.HostConfig.Init}} {{.Path}} {{.Args}}", "mx9"]),
    ("rm-mx9", ["rm", "mx9"]),
    # system prune: Docker's scope
    ("prune-stopped", ["run", "--name", "mx10", "busybox", "true"]),
    ("prune-running", ["run", "-d", "--name", "mx11", "busybox", "sleep", "1000"]),
    ("prune-volume", ["volume", "create", "compat-pvol"]),
    ("prune-kept-volume", ["volume", "create", "compat-kvol"]),
    ("prune-volume-user", ["create", "--name", "mx12", "-v", "compat-kvol:/k", "busybox",
                           "true"]),
    ("system-prune", ["system", "prune", "-f", "--volumes"],
     lambda out: [line for line in out.decode().splitlines() if line.endswith(":")] +
     sorted(line for line in out.decode().splitlines() if line.startswith("compat-"))),
    ("ps-after-system-prune", ["ps", "-a", "--format", "{{.Names}}"]),
    ("volumes-after-system-prune", ["volume", "ls", "--format", "{{.Name}}"],
     lambda out: sorted(n for n in out.decode().split() if n.startswith("compat-"))),
    ("prune-cleanup", ["rm", "-f", "-v", "mx11", "mx12"]),
    ("rm-force-missing", ["rm", "-f", "nosuch-ctr"]),
    ("rm-missing-no-force", ["rm", "nosuch-ctr"]),
    ("prune-cleanup-volume", ["volume", "rm", "compat-kvol"]),
    ("system-prune-usage", ["system", "prune", "extra"]),
    ("run-detach-keys-bad", ["run", "--rm", "--detach-keys", "ctrl-1", "busybox", "true"]),
    ("logs", ["logs", "mx3"]),
    ("logs-tail", ["logs", "--tail", "1", "mx3"]),
    ("logs-since", ["logs", "--since", "1h", "mx3"]),
    ("logs-until-past", ["logs", "--until", "2000-01-01T00:00:00Z", "mx3"]),
    ("logs-missing", ["logs", "nosuch-ctr"]),
    ("run-exit-5", ["run", "--name", "mx4", "busybox", "sh", "-c", "exit 5"]),
    ("wait-several", ["wait", "mx3", "mx4"]),
    ("ps-filter-exited-5", ["ps", "-a", "--filter", "exited=5", "--format", "{{.Names}}"]),
    ("container-ls", ["container", "ls", "-a", "--format", "{{.Names}}"]),
    ("container-inspect", ["container", "inspect", "-f", "{{.Name}}", "mx4"]),
    ("container-prune", ["container", "prune", "-f"]),
    ("ps-after-prune", ["ps", "-a", "-q"]),
    # images
    ("images-format", ["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]),
    ("images-filter-reference", ["images", "--filter", "reference=busy*", "--format",
                                 "{{.Repository}}"]),
    ("images-filter-dangling", ["images", "--filter", "dangling=true", "-q"]),
    ("images-filter-bad", ["images", "--filter", "nope=1"]),
    ("images-table", ["images", "--format", "table {{.Repository}}\\t{{.Tag}}"]),
    ("image-inspect-missing", ["image", "inspect", "nosuch-image"]),
    ("system-df", ["system", "df", "--format", "{{.Type}}"]),
    # bad input
    ("usage-unknown-flag", ["ps", "--no-such-flag"]),
    ("usage-run-no-image", ["run"]),
    ("stop-missing", ["stop", "nosuch-ctr"]),
    ("wait-missing", ["wait", "nosuch-ctr"]),
    ("start-missing", ["start", "nosuch-ctr"]),
    ("volume-create-bad-name", ["volume", "create", "bad/name"]),
    ("volume-inspect-missing", ["volume", "inspect", "nosuch-vol"]),
    # version, info
    ("version-format", ["version", "--format", "{{.Client.Os}}"]),
    ("info-format", ["info", "--format", "{{.OSType}} {{.Containers}}"]),
    # volumes
    ("volume-create", ["volume", "create", "compat-vol"]),
    ("volume-ls", ["volume", "ls", "--format", "{{.Name}} {{.Driver}}"]),
    ("volume-inspect", ["volume", "inspect", "-f", "{{.Name}} {{.Driver}}", "compat-vol"]),
    ("volume-rm", ["volume", "rm", "compat-vol"]),
    ("volume-rm-missing", ["volume", "rm", "compat-vol"]),
    ("events-wait-a-second-2", ["run", "--rm", "busybox", "sleep", "1.1"]),
    ("events-volume", ["events", "--since", "10m", "--until", "0s", "--filter", "type=volume",
                       "--filter", "volume=compat-vol", "--format",
                       "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}}"]),
    ("run-anon-volume", ["run", "--name", "mx5", "-v", "/data", "busybox", "true"]),
    ("volume-ls-anon", ["volume", "ls", "-q"], lambda out: len(out.split())),
    ("rm-v", ["rm", "-v", "mx5"]),
    ("volume-ls-after-rm-v", ["volume", "ls", "-q"], lambda out: len(out.split())),
    ("run-rm-anon-volume", ["run", "--rm", "-v", "/data", "busybox", "true"]),
    ("volume-ls-after-run-rm", ["volume", "ls", "-q"], lambda out: len(out.split())),
    # health checks
    ("health-run", ["run", "-d", "--name", "mx13", "--health-cmd", "echo ok",
                    "--health-interval", "100ms", "--health-retries", "2", "busybox", "sleep",
                    "1000"]),
    ("health-config", ["inspect", "--format", "{{json .Config.Healthcheck}}", "mx13"]),
    ("health-wait", ["run", "--rm", "busybox", "sleep", "1"]),
    ("health-inspect", ["inspect", "--format", "{{.State.Health.Status}} "
                        "{{.State.Health.FailingStreak}} {{(index .State.Health.Log 0).ExitCode}} "
                        "{{printf \"%q\" (index .State.Health.Log 0).Output}}", "mx13"]),
    ("health-ps", ["ps", "--filter", "health=healthy", "--format", "{{.Names}} {{.Status}}"]),
    ("health-ps-none", ["ps", "-a", "--filter", "health=none", "--filter", "name=mx13",
                        "--format", "{{.Names}}"]),
    ("health-filter-bad", ["ps", "--filter", "health=bogus"]),
    ("health-retries-bad", ["run", "--rm", "--health-retries", "-1", "busybox", "true"]),
    ("health-no-and-cmd", ["run", "--rm", "--no-healthcheck", "--health-cmd", "true",
                           "busybox", "true"]),
    ("health-none", ["run", "--rm", "--no-healthcheck", "busybox", "true"]),
    # --ipc, --pid, --uts
    ("ipc-donor", ["run", "-d", "--name", "mx14", "--ipc", "shareable", "busybox", "sleep",
                   "1000"]),
    ("ipc-join", ["run", "--rm", "--ipc", "container:mx14", "busybox", "true"]),
    ("ipc-shm-write", ["exec", "mx14", "sh", "-c", "echo shared > /dev/shm/seg"]),
    ("ipc-join-shm", ["run", "--rm", "--ipc", "container:mx14", "busybox", "cat", "/dev/shm/seg"]),
    ("ns-inspect", ["inspect", "-f", "{{.HostConfig.IpcMode}}|{{.HostConfig.PidMode}}|"
                    "{{.HostConfig.UTSMode}}", "mx14"]),
    ("pid-join-ps", ["run", "--rm", "--pid", "container:mx14", "busybox", "ps", "-o", "args"]),
    ("pid-host", ["run", "--rm", "--pid", "host", "busybox", "sh", "-c",
                  "test -d /proc/1 && ps -o pid | grep -qv '^ *1$' && echo many"]),
    ("uts-host", ["run", "--rm", "--uts", "host", "busybox", "sh", "-c",
                  "test \"$(hostname)\" = \"$(cat /etc/hostname)\" && echo same"]),
    ("ipc-none-shm", ["run", "--rm", "--ipc", "none", "busybox", "ls", "/dev/shm"]),
    ("ipc-bad", ["run", "--rm", "--ipc", "bogus", "busybox", "true"]),
    ("pid-missing-target", ["run", "--rm", "--pid", "container:nosuch-ctr", "busybox", "true"]),
    ("uts-host-hostname", ["run", "--rm", "--uts", "host", "-h", "x", "busybox", "true"]),
    ("rm-mx14", ["rm", "-f", "mx14"]),
    ("ipc-private-donor", ["run", "-d", "--name", "mx15", "--ipc", "private", "busybox", "sleep",
                           "1000"]),
    ("ipc-join-private", ["run", "--rm", "--ipc", "container:mx15", "busybox", "true"]),
    ("rm-mx15", ["rm", "-f", "mx15"]),
    # -a, --cidfile
    ("attach-stdout", ["run", "--rm", "-a", "stdout", "busybox", "sh", "-c",
                       "echo out; echo err >&2"]),
    ("attach-stderr", ["run", "--rm", "-a", "stderr", "busybox", "sh", "-c",
                       "echo out; echo err >&2"]),
    ("attach-bad", ["run", "--rm", "-a", "bogus", "busybox", "true"]),
    ("attach-and-detach", ["run", "-d", "-a", "stdout", "busybox", "true"]),
    ("cidfile-run", ["run", "--rm", "--cidfile", "compat.cid", "busybox", "true"]),
    ("cidfile-exists", ["run", "--rm", "--cidfile", "compat.cid", "busybox", "true"]),
    # image and exec events (the commit and rmi above, and these)
    ("image-tag-ev", ["tag", "busybox", "compat-ev:1"]),
    ("image-rmi-ev", ["rmi", "compat-ev:1"]),
    ("exec-ev-ctr", ["run", "-d", "--name", "mx16", "busybox", "sleep", "1000"]),
    ("exec-ev", ["exec", "mx16", "sh", "-c", "exit 3"]),
    # a detached exec's exec_die (the commit after it gives it time to end)
    ("exec-ev-detached", ["exec", "-d", "mx16", "sh", "-c", "exit 6"]),
    # the image's labels in image events
    ("image-label-commit", ["commit", "-c", "LABEL compatteam=blue", "mx16", "compat-lab:1"]),
    ("image-label-tag", ["tag", "compat-lab:1", "compat-lab:2"]),
    ("image-label-rmi", ["rmi", "compat-lab:2"]),
    ("rm-mx16", ["rm", "-f", "mx16"]),
    ("events-wait-a-second-3", ["run", "--rm", "busybox", "sleep", "1.1"]),
    ("events-image", ["events", "--since", "10m", "--until", "0s", "--filter", "type=image",
                      "--filter", "event=tag", "--filter", "event=untag", "--filter",
                      "event=delete", "--format",
                      "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}"]),
    ("events-image-json", ["events", "--since", "10m", "--until", "0s", "--filter",
                           "type=image", "--filter", "event=tag", "--format", "{{json .}}"],
     lambda out: [sorted(json.loads(line)) for line in out.decode().splitlines()[:1]]),
    ("events-exec", ["events", "--since", "10m", "--until", "0s", "--filter", "container=mx16",
                     "--filter", "event=exec_create", "--filter", "event=exec_start",
                     "--filter", "event=exec_die", "--format",
                     "{{.Action}} {{.Actor.Attributes.exitCode}}"]),
    ("events-exec-attrs", ["events", "--since", "10m", "--until", "0s", "--filter",
                           "container=mx16", "--filter", "event=exec_die", "--format",
                           "{{json .Actor.Attributes}}"],
     lambda out: [sorted(json.loads(line)) for line in out.decode().splitlines()]),
    ("events-image-labels", ["events", "--since", "10m", "--until", "0s", "--filter",
                             "type=image", "--filter", "label=compatteam=blue", "--format",
                             "{{.Action}} {{.Actor.Attributes.compatteam}} "
                             "{{.Actor.Attributes.name}}"]),
    # system prune: the question, --filter
    ("prune-ask-ctr", ["create", "--name", "mx17", "--label", "compat-prune=1", "busybox",
                       "true"]),
    ("prune-answer-no", ["system", "prune"], None, b"n\n"),
    ("prune-ask-kept", ["ps", "-a", "--filter", "name=mx17", "--format", "{{.Names}}"]),
    ("prune-filter-label", ["system", "prune", "-f", "--filter", "label=compat-prune=1"],
     lambda out: [line for line in out.decode().splitlines() if line.endswith(":")]),
    ("prune-filter-gone", ["ps", "-a", "--filter", "name=mx17", "--format", "{{.Names}}"]),
    ("prune-filter-bad", ["system", "prune", "-f", "--filter", "bogus=1"]),
    ("prune-filter-until-volumes", ["system", "prune", "-f", "--volumes", "--filter",
                                    "until=1h"]),
    # Docker's predefined networks (this dockerd runs with --bridge=none:
    # host and none only, so bridge is filtered out)
    ("network-ls-predefined", ["network", "ls", "--filter", "driver=host", "--filter",
                               "driver=null", "--format", "{{.Name}} {{.Driver}} {{.Scope}}"]),
    ("network-inspect-host", ["network", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Scope}} "
                              "{{.IPAM.Driver}} {{.EnableIPv6}} {{.Internal}} {{.Containers}}",
                              "host"]),
    ("network-rm-none", ["network", "rm", "none"]),
    # the running containers of the host and none networks in their inspect
    ("network-host-ctr", ["run", "-d", "--name", "mx18", "--network", "host", "busybox", "sleep",
                          "1000"]),
    ("network-none-ctr", ["run", "-d", "--name", "mx19", "--network", "none", "busybox", "sleep",
                          "1000"]),
    ("network-inspect-host-ctrs", ["network", "inspect", "-f", "{{json .Containers}}", "host"],
     lambda out: [(v["Name"], sorted(v), len(v["EndpointID"]), v["MacAddress"], v["IPv4Address"])
                  for v in json.loads(out).values()]),
    ("network-inspect-none-ctrs", ["network", "inspect", "-f",
                                   "{{range .Containers}}{{.Name}} {{end}}", "none"]),
    ("ps-filter-network", ["ps", "--filter", "network=host", "--filter", "network=none",
                           "--format", "{{.Names}}"], lambda out: sorted(out.split())),
    ("ps-filter-network-unknown", ["ps", "-a", "--filter", "network=compat-no-such-net", "-q"]),
    ("network-mode-ctrs-rm", ["rm", "-f", "mx18", "mx19"]),
    # --expose: Config.ExposedPorts, ps --filter expose/publish
    ("expose-create", ["create", "--name", "mx20", "--expose", "9000", "--expose", "80/udp",
                       "--expose", "7000-7001", "busybox", "true"]),
    ("expose-run", ["run", "-d", "--name", "mx21", "--expose", "9000", "--expose", "80/udp",
                    "busybox", "sleep", "1000"]),
    ("expose-inspect", ["inspect", "-f", "{{json .Config.ExposedPorts}}", "mx20"]),
    ("expose-filter", ["ps", "-a", "--filter", "expose=80/udp", "--filter", "expose=7001",
                       "--format", "{{.Names}}"]),
    ("expose-filter-tcp-default", ["ps", "-a", "--filter", "expose=80", "-q"]),
    ("publish-filter-none", ["ps", "-a", "--filter", "publish=9000", "-q"]),
    ("publish-filter-colon", ["ps", "-a", "--filter", "publish=1:2"]),
    ("expose-bad", ["create", "--expose", "abc", "busybox", "true"]),
    ("expose-filter-running", ["ps", "--filter", "expose=9000", "--format", "{{.Names}}"]),
    ("expose-rm", ["rm", "-f", "mx20", "mx21"]),
    ("network-inspect-host-empty", ["network", "inspect", "-f", "{{len .Containers}}", "host"]),
]

def _free_char_majors():
    """Character majors of the local range (240-254) no driver registered:
    a node of one opens nothing (ENXIO) once the devices cgroup lets it."""
    used, in_char = set(), False
    for line in Path("/proc/devices").read_text().splitlines():
        if line.startswith(("Character", "Block")):
            in_char = line.startswith("Character")
        elif in_char and line.strip():
            used.add(int(line.split()[0]))
    return [m for m in range(240, 255) if m not in used]


_FREE_MAJORS = _free_char_majors()
# Kernel and device flags (test_run_flags2.py has their focused tests).
MATRIX += [
    ("run-shm-size", ["run", "--rm", "--shm-size", "96m", "busybox", "sh", "-c",
                      "df -k /dev/shm | tail -1 | awk '{print $2}'"]),
    ("run-shm-size-default", ["run", "--rm", "busybox", "sh", "-c",
                              "df -k /dev/shm | tail -1 | awk '{print $2}'"]),
    ("run-shm-size-bad", ["run", "--rm", "--shm-size", "12x", "busybox", "true"]),
    ("run-sysctl", ["run", "--rm", "--sysctl", "net.ipv4.ip_forward=1", "--sysctl",
                    "kernel.shmmax=123456", "--sysctl", "fs.mqueue.msg_max=21", "busybox", "cat",
                    "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmax",
                    "/proc/sys/fs/mqueue/msg_max"]),
    ("run-sysctl-not-namespaced", ["run", "--rm", "--sysctl", "kernel.pid_max=5", "busybox",
                                   "true"]),
    # (--network host with a net.* sysctl is not run against Docker: only
    # runc's check would keep it from the host's namespace)
    ("run-group-add", ["run", "--rm", "--group-add", "daemon", "--group-add", "4321", "busybox",
                       "id"]),
    ("run-group-add-user", ["run", "--rm", "-u", "nobody", "--group-add", "tty", "busybox",
                            "id"]),
    ("run-group-add-unknown", ["run", "--rm", "--group-add", "nosuchgroup", "busybox", "id"]),
    ("run-device", ["run", "--rm", "--device", "/dev/zero:/dev/myzero:r", "--device",
                    "/dev/full", "busybox", "sh", "-c",
                    "ls -l /dev/myzero /dev/full | awk '{print $1, $5, $6, $NF}'; "
                    "head -c 2 /dev/myzero | od -An -tx1"]),
    ("run-device-missing", ["run", "--rm", "--device", "/dev/nosuchdevice", "busybox", "true"]),
    ("run-device-bad-mode", ["run", "--rm", "--device", "/dev/null:/x:rwx", "busybox", "true"]),
    ("run-device-relative", ["run", "--rm", "--device", "/dev/null:x", "busybox", "true"]),
    ("run-device-cgroup-rule-bad", ["run", "--rm", "--device-cgroup-rule", "c 1:3", "busybox",
                                    "true"]),
    ("run-oom-score-adj", ["run", "--rm", "--oom-score-adj", "800", "busybox", "cat",
                           "/proc/self/oom_score_adj"]),
    ("run-oom-score-adj-bad", ["run", "--rm", "--oom-score-adj", "1001", "busybox", "true"]),
    ("run-oom-kill-disable", ["run", "--rm", "-m", "32m", "--oom-kill-disable", "busybox",
                              "grep", "oom_kill_disable",
                              "/sys/fs/cgroup/memory/memory.oom_control"]),
    ("run-cpu-period-quota", ["run", "--rm", "--cpu-period", "50000", "--cpu-quota", "25000",
                              "busybox", "cat", "/sys/fs/cgroup/cpu/cpu.cfs_period_us",
                              "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"]),
    ("run-cpu-period-bad", ["run", "--rm", "--cpu-period", "999", "busybox", "true"]),
    ("run-cpu-quota-bad", ["run", "--rm", "--cpu-quota", "999", "busybox", "true"]),
    ("run-cpus-and-cpu-period", ["run", "--rm", "--cpus", "1", "--cpu-period", "10000",
                                 "busybox", "true"]),
    ("run-blkio-not-block", ["run", "--rm", "--device-read-bps", "/dev/null:1mb", "busybox",
                             "true"]),
    ("create-flags2", ["create", "--name", "mx18", "--shm-size", "96m", "--sysctl",
                       "net.core.somaxconn=100", "--group-add", "5", "--device",
                       "/dev/zero:/dev/z:r", "--device-cgroup-rule", "c 1:3 rwm",
                       "--oom-score-adj", "300", "--oom-kill-disable", "--cpu-period", "10000",
                       "--cpu-quota", "5000", "busybox", "true"]),
    ("inspect-flags2", ["inspect", "-f", "{{.HostConfig.ShmSize}} {{json .HostConfig.Sysctls}} "
                        "{{json .HostConfig.GroupAdd}} {{range .HostConfig.Devices}}"
                        "{{.PathOnHost}}:{{.PathInContainer}}:{{.CgroupPermissions}} {{end}}"
                        "{{json .HostConfig.DeviceCgroupRules}} {{.HostConfig.OomScoreAdj}} "
                        "{{.HostConfig.OomKillDisable}} {{.HostConfig.CpuPeriod}} "
                        "{{.HostConfig.CpuQuota}}", "mx18"]),
    ("rm-mx18", ["rm", "mx18"]),
    ("run-flags2-defaults", ["create", "--name", "mx19", "busybox", "true"]),
    ("inspect-flags2-defaults", ["inspect", "-f", "{{.HostConfig.ShmSize}} "
                                 "{{json .HostConfig.GroupAdd}} {{range .HostConfig.Devices}}"
                        "{{.PathOnHost}}:{{.PathInContainer}}:{{.CgroupPermissions}} {{end}}"
                                 "{{json .HostConfig.DeviceCgroupRules}} "
                                 "{{.HostConfig.OomScoreAdj}} {{.HostConfig.OomKillDisable}} "
                                 "{{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}}", "mx19"]),
    ("rm-mx19", ["rm", "mx19"]),
]
# Issue 17's sixth round: {{.Label "k"}}, -q, --device of a directory (its
# nodes made by test_matrix_against_docker under @TMP@, the matrix's cwd).
_DEV_LIST = ("cd {0} && find . | sort && find . -type c | sort | "
             "xargs stat -c '%n %F %t:%T %a'")
MATRIX += [
    ("label-ctr", ["create", "--name", "mx20", "--label", "com.example.my-key=v 1,x", "--label",
                   "other=o", "busybox", "true"]),
    ("ps-format-label", ["ps", "-a", "--filter", "name=mx20", "--format",
                         '{{.Names}}={{.Label "com.example.my-key"}}|{{.Label "nosuch"}}|'
                         '{{"other" | .Label}}|{{printf "%q" (.Label "other")}}']),
    ("ps-format-label-table", ["ps", "-a", "--filter", "name=mx20", "--format",
                               'table {{.Names}}\\t{{.Label "com.example.my-key"}}\\t'
                               '{{.Label "a.b_c-d"}}\\t{{.Label "other" | upper}}']),
    ("ps-format-label-no-arg", ["ps", "-a", "--format", "{{.Label}}"]),
    ("ps-format-label-two-args", ["ps", "-a", "--format", '{{.Label "a" "b"}}']),
    ("ps-format-field-with-arg", ["ps", "-a", "--format", '{{.Names "a"}}']),
    ("ps-format-label-json", ["ps", "-a", "--filter", "name=mx20", "--format", "{{json .}}"],
     lambda out: [sorted(json.loads(line)) for line in out.decode().splitlines()]),
    ("ps-format-table-header-funcs", ["ps", "-a", "--filter", "name=mx20", "--format",
                                      "table {{lower .Names}}|{{truncate .Image 3}}|"
                                      "{{title .State}}|{{json .Names}}|{{pad .Names 1 0}}"]),
    ("rm-mx20", ["rm", "mx20"]),
    ("volume-label-create", ["volume", "create", "--label", "tier=db", "compat-lvol"]),
    ("volume-ls-label", ["volume", "ls", "--filter", "name=compat-lvol", "--format",
                         '{{.Name}}:{{.Label "tier"}}:{{.Label "nosuch"}}']),
    ("volume-ls-label-table", ["volume", "ls", "--filter", "name=compat-lvol", "--format",
                               'table {{.Name}}\\t{{.Label "tier"}}']),
    ("volume-label-rm", ["volume", "rm", "compat-lvol"]),
    ("run-quiet", ["run", "--rm", "-q", "busybox", "echo", "hi"]),
    ("run-device-dir", ["run", "--rm", "--device", "@TMP@/compat-devs:/dev/mine:r", "busybox",
                        "sh", "-c", _DEV_LIST.format("/dev/mine") +
                        "; head -c 2 /dev/mine/sub/zero | od -An -tx1"]),
    ("run-device-dir-same-path", ["run", "--rm", "--device", "@TMP@/compat-devs/", "busybox",
                                  "sh", "-c", _DEV_LIST.format("@TMP@/compat-devs")]),
    ("run-device-dir-empty", ["run", "--rm", "--device", "@TMP@/compat-empty", "busybox",
                              "true"]),
    ("create-device-dir", ["create", "--name", "mx22", "--device",
                           "@TMP@/compat-devs:/dev/mine:rw", "busybox", "true"],
     lambda out: len(out.strip())),
    ("inspect-device-dir", ["inspect", "-f", "{{json .HostConfig.Devices}}", "mx22"]),
    ("rm-mx22", ["rm", "mx22"]),
]


def _make_device_dirs(base):
    """The --device directories of the matrix: nodes like null, zero and
    full at three depths, a file, a symlink, and one with no node."""
    devs = base / "compat-devs"
    for rel, mm, mode in (("null", (1, 3), 0o666), ("sub/zero", (1, 5), 0o640),
                          ("sub/deeper/full", (1, 7), 0o600)):
        (devs / rel).parent.mkdir(parents=True, exist_ok=True)
        os.mknod(devs / rel, mode | 0o020000, os.makedev(*mm))
        os.chmod(devs / rel, mode)
    (devs / "file").write_text("x")
    os.symlink("null", devs / "link")
    (base / "compat-empty" / "sub").mkdir(parents=True)


if len(_FREE_MAJORS) >= 2:
    MATRIX.append(
        ("run-device-cgroup-rule", ["run", "--rm", "--device-cgroup-rule",
                                    f"c {_FREE_MAJORS[0]}:* r", "busybox", "sh", "-c",
                                    f"mknod /dev/ok c {_FREE_MAJORS[0]} 0; "
                                    f"mknod /dev/no c {_FREE_MAJORS[1]} 0; "
                                    "cat /dev/ok 2>&1; cat /dev/no 2>&1; true"]))

_MASKS = [
    (re.compile(rb"\b[0-9a-f]{64}\b"), b"<ID>"),
    (re.compile(rb"\bsha256:<ID>"), b"<ID>"),
    (re.compile(rb"\b[0-9a-f]{12}\b"), b"<ID>"),
    (re.compile(rb"(Less than a second|About a minute|About an hour|\d+ \w+) ago"), b"<AGO>"),
    (re.compile(rb"Up (Less than a second|About a minute|\d+ \w+)"), b"Up <T>"),
    (re.compile(rb"\b\d+(\.\d+)?[kMG]?B\b"), b"<SIZE>"),
    (re.compile(rb"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[^ \n]*( \+0000 UTC)?"), b"<TIME>"),
    (re.compile(rb"[ \t]+\n"), b"\n"),
    (re.compile(rb"[ \t]{2,}"), b"  "),
]


def _normalise(out):
    # Docker's warning about this test's dockerd (--ip-forward=false)
    out = out.replace(b"IPv4 forwarding is disabled. Networking will not work.\n", b"")
    for pat, rep in _MASKS:
        out = pat.sub(rep, out)
    return out.decode(errors="replace")


def _run_matrix(argv0, env, cwd):
    results = {}
    for step in MATRIX:
        key, args = step[0], [a.replace("@TMP@", str(cwd)) for a in step[1]]
        post = step[2] if len(step) > 2 and step[2] else None
        stdin = step[3] if len(step) > 3 else None
        try:
            p = subprocess.run([*argv0, *args], env=env, input=stdin if stdin else b"",
                               capture_output=True, timeout=60, cwd=cwd)
            code, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired:
            code, out, err = "timeout", b"", b""
        shown = post(out) if post else _normalise(out)
        results[key] = (code, shown, err.decode(errors="replace").strip()[:300])
    return results


def _documented_differences():
    """docs/docker-compat.md: rows `| `key` | reason |` of its table."""
    text = (REPO / "docs" / "docker-compat.md").read_text()
    found = {}
    for line in text.splitlines():
        m = re.match(r"\|\s*`([a-z0-9-]+)`\s*\|\s*(.+?)\s*\|\s*$", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def _cleanup(argv0, env):
    for name in ("mx1", "mx2", "mx3", "mx4", "mx5", "mx6", "mx7", "mx8", "mx9", "mx10", "mx11",
                 "mx12", "mx13", "mx14", "mx15", "mx16", "mx17", "mx18", "mx19", "mx20",
                 "mx22"):
        subprocess.run([*argv0, "rm", "-f", "-v", name], env=env, capture_output=True)
    subprocess.run([*argv0, "rmi", "compat-img:1"], env=env, capture_output=True)
    subprocess.run([*argv0, "rmi", "compat-ev:1"], env=env, capture_output=True)
    subprocess.run([*argv0, "rmi", "compat-lab:1", "compat-lab:2"], env=env, capture_output=True)
    subprocess.run([*argv0, "volume", "rm", "compat-vol"], env=env, capture_output=True)
    for vol in ("compat-mvol", "compat-pvol", "compat-kvol", "compat-lvol"):
        subprocess.run([*argv0, "volume", "rm", vol], env=env, capture_output=True)
    subprocess.run([*argv0, "volume", "prune", "-f"], env=env, capture_output=True)


def test_matrix_against_docker(vessel_bin, docker, tmp_path):
    # A data root of its own: images other tests leave would show in `images`.
    engine = Engine(vessel_bin, tmp_path / "data", tmp_path / "run", tmp_path)
    _make_device_dirs(tmp_path)
    vessel_argv = [engine.binary]
    try:
        mine = _run_matrix(vessel_argv, engine.env, tmp_path)
    finally:
        _cleanup(vessel_argv, engine.env)
        (tmp_path / "compat.cid").unlink(missing_ok=True)
    assert engine.records() == [], f"records left: {engine.records()}"
    assert engine.runtime_entries() == [], f"runtime state left: {engine.runtime_entries()}"
    docker_argv = ["/usr/bin/docker"]
    try:
        theirs = _run_matrix(docker_argv, docker.env, tmp_path)
    finally:
        _cleanup(docker_argv, docker.env)
    documented = _documented_differences()
    same, differ, undocumented = [], [], []
    for step in MATRIX:
        key = step[0]
        a, b = mine[key], theirs[key]
        if a[0] == b[0] and a[1] == b[1]:
            same.append(key)
            continue
        differ.append(key)
        line = (f"{key}: vessel exit {a[0]} {a[1]!r} (stderr {a[2]!r})\n"
                f"    docker exit {b[0]} {b[1]!r} (stderr {b[2]!r})")
        print(line)
        if key not in documented:
            undocumented.append(line)
    stale = [k for k in documented if k in same]
    print(f"{len(same)} same, {len(differ)} differ")
    if stale:
        print("documented but now the same: " + ", ".join(stale))
    assert not undocumented, (
        f"{len(same)} same, {len(differ)} differ; differences not listed in "
        "docs/docker-compat.md:\n" + "\n".join(undocumented))
