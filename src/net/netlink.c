/* Links, addresses and routes over rtnetlink, with libmnl building and
 * parsing the messages. Each operation opens its own socket: a handful of
 * messages per container start, no state to share. */
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sched.h>
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

static int link_up(struct mnl_socket *nl, const char *name, vs_error **err)
{
        unsigned idx = if_nametoindex(name);
        if (idx == 0)
                return vs_fail_errno(err, "cannot find network device %s", name);
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, (int) idx);
        struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
        ifi->ifi_change = IFF_UP;
        ifi->ifi_flags = IFF_UP;
        if (nl_request(nl, nlh) < 0)
                return vs_fail_errno(err, "cannot bring network device %s up", name);
        return 0;
}

static int addr_add(struct mnl_socket *nl, const char *ifname, uint32_t ip, unsigned prefix,
                    vs_error **err)
{
        unsigned idx = if_nametoindex(ifname);
        if (idx == 0)
                return vs_fail_errno(err, "cannot find network device %s", ifname);
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
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
        if (nl_request(nl, nlh) < 0 && errno != EEXIST) {
                char a[16];
                return vs_fail_errno(err, "cannot add address %s/%u to %s", vs_ipv4_str(ip, a),
                                     prefix, ifname);
        }
        return 0;
}

int vs_nl_bridge_ensure(const char *name, uint32_t gw, unsigned prefix, vs_error **err)
{
        _cleanup_mnl_ struct mnl_socket *nl = NULL;
        if (nl_open(&nl, err) < 0)
                return -1;
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
        mnl_attr_nest_end(nlh, li);
        if (nl_request(nl, nlh) < 0 && errno != EEXIST)
                return vs_fail_errno(err, "cannot create bridge %s", name);
        if (addr_add(nl, name, gw, prefix, err) < 0)
                return -1;
        /* Up, in vessel's interface group (also a bridge made before
         * groups were set). */
        unsigned idx = if_nametoindex(name);
        if (idx == 0)
                return vs_fail_errno(err, "cannot find network device %s", name);
        nlh = link_msg(buf, RTM_NEWLINK, 0, (int) idx);
        struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
        ifi->ifi_change = IFF_UP;
        ifi->ifi_flags = IFF_UP;
        mnl_attr_put_u32(nlh, IFLA_GROUP, VS_NET_BRIDGE_GROUP);
        if (nl_request(nl, nlh) < 0)
                return vs_fail_errno(err, "cannot bring bridge %s up", name);
        return 0;
}

/* Hairpin mode on a bridge port: the bridge may send a frame back out of
 * the port it came in on. A container reaching its own published port
 * through a host address needs it: the host DNATs the packet back to the
 * container, and the bridge must send it out of the container's own port. */
static int port_hairpin(struct mnl_socket *nl, const char *name, vs_error **err)
{
        unsigned idx = if_nametoindex(name);
        if (idx == 0)
                return vs_fail_errno(err, "cannot find network device %s", name);
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = link_msg(buf, RTM_SETLINK, 0, (int) idx);
        struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
        ifi->ifi_family = AF_BRIDGE;
        struct nlattr *pi = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
        mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, 1);
        mnl_attr_nest_end(nlh, pi);
        if (nl_request(nl, nlh) < 0)
                return vs_fail_errno(err, "cannot set hairpin mode on bridge port %s", name);
        return 0;
}

int vs_nl_veth_create(const char *host, const char *bridge, int netns_fd, const char *peer,
                      const uint8_t *mac, vs_error **err)
{
        unsigned br = if_nametoindex(bridge);
        if (br == 0)
                return vs_fail_errno(err, "cannot find bridge %s", bridge);
        _cleanup_mnl_ struct mnl_socket *nl = NULL;
        if (nl_open(&nl, err) < 0)
                return -1;
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, host);
        mnl_attr_put_u32(nlh, IFLA_MASTER, br);
        struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
        struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        struct nlattr *pe = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
        struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifi));
        pifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
        mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t) netns_fd);
        if (mac)
                mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
        mnl_attr_nest_end(nlh, pe);
        mnl_attr_nest_end(nlh, data);
        mnl_attr_nest_end(nlh, li);
        if (nl_request(nl, nlh) < 0)
                return vs_fail_errno(err, "cannot create veth pair %s", host);
        if (port_hairpin(nl, host, err) < 0 || link_up(nl, host, err) < 0) {
                vs_nl_link_del(host, NULL);
                return -1;
        }
        return 0;
}

static int route_default(struct mnl_socket *nl, const char *ifname, uint32_t gw, vs_error **err)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_NEWROUTE;
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        struct rtmsg *rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
        rt->rtm_family = AF_INET;
        rt->rtm_table = RT_TABLE_MAIN;
        rt->rtm_protocol = RTPROT_BOOT;
        rt->rtm_scope = RT_SCOPE_UNIVERSE;
        rt->rtm_type = RTN_UNICAST;
        mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(gw));
        mnl_attr_put_u32(nlh, RTA_OIF, if_nametoindex(ifname));
        if (nl_request(nl, nlh) < 0 && errno != EEXIST) {
                char a[16];
                return vs_fail_errno(err, "cannot add the default route via %s",
                                     vs_ipv4_str(gw, a));
        }
        return 0;
}

static int configure_here(const char *ifname, uint32_t ip, unsigned prefix, uint32_t gw,
                          vs_error **err)
{
        _cleanup_mnl_ struct mnl_socket *nl = NULL;
        if (nl_open(&nl, err) < 0)
                return -1;
        if (link_up(nl, "lo", err) < 0 || addr_add(nl, ifname, ip, prefix, err) < 0 ||
            link_up(nl, ifname, err) < 0)
                return -1;
        return gw ? route_default(nl, ifname, gw, err) : 0;
}

int vs_nl_configure_peer(int netns_fd, const char *ifname, uint32_t ip, unsigned prefix,
                         uint32_t gw, vs_error **err)
{
        /* if_nametoindex and the netlink socket work in the namespace of
         * the calling thread: enter the container's for the duration. */
        _cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return vs_fail_errno(err, "cannot open /proc/thread-self/ns/net");
        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return vs_fail_errno(err, "cannot enter the container's network namespace");
        int r = configure_here(ifname, ip, prefix, gw, err);
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

static int addr6_here(const char *ifname, const char *ip6, unsigned prefix, const char *gw6,
                      vs_error **err)
{
        unsigned idx = if_nametoindex(ifname);
        if (idx == 0)
                return vs_fail_errno(err, "cannot find network device %s", ifname);
        struct in6_addr a, g;
        if (inet_pton(AF_INET6, ip6, &a) != 1 || (gw6 && inet_pton(AF_INET6, gw6, &g) != 1))
                return vs_fail(err, "bad IPv6 address %s", ip6);
        _cleanup_mnl_ struct mnl_socket *nl = NULL;
        if (nl_open(&nl, err) < 0)
                return -1;
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
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
        if (nl_request(nl, nlh) < 0 && errno != EEXIST)
                return vs_fail_errno(err, "cannot add address %s/%u to %s", ip6, prefix, ifname);
        if (gw6 == NULL)
                return 0;
        nlh = mnl_nlmsg_put_header(buf);
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
        if (nl_request(nl, nlh) < 0 && errno != EEXIST)
                return vs_fail_errno(err, "cannot add the IPv6 default route via %s", gw6);
        return 0;
}

int vs_nl_addr6(int netns_fd, const char *ifname, const char *ip6, unsigned prefix, const char *gw6,
                vs_error **err)
{
        if (netns_fd < 0)
                return addr6_here(ifname, ip6, prefix, gw6, err);
        _cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return vs_fail_errno(err, "cannot open /proc/thread-self/ns/net");
        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return vs_fail_errno(err, "cannot enter the container's network namespace");
        int r = addr6_here(ifname, ip6, prefix, gw6, err);
        if (setns(self, CLONE_NEWNET) < 0)
                abort();
        return r;
}
