"""Pure helpers for the integration tests: mountinfo parsing, capability
masks, /proc scans, waiting, and a console-socket server. No fixtures here
(those live in conftest.py)."""

import json
import os
import re
import select
import socket
import threading
import time
import uuid
from pathlib import Path

# --------------------------------------------------------------------------
# waiting


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    """Polls predicate() until it returns a truthy value; returns it.
    Raises AssertionError naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def wait_for_text(path, text, timeout=10.0):
    """Waits until the file at path contains text; returns the content."""

    def check():
        try:
            content = Path(path).read_text(errors="replace")
        except FileNotFoundError:
            return None
        return content if text in content else None

    try:
        return wait_for(check, timeout, what=f"{text!r} in {path}")
    except AssertionError:
        try:
            content = Path(path).read_text(errors="replace")
        except FileNotFoundError:
            content = "<missing>"
        raise AssertionError(
            f"timed out after {timeout}s waiting for {text!r} in {path}; content: {content!r}"
        ) from None


# --------------------------------------------------------------------------
# mountinfo

_OCTAL = re.compile(r"\\([0-7]{3})")


def _unescape(s):
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), s)


class MountEntry:
    def __init__(self, line):
        self.line = line
        pre, _, post = line.partition(" - ")
        fields = pre.split()
        self.mount_id = int(fields[0])
        self.parent_id = int(fields[1])
        self.majmin = fields[2]
        self.root = _unescape(fields[3])
        self.mountpoint = _unescape(fields[4])
        self.options = set(fields[5].split(","))
        self.optional = fields[6:]
        post_fields = post.split()
        self.fstype = post_fields[0] if post_fields else ""
        self.source = _unescape(post_fields[1]) if len(post_fields) > 1 else ""
        self.super_options = set(post_fields[2].split(",")) if len(post_fields) > 2 else set()

    @property
    def shared(self):
        return any(o.startswith("shared:") for o in self.optional)

    @property
    def slave(self):
        return any(o.startswith("master:") for o in self.optional)

    @property
    def private(self):
        return not self.shared and not self.slave and "unbindable" not in self.optional

    def __repr__(self):
        return f"MountEntry({self.line!r})"


def parse_mountinfo(text):
    return [MountEntry(line) for line in text.splitlines() if " - " in line]


def mount_at(text_or_entries, mountpoint):
    """The top-most mount at mountpoint (the last entry listed), or None."""
    entries = (
        parse_mountinfo(text_or_entries) if isinstance(text_or_entries, str) else text_or_entries
    )
    found = [e for e in entries if e.mountpoint == mountpoint]
    return found[-1] if found else None


def host_mount_lines(substring):
    """Lines of the test process's own mountinfo mentioning substring."""
    with open("/proc/self/mountinfo") as f:
        return [line.rstrip("\n") for line in f if str(substring) in line]


# --------------------------------------------------------------------------
# capabilities

CAP_NAMES = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
]


def decode_caps(hexmask):
    value = int(hexmask, 16)
    names = set()
    for bit in range(64):
        if value & (1 << bit):
            names.add(CAP_NAMES[bit] if bit < len(CAP_NAMES) else f"CAP_{bit}")
    return names


def parse_status(text):
    """/proc/<pid>/status text -> {key: value}."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def status_caps(text):
    st = parse_status(text)
    return {k: decode_caps(st[k]) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}


# --------------------------------------------------------------------------
# processes


def _proc_pids():
    for name in os.listdir("/proc"):
        if name.isdigit():
            yield int(name)


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rindex(")") + 2 :].split()[0]


def pid_alive(pid):
    """True when pid exists and is not a zombie."""
    st = proc_state(pid)
    return st is not None and st not in ("Z", "X")


SAFE_MARKER = re.compile(r"^[a-z]{1,8}[0-9a-f]{12}$")


def _ancestors():
    out = set()
    pid = os.getpid()
    while pid > 1:
        out.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                data = f.read()
            pid = int(data[data.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            break
    out.add(1)
    return out


def leftover_processes(rootfs_paths=(), markers=()):
    """Live (non-zombie) processes whose root or cwd is one of the rootfs
    directories (compared by device+inode, so pivoted roots count too) or a
    host path under them, or with a command-line argument exactly equal to
    one of the markers (unique container ids made by new_id(); anything else
    is ignored so that no unrelated process can ever match). Never this
    process or its ancestors."""
    markers = {m for m in markers if SAFE_MARKER.match(m)}
    roots = []
    for p in rootfs_paths:
        try:
            st = os.stat(p)
            roots.append((Path(p), (st.st_dev, st.st_ino)))
        except OSError:
            pass
    excluded = _ancestors()
    found = []
    for pid in _proc_pids():
        if pid in excluded or not pid_alive(pid):
            continue
        hit = None
        for link in ("root", "cwd"):
            try:
                st = os.stat(f"/proc/{pid}/{link}")
                target = os.readlink(f"/proc/{pid}/{link}")
            except OSError:
                continue
            for path, key in roots:
                if (st.st_dev, st.st_ino) == key or target == str(path) or target.startswith(
                    str(path) + "/"
                ):
                    hit = f"{link}={target}"
        if hit is None and markers:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().decode(errors="replace").split("\0")
            except OSError:
                argv = []
            if markers.intersection(argv):
                hit = "cmdline=" + " ".join(argv).strip()
        if hit is not None and pid_alive(pid):
            try:
                comm = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                comm = "?"
            found.append((pid, comm, hit))
    return found


def cgroup_mountpoints():
    with open("/proc/self/mountinfo") as f:
        return [e.mountpoint for e in parse_mountinfo(f.read()) if e.fstype in ("cgroup", "cgroup2")]


def leftover_cgroups(ids):
    """Directories named vessel-<id> (vessel's default cgroup name) beneath
    this process's own cgroup or the root, in every cgroup hierarchy."""
    ids = [i for i in ids if SAFE_MARKER.match(i)]
    if not ids:
        return []
    with open("/proc/self/cgroup") as f:
        own = {line.rstrip("\n").split(":", 2)[2] for line in f if line.count(":") >= 2}
    own.add("/")
    found = []
    for mp in cgroup_mountpoints():
        for base in own:
            for i in ids:
                d = os.path.normpath(f"{mp}/{base}/vessel-{i}")
                if os.path.isdir(d) and d not in found:
                    found.append(d)
    return found


def ns_id(pid, ns):
    """'net:[4026531840]' for /proc/<pid>/ns/<ns>; pid may be 'self'."""
    return os.readlink(f"/proc/{pid}/ns/{ns}")


def ns_inode(link_text):
    m = re.search(r"\[(\d+)\]", link_text)
    assert m, f"not a namespace link: {link_text!r}"
    return int(m.group(1))


# --------------------------------------------------------------------------
# console socket


class ConsoleServer:
    """AF_UNIX server for --console-socket: receives the pty master (SCM_RIGHTS)
    and collects everything read from it."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.master = None
        self.error = None
        self.data = bytearray()
        self.lock = threading.Lock()
        self.got_fd = threading.Event()
        self.finished = threading.Event()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            self.sock.settimeout(30)
            conn, _ = self.sock.accept()
            with conn:
                conn.settimeout(30)
                _msg, fds, _flags, _addr = socket.recv_fds(conn, 4096, 4)
            if not fds:
                self.error = "no fd received on the console socket"
                return
            self.master = fds[0]
            for extra in fds[1:]:
                os.close(extra)
            self.got_fd.set()
            while True:
                ready, _, _ = select.select([self.master], [], [], 0.1)
                if not ready:
                    if self._stop.is_set():
                        break
                    continue
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # EIO: every slave fd closed
                    break
                if not chunk:
                    break
                with self.lock:
                    self.data += chunk
        except Exception as e:  # reported by the test through .error
            self.error = repr(e)
        finally:
            self.got_fd.set()
            self.finished.set()

    def write(self, data):
        assert self.got_fd.wait(15), "console master never received"
        assert self.master is not None, f"console socket: {self.error}"
        os.write(self.master, data)

    def text(self):
        with self.lock:
            return self.data.decode(errors="replace").replace("\r\n", "\n")

    def wait_text(self, text, timeout=10):
        return wait_for(lambda: text in self.text(), timeout, what=f"{text!r} on the pty master")

    def close(self, drain_timeout=1.0):
        """Stops reading once no data arrived for a moment; closes everything."""
        self._stop.set()
        self.finished.wait(drain_timeout + 5)
        try:
            self.sock.close()
        except OSError:
            pass
        if self.master is not None:
            try:
                os.close(self.master)
            except OSError:
                pass
            self.master = None


def load_json(text, what="output"):
    try:
        return json.loads(text)
    except ValueError as e:
        raise AssertionError(f"{what} is not JSON ({e}): {text!r}") from None


def new_id(prefix="t"):
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def assert_error(res, *mentions, status=None):
    """A clean failure: non-zero exit (or exactly `status`), and a single
    "vessel..." error line on stderr mentioning every string in mentions
    (case-insensitive)."""
    assert res.returncode != 0, f"expected a failure:\n{res.describe()}"
    if status is not None:
        assert res.returncode == status, f"expected exit status {status}:\n{res.describe()}"
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert lines, f"no error message on stderr:\n{res.describe()}"
    assert lines[0].startswith("vessel"), f"error line does not start with 'vessel':\n{res.describe()}"
    text = res.stderr.lower()
    for m in mentions:
        assert str(m).lower() in text, f"error message does not mention {m!r}:\n{res.describe()}"


def assert_one_error_line(res):
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected exactly one error line on stderr:\n{res.describe()}"
    assert lines[0].startswith("vessel: "), f"expected 'vessel: <message>':\n{res.describe()}"
