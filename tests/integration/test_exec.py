"""vessel exec: a new process in every namespace and the cgroup of a running
container, with its security settings, and the flags runc has."""

import json
import os
import re
import signal

from helpers import ConsoleServer, assert_error, decode_caps, parse_status, wait_for

NAMESPACES = ("mnt", "pid", "net", "ipc", "uts", "cgroup")


def _running(vessel, bundle, cid, **patch):
    b = bundle("sleep", "300")
    for key, value in patch.items():
        if key == "process":
            b.process.update(value)
        elif key == "linux":
            b.linux.update(value)
    vessel.run_detached(b, cid)
    return vessel.state(cid)["pid"]


def test_exec_joins_every_namespace_and_the_cgroup(vessel, bundle, cid, tmp_path):
    init = _running(vessel, bundle, cid)
    pidfile = tmp_path / "exec.pid"
    res = vessel("exec", "--pid-file", pidfile, "--detach", cid, "sleep", "60")
    assert res.returncode == 0, res.describe()
    pid = int(pidfile.read_text())
    for ns in NAMESPACES:
        assert os.readlink(f"/proc/{pid}/ns/{ns}") == os.readlink(f"/proc/{init}/ns/{ns}"), ns
    with open(f"/proc/{pid}/cgroup") as a, open(f"/proc/{init}/cgroup") as b:
        assert a.read() == b.read()
    # and the container's pid namespace sees it
    out = vessel("exec", cid, "sh", "-c", "ls /proc | grep -c '^[0-9]'")
    assert int(out.stdout.strip()) >= 3, out.describe()


def test_exec_exit_status_and_output(vessel, bundle, cid):
    _running(vessel, bundle, cid)
    res = vessel("exec", cid, "sh", "-c", "echo out; echo err >&2; exit 7")
    assert res.returncode == 7, res.describe()
    assert res.stdout == "out\n" and "err" in res.stderr, res.describe()


def test_exec_keeps_the_container_security_settings(vessel, bundle, cid):
    seccomp = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}],
    }
    _running(vessel, bundle, cid, linux={"seccomp": seccomp})
    res = vessel("exec", cid, "sh", "-c", "grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; mkdir /tmp/x")
    assert res.returncode != 0, res.describe()
    assert "Operation not permitted" in res.stderr, res.describe()
    st = parse_status(res.stdout)
    assert decode_caps(st["CapEff"]) == {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
    assert decode_caps(st["CapBnd"]) == {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
    assert st["NoNewPrivs"] == "1"


def test_exec_cap_adds_a_capability(vessel, bundle, cid):
    _running(vessel, bundle, cid)
    res = vessel("exec", "--cap", "CAP_CHOWN", cid, "grep", "CapEff", "/proc/self/status")
    assert res.returncode == 0, res.describe()
    assert "CAP_CHOWN" in decode_caps(res.stdout.split()[1])


def test_exec_user_cwd_env(vessel, bundle, cid):
    _running(vessel, bundle, cid)
    res = vessel("exec", "--user", "1000:1001", "--additional-gids", "42", "--cwd", "/tmp",
                 "--env", "FOO=bar", "--env", "PATH=/bin", cid,
                 "sh", "-c", "id -u; id -g; id -G; pwd; echo $FOO; echo $PATH")
    assert res.returncode == 0, res.describe()
    assert res.stdout.split() == ["1000", "1001", "1001", "42", "/tmp", "bar", "/bin"], res.describe()


def test_exec_process_file(vessel, bundle, cid, tmp_path):
    _running(vessel, bundle, cid)
    proc = {
        "args": ["sh", "-c", "echo $A; id -u; pwd"],
        "env": ["A=from-file", "PATH=/bin"],
        "cwd": "/etc",
        "user": {"uid": 65534, "gid": 65534},
    }
    f = tmp_path / "process.json"
    f.write_text(json.dumps(proc))
    res = vessel("exec", "--process", f, cid)
    assert res.returncode == 0, res.describe()
    assert res.stdout.split() == ["from-file", "65534", "/etc"], res.describe()


def test_exec_tty_with_console_socket(vessel, bundle, cid, tmp_path):
    _running(vessel, bundle, cid)
    server = ConsoleServer(tmp_path / "console.sock")
    try:
        res = vessel("exec", "--tty", "--console-socket", tmp_path / "console.sock", "--detach",
                     cid, "sh", "-c", "tty; echo ready; read x; echo got:$x")
        assert res.returncode == 0, res.describe()
        server.wait_text("ready")
        server.write(b"over-the-pty\n")
        server.wait_text("got:over-the-pty")
    finally:
        server.close()
    assert re.search(r"/dev/pts/\d+", server.text()), server.text()


def test_exec_foreground_forwards_signals(vessel, bundle, cid):
    _running(vessel, bundle, cid)
    p, out, _err = vessel.popen("exec", cid, "sh", "-c",
                                "trap 'echo got-term; exit 5' TERM; echo ready; while :; do sleep 0.1; done")
    wait_for(lambda: "ready" in open(out).read(), 10, what="exec ready")
    p.send_signal(signal.SIGTERM)
    assert p.wait(10) == 5
    assert "got-term" in open(out).read()


def test_exec_into_paused_container_is_refused(vessel, bundle, cid):
    _running(vessel, bundle, cid)
    assert vessel("pause", cid).returncode == 0
    res = vessel("exec", cid, "true")
    assert_error(res, cid, "paused")
    assert vessel("resume", cid).returncode == 0


def test_exec_bad_input(vessel, bundle, cid):
    assert_error(vessel("exec", "nosuch", "true"), "nosuch")
    _running(vessel, bundle, cid)
    assert_error(vessel("exec", "--user", "bob", cid, "true"), "--user", status=2)
    assert_error(vessel("exec", "--cwd", "rel", cid, "true"), "--cwd", status=2)
    assert_error(vessel("exec", "--cap", "CAP_NOPE", cid, "true"), "CAP_NOPE")
    assert_error(vessel("exec", cid, "/no/such/binary"), "/no/such/binary")
    assert_error(vessel("exec", "--tty", "--detach", cid, "true"), "console-socket")
    assert_error(vessel("exec", cid), "COMMAND", status=2)
    # the container is unharmed
    assert vessel.status(cid) == "running"


def test_exec_into_stopped_container_is_refused(vessel, bundle, cid):
    vessel.run_detached(bundle("true"), cid)
    vessel.wait_status(cid, "stopped")
    assert_error(vessel("exec", cid, "true"), cid, "stopped")


def test_exec_into_a_container_at_its_pids_limit(vessel, bundle, cid):
    """As with runc, exec's process is moved into the container's cgroup
    rather than forked there: a container that has used up its pids limit
    (a fork bomb, say) can still be entered."""
    b = bundle("sh", "-c", "sleep 300 & echo ready; wait")
    b.linux.setdefault("resources", {})["pids"] = {"limit": 2}
    res = vessel.run_detached(b, cid)
    wait_for(lambda: "ready" in open(res.out_path).read(), 10, what="the container")
    full = vessel("exec", cid, "sh", "-c", "true & wait")
    assert full.returncode != 0, "the container was not at its pids limit"
    res = vessel("exec", cid, "echo", "inside")
    assert res.returncode == 0, res.describe()
    assert res.stdout == "inside\n", res.describe()
