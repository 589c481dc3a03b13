"""vessel bench's overhead, interference and density suites in --quick
(docs/bench-suites.md): each records its cells with sane numbers (or skips
them with a reason), and leaves nothing behind: no container, no engine
cgroup, no mount under the test's directories, no workload or QEMU process
(a network namespace outlives neither its processes nor a mount, so none of
the bench's can remain). A kill -9 of the bench leaves only containers that
the next run removes, and the fork bomb cannot stop the host from forking.

The data root is shared by the module, so the workload image is built once
and found again by content."""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import helpers

TIMEOUT = 400
CG = re.compile(r"vessel-[0-9a-f]{64}$")


def _own_memory_cgroup():
    """Our cgroup in the v1 memory hierarchy (or cgroup2's): the bench's
    containers get their cgroups beneath it, other sessions' do not."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if controllers == "memory":
                return Path("/sys/fs/cgroup/memory" + path)
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if controllers == "":
                return Path("/sys/fs/cgroup" + path)
    return None


def _engine_cgroups():
    found = set()
    base = _own_memory_cgroup()
    if base is None or not base.is_dir():
        return found
    for root, dirs, _ in os.walk(base):
        for d in dirs:
            if CG.match(d):
                found.add(os.path.join(root, d))
    return found


class Bench:
    def __init__(self, binary, base):
        self.binary = str(binary)
        self.base = Path(base)
        self.data_root = self.base / "data"
        self.env = dict(os.environ, VESSEL_ROOT=str(self.data_root),
                        VESSEL_RUNTIME_ROOT=str(self.base / "run"),
                        VESSEL_SYSTEM_CONFIG=str(self.base / "no-config.json"),
                        XDG_CONFIG_HOME=str(self.base / "xdg"),
                        TMPDIR=str(self.base / "tmp"))
        (self.base / "tmp").mkdir(parents=True, exist_ok=True)
        self.env.pop("VESSEL_CONFIG", None)

    def __call__(self, *args, timeout=TIMEOUT):
        p = subprocess.run([self.binary, *map(str, args)], env=self.env, capture_output=True,
                           timeout=timeout)
        p.stdout = p.stdout.decode(errors="replace")
        p.stderr = p.stderr.decode(errors="replace")
        return p

    def ok(self, *args, **kw):
        p = self(*args, **kw)
        assert p.returncode == 0, f"vessel {args} -> {p.returncode}\n{p.stderr}"
        return p.stdout

    def run_suite(self, suite, *extra):
        before = _engine_cgroups()
        t0 = time.monotonic()
        out = self.ok("bench", "--quick", "--json", *extra, suite)
        took = time.monotonic() - t0
        doc = json.loads(out)
        self.assert_clean(before)
        return doc, took

    def assert_clean(self, cgroups_before):
        assert self.ok("ps", "-a", "-q").strip() == "", "bench containers left behind"
        left = _engine_cgroups() - cgroups_before
        assert not left, f"engine cgroups left: {left}"
        with open("/proc/self/mountinfo") as f:
            mounts = [line for line in f if str(self.base) in line]
        assert not mounts, f"mounts left: {mounts}"
        left = self.processes()
        assert not left, f"bench processes left behind: {left}"

    def processes(self):
        """Processes of this data root: every child of the bench inherits
        VESSEL_ROOT (workloads, the namespace holder, monitors, QEMU)."""
        mark = f"VESSEL_ROOT={self.data_root}".encode()
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            if mark in env and helpers.pid_alive(int(pid)):
                found.append((pid, Path(f"/proc/{pid}/comm").read_text().strip()))
        return found


@pytest.fixture(scope="module")
def bench(vessel_bin, tmp_path_factory):
    base = tmp_path_factory.mktemp("bench2")
    b = Bench(vessel_bin, base)
    yield b
    b("rm", "-f", *[n for n in b("ps", "-a", "-q").stdout.split()])
    shutil.rmtree(base, ignore_errors=True)


def _cells(doc, suite):
    return [r for r in doc["results"] if r["suite"] == suite]


def _cell(doc, suite, test, variant, backend, metric):
    for r in doc["results"]:
        if (r["suite"], r["test"], r["variant"], r["backend"], r["metric"]) == \
                (suite, test, variant, backend, metric):
            return r
    return None


def _value(doc, *key):
    r = _cell(doc, *key)
    assert r is not None, f"no cell {key}"
    assert "skipped" not in r, f"cell {key} skipped: {r['skipped']}"
    assert r["samples"], f"cell {key} has no samples"
    return r["samples"][0]


def _sane(doc, suite):
    cells = _cells(doc, suite)
    assert cells, f"{suite} recorded nothing"
    for r in cells:
        if "skipped" in r:
            assert r["skipped"].strip() and "\n" not in r["skipped"], r
            continue
        for v in r["samples"]:
            assert v == v and v >= 0, r  # not NaN, not negative
            if r["metric"] != "lost_percent" and r["metric"] != "jitter_ms":
                assert v > 0, r
    return cells


def _vm_ok(doc, suite):
    return any(r["backend"] == "vm" and "skipped" not in r for r in _cells(doc, suite))


def test_overhead(bench):
    doc, took = bench.run_suite("overhead")
    _sane(doc, "overhead")
    for test, metric in (("cpu-kernel", "ops_per_s"), ("stream-triad", "MB_per_s"),
                         ("memory-latency", "ns")):
        native = _value(doc, "overhead", test, "", "native", metric)
        ctr = _value(doc, "overhead", test, "", "container", metric)
        # Same code, same CPU: within a factor of 3 either way even on a
        # loaded machine; a wrong unit or a broken kernel is far outside.
        assert 1 / 3 < ctr / native < 3, (test, native, ctr)
    assert _value(doc, "overhead", "cpu-kernel", "", "native", "ops_per_s") > 1e6
    if shutil.which("fio"):
        for place in ("overlay", "volume"):
            assert _value(doc, "overhead", "fio-randread-4k", place, "container", "iops") > 10
    if shutil.which("iperf3"):
        assert _value(doc, "overhead", "iperf3-tcp", "", "native", "Mbit_per_s") > 10
        assert _value(doc, "overhead", "iperf3-tcp", "", "container", "Mbit_per_s") > 10
    if _vm_ok(doc, "overhead"):
        vm = _value(doc, "overhead", "cpu-kernel", "", "vm", "ops_per_s")
        native = _value(doc, "overhead", "cpu-kernel", "", "native", "ops_per_s")
        # Host-timed: a guest cannot compute faster than its host. But the
        # two are one sample each, taken minutes apart on a shared machine
        # (1.64x was seen at load 18), so the bound is the container's factor
        # of 3: it catches a wrong unit or scale, not a small clock skew.
        assert vm < native * 3, (vm, native)
    # The image is cached by content: exactly one, and a second run reuses it.
    images = [l for l in bench.ok("images", "--format", "{{.Repository}}").split()
              if l == "vessel-bench-workload"]
    assert len(images) == 1, images
    print(f"overhead --quick took {took:.1f} s")


def test_interference_and_fork_bomb_contained(bench):
    doc, took = bench.run_suite("interference")
    _sane(doc, "interference")
    alone = _value(doc, "interference", "victim-cpu", "alone", "container-limits", "ops_per_s")
    assert alone > 1e6
    for n in ("fork-bomb", "malloc-bomb", "disk-bomb", "udp-flood", "cpu-hog"):
        v = _value(doc, "interference", "victim-cpu", n, "container-limits", "ops_per_s")
        assert 0 < v < alone * 5, (n, v, alone)
        resp = _value(doc, "interference", "victim-cpu", n, "container-limits", "responsive_ms")
        # The probe records 10000 ms when the host could not fork at all.
        assert resp < 5000, (n, resp)
    for iso in ("cpu-shares", "cpuset", "container-default"):
        _value(doc, "interference", "victim-cpu", "cpu-hog", iso, "ops_per_s")
    # The fork bomb beside default limits (vessel's defaults plus the bench's
    # pids.max ceiling): the host kept forking /bin/true meanwhile.
    resp = _value(doc, "interference", "victim-cpu", "fork-bomb", "container-default",
                  "responsive_ms")
    assert resp < 5000, resp
    # After a fork bomb in a container with default limits: the host forks.
    assert subprocess.run(["/bin/true"]).returncode == 0
    print(f"interference --quick took {took:.1f} s")


def test_density(bench):
    doc, took = bench.run_suite("density")
    _sane(doc, "density")
    for n in ("1", "5"):
        assert _value(doc, "density", "start-all", n, "container", "ms") > 0
        pss = _value(doc, "density", "idle", n, "container", "pss_MiB")
        assert 0.1 < pss < 200, pss
    if _vm_ok(doc, "density"):
        pss = _value(doc, "density", "idle", "1", "vm", "pss_MiB")
        assert 5 < pss < 2048, pss
    print(f"density --quick took {took:.1f} s")


def test_kill_9_leaves_only_what_the_next_run_removes(bench):
    before = _engine_cgroups()
    log = bench.base / "kill9-bench.err"
    with open(log, "wb") as err:
        p = subprocess.Popen([bench.binary, "bench", "--quick", "--isolation", "container",
                              "density"], env=bench.env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        try:
            helpers.wait_for(lambda: "vessel-bench-" in bench.ok("ps", "-a", "--format",
                                                                 "{{.Names}}"),
                             timeout=120, interval=0.1, what="a bench container")
        except AssertionError:
            # What the bench was doing, for the report (the assertion stands).
            tree = subprocess.run(["ps", "-eo", "pid,ppid,stat,wchan:24,etime,args",
                                   "--forest"], capture_output=True, text=True).stdout
            print("bench stderr:\n" + log.read_text(errors="replace")[-4000:])
            print("processes:\n" + "\n".join(line for line in tree.splitlines()
                                               if "vessel" in line))
            raise
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    # The bench's own helpers (the namespace holder, `vessel run` clients)
    # die with it (PR_SET_PDEATHSIG); only the containers' monitors remain.
    def only_monitors():
        return all(c.startswith("vessel-monitor") or c.startswith("vessel-vm") or c == "vessel"
                   for _, c in bench.processes())
    helpers.wait_for(only_monitors, timeout=10, what="the bench's helpers to exit")
    # The next run removes the dead run's containers before it starts.
    bench.ok("bench", "--quick", "--isolation", "native", "density")
    bench.assert_clean(before)
