/* The engine's side of networks: which network a container is on, and the
 * calls into src/net at create, start and rm. */
#include <string.h>

#include "engine/engine.h"
#include "vm/vm.h"
#include "net/net.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static const char *hc_str(json_object *hc, const char *k)
{
        json_object *v = json_object_object_get(hc, k);
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool builtin_mode(const char *mode)
{
        return strcmp(mode, "none") == 0 || strcmp(mode, "host") == 0 ||
               strcmp(mode, "default") == 0;
}

int vs_engine_net_check(struct vs_engine *e, const struct vs_run_flags *f, json_object *hc,
                        vs_error **err)
{
        const char *mode = f->network ? f->network : "default";
        if (!*mode)
                return vs_fail(err, "--network: empty network name");
        if (builtin_mode(mode)) {
                if (f->ip)
                        return vs_fail(err,
                                       "--ip: needs --network bridge or a user-defined "
                                       "network (not '%s')",
                                       mode);
                if (f->publish && f->publish[0])
                        return vs_fail(err,
                                       "-p: needs --network bridge or a user-defined "
                                       "network (not '%s')",
                                       mode);
        } else if (vs_net_check(e->data_root, mode, f->ip, err) < 0) {
                return -1;
        }
        json_object *ports = json_object_new_object();
        json_object_object_add(hc, "PortBindings", ports);
        for (size_t i = 0; f->publish && f->publish[i]; i++)
                if (vs_net_parse_port(f->publish[i], ports, err) < 0)
                        return -1;
        json_object_object_add(hc, "NetworkMode", json_object_new_string(mode));
        if (f->ip)
                json_object_object_add(hc, "IPv4Address", json_object_new_string(f->ip));
        return 0;
}

const char *vs_engine_net_name(const struct vs_ctr *c)
{
        const char *mode = hc_str(c->host_config, "NetworkMode");
        /* A VM's user-mode network is QEMU's alone (src/vm/net.c). */
        if (mode && vs_ctr_is_vm(c) && strcmp(mode, VS_VM_NET_USER) == 0)
                return NULL;
        return mode && !builtin_mode(mode) ? mode : NULL;
}

int vs_engine_net_lease(struct vs_engine *e, const struct vs_ctr *c, const char *hostname,
                        char **hosts, vs_error **err)
{
        _cleanup_free_ char *hosts_path = xasprintf("%s/hosts", c->dir);
        struct vs_net_endpoint_opts o = {
            .network = vs_engine_net_name(c),
            .ctr_id = c->id,
            .ctr_name = c->name,
            .hostname = hostname,
            .ip = hc_str(c->host_config, "IPv4Address"),
            .hosts_path = hosts_path,
            .ports = json_object_object_get(c->host_config, "PortBindings"),
        };
        return vs_net_lease(e->data_root, &o, hosts, err);
}

int vs_engine_net_attach(struct vs_engine *e, const struct vs_ctr *c, pid_t pid, vs_error **err)
{
        if (vs_engine_net_name(c) == NULL)
                return 0;
        if (vs_net_attach(e->data_root, c->id, pid, err) < 0)
                return vs_error_wrap(err, "cannot connect container %s to network '%s'", c->name,
                                     vs_engine_net_name(c));
        return 0;
}

int vs_engine_net_release(struct vs_engine *e, const struct vs_ctr *c, vs_error **err)
{
        return vs_net_release(e->data_root, c->id, err);
}

json_object *vs_engine_net_settings(struct vs_engine *e, const struct vs_ctr *c)
{
        return vs_net_container_settings(e->data_root, c->id);
}
