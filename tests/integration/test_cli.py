"""Command-line surface: --version, --help everywhere, usage errors, spec,
features, global options (--root, --log, --log-format, --debug)."""

import json

import pytest

from helpers import new_id

COMMANDS = ["spec", "create", "start", "run", "state", "kill", "delete", "list", "features"]


def test_version(vessel):
    res = vessel("--version", root=False)
    assert res.returncode == 0, res.describe()
    assert "vessel" in res.stdout.lower()
    assert any(ch.isdigit() for ch in res.stdout)


def test_global_help(vessel):
    res = vessel("--help", root=False)
    assert res.returncode == 0, res.describe()
    for cmd in COMMANDS:
        assert cmd in res.stdout, f"--help does not list {cmd}"


@pytest.mark.parametrize("cmd", COMMANDS)
def test_command_help(vessel, cmd):
    res = vessel(cmd, "--help")
    assert res.returncode == 0, res.describe()
    assert res.stdout.strip(), f"`{cmd} --help` printed nothing on stdout"
    assert cmd in res.stdout


def test_no_command_is_usage_error(vessel):
    res = vessel(root=False)
    assert res.returncode == 2, res.describe()


def test_unknown_command(vessel):
    res = vessel("frobnicate")
    assert res.returncode == 2, res.describe()
    assert "frobnicate" in res.stderr


def test_unknown_option(vessel):
    res = vessel("state", "--no-such-option", "x")
    assert res.returncode == 2, res.describe()
    assert "no-such-option" in res.stderr


@pytest.mark.parametrize("cmd", ["create", "start", "state", "kill", "delete", "run"])
def test_missing_container_id(vessel, cmd, tmp_path):
    res = vessel(cmd, cwd=tmp_path)
    assert res.returncode == 2, res.describe()
    assert res.stderr.startswith("vessel"), res.describe()


def test_too_many_arguments(vessel):
    res = vessel("kill", "a", "TERM", "extra")
    assert res.returncode == 2, res.describe()


def test_relative_root_rejected(vessel):
    res = vessel("--root", "relative/root", "list", root=False)
    assert res.returncode == 2, res.describe()
    assert "relative/root" in res.stderr


# --------------------------------------------------------------------------
# spec


def test_spec_writes_default_config(vessel, tmp_path):
    res = vessel("spec", "--bundle", tmp_path)
    assert res.returncode == 0, res.describe()
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["ociVersion"].startswith("1.")
    assert cfg["root"] == {"path": "rootfs", "readonly": True}
    p = cfg["process"]
    assert p["args"] == ["sh"]
    assert p["terminal"] is True
    assert p["cwd"] == "/"
    assert p["user"] == {"uid": 0, "gid": 0}
    assert any(e.startswith("PATH=") for e in p["env"])
    assert set(p["capabilities"]["bounding"]) >= {"CAP_KILL", "CAP_AUDIT_WRITE", "CAP_NET_BIND_SERVICE"}
    assert p["noNewPrivileges"] is True
    assert {"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024} in p["rlimits"]
    assert cfg["hostname"]
    dests = [m["destination"] for m in cfg["mounts"]]
    for d in ("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"):
        assert d in dests, f"{d} missing from the default mounts"
    ns = {n["type"] for n in cfg["linux"]["namespaces"]}
    assert {"pid", "network", "ipc", "uts", "mount"} <= ns
    assert "user" not in ns
    assert "/proc/kcore" in cfg["linux"]["maskedPaths"]
    assert "/proc/sys" in cfg["linux"]["readonlyPaths"]
    assert cfg["linux"]["resources"]["devices"] == [{"allow": False, "access": "rwm"}]


def test_spec_default_bundle_is_cwd(vessel, tmp_path):
    res = vessel("spec", cwd=tmp_path)
    assert res.returncode == 0, res.describe()
    assert (tmp_path / "config.json").exists()


def test_spec_refuses_to_overwrite(vessel, tmp_path):
    (tmp_path / "config.json").write_text('{"keep": true}')
    res = vessel("spec", "--bundle", tmp_path)
    assert res.returncode != 0, res.describe()
    assert "config.json" in res.stderr, res.describe()
    assert res.stderr.startswith("vessel"), res.describe()
    assert json.loads((tmp_path / "config.json").read_text()) == {"keep": True}


def test_spec_rootless(vessel, tmp_path):
    res = vessel("spec", "--rootless", "--bundle", tmp_path)
    assert res.returncode == 0, res.describe()
    cfg = json.loads((tmp_path / "config.json").read_text())
    ns = {n["type"] for n in cfg["linux"]["namespaces"]}
    assert "user" in ns and "network" not in ns
    assert cfg["linux"]["uidMappings"] == [{"containerID": 0, "hostID": 0, "size": 1}]
    assert cfg["linux"]["gidMappings"] == [{"containerID": 0, "hostID": 0, "size": 1}]
    assert "resources" not in cfg["linux"]
    for m in cfg["mounts"]:
        for o in m.get("options", []):
            assert not o.startswith(("gid=", "uid=")), m


def test_spec_output_runs(vessel, bundle):
    """The bundle made from `vessel spec` (through mkbundle.sh) runs as is."""
    b = bundle("echo", "spec-ok")
    assert vessel.run_ok(b).strip() == "spec-ok"


# --------------------------------------------------------------------------
# features


def test_features(vessel):
    res = vessel("features")
    assert res.returncode == 0, res.describe()
    f = json.loads(res.stdout)
    assert f["ociVersionMin"].startswith("1.")
    assert f["ociVersionMax"].startswith("1.")
    assert set(f["hooks"]) >= {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}
    assert {"ro", "rbind", "nosuid", "nodev", "noexec", "rslave", "rprivate"} <= set(f["mountOptions"])
    lx = f["linux"]
    assert set(lx["namespaces"]) >= {"pid", "network", "ipc", "uts", "mount", "user", "cgroup", "time"}
    assert {"CAP_SYS_ADMIN", "CAP_KILL", "CAP_CHOWN"} <= set(lx["capabilities"])
    assert lx["seccomp"]["enabled"] is True
    assert "SCMP_ACT_ERRNO" in lx["seccomp"]["actions"]
    assert "SCMP_CMP_EQ" in lx["seccomp"]["operators"]


# --------------------------------------------------------------------------
# global options


def test_log_file_json(vessel, tmp_path):
    log = tmp_path / "vessel.log"
    missing = new_id("missing")
    res = vessel("state", missing, global_args=("--log", log, "--log-format", "json"))
    assert res.returncode == 1
    assert missing in res.stderr
    lines = [l for l in log.read_text().splitlines() if l.strip()]
    assert lines, "nothing written to the --log file"
    entries = [json.loads(l) for l in lines]
    errors = [e for e in entries if e.get("level") == "error"]
    assert errors and missing in errors[-1]["msg"], entries
    assert all("time" in e for e in entries)


def test_log_file_text(vessel, tmp_path):
    log = tmp_path / "vessel.log"
    missing = new_id("missing")
    res = vessel("state", missing, global_args=("--log", log))
    assert res.returncode == 1
    assert missing in log.read_text()


def test_bad_log_format(vessel, tmp_path):
    res = vessel("list", global_args=("--log", tmp_path / "l", "--log-format", "yaml"))
    assert res.returncode == 2, res.describe()
    assert "yaml" in res.stderr


def test_debug_accepted(vessel, bundle, tmp_path):
    log = tmp_path / "debug.log"
    b = bundle("echo", "debug-ok")
    b.save()
    res = vessel("run", "--bundle", b.path, new_id(), global_args=("--debug", "--log", log))
    assert res.returncode == 0, res.describe()
    assert res.stdout.strip() == "debug-ok"
    assert log.exists() and log.read_text().strip(), "--debug wrote nothing to the log"


def test_systemd_cgroup_flag_accepted(vessel):
    res = vessel("list", "-q", global_args=("--systemd-cgroup",))
    assert res.returncode == 0, res.describe()
