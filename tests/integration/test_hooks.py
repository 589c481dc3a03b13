"""OCI hooks: prestart, createRuntime, createContainer, startContainer,
poststart, poststop. Each hook script records its stdin (the state), argv,
env and namespaces, and appends its name to order.log."""

import json
import os
import time
from pathlib import Path

import pytest

from helpers import leftover_cgroups, leftover_processes, ns_id, pid_alive, wait_for, wait_for_text

HOOK_SCRIPT = """#!/bin/sh
name=$1; dir=$2
cat > "$dir/$name.state.tmp"
mv "$dir/$name.state.tmp" "$dir/$name.state"
printf '%s\\n' "$@" > "$dir/$name.args"
env > "$dir/$name.env"
for n in mnt net uts; do echo "$n $(readlink /proc/self/ns/$n)"; done > "$dir/$name.ns"
echo "$name" >> "$dir/order.log"
[ "${HOOK_SLEEP:-0}" = 0 ] || exec sleep "$HOOK_SLEEP"
exit "${HOOK_EXIT:-0}"
"""

CREATE_PHASE = ("prestart", "createRuntime", "createContainer")
IN_CONTAINER = ("createContainer", "startContainer")


class Hooks:
    def __init__(self, tmp_path, b):
        self.b = b
        self.out = tmp_path / "hookout"
        self.out.mkdir()
        self.host_script = tmp_path / "hook.sh"
        self.host_script.write_text(HOOK_SCRIPT)
        self.host_script.chmod(0o755)
        cdir = b.rootfs / "hooks"
        cdir.mkdir()
        (cdir / "hook.sh").write_text(HOOK_SCRIPT)
        (cdir / "hook.sh").chmod(0o755)
        b.add_mount("/hookout", "bind", self.out, ["rbind", "rw"])
        self.paths = {}

    def add(self, kind, name=None, exit_code=0, sleep=0, timeout=None, env_extra=()):
        name = name or kind
        # startContainer runs inside the container, after pivot_root: its
        # path resolves in the container's root; the others see the host's.
        if kind == "startContainer":
            path, outdir = "/hooks/hook.sh", "/hookout"
        else:
            path, outdir = str(self.host_script), str(self.out)
        env = [
            "HOOK_VAR=hello world",
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            f"HOOK_EXIT={exit_code}",
            f"HOOK_SLEEP={sleep}",
            *env_extra,
        ]
        self.b.add_hook(kind, path, args=[path, name, outdir, "extra arg"], env=env, timeout=timeout)
        self.paths[name] = path
        return path

    def ran(self, name):
        return (self.out / f"{name}.state").exists()

    def state(self, name):
        text = (self.out / f"{name}.state").read_text()
        try:
            return json.loads(text)
        except ValueError:
            raise AssertionError(f"{name} hook got no JSON state on stdin: {text!r}") from None

    def args(self, name):
        return (self.out / f"{name}.args").read_text().splitlines()

    def env(self, name):
        return dict(l.split("=", 1) for l in (self.out / f"{name}.env").read_text().splitlines() if "=" in l)

    def ns(self, name):
        return dict(l.split(" ", 1) for l in (self.out / f"{name}.ns").read_text().splitlines())

    def order(self):
        p = self.out / "order.log"
        return p.read_text().split() if p.exists() else []


def assert_names_hook(res, kind, path):
    err = res.stderr
    assert res.returncode != 0, res.describe()
    assert err.startswith("vessel"), res.describe()
    assert kind.lower() in err.lower() or path in err, f"error does not name the {kind} hook:\n{res.describe()}"


ALL_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")


def test_all_hooks_run_in_order_with_state(vessel, bundle, cid, tmp_path):
    b = bundle("sh", "-c", "echo user-process-ran; echo ready; while [ ! -e /hookout/go ]; do sleep 0.05; done")
    b.config["annotations"] = {"hook.test": "yes"}
    h = Hooks(tmp_path, b)
    for kind in ALL_KINDS:
        h.add(kind)

    res = vessel.create_ok(b, cid, env=dict(os.environ, VESSEL_HOST_ONLY_VAR="leaked"))
    pid = vessel.state(cid)["pid"]
    assert h.order() == ["prestart", "createRuntime", "createContainer"], h.order()
    assert "user-process-ran" not in res.read_out()

    vessel.start_ok(cid)
    # poststart is called before start returns
    assert h.ran("startContainer") and h.ran("poststart"), h.order()
    assert h.order()[3:] == ["startContainer", "poststart"], h.order()
    wait_for_text(res.out_path, "ready")
    assert not h.ran("poststop")

    (h.out / "go").touch()
    vessel.wait_status(cid, "stopped")
    d = vessel.delete(cid)
    assert d.returncode == 0, d.describe()
    # poststop is called before delete returns
    assert h.ran("poststop")
    assert h.order() == list(ALL_KINDS), h.order()

    for kind in ALL_KINDS:
        st = h.state(kind)
        assert st["id"] == cid, (kind, st)
        assert os.path.realpath(st["bundle"]) == os.path.realpath(b.path), (kind, st)
        assert st.get("annotations") == {"hook.test": "yes"}, (kind, st)
        assert "ociVersion" in st, (kind, st)
        if kind in CREATE_PHASE:
            assert st["status"] in ("creating", "created"), (kind, st["status"])
        elif kind == "startContainer":
            assert st["status"] in ("created", "running"), (kind, st["status"])
        elif kind == "poststart":
            assert st["status"] == "running", (kind, st["status"])
        else:
            assert st["status"] == "stopped", (kind, st["status"])
        if kind != "poststop":
            assert st["pid"] == pid, (kind, st)

    for kind in ALL_KINDS:
        assert h.args(kind) == [kind, "/hookout" if kind == "startContainer" else str(h.out), "extra arg"], kind
        env = h.env(kind)
        assert env.get("HOOK_VAR") == "hello world", (kind, env)
        assert "VESSEL_HOST_ONLY_VAR" not in env, f"{kind} hook inherited the runtime's environment"


def test_hook_namespaces(vessel, bundle, cid, tmp_path):
    b = bundle("sleep", "1000")
    h = Hooks(tmp_path, b)
    for kind in ("createRuntime", "createContainer", "startContainer", "poststart"):
        h.add(kind)
    vessel.create_ok(b, cid)
    vessel.start_ok(cid)
    pid = vessel.state(cid)["pid"]
    for kind in ("createRuntime", "poststart"):
        ns = h.ns(kind)
        for n in ("mnt", "net", "uts"):
            assert ns[n] == ns_id("self", n), f"{kind} hook must run in the runtime's {n} namespace"
    for kind in IN_CONTAINER:
        ns = h.ns(kind)
        for n in ("mnt", "net", "uts"):
            assert ns[n] == ns_id(pid, n), f"{kind} hook must run in the container's {n} namespace"


def test_multiple_hooks_of_one_kind_run_in_order(vessel, bundle, tmp_path):
    b = bundle("true")
    h = Hooks(tmp_path, b)
    h.add("prestart", name="first")
    h.add("prestart", name="second")
    h.add("poststop", name="third")
    h.add("poststop", name="fourth")
    vessel.run_ok(b)
    assert h.order() == ["first", "second", "third", "fourth"]


def test_hooks_with_foreground_run(vessel, bundle, tmp_path):
    b = bundle("true")
    h = Hooks(tmp_path, b)
    for kind in ALL_KINDS:
        h.add(kind)
    vessel.run_ok(b)
    assert h.order() == list(ALL_KINDS)
    assert h.state("poststop")["status"] == "stopped"


# --------------------------------------------------------------------------
# failures


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_fails_create_cleanly(vessel, bundle, cid, tmp_path, kind):
    b = bundle("sh", "-c", "echo user-process-ran")
    h = Hooks(tmp_path, b)
    path = h.add(kind, exit_code=3)
    before = [l for l in open("/proc/self/mountinfo") if str(b.path) in l]
    res = vessel.create(b, cid)
    assert_names_hook(res, kind, path)
    assert h.ran(kind), "the hook did not even run"
    assert cid not in vessel.entries(), "a failed create must leave no state directory"
    assert vessel("state", cid).returncode != 0
    assert leftover_processes([b.rootfs], [cid]) == []
    assert [l for l in open("/proc/self/mountinfo") if str(b.path) in l] == before
    assert leftover_cgroups([cid]) == []
    time.sleep(0.2)
    assert "user-process-ran" not in res.read_out()


def test_failing_start_container_hook_fails_start(vessel, bundle, cid, tmp_path):
    b = bundle("sh", "-c", "echo user-process-ran")
    h = Hooks(tmp_path, b)
    path = h.add("startContainer", exit_code=4)
    res = vessel.create_ok(b, cid)
    pid = vessel.state(cid)["pid"]
    s = vessel.start(cid)
    assert_names_hook(s, "startContainer", path)
    assert h.ran("startContainer")
    wait_for(lambda: not pid_alive(pid), 5, what="the container init to be gone")
    time.sleep(0.2)
    assert "user-process-ran" not in res.read_out(), "user process ran despite a failed startContainer hook"
    assert cid not in vessel.entries(), "a failed start must leave no state directory"
    assert leftover_processes([b.rootfs], [cid]) == []


def test_failing_poststart_hook_only_warns(vessel, bundle, cid, tmp_path):
    b = bundle("sh", "-c", "echo user-process-ran")
    h = Hooks(tmp_path, b)
    path = h.add("poststart", exit_code=5)
    h.add("poststart", name="after-failed")
    res = vessel.create_ok(b, cid)
    s = vessel.start(cid)
    assert s.returncode == 0, f"a failing poststart hook must not fail start:\n{s.describe()}"
    assert "poststart" in s.stderr.lower() or path in s.stderr, f"no warning about the poststart hook:\n{s.describe()}"
    assert h.ran("after-failed"), "remaining poststart hooks must still run"
    wait_for_text(res.out_path, "user-process-ran")


def test_failing_poststop_hook_only_warns(vessel, bundle, cid, tmp_path):
    b = bundle("true")
    h = Hooks(tmp_path, b)
    path = h.add("poststop", exit_code=6)
    h.add("poststop", name="after-failed")
    vessel.create_ok(b, cid)
    vessel.start_ok(cid)
    vessel.wait_status(cid, "stopped")
    d = vessel.delete(cid)
    assert d.returncode == 0, f"a failing poststop hook must not fail delete:\n{d.describe()}"
    assert "poststop" in d.stderr.lower() or path in d.stderr, f"no warning about the poststop hook:\n{d.describe()}"
    assert h.ran("after-failed")
    assert cid not in vessel.entries()


def test_hook_timeout(vessel, bundle, cid, tmp_path):
    b = bundle("sh", "-c", "echo user-process-ran")
    h = Hooks(tmp_path, b)
    path = h.add("createRuntime", sleep=30, timeout=1, env_extra=[f"HOOK_TOKEN={cid}"])
    t0 = time.monotonic()
    res = vessel.create(b, cid)
    elapsed = time.monotonic() - t0
    assert_names_hook(res, "createRuntime", path)
    assert elapsed < 10, f"create took {elapsed:.1f}s with a 1s hook timeout"
    assert cid not in vessel.entries()
    assert leftover_processes([b.rootfs], [cid]) == []
    # the hook process itself (it exec'd sleep) was killed
    hooks_alive = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                env = Path(f"/proc/{p}/environ").read_bytes()
            except OSError:
                continue
            if f"HOOK_TOKEN={cid}".encode() in env and pid_alive(int(p)):
                hooks_alive.append(p)
    assert hooks_alive == [], f"timed-out hook still running: {hooks_alive}"


def test_hook_within_timeout_succeeds(vessel, bundle, tmp_path):
    b = bundle("true")
    h = Hooks(tmp_path, b)
    h.add("prestart", sleep="0.2", timeout=5)
    vessel.run_ok(b)
    assert h.ran("prestart")


def test_hook_missing_executable(vessel, bundle, cid, tmp_path):
    b = bundle("true")
    missing = str(tmp_path / "no-such-hook")
    b.add_hook("createRuntime", missing, args=[missing])
    res = vessel.create(b, cid)
    assert res.returncode != 0, res.describe()
    assert missing in res.stderr or "createruntime" in res.stderr.lower(), res.describe()
    assert cid not in vessel.entries()
