"""`vessel events` (issue 17): the engine's event log, written by the
commands themselves (no daemon) into <data-root>/events.log, read and
followed by `events` in Docker's shape. The same-as-Docker checks are
rows of test_docker_compat.py's matrix; these cover what the matrix cannot:
following, concurrent writers, a line cut by a crash, rotation."""

import json
import os
import subprocess
import threading
import time

import pytest

import helpers
from test_engine import Engine, engine, engine_data  # noqa: F401 (fixtures)
from test_network import net  # noqa: F401 (a fixture: vessel in a network namespace of its own)


@pytest.fixture(autouse=True)
def fresh_log(engine):
    """The data root is the module's: each test starts with no event log."""
    for name in ("events.log", "events.log.1"):
        (engine.data_root / name).unlink(missing_ok=True)


def _events(engine, *args):
    out = engine.ok("events", "--since", "10m", "--until", str(time.time() + 0.2), *args)
    return out.splitlines()


def _json_events(engine, *args):
    return [json.loads(line) for line in _events(engine, "--format", "{{json .}}", *args)]


def _story(evs):
    """(Type, Action, the container's or network's name) of each event."""
    return [(e["Type"], e["Action"], e["Actor"]["Attributes"].get("name")) for e in evs]


def test_run_records_docker_lifecycle(engine):
    assert engine("run", "--name", "ev1", "-l", "team=blue", "busybox", "sh", "-c",
                  "exit 3").returncode == 3
    engine.ok("rm", "ev1")
    evs = _json_events(engine, "--filter", "container=ev1")
    assert [e["Action"] for e in evs] == ["create", "attach", "start", "die", "destroy"]
    die = evs[3]
    assert die["Type"] == "container" and die["status"] == "die" and die["from"] == "busybox"
    assert die["Actor"]["Attributes"] == {"exitCode": "3", "image": "busybox", "name": "ev1",
                                          "team": "blue"}
    assert die["Actor"]["ID"] == die["id"] and len(die["id"]) == 64
    assert die["time"] == die["timeNano"] // 10**9
    # filters: label, event, type, and the default text line
    assert len(_events(engine, "--filter", "label=team=blue")) == 5
    assert _events(engine, "--filter", "label=team=red") == []
    text = _events(engine, "--filter", "event=die", "--filter", "container=ev1")
    assert len(text) == 1 and " container die " in text[0]
    assert text[0].endswith("(exitCode=3, image=busybox, name=ev1, team=blue)")
    assert _events(engine, "--filter", "type=volume") == []


def test_follow_prints_new_events_until(engine):
    p = engine.popen("events", "--format", "{{.Action}} {{.Actor.Attributes.name}}",
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # only events from now on: an earlier one is not shown
        time.sleep(0.3)
        engine.ok("create", "--name", "evf", "busybox", "true")
        lines = []

        def reader():
            for line in p.stdout:
                lines.append(line.strip())

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        helpers.wait_for(lambda: "create evf" in lines, 10, what="the create event to follow")
        engine.ok("rm", "evf")
        helpers.wait_for(lambda: "destroy evf" in lines, 10, what="the destroy event")
    finally:
        p.terminate()
        p.wait(timeout=10)
    # --until in the future: follows, then ends by itself
    start = time.monotonic()
    res = engine("events", "--until", str(time.time() + 1.5))
    assert res.returncode == 0, res.stderr
    assert 1.0 < time.monotonic() - start < 8


def test_concurrent_writers_lose_nothing(engine):
    n = 24

    def create(i):
        engine.ok("volume", "create", f"evv{i}")

    threads = [threading.Thread(target=create, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    raw = (engine.data_root / "events.log").read_text().splitlines()
    assert all(json.loads(line)["Type"] == "volume" for line in raw)
    names = sorted(e["Actor"]["ID"] for e in _json_events(engine, "--filter", "type=volume"))
    assert names == sorted(f"evv{i}" for i in range(n))


def test_line_cut_by_a_crash_is_skipped_not_merged(engine):
    engine.ok("volume", "create", "before")
    log = engine.data_root / "events.log"
    with open(log, "a") as f:
        f.write('{"status":"create","id":"cut-by-cra')  # a writer killed mid-line
    engine.ok("volume", "create", "after")
    assert [e["Actor"]["ID"] for e in _json_events(engine)] == ["before", "after"]
    assert log.read_text().splitlines()[1] == '{"status":"create","id":"cut-by-cra'


def test_rotation_keeps_reading_across_files(engine):
    engine.ok("volume", "create", "rot-old")
    log = engine.data_root / "events.log"
    # fill the log past its 4 MiB limit with lines that are not events
    with open(log, "a") as f:
        f.write(("x" * 1023 + "\n") * 4100)
    engine.ok("volume", "create", "rot-new")
    assert (engine.data_root / "events.log.1").stat().st_size > 4 << 20
    assert log.stat().st_size < 4096
    ids = [e["Actor"]["ID"] for e in _json_events(engine, "--filter", "type=volume")]
    assert ids == ["rot-old", "rot-new"]


def test_bad_input(engine):
    res = engine("events", "--since", "yesterday")
    assert res.returncode == 1 and "--since" in res.stderr and "yesterday" in res.stderr
    res = engine("events", "--filter", "nokey", "--until", "0s")
    assert res.returncode == 125 and "KEY=VALUE" in res.stderr
    res = engine("events", "--until", "0s", "--format", "{{.Action")
    assert res.returncode == 1 and "template" in res.stderr
    res = engine("events", "extra")
    assert res.returncode == 125


def test_start_and_stop_connect_and_disconnect_the_networks(net):
    """Docker's daemon connects a container's networks at each start and
    disconnects them at each stop: network connect before the container's
    start, disconnect after its die (and before stop's stop), once per
    network; `network connect` of a stopped container writes nothing until
    its start."""
    n1 = net.ok("network", "create", "--subnet", "10.31.0.0/24", "evn1").strip()
    n2 = net.ok("network", "create", "--subnet", "10.31.1.0/24", "evn2").strip()
    cid = net.ok("run", "-d", "--name", "evs", "--network", "evn1", "--network", "evn2",
                 "busybox", "sleep", "100").strip()
    net.ok("stop", "-t", "1", "evs")
    net.ok("network", "create", "--subnet", "10.31.2.0/24", "evn3")
    net.ok("network", "connect", "evn3", "evs")  # stopped: nothing yet
    net.ok("start", "evs")
    net.ok("network", "disconnect", "evn2", "evs")
    net.ok("rm", "-f", "evs")
    evs = [e for e in _json_events(net, "--filter", "event=create", "--filter", "event=start",
                                   "--filter", "event=die", "--filter", "event=stop",
                                   "--filter", "event=destroy", "--filter", "event=connect",
                                   "--filter", "event=disconnect")]
    net_ = lambda action, name: ("network", action, name)  # noqa: E731
    ctr = lambda action: ("container", action, "evs")  # noqa: E731
    assert _story(evs) == [
        net_("create", "evn1"), net_("create", "evn2"), ctr("create"),
        net_("connect", "evn1"), net_("connect", "evn2"), ctr("start"),
        ctr("die"), net_("disconnect", "evn1"), net_("disconnect", "evn2"), ctr("stop"),
        net_("create", "evn3"),
        net_("connect", "evn1"), net_("connect", "evn2"), net_("connect", "evn3"),
        ctr("start"),
        net_("disconnect", "evn2"),
        ctr("die"), net_("disconnect", "evn1"), net_("disconnect", "evn3"), ctr("destroy"),
    ], evs
    first = evs[3]
    assert first["Actor"] == {"ID": n1, "Attributes": {"container": cid, "name": "evn1",
                                                        "type": "bridge"}}
    assert evs[4]["Actor"]["ID"] == n2
    assert sorted(first) == ["Action", "Actor", "Type", "scope", "time", "timeNano"]
    # a container on no vessel network (the loopback-only default) has none
    before = len(_events(net, "--filter", "type=network"))
    net.ok("run", "--rm", "busybox", "true")
    assert len(_events(net, "--filter", "type=network")) == before


def test_network_prune_and_system_prune_destroy_the_networks_they_remove(net):
    """Each network a prune removes gets the destroy `network rm` writes
    (Docker's prune deletes them one by one); one in use stays, no event."""
    ids = {name: net.ok("network", "create", "--subnet", f"10.32.{i}.0/24", *labels,
                        name).strip()
           for i, (name, labels) in enumerate([("pra", ()), ("prb", ()), ("used", ()),
                                               ("prc", ("--label", "tier=x"))])}
    net.ok("run", "-d", "--name", "pru", "--network", "used", "busybox", "sleep", "100")
    out = net.ok("system", "prune", "-f", "--filter", "label=tier=x")
    assert "Deleted Networks:\nprc\n" in out, out
    out = net.ok("network", "prune", "-f")
    assert sorted(out.split()[2:]) == ["pra", "prb"], out
    evs = _json_events(net, "--filter", "type=network", "--filter", "event=destroy")
    assert [e["Actor"]["Attributes"]["name"] for e in evs][0] == "prc"
    assert sorted(e["Actor"]["Attributes"]["name"] for e in evs) == ["pra", "prb", "prc"]
    for e in evs:
        assert e["Actor"] == {"ID": ids[e["Actor"]["Attributes"]["name"]],
                              "Attributes": {"name": e["Actor"]["Attributes"]["name"],
                                             "type": "bridge"}}
    # nothing left to prune: no event
    net.ok("network", "prune", "-f")
    assert len(_events(net, "--filter", "type=network", "--filter", "event=destroy")) == 3
    net.ok("rm", "-f", "pru")
    net.ok("network", "rm", "used")


def test_image_events_carry_the_images_labels(engine, tmp_path):
    """Docker's image events put the image config's Labels beside name
    (name wins); a delete has none: the image is gone when it is written."""
    engine.ok("create", "--name", "evl", "busybox", "true")
    iid = engine.ok("commit", "-c", "LABEL team=blue", "-c", "LABEL name=label-name", "evl",
                    "evlab:1").strip()
    engine.ok("rm", "evl")
    engine.ok("tag", "evlab:1", "evlab:2")
    engine.ok("save", "-o", tmp_path / "evlab.tar", "evlab:1")
    engine.ok("rmi", "evlab:2")
    engine.ok("rmi", "evlab:1")
    engine.ok("load", "-i", tmp_path / "evlab.tar")
    engine.ok("rmi", "evlab:1")
    engine.ok("tag", "busybox", "evplain:1")  # an image without labels: name alone
    engine.ok("rmi", "evplain:1")
    evs = _json_events(engine, "--filter", "type=image")
    got = [(e["Action"], e["Actor"]["ID"] == iid, e["Actor"]["Attributes"]) for e in evs]
    lab = {"team": "blue"}
    assert got == [
        ("tag", True, {**lab, "name": "evlab:1"}),
        ("tag", True, {**lab, "name": "evlab:2"}),
        ("save", True, {**lab, "name": iid}),
        ("untag", True, {**lab, "name": iid}),
        ("untag", True, {**lab, "name": iid}),
        ("delete", True, {"name": iid}),
        ("load", True, {**lab, "name": iid}),
        ("untag", True, {**lab, "name": iid}),
        ("delete", True, {"name": iid}),
        ("tag", False, {"name": "evplain:1"}),
        ("untag", False, {"name": evs[-1]["Actor"]["ID"]}),
    ], evs


def test_detached_exec_gets_its_exec_die_when_it_ends(engine):
    """exec -d returns once the process runs; a waiter (its parent) writes
    Docker's exec_die with the exit code when it ends, also when the
    container's end kills it (137)."""
    engine.ok("run", "-d", "--name", "evx", "busybox", "sleep", "100")

    def dies():
        return [e for e in _json_events(engine, "--filter", "container=evx",
                                        "--filter", "event=exec_die")]

    # the waiter keeps nothing of its caller's: a pipe it was given ends
    # with the command, not with the process
    r, w = os.pipe()
    start = time.monotonic()
    p = subprocess.Popen([engine.binary, "exec", "-d", "evx", "sh", "-c", "sleep 1; exit 7"],
                         env=engine.env, pass_fds=[w], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        assert f.read() == b""
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0 and out == b"" and err == b"", err
    assert time.monotonic() - start < 1, "exec -d waited for its process"
    assert dies() == []
    die = helpers.wait_for(dies, 15, what="the detached exec's exec_die")[0]
    attrs = die["Actor"]["Attributes"]
    assert attrs["exitCode"] == "7" and attrs["name"] == "evx" and attrs["image"] == "busybox"
    starts = _json_events(engine, "--filter", "container=evx",
                          "--filter", "event=exec_start")
    assert starts[0]["Actor"]["Attributes"]["execID"] == attrs["execID"]
    # one still running when the container goes: killed with it
    engine.ok("exec", "-d", "evx", "sleep", "100")
    engine.ok("rm", "-f", "evx")
    helpers.wait_for(lambda: len(dies()) == 2, 15, what="the killed exec's exec_die")
    assert dies()[1]["Actor"]["Attributes"]["exitCode"] == "137"
    # a command that cannot start: the error, exec_die as in the foreground
    engine.ok("run", "-d", "--name", "evx2", "busybox", "sleep", "100")
    res = engine("exec", "-d", "evx2", "nosuchcmd")
    assert res.returncode == 127 and "nosuchcmd" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    evs = _json_events(engine, "--filter", "container=evx2", "--filter", "event=exec_die")
    assert [e["Actor"]["Attributes"]["exitCode"] for e in evs] == ["126"]
    engine.ok("rm", "-f", "evx2")


def test_exec_it_gets_its_exec_die_also_once_detached(engine):
    """exec -it on a terminal runs under a waiter too: exec_die when the
    shell ends in the foreground, and when it ends after the detach keys
    left it running; the terminal is given back as it was."""
    import termios
    from test_docker_compat import _pty_run, _read_until
    engine.ok("run", "-d", "--name", "evt", "busybox", "sleep", "100")

    def dies():
        return [e["Actor"]["Attributes"]["exitCode"]
                for e in _json_events(engine, "--filter", "container=evt",
                                      "--filter", "event=exec_die")]

    for detach in (False, True):
        p, master = _pty_run(engine, "exec", "-it", "evt", "sh")
        try:
            _read_until(master, b"# ")
            if not detach:
                os.write(master, b"exit 3\n")
                assert p.wait(timeout=10) == 3
                # exec_die is in the log when the command returns
                assert dies() == ["3"]
                continue
            os.write(master, b"sleep 1; exit 9\n")
            os.write(master, b"\x10\x11")
            _read_until(master, b"read escape sequence")
            assert p.wait(timeout=10) == 0
            # the pty is back in its own mode (not raw): echo and canonical input
            mode = termios.tcgetattr(master)[3]
            assert mode & termios.ICANON and mode & termios.ECHO
            assert dies() == ["3"]
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            os.close(master)
    helpers.wait_for(lambda: dies() == ["3", "9"], 15, what="the detached shell's exec_die")
    # the command killed: its waiter hangs the process up (SIGHUP, 129)
    # rather than read a terminal that is not its own any more
    p, master = _pty_run(engine, "exec", "-it", "evt", "sh", "-c", "echo READY; sleep 30")
    try:
        _read_until(master, b"READY")
        p.kill()
        p.wait(timeout=10)
        helpers.wait_for(lambda: dies() == ["3", "9", "129"], 15,
                         what="the hung-up process's exec_die")
    finally:
        os.close(master)
    engine.ok("rm", "-f", "evt")
