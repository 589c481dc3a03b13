/* Networks (Docker's bridge driver, natively): a Linux bridge per network,
 * a veth pair per container with one end in the container's network
 * namespace, addresses from a persistent IPAM, names through the
 * containers' /etc/hosts. See docs/networking.md.
 *
 *   <data-root>/networks/networks.json   every network, and
 *   <data-root>/networks/leases/ID.json  container ID's endpoints (the IPAM
 *                                        leases), written atomically under
 *   <data-root>/networks/lock            flock held by every change
 *
 * The layer knows nothing of container records: the engine passes ids,
 * names and paths, and a callback telling which container ids still exist
 * (for prune). */
#ifndef VESSEL_NET_NET_H
#define VESSEL_NET_NET_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

#define VS_NET_DEFAULT        "bridge"
#define VS_NET_DEFAULT_BRIDGE "vessel0"
/* The interface group of every vessel bridge: the isolation rules find
 * the other networks' bridges by it, whatever their names (--opt
 * com.docker.network.bridge.name). */
#define VS_NET_BRIDGE_GROUP   0x7e55e1u
#define VS_NET_DEFAULT_SUBNET "172.30.0.0/16"

/* ---- addresses (src/net/ipam.c) ---- */
struct vs_cidr {
        uint32_t addr; /* host byte order, network address (host bits clear) */
        unsigned prefix;
};
/* "a.b.c.d/n": the address must be the network's (host bits zero), n 8..30. */
int vs_cidr_parse(const char *flag, const char *s, struct vs_cidr *out, vs_error **err);
int vs_ipv4_parse(const char *flag, const char *s, uint32_t *out, vs_error **err);
bool vs_cidr_contains(const struct vs_cidr *c, uint32_t ip);
/* A name that may stand in a hosts file line (a hostname, an alias): 1 to
 * 253 printable bytes, none of them a space, '#' or '/' (a newline or a
 * space would add lines or names to every peer's /etc/hosts). */
bool vs_net_host_name_ok(const char *s);
bool vs_cidr_overlap(const struct vs_cidr *a, const struct vs_cidr *b);
/* "a.b.c.d" into buf (>= 16 bytes). */
const char *vs_ipv4_str(uint32_t ip, char *buf);
char *vs_cidr_str(const struct vs_cidr *c);
/* IPv6 subnets (dual-stack networks): "a:b::/n", n 48..120, host bits 0. */
struct vs_cidr6 {
        uint8_t addr[16];
        unsigned prefix;
};
int vs_cidr6_parse(const char *flag, const char *s, struct vs_cidr6 *out, vs_error **err);
bool vs_cidr6_overlap(const struct vs_cidr6 *a, const struct vs_cidr6 *b);
/* The subnet's address + n (n small: the low 32 bits) as text. */
void vs_ipv6_nth(const struct vs_cidr6 *c, uint32_t n, char buf[46]);
/* "aa:bb:cc:dd:ee:ff", a unicast address. */
int vs_mac_parse(const char *flag, const char *s, uint8_t mac[6], vs_error **err);
/* Lowest usable host address of c (and of range, unless NULL: a
 * network's --ip-range) that is not gw and for which taken() is false; 0
 * when there is none. */
uint32_t vs_ipam_next(const struct vs_cidr *c, const struct vs_cidr *range, uint32_t gw,
                      bool (*taken)(void *, uint32_t), void *ud);

/* ---- networks (src/net/store.c) ---- */
struct vs_net_create_opts {
        const char *name;
        const char *subnet;   /* NULL: the first free /24 of 10.89.0.0/16 */
        const char *gateway;  /* NULL: the subnet's first address */
        const char *subnet6;  /* an IPv6 subnet (needs ipv6) */
        const char *ip_range; /* allocate only from this CIDR inside subnet */
        const char *bridge;   /* the bridge's name (NULL: vs-<12 hex of the id>) */
        bool internal, ipv6;
        char **labels; /* K=V */
        unsigned mtu;  /* of the bridge and its ports; 0: VS_NET_DEFAULT_MTU */
};
/* The MTU of a bridge network that names none (docs/networking.md, "MTU"):
 * loopback-sized, as slirp4netns and pasta give rootless podman, so that
 * traffic between containers and with the host moves in 64 KiB frames;
 * TCP leaving through another interface has its MSS clamped to that
 * route's MTU (src/net/nft.c). */
#define VS_NET_DEFAULT_MTU 65520
/* The MTUs a network may have: IPv4's minimum and the largest a link
 * takes; a dual-stack one needs IPv6's minimum (RFC 8200). */
#define VS_NET_MTU_MIN  68
#define VS_NET_MTU_MAX  65535
#define VS_NET_MTU_MIN6 1280
/* A network record's MTU: its own, else VS_NET_DEFAULT_MTU. */
unsigned vs_net_mtu(json_object *net);
int vs_net_create(const char *data_root, const struct vs_net_create_opts *o, char **id,
                  vs_error **err);
/* The configuration's address keys (set once per process, before any
 * network command): bip, the default network's bridge address with its
 * prefix ("172.31.0.1/16"; NULL: 172.30.0.1/16), taken when that network
 * is recorded or, while no container is on it, changed; and
 * default-address-pools, where user networks without --subnet take their
 * subnets (IPv4 bases; none: 10.89.0.0/16 in /24s). */
struct vs_net_pool_spec {
        const char *base; /* CIDR */
        long size;        /* prefix length of the subnets */
};
void vs_net_set_defaults(const char *bip, const struct vs_net_pool_spec *pools, size_t n);
/* ipv6 and fixed-cidr-v6 (Docker's daemon.json keys): the default network
 * dual-stack with that IPv6 subnet (gateway its ::1), applied as bip is.
 * One without the other is an error of every network command. */
void vs_net_set_default_ipv6(bool ipv6, const char *fixed_cidr_v6);
/* mtu (Docker's daemon.json key; 0: VS_NET_DEFAULT_MTU): the default
 * network's MTU, applied as bip is (its record changed while no container
 * is on it). */
void vs_net_set_default_mtu(unsigned mtu);
/* Docker's `network inspect` objects: every network (array), or one by
 * name, id or unambiguous id prefix. */
int vs_net_list(const char *data_root, json_object **out, vs_error **err);
int vs_net_inspect(const char *data_root, const char *ref, json_object **out, vs_error **err);
/* Refuses a network with endpoints and the default one. *name: what was
 * removed. */
int vs_net_rm(const char *data_root, const char *ref, char **name, vs_error **err);
/* Drops endpoints whose container is gone (exists() false), with their
 * veth and port rules, then removes user networks without endpoints.
 * *removed: names of the networks removed (strv); *removed_ids (unless
 * removed_ids is NULL) their ids, in the same order. */
/* match (NULL: every network): whether a network (its Created, Labels) may go. */
int vs_net_prune(const char *data_root, bool (*exists)(void *, const char *), void *ud,
                 bool networks, bool (*match)(void *, const char *, json_object *), void *match_arg,
                 char ***removed, char ***removed_ids, vs_error **err);

/* ---- published ports (src/net/ports.c) ---- */
/* -p [[HOSTIP:][HOSTPORT[-END]]:]CTRPORT[-END][/tcp|udp] added to
 * bindings, Docker's HostConfig.PortBindings: {"80/tcp": [{"HostIp": "",
 * "HostPort": "8080"}]}; a range publishes each port; a host port left
 * out is "" (chosen at start), a host range with one container port
 * "A-B" (the first free one). */
int vs_net_parse_port(const char *spec, json_object *bindings, vs_error **err);
/* -P: every "PORT/PROTO" key of exposed (the image's ExposedPorts) to a
 * host port chosen at start, unless bindings already has it. */
void vs_net_publish_all(json_object *exposed, json_object *bindings);
/* PORT[-END][/PROTO], tcp without PROTO (protos: the ones allowed, NULL:
 * any), each port from min to 65535: the keys Docker gives those ports
 * ("80/tcp"), pushed onto *keys unless there already. (--expose, ps's
 * publish and expose filters.) */
int vs_net_port_keys(const char *spec, long min, const char *const *protos, char ***keys,
                     vs_error **err);

/* ---- containers (src/net/endpoint.c) ---- */
/* Checked at create time: the network exists (the default one is made on
 * first use) and ip (may be NULL) is a free address of its subnet. */
int vs_net_check(const char *data_root, const char *network, const char *ip, const char *ip6,
                 vs_error **err);
struct vs_net_endpoint_opts {
        const char *network;
        const char *ctr_id, *ctr_name, *hostname;
        const char *ip;         /* NULL: allocated */
        const char *ip6;        /* NULL or "": allocated (dual-stack networks) */
        const char *mac;        /* NULL: the kernel's random one */
        char **aliases;         /* names peers resolve it by, besides its name */
        const char *hosts_path; /* the container's hosts file, kept current */
        json_object *ports;     /* PortBindings (may be NULL); host ports "" or
                                   "A-B" are chosen at the lease */
        char **taken_ifnames;   /* ethN held by the container's CNI networks */
};
/* The container's lease on o->network (allocated once, kept across
 * restarts until released). */
int vs_net_lease(const char *data_root, const struct vs_net_endpoint_opts *o, vs_error **err);
/* The vessel part of the container's /etc/hosts: a section per network it
 * is on, with its own name and (user-defined networks) its peers'. */
int vs_net_hosts(const char *data_root, const char *ctr_id, char **out, vs_error **err);
/* Wires every leased endpoint of the container into the network namespace
 * of pid: bridge (made and addressed on first use), veth pair, ethN with
 * the address (eth0 with the default route), lo up, port rules. Then
 * rewrites the peers' hosts files. */
int vs_net_attach(const char *data_root, const char *ctr_id, pid_t pid, vs_error **err);
/* `network connect`: a new lease on o->network, wired into pid's
 * namespace when pid > 0 (a running container), names refreshed. */
int vs_net_connect(const char *data_root, const struct vs_net_endpoint_opts *o, pid_t pid,
                   char **net_name, vs_error **err);
/* `network disconnect`: the endpoint's veth, port rules and lease go, and
 * its names from the hosts files. */
int vs_net_disconnect(const char *data_root, const char *ctr_id, const char *ctr_name,
                      const char *network, char **net_name, vs_error **err);
/* Every endpoint of the container, as disconnect does. Nothing there is
 * not an error. */
int vs_net_release(const char *data_root, const char *ctr_id, vs_error **err);
/* The same, but the host ends of the veths are not deleted: their names
 * are pushed to *links, for vs_net_delete_links once the caller has
 * answered whoever waits (the monitor of a --rm container, after it sent
 * the exit code). Deleting a veth waits for RCU grace periods: 12-20 ms on
 * our machines, all of a bridged `run --rm`'s extra time. When nothing
 * else holds the container's network namespace, the kernel removes the
 * pair with it (asynchronously) and the later delete finds nothing. The
 * lease is released at once: until the delete, a veth still there is
 * in the namespace of a container that has stopped. */
int vs_net_release_deferred(const char *data_root, const char *ctr_id, char ***links,
                            vs_error **err);
/* Deletes the host ends named (those still there); failures are warned. */
void vs_net_delete_links(char **links);

/* The [::1] relay of the container's TCP ports published on every
 * address (src/net/proxy.c): listeners bound here (a taken port is the
 * error), relayed by a child of the caller that ends with the caller or
 * with process init. Nothing to relay is not an error. */
int vs_net_proxy_spawn(const char *data_root, const char *ctr_id, pid_t init, vs_error **err);

/* "host" or "none": Docker's predefined networks besides the default
 * bridge, listed and inspected (driver host, null) but no networks of
 * src/net: `--network host|none` are namespace modes. */
bool vs_net_is_predefined(const char *name);

/* Docker's NetworkSettings of a container (Networks.<name> with
 * IPAddress, IPPrefixLen, Gateway; the same at top level; Ports), or NULL
 * when it holds no lease. */
json_object *vs_net_container_settings(const char *data_root, const char *ctr_id);
/* A VM's NIC on its vessel network (docs/vm.md, "Networking"): instead of
 * a veth, a tap named as the endpoint's host end (vs_net_release and a
 * prune remove it by that name; it also goes with its last fd), on the
 * network's bridge, its -p rules to the leased address, which the guest
 * holds itself; the network's hosts files refreshed. A VM has one NIC:
 * a second network is refused. */
int vs_net_attach_tap(const char *data_root, const char *ctr_id, int *fd, unsigned *mtu,
                      vs_error **err);

/* ---- links (src/net/netlink.c, libmnl). Operate in the caller's network
 * namespace unless netns_fd >= 0. Each call is one netlink round trip per
 * namespace: its requests go in one batch. ---- */
struct vs_nl_bridge {
        const char *name;
        unsigned mtu; /* of the bridge and every port made on it; 0: the kernel's */
        uint32_t gw;  /* its IPv4 address (host byte order) and prefix */
        unsigned prefix;
        const char *gw6; /* dual-stack: its IPv6 address and prefix, else NULL */
        unsigned prefix6;
};
/* The bridge made when missing, addressed, up, in VS_NET_BRIDGE_GROUP. */
int vs_nl_bridge_ensure(const struct vs_nl_bridge *br, vs_error **err);
/* The bridge as vs_nl_bridge_ensure, and a veth pair: host end `host`
 * up, enslaved to it, in hairpin mode; peer created up directly in
 * netns_fd as `peer` (with hardware address mac unless NULL). The attach
 * step of a container: a VM's tap device would join the same way. */
int vs_nl_veth_create(const struct vs_nl_bridge *br, const char *host, int netns_fd,
                      const char *peer, const uint8_t *mac, vs_error **err);
/* The bridge as vs_nl_bridge_ensure, and a tap `name` (IFF_VNET_HDR, not
 * persistent: it goes with its last fd) up, enslaved to it, in hairpin
 * mode; *fd its queue, for QEMU's -netdev tap,fd=. */
int vs_nl_tap_create(const struct vs_nl_bridge *br, const char *name, int *fd, vs_error **err);
struct vs_nl_peer {
        const char *ifname;
        uint32_t ip; /* IPv4 address and prefix */
        unsigned prefix;
        uint32_t gw;     /* default route via gw (0: none) */
        const char *ip6; /* IPv6 address and prefix (NULL: none, no DAD) */
        unsigned prefix6;
        const char *gw6; /* IPv6 default route (NULL: none) */
};
/* In netns_fd: lo up, the peer's addresses and default routes. */
int vs_nl_configure_peer(int netns_fd, const struct vs_nl_peer *p, vs_error **err);
/* Deletes a link by name; absent is not an error. */
int vs_nl_link_del(const char *name, vs_error **err);
bool vs_nl_link_exists(const char *name);

/* ---- nftables (src/net/nft.c, libnftables loaded on first use) ---- */
/* In table ip vessel: deletes the rules whose comment is tag and adds
 * adds (nft commands, their rules commented tag), in one transaction. */
int vs_nft_replace(const char *tag, const char *adds, vs_error **err);
/* The same in table ip6 vessel. */
int vs_nft_replace6(const char *tag, const char *adds, vs_error **err);

/* ---- CNI (src/net/cni.c) ---- */
struct vs_cni_args {
        const char *ctr_id, *netns, *ifname; /* netns may be NULL (DEL) */
        char **plugin_dirs;
        const char *cache_path;     /* result and config, for DEL and CHECK */
        json_object *port_mappings; /* runtimeConfig.portMappings, or NULL */
        const char *network;        /* the list's name, for runtimeConfig.aliases */
        json_object *aliases;       /* runtimeConfig.aliases[network] (names), or NULL */
        const char *args;           /* CNI_ARGS ("IgnoreUnknown=1;IP=..."), or NULL */
};
/* The network list named name in dir (.conflist, .conf, .json; a .conf
 * made a list of one), or *out NULL when there is none. */
int vs_cni_find(const char *dir, const char *name, json_object **out, vs_error **err);
/* Every CNI network of dir (the first file of each name, as libcni picks)
 * in Docker's network shape: Id the sha256 of the name (podman's), Driver
 * its first plugin's type, IPAM.Config its ipam's subnets, ConfigFile its
 * path. Files that do not parse are left out (a run naming one says why). */
int vs_cni_networks(const char *dir, json_object **out);
/* ADD through every plugin (a failure DELs what was done); caches the
 * result. DEL (reverse order) and CHECK use the cache; DEL without one
 * does nothing. */
int vs_cni_add(json_object *list, const struct vs_cni_args *a, vs_error **err);
int vs_cni_del(const struct vs_cni_args *a, vs_error **err);
int vs_cni_check(const struct vs_cni_args *a, vs_error **err);
/* The cached ADD result (new reference), or NULL. */
json_object *vs_cni_cached_result(const char *cache_path);

#endif
