"""Exit codes by errno, as Docker's (engine commands): 125 for every error
of the engine itself, usage errors included; 126 when the command cannot
be invoked (a directory, no permission, not an executable format); 127 when
it is not found. The runtime's (runc-style) commands keep runc's: 2 for a
usage error, 1 for a failure."""

import os

import pytest

from test_engine import engine, engine_data  # noqa: F401  (fixtures)


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--bogus", "busybox", "true"],
        ["run", "--rm"],
        ["run", "--memory"],
        ["exec", "--nope", "x", "true"],
        ["ps", "--bogus"],
        ["images", "--bogus"],
        ["network", "ls", "--bogus"],
        ["image"],
        ["rm"],
    ],
)
def test_engine_usage_error_is_125(engine, args):
    res = engine(*args)
    assert res.returncode == 125, (res.returncode, res.stderr)
    assert "vessel" in res.stderr, res.stderr
    assert engine.records() == []


def test_missing_env_file_is_125(engine, tmp_path):
    res = engine("run", "--rm", "--env-file", tmp_path / "missing", "busybox", "true")
    assert res.returncode == 125, res.stderr
    assert "missing" in res.stderr
    assert engine.records() == []


def test_missing_seccomp_file_is_125(engine, tmp_path):
    res = engine("run", "--rm", "--security-opt", f"seccomp={tmp_path}/missing.json", "busybox",
                 "true")
    assert res.returncode == 125, res.stderr
    assert "missing.json" in res.stderr
    assert engine.records() == []


def test_directory_is_126(engine):
    res = engine("run", "--rm", "busybox", "/etc")
    assert res.returncode == 126, res.stderr
    assert "/etc" in res.stderr and "No such file" not in res.stderr
    assert engine.records() == []


def test_not_executable_is_126(engine):
    res = engine("run", "--rm", "busybox", "/etc/passwd")
    assert res.returncode == 126, res.stderr
    assert "/etc/passwd" in res.stderr


def test_not_found_in_path_is_127(engine):
    res = engine("run", "--rm", "busybox", "no-such-command")
    assert res.returncode == 127, res.stderr
    assert "no-such-command" in res.stderr


def test_exec_codes(engine):
    engine.ok("run", "-d", "--name", "codes", "busybox", "sleep", "100")
    engine.wait_state("codes", lambda i: i["State"]["Running"], what="running")
    assert engine("exec", "codes", "no-such-command").returncode == 127
    assert engine("exec", "codes", "/etc").returncode == 126
    assert engine("exec", "codes", "/etc/passwd").returncode == 126
    engine.ok("rm", "-f", "codes")


def test_runtime_keeps_runc_codes(vessel):
    assert vessel("run", "--bogus").returncode == 2
    assert vessel("state", "--bogus", "x").returncode == 2
    assert vessel("runtime", "ps", "--bogus", root=False).returncode == 2
    assert vessel("state", "no-such-container").returncode == 1
