"""Security invariants: no leaked fds, cwd confined to the root, the host's
vessel binary unreachable and never the container's /proc/self/exe,
symlinked mount targets and /dev confined to the root, masked and read-only
paths, no CAP_SYS_ADMIN by default."""

import os
import shutil

import pytest

from helpers import mount_at, wait_for_text

# Walks up from the cwd until '..' is '.', then prints that directory's and
# the root's dev:inode: they differ when the cwd is outside the root.
CWD_TOP = (
    'while [ "$(stat -c %d:%i .)" != "$(stat -c %d:%i ..)" ]; do cd .. || break; done; '
    "stat -c %d:%i . /"
)


def _extra_fds(tmp_path):
    secret = open(tmp_path / "secret-file", "w")
    r, w = os.pipe()
    dirfd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    os.dup2(dirfd, 42)
    fds = [secret.fileno(), r, w, dirfd, 42]
    for fd in fds:
        os.set_inheritable(fd, True)

    def close():
        secret.close()
        for fd in (r, w, dirfd, 42):
            os.close(fd)

    return fds, close


def test_no_fd_leak_into_container_run(vessel, bundle, tmp_path):
    fds, close = _extra_fds(tmp_path)
    try:
        # (not last: busybox sh would exec the last command in place of pid 1)
        b = bundle("sh", "-c", "ls /proc/self/fd; echo ---; ls /proc/1/fd; echo end")
        res = vessel.run(b, pass_fds=fds)
    finally:
        close()
    assert res.returncode == 0, res.describe()
    own, _, init = res.stdout.replace("end\n", "").partition("---\n")
    # 3 is ls's own directory fd
    assert sorted(map(int, own.split())) == [0, 1, 2, 3], f"fds inside: {own.split()}"
    assert sorted(map(int, init.split())) == [0, 1, 2], f"init's fds: {init.split()}"


def test_no_fd_leak_into_container_create_start(vessel, bundle, cid, tmp_path):
    fds, close = _extra_fds(tmp_path)
    try:
        b = bundle("sh", "-c", "ls /proc/1/fd; echo end")
        res = vessel.create_ok(b, cid, pass_fds=fds)
        vessel.start_ok(cid, pass_fds=fds)
    finally:
        close()
    vessel.wait_status(cid, "stopped")
    out = wait_for_text(res.out_path, "end")
    assert sorted(map(int, out.split()[:-1])) == [0, 1, 2], f"init's fds: {out!r}"


def test_cwd_through_leaked_fd_cannot_escape(vessel, bundle, tmp_path):
    """CVE-2024-21626: cwd /proc/self/fd/N must never leave the container
    on a host directory, whatever fd the runtime itself had open."""
    dirfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    os.dup2(dirfd, 42)
    os.set_inheritable(42, True)
    try:
        for n in list(range(3, 21)) + [42]:
            b = bundle("sh", "-c", CWD_TOP, name=f"fdcwd{n}")
            b.process["cwd"] = f"/proc/self/fd/{n}"
            res = vessel.run(b, pass_fds=(42,))
            if res.returncode != 0:
                assert res.stderr.startswith("vessel"), res.describe()
                continue
            top, root = res.stdout.split()
            assert top == root, f"cwd /proc/self/fd/{n} escaped the root:\n{res.describe()}"
    finally:
        os.close(dirfd)
        os.close(42)


def test_cwd_is_inside_root(vessel, bundle):
    b = bundle("sh", "-c", CWD_TOP)
    b.process["cwd"] = "/tmp"
    top, root = vessel.run_ok(b).split()
    assert top == root


def test_proc_self_exe_is_container_binary(vessel, bundle, vessel_bin):
    b = bundle("sh", "-c", "readlink /proc/self/exe; readlink /proc/1/exe")
    assert vessel.run_ok(b).split() == ["/bin/busybox", "/bin/busybox"]


def _sha256(path):
    import hashlib

    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _self_exe_script(b):
    """CVE-2019-5736: an image program that is a "#!/proc/self/exe" script
    makes the kernel run whatever the exec'ing process is: if that were the
    runtime's binary, the container would run (and could then rewrite) it."""
    evil = b.rootfs / "bin" / "evil"
    evil.write_text("#!/proc/self/exe\n")
    evil.chmod(0o755)


def test_self_exe_script_does_not_run_the_runtime(vessel, bundle, vessel_bin):
    b = bundle("/bin/evil", private=True)
    _self_exe_script(b)
    before = _sha256(os.path.realpath(vessel_bin))
    res = vessel.run(b)
    # The process before the user's is the sealed exec stub, which refuses
    # to run as an interpreter (126) and never reaches vessel's code.
    assert res.returncode == 126, res.describe()
    assert "Usage" not in res.stdout + res.stderr, res.describe()
    assert _sha256(os.path.realpath(vessel_bin)) == before


def test_self_exe_script_through_exec_does_not_run_the_runtime(vessel, bundle, cid, vessel_bin):
    b = bundle("sleep", "30", private=True)
    _self_exe_script(b)
    before = _sha256(os.path.realpath(vessel_bin))
    vessel.run_detached(b, cid)
    res = vessel("exec", cid, "/bin/evil")
    assert res.returncode == 126, res.describe()
    assert _sha256(os.path.realpath(vessel_bin)) == before


def test_user_process_exe_is_its_own_binary_not_a_runtime(vessel, bundle):
    # What the user process's /proc/self/exe names: its own program.
    out = vessel.run_ok(bundle("readlink", "/proc/self/exe"))
    assert out.strip() == "/bin/busybox", out


# A container process with CAP_SYS_PTRACE (root without a user namespace)
# passes the ptrace check of /proc/PID/exe even for a non-dumpable process.
# It polls the container's /proc for any process whose exe is the host's
# vessel binary (argv[1]:argv[2], dev:inode), reports each as SAW, keeps the
# first one open and reopens it for writing as soon as no process executes
# it (CVE-2019-5736), reporting WROTE. It stops when /stop appears (after one scan at least).
ATTACK_C = r"""
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        dev_t dev = strtoull(argv[1], NULL, 10);
        ino_t ino = strtoull(argv[2], NULL, 10);
        int self = getpid(), held = -1, wrote = 0;
        printf("ready\n");
        fflush(stdout);
        do {
                DIR *d = opendir("/proc");
                struct dirent *e;
                while (d && (e = readdir(d))) {
                        int pid = atoi(e->d_name);
                        if (pid <= 0 || pid == self)
                                continue;
                        char path[64];
                        snprintf(path, sizeof(path), "/proc/%d/exe", pid);
                        int fd = open(path, O_PATH);
                        struct stat st;
                        if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino) {
                                printf("SAW %d\n", pid);
                                fflush(stdout);
                                if (held < 0) {
                                        held = fd;
                                        continue;
                                }
                        }
                        if (fd >= 0)
                                close(fd);
                }
                if (d)
                        closedir(d);
                if (held >= 0 && !wrote) {
                        char path[64];
                        snprintf(path, sizeof(path), "/proc/self/fd/%d", held);
                        int w = open(path, O_WRONLY);
                        if (w >= 0 && pwrite(w, "PWNED", 5, 0) == 5) {
                                wrote = 1;
                                printf("WROTE\n");
                                fflush(stdout);
                        }
                        if (w >= 0)
                                close(w);
                }
        } while (access("/stop", F_OK) != 0);
        printf("done\n");
        return 0;
}
"""


def _static_program(tmp_path, source, dest):
    import subprocess

    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler to build the in-container attack program")
    src = tmp_path / "attack.c"
    src.write_text(source)
    res = subprocess.run([cc, "-static", "-O2", "-o", str(dest), str(src)],
                         capture_output=True, text=True)
    if res.returncode != 0 and "cannot find" in res.stderr:
        pytest.skip(f"cannot link a static program: {res.stderr.strip()}")
    assert res.returncode == 0, res.stderr


def test_exec_never_shows_the_host_binary_to_the_container(vessel, bundle, cid, vessel_bin,
                                                           tmp_path):
    """CVE-2019-5736 through exec: no process in the container's pid
    namespace may ever have the host's vessel binary as its exe, even for a
    moment while exec joins the container, where a container with
    CAP_SYS_PTRACE could open it and overwrite it once vessel exits."""
    # Attack a private copy: the test must not break the suite's binary.
    binary = tmp_path / "vessel-under-attack"
    shutil.copy2(vessel_bin, binary)
    vessel.binary = str(binary)
    before = _sha256(binary)
    st = os.stat(binary)
    b = bundle("/bin/attack", str(st.st_dev), str(st.st_ino), private=True)
    _static_program(tmp_path, ATTACK_C, b.rootfs / "bin" / "attack")
    caps = b.process["capabilities"]
    for kind in ("bounding", "effective", "permitted"):
        caps[kind] = sorted(set(caps.get(kind, [])) | {"CAP_SYS_PTRACE"})
    b.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                          "syscalls": [{"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
    res = vessel.create_ok(b, cid)
    vessel.start_ok(cid)
    wait_for_text(res.out_path, "ready")
    # Every way into the container: plain, as another user, with the
    # filter installed late (no_new_privs), in another directory.
    try:
        for i in range(60):
            extra = [(), ("--user", "1000"), ("--no-new-privs",), ("--cwd", "/tmp")][i % 4]
            try:
                r = vessel("exec", *extra, cid, "true")
            except OSError as e:  # the attack succeeded: the copy is no ELF any more
                print(f"exec {i}: {e}")
                break
            assert r.returncode == 0, r.describe()
    finally:
        (b.rootfs / "stop").write_text("")
        vessel.binary = str(vessel_bin)  # intact, for the cleanup
    vessel.wait_status(cid, "stopped", timeout=20)
    out = open(res.out_path).read()
    assert "done" in out, out
    assert "SAW" not in out, f"a container process had the host binary as exe:\n{out}"
    assert "WROTE" not in out and _sha256(binary) == before, "the host binary was overwritten"


def test_waiting_init_is_the_sealed_stub(vessel, bundle, cid, vessel_bin, tmp_path):
    """A created container's init waits for `start` in the sealed exec stub,
    not in vessel's code: a process exec'd into the container, even with
    CAP_SYS_PTRACE, finds no process whose exe is the host binary, and
    cannot write the stub it finds instead; without it, it cannot reach the
    stub's fds."""
    st = os.stat(vessel_bin)
    b = bundle("true", private=True)
    _static_program(tmp_path, ATTACK_C, b.rootfs / "bin" / "attack")
    (b.rootfs / "stop").write_text("")  # one scan of /proc, then stop
    vessel.create_ok(b, cid)
    res = vessel("exec", "--cap", "CAP_SYS_PTRACE", cid, "/bin/attack", str(st.st_dev),
                 str(st.st_ino))
    assert res.returncode == 0 and "done" in res.stdout, res.describe()
    assert "SAW" not in res.stdout, res.describe()
    res = vessel("exec", "--cap", "CAP_SYS_PTRACE", cid, "sh", "-c",
                 "wc -c < /proc/1/exe; echo x >> /proc/1/exe && echo WROTE; echo end")
    assert "end" in res.stdout and "WROTE" not in res.stdout, res.describe()
    assert int(res.stdout.split()[0]) < st.st_size // 10, res.describe()
    # Without CAP_SYS_PTRACE its fds (one is the host's procfs, kept to open
    # the exec fifo) are out of reach: the stub is not dumpable.
    res = vessel("exec", cid, "sh", "-c",
                 "n=0; for f in /proc/1/fd/*; do n=$((n+1)); readlink $f && echo READ; done; "
                 "echo seen=$n")
    assert "READ" not in res.stdout, res.describe()
    assert int(res.stdout.split("seen=")[1]) >= 4, res.describe()
    vessel.start_ok(cid)
    vessel.wait_status(cid, "stopped")


def test_host_binary_not_reachable_from_container(vessel, bundle, cid, vessel_bin):
    real = os.path.realpath(vessel_bin)
    b = bundle("sh", "-c", f"ls {real} 2>&1; echo ready; exec sleep 1000")
    res = vessel.create_ok(b, cid)
    pid = vessel.state(cid)["pid"]
    assert not os.path.exists(f"/proc/{pid}/root{real}"), "vessel binary reachable from the created container"
    vessel.start_ok(cid)
    out = wait_for_text(res.out_path, "ready")
    assert "No such file" in out, out
    pid = vessel.state(cid)["pid"]
    assert not os.path.exists(f"/proc/{pid}/root{real}"), "vessel binary reachable from the running container"


# --------------------------------------------------------------------------
# symlinks in the rootfs


@pytest.mark.parametrize("style", ["absolute", "relative"])
def test_symlinked_mount_target_stays_in_root(vessel, bundle, tmp_path, style):
    """CVE-2021-30465 class: a mount destination through a symlink pointing
    at a host path must land inside the container's root."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "host-file").write_text("host\n")
    b = bundle("sh", "-c", "stat -f -c %T /evil/; ls -a /evil/; touch /evil/written")
    target = str(victim) if style == "absolute" else "../" * 12 + str(victim).lstrip("/")
    os.symlink(target, b.rootfs / "evil")
    b.add_mount("/evil", "tmpfs", "tmpfs", ["size=64k"])
    res = vessel.run(b)
    assert sorted(os.listdir(victim)) == ["host-file"], "the host directory behind the symlink was written to"
    if res.returncode != 0:
        assert res.stderr.startswith("vessel"), res.describe()
        return
    lines = res.stdout.split()
    assert lines[0] == "tmpfs", f"the tmpfs did not land where /evil resolves inside the root:\n{res.describe()}"
    assert "host-file" not in lines
    assert (b.rootfs / str(victim).lstrip("/")).is_dir(), "target should be created inside the rootfs"


def test_dev_symlink_in_image_stays_in_root(vessel, bundle, tmp_path):
    hostdev = tmp_path / "hostdev"
    hostdev.mkdir()
    b = bundle("sh", "-c", "ls /dev/null /dev/zero && echo devs-ok")
    if (b.rootfs / "dev").exists():
        (b.rootfs / "dev").rmdir()
    os.symlink(str(hostdev), b.rootfs / "dev")
    res = vessel.run(b)
    assert os.listdir(hostdev) == [], f"device setup wrote into the host directory: {os.listdir(hostdev)}"
    if res.returncode != 0:
        assert res.stderr.startswith("vessel"), res.describe()
    else:
        assert "devs-ok" in res.stdout, res.describe()


def test_no_cap_sys_admin_by_default(vessel, bundle):
    b = bundle("sh", "-c", "mount -t tmpfs none /mnt 2>&1; echo rc=$?; umount /proc 2>&1; echo rc=$?")
    out = vessel.run_ok(b)
    assert "rc=0" not in out.split(), out


# --------------------------------------------------------------------------
# masked and read-only paths


def _existing_masked_file():
    for p in ("/proc/kcore", "/proc/keys", "/proc/timer_list"):
        if os.path.exists(p):
            return p
    pytest.skip("none of /proc/kcore, /proc/keys, /proc/timer_list exists on this host")


def test_default_masked_file(vessel, bundle):
    path = _existing_masked_file()
    b = bundle("sh", "-c", f"wc -c < {path}; stat -c '%F %t %T' {path}")
    assert path in b.linux["maskedPaths"]
    out = vessel.run_ok(b).splitlines()
    assert out[0].strip() == "0", f"{path} not masked: {out}"
    assert out[1] == "character special file 1 3", f"{path} is not masked with /dev/null: {out[1]}"


def test_default_masked_directory(vessel, bundle):
    if not os.path.isdir("/sys/firmware") or not os.listdir("/sys/firmware"):
        pytest.skip("/sys/firmware missing or empty on this host")
    b = bundle("sh", "-c", "ls -A /sys/firmware | wc -l; cat /proc/self/mountinfo")
    assert "/sys/firmware" in b.linux["maskedPaths"]
    out = vessel.run_ok(b)
    count, _, mi = out.partition("\n")
    assert count.strip() == "0"
    m = mount_at(mi, "/sys/firmware")
    assert m is not None and m.fstype == "tmpfs" and "ro" in m.options, m


def test_custom_masked_paths(vessel, bundle):
    b = bundle(
        "sh",
        "-c",
        "echo dir-entries=$(ls -A /etc/secret-dir | wc -l); touch /etc/secret-dir/x 2>&1; echo touch-rc=$?; "
        "echo file-bytes=$(wc -c < /etc/secret.txt); echo overwritten > /etc/secret.txt; "
        "cat /proc/self/mountinfo",
    )
    (b.rootfs / "etc" / "secret-dir").mkdir()
    (b.rootfs / "etc" / "secret-dir" / "key").write_text("k")
    (b.rootfs / "etc" / "secret.txt").write_text("top secret\n")
    b.linux["maskedPaths"] = ["/etc/secret-dir", "/etc/secret.txt", "/does/not/exist"]
    res = vessel.run(b)
    assert res.returncode == 0, res.describe()
    lines = res.stdout.splitlines()
    assert "dir-entries=0" in lines, res.stdout
    assert "touch-rc=1" in lines, res.stdout
    assert "file-bytes=0" in lines, res.stdout
    d = mount_at(res.stdout, "/etc/secret-dir")
    assert d is not None and d.fstype == "tmpfs" and "ro" in d.options, d
    assert mount_at(res.stdout, "/etc/secret.txt") is not None
    assert (b.rootfs / "etc" / "secret.txt").read_text() == "top secret\n"
    assert (b.rootfs / "etc" / "secret-dir" / "key").read_text() == "k"


def test_default_readonly_paths(vessel, bundle):
    b = bundle(
        "sh",
        "-c",
        "cat /proc/sys/kernel/shm_rmid_forced >/dev/null && echo read-ok; "
        "sh -c 'echo 1 > /proc/sys/kernel/shm_rmid_forced' 2>&1; echo rc=$?; cat /proc/self/mountinfo",
    )
    b.set_namespace("ipc")
    assert "/proc/sys" in b.linux["readonlyPaths"]
    out = vessel.run_ok(b)
    assert "read-ok" in out
    assert "Read-only file system" in out and "rc=0" not in out.split(), out
    m = mount_at(out, "/proc/sys")
    assert m is not None and "ro" in m.options


def test_custom_readonly_paths(vessel, bundle):
    b = bundle("sh", "-c", "touch /tmp/x 2>&1; echo rc=$?; ls /opt/data; touch /var/ok && echo var-ok")
    (b.rootfs / "opt" / "data").mkdir(parents=True)
    (b.rootfs / "opt" / "data" / "file").write_text("x")
    (b.rootfs / "var").mkdir()
    b.linux["readonlyPaths"] = ["/tmp", "/opt/data", "/not/there"]
    res = vessel.run(b)
    assert res.returncode == 0, res.describe()
    assert "Read-only file system" in res.stdout and "rc=1" in res.stdout, res.stdout
    assert "file" in res.stdout.split()
    assert "var-ok" in res.stdout
