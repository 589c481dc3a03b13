"""User namespaces of engine containers (issue 14, docs/userns.md).

`--userns=auto` gives each container its own range of 65536 host ids from
the /etc/subuid and /etc/subgid entries of user "vessel". The set-up adds
those entries (the files are backed up and restored byte for byte after
the module). This module's engine is configured with `"userns": "auto"`,
so every container it makes, those of the escape tests re-run at the end
included, runs in a user namespace unless a test says --userns=host."""

import json
import os
import random
import shutil
import stat
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

import helpers
import test_engine
import test_escapes_engine
import test_escapes_rootfs

SIZE = 65536
SLOTS = 4  # ranges the test entries hold: enough for every test, small to exhaust
SUB_START = 300_000_000
SUBID_FILES = ("/etc/subuid", "/etc/subgid")


def _write_subids(extra):
    for path, orig in _SUBIDS_ORIG.items():
        Path(path).write_bytes(orig + extra.encode())


_SUBIDS_ORIG = {}


@pytest.fixture(scope="module")
def subids():
    """vessel's entries in /etc/subuid and /etc/subgid, for this module."""
    saved = {}
    for path in SUBID_FILES:
        p = Path(path)
        saved[path] = (p.read_bytes(), p.stat()) if p.exists() else (None, None)
        _SUBIDS_ORIG[path] = saved[path][0] or b""
    entry = f"vessel:{SUB_START}:{SIZE * SLOTS}\n"
    if any(orig and not orig.endswith(b"\n") for orig, _ in saved.values()):
        entry = "\n" + entry
    _write_subids(entry)
    try:
        yield entry
    finally:
        for path, (orig, st) in saved.items():
            if orig is None:
                os.unlink(path)
            else:
                Path(path).write_bytes(orig)
                os.chmod(path, stat.S_IMODE(st.st_mode))
                os.chown(path, st.st_uid, st.st_gid)


@pytest.fixture(scope="module")
def userns_data(tmp_path_factory):
    """pytest's own temporary directories are 0700: the mapped ids cannot
    walk them, and need not (the runtime opens the root and the bind
    sources on the host side)."""
    return tmp_path_factory.mktemp("userns-data") / "data"


_engine_impl = test_engine.engine.__pytest_wrapped__.obj


@pytest.fixture
def engine(vessel_bin, userns_data, tmp_path, subids):
    """test_engine's engine (same leftover checks), configured for auto."""
    (tmp_path / "no-system-config.json").write_text('{"userns": "auto"}\n')
    yield from _engine_impl(vessel_bin, userns_data, tmp_path)
    assert _allocations(userns_data) == [], "allocations left after every rm"


@pytest.fixture
def engine_data(userns_data):
    return userns_data


def _allocations(data_root):
    d = Path(data_root) / "userns"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def _pid(engine, name):
    return engine.inspect(name)["State"]["Pid"]


def _uid_map(pid):
    return [l.split() for l in Path(f"/proc/{pid}/uid_map").read_text().splitlines()]


def _status_ids(pid, key):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return [int(x) for x in line.split()[1:]]
    raise AssertionError(f"no {key} in /proc/{pid}/status")


def _refused(res, *mentions):
    assert res.returncode != 0, f"expected a failure: {res.stdout!r} {res.stderr!r}"
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("vessel"), res.stderr
    for m in mentions:
        assert m in res.stderr, res.stderr


# --------------------------------------------------------------------------
# mappings


def test_root_inside_is_a_high_host_uid(engine, tmp_path):
    engine.ok("run", "-d", "--name", "u1", "--userns=auto", "-v", "uvol:/vol", "busybox",
              "sh", "-c", "echo data > /vol/f; mkdir /vol/d; exec sleep 1000")
    pid = _pid(engine, "u1")
    m = _uid_map(pid)
    assert len(m) == 1 and m[0][0] == "0" and m[0][2] == str(SIZE), m
    host = int(m[0][1])
    assert SUB_START <= host < SUB_START + SIZE * SLOTS, m
    assert _status_ids(pid, "Uid") == [host] * 4
    assert Path(f"/proc/{pid}/gid_map").read_text().split()[2] == str(SIZE)
    assert engine.inspect("u1")["HostConfig"]["UsernsMode"] == "auto"
    # What the container's root writes into a volume is the mapped id's.
    vol = engine.data_root / "volumes" / "uvol" / "_data"
    helpers.wait_for(lambda: (vol / "d").exists(), what="the container's writes")
    assert (vol / "f").stat().st_uid == host and (vol / "d").stat().st_uid == host
    # The image is not copied: the root is an overlay of the layers, and
    # the upper dir holds only what the container changed.
    rec = engine.containers_dir() / engine.inspect("u1")["Id"]
    fstypes = [helpers.MountEntry(l).fstype for l in Path("/proc/self/mountinfo").read_text()
               .splitlines() if helpers.MountEntry(l).mountpoint == str(rec / "rootfs")]
    assert fstypes == ["overlay"], fstypes
    assert not (rec / "upper" / "bin").exists()
    # Image files keep their owners inside (idmapped layers): root's.
    out = engine.ok("exec", "u1", "sh", "-c", "stat -c %u:%g /bin/sh /etc /; id -u")
    assert out.split() == ["0:0", "0:0", "0:0", "0"], out
    engine.ok("rm", "-f", "-v", "u1")


def test_image_owners_kept_and_upper_dir_unshifted(engine, tmp_path):
    """Files of the image owned by a user show as that user inside, and
    what the container writes is stored with container ids on disk (a
    commit of it has the right owners), not copied or shifted."""
    engine.ok("run", "--name", "own", "busybox", "sh", "-c",
              "chown 1000:1000 /home; touch /made; mkdir -p /home/x; chown 1000 /home/x")
    rec = engine.containers_dir() / engine.inspect("own")["Id"]
    upper = rec / "upper"
    assert (upper / "made").stat().st_uid == 0
    assert (upper / "home" / "x").stat().st_uid == 1000
    engine.ok("commit", "own", "owned:1")
    out = engine.ok("run", "--rm", "owned:1", "stat", "-c", "%u %n", "/home/x", "/made")
    assert out.split() == ["1000", "/home/x", "0", "/made"], out
    out = engine.ok("run", "--rm", "--userns=host", "owned:1", "stat", "-c", "%u", "/home/x")
    assert out.split() == ["1000"], out
    engine.ok("rm", "own")
    engine.ok("rmi", "owned:1")


def test_cp_into_a_container_is_its_roots(engine, tmp_path):
    """`cp` into a container whose overlay has idmapped layers: the copy is
    made as the container's root (host root's owner could not be stored
    through the idmapped upper dir: EOVERFLOW), so it is root's inside and
    uid 0 on disk, running or not."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "f").write_text("copied\n")
    engine.ok("create", "--name", "cpi", "busybox", "sh", "-c", "stat -c '%u %n' /in /in/f")
    engine.ok("cp", str(src), "cpi:/in")
    engine.ok("run", "-d", "--name", "cpr", "busybox", "sleep", "1000")
    engine.ok("cp", str(src / "f"), "cpr:/f")
    assert engine.ok("exec", "cpr", "stat", "-c", "%u", "/f").split() == ["0"]
    assert engine.ok("start", "-a", "cpi").split() == ["0", "/in", "0", "/in/f"]
    for name, path in (("cpi", "in/f"), ("cpr", "f")):
        upper = engine.containers_dir() / engine.inspect(name)["Id"] / "upper"
        assert (upper / path).stat().st_uid == 0
        assert (upper / path).read_text() == "copied\n"
    engine.ok("rm", "-f", "cpi", "cpr")


def test_two_auto_containers_get_disjoint_ranges(engine):
    hosts = []
    for n in ("d1", "d2"):
        engine.ok("run", "-d", "--name", n, "--userns=auto", "busybox", "sleep", "1000")
        hosts.append(int(_uid_map(_pid(engine, n))[0][1]))
    assert abs(hosts[0] - hosts[1]) >= SIZE, hosts
    gids = [int(Path(f"/proc/{_pid(engine, n)}/gid_map").read_text().split()[1])
            for n in ("d1", "d2")]
    assert abs(gids[0] - gids[1]) >= SIZE, gids
    assert len(_allocations(engine.data_root)) == 2
    engine.ok("rm", "-f", "d1", "d2")


def test_range_released_on_rm(engine):
    engine.ok("create", "--name", "r1", "--userns=auto", "busybox", "true")
    engine.ok("create", "--name", "r2", "--userns=auto", "busybox", "true")
    first = engine.inspect("r1")["HostConfig"]["IDMappings"]["UidMap"]
    assert len(_allocations(engine.data_root)) == 2
    engine.ok("rm", "r1")
    assert _allocations(engine.data_root) == [engine.inspect("r2")["Id"]]
    engine.ok("create", "--name", "r3", "--userns=auto", "busybox", "true")
    assert engine.inspect("r3")["HostConfig"]["IDMappings"]["UidMap"] == first
    engine.ok("rm", "r2", "r3")
    assert _allocations(engine.data_root) == []
    # --rm releases too
    engine.ok("run", "--rm", "--userns=auto", "busybox", "true")
    assert _allocations(engine.data_root) == []


def test_kill_9_mid_create_never_double_allocates(engine):
    """create killed at random points; then every live allocation belongs
    to a record, the records' ranges are disjoint, and new containers get
    ranges no record holds."""
    rng = random.Random(14)
    for i in range(12):
        p = engine.popen("create", "--userns=auto", "busybox", "true",
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, 0.06))
        p.kill()
        p.wait()
        # What the kill left half-made goes (system prune's job); at most
        # two survivors stay, so free ranges remain.
        engine.ok("system", "prune", "-f")
        recs = [c for c in engine.records()
                if (engine.containers_dir() / c / "record.json").exists()]
        for cid in recs[2:]:
            engine.ok("rm", "-f", cid)
    # A stale allocation as a kill between allocation and record leaves it.
    (engine.data_root / "userns").mkdir(exist_ok=True)
    (engine.data_root / "userns" / ("f" * 64)).write_text(f"uid {SUB_START} {SIZE} gid {SUB_START} {SIZE}\n")
    engine.ok("create", "--name", "after1", "--userns=auto", "busybox", "true")
    engine.ok("create", "--name", "after2", "--userns=auto", "busybox", "true")
    ranges = []
    for cid in engine.records():
        rec = json.loads((engine.containers_dir() / cid / "record.json").read_text())
        um = rec["HostConfig"].get("IDMappings", {}).get("UidMap")
        if um:
            ranges.append((cid, int(um[0].split(":")[1])))
    starts = sorted(s for _, s in ranges)
    assert all(b - a >= SIZE for a, b in zip(starts, starts[1:])), ranges
    assert sorted(_allocations(engine.data_root)) == sorted(c for c, _ in ranges)
    engine.ok("system", "prune", "-f")
    for cid in engine.records():
        engine.ok("rm", "-f", cid)


# --------------------------------------------------------------------------
# privilege


def test_setuid_root_binary_gives_no_host_privilege(engine, tmp_path):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the setuid probe")
    src = tmp_path / "probe.c"
    src.write_text(textwrap.dedent(r"""
        #include <fcntl.h>
        #include <stdio.h>
        #include <string.h>
        #include <errno.h>
        #include <unistd.h>
        int main(void) {
            setuid(0); setgid(0);
            int fd = open("/secret", O_RDONLY);
            printf("euid=%d uid=%d open=%s\n", (int) geteuid(), (int) getuid(),
                   fd < 0 ? strerror(errno) : "ok");
            fflush(stdout);
            pause();
            return 0;
        }
    """))
    root = tmp_path / "img"
    (root / "bin").mkdir(parents=True)
    subprocess.run(["gcc", "-static", "-O1", "-o", root / "bin" / "probe", src], check=True)
    os.chmod(root / "bin" / "probe", 0o4755)
    tar = tmp_path / "suid.tar"
    subprocess.run(["tar", "-C", root, "--numeric-owner", "--owner=0", "--group=0", "-cf",
                    tar, "."], check=True)
    engine.ok("import", tar, "suid:1")
    secret = tmp_path / "secret"
    secret.write_text("host secret\n")
    os.chmod(secret, 0o600)
    engine.ok("run", "-d", "--name", "su", "-u", "1000:1000", "-v", f"{secret}:/secret",
              "suid:1", "/bin/probe")
    pid = _pid(engine, "su")
    log = lambda: engine.ok("logs", "su")  # noqa: E731
    helpers.wait_for(lambda: "euid=" in log(), what="the probe's output")
    # Root inside (the setuid bit works in its namespace)...
    assert "euid=0 uid=0" in log(), log()
    # ...which is the range's first id on the host, with no way to the file.
    host = int(_uid_map(pid)[0][1])
    assert _status_ids(pid, "Uid") == [host] * 4
    assert "open=Permission denied" in log(), log()
    engine.ok("rm", "-f", "su")
    engine.ok("rmi", "suid:1")


def test_root_only_host_file_reads_as_eacces(engine, tmp_path):
    secret = tmp_path / "rootonly"
    secret.write_text("host secret\n")
    os.chmod(secret, 0o600)
    res = engine("run", "--rm", "--userns=auto", "-v", f"{secret}:/s", "busybox",
                 "sh", "-c", "cat /s; echo rc=$?")
    assert "rc=1" in res.stdout and "Permission denied" in res.stderr, res
    assert "host secret" not in res.stdout
    # Without a user namespace root reads it: the test can fail.
    out = engine.ok("run", "--rm", "--userns=host", "-v", f"{secret}:/s", "busybox", "cat", "/s")
    assert out == "host secret\n"


def test_idmapped_volume_is_opt_in(engine, tmp_path):
    """-v SRC:DST:idmap (podman's option): the source's ids are seen as the
    container's, so host root's file is its root's and what it writes is
    host root's on disk."""
    src = tmp_path / "shared"
    src.mkdir()
    (src / "rootonly").write_text("for root\n")
    os.chmod(src / "rootonly", 0o600)
    out = engine.ok("run", "--rm", "--userns=auto", "-v", f"{src}:/d:idmap", "busybox", "sh",
                    "-c", "cat /d/rootonly; stat -c %u /d/rootonly; echo x > /d/new")
    assert out.split() == ["for", "root", "0"], out
    assert (src / "new").stat().st_uid == 0
    res = engine("run", "--rm", "--userns=host", "-v", f"{src}:/d:idmap", "busybox", "true")
    _refused(res, "idmap needs a user namespace")
    assert engine.records() == []


# --------------------------------------------------------------------------
# bad input


def test_overlapping_maps_refused(engine):
    before = engine.records()
    for args, what in [
        (["--uidmap", "0:100000:1000", "--uidmap", "500:200000:10"], "overlap"),
        (["--uidmap", "0:100000:1000", "--uidmap", "2000:100500:10"], "overlap"),
        (["--uidmap", "1:100000:1000"], "container id 0"),
        (["--uidmap", "0:100000"], "invalid mapping"),
        (["--userns=auto", "--uidmap", "0:100000:10"], "conflicts"),
        (["--userns=bogus"], "unsupported mode"),
        # keep-id is the rootless engine's (test_rootless.py); root's
        # containers have no user's id to keep
        (["--userns=keep-id"], "unsupported mode 'keep-id'"),
    ]:
        res = engine("run", "--rm", *args, "busybox", "true")
        _refused(res, what)
    assert engine.records() == before
    assert _allocations(engine.data_root) == []


def test_explicit_maps(engine):
    out = engine.ok("run", "--rm", "--uidmap", "0:400000000:70000", "--gidmap",
                    "0:400100000:70000", "busybox", "sh", "-c",
                    "cat /proc/self/uid_map /proc/self/gid_map")
    assert [l.split() for l in out.splitlines()] == [["0", "400000000", "70000"],
                                                   ["0", "400100000", "70000"]], out
    assert _allocations(engine.data_root) == []


def test_no_subuid_entry_refused(engine):
    _write_subids("")
    try:
        res = engine("run", "--rm", "--userns=auto", "busybox", "true")
        _refused(res, "/etc/subuid", "no entry for user 'vessel'")
    finally:
        _write_subids(f"vessel:{SUB_START}:{SIZE * SLOTS}\n")
    assert engine.records() == [] and _allocations(engine.data_root) == []


def test_range_exhausted_refused(engine):
    for i in range(SLOTS):
        engine.ok("create", "--name", f"x{i}", "--userns=auto", "busybox", "true")
    res = engine("create", "--name", "xx", "--userns=auto", "busybox", "true")
    _refused(res, "no free range")
    assert len(engine.records()) == SLOTS and len(_allocations(engine.data_root)) == SLOTS
    engine.ok("rm", *[f"x{i}" for i in range(SLOTS)])


def test_private_paths_are_reached(engine, tmp_path):
    """The data root and a bind source below 0700 directories of host
    root: the container's root could not walk there, the runtime opens
    them for it. The source's own permissions still apply."""
    src = tmp_path / "private" / "src"
    src.mkdir(parents=True)
    os.chmod(tmp_path / "private", 0o700)
    (src / "open").write_text("readable\n")
    os.chmod(src, 0o755)
    out = engine.ok("run", "--rm", "--userns=auto", "-v", f"{src}:/src", "busybox",
                    "sh", "-c", "cat /src/open; touch /src/new 2>&1; echo rc=$?")
    assert "readable" in out and "rc=1" in out, out
    assert not (src / "new").exists()


# --------------------------------------------------------------------------
# configuration


def test_config_default_and_info(engine):
    info = json.loads(engine.ok("info", "--format", "json"))
    assert info["Config"]["userns"] == "auto"
    engine.ok("create", "--name", "c1", "busybox", "true")
    assert engine.inspect("c1")["HostConfig"]["UsernsMode"] == "auto"
    engine.ok("create", "--name", "c2", "--userns=host", "busybox", "true")
    assert engine.inspect("c2")["HostConfig"]["UsernsMode"] == ""
    assert "IDMappings" not in engine.inspect("c2")["HostConfig"]
    engine.ok("rm", "c1", "c2")


# --------------------------------------------------------------------------
# escape classes, again with every container in a user namespace


test_run_user_minus_one_is_refused = test_escapes_engine.test_run_user_minus_one_is_refused
test_image_user_minus_one_is_refused = test_escapes_engine.test_image_user_minus_one_is_refused
test_names_resolving_to_minus_one_are_refused = (
    test_escapes_engine.test_names_resolving_to_minus_one_are_refused)
test_engine_image_dev_symlink_into_volume = (
    test_escapes_rootfs.test_engine_image_dev_symlink_into_volume)


def test_exec_user_lookup_never_opens_a_planted_fifo(engine):
    # The device-node variant cannot be planted here: see the next test.
    test_escapes_engine.test_exec_user_lookup_never_opens_a_special_passwd(engine, "fifo")


def test_no_device_nodes_in_a_user_namespace(engine):
    res = engine("run", "--rm", "busybox", "sh", "-c", "mknod /z c 1 5; echo rc=$?")
    assert "rc=1" in res.stdout, res
    res = engine("run", "--rm", "--userns=host", "busybox", "sh", "-c", "mknod /z c 1 5; echo rc=$?")
    assert "rc=0" in res.stdout, res


def test_engine_volume_over_proc_refused(engine, tmp_path):
    test_escapes_rootfs.test_engine_volume_over_proc_refused(engine, tmp_path)


# The OCI runtime's escape tests, with every bundle in a new user namespace
# (this module's `bundle` wraps conftest's).

HOSTID = 200_000_000
RUNTIME_MAP = [{"containerID": 0, "hostID": HOSTID, "size": SIZE}]


@pytest.fixture
def bundle(bundle):
    def make(*args, **kw):
        kw["private"] = True  # a copy the container's root owns, as podman's chown
        b = bundle(*args, **kw)
        save = b.save

        def chown_and_save():
            # Also what the test planted in the rootfs since (never
            # following a symlink: -R -h, no -L).
            subprocess.run(["chown", "-R", "-h", f"{HOSTID}:{HOSTID}", str(b.rootfs)],
                           check=True)
            save()
        b.save = chown_and_save
        b.set_namespace("user")
        b.linux["uidMappings"] = RUNTIME_MAP
        b.linux["gidMappings"] = RUNTIME_MAP
        return b
    return make


def test_runtime_idmapped_bind_mount(vessel, bundle, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("mapped\n")
    os.chown(src / "f", 1000, 1000)
    b = bundle("sh", "-c", "stat -c '%u %g' /d/f; cat /d/f")
    b.config["mounts"].append({"destination": "/d", "type": "bind", "source": str(src),
                               "options": ["rbind"], "uidMappings": RUNTIME_MAP,
                               "gidMappings": RUNTIME_MAP})
    out = vessel.run_ok(b)
    assert out.split() == ["1000", "1000", "mapped"], out
    # Without the mappings the file is an unmapped id's: nobody.
    del b.config["mounts"][-1]["uidMappings"]
    res = vessel.run(b)
    assert res.returncode != 0 and "needs both uidMappings and gidMappings" in res.stderr, \
        res.describe()


def test_runtime_bundles_are_user_namespaced(vessel, bundle):
    out = vessel.run_ok(bundle("cat", "/proc/self/uid_map"))
    assert out.split() == ["0", str(HOSTID), str(SIZE)], out


for _name in dir(test_escapes_rootfs):
    _f = getattr(test_escapes_rootfs, _name)
    if _name.startswith("test_") and not _name.startswith("test_engine_") and callable(_f):
        globals()[_name] = _f


# --------------------------------------------------------------------------
# the OCI runtime as an unprivileged caller (runc's --rootless)

NOBODY = 65534


@pytest.fixture
def rootless_dir(bundle_cache):
    """A directory of user nobody's with a busybox rootfs and a state root
    (pytest's own temporary directories are closed to other users)."""
    top = Path(tempfile.mkdtemp(prefix="vessel-rootless-", dir="/tmp"))
    os.chmod(top, 0o755)
    subprocess.run(["cp", "-a", str(bundle_cache / "rootfs"), str(top / "rootfs")], check=True)
    (top / "state").mkdir()
    subprocess.run(["chown", "-R", "-h", f"{NOBODY}:{NOBODY}", str(top)], check=True)
    yield top
    shutil.rmtree(top, ignore_errors=True)


def _as_nobody(vessel_bin, *args):
    """Output through files: a created container inherits them and would
    keep pipes open."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        res = subprocess.run(["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY),
                              "--clear-groups", vessel_bin, *map(str, args)],
                             stdout=out, stderr=err, stdin=subprocess.DEVNULL, timeout=60,
                             env=dict(os.environ, HOME="/"))
        out.seek(0)
        err.seek(0)
        res.stdout, res.stderr = out.read(), err.read()
    return res


def _rootless_bundle(vessel_bin, top, args, resources=None):
    res = _as_nobody(vessel_bin, "spec", "--rootless", "--bundle", top)
    assert res.returncode == 0, res
    cfg = json.loads((top / "config.json").read_text())
    cfg["process"]["args"] = args
    cfg["process"]["terminal"] = False
    cfg["root"]["path"] = str(top / "rootfs")
    if resources:
        cfg["linux"]["resources"] = resources
    (top / "config.json").write_text(json.dumps(cfg))
    return cfg


def test_rootless_runtime_lifecycle(vessel_bin, rootless_dir):
    top = rootless_dir
    cfg = _rootless_bundle(vessel_bin, top, ["sh", "-c", "cat /proc/self/uid_map; exec sleep 100"])
    assert cfg["linux"]["uidMappings"] == [{"containerID": 0, "hostID": NOBODY, "size": 1}]
    st = top / "state"
    res = _as_nobody(vessel_bin, "--rootless", "true", "--root", st, "create", "--bundle", top, "rl")
    assert res.returncode == 0, res
    try:
        assert _as_nobody(vessel_bin, "--root", st, "start", "rl").returncode == 0
        state = json.loads(_as_nobody(vessel_bin, "--root", st, "state", "rl").stdout)
        assert state["status"] == "running"
        assert _status_ids(state["pid"], "Uid") == [NOBODY] * 4
        res = _as_nobody(vessel_bin, "--root", st, "exec", "rl", "sh", "-c",
                         "id -u; cat /proc/self/uid_map")
        assert res.returncode == 0, res
        assert res.stdout.split() == ["0", "0", str(NOBODY), "1"], res.stdout
    finally:
        _as_nobody(vessel_bin, "--root", st, "delete", "-f", "rl")
    assert list(st.iterdir()) == []


def test_rootless_runtime_refuses_limits_with_the_reason(vessel_bin, rootless_dir):
    top = rootless_dir
    _rootless_bundle(vessel_bin, top, ["true"], resources={"memory": {"limit": 64 << 20}})
    st = top / "state"
    res = _as_nobody(vessel_bin, "--rootless", "true", "--root", st, "run", "--bundle", top, "rl2")
    _refused(res, "linux.resources: an unprivileged user cannot have limits here")
    assert "cgroup v1" in res.stderr or "cgroup2 tree is not delegated" in res.stderr, res.stderr
    assert list(st.iterdir()) == []
