/* A VM container's network (docs/vm.md, "Networking"): QEMU's, not a
 * namespace's. `--network none` and the default (loopback only, as for a
 * container) give the guest no NIC, and QEMU a network namespace of its own
 * in its jail. `--network slirp4netns` (podman's name for user-mode
 * networking) gives it a virtio-net NIC on QEMU's user-mode network
 * (libslirp: 10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3, outbound
 * connections NATed by QEMU in the host's network namespace, nothing
 * inbound but -p, which becomes a hostfwd). A tap on vessel's bridges
 * (--network bridge|NAME) is not done yet and is refused. */
#include "vm/vm.h"
#include "net/net.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <string.h>

int vs_vm_net_check(const char *network, const char *ip, char **publish, json_object *hc,
                    vs_error **err)
{
        const char *mode = network ? network : "default";
        bool user = strcmp(mode, VS_VM_NET_USER) == 0;
        if (!user && strcmp(mode, "none") != 0 && strcmp(mode, "default") != 0)
                return vs_fail(err,
                               "--network %s is not supported with --isolation=vm yet "
                               "(none, default, " VS_VM_NET_USER ")",
                               mode);
        if (ip)
                return vs_fail(err, "--ip is not supported with --isolation=vm");
        if (publish && publish[0] && !user)
                return vs_fail(
                    err, "-p: needs --network " VS_VM_NET_USER " with --isolation=vm (not '%s')",
                    mode);
        json_object *ports = json_object_new_object();
        json_object_object_add(hc, "PortBindings", ports);
        for (size_t i = 0; publish && publish[i]; i++)
                if (vs_net_parse_port(publish[i], ports, err) < 0)
                        return -1;
        json_object_object_add(hc, "NetworkMode", json_object_new_string(mode));
        return 0;
}

/* QEMU's -netdev user option: "user,id=net0[,hostfwd=PROTO:HOSTIP:HOSTPORT-:CTRPORT]..." */
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
