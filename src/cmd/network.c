/* vessel network create|ls|inspect|rm|prune (Docker's), over src/net. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/options.h"
#include "cmd/engine_cmd.h"
#include "engine/config.h"
#include "image/store.h"
#include "net/net.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

static const char *data_root(void)
{
        return vs_globals.data_root;
}

/* The CNI network called name (a conflist in the configuration's CNI
 * directory) in Docker's shape; NULL: none. Callers ask only once no
 * vessel network has that name, as a run's --network NAME does. */
static json_object *cni_network(const char *name)
{
        _cleanup_json_ json_object *all = NULL;
        vs_cni_networks(vs_config_get()->cni_config_dir, &all);
        for (size_t i = 0; i < json_object_array_length(all); i++) {
                json_object *n = json_object_array_get_idx(all, i);
                if (strcmp(json_object_get_string(json_object_object_get(n, "Name")), name) == 0)
                        return json_object_get(n);
        }
        return NULL;
}

/* vessel's networks, then the CNI networks none of them shadows. */
static int all_networks(json_object **out, vs_error **err)
{
        if (vs_net_list(data_root(), out, err) < 0)
                return -1;
        _cleanup_json_ json_object *cnis = NULL;
        vs_cni_networks(vs_config_get()->cni_config_dir, &cnis);
        for (size_t i = 0; i < json_object_array_length(cnis); i++) {
                json_object *c = json_object_array_get_idx(cnis, i);
                const char *name = json_object_get_string(json_object_object_get(c, "Name"));
                bool shadowed = false;
                for (size_t k = 0; k < json_object_array_length(*out) && !shadowed; k++)
                        shadowed = strcmp(json_object_get_string(json_object_object_get(
                                              json_object_array_get_idx(*out, k), "Name")),
                                          name) == 0;
                if (!shadowed)
                        json_object_array_add(*out, json_object_get(c));
        }
        return 0;
}

/* --opt K=V: the bridge driver's options vessel knows, the bridge's name
 * and the MTU (Docker's key, or podman's "mtu"). */
static int driver_opts(char **opts, struct vs_net_create_opts *o)
{
        static const char bridge_name[] = "com.docker.network.bridge.name=";
        static const char *const mtu_keys[] = {"com.docker.network.driver.mtu=", "mtu="};
        for (size_t i = 0; opts && opts[i]; i++) {
                _cleanup_error_ vs_error *err = NULL;
                if (strncmp(opts[i], bridge_name, sizeof(bridge_name) - 1) == 0) {
                        o->bridge = opts[i] + sizeof(bridge_name) - 1;
                        continue;
                }
                const char *mtu = NULL;
                for (size_t k = 0; k < 2 && mtu == NULL; k++)
                        if (strncmp(opts[i], mtu_keys[k], strlen(mtu_keys[k])) == 0)
                                mtu = opts[i] + strlen(mtu_keys[k]);
                if (mtu) {
                        int v;
                        if (vs_opt_parse_int("opt com.docker.network.driver.mtu", mtu, &v, &err) <
                            0)
                                return vs_report_error(&err);
                        if (v <= 0) {
                                vs_fail(&err,
                                        "--opt com.docker.network.driver.mtu: %s is not an MTU "
                                        "(%u to %u)",
                                        mtu, VS_NET_MTU_MIN, VS_NET_MTU_MAX);
                                return vs_report_error(&err);
                        }
                        o->mtu = (unsigned) v;
                        continue;
                }
                vs_fail(&err,
                        "--opt: unknown option '%s' (the bridge driver takes "
                        "com.docker.network.bridge.name=NAME and "
                        "com.docker.network.driver.mtu=MTU)",
                        opts[i]);
                return vs_report_error(&err);
        }
        return 0;
}

/* Docker's network event for network ref (a name or id): its id and
 * name from the database (inspected before a removal). */
static json_object *net_lookup(const char *ref)
{
        json_object *o = NULL;
        _cleanup_error_ vs_error *err = NULL;
        vs_net_inspect(data_root(), ref, &o, &err);
        return o;
}

static void net_event(json_object *net, const char *action, const char *ctr_id)
{
        if (net == NULL)
                return;
        vs_network_event(data_root(), action,
                         json_object_get_string(json_object_object_get(net, "Id")),
                         json_object_get_string(json_object_object_get(net, "Name")), ctr_id);
}

int cmd_network_create(int argc, char **argv)
{
        struct vs_net_create_opts o = {0};
        _cleanup_strv_ char **labels = NULL, **subnets = NULL, **dopts = NULL;
        const char *driver = "bridge";
        const struct vs_option opts[] = {
            {"driver", 'd', VS_OPT_STRING, &driver, "bridge", "the only driver"},
            {"subnet", 0, VS_OPT_LIST, &subnets, "CIDR",
             "e.g. 10.5.0.0/24 (default: the first free /24 of 10.89.0.0/16); twice for "
             "dual-stack: one IPv4, one IPv6"},
            {"gateway", 0, VS_OPT_STRING, &o.gateway, "IP",
             "the bridge's address (default: the subnet's first)"},
            {"ip-range", 0, VS_OPT_STRING, &o.ip_range, "CIDR",
             "allocate container addresses only from this part of the subnet"},
            {"internal", 0, VS_OPT_BOOL, &o.internal, NULL,
             "no outbound traffic, no default route"},
            {"ipv6", 0, VS_OPT_BOOL, &o.ipv6, NULL,
             "dual-stack (an IPv6 --subnet, else one from the pools)"},
            {"label", 0, VS_OPT_LIST, &labels, "K=V", "a label (repeatable)"},
            {"opt", 'o', VS_OPT_LIST, &dopts, "K=V",
             "driver option: com.docker.network.bridge.name=NAME, "
             "com.docker.network.driver.mtu=MTU"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"network create", "[OPTIONS] NAME", "Create a bridge network.",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        for (size_t i = 0; subnets && subnets[i]; i++) {
                const char **slot = strchr(subnets[i], ':') ? &o.subnet6 : &o.subnet;
                if (*slot != NULL) {
                        _cleanup_error_ vs_error *err = NULL;
                        vs_fail(&err, "--subnet: one IPv4 and one IPv6 subnet at most");
                        return vs_report_error(&err);
                }
                *slot = subnets[i];
        }
        if (strcmp(driver, "bridge") != 0) {
                _cleanup_error_ vs_error *err = NULL;
                vs_fail(&err, "--driver: unsupported driver '%s' (bridge)", driver);
                return vs_report_error(&err);
        }
        int bad = driver_opts(dopts, &o);
        if (bad)
                return bad;
        if (first + 1 != argc)
                return vs_usage_error("network create", "expects exactly one NAME");
        o.name = argv[first];
        o.labels = labels;
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_free_ char *id = NULL;
        if (vs_net_create(data_root(), &o, &id, &err) < 0)
                return vs_report_error(&err);
        _cleanup_json_ json_object *net = net_lookup(id);
        net_event(net, "create", NULL);
        printf("%s\n", id);
        return 0;
}

/* --filter KEY=VALUE, Docker's: name= (a substring), id= (a prefix),
 * label=K or label=K=V, driver=; values of one key are alternatives, keys
 * must all match. */
static const char *const filter_keys[] = {"name", "id", "label", "driver", NULL};

static int check_filters(char **filters)
{
        for (size_t i = 0; filters && filters[i]; i++) {
                const char *eq = strchr(filters[i], '=');
                bool known = false;
                for (size_t k = 0; eq && filter_keys[k]; k++)
                        known = known || (strlen(filter_keys[k]) == (size_t) (eq - filters[i]) &&
                                          strncmp(filters[i], filter_keys[k],
                                                  (size_t) (eq - filters[i])) == 0);
                if (!known) {
                        _cleanup_error_ vs_error *err = NULL;
                        vs_fail(&err,
                                "--filter: '%s' is not KEY=VALUE with KEY one of name, id, "
                                "label, driver",
                                filters[i]);
                        return vs_report_error(&err);
                }
        }
        return 0;
}

static bool label_matches(json_object *labels, const char *want)
{
        const char *eq = strchr(want, '=');
        _cleanup_free_ char *k = eq ? xstrndup(want, (size_t) (eq - want)) : xstrdup(want);
        json_object *v = json_object_object_get(labels, k);
        return v && (eq == NULL || strcmp(json_object_get_string(v), eq + 1) == 0);
}

static bool one_matches(json_object *n, const char *key, const char *val)
{
        const char *id = json_object_get_string(json_object_object_get(n, "Id"));
        if (strcmp(key, "name") == 0)
                return strstr(json_object_get_string(json_object_object_get(n, "Name")), val);
        if (strcmp(key, "id") == 0)
                return strncmp(id, val, strlen(val)) == 0;
        if (strcmp(key, "label") == 0)
                return label_matches(json_object_object_get(n, "Labels"), val);
        return strcmp(json_object_get_string(json_object_object_get(n, "Driver")), val) == 0;
}

static bool filters_match(json_object *n, char **filters)
{
        for (size_t k = 0; filter_keys[k]; k++) {
                size_t len = strlen(filter_keys[k]);
                bool asked = false, any = false;
                for (size_t i = 0; filters && filters[i]; i++) {
                        if (strncmp(filters[i], filter_keys[k], len) != 0 || filters[i][len] != '=')
                                continue;
                        asked = true;
                        any = any || one_matches(n, filter_keys[k], filters[i] + len + 1);
                }
                if (asked && !any)
                        return false;
        }
        return true;
}

/* Docker's network ls context: ID, Name, Driver, Scope, IPv6, Internal,
 * Labels ("k=v,..."), CreatedAt. */
#define NETWORK_TABLE "{{.ID}}\\t{{.Name}}\\t{{.Driver}}\\t{{.Scope}}"

static json_object *ls_row(json_object *n, bool no_trunc)
{
        json_object *o = json_object_new_object();
        const char *id = json_object_get_string(json_object_object_get(n, "Id"));
        _cleanup_free_ char *shown = xstrndup(id, no_trunc ? 64 : 12);
        json_object_object_add(o, "ID", json_object_new_string(shown));
        static const char *const copied[] = {"Name", "Driver", "Scope"};
        for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++)
                json_object_object_add(o, copied[i],
                                       json_object_get(json_object_object_get(n, copied[i])));
        json_object_object_add(
            o, "IPv6",
            json_object_new_string(json_object_get_boolean(json_object_object_get(n, "EnableIPv6"))
                                       ? "true"
                                       : "false"));
        json_object_object_add(
            o, "Internal",
            json_object_new_string(
                json_object_get_boolean(json_object_object_get(n, "Internal")) ? "true" : "false"));
        char *labels = xstrdup("");
        json_object_object_foreach(json_object_object_get(n, "Labels"), k, v)
        {
                char *t = xasprintf("%s%s%s=%s", labels, *labels ? "," : "", k,
                                    json_object_get_string(v));
                free(labels);
                labels = t;
        }
        json_object_object_add(o, "Labels", json_object_new_string(labels));
        free(labels);
        /* RFC 3339 UTC as Docker prints time.Time: "2006-01-02 15:04:05.999999999 +0000 UTC". */
        _cleanup_free_ char *created =
            xstrdup(json_object_get_string(json_object_object_get(n, "Created")));
        char *t = strchr(created, 'T'), *z = strchr(created, 'Z');
        if (t)
                *t = ' ';
        if (z)
                *z = '\0';
        _cleanup_free_ char *at = xasprintf("%s +0000 UTC", created);
        json_object_object_add(o, "CreatedAt", json_object_new_string(at));
        return o;
}

int cmd_network_ls(int argc, char **argv)
{
        bool quiet = false, no_trunc = false;
        const char *format = NULL;
        _cleanup_strv_ char **filters = NULL;
        const struct vs_option opts[] = {
            {"quiet", 'q', VS_OPT_BOOL, &quiet, NULL, "names' ids only"},
            {"no-trunc", 0, VS_OPT_BOOL, &no_trunc, NULL, "full ids"},
            {"filter", 'f', VS_OPT_LIST, &filters, "KEY=VALUE",
             "name=, id=, label=K[=V], driver= (repeatable)"},
            {"format", 0, VS_OPT_STRING, &format, "T",
             "a Go template (.ID .Name .Driver .Scope .IPv6 .Internal .Labels .CreatedAt, "
             ".Label \"K\"), "
             "table or json"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"network ls", "[-q] [--no-trunc] [--filter KEY=VALUE] [--format T]",
                                "List networks.", opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first < argc)
                return vs_usage_error("network ls", "unexpected argument '%s'", argv[first]);
        int bad = check_filters(filters);
        if (bad)
                return bad;
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_json_ json_object *all = NULL;
        if (all_networks(&all, &err) < 0)
                return vs_report_error(&err);
        _cleanup_json_ json_object *rows = json_object_new_array();
        _cleanup_json_ json_object *labels = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(all); i++) {
                json_object *n = json_object_array_get_idx(all, i);
                if (!filters_match(n, filters))
                        continue;
                if (quiet) {
                        printf("%.*s\n", no_trunc ? 64 : 12,
                               json_object_get_string(json_object_object_get(n, "Id")));
                } else {
                        json_object_array_add(rows, ls_row(n, no_trunc));
                        json_object *l = json_object_object_get(n, "Labels");
                        json_object_array_add(labels,
                                              l ? json_object_get(l) : json_object_new_object());
                }
        }
        if (quiet)
                return 0;
        static const char *const heads[][2] = {
            {"ID", "NETWORK ID"}, {"Name", "NAME"},
            {"Driver", "DRIVER"}, {"Scope", "SCOPE"},
            {"IPv6", "IPV6"},     {"Internal", "INTERNAL"},
            {"Labels", "LABELS"}, {"CreatedAt", "CREATED AT"},
        };
        _cleanup_json_ json_object *header = json_object_new_object();
        for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
                json_object_object_add(header, heads[i][0], json_object_new_string(heads[i][1]));
        return vs_cmd_format_labelled_list(format, NETWORK_TABLE, header, rows, labels);
}

/* The running containers of a network vessel does not record endpoints
 * for, as Docker lists a network's: those in host or none (NetworkMode;
 * no addresses), or on a CNI network (ConfigFile: the addresses the
 * plugins gave each, from its cached result). The endpoint id is the
 * digest of the container's and the network's ids, stable for as long as
 * both exist. */
static void add_containers(json_object *net)
{
        const char *name = json_object_get_string(json_object_object_get(net, "Name"));
        const char *net_id = json_object_get_string(json_object_object_get(net, "Id"));
        json_object *ctrs = json_object_object_get(net, "Containers");
        bool cni = json_object_object_get(net, "ConfigFile") != NULL;
        if (name == NULL || net_id == NULL || ctrs == NULL || (!cni && !vs_net_is_predefined(name)))
                return;
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_error_ vs_error *err = NULL;
        struct vs_ctr **v = NULL;
        size_t n = 0;
        if (vs_cmd_open_engine(&e, &err) < 0 || vs_ctr_list(e, &v, &n, &err) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                struct vs_ctr *c = v[i];
                if (cni ? !vs_engine_net_on(c, name)
                        : c->hc.network_mode == NULL || strcmp(c->hc.network_mode, name) != 0)
                        continue;
                vs_ctr_refresh(e, c);
                const char *st = c->state.status;
                if (strcmp(st, "running") != 0 && strcmp(st, "paused") != 0)
                        continue;
                _cleanup_json_ json_object *ns = cni ? vs_engine_net_settings(e, c) : NULL;
                json_object *mine =
                    json_object_object_get(json_object_object_get(ns, "Networks"), name);
                const char *ip = vs_json_str(mine, "IPAddress");
                const char *ip6 = vs_json_str(mine, "GlobalIPv6Address");
                const char *mac = vs_json_str(mine, "MacAddress");
                int len = json_object_get_int(json_object_object_get(mine, "IPPrefixLen"));
                int len6 = json_object_get_int(json_object_object_get(mine, "GlobalIPv6PrefixLen"));
                _cleanup_free_ char *seed = xasprintf("%s/%s", c->id, net_id);
                _cleanup_free_ char *ep = vs_digest_buffer(seed, strlen(seed));
                _cleanup_free_ char *v4 = ip && *ip ? xasprintf("%s/%d", ip, len) : xstrdup("");
                _cleanup_free_ char *v6 = ip6 && *ip6 ? xasprintf("%s/%d", ip6, len6) : xstrdup("");
                json_object *o = json_object_new_object();
                json_object_object_add(o, "Name", json_object_new_string(c->name));
                json_object_object_add(o, "EndpointID",
                                       json_object_new_string(ep + strlen("sha256:")));
                json_object_object_add(o, "MacAddress", json_object_new_string(mac ? mac : ""));
                json_object_object_add(o, "IPv4Address", json_object_new_string(v4));
                json_object_object_add(o, "IPv6Address", json_object_new_string(v6));
                json_object_object_add(ctrs, c->id, o);
        }
        vs_ctr_list_free(v, n);
}

int cmd_network_inspect(int argc, char **argv)
{
        const char *format = NULL;
        const struct vs_option opts[] = {
            {"format", 'f', VS_OPT_STRING, &format, "FORMAT", "a Go template"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"network inspect", "[-f FORMAT] NETWORK...",
                                "Print networks as JSON (Docker's shape), or each through a Go "
                                "template.",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first >= argc)
                return vs_usage_error("network inspect", "expects at least one NETWORK");
        _cleanup_json_ json_object *arr = json_object_new_array();
        int status = 0;
        for (int i = first; i < argc; i++) {
                _cleanup_error_ vs_error *err = NULL;
                json_object *o = NULL;
                if (vs_net_inspect(data_root(), argv[i], &o, &err) < 0 &&
                    (o = cni_network(argv[i])) == NULL) {
                        status = vs_report_error(&err);
                        continue;
                }
                add_containers(o);
                if (vs_cmd_inspect_one(format, o, arr, &err) < 0)
                        return vs_report_error(&err);
        }
        vs_cmd_inspect_done(format, arr);
        return status;
}

int cmd_network_rm(int argc, char **argv)
{
        const struct vs_option opts[] = {VS_OPT_TABLE_END};
        struct vs_cmdline cl = {"network rm", "NETWORK...", "Remove networks no container uses.",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first >= argc)
                return vs_usage_error("network rm", "expects at least one NETWORK");
        int status = 0;
        for (int i = first; i < argc; i++) {
                _cleanup_error_ vs_error *err = NULL;
                _cleanup_free_ char *name = NULL;
                _cleanup_json_ json_object *net = net_lookup(argv[i]);
                _cleanup_json_ json_object *cni = net ? NULL : cni_network(argv[i]);
                if (cni) {
                        vs_fail(&err,
                                "network %s is a CNI network: its configuration %s is not "
                                "vessel's to remove",
                                argv[i],
                                json_object_get_string(json_object_object_get(cni, "ConfigFile")));
                        status = vs_report_error(&err);
                } else if (vs_net_rm(data_root(), argv[i], &name, &err) < 0) {
                        status = vs_report_error(&err);
                } else {
                        net_event(net, "destroy", NULL);
                        printf("%s\n", argv[i]);
                }
        }
        return status;
}

/* A container exists while its record does. */
static bool ctr_exists(void *ud, const char *id)
{
        _cleanup_free_ char *p = xasprintf("%s/containers/%s/record.json", (const char *) ud, id);
        return vs_path_exists(p);
}

int vs_cmd_network_prune(bool networks, const struct vs_prune_filter *f, char ***removed,
                         vs_error **err)
{
        _cleanup_free_ char *db = xasprintf("%s/networks/networks.json", data_root());
        if (!vs_path_exists(db)) {
                *removed = xcalloc(1, sizeof(char *));
                return 0;
        }
        _cleanup_strv_ char **ids = NULL;
        if (vs_net_prune(data_root(), ctr_exists, (void *) data_root(), networks,
                         f ? vs_prune_filter_match : NULL, (void *) f, removed, &ids, err) < 0)
                return -1;
        /* Docker's prune removes each network as `network rm` does. */
        for (size_t i = 0; ids[i]; i++)
                vs_network_event(data_root(), "destroy", ids[i], (*removed)[i], NULL);
        return 0;
}

int cmd_network_prune(int argc, char **argv)
{
        bool force = false;
        const struct vs_option opts[] = {
            {"force", 'f', VS_OPT_BOOL, &force, NULL, "do not ask (nothing asks)"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"network prune", "[-f]",
                                "Remove the user-defined networks no container uses, and the "
                                "addresses, veths and port rules of containers that are gone.",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first < argc)
                return vs_usage_error("network prune", "unexpected argument '%s'", argv[first]);
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_strv_ char **removed = NULL;
        if (vs_cmd_network_prune(true, NULL, &removed, &err) < 0)
                return vs_report_error(&err);
        if (removed[0]) {
                printf("Deleted Networks:\n");
                for (size_t i = 0; removed[i]; i++)
                        printf("%s\n", removed[i]);
        }
        return 0;
}

/* connect/disconnect: the container, by name or id prefix. */
static int with_ctr(const char *ref, struct vs_engine **e, struct vs_ctr **c, vs_error **err)
{
        return vs_cmd_open_engine(e, err) < 0 ? -1 : vs_ctr_resolve(*e, ref, c, err);
}

/* host and none are namespace modes chosen at create (Docker's words). */
static int predefined_error(const char *name)
{
        _cleanup_error_ vs_error *err = NULL;
        vs_fail(&err,
                "container cannot be disconnected from %s network or connected to %s network "
                "(--network %s is chosen at create)",
                name, name, name);
        return vs_report_error(&err);
}

int cmd_network_connect(int argc, char **argv)
{
        const char *ip = NULL, *ip6 = NULL;
        _cleanup_strv_ char **aliases = NULL;
        const struct vs_option opts[] = {
            {"ip", 0, VS_OPT_STRING, &ip, "IP", "the container's address on the network"},
            {"ip6", 0, VS_OPT_STRING, &ip6, "IP",
             "the container's IPv6 address on the (dual-stack) network"},
            {"alias", 0, VS_OPT_LIST, &aliases, "NAME", "another name peers resolve it by"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"network connect", "[OPTIONS] NETWORK CONTAINER",
                                "Connect a container to a network (a running one gets its "
                                "interface at once).",
                                opts, VS_PARSE_INTERSPERSED};
        int i = vs_parse_options(&cl, argc, argv);
        if (i < 0)
                return cl.status;
        if (i + 2 != argc)
                return vs_usage_error("network connect", "expects NETWORK CONTAINER");
        _cleanup_error_ vs_error *err = NULL;
        if (vs_net_is_predefined(argv[i]))
                return predefined_error(argv[i]);
        struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ct = NULL;
        int r = with_ctr(argv[i + 1], &e, &ct, &err);
        if (r == 0)
                r = vs_engine_net_connect(e, ct, argv[i], ip, ip6, aliases, &err);
        /* A stopped container's connect is written at its start (as
         * Docker's: its daemon connects the networks then). */
        if (r == 0 && ct->state.running) {
                _cleanup_json_ json_object *net = net_lookup(argv[i]);
                net_event(net, "connect", ct->id);
        }
        if (e)
                vs_engine_close(e);
        return r < 0 ? vs_report_error(&err) : 0;
}

int cmd_network_disconnect(int argc, char **argv)
{
        bool force = false;
        const struct vs_option opts[] = {
            {"force", 'f', VS_OPT_BOOL, &force, NULL, "accepted, as Docker's"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"network disconnect", "[-f] NETWORK CONTAINER",
                                "Disconnect a container from a network.", opts,
                                VS_PARSE_INTERSPERSED};
        int i = vs_parse_options(&cl, argc, argv);
        if (i < 0)
                return cl.status;
        if (i + 2 != argc)
                return vs_usage_error("network disconnect", "expects NETWORK CONTAINER");
        _cleanup_error_ vs_error *err = NULL;
        if (vs_net_is_predefined(argv[i]))
                return predefined_error(argv[i]);
        struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ct = NULL;
        int r = with_ctr(argv[i + 1], &e, &ct, &err);
        _cleanup_json_ json_object *net = r == 0 ? net_lookup(argv[i]) : NULL;
        if (r == 0)
                r = vs_engine_net_disconnect(e, ct, argv[i], &err);
        if (r == 0)
                net_event(net, "disconnect", ct->id);
        if (e)
                vs_engine_close(e);
        return r < 0 ? vs_report_error(&err) : 0;
}

int cmd_network_check(int argc, char **argv)
{
        const struct vs_option opts[] = {VS_OPT_TABLE_END};
        struct vs_cmdline cl = {"network check", "CONTAINER",
                                "Run the CNI CHECK of a running container on a CNI network.", opts,
                                0};
        int i = vs_parse_options(&cl, argc, argv);
        if (i < 0)
                return cl.status;
        if (i + 1 != argc)
                return vs_usage_error("network check", "expects CONTAINER");
        _cleanup_error_ vs_error *err = NULL;
        struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ct = NULL;
        int r = vs_cmd_running_ctr(argv[i], &e, &ct, &err);
        if (r == 0)
                r = vs_engine_net_cni_check(ct, &err);
        if (e)
                vs_engine_close(e);
        return r < 0 ? vs_report_error(&err) : 0;
}
