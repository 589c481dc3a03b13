"""Option parsing of the engine's commands (docs/cli.md, "Options"): long
names matched exactly (no abbreviation), --flag=value and --flag value,
-h is not help (run/create: --hostname), help only with --help; the
runtime's commands keep runc's syntax (-h is help there)."""

import pytest

from test_engine import engine, engine_data  # noqa: F401  (fixtures)


@pytest.mark.parametrize("args,flag", [
    (["run", "--pids-lim", "5", "busybox", "true"], "--pids-lim"),
    (["run", "--priv", "busybox", "true"], "--priv"),
    (["create", "--det", "busybox"], "--det"),
    (["run", "--pids", "5", "busybox", "true"], "--pids"),
    (["exec", "-h", "x", "true"], "-h"),
])
def test_no_abbreviation_no_h_help(engine, args, flag):
    res = engine(*args)
    assert res.returncode == 125, (res.returncode, res.stdout, res.stderr)
    assert f"unrecognized option '{flag}'" in res.stderr
    assert "Usage" not in res.stdout
    assert engine.records() == []


def test_h_is_hostname(engine):
    res = engine("run", "--rm", "-h", "shorthost", "busybox", "hostname")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "shorthost\n"


def test_value_forms(engine):
    res = engine("run", "--rm=true", "--hostname=eqhost", "-e", "A=1", "-eB=2", "--env=C=3",
                 "busybox", "sh", "-c", "echo $A$B$C $(hostname)")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "123 eqhost\n"
    assert engine.records() == []


@pytest.mark.parametrize("cmd", ["run", "create", "exec"])
def test_help_only_with_long_flag(engine, cmd):
    res = engine(cmd, "--help")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"Usage: vessel {cmd} ")


def test_runtime_h_is_help(vessel):
    for cmd in ("exec", "run", "create", "state"):
        res = vessel(cmd, "-h")
        assert res.returncode == 0, res.describe()
        assert "Usage" in res.stdout
