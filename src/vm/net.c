/* A VM container's network (docs/vm.md, "Networking"): QEMU's, not a
 * namespace's. `--network none` and the default (loopback only, as for a
 * container) give the guest no NIC, and QEMU a network namespace of its own
 * in its jail. `--network slirp4netns` (podman's name for user-mode
 * networking) gives it a virtio-net NIC on QEMU's user-mode network
 * (libslirp: 10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3, outbound
 * connections NATed by QEMU in the host's network namespace, nothing
 * inbound but -p, which becomes a hostfwd). `--network bridge|NAME`: a tap
 * on the vessel network's bridge (src/net), passed to QEMU as an fd (QEMU
 * in an empty network namespace of its own); the guest holds the leased
 * address itself, so its peers reach every port and -p is the network's
 * own DNAT, as for a container. */
#include "vm/vm.h"
#include "vm/payload.h"
#include "engine/engine.h"
#include "net/net.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <unistd.h>
#include <string.h>

bool vs_vm_net_own(const char *network)
{
        const char *mode = network ? network : "default";
        return strcmp(mode, VS_VM_NET_USER) == 0 || strcmp(mode, "none") == 0 ||
               strcmp(mode, "default") == 0 || strcmp(mode, "host") == 0;
}

int vs_vm_net_check(const char *network, const char *ip, char **publish, json_object *hc,
                    vs_error **err)
{
        const char *mode = network ? network : "default";
        bool user = strcmp(mode, VS_VM_NET_USER) == 0;
        if (strcmp(mode, "host") == 0)
                return vs_fail(err, "--network host is not supported with --isolation=vm "
                                    "(the guest has its own kernel)");
        if (ip)
                return vs_fail(err, "--ip is not supported with --isolation=vm");
        if (publish && publish[0] && !user)
                return vs_fail(err,
                               "-p: needs --network " VS_VM_NET_USER
                               ", bridge or a user-defined network (not '%s')",
                               mode);
        json_object *ports = json_object_new_object();
        json_object_object_add(hc, "PortBindings", ports);
        for (size_t i = 0; publish && publish[i]; i++) {
                if (vs_net_parse_port(publish[i], ports, err) < 0)
                        return -1;
                if (publish[i][0] == '[') /* QEMU's hostfwd takes IPv4 host addresses */
                        return vs_fail(err,
                                       "-p: '%s': IPv6 host addresses are not supported with "
                                       "--network " VS_VM_NET_USER,
                                       publish[i]);
        }
        json_object_object_add(hc, "NetworkMode", json_object_new_string(mode));
        return 0;
}

/* QEMU's -netdev user option: "user,id=net0[,hostfwd=PROTO:HOSTIP:HOSTPORT-:CTRPORT]...". */
char *vs_vm_net_netdev(json_object *bindings)
{
        char *out = xstrdup("user,id=net0,restrict=off");
        json_object_object_foreach(bindings, key, arr)
        {
                unsigned port = 0;
                char proto[8] = "tcp";
                if (sscanf(key, "%u/%7s", &port, proto) < 1)
                        continue;
                for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
                        json_object *b = json_object_array_get_idx(arr, i);
                        const char *hip =
                            json_object_get_string(json_object_object_get(b, "HostIp"));
                        const char *hport =
                            json_object_get_string(json_object_object_get(b, "HostPort"));
                        char *next = xasprintf("%s,hostfwd=%s:%s:%s-:%u", out, proto,
                                               hip ? hip : "", hport ? hport : "", port);
                        free(out);
                        out = next;
                }
        }
        return out;
}

int vs_vm_net_tap(struct vs_engine *e, const struct vs_ctr *c, struct vs_vm_payload *p, int *fd,
                  char **mac, vs_error **err)
{
        _cleanup_json_ json_object *ns = vs_engine_net_settings(e, c);
        const char *ip = json_object_get_string(json_object_object_get(ns, "IPAddress"));
        const char *gw = json_object_get_string(json_object_object_get(ns, "Gateway"));
        const char *hw = json_object_get_string(json_object_object_get(ns, "MacAddress"));
        int prefix = json_object_get_int(json_object_object_get(ns, "IPPrefixLen"));
        uint32_t addr;
        if (ip == NULL || vs_ipv4_parse("IPAddress", ip, &addr, err) < 0 || prefix < 1 ||
            prefix > 30)
                return vs_fail(err, "container %s has no IPv4 lease on its network", c->name);
        unsigned mtu;
        if (vs_net_attach_tap(e->data_root, c->id, fd, &mtu, err) < 0)
                return vs_error_wrap(err, "cannot connect container %s to its network", c->name);
        uint32_t m = prefix ? ~0U << (32 - prefix) : 0;
        char mask[16];
        snprintf(mask, sizeof(mask), "%u.%u.%u.%u", m >> 24, (m >> 16) & 255, (m >> 8) & 255,
                 m & 255);
        vs_vm_payload_add(p, "net", "static");
        vs_vm_payload_add(p, "net.addr", ip);
        vs_vm_payload_add(p, "net.mask", mask);
        if (gw && *gw)
                vs_vm_payload_add(p, "net.gw", gw);
        /* The guest's NIC takes the network's MTU as the tap has it. */
        char mtus[16];
        snprintf(mtus, sizeof(mtus), "%u", mtu);
        vs_vm_payload_add(p, "net.mtu", mtus);
        /* A dual-stack network's IPv6 lease: the guest holds it too. */
        const char *ip6 = json_object_get_string(json_object_object_get(ns, "GlobalIPv6Address"));
        const char *gw6 = json_object_get_string(json_object_object_get(ns, "IPv6Gateway"));
        int prefix6 = json_object_get_int(json_object_object_get(ns, "GlobalIPv6PrefixLen"));
        if (ip6 && *ip6 && prefix6 > 0 && prefix6 <= 128) {
                char p6[8];
                snprintf(p6, sizeof(p6), "%d", prefix6);
                vs_vm_payload_add(p, "net.addr6", ip6);
                vs_vm_payload_add(p, "net.prefix6", p6);
                if (gw6 && *gw6)
                        vs_vm_payload_add(p, "net.gw6", gw6);
        }
        /* Docker's scheme when none was given: 02:42 and the address. */
        *mac = hw && *hw ? xstrdup(hw)
                         : xasprintf("02:42:%02x:%02x:%02x:%02x", addr >> 24, (addr >> 16) & 255,
                                     (addr >> 8) & 255, addr & 255);
        return 0;
}
