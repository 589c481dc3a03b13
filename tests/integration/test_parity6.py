"""Docker parity (issue 17), sixth round: template methods with arguments
({{.Label "k"}} of ps and volume ls) and --device of a directory (run -q,
which needs a registry, is test_registry.py's). Each test checks the real
effect and the bad inputs (one error line, exit 125, nothing created)."""

import json
import os
import stat

from test_engine import engine, engine_data  # noqa: F401 (fixtures)
from test_parity5 import _bad
from test_run_flags2 import _bg, _devices_list, _free_char_majors, _restart


# --------------------------------------------------------------------------
# {{.Label "k"}}


def test_ps_format_label_method(engine):
    engine.ok("create", "--name", "la", "--label", "com.example.k=v 1,x", "--label", "other=o",
              "busybox", "true")
    engine.ok("create", "--name", "lb", "busybox", "true")
    out = engine.ok("ps", "-a", "--format", '{{.Names}}={{.Label "com.example.k"}}|'
                    '{{.Label "nosuch"}}|{{"other" | .Label}}')
    assert sorted(out.splitlines()) == ["la=v 1,x||o", "lb=||"]
    # a method: in a pipeline, in parentheses, through $ and with
    out = engine.ok("ps", "-a", "--filter", "name=la", "--format",
                    '{{.Label "other" | upper}} {{printf "%q" (.Label "com.example.k")}} '
                    '{{range $i, $n := split .Names ","}}{{$.Label "other"}}{{end}} '
                    '{{with .}}{{.Label "other"}}{{end}}')
    assert out == 'O "v 1,x" o o\n'
    # not a field: json . leaves it out; Labels is still the joined text
    row = json.loads(engine.ok("ps", "-a", "--filter", "name=la", "--format", "{{json .}}"))
    assert "Label" not in row
    assert "other=o" in row["Labels"] and "com.example.k=v 1,x" in row["Labels"]
    # a table: the header's Label is a title made of the name (Docker's
    # SubHeaderContext.Label: the last dot-separated part, - and _ as spaces)
    out = engine.ok("ps", "-a", "--filter", "name=la", "--format",
                    'table {{.Names}}\\t{{.Label "other"}}\\t{{.Label "com.example.my-key_x"}}|')
    assert out.splitlines() == ["NAMES     other     my key x|", "la        o         |"], out
    # Go's errors, exit 125 as every template error of ps
    for fmt, want in [('{{.Label}}', "wrong number of args for Label: want 1 got 0"),
                      ('{{.Label "a" "b"}}', "wrong number of args for Label: want 1 got 2"),
                      ('{{.Label 1}}', "expected string; found 1"),
                      ('{{.Names "a"}}', "wrong number of args for Names: want 0 got 1")]:
        res = engine("ps", "-a", "--format", fmt)
        assert res.returncode != 0 and want in res.stderr, (fmt, res.stderr)


def test_volume_ls_label_method(engine):
    engine.ok("volume", "create", "--label", "tier=db", "lv1")
    engine.ok("volume", "create", "lv2")
    out = engine.ok("volume", "ls", "--format", '{{.Name}}:{{.Label "tier"}}')
    assert sorted(out.split()) == ["lv1:db", "lv2:"]
    out = engine.ok("volume", "ls", "--filter", "name=lv1", "--format",
                    'table {{.Name}}\\t{{.Label "tier"}}')
    assert out.splitlines() == ["VOLUME NAME   tier", "lv1           db"], out
    engine.ok("volume", "rm", "lv1", "lv2")


# --------------------------------------------------------------------------
# --device of a directory


def _node(path, major, minor, mode):
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mknod(path, mode | stat.S_IFCHR, os.makedev(major, minor))
    os.chmod(path, mode)


def _device_dir(tmp_path):
    """A directory of the test's own: nodes like null (1:3), zero (1:5) and
    full (1:7) at three depths, and what is no device node (a file, a
    symlink to a node, a fifo), which Docker's walk passes over."""
    d = tmp_path / "devs"
    _node(d / "null", 1, 3, 0o666)
    _node(d / "sub" / "zero", 1, 5, 0o640)
    _node(d / "sub" / "deeper" / "full", 1, 7, 0o600)
    (d / "file").write_text("x")
    os.symlink("null", d / "link")
    os.mkfifo(d / "sub" / "fifo")
    return d


# find's names, then each node's type, numbers (hex) and mode, as stat shows them
LIST = "cd {0} && find . | sort && find . -type c | sort | xargs stat -c '%n %F %t:%T %a'"
WANT = [".", "./null", "./sub", "./sub/deeper", "./sub/deeper/full", "./sub/zero",
        "./null character special file 1:3 666",
        "./sub/deeper/full character special file 1:7 600",
        "./sub/zero character special file 1:5 640"]


def test_device_directory_adds_every_node_beneath_it(engine, tmp_path):
    d = _device_dir(tmp_path)
    out = engine.ok("run", "--rm", "--device", f"{d}:/dev/mine:r", "busybox", "sh", "-c",
                    LIST.format("/dev/mine") + "; head -c 3 /dev/mine/sub/zero | od -An -tx1")
    assert out.splitlines() == WANT + [" 00 00 00"], out
    # without a container path: the same path inside; a trailing slash is
    # the same directory
    for spec in (str(d), f"{d}/", f"{d}:{d}/"):
        out = engine.ok("run", "--rm", "--device", spec, "busybox", "sh", "-c", LIST.format(d))
        assert out.splitlines() == WANT, (spec, out)
    # a node works: writes to the full-like node fail as /dev/full's do
    res = engine("run", "--rm", "--device", f"{d}:/x", "busybox", "sh", "-c",
                 "echo a > /x/null && echo x > /x/sub/deeper/full")
    assert res.returncode != 0 and "No space left" in res.stderr, res.stderr


def test_device_directory_inspect_cgroup_and_restart(engine, tmp_path):
    """inspect keeps the flag's one entry, as Docker's HostConfig does (its
    daemon finds the nodes at each start): a node added later is there
    after a restart. Each node gets an allow rule of the permissions."""
    d = _device_dir(tmp_path)
    free = _free_char_majors(1)[0]
    _node(d / "sub" / "odd", free, 7, 0o666)
    _bg(engine, "--name", "dd", "--device", f"{d}:/dev/mine:rw", "busybox", "sleep", "1000")
    assert engine.inspect("dd")["HostConfig"]["Devices"] == [
        {"PathOnHost": str(d), "PathInContainer": "/dev/mine", "CgroupPermissions": "rw"}]
    rules = _devices_list(engine, "dd")
    assert f"c {free}:7 rw" in rules, rules
    res = engine("exec", "dd", "cat", "/dev/mine/sub/odd")
    # allowed by its rule: the open reaches the (absent) driver
    assert "No such device or address" in res.stderr, res.stderr
    assert engine("exec", "dd", "test", "-e", "/dev/mine/later").returncode == 1
    _node(d / "later", 1, 3, 0o666)
    _restart(engine, "dd")
    assert engine.ok("exec", "dd", "stat", "-c", "%t:%T", "/dev/mine/later") == "1:3\n"
    engine.ok("rm", "-f", "dd")


def test_device_directory_in_a_user_namespace_binds_each_node(engine, tmp_path):
    d = _device_dir(tmp_path)
    out = engine.ok("run", "--rm", "--uidmap", "0:100000:65536", "--device", f"{d}:/dev/mine",
                    "busybox", "sh", "-c", LIST.format("/dev/mine") +
                    "; head -c 2 /dev/mine/null | wc -c; grep -c ' /dev/mine/' /proc/mounts")
    assert out.splitlines() == WANT + ["0", "3"], out


def test_device_directory_bad(engine, tmp_path):
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "file").write_text("x")
    os.symlink("/dev/null", empty / "link")  # not followed: no node of the directory's
    _bad(engine, "run", "--rm", "--device", str(empty), "busybox", "true",
         want=f"--device {empty}: error gathering device information for {empty}: no device "
              "node beneath the directory")
    _bad(engine, "create", "--device", f"{_device_dir(tmp_path)}:dev", "busybox", "true",
         want="not an absolute path")
