/* The engine's side of networks: which networks a container is on, the
 * flags that shape its network files, and the calls into src/net at
 * create, start, connect/disconnect and rm.
 *
 * HostConfig keeps Docker's NetworkMode (none, host, default: a namespace
 * with only loopback, container:<id>, or the first network's name) and
 * vessel's Networks: every network the container is on, in order (run's
 * --network flags, then `network connect`). The leases themselves live in
 * the network database (src/net). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "engine/config.h"
#include "engine/engine.h"
#include "engine/pasta.h"
#include "image/image.h"
#include "net/net.h"
#include "vm/vm.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define CONTAINER_PREFIX "container:"

static const char *hc_str(json_object *hc, const char *k)
{
        json_object *v = json_object_object_get(hc, k);
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool builtin_mode(const char *mode)
{
        return strcmp(mode, "none") == 0 || strcmp(mode, "host") == 0 ||
               strcmp(mode, "default") == 0 || strcmp(mode, VS_NET_PASTA) == 0 ||
               strncmp(mode, CONTAINER_PREFIX, 10) == 0;
}

static json_object *strv_to_json(char **v)
{
        json_object *a = json_object_new_array();
        for (size_t i = 0; v && v[i]; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        return a;
}

/* The flags that only make sense with an address of the container's own. */
static int check_no_net_flags(const struct vs_run_flags *f, const char *mode, vs_error **err)
{
        const struct {
                bool set;
                const char *flag;
        } v[] = {
            {f->ip != NULL, "--ip"},
            {f->ip6 != NULL, "--ip6"},
            {f->publish && f->publish[0], "-p"},
            {f->publish_all, "-P"},
            {f->net_aliases != NULL, "--network-alias"},
            {f->mac_address != NULL, "--mac-address"},
        };
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
                if (v[i].set)
                        return vs_fail(err,
                                       "%s: needs --network bridge or a user-defined network "
                                       "(not '%s')",
                                       v[i].flag, mode);
        return 0;
}

/* pasta publishes ports (-p); the other address flags need a bridge. */
static int check_pasta_flags(const struct vs_run_flags *f, vs_error **err)
{
        if (f->publish_all || f->ip || f->ip6 || f->mac_address || f->net_aliases)
                return vs_fail(err, "--network pasta: takes -p only (not -P, --ip, --ip6, "
                                    "--mac-address or --network-alias)");
        return 0;
}

/* --network container:REF: the container must exist; its id is kept. */
static int check_container_mode(struct vs_engine *e, const struct vs_run_flags *f, const char *mode,
                                json_object *hc, vs_error **err)
{
        const struct {
                bool set;
                const char *flag;
        } v[] = {
            {f->hostname != NULL, "--hostname"},
            {f->add_hosts != NULL, "--add-host"},
            {f->dns != NULL, "--dns"},
            {f->dns_search != NULL, "--dns-search"},
            {f->dns_options != NULL, "--dns-option"},
        };
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
                if (v[i].set)
                        return vs_fail(err, "conflicting options: %s and --network %s", v[i].flag,
                                       mode);
        struct vs_ctr *other = NULL;
        if (vs_ctr_resolve(e, mode + 10, &other, err) < 0)
                return vs_error_wrap(err, "--network");
        _cleanup_free_ char *m = xasprintf(CONTAINER_PREFIX "%s", other->id);
        vs_ctr_free(other);
        json_object_object_add(hc, "NetworkMode", json_object_new_string(m));
        return 0;
}

static int check_dns(const struct vs_run_flags *f, vs_error **err)
{
        for (size_t i = 0; f->dns && f->dns[i]; i++) {
                unsigned char buf[16];
                if (inet_pton(AF_INET, f->dns[i], buf) != 1 &&
                    inet_pton(AF_INET6, f->dns[i], buf) != 1)
                        return vs_fail(err, "--dns: '%s' is not an IP address", f->dns[i]);
        }
        char **lists[] = {f->dns_search, f->dns_options};
        const char *flags[] = {"--dns-search", "--dns-option"};
        for (size_t k = 0; k < 2; k++)
                for (size_t i = 0; lists[k] && lists[k][i]; i++)
                        if (!*lists[k][i] || strpbrk(lists[k][i], " \t\n#;"))
                                return vs_fail(err, "%s: invalid value '%s'", flags[k],
                                               lists[k][i]);
        return 0;
}

/* --add-host NAME:IP (or NAME=IP) into Docker's ExtraHosts ("NAME:IP"). */
static int check_add_hosts(const struct vs_run_flags *f, json_object *hc, vs_error **err)
{
        json_object *a = json_object_new_array();
        json_object_object_add(hc, "ExtraHosts", a);
        for (size_t i = 0; f->add_hosts && f->add_hosts[i]; i++) {
                const char *s = f->add_hosts[i], *sep = strpbrk(s, ":=");
                unsigned char buf[16];
                if (sep == NULL || sep == s)
                        return vs_fail(err, "--add-host: '%s': expected NAME:IP", s);
                _cleanup_free_ char *name = xstrndup(s, (size_t) (sep - s));
                if (strpbrk(name, " \t\n#/"))
                        return vs_fail(err, "--add-host: '%s': invalid host name", s);
                bool gw = strcmp(sep + 1, "host-gateway") == 0;
                if (gw && (f->networks == NULL || builtin_mode(f->networks[0])))
                        return vs_fail(err,
                                       "--add-host: '%s': host-gateway needs --network bridge or "
                                       "a user-defined network",
                                       s);
                if (!gw && inet_pton(AF_INET, sep + 1, buf) != 1 &&
                    inet_pton(AF_INET6, sep + 1, buf) != 1)
                        return vs_fail(err, "--add-host: '%s': '%s' is not an IP address", s,
                                       sep + 1);
                _cleanup_free_ char *e = xasprintf("%s:%s", name, sep + 1);
                json_object_array_add(a, json_object_new_string(e));
        }
        return 0;
}

static json_object *cni_list(const char *name);

/* ---- CNI ---- */

static char **cni_ifnames(const struct vs_ctr *c);

/* The flags of a first --network naming a CNI network list. */
static int check_cni(const struct vs_run_flags *f, const char *name, vs_error **err)
{
        const struct {
                bool set;
                const char *flag;
        } v[] = {
            {f->ip6 != NULL, "--ip6"},
            {f->mac_address != NULL, "--mac-address"},
        };
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
                if (v[i].set)
                        return vs_fail(err, "%s: not supported with the CNI network '%s'",
                                       v[i].flag, name);
        /* --ip goes to the IPAM plugin as CNI_ARGS IP= (host-local's,
         * as podman passes it); the plugin checks it against its range. */
        unsigned char a4[4];
        if (f->ip && inet_pton(AF_INET, f->ip, a4) != 1)
                return vs_fail(err, "--ip: '%s' is not an IPv4 address", f->ip);
        return 0;
}

/* Every --network: a vessel network (into Networks) or else a CNI network
 * list (into CniNetworks: name, ethN by its position, the list as found
 * now, so that the monitor and later removals use the same whatever the
 * configuration becomes). --ip, --ip6 and --mac-address go to the first. */
static int classify_networks(struct vs_engine *e, const struct vs_run_flags *f, json_object *hc,
                             vs_error **err)
{
        size_t n = strv_len(f->networks);
        _cleanup_json_ json_object *natives = json_object_new_array();
        _cleanup_json_ json_object *cnis = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                const char *name = f->networks[i];
                if (vs_net_check(e->data_root, name, i == 0 ? f->ip : NULL, i == 0 ? f->ip6 : NULL,
                                 err) == 0) {
                        json_object_array_add(natives, json_object_new_string(name));
                        continue;
                }
                json_object *l = cni_list(name);
                if (l == NULL)
                        return -1;
                vs_error_free(err);
                if (i == 0 && check_cni(f, name, err) < 0) {
                        json_object_put(l);
                        return -1;
                }
                json_object *one = json_object_new_object();
                _cleanup_free_ char *ifn = xasprintf("eth%zu", i);
                json_object_object_add(one, "Name", json_object_new_string(name));
                json_object_object_add(one, "Ifname", json_object_new_string(ifn));
                json_object_object_add(one, "Config", l);
                json_object_array_add(cnis, one);
        }
        uint8_t mac[6];
        if (json_object_array_length(natives) && f->mac_address &&
            vs_mac_parse("--mac-address", f->mac_address, mac, err) < 0)
                return -1;
        json_object_object_add(hc, "Networks", json_object_get(natives));
        if (json_object_array_length(cnis) == 0)
                return 0;
        json_object *first = json_object_array_get_idx(cnis, 0);
        json_object_object_add(hc, "CniNetwork", json_object_new_string(hc_str(first, "Name")));
        json_object_object_add(hc, "CniNetworks", json_object_get(cnis));
        json_object_object_add(hc, "CniPluginDirs", strv_to_json(vs_config_get()->cni_plugin_dirs));
        return 0;
}

/* The CNI list of that name in the configured directory (NULL: none). */
static json_object *cni_list(const char *name)
{
        json_object *l = NULL;
        _cleanup_error_ vs_error *err = NULL;
        vs_cni_find(vs_config_get()->cni_config_dir, name, &l, &err);
        return l;
}

int vs_engine_net_check(struct vs_engine *e, const struct vs_run_flags *f, json_object *hc,
                        vs_error **err)
{
        const char *mode = f->networks ? f->networks[0] : "default";
        size_t n = strv_len(f->networks);
        for (size_t i = 0; i < n; i++) {
                if (!*f->networks[i])
                        return vs_fail(err, "--network: empty network name");
                if (n > 1 && builtin_mode(f->networks[i]))
                        return vs_fail(err,
                                       "--network: '%s' cannot be combined with other networks",
                                       f->networks[i]);
                for (size_t k = 0; k < i; k++)
                        if (strcmp(f->networks[k], f->networks[i]) == 0)
                                return vs_fail(err, "--network: '%s' given twice", f->networks[i]);
        }
        if (check_dns(f, err) < 0 || check_add_hosts(f, hc, err) < 0)
                return -1;
        json_object_object_add(hc, "NetworkMode", json_object_new_string(mode));
        bool pasta = strcmp(mode, VS_NET_PASTA) == 0;
        if (builtin_mode(mode)) {
                if ((pasta ? check_pasta_flags(f, err) : check_no_net_flags(f, mode, err)) < 0)
                        return -1;
                if (strncmp(mode, CONTAINER_PREFIX, 10) == 0 &&
                    check_container_mode(e, f, mode, hc, err) < 0)
                        return -1;
        } else if (classify_networks(e, f, hc, err) < 0) {
                return -1;
        }
        json_object *ports = json_object_new_object();
        json_object_object_add(hc, "PortBindings", ports);
        for (size_t i = 0; f->publish && f->publish[i]; i++)
                if (vs_net_parse_port(f->publish[i], ports, err) < 0)
                        return -1;
        json_object_object_add(hc, "PublishAllPorts", json_object_new_boolean(f->publish_all));
        if (pasta && vs_pasta_check(ports, err) < 0)
                return -1;
        json_object *cnis = json_object_object_get(hc, "CniNetworks");
        json_object *cni0 = cnis ? json_object_array_get_idx(cnis, 0) : NULL;
        if (cni0 && strcmp(hc_str(cni0, "Name"), mode) == 0) {
                json_object_object_foreach(ports, key, arr)
                {
                        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                                const char *hp =
                                    hc_str(json_object_array_get_idx(arr, i), "HostPort");
                                if (!hp || !*hp || strchr(hp, '-'))
                                        return vs_fail(err,
                                                       "-p: %s: a CNI network needs a fixed host "
                                                       "port",
                                                       key);
                        }
                }
                if (f->publish_all)
                        return vs_fail(err, "-P: not supported with a CNI network");
        }
        if (f->ip)
                json_object_object_add(hc, "IPv4Address", json_object_new_string(f->ip));
        if (f->ip6)
                json_object_object_add(hc, "IPv6Address", json_object_new_string(f->ip6));
        if (f->mac_address)
                json_object_object_add(hc, "MacAddress", json_object_new_string(f->mac_address));
        for (size_t i = 0; f->net_aliases && f->net_aliases[i]; i++)
                if (!vs_net_host_name_ok(f->net_aliases[i])) {
                        _cleanup_free_ char *q = vs_str_escape(f->net_aliases[i]);
                        return vs_fail(err, "--network-alias: '%s' is not a valid host name", q);
                }
        if (f->net_aliases)
                json_object_object_add(hc, "NetworkAliases", strv_to_json(f->net_aliases));
        /* Flags first, then the configuration's dns / dns-search keys. */
        const struct vs_config *cfg = vs_config_get();
        json_object_object_add(hc, "Dns", strv_to_json(f->dns ? f->dns : cfg->dns));
        json_object_object_add(hc, "DnsSearch",
                               strv_to_json(f->dns_search ? f->dns_search : cfg->dns_search));
        json_object_object_add(hc, "DnsOptions", strv_to_json(f->dns_options));
        return 0;
}

void vs_engine_net_publish_all(json_object *cfg, json_object *hc)
{
        json_object *pb = json_object_object_get(hc, "PortBindings");
        json_object *exposed = json_object_object_get(cfg, "ExposedPorts");
        if (json_object_get_boolean(json_object_object_get(hc, "PublishAllPorts")) && pb && exposed)
                vs_net_publish_all(exposed, pb);
}

/* HostConfig.Networks, or (records from before it: NULL) the NetworkMode. A
 * container on a CNI network has CniNetwork and an empty Networks. */
const char *vs_engine_net_name(const struct vs_ctr *c)
{
        char **nets = c->hc.networks;
        if (nets && nets[0])
                return nets[0];
        const char *mode = c->hc.network_mode;
        /* A VM's user-mode network is QEMU's alone (src/vm/net.c). */
        if (mode && vs_ctr_is_vm(c) && strcmp(mode, VS_VM_NET_USER) == 0)
                return NULL;
        return mode && !builtin_mode(mode) && !nets ? mode : NULL;
}

int vs_engine_net_lease(struct vs_engine *e, const struct vs_ctr *c, const char *hostname,
                        char **hosts, vs_error **err)
{
        _cleanup_free_ char *hosts_path = xasprintf("%s/hosts", c->dir);
        char **nets = c->hc.networks;
        const char *mode = c->hc.network_mode;
        size_t n = nets ? strv_len(nets) : 1;
        _cleanup_strv_ char **taken = cni_ifnames(c);
        /* A VM's restore: its guest still holds the addresses it had. */
        _cleanup_json_ json_object *saved = vs_vm_restore_network(c);
        for (size_t i = 0; i < n; i++) {
                const char *name = nets ? nets[i] : mode;
                /* --ip, --mac-address, --network-alias and -p belong to the
                 * network run named first. */
                bool first = mode && strcmp(name, mode) == 0;
                const char *ip = first ? c->hc.ipv4_address : NULL;
                const char *ip6 = first ? c->hc.ipv6_address : NULL;
                const char *mac = first ? c->hc.mac_address : NULL;
                const char *saved_net = vs_json_str(saved, "Network");
                bool restoring = saved_net && strcmp(saved_net, name) == 0;
                if (restoring) {
                        ip = vs_json_str(saved, "IPAddress");
                        ip6 = vs_json_str(saved, "GlobalIPv6Address");
                        if (vs_json_str(saved, "MacAddress"))
                                mac = vs_json_str(saved, "MacAddress");
                        if (ip == NULL)
                                return vs_fail(err,
                                               "the checkpoint of container %s holds no address "
                                               "on network %s: it cannot be restored",
                                               c->name, name);
                }
                struct vs_net_endpoint_opts o = {
                    .network = name,
                    .ctr_id = c->id,
                    .ctr_name = c->name,
                    .hostname = hostname,
                    .ip = ip,
                    .ip6 = ip6,
                    .mac = mac,
                    .aliases = first ? c->hc.network_aliases : NULL,
                    .hosts_path = hosts_path,
                    .ports = first ? c->hc.port_bindings : NULL,
                    .taken_ifnames = taken,
                };
                if (vs_net_lease(e->data_root, &o, err) < 0)
                        return restoring ? vs_error_wrap(err,
                                                         "cannot restore container %s at the "
                                                         "address %s it holds on network %s",
                                                         c->name, ip, name)
                                         : -1;
        }
        return vs_net_hosts(e->data_root, c->id, hosts, err);
}

/* The container's CNI networks in order, each {Name, Ifname, Config}:
 * HostConfig.CniNetworks, or (a record from before it) CniNetwork with
 * CniConfig on eth0. A new reference, or NULL: none. */
static json_object *cni_nets(const struct vs_ctr *c)
{
        json_object *l = json_object_object_get(c->host_config, "CniNetworks");
        if (json_object_is_type(l, json_type_array))
                return json_object_get(l);
        if (c->hc.cni_network == NULL)
                return NULL;
        json_object *a = json_object_new_array(), *one = json_object_new_object();
        json_object_object_add(one, "Name", json_object_new_string(c->hc.cni_network));
        json_object_object_add(one, "Ifname", json_object_new_string("eth0"));
        json_object *conf = json_object_object_get(c->host_config, "CniConfig");
        if (conf)
                json_object_object_add(one, "Config", json_object_get(conf));
        json_object_array_add(a, one);
        return a;
}

/* The names of c's networks: vessel's in run order, then CNI ones. */
static char **networks_of(const struct vs_ctr *c)
{
        char **names = strv_copy(c->hc.networks);
        _cleanup_json_ json_object *cnis = cni_nets(c);
        for (size_t i = 0; cnis && i < json_object_array_length(cnis); i++) {
                json_object *n = json_object_object_get(json_object_array_get_idx(cnis, i), "Name");
                if (n)
                        strv_push(&names, json_object_get_string(n));
        }
        return names;
}

bool vs_engine_net_on(const struct vs_ctr *c, const char *name)
{
        if (c->hc.network_mode && strcmp(c->hc.network_mode, name) == 0)
                return true;
        _cleanup_strv_ char **names = networks_of(c);
        return strv_contains(names, name);
}

char *vs_engine_net_names(const struct vs_ctr *c)
{
        _cleanup_strv_ char **names = networks_of(c);
        if (names[0])
                return strv_join(names, ",");
        return xstrdup(c->hc.network_mode ? c->hc.network_mode : "default");
}

static size_t cni_count(json_object *l)
{
        return l ? json_object_array_length(l) : 0;
}

/* The interfaces of the container's CNI networks (the caller frees). */
static char **cni_ifnames(const struct vs_ctr *c)
{
        _cleanup_json_ json_object *l = cni_nets(c);
        char **v = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < cni_count(l); i++)
                strv_push(&v, hc_str(json_object_array_get_idx(l, i), "Ifname"));
        return v;
}

/* The arguments for one network of the container on interface ifname;
 * cache and dirs: the result's path (eth0's keeps the name it had when a
 * container had one CNI network) and the plugin directories recorded at
 * create (the caller frees both). */
static void cni_args(const struct vs_ctr *c, const char *ifname, struct vs_cni_args *a,
                     char **cache, char ***dirs)
{
        *cache = strcmp(ifname, "eth0") == 0 ? xasprintf("%s/cni-result.json", c->dir)
                                             : xasprintf("%s/cni-result-%s.json", c->dir, ifname);
        *dirs = strv_copy(c->hc.cni_plugin_dirs);
        *a = (struct vs_cni_args){
            .ctr_id = c->id,
            .ifname = ifname,
            .plugin_dirs = *dirs,
            .cache_path = *cache,
        };
}

/* CNI's portMappings from PortBindings (fixed host ports: checked at create). */
static json_object *port_mappings(json_object *pb)
{
        json_object *a = json_object_new_array();
        json_object_object_foreach(pb, key, arr)
        {
                const char *sl = strchr(key, '/');
                for (size_t i = 0; i < json_object_array_length(arr); i++) {
                        json_object *b = json_object_array_get_idx(arr, i),
                                    *m = json_object_new_object();
                        json_object_object_add(m, "hostPort",
                                               json_object_new_int(atoi(hc_str(b, "HostPort"))));
                        json_object_object_add(m, "containerPort", json_object_new_int(atoi(key)));
                        json_object_object_add(m, "protocol",
                                               json_object_new_string(sl ? sl + 1 : "tcp"));
                        json_object_object_add(m, "hostIP",
                                               json_object_new_string(hc_str(b, "HostIp")));
                        json_object_array_add(a, m);
                }
        }
        return a;
}

/* Whether net (of CniNetworks) is the container's first --network: -p,
 * --ip and --network-alias are its. */
static bool cni_first(const struct vs_ctr *c, json_object *net)
{
        const char *mode = hc_str(c->host_config, "NetworkMode");
        return mode && strcmp(mode, hc_str(net, "Name")) == 0;
}

static int cni_del_one(const struct vs_ctr *c, json_object *net, vs_error **err)
{
        _cleanup_free_ char *cache = NULL;
        _cleanup_strv_ char **dirs = NULL;
        struct vs_cni_args a;
        cni_args(c, hc_str(net, "Ifname"), &a, &cache, &dirs);
        return vs_cni_del(&a, err);
}

static int cni_attach_one(const struct vs_ctr *c, json_object *net, const char *ns, vs_error **err)
{
        const char *name = hc_str(net, "Name");
        json_object *l = json_object_object_get(net, "Config");
        if (l == NULL)
                return vs_fail(err, "CNI network '%s': no configuration recorded", name);
        _cleanup_free_ char *cache = NULL;
        _cleanup_strv_ char **dirs = NULL;
        struct vs_cni_args a;
        cni_args(c, hc_str(net, "Ifname"), &a, &cache, &dirs);
        /* A restart: the earlier incarnation's addresses go first. */
        vs_cni_del(&a, NULL);
        a.netns = ns;
        a.network = name;
        bool first = cni_first(c, net);
        _cleanup_json_ json_object *pm = first ? port_mappings(c->hc.port_bindings) : NULL;
        a.port_mappings = pm && json_object_array_length(pm) ? pm : NULL;
        _cleanup_json_ json_object *al =
            first && c->hc.network_aliases ? strv_to_json(c->hc.network_aliases) : NULL;
        a.aliases = al;
        const char *ip = first ? c->hc.ipv4_address : NULL;
        _cleanup_free_ char *args = ip ? xasprintf("IgnoreUnknown=1;IP=%s", ip) : NULL;
        a.args = args;
        if (vs_cni_add(l, &a, err) < 0)
                return vs_error_wrap(err, "cannot connect container %s to CNI network '%s'",
                                     c->name, name);
        return 0;
}

/* ADD of every CNI network in order; a failure DELs those before it, last
 * first. */
static int cni_attach(const struct vs_ctr *c, pid_t pid, vs_error **err)
{
        _cleanup_json_ json_object *l = cni_nets(c);
        _cleanup_free_ char *ns = xasprintf("/proc/%d/ns/net", (int) pid);
        for (size_t i = 0; i < cni_count(l); i++)
                if (cni_attach_one(c, json_object_array_get_idx(l, i), ns, err) < 0) {
                        while (i-- > 0)
                                cni_del_one(c, json_object_array_get_idx(l, i), NULL);
                        return -1;
                }
        return 0;
}

int vs_engine_net_cni_check(const struct vs_ctr *c, vs_error **err)
{
        _cleanup_json_ json_object *l = cni_nets(c);
        if (cni_count(l) == 0)
                return vs_fail(err, "container %s is not on a CNI network", c->name);
        _cleanup_free_ char *ns = xasprintf("/proc/%d/ns/net", (int) c->state.pid);
        for (size_t i = 0; i < cni_count(l); i++) {
                json_object *net = json_object_array_get_idx(l, i);
                _cleanup_free_ char *cache = NULL;
                _cleanup_strv_ char **dirs = NULL;
                struct vs_cni_args a;
                cni_args(c, hc_str(net, "Ifname"), &a, &cache, &dirs);
                a.netns = ns;
                if (vs_cni_check(&a, err) < 0)
                        return vs_error_wrap(err, "CNI network '%s'", hc_str(net, "Name"));
        }
        return 0;
}

/* Docker's fields of one CNI network from its cached result (NULL: none). */
static json_object *cni_settings_one(const struct vs_ctr *c, json_object *net)
{
        _cleanup_free_ char *cache = NULL;
        _cleanup_strv_ char **dirs = NULL;
        struct vs_cni_args a;
        cni_args(c, hc_str(net, "Ifname"), &a, &cache, &dirs);
        _cleanup_json_ json_object *r = vs_cni_cached_result(cache);
        json_object *ips = json_object_object_get(r, "ips");
        if (!json_object_is_type(ips, json_type_array) || json_object_array_length(ips) == 0)
                return NULL;
        json_object *ip0 = json_object_array_get_idx(ips, 0);
        const char *addr = hc_str(ip0, "address");
        const char *slash = addr ? strchr(addr, '/') : NULL;
        _cleanup_free_ char *ip = slash ? xstrndup(addr, (size_t) (slash - addr)) : xstrdup("");
        json_object *o = json_object_new_object();
        json_object_object_add(o, "IPAddress", json_object_new_string(ip));
        json_object_object_add(o, "IPPrefixLen", json_object_new_int(slash ? atoi(slash + 1) : 0));
        json_object_object_add(
            o, "Gateway",
            json_object_new_string(hc_str(ip0, "gateway") ? hc_str(ip0, "gateway") : ""));
        json_object_object_add(o, "Aliases",
                               strv_to_json(cni_first(c, net) ? c->hc.network_aliases : NULL));
        return o;
}

static const char *const top_fields[] = {"IPAddress", "IPPrefixLen", "Gateway"};

/* NetworkSettings: the vessel networks' (src/net), with every CNI
 * network's entry under Networks; the top-level address is eth0's. */
static json_object *net_settings(struct vs_engine *e, const struct vs_ctr *c)
{
        json_object *o =
            vs_engine_net_name(c) ? vs_net_container_settings(e->data_root, c->id) : NULL;
        _cleanup_json_ json_object *l = cni_nets(c);
        for (size_t i = 0; i < cni_count(l); i++) {
                json_object *net = json_object_array_get_idx(l, i);
                json_object *one = cni_settings_one(c, net);
                if (one == NULL)
                        continue;
                bool top = o == NULL || strcmp(hc_str(net, "Ifname"), "eth0") == 0;
                if (o == NULL) {
                        o = json_object_new_object();
                        json_object_object_add(o, "Networks", json_object_new_object());
                }
                for (size_t k = 0; top && k < sizeof(top_fields) / sizeof(top_fields[0]); k++) {
                        json_object *v = json_object_object_get(one, top_fields[k]);
                        json_object_object_add(o, top_fields[k], json_object_get(v));
                }
                if (cni_first(c, net)) {
                        json_object *pb = NULL;
                        json_object_deep_copy(c->hc.port_bindings, &pb, NULL);
                        json_object_object_add(o, "Ports", pb ? pb : json_object_new_object());
                }
                json_object_object_add(json_object_object_get(o, "Networks"), hc_str(net, "Name"),
                                       one);
        }
        if (o && json_object_object_get(o, "Ports") == NULL)
                json_object_object_add(o, "Ports", json_object_new_object());
        return o;
}

int vs_engine_net_attach(struct vs_engine *e, const struct vs_ctr *c, pid_t pid, vs_error **err)
{
        const char *mode = hc_str(c->host_config, "NetworkMode");
        if (mode && strcmp(mode, VS_NET_PASTA) == 0)
                return vs_pasta_start(c, pid, err);
        if (cni_attach(c, pid, err) < 0)
                return -1;
        if (vs_engine_net_name(c) == NULL)
                return 0;
        if (vs_net_attach(e->data_root, c->id, pid, err) < 0)
                return vs_error_wrap(err, "cannot connect container %s to its networks", c->name);
        /* Published ports answer on [::1] too, through a relay (as
         * Docker's docker-proxy). */
        if (vs_net_proxy_spawn(e->data_root, c->id, pid, err) < 0)
                return vs_error_wrap(err, "cannot publish the ports of container %s", c->name);
        return 0;
}

/* The vessel networks' endpoints, then every CNI network's DEL, last
 * first (the reverse of ADD), each tried: the first error is returned. */
int vs_engine_net_release(struct vs_engine *e, const struct vs_ctr *c, vs_error **err)
{
        vs_pasta_stop(c);
        int ret = vs_net_release_deferred(e->data_root, c->id,
                                          e->defer_links ? &e->deferred_links : NULL, err);
        _cleanup_json_ json_object *l = cni_nets(c);
        for (size_t i = cni_count(l); i-- > 0;) {
                vs_error *e2 = NULL;
                if (cni_del_one(c, json_object_array_get_idx(l, i), &e2) < 0 && ret == 0) {
                        *err = e2;
                        ret = -1;
                } else {
                        vs_error_free(&e2);
                }
        }
        return ret;
}

void vs_engine_net_events(struct vs_engine *e, const struct vs_ctr *c, const char *action)
{
        /* Not vs_engine_net_name(c): a `network connect` while c runs
         * adds a network its caller's copy of the record may not know. */
        _cleanup_free_ char *db = xasprintf("%s/networks/networks.json", e->data_root);
        if (!vs_path_exists(db))
                return;
        _cleanup_json_ json_object *ns = vs_net_container_settings(e->data_root, c->id);
        json_object *nets = json_object_object_get(ns, "Networks");
        if (nets == NULL)
                return;
        json_object_object_foreach(nets, name, one)
        {
                vs_network_event(e->data_root, action, hc_str(one, "NetworkID"), name, c->id);
        }
}

json_object *vs_engine_net_settings(struct vs_engine *e, const struct vs_ctr *c)
{
        return net_settings(e, c);
}

/* ---- /etc files ---- */

char *vs_engine_extra_hosts(struct vs_engine *e, const struct vs_ctr *c)
{
        char *s = xstrdup("");
        char **a = c->hc.extra_hosts;
        _cleanup_json_ json_object *ns = NULL;
        for (size_t i = 0; a && a[i]; i++) {
                const char *h = a[i];
                const char *sep = strchr(h, ':'), *ip = sep ? sep + 1 : NULL;
                if (sep == NULL)
                        continue;
                /* Docker's host-gateway: the host as the container reaches
                 * it, its first network's gateway. */
                if (strcmp(ip, "host-gateway") == 0) {
                        if (ns == NULL)
                                ns = vs_engine_net_settings(e, c);
                        ip = hc_str(ns, "Gateway");
                        if (ip == NULL || !*ip)
                                continue;
                }
                char *t = xasprintf("%s%s\t%.*s\n", s, ip, (int) (sep - h), h);
                free(s);
                s = t;
        }
        return s;
}

/* Lines of text starting with key (a resolv.conf keyword) replaced by one
 * "key v1 v2..." (or one line per value for nameserver) when vals is set. */
static char *replace_key(char *text, const char *key, char **vals)
{
        size_t n = strv_len(vals);
        if (n == 0)
                return text;
        char *out = xstrdup(""), *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                size_t kl = strlen(key);
                if (strncmp(line, key, kl) == 0 && (line[kl] == ' ' || line[kl] == '\t'))
                        continue;
                char *t = xasprintf("%s%s\n", out, line);
                free(out);
                out = t;
        }
        free(text);
        bool per_line = strcmp(key, "nameserver") == 0;
        for (size_t i = 0; i < n; i++) {
                const char *v = vals[i];
                char *t = per_line || i == 0 ? xasprintf("%s%s%s %s", out, i ? "\n" : "", key, v)
                                             : xasprintf("%s %s", out, v);
                free(out);
                out = t;
        }
        char *t = xasprintf("%s\n", out);
        free(out);
        return t;
}

char *vs_engine_resolv_conf(const struct vs_ctr *c, char *host_resolv)
{
        char *s = replace_key(host_resolv, "nameserver", c->hc.dns);
        s = replace_key(s, "search", c->hc.dns_search);
        return replace_key(s, "options", c->hc.dns_options);
}

int vs_engine_net_joined(struct vs_engine *e, const struct vs_ctr *c, char **nspath, char **dir,
                         char **hostname, vs_error **err)
{
        const char *mode = hc_str(c->host_config, "NetworkMode");
        *nspath = *dir = *hostname = NULL;
        if (mode == NULL || strncmp(mode, CONTAINER_PREFIX, 10) != 0)
                return 0;
        _cleanup_ctr_ struct vs_ctr *other = NULL;
        if (vs_ctr_load(e, mode + 10, &other, err) < 0)
                return vs_error_wrap(err, "--network %s", mode);
        vs_ctr_refresh(e, other);
        if (!other->state.running || other->state.pid <= 0)
                return vs_fail(err, "--network %s: container %s is not running", mode, other->name);
        *nspath = xasprintf("/proc/%d/ns/net", (int) other->state.pid);
        *dir = xstrdup(other->dir);
        *hostname =
            xstrdup(hc_str(other->config, "Hostname") ? hc_str(other->config, "Hostname") : "");
        return 0;
}

/* ---- connect / disconnect ---- */

static int modify_networks(struct vs_engine *e, struct vs_ctr *c, const char *name, bool add,
                           vs_error **err)
{
        _cleanup_close_ int lock = vs_ctr_lock(c, err);
        if (lock < 0)
                return -1;
        _cleanup_ctr_ struct vs_ctr *cur = NULL;
        if (vs_ctr_load(e, c->id, &cur, err) < 0)
                return -1;
        /* The typed list is what the record's writer saves. */
        char ***nets = &cur->hc.networks;
        if (*nets == NULL) {
                const char *first = vs_engine_net_name(cur); /* before Networks exists */
                char **v = xcalloc(1, sizeof(char *));
                if (first)
                        strv_push(&v, first);
                *nets = v;
        }
        char **kept = xcalloc(1, sizeof(char *));
        for (size_t i = 0; (*nets)[i]; i++)
                if (strcmp((*nets)[i], name) != 0)
                        strv_push(&kept, (*nets)[i]);
        if (add)
                strv_push(&kept, name);
        strv_free(*nets);
        *nets = kept;
        return vs_ctr_save(cur, err);
}

static int check_connectable(const struct vs_ctr *c, vs_error **err)
{
        const char *mode = hc_str(c->host_config, "NetworkMode");
        if (vs_ctr_is_vm(c))
                return vs_fail(err,
                               "container %s runs in a VM (--isolation=vm): its network is "
                               "fixed when the VM starts (QEMU's microvm machine has no bus to "
                               "plug a second NIC into)",
                               c->name);
        if (c->hc.cni_network)
                mode = c->hc.cni_network;
        if (mode && (strcmp(mode, "none") == 0 || strcmp(mode, "host") == 0 ||
                     strncmp(mode, CONTAINER_PREFIX, 10) == 0 || c->hc.cni_network))
                return vs_fail(err, "container %s uses --network %s: it cannot join networks",
                               c->name, mode);
        return 0;
}

int vs_engine_net_connect(struct vs_engine *e, struct vs_ctr *c, const char *network,
                          const char *ip, const char *ip6, char **aliases, vs_error **err)
{
        if (check_connectable(c, err) < 0)
                return -1;
        vs_ctr_refresh(e, c);
        _cleanup_free_ char *hosts_path = xasprintf("%s/hosts", c->dir);
        const char *hn = hc_str(c->config, "Hostname");
        struct vs_net_endpoint_opts o = {
            .network = network,
            .ctr_id = c->id,
            .ctr_name = c->name,
            .hostname = hn ? hn : c->name,
            .ip = ip,
            .ip6 = ip6,
            .aliases = aliases,
            .hosts_path = hosts_path,
        };
        _cleanup_free_ char *name = NULL;
        pid_t pid = c->state.running ? c->state.pid : 0;
        if (vs_net_connect(e->data_root, &o, pid, &name, err) < 0)
                return -1;
        if (modify_networks(e, c, name, true, err) < 0) {
                vs_net_disconnect(e->data_root, c->id, c->name, name, NULL, NULL);
                return -1;
        }
        return 0;
}

int vs_engine_net_disconnect(struct vs_engine *e, struct vs_ctr *c, const char *network,
                             vs_error **err)
{
        _cleanup_free_ char *name = NULL;
        vs_ctr_refresh(e, c);
        if (vs_ctr_is_vm(c) && c->state.running)
                return vs_fail(err,
                               "container %s runs in a VM (--isolation=vm): its NIC stays while "
                               "the VM runs (QEMU's microvm machine cannot unplug it): stop it "
                               "first",
                               c->name);
        if (vs_net_disconnect(e->data_root, c->id, c->name, network, &name, err) < 0)
                return -1;
        return modify_networks(e, c, name, false, err);
}

/* ---- ports (ps, port) ---- */

int vs_engine_ports_each(struct vs_engine *e, const struct vs_ctr *c,
                         void (*fn)(void *, const char *key, const char *ip, const char *port),
                         void *ud)
{
        if (vs_engine_net_name(c) == NULL && c->hc.cni_network == NULL)
                return 0;
        _cleanup_json_ json_object *ns = vs_engine_net_settings(e, c);
        int n = 0;
        if (ns == NULL)
                return 0;
        json_object_object_foreach(json_object_object_get(ns, "Ports"), key, arr)
        {
                for (size_t i = 0; i < json_object_array_length(arr); i++) {
                        json_object *b = json_object_array_get_idx(arr, i);
                        const char *ip = hc_str(b, "HostIp");
                        /* IPv6 addresses bracketed, as Docker shows them */
                        _cleanup_free_ char *shown = !ip || !*ip       ? xstrdup("0.0.0.0")
                                                     : strchr(ip, ':') ? xasprintf("[%s]", ip)
                                                                       : xstrdup(ip);
                        fn(ud, key, shown, hc_str(b, "HostPort"));
                        n++;
                }
        }
        return n;
}

static void append_port(void *ud, const char *key, const char *ip, const char *port)
{
        char **s = ud;
        char *t = xasprintf("%s%s%s:%s->%s", *s, **s ? ", " : "", ip, port, key);
        free(*s);
        *s = t;
}

char *vs_engine_ports_text(struct vs_engine *e, const struct vs_ctr *c)
{
        char *s = xstrdup("");
        vs_engine_ports_each(e, c, append_port, &s);
        return s;
}
