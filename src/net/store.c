/* The network database and the `network` commands' operations. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include "net/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* User networks without --subnet: the first free /24 here (podman's pool). */

const char *vs_net_str(json_object *o, const char *key)
{
        json_object *v = json_object_object_get(o, key);
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

void vs_net_addrs(json_object *net, struct vs_cidr *subnet, uint32_t *gw)
{
        vs_cidr_parse("subnet", vs_net_str(net, "Subnet"), subnet, NULL);
        vs_ipv4_parse("gateway", vs_net_str(net, "Gateway"), gw, NULL);
}

bool vs_net_range(json_object *net, struct vs_cidr *range)
{
        return *vs_net_str(net, "IPRange") &&
               vs_cidr_parse("ip-range", vs_net_str(net, "IPRange"), range, NULL) == 0;
}

static const char *cfg_bip;
static bool cfg_v6_set; /* false: not known here (the monitor reads no configuration) */
static bool cfg_ipv6;
static const char *cfg_v6;
static bool cfg_mtu_set; /* as cfg_v6_set */
static unsigned cfg_mtu;
static struct vs_net_pool_spec *cfg_pools;
static size_t cfg_npools;

void vs_net_set_defaults(const char *bip, const struct vs_net_pool_spec *pools, size_t n)
{
        cfg_bip = bip;
        free(cfg_pools);
        cfg_pools = xmalloc((n + 1) * sizeof(*cfg_pools));
        memcpy(cfg_pools, pools, n * sizeof(*cfg_pools));
        cfg_npools = n;
}

void vs_net_set_default_mtu(unsigned mtu)
{
        cfg_mtu_set = true;
        cfg_mtu = mtu;
}

void vs_net_set_default_ipv6(bool ipv6, const char *fixed_cidr_v6)
{
        cfg_v6_set = true;
        cfg_ipv6 = ipv6;
        cfg_v6 = fixed_cidr_v6;
}

/* ipv6 + fixed-cidr-v6 as the default network's IPv6 subnet and gateway
 * (canonical text), or both empty. */
static int parse_v6(char subnet[64], char gw[46], vs_error **err)
{
        *subnet = *gw = '\0';
        if (!cfg_ipv6 && cfg_v6 == NULL)
                return 0;
        if (cfg_v6 == NULL)
                return vs_fail(err, "configuration key ipv6: the default network needs its IPv6 "
                                    "subnet in fixed-cidr-v6 too (e.g. fd00:1::/64)");
        if (!cfg_ipv6)
                return vs_fail(err, "configuration key fixed-cidr-v6: '%s' needs \"ipv6\": true",
                               cfg_v6);
        struct vs_cidr6 s6;
        if (vs_cidr6_parse("configuration key fixed-cidr-v6", cfg_v6, &s6, err) < 0)
                return -1;
        vs_ipv6_nth(&s6, 0, subnet);
        snprintf(subnet + strlen(subnet), 64 - strlen(subnet), "/%u", s6.prefix);
        vs_ipv6_nth(&s6, 1, gw);
        return 0;
}

/* bip as the default network's subnet and gateway. */
static int parse_bip(struct vs_cidr *subnet, uint32_t *gw, vs_error **err)
{
        const char *slash = strchr(cfg_bip, '/');
        _cleanup_free_ char *addr =
            slash ? xstrndup(cfg_bip, (size_t) (slash - cfg_bip)) : xstrdup(cfg_bip);
        char *end;
        unsigned long n = slash ? strtoul(slash + 1, &end, 10) : 0;
        if (slash == NULL || *end || n < 8 || n > 30 || vs_ipv4_parse("bip", addr, gw, NULL) < 0)
                return vs_fail(err,
                               "configuration key bip: '%s' is not the bridge's IPv4 address "
                               "with a prefix length of 8 to 30 (e.g. 172.31.0.1/16)",
                               cfg_bip);
        subnet->prefix = (unsigned) n;
        subnet->addr = *gw & (0xffffffffu << (32 - n));
        uint32_t bcast = subnet->addr | (0xffffffffu >> n);
        if (*gw == subnet->addr || *gw == bcast)
                return vs_fail(err, "configuration key bip: '%s' is not a host address", cfg_bip);
        return 0;
}

static json_object *overlapping(struct vs_netdb *db, const struct vs_cidr *c);
static json_object *new_network(const char *name, const char *subnet, const char *gw,
                                const char *bridge, bool internal, json_object *labels);

/* Whether net's IPv6 subnet (if any) overlaps c. */
static bool subnet6_overlaps(json_object *net, const struct vs_cidr6 *c)
{
        struct vs_cidr6 t;
        return *vs_net_str(net, "Subnet6") &&
               vs_cidr6_parse("subnet", vs_net_str(net, "Subnet6"), &t, NULL) == 0 &&
               vs_cidr6_overlap(c, &t);
}

/* A subnet of the default network's (IPv4, or IPv6 when v6) that overlaps
 * another network's: that network, or NULL. */
static json_object *default_overlaps(struct vs_netdb *db, json_object *cur,
                                     const struct vs_cidr *subnet, const char *v6)
{
        struct vs_cidr6 s6;
        bool six = *v6 && vs_cidr6_parse("subnet", v6, &s6, NULL) == 0;
        for (size_t i = 0; i < json_object_array_length(db->nets); i++) {
                json_object *other = json_object_array_get_idx(db->nets, i);
                struct vs_cidr o;
                if (other == cur)
                        continue;
                if (subnet && vs_cidr_parse("subnet", vs_net_str(other, "Subnet"), &o, NULL) == 0 &&
                    vs_cidr_overlap(&o, subnet))
                        return other;
                if (six && subnet6_overlaps(other, &s6))
                        return other;
        }
        return NULL;
}

/* The default network's MTU as the configuration says (mtu), changed
 * while no container is on it (the bridge takes it when the next port
 * joins); whether the record changed (the caller saves it). */
static bool default_mtu(json_object *cur)
{
        unsigned want = cfg_mtu ? cfg_mtu : VS_NET_DEFAULT_MTU;
        if (!cfg_mtu_set || vs_net_mtu(cur) == want)
                return false;
        if (json_object_object_length(json_object_object_get(cur, "Endpoints")) > 0) {
                vs_warn("configuration key mtu: %u not applied while containers are on network "
                        "'%s' (MTU %u)",
                        want, VS_NET_DEFAULT, vs_net_mtu(cur));
                return false;
        }
        if (cfg_mtu)
                json_object_object_add(cur, "MTU", json_object_new_int((int) cfg_mtu));
        else
                json_object_object_del(cur, "MTU");
        return true;
}

/* The default network as bip, ipv6 and fixed-cidr-v6 say: recorded so, or
 * changed while no container is on it (its bridge deleted and its NAT
 * removed, both to be made again). Without bip, the recorded IPv4 subnet
 * stays; without ipv6, the network has no IPv6. */
static int default_network(struct vs_netdb *db, json_object *cur, vs_error **err)
{
        struct vs_cidr subnet = {0xac1e0000u, 16}; /* 172.30.0.0/16 */
        uint32_t gw = 0xac1e0001u;
        char v6[64], gw6[46];
        if ((cfg_bip && parse_bip(&subnet, &gw, err) < 0) || parse_v6(v6, gw6, err) < 0)
                return -1;
        _cleanup_free_ char *cidr = vs_cidr_str(&subnet);
        char gws[16];
        vs_ipv4_str(gw, gws);
        bool same4 = cur && (!cfg_bip || (strcmp(vs_net_str(cur, "Subnet"), cidr) == 0 &&
                                          strcmp(vs_net_str(cur, "Gateway"), gws) == 0));
        bool same6 = cur && (!cfg_v6_set || strcmp(vs_net_str(cur, "Subnet6"), v6) == 0);
        if (same4 && same6)
                return default_mtu(cur) ? vs_netdb_save(db, err) : 0;
        json_object *other;
        if (!same4 && (other = default_overlaps(db, cur, &subnet, "")) != NULL)
                return vs_fail(err, "configuration key bip: %s overlaps %s of network '%s'",
                               cfg_bip ? cfg_bip : cidr, vs_net_str(other, "Subnet"),
                               vs_net_str(other, "Name"));
        if (!same6 && (other = default_overlaps(db, cur, NULL, v6)) != NULL)
                return vs_fail(err,
                               "configuration key fixed-cidr-v6: %s overlaps %s of network "
                               "'%s'",
                               cfg_v6, vs_net_str(other, "Subnet6"), vs_net_str(other, "Name"));
        if (cur == NULL) {
                cur = new_network(VS_NET_DEFAULT, cidr, gws, VS_NET_DEFAULT_BRIDGE, false, NULL);
                default_mtu(cur);
                if (*v6) {
                        json_object_object_add(cur, "Subnet6", json_object_new_string(v6));
                        json_object_object_add(cur, "Gateway6", json_object_new_string(gw6));
                }
                json_object_array_add(db->nets, cur);
                /* Saved at once: its id must not change between commands. */
                return vs_netdb_save(db, err);
        }
        if (json_object_object_length(json_object_object_get(cur, "Endpoints")) > 0) {
                if (!same4)
                        vs_warn("configuration key bip: %s not applied while containers are on "
                                "network '%s' (%s)",
                                cfg_bip, VS_NET_DEFAULT, vs_net_str(cur, "Subnet"));
                if (!same6)
                        vs_warn("configuration keys ipv6 and fixed-cidr-v6 not applied while "
                                "containers are on network '%s' (IPv6 subnet: %s)",
                                VS_NET_DEFAULT,
                                *vs_net_str(cur, "Subnet6") ? vs_net_str(cur, "Subnet6") : "none");
                return 0;
        }
        if (vs_nl_link_exists(VS_NET_DEFAULT_BRIDGE) &&
            vs_nl_link_del(VS_NET_DEFAULT_BRIDGE, err) < 0)
                return -1;
        /* Its NAT goes with the old subnets (made again on first use). */
        if (json_object_get_boolean(json_object_object_get(cur, "Wired"))) {
                if (vs_net_nat_remove(cur, err) < 0)
                        return -1;
                json_object_object_del(cur, "Wired");
        }
        if (!same4) {
                json_object_object_add(cur, "Subnet", json_object_new_string(cidr));
                json_object_object_add(cur, "Gateway", json_object_new_string(gws));
        }
        json_object_object_del(cur, "Subnet6");
        json_object_object_del(cur, "Gateway6");
        if (*v6) {
                json_object_object_add(cur, "Subnet6", json_object_new_string(v6));
                json_object_object_add(cur, "Gateway6", json_object_new_string(gw6));
        }
        default_mtu(cur);
        return vs_netdb_save(db, err);
}

static char *random_id(void)
{
        unsigned char b[32];
        if (getrandom(b, sizeof(b), 0) != sizeof(b))
                abort();
        char *s = xmalloc(65);
        for (size_t i = 0; i < sizeof(b); i++)
                sprintf(s + 2 * i, "%02x", b[i]);
        return s;
}

static json_object *new_network(const char *name, const char *subnet, const char *gw,
                                const char *bridge, bool internal, json_object *labels)
{
        json_object *n = json_object_new_object();
        _cleanup_free_ char *id = random_id();
        _cleanup_free_ char *now = vs_now_rfc3339();
        json_object_object_add(n, "Name", json_object_new_string(name));
        json_object_object_add(n, "Id", json_object_new_string(id));
        json_object_object_add(n, "Created", json_object_new_string(now));
        json_object_object_add(n, "Subnet", json_object_new_string(subnet));
        json_object_object_add(n, "Gateway", json_object_new_string(gw));
        _cleanup_free_ char *br = bridge ? xstrdup(bridge) : xasprintf("vs-%.12s", id);
        json_object_object_add(n, "Bridge", json_object_new_string(br));
        json_object_object_add(n, "Internal", json_object_new_boolean(internal));
        json_object_object_add(n, "Labels", labels ? labels : json_object_new_object());
        json_object_object_add(n, "Endpoints", json_object_new_object());
        return n;
}

unsigned vs_net_mtu(json_object *net)
{
        int mtu = json_object_get_int(json_object_object_get(net, "MTU"));
        return mtu >= VS_NET_MTU_MIN && mtu <= VS_NET_MTU_MAX ? (unsigned) mtu : VS_NET_DEFAULT_MTU;
}

static json_object *net_by_id(struct vs_netdb *db, const char *id)
{
        for (size_t i = 0; i < json_object_array_length(db->nets); i++) {
                json_object *n = json_object_array_get_idx(db->nets, i);
                if (strcmp(vs_net_str(n, "Id"), id) == 0)
                        return n;
        }
        return NULL;
}

/* A container id as vessel makes them (64 hex digits; build-XXXX for a
 * build step): a file name of leases/. */
static bool id_ok(const char *id, size_t len)
{
        return len > 0 && len <= 128 && id[0] != '.' &&
               strspn(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-") ==
                   len;
}

/* ID.json; a killed writer's ID.json.tmp.PID is not one. */
static bool lease_name(const char *name)
{
        size_t n = strlen(name);
        return n > 5 && strcmp(name + n - 5, ".json") == 0 && id_ok(name, n - 5);
}

/* The files of leases/ into the networks' Endpoints. A file that does not
 * parse (only a machine crash right after its rename can leave one) is a
 * lost lease, as when that container's namespace died with the machine:
 * removed. So are a killed writer's temporary files. */
static int load_leases(struct vs_netdb *db, vs_error **err)
{
        _cleanup_free_ char *dir = xasprintf("%s/leases", db->dir);
        DIR *d = opendir(dir);
        if (d == NULL)
                return errno == ENOENT ? 0 : vs_fail_errno(err, "cannot open %s", dir);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name);
                _cleanup_free_ char *text = NULL;
                _cleanup_json_ json_object *o = NULL;
                if (!lease_name(de->d_name) || vs_read_file(p, &text, NULL, NULL) < 0 ||
                    vs_json_parse(text, p, &o, NULL) < 0 ||
                    !json_object_is_type(o, json_type_object)) {
                        unlink(p);
                        continue;
                }
                _cleanup_free_ char *id = xstrndup(de->d_name, strlen(de->d_name) - 5);
                json_object_object_foreach(o, netid, ep)
                {
                        json_object *net = net_by_id(db, netid);
                        if (net)
                                json_object_object_add(json_object_object_get(net, "Endpoints"), id,
                                                       json_object_get(ep));
                }
                json_object_object_add(db->saved, id, json_object_new_string(text));
        }
        closedir(d);
        return 0;
}

int vs_netdb_open(const char *data_root, struct vs_netdb *db, vs_error **err)
{
        *db = (struct vs_netdb){.lock_fd = -1};
        _cleanup_free_ char *dir = xasprintf("%s/networks", data_root);
        if (vs_mkdir_p(dir, 0700, err) < 0)
                return -1;
        _cleanup_free_ char *lock = xasprintf("%s/lock", dir);
        db->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (db->lock_fd < 0)
                return vs_fail_errno(err, "cannot open %s", lock);
        while (flock(db->lock_fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return vs_fail_errno(err, "cannot lock %s", lock);
        db->path = xasprintf("%s/networks.json", dir);
        db->dir = xstrdup(dir);
        db->saved = json_object_new_object();
        if (vs_path_exists(db->path)) {
                if (vs_read_file(db->path, &db->saved_defs, NULL, err) < 0 ||
                    vs_json_parse(db->saved_defs, db->path, &db->root, err) < 0)
                        return -1;
        } else {
                db->root = json_object_new_object();
        }
        db->nets = json_object_object_get(db->root, "networks");
        if (!json_object_is_type(db->nets, json_type_array)) {
                db->nets = json_object_new_array();
                json_object_object_add(db->root, "networks", db->nets);
        }
        /* (networks.json of an earlier vessel holds its endpoints: they
         * stay, and move to leases/ at the next save.) */
        for (size_t i = 0; i < json_object_array_length(db->nets); i++) {
                json_object *n = json_object_array_get_idx(db->nets, i);
                if (!json_object_is_type(json_object_object_get(n, "Endpoints"), json_type_object))
                        json_object_object_add(n, "Endpoints", json_object_new_object());
        }
        if (load_leases(db, err) < 0)
                return -1;
        vs_error *ignore = NULL;
        json_object *def = vs_netdb_find(db, VS_NET_DEFAULT, &ignore);
        vs_error_free(&ignore);
        return default_network(db, def, err);
}

/* Each container's lease file as the tree says: written when its text
 * changed (a new file: no flush on rename), unlinked when it has none. */
static int save_leases(struct vs_netdb *db, vs_error **err)
{
        _cleanup_json_ json_object *now = json_object_new_object();
        for (size_t i = 0; i < json_object_array_length(db->nets); i++) {
                json_object *n = json_object_array_get_idx(db->nets, i);
                json_object_object_foreach(json_object_object_get(n, "Endpoints"), cid, ep)
                {
                        json_object *mine = json_object_object_get(now, cid);
                        if (mine == NULL) {
                                mine = json_object_new_object();
                                json_object_object_add(now, cid, mine);
                        }
                        json_object_object_add(mine, vs_net_str(n, "Id"), json_object_get(ep));
                }
        }
        _cleanup_free_ char *dir = xasprintf("%s/leases", db->dir);
        if (json_object_object_length(now) && vs_mkdir_p(dir, 0700, err) < 0)
                return -1;
        json_object_object_foreach(now, cid, eps)
        {
                _cleanup_free_ char *text = vs_json_to_string(eps, true);
                const char *old = vs_net_str(db->saved, cid);
                if (strcmp(old, text) == 0)
                        continue;
                if (!id_ok(cid, strlen(cid)))
                        return vs_fail(err, "cannot record a lease of '%s': not a container id",
                                       cid);
                _cleanup_free_ char *p = xasprintf("%s/%s.json", dir, cid);
                if (vs_write_file_replace(p, text, strlen(text), 0600, err) < 0)
                        return -1;
                json_object_object_add(db->saved, cid, json_object_new_string(text));
        }
        _cleanup_strv_ char **gone = xcalloc(1, sizeof(char *));
        json_object_object_foreach(db->saved, sid, stext)
        {
                (void) stext;
                if (json_object_object_get(now, sid) == NULL)
                        strv_push(&gone, sid);
        }
        for (size_t i = 0; gone[i]; i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s.json", dir, gone[i]);
                if (unlink(p) < 0 && errno != ENOENT)
                        return vs_fail_errno(err, "cannot remove %s", p);
                json_object_object_del(db->saved, gone[i]);
        }
        return 0;
}

int vs_netdb_save(struct vs_netdb *db, vs_error **err)
{
        /* Atomic (rename) but not fsync'd: a kill -9 never leaves a torn
         * file, and a machine crash loses only leases of containers that
         * died with it (prune reclaims them). Saves ~10 ms per start.
         * Leases first: a kill between the two leaves an endpoint in both
         * places, the same one. */
        if (save_leases(db, err) < 0)
                return -1;
        size_t n = json_object_array_length(db->nets);
        json_object **eps = xcalloc(n + 1, sizeof(*eps));
        for (size_t i = 0; i < n; i++) {
                json_object *net = json_object_array_get_idx(db->nets, i);
                eps[i] = json_object_get(json_object_object_get(net, "Endpoints"));
                json_object_object_add(net, "Endpoints", json_object_new_object());
        }
        _cleanup_free_ char *text = vs_json_to_string(db->root, true);
        for (size_t i = 0; i < n; i++)
                json_object_object_add(json_object_array_get_idx(db->nets, i), "Endpoints", eps[i]);
        free(eps);
        if (db->saved_defs && strcmp(db->saved_defs, text) == 0)
                return 0;
        if (vs_write_file_replace(db->path, text, strlen(text), 0600, err) < 0)
                return -1;
        free(db->saved_defs);
        db->saved_defs = steal_ptr(text);
        return 0;
}

void vs_netdb_close(struct vs_netdb *db)
{
        if (db->root)
                json_object_put(db->root);
        if (db->saved)
                json_object_put(db->saved);
        free(db->saved_defs);
        free(db->dir);
        free(db->path);
        if (db->lock_fd >= 0)
                close(db->lock_fd);
        *db = (struct vs_netdb){.lock_fd = -1};
}

json_object *vs_netdb_find(struct vs_netdb *db, const char *ref, vs_error **err)
{
        size_t n = json_object_array_length(db->nets), len = strlen(ref);
        json_object *match = NULL;
        for (size_t i = 0; i < n; i++) {
                json_object *net = json_object_array_get_idx(db->nets, i);
                if (strcmp(vs_net_str(net, "Name"), ref) == 0 ||
                    strcmp(vs_net_str(net, "Id"), ref) == 0)
                        return net;
        }
        for (size_t i = 0; len && i < n; i++) {
                json_object *net = json_object_array_get_idx(db->nets, i);
                if (strncmp(vs_net_str(net, "Id"), ref, len) == 0) {
                        if (match) {
                                vs_fail(err, "'%s' matches several networks", ref);
                                return NULL;
                        }
                        match = net;
                }
        }
        if (match == NULL)
                vs_fail(err, "no such network: '%s'", ref);
        return match;
}

json_object *vs_netdb_find_endpoint(struct vs_netdb *db, const char *ctr_id, json_object **ep)
{
        size_t n = json_object_array_length(db->nets);
        for (size_t i = 0; i < n; i++) {
                json_object *net = json_object_array_get_idx(db->nets, i);
                json_object *e =
                    json_object_object_get(json_object_object_get(net, "Endpoints"), ctr_id);
                if (e) {
                        if (ep)
                                *ep = e;
                        return net;
                }
        }
        return NULL;
}

/* ---- create ---- */

static int check_name(const char *name, vs_error **err)
{
        if (name == NULL || !*name)
                return vs_fail(err, "network name is empty");
        for (const char *p = name; *p; p++) {
                bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                          (*p >= '0' && *p <= '9') || (p > name && strchr("_.-", *p));
                if (!ok)
                        return vs_fail(
                            err, "invalid network name '%s' (allowed: [a-zA-Z0-9][a-zA-Z0-9_.-]*)",
                            name);
        }
        if (strcmp(name, "host") == 0 || strcmp(name, "none") == 0 || strcmp(name, "default") == 0)
                return vs_fail(err, "network name '%s' is reserved", name);
        return 0;
}

/* --opt com.docker.network.bridge.name: a device name of our own (IFNAMSIZ,
 * no '/', ':' or blanks), not another network's bridge nor a device that
 * exists (network rm deletes the bridge), nor in vessel's "vs" names. */
static int check_bridge_name(struct vs_netdb *db, const char *name, vs_error **err)
{
        static const char opt[] = "--opt com.docker.network.bridge.name";
        size_t n = strlen(name);
        if (n == 0 || n >= IFNAMSIZ || strpbrk(name, "/: \t\n") || strcmp(name, ".") == 0 ||
            strcmp(name, "..") == 0)
                return vs_fail(err,
                               "%s: '%s' is not a network device name (1-%d characters, no "
                               "'/', ':' or blanks)",
                               opt, name, IFNAMSIZ - 1);
        if (strncmp(name, "vs", 2) == 0 || strcmp(name, VS_NET_DEFAULT_BRIDGE) == 0)
                return vs_fail(err, "%s: '%s': names starting with 'vs' and '%s' are vessel's own",
                               opt, name, VS_NET_DEFAULT_BRIDGE);
        for (size_t i = 0; i < json_object_array_length(db->nets); i++) {
                json_object *other = json_object_array_get_idx(db->nets, i);
                if (strcmp(vs_net_str(other, "Bridge"), name) == 0)
                        return vs_fail(err, "%s: '%s' is the bridge of network '%s'", opt, name,
                                       vs_net_str(other, "Name"));
        }
        if (if_nametoindex(name) != 0)
                return vs_fail(err, "%s: a network device '%s' exists already", opt, name);
        return 0;
}

/* The network among db's whose subnet overlaps c, or NULL. */
static json_object *overlapping(struct vs_netdb *db, const struct vs_cidr *c)
{
        size_t n = json_object_array_length(db->nets);
        for (size_t i = 0; i < n; i++) {
                json_object *net = json_object_array_get_idx(db->nets, i);
                struct vs_cidr s;
                uint32_t gw;
                vs_net_addrs(net, &s, &gw);
                if (vs_cidr_overlap(&s, c))
                        return net;
        }
        return NULL;
}

static int labels_json(char **labels, json_object **out, vs_error **err)
{
        _cleanup_json_ json_object *o = json_object_new_object();
        for (size_t i = 0; labels && labels[i]; i++) {
                const char *eq = strchr(labels[i], '=');
                if (eq == labels[i])
                        return vs_fail(err, "--label: '%s' has no key", labels[i]);
                _cleanup_free_ char *k =
                    eq ? xstrndup(labels[i], (size_t) (eq - labels[i])) : xstrdup(labels[i]);
                json_object_object_add(o, k, json_object_new_string(eq ? eq + 1 : ""));
        }
        *out = steal_ptr(o);
        return 0;
}

/* The first subnet of the pools (default-address-pools, else 10.89.0.0/16
 * in /24s) that no network overlaps. */
static int auto_subnet(struct vs_netdb *db, struct vs_cidr *out, vs_error **err)
{
        const struct vs_net_pool_spec builtin = {"10.89.0.0/16", 24};
        bool configured = cfg_npools > 0;
        for (size_t k = 0; k < (configured ? cfg_npools : 1); k++) {
                const struct vs_net_pool_spec *p = configured ? &cfg_pools[k] : &builtin;
                struct vs_cidr base;
                if (strchr(p->base, ':'))
                        continue; /* IPv6 pools: not used (no automatic IPv6 subnets) */
                if (vs_cidr_parse("default-address-pools", p->base, &base, err) < 0)
                        return -1;
                if (p->size < base.prefix || p->size > 30)
                        return vs_fail(err,
                                       "default-address-pools: size %ld for %s must be between %u "
                                       "and 30",
                                       p->size, p->base, base.prefix);
                uint64_t count = 1ull << (p->size - base.prefix);
                for (uint64_t i = 0; i < count; i++) {
                        *out =
                            (struct vs_cidr){.addr = base.addr + (uint32_t) (i << (32 - p->size)),
                                             .prefix = (unsigned) p->size};
                        if (overlapping(db, out) == NULL)
                                return 0;
                }
        }
        return configured ? vs_fail(err, "no free subnet left in default-address-pools: give "
                                         "--subnet")
                          : vs_fail(err, "no free /24 left in 10.89.0.0/16: give --subnet");
}

/* The network whose IPv6 subnet overlaps c, or NULL (overlapping's twin). */
static json_object *overlapping6(struct vs_netdb *db, const struct vs_cidr6 *c)
{
        for (size_t i = 0; i < json_object_array_length(db->nets); i++) {
                json_object *other = json_object_array_get_idx(db->nets, i);
                if (subnet6_overlaps(other, c))
                        return other;
        }
        return NULL;
}

/* The data root's own ULA /48 (RFC 4193: fd00::/8, a 40-bit random global
 * id), drawn at its first use and kept in networks.json ("ULA48"). */
static int own_ula48(struct vs_netdb *db, struct vs_cidr6 *out, vs_error **err)
{
        const char *have = vs_net_str(db->root, "ULA48");
        if (*have)
                return vs_cidr6_parse("networks.json ULA48", have, out, err);
        uint8_t id[5];
        if (getrandom(id, sizeof(id), 0) != (ssize_t) sizeof(id))
                return vs_fail_errno(err, "cannot draw an IPv6 ULA prefix");
        char text[64];
        snprintf(text, sizeof(text), "fd%02x:%02x%02x:%02x%02x::/48", id[0], id[1], id[2], id[3],
                 id[4]);
        json_object_object_add(db->root, "ULA48", json_object_new_string(text));
        return vs_cidr6_parse("ULA48", text, out, err);
}

/* An IPv6 subnet for --ipv6 without one, as Docker 27 takes one from its
 * default pools: the first subnet of the configuration's IPv6
 * default-address-pools that no network overlaps, else (none configured)
 * the first free /64 of the data root's ULA /48. At most 65536 subnets of
 * a pool are tried. */
static int auto_subnet6(struct vs_netdb *db, struct vs_cidr6 *out, vs_error **err)
{
        bool configured = false;
        for (size_t k = 0; k <= cfg_npools; k++) {
                struct vs_cidr6 base;
                long size;
                if (k < cfg_npools) {
                        if (strchr(cfg_pools[k].base, ':') == NULL)
                                continue;
                        configured = true;
                        if (vs_cidr6_parse("default-address-pools", cfg_pools[k].base, &base, err) <
                            0)
                                return -1;
                        size = cfg_pools[k].size;
                        if (size < (long) base.prefix || size < 48 || size > 120)
                                return vs_fail(err,
                                               "default-address-pools: size %ld for %s must be "
                                               "between %u and 120 (and at least 48)",
                                               size, cfg_pools[k].base, base.prefix);
                } else {
                        if (configured)
                                break;
                        if (own_ula48(db, &base, err) < 0)
                                return -1;
                        size = 64;
                }
                unsigned bits = (unsigned) size - base.prefix;
                uint32_t count = bits >= 16 ? 65536u : 1u << bits;
                for (uint32_t i = 0; i < count; i++) {
                        *out = base;
                        out->prefix = (unsigned) size;
                        for (unsigned b = 0; b < bits && b < 32; b++) {
                                unsigned pos = (unsigned) size - 1 - b;
                                uint8_t mask = (uint8_t) (0x80u >> (pos % 8));
                                if ((i >> b) & 1u)
                                        out->addr[pos / 8] |= mask;
                                else
                                        out->addr[pos / 8] &= (uint8_t) ~mask;
                        }
                        if (overlapping6(db, out) == NULL)
                                return 0;
                }
        }
        return vs_fail(err, configured ? "no free IPv6 subnet left in default-address-pools: "
                                         "give an IPv6 --subnet"
                                       : "no free /64 left in this data root's IPv6 prefix: "
                                         "give an IPv6 --subnet");
}

int vs_net_create(const char *data_root, const struct vs_net_create_opts *o, char **id,
                  vs_error **err)
{
        if (check_name(o->name, err) < 0)
                return -1;
        struct vs_cidr subnet = {0};
        if (o->subnet && vs_cidr_parse("--subnet", o->subnet, &subnet, err) < 0)
                return -1;
        uint32_t gw = 0;
        if (o->gateway) {
                if (o->subnet == NULL)
                        return vs_fail(err, "--gateway: needs --subnet");
                if (vs_ipv4_parse("--gateway", o->gateway, &gw, err) < 0)
                        return -1;
                uint32_t bcast = subnet.addr | (0xffffffffu >> subnet.prefix);
                if (!vs_cidr_contains(&subnet, gw) || gw == subnet.addr || gw == bcast)
                        return vs_fail(err, "--gateway: %s is not a host address of %s", o->gateway,
                                       o->subnet);
        }
        struct vs_cidr range = {0};
        if (o->ip_range) {
                if (o->subnet == NULL)
                        return vs_fail(err, "--ip-range: needs --subnet");
                if (vs_cidr_parse("--ip-range", o->ip_range, &range, err) < 0)
                        return -1;
                if (range.prefix < subnet.prefix || !vs_cidr_contains(&subnet, range.addr))
                        return vs_fail(err, "--ip-range: %s is not inside --subnet %s", o->ip_range,
                                       o->subnet);
        }
        _cleanup_json_ json_object *labels = NULL;
        if (labels_json(o->labels, &labels, err) < 0)
                return -1;
        if (o->mtu && (o->mtu < VS_NET_MTU_MIN || o->mtu > VS_NET_MTU_MAX))
                return vs_fail(err,
                               "--opt com.docker.network.driver.mtu: %u is not an MTU "
                               "(%u to %u)",
                               o->mtu, VS_NET_MTU_MIN, VS_NET_MTU_MAX);
        if (o->mtu && o->mtu < VS_NET_MTU_MIN6 && o->ipv6)
                return vs_fail(err,
                               "--opt com.docker.network.driver.mtu: %u is below IPv6's "
                               "minimum of %u",
                               o->mtu, VS_NET_MTU_MIN6);
        struct vs_cidr6 s6;
        if (o->subnet6 && !o->ipv6)
                return vs_fail(err, "--subnet: %s is an IPv6 subnet: add --ipv6", o->subnet6);
        if (o->subnet6 && vs_cidr6_parse("--subnet", o->subnet6, &s6, err) < 0)
                return -1;

        _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
        if (vs_netdb_open(data_root, &db, err) < 0)
                return -1;
        vs_error *ignore = NULL;
        json_object *dup = vs_netdb_find(&db, o->name, &ignore);
        vs_error_free(&ignore);
        if (dup && strcmp(vs_net_str(dup, "Name"), o->name) == 0)
                return vs_fail(err, "network with name '%s' already exists", o->name);
        json_object *other6 = o->subnet6 ? overlapping6(&db, &s6) : NULL;
        if (other6)
                return vs_fail(err, "--subnet: %s overlaps %s of network '%s'", o->subnet6,
                               vs_net_str(other6, "Subnet6"), vs_net_str(other6, "Name"));
        if (o->ipv6 && o->subnet6 == NULL && auto_subnet6(&db, &s6, err) < 0)
                return -1;
        if (o->bridge && check_bridge_name(&db, o->bridge, err) < 0)
                return -1;
        if (o->subnet) {
                json_object *other = overlapping(&db, &subnet);
                if (other)
                        return vs_fail(err, "--subnet: %s overlaps %s of network '%s'", o->subnet,
                                       vs_net_str(other, "Subnet"), vs_net_str(other, "Name"));
        } else if (auto_subnet(&db, &subnet, err) < 0) {
                return -1;
        }
        if (gw == 0)
                gw = subnet.addr + 1;
        _cleanup_free_ char *cidr = vs_cidr_str(&subnet);
        char gws[16];
        json_object *net = new_network(o->name, cidr, vs_ipv4_str(gw, gws), o->bridge, o->internal,
                                       steal_ptr(labels));
        if (o->ip_range) {
                _cleanup_free_ char *r = vs_cidr_str(&range);
                json_object_object_add(net, "IPRange", json_object_new_string(r));
        }
        if (o->mtu)
                json_object_object_add(net, "MTU", json_object_new_int((int) o->mtu));
        if (o->ipv6) {
                char gw6[46], canon[64];
                vs_ipv6_nth(&s6, 0, canon);
                snprintf(canon + strlen(canon), sizeof(canon) - strlen(canon), "/%u", s6.prefix);
                vs_ipv6_nth(&s6, 1, gw6);
                json_object_object_add(net, "Subnet6", json_object_new_string(canon));
                json_object_object_add(net, "Gateway6", json_object_new_string(gw6));
        }
        json_object_array_add(db.nets, net);
        if (vs_netdb_save(&db, err) < 0)
                return -1;
        *id = xstrdup(vs_net_str(net, "Id"));
        return 0;
}

/* ---- ls / inspect ---- */

/* Docker's network shape up to its IPAM config: the fields every network
 * has, from rec (Name, Id, Created), driver and ipv6; cfg is IPAM.Config
 * (taken); then Internal and the fields that are always the same. */
json_object *vs_net_shape_base(json_object *rec, const char *name, const char *driver, bool ipv6,
                               json_object *cfg, bool internal)
{
        json_object *o = json_object_new_object();
        json_object_object_add(o, "Name", json_object_new_string(name));
        json_object_object_add(o, "Id", json_object_new_string(vs_net_str(rec, "Id")));
        json_object_object_add(o, "Created", json_object_new_string(vs_net_str(rec, "Created")));
        json_object_object_add(o, "Scope", json_object_new_string("local"));
        json_object_object_add(o, "Driver", json_object_new_string(driver));
        json_object_object_add(o, "EnableIPv6", json_object_new_boolean(ipv6));
        json_object *ipam = json_object_new_object();
        json_object_object_add(ipam, "Driver", json_object_new_string("default"));
        json_object_object_add(ipam, "Options", NULL);
        json_object_object_add(ipam, "Config", cfg);
        json_object_object_add(o, "IPAM", ipam);
        json_object_object_add(o, "Internal", json_object_new_boolean(internal));
        json_object_object_add(o, "Attachable", json_object_new_boolean(false));
        json_object_object_add(o, "Ingress", json_object_new_boolean(false));
        json_object *cf = json_object_new_object();
        json_object_object_add(cf, "Network", json_object_new_string(""));
        json_object_object_add(o, "ConfigFrom", cf);
        json_object_object_add(o, "ConfigOnly", json_object_new_boolean(false));
        return o;
}

static json_object *docker_shape(json_object *net)
{
        json_object *cfg = json_object_new_array(), *c = json_object_new_object();
        json_object_object_add(c, "Subnet", json_object_new_string(vs_net_str(net, "Subnet")));
        if (*vs_net_str(net, "IPRange"))
                json_object_object_add(c, "IPRange",
                                       json_object_new_string(vs_net_str(net, "IPRange")));
        json_object_object_add(c, "Gateway", json_object_new_string(vs_net_str(net, "Gateway")));
        json_object_array_add(cfg, c);
        if (*vs_net_str(net, "Subnet6")) {
                json_object *c6 = json_object_new_object();
                json_object_object_add(c6, "Subnet",
                                       json_object_new_string(vs_net_str(net, "Subnet6")));
                json_object_object_add(c6, "Gateway",
                                       json_object_new_string(vs_net_str(net, "Gateway6")));
                json_object_array_add(cfg, c6);
        }
        json_object *o = vs_net_shape_base(
            net, vs_net_str(net, "Name"), "bridge", *vs_net_str(net, "Subnet6"), cfg,
            json_object_get_boolean(json_object_object_get(net, "Internal")));
        struct vs_cidr s;
        uint32_t gw;
        vs_net_addrs(net, &s, &gw);
        json_object *ctrs = json_object_new_object();
        json_object_object_foreach(json_object_object_get(net, "Endpoints"), cid, ep)
        {
                json_object *e = json_object_new_object();
                json_object_object_add(e, "Name", json_object_new_string(vs_net_str(ep, "Name")));
                json_object_object_add(e, "EndpointID", json_object_new_string(cid));
                json_object_object_add(e, "MacAddress",
                                       json_object_new_string(vs_net_str(ep, "MacAddress")));
                _cleanup_free_ char *a = xasprintf("%s/%u", vs_net_str(ep, "IP"), s.prefix);
                json_object_object_add(e, "IPv4Address", json_object_new_string(a));
                _cleanup_free_ char *a6 =
                    *vs_net_str(ep, "IP6") ? xasprintf("%s/%s", vs_net_str(ep, "IP6"),
                                                       strchr(vs_net_str(net, "Subnet6"), '/') + 1)
                                           : xstrdup("");
                json_object_object_add(e, "IPv6Address", json_object_new_string(a6));
                json_object_object_add(ctrs, cid, e);
        }
        json_object_object_add(o, "Containers", ctrs);
        json_object *opts = json_object_new_object();
        json_object_object_add(opts, "com.docker.network.bridge.name",
                               json_object_new_string(vs_net_str(net, "Bridge")));
        char mtu[16];
        snprintf(mtu, sizeof(mtu), "%u", vs_net_mtu(net));
        json_object_object_add(opts, "com.docker.network.driver.mtu", json_object_new_string(mtu));
        json_object_object_add(o, "Options", opts);
        json_object *labels = NULL;
        json_object_deep_copy(json_object_object_get(net, "Labels"), &labels, NULL);
        json_object_object_add(o, "Labels", labels ? labels : json_object_new_object());
        return o;
}

/* Docker's predefined networks beside "bridge": host (the host's
 * namespace, driver host) and none (loopback only, driver null). They are
 * no networks of src/net (no bridge, no IPAM: `--network host|none` are
 * the runtime's namespace modes), only what `network ls` and `inspect`
 * show, with ids made once and kept in networks.json ("Predefined"). */
static const char *const predefined_names[] = {"host", "none"};
static const char *const predefined_drivers[] = {"host", "null"};

static json_object *predefined(struct vs_netdb *db, vs_error **err)
{
        json_object *p = json_object_object_get(db->root, "Predefined");
        bool made = false;
        if (!json_object_is_type(p, json_type_object)) {
                p = json_object_new_object();
                json_object_object_add(db->root, "Predefined", p);
        }
        for (size_t i = 0; i < 2; i++) {
                if (json_object_object_get(p, predefined_names[i]))
                        continue;
                json_object *one = json_object_new_object();
                _cleanup_free_ char *id = random_id();
                _cleanup_free_ char *now = vs_now_rfc3339();
                json_object_object_add(one, "Id", json_object_new_string(id));
                json_object_object_add(one, "Created", json_object_new_string(now));
                json_object_object_add(p, predefined_names[i], one);
                made = true;
        }
        /* Saved at once, as the default network: ids must not change. */
        if (made && vs_netdb_save(db, err) < 0)
                return NULL;
        return p;
}

static json_object *predefined_shape(json_object *p, size_t i)
{
        json_object *o =
            vs_net_shape_base(json_object_object_get(p, predefined_names[i]), predefined_names[i],
                              predefined_drivers[i], false, json_object_new_array(), false);
        json_object_object_add(o, "Containers", json_object_new_object());
        json_object_object_add(o, "Options", json_object_new_object());
        json_object_object_add(o, "Labels", json_object_new_object());
        return o;
}

bool vs_net_is_predefined(const char *name)
{
        return strcmp(name, predefined_names[0]) == 0 || strcmp(name, predefined_names[1]) == 0;
}

static int by_name(const void *a, const void *b)
{
        const json_object *x = *(const json_object *const *) a,
                          *y = *(const json_object *const *) b;
        return strcmp(vs_net_str((json_object *) x, "Name"), vs_net_str((json_object *) y, "Name"));
}

int vs_net_list(const char *data_root, json_object **out, vs_error **err)
{
        _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
        if (vs_netdb_open(data_root, &db, err) < 0)
                return -1;
        json_object *p = predefined(&db, err);
        if (p == NULL)
                return -1;
        json_object *arr = json_object_new_array();
        size_t n = json_object_array_length(db.nets);
        for (size_t i = 0; i < n; i++)
                json_object_array_add(arr, docker_shape(json_object_array_get_idx(db.nets, i)));
        for (size_t i = 0; i < 2; i++)
                json_object_array_add(arr, predefined_shape(p, i));
        /* By name, as Docker's CLI lists them. */
        json_object_array_sort(arr, by_name);
        *out = arr;
        return 0;
}

int vs_net_inspect(const char *data_root, const char *ref, json_object **out, vs_error **err)
{
        _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
        if (vs_netdb_open(data_root, &db, err) < 0)
                return -1;
        json_object *p = predefined(&db, err);
        if (p == NULL)
                return -1;
        for (size_t i = 0; i < 2; i++)
                if (strcmp(ref, predefined_names[i]) == 0) {
                        *out = predefined_shape(p, i);
                        return 0;
                }
        json_object *net = vs_netdb_find(&db, ref, err);
        if (net) {
                *out = docker_shape(net);
                return 0;
        }
        /* Not a network of ours: a predefined one's id (or its prefix). */
        size_t len = strlen(ref), found = 2;
        for (size_t i = 0; len && i < 2; i++)
                if (strncmp(vs_net_str(json_object_object_get(p, predefined_names[i]), "Id"), ref,
                            len) == 0)
                        found = found == 2 ? i : 3;
        if (found > 1)
                return -1;
        vs_error_free(err);
        *out = predefined_shape(p, found);
        return 0;
}

/* ---- rm / prune ---- */

static int remove_at(struct vs_netdb *db, json_object *net, vs_error **err)
{
        if (vs_nl_link_del(vs_net_str(net, "Bridge"), err) < 0)
                return -1;
        if (json_object_get_boolean(json_object_object_get(net, "Wired")) &&
            vs_net_nat_remove(net, err) < 0)
                return -1;
        size_t n = json_object_array_length(db->nets);
        for (size_t i = 0; i < n; i++)
                if (json_object_array_get_idx(db->nets, i) == net) {
                        json_object_array_del_idx(db->nets, i, 1);
                        break;
                }
        return 0;
}

int vs_net_rm(const char *data_root, const char *ref, char **name, vs_error **err)
{
        if (vs_net_is_predefined(ref))
                return vs_fail(err, "%s is a pre-defined network and cannot be removed", ref);
        _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
        if (vs_netdb_open(data_root, &db, err) < 0)
                return -1;
        json_object *net = vs_netdb_find(&db, ref, err);
        if (net == NULL)
                return -1;
        _cleanup_free_ char *nm = xstrdup(vs_net_str(net, "Name"));
        if (strcmp(nm, VS_NET_DEFAULT) == 0)
                return vs_fail(err, "network '%s' is the default network and cannot be removed",
                               nm);
        int used = json_object_object_length(json_object_object_get(net, "Endpoints"));
        if (used > 0) {
                json_object_object_foreach(json_object_object_get(net, "Endpoints"), cid, ep)
                {
                        (void) cid;
                        return vs_fail(err,
                                       "network '%s' is in use by %d container(s) (%s): remove "
                                       "them first",
                                       nm, used, vs_net_str(ep, "Name"));
                }
        }
        if (remove_at(&db, net, err) < 0 || vs_netdb_save(&db, err) < 0)
                return -1;
        *name = steal_ptr(nm);
        return 0;
}

int vs_net_prune(const char *data_root, bool (*exists)(void *, const char *), void *ud,
                 bool networks, bool (*match)(void *, const char *, json_object *), void *match_arg,
                 char ***removed, char ***removed_ids, vs_error **err)
{
        _cleanup_strv_ char **gone = NULL;
        {
                _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
                if (vs_netdb_open(data_root, &db, err) < 0)
                        return -1;
                size_t n = json_object_array_length(db.nets);
                for (size_t i = 0; i < n; i++) {
                        json_object *eps = json_object_object_get(
                            json_object_array_get_idx(db.nets, i), "Endpoints");
                        json_object_object_foreach(eps, cid, ep)
                        {
                                (void) ep;
                                if (!exists(ud, cid))
                                        strv_push(&gone, cid);
                        }
                }
        }
        /* Stale endpoints go the way a container removal takes them. */
        for (size_t i = 0; gone && gone[i]; i++)
                if (vs_net_release(data_root, gone[i], err) < 0)
                        return -1;
        _cleanup_strv_ char **names = NULL, **ids = NULL;
        if (networks) {
                _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
                if (vs_netdb_open(data_root, &db, err) < 0)
                        return -1;
                for (size_t i = json_object_array_length(db.nets); i-- > 0;) {
                        json_object *net = json_object_array_get_idx(db.nets, i);
                        if (strcmp(vs_net_str(net, "Name"), VS_NET_DEFAULT) == 0 ||
                            json_object_object_length(json_object_object_get(net, "Endpoints")))
                                continue;
                        if (match && !match(match_arg, vs_net_str(net, "Created"),
                                            json_object_object_get(net, "Labels")))
                                continue;
                        strv_push(&names, vs_net_str(net, "Name"));
                        strv_push(&ids, vs_net_str(net, "Id"));
                        if (remove_at(&db, net, err) < 0)
                                return -1;
                }
                if (vs_netdb_save(&db, err) < 0)
                        return -1;
        }
        *removed = names ? steal_ptr(names) : xcalloc(1, sizeof(char *));
        if (removed_ids)
                *removed_ids = ids ? steal_ptr(ids) : xcalloc(1, sizeof(char *));
        return 0;
}
