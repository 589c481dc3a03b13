/* Links, addresses and routes over rtnetlink, with libmnl building and
 * parsing the messages. Each operation opens its own socket: a handful of
 * messages per container start, no state to share. */
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"
#include "util/cleanup.h"

static void mnl_closep(struct mnl_socket **nl)
{
        if (*nl)
                mnl_socket_close(*nl);
}
#define _cleanup_mnl_ __attribute__((cleanup(mnl_closep)))

static int nl_open(struct mnl_socket **out, vs_error **err)
{
        struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (nl == NULL)
                return vs_fail_errno(err, "cannot open a netlink socket");
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                int e = errno;
                mnl_socket_close(nl);
                return vs_error_set(err, e, "cannot bind a netlink socket");
        }
        *out = nl;
        return 0;
}

/* Sends one request and waits for its ack; -1 with errno (the kernel's)
 * on a failure, without filling an error: callers word it. */
static int nl_request(struct mnl_socket *nl, struct nlmsghdr *nlh)
{
        static unsigned seq;
        nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = ++seq ? seq : (seq = (unsigned) time(NULL));
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
                return -1;
        char buf[MNL_SOCKET_BUFFER_SIZE];
        unsigned portid = mnl_socket_get_portid(nl);
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
                if (n < 0)
                        return -1;
                int r = mnl_cb_run(buf, (size_t) n, nlh->nlmsg_seq, portid, NULL, NULL);
                if (r <= MNL_CB_STOP)
                        return r < 0 ? -1 : 0;
        }
}

static struct nlmsghdr *link_msg(char *buf, int type, int flags, int index)
{
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = flags;
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = index;
        return nlh;
}

/* Several requests sent in one sendmsg and acked together: the kernel
 * runs them in order (one failing does not stop the next), so a start
 * costs one round trip per namespace instead of one per request. Each
 * request has its wording for an error and an errno that is no failure
 * (EEXIST for an address the bridge already has). */
#define NL_BATCH_MAX 8
struct nl_batch {
        char buf[8192];
        size_t len;
        unsigned n;
        struct nlmsghdr *cur;
        struct {
                char what[128];
                int ok_errno;
        } req[NL_BATCH_MAX];
};

/* A new request of b (the previous one is complete). */
static struct nlmsghdr *batch_put(struct nl_batch *b, int ok_errno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static struct nlmsghdr *batch_put(struct nl_batch *b, int ok_errno, const char *fmt, ...)
{
        if (b->cur)
                b->len += NLMSG_ALIGN(b->cur->nlmsg_len);
        if (b->n == NL_BATCH_MAX || b->len + 1024 > sizeof(b->buf))
                abort(); /* a programming error: batches are small and fixed */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->req[b->n].what, sizeof(b->req[b->n].what), fmt, ap);
        va_end(ap);
        b->req[b->n].ok_errno = ok_errno;
        b->n++;
        b->cur = mnl_nlmsg_put_header(b->buf + b->len);
        return b->cur;
}

static struct nlmsghdr *batch_link(struct nl_batch *b, int type, int flags, int index, int ok_errno,
                                   const char *what)
{
        struct nlmsghdr *nlh = batch_put(b, ok_errno, "%s", what);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = flags;
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = index;
        return nlh;
}

/* Sends every request of b and waits for all their acks; the first
 * failing request (in order) is the error. */
static int batch_send(struct mnl_socket *nl, struct nl_batch *b, vs_error **err)
{
        static unsigned seq;
        if (b->cur)
                b->len += NLMSG_ALIGN(b->cur->nlmsg_len);
        b->cur = NULL;
        if (seq == 0)
                seq = (unsigned) time(NULL);
        unsigned seq0 = seq;
        size_t off = 0;
        for (unsigned i = 0; i < b->n; i++) {
                struct nlmsghdr *nlh = (struct nlmsghdr *) (b->buf + off);
                nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
                nlh->nlmsg_seq = seq0 + i;
                off += NLMSG_ALIGN(nlh->nlmsg_len);
        }
        seq += b->n;
        if (mnl_socket_sendto(nl, b->buf, b->len) < 0)
                return vs_fail_errno(err, "%s", b->req[0].what);
        int errs[NL_BATCH_MAX] = {0};
        unsigned acked = 0;
        char rbuf[8192];
        while (acked < b->n) {
                ssize_t len = mnl_socket_recvfrom(nl, rbuf, sizeof(rbuf));
                if (len < 0)
                        return vs_fail_errno(err, "%s", b->req[acked].what);
                int rest = (int) len;
                for (struct nlmsghdr *h = (struct nlmsghdr *) rbuf; mnl_nlmsg_ok(h, rest);
                     h = mnl_nlmsg_next(h, &rest)) {
                        unsigned i = h->nlmsg_seq - seq0;
                        if (h->nlmsg_type != NLMSG_ERROR || i >= b->n)
                                continue;
                        const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
                        errs[i] = -e->error;
                        acked++;
                }
        }
        for (unsigned i = 0; i < b->n; i++)
                if (errs[i] && errs[i] != b->req[i].ok_errno)
                        return vs_error_set(err, errs[i], "%s", b->req[i].what);
        return 0;
}

static void put_addr4(struct nl_batch *b, const char *ifname, unsigned idx, uint32_t ip,
                      unsigned prefix, int ok_errno)
{
        char a[16];
        struct nlmsghdr *nlh = batch_put(b, ok_errno, "cannot add address %s/%u to %s",
                                         vs_ipv4_str(ip, a), prefix, ifname);
        nlh->nlmsg_type = RTM_NEWADDR;
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        ifa->ifa_family = AF_INET;
        ifa->ifa_prefixlen = (unsigned char) prefix;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = idx;
        uint32_t be = htonl(ip);
        mnl_attr_put_u32(nlh, IFA_LOCAL, be);
        mnl_attr_put_u32(nlh, IFA_ADDRESS, be);
        if (prefix < 31)
                mnl_attr_put_u32(nlh, IFA_BROADCAST, htonl(ip | (0xffffffffu >> prefix)));
}

/* ip6/prefix on ifname, without duplicate address detection (usable at
 * once); a default route via gw6 when not NULL. */
static int put_addr6(struct nl_batch *b, const char *ifname, unsigned idx, const char *ip6,
                     unsigned prefix, const char *gw6, vs_error **err)
{
        struct in6_addr a, g;
        if (inet_pton(AF_INET6, ip6, &a) != 1 || (gw6 && inet_pton(AF_INET6, gw6, &g) != 1))
                return vs_fail(err, "bad IPv6 address %s", ip6);
        struct nlmsghdr *nlh =
            batch_put(b, EEXIST, "cannot add address %s/%u to %s", ip6, prefix, ifname);
        nlh->nlmsg_type = RTM_NEWADDR;
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        ifa->ifa_family = AF_INET6;
        ifa->ifa_prefixlen = (unsigned char) prefix;
        ifa->ifa_flags = IFA_F_NODAD;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = idx;
        mnl_attr_put(nlh, IFA_LOCAL, 16, &a);
        mnl_attr_put(nlh, IFA_ADDRESS, 16, &a);
        mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
        if (gw6 == NULL)
                return 0;
        nlh = batch_put(b, EEXIST, "cannot add the IPv6 default route via %s", gw6);
        nlh->nlmsg_type = RTM_NEWROUTE;
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        struct rtmsg *rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
        rt->rtm_family = AF_INET6;
        rt->rtm_table = RT_TABLE_MAIN;
        rt->rtm_protocol = RTPROT_BOOT;
        rt->rtm_scope = RT_SCOPE_UNIVERSE;
        rt->rtm_type = RTN_UNICAST;
        mnl_attr_put(nlh, RTA_GATEWAY, 16, &g);
        mnl_attr_put_u32(nlh, RTA_OIF, idx);
        return 0;
}

static void put_route4(struct nl_batch *b, unsigned idx, uint32_t gw)
{
        char a[16];
        struct nlmsghdr *nlh =
            batch_put(b, EEXIST, "cannot add the default route via %s", vs_ipv4_str(gw, a));
        nlh->nlmsg_type = RTM_NEWROUTE;
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        struct rtmsg *rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
        rt->rtm_family = AF_INET;
        rt->rtm_table = RT_TABLE_MAIN;
        rt->rtm_protocol = RTPROT_BOOT;
        rt->rtm_scope = RT_SCOPE_UNIVERSE;
        rt->rtm_type = RTN_UNICAST;
        mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(gw));
        mnl_attr_put_u32(nlh, RTA_OIF, idx);
}

/* The bridge br->name made when missing (up, in vessel's interface
 * group); its index. */
static int bridge_index(struct mnl_socket *nl, const struct vs_nl_bridge *br, unsigned *out,
                        vs_error **err)
{
        unsigned idx = if_nametoindex(br->name);
        if (idx == 0) {
                struct nl_batch b = {0};
                struct nlmsghdr *nlh = batch_link(&b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0,
                                                  EEXIST, "cannot create bridge");
                snprintf(b.req[0].what, sizeof(b.req[0].what), "cannot create bridge %s", br->name);
                mnl_attr_put_strz(nlh, IFLA_IFNAME, br->name);
                mnl_attr_put_u32(nlh, IFLA_GROUP, VS_NET_BRIDGE_GROUP);
                if (br->mtu)
                        mnl_attr_put_u32(nlh, IFLA_MTU, br->mtu);
                struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
                mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
                mnl_attr_nest_end(nlh, li);
                if (batch_send(nl, &b, err) < 0)
                        return -1;
                idx = if_nametoindex(br->name);
                if (idx == 0)
                        return vs_fail_errno(err, "cannot find bridge %s", br->name);
        }
        *out = idx;
        return 0;
}

/* The bridge's own part of a batch: its addresses (kept when there),
 * up, in vessel's interface group (also a bridge made before groups were
 * set). */
static int put_bridge(struct nl_batch *b, const struct vs_nl_bridge *br, unsigned idx,
                      vs_error **err)
{
        put_addr4(b, br->name, idx, br->gw, br->prefix, EEXIST);
        if (br->gw6 && put_addr6(b, br->name, idx, br->gw6, br->prefix6, NULL, err) < 0)
                return -1;
        char what[64];
        snprintf(what, sizeof(what), "cannot bring bridge %s up", br->name);
        struct nlmsghdr *nlh = batch_link(b, RTM_NEWLINK, 0, (int) idx, 0, what);
        struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
        ifi->ifi_change = IFF_UP;
        ifi->ifi_flags = IFF_UP;
        mnl_attr_put_u32(nlh, IFLA_GROUP, VS_NET_BRIDGE_GROUP);
        /* Set, not left to the kernel's "smallest port": a port made
         * before (another MTU) must not lower it for the ports to come. */
        if (br->mtu)
                mnl_attr_put_u32(nlh, IFLA_MTU, br->mtu);
        return 0;
}

/* A socket, the bridge made when missing (*idx), and a batch b starting
 * with the bridge's own part. */
static int bridge_batch(struct mnl_socket **nl, struct nl_batch *b, const struct vs_nl_bridge *br,
                        unsigned *idx, vs_error **err)
{
        if (nl_open(nl, err) < 0 || bridge_index(*nl, br, idx, err) < 0 ||
            put_bridge(b, br, *idx, err) < 0)
                return -1;
        return 0;
}

int vs_nl_bridge_ensure(const struct vs_nl_bridge *br, vs_error **err)
{
        _cleanup_mnl_ struct mnl_socket *nl = NULL;
        unsigned idx;
        struct nl_batch b = {0};
        if (bridge_batch(&nl, &b, br, &idx, err) < 0)
                return -1;
        return batch_send(nl, &b, err);
}

/* Link `name` up, with the bridge's MTU, enslaved to bridge index master,
 * into a batch (flags: NLM_F_CREATE... for a new link); the message, for
 * more attributes. */
static struct nlmsghdr *put_port(struct nl_batch *b, int flags, const char *name,
                                 const struct vs_nl_bridge *br, unsigned master, const char *what)
{
        struct nlmsghdr *nlh = batch_link(b, RTM_NEWLINK, flags, 0, 0, what);
        struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
        ifi->ifi_change = IFF_UP;
        ifi->ifi_flags = IFF_UP;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        mnl_attr_put_u32(nlh, IFLA_MASTER, master);
        if (br->mtu)
                mnl_attr_put_u32(nlh, IFLA_MTU, br->mtu);
        return nlh;
}

/* Hairpin mode on bridge port `port` (found by name), into a batch: the
 * bridge may send a frame back out of the port it came in on. */
static void put_hairpin(struct nl_batch *b, const char *port)
{
        char what[64];
        snprintf(what, sizeof(what), "cannot set hairpin mode on bridge port %s", port);
        struct nlmsghdr *nlh = batch_link(b, RTM_NEWLINK, 0, 0, 0, what);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, port);
        struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_SLAVE_KIND, "bridge");
        struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_SLAVE_DATA);
        mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, 1);
        mnl_attr_nest_end(nlh, data);
        mnl_attr_nest_end(nlh, li);
}

int vs_nl_veth_create(const struct vs_nl_bridge *br, const char *host, int netns_fd,
                      const char *peer, const uint8_t *mac, vs_error **err)
{
        _cleanup_mnl_ struct mnl_socket *nl = NULL;
        unsigned idx;
        struct nl_batch b = {0};
        if (bridge_batch(&nl, &b, br, &idx, err) < 0)
                return -1;
        /* The host end made up and enslaved, the peer made directly in the
         * container's namespace with its name and MAC (up there: it cannot
         * open before the pair is complete, ENOTCONN). */
        char what[64];
        snprintf(what, sizeof(what), "cannot create veth pair %s", host);
        struct nlmsghdr *nlh = put_port(&b, NLM_F_CREATE | NLM_F_EXCL, host, br, idx, what);
        struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
        struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        struct nlattr *pe = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
        struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifi));
        pifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
        mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t) netns_fd);
        if (br->mtu)
                mnl_attr_put_u32(nlh, IFLA_MTU, br->mtu);
        if (mac)
                mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
        mnl_attr_nest_end(nlh, pe);
        mnl_attr_nest_end(nlh, data);
        mnl_attr_nest_end(nlh, li);
        /* Hairpin mode on its bridge port, in the same batch (the port
         * found by name): the bridge may send a frame back out of the
         * port it came in on. A container reaching its own published port
         * through a host address needs it: the host DNATs the packet back
         * to the container, and the bridge must send it out of the
         * container's own port. (`ip link set X type bridge_slave hairpin
         * on`.) */
        put_hairpin(&b, host);
        if (batch_send(nl, &b, err) < 0) {
                vs_nl_link_del(host, NULL);
                return -1;
        }
        return 0;
}

int vs_nl_tap_create(const struct vs_nl_bridge *br, const char *name, int *fd, vs_error **err)
{
        /* Not persistent: the device goes with the last fd of its queue
         * (QEMU's and its launcher's), whoever is killed. */
        _cleanup_close_ int tfd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (tfd < 0)
                return vs_fail_errno(err, "cannot open /dev/net/tun");
        struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
        if (ioctl(tfd, TUNSETIFF, &ifr) < 0)
                return vs_fail_errno(err, "cannot create tap %s", name);
        _cleanup_mnl_ struct mnl_socket *nl = NULL;
        unsigned idx;
        struct nl_batch b = {0};
        if (bridge_batch(&nl, &b, br, &idx, err) < 0)
                return -1;
        char what[64];
        snprintf(what, sizeof(what), "cannot attach tap %s to bridge %s", name, br->name);
        put_port(&b, 0, name, br, idx, what);
        put_hairpin(&b, name);
        if (batch_send(nl, &b, err) < 0)
                return -1;
        *fd = steal_fd(tfd);
        return 0;
}

/* The peer's addresses and routes, in the calling thread's namespace. */
static int configure_here(const struct vs_nl_peer *p, vs_error **err)
{
        unsigned idx = if_nametoindex(p->ifname);
        if (idx == 0)
                return vs_fail_errno(err, "cannot find network device %s", p->ifname);
        _cleanup_mnl_ struct mnl_socket *nl = NULL;
        if (nl_open(&nl, err) < 0)
                return -1;
        struct nl_batch b = {0};
        /* lo is index 1 in every network namespace. */
        struct nlmsghdr *nlh = batch_link(&b, RTM_NEWLINK, 0, 1, 0, "cannot bring lo up");
        struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
        ifi->ifi_change = IFF_UP;
        ifi->ifi_flags = IFF_UP;
        char what[64];
        snprintf(what, sizeof(what), "cannot bring %s up", p->ifname);
        nlh = batch_link(&b, RTM_NEWLINK, 0, (int) idx, 0, what);
        ifi = mnl_nlmsg_get_payload(nlh);
        ifi->ifi_change = IFF_UP;
        ifi->ifi_flags = IFF_UP;
        put_addr4(&b, p->ifname, idx, p->ip, p->prefix, EEXIST);
        if (p->gw)
                put_route4(&b, idx, p->gw);
        if (p->ip6 && put_addr6(&b, p->ifname, idx, p->ip6, p->prefix6, p->gw6, err) < 0)
                return -1;
        return batch_send(nl, &b, err);
}

int vs_nl_configure_peer(int netns_fd, const struct vs_nl_peer *p, vs_error **err)
{
        /* if_nametoindex and the netlink socket work in the namespace of
         * the calling thread: enter the container's for the duration. */
        _cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return vs_fail_errno(err, "cannot open /proc/thread-self/ns/net");
        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return vs_fail_errno(err, "cannot enter the container's network namespace");
        int r = configure_here(p, err);
        if (setns(self, CLONE_NEWNET) < 0)
                abort(); /* running on in the container's namespace would be worse */
        return r;
}

int vs_nl_link_del(const char *name, vs_error **err)
{
        unsigned idx = if_nametoindex(name);
        if (idx == 0)
                return 0;
        _cleanup_mnl_ struct mnl_socket *nl = NULL;
        if (nl_open(&nl, err) < 0)
                return -1;
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = link_msg(buf, RTM_DELLINK, 0, (int) idx);
        if (nl_request(nl, nlh) < 0 && errno != ENODEV)
                return vs_fail_errno(err, "cannot delete network device %s", name);
        return 0;
}

bool vs_nl_link_exists(const char *name)
{
        return if_nametoindex(name) != 0;
}
