"""Bad input: each must give one clear "vessel: <message>" line naming the
field or path and the reason, a non-zero exit status, and leave no state
directory, no mount and no process behind."""

import json
import os

import pytest

from helpers import (
    assert_error,
    assert_one_error_line,
    host_mount_lines,
    leftover_cgroups,
    leftover_processes,
    new_id,
)


def expect_clean_failure(vessel, b, cid, cmd, *mentions, status=1, prepare=None, any_of=None):
    """Runs `vessel create|run` on bundle b, expects a clean failure."""
    before = host_mount_lines(b.path)
    if cmd == "create":
        res = vessel.create(b, cid)
    else:
        res = vessel.run(b, cid)
    assert_error(res, *mentions, status=status)
    assert_one_error_line(res)
    if any_of:
        assert any(m.lower() in res.stderr.lower() for m in any_of), (
            f"error mentions none of {any_of}:\n{res.describe()}"
        )
    assert vessel.entries() == [], f"state left behind: {vessel.entries()}"
    assert vessel("state", cid).returncode != 0
    assert host_mount_lines(b.path) == before, "mounts leaked on the host"
    assert leftover_processes([b.rootfs], [cid]) == [], "container processes left behind"
    assert leftover_cgroups([cid]) == [], "cgroups left behind"
    return res


both = pytest.mark.parametrize("cmd", ["create", "run"])


@both
def test_missing_config_json(vessel, bundle, cid, cmd):
    b = bundle("true")
    b.config_path.unlink()
    before = host_mount_lines(b.path)
    res = vessel(cmd, "--bundle", b.path, cid)
    vessel.used_ids.add(cid)
    assert_error(res, "config.json", status=1)
    assert_one_error_line(res)
    assert vessel.entries() == []
    assert host_mount_lines(b.path) == before


@both
def test_malformed_config_json(vessel, bundle, cid, cmd):
    b = bundle("true")
    text = json.dumps(b.config)
    b.save = lambda: b.config_path.write_text(text[: len(text) // 2])
    expect_clean_failure(vessel, b, cid, cmd, "config.json")


def test_config_json_not_an_object(vessel, bundle, cid):
    b = bundle("true")
    b.save = lambda: b.config_path.write_text("[1, 2, 3]\n")
    expect_clean_failure(vessel, b, cid, "create", "config.json")


def test_missing_process(vessel, bundle, cid):
    b = bundle("true")
    del b.config["process"]
    expect_clean_failure(vessel, b, cid, "create", "process")


@both
def test_empty_args(vessel, bundle, cid, cmd):
    b = bundle()
    b.process["args"] = []
    expect_clean_failure(vessel, b, cid, cmd, "process.args")


def test_wrong_type_uid(vessel, bundle, cid):
    b = bundle("true")
    b.process["user"]["uid"] = "root"
    expect_clean_failure(vessel, b, cid, "create", "process.user.uid")


def test_relative_cwd(vessel, bundle, cid):
    b = bundle("true")
    b.process["cwd"] = "tmp"
    expect_clean_failure(vessel, b, cid, "create", "process.cwd")


@both
def test_unknown_namespace_type(vessel, bundle, cid, cmd):
    b = bundle("true")
    b.linux["namespaces"].append({"type": "foo"})
    expect_clean_failure(vessel, b, cid, cmd, "linux.namespaces", "foo")


def test_namespace_path_missing(vessel, bundle, cid):
    b = bundle("true")
    b.set_namespace("network", "/nonexistent/netns/path")
    expect_clean_failure(vessel, b, cid, "create", "/nonexistent/netns/path")


def test_namespace_path_not_a_namespace(vessel, bundle, cid, tmp_path):
    f = tmp_path / "not-a-ns"
    f.write_text("")
    b = bundle("true")
    b.set_namespace("network", f)
    expect_clean_failure(vessel, b, cid, "create", str(f))


def test_user_namespace_without_mappings(vessel, bundle, cid):
    b = bundle("true")
    b.set_namespace("user")
    b.linux.pop("uidMappings", None)
    b.linux.pop("gidMappings", None)
    expect_clean_failure(vessel, b, cid, "create", "uidMappings")


@both
def test_mapping_size_zero(vessel, bundle, cid, cmd):
    b = bundle("true")
    b.set_namespace("user")
    b.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 0}]
    b.linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    expect_clean_failure(vessel, b, cid, cmd, "uidMappings", "size")


@both
def test_rootfs_missing(vessel, bundle, cid, cmd):
    b = bundle("true")
    b.config["root"]["path"] = "rootfs-that-does-not-exist"
    expect_clean_failure(vessel, b, cid, cmd, "rootfs-that-does-not-exist")


def test_rootfs_is_a_file(vessel, bundle, cid):
    b = bundle("true")
    (b.path / "rootfs-file").write_text("x")
    b.config["root"]["path"] = "rootfs-file"
    expect_clean_failure(vessel, b, cid, "create", "rootfs-file")


def test_id_already_exists(vessel, bundle, cid):
    b1 = bundle("true")
    b2 = bundle("true")
    vessel.create_ok(b1, cid)
    pid = vessel.state(cid)["pid"]
    before = host_mount_lines(b2.path)
    res = vessel.create(b2, cid)
    assert_error(res, cid, status=1)
    assert_one_error_line(res)
    assert vessel.entries() == [cid]
    st = vessel.state(cid)
    assert st["status"] == "created" and st["pid"] == pid
    assert os.path.realpath(st["bundle"]) == os.path.realpath(b1.path), "existing container was overwritten"
    assert host_mount_lines(b2.path) == before
    assert leftover_processes([b2.rootfs]) == []


@pytest.mark.parametrize("bad_id", ["a/b", "../escape", "..", "/abs"])
def test_invalid_id(vessel, bundle, tmp_path, bad_id):
    b = bundle("true")
    b.save()
    res = vessel("create", "--bundle", b.path, bad_id)
    assert_error(res, bad_id)
    assert res.returncode in (1, 2), res.describe()
    assert vessel.entries() == []
    assert not (tmp_path / "escape").exists()
    assert leftover_processes([b.rootfs]) == []


def test_failing_hook(vessel, bundle, cid, tmp_path):
    b = bundle("true")
    hook = tmp_path / "failing-hook.sh"
    hook.write_text("#!/bin/sh\ncat >/dev/null\nexit 7\n")
    hook.chmod(0o755)
    b.add_hook("prestart", hook, args=[hook])
    expect_clean_failure(vessel, b, cid, "create", any_of=["prestart", str(hook)])


@both
def test_rlimit_refused_by_host(vessel, bundle, cid, cmd):
    with open("/proc/sys/fs/nr_open") as f:
        nr_open = int(f.read())
    assert 2**30 > nr_open
    b = bundle("true")
    b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 2**30}]
    expect_clean_failure(vessel, b, cid, cmd, "RLIMIT_NOFILE")


def test_rlimit_soft_above_hard(vessel, bundle, cid):
    b = bundle("true")
    b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 4096, "hard": 1024}]
    expect_clean_failure(vessel, b, cid, "create", "RLIMIT_NOFILE")


def test_unknown_rlimit(vessel, bundle, cid):
    b = bundle("true")
    b.process["rlimits"] = [{"type": "RLIMIT_FOO", "soft": 1, "hard": 1}]
    expect_clean_failure(vessel, b, cid, "create", "RLIMIT_FOO")


@both
def test_unknown_capability(vessel, bundle, cid, cmd):
    b = bundle("true")
    b.process["capabilities"]["bounding"].append("CAP_FOO")
    expect_clean_failure(vessel, b, cid, cmd, "CAP_FOO")


def test_unknown_seccomp_action(vessel, bundle, cid):
    b = bundle("true")
    b.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                          "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_FOO"}]}
    expect_clean_failure(vessel, b, cid, "create", "SCMP_ACT_FOO")


def test_bad_device_type(vessel, bundle, cid):
    b = bundle("true")
    b.linux["devices"] = [{"path": "/dev/bad", "type": "x", "major": 1, "minor": 3}]
    expect_clean_failure(vessel, b, cid, "create", "linux.devices")


def test_bind_source_missing(vessel, bundle, cid):
    b = bundle("true")
    b.add_mount("/mnt/x", "bind", "/nonexistent/bind/source", ["rbind"])
    expect_clean_failure(vessel, b, cid, "create", "/nonexistent/bind/source")


def test_unknown_filesystem_type(vessel, bundle, cid):
    b = bundle("true")
    b.add_mount("/mnt/x", "nosuchfs", "none")
    expect_clean_failure(vessel, b, cid, "create", any_of=["/mnt/x", "nosuchfs"])


def test_executable_not_found(vessel, bundle, cid):
    b = bundle("/no/such/binary", "arg")
    res = vessel.run(b, cid)
    assert_error(res, "/no/such/binary")
    assert res.returncode != 0
    assert vessel.entries() == []
    assert leftover_processes([b.rootfs], [cid]) == []


def test_executable_not_in_path(vessel, bundle, cid):
    b = bundle("no-such-command-anywhere")
    res = vessel.run(b, cid)
    assert_error(res, "no-such-command-anywhere")
    assert vessel.entries() == []


# --------------------------------------------------------------------------
# commands on containers


@pytest.mark.parametrize("bad", ["SIGFOO", "FOO", "99999", "-3"])
def test_kill_bad_signal(vessel, bundle, cid, bad):
    b = bundle("true")
    vessel.create_ok(b, cid)
    res = vessel.kill(cid, bad)
    assert_error(res, bad.replace("SIG", "") if bad.startswith("SIG") else bad)
    assert res.returncode in (1, 2), res.describe()
    assert vessel.status(cid) == "created", "a bad signal must not affect the container"


@pytest.mark.parametrize("cmd", [("state",), ("start",), ("delete",), ("kill",)])
def test_unknown_id(vessel, cmd):
    missing = new_id("missing")
    res = vessel(*cmd, missing)
    assert_error(res, missing, status=1)
    assert_one_error_line(res)
    assert vessel.entries() == []


def test_force_delete_of_unknown_id_succeeds(vessel):
    """runc's behaviour, which podman and containerd rely on: they call
    `delete --force` on every teardown, whether or not the container is
    still there."""
    missing = new_id("missing")
    res = vessel("delete", "--force", missing)
    assert res.returncode == 0, res.describe()
    assert res.stderr == "", res.describe()
    assert vessel.entries() == []
    # An invalid id is still an error, forced or not.
    bad = vessel("delete", "--force", "../escape")
    assert_error(bad, "escape")
