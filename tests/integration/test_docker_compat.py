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
import subprocess
import tarfile
import threading
import time
from pathlib import Path

import pytest

import helpers
from test_engine import engine, engine_data  # noqa: F401 (fixtures)
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
