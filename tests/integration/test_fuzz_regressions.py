"""Regressions found by fuzzing (docs/fuzzing.md), checked at the command
line: each bad value gets one clear error naming the flag, exit 125, and no
container; a valid extreme one works."""

import os
import subprocess

import pytest


@pytest.fixture
def eng(vessel_bin, tmp_path):
    env = dict(os.environ, VESSEL_ROOT=str(tmp_path / "data"),
               VESSEL_RUNTIME_ROOT=str(tmp_path / "run"))
    env.pop("VESSEL_NO_OVERLAY", None)

    def run(*args):
        p = subprocess.run([vessel_bin, *args], env=env, capture_output=True, text=True,
                           timeout=60)
        return p
    yield run
    ids = run("ps", "-aq").stdout.split()
    for i in ids:
        run("rm", "-f", i)
    assert not ids, f"a container was created: {ids}"


@pytest.mark.parametrize("flags, mention", [
    # NaN passed every range check and became NanoCpus (undefined conversion).
    (["--cpus", "nan"], "--cpus"),
    # 2^63 bytes: the conversion to int64 was undefined (INT64_MIN here), and
    # the error said "below the minimum of 6m".
    (["--memory", "8388608t"], "invalid size"),
    (["--memory", "nan"], "invalid size"),
    # RTMIN+2^32 wrapped to SIGRTMIN once truncated to int.
    (["--stop-signal", "RTMIN+4294967296"], "--stop-signal"),
    (["--stop-signal", "RTMIN9223372036854775807"], "--stop-signal"),
])
def test_bad_values_are_refused(eng, flags, mention):
    res = eng("create", *flags, "busybox", "true")
    assert res.returncode == 125, (res.returncode, res.stdout, res.stderr)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("vessel: "), res.stderr
    assert mention in res.stderr, res.stderr


def test_huge_memory_limit_runs(eng):
    """-m 8e18 is a valid size; the default swap (twice the memory) used to
    overflow into a negative limit the runtime refused at start."""
    res = eng("run", "--rm", "-m", "8000000000000000000", "busybox", "echo", "ok")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "ok\n"
