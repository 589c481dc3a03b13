"""create -> created -> start -> running -> stopped -> delete, kill, list,
pid files, run in the foreground and detached."""

import json
import os
import re
import signal
import time
from datetime import datetime, timezone

import pytest

from helpers import ns_id, pid_alive, wait_for, wait_for_text

# Runs until /ctl/go appears in the bind-mounted control directory.
WAIT_FOR_GO = "echo ready; while [ ! -e /ctl/go ]; do sleep 0.05; done; echo finished"

# Traps TERM and USR1 (pid 1 ignores signals it has no handler for).
TRAPPER = (
    'trap "echo got-term; exit 3" TERM; trap "echo got-usr1; exit 4" USR1; '
    'trap "echo got-hup; exit 5" HUP; echo ready; sleep 1000 & wait; echo wait-returned'
)

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def controlled(bundle, tmp_path):
    ctl = tmp_path / "ctl"
    ctl.mkdir(exist_ok=True)
    b = bundle("sh", "-c", WAIT_FOR_GO)
    b.add_mount("/ctl", "bind", ctl, ["rbind", "rw"])
    return b, ctl


def parse_rfc3339(text):
    assert RFC3339.match(text), f"not an RFC 3339 timestamp: {text!r}"
    m = re.match(r"^(.{19})(\.\d+)?(Z|[+-]\d\d:\d\d)$", text)
    base = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    tz = m.group(3)
    if tz == "Z":
        return base.replace(tzinfo=timezone.utc)
    return datetime.fromisoformat(m.group(1) + tz)


def test_create_state_start_stop_delete(vessel, bundle, cid, tmp_path):
    b = bundle("sh", "-c", "echo user-process-ran")
    b.config["annotations"] = {"org.example.key": "value", "vessel.test": "1"}
    pid_file = tmp_path / "init.pid"

    res = vessel.create_ok(b, cid, "--pid-file", pid_file)

    st = vessel.state(cid)
    assert st["status"] == "created"
    assert st["id"] == cid
    assert isinstance(st["ociVersion"], str) and st["ociVersion"].startswith("1.")
    pid = st["pid"]
    assert isinstance(pid, int) and pid > 1
    assert pid_alive(pid), "init of a created container must be alive"
    assert int(pid_file.read_text().strip()) == pid
    assert os.path.realpath(st["bundle"]) == os.path.realpath(b.path)
    assert st["annotations"] == {"org.example.key": "value", "vessel.test": "1"}
    assert os.path.realpath(st["rootfs"]) == os.path.realpath(b.rootfs)
    created = parse_rfc3339(st["created"])
    assert abs((datetime.now(timezone.utc) - created).total_seconds()) < 120

    # The user process has not run yet: create stops before exec.
    time.sleep(0.2)
    assert "user-process-ran" not in res.read_out()
    assert vessel.status(cid) == "created"

    vessel.start_ok(cid)
    vessel.wait_status(cid, "stopped")
    wait_for_text(res.out_path, "user-process-ran")
    assert vessel.state(cid)["id"] == cid

    d = vessel.delete(cid)
    assert d.returncode == 0, d.describe()
    assert cid not in vessel.entries()
    assert vessel("state", cid).returncode != 0
    assert not pid_alive(pid)


def test_created_init_is_in_new_namespaces(vessel, bundle, cid):
    b = bundle("true")
    for t in ("pid", "network", "ipc", "uts", "mount", "cgroup"):
        b.set_namespace(t)
    vessel.create_ok(b, cid)
    pid = vessel.state(cid)["pid"]
    for ns in ("mnt", "pid", "uts", "ipc", "net", "cgroup"):
        assert ns_id(pid, ns) != ns_id("self", ns), f"{ns} namespace not unshared"


def test_running_then_stopped(vessel, bundle, cid, tmp_path):
    b, ctl = controlled(bundle, tmp_path)
    res = vessel.create_ok(b, cid)
    vessel.start_ok(cid)
    wait_for_text(res.out_path, "ready")
    st = vessel.state(cid)
    assert st["status"] == "running"
    pid = st["pid"]
    assert pid_alive(pid)
    # The init is the user process now (exec'd), not the runtime.
    assert open(f"/proc/{pid}/comm").read().strip() in ("sh", "busybox")

    (ctl / "go").touch()
    vessel.wait_status(cid, "stopped")
    wait_for_text(res.out_path, "finished")
    assert not pid_alive(pid)
    assert vessel.delete(cid).returncode == 0
    assert vessel.entries() == []


def test_start_twice_fails(vessel, bundle, cid, tmp_path):
    b, ctl = controlled(bundle, tmp_path)
    vessel.create_ok(b, cid)
    vessel.start_ok(cid)
    again = vessel.start(cid)
    assert again.returncode != 0, "starting a running container must fail"
    assert vessel.status(cid) == "running"
    (ctl / "go").touch()
    vessel.wait_status(cid, "stopped")
    assert vessel.start(cid).returncode != 0, "starting a stopped container must fail"


def test_delete_created_container(vessel, bundle, cid):
    b = bundle("sh", "-c", "echo user-process-ran")
    res = vessel.create_ok(b, cid)
    pid = vessel.state(cid)["pid"]
    d = vessel.delete(cid)
    assert d.returncode == 0, d.describe()
    wait_for(lambda: not pid_alive(pid), 5, what="init of the deleted container to exit")
    assert cid not in vessel.entries()
    assert "user-process-ran" not in res.read_out()


def test_delete_running_needs_force(vessel, bundle, cid, tmp_path):
    b, ctl = controlled(bundle, tmp_path)
    vessel.create_ok(b, cid)
    vessel.start_ok(cid)
    pid = vessel.state(cid)["pid"]

    d = vessel.delete(cid)
    assert d.returncode != 0, "delete of a running container without --force must fail"
    assert vessel.status(cid) == "running"
    assert pid_alive(pid)

    d = vessel.delete(cid, force=True)
    assert d.returncode == 0, d.describe()
    wait_for(lambda: not pid_alive(pid), 5, what="init to be killed by delete --force")
    assert cid not in vessel.entries()
    assert vessel("state", cid).returncode != 0


def test_delete_force_short_option(vessel, bundle, cid, tmp_path):
    b, ctl = controlled(bundle, tmp_path)
    vessel.run_detached(b, cid)
    pid = vessel.state(cid)["pid"]
    d = vessel("delete", "-f", cid)
    assert d.returncode == 0, d.describe()
    wait_for(lambda: not pid_alive(pid), 5, what="init to be killed by delete -f")
    assert vessel.entries() == []


@pytest.mark.parametrize(
    "sig_args,expect",
    [
        ((), "got-term"),
        (("TERM",), "got-term"),
        (("SIGTERM",), "got-term"),
        (("15",), "got-term"),
        (("USR1",), "got-usr1"),
        (("SIGUSR1",), "got-usr1"),
        (("10",), "got-usr1"),
        (("HUP",), "got-hup"),
        (("1",), "got-hup"),
    ],
    ids=["default", "TERM", "SIGTERM", "15", "USR1", "SIGUSR1", "10", "HUP", "1"],
)
def test_kill_signal_names_and_numbers(vessel, bundle, cid, sig_args, expect):
    b = bundle("sh", "-c", TRAPPER)
    res = vessel.create_ok(b, cid)
    vessel.start_ok(cid)
    wait_for_text(res.out_path, "ready")
    k = vessel.kill(cid, *sig_args)
    assert k.returncode == 0, k.describe()
    wait_for_text(res.out_path, expect)
    vessel.wait_status(cid, "stopped")


@pytest.mark.parametrize("sig", ["KILL", "SIGKILL", "9"])
def test_kill_sigkill(vessel, bundle, cid, sig):
    b = bundle("sleep", "1000")
    vessel.run_detached(b, cid)
    pid = vessel.state(cid)["pid"]
    k = vessel.kill(cid, sig)
    assert k.returncode == 0, k.describe()
    vessel.wait_status(cid, "stopped")
    assert not pid_alive(pid)


def _pids_in_pidns(init_pid):
    target = ns_id(init_pid, "pid")
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{name}/ns/pid") == target and pid_alive(int(name)):
                out.append(int(name))
        except OSError:
            pass
    return out


@pytest.mark.parametrize("flag", ["--all", "-a"])
def test_kill_all(vessel, bundle, cid, flag):
    b = bundle("sh", "-c", "sleep 1000 & sleep 1000 & echo ready; wait; echo children-gone; sleep 1000")
    res = vessel.run_detached(b, cid)
    wait_for_text(res.out_path, "ready")
    init = vessel.state(cid)["pid"]
    pids = wait_for(lambda: len(_pids_in_pidns(init)) >= 3 and _pids_in_pidns(init), 5,
                    what="three processes in the container")
    k = vessel("kill", flag, cid, "KILL")
    assert k.returncode == 0, k.describe()
    wait_for(lambda: not any(pid_alive(p) for p in pids), 5,
             what="every container process to be killed")
    vessel.wait_status(cid, "stopped")


def test_kill_all_term_reaches_children(vessel, bundle, cid):
    # The init has no TERM handler (so ignores TERM) but exits once its
    # children die: only --all delivers TERM to the children.
    b = bundle("sh", "-c", "sleep 1000 & sleep 1000 & echo ready; wait; echo children-gone")
    res = vessel.run_detached(b, cid)
    wait_for_text(res.out_path, "ready")
    k = vessel("kill", "--all", cid, "TERM")
    assert k.returncode == 0, k.describe()
    wait_for_text(res.out_path, "children-gone")
    vessel.wait_status(cid, "stopped")


def test_kill_stopped_container_fails_or_is_noop(vessel, bundle, cid):
    b = bundle("true")
    vessel.create_ok(b, cid)
    vessel.start_ok(cid)
    vessel.wait_status(cid, "stopped")
    k = vessel.kill(cid, "KILL")
    # runc refuses ("container not running"); either way the container stays stopped.
    assert vessel.status(cid) == "stopped"
    if k.returncode != 0:
        assert k.stderr.startswith("vessel"), k.describe()


def test_run_foreground_exit_status_and_cleanup(vessel, bundle, cid):
    b = bundle("sh", "-c", "echo hello-from-run; exit 42")
    res = vessel.run(b, cid)
    assert res.returncode == 42, res.describe()
    assert "hello-from-run" in res.stdout
    assert vessel.entries() == [], "foreground run must delete the container"
    assert vessel("state", cid).returncode != 0


def test_run_foreground_success(vessel, bundle, cid):
    b = bundle("sh", "-c", "echo ok")
    res = vessel.run(b, cid)
    assert res.returncode == 0, res.describe()
    assert res.stdout.strip() == "ok"
    assert vessel.entries() == []


def test_run_foreground_stdin(vessel, bundle, cid, tmp_path):
    data = tmp_path / "input.txt"
    data.write_text("line one\nline two\n")
    b = bundle("sh", "-c", "cat; echo end")
    res = vessel.run(b, cid, stdin=data)
    assert res.returncode == 0, res.describe()
    assert res.stdout == "line one\nline two\nend\n"


def test_run_detached(vessel, bundle, cid, tmp_path):
    b, ctl = controlled(bundle, tmp_path)
    pid_file = tmp_path / "run.pid"
    t0 = time.monotonic()
    res = vessel.run(b, cid, "--detach", "--pid-file", pid_file)
    assert res.returncode == 0, res.describe()
    assert time.monotonic() - t0 < 10
    st = vessel.state(cid)
    assert st["status"] == "running"
    assert int(pid_file.read_text().strip()) == st["pid"]
    wait_for_text(res.out_path, "ready")
    (ctl / "go").touch()
    vessel.wait_status(cid, "stopped")
    wait_for_text(res.out_path, "finished")
    assert cid in vessel.entries(), "a detached container stays until deleted"
    assert vessel.delete(cid).returncode == 0
    assert vessel.entries() == []


def test_run_detached_short_option(vessel, bundle, cid):
    b = bundle("sleep", "1000")
    res = vessel.run(b, cid, "-d")
    assert res.returncode == 0, res.describe()
    assert vessel.status(cid) == "running"


def test_pid_file_relative_to_cwd(vessel, bundle, cid, tmp_path):
    b = bundle("true")
    b.save()
    res = vessel("create", "--bundle", b.path, "--pid-file", "rel.pid", cid, cwd=tmp_path)
    assert res.returncode == 0, res.describe()
    pid = vessel.state(cid)["pid"]
    assert int((tmp_path / "rel.pid").read_text().strip()) == pid


def test_default_bundle_is_cwd(vessel, bundle, cid):
    b = bundle("true")
    b.save()
    res = vessel("create", cid, cwd=b.path)
    assert res.returncode == 0, res.describe()
    st = vessel.state(cid)
    assert os.path.realpath(st["bundle"]) == os.path.realpath(b.path)


def test_state_root_created_if_missing(vessel, bundle, cid, tmp_path):
    b = bundle("true")
    b.save()
    other_root = tmp_path / "new-root" / "nested"
    res = vessel("--root", other_root, "create", "--bundle", b.path, cid, root=False)
    assert res.returncode == 0, res.describe()
    assert (other_root / cid).is_dir()
    d = vessel("--root", other_root, "delete", "--force", cid, root=False)
    assert d.returncode == 0, d.describe()
    assert not (other_root / cid).exists()


def test_list_formats(vessel, bundle, tmp_path):
    from helpers import new_id

    c1, c2 = new_id("la"), new_id("lb")
    vessel.used_ids.update({c1, c2})
    b1 = bundle("sleep", "1000")
    b2 = bundle("sleep", "1000")
    vessel.create_ok(b1, c1)
    vessel.run_detached(b2, c2)

    q = vessel("list", "-q")
    assert q.returncode == 0, q.describe()
    assert sorted(q.stdout.split()) == sorted([c1, c2])

    table = vessel("list")
    assert table.returncode == 0, table.describe()
    lines = table.stdout.strip().splitlines()
    header = lines[0].split()
    assert "ID" in header and "STATUS" in header and "PID" in header, table.stdout
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(rows) == {c1, c2}
    assert "created" in rows[c1]
    assert "running" in rows[c2]

    j = vessel("list", "--format", "json")
    assert j.returncode == 0, j.describe()
    items = json.loads(j.stdout)
    by_id = {i["id"]: i for i in items}
    assert set(by_id) == {c1, c2}
    assert by_id[c1]["status"] == "created"
    assert by_id[c2]["status"] == "running"
    assert by_id[c2]["pid"] == vessel.state(c2)["pid"]
    assert os.path.realpath(by_id[c1]["bundle"]) == os.path.realpath(b1.path)


def test_list_empty(vessel):
    q = vessel("list", "-q")
    assert q.returncode == 0, q.describe()
    assert q.stdout.strip() == ""
    j = vessel("list", "--format", "json")
    assert j.returncode == 0, j.describe()
    assert json.loads(j.stdout) in ([], None)
    t = vessel("list")
    assert t.returncode == 0, t.describe()


def test_state_of_stopped_container(vessel, bundle, cid):
    b = bundle("sh", "-c", "exit 7")
    vessel.create_ok(b, cid)
    vessel.start_ok(cid)
    vessel.wait_status(cid, "stopped")
    st = vessel.state(cid)
    assert st["status"] == "stopped"
    assert st["id"] == cid
    assert os.path.realpath(st["bundle"]) == os.path.realpath(b.path)


# --------------------------------------------------------------------------
# foreground run: signal forwarding and exit status


@pytest.mark.parametrize(
    "sig,code,text",
    [(signal.SIGTERM, 3, "got-term"), (signal.SIGUSR1, 4, "got-usr1"), (signal.SIGHUP, 5, "got-hup")],
    ids=["TERM", "USR1", "HUP"],
)
def test_run_forwards_signals(vessel, bundle, cid, sig, code, text):
    b = bundle("sh", "-c", TRAPPER)
    b.save()
    vessel.used_ids.add(cid)
    p, out, err = vessel.popen("run", "--bundle", b.path, cid)
    wait_for_text(out, "ready")
    p.send_signal(sig)
    rc = p.wait(timeout=15)
    assert rc == code, f"run exited {rc}, expected the container's status {code}; stderr: {open(err).read()!r}"
    assert text in open(out).read()
    assert vessel.entries() == []


def test_run_exit_status_when_container_sigkilled(vessel, bundle, cid):
    b = bundle("sh", "-c", "echo ready; sleep 1000 & wait")
    b.save()
    vessel.used_ids.add(cid)
    p, out, err = vessel.popen("run", "--bundle", b.path, cid)
    wait_for_text(out, "ready")
    pid = vessel.state(cid)["pid"]
    os.kill(pid, signal.SIGKILL)
    rc = p.wait(timeout=15)
    assert rc == 128 + 9, f"run exited {rc}; stderr: {open(err).read()!r}"
    assert vessel.entries() == []


def test_run_exit_status_after_vessel_kill(vessel, bundle, cid):
    b = bundle("sh", "-c", "echo ready; sleep 1000 & wait")
    b.save()
    vessel.used_ids.add(cid)
    p, out, err = vessel.popen("run", "--bundle", b.path, cid)
    wait_for_text(out, "ready")
    k = vessel.kill(cid, "KILL")
    assert k.returncode == 0, k.describe()
    rc = p.wait(timeout=15)
    assert rc == 137, f"run exited {rc}; stderr: {open(err).read()!r}"
    assert vessel.entries() == []


def test_created_init_killed_externally_is_stopped(vessel, bundle, cid):
    # The init's parent is gone; on hosts whose pid 1 does not reap, it stays
    # a zombie: that is "stopped" too.
    b = bundle("true")
    vessel.create_ok(b, cid)
    pid = vessel.state(cid)["pid"]
    os.kill(pid, signal.SIGKILL)
    vessel.wait_status(cid, "stopped")
    assert vessel.start(cid).returncode != 0
    d = vessel.delete(cid)
    assert d.returncode == 0, d.describe()
    assert vessel.entries() == []


def test_concurrent_creates_under_one_root(vessel, bundle):
    from helpers import new_id

    ids = [new_id("cc") for _ in range(6)]
    vessel.used_ids.update(ids)
    procs = []
    for i in ids:
        b = bundle("true")
        b.save()
        procs.append((i, vessel.popen("create", "--bundle", b.path, i)))
    for i, (p, out, err) in procs:
        assert p.wait(timeout=30) == 0, f"create {i} failed: {open(err).read()!r}"
    q = vessel("list", "-q")
    assert sorted(q.stdout.split()) == sorted(ids)
    for i in ids:
        assert vessel.status(i) == "created"


# --------------------------------------------------------------------------
# create killed (SIGKILL) half-way


def _assert_reclaimed(vessel, cid):
    """After a killed create: the id is listed as stopped (or was never
    claimed), delete -f removes every trace, and the id can be created
    again."""
    from helpers import leftover_cgroups

    listed = {c["id"]: c["status"] for c in json.loads(vessel("list", "--format", "json").stdout or "[]")}
    print(cid, listed.get(cid, "unclaimed"))
    if cid in listed:
        # (created: the kill came after create had finished)
        assert listed[cid] in ("stopped", "created"), listed
        assert vessel.status(cid) == listed[cid]
        res = vessel.delete(cid, force=True)
        assert res.returncode == 0, res.describe()
    else:
        assert cid not in vessel.entries(), vessel.entries()
    assert vessel.status(cid) is None
    assert not leftover_cgroups([cid]), leftover_cgroups([cid])


def test_killed_create_leaves_nothing_delete_cannot_remove(vessel, bundle, tmp_path):
    """A create killed at any moment (here: inside a createRuntime hook,
    which runs with the init half set up, and after random delays) leaves
    at most a container that `list` shows as stopped and `delete -f`
    removes with its cgroup, processes and state, after which the id is
    free again."""
    import random

    marker = tmp_path / "hook-ran"
    b = bundle("true")
    b.add_hook("createRuntime", "/bin/sh",
               ["sh", "-c", f"echo $$ > {marker}; exec sleep 30"])
    b.save()
    cid = "killed-in-hook"
    vessel.used_ids.add(cid)
    p, _out, _err = vessel.popen("create", "--bundle", b.path, cid)
    wait_for(lambda: marker.exists() and marker.read_text().strip(), 10, what="the hook")
    hook_pid = int(marker.read_text())
    assert vessel.status(cid) == "creating"
    res = vessel.delete(cid, force=True)
    assert res.returncode != 0 and "being created" in res.stderr, res.describe()
    p.kill()
    p.wait()
    os.kill(hook_pid, signal.SIGKILL)
    _assert_reclaimed(vessel, cid)
    vessel.create_ok(bundle("true"), cid)
    assert vessel.delete(cid, force=True).returncode == 0

    rnd = random.Random(9)
    plain = bundle("true")
    for i in range(24):
        cid = f"killed-{i}"
        vessel.used_ids.add(cid)
        p, _out, _err = vessel.popen("create", "--bundle", plain.path, cid)
        time.sleep(rnd.uniform(0, 0.03))
        p.kill()
        p.wait()
        _assert_reclaimed(vessel, cid)
        vessel.create_ok(plain, cid)
        assert vessel.status(cid) == "created"
        assert vessel.delete(cid, force=True).returncode == 0
    leftovers = [n for n in os.listdir(vessel.root) if n.startswith(".claim")]
    assert not leftovers, leftovers
