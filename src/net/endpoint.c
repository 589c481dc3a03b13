/* A container's place on a network: its lease (the IPAM), its veth, and
 * the names in the hosts files. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define HOSTS_MARK "# vessel network "

void vs_net_veth_name(const char *ctr_id, const char *ifname, char buf[16])
{
        /* eth0: "vs" + 12 hex; ethN: the same + N (IFNAMSIZ leaves 15). */
        const char *n = strncmp(ifname, "eth", 3) == 0 ? ifname + 3 : "";
        snprintf(buf, 16, "vs%.12s%s", ctr_id, strcmp(n, "0") ? n : "");
}

static bool ip_taken(void *ud, uint32_t ip)
{
        json_object *net = ud;
        char a[16];
        vs_ipv4_str(ip, a);
        json_object_object_foreach(json_object_object_get(net, "Endpoints"), cid, ep)
        {
                (void) cid;
                if (strcmp(vs_net_str(ep, "IP"), a) == 0)
                        return true;
        }
        return false;
}

/* ip (NULL: any) checked against net: a free host address of its subnet. */
static int pick_ip(json_object *net, const char *want, uint32_t *out, vs_error **err)
{
        struct vs_cidr s;
        uint32_t gw;
        vs_net_addrs(net, &s, &gw);
        if (want == NULL) {
                struct vs_cidr r;
                bool ranged = vs_net_range(net, &r);
                *out = vs_ipam_next(&s, ranged ? &r : NULL, gw, ip_taken, net);
                if (*out == 0)
                        return vs_error_set(err, ENOSPC, "network '%s' has no free address in %s",
                                            vs_net_str(net, "Name"),
                                            vs_net_str(net, ranged ? "IPRange" : "Subnet"));
                return 0;
        }
        uint32_t ip;
        if (vs_ipv4_parse("--ip", want, &ip, err) < 0)
                return -1;
        uint32_t bcast = s.addr | (0xffffffffu >> s.prefix);
        if (!vs_cidr_contains(&s, ip) || ip == s.addr || ip == bcast || ip == gw)
                return vs_fail(err,
                               "--ip: %s is not a free host address of network '%s' (%s, "
                               "gateway %s)",
                               want, vs_net_str(net, "Name"), vs_net_str(net, "Subnet"),
                               vs_net_str(net, "Gateway"));
        if (ip_taken(net, ip))
                return vs_fail(err, "--ip: %s is already in use on network '%s'", want,
                               vs_net_str(net, "Name"));
        *out = ip;
        return 0;
}

static int check_ip6(json_object *net, const char *want, char **out, vs_error **err);

int vs_net_check(const char *data_root, const char *network, const char *ip, const char *ip6,
                 vs_error **err)
{
        _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
        if (vs_netdb_open(data_root, &db, err) < 0)
                return -1;
        json_object *net = vs_netdb_find(&db, network, err);
        if (net == NULL)
                return vs_error_wrap(err, "--network");
        uint32_t a;
        _cleanup_free_ char *a6 = NULL;
        if (ip6 && check_ip6(net, ip6, &a6, err) < 0)
                return -1;
        return ip ? pick_ip(net, ip, &a, err) : 0;
}

/* The lowest free IPv6 address of a dual-stack net (its subnet + 2...). */
static char *pick_ip6(json_object *net)
{
        struct vs_cidr6 c;
        if (vs_cidr6_parse("subnet", vs_net_str(net, "Subnet6"), &c, NULL) < 0)
                return NULL;
        uint32_t max = c.prefix >= 112 ? (1u << (128 - c.prefix)) - 1 : 65535;
        for (uint32_t n = 2; n < max; n++) {
                char a[46];
                vs_ipv6_nth(&c, n, a);
                bool taken = false;
                json_object_object_foreach(json_object_object_get(net, "Endpoints"), cid, ep)
                {
                        (void) cid;
                        taken = taken || strcmp(vs_net_str(ep, "IP6"), a) == 0;
                }
                if (!taken)
                        return xstrdup(a);
        }
        return NULL;
}

/* --ip6 want on net: an address of its IPv6 subnet other than the subnet's
 * own and the gateway, not taken; canonical text in *out. */
static int check_ip6(json_object *net, const char *want, char **out, vs_error **err)
{
        struct vs_cidr6 c;
        struct in6_addr a;
        if (vs_cidr6_parse("subnet", vs_net_str(net, "Subnet6"), &c, NULL) < 0)
                return vs_fail(err, "--ip6: network '%s' has no IPv6 subnet",
                               vs_net_str(net, "Name"));
        if (inet_pton(AF_INET6, want, &a) != 1)
                return vs_fail(err, "--ip6: '%s' is not an IPv6 address", want);
        bool inside = true;
        for (unsigned bit = 0; bit < c.prefix; bit++) {
                uint8_t m = (uint8_t) (0x80u >> (bit % 8));
                inside = inside && (a.s6_addr[bit / 8] & m) == (c.addr[bit / 8] & m);
        }
        char canon[INET6_ADDRSTRLEN], first[46];
        inet_ntop(AF_INET6, &a, canon, sizeof(canon));
        vs_ipv6_nth(&c, 0, first);
        if (!inside || strcmp(canon, first) == 0 || strcmp(canon, vs_net_str(net, "Gateway6")) == 0)
                return vs_fail(err,
                               "--ip6: %s is not a free host address of network '%s' (%s, "
                               "gateway %s)",
                               want, vs_net_str(net, "Name"), vs_net_str(net, "Subnet6"),
                               vs_net_str(net, "Gateway6"));
        json_object_object_foreach(json_object_object_get(net, "Endpoints"), cid, ep)
        {
                (void) cid;
                if (strcmp(vs_net_str(ep, "IP6"), canon) == 0)
                        return vs_fail(err, "--ip6: %s is already in use on network '%s'", want,
                                       vs_net_str(net, "Name"));
        }
        *out = xstrdup(canon);
        return 0;
}

/* "name alias..." of an endpoint: what its peers resolve it by. */
static char *names_of(json_object *ep)
{
        char *s = xstrdup(vs_net_str(ep, "Name"));
        json_object *al = json_object_object_get(ep, "Aliases");
        for (size_t i = 0; al && i < json_object_array_length(al); i++) {
                const char *a = json_object_get_string(json_object_array_get_idx(al, i));
                if (strcmp(a, vs_net_str(ep, "Name")) == 0)
                        continue;
                char *t = xasprintf("%s %s", s, a);
                free(s);
                s = t;
        }
        return s;
}

/* The hosts-file section of container cid on net: its own address with
 * its hostname, name and aliases, then (user-defined networks only, as
 * Docker's default bridge resolves no names) every peer by name and
 * aliases. */
static char *hosts_section(json_object *net, const char *cid)
{
        json_object *eps = json_object_object_get(net, "Endpoints");
        json_object *self = json_object_object_get(eps, cid);
        const char *hn = vs_net_str(self, "Hostname");
        _cleanup_free_ char *names = names_of(self);
        bool same = strcmp(hn, vs_net_str(self, "Name")) == 0;
        char *s = xasprintf("%s%s\n%s\t%s%s%s\n", HOSTS_MARK, vs_net_str(net, "Name"),
                            vs_net_str(self, "IP"), hn, same ? "" : " ",
                            same ? names + strlen(hn) : names);
        if (*vs_net_str(self, "IP6")) {
                char *t = xasprintf("%s%s\t%s%s%s\n", s, vs_net_str(self, "IP6"), hn,
                                    same ? "" : " ", same ? names + strlen(hn) : names);
                free(s);
                s = t;
        }
        if (strcmp(vs_net_str(net, "Name"), VS_NET_DEFAULT) == 0)
                return s;
        json_object_object_foreach(eps, id, ep)
        {
                if (strcmp(id, cid) == 0)
                        continue;
                _cleanup_free_ char *pn = names_of(ep);
                char *t = xasprintf("%s%s\t%s\n", s, vs_net_str(ep, "IP"), pn);
                free(s);
                s = t;
                if (*vs_net_str(ep, "IP6")) {
                        t = xasprintf("%s%s\t%s\n", s, vs_net_str(ep, "IP6"), pn);
                        free(s);
                        s = t;
                }
        }
        return s;
}

/* Every section of cid's hosts file: one per network it is on. */
static char *hosts_tail(struct vs_netdb *db, const char *cid)
{
        char *s = xstrdup("");
        size_t n = json_object_array_length(db->nets);
        for (size_t i = 0; i < n; i++) {
                json_object *net = json_object_array_get_idx(db->nets, i);
                if (json_object_object_get(json_object_object_get(net, "Endpoints"), cid) == NULL)
                        continue;
                _cleanup_free_ char *sec = hosts_section(net, cid);
                char *t = xasprintf("%s%s", s, sec);
                free(s);
                s = t;
        }
        return s;
}

/* Rewrites the vessel sections of one hosts file in place (the file is
 * bind-mounted into a running container: a rename would not reach it).
 * The container can write this file: it is read as data, never followed. */
static void rewrite_hosts(const char *path, const char *section)
{
        _cleanup_close_ int fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20))
                return;
        _cleanup_free_ char *text = xmalloc((size_t) st.st_size + 1);
        ssize_t n = pread(fd, text, (size_t) st.st_size, 0);
        if (n < 0)
                return;
        text[n] = '\0';
        char *mark = strstr(text, HOSTS_MARK);
        if (mark)
                *mark = '\0';
        _cleanup_free_ char *out = xasprintf("%s%s", text, section);
        if (pwrite(fd, out, strlen(out), 0) == (ssize_t) strlen(out))
                (void) ftruncate(fd, (off_t) strlen(out));
}

static void refresh_ctr(struct vs_netdb *db, const char *cid, const char *path)
{
        if (!*path)
                return;
        _cleanup_free_ char *tail = hosts_tail(db, cid);
        rewrite_hosts(path, tail);
}

void vs_net_refresh_hosts(struct vs_netdb *db, json_object *net)
{
        /* On the default network a container's section names only itself:
         * a peer coming or going changes no other file (with 50 containers
         * on it, a start would otherwise rewrite 50 files). */
        if (strcmp(vs_net_str(net, "Name"), VS_NET_DEFAULT) == 0)
                return;
        json_object_object_foreach(json_object_object_get(net, "Endpoints"), cid, ep)
            refresh_ctr(db, cid, vs_net_str(ep, "HostsPath"));
}

int vs_net_hosts(const char *data_root, const char *ctr_id, char **out, vs_error **err)
{
        _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
        if (vs_netdb_open(data_root, &db, err) < 0)
                return -1;
        *out = hosts_tail(&db, ctr_id);
        return 0;
}

/* The lowest ethN no endpoint of cid uses, nor its CNI networks (taken). */
static int free_ifname(struct vs_netdb *db, const char *cid, char **taken, char buf[16],
                       vs_error **err)
{
        for (int i = 0; i < 10; i++) {
                snprintf(buf, 16, "eth%d", i);
                bool used = false;
                for (size_t k = 0; taken && taken[k]; k++)
                        used = used || strcmp(taken[k], buf) == 0;
                size_t n = json_object_array_length(db->nets);
                for (size_t k = 0; k < n && !used; k++) {
                        json_object *ep = json_object_object_get(
                            json_object_object_get(json_object_array_get_idx(db->nets, k),
                                                   "Endpoints"),
                            cid);
                        const char *ifn = vs_net_str(ep, "Ifname");
                        used = ep && strcmp(*ifn ? ifn : "eth0", buf) == 0;
                }
                if (!used)
                        return 0;
        }
        return vs_fail(err, "a container can be on at most 10 networks");
}

static json_object *strv_array(char **v)
{
        json_object *a = json_object_new_array();
        for (size_t i = 0; v && v[i]; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        return a;
}

/* The endpoint of o->ctr_id on net, made (address, interface, ports) when
 * missing; *made says whether it was. */
bool vs_net_host_name_ok(const char *s)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > 253)
                return false;
        for (; *s; s++)
                if (*s <= ' ' || *s == 0x7f || *s == '#' || *s == '/')
                        return false;
        return true;
}

static int lease_in(struct vs_netdb *db, json_object *net, const struct vs_net_endpoint_opts *o,
                    bool *made, vs_error **err)
{
        if (o->hostname && *o->hostname && !vs_net_host_name_ok(o->hostname)) {
                _cleanup_free_ char *q = vs_str_escape(o->hostname);
                return vs_fail(err, "--hostname: '%s' is not a valid host name", q);
        }
        for (size_t i = 0; o->aliases && o->aliases[i]; i++)
                if (!vs_net_host_name_ok(o->aliases[i])) {
                        _cleanup_free_ char *q = vs_str_escape(o->aliases[i]);
                        return vs_fail(err, "--network-alias: '%s' is not a valid host name", q);
                }
        json_object *eps = json_object_object_get(net, "Endpoints");
        json_object *ep = json_object_object_get(eps, o->ctr_id);
        *made = ep == NULL;
        if (ep == NULL) {
                uint32_t ip;
                char a[16], veth[16], ifname[16];
                if (pick_ip(net, o->ip, &ip, err) < 0 ||
                    free_ifname(db, o->ctr_id, o->taken_ifnames, ifname, err) < 0)
                        return -1;
                json_object *ports = NULL;
                if (o->ip6 && *o->ip6 && !*vs_net_str(net, "Subnet6"))
                        return vs_fail(err, "--ip6: network '%s' has no IPv6 subnet",
                                       vs_net_str(net, "Name"));
                const char *ip6 = o->ports ? vs_net_ports_ip6(o->ports) : NULL;
                if (ip6 && !*vs_net_str(net, "Subnet6"))
                        return vs_fail(err,
                                       "-p: host address %s is IPv6 and network '%s' has no IPv6 "
                                       "subnet",
                                       ip6, vs_net_str(net, "Name"));
                if (o->ports && json_object_object_length(o->ports)) {
                        json_object_deep_copy(o->ports, &ports, NULL);
                        if (vs_net_ports_resolve(db, o->ctr_id, ports, err) < 0) {
                                json_object_put(ports);
                                return -1;
                        }
                }
                vs_net_veth_name(o->ctr_id, ifname, veth);
                ep = json_object_new_object();
                json_object_object_add(ep, "IP", json_object_new_string(vs_ipv4_str(ip, a)));
                json_object_object_add(ep, "Veth", json_object_new_string(veth));
                json_object_object_add(ep, "Ifname", json_object_new_string(ifname));
                if (*vs_net_str(net, "Subnet6")) {
                        _cleanup_free_ char *ip6 = NULL;
                        if (o->ip6 && *o->ip6 && check_ip6(net, o->ip6, &ip6, err) < 0) {
                                json_object_put(ep);
                                json_object_put(ports);
                                return -1;
                        }
                        if (ip6 == NULL)
                                ip6 = pick_ip6(net);
                        if (ip6 == NULL) {
                                json_object_put(ep);
                                json_object_put(ports);
                                return vs_fail(err, "network '%s' has no free IPv6 address in %s",
                                               vs_net_str(net, "Name"), vs_net_str(net, "Subnet6"));
                        }
                        json_object_object_add(ep, "IP6", json_object_new_string(ip6));
                }
                /* As Docker: 02:42 and the address, so that a peer's ARP
                 * cache stays right when the container restarts (a new veth)
                 * or its address passes to another container. */
                _cleanup_free_ char *mac =
                    o->mac ? xstrdup(o->mac)
                           : xasprintf("02:42:%02x:%02x:%02x:%02x", ip >> 24, (ip >> 16) & 255,
                                       (ip >> 8) & 255, ip & 255);
                json_object_object_add(ep, "MacAddress", json_object_new_string(mac));
                json_object_object_add(ep, "Aliases", strv_array(o->aliases));
                if (ports)
                        json_object_object_add(ep, "Ports", ports);
                json_object_object_add(eps, o->ctr_id, ep);
        }
        /* Name and hostname follow the container (rename). */
        json_object_object_add(ep, "Name", json_object_new_string(o->ctr_name));
        json_object_object_add(ep, "Hostname", json_object_new_string(o->hostname));
        json_object_object_add(ep, "HostsPath", json_object_new_string(o->hosts_path));
        return 0;
}

int vs_net_lease(const char *data_root, const struct vs_net_endpoint_opts *o, vs_error **err)
{
        _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
        if (vs_netdb_open(data_root, &db, err) < 0)
                return -1;
        json_object *net = vs_netdb_find(&db, o->network, err);
        if (net == NULL)
                return vs_error_wrap(err, "--network");
        bool made;
        if (lease_in(&db, net, o, &made, err) < 0)
                return -1;
        return vs_netdb_save(&db, err);
}

/* The network's bridge as br, made (with its NAT) on first use. */
static int wire_bridge(struct vs_netdb *db, json_object *net, struct vs_nl_bridge *br,
                       vs_error **err)
{
        struct vs_cidr s;
        uint32_t gw;
        vs_net_addrs(net, &s, &gw);
        const char *sub6 = vs_net_str(net, "Subnet6");
        unsigned p6 = *sub6 ? (unsigned) atoi(strchr(sub6, '/') + 1) : 0;
        *br = (struct vs_nl_bridge){
            .name = vs_net_str(net, "Bridge"),
            .mtu = vs_net_mtu(net),
            .gw = gw,
            .prefix = s.prefix,
            .gw6 = *sub6 ? vs_net_str(net, "Gateway6") : NULL,
            .prefix6 = p6,
        };
        if (!json_object_get_boolean(json_object_object_get(net, "Wired"))) {
                /* First use: the network's NAT; recorded first, so that a
                 * removal after a crash in between still removes it. */
                if (vs_nl_bridge_ensure(br, err) < 0)
                        return -1;
                json_object_object_add(net, "Wired", json_object_new_boolean(true));
                if (vs_netdb_save(db, err) < 0 || vs_net_nat_setup(net, err) < 0)
                        return -1;
        }
        return 0;
}

/* Wires one endpoint into the namespace nsfd (see vs_net_attach). */
static int wire(struct vs_netdb *db, json_object *net, const char *ctr_id, json_object *ep,
                int nsfd, vs_error **err)
{
        struct vs_cidr s;
        uint32_t gw, ip;
        vs_net_addrs(net, &s, &gw);
        vs_ipv4_parse("IP", vs_net_str(ep, "IP"), &ip, NULL);
        const char *sub6 = vs_net_str(net, "Subnet6");
        unsigned p6 = *sub6 ? (unsigned) atoi(strchr(sub6, '/') + 1) : 0;
        struct vs_nl_bridge br;
        if (wire_bridge(db, net, &br, err) < 0)
                return -1;
        const char *veth = vs_net_str(ep, "Veth"), *ifn = vs_net_str(ep, "Ifname");
        if (!*ifn)
                ifn = "eth0";
        uint8_t mac[6], *macp = NULL;
        if (*vs_net_str(ep, "MacAddress") &&
            vs_mac_parse("--mac-address", vs_net_str(ep, "MacAddress"), mac, NULL) == 0)
                macp = mac;
        /* A veth of an earlier run whose namespace is still alive. */
        if (vs_nl_link_del(veth, err) < 0 || vs_nl_veth_create(&br, veth, nsfd, ifn, macp, err) < 0)
                return -1;
        /* The default route goes through the first interface's network. */
        bool internal = json_object_get_boolean(json_object_object_get(net, "Internal"));
        bool route = !internal && strcmp(ifn, "eth0") == 0;
        struct vs_nl_peer peer = {
            .ifname = ifn,
            .ip = ip,
            .prefix = s.prefix,
            .gw = route ? gw : 0,
            .ip6 = *sub6 ? vs_net_str(ep, "IP6") : NULL,
            .prefix6 = p6,
            .gw6 = *sub6 && route ? vs_net_str(net, "Gateway6") : NULL,
        };
        if (vs_nl_configure_peer(nsfd, &peer, err) < 0 || vs_net_ports_apply(ctr_id, ep, err) < 0) {
                vs_nl_link_del(veth, NULL);
                return -1;
        }
        return 0;
}

static int open_netns(pid_t pid, vs_error **err)
{
        _cleanup_free_ char *nspath = xasprintf("/proc/%d/ns/net", (int) pid);
        int nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0)
                return vs_fail_errno(err, "cannot open %s", nspath);
        return nsfd;
}

int vs_net_attach(const char *data_root, const char *ctr_id, pid_t pid, vs_error **err)
{
        _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
        if (vs_netdb_open(data_root, &db, err) < 0)
                return -1;
        if (vs_netdb_find_endpoint(&db, ctr_id, NULL) == NULL)
                return vs_fail(err, "container %.12s has no network lease", ctr_id);
        _cleanup_close_ int nsfd = open_netns(pid, err);
        if (nsfd < 0)
                return -1;
        size_t n = json_object_array_length(db.nets);
        for (size_t i = 0; i < n; i++) {
                json_object *net = json_object_array_get_idx(db.nets, i);
                json_object *ep =
                    json_object_object_get(json_object_object_get(net, "Endpoints"), ctr_id);
                if (ep && wire(&db, net, ctr_id, ep, nsfd, err) < 0)
                        return vs_error_wrap(err, "network '%s'", vs_net_str(net, "Name"));
        }
        for (size_t i = 0; i < n; i++) {
                json_object *net = json_object_array_get_idx(db.nets, i);
                if (json_object_object_get(json_object_object_get(net, "Endpoints"), ctr_id))
                        vs_net_refresh_hosts(&db, net);
        }
        return 0;
}

int vs_net_attach_tap(const char *data_root, const char *ctr_id, int *fd, unsigned *mtu,
                      vs_error **err)
{
        _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
        if (vs_netdb_open(data_root, &db, err) < 0)
                return -1;
        *fd = -1;
        json_object *net = NULL, *ep = NULL;
        size_t n = json_object_array_length(db.nets);
        for (size_t i = 0; i < n; i++) {
                json_object *ni = json_object_array_get_idx(db.nets, i);
                json_object *e =
                    json_object_object_get(json_object_object_get(ni, "Endpoints"), ctr_id);
                if (e && net)
                        return vs_fail(err,
                                       "a VM has one network interface: it cannot join "
                                       "network '%s' besides '%s'",
                                       vs_net_str(ni, "Name"), vs_net_str(net, "Name"));
                if (e) {
                        net = ni;
                        ep = e;
                }
        }
        if (net == NULL)
                return vs_fail(err, "container %.12s has no network lease", ctr_id);
        struct vs_nl_bridge br;
        const char *tap = vs_net_str(ep, "Veth");
        /* A tap of an earlier run still held open: gone once its QEMU is. */
        if (wire_bridge(&db, net, &br, err) < 0 || vs_nl_link_del(tap, err) < 0 ||
            vs_nl_tap_create(&br, tap, fd, err) < 0)
                return vs_error_wrap(err, "network '%s'", vs_net_str(net, "Name"));
        if (vs_net_ports_apply(ctr_id, ep, err) < 0) {
                close(*fd);
                *fd = -1;
                return vs_error_wrap(err, "network '%s'", vs_net_str(net, "Name"));
        }
        vs_net_refresh_hosts(&db, net);
        *mtu = br.mtu;
        return 0;
}

int vs_net_connect(const char *data_root, const struct vs_net_endpoint_opts *o, pid_t pid,
                   char **net_name, vs_error **err)
{
        _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
        if (vs_netdb_open(data_root, &db, err) < 0)
                return -1;
        json_object *net = vs_netdb_find(&db, o->network, err);
        if (net == NULL)
                return -1;
        if (json_object_object_get(json_object_object_get(net, "Endpoints"), o->ctr_id))
                return vs_fail(err, "container %s is already connected to network '%s'",
                               o->ctr_name, vs_net_str(net, "Name"));
        bool made;
        if (lease_in(&db, net, o, &made, err) < 0 || vs_netdb_save(&db, err) < 0)
                return -1;
        json_object *eps = json_object_object_get(net, "Endpoints");
        json_object *ep = json_object_object_get(eps, o->ctr_id);
        if (pid > 0) {
                _cleanup_close_ int nsfd = open_netns(pid, err);
                if (nsfd < 0 || wire(&db, net, o->ctr_id, ep, nsfd, err) < 0) {
                        json_object_object_del(eps, o->ctr_id);
                        vs_netdb_save(&db, NULL);
                        return -1;
                }
        }
        vs_net_refresh_hosts(&db, net);
        refresh_ctr(&db, o->ctr_id, vs_net_str(ep, "HostsPath"));
        *net_name = xstrdup(vs_net_str(net, "Name"));
        return 0;
}

/* Takes ep (of cid on net) out: veth, port rules, lease; then the hosts
 * files of the network's other containers and of cid itself. With links,
 * the veth's name goes there instead, for the caller to delete later
 * (vs_net_release_deferred). */
static int release_one(struct vs_netdb *db, json_object *net, const char *cid, json_object *ep,
                       char ***links, vs_error **err)
{
        const char *veth = vs_net_str(ep, "Veth");
        if (links && *veth)
                strv_push(links, veth);
        else if (vs_nl_link_del(veth, err) < 0)
                return -1;
        if (vs_net_ports_remove(cid, ep, err) < 0)
                return -1;
        _cleanup_free_ char *path = xstrdup(vs_net_str(ep, "HostsPath"));
        json_object_object_del(json_object_object_get(net, "Endpoints"), cid);
        if (vs_netdb_save(db, err) < 0)
                return -1;
        vs_net_refresh_hosts(db, net);
        refresh_ctr(db, cid, path);
        return 0;
}

int vs_net_disconnect(const char *data_root, const char *ctr_id, const char *ctr_name,
                      const char *network, char **net_name, vs_error **err)
{
        _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
        if (vs_netdb_open(data_root, &db, err) < 0)
                return -1;
        json_object *net = vs_netdb_find(&db, network, err);
        if (net == NULL)
                return -1;
        json_object *ep = json_object_object_get(json_object_object_get(net, "Endpoints"), ctr_id);
        if (ep == NULL)
                return vs_fail(err, "container %s is not connected to network '%s'", ctr_name,
                               vs_net_str(net, "Name"));
        if (net_name)
                *net_name = xstrdup(vs_net_str(net, "Name"));
        return release_one(&db, net, ctr_id, ep, NULL, err);
}

int vs_net_release_deferred(const char *data_root, const char *ctr_id, char ***links,
                            vs_error **err)
{
        _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
        if (vs_netdb_open(data_root, &db, err) < 0)
                return -1;
        json_object *ep = NULL, *net;
        while ((net = vs_netdb_find_endpoint(&db, ctr_id, &ep)) != NULL)
                if (release_one(&db, net, ctr_id, ep, links, err) < 0)
                        return -1;
        return 0;
}

int vs_net_release(const char *data_root, const char *ctr_id, vs_error **err)
{
        return vs_net_release_deferred(data_root, ctr_id, NULL, err);
}

void vs_net_delete_links(char **links)
{
        for (size_t i = 0; links && links[i]; i++) {
                _cleanup_error_ vs_error *e = NULL;
                if (vs_nl_link_del(links[i], &e) < 0)
                        vs_warn("%s", e->msg);
        }
}

static void add_addr_fields(json_object *o, json_object *net, json_object *ep)
{
        struct vs_cidr s;
        uint32_t gw;
        vs_net_addrs(net, &s, &gw);
        json_object_object_add(o, "IPAddress", json_object_new_string(vs_net_str(ep, "IP")));
        json_object_object_add(o, "IPPrefixLen", json_object_new_int((int) s.prefix));
        json_object_object_add(o, "Gateway", json_object_new_string(vs_net_str(net, "Gateway")));
        json_object_object_add(o, "MacAddress",
                               json_object_new_string(vs_net_str(ep, "MacAddress")));
        const char *sub6 = vs_net_str(net, "Subnet6");
        json_object_object_add(o, "GlobalIPv6Address",
                               json_object_new_string(vs_net_str(ep, "IP6")));
        json_object_object_add(o, "GlobalIPv6PrefixLen",
                               json_object_new_int(*sub6 ? atoi(strchr(sub6, '/') + 1) : 0));
        json_object_object_add(o, "IPv6Gateway",
                               json_object_new_string(vs_net_str(net, "Gateway6")));
}

json_object *vs_net_container_settings(const char *data_root, const char *ctr_id)
{
        _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
        vs_error *err = NULL;
        if (vs_netdb_open(data_root, &db, &err) < 0) {
                vs_error_free(&err);
                return NULL;
        }
        json_object *o = NULL, *nets = json_object_new_object(), *ports = NULL;
        const char *first = NULL;
        size_t n = json_object_array_length(db.nets);
        for (size_t i = 0; i < n; i++) {
                json_object *net = json_object_array_get_idx(db.nets, i);
                json_object *ep =
                    json_object_object_get(json_object_object_get(net, "Endpoints"), ctr_id);
                if (ep == NULL)
                        continue;
                json_object *one = json_object_new_object();
                add_addr_fields(one, net, ep);
                json_object_object_add(one, "NetworkID",
                                       json_object_new_string(vs_net_str(net, "Id")));
                json_object_object_add(one, "EndpointID", json_object_new_string(ctr_id));
                json_object *al = NULL;
                json_object_deep_copy(json_object_object_get(ep, "Aliases"), &al, NULL);
                json_object_object_add(one, "Aliases", al ? al : json_object_new_array());
                json_object_object_add(nets, vs_net_str(net, "Name"), one);
                /* Top level: the first interface's network (eth0 first). */
                const char *ifn = vs_net_str(ep, "Ifname");
                ifn = *ifn ? ifn : "eth0";
                if (o == NULL || strcmp(ifn, first) < 0) {
                        if (o)
                                json_object_put(o);
                        o = json_object_new_object();
                        add_addr_fields(o, net, ep);
                        first = ifn;
                }
                if (json_object_object_get(ep, "Ports") && ports == NULL)
                        json_object_deep_copy(json_object_object_get(ep, "Ports"), &ports, NULL);
        }
        if (o == NULL) {
                json_object_put(nets);
                return NULL;
        }
        json_object_object_add(o, "Networks", nets);
        json_object_object_add(o, "Ports", ports ? ports : json_object_new_object());
        return o;
}
