"""Crash consistency: vessel killed with SIGKILL at random moments.

Each scenario runs an engine command (load, pull, commit with and without
--pause, rm -f of a running and of a paused container, run -d, create) and kills it after a random delay drawn
from [0, 1.2 x the time the same command took unkilled], or kills the
container's monitor or init at a random moment after `run -d`. After every
kill:
  - `system check` is clean,
  - the image or container is either fully there (it runs / inspects) or
    absent,
  - no container is frozen, and `rm -f` removes every container promptly,
  - after `rm -f` and `system prune` nothing is left: records, runtime
    state, mounts, cgroups, monitors, container processes, store tmp files,
  - the next command (`run --rm busybox true`) works.

The delays come from one seeded generator: VESSEL_CRASH_SEED=<n> reproduces
a run (the seed is printed and named in every failure), VESSEL_CRASH_KILLS
sets the kills per scenario (default 4)."""

import json
import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

import helpers

SEED = int(os.environ.get("VESSEL_CRASH_SEED", str(random.SystemRandom().randrange(1 << 31))))
KILLS = int(os.environ.get("VESSEL_CRASH_KILLS", "4"))
RM_TIMEOUT = 20  # rm -f of anything, frozen or not, must finish well within this
TIMEOUT = 60
ID_RE = re.compile(r"^[0-9a-f]{64}$")

print(f"test_crash: seed {SEED} (VESSEL_CRASH_SEED={SEED} reproduces), {KILLS} kills per scenario")


class Crash:
    """An engine with its own data and runtime roots, and the checks."""

    def __init__(self, binary, tmp, rng, scenario):
        self.binary = str(binary)
        self.data = tmp / "data"
        self.run_root = tmp / "run"
        self.tmp = tmp
        self.rng = rng
        self.env = dict(os.environ, VESSEL_ROOT=str(self.data),
                        VESSEL_RUNTIME_ROOT=str(self.run_root))
        self.env.pop("VESSEL_NO_OVERLAY", None)
        self.scenario = scenario
        self.kill_points = []

    def ctx(self):
        return f"[seed {SEED}, {self.scenario}, kill points so far {self.kill_points}]"

    def __call__(self, *args, timeout=TIMEOUT):
        p = subprocess.run([self.binary, *map(str, args)], env=self.env, capture_output=True,
                           timeout=timeout)
        p.stdout = p.stdout.decode(errors="replace")
        p.stderr = p.stderr.decode(errors="replace")
        return p

    def ok(self, *args, timeout=TIMEOUT):
        p = self(*args, timeout=timeout)
        assert p.returncode == 0, (f"vessel {' '.join(map(str, args))} -> {p.returncode}: "
                                   f"{p.stderr.strip()} {self.ctx()}")
        return p.stdout

    def timed(self, *args):
        t = time.monotonic()
        self.ok(*args)
        return time.monotonic() - t

    def killed(self, args, duration):
        """Runs vessel ARGS and SIGKILLs it after a random delay within
        1.2 x duration (it may have finished by then: a kill point past the
        end is a valid sample too)."""
        delay = self.rng.uniform(0, duration * 1.2)
        self.kill_points.append(round(delay, 4))
        p = subprocess.Popen([self.binary, *map(str, args)], env=self.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=TIMEOUT)
        return p.returncode

    # ---- what is there

    def inspect_status(self, name):
        res = self("inspect", name)
        if res.returncode != 0:
            return None
        return json.loads(res.stdout)[0]["State"]["Status"]

    def container_dirs(self):
        d = self.data / "containers"
        return sorted(p.name for p in d.iterdir() if ID_RE.match(p.name)) if d.exists() else []

    def records(self):
        """Containers (a directory without its record is a half-created or
        half-removed one, which listings skip and system prune removes)."""
        d = self.data / "containers"
        return [i for i in self.container_dirs() if (d / i / "record.json").exists()]

    def runtime_entries(self):
        r = self.run_root
        return sorted(p.name for p in r.iterdir() if not p.name.startswith(".")) \
            if r.exists() else []

    def mounts(self):
        out = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = helpers.MountEntry(line).mountpoint
                if mp.startswith(str(self.tmp) + "/"):
                    out.append(mp)
        return out

    def cgroup_dirs(self, ids):
        """vessel-<id> cgroups of these containers, in every hierarchy."""
        if not ids:
            return []
        with open("/proc/self/cgroup") as f:
            own = {line.rstrip("\n").split(":", 2)[2] for line in f if line.count(":") >= 2}
        own.add("/")
        found = set()
        for mp in helpers.cgroup_mountpoints():
            for base in own:
                for i in ids:
                    d = os.path.normpath(f"{mp}/{base}/vessel-{i}")
                    if os.path.isdir(d):
                        found.add(d)
        return sorted(found)

    def frozen(self, ids):
        out = []
        for d in self.cgroup_dirs(ids):
            try:
                if Path(d, "freezer.state").exists():
                    if Path(d, "freezer.state").read_text().strip() != "THAWED":
                        out.append(d)
                elif Path(d, "cgroup.events").exists():
                    if "frozen 1" in Path(d, "cgroup.events").read_text():
                        out.append(d)
            except OSError:
                pass
        return out

    def our_processes(self):
        """Monitors run with our data root, and processes whose root is
        under our temporary directory (container inits and children)."""
        found = []
        me = os.getpid()
        for pid in helpers._proc_pids():
            if pid == me or not helpers.pid_alive(pid):
                continue
            try:
                root = os.readlink(f"/proc/{pid}/root")
            except OSError:
                continue
            hit = root.startswith(str(self.tmp) + "/")
            if not hit:
                try:
                    env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                hit = (f"VESSEL_ROOT={self.data}".encode() in env and argv
                       and argv[0] == self.binary.encode())
            if hit and helpers.pid_alive(pid):
                found.append(pid)
        return found

    def store_tmp(self):
        d = self.data / "tmp"
        return sorted(p.name for p in d.iterdir()) if d.exists() else []

    # ---- the checks after each kill

    def check_after_kill(self, image=None, image_cmd=("true",)):
        """Consistent now; then everything removable; then nothing left."""
        res = self("system", "check")
        assert res.returncode == 0, f"system check: {res.stdout}{res.stderr} {self.ctx()}"
        ps = self("ps", "-a", "--no-trunc")
        assert ps.returncode == 0, f"ps -a: {ps.stderr} {self.ctx()}"
        ids = self.records()
        all_ids = self.container_dirs()
        unpaused = []
        for cid in ids:
            # Fully there: it inspects, with a state.
            info = self("inspect", cid)
            assert info.returncode == 0, f"inspect {cid}: {info.stderr} {self.ctx()}"
            status = json.loads(info.stdout)[0]["State"]["Status"]
            assert status, self.ctx()
            if status != "paused":
                unpaused.append(cid)
        # Nothing stays frozen once a command looked (ps ran above), but what
        # the user paused: a command killed before it thawed anything leaves
        # a paused container paused.
        assert not self.frozen(unpaused), \
            f"frozen after ps: {self.frozen(unpaused)} {self.ctx()}"
        if image is not None:
            # Fully there (it runs) or absent (inspect says so).
            there = self("image", "inspect", image)
            if there.returncode == 0:
                run = self("run", "--rm", image, *image_cmd)
                assert run.returncode == 0, (f"image {image} is listed but does not run: "
                                             f"{run.stderr} {self.ctx()}")
            else:
                assert "no such image" in there.stderr.lower() or "not found" in \
                    there.stderr.lower(), f"image inspect {image}: {there.stderr} {self.ctx()}"
        for cid in ids:
            t = time.monotonic()
            res = self("rm", "-f", cid, timeout=RM_TIMEOUT + 10)
            took = time.monotonic() - t
            assert res.returncode == 0, f"rm -f {cid}: {res.stderr} {self.ctx()}"
            assert took < RM_TIMEOUT, f"rm -f {cid} took {took:.1f}s {self.ctx()}"
        self.ok("system", "prune", "-f")
        assert self.container_dirs() == [], \
            f"container dirs left: {self.container_dirs()} {self.ctx()}"
        assert self.runtime_entries() == [], \
            f"runtime state left: {self.runtime_entries()} {self.ctx()}"
        assert self.mounts() == [], f"mounts left: {self.mounts()} {self.ctx()}"
        assert self.cgroup_dirs(all_ids) == [], \
            f"cgroups left: {self.cgroup_dirs(all_ids)} {self.ctx()}"
        helpers.wait_for(lambda: not self.our_processes(), 5, what="processes to go")
        assert self.store_tmp() == [], f"store tmp left: {self.store_tmp()} {self.ctx()}"
        res = self("system", "check")
        assert res.returncode == 0, f"system check: {res.stdout}{res.stderr} {self.ctx()}"
        # The next command works.
        self.ok("run", "--rm", "busybox", "true")

    def cleanup(self):
        """After a failure too: whatever a broken vessel left (a frozen
        cgroup first, which would make rm -f hang) goes."""
        ids = self.container_dirs()
        for d in self.cgroup_dirs(ids):
            try:
                for pid in Path(d, "cgroup.procs").read_text().split():
                    os.kill(int(pid), signal.SIGKILL)
                if Path(d, "freezer.state").exists():
                    Path(d, "freezer.state").write_text("THAWED")
                elif Path(d, "cgroup.freeze").exists():
                    Path(d, "cgroup.freeze").write_text("0")
            except (OSError, ValueError):
                pass
        for cid in self.records():
            self("rm", "-f", cid)
        for pid in self.our_processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for mp in reversed(self.mounts()):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        for d in sorted(self.cgroup_dirs(ids), key=len, reverse=True):
            try:
                os.rmdir(d)
            except OSError:
                pass


@pytest.fixture
def crash(vessel_bin, tmp_path, request):
    scenario = request.node.name
    rng = random.Random(f"{SEED}:{scenario}")
    c = Crash(vessel_bin, tmp_path, rng, scenario)
    c.ok("run", "--rm", "busybox", "true")  # the built-in image, once
    yield c
    print(f"{scenario}: seed {SEED}, kill points (s) {c.kill_points}")
    c.cleanup()


# A container that has written a few MiB of incompressible data: commit
# then packs for a while (hundreds of ms), long enough to be hit mid-way.
WRITER = ["sh", "-c", "dd if=/dev/urandom of=/big bs=1M count=6 2>/dev/null; "
          "touch /ready; sleep 60"]


def start_writer(crash, name):
    crash.ok("run", "-d", "--name", name, "busybox", *WRITER)
    helpers.wait_for(lambda: crash("exec", name, "test", "-e", "/ready").returncode == 0,
                     20, interval=0.1, what="the writer container")


@pytest.mark.parametrize("pause", ["true", "false"])
def test_kill_commit(crash, pause):
    start_writer(crash, "w")
    duration = crash.timed("commit", f"--pause={pause}", "w", "crash/measure:1")
    crash.ok("rmi", "crash/measure:1")
    for i in range(KILLS):
        crash.killed(["commit", f"--pause={pause}", "w", f"crash/commit:{i}"], duration)
        ps = crash.ok("ps", "--no-trunc")
        assert "w" in ps and "Up" in ps, f"the container is not running: {ps} {crash.ctx()}"
        ids = crash.records()
        assert not crash.frozen(ids), f"still frozen: {crash.frozen(ids)} {crash.ctx()}"
        # A commit after the killed one works and sees the file.
        crash.ok("commit", f"--pause={pause}", "w", "crash/after:1")
        crash.ok("run", "--rm", "crash/after:1", "test", "-s", "/big")
        crash.ok("rmi", "crash/after:1")
        there = crash("image", "inspect", f"crash/commit:{i}")
        if there.returncode == 0:
            crash.ok("run", "--rm", f"crash/commit:{i}", "test", "-s", "/big")
    crash.check_after_kill()


@pytest.mark.parametrize("how", ["load", "pull"])
def test_kill_load_and_pull(crash, how):
    """load -i of a docker-archive; pull oci:DIR of an OCI layout."""
    start_writer(crash, "w")
    crash.ok("commit", "w", "crash/load:1")
    crash.ok("rm", "-f", "w")
    archive = crash.tmp / "load.tar"
    if how == "load":
        crash.ok("save", "-o", archive, "crash/load:1")
        cmd = ["load", "-i", archive]
    else:
        crash.ok("save", "--format", "oci-archive", "-o", archive, "crash/load:1")
        layout = crash.tmp / "layout"
        layout.mkdir()
        subprocess.run(["tar", "-xf", archive, "-C", layout], check=True)
        cmd = ["pull", f"oci:{layout}"]

    def absent():
        crash.ok("rmi", "crash/load:1")
        crash.ok("system", "prune", "-f")

    absent()
    duration = crash.timed(*cmd)
    for _ in range(KILLS):
        absent()
        crash.killed(cmd, duration)
        crash.check_after_kill(image="crash/load:1", image_cmd=("test", "-s", "/big"))
        if crash("image", "inspect", "crash/load:1").returncode != 0:
            crash.ok(*cmd)  # the next one completes


def test_kill_rm(crash):
    crash.ok("run", "-d", "--name", "m", "busybox", "sleep", "60")
    duration = crash.timed("rm", "-f", "m")
    for _ in range(KILLS):
        crash.ok("run", "-d", "--name", "r", "busybox", "sleep", "60")
        crash.killed(["rm", "-f", "r"], max(duration, 0.05))
        crash.check_after_kill()
        # The name is free again.
        crash.ok("create", "--name", "r", "busybox", "true")
        crash.ok("rm", "r")


def test_kill_rm_of_paused(crash):
    """rm -f of a paused container, killed mid-way, then rm -f again."""
    for _ in range(KILLS):
        crash.ok("run", "-d", "--name", "p", "busybox", "sleep", "60")
        crash.ok("pause", "p")
        crash.killed(["rm", "-f", "p"], 0.3)
        crash.check_after_kill()


@pytest.mark.parametrize("cmd", ["run", "create"])
def test_kill_run_and_create(crash, cmd):
    extra = ["-d"] if cmd == "run" else []
    duration = crash.timed(cmd, *extra, "--name", "m", "busybox", "sleep", "60")
    crash.ok("rm", "-f", "m")
    for _ in range(KILLS):
        crash.killed([cmd, *extra, "--name", "k", "busybox", "sleep", "60"], duration)
        ids = crash.records()
        if ids:
            # Fully there: it can be started (create) or is up (run).
            if cmd == "create":
                st = crash.inspect_status("k")
                if st == "created":
                    crash.ok("start", "k")
            if crash.inspect_status("k") == "running":
                crash.ok("exec", "k", "true")
        crash.check_after_kill()
        crash.ok(cmd, *extra, "--name", "k", "busybox", "true")  # the name is free again
        crash.ok("rm", "-f", "k")


@pytest.mark.parametrize("victim", ["monitor", "init"])
def test_kill_monitor_or_init(crash, victim):
    for _ in range(KILLS):
        out = crash.ok("run", "-d", "--name", "v", "busybox", "sh", "-c",
                       "echo up; sleep 60")
        cid = out.strip()
        info = json.loads(crash.ok("inspect", cid))[0]
        pid = info["MonitorPid"] if victim == "monitor" else info["State"]["Pid"]
        assert pid > 0, f"no {victim} pid in {info} {crash.ctx()}"
        delay = crash.rng.uniform(0, 0.3)
        crash.kill_points.append(round(delay, 4))
        time.sleep(delay)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        helpers.wait_for(lambda: not helpers.pid_alive(pid), 10, what=f"{victim} to die")
        st = crash.inspect_status("v")
        if victim == "init":
            helpers.wait_for(lambda: crash.inspect_status("v") == "exited", 10,
                             what="the container to be seen exited")
        else:
            assert st in ("running", "exited"), f"status {st} {crash.ctx()}"
        crash.check_after_kill()



# --------------------------------------------------------------------------
# the case, deterministic: commit killed while it holds the freeze


def _freezer_state(crash, cid):
    dirs = crash.cgroup_dirs([cid])
    for d in dirs:
        p = Path(d, "freezer.state")
        if p.exists():
            return p.read_text().strip(), d
        p = Path(d, "cgroup.events")
        if p.exists() and "cgroup.freeze" in os.listdir(d):
            return ("FROZEN" if "frozen 1" in p.read_text() else "THAWED"), d
    return None, None


@pytest.mark.parametrize("next_cmd", ["ps", "rm", "unpause", "prune"])
def test_commit_killed_while_frozen_is_thawed_by_next_command(crash, next_cmd):
    start_writer(crash, "w")
    cid = crash.records()[0]
    p = subprocess.Popen(
        [crash.binary, "commit", "w", "crash/frozen:1"], env=crash.env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        helpers.wait_for(lambda: _freezer_state(crash, cid)[0] == "FROZEN" or p.poll() is not None,
                         20, interval=0.002, what="commit to freeze the container")
        p.send_signal(signal.SIGKILL)
    finally:
        p.wait(timeout=TIMEOUT)
    if p.returncode != -signal.SIGKILL:
        pytest.skip("commit finished before it could be killed while frozen")
    assert _freezer_state(crash, cid)[0] == "FROZEN", "the kill left the container thawed"
    t = time.monotonic()
    if next_cmd == "ps":
        out = crash.ok("ps")
        assert "Up" in out and "Paused" not in out, out
        assert _freezer_state(crash, cid)[0] == "THAWED"
        crash.ok("exec", "w", "true")
    elif next_cmd == "unpause":
        # Not paused by the user: unpause says so, and thaws nonetheless.
        res = crash("unpause", "w")
        assert res.returncode != 0 and "not paused" in res.stderr, res.stderr
        assert _freezer_state(crash, cid)[0] == "THAWED"
    elif next_cmd == "prune":
        crash.ok("system", "prune", "-f")
        assert _freezer_state(crash, cid)[0] == "THAWED"
    crash.ok("rm", "-f", "w", timeout=RM_TIMEOUT)
    assert time.monotonic() - t < RM_TIMEOUT
    crash.check_after_kill()


def test_rm_f_of_a_container_frozen_behind_its_back(crash):
    """Frozen through the cgroup directly (no hold, record says running):
    rm -f kills through the freezer."""
    cid = crash.ok("run", "-d", "--name", "f", "busybox", "sleep", "60").strip()
    state, d = _freezer_state(crash, cid)
    if d is None or not Path(d, "freezer.state").exists():
        pytest.skip("no cgroup v1 freezer here (cgroup v2 delivers SIGKILL to frozen tasks)")
    Path(d, "freezer.state").write_text("FROZEN")
    helpers.wait_for(lambda: _freezer_state(crash, cid)[0] == "FROZEN", 10, what="frozen")
    t = time.monotonic()
    crash.ok("rm", "-f", "f", timeout=RM_TIMEOUT + 10)
    assert time.monotonic() - t < RM_TIMEOUT
    crash.check_after_kill()
