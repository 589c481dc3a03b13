"""CNI networks (`--network NAME` naming a CNI network list): Debian's
containernetworking-plugins run by vessel per the CNI 1.0 spec, alone, several on one
container, and beside vessel networks. As in test_network.py (whose fixtures these tests
use), everything happens inside a network namespace the test creates."""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

import helpers
from test_network import fetch, net, one_error, wget_in  # noqa: F401 (net: a fixture)

# --------------------------------------------------------------------------
# CNI (Debian's containernetworking-plugins)


CNI_BIN = Path("/usr/lib/cni")


@pytest.fixture
def cni(net, tmp_path):
    if not (CNI_BIN / "bridge").exists() or not (CNI_BIN / "host-local").exists():
        pytest.skip("containernetworking-plugins is not installed (scripts/deps.sh)")
    confdir, ipam = tmp_path / "net.d", tmp_path / "ipam"
    confdir.mkdir()
    conf = {"cniVersion": "1.0.0", "name": "cninet", "plugins": [
        {"type": "bridge", "bridge": "cni-vs0", "isGateway": True, "ipMasq": True,
         "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.5.0/24"}]],
                  "routes": [{"dst": "0.0.0.0/0"}], "dataDir": str(ipam)}},
        {"type": "portmap", "capabilities": {"portMappings": True}},
        {"type": "firewall", "backend": "iptables"}]}
    (confdir / "10-cninet.conflist").write_text(json.dumps(conf))
    broken = {"cniVersion": "1.0.0", "name": "broken", "type": "nosuchplugin"}
    (confdir / "20-broken.conf").write_text(json.dumps(broken))
    cfg = tmp_path / "vessel.json"
    cfg.write_text(json.dumps({"cni-config-dir": str(confdir)}))
    net.env["VESSEL_CONFIG"] = str(cfg)
    yield ipam / "cninet"


def firewall_rules(net):
    """The CNI firewall plugin's iptables chain in the test's namespace."""
    return subprocess.run(["ip", "netns", "exec", net.netns, "iptables", "-S", "CNI-FORWARD"],
                          capture_output=True, text=True, check=True).stdout


def cni_leases(d):
    return sorted(p.name for p in d.iterdir() if re.fullmatch(r"[\d.]+", p.name)) \
        if d.exists() else []


def test_cni_network_add_check_del(net, cni):
    net.ok("run", "-d", "--name", "c1", "--network", "cninet", "-p", "8085:80", "busybox", "sh",
           "-c", "echo cni > /tmp/i.html; exec httpd -f -p 80 -h /tmp")
    ns = json.loads(net.ok("inspect", "c1"))[0]["NetworkSettings"]
    ip = ns["IPAddress"]
    assert ip.startswith("10.88.5.") and ns["Gateway"] == "10.88.5.1"
    assert ns["Networks"]["cninet"]["IPAddress"] == ip
    assert cni_leases(cni) == [ip]
    assert f"inet {ip}/24" in net.ok("exec", "c1", "ip", "-4", "addr", "show", "eth0")
    net.ok("network", "check", "c1")
    # firewall's rules (iptables, in the test's namespace): the address let through.
    assert f"-A CNI-FORWARD -d {ip}/32" in firewall_rules(net), firewall_rules(net)
    helpers.wait_for(lambda: subprocess.run(
        ["ip", "netns", "exec", net.netns, "busybox", "wget", "-qO-", f"http://{ip}/i.html"],
        capture_output=True).returncode == 0, what="httpd over the CNI bridge")
    # portmap's rule: the published port through a host address.
    assert wget_in(net.netns, "http://10.88.5.1:8085/i.html") == "cni\n"
    assert net.ok("port", "c1") == "80/tcp -> 0.0.0.0:8085\n"
    # A restart DELs the earlier incarnation first: still one lease.
    net.ok("stop", "-t", "0", "c1")
    net.ok("start", "c1")
    assert len(cni_leases(cni)) == 1
    # ... and firewall's rules of the earlier address with it.
    ip2 = json.loads(net.ok("inspect", "c1"))[0]["NetworkSettings"]["IPAddress"]
    rules = firewall_rules(net)
    assert rules.count(f"-d {ip2}/32") == 1 and (ip2 == ip or ip not in rules), rules
    net.ok("rm", "-f", "c1")
    assert cni_leases(cni) == []
    assert "10.88.5." not in firewall_rules(net)
    assert "veth" not in net.ip("-o", "link")
    # The native driver is still there beside it.
    net.ok("run", "--rm", "--network", "bridge", "busybox", "true")


def test_cni_fixed_ip(net, cni):
    """--ip on a CNI network: CNI_ARGS IP= to host-local, kept across a restart."""
    net.ok("run", "-d", "--name", "c3", "--network", "cninet", "--ip", "10.88.5.77", "busybox",
           "sleep", "60")
    assert json.loads(net.ok("inspect", "c3"))[0]["NetworkSettings"]["IPAddress"] == "10.88.5.77"
    assert "inet 10.88.5.77/24" in net.ok("exec", "c3", "ip", "-4", "addr", "show", "eth0")
    assert cni_leases(cni) == ["10.88.5.77"]
    net.ok("stop", "-t", "0", "c3")
    net.ok("start", "c3")
    assert cni_leases(cni) == ["10.88.5.77"]
    # Taken: host-local's own error, one line; nothing left of the refused one.
    one_error(net("run", "--rm", "--network", "cninet", "--ip", "10.88.5.77", "busybox", "true"),
              "10.88.5.77")
    # Outside the plugin's range: its error too. (While c3 holds the bridge's address:
    # Debian's bridge plugin 1.1.1 fails every later ADD with "could not set bridge's mac"
    # when an IPAM failure was the first ADD on a new bridge.)
    one_error(net("run", "--rm", "--network", "cninet", "--ip", "10.99.0.9", "busybox", "true"),
              "10.99.0.9")
    net.ok("rm", "-f", "c3")
    assert cni_leases(cni) == [] and net.records() == []


def test_cni_bad_input(net, cni):
    one_error(net("run", "--rm", "--network", "cninet", "--ip", "nope", "busybox", "true"),
              "--ip", "nope")
    one_error(net("run", "--rm", "--network", "cninet", "-p", "80", "busybox", "true"),
              "-p", "fixed host port")
    one_error(net("run", "--rm", "--network", "cninet", "--network", "nosuchnet", "busybox",
                  "true"), "no such network", "nosuchnet")
    one_error(net("run", "--rm", "--network", "cninet", "--network", "cninet", "busybox",
                  "true"), "cninet", "twice")
    one_error(net("run", "--rm", "--network", "cninet", "--ip6", "fd00::9", "busybox", "true"),
              "--ip6", "cninet")
    res = net("run", "--rm", "--network", "broken", "busybox", "true")
    helpers.assert_error(res, "nosuchplugin")
    assert net.records() == []
    one_error(net("run", "--rm", "--network", "nosuchnet", "busybox", "true"),
              "no such network", "nosuchnet")
    net.ok("run", "-d", "--name", "c2", "--network", "cninet", "busybox", "sleep", "60")
    one_error(net("network", "connect", "bridge", "c2"), "c2", "cninet")
    net.ok("rm", "-f", "c2")
    assert cni_leases(cni) == []


# A CNI plugin of the test's (python3): appends "COMMAND NETWORK IFNAME" to LOG and
# keeps each ADD's stdin; on ADD it passes the previous result on, as a chained plugin.
RECORDER = """#!/usr/bin/python3
import json, os, sys
conf = json.load(sys.stdin)
cmd, ifname = os.environ["CNI_COMMAND"], os.environ["CNI_IFNAME"]
with open(conf["log"], "a") as f:
    f.write(f"{cmd} {conf['name']} {ifname}\\n")
if cmd == "ADD":
    with open(f"{conf['log']}.{conf['name']}.add", "w") as f:
        json.dump(conf, f)
    print(json.dumps(conf["prevResult"]))
"""


@pytest.fixture
def cni2(net, cni, tmp_path):
    """A second CNI network list, cnitwo (bridge cni-vs1, 10.88.6.0/24, no default route,
    firewall), and the recorder plugin last in both lists (it asks for aliases)."""
    confdir, log = tmp_path / "net.d", tmp_path / "cni.log"
    bindir = tmp_path / "cnibin"
    bindir.mkdir()
    (bindir / "recorder").write_text(RECORDER)
    (bindir / "recorder").chmod(0o755)
    rec = {"type": "recorder", "log": str(log), "capabilities": {"aliases": True}}
    one = json.loads((confdir / "10-cninet.conflist").read_text())
    one["plugins"].append(rec)
    (confdir / "10-cninet.conflist").write_text(json.dumps(one))
    two = {"cniVersion": "1.0.0", "name": "cnitwo", "plugins": [
        {"type": "bridge", "bridge": "cni-vs1", "isGateway": True,
         "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.6.0/24"}]],
                  "dataDir": str(tmp_path / "ipam")}},
        {"type": "firewall", "backend": "iptables"}, rec]}
    (confdir / "11-cnitwo.conflist").write_text(json.dumps(two))
    cfg = json.loads(Path(net.env["VESSEL_CONFIG"]).read_text())
    cfg["cni-plugin-dirs"] = [str(bindir), str(CNI_BIN)]
    Path(net.env["VESSEL_CONFIG"]).write_text(json.dumps(cfg))
    yield {"cninet": cni, "cnitwo": tmp_path / "ipam" / "cnitwo", "log": log}


def log_lines(log, cmd):
    return [l for l in log.read_text().splitlines() if l.startswith(cmd + " ")] \
        if log.exists() else []


def test_cni_several_networks_aliases_and_del_in_reverse(net, cni2):
    """Two CNI networks on one container (eth0, eth1 in --network order), --network-alias as
    runtimeConfig.aliases to the first one's plugins that ask for it, CHECK of both, and DEL
    at rm of the last network first; nothing left of either."""
    log = cni2["log"]
    net.ok("run", "-d", "--name", "m", "--network", "cninet", "--network", "cnitwo",
           "--network-alias", "web", "--network-alias", "db", "-p", "8086:80", "busybox", "sh",
           "-c", "echo two > /tmp/i.html; exec httpd -f -p 80 -h /tmp")
    ns = json.loads(net.ok("inspect", "m"))[0]["NetworkSettings"]
    one, two = ns["Networks"]["cninet"], ns["Networks"]["cnitwo"]
    assert one["IPAddress"].startswith("10.88.5.") and two["IPAddress"].startswith("10.88.6.")
    assert ns["IPAddress"] == one["IPAddress"] and ns["Gateway"] == "10.88.5.1"
    assert one["Aliases"] == ["web", "db"] and two["Aliases"] == []
    assert f"inet {one['IPAddress']}/24" in net.ok("exec", "m", "ip", "-4", "addr", "show", "eth0")
    assert f"inet {two['IPAddress']}/24" in net.ok("exec", "m", "ip", "-4", "addr", "show", "eth1")
    assert cni_leases(cni2["cninet"]) == [one["IPAddress"]]
    assert cni_leases(cni2["cnitwo"]) == [two["IPAddress"]]
    assert log_lines(log, "ADD") == ["ADD cninet eth0", "ADD cnitwo eth1"]
    add1 = json.loads(Path(f"{log}.cninet.add").read_text())
    add2 = json.loads(Path(f"{log}.cnitwo.add").read_text())
    assert add1["runtimeConfig"] == {"aliases": {"cninet": ["web", "db"]}}, add1
    assert "runtimeConfig" not in add2, add2
    # The host reaches it on both networks; the port (the first network's) through portmap.
    for ip in (one["IPAddress"], two["IPAddress"]):
        helpers.wait_for(lambda: fetch(net.netns, f"http://{ip}/i.html") == "two\n",
                         what=f"httpd on {ip}")
    assert wget_in(net.netns, "http://10.88.5.1:8086/i.html") == "two\n"
    net.ok("network", "check", "m")
    assert log_lines(log, "CHECK") == ["CHECK cninet eth0", "CHECK cnitwo eth1"]
    # A restart: each DELed and ADDed again, one lease each still.
    net.ok("stop", "-t", "0", "m")
    net.ok("start", "m")
    assert len(cni_leases(cni2["cninet"])) == 1 and len(cni_leases(cni2["cnitwo"])) == 1
    log.write_text("")
    net.ok("rm", "-f", "m")
    assert log_lines(log, "DEL") == ["DEL cnitwo eth1", "DEL cninet eth0"]
    assert cni_leases(cni2["cninet"]) == [] and cni_leases(cni2["cnitwo"]) == []
    assert "10.88." not in firewall_rules(net)
    assert "veth" not in net.ip("-o", "link")


def test_cni_and_vessel_networks_together_and_kill9(net, cni2):
    """A CNI network beside vessel networks, either first (interfaces in --network order, the
    default route the first's); kill -9 of monitor and init, then rm: nothing left."""
    net.ok("run", "-d", "--name", "a", "--network", "bridge", "--network", "cnitwo", "busybox",
           "sleep", "60")
    net.ok("run", "-d", "--name", "b", "--network", "cnitwo", "--network", "bridge", "busybox",
           "sleep", "60")
    for ctr, first, second in (("a", "172.30.", "10.88.6."), ("b", "10.88.6.", "172.30.")):
        ns = json.loads(net.ok("inspect", ctr))[0]["NetworkSettings"]
        assert sorted(ns["Networks"]) == ["bridge", "cnitwo"], ns
        assert ns["IPAddress"].startswith(first), ns
        assert f"inet {first}" in net.ok("exec", ctr, "ip", "-4", "addr", "show", "eth0")
        assert f"inet {second}" in net.ok("exec", ctr, "ip", "-4", "addr", "show", "eth1")
    assert "default via 172.30.0.1 dev eth0" in net.ok("exec", "a", "ip", "route")
    assert "default" not in net.ok("exec", "b", "ip", "route")
    ip_a = json.loads(net.ok("inspect", "a"))[0]["NetworkSettings"]["Networks"]["cnitwo"]
    out = net.ok("exec", "b", "ping", "-c", "1", "-W", "5", ip_a["IPAddress"])
    assert "1 packets received" in out, out
    one_error(net("network", "connect", "bridge", "b"), "b", "cnitwo")
    net.ok("rm", "-f", "a", "b")
    assert cni_leases(cni2["cnitwo"]) == []
    # kill -9 of the monitor and the init with three networks, then rm.
    net.ok("run", "-d", "--name", "k", "--network", "cninet", "--network", "bridge",
           "--network", "cnitwo", "busybox", "sleep", "60")
    assert len(cni_leases(cni2["cninet"])) == 1 and len(cni_leases(cni2["cnitwo"])) == 1
    info = json.loads(net.ok("inspect", "k"))[0]
    os.kill(info["MonitorPid"], 9)
    os.kill(info["State"]["Pid"], 9)
    helpers.wait_for(lambda: not os.path.exists(f"/proc/{info['MonitorPid']}"),
                     what="monitor gone")
    net.ok("rm", "-f", "k")
    assert cni_leases(cni2["cninet"]) == [] and cni_leases(cni2["cnitwo"]) == []
    assert "10.88." not in firewall_rules(net)
    assert net.veths() == [] and "veth" not in net.ip("-o", "link")




def test_cni_networks_in_network_ls_inspect_and_rm(net, cni):
    """The CNI networks of the configured directory are listed beside
    vessel's (Docker's shape: podman's id, the sha256 of the name; the
    first plugin's type as the driver; the ipam's subnets), inspected, and
    refused by `network rm` (their files are not vessel's); a vessel
    network of the same name shadows one, as it does for --network. Its
    inspect lists its running containers with their addresses."""
    import hashlib
    rows = [l.split() for l in net.ok("network", "ls", "--no-trunc").splitlines()[1:]]
    by_name = {r[1]: r for r in rows}
    assert by_name["cninet"][0] == hashlib.sha256(b"cninet").hexdigest(), rows
    assert by_name["cninet"][2:] == ["bridge", "local"], rows
    assert by_name["broken"][2] == "nosuchplugin", rows
    assert "cninet" in net.ok("network", "ls", "-f", "driver=bridge", "--format", "{{.Name}}")
    assert "broken" not in net.ok("network", "ls", "-f", "driver=bridge", "--format",
                                  "{{.Name}}")
    info = json.loads(net.ok("network", "inspect", "cninet"))[0]
    assert info["Name"] == "cninet" and info["Driver"] == "bridge", info
    assert info["IPAM"]["Config"] == [{"Subnet": "10.88.5.0/24"}], info["IPAM"]
    assert info["ConfigFile"].endswith("10-cninet.conflist"), info
    assert info["Containers"] == {}, info["Containers"]
    # Its running containers, with the address the plugins gave each.
    cid = net.ok("run", "-d", "--name", "onit", "--network", "cninet", "busybox", "sleep",
                 "600").strip()
    ip = json.loads(net.ok("inspect", "onit"))[0]["NetworkSettings"]["IPAddress"]
    ctrs = json.loads(net.ok("network", "inspect", "cninet"))[0]["Containers"]
    assert list(ctrs) == [cid], ctrs
    assert ctrs[cid]["Name"] == "onit" and ctrs[cid]["IPv4Address"] == f"{ip}/24", ctrs
    assert re.fullmatch(r"[0-9a-f]{64}", ctrs[cid]["EndpointID"]), ctrs
    net.ok("stop", "-t", "0", "onit")
    assert json.loads(net.ok("network", "inspect", "cninet"))[0]["Containers"] == {}
    net.ok("rm", "onit")
    res = net("network", "rm", "cninet")
    one_error(res, "cninet", "CNI network", "10-cninet.conflist")
    assert "cninet" in net.ok("network", "ls", "--format", "{{.Name}}")
    # A vessel network of the same name: one row, vessel's.
    net.ok("network", "create", "--subnet", "10.88.9.0/24", "cninet")
    names = net.ok("network", "ls", "--format", "{{.Name}} {{.Driver}}").splitlines()
    assert names.count("cninet bridge") == 1, names
    sub = json.loads(net.ok("network", "inspect", "cninet"))[0]["IPAM"]["Config"][0]["Subnet"]
    assert sub == "10.88.9.0/24"
    net.ok("network", "rm", "cninet")
    assert "cninet" in net.ok("network", "ls", "--format", "{{.Name}}")
