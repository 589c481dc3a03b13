/* Shared by the files of src/net/: the locked network database. */
#ifndef VESSEL_NET_INTERNAL_H
#define VESSEL_NET_INTERNAL_H

#include <json-c/json.h>

#include "net/net.h"

/* networks.json, loaded under the lock: {"networks": [ {Id, Name, Created,
 * Subnet, Gateway, Bridge, Internal, Labels, Endpoints: {ctr id: {Name,
 * Hostname, IP, Veth, Ifname, MacAddress, Aliases, HostsPath, Ports}}} ]}. The default network is
 * added on open when missing (first use).
 *
 * On disk the endpoints (leases) are not in networks.json but one file per
 * container, leases/<ctr id>.json ({network id: endpoint}): a start writes
 * a new file and rm unlinks it, where rewriting networks.json cost ext4's
 * flush of the replaced file's data on rename (auto_da_alloc) twice per
 * bridged run. Both are read into the one tree above at open; save writes
 * only what changed. */
struct vs_netdb {
        int lock_fd;
        char *path, *dir;
        json_object *root;
        json_object *nets;  /* borrowed from root */
        json_object *saved; /* ctr id -> its lease file's text, as on disk */
        char *saved_defs;   /* networks.json's text, as on disk */
};
int vs_netdb_open(const char *data_root, struct vs_netdb *db, vs_error **err);
int vs_netdb_save(struct vs_netdb *db, vs_error **err);
void vs_netdb_close(struct vs_netdb *db);
/* By name, full id or unambiguous id prefix; error "no such network: 'x'". */
json_object *vs_netdb_find(struct vs_netdb *db, const char *ref, vs_error **err);
/* The network holding an endpoint of ctr_id (NULL: none). */
json_object *vs_netdb_find_endpoint(struct vs_netdb *db, const char *ctr_id, json_object **ep);

const char *vs_net_str(json_object *o, const char *key);
/* Docker's network object up to its IPAM config (Name, Id, Created from
 * rec; cfg: IPAM.Config, taken). */
json_object *vs_net_shape_base(json_object *rec, const char *name, const char *driver, bool ipv6,
                               json_object *cfg, bool internal);
/* Subnet/gateway of a stored network (validated when it was created). */
void vs_net_addrs(json_object *net, struct vs_cidr *subnet, uint32_t *gw);
/* The network's --ip-range into *range: false when it has none. */
bool vs_net_range(json_object *net, struct vs_cidr *range);
/* Rewrites the hosts file of every endpoint of net (in place: it is
 * bind-mounted into the running container). */
void vs_net_refresh_hosts(struct vs_netdb *db, json_object *net);
/* Host-side veth name for a container's interface ifname: "vs" + 12 hex
 * of its id, + N for ethN past eth0. */
void vs_net_veth_name(const char *ctr_id, const char *ifname, char buf[16]);

/* Ports (src/net/ports.c): host-port conflicts with other endpoints,
 * and the container's DNAT rules. */
/* Checks every binding of ports (a copy the caller owns) against the other
 * endpoints' and the host's listeners, and turns the open host ports
 * ("" or a range "A-B") into free ones, in place. */
int vs_net_ports_resolve(struct vs_netdb *db, const char *ctr_id, json_object *ports,
                         vs_error **err);
/* The first IPv6 host address among ports' bindings, or NULL. */
const char *vs_net_ports_ip6(json_object *ports);
int vs_net_ports_apply(const char *ctr_id, json_object *ep, vs_error **err);
/* Calls fn(ud, proto, host ip ("": every address), host port, container
 * port) for every binding of ports; stops at a non-zero return. */
int vs_net_ports_each(json_object *ports, int (*fn)(void *, const char *, const char *, long, long),
                      void *ud);
int vs_net_ports_remove(const char *ctr_id, json_object *ep, vs_error **err);
/* The network's masquerade rules and sysctls, once its bridge exists. */
int vs_net_nat_setup(json_object *net, vs_error **err);
int vs_net_nat_remove(json_object *net, vs_error **err);

static inline void vs_netdb_closep(struct vs_netdb *db)
{
        vs_netdb_close(db);
}
#define _cleanup_netdb_ __attribute__((cleanup(vs_netdb_closep)))

#endif
