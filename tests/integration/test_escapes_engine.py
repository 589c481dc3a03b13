"""Escape classes of issue 9 that the engine and the runtime close at one
shared mechanism each:

- uid/gid 4294967295, (uid_t)-1, is "unchanged" to setresuid/setresgid and
  would keep root: refused wherever an id enters (image User, -u, exec -u,
  names in the container's /etc/passwd and /etc/group, config.json).
- files the container controls (FIFOs, device nodes, files swapped under a
  reader) are never opened by the engine except as checked regular files:
  commit, cp and the user lookup of run/exec.
- user-given output paths (save -o, --pid-file) are never replaced by a
  rename when they are a device, a FIFO or a symlink."""

import os
import shutil
import stat
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

import helpers
from test_engine import engine, engine_data  # noqa: F401 (fixtures)

BAD = 4294967295


def _refused(res, *mentions):
    """A clean refusal by the engine: non-zero exit, one error line naming
    every mention, and the container's command never ran."""
    assert res.returncode != 0, f"expected a failure: {res.stdout!r} {res.stderr!r}"
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("vessel"), res.stderr
    for m in mentions:
        assert str(m) in res.stderr, res.stderr
    assert "RAN" not in res.stdout, res.stdout


# --------------------------------------------------------------------------
# uid/gid -1


@pytest.mark.parametrize("user", [str(BAD), f"0:{BAD}", f"1000:{BAD}", f"{BAD}:0"])
def test_run_user_minus_one_is_refused(engine, user):
    res = engine("run", "--rm", "-u", user, "busybox", "sh", "-c", "echo RAN; id")
    _refused(res, BAD)
    assert engine.records() == []


def test_image_user_minus_one_is_refused(engine):
    engine.ok("create", "--name", "ubase", "busybox")
    engine.ok("commit", "--change", f"USER {BAD}", "ubase", "uidimg:1")
    engine.ok("rm", "ubase")
    res = engine("run", "--rm", "uidimg:1", "sh", "-c", "echo RAN; id")
    _refused(res, BAD)
    engine.ok("rmi", "uidimg:1")


def _image_with_db(engine, tag, script):
    engine.ok("run", "--name", "mkdb", "busybox", "sh", "-c", script)
    engine.ok("commit", "mkdb", tag)
    engine.ok("rm", "mkdb")


def test_names_resolving_to_minus_one_are_refused(engine):
    _image_with_db(engine, "uiddb:1",
                   f"echo evil:x:{BAD}:0::/:/bin/sh >> /etc/passwd; "
                   f"echo evilg:x:0:{BAD}::/:/bin/sh >> /etc/passwd; "
                   f"echo member:x:1234:1234::/:/bin/sh >> /etc/passwd; "
                   f"echo badgrp:x:{BAD}:member >> /etc/group")
    try:
        for user in ("evil", "evilg", "member", f"0:badgrp"):
            res = engine("run", "--rm", "-u", user, "uiddb:1", "sh", "-c", "echo RAN; id")
            _refused(res, BAD)
        # exec -u: the same resolution, in a running container
        engine.ok("run", "-d", "--name", "ux", "uiddb:1", "sleep", "1000")
        engine.wait_state("ux", lambda i: i["State"]["Running"], what="running")
        for user in (str(BAD), f"0:{BAD}", "evil", "member"):
            res = engine("exec", "-u", user, "ux", "sh", "-c", "echo RAN; id")
            _refused(res, BAD)
        assert engine.ok("exec", "-u", "4321", "ux", "id", "-u") == "4321\n"
        engine.ok("rm", "-f", "ux")
    finally:
        engine("rmi", "uiddb:1")


@pytest.mark.parametrize("field", ["uid", "gid", "additionalGids"])
def test_runtime_config_user_minus_one_is_refused(vessel, bundle, field):
    b = bundle("sh", "-c", "echo RAN; id")
    b.process["user"][field] = [BAD] if field == "additionalGids" else BAD
    res = vessel.run(b)
    helpers.assert_error(res, f"process.user.{field}", BAD)
    assert "RAN" not in res.stdout


def test_runtime_exec_user_minus_one_is_refused(vessel, bundle, cid):
    vessel.run_detached(bundle("sleep", "1000"), cid)
    for args in (["--user", str(BAD)], ["--user", f"0:{BAD}"], ["--additional-gids", str(BAD)]):
        res = vessel("exec", *args, cid, "sh", "-c", "echo RAN; id")
        helpers.assert_error(res, BAD)
        assert "RAN" not in res.stdout
