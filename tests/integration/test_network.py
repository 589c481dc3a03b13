"""Networks (`vessel network ...`, `run --network NAME`, `--ip`).

Every test runs vessel inside a network namespace it creates (`ip netns add
vs-test-XXXX`; vessel runs under `nsenter --net=...` so that it keeps the
host's mounts and cgroups): bridges, veths and addresses exist only there,
and traffic goes only between addresses inside it. The namespace is deleted
at teardown, after checking that removing every container left no veth and
no address lease behind."""

import ipaddress
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import helpers

TIMEOUT = 60
VETH = re.compile(r"^\d+: (vs[0-9a-f]{12}\d?)[@:]", re.M)


class Res:
    def __init__(self, args, proc):
        self.args = args
        self.returncode = proc.returncode
        self.stdout = proc.stdout.decode(errors="replace")
        self.stderr = proc.stderr.decode(errors="replace")

    def describe(self):
        return (f"command: {' '.join(self.args)}\nexit status: {self.returncode}\n"
                f"stdout: {self.stdout!r}\nstderr: {self.stderr!r}")


class NetEngine:
    def __init__(self, binary, netns, data_root, runtime_root):
        self.binary = str(binary)
        self.netns = netns
        self.data_root = Path(data_root)
        self.env = dict(os.environ, VESSEL_ROOT=str(data_root),
                        VESSEL_RUNTIME_ROOT=str(runtime_root))
        self.env.pop("VESSEL_NO_OVERLAY", None)

    def __call__(self, *args, timeout=TIMEOUT):
        argv = ["nsenter", f"--net=/run/netns/{self.netns}", self.binary, *map(str, args)]
        proc = subprocess.run(argv, env=self.env, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        return Res([self.binary, *map(str, args)], proc)

    def ok(self, *args, **kw):
        res = self(*args, **kw)
        assert res.returncode == 0, res.describe()
        return res.stdout

    def ip(self, *args):
        """`ip` inside the test's namespace (inspection only)."""
        return subprocess.run(["ip", "-n", self.netns, *args], capture_output=True, text=True,
                              check=True).stdout

    def veths(self):
        return VETH.findall(self.ip("-o", "link"))

    def leases(self):
        """{network name: {container id: endpoint}}: networks.json's endpoints (a file of
        an earlier vessel) and the lease files (leases/<container id>.json)."""
        p = self.data_root / "networks" / "networks.json"
        if not p.exists():
            return {}
        nets = json.loads(p.read_text())["networks"]
        out = {n["Name"]: dict(n["Endpoints"]) for n in nets}
        names = {n["Id"]: n["Name"] for n in nets}
        d = self.data_root / "networks" / "leases"
        for f in sorted(d.iterdir()) if d.exists() else []:
            for nid, ep in json.loads(f.read_text()).items():
                out.setdefault(names.get(nid, nid), {})[f.name.removesuffix(".json")] = ep
        return {k: v for k, v in out.items() if v}

    def records(self):
        d = self.data_root / "containers"
        return sorted(p.name for p in d.iterdir()) if d.exists() else []

    def net(self, name):
        return json.loads(self.ok("network", "inspect", name))[0]


@pytest.fixture
def net(vessel_bin, tmp_path):
    ns = f"vs-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    eng = NetEngine(vessel_bin, ns, tmp_path / "data", tmp_path / "run")
    # A CNI directory of the test's own: `network ls` lists the CNI networks
    # beside vessel's, and the host's /etc/cni/net.d (podman's conflist,
    # once podman is installed) is not the test's. Tests that write their
    # own configuration replace this one.
    (tmp_path / "cni-none").mkdir()
    (tmp_path / "vessel-net-tests.json").write_text(
        json.dumps({"cni-config-dir": str(tmp_path / "cni-none")}))
    eng.env["VESSEL_CONFIG"] = str(tmp_path / "vessel-net-tests.json")
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        yield eng
        for cid in eng.records():
            eng("rm", "-f", cid)
        assert eng.records() == [], "container records left"
        # A --rm container's monitor deletes its veth after it sent the exit
        # code (vs_net_release_deferred), and the kernel removes a veth with
        # its namespace asynchronously: gone soon, not at once.
        helpers.wait_for(lambda: eng.veths() == [], timeout=5,
                         what=f"veths gone: {eng.veths()}")
        assert eng.leases() == {}, f"leases left: {eng.leases()}"
        assert 'comment "vessel:' not in nft_rules(eng), nft_rules(eng)
        assert 'comment "vessel:' not in nft_rules(eng, "ip6"), nft_rules(eng, "ip6")
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def one_error(res, *mentions):
    helpers.assert_error(res, *mentions)
    helpers.assert_one_error_line(res)


# --------------------------------------------------------------------------
# network commands


def test_create_ls_inspect_rm(net):
    nid = net.ok("network", "create", "--subnet", "10.20.0.0/24", "--gateway", "10.20.0.254",
                 "--label", "team=red", "--internal", "front").strip()
    assert re.fullmatch(r"[0-9a-f]{64}", nid)
    ls = net.ok("network", "ls")
    assert re.search(r"^[0-9a-f]{12}\s+front\s+bridge\s+local$", ls, re.M), ls
    assert re.search(r"^[0-9a-f]{12}\s+bridge\s+bridge\s+local$", ls, re.M), ls
    assert nid[:12] in net.ok("network", "ls", "-q").split()
    n = net.net(nid[:8])
    assert n["Name"] == "front" and n["Id"] == nid and n["Driver"] == "bridge"
    assert n["IPAM"]["Config"] == [{"Subnet": "10.20.0.0/24", "Gateway": "10.20.0.254"}]
    assert n["Internal"] is True and n["Labels"] == {"team": "red"}
    assert n["Containers"] == {}
    auto = net.net(net.ok("network", "create", "back").strip())
    assert auto["IPAM"]["Config"][0]["Subnet"] == "10.89.0.0/24"
    assert auto["IPAM"]["Config"][0]["Gateway"] == "10.89.0.1"
    assert net.ok("network", "rm", "front") == "front\n"
    assert "front" not in net.ok("network", "ls")
    one_error(net("network", "inspect", "front"), "no such network", "front")
    assert net.ok("network", "prune", "-f") == "Deleted Networks:\nback\n"
    # What is left: bridge and Docker's predefined host and none, by name.
    assert net.ok("network", "ls", "-q").split() == [net.net(n)["Id"][:12]
                                                    for n in ("bridge", "host", "none")]
    one_error(net("network", "rm", "bridge"), "default network")


def test_predefined_host_and_none(net):
    """Docker's predefined networks beside bridge: listed (driver host and
    null), inspected by name or id prefix with the same ids every time,
    neither removable nor pruned nor connectable."""
    ls = net.ok("network", "ls")
    assert re.search(r"^[0-9a-f]{12}\s+host\s+host\s+local$", ls, re.M), ls
    assert re.search(r"^[0-9a-f]{12}\s+none\s+null\s+local$", ls, re.M), ls
    host, none = net.net("host"), net.net("none")
    assert host["Driver"] == "host" and none["Driver"] == "null", (host, none)
    assert host["IPAM"] == {"Driver": "default", "Options": None, "Config": []}, host
    assert re.fullmatch(r"[0-9a-f]{64}", host["Id"]) and host["Id"] != none["Id"]
    assert net.net(host["Id"][:10])["Name"] == "host"
    assert net.ok("network", "ls", "-q", "--filter", "driver=null").split() == [none["Id"][:12]]
    one_error(net("network", "rm", "host"), "host", "pre-defined")
    net.ok("network", "prune", "-f")
    assert net.net("none")["Id"] == none["Id"] and net.net("host")["Id"] == host["Id"]
    net.ok("create", "--name", "c", "busybox", "true")
    one_error(net("network", "connect", "host", "c"), "host network")
    one_error(net("network", "disconnect", "none", "c"), "none network")
    net.ok("rm", "c")


def test_predefined_networks_list_their_running_containers(net):
    """network inspect host|none shows the running containers of that mode, as
    Docker's does (a stable endpoint id, no addresses); a stopped one, or one
    of the other mode, is not there."""
    hid = net.ok("run", "-d", "--name", "h", "--network", "host", "busybox", "sleep", "100").strip()
    nid = net.ok("run", "-d", "--name", "n", "--network", "none", "busybox", "sleep", "100").strip()
    net.ok("create", "--name", "h2", "--network", "host", "busybox", "true")
    host = net.net("host")["Containers"]
    assert list(host) == [hid], host
    assert host[hid]["Name"] == "h" and re.fullmatch(r"[0-9a-f]{64}", host[hid]["EndpointID"])
    assert (host[hid]["MacAddress"], host[hid]["IPv4Address"], host[hid]["IPv6Address"]) == \
        ("", "", "")
    assert net.net("host")["Containers"][hid]["EndpointID"] == host[hid]["EndpointID"]
    assert list(net.net("none")["Containers"]) == [nid]
    assert net.ok("network", "inspect", "-f", "{{range .Containers}}{{.Name}}{{end}}",
                  "none").strip() == "n"
    # ps --filter network: by name or by a prefix of the network's id
    hostid = net.net("host")["Id"]
    assert net.ok("ps", "--filter", f"network={hostid[:6]}", "--format", "{{.Names}}") == "h\n"
    assert sorted(net.ok("ps", "-a", "--filter", "network=host", "--filter", "network=none",
                         "--format", "{{.Names}}").split()) == ["h", "h2", "n"]
    assert net.ok("ps", "-a", "--filter", "network=no-such-net", "-q") == ""
    pf = net.ok("network", "create", "pf").strip()
    net.ok("run", "-d", "--name", "b", "--network", "pf", "busybox", "sleep", "100")
    for ref in ("pf", pf[:8]):
        assert net.ok("ps", "--filter", f"network={ref}", "--format", "{{.Names}}") == "b\n"
    net.ok("rm", "-f", "b")
    net.ok("network", "rm", "pf")
    net.ok("stop", "-t", "0", "h")
    assert net.net("host")["Containers"] == {}
    net.ok("rm", "-f", "h", "n", "h2")
    assert net.net("none")["Containers"] == {}


def test_ls_format(net):
    """network ls --format: Docker's fields, table, json; a bad field is an error."""
    nid = net.ok("network", "create", "--internal", "--label", "a=b", "--label", "c=d",
                 "--ipv6", "--subnet", "10.22.0.0/24", "--subnet", "fd00:22::/64", "fmt").strip()
    did = net.net("bridge")["Id"]
    lines = net.ok("network", "ls", "--format",
                   "{{.ID}}|{{.Name}}|{{.Driver}}|{{.Scope}}|{{.IPv6}}|{{.Internal}}|{{.Labels}}"
                   ).splitlines()
    hid, noid = net.net("host")["Id"], net.net("none")["Id"]
    assert lines == [f"{did[:12]}|bridge|bridge|local|false|false|",
                     f"{nid[:12]}|fmt|bridge|local|true|true|a=b,c=d",
                     f"{hid[:12]}|host|host|local|false|false|",
                     f"{noid[:12]}|none|null|local|false|false|"], lines
    created = net.ok("network", "ls", "--filter", "name=fmt", "--format", "{{.CreatedAt}}")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC\n", created), created
    table = net.ok("network", "ls", "--no-trunc", "--filter", "name=fmt", "--format",
                   "table {{.ID}}\t{{.Name}}\t{{.Internal}}").splitlines()
    assert re.fullmatch(r"NETWORK ID\s+NAME\s+INTERNAL", table[0]), table
    assert re.fullmatch(rf"{nid}\s+fmt\s+true", table[1]), table
    rows = [json.loads(line) for line in
            net.ok("network", "ls", "--filter", "name=fmt", "--format", "json").splitlines()]
    assert rows == [{"ID": nid[:12], "Name": "fmt", "Driver": "bridge", "Scope": "local",
                     "IPv6": "true", "Internal": "true", "Labels": "a=b,c=d",
                     "CreatedAt": created.strip()}], rows
    bad = net("network", "ls", "--format", "{{.Nope}}")
    assert bad.returncode != 0 and "Nope" in bad.stderr and bad.stdout == "", bad
    # Docker's Label(name) method, in rows and (a title of the name) in the header
    out = net.ok("network", "ls", "--format", 'table {{.Name}}\t{{.Label "c"}}|')
    assert out.splitlines() == ["NAME      c|", "bridge    |", "fmt       d|", "host      |",
                                "none      |"], out
    net.ok("network", "rm", "fmt")


@pytest.mark.parametrize("args, mentions", [
    (["--subnet", "10.1.0.0/33", "x"], ["--subnet", "10.1.0.0/33"]),
    (["--subnet", "banana", "x"], ["--subnet", "banana"]),
    (["--subnet", "10.1.0.1/16", "x"], ["--subnet", "host bits"]),
    (["--subnet", "10.1.0.0/24", "--gateway", "10.2.0.1", "x"], ["--gateway", "10.2.0.1"]),
    (["--subnet", "10.1.0.0/24", "--gateway", "10.1.0.255", "x"], ["--gateway"]),
    (["--subnet", "10.9.0.0/16", "x"], ["overlaps", "10.9.1.0/24", "taken"]),
    (["--subnet", "172.30.5.0/24", "x"], ["overlaps", "bridge"]),
    (["taken"], ["already exists"]),
    (["host"], ["reserved"]),
    (["bad/name"], ["invalid network name"]),
    (["--driver", "macvlan", "x"], ["--driver", "macvlan"]),
    (["--ip-range", "10.1.0.0/28", "x"], ["--ip-range", "needs --subnet"]),
    (["-o", "com.docker.network.bridge.enable_icc=false", "x"], ["--opt", "enable_icc"]),
    (["--opt", "mtu", "x"], ["--opt", "'mtu'"]),
    (["-o", "com.docker.network.driver.mtu=0", "x"], ["driver.mtu", "0", "not an MTU"]),
    (["-o", "mtu=67", "x"], ["driver.mtu", "67", "68 to 65535"]),
    (["-o", "mtu=65536", "x"], ["driver.mtu", "65536", "68 to 65535"]),
    (["-o", "mtu=1e3", "x"], ["driver.mtu", "1e3", "not an integer"]),
    (["--ipv6", "-o", "mtu=1000", "x"], ["driver.mtu", "1000", "1280"]),
    (["-o", "com.docker.network.bridge.name=a/b", "x"], ["bridge.name", "a/b"]),
    (["-o", "com.docker.network.bridge.name=0123456789abcdef", "x"], ["bridge.name"]),
    (["-o", "com.docker.network.bridge.name=", "x"], ["bridge.name"]),
    (["-o", "com.docker.network.bridge.name=vs-mine", "x"], ["bridge.name", "vs-mine"]),
    (["-o", "com.docker.network.bridge.name=vessel0", "x"], ["bridge.name", "vessel0"]),
    (["-o", "com.docker.network.bridge.name=lo", "x"], ["bridge.name", "lo", "exists"]),
    (["--subnet", "10.1.0.0/24", "--ip-range", "10.1.1.0/28", "x"],
     ["--ip-range", "10.1.1.0/28", "not inside", "10.1.0.0/24"]),
    (["--subnet", "10.1.0.0/24", "--ip-range", "10.1.0.0/16", "x"], ["--ip-range", "not inside"]),
    (["--subnet", "10.1.0.0/24", "--ip-range", "10.1.0.5/28", "x"], ["--ip-range", "host bits"]),
])
def test_create_bad_input(net, args, mentions):
    net.ok("network", "create", "--subnet", "10.9.1.0/24", "taken")
    before = net.ok("network", "ls", "-q")
    res = net("network", "create", *args)
    helpers.assert_error(res, *mentions)
    helpers.assert_one_error_line(res)
    assert net.ok("network", "ls", "-q") == before


def test_ip_range_labels_and_ls_filters(net):
    # --ip-range: addresses come only from it (the subnet's broadcast stays
    # out), then a clear error; --ip may still take any host address.
    rid = net.ok("network", "create", "--subnet", "10.21.0.0/24", "--ip-range", "10.21.0.252/30",
                 "--label", "team=red", "--label", "tier", "ranged").strip()
    n = net.net("ranged")
    assert n["IPAM"]["Config"] == [{"Subnet": "10.21.0.0/24", "IPRange": "10.21.0.252/30",
                                    "Gateway": "10.21.0.1"}]
    assert n["Labels"] == {"team": "red", "tier": ""}
    for i in range(3):
        net.ok("run", "-d", "--name", f"r{i}", "--network", "ranged", "busybox", "sleep", "60")
    got = sorted(e["IPv4Address"] for e in net.net("ranged")["Containers"].values())
    assert got == ["10.21.0.252/24", "10.21.0.253/24", "10.21.0.254/24"]
    res = net("run", "--name", "r3", "--network", "ranged", "busybox", "true")
    helpers.assert_error(res, "no free address", "10.21.0.252/30")
    net("rm", "-f", "r3")
    out = net.ok("run", "--rm", "--network", "ranged", "--ip", "10.21.0.9", "busybox", "ip",
                 "-4", "addr", "show", "eth0")
    assert "inet 10.21.0.9/24" in out, out
    net.ok("rm", "-f", "r0", "r1", "r2")

    # ls: -q, --no-trunc, --filter (values of one key OR, keys AND).
    bid = net.ok("network", "create", "--label", "team=blue", "blue").strip()
    did = net.net("bridge")["Id"]

    def ls(*flags):
        return sorted(net.ok("network", "ls", "-q", "--no-trunc", *flags).split())

    pre = [net.net("host")["Id"], net.net("none")["Id"]]
    assert ls() == sorted([rid, bid, did, *pre])
    assert net.ok("network", "ls", "-q", "--filter", "name=rang") == rid[:12] + "\n"
    assert ls("--filter", "name=rang") == [rid]
    assert ls("--filter", "name=rang", "--filter", "name=blu") == sorted([rid, bid])
    assert ls("--filter", f"id={bid[:6]}") == [bid]
    assert ls("--filter", "label=team") == sorted([rid, bid])
    assert ls("--filter", "label=team=red") == [rid]
    assert ls("--filter", "label=tier") == [rid]
    assert ls("--filter", "label=team=green") == []
    assert ls("--filter", "label=team", "--filter", "name=blue") == [bid]
    assert ls("-f", "driver=bridge") == sorted([rid, bid, did])
    assert ls("--filter", "driver=macvlan") == []
    table = net.ok("network", "ls", "--no-trunc", "--filter", "name=blue")
    assert re.search(rf"^{bid}\s+blue\s+bridge\s+local$", table, re.M), table
    one_error(net("network", "ls", "--filter", "color=red"), "--filter", "color=red")
    one_error(net("network", "ls", "--filter", "name"), "--filter", "name")
    net.ok("network", "rm", "ranged", "blue")


@pytest.mark.parametrize("args, mentions", [
    (["--network", "nosuch"], ["--network", "no such network", "nosuch"]),
    (["--network", "app", "--ip", "10.3.0.300"], ["--ip", "10.3.0.300"]),
    (["--network", "app", "--ip", "10.4.0.2"], ["--ip", "10.4.0.2", "app"]),
    (["--network", "app", "--ip", "10.3.0.1"], ["--ip", "10.3.0.1"]),
    (["--network", "none", "--ip", "10.3.0.2"], ["--ip"]),
])
def test_run_bad_network_input(net, args, mentions):
    net.ok("network", "create", "--subnet", "10.3.0.0/24", "app")
    res = net("run", "--rm", *args, "busybox", "true")
    one_error(res, *mentions)
    assert net.records() == []
    assert net.leases() == {}


def test_rm_of_network_in_use_is_refused(net):
    net.ok("network", "create", "--subnet", "10.3.0.0/24", "app")
    net.ok("run", "-d", "--name", "user1", "--network", "app", "busybox", "sleep", "60")
    one_error(net("network", "rm", "app"), "app", "in use", "user1")
    assert "app" in net.ok("network", "ls")
    net.ok("rm", "-f", "user1")
    net.ok("network", "rm", "app")


# --------------------------------------------------------------------------
# containers on networks


def test_two_containers_reach_each_other_by_ip_and_name(net):
    net.ok("network", "create", "--subnet", "10.30.0.0/24", "app")
    net.ok("run", "-d", "--name", "web", "--network", "app", "busybox",
           "sh", "-c", "echo served-by-web > /tmp/index.html; exec httpd -f -p 80 -h /tmp")
    # Started later, resolvable from the one started earlier (and back).
    net.ok("run", "-d", "--name", "client", "--hostname", "cli", "--network", "app",
           "busybox", "sleep", "60")
    ctrs = net.net("app")["Containers"]
    addrs = {c["Name"]: c["IPv4Address"] for c in ctrs.values()}
    assert set(addrs) == {"web", "client"}
    for a in addrs.values():
        assert re.fullmatch(r"10\.30\.0\.\d+/24", a), addrs
    web_ip, client_ip = addrs["web"].split("/")[0], addrs["client"].split("/")[0]
    ns = json.loads(net.ok("inspect", "client"))[0]["NetworkSettings"]
    assert ns["IPAddress"] == client_ip and ns["Gateway"] == "10.30.0.1"
    assert ns["Networks"]["app"]["IPAddress"] == client_ip
    assert ns["Networks"]["app"]["IPPrefixLen"] == 24
    assert web_ip != client_ip
    assert f"inet {client_ip}/24" in net.ok("exec", "client", "ip", "-4", "addr", "show", "eth0")
    # Default route via the gateway, the bridge's address.
    assert "default via 10.30.0.1" in net.ok("exec", "client", "ip", "route")

    for target in (web_ip, "web"):
        out = net.ok("exec", "client", "ping", "-c", "1", "-W", "5", target)
        assert f"from {web_ip}" in out, out
        assert net.ok("exec", "client", "wget", "-qO-",
                      f"http://{target}/index.html") == "served-by-web\n"
    out = net.ok("exec", "web", "ping", "-c", "1", "-W", "5", "client")
    assert f"from {client_ip}" in out, out
    hosts = net.ok("exec", "client", "cat", "/etc/hosts")
    assert re.search(rf"^{re.escape(client_ip)}\s+cli client$", hosts, re.M), hosts
    assert net.ok("exec", "client", "hostname") == "cli\n"

    # A peer's removal takes its name out of the others' hosts files.
    net.ok("rm", "-f", "web")
    assert "web" not in net.ok("exec", "client", "cat", "/etc/hosts")
    assert set(net.leases()["app"]) == set(ctrs) - {k for k, v in ctrs.items()
                                                     if v["Name"] == "web"}


def test_default_bridge_network_and_fixed_ip(net):
    out = net.ok("run", "--rm", "--network", "bridge", "busybox", "ip", "-4", "addr", "show",
                 "eth0")
    assert re.search(r"inet 172\.30\.\d+\.\d+/16", out), out
    assert "vessel0" in net.ip("-o", "link")
    assert "inet 172.30.0.1/16" in net.ip("-4", "addr", "show", "vessel0")
    out = net.ok("run", "--rm", "--network", "bridge", "--ip", "172.30.7.7", "busybox",
                 "ip", "-4", "addr", "show", "eth0")
    assert "inet 172.30.7.7/16" in out, out
    # The host side of the namespace reaches the container through vessel0.
    net.ok("run", "-d", "--name", "pingme", "--network", "bridge", "--ip", "172.30.9.9",
           "busybox", "sleep", "60")
    subprocess.run(["ip", "netns", "exec", net.netns, "busybox", "ping", "-c", "1", "-W", "5",
                    "172.30.9.9"], check=True, capture_output=True)
    # The same --ip twice.
    one_error(net("run", "--rm", "--network", "bridge", "--ip", "172.30.9.9", "busybox",
                  "true"), "172.30.9.9", "in use")


def test_address_exhaustion_is_a_clear_error(net):
    # A /30: two host addresses, one of them the gateway.
    net.ok("network", "create", "--subnet", "10.40.0.0/30", "tiny")
    net.ok("run", "-d", "--name", "only", "--network", "tiny", "busybox", "sleep", "60")
    assert net.net("tiny")["Containers"][net.ok("inspect", "-f", "{{.Id}}", "only").strip()
                                         ]["IPv4Address"] == "10.40.0.2/30"
    res = net("run", "--name", "second", "--network", "tiny", "busybox", "true")
    helpers.assert_error(res, "no free address", "tiny")
    net("rm", "-f", "second")
    net.ok("rm", "-f", "only")
    net.ok("run", "--rm", "--network", "tiny", "busybox", "true")


def test_rm_and_killed_monitor_leave_nothing(net):
    net.ok("network", "create", "--subnet", "10.50.0.0/24", "app")
    net.ok("run", "-d", "--name", "a", "--network", "app", "busybox", "sleep", "60")
    net.ok("create", "--name", "b", "--network", "app", "busybox", "sleep", "60")
    assert len(net.veths()) == 1
    assert len(net.leases()["app"]) == 1  # b never started: no lease yet
    net.ok("start", "b")
    assert len(net.veths()) == 2 and len(net.leases()["app"]) == 2
    # kill -9 of a's monitor, then rm -f: veth and lease go.
    mon = json.loads(net.ok("inspect", "a"))[0]["MonitorPid"]
    os.kill(mon, 9)
    helpers.wait_for(lambda: not os.path.exists(f"/proc/{mon}"), what="monitor gone")
    net.ok("rm", "-f", "a")
    net.ok("stop", "-t", "0", "b")
    # A stopped container keeps its address; its veth dies with its
    # namespace, which the kernel tears down asynchronously (cleanup_net).
    assert len(net.leases()["app"]) == 1
    helpers.wait_for(lambda: net.veths() == [], what="b's veth gone with its namespace")
    net.ok("start", "b")
    assert len(net.veths()) == 1
    net.ok("rm", "-f", "b")
    assert net.veths() == [] and net.leases() == {}


def test_leases_in_files_of_their_own(net):
    """Leases live in networks/leases/<container id>.json: a start writes its file and leaves
    networks.json alone, rm unlinks it; a networks.json of an earlier vessel (endpoints
    inside) is read, its addresses not handed out again, and moved to lease files; a torn
    lease file and a killed writer's temporary file are removed at the next open."""
    d = net.data_root / "networks"
    net.ok("network", "create", "--subnet", "10.51.0.0/24", "app")
    ids = [net.ok("run", "-d", "--name", n, "--network", "app", "busybox", "sleep", "60").strip()
           for n in ("a", "b")]
    assert sorted(p.name for p in (d / "leases").iterdir()) == sorted(i + ".json" for i in ids)
    nets = json.loads((d / "networks.json").read_text())["networks"]
    assert all(n["Endpoints"] == {} for n in nets), nets
    before = (d / "networks.json").stat()
    c = net.ok("run", "-d", "--name", "c", "--network", "app", "busybox", "sleep", "60").strip()
    after = (d / "networks.json").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    ids.append(c)
    # As an earlier vessel left it: every endpoint in networks.json, no leases/.
    data = json.loads((d / "networks.json").read_text())
    by_id = {n["Id"]: n for n in data["networks"]}
    for cid in ids:
        for nid, ep in json.loads((d / "leases" / f"{cid}.json").read_text()).items():
            by_id[nid]["Endpoints"][cid] = ep
    shutil.rmtree(d / "leases")
    (d / "networks.json").write_text(json.dumps(data))
    taken = {ep["IP"] for ep in net.leases()["app"].values()}
    assert len(taken) == 3
    assert sorted(net.net("app")["Containers"]) == sorted(ids)
    new = net.ok("run", "-d", "--name", "n", "--network", "app", "busybox", "sleep", "60").strip()
    ip = json.loads(net.ok("inspect", "n"))[0]["NetworkSettings"]["IPAddress"]
    assert ip not in taken, (ip, taken)
    nets = json.loads((d / "networks.json").read_text())["networks"]
    assert all(n["Endpoints"] == {} for n in nets), nets
    assert len(list((d / "leases").iterdir())) == 4
    # A torn file (a machine crash) and a temporary one (a kill -9): gone at the next open.
    torn = d / "leases" / ("f" * 64 + ".json")
    torn.write_text('{"x": ')
    tmp = d / "leases" / f"{new}.json.tmp.999999"
    tmp.write_text("{}")
    net.ok("network", "ls")
    assert not torn.exists() and not tmp.exists()
    net.ok("rm", "-f", "a", "b", "c", "n")
    assert list((d / "leases").iterdir()) == []
    net.ok("network", "rm", "app")


def test_prune_reclaims_a_lease_whose_container_is_gone(net):
    net.ok("network", "create", "--subnet", "10.60.0.0/24", "app")
    net.ok("run", "--name", "gone", "--network", "app", "busybox", "true")
    cid = net.ok("inspect", "-f", "{{.Id}}", "gone").strip()
    assert cid in net.leases()["app"]
    # The container vanishes without `rm` (a crash in the middle of a removal).
    shutil.rmtree(net.data_root / "containers" / cid)
    # network prune reclaims the lease and removes the network no container
    # uses (system prune does both too, as Docker's: test_docker_compat.py).
    net.ok("network", "prune", "-f")
    assert net.leases() == {}
    assert "app" not in net.ok("network", "ls")


# --------------------------------------------------------------------------
# published ports


def nft_rules(net, family="ip"):
    res = subprocess.run(["ip", "netns", "exec", net.netns, "nft", "list", "table", family,
                          "vessel"], capture_output=True, text=True)
    return res.stdout if res.returncode == 0 else ""


@pytest.fixture
def outside(net):
    """A second namespace joined to the test's by a veth: 192.0.2.2 there,
    192.0.2.1 on the test namespace's side (traffic "from outside")."""
    ns = f"vs-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        run = lambda *a: subprocess.run(list(a), check=True, capture_output=True)  # noqa: E731
        run("ip", "-n", net.netns, "link", "add", "vsout0", "type", "veth", "peer", "name",
            "eth0", "netns", ns)
        run("ip", "-n", net.netns, "addr", "add", "192.0.2.1/24", "dev", "vsout0")
        run("ip", "-n", net.netns, "link", "set", "vsout0", "up")
        run("ip", "-n", ns, "addr", "add", "192.0.2.2/24", "dev", "eth0")
        run("ip", "-n", ns, "link", "set", "eth0", "up")
        run("ip", "-n", ns, "link", "set", "lo", "up")
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def wget_in(ns, url):
    res = subprocess.run(["ip", "netns", "exec", ns, "busybox", "wget", "-qO-", url],
                         capture_output=True, text=True, timeout=20)
    assert res.returncode == 0, f"wget {url} in {ns}: {res.stderr}"
    return res.stdout


def test_publish_restores_the_table_someone_flushed(net):
    """The table's setup runs only when the listing shows it is not as the
    setup leaves it: after `nft flush chain ... prerouting` (the jump to
    the ports chain gone) and after `nft delete table`, the next -p puts it
    back and the port answers."""
    nft = lambda *a: subprocess.run(["ip", "netns", "exec", net.netns, "nft", *a],  # noqa: E731
                                    check=True, capture_output=True)
    serve = "echo t > /tmp/i.html; exec httpd -f -p 80 -h /tmp"
    for breakage in (["flush", "chain", "ip", "vessel", "prerouting"],
                     ["delete", "table", "ip", "vessel"]):
        net.ok("run", "-d", "--name", "warm", "--network", "bridge", "-p", "8097:80", "busybox",
               "sleep", "600")
        net.ok("rm", "-f", "warm")
        nft(*breakage)
        net.ok("run", "-d", "--name", "web", "--network", "bridge", "-p", "8098:80", "busybox",
               "sh", "-c", serve)
        rules = nft_rules(net)
        assert rules.count("fib daddr type local jump ports") == 2, rules
        assert "tcp dport 8098 dnat to" in rules, rules
        if breakage[0] == "flush":
            # (A deleted table also lost the network's own NAT rules, made
            # once per network: docs/networking.md.)
            helpers.wait_for(lambda: subprocess.run(
                ["ip", "netns", "exec", net.netns, "busybox", "wget", "-qO-",
                 "http://127.0.0.1:8098/i.html"], capture_output=True).returncode == 0,
                what=f"the published port after nft {' '.join(breakage)}")
        net.ok("rm", "-f", "web")


def test_nftables_failure_is_one_line_and_rm_leaves_nothing(net):
    """The nftables transactions run in a helper process (src/net/nft.c):
    its failure still reaches the user as one line with nft's own reason,
    the run fails, and rm removes the container's lease and rules. Here a
    chain of the wrong type, made by someone else, blocks the table's setup."""
    subprocess.run(["ip", "netns", "exec", net.netns, "nft", "add", "table", "ip", "vessel"],
                   check=True)
    subprocess.run(["ip", "netns", "exec", net.netns, "nft", "add", "chain", "ip", "vessel",
                    "prerouting", "{ type filter hook prerouting priority 0; }"], check=True)
    res = net("run", "-d", "--name", "p", "--network", "bridge", "-p", "8099:80", "busybox",
              "sleep", "600")
    assert res.returncode == 125, res.describe()
    one_error(res, "nftables", "table ip vessel")
    assert "prerouting" in nft_rules(net) and "dnat" not in nft_rules(net)
    net.ok("rm", "-f", "p")
    subprocess.run(["ip", "netns", "exec", net.netns, "nft", "delete", "table", "ip", "vessel"],
                   check=True)


def test_published_port_answers_on_loopback_host_and_outside(net, outside):
    cid = net.ok("run", "-d", "--name", "web", "--network", "bridge", "-p", "8080:80",
                 "-p", "127.0.0.1:8081:80", "-p", "9000:9000/udp", "busybox", "sh", "-c",
                 "echo published > /tmp/i.html; exec httpd -f -p 80 -h /tmp").strip()
    ip = net.net("bridge")["Containers"][cid]["IPv4Address"].split("/")[0]
    ports = json.loads(net.ok("inspect", "web"))[0]["NetworkSettings"]["Ports"]
    assert ports["80/tcp"] == [{"HostIp": "", "HostPort": "8080"},
                               {"HostIp": "127.0.0.1", "HostPort": "8081"}]
    rules = nft_rules(net)
    assert f'tcp dport 8080 dnat to {ip}:80 comment "vessel:{cid}"' in rules, rules
    assert f'udp dport 9000 dnat to {ip}:9000 comment "vessel:{cid}"' in rules, rules
    assert f'ip daddr 127.0.0.1 tcp dport 8081 dnat to {ip}:80' in rules, rules
    assert "masquerade" in rules
    helpers.wait_for(lambda: subprocess.run(
        ["ip", "netns", "exec", net.netns, "busybox", "wget", "-qO-",
         "http://127.0.0.1:8080/i.html"], capture_output=True).returncode == 0,
        what="httpd on the published port")
    assert wget_in(net.netns, "http://127.0.0.1:8080/i.html") == "published\n"
    assert wget_in(net.netns, "http://127.0.0.1:8081/i.html") == "published\n"
    assert wget_in(net.netns, "http://172.30.0.1:8080/i.html") == "published\n"
    assert wget_in(net.netns, "http://192.0.2.1:8080/i.html") == "published\n"
    # From another namespace, through the test namespace's address.
    assert wget_in(outside, "http://192.0.2.1:8080/i.html") == "published\n"
    # Bound to 127.0.0.1 only: not from outside.
    res = subprocess.run(["ip", "netns", "exec", outside, "busybox", "wget", "-qO-",
                          "http://192.0.2.1:8081/i.html"], capture_output=True, timeout=20)
    assert res.returncode != 0
    net.ok("rm", "-f", "web")
    assert cid not in nft_rules(net)
    assert "dnat to" not in nft_rules(net)


def test_port_conflict_and_bad_specs(net):
    net.ok("run", "-d", "--name", "first", "--network", "bridge", "-p", "8080:80", "busybox",
           "sleep", "60")
    res = net("run", "--name", "second", "--network", "bridge", "-p", "8080:81", "busybox",
              "true")
    one_error(res, "8080", "already published", "first")
    net("rm", "-f", "second")
    assert len(net.leases()["bridge"]) == 1
    for spec, mention in [("0:80", "'0'"), ("70000:80", "70000"), ("8080:80/sctp", "sctp"),
                          (":80", "HOSTPORT"), ("300.1.1.1:80:80", "300.1.1.1"),
                          ("8000-8001:80-82", "differ in length"), ("82-80", "ends before"),
                          ("8000-x:80", "'x'")]:
        res = net("run", "--rm", "--network", "bridge", "-p", spec, "busybox", "true")
        one_error(res, "-p", mention)
    one_error(net("run", "--rm", "-p", "8081:80", "busybox", "true"), "-p", "--network")
    assert len(net.leases()["bridge"]) == 1


@pytest.fixture
def outside_httpd(outside, tmp_path):
    d = tmp_path / "www"
    d.mkdir()
    (d / "o.html").write_text("outside\n")
    p = subprocess.Popen(["ip", "netns", "exec", outside, "busybox", "httpd", "-f", "-p",
                          "192.0.2.2:80", "-h", str(d)])
    try:
        helpers.wait_for(lambda: subprocess.run(
            ["ip", "netns", "exec", outside, "busybox", "wget", "-qO-",
             "http://192.0.2.2/o.html"], capture_output=True).returncode == 0,
            what="httpd outside")
        yield "http://192.0.2.2/o.html"
    finally:
        p.kill()
        p.wait()


def test_outbound_is_masqueraded_and_internal_has_no_way_out(net, outside_httpd):
    # The outside namespace has no route to the containers' subnet: an
    # answer comes back only when the source was rewritten.
    out = net.ok("run", "--rm", "--network", "bridge", "busybox", "wget", "-qO-", outside_httpd)
    assert out == "outside\n"
    net.ok("network", "create", "--subnet", "10.70.0.0/24", "--internal", "sealed")
    res = net("run", "--rm", "--network", "sealed", "busybox", "wget", "-qO-", outside_httpd)
    assert res.returncode != 0 and "unreachable" in res.stderr, res.describe()
    assert "default" not in net.ok("run", "--rm", "--network", "sealed", "busybox", "ip",
                                   "route")


MSS_SERVER = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.2", 8181))
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
mss = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
c.recv(4096)
c.sendall(b"HTTP/1.0 200 OK\r\n\r\n%d\n" % mss)
c.close()
"""


def test_mtu_default_option_and_mss_clamp(net, outside):
    """A bridge network's links take its MTU: 65520 by default (the bridge,
    the host end, the container's eth0), or --opt
    com.docker.network.driver.mtu / podman's mtu; inspect shows it. TCP
    leaving through another interface gets that route's MSS: an outside
    host whose own MTU is 9000, behind the test namespace's 1500 uplink,
    is told at most 1460 by a container whose eth0 says 65520 (without the
    clamp it would use 8960 and its segments could not pass the uplink)."""
    net.ok("run", "-d", "--name", "b1", "--network", "bridge", "busybox", "sleep", "60")
    assert net.ok("exec", "b1", "cat", "/sys/class/net/eth0/mtu") == "65520\n"
    assert "mtu 65520" in net.ip("link", "show", "vessel0")
    assert all("mtu 65520" in net.ip("link", "show", v) for v in net.veths())
    net.ok("rm", "-f", "b1")
    assert net.net("bridge")["Options"]["com.docker.network.driver.mtu"] == "65520"
    net.ok("network", "create", "-o", "com.docker.network.driver.mtu=1400", "small")
    net.ok("network", "create", "-o", "mtu=9000", "--internal", "jumbo")
    assert net.net("small")["Options"]["com.docker.network.driver.mtu"] == "1400"
    net.ok("run", "-d", "--name", "s1", "--network", "small", "busybox", "sleep", "60")
    assert net.ok("exec", "s1", "cat", "/sys/class/net/eth0/mtu") == "1400\n"
    host_end = [v for v in net.veths() if "mtu 1400" in net.ip("link", "show", v)]
    assert len(host_end) == 1, net.ip("-o", "link")
    assert net.ok("run", "--rm", "--network", "jumbo", "busybox", "cat",
                  "/sys/class/net/eth0/mtu") == "9000\n"
    # The clamp: one rule per network that forwards out (not the internal one).
    rules = nft_rules(net)
    clamps = [ln for ln in rules.splitlines() if "maxseg size set rt mtu" in ln]
    jumbo_id = net.net("jumbo")["Id"]
    assert clamps and not any(jumbo_id in ln for ln in clamps), rules
    subprocess.run(["ip", "-n", outside, "link", "set", "eth0", "mtu", "9000"], check=True)
    srv = subprocess.Popen(["ip", "netns", "exec", outside, "python3", "-c", MSS_SERVER],
                           stdout=subprocess.PIPE, text=True)
    try:
        assert srv.stdout.readline() == "ready\n"
        mss = int(net.ok("run", "--rm", "--network", "bridge", "busybox", "wget", "-qO-",
                         "http://192.0.2.2:8181/"))
        assert 0 < mss <= 1460, mss
    finally:
        srv.kill()
        srv.wait()
    net.ok("rm", "-f", "s1")


def test_networks_are_isolated_from_each_other(net):
    red = net.ok("network", "create", "--subnet", "10.81.0.0/24", "red").strip()
    # blue and green have bridges named by --opt: isolated all the same.
    blue = net.ok("network", "create", "--subnet", "10.82.0.0/24", "-o",
                  "com.docker.network.bridge.name=blue0", "blue").strip()
    green = net.ok("network", "create", "--subnet", "10.83.0.0/24", "--opt",
                   "com.docker.network.bridge.name=br-green", "green").strip()
    assert net.net("blue")["Options"]["com.docker.network.bridge.name"] == "blue0"
    net.ok("run", "-d", "--name", "r1", "--network", "red", "busybox", "sleep", "60")
    net.ok("run", "-d", "--name", "r2", "--network", "red", "busybox", "sleep", "60")
    net.ok("run", "-d", "--name", "b1", "--network", "blue", "busybox", "sleep", "60")
    net.ok("run", "-d", "--name", "g1", "--network", "green", "busybox", "sleep", "60")
    net.ok("run", "-d", "--name", "d1", "--network", "bridge", "busybox", "sleep", "60")
    assert "inet 10.82.0.1/24" in net.ip("-4", "addr", "show", "blue0")
    assert "inet 10.83.0.1/24" in net.ip("-4", "addr", "show", "br-green")
    ip = {n: json.loads(net.ok("inspect", n))[0]["NetworkSettings"]["IPAddress"]
          for n in ("r1", "r2", "b1", "g1", "d1")}
    net.ok("exec", "r1", "ping", "-c", "1", "-W", "3", ip["r2"])
    # The host side still reaches every network (through its bridges).
    for n in ("r1", "b1", "g1", "d1"):
        subprocess.run(["ip", "netns", "exec", net.netns, "busybox", "ping", "-c", "1", "-W",
                        "3", ip[n]], check=True, capture_output=True)
    for src, dst in (("r1", "b1"), ("b1", "r1"), ("r1", "d1"), ("d1", "b1"), ("b1", "g1"),
                     ("g1", "d1")):
        res = net("exec", src, "ping", "-c", "1", "-W", "2", ip[dst])
        assert res.returncode != 0, f"{src} reached {dst}:\n{res.describe()}"
    rules = nft_rules(net)
    assert "oifgroup 0x007e55e1" in rules or "oifgroup 8279521" in rules, rules
    net.ok("rm", "-f", "r1", "r2", "b1", "g1", "d1")
    net.ok("network", "rm", "red", "blue", "green")
    # The networks' rules and bridges went with them; the default network's stay.
    rules = nft_rules(net)
    assert red not in rules and blue not in rules and green not in rules, rules
    links = net.ip("-o", "link")
    assert "blue0" not in links and "br-green" not in links, links
    assert net.net("bridge")["Id"] in rules


# --------------------------------------------------------------------------
# several networks, connect/disconnect, aliases


def hosts_of(net, ctr):
    return net.ok("exec", ctr, "cat", "/etc/hosts")


def reaches(net, src, dst):
    return net("exec", src, "ping", "-c", "1", "-W", "2", dst).returncode == 0


def test_several_networks_connect_disconnect_and_aliases(net):
    net.ok("network", "create", "--subnet", "10.31.0.0/24", "front")
    net.ok("network", "create", "--subnet", "10.32.0.0/24", "back")
    net.ok("run", "-d", "--name", "web", "--network", "front", "--network-alias", "www",
           "busybox", "sleep", "60")
    net.ok("run", "-d", "--name", "both", "--network", "front", "--network", "back",
           "busybox", "sleep", "60")
    # Started later, on back only.
    net.ok("run", "-d", "--name", "late", "--network", "back", "busybox", "sleep", "60")
    nets = json.loads(net.ok("inspect", "both"))[0]["NetworkSettings"]["Networks"]
    assert set(nets) == {"front", "back"}, nets
    # ps shows every network (Docker joins them with commas)
    assert net.ok("ps", "--filter", "name=^both$", "--format", "{{.Networks}}") == "front,back\n"
    assert net.ok("ps", "--filter", "network=back", "--format", "{{.Names}}").split() == \
        ["late", "both"]
    assert nets["front"]["IPAddress"].startswith("10.31.0.")
    assert nets["back"]["IPAddress"].startswith("10.32.0.")
    addrs = net.ok("exec", "both", "ip", "-4", "-o", "addr")
    assert re.search(r"eth0\s+inet 10\.31\.0\.\d+/24", addrs), addrs
    assert re.search(r"eth1\s+inet 10\.32\.0\.\d+/24", addrs), addrs
    # One default route, through the first network.
    assert net.ok("exec", "both", "ip", "route").count("default") == 1
    assert "default via 10.31.0.1" in net.ok("exec", "both", "ip", "route")
    assert len(net.veths()) == 4
    # Names and aliases on both of its networks; the alias only on front.
    for target in ("web", "www", "late"):
        assert reaches(net, "both", target), target
    assert reaches(net, "late", "both")
    assert "www" not in hosts_of(net, "late")
    assert not reaches(net, "late", "web")  # different networks, isolated

    # connect a running container, with a fixed address and an alias.
    one_error(net("network", "connect", "--ip", "10.31.0.9", "back", "web"), "--ip",
              "10.31.0.9")
    assert "eth1" not in net.ok("exec", "web", "ip", "-o", "link")
    net.ok("network", "connect", "--ip", "10.32.0.50", "--alias", "cache", "back", "web")
    addrs = net.ok("exec", "web", "ip", "-4", "-o", "addr")
    assert re.search(r"eth1\s+inet 10\.32\.0\.50/24", addrs), addrs
    nets = json.loads(net.ok("inspect", "web"))[0]["NetworkSettings"]["Networks"]
    assert nets["back"]["IPAddress"] == "10.32.0.50" and nets["back"]["Aliases"] == ["cache"]
    # The earlier container resolves it at once, by name and alias.
    assert re.search(r"^10\.32\.0\.50\s+web cache$", hosts_of(net, "late"), re.M)
    for target in ("web", "cache", "10.32.0.50"):
        assert reaches(net, "late", target), target
    assert "late" in hosts_of(net, "web")
    cid = net.ok("inspect", "-f", "{{.Id}}", "web").strip()
    assert cid in net.net("back")["Containers"]
    one_error(net("network", "connect", "back", "web"), "already connected", "back")
    one_error(net("network", "connect", "nosuch", "web"), "no such network", "nosuch")
    one_error(net("network", "connect", "back", "nosuchctr"), "nosuchctr")

    # disconnect: interface, names and lease go; front stays.
    net.ok("network", "disconnect", "back", "web")
    assert "eth1" not in net.ok("exec", "web", "ip", "-o", "link")
    assert "cache" not in hosts_of(net, "late") and "web" not in hosts_of(net, "late")
    assert "late" not in hosts_of(net, "web")
    assert not reaches(net, "late", "10.32.0.50")
    assert cid not in net.net("back")["Containers"]
    assert reaches(net, "both", "web")
    one_error(net("network", "disconnect", "back", "web"), "not connected", "back")
    helpers.wait_for(lambda: len(net.veths()) == 4, what="web's second veth gone")

    # A stopped container keeps its networks and comes back on both.
    net.ok("stop", "-t", "0", "both")
    net.ok("start", "both")
    addrs = net.ok("exec", "both", "ip", "-4", "-o", "addr")
    assert "eth0" in addrs and "eth1" in addrs, addrs
    assert reaches(net, "late", "both")
    # A created container connected before its start gets both at start.
    net.ok("create", "--name", "fresh", "--network", "front", "busybox", "sleep", "60")
    net.ok("network", "connect", "back", "fresh")
    net.ok("start", "fresh")
    assert "eth1" in net.ok("exec", "fresh", "ip", "-o", "link")
    assert reaches(net, "late", "fresh")
    one_error(net("network", "rm", "back"), "in use")
    net.ok("rm", "-f", "web", "both", "late", "fresh")
    assert net.leases() == {}
    net.ok("network", "rm", "front", "back")


def test_connect_refused_for_none_host_and_container_modes(net):
    net.ok("network", "create", "--subnet", "10.33.0.0/24", "app")
    net.ok("run", "-d", "--name", "lonely", "--network", "none", "busybox", "sleep", "60")
    one_error(net("network", "connect", "app", "lonely"), "lonely", "--network none")
    # The default (loopback-only) mode joins like a bridge network would.
    net.ok("run", "-d", "--name", "plain", "busybox", "sleep", "60")
    net.ok("network", "connect", "app", "plain")
    assert re.search(r"eth0\s+inet 10\.33\.0\.\d+", net.ok("exec", "plain", "ip", "-4", "-o",
                                                          "addr"))
    assert net.leases()["app"]
    net.ok("rm", "-f", "plain", "lonely")


# --------------------------------------------------------------------------
# container:ID, /etc files, MAC


def test_container_mode_etc_flags_and_mac(net):
    net.ok("run", "-d", "--name", "web", "--network", "bridge", "--hostname", "webhost",
           "--add-host", "db.local:10.9.9.9", "--add-host", "v6.local=fd00::1",
           "--add-host", "host.vessel.internal:host-gateway",
           "--dns", "192.0.2.53", "--dns-search", "example.test", "--dns-option", "ndots:2",
           "--mac-address", "02:42:ac:1e:00:99", "busybox", "sh", "-c",
           "echo shared > /tmp/i.html; exec httpd -f -p 80 -h /tmp")
    hosts = hosts_of(net, "web")
    assert re.search(r"^10\.9\.9\.9\s+db\.local$", hosts, re.M), hosts
    assert re.search(r"^fd00::1\s+v6\.local$", hosts, re.M), hosts
    assert re.search(r"^172\.30\.0\.1\s+host\.vessel\.internal$", hosts, re.M), hosts
    resolv = net.ok("exec", "web", "cat", "/etc/resolv.conf")
    assert [l for l in resolv.splitlines() if l.startswith("nameserver")] == \
        ["nameserver 192.0.2.53"], resolv
    assert "search example.test" in resolv and "options ndots:2" in resolv, resolv
    assert "02:42:ac:1e:00:99" in net.ok("exec", "web", "ip", "link", "show", "eth0")
    ns = json.loads(net.ok("inspect", "web"))[0]["NetworkSettings"]
    assert ns["MacAddress"] == "02:42:ac:1e:00:99"
    # container:web shares its namespace (its loopback), hosts and hostname.
    helpers.wait_for(lambda: net("exec", "web", "wget", "-qO-", "http://127.0.0.1/i.html")
                     .returncode == 0, what="httpd in web")
    out = net.ok("run", "--rm", "--network", "container:web", "busybox", "sh", "-c",
                 "wget -qO- http://127.0.0.1/i.html; hostname; grep db.local /etc/hosts; "
                 "ip -o link | grep -c eth0")
    lines = out.splitlines()
    assert lines[0] == "shared" and lines[1] == "webhost", out
    assert "10.9.9.9" in lines[2] and lines[3] == "1", out
    assert len(net.veths()) == 1
    net.ok("stop", "-t", "0", "web")
    one_error(net("run", "--rm", "--network", "container:web", "busybox", "true"),
              "container:", "not running")
    net.ok("rm", "-f", "web")


def test_rm_container_veth_goes_even_when_a_joiner_holds_its_namespace(net):
    """A --rm container's monitor deletes its veth after the exit code (a
    veth's deletion waits for the kernel's RCU grace periods, so the user
    does not wait for it): also when another container keeps the namespace,
    and so the veth, alive, as Docker's removal does."""
    net.ok("run", "-d", "--rm", "--name", "donor", "--network", "bridge", "busybox",
           "sleep", "600")
    net.ok("run", "-d", "--name", "joiner", "--network", "container:donor", "busybox",
           "sleep", "600")
    assert len(net.veths()) == 1
    net.ok("stop", "-t", "0", "donor")
    helpers.wait_for(lambda: "donor" not in net.ok("ps", "-a", "--format", "{{.Names}}"),
                     what="donor removed")
    helpers.wait_for(lambda: net.veths() == [], timeout=5, what="donor's veth gone")
    assert net.leases() == {}, net.leases()
    # The joiner still runs in the namespace, without the donor's eth0.
    assert "eth0" not in net.ok("exec", "joiner", "ip", "-o", "link")
    net.ok("rm", "-f", "joiner")


@pytest.mark.parametrize("args, mentions", [
    (["--network", "container:nosuch"], ["--network", "nosuch"]),
    (["--network", "bridge", "--network", "none"], ["--network", "none", "combined"]),
    (["--network", "bridge", "--network", "bridge"], ["--network", "twice"]),
    (["--network", "container:x", "--hostname", "h"], ["--hostname", "conflicting"]),
    (["--network", "container:x", "-p", "80"], ["-p"]),
    (["--dns", "banana"], ["--dns", "banana"]),
    (["--dns-search", "a b"], ["--dns-search"]),
    (["--add-host", "nocolon"], ["--add-host", "nocolon"]),
    (["--add-host", "h:300.1.1.1"], ["--add-host", "300.1.1.1"]),
    (["--add-host", "h:host-gateway"], ["--add-host", "host-gateway", "--network"]),
    (["--network", "bridge", "--mac-address", "zz:zz"], ["--mac-address", "zz:zz"]),
    (["--network", "bridge", "--mac-address", "01:00:5e:00:00:01"], ["--mac-address",
                                                                    "multicast"]),
    (["--mac-address", "02:00:00:00:00:01"], ["--mac-address", "--network"]),
    (["--network-alias", "a"], ["--network-alias", "--network"]),
    # a newline or a space would add lines or names to every peer's hosts
    (["--network", "bridge", "--network-alias", "a\n10.9.9.9 evil"], ["--network-alias"]),
    (["--network", "bridge", "--network-alias", "a b"], ["--network-alias"]),
    (["--network", "bridge", "--hostname", "h\n10.9.9.9 evil"], ["--hostname"]),
    (["-P"], ["-P", "--network"]),
])
def test_bad_network_flags(net, args, mentions):
    net.ok("create", "--name", "x", "busybox", "true")
    res = net("run", "--rm", *args, "busybox", "true")
    one_error(res, *mentions)
    assert len(net.records()) == 1 and net.leases() == {}
    net.ok("rm", "x")


# --------------------------------------------------------------------------
# ports: ranges, random host ports, -P, `port`, ps, host listeners, hairpin, udp


def port_lines(net, *args):
    return sorted(net.ok("port", *args).splitlines())


def ephemeral(port):
    return 32768 <= int(port) <= 60999


UDP_ASK = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
for _ in range(5):
    s.sendto(b"ping\\n", (sys.argv[1], int(sys.argv[2])))
    try:
        print(s.recv(100).decode().strip())
        break
    except socket.timeout:
        pass
"""


# The host's python3 inside a busybox container (its /usr bound read-only).
HOST_PY = ["-v", "/usr:/host/usr:ro", "-e", "PYTHONHOME=/host/usr", "-e",
           "PY=/host/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path "
           "/host/usr/lib/x86_64-linux-gnu /host/usr/bin/python3"]
UDP_SERVE = ("import socket\n"
             "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
             "s.bind(('0.0.0.0', 9000))\n"
             "while True:\n"
             "    d, a = s.recvfrom(100)\n"
             "    s.sendto(b'pong\\n', a)\n")


def udp_ask(ns, host, port):
    return subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", UDP_ASK, host, str(port)],
                          capture_output=True, text=True, timeout=30).stdout.strip()


def test_port_ranges_random_ports_port_cmd_ps_and_hairpin(net, outside):
    serve = ("for p in 80 81 82; do mkdir -p /w$p; echo port$p > /w$p/i.html; "
             "httpd -p $p -h /w$p; done; exec $PY -c \"$UDP_SERVE\"")
    if not Path("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2").exists():
        pytest.skip("the UDP server runs the host's python3 through its x86_64 loader")
    net.ok("run", "-d", "--name", "web", "--network", "bridge", *HOST_PY, "-e",
           f"UDP_SERVE={UDP_SERVE}", "-p", "8000-8002:80-82",
           "-p", "127.0.0.1::80", "-p", "90", "-p", "9000:9000/udp", "busybox", "sh", "-c",
           serve)
    lines = port_lines(net, "web")
    assert "80/tcp -> 0.0.0.0:8000" in lines and "81/tcp -> 0.0.0.0:8001" in lines
    assert "82/tcp -> 0.0.0.0:8002" in lines and "9000/udp -> 0.0.0.0:9000" in lines
    local = [l for l in lines if l.startswith("80/tcp -> 127.0.0.1:")]
    rand = [l for l in lines if l.startswith("90/tcp -> 0.0.0.0:")]
    assert len(local) == 1 and len(rand) == 1, lines
    local_port, rand_port = local[0].rsplit(":", 1)[1], rand[0].rsplit(":", 1)[1]
    assert ephemeral(local_port) and ephemeral(rand_port) and local_port != rand_port
    assert net.ok("port", "web", "81") == "0.0.0.0:8001\n"
    assert net.ok("port", "web", "9000/udp") == "0.0.0.0:9000\n"
    one_error(net("port", "web", "83"), "83")
    ps = net.ok("ps")
    assert "0.0.0.0:8000->80/tcp" in ps and f"127.0.0.1:{local_port}->80/tcp" in ps, ps
    helpers.wait_for(lambda: subprocess.run(
        ["ip", "netns", "exec", net.netns, "busybox", "wget", "-qO-",
         "http://127.0.0.1:8002/i.html"], capture_output=True).returncode == 0,
        what="httpd on the published ports")
    for port, body in ((8000, "port80"), (8001, "port81"), (8002, "port82"),
                       (local_port, "port80")):
        assert wget_in(net.netns, f"http://127.0.0.1:{port}/i.html") == body + "\n"
    assert wget_in(outside, "http://192.0.2.1:8002/i.html") == "port82\n"
    # UDP answers from loopback and from outside.
    assert udp_ask(net.netns, "127.0.0.1", 9000) == "pong"
    assert udp_ask(outside, "192.0.2.1", 9000) == "pong"

    # Hairpin: containers reach published ports through the host's
    # addresses: the publishing container itself (its bridge port in
    # hairpin mode), a neighbour on the same bridge, and one on another
    # network.
    net.ok("run", "-d", "--name", "nb", "--network", "bridge", "busybox", "sleep", "60")
    net.ok("network", "create", "--subnet", "10.34.0.0/24", "other")
    net.ok("run", "-d", "--name", "far", "--network", "other", "busybox", "sleep", "60")
    for ctr in ("web", "nb", "far"):
        for addr in ("192.0.2.1", "172.30.0.1"):
            out = net.ok("exec", ctr, "wget", "-qO-", f"http://{addr}:8001/i.html")
            assert out == "port81\n", (ctr, addr)
    web_ip = json.loads(net.ok("inspect", "web"))[0]["NetworkSettings"]["IPAddress"]
    assert not reaches(net, "far", web_ip)  # still isolated but for published ports

    # A host port a process on the host holds, and one another container has.
    holder = subprocess.Popen(
        ["ip", "netns", "exec", net.netns, "python3", "-c",
         "import socket, time\ns = socket.socket()\ns.bind(('0.0.0.0', 8090))\ns.listen()\n"
         "print('ready', flush=True)\ntime.sleep(60)\n"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        one_error(net("run", "--rm", "--network", "bridge", "-p", "8090:80", "busybox", "true"),
                  "8090", "in use")
    finally:
        holder.kill()
        holder.wait()
    one_error(net("run", "--rm", "--network", "bridge", "-p", "8001:80", "busybox", "true"),
              "8001", "already published", "web")
    # A host range with one container port takes the first free one.
    net.ok("run", "-d", "--name", "r", "--network", "bridge", "-p", "8001-8003:80", "busybox",
           "sleep", "60")
    assert port_lines(net, "r") == ["80/tcp -> 0.0.0.0:8003"]
    # A container not started yet has no ports to show.
    net.ok("create", "--name", "unstarted", "--network", "bridge", "-p", "80", "busybox", "true")
    assert net.ok("port", "unstarted") == ""
    net.ok("rm", "-f", "web", "nb", "far", "r", "unstarted")
    assert "dnat to" not in nft_rules(net)
    net.ok("network", "rm", "other")


def test_publish_all_from_the_images_expose(net):
    net.ok("create", "--name", "base", "busybox", "true")
    net.ok("commit", "-c", "EXPOSE 80 5353/udp", "base", "exposed:1")
    net.ok("rm", "base")
    net.ok("run", "-d", "--name", "pa", "--network", "bridge", "-P", "-p", "8080:80",
           "exposed:1", "sh", "-c", "echo pa > /tmp/i.html; exec httpd -f -p 80 -h /tmp")
    lines = port_lines(net, "pa")
    # -p wins for 80; 5353/udp gets a free host port.
    assert lines[0] == "5353/udp -> 0.0.0.0:" + lines[0].rsplit(":", 1)[1], lines
    assert ephemeral(lines[0].rsplit(":", 1)[1]) and lines[1] == "80/tcp -> 0.0.0.0:8080"
    # Config.ExposedPorts: the image's, --expose's, -p's; -P publishes them all
    net.ok("run", "-d", "--name", "pe", "--network", "bridge", "-P", "--expose", "9000",
           "-p", "8081:81", "exposed:1", "sleep", "60")
    exposed = json.loads(net.ok("inspect", "-f", "{{json .Config.ExposedPorts}}", "pe"))
    assert sorted(exposed) == ["5353/udp", "80/tcp", "81/tcp", "9000/tcp"], exposed
    assert [line.split(" ")[0] for line in port_lines(net, "pe")] == \
        ["5353/udp", "80/tcp", "81/tcp", "9000/tcp"]
    assert "81/tcp -> 0.0.0.0:8081" in port_lines(net, "pe")
    # ps --filter publish (a published container port) and expose
    assert net.ok("ps", "--filter", "publish=81", "--format", "{{.Names}}") == "pe\n"
    assert net.ok("ps", "--filter", "publish=9000", "--format", "{{.Names}}") == "pe\n"
    assert sorted(net.ok("ps", "--filter", "expose=80", "--format", "{{.Names}}").split()) == \
        ["pa", "pe"]
    assert net.ok("ps", "--filter", "publish=5353", "-q") == ""  # udp, not tcp
    net.ok("rm", "-f", "pa", "pe")
    net.ok("rmi", "exposed:1")


def test_kill9_with_two_networks_and_ports_then_rm_leaves_nothing(net):
    net.ok("network", "create", "--subnet", "10.35.0.0/24", "one")
    net.ok("network", "create", "--subnet", "10.36.0.0/24", "two")
    cid = net.ok("run", "-d", "--name", "k", "--network", "one", "--network", "two",
                 "-p", "8100-8101:80-81", "-p", "9100/udp", "busybox", "sleep", "60").strip()
    net.ok("network", "connect", "bridge", "k")
    assert len(net.veths()) == 3
    assert f"vessel:{cid}" in nft_rules(net)
    info = json.loads(net.ok("inspect", "k"))[0]
    # kill -9 of the monitor and of the container's init.
    os.kill(info["MonitorPid"], 9)
    os.kill(info["State"]["Pid"], 9)
    helpers.wait_for(lambda: not os.path.exists(f"/proc/{info['MonitorPid']}"),
                     what="monitor gone")
    net.ok("rm", "-f", "k")
    assert net.leases() == {}
    assert f"vessel:{cid}" not in nft_rules(net) and "dnat to" not in nft_rules(net)
    helpers.wait_for(lambda: net.veths() == [], what="the three veths gone")
    # Nothing of k is left in a later container's view either.
    net.ok("run", "-d", "--name", "after", "--network", "one", "-p", "8100:80", "busybox",
           "sleep", "60")
    assert "k" not in hosts_of(net, "after").split()
    net.ok("rm", "-f", "after")
    net.ok("network", "rm", "one", "two")


def test_fifty_containers_on_one_network(net):
    net.ok("network", "create", "--subnet", "10.37.0.0/24", "many")
    names = [f"m{i}" for i in range(50)]
    for n in names:
        net.ok("run", "-d", "--name", n, "--network", "many", "busybox", "sleep", "120")
    ips = {c["IPv4Address"] for c in net.net("many")["Containers"].values()}
    assert len(ips) == 50
    assert reaches(net, "m0", "m49") and reaches(net, "m49", "m0")
    net.ok("rm", "-f", *names)
    assert net.leases() == {}
    helpers.wait_for(lambda: net.veths() == [], timeout=30, what="50 veths gone")


# --------------------------------------------------------------------------
# IPv6 (dual-stack user networks)


def test_dual_stack_network(net):
    net.ok("network", "create", "--ipv6", "--subnet", "10.39.0.0/24", "--subnet",
           "fd00:39::/64", "six")
    n = net.net("six")
    assert n["EnableIPv6"] is True
    assert n["IPAM"]["Config"] == [{"Subnet": "10.39.0.0/24", "Gateway": "10.39.0.1"},
                                   {"Subnet": "fd00:39::/64", "Gateway": "fd00:39::1"}]
    net.ok("run", "-d", "--name", "a6", "--network", "six", "busybox", "sleep", "60")
    net.ok("run", "-d", "--name", "b6", "--network", "six", "busybox", "sleep", "60")
    ns = json.loads(net.ok("inspect", "b6"))[0]["NetworkSettings"]
    assert ns["GlobalIPv6Address"] == "fd00:39::3" and ns["GlobalIPv6PrefixLen"] == 64
    assert ns["IPv6Gateway"] == "fd00:39::1"
    addrs = net.ok("exec", "a6", "ip", "-6", "addr", "show", "eth0")
    assert "inet6 fd00:39::2/64" in addrs, addrs
    assert "default via fd00:39::1" in net.ok("exec", "a6", "ip", "-6", "route")
    out = net.ok("exec", "a6", "ping", "-6", "-c", "1", "-W", "5", "fd00:39::3")
    assert "from fd00:39::3" in out, out
    assert re.search(r"^fd00:39::3\s+b6$", hosts_of(net, "a6"), re.M), hosts_of(net, "a6")
    # The host side reaches it through the bridge's address.
    subprocess.run(["ip", "netns", "exec", net.netns, "busybox", "ping", "-6", "-c", "1", "-W",
                    "5", "fd00:39::2"], check=True, capture_output=True)
    cid = net.ok("inspect", "-f", "{{.Id}}", "a6").strip()
    assert net.net("six")["Containers"][cid]["IPv6Address"] == "fd00:39::2/64"
    # Isolated from another dual-stack network over IPv6 too.
    net.ok("network", "create", "--ipv6", "--subnet", "fd00:40::/64", "seven")
    net.ok("run", "-d", "--name", "c7", "--network", "seven", "busybox", "sleep", "60")
    assert not reaches(net, "c7", "fd00:39::2")
    assert reaches(net, "a6", "b6")
    net.ok("rm", "-f", "a6", "b6", "c7")
    net.ok("network", "rm", "six", "seven")
    res = subprocess.run(["ip", "netns", "exec", net.netns, "nft", "list", "table", "ip6",
                          "vessel"], capture_output=True, text=True)
    assert "vessel-net" not in res.stdout, res.stdout


def fetch(ns, url):
    """HTTP GET from the test's namespace: the body, or None (refused)."""
    res = subprocess.run(["ip", "netns", "exec", ns, "timeout", "10", "busybox", "wget", "-qO-",
                          url], capture_output=True, text=True)
    return res.stdout if res.returncode == 0 else None


def listeners(net, port):
    """The processes listening on [::1]:port in the test's namespace (ss -ltnp)."""
    out = subprocess.run(["ip", "netns", "exec", net.netns, "ss", "-Hltnp", f"sport = :{port}"],
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if "[::1]" in line]


def test_ipv6_loopback_relay(net):
    """Published TCP ports answer on [::1] through a relay (docker-proxy's behaviour), on a
    network without IPv6; -p [::1]:... publishes there alone; the relay goes with rm, with
    kill -9 of the monitor, and a port held on [::1] by a host process is refused."""
    net.ok("run", "-d", "--name", "web", "--network", "bridge", "-p", "8110:80",
           "-p", "[0::1]:8111:80", "-p", "127.0.0.1:8112:80", "busybox", "sh", "-c",
           "echo relayed > /tmp/i.html; exec httpd -f -p 80 -h /tmp")
    assert "80/tcp -> [::1]:8111" in net.ok("port", "web")
    helpers.wait_for(lambda: fetch(net.netns, "http://127.0.0.1:8110/i.html") is not None,
                     what="httpd on the published port")
    for port in (8110, 8111):
        assert fetch(net.netns, f"http://[::1]:{port}/i.html") == "relayed\n", port
    # [::1] only: no rule of its own, so not on IPv4; 127.0.0.1 only: no relay.
    assert fetch(net.netns, "http://127.0.0.1:8111/i.html") is None
    assert fetch(net.netns, "http://[::1]:8112/i.html") is None
    assert "8111" not in nft_rules(net)
    # Several connections at once, and a body bigger than one relay buffer.
    net.ok("exec", "web", "sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x > /tmp/big")
    big = fetch(net.netns, "http://[::1]:8110/big")
    assert big == "x" * 300000, len(big or "")
    net.ok("rm", "-f", "web")
    assert listeners(net, 8110) == [] and listeners(net, 8111) == []
    # kill -9 of the monitor takes the relay with it.
    net.ok("run", "-d", "--name", "k", "--network", "bridge", "-p", "8113:80", "busybox",
           "httpd", "-f", "-p", "80")
    assert listeners(net, 8113)
    info = json.loads(net.ok("inspect", "k"))[0]
    os.kill(info["MonitorPid"], 9)
    helpers.wait_for(lambda: listeners(net, 8113) == [], what="the relay gone with its monitor")
    net.ok("rm", "-f", "k")
    # A host process on [::1]:8114: refused, and nothing left.
    holder = subprocess.Popen(["ip", "netns", "exec", net.netns, "python3", "-c",
                               "import socket, time\n"
                               "s = socket.socket(socket.AF_INET6)\n"
                               "s.bind(('::1', 8114)); s.listen(); print('up', flush=True)\n"
                               "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "up\n"
        one_error(net("run", "--rm", "--network", "bridge", "-p", "[::1]:8114:80", "busybox",
                      "true"), "-p", "8114")
        one_error(net("run", "--rm", "--network", "bridge", "-p", "8114:80", "busybox",
                      "true"), "-p", "8114")
    finally:
        holder.kill()
        holder.wait()
    assert net.records() == []


UDP_ASK6 = """
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(3)
for _ in range(5):
    s.sendto(sys.argv[2].encode(), ("::1", int(sys.argv[1])))
    try:
        print(s.recv(100).decode().strip())
        break
    except socket.timeout:
        pass
"""
UDP_ECHO = ("import socket\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "s.bind(('0.0.0.0', 9000))\n"
            "while True:\n"
            "    d, a = s.recvfrom(100)\n"
            "    s.sendto(b'echo ' + d, a)\n")


def udp_listeners(net, port):
    out = subprocess.run(["ip", "netns", "exec", net.netns, "ss", "-Hlunp", f"sport = :{port}"],
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if "[::1]" in line]


def test_ipv6_loopback_relay_udp(net):
    """Published UDP ports answer on [::1] through the relay: each client its own flow (its
    replies, not another's), -p [::1]:H:C/udp alone, gone with rm and with kill -9 of the
    monitor; a UDP port a host process holds on [::1] is refused."""
    if not Path("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2").exists():
        pytest.skip("the UDP server runs the host's python3 through its x86_64 loader")
    net.ok("run", "-d", "--name", "u", "--network", "bridge", *HOST_PY, "-e",
           f"UDP_ECHO={UDP_ECHO}", "-p", "9110:9000/udp", "-p", "[::1]:9111:9000/udp",
           "busybox", "sh", "-c", 'exec $PY -c "$UDP_ECHO"')
    assert "9000/udp -> [::1]:9111" in net.ok("port", "u")

    def ask(port, word):
        return subprocess.run(["ip", "netns", "exec", net.netns, "python3", "-c", UDP_ASK6,
                               str(port), word], capture_output=True, text=True,
                              timeout=30).stdout.strip()
    helpers.wait_for(lambda: ask(9110, "first") == "echo first", what="UDP echo on [::1]")
    # Two clients at once (two source ports): each gets its own answer.
    procs = [subprocess.Popen(["ip", "netns", "exec", net.netns, "python3", "-c", UDP_ASK6,
                               str(port), f"w{i}"], stdout=subprocess.PIPE, text=True)
             for i, port in enumerate((9110, 9111, 9110))]
    assert [p.communicate(timeout=30)[0].strip() for p in procs] == ["echo w0", "echo w1",
                                                                    "echo w2"]
    # [::1] only: no IPv4 rule for 9111.
    assert "9111" not in nft_rules(net)
    assert udp_listeners(net, 9110) and udp_listeners(net, 9111)
    net.ok("rm", "-f", "u")
    assert udp_listeners(net, 9110) == [] and udp_listeners(net, 9111) == []
    # kill -9 of the monitor takes the relay with it.
    net.ok("run", "-d", "--name", "k", "--network", "bridge", "-p", "9112:9000/udp", "busybox",
           "sleep", "60")
    assert udp_listeners(net, 9112)
    os.kill(json.loads(net.ok("inspect", "k"))[0]["MonitorPid"], 9)
    helpers.wait_for(lambda: udp_listeners(net, 9112) == [], what="the relay gone with its monitor")
    net.ok("rm", "-f", "k")
    # A host process on [::1]:9113/udp: refused both ways, nothing left.
    holder = subprocess.Popen(["ip", "netns", "exec", net.netns, "python3", "-c",
                               "import socket, time\n"
                               "s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
                               "s.bind(('::1', 9113)); print('up', flush=True)\n"
                               "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "up\n"
        for spec in ("[::1]:9113:9000/udp", "9113:9000/udp"):
            one_error(net("run", "--rm", "--network", "bridge", "-p", spec, "busybox", "true"),
                      "-p", "9113")
        # An open host port is chosen free on [::1] too.
        net.ok("run", "-d", "--name", "r", "--network", "bridge", "-p", "9113-9114:9000/udp",
               "busybox", "sleep", "60")
        assert net.ok("port", "r", "9000/udp") == "0.0.0.0:9114\n"
    finally:
        holder.kill()
        holder.wait()
    net.ok("rm", "-f", "r")
    assert net.records() == []


def test_ipv6_published_ports_ip6_and_kill9(net):
    net.ok("network", "create", "--ipv6", "--subnet", "10.37.0.0/24", "--subnet",
           "fd00:37::/64", "six")
    # A second address of the namespace stands in for the host's LAN one.
    subprocess.run(["ip", "-n", net.netns, "addr", "add", "fd00:99::1/128", "dev", "lo"],
                   check=True)
    cid = net.ok("run", "-d", "--name", "web", "--network", "six", "--ip6", "fd00:37::77",
                 "-p", "8080:80", "-p", "[::]:8081:80", "-p", "[fd00:99::1]:8082:80",
                 "-p", "127.0.0.1:8083:80", "busybox", "sh", "-c",
                 "mkdir /w; echo six > /w/i.html; exec httpd -f -p 80 -h /w").strip()
    ns = json.loads(net.ok("inspect", "web"))[0]["NetworkSettings"]
    assert ns["GlobalIPv6Address"] == "fd00:37::77", ns
    lines = port_lines(net, "web")
    for want in ("80/tcp -> 0.0.0.0:8080", "80/tcp -> [::]:8081",
                 "80/tcp -> [fd00:99::1]:8082", "80/tcp -> 127.0.0.1:8083"):
        assert want in lines, lines
    assert "[fd00:99::1]:8082->80/tcp" in net.ok("ps")
    helpers.wait_for(lambda: fetch(net.netns, "http://127.0.0.1:8080/i.html") == "six\n",
                     what="httpd on the published port")
    # The default binding answers on both families; [::] on IPv6 only;
    # an address binding on that address only.
    for url, body in (("http://[fd00:37::1]:8080/i.html", "six\n"),
                      ("http://[fd00:99::1]:8080/i.html", "six\n"),
                      ("http://[fd00:99::1]:8081/i.html", "six\n"),
                      ("http://127.0.0.1:8081/i.html", None),
                      ("http://[fd00:99::1]:8082/i.html", "six\n"),
                      ("http://[fd00:37::1]:8082/i.html", None),
                      ("http://127.0.0.1:8083/i.html", "six\n"),
                      ("http://[fd00:99::1]:8083/i.html", None)):
        assert fetch(net.netns, url) == body, url
    # Hairpin over IPv6: the container itself and a neighbour.
    net.ok("run", "-d", "--name", "nb", "--network", "six", "busybox", "sleep", "60")
    for ctr in ("web", "nb"):
        out = net.ok("exec", ctr, "wget", "-qO-", "http://[fd00:99::1]:8081/i.html")
        assert out == "six\n", ctr
    assert f"vessel:{cid}" in nft_rules(net, "ip6")
    # network connect --ip6 (a running container gets it at once).
    net.ok("network", "create", "--ipv6", "--subnet", "10.38.0.0/24", "--subnet",
           "fd00:38::/64", "six2")
    net.ok("network", "create", "--subnet", "10.36.0.0/24", "plain")
    one_error(net("network", "connect", "--ip6", "fd00:38::99", "plain", "nb"), "--ip6",
              "plain", "no IPv6 subnet")
    one_error(net("network", "connect", "--ip6", "fd00:37::99", "six2", "nb"), "--ip6",
              "fd00:37::99")
    net.ok("network", "connect", "--ip6", "fd00:38::99", "six2", "nb")
    assert "inet6 fd00:38::99/64" in net.ok("exec", "nb", "ip", "-6", "addr", "show", "eth1")
    # The --ip6 address is taken; bad --ip6 and IPv6 -p are one clear error.
    for args, mentions in (
            (["--network", "six", "--ip6", "fd00:37::77"], ["--ip6", "already in use"]),
            (["--network", "six", "--ip6", "fd00:38::5"], ["--ip6", "fd00:38::5", "six"]),
            (["--network", "six", "--ip6", "fd00:37::1"], ["--ip6", "fd00:37::1"]),
            (["--network", "six", "--ip6", "10.37.0.9"], ["--ip6", "not an IPv6"]),
            (["--network", "bridge", "--ip6", "fd00:37::9"], ["--ip6", "no IPv6 subnet"]),
            (["--network", "none", "--ip6", "fd00:37::9"], ["--ip6"]),
            (["--network", "bridge", "-p", "[fd00:99::1]:8090:80"],
             ["-p", "fd00:99::1", "no IPv6 subnet"]),
            # microVMs on QEMU's own network: its hostfwd is IPv4 only
            (["--isolation=vm", "--network", "slirp4netns", "-p", "[::]:8090:80"],
             ["-p", "IPv6", "slirp4netns"]),
            (["--isolation=vm", "--network", "slirp4netns", "--ip6", "fd00:37::9"],
             ["--ip6", "--isolation=vm"])):
        one_error(net("run", "--rm", *args, "busybox", "true"), *mentions)
    assert sorted(net.records()) == sorted([cid, net.ok("inspect", "-f", "{{.Id}}",
                                                          "nb").strip()])
    # kill -9 of the monitor and the init, then rm: no rule of either family.
    info = json.loads(net.ok("inspect", "web"))[0]
    os.kill(info["MonitorPid"], 9)
    os.kill(info["State"]["Pid"], 9)
    helpers.wait_for(lambda: not os.path.exists(f"/proc/{info['MonitorPid']}"),
                     what="monitor gone")
    net.ok("rm", "-f", "web", "nb")
    assert f"vessel:{cid}" not in nft_rules(net, "ip6") + nft_rules(net)
    assert "dnat to" not in nft_rules(net, "ip6")
    net.ok("network", "rm", "six", "six2", "plain")


@pytest.mark.parametrize("args, mentions", [
    (["--subnet", "fd00:1::/64", "x"], ["--subnet", "--ipv6"]),
    (["--ipv6", "--subnet", "fd00:1::1/64", "x"], ["--subnet", "host bits"]),
    (["--ipv6", "--subnet", "fd00:1::/40", "x"], ["--subnet", "48"]),
    (["--ipv6", "--subnet", "fd00:1::/64", "--subnet", "fd00:2::/64", "x"], ["--subnet"]),
    (["--ipv6", "--subnet", "fd00:9::/80", "x"], ["overlaps", "fd00:9::/64", "taken6"]),
])
def test_ipv6_bad_input(net, args, mentions):
    net.ok("network", "create", "--ipv6", "--subnet", "fd00:9::/64", "taken6")
    before = net.ok("network", "ls", "-q")
    one_error(net("network", "create", *args), *mentions)
    assert net.ok("network", "ls", "-q") == before


def test_ipv6_subnet_from_the_pools(net, tmp_path):
    """--ipv6 without an IPv6 --subnet, as Docker 27: a /64 of the data
    root's own ULA /48 (fd00::/8 and 40 random bits, drawn once and kept),
    the next network the next free /64, and a container on it gets an
    address there; with IPv6 default-address-pools configured, those."""
    net.ok("network", "create", "--ipv6", "a6")
    net.ok("network", "create", "--ipv6", "--subnet", "10.46.0.0/24", "b6")

    def v6(name):
        cfgs = net.net(name)["IPAM"]["Config"]
        return [c for c in cfgs if ":" in c["Subnet"]][0]

    a, b = v6("a6"), v6("b6")
    assert net.net("a6")["EnableIPv6"] and net.net("b6")["EnableIPv6"]
    assert a["Subnet"].startswith("fd") and a["Subnet"].endswith("::/64"), a
    assert b["Subnet"] != a["Subnet"] and b["Subnet"].endswith("/64"), b
    # Both in the same /48, the data root's.
    pa = ipaddress.ip_network(a["Subnet"])
    pb = ipaddress.ip_network(b["Subnet"])
    assert pa.supernet(new_prefix=48) == pb.supernet(new_prefix=48), (pa, pb)
    assert ipaddress.ip_address(a["Gateway"]) == pa.network_address + 1
    out = net.ok("run", "--rm", "--network", "a6", "busybox", "ip", "-6", "-o", "addr", "show",
                 "eth0")
    assert f"inet6 {pa.network_address + 2}/64" in out, out
    # Configured IPv6 pools are taken instead (and when full, a clear error).
    cfg = tmp_path / "vessel-pools6.json"
    cfg.write_text(json.dumps({"default-address-pools": [
        {"base": "10.47.0.0/16", "size": 24}, {"base": "fd00:47::/63", "size": 64}]}))
    net.env["VESSEL_CONFIG"] = str(cfg)
    net.ok("network", "create", "--ipv6", "c6")
    net.ok("network", "create", "--ipv6", "d6")
    assert v6("c6")["Subnet"] == "fd00:47::/64" and v6("d6")["Subnet"] == "fd00:47:0:1::/64"
    one_error(net("network", "create", "--ipv6", "e6"), "default-address-pools", "IPv6")
    net.ok("network", "rm", "a6", "b6", "c6", "d6")


def test_dns_from_the_configuration_and_the_flag_winning(net, tmp_path):
    cfg = tmp_path / "vessel-dns.json"
    cfg.write_text(json.dumps({"dns": ["192.0.2.10", "192.0.2.11"], "dns-search": ["cfg.test"]}))
    net.env["VESSEL_CONFIG"] = str(cfg)
    resolv = net.ok("run", "--rm", "--network", "bridge", "busybox", "cat", "/etc/resolv.conf")
    assert [l for l in resolv.splitlines() if l.startswith("nameserver")] == \
        ["nameserver 192.0.2.10", "nameserver 192.0.2.11"], resolv
    assert "search cfg.test" in resolv
    resolv = net.ok("run", "--rm", "--network", "bridge", "--dns", "192.0.2.99", "busybox", "cat",
                    "/etc/resolv.conf")
    assert [l for l in resolv.splitlines() if l.startswith("nameserver")] == \
        ["nameserver 192.0.2.99"], resolv
    assert "search cfg.test" in resolv


def test_bip_and_default_address_pools_from_the_configuration(net, tmp_path):
    cfg = tmp_path / "vessel-net.json"

    def configure(**keys):
        cfg.write_text(json.dumps(keys))

    pools = [{"base": "10.77.0.0/23", "size": 24}]
    configure(**{"bip": "172.31.5.1/24", "default-address-pools": pools})
    net.env["VESSEL_CONFIG"] = str(cfg)
    assert net.net("bridge")["IPAM"]["Config"] == [{"Subnet": "172.31.5.0/24",
                                                    "Gateway": "172.31.5.1"}]
    out = net.ok("run", "--rm", "--network", "bridge", "busybox", "ip", "-4", "addr", "show",
                 "eth0")
    assert "inet 172.31.5.2/24" in out, out
    assert "inet 172.31.5.1/24" in net.ip("-4", "addr", "show", "vessel0")
    # User networks without --subnet take the pools' subnets, then a clear error.
    net.ok("network", "create", "a")
    net.ok("network", "create", "b")
    assert net.net("a")["IPAM"]["Config"][0]["Subnet"] == "10.77.0.0/24"
    assert net.net("b")["IPAM"]["Config"][0]["Subnet"] == "10.77.1.0/24"
    one_error(net("network", "create", "c"), "default-address-pools", "--subnet")
    assert "c" not in [l.split()[1] for l in net.ok("network", "ls").splitlines()[1:]]
    # A new bip is not applied while a container is on the network...
    net.ok("run", "-d", "--name", "on", "--network", "bridge", "busybox", "sleep", "60")
    configure(**{"bip": "172.31.6.1/24", "default-address-pools": pools})
    res = net("network", "inspect", "bridge")
    assert res.returncode == 0 and "bip" in res.stderr and "not applied" in res.stderr
    assert json.loads(res.stdout)[0]["IPAM"]["Config"][0]["Subnet"] == "172.31.5.0/24"
    # ...and is once none is (the bridge made again with the new address).
    net.ok("rm", "-f", "on")
    assert net.net("bridge")["IPAM"]["Config"][0]["Subnet"] == "172.31.6.0/24"
    out = net.ok("run", "--rm", "--network", "bridge", "busybox", "ip", "-4", "addr", "show",
                 "eth0")
    assert "inet 172.31.6.2/24" in out, out
    addrs = net.ip("-4", "addr", "show", "vessel0")
    assert "172.31.6.1/24" in addrs and "172.31.5.1" not in addrs, addrs
    # Bad values: one clear error, the default network unchanged.
    for bip, mentions in (("172.31.7.0/24", ["bip", "172.31.7.0/24", "host address"]),
                          ("172.31.7.1/31", ["bip", "172.31.7.1/31"]),
                          ("10.77.0.9/24", ["bip", "overlaps", "'a'"])):
        configure(bip=bip)
        one_error(net("network", "ls"), *mentions)
    configure(**{"default-address-pools": [{"base": "10.78.0.0/16", "size": 31}]})
    one_error(net("network", "create", "d"), "default-address-pools", "31")
    assert net.net("bridge")["IPAM"]["Config"][0]["Subnet"] == "172.31.6.0/24"
    net.ok("network", "rm", "a", "b")


def test_mtu_of_the_default_bridge_from_the_configuration(net, tmp_path):
    """mtu (Docker's daemon.json key): the default network's MTU, applied as
    bip is: not while a container is on it (a warning), then at once; back
    to 65520 without the key."""
    cfg = tmp_path / "vessel-mtu.json"
    cfg.write_text(json.dumps({"mtu": 1400}))
    net.env["VESSEL_CONFIG"] = str(cfg)
    assert net.net("bridge")["Options"]["com.docker.network.driver.mtu"] == "1400"
    net.ok("run", "-d", "--name", "on", "--network", "bridge", "busybox", "sleep", "60")
    assert net.ok("exec", "on", "cat", "/sys/class/net/eth0/mtu") == "1400\n"
    assert "mtu 1400" in net.ip("link", "show", "vessel0")
    cfg.write_text(json.dumps({"mtu": 9000}))
    res = net("network", "inspect", "bridge")
    assert res.returncode == 0 and "mtu" in res.stderr and "not applied" in res.stderr
    assert json.loads(res.stdout)[0]["Options"]["com.docker.network.driver.mtu"] == "1400"
    net.ok("rm", "-f", "on")
    assert net.net("bridge")["Options"]["com.docker.network.driver.mtu"] == "9000"
    assert net.ok("run", "--rm", "--network", "bridge", "busybox", "cat",
                  "/sys/class/net/eth0/mtu") == "9000\n"
    cfg.write_text("{}")
    assert net.net("bridge")["Options"]["com.docker.network.driver.mtu"] == "65520"
    cfg.write_text(json.dumps({"mtu": 65536}))
    one_error(net("network", "ls"), "mtu", "65536", "68 to 65535")


def test_ipv6_on_the_default_bridge_from_the_configuration(net, tmp_path):
    """Docker's daemon.json "ipv6" + "fixed-cidr-v6": the default bridge network dual-stack
    (addresses, routes, ping between containers and from the host, a published port over
    IPv6); turned off again once no container is on it (bridge and ip6 rules made again
    without IPv6); bad values one clear error of every network command."""
    cfg = tmp_path / "vessel-v6.json"

    def configure(**keys):
        cfg.write_text(json.dumps(keys))

    configure(**{"ipv6": True, "fixed-cidr-v6": "fd00:30::/64"})
    net.env["VESSEL_CONFIG"] = str(cfg)
    n = net.net("bridge")
    assert n["EnableIPv6"] is True
    assert n["IPAM"]["Config"][1] == {"Subnet": "fd00:30::/64", "Gateway": "fd00:30::1"}, n
    net.ok("run", "-d", "--name", "a", "--network", "bridge", "busybox", "sh", "-c",
           "mkdir /w; echo v6 > /w/i.html; exec httpd -f -p 80 -h /w")
    net.ok("run", "-d", "--name", "b", "--network", "bridge", "-p", "8130:80", "busybox",
           "sh", "-c", "mkdir /w; echo pub6 > /w/i.html; exec httpd -f -p 80 -h /w")
    ns = json.loads(net.ok("inspect", "b"))[0]["NetworkSettings"]
    assert ns["GlobalIPv6Address"] == "fd00:30::3" and ns["IPv6Gateway"] == "fd00:30::1", ns
    assert "inet6 fd00:30::2/64" in net.ok("exec", "a", "ip", "-6", "addr", "show", "eth0")
    assert "default via fd00:30::1" in net.ok("exec", "a", "ip", "-6", "route")
    assert "inet6 fd00:30::1/64" in net.ip("-6", "addr", "show", "vessel0")
    out = net.ok("exec", "a", "ping", "-6", "-c", "1", "-W", "5", "fd00:30::3")
    assert "from fd00:30::3" in out, out
    # The host side over IPv6, and a published port on a host IPv6 address.
    assert fetch(net.netns, "http://[fd00:30::2]:80/i.html") == "v6\n"
    subprocess.run(["ip", "-n", net.netns, "addr", "add", "fd00:99::1/128", "dev", "lo"],
                   check=True)
    assert fetch(net.netns, "http://[fd00:99::1]:8130/i.html") == "pub6\n"
    bridge_id = net.net("bridge")["Id"]
    assert f"vessel-net:{bridge_id}" in nft_rules(net, "ip6")
    # The default bridge still resolves no names (Docker's), over IPv6 neither.
    assert not re.search(r"\sb$", hosts_of(net, "a"), re.M), hosts_of(net, "a")
    # Turned off while containers are on it: a warning, the network as it was.
    configure()
    res = net("network", "inspect", "bridge")
    assert res.returncode == 0 and "fixed-cidr-v6" in res.stderr and "not applied" in res.stderr
    assert json.loads(res.stdout)[0]["EnableIPv6"] is True
    net.ok("rm", "-f", "a", "b")
    n = net.net("bridge")
    assert n["EnableIPv6"] is False and len(n["IPAM"]["Config"]) == 1, n
    assert f"vessel-net:{bridge_id}" not in nft_rules(net, "ip6")
    out = net.ok("run", "--rm", "--network", "bridge", "busybox", "ip", "-6", "addr", "show",
                 "eth0")
    assert "fd00:30" not in out and "scope global" not in out, out
    assert "fd00:30" not in net.ip("-6", "addr", "show", "vessel0")
    # Bad values: one clear error, the default network unchanged.
    net.ok("network", "create", "--ipv6", "--subnet", "fd00:31::/64", "u6")
    for keys, mentions in (({"ipv6": True}, ["ipv6", "fixed-cidr-v6"]),
                           ({"fixed-cidr-v6": "fd00:30::/64"}, ["fixed-cidr-v6", "ipv6"]),
                           ({"ipv6": True, "fixed-cidr-v6": "fd00:30::/40"},
                            ["fixed-cidr-v6", "48"]),
                           ({"ipv6": True, "fixed-cidr-v6": "fd00:31::/80"},
                            ["fixed-cidr-v6", "overlaps", "'u6'"]),
                           ({"ipv6": True, "fixed-cidr-v6": "10.0.0.0/8"},
                            ["fixed-cidr-v6", "IPv6"]),
                           ({"ipv6": "yes", "fixed-cidr-v6": "fd00:30::/64"}, ["ipv6"])):
        configure(**keys)
        one_error(net("network", "ls"), *mentions)
    configure()
    assert net.net("bridge")["EnableIPv6"] is False
    net.ok("network", "rm", "u6")


def test_network_events(net):
    """Docker's network events: create, connect, disconnect, destroy, with
    the network's id, its name, type bridge and the container's id."""
    nid = net.ok("network", "create", "--subnet", "10.27.0.0/24", "evnet").strip()
    cid = net.ok("run", "-d", "--name", "evc", "busybox", "sleep", "100").strip()
    net.ok("network", "connect", "evnet", "evc")
    net.ok("network", "disconnect", "evnet", "evc")
    net.ok("rm", "-f", "evc")
    net.ok("network", "rm", "evnet")
    time.sleep(1.1)  # --until 0s: whole seconds, as Docker's
    out = net.ok("events", "--since", "1m", "--until", "0s", "--filter", "type=network",
                 "--format", "{{json .}}")
    evs = [json.loads(line) for line in out.splitlines()]
    assert [e["Action"] for e in evs] == ["create", "connect", "disconnect", "destroy"], out
    for e in evs:
        assert e["Type"] == "network" and e["Actor"]["ID"] == nid and e["scope"] == "local"
        attrs = e["Actor"]["Attributes"]
        assert attrs["name"] == "evnet" and attrs["type"] == "bridge"
        assert attrs.get("container") == (cid if e["Action"] in ("connect", "disconnect")
                                          else None)
        assert sorted(e) == ["Action", "Actor", "Type", "scope", "time", "timeNano"]
    # a failed removal (no such network) is no event
    assert net("network", "rm", "evnet").returncode != 0
    out = net.ok("events", "--since", "1m", "--until", "0s", "--filter", "network=evnet",
                 "--filter", "event=destroy", "--format", "{{.Action}}")
    assert out.split() == ["destroy"]


def test_system_prune_filters_networks(net):
    net.ok("network", "create", "--subnet", "10.28.0.0/24", "--label", "tier=x", "n1")
    net.ok("network", "create", "--subnet", "10.28.1.0/24", "n2")
    out = net.ok("system", "prune", "-f", "--filter", "label=tier=x")
    assert "Deleted Networks:\nn1\n" in out, out
    names = net.ok("network", "ls", "--format", "{{.Name}}").split()
    assert "n1" not in names and "n2" in names
    out = net.ok("system", "prune", "-f", "--filter", "until=2000-01-01T00:00:00Z")
    assert "n2" in net.ok("network", "ls", "--format", "{{.Name}}").split(), out
    net.ok("network", "rm", "n2")
