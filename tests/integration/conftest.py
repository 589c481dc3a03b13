"""Fixtures for the vessel integration suite.

- vessel_bin: path of the binary (build/vessel; $VESSEL overrides, which also
  lets the suite be pointed at runc/crun to check the tests themselves).
- vessel: a Vessel helper bound to a per-test --root; after the test every
  container under that root is force-deleted and the root must be empty, no
  container process may be left, and no mount under the test's directory may
  remain on the host.
- bundle: factory of busybox bundles (scripts/mkbundle.sh runs once per
  session; each test gets a hard-linked copy of the rootfs and its own
  config.json, edited as a Python dict through Bundle).
- host_mounts: host-side mounts a test makes (shared bind mounts for
  propagation tests...), unmounted after the test.
"""

import copy
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import helpers
from helpers import new_id

REPO = Path(__file__).resolve().parents[2]
DEFAULT_TIMEOUT = 30


def _vessel_path():
    return os.environ.get("VESSEL") or str(REPO / "build" / "vessel")


# --------------------------------------------------------------------------
# results


class Result(subprocess.CompletedProcess):
    """CompletedProcess whose stdout/stderr were read from files (so that a
    container inheriting them can never make the test block on a pipe).
    out_path keeps receiving what a created/detached container writes."""

    out_path = None
    err_path = None

    def read_out(self):
        return Path(self.out_path).read_text(errors="replace")

    def read_err(self):
        return Path(self.err_path).read_text(errors="replace")

    def describe(self):
        return (
            f"command: {' '.join(map(str, self.args))}\n"
            f"exit status: {self.returncode}\nstdout: {self.stdout!r}\nstderr: {self.stderr!r}"
        )


# --------------------------------------------------------------------------
# bundles


class Bundle:
    def __init__(self, path):
        self.path = Path(path)
        self.rootfs = self.path / "rootfs"
        self.config_path = self.path / "config.json"
        with open(self.config_path) as f:
            self.config = json.load(f)

    def save(self):
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)

    # process -----------------------------------------------------------
    @property
    def process(self):
        return self.config["process"]

    @property
    def linux(self):
        return self.config.setdefault("linux", {})

    def set_args(self, *args):
        self.process["args"] = list(args)
        return self

    def sh(self, script):
        return self.set_args("sh", "-c", script)

    # mounts ------------------------------------------------------------
    def add_mount(self, destination, type=None, source=None, options=None):
        m = {"destination": destination}
        if type is not None:
            m["type"] = type
        if source is not None:
            m["source"] = str(source)
        if options is not None:
            m["options"] = list(options)
        self.config.setdefault("mounts", []).append(m)
        return m

    def remove_mount(self, destination):
        self.config["mounts"] = [
            m for m in self.config.get("mounts", []) if m["destination"] != destination
        ]

    # namespaces --------------------------------------------------------
    def namespace(self, ns_type):
        for ns in self.linux.get("namespaces", []):
            if ns["type"] == ns_type:
                return ns
        return None

    def set_namespace(self, ns_type, path=None):
        entry = self.namespace(ns_type)
        if entry is None:
            entry = {"type": ns_type}
            self.linux.setdefault("namespaces", []).append(entry)
        if path is None:
            entry.pop("path", None)
        else:
            entry["path"] = str(path)
        return entry

    def remove_namespace(self, ns_type):
        self.linux["namespaces"] = [
            ns for ns in self.linux.get("namespaces", []) if ns["type"] != ns_type
        ]

    # hooks -------------------------------------------------------------
    def add_hook(self, kind, path, args=None, env=None, timeout=None):
        hook = {"path": str(path)}
        if args is not None:
            hook["args"] = [str(a) for a in args]
        if env is not None:
            hook["env"] = list(env)
        if timeout is not None:
            hook["timeout"] = timeout
        self.config.setdefault("hooks", {}).setdefault(kind, []).append(hook)
        return hook


# --------------------------------------------------------------------------
# the CLI helper


class Vessel:
    def __init__(self, binary, root, workdir):
        self.binary = str(binary)
        self.root = Path(root)
        self.workdir = Path(workdir)
        self.used_ids = set()
        self.popens = []
        self._n = 0

    def _files(self):
        self._n += 1
        out = self.workdir / f"cmd{self._n}.out"
        err = self.workdir / f"cmd{self._n}.err"
        return out, err

    def argv(self, *args, global_args=()):
        return [self.binary, "--root", str(self.root), *map(str, global_args), *map(str, args)]

    def __call__(
        self,
        *args,
        timeout=DEFAULT_TIMEOUT,
        stdin=None,
        pass_fds=(),
        env=None,
        cwd=None,
        global_args=(),
        root=True,
    ):
        """Runs `vessel --root ROOT ARGS...`; returns a Result (never raises
        on a non-zero exit). root=False omits --root."""
        argv = self.argv(*args, global_args=global_args) if root else [self.binary, *map(str, args)]
        out_path, err_path = self._files()
        stdin_file = open(stdin, "rb") if stdin is not None else subprocess.DEVNULL
        try:
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                try:
                    proc = subprocess.run(
                        argv,
                        stdin=stdin_file,
                        stdout=out,
                        stderr=err,
                        timeout=timeout,
                        pass_fds=pass_fds,
                        env=env,
                        cwd=cwd,
                    )
                except subprocess.TimeoutExpired:
                    pytest.fail(f"timed out after {timeout}s: {' '.join(argv)}")
        finally:
            if stdin is not None:
                stdin_file.close()
        res = Result(argv, proc.returncode)
        res.out_path, res.err_path = out_path, err_path
        res.stdout = res.read_out()
        res.stderr = res.read_err()
        return res

    def popen(self, *args, pass_fds=(), env=None, stdin=None, global_args=()):
        """Starts `vessel ARGS...` in the background; returns (Popen, out, err)."""
        argv = self.argv(*args, global_args=global_args)
        out_path, err_path = self._files()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            p = subprocess.Popen(
                argv,
                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                pass_fds=pass_fds,
                env=env,
            )
        self.popens.append(p)
        return p, out_path, err_path

    # lifecycle shortcuts ---------------------------------------------
    def create(self, bundle, cid, *extra, **kw):
        self.used_ids.add(cid)
        if isinstance(bundle, Bundle):
            bundle.save()
        return self("create", "--bundle", bundle.path if isinstance(bundle, Bundle) else bundle,
                    *extra, cid, **kw)

    def create_ok(self, bundle, cid, *extra, **kw):
        res = self.create(bundle, cid, *extra, **kw)
        assert res.returncode == 0, f"create failed:\n{res.describe()}"
        return res

    def start(self, cid, **kw):
        return self("start", cid, **kw)

    def start_ok(self, cid, **kw):
        res = self.start(cid, **kw)
        assert res.returncode == 0, f"start failed:\n{res.describe()}"
        return res

    def run(self, bundle, cid=None, *extra, **kw):
        """Foreground `vessel run`; returns the Result."""
        cid = cid or new_id()
        self.used_ids.add(cid)
        bundle.save()
        return self("run", "--bundle", bundle.path, *extra, cid, **kw)

    def run_ok(self, bundle, cid=None, *extra, **kw):
        res = self.run(bundle, cid, *extra, **kw)
        assert res.returncode == 0, f"run failed:\n{res.describe()}"
        return res.stdout

    def run_detached(self, bundle, cid, *extra, **kw):
        res = self.run(bundle, cid, "--detach", *extra, **kw)
        assert res.returncode == 0, f"run --detach failed:\n{res.describe()}"
        return res

    def state(self, cid):
        res = self("state", cid)
        assert res.returncode == 0, f"state failed:\n{res.describe()}"
        return helpers.load_json(res.stdout, "state output")

    def status(self, cid):
        res = self("state", cid)
        if res.returncode != 0:
            return None
        try:
            return json.loads(res.stdout).get("status")
        except ValueError:
            return None

    def wait_status(self, cid, status, timeout=10):
        last = {}

        def check():
            last["s"] = self.status(cid)
            return last["s"] == status

        try:
            helpers.wait_for(check, timeout, interval=0.05)
        except AssertionError:
            raise AssertionError(
                f"container {cid} did not reach status {status!r} within {timeout}s "
                f"(last status: {last.get('s')!r})"
            ) from None

    def kill(self, cid, *args, **kw):
        return self("kill", cid, *args, **kw)

    def delete(self, cid, force=False, **kw):
        return self("delete", *(["--force"] if force else []), cid, **kw)

    def entries(self):
        """Names under the state root (hidden files excepted)."""
        if not self.root.exists():
            return []
        return sorted(n for n in os.listdir(self.root) if not n.startswith("."))


# --------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session", autouse=True)
def vm_ids_dir(tmp_path_factory):
    """Where vessel-vm records the host ids it gives QEMU (docs/vm.md,
    "QEMU's own ids"): a directory of the session's instead of
    /run/vessel-vm-ids, inherited by every daemon and runtime it starts."""
    d = tmp_path_factory.mktemp("vm-ids")
    os.environ["VESSEL_VM_IDS_DIR"] = str(d)
    return d


@pytest.fixture(scope="session")
def vessel_bin(tmp_path_factory):
    """The binary under test. build/vessel is copied once per session so that
    a rebuild while the suite runs cannot swap binaries under it
    (VESSEL_NO_COPY=1 uses it in place)."""
    path = _vessel_path()
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built (run `make -C {REPO} all`)")
    if os.environ.get("VESSEL_NO_COPY"):
        return path
    dest = tmp_path_factory.mktemp("bin") / os.path.basename(path)
    shutil.copy2(path, dest)
    return str(dest)


@pytest.fixture(scope="session")
def bundle_cache(vessel_bin, tmp_path_factory):
    base = tmp_path_factory.mktemp("bundle-cache") / "base"
    env = dict(os.environ, VESSEL=vessel_bin)
    proc = subprocess.run(
        ["sh", str(REPO / "scripts" / "mkbundle.sh"), str(base)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        pytest.fail(f"scripts/mkbundle.sh failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return base


class _Registry:
    def __init__(self):
        self.bundles = []


@pytest.fixture
def _registry():
    return _Registry()


class HostMounts:
    """Host-side mounts made by a test; unmounted (lazily) afterwards."""

    def __init__(self):
        self.points = []

    def bind(self, source, target, make=None):
        subprocess.run(["mount", "--bind", str(source), str(target)], check=True)
        self.points.append(str(target))
        if make:
            subprocess.run(["mount", f"--make-{make}", str(target)], check=True)

    def mount(self, *args, target):
        subprocess.run(["mount", *map(str, args), str(target)], check=True)
        self.points.append(str(target))

    def covers(self, line):
        e = helpers.MountEntry(line)
        return any(e.mountpoint == p or e.mountpoint.startswith(p + "/") for p in self.points)

    def cleanup(self):
        for p in reversed(self.points):
            subprocess.run(["umount", "-l", p], capture_output=True)
        self.points.clear()


@pytest.fixture
def host_mounts():
    hm = HostMounts()
    yield hm
    hm.cleanup()


@pytest.fixture
def bundle(bundle_cache, tmp_path, _registry):
    """bundle(*args, private=False, name=None) -> Bundle. The rootfs is a
    hard-linked copy of the session's cache (do not modify existing files in
    place: use private=True for a real copy, e.g. before chown)."""
    counter = {"n": 0}

    def make(*args, private=False, name=None):
        counter["n"] += 1
        dest = tmp_path / (name or f"bundle{counter['n']}")
        dest.mkdir()
        cp_flag = "-a" if private else "-al"
        subprocess.run(["cp", cp_flag, str(bundle_cache / "rootfs"), str(dest / "rootfs")],
                       check=True)
        with open(bundle_cache / "config.json") as f:
            cfg = json.load(f)
        with open(dest / "config.json", "w") as f:
            json.dump(copy.deepcopy(cfg), f, indent=2)
        b = Bundle(dest)
        if args:
            b.set_args(*args)
        b.save()
        _registry.bundles.append(b)
        return b

    return make


@pytest.fixture
def vessel(vessel_bin, tmp_path, _registry, host_mounts):
    root = tmp_path / "state-root"
    root.mkdir(mode=0o700)
    work = tmp_path / "vessel-io"
    work.mkdir()
    v = Vessel(vessel_bin, root, work)
    yield v

    problems = []
    for p in v.popens:
        if p.poll() is None:
            p.kill()
            p.wait()
    for name in v.entries():
        try:
            res = v.delete(name, force=True, timeout=20)
        except (Exception, pytest.fail.Exception) as e:  # keep cleaning up
            problems.append(f"`delete --force {name}` raised {e!r}")
            continue
        if res.returncode != 0:
            problems.append(f"`delete --force {name}` failed: {res.stderr.strip()}")
    left = v.entries()
    if left:
        problems.append(f"state root {root} not empty after cleanup: {left}")

    rootfs = [b.rootfs for b in _registry.bundles]
    procs = helpers.leftover_processes(rootfs, markers=sorted(v.used_ids))
    if procs:
        # Give a just-killed container a moment to go away before calling it a leak.
        time.sleep(0.5)
        procs = helpers.leftover_processes(rootfs, markers=sorted(v.used_ids))
    for pid, comm, why in procs:
        problems.append(f"leftover process {pid} ({comm}, {why})")
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass

    for d in helpers.leftover_cgroups(sorted(v.used_ids)):
        problems.append(f"leftover cgroup {d}")
        try:
            os.rmdir(d)
        except OSError:
            pass

    leaked = [
        line for line in helpers.host_mount_lines(tmp_path) if not host_mounts.covers(line)
    ]
    for line in reversed(leaked):
        problems.append(f"leaked host mount: {line}")
        subprocess.run(["umount", "-l", helpers.MountEntry(line).mountpoint], capture_output=True)

    if problems:
        pytest.fail("cleanup found problems:\n  " + "\n  ".join(problems))


@pytest.fixture
def cid(vessel):
    """A fresh container id, registered for cleanup."""
    c = new_id()
    vessel.used_ids.add(c)
    return c
