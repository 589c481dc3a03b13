/* A container's place on a network: its lease (the IPAM), its veth, and
 * the names in the hosts files. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

#define HOSTS_MARK "# vessel network "

void vs_net_veth_name(const char *ctr_id, char buf[16])
{
        snprintf(buf, 16, "vs%.12s", ctr_id);
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
                *out = vs_ipam_next(&s, gw, ip_taken, net);
                if (*out == 0)
                        return vs_error_set(err, ENOSPC, "network '%s' has no free address in %s",
                                            vs_net_str(net, "Name"), vs_net_str(net, "Subnet"));
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

int vs_net_check(const char *data_root, const char *network, const char *ip, vs_error **err)
{
        _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
        if (vs_netdb_open(data_root, &db, err) < 0)
                return -1;
        json_object *net = vs_netdb_find(&db, network, err);
        if (net == NULL)
                return vs_error_wrap(err, "--network");
        uint32_t a;
        return ip ? pick_ip(net, ip, &a, err) : 0;
}

/* The hosts-file section of container cid on net: its own address with
 * its hostname and name, then (user-defined networks only, as Docker's
 * default bridge resolves no names) every peer by name. */
static char *hosts_section(json_object *net, const char *cid)
{
        json_object *eps = json_object_object_get(net, "Endpoints");
        json_object *self = json_object_object_get(eps, cid);
        const char *hn = vs_net_str(self, "Hostname"), *nm = vs_net_str(self, "Name");
        char *s = xasprintf("%s%s\n%s\t%s%s%s\n", HOSTS_MARK, vs_net_str(net, "Name"),
                            vs_net_str(self, "IP"), hn, strcmp(hn, nm) ? " " : "",
                            strcmp(hn, nm) ? nm : "");
        if (strcmp(vs_net_str(net, "Name"), VS_NET_DEFAULT) == 0)
                return s;
        json_object_object_foreach(eps, id, ep)
        {
                if (strcmp(id, cid) == 0)
                        continue;
                char *t = xasprintf("%s%s\t%s\n", s, vs_net_str(ep, "IP"), vs_net_str(ep, "Name"));
                free(s);
                s = t;
        }
        return s;
}

/* Rewrites the vessel section of one hosts file in place (the file is
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

void vs_net_refresh_hosts(json_object *net)
{
        json_object_object_foreach(json_object_object_get(net, "Endpoints"), cid, ep)
        {
                const char *path = vs_net_str(ep, "HostsPath");
                if (!*path)
                        continue;
                _cleanup_free_ char *section = hosts_section(net, cid);
                rewrite_hosts(path, section);
        }
}

int vs_net_lease(const char *data_root, const struct vs_net_endpoint_opts *o, char **hosts,
                 vs_error **err)
{
        _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
        if (vs_netdb_open(data_root, &db, err) < 0)
                return -1;
        json_object *ep = NULL;
        json_object *net = vs_netdb_find_endpoint(&db, o->ctr_id, &ep);
        if (net && strcmp(vs_net_str(net, "Name"), o->network) != 0 &&
            strcmp(vs_net_str(net, "Id"), o->network) != 0)
                return vs_fail(err, "container %s already has an address on network '%s'",
                               o->ctr_name, vs_net_str(net, "Name"));
        if (net == NULL) {
                net = vs_netdb_find(&db, o->network, err);
                if (net == NULL)
                        return vs_error_wrap(err, "--network");
                uint32_t ip;
                if (pick_ip(net, o->ip, &ip, err) < 0)
                        return -1;
                char a[16], veth[16];
                vs_net_veth_name(o->ctr_id, veth);
                if (o->ports && vs_net_ports_check(&db, o->ctr_id, o->ports, err) < 0)
                        return -1;
                ep = json_object_new_object();
                json_object_object_add(ep, "IP", json_object_new_string(vs_ipv4_str(ip, a)));
                json_object_object_add(ep, "Veth", json_object_new_string(veth));
                json_object_object_add(json_object_object_get(net, "Endpoints"), o->ctr_id, ep);
        }
        /* Name and hostname follow the container (rename). */
        json_object_object_add(ep, "Name", json_object_new_string(o->ctr_name));
        json_object_object_add(ep, "Hostname", json_object_new_string(o->hostname));
        json_object_object_add(ep, "HostsPath", json_object_new_string(o->hosts_path));
        if (o->ports) {
                json_object *copy = NULL;
                json_object_deep_copy(o->ports, &copy, NULL);
                json_object_object_add(ep, "Ports", copy);
        }
        if (vs_netdb_save(&db, err) < 0)
                return -1;
        *hosts = hosts_section(net, o->ctr_id);
        return 0;
}

int vs_net_attach(const char *data_root, const char *ctr_id, pid_t pid, vs_error **err)
{
        _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
        if (vs_netdb_open(data_root, &db, err) < 0)
                return -1;
        json_object *ep = NULL;
        json_object *net = vs_netdb_find_endpoint(&db, ctr_id, &ep);
        if (net == NULL)
                return vs_fail(err, "container %.12s has no network lease", ctr_id);
        struct vs_cidr s;
        uint32_t gw, ip;
        vs_net_addrs(net, &s, &gw);
        vs_ipv4_parse("IP", vs_net_str(ep, "IP"), &ip, NULL);
        const char *bridge = vs_net_str(net, "Bridge");
        if (vs_nl_bridge_ensure(bridge, gw, s.prefix, err) < 0)
                return -1;
        if (!json_object_get_boolean(json_object_object_get(net, "Wired"))) {
                /* First use: the network's NAT; recorded first, so that a
                 * removal after a crash in between still removes it. */
                json_object_object_add(net, "Wired", json_object_new_boolean(true));
                if (vs_netdb_save(&db, err) < 0 || vs_net_nat_setup(net, err) < 0)
                        return -1;
        }
        _cleanup_free_ char *nspath = xasprintf("/proc/%d/ns/net", (int) pid);
        _cleanup_close_ int nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0)
                return vs_fail_errno(err, "cannot open %s", nspath);
        const char *veth = vs_net_str(ep, "Veth");
        /* A veth of an earlier run whose namespace is still alive. */
        if (vs_nl_link_del(veth, err) < 0)
                return -1;
        if (vs_nl_veth_create(veth, bridge, nsfd, "eth0", err) < 0)
                return -1;
        bool internal = json_object_get_boolean(json_object_object_get(net, "Internal"));
        if (vs_nl_configure_peer(nsfd, "eth0", ip, s.prefix, internal ? 0 : gw, err) < 0) {
                vs_nl_link_del(veth, NULL);
                return -1;
        }
        if (vs_net_ports_apply(ctr_id, ep, err) < 0) {
                vs_nl_link_del(veth, NULL);
                return -1;
        }
        vs_net_refresh_hosts(net);
        return 0;
}

int vs_net_release(const char *data_root, const char *ctr_id, vs_error **err)
{
        _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
        if (vs_netdb_open(data_root, &db, err) < 0)
                return -1;
        json_object *ep = NULL;
        json_object *net = vs_netdb_find_endpoint(&db, ctr_id, &ep);
        if (net == NULL)
                return 0;
        if (vs_nl_link_del(vs_net_str(ep, "Veth"), err) < 0 ||
            vs_net_ports_remove(ctr_id, ep, err) < 0)
                return -1;
        json_object_object_del(json_object_object_get(net, "Endpoints"), ctr_id);
        if (vs_netdb_save(&db, err) < 0)
                return -1;
        vs_net_refresh_hosts(net);
        return 0;
}

static void add_addr_fields(json_object *o, json_object *net, json_object *ep)
{
        struct vs_cidr s;
        uint32_t gw;
        vs_net_addrs(net, &s, &gw);
        json_object_object_add(o, "IPAddress", json_object_new_string(vs_net_str(ep, "IP")));
        json_object_object_add(o, "IPPrefixLen", json_object_new_int((int) s.prefix));
        json_object_object_add(o, "Gateway", json_object_new_string(vs_net_str(net, "Gateway")));
}

json_object *vs_net_container_settings(const char *data_root, const char *ctr_id)
{
        _cleanup_netdb_ struct vs_netdb db = {.lock_fd = -1};
        vs_error *err = NULL;
        if (vs_netdb_open(data_root, &db, &err) < 0) {
                vs_error_free(&err);
                return NULL;
        }
        json_object *ep = NULL;
        json_object *net = vs_netdb_find_endpoint(&db, ctr_id, &ep);
        if (net == NULL)
                return NULL;
        json_object *o = json_object_new_object(), *nets = json_object_new_object(),
                    *one = json_object_new_object();
        add_addr_fields(o, net, ep);
        add_addr_fields(one, net, ep);
        json_object_object_add(one, "NetworkID", json_object_new_string(vs_net_str(net, "Id")));
        json_object_object_add(one, "EndpointID", json_object_new_string(ctr_id));
        json_object_object_add(nets, vs_net_str(net, "Name"), one);
        json_object_object_add(o, "Networks", nets);
        json_object *ports = NULL;
        json_object_deep_copy(json_object_object_get(ep, "Ports"), &ports, NULL);
        json_object_object_add(o, "Ports", ports ? ports : json_object_new_object());
        return o;
}
