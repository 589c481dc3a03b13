"""Health checks (issue 17): --health-* flags and the image's HEALTHCHECK,
run by the container's monitor through the engine's exec path, Docker's
State.Health in inspect, `(healthy)` in ps, `ps --filter health=`,
`health_status` events; a timed-out check is killed, checks end with the
container and with a killed monitor. Real containers, short intervals."""

import json
import os
import signal
import time

import pytest

import helpers
from test_engine import Engine, engine, engine_data  # noqa: F401 (fixtures)


def _procs_with_args(*argv):
    """Live host pids whose command line is exactly argv."""
    want = "\0".join(argv) + "\0"
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline") as f:
                if f.read() == want and helpers.pid_alive(int(name)):
                    out.append(int(name))
        except OSError:
            pass
    return out


def _health(engine, name):
    return engine.inspect(name)["State"].get("Health")


def _status(engine, name):
    return engine.ok("ps", "-a", "--filter", f"name=^{name}$", "--format",
                     "{{.Status}}").strip()


def test_states_ps_filter_inspect_events(engine):
    name = helpers.new_id("hc")
    engine.ok("run", "-d", "--name", name, "--health-cmd", "echo out; echo err >&2; test -e /ok",
              "--health-interval", "200ms", "--health-retries", "2", "busybox", "sleep", "60")
    h = _health(engine, name)
    assert h["Status"] in ("starting", "unhealthy")
    helpers.wait_for(lambda: _health(engine, name)["Status"] == "unhealthy", what="unhealthy")
    assert _status(engine, name).endswith("(unhealthy)")
    h = _health(engine, name)
    assert h["FailingStreak"] >= 2
    entry = h["Log"][-1]
    assert entry["ExitCode"] == 1 and entry["Output"] == "out\nerr\n"
    assert entry["Start"] <= entry["End"]
    engine.ok("exec", name, "touch", "/ok")
    helpers.wait_for(lambda: _health(engine, name)["Status"] == "healthy", what="healthy")
    h = _health(engine, name)
    assert h["FailingStreak"] == 0 and h["Log"][-1]["ExitCode"] == 0
    assert _status(engine, name).endswith("(healthy)")
    # Docker keeps the last 5 results
    helpers.wait_for(lambda: len(_health(engine, name)["Log"]) == 5, what="5 log entries")
    time.sleep(0.5)
    assert len(_health(engine, name)["Log"]) == 5
    ps = lambda f: engine.ok("ps", "-q", "--no-trunc", "--filter", f).split()  # noqa: E731
    cid = engine.inspect(name)["Id"]
    assert cid in ps("health=healthy")
    assert cid not in ps("health=unhealthy") and cid not in ps("health=none")
    res = engine("ps", "--filter", "health=bogus")
    assert res.returncode != 0 and "health" in res.stderr
    evs = [json.loads(line) for line in engine.ok(
        "events", "--since", "10m", "--until", str(time.time() + 0.2), "--filter",
        f"container={name}", "--format", "{{json .}}").splitlines()]
    acts = [e["Action"] for e in evs if e["Action"].startswith("health_status")]
    assert acts[:2] == ["health_status: unhealthy", "health_status: healthy"]
    # each check is an exec, as in Docker: exec_create, exec_start (the
    # command as run) and exec_die with its exit code, under one execID
    cmd = "/bin/sh -c echo out; echo err >&2; test -e /ok"
    execs = [e for e in evs if e["Action"].startswith("exec_")]
    first = execs[0]["Actor"]["Attributes"]["execID"]
    mine = [e for e in execs if e["Actor"]["Attributes"]["execID"] == first]
    assert [e["Action"] for e in mine] == [f"exec_create: {cmd}", f"exec_start: {cmd}",
                                           "exec_die"], mine
    assert mine[2]["Actor"]["Attributes"]["exitCode"] == "1"
    codes = {e["Actor"]["Attributes"]["exitCode"] for e in execs if e["Action"] == "exec_die"}
    assert codes == {"0", "1"}, codes
    engine.ok("rm", "-f", name)


def test_start_period_and_no_check(engine):
    name = helpers.new_id("hc")
    engine.ok("run", "-d", "--name", name, "--health-cmd", "false", "--health-interval", "100ms",
              "--health-retries", "1", "--health-start-period", "60s", "busybox", "sleep", "60")
    helpers.wait_for(lambda: len(_health(engine, name)["Log"]) >= 3, what="3 checks")
    h = _health(engine, name)
    # failures in the start period do not count
    assert h["Status"] == "starting" and h["FailingStreak"] == 0
    assert _status(engine, name).endswith("(health: starting)")
    plain = helpers.new_id("hc")
    engine.ok("run", "-d", "--name", plain, "busybox", "sleep", "60")
    rec = engine.inspect(plain)
    assert "Health" not in rec["State"] and "Healthcheck" not in rec["Config"]
    assert "(" not in _status(engine, plain)
    cid = rec["Id"]
    assert cid in engine.ok("ps", "-q", "--no-trunc", "--filter", "health=none").split()
    engine.ok("rm", "-f", name, plain)


def test_timeout_kills_the_check(engine):
    name = helpers.new_id("hc")
    engine.ok("run", "-d", "--name", name, "--health-cmd", "sleep 1001",
              "--health-interval", "200ms", "--health-timeout", "300ms", "--health-retries", "1",
              "busybox", "sleep", "60")
    helpers.wait_for(lambda: _health(engine, name)["Status"] == "unhealthy", what="unhealthy")
    entry = _health(engine, name)["Log"][0]
    assert entry["ExitCode"] == -1
    assert entry["Output"].startswith("Health check exceeded timeout")
    # each check is killed at its timeout: never two at once
    for _ in range(20):
        assert len(_procs_with_args("sleep", "1001")) <= 1
        time.sleep(0.05)
    engine.ok("rm", "-f", name)
    helpers.wait_for(lambda: _procs_with_args("sleep", "1001") == [], what="no check left")


def test_timeout_and_killed_monitor_kill_what_the_check_started(engine):
    """A check that starts processes of its own (`sh -c 'a & b'`): at its
    timeout, and when the monitor is killed, the whole tree goes, not only
    the check's own process (Docker's daemon leaves the children)."""
    name = helpers.new_id("hc")
    engine.ok("run", "-d", "--name", name, "--health-cmd", "sleep 1004 & sleep 1005",
              "--health-interval", "200ms", "--health-timeout", "600ms", "--health-retries", "1",
              "busybox", "sleep", "60")
    helpers.wait_for(lambda: _health(engine, name)["Status"] == "unhealthy", what="unhealthy")
    # every check's background sleep went with it: at most the running one's
    for _ in range(20):
        assert len(_procs_with_args("sleep", "1004")) <= 1
        time.sleep(0.05)
    helpers.wait_for(lambda: _procs_with_args("sleep", "1004"), what="a running check")
    os.kill(engine.inspect(name)["MonitorPid"], signal.SIGKILL)
    helpers.wait_for(lambda: _procs_with_args("sleep", "1004") == [] and
                     _procs_with_args("sleep", "1005") == [], what="the check's tree gone")
    assert engine.inspect(name)["State"]["Running"]  # the container itself runs on
    engine.ok("rm", "-f", name)


def test_checks_end_with_the_container(engine):
    name = helpers.new_id("hc")
    engine.ok("run", "-d", "--name", name, "--health-cmd", "sleep 1002",
              "--health-interval", "100ms", "busybox", "sleep", "60")
    helpers.wait_for(lambda: _procs_with_args("sleep", "1002"), what="a running check")
    engine.ok("kill", name)
    helpers.wait_for(lambda: _procs_with_args("sleep", "1002") == [], what="the check gone")
    helpers.wait_for(lambda: engine.inspect(name)["State"]["Status"] == "exited", what="exited")
    engine.ok("rm", name)


def test_killed_monitor_leaves_no_check(engine):
    name = helpers.new_id("hc")
    engine.ok("run", "-d", "--name", name, "--health-cmd", "sleep 1003",
              "--health-interval", "100ms", "busybox", "sleep", "60")
    helpers.wait_for(lambda: _procs_with_args("sleep", "1003"), what="a running check")
    mon = engine.inspect(name)["MonitorPid"]
    assert mon > 0
    os.kill(mon, signal.SIGKILL)
    helpers.wait_for(lambda: _procs_with_args("sleep", "1003") == [], what="the check gone")
    engine.ok("rm", "-f", name)


def test_image_healthcheck_and_no_healthcheck(engine, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM busybox\nHEALTHCHECK --interval=150ms --retries=1 CMD [\"true\"]\n")
    tag = helpers.new_id("hc") + ":1"
    engine.ok("build", "--progress", "plain", "-t", tag, str(ctx))
    name = helpers.new_id("hc")
    engine.ok("run", "-d", "--name", name, tag, "sleep", "60")
    hc = engine.inspect(name)["Config"]["Healthcheck"]
    assert hc["Test"] == ["CMD", "true"] and hc["Interval"] == 150 * 10**6 and hc["Retries"] == 1
    helpers.wait_for(lambda: _health(engine, name)["Status"] == "healthy", what="healthy")
    # a flag overrides its member only
    other = helpers.new_id("hc")
    engine.ok("create", "--name", other, "--health-cmd", "exit 1", tag)
    hc = engine.inspect(other)["Config"]["Healthcheck"]
    assert hc["Test"] == ["CMD-SHELL", "exit 1"] and hc["Interval"] == 150 * 10**6
    off = helpers.new_id("hc")
    engine.ok("run", "-d", "--name", off, "--no-healthcheck", tag, "sleep", "60")
    rec = engine.inspect(off)
    assert rec["Config"]["Healthcheck"]["Test"] == ["NONE"] and "Health" not in rec["State"]
    time.sleep(0.4)
    assert "(" not in _status(engine, off)
    engine.ok("rm", "-f", name, other, off)
    engine.ok("rmi", tag)


@pytest.mark.parametrize("args,mention", [
    (["--health-retries", "-1"], "--health-retries"),
    (["--health-interval", "soon"], "--health-interval"),
    (["--health-timeout", "-1s"], "--health-timeout"),
    (["--no-healthcheck", "--health-cmd", "true"], "--no-healthcheck"),
])
def test_bad_flags(engine, args, mention):
    before = engine.records()
    res = engine("run", "-d", *args, "busybox", "true")
    helpers.assert_error(res, mention, status=125)
    # one error line (a usage error adds its "Try --help" line)
    assert len([ln for ln in res.stderr.splitlines() if not ln.startswith("Try ")]) == 1
    assert engine.records() == before


def test_check_of_a_paused_container_fails(engine):
    """The check cannot start in a frozen container: ExitCode -1 and the
    exec's error, as Docker's probe error; healthy again once unpaused."""
    name = helpers.new_id("hc")
    engine.ok("run", "-d", "--name", name, "--health-cmd", "true", "--health-interval", "100ms",
              "--health-retries", "1", "busybox", "sleep", "60")
    helpers.wait_for(lambda: _health(engine, name)["Status"] == "healthy", what="healthy")
    engine.ok("pause", name)
    helpers.wait_for(lambda: _health(engine, name)["Status"] == "unhealthy", what="unhealthy")
    last = _health(engine, name)["Log"][-1]
    assert last["ExitCode"] == -1 and "paused" in last["Output"]
    assert _status(engine, name).endswith("(Paused)")
    engine.ok("unpause", name)
    helpers.wait_for(lambda: _health(engine, name)["Status"] == "healthy", what="healthy again")
    engine.ok("rm", "-f", name)


def test_running_check_holds_no_stdin(engine):
    """A check in progress keeps none of the monitor's descriptors: closing
    the container's stdin (-i) reaches it while a check runs."""
    import subprocess
    name = helpers.new_id("hc")
    p = engine.popen("run", "-i", "--name", name, "--health-cmd", "sleep 1004",
                     "--health-interval", "100ms", "--health-timeout", "120s", "busybox", "cat",
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        helpers.wait_for(lambda: _procs_with_args("sleep", "1004"), what="a running check")
        p.stdin.write(b"hello\n")
        p.stdin.close()
        # cat ends on EOF while the check runs on (up to its 120s timeout)
        assert p.wait(timeout=15) == 0 and p.stdout.read() == b"hello\n"
        # and that check, which the container's exit killed, is no result
        assert engine.inspect(name)["State"]["Health"]["Log"] == []
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    helpers.wait_for(lambda: _procs_with_args("sleep", "1004") == [], what="the check gone")
    engine.ok("rm", "-f", name)
