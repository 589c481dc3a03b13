"""The rootless engine (docs/rootless.md): an ordinary user runs vessel.

The module creates a user of its own with a subordinate id range it writes
into /etc/subuid and /etc/subgid, a home and a run dir under its temporary
directory, and a copy of the binary there (the checkout may be closed to
other users). Every command runs as that user (setpriv). Afterwards the
containers are removed, the pause process that holds the user's namespaces
is stopped, and the user, its entries and its files are removed; no process
of its ids may be left, and no mount under its directory.
"""

import grp
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tarfile
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

import helpers

SUB_START = 400_000_000  # clear of test_userns.py's entries (300_000_000...)
SUB_SIZE = 65536
SUBID_FILES = ("/etc/subuid", "/etc/subgid")


def _proc_uids(pid, live_only=False):
    """Real, effective, saved, fs uids of pid ([] when gone; with live_only,
    also for a zombie, which only its parent's wait can remove)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return []
    if live_only and "\nState:\tZ" in text:
        return []
    for line in text.splitlines():
        if line.startswith("Uid:"):
            return [int(x) for x in line.split()[1:]]
    return []


def _pids_of_ids(lo, hi, extra):
    """Processes whose real uid is extra or in [lo, hi)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            uids = _proc_uids(d, live_only=True)
            if uids and (uids[0] == extra or lo <= uids[0] < hi):
                out.append(int(d))
    return out


def _remove_subid_lines(name):
    for path in SUBID_FILES:
        p = Path(path)
        if not p.exists():
            continue
        lines = p.read_text().splitlines(keepends=True)
        kept = [ln for ln in lines if not ln.startswith(name + ":")]
        if kept != lines:
            p.write_text("".join(kept))


class RootlessUser:
    def __init__(self, top, name, uid, gid, binary):
        self.top, self.name, self.uid, self.gid, self.binary = top, name, uid, gid, binary
        self.home = top / "home"
        self.xdg = top / "xdg"

    @property
    def data_root(self):
        return self.home / ".local" / "share" / "vessel"

    @property
    def run_dir(self):
        return self.xdg / "vessel"

    def env(self):
        return {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
                "HOME": str(self.home), "XDG_RUNTIME_DIR": str(self.xdg), "USER": self.name,
                "LANG": "C"}

    def run(self, *args, timeout=60, binary=None, prefix=()):
        """Output through files: a detached container inherits them."""
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            res = subprocess.run(
                [*prefix, "setpriv", "--reuid", str(self.uid), "--regid", str(self.gid), "--init-groups",
                 binary or str(self.binary), *map(str, args)],
                stdout=out, stderr=err, stdin=subprocess.DEVNULL, timeout=timeout,
                env=self.env(), cwd=str(self.home))
            out.seek(0)
            err.seek(0)
            res.stdout, res.stderr = out.read(), err.read()
        return res

    def ok(self, *args, **kw):
        res = self.run(*args, **kw)
        assert res.returncode == 0, f"{args}: {res.returncode}\n{res.stdout}\n{res.stderr}"
        return res.stdout

    def pause_pid(self):
        try:
            return int((self.run_dir / "pause.pid").read_text())
        except (OSError, ValueError):
            return 0

    def container_ids(self):
        d = self.data_root / "containers"
        return sorted(os.listdir(d)) if d.is_dir() else []


@pytest.fixture(scope="module")
def rl(vessel_bin):
    for tool in ("useradd", "userdel", "newuidmap", "newgidmap", "setpriv"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is needed (Debian's passwd, uidmap, util-linux)")
    top = Path(tempfile.mkdtemp(prefix="vessel-rootless-engine-", dir="/tmp"))
    os.chmod(top, 0o755)
    name = "vsrl" + os.urandom(3).hex()
    res = subprocess.run(["useradd", "-M", "-N", "-d", str(top / "home"), "-s", "/bin/sh",
                          "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", name],
                         capture_output=True, text=True)
    if res.returncode != 0:
        shutil.rmtree(top, ignore_errors=True)
        pytest.skip(f"useradd failed: {res.stderr.strip()}")
    pw = pwd.getpwnam(name)
    user = None
    try:
        _remove_subid_lines(name)
        for path in SUBID_FILES:
            p = Path(path)
            text = p.read_text() if p.exists() else ""
            if text and not text.endswith("\n"):
                text += "\n"
            p.write_text(text + f"{name}:{SUB_START}:{SUB_SIZE}\n")
        for d in ("home", "xdg", "bin"):
            (top / d).mkdir()
        shutil.copy2(vessel_bin, top / "bin" / "vessel")
        os.chmod(top / "bin" / "vessel", 0o755)
        os.chown(top / "home", pw.pw_uid, pw.pw_gid)
        os.chown(top / "xdg", pw.pw_uid, pw.pw_gid)
        os.chmod(top / "xdg", 0o700)
        user = RootlessUser(top, name, pw.pw_uid, pw.pw_gid, top / "bin" / "vessel")
        yield user
    finally:
        leftovers = _teardown(user, top, name, pw)
    assert not leftovers, leftovers


def _teardown(user, top, name, pw):
    problems = []
    if user is not None:
        for cid in user.container_ids():
            user.run("rm", "-f", "-v", cid)
        if user.container_ids():
            problems.append(f"records left: {user.container_ids()}")
        pid = user.pause_pid()
        if pid and Path(f"/proc/{pid}/comm").exists() and \
                Path(f"/proc/{pid}/comm").read_text().strip() == "vessel-pause":
            os.kill(pid, signal.SIGTERM)
            helpers.wait_for(lambda: not helpers.pid_alive(pid), what="the pause process's end")
        else:
            problems.append("no pause process was found to stop")
    # Nothing of the user's ids may run any more (the containers' processes
    # are the user's and its range's ids).
    deadline = time.monotonic() + 5
    while _pids_of_ids(SUB_START, SUB_START + SUB_SIZE, pw.pw_uid) and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    stray = _pids_of_ids(SUB_START, SUB_START + SUB_SIZE, pw.pw_uid)
    for p in stray:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if stray:
        problems.append(f"processes left: {stray}")
    mounts = [m for m in helpers.host_mount_lines(str(top))]
    if mounts:
        problems.append(f"host mounts left: {mounts}")
    subprocess.run(["userdel", name], capture_output=True)
    _remove_subid_lines(name)
    shutil.rmtree(top, ignore_errors=True)
    return problems


def _status_uids(pid):
    return _proc_uids(pid)


def _ctr_pid(rl, name):
    out = rl.ok("inspect", "--format", "{{.State.Pid}}", name)
    return int(out.strip())


def _host_uid_of(rl, pid):
    return _proc_uids(pid)[0]


# --------------------------------------------------------------------------


def test_rootless_run_ps_logs_exec_stop_rm(rl):
    out = rl.ok("run", "--rm", "busybox", "echo", "hi")
    assert out == "hi\n"
    assert "busybox" in rl.ok("images")
    # The engine's data and state are the user's, under its XDG dirs.
    assert rl.data_root.is_dir() and rl.data_root.stat().st_uid == rl.uid
    assert (rl.run_dir / "pause.pid").is_file()
    rl.ok("run", "-d", "--name", "c1", "busybox", "sh", "-c", "echo started; exec sleep 300")
    try:
        assert "c1" in rl.ok("ps")
        helpers.wait_for(lambda: "started" in rl.ok("logs", "c1"), what="c1's output")
        out = rl.ok("exec", "c1", "sh", "-c", "id -u; cat /proc/self/uid_map")
        lines = [ln.split() for ln in out.splitlines()]
        assert lines[0] == ["0"]
        # Root inside is the user; 1.. its subordinate range: nothing else.
        assert lines[1:] == [["0", str(rl.uid), "1"], ["1", str(SUB_START), str(SUB_SIZE)]]
        pid = _ctr_pid(rl, "c1")
        assert _status_uids(pid) == [rl.uid] * 4
        rl.ok("stop", "-t", "1", "c1")
        assert "Exited" in rl.ok("ps", "-a")
    finally:
        rl.run("rm", "-f", "c1")
    assert "c1" not in rl.ok("ps", "-a")
    assert rl.container_ids() == []


def test_rootless_files_get_the_users_ids(rl):
    vol = rl.top / "vol"
    vol.mkdir()
    os.chown(vol, rl.uid, rl.gid)
    rl.ok("run", "--rm", "-v", f"{vol}:/v", "busybox", "sh", "-c",
          "touch /v/by-root && touch /v/by-1000 && chown 1000:1000 /v/by-1000")
    # Root inside wrote as the user; id 1000 is the range's 1000th id.
    assert (vol / "by-root").stat().st_uid == rl.uid
    st = (vol / "by-1000").stat()
    assert (st.st_uid, st.st_gid) == (SUB_START + 999, SUB_START + 999)


def test_rootless_host_root_files_stay_closed(rl):
    d = rl.top / "rootdir"
    d.mkdir()
    secret = d / "secret"
    secret.write_text("host secret\n")
    os.chmod(secret, 0o600)
    public = d / "public"
    public.write_text("unchanged\n")
    os.chmod(public, 0o644)
    res = rl.run("run", "--rm", "-v", f"{d}:/d", "-v", "/etc:/hostetc", "busybox", "sh", "-c",
                 "cat /d/secret; echo r1=$?; echo x >> /d/public; echo r2=$?; "
                 "echo x >> /hostetc/passwd; echo r3=$?; rm /d/public; echo r4=$?; "
                 "chown 0 /d/public; echo r5=$?")
    assert res.returncode == 0, res.stderr
    for k in ("r1", "r2", "r3", "r4", "r5"):
        assert f"{k}=1" in res.stdout, res.stdout + res.stderr
    assert "host secret" not in res.stdout
    assert public.read_text() == "unchanged\n"
    assert public.stat().st_uid == 0


def test_rootless_setuid_binary_gives_no_host_privilege(rl):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the setuid probe")
    work = rl.top / "suid"
    (work / "img" / "bin").mkdir(parents=True)
    src = work / "probe.c"
    src.write_text(textwrap.dedent(r"""
        #include <errno.h>
        #include <fcntl.h>
        #include <stdio.h>
        #include <string.h>
        #include <unistd.h>
        int main(void) {
            int r = setuid(0);
            int fd = open("/secret", O_RDONLY);
            printf("setuid=%d euid=%d open=%s\n", r, (int) geteuid(),
                   fd < 0 ? strerror(errno) : "ok");
            fflush(stdout);
            pause();
            return 0;
        }
    """))
    subprocess.run(["gcc", "-static", "-O1", "-o", work / "img" / "bin" / "probe", src],
                   check=True)
    os.chmod(work / "img" / "bin" / "probe", 0o4755)
    tar = work / "suid.tar"
    subprocess.run(["tar", "-C", work / "img", "--numeric-owner", "--owner=0", "--group=0",
                    "-cf", tar, "."], check=True)
    os.chmod(work, 0o755)
    os.chmod(tar, 0o644)
    secret = work / "secret"
    secret.write_text("host secret\n")
    os.chmod(secret, 0o600)
    rl.ok("import", tar, "suid:1")
    rl.ok("run", "-d", "--name", "su", "-u", "1000:1000", "-v", f"{secret}:/secret",
          "suid:1", "/bin/probe")
    try:
        helpers.wait_for(lambda: "euid=" in rl.ok("logs", "su"), what="the probe's output")
        log = rl.ok("logs", "su")
        # The setuid bit works in the namespace: root there...
        assert "setuid=0 euid=0" in log, log
        # ...is the user on the host, and host root's file stays closed.
        assert "open=Permission denied" in log, log
        assert _status_uids(_ctr_pid(rl, "su")) == [rl.uid] * 4
    finally:
        rl.run("rm", "-f", "su")
    rl.ok("rmi", "suid:1")


def test_rootless_limits_refused_with_the_reason(rl):
    res = rl.run("run", "--rm", "--memory", "64m", "busybox", "true")
    assert res.returncode != 0
    err = res.stderr.strip().splitlines()
    assert len(err) == 1, res.stderr
    mode = Path("/sys/fs/cgroup/cgroup.controllers").exists() and \
        not Path("/sys/fs/cgroup/memory").exists()
    if mode:
        pytest.skip("pure cgroup v2 host: limits depend on systemd's delegation")
    assert "--memory: the rootless engine cannot limit resources" in err[0], err
    assert "cannot be delegated to an unprivileged user" in err[0], err
    assert rl.container_ids() == []


def test_rootless_load_save_and_unshare(rl):
    tar = rl.home / "bb.tar"
    rl.ok("save", "-o", tar, "busybox")
    rl.ok("tag", "busybox", "mybox:1")
    rl.ok("rmi", "mybox:1")
    rl.ok("load", "-i", tar)
    assert "busybox" in rl.ok("images")
    # vessel unshare: root over the data root, in the same namespaces.
    out = rl.ok("unshare", "sh", "-c", "id -u; stat -c %u $VESSEL_ROOT/index.json")
    assert out.split() == ["0", "0"]
    res = subprocess.run([str(rl.binary), "unshare", "true"], capture_output=True, text=True)
    assert res.returncode != 0 and "only an unprivileged user" in res.stderr


def test_rootless_no_subuid_entry_is_one_clear_error(rl):
    """A user with no range: one line naming the file and the fix; no
    namespace, pause process or state left behind."""
    name = "vsrn" + os.urandom(3).hex()
    top = Path(tempfile.mkdtemp(prefix="vessel-rootless-nosub-", dir="/tmp"))
    os.chmod(top, 0o755)
    subprocess.run(["useradd", "-M", "-N", "-d", str(top / "home"), "-s", "/bin/sh",
                    "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", name], check=True)
    pw = pwd.getpwnam(name)
    try:
        _remove_subid_lines(name)
        for d in ("home", "xdg"):
            (top / d).mkdir()
            os.chown(top / d, pw.pw_uid, pw.pw_gid)
        os.chmod(top / "xdg", 0o700)
        other = RootlessUser(top, name, pw.pw_uid, pw.pw_gid, rl.binary)
        res = other.run("ps")
        assert res.returncode != 0
        assert res.stderr.count("\n") == 1, res.stderr
        assert f"/etc/subuid has no entry for user '{name}'" in res.stderr, res.stderr
        helpers.wait_for(lambda: _pids_of_ids(0, 0, pw.pw_uid) == [],
                         what="the failed pause process's end")
        assert not (top / "xdg" / "vessel" / "pause.pid").exists()
    finally:
        subprocess.run(["userdel", name], capture_output=True)
        shutil.rmtree(top, ignore_errors=True)


def test_rootless_overlay_not_a_copy_and_commit_keeps_deletions(rl):
    """The root is an overlay in the engine's mount namespace (userxattr:
    never a copy of the image), and what a container deletes stays deleted
    in a commit (whiteouts and opaque dirs made in the user namespace)."""
    rl.ok("run", "-d", "--name", "ov", "busybox", "sh", "-c",
          "rm /bin/vi && rm -r /usr && mkdir /usr && echo new > /usr/only && exec sleep 300")
    try:
        helpers.wait_for(lambda: rl.run("exec", "ov", "ls", "/usr").stdout == "only\n",
                         what="the container's changes")
        cid = rl.ok("inspect", "--format", "{{.Id}}", "ov").strip()
        mounts = Path(f"/proc/{rl.pause_pid()}/mountinfo").read_text().splitlines()
        roots = [m for m in mounts if cid in m.split()[4]]
        assert any(" - overlay " in m for m in roots), roots
        assert any("userxattr" in m for m in roots), roots
        # Not on the host: the host's mount table never sees it.
        assert cid not in Path("/proc/self/mountinfo").read_text()
        rl.ok("commit", "ov", "ovimg:1")
    finally:
        rl.run("rm", "-f", "ov")
    out = rl.ok("run", "--rm", "ovimg:1", "sh", "-c", "ls /usr; test -e /bin/vi; echo vi=$?")
    assert out == "only\nvi=1\n", out
    rl.ok("rmi", "ovimg:1")


def _tun_open_to(rl):
    res = subprocess.run(["setpriv", "--reuid", str(rl.uid), "--regid", str(rl.gid),
                          "--clear-groups", "sh", "-c", "exec 3<>/dev/net/tun"],
                         capture_output=True)
    return res.returncode == 0


def test_rootless_pasta_without_tun_is_refused(rl):
    if shutil.which("pasta") is None:
        pytest.skip("pasta (Debian's passt) is not installed")
    if _tun_open_to(rl):
        pytest.skip("/dev/net/tun is open to unprivileged users here: nothing to refuse")
    res = rl.run("run", "--rm", "--network", "pasta", "-p", "127.0.0.1:18080:80", "busybox",
                 "true")
    assert res.returncode == 125
    assert res.stderr.count("\n") == 1, res.stderr
    assert "--network pasta: pasta needs /dev/net/tun" in res.stderr, res.stderr
    assert rl.container_ids() == []


def _stop_pause(rl):
    """End the user's pause process (no container of the user may run), so
    that the next command starts a new one in its own mount namespace."""
    pid = rl.pause_pid()
    if pid and Path(f"/proc/{pid}/comm").exists() and \
            Path(f"/proc/{pid}/comm").read_text().strip() == "vessel-pause":
        os.kill(pid, signal.SIGTERM)
        helpers.wait_for(lambda: not helpers.pid_alive(pid), what="the pause process's end")


def test_rootless_pasta_publishes_a_port(rl, tmp_path):
    """-p through pasta answers on 127.0.0.1 of the network namespace the
    user ran vessel in (a test namespace with a veth pair for a route).

    The host's /dev/net/tun may be root's (0600): the test leaves it alone
    and binds a tun node of its own (10,200, mode 0666, in its temp dir)
    over /dev/net/tun in a private mount namespace, in which the user's
    commands run; the pause process, started there, holds a copy of it."""
    if shutil.which("pasta") is None:
        pytest.skip("pasta (Debian's passt) is not installed")
    if rl.ok("ps", "-q").strip():
        pytest.skip("a container of the user runs: the pause process cannot be restarted")
    tun = tmp_path / "tun"
    os.mknod(tun, stat.S_IFCHR | 0o666, os.makedev(10, 200))
    os.chmod(tun, 0o666)
    ns = "vsrl" + os.urandom(3).hex()
    subprocess.run(["ip", "netns", "add", ns], check=True)
    nsx = ["ip", "netns", "exec", ns]
    # ip netns exec gives a mount namespace of its own; unshare -m a private
    # one in it, where the test's tun node covers the host's.
    prefix = [*nsx, "unshare", "-m", "--propagation", "private", "sh", "-c",
              'mount --bind "$0" /dev/net/tun && exec "$@"', str(tun)]
    port = 18000 + int.from_bytes(os.urandom(2), "big") % 2000
    _stop_pause(rl)
    try:
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "link", "add", "va", "type", "veth", "peer", "name", "vb"],
                    ["ip", "addr", "add", "10.231.0.2/24", "dev", "va"],
                    ["ip", "link", "set", "va", "up"], ["ip", "link", "set", "vb", "up"],
                    ["ip", "route", "add", "default", "via", "10.231.0.1"]):
            subprocess.run(nsx + cmd, check=True)
        rl.ok("ps", prefix=prefix)
        # The pause process (which the monitor and pasta are started in)
        # sees the test's node; the host's is unchanged.
        pause = rl.pause_pid()
        st = os.stat(f"/proc/{pause}/root/dev/net/tun")
        assert stat.S_ISCHR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o666
        assert (os.major(st.st_rdev), os.minor(st.st_rdev)) == (10, 200)
        assert os.stat("/dev/net/tun").st_ino != st.st_ino

        def serve(name):
            rl.ok("run", "-d", "--name", name, "--network", "pasta", "-p",
                  f"127.0.0.1:{port}:80", "busybox", "sh", "-c",
                  f"mkdir /www && echo hello-{name} > /www/index.html && "
                  "exec httpd -f -p 80 -h /www", prefix=prefix)
            fetch = [*nsx, "python3", "-c",
                     "import urllib.request as u;"
                     f"print(u.urlopen('http://127.0.0.1:{port}/', timeout=2).read().decode())"]
            helpers.wait_for(lambda: subprocess.run(fetch, capture_output=True, text=True)
                             .stdout.strip() == f"hello-{name}", what="the published port")
            cid = rl.ok("inspect", "--format", "{{.Id}}", name, prefix=prefix).strip()
            pasta = int((rl.data_root / "containers" / cid / "pasta.pid").read_text())
            comm = Path(f"/proc/{pasta}/comm").read_text()
            assert comm.startswith(("pasta", "passt")), comm
            # pasta runs as the user, in the engine's user namespace.
            assert _proc_uids(pasta)[0] in (rl.uid, SUB_START + 65534 - 1), _proc_uids(pasta)
            return cid, pasta

        # stop, then rm: pasta ends with the container.
        _, pasta = serve("web")
        rl.ok("stop", "-t", "1", "web", prefix=prefix)
        helpers.wait_for(lambda: not helpers.pid_alive(pasta), what="pasta's end at stop")
        rl.ok("rm", "web", prefix=prefix)
        # kill -9 of the monitor: the container runs on; rm -f ends pasta.
        _, pasta = serve("web2")
        mon = json.loads(rl.ok("inspect", "web2", prefix=prefix))[0]["MonitorPid"]
        os.kill(mon, signal.SIGKILL)
        helpers.wait_for(lambda: not helpers.pid_alive(mon), what="the monitor's end")
        rl.ok("rm", "-f", "web2", prefix=prefix)
        helpers.wait_for(lambda: not helpers.pid_alive(pasta), what="pasta's end at rm -f")
        assert not any(rl.data_root.glob("containers/*/pasta.pid"))
    finally:
        rl.run("rm", "-f", "web", prefix=prefix)
        rl.run("rm", "-f", "web2", prefix=prefix)
        # The next test's commands start a pause process in the host's
        # mount namespace again.
        _stop_pause(rl)
        subprocess.run(["ip", "netns", "del", ns])


@pytest.mark.parametrize("flags,why", [
    (["--userns=auto"], "the rootless engine has one range of ids"),
    (["--uidmap", "0:1:70000"], "the rootless engine has ids 0-65536 only"),
    (["--userns=keep-id", "--uidmap", "0:1:1000"], "conflicts with --uidmap"),
    (["--userns=keep-id:uid=5"], "keep-id takes no options here"),
    (["--userns=keep-id", "-v", "/tmp:/t:idmap"], "idmap needs host root"),
])
def test_rootless_bad_mappings_refused_with_the_reason(rl, flags, why):
    res = rl.run("run", "--rm", *flags, "busybox", "true")
    assert res.returncode == 125
    assert res.stderr.count("\n") == 1, res.stderr
    assert why in res.stderr, res.stderr
    assert rl.container_ids() == []


def test_rootless_keep_id_is_you_inside(rl):
    """--userns=keep-id: the process runs as the user's own uid and gid,
    with its name (an /etc/passwd entry added) and home; the map puts
    the user's id at the engine's 0 (the user on the host) and the image's
    root at the first subordinate id; image files keep their owners."""
    out = rl.ok("run", "--rm", "--userns=keep-id", "busybox", "sh", "-c",
                "id; echo HOME=$HOME; cat /proc/self/uid_map; stat -c '%u:%g %U' /bin /bin/sh; "
                "grep -c . /etc/passwd; touch /bin/x; echo w=$?")
    lines = out.splitlines()
    grp_name = grp.getgrgid(rl.gid).gr_name
    assert lines[0].startswith(f"uid={rl.uid}({rl.name}) gid={rl.gid}({grp_name})"), out
    assert lines[1] == f"HOME={rl.home}", out
    maps = [ln.split() for ln in lines[2:5]]
    assert maps == [["0", "1", str(rl.uid)], [str(rl.uid), "0", "1"],
                    [str(rl.uid + 1), str(rl.uid + 1), str(SUB_SIZE - rl.uid)]], out
    # image root's files are root's inside, and not the user's to change
    assert lines[5:7] == ["0:0 root", "0:0 root"], out
    assert "w=1" in out, out
    # -u still wins
    assert rl.ok("run", "--rm", "--userns=keep-id", "-u", "0", "busybox", "id", "-u") == "0\n"
    # On the host: the container's root is the first subordinate id, the
    # user is the user.
    rl.ok("run", "-d", "--name", "kid", "--userns=keep-id", "busybox", "sleep", "300")
    try:
        assert _status_uids(_ctr_pid(rl, "kid")) == [rl.uid] * 4
        assert rl.ok("exec", "kid", "id", "-u") == f"{rl.uid}\n"
        assert rl.ok("exec", "-u", "0", "kid", "id", "-u") == "0\n"
        assert rl.ok("inspect", "--format", "{{.HostConfig.UsernsMode}}", "kid") == "keep-id\n"
    finally:
        rl.run("rm", "-f", "kid")
    assert rl.container_ids() == []


def test_rootless_keep_id_files_in_a_bound_dir_are_yours(rl):
    """A host directory of the user's, bound in: the user's files are the
    user's inside, what the container's user writes is the user's on the
    host, what its root writes the first subordinate id's."""
    d = rl.top / "kidvol"
    d.mkdir()
    (d / "mine").write_text("mine\n")
    for p in (d, d / "mine"):
        os.chown(p, rl.uid, rl.gid)
    out = rl.ok("run", "--rm", "--userns=keep-id", "-v", f"{d}:/d", "busybox", "sh", "-c",
                "stat -c '%u:%g' /d/mine; echo more >> /d/mine && touch /d/new && echo ok")
    assert out == f"{rl.uid}:{rl.gid}\nok\n", out
    st = (d / "new").stat()
    assert (st.st_uid, st.st_gid) == (rl.uid, rl.gid)
    assert (d / "mine").read_text() == "mine\nmore\n"
    rl.ok("run", "--rm", "--userns=keep-id", "-u", "0", "-v", f"{d}:/d", "busybox",
          "touch", "/d/by-root")
    st = (d / "by-root").stat()
    assert (st.st_uid, st.st_gid) == (SUB_START, SUB_START)


def test_rootless_uidmap_maps_the_engines_ids(rl):
    """--uidmap in the rootless engine: host ids are the engine's (0 is the
    user, 1.. its subordinate ids), as podman has them; the image is seen
    with its owners through the map."""
    d = rl.top / "mapvol"
    d.mkdir()
    os.chown(d, rl.uid, rl.gid)
    os.chmod(d, 0o777)
    out = rl.ok("run", "--rm", "--uidmap", "0:1:65536", "-v", f"{d}:/d", "busybox", "sh", "-c",
                "cat /proc/self/uid_map /proc/self/gid_map; stat -c '%u:%g' /bin/sh; id -u; "
                "touch /d/by-root")
    lines = out.splitlines()
    assert [ln.split() for ln in lines[:2]] == [["0", "1", "65536"]] * 2, out
    assert lines[2:] == ["0:0", "0"], out
    st = (d / "by-root").stat()
    assert (st.st_uid, st.st_gid) == (SUB_START, SUB_START)


def test_rootless_keep_id_file_capabilities_hold(rl):
    """A file capability of the image (cap_net_raw+ep on a copy of busybox)
    holds for the keep-id container's user: the shifted copy keeps it (its
    root id is the engine root's, an ancestor namespace's root, which the
    kernel honours in the container's namespace)."""
    for tool in ("setcap", "tar"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is needed for the test image")
    if not Path("/bin/busybox").is_file():
        pytest.skip("the host's static /bin/busybox is needed for the test image")
    img = rl.home / "capimg"
    (img / "bin").mkdir(parents=True)
    shutil.copy2("/bin/busybox", img / "bin" / "busybox")
    subprocess.run(["setcap", "cap_net_raw+ep", img / "bin" / "busybox"], check=True)
    tar = rl.home / "cap.tar"
    subprocess.run(["tar", "--xattrs", "--xattrs-include=security.capability", "-C", img,
                    "--numeric-owner", "--owner=0", "--group=0", "-cf", tar, "."], check=True)
    os.chown(tar, rl.uid, rl.gid)
    rl.ok("import", tar, "capimg:1")
    try:
        out = rl.ok("run", "--rm", "--userns=keep-id", "capimg:1", "/bin/busybox", "sh", "-c",
                    "/bin/busybox id -u; /bin/busybox grep CapEff /proc/self/status")
        assert out.split() == [str(rl.uid), "CapEff:", "0000000000002000"], out
    finally:
        rl.ok("rmi", "capimg:1")


def _shifted(rl):
    """{map dir name: sorted entries} of the store's shifted copies."""
    top = rl.data_root / "shifted"
    if not top.is_dir():
        return {}
    return {d.name: sorted(p.name for p in d.iterdir()) for d in top.iterdir() if d.is_dir()}


def _layer_hexes(rl, ref):
    out = rl.ok("image", "inspect", "--format", "{{json .RootFS.Layers}}", ref)
    return [x.split(":", 1)[1] for x in json.loads(out)]


def _count_files(path):
    return sum(len(dirs) + len(files) for _, dirs, files in os.walk(path))


def _import_many(rl, name, dirs, files, size):
    """Imports an image of the host's static busybox (as /bin/true, /bin/cat)
    and dirs x files files of size random bytes: its layer's hex."""
    img = rl.home / name
    (img / "bin").mkdir(parents=True)
    shutil.copy2("/bin/busybox", img / "bin" / "busybox")
    for tool in ("true", "cat"):
        os.symlink("busybox", img / "bin" / tool)
    for k in range(dirs):
        (img / f"d{k}").mkdir()
        for i in range(files):
            (img / f"d{k}" / f"f{i}").write_text(f"{k}/{i}".ljust(size, "."))
    tar = rl.home / f"{name}.tar"
    subprocess.run(["tar", "-C", img, "--numeric-owner", "--owner=0", "--group=0", "-cf", tar,
                    "."], check=True)
    os.chown(tar, rl.uid, rl.gid)
    rl.ok("import", tar, f"{name}:1")
    return _layer_hexes(rl, f"{name}:1")[0]


def test_rootless_keep_id_commit_keeps_the_container_ids(rl):
    """What a keep-id container changes is stored with the engine's ids for
    the container's; a commit turns them back: the user's file is the
    user's uid in the image, root's file root's."""
    rl.ok("run", "--name", "kc", "--userns=keep-id", "busybox", "sh", "-c",
          "touch /tmp/mine && mkdir /tmp/d && echo x > /tmp/d/f")
    try:
        rl.ok("commit", "kc", "kcimg:1")
        tar = rl.home / "kc.tar"
        rl.ok("export", "-o", tar, "kc")
        with tarfile.open(tar) as t:
            owners = {m.name.rstrip("/"): (m.uid, m.gid) for m in t.getmembers()}
        assert owners["tmp/mine"] == (rl.uid, rl.gid), owners["tmp/mine"]
        assert owners["bin/sh"] == (0, 0) and owners["tmp"] == (0, 0)
    finally:
        rl.run("rm", "-f", "kc")
    rl.ok("run", "--name", "kr", "--userns=keep-id", "-u", "0", "busybox", "sh", "-c",
          "touch /rootfile && rm /bin/vi")
    try:
        rl.ok("commit", "kr", "krimg:1")
    finally:
        rl.run("rm", "-f", "kr")
    out = rl.ok("run", "--rm", "kcimg:1", "stat", "-c", "%n %u:%g", "/tmp/mine", "/tmp/d/f",
                "/bin/sh", "/tmp")
    assert out.splitlines() == [f"/tmp/mine {rl.uid}:{rl.gid}", f"/tmp/d/f {rl.uid}:{rl.gid}",
                                "/bin/sh 0:0", "/tmp 0:0"], out
    out = rl.ok("run", "--rm", "krimg:1", "sh", "-c",
                "stat -c '%u:%g' /rootfile; test -e /bin/vi; echo vi=$?")
    assert out == "0:0\nvi=1\n", out
    # the commit's whiteout, in a shifted copy, still deletes
    out = rl.ok("run", "--rm", "--userns=keep-id", "krimg:1", "sh", "-c",
                "test -e /bin/vi; echo vi=$?; stat -c %u /rootfile")
    assert out == "vi=1\n0\n", out
    # and the same image seen by a keep-id container again
    out = rl.ok("run", "--rm", "--userns=keep-id", "kcimg:1", "stat", "-c", "%u %U", "/tmp/mine")
    assert out == f"{rl.uid} {rl.name}\n", out
    rl.ok("rmi", "kcimg:1", "krimg:1")
    assert not [p for p in rl.data_root.glob("containers/*/commit-upper")]


def test_rootless_keep_id_copies_are_cached_and_go_with_the_image(rl):
    """The shifted copies: made once per map (a second container reuses
    them), never left half made, removed with the image's layers."""
    if not Path("/bin/busybox").is_file():
        pytest.skip("the host's static /bin/busybox is needed for the test image")
    hexes = [_import_many(rl, "many", 1, 300, 8)]
    before = _shifted(rl)
    rl.ok("run", "--rm", "--userns=keep-id", "many:1", "true")
    after = _shifted(rl)
    # one map for every keep-id container of the user (an earlier test's
    # --uidmap has another)
    kid = [m for m, entries in after.items() if hexes[0] in entries]
    assert len(kid) == 1, after
    maps, entries = kid[0], after[kid[0]]
    assert set(after) - set(before) <= {maps}, (before, after)
    assert not [e for e in entries if e.endswith(".tmp")], entries
    copy = rl.data_root / "shifted" / maps / hexes[0]
    assert _count_files(copy) == _count_files(rl.data_root / "layers" / hexes[0])
    # the copy's owners: image root is the first subordinate id, as the
    # engine's namespace writes it on the host
    assert (copy / "d0" / "f1").stat().st_uid == SUB_START
    inode = (copy / "d0" / "f1").stat().st_ino
    rl.ok("run", "--rm", "--userns=keep-id", "many:1", "true")
    assert (copy / "d0" / "f1").stat().st_ino == inode, "the copy was made again"
    assert "uid 0:1:" in (rl.data_root / "shifted" / maps / "map").read_text()
    rl.ok("rmi", "many:1")
    assert not (rl.data_root / "shifted" / maps / hexes[0]).exists()
    # the map's copies of other images (busybox's, when an earlier test
    # made them) stay; a map without copies goes
    others = [e for e in entries if e not in hexes and e != "map"]
    left = _shifted(rl)
    assert [e for e in left.get(maps, []) if e != "map"] == others, left
    assert (maps in left) == bool(others), left
    assert set(before) <= set(left), (before, left)


def _pids_with_fd_under(path):
    """Processes with an open fd on path or below it (the copier holds its
    destination's top directory open)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{d}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{d}/fd/{fd}")
            except OSError:
                continue
            if target == str(path) or target.startswith(str(path) + "/"):
                out.append(int(d))
                break
    return out


def test_rootless_keep_id_kill_9_mid_copy_leaves_no_partial_copy(rl):
    """kill -9 of the process copying the layers (the container's monitor,
    and the run command with it): no copy is ever at its final name half
    made; the next start removes the partial one and makes it whole."""
    if not Path("/bin/busybox").is_file():
        pytest.skip("the host's static /bin/busybox is needed for the test image")
    hexes = [_import_many(rl, "big", 12, 300, 64)]
    layer = rl.data_root / "layers" / hexes[0]
    want = _count_files(layer)
    try:
        killed = False
        for attempt in range(5):
            p = subprocess.Popen(
                ["setpriv", "--reuid", str(rl.uid), "--regid", str(rl.gid), "--init-groups",
                 str(rl.binary), "run", "--rm", "--name", "k9", "--userns=keep-id", "big:1",
                 "true"], env=rl.env(), cwd=str(rl.home), stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            tmp = None
            deadline = time.monotonic() + 30
            while tmp is None and p.poll() is None and time.monotonic() < deadline:
                tmp = next(iter(rl.data_root.glob(f"shifted/*/{hexes[0]}.tmp")), None)
                if tmp is not None and _count_files(tmp) < 200:
                    tmp = None
            copiers = _pids_with_fd_under(tmp) if tmp is not None else []
            if copiers:
                # the copier (the container's monitor) and the run command
                for pid in copiers:
                    os.kill(pid, signal.SIGKILL)
                p.kill()
                p.wait()
                helpers.wait_for(lambda: not [c for c in copiers if helpers.pid_alive(c)],
                                 what="the copier's end")
                killed = True
                break
            p.wait()
            rl.run("rm", "-f", "k9")
            # made whole before we could see it: start again from nothing
            for d in rl.data_root.glob(f"shifted/*/{hexes[0]}"):
                rl.ok("unshare", "rm", "-rf", d)
        if not killed:
            pytest.skip("the copy finished before a partial one was seen, 5 times")
        partial = list(rl.data_root.glob(f"shifted/*/{hexes[0]}.tmp"))
        assert partial, "the kill left the partial copy where the next start finds it"
        assert _count_files(partial[0]) < want
        assert not list(rl.data_root.glob(f"shifted/*/{hexes[0]}")), "a half copy at its name"
        rl.run("rm", "-f", "k9")
        out = rl.ok("run", "--rm", "--userns=keep-id", "big:1", "cat", "/d11/f299", timeout=300)
        assert out == "11/299".ljust(64, "."), out
        assert not list(rl.data_root.glob(f"shifted/*/{hexes[0]}.tmp"))
        whole = list(rl.data_root.glob(f"shifted/*/{hexes[0]}"))
        assert len(whole) == 1 and _count_files(whole[0]) == want
    finally:
        rl.run("rm", "-f", "k9")
        rl.ok("rmi", "big:1", timeout=300)  # minutes at a load of 80 on 2 cores
    assert not list(rl.data_root.glob(f"shifted/*/{hexes[0]}*"))
    assert rl.container_ids() == []


def test_rootless_push_and_pull(rl, tmp_path):
    """push and pull against docker-registry on 127.0.0.1 (as
    test_registry.py does), from the user's namespaces."""
    from test_registry import Registry
    reg = Registry(tmp_path, "reg")
    try:
        ref = f"{reg.host}/rl/busybox:1"
        rl.ok("tag", "busybox", ref)
        rl.ok("push", ref)
        rl.ok("rmi", ref)
        assert ref not in rl.ok("images", "--format", "{{.Repository}}:{{.Tag}}")
        rl.ok("pull", ref)
        assert rl.ok("run", "--rm", ref, "echo", "pulled") == "pulled\n"
        rl.ok("rmi", ref)
    finally:
        reg.stop()


def test_rootless_build(rl):
    ctx = rl.home / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        'FROM busybox\nRUN echo built > /built && rm /bin/vi\nCMD ["cat", "/built"]\n')
    os.chown(ctx, rl.uid, rl.gid)
    os.chown(ctx / "Dockerfile", rl.uid, rl.gid)
    rl.ok("build", "-t", "built:1", ctx)
    assert rl.ok("run", "--rm", "built:1") == "built\n"
    assert "vi=1" in rl.ok("run", "--rm", "built:1", "sh", "-c", "test -e /bin/vi; echo vi=$?")
    rl.ok("rmi", "built:1")


def test_rootless_image_cannot_set_overlay_xattrs(rl):
    """An image's tar entry with user.overlay.* xattrs (what the rootless
    engine's overlay reads, with userxattr) is unpacked without them; other
    user xattrs are kept."""
    tar = rl.home / "x.tar"
    with tarfile.open(tar, "w", format=tarfile.PAX_FORMAT) as t:
        d = tarfile.TarInfo("steer")
        d.type, d.mode = tarfile.DIRTYPE, 0o755
        d.pax_headers = {"SCHILY.xattr.user.overlay.opaque": "y",
                         "SCHILY.xattr.user.overlay.redirect": "/etc",
                         "SCHILY.xattr.user.kept": "v"}
        t.addfile(d)
    os.chown(tar, rl.uid, rl.gid)
    rl.ok("import", tar, "steer:1")
    try:
        found = list(rl.data_root.glob("layers/**/steer"))
        assert found, "the unpacked layer's directory"
        names = set(os.listxattr(found[0]))
        assert "user.kept" in names, names
        assert not {n for n in names if n.startswith("user.overlay.")}, names
    finally:
        rl.ok("rmi", "steer:1")
