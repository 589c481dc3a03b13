/* A VM container's network (docs/vm.md, "Networking"): QEMU's, not a
 * namespace's. `--network none` and the default (loopback only, as for a
 * container) give the guest no NIC, and QEMU a network namespace of its own
 * in its jail. `--network slirp4netns` (podman's name for user-mode
 * networking) gives it a virtio-net NIC on QEMU's user-mode network
 * (libslirp: 10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3, outbound
 * connections NATed by QEMU in the host's network namespace, nothing
 * inbound but -p, which becomes a hostfwd). `--network bridge|NAME`: the
 * same user-mode network, with QEMU in a network namespace of its own that
 * the engine wires to the vessel network like a container's (lease, veth,
 * address, routes, -p rules: src/net), as podman's slirp4netns does for
 * rootless containers: the guest reaches the network and its peers through
 * QEMU, and peers reach the container's address on its -p container
 * ports. */
#include "vm/vm.h"
#include "net/net.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <stdio.h>
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

/* QEMU's -netdev user option: "user,id=net0[,hostfwd=PROTO:HOSTIP:HOSTPORT-:CTRPORT]...";
 * on a vessel network (in_netns), QEMU's own namespace holds the
 * container's address, the engine's rules forward HOSTPORT to CTRPORT
 * there, and QEMU forwards CTRPORT to the guest. */
char *vs_vm_net_netdev(json_object *bindings, bool in_netns)
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
                        char *next =
                            in_netns ? xasprintf("%s,hostfwd=%s::%u-:%u", out, proto, port, port)
                                     : xasprintf("%s,hostfwd=%s:%s:%s-:%u", out, proto,
                                                 hip ? hip : "", hport ? hport : "", port);
                        free(out);
                        out = next;
                }
        }
        return out;
}
