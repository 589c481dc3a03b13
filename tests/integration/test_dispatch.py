"""The dispatch rule (docs/cli.md, "Two command sets"): the runtime's
(runc-style) command set is chosen only by argv0 (vessel-runtime, runc),
a runc global option before the command (--root, --log, --log-format,
--systemd-cgroup, --rootless), the `runtime` prefix, or a command the
engine has not; never by anything after the command name. Each way the
real callers invoke a runtime is covered: containerd's shim (Docker's
too) and conmon (podman)."""

import json
import os
import subprocess

import pytest

from helpers import new_id
from test_engine import engine, engine_data  # noqa: F401  (fixtures)

# `run --help` tells the two command sets apart without touching any state.
ENGINE_RUN = "IMAGE"
RUNTIME_RUN = "--bundle"


def _run_help(argv, cwd):
    proc = subprocess.run([*map(str, argv), "run", "--help"], capture_output=True, text=True,
                          cwd=cwd, timeout=30)
    assert proc.returncode == 0, (argv, proc.stdout, proc.stderr)
    return proc.stdout


@pytest.fixture
def links(vessel_bin, tmp_path):
    d = tmp_path / "bin"
    d.mkdir()
    out = {}
    for name in ("vessel-runtime", "runc", "vessel"):
        (d / name).symlink_to(vessel_bin)
        out[name] = str(d / name)
    return out


@pytest.mark.parametrize(
    "argv0,globals_,expect",
    [
        ("vessel", [], ENGINE_RUN),
        ("vessel", ["--debug"], ENGINE_RUN),
        ("vessel", ["--data-root", "{tmp}/data"], ENGINE_RUN),
        ("vessel-runtime", [], RUNTIME_RUN),
        ("runc", [], RUNTIME_RUN),
        ("vessel", ["runtime"], RUNTIME_RUN),
        ("vessel", ["--root", "{tmp}/state"], RUNTIME_RUN),
        ("vessel", ["--root={tmp}/state"], RUNTIME_RUN),
        ("vessel", ["--log", "{tmp}/log"], RUNTIME_RUN),
        ("vessel", ["--log-format", "json"], RUNTIME_RUN),
        ("vessel", ["--systemd-cgroup"], RUNTIME_RUN),
        ("vessel", ["--rootless", "false"], RUNTIME_RUN),
        ("vessel", ["--debug", "--root", "{tmp}/state", "runtime"], RUNTIME_RUN),
    ],
)
def test_mode_from_what_precedes_the_command(links, tmp_path, argv0, globals_, expect):
    argv = [links[argv0], *(g.format(tmp=tmp_path) for g in globals_)]
    assert expect in _run_help(argv, tmp_path)


def test_arguments_after_the_command_never_change_the_mode(engine):
    # Once dispatched to the runtime because of "--root" and "-b" among the
    # container's arguments ("unrecognized option '--rm'").
    res = engine("run", "--rm", "busybox", "echo", "--root", "-b", "x")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "--root -b x\n"
    res = engine("run", "--rm", "busybox", "echo", "--bundle=/x", "--log-format", "json")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "--bundle=/x --log-format json\n"
    name = new_id("dispatch")
    res = engine("create", "--name", name, "busybox", "echo", "--systemd-cgroup", "-b", "y")
    assert res.returncode == 0, res.stderr
    assert engine.inspect(name)["Config"]["Cmd"] == ["echo", "--systemd-cgroup", "-b", "y"]
    engine.ok("rm", name)


def test_engine_option_after_runtime_prefix_is_rejected(vessel):
    # The runtime's run has no --rm: `vessel runtime` means the runtime.
    res = vessel("runtime", "run", "--rm", "busybox", root=False)
    assert res.returncode == 2, res.describe()
    assert "--rm" in res.stderr


def _caller(prefix, tmp_path):
    """Runs prefix + args with stdout/stderr in files (a created container
    inherits them: a pipe would never reach EOF)."""
    n = {"i": 0}

    def run(*args):
        n["i"] += 1
        out, err = tmp_path / f"out{n['i']}", tmp_path / f"err{n['i']}"
        with open(out, "w") as o, open(err, "w") as e:
            p = subprocess.run([*map(str, prefix), *map(str, args)], stdin=subprocess.DEVNULL,
                               stdout=o, stderr=e, timeout=30)
        p.stdout, p.stderr = out.read_text(), err.read_text()
        return p
    return run


def _lifecycle(run, bundle_path, cid, pid_file):
    """create/start/state/kill/delete as a caller's argv: run(*args)."""
    r = run("create", "--bundle", bundle_path, "--pid-file", pid_file, cid)
    assert r.returncode == 0, r.stderr
    st = json.loads(run("state", cid).stdout)
    assert st["status"] == "created" and st["pid"] == int(open(pid_file).read())
    assert run("start", cid).returncode == 0
    assert run("kill", cid, "KILL").returncode == 0
    r = run("delete", "--force", cid)
    assert r.returncode == 0, r.stderr


def test_containerd_shim_invocation(vessel_bin, bundle, tmp_path):
    """containerd-shim-runc-v2 (Docker's path too): `RUNTIME --root R --log
    BUNDLE/log.json --log-format json [--systemd-cgroup] CMD ...`."""
    b = bundle("sleep", "30")
    b.save()
    root, log = tmp_path / "state", tmp_path / "log.json"
    cid = new_id("shim")
    run = _caller([vessel_bin, "--root", root, "--log", log, "--log-format", "json"], tmp_path)
    _lifecycle(run, b.path, cid, tmp_path / "pid")
    assert not os.path.exists(root / cid)


def test_conmon_invocation(links, bundle, tmp_path):
    """conmon (podman): `vessel-runtime [--systemd-cgroup] --root R create
    --bundle B --pid-file F ID`; podman itself calls `vessel-runtime start ID`
    with --root, and `state`/`kill`/`delete` likewise."""
    b = bundle("sleep", "30")
    b.save()
    root = tmp_path / "state"
    cid = new_id("conmon")
    run = _caller([links["vessel-runtime"], "--systemd-cgroup", "--root", root], tmp_path)
    _lifecycle(run, b.path, cid, tmp_path / "pid")
    assert not os.path.exists(root / cid)
