/* Published ports: -p parsing, conflicts, and their DNAT rules. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "net/internal.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static int parse_port(const char *spec, const char *s, long *out, vs_error **err)
{
        char *end;
        long v = strtol(s, &end, 10);
        if (!*s || *end || v < 1 || v > 65535)
                return vs_fail(err, "-p: '%s': port '%s' is not a number in 1-65535", spec, s);
        *out = v;
        return 0;
}

int vs_net_parse_port(const char *spec, json_object *bindings, vs_error **err)
{
        _cleanup_free_ char *s = xstrdup(spec);
        const char *proto = "tcp";
        char *slash = strchr(s, '/');
        if (slash) {
                *slash = '\0';
                proto = slash + 1;
                if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
                        return vs_fail(err, "-p: '%s': unsupported protocol '%s' (tcp, udp)", spec,
                                       proto);
        }
        /* HOSTIP:HOSTPORT:CTRPORT or HOSTPORT:CTRPORT */
        char *last = strrchr(s, ':');
        if (last == NULL)
                return vs_fail(err, "-p: '%s': expected [HOSTIP:]HOSTPORT:CTRPORT[/tcp|udp]", spec);
        *last = '\0';
        char *hostport = strrchr(s, ':');
        const char *hostip = "";
        if (hostport) {
                *hostport++ = '\0';
                hostip = s;
                struct in_addr a;
                if (inet_pton(AF_INET, hostip, &a) != 1)
                        return vs_fail(err, "-p: '%s': '%s' is not an IPv4 address", spec, hostip);
        } else {
                hostport = s;
        }
        long hp, cp;
        if (parse_port(spec, hostport, &hp, err) < 0 || parse_port(spec, last + 1, &cp, err) < 0)
                return -1;
        _cleanup_free_ char *key = xasprintf("%ld/%s", cp, proto);
        json_object *arr = json_object_object_get(bindings, key);
        if (arr == NULL) {
                arr = json_object_new_array();
                json_object_object_add(bindings, key, arr);
        }
        json_object *b = json_object_new_object();
        json_object_object_add(b, "HostIp", json_object_new_string(hostip));
        _cleanup_free_ char *hps = xasprintf("%ld", hp);
        json_object_object_add(b, "HostPort", json_object_new_string(hps));
        json_object_array_add(arr, b);
        return 0;
}

/* Calls fn for every binding: proto, host ip ("" any), host port, ctr port. */
static int each_binding(json_object *ports,
                        int (*fn)(void *, const char *, const char *, long, long), void *ud)
{
        json_object_object_foreach(ports, key, arr)
        {
                long cp = strtol(key, NULL, 10);
                const char *proto = strchr(key, '/') ? strchr(key, '/') + 1 : "tcp";
                for (size_t i = 0; i < json_object_array_length(arr); i++) {
                        json_object *b = json_object_array_get_idx(arr, i);
                        int r = fn(ud, proto, vs_net_str(b, "HostIp"),
                                   strtol(vs_net_str(b, "HostPort"), NULL, 10), cp);
                        if (r)
                                return r;
                }
        }
        return 0;
}

struct conflict {
        const char *proto, *ip;
        long port;
};

static int same_port(void *ud, const char *proto, const char *ip, long hp, long cp)
{
        struct conflict *c = ud;
        (void) cp;
        return strcmp(proto, c->proto) == 0 && hp == c->port &&
               (!*ip || !*c->ip || strcmp(ip, c->ip) == 0);
}

struct check {
        struct vs_netdb *db;
        const char *self;
        vs_error **err;
};

static int check_one(void *ud, const char *proto, const char *ip, long hp, long cp)
{
        struct check *k = ud;
        struct conflict c = {proto, ip, hp};
        (void) cp;
        size_t n = json_object_array_length(k->db->nets);
        for (size_t i = 0; i < n; i++) {
                json_object_object_foreach(
                    json_object_object_get(json_object_array_get_idx(k->db->nets, i), "Endpoints"),
                    cid, ep)
                {
                        if (strcmp(cid, k->self) != 0 &&
                            each_binding(json_object_object_get(ep, "Ports"), same_port, &c)) {
                                vs_fail(k->err,
                                        "-p: host port %ld/%s is already published by "
                                        "container %s",
                                        hp, proto, vs_net_str(ep, "Name"));
                                return -1;
                        }
                }
        }
        return 0;
}

int vs_net_ports_check(struct vs_netdb *db, const char *ctr_id, json_object *ports, vs_error **err)
{
        struct check k = {db, ctr_id, err};
        return each_binding(ports, check_one, &k);
}

struct rules {
        const char *tag, *ip;
        char *text;
};

static int add_rule(void *ud, const char *proto, const char *ip, long hp, long cp)
{
        struct rules *r = ud;
        _cleanup_free_ char *daddr = *ip ? xasprintf("ip daddr %s ", ip) : xstrdup("");
        char *t = xasprintf("%sadd rule ip vessel ports %s%s dport %ld dnat to %s:%ld comment "
                            "\"%s\"\n",
                            r->text, daddr, proto, hp, r->ip, cp, r->tag);
        free(r->text);
        r->text = t;
        return 0;
}

int vs_net_ports_apply(const char *ctr_id, json_object *ep, vs_error **err)
{
        json_object *ports = json_object_object_get(ep, "Ports");
        if (ports == NULL || json_object_object_length(ports) == 0)
                return 0;
        _cleanup_free_ char *tag = xasprintf("vessel:%s", ctr_id);
        struct rules r = {tag, vs_net_str(ep, "IP"), xstrdup("")};
        each_binding(ports, add_rule, &r);
        int ret = vs_nft_replace(tag, r.text, err);
        free(r.text);
        return ret;
}

int vs_net_ports_remove(const char *ctr_id, json_object *ep, vs_error **err)
{
        json_object *ports = json_object_object_get(ep, "Ports");
        if (ports == NULL || json_object_object_length(ports) == 0)
                return 0;
        _cleanup_free_ char *tag = xasprintf("vessel:%s", ctr_id);
        return vs_nft_replace(tag, "", err);
}
