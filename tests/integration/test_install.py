"""`make install`: PREFIX and DESTDIR, and the vessel-runtime name that
orchestrators point at (runc's command set, chosen by argv[0])."""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(*args, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300,
                          **kw)


def test_install_prefix_destdir_and_runtime_name(tmp_path):
    dest = tmp_path / "dest"
    p = _run("make", "-s", "--no-print-directory", "-C", REPO, "install",
             f"DESTDIR={dest}", "PREFIX=/opt/vs")
    assert p.returncode == 0, p.stdout + p.stderr
    bindir = dest / "opt/vs/bin"
    assert sorted(os.listdir(bindir)) == ["vessel", "vessel-runtime", "vessel-vm"]
    vessel, runtime = bindir / "vessel", bindir / "vessel-runtime"
    assert os.access(vessel, os.X_OK)
    assert runtime.resolve() == vessel.resolve()
    assert (bindir / "vessel-vm").resolve() == vessel.resolve()
    # Nothing outside DESTDIR.
    assert not Path("/opt/vs").exists()

    version = _run(vessel, "--version")
    assert version.returncode == 0 and version.stdout.startswith("vessel version")
    # The same binary, two command sets: `create` is the engine's (an image)
    # under its own name, runc's (a bundle, an id) as vessel-runtime.
    engine_help = _run(vessel, "create", "--help")
    runtime_help = _run(runtime, "create", "--help")
    assert engine_help.returncode == 0 and runtime_help.returncode == 0
    assert "IMAGE" in engine_help.stdout and "--bundle" not in engine_help.stdout
    assert "--bundle" in runtime_help.stdout and "IMAGE" not in runtime_help.stdout

    p = _run("make", "-s", "--no-print-directory", "-C", REPO, "uninstall",
             f"DESTDIR={dest}", "PREFIX=/opt/vs")
    assert p.returncode == 0, p.stderr
    assert os.listdir(bindir) == []
