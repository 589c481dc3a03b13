"""The user process: args, env, cwd, user/groups/umask, terminal and console
size, capabilities, no_new_privs, rlimits, oom_score_adj, seccomp, and LSM
fields that must not stop the container."""

import os
import re
from pathlib import Path

import pytest

from helpers import ConsoleServer, parse_status, status_caps

# --------------------------------------------------------------------------
# args, env, cwd


def test_args_passed_verbatim(vessel, bundle):
    b = bundle("/bin/echo", "a b", "c'd", "$HOME", "*", "")
    assert vessel.run_ok(b) == "a b c'd $HOME * \n"


def test_args_resolved_through_container_path(vessel, bundle):
    b = bundle("hello-tool", "x")
    tools = b.rootfs / "opt" / "tools"
    tools.mkdir(parents=True)
    (tools / "hello-tool").write_text('#!/bin/sh\necho "from-container-path $1"\n')
    (tools / "hello-tool").chmod(0o755)
    b.process["env"] = ["PATH=/opt/tools:/bin"]
    assert vessel.run_ok(b) == "from-container-path x\n"


def test_env(vessel, bundle):
    b = bundle("env")
    b.process["env"] = ["PATH=/bin", "FOO=bar baz", "EQ=a=b=c", "EMPTY="]
    host_env = dict(os.environ, VESSEL_HOST_ONLY_VAR="leaked")
    res = vessel.run(b, env=host_env)
    assert res.returncode == 0, res.describe()
    lines = set(res.stdout.splitlines())
    assert {"PATH=/bin", "FOO=bar baz", "EQ=a=b=c", "EMPTY="} <= lines, res.stdout
    assert not any(l.startswith("VESSEL_HOST_ONLY_VAR=") for l in lines), "host env leaked in"


def test_cwd(vessel, bundle):
    b = bundle("sh", "-c", "pwd; readlink /proc/self/cwd")
    b.process["cwd"] = "/tmp"
    assert vessel.run_ok(b).split() == ["/tmp", "/tmp"]


def test_cwd_created_when_missing(vessel, bundle):
    b = bundle("pwd")
    b.process["cwd"] = "/work/dir/nested"
    assert not (b.rootfs / "work").exists()
    assert vessel.run_ok(b).strip() == "/work/dir/nested"
    assert (b.rootfs / "work" / "dir" / "nested").is_dir()


# --------------------------------------------------------------------------
# user


def test_user_uid_gid_additional_gids(vessel, bundle):
    b = bundle("sh", "-c", "id -u; id -g; id -G; grep -E '^(Uid|Gid|Groups):' /proc/self/status")
    b.process["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [10, 20, 30]}
    out = vessel.run_ok(b).splitlines()
    assert out[0] == "1000"
    assert out[1] == "1001"
    assert set(out[2].split()) == {"1001", "10", "20", "30"}, out[2]
    status = parse_status("\n".join(out[3:]))
    assert status["Uid"].split() == ["1000"] * 4
    assert status["Gid"].split() == ["1001"] * 4
    assert set(status["Groups"].split()) == {"10", "20", "30"}, status["Groups"]


def test_root_user_has_no_stray_groups(vessel, bundle):
    b = bundle("grep", "^Groups:", "/proc/self/status")
    b.process["user"] = {"uid": 0, "gid": 0}
    out = vessel.run_ok(b).split()
    # host root's supplementary groups must not be inherited
    assert out[1:] in ([], ["0"]), out


@pytest.mark.parametrize("mask,expect", [(0o027, "0027"), (0o077, "0077"), (0o002, "0002")])
def test_umask(vessel, bundle, mask, expect):
    b = bundle("sh", "-c", "umask; touch /tmp/f; stat -c %a /tmp/f")
    b.process["user"]["umask"] = mask
    out = vessel.run_ok(b).split()
    assert out[0] == expect
    assert int(out[1], 8) == 0o666 & ~mask


def test_non_root_user_cannot_write_root_owned_file(vessel, bundle):
    b = bundle("sh", "-c", "touch /etc/newfile 2>&1; echo rc=$?")
    b.process["user"] = {"uid": 1000, "gid": 1000}
    out = vessel.run_ok(b)
    assert "Permission denied" in out and "rc=1" in out, out


# --------------------------------------------------------------------------
# terminal


def _terminal_bundle(bundle, script, size=None):
    b = bundle("sh", "-c", script)
    b.process["terminal"] = True
    if size:
        b.process["consoleSize"] = {"height": size[0], "width": size[1]}
    return b


TTY_SCRIPT = (
    "tty; stty size; stat -c '%F %t' /dev/console; readlink /proc/self/fd/0; "
    "echo ready; read line; echo got:$line"
)


def _check_tty_output(text):
    lines = text.replace("\r", "").splitlines()
    assert re.fullmatch(r"/dev/(pts/0|console)", lines[0]), text
    assert lines[1] == "40 100", f"consoleSize not applied: {text!r}"
    assert lines[2] == "character special file 88", f"/dev/console is not a pty (136:x): {text!r}"
    assert re.fullmatch(r"/dev/(pts/\d+|console)", lines[3]), text
    assert "got:hello over the pty" in text, text


def test_terminal_create_start_console_socket(vessel, bundle, cid, tmp_path):
    b = _terminal_bundle(bundle, TTY_SCRIPT, size=(40, 100))
    server = ConsoleServer(tmp_path / "console.sock")
    try:
        vessel.create_ok(b, cid, "--console-socket", tmp_path / "console.sock")
        assert server.got_fd.wait(10) and server.master is not None, f"no pty master: {server.error}"
        vessel.start_ok(cid)
        server.wait_text("ready")
        server.write(b"hello over the pty\n")
        vessel.wait_status(cid, "stopped")
    finally:
        server.close()
    _check_tty_output(server.text())


def test_terminal_run_detached_console_socket(vessel, bundle, cid, tmp_path):
    b = _terminal_bundle(bundle, TTY_SCRIPT, size=(40, 100))
    server = ConsoleServer(tmp_path / "console.sock")
    try:
        vessel.run_detached(b, cid, "--console-socket", tmp_path / "console.sock")
        server.wait_text("ready")
        server.write(b"hello over the pty\n")
        vessel.wait_status(cid, "stopped")
    finally:
        server.close()
    _check_tty_output(server.text())


def test_terminal_default_size_and_stdio(vessel, bundle, cid, tmp_path):
    b = _terminal_bundle(bundle, "for f in 0 1 2; do readlink /proc/self/fd/$f; done; echo done")
    server = ConsoleServer(tmp_path / "console.sock")
    try:
        vessel.create_ok(b, cid, "--console-socket", tmp_path / "console.sock")
        vessel.start_ok(cid)
        vessel.wait_status(cid, "stopped")
        server.wait_text("done")
    finally:
        server.close()
    lines = server.text().splitlines()
    assert len(set(lines[:3])) == 1 and re.fullmatch(r"/dev/(pts/\d+|console)", lines[0]), lines


def test_terminal_without_console_socket_fails_when_detached(vessel, bundle, cid):
    b = _terminal_bundle(bundle, "true")
    res = vessel.create(b, cid)
    assert res.returncode != 0, "terminal=true needs --console-socket for create"
    assert "console" in res.stderr.lower(), res.describe()
    assert vessel.entries() == []


# --------------------------------------------------------------------------
# capabilities


def test_default_capabilities(vessel, bundle):
    b = bundle("cat", "/proc/self/status")
    caps = status_caps(vessel.run_ok(b))
    want = set(b.process["capabilities"]["bounding"])
    assert caps["CapBnd"] == want
    assert caps["CapEff"] == set(b.process["capabilities"]["effective"])
    assert caps["CapPrm"] == set(b.process["capabilities"]["permitted"])
    assert caps["CapAmb"] == set()


def test_capabilities_root(vessel, bundle):
    chosen = ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_NET_RAW"]
    b = bundle(
        "sh",
        "-c",
        "cat /proc/self/status; echo ---; touch /tmp/f; chown 123 /tmp/f && echo chown-ok; "
        "hostname other 2>&1; echo hostname-rc=$?",
    )
    b.process["capabilities"] = {
        "bounding": chosen,
        "effective": chosen,
        "permitted": chosen,
        "inheritable": [],
        "ambient": [],
    }
    status, _, rest = vessel.run_ok(b).partition("---\n")
    caps = status_caps(status)
    assert caps["CapBnd"] == set(chosen)
    assert caps["CapEff"] == set(chosen)
    assert caps["CapPrm"] == set(chosen)
    assert caps["CapInh"] == set()
    assert caps["CapAmb"] == set()
    assert "chown-ok" in rest
    assert "hostname-rc=0" not in rest, "sethostname worked without CAP_SYS_ADMIN"


def test_capabilities_non_root_with_ambient(vessel, bundle):
    b = bundle("sh", "-c", "cat /proc/self/status; echo ---; kill -0 1 && echo signal-ok")
    b.process["user"] = {"uid": 1000, "gid": 1000}
    b.process["capabilities"] = {
        "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
        "effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "ambient": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
    }
    status, _, rest = vessel.run_ok(b).partition("---\n")
    caps = status_caps(status)
    assert caps["CapBnd"] == {"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"}
    assert caps["CapEff"] == {"CAP_KILL", "CAP_NET_BIND_SERVICE"}
    assert caps["CapPrm"] == {"CAP_KILL", "CAP_NET_BIND_SERVICE"}
    assert caps["CapInh"] == {"CAP_KILL", "CAP_NET_BIND_SERVICE"}
    assert caps["CapAmb"] == {"CAP_KILL", "CAP_NET_BIND_SERVICE"}
    assert parse_status(status)["Uid"].split() == ["1000"] * 4


def test_capabilities_non_root_without_ambient_has_none(vessel, bundle):
    b = bundle("cat", "/proc/self/status")
    b.process["user"] = {"uid": 1000, "gid": 1000}
    b.process["capabilities"] = {
        "bounding": ["CAP_KILL", "CAP_CHOWN"],
        "effective": ["CAP_KILL"],
        "permitted": ["CAP_KILL"],
    }
    caps = status_caps(vessel.run_ok(b))
    assert caps["CapBnd"] == {"CAP_KILL", "CAP_CHOWN"}
    assert caps["CapEff"] == set() and caps["CapPrm"] == set() and caps["CapAmb"] == set()


def test_capabilities_all_empty(vessel, bundle):
    b = bundle("sh", "-c", "cat /proc/self/status; echo ---; touch /tmp/f; chown 5 /tmp/f 2>&1; echo rc=$?")
    b.process["capabilities"] = {"bounding": [], "effective": [], "permitted": [], "inheritable": [], "ambient": []}
    status, _, rest = vessel.run_ok(b).partition("---\n")
    caps = status_caps(status)
    for k in ("CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert caps[k] == set(), f"{k}: {caps[k]}"
    assert "rc=1" in rest, rest


# --------------------------------------------------------------------------
# no_new_privs, rlimits, oom_score_adj


@pytest.mark.parametrize("nnp,expect", [(True, "1"), (False, "0")])
def test_no_new_privileges(vessel, bundle, nnp, expect):
    b = bundle("grep", "^NoNewPrivs:", "/proc/self/status")
    b.process["noNewPrivileges"] = nnp
    assert vessel.run_ok(b).split() == ["NoNewPrivs:", expect]


def _limits(text):
    out = {}
    for line in text.splitlines()[1:]:
        m = re.match(r"^(.*?)\s{2,}(\S+)\s+(\S+)", line)
        if m:
            out[m.group(1).strip()] = (m.group(2), m.group(3))
    return out


def test_rlimits(vessel, bundle):
    b = bundle("sh", "-c", "ulimit -n; ulimit -Hn; cat /proc/self/limits")
    b.process["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 1000, "hard": 2000},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096},
        {"type": "RLIMIT_NPROC", "soft": 500, "hard": 600},
        {"type": "RLIMIT_STACK", "soft": 4194304, "hard": 8388608},
    ]
    out = vessel.run_ok(b).splitlines()
    assert out[0] == "1000" and out[1] == "2000", out[:2]
    limits = _limits("\n".join(out[2:]))
    assert limits["Max open files"] == ("1000", "2000")
    assert limits["Max core file size"] == ("0", "4096")
    assert limits["Max processes"] == ("500", "600")
    assert limits["Max stack size"] == ("4194304", "8388608")


def test_rlimit_unlimited(vessel, bundle):
    b = bundle("cat", "/proc/self/limits")
    b.process["rlimits"] = [{"type": "RLIMIT_CORE", "soft": 2**64 - 1, "hard": 2**64 - 1}]
    limits = _limits(vessel.run_ok(b))
    assert limits["Max core file size"] == ("unlimited", "unlimited")


@pytest.mark.parametrize("adj", [500, -500, 0, 1000])
def test_oom_score_adj(vessel, bundle, adj):
    eff = int(parse_status(Path("/proc/self/status").read_text())["CapEff"], 16)
    if adj < 0 and not eff & (1 << 24):
        pytest.skip("lowering oom_score_adj needs CAP_SYS_RESOURCE, which this host's root lacks")
    b = bundle("cat", "/proc/self/oom_score_adj")
    b.process["oomScoreAdj"] = adj
    assert vessel.run_ok(b).strip() == str(adj)


# --------------------------------------------------------------------------
# seccomp


def _seccomp(syscalls, default="SCMP_ACT_ALLOW"):
    return {"defaultAction": default, "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": syscalls}


@pytest.mark.parametrize(
    "errno_ret,message",
    [(1, "Operation not permitted"), (38, "Function not implemented"), (None, "Operation not permitted")],
    ids=["EPERM", "ENOSYS", "default-errno"],
)
def test_seccomp_errno_rule(vessel, bundle, errno_ret, message):
    rule = {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}
    if errno_ret is not None:
        rule["errnoRet"] = errno_ret
    b = bundle("sh", "-c", "mkdir /tmp/d 2>&1; echo rc=$?; touch /tmp/f && echo touch-ok; grep ^Seccomp: /proc/self/status")
    b.linux["seccomp"] = _seccomp([rule])
    out = vessel.run_ok(b)
    assert message in out, out
    assert "rc=1" in out and "touch-ok" in out, out
    assert "Seccomp:\t2" in out
    assert not (b.rootfs / "tmp" / "d").exists()


def test_seccomp_rule_with_args(vessel, bundle):
    # kill(pid, SIGUSR1) is refused; kill(pid, 0) is allowed.
    b = bundle("sh", "-c", "trap 'echo usr1' USR1; kill -0 $$ && echo kill0-ok; kill -USR1 $$ 2>&1; echo rc=$?")
    b.linux["seccomp"] = _seccomp([
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "args": [{"index": 1, "value": 10, "op": "SCMP_CMP_EQ"}]},
    ])
    out = vessel.run_ok(b)
    assert "kill0-ok" in out, out
    assert "Operation not permitted" in out and "rc=1" in out, out
    assert "usr1" not in out.split()


def test_seccomp_with_no_new_privileges_false(vessel, bundle):
    b = bundle("sh", "-c", "mkdir /tmp/d 2>&1; echo rc=$?")
    b.process["noNewPrivileges"] = False
    b.linux["seccomp"] = _seccomp([{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}])
    out = vessel.run_ok(b)
    assert "Operation not permitted" in out and "rc=1" in out, out


def test_seccomp_default_errno_with_allowlist(vessel, bundle):
    # What busybox sh/echo need is allowed; mkdir is not: it gets defaultErrnoRet.
    allowed = [
        "execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq", "prlimit64",
        "readlink", "getuid", "getgid", "geteuid", "getegid", "getpid", "getppid", "write", "writev",
        "exit", "exit_group", "close", "fstat", "newfstatat", "mprotect", "mmap", "munmap", "ioctl",
        "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "read", "futex", "getrandom", "fcntl",
        "access", "stat", "lstat", "openat", "open", "dup2", "dup3", "getcwd", "capget", "capset",
        "prctl", "setgroups", "setresuid", "setresgid", "setuid", "setgid", "chdir", "fchdir",
        "sigaltstack", "statx", "wait4", "clone", "vfork", "fork", "clone3", "epoll_pwait", "epoll_wait",
        "close_range", "poll", "ppoll", "select", "pselect6", "tgkill", "kill", "seccomp", "getdents64",
        "lseek", "pread64", "umask", "sched_getaffinity", "madvise", "mremap", "setpgid", "getpgid",
        "setsid", "fchown", "faccessat", "faccessat2", "execveat", "pipe", "pipe2", "fstatfs", "statfs",
    ]
    b = bundle("sh", "-c", "echo started; mkdir /tmp/d 2>&1; echo rc=$?")
    b.linux["seccomp"] = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": allowed, "action": "SCMP_ACT_ALLOW"}],
    }
    res = vessel.run(b)
    assert res.returncode == 0, res.describe()
    assert "started" in res.stdout
    assert "Operation not permitted" in res.stdout and "rc=1" in res.stdout, res.describe()


# --------------------------------------------------------------------------
# LSM fields


def test_apparmor_and_selinux_fields_ignored(vessel, bundle):
    aa = Path("/sys/module/apparmor/parameters/enabled")
    if aa.exists() and aa.read_text().strip() == "Y":
        pytest.skip("AppArmor is enabled on this host: the profile would be applied")
    if Path("/sys/fs/selinux/enforce").exists():
        pytest.skip("SELinux is enabled on this host: the label would be applied")
    b = bundle("echo", "lsm-ok")
    b.process["apparmorProfile"] = "vessel-test-nonexistent-profile"
    b.process["selinuxLabel"] = "system_u:system_r:container_t:s0:c1,c2"
    b.linux["mountLabel"] = "system_u:object_r:container_file_t:s0:c1,c2"
    assert vessel.run_ok(b).strip() == "lsm-ok"
