/* Published ports: -p parsing, host-port choice and conflicts, and their
 * DNAT rules. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

static int parse_port(const char *s, long min, long *out, vs_error **err)
{
        char *end;
        long v = strtol(s, &end, 10);
        if (!*s || *end || v < min || v > 65535)
                return vs_fail(err, "port '%s' is not a number in %ld-65535", s, min);
        *out = v;
        return 0;
}

/* "N" or "A-B" (A <= B), each from min to 65535. */
static int port_range(const char *s, long min, long *lo, long *hi, vs_error **err)
{
        const char *dash = strchr(s, '-');
        if (dash == NULL) {
                if (parse_port(s, min, lo, err) < 0)
                        return -1;
                *hi = *lo;
                return 0;
        }
        _cleanup_free_ char *a = xstrndup(s, (size_t) (dash - s));
        if (parse_port(a, min, lo, err) < 0 || parse_port(dash + 1, min, hi, err) < 0)
                return -1;
        if (*hi < *lo)
                return vs_fail(err, "the range %s ends before it starts", s);
        return 0;
}

/* -p's ranges, its spec in the error. */
static int parse_range(const char *spec, const char *s, long *lo, long *hi, vs_error **err)
{
        if (port_range(s, 1, lo, hi, err) < 0)
                return vs_error_wrap(err, "-p: '%s'", spec);
        return 0;
}

int vs_net_port_keys(const char *spec, long min, const char *const *protos, char ***keys,
                     vs_error **err)
{
        const char *sl = strchr(spec, '/');
        const char *proto = sl && sl[1] ? sl + 1 : "tcp";
        if (protos && !strv_contains((char *const *) protos, proto)) {
                _cleanup_free_ char *all = strv_join((char *const *) protos, ", ");
                return vs_fail(err, "the protocol is one of %s", all);
        }
        _cleanup_free_ char *range = sl ? xstrndup(spec, (size_t) (sl - spec)) : xstrdup(spec);
        long lo, hi;
        if (port_range(range, min, &lo, &hi, err) < 0)
                return -1;
        for (long p = lo; p <= hi; p++) {
                _cleanup_free_ char *k = xasprintf("%ld/%s", p, proto);
                if (!strv_contains(*keys, k))
                        strv_push(keys, k);
        }
        return 0;
}

static void add_binding(json_object *bindings, long cp, const char *proto, const char *hostip,
                        const char *hostport)
{
        _cleanup_free_ char *key = xasprintf("%ld/%s", cp, proto);
        json_object *arr = json_object_object_get(bindings, key);
        if (arr == NULL) {
                arr = json_object_new_array();
                json_object_object_add(bindings, key, arr);
        }
        json_object *b = json_object_new_object();
        json_object_object_add(b, "HostIp", json_object_new_string(hostip));
        json_object_object_add(b, "HostPort", json_object_new_string(hostport));
        json_object_array_add(arr, b);
}

/* "[ADDR]" of a -p spec, brackets cut off in place. [::1] is served by the
 * relay of src/net/proxy.c (no DNAT can send ::1-sourced packets out of a
 * bridge), in its canonical spelling. */
static int host_ip6(const char *spec, char *s, vs_error **err)
{
        char *close = strchr(s, ']');
        *close = '\0';
        struct in6_addr a;
        if (close[1] != '\0' || inet_pton(AF_INET6, s + 1, &a) != 1)
                return vs_fail(err, "-p: '%s': '%s]' is not a bracketed IPv6 address", spec, s);
        if (IN6_IS_ADDR_LOOPBACK(&a))
                strcpy(s + 1, "::1");
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
        /* [[HOSTIP:][HOSTPORT]:]CTRPORT */
        char *last = strrchr(s, ':');
        const char *hostip = "", *hostport = "", *ctr = s;
        if (last) {
                *last = '\0';
                ctr = last + 1;
                char *hp = strrchr(s, ':');
                /* An IPv6 HOSTIP is bracketed: [::]:80:80, [fd00::1]::80. */
                char *close = s[0] == '[' ? strchr(s, ']') : NULL;
                if (close)
                        hp = close[1] == ':' ? close + 1 : NULL;
                if (hp) {
                        *hp++ = '\0';
                        hostip = s;
                        if (close && host_ip6(spec, s, err) < 0)
                                return -1;
                        if (close)
                                hostip = s + 1;
                        struct in_addr a;
                        if (!close && inet_pton(AF_INET, hostip, &a) != 1)
                                return vs_fail(err,
                                               "-p: '%s': '%s' is not an IPv4 address (IPv6: "
                                               "in brackets)",
                                               spec, hostip);
                        hostport = hp;
                } else {
                        hostport = s;
                        if (!*hostport)
                                return vs_fail(err,
                                               "-p: '%s': expected "
                                               "[[HOSTIP:][HOSTPORT]:]CTRPORT[/tcp|udp]",
                                               spec);
                }
        }
        long clo, chi, hlo = 0, hhi = 0;
        if (parse_range(spec, ctr, &clo, &chi, err) < 0 ||
            (*hostport && parse_range(spec, hostport, &hlo, &hhi, err) < 0))
                return -1;
        if (*hostport && clo != chi && hhi - hlo != chi - clo)
                return vs_fail(err,
                               "-p: '%s': the host range %s and the container range %s differ "
                               "in length",
                               spec, hostport, ctr);
        for (long cp = clo; cp <= chi; cp++) {
                /* One container port and a host range: the first free one. */
                _cleanup_free_ char *hp = !*hostport ? xstrdup("")
                                          : clo == chi && hlo != hhi
                                              ? xasprintf("%ld-%ld", hlo, hhi)
                                              : xasprintf("%ld", hlo + (cp - clo));
                add_binding(bindings, cp, proto, hostip, hp);
        }
        return 0;
}

void vs_net_publish_all(json_object *exposed, json_object *bindings)
{
        json_object_object_foreach(exposed, key, v)
        {
                (void) v;
                long cp = strtol(key, NULL, 10);
                const char *sl = strchr(key, '/');
                const char *proto = sl ? sl + 1 : "tcp";
                if (cp < 1 || cp > 65535 || (strcmp(proto, "tcp") && strcmp(proto, "udp")))
                        continue;
                _cleanup_free_ char *k = xasprintf("%ld/%s", cp, proto);
                if (json_object_object_get(bindings, k) == NULL)
                        add_binding(bindings, cp, proto, "", "");
        }
}

/* Calls fn for every binding: proto, host ip ("" any), host port, ctr port. */
static int each_binding(json_object *ports,
                        int (*fn)(void *, const char *, const char *, long, long), void *ud)
{
        if (ports == NULL)
                return 0;
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

/* The name of the container (other than self) publishing proto/ip/port,
 * or NULL. */
static const char *published_by(struct vs_netdb *db, const char *self, struct conflict *c)
{
        size_t n = json_object_array_length(db->nets);
        for (size_t i = 0; i < n; i++) {
                json_object_object_foreach(
                    json_object_object_get(json_object_array_get_idx(db->nets, i), "Endpoints"),
                    cid, ep)
                {
                        if (strcmp(cid, self) != 0 &&
                            each_binding(json_object_object_get(ep, "Ports"), same_port, c))
                                return vs_net_str(ep, "Name");
                }
        }
        return NULL;
}

/* Whether a host process holds proto/ip/port here (bind() says so). */
static bool host_listens(const char *proto, const char *ip, long port)
{
        bool tcp = strcmp(proto, "tcp") == 0;
        _cleanup_close_ int fd =
            socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return false;
        int one = 1;
        if (tcp)
                (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (strchr(ip, ':')) {
                _cleanup_close_ int fd6 =
                    socket(AF_INET6, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
                struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6,
                                           .sin6_port = htons((uint16_t) port)};
                inet_pton(AF_INET6, ip, &sa6.sin6_addr);
                (void) setsockopt(fd6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
                if (tcp)
                        (void) setsockopt(fd6, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                return fd6 >= 0 && bind(fd6, (struct sockaddr *) &sa6, sizeof(sa6)) < 0 &&
                       errno == EADDRINUSE;
        }
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
        if (*ip)
                inet_pton(AF_INET, ip, &sa.sin_addr);
        return bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 && errno == EADDRINUSE;
}

/* The kernel's ephemeral range, where Docker takes its random ports. */
static void ephemeral_range(long *lo, long *hi)
{
        _cleanup_free_ char *text = NULL;
        *lo = 32768;
        *hi = 60999;
        if (vs_read_file("/proc/sys/net/ipv4/ip_local_port_range", &text, NULL, NULL) == 0)
                sscanf(text, "%ld %ld", lo, hi);
}

int vs_net_ports_resolve(struct vs_netdb *db, const char *ctr_id, json_object *ports,
                         vs_error **err)
{
        /* Earlier bindings of this container count as taken too: the
         * endpoint under construction is the db's under ctr_id only later. */
        json_object *done = json_object_new_object();
        int ret = 0;
        json_object_object_foreach(ports, key, arr)
        {
                const char *proto = strchr(key, '/') ? strchr(key, '/') + 1 : "tcp";
                for (size_t i = 0; ret == 0 && i < json_object_array_length(arr); i++) {
                        json_object *b = json_object_array_get_idx(arr, i);
                        const char *ip = vs_net_str(b, "HostIp"), *hp = vs_net_str(b, "HostPort");
                        long lo, hi;
                        bool fixed = *hp && strchr(hp, '-') == NULL;
                        if (!*hp)
                                ephemeral_range(&lo, &hi);
                        else if (sscanf(hp, "%ld-%ld", &lo, &hi) != 2)
                                lo = hi = strtol(hp, NULL, 10);
                        long found = 0;
                        const char *who = NULL;
                        for (long p = lo; p <= hi && !found; p++) {
                                struct conflict c = {proto, ip, p};
                                who = published_by(db, ctr_id, &c);
                                if (who == NULL && each_binding(done, same_port, &c))
                                        who = "itself";
                                /* A binding on every address also listens on
                                 * [::1] (the relay). */
                                if (who == NULL && !host_listens(proto, ip, p) &&
                                    (*ip || !host_listens(proto, "::1", p)))
                                        found = p;
                        }
                        if (found == 0 && fixed)
                                ret = who ? vs_fail(err,
                                                    "-p: host port %s/%s is already published "
                                                    "by container %s",
                                                    hp, proto, who)
                                          : vs_fail(err,
                                                    "-p: host port %s/%s is in use by a process "
                                                    "on the host",
                                                    hp, proto);
                        else if (found == 0)
                                ret = vs_fail(err, "-p: no free host port for %s in %ld-%ld", key,
                                              lo, hi);
                        if (ret == 0) {
                                _cleanup_free_ char *ps = xasprintf("%ld", found);
                                json_object_object_add(b, "HostPort", json_object_new_string(ps));
                                add_binding(done, strtol(key, NULL, 10), proto, ip, ps);
                        }
                }
        }
        json_object_put(done);
        return ret;
}

/* The rules of one family: a binding without HostIp goes into both (the
 * IPv6 one only when the endpoint has an IPv6 address), one with an
 * address into its family's. */
struct rules {
        const char *tag, *ip, *ip6;
        char *text, *text6;
        const char *v6_only; /* a binding to an IPv6 address, for the error */
};

static void append(char **text, const char *family, const char *ip, const char *proto, long hp,
                   const char *to, long cp, const char *tag)
{
        bool v6 = strcmp(family, "ip6") == 0;
        _cleanup_free_ char *daddr =
            *ip && strcmp(ip, "::") != 0 ? xasprintf("%s daddr %s ", family, ip) : xstrdup("");
        char *t =
            xasprintf("%sadd rule %s vessel ports %s%s dport %ld dnat to %s%s%s:%ld comment "
                      "\"%s\"\n",
                      *text, family, daddr, proto, hp, v6 ? "[" : "", to, v6 ? "]" : "", cp, tag);
        free(*text);
        *text = t;
}

static int add_rule(void *ud, const char *proto, const char *ip, long hp, long cp)
{
        struct rules *r = ud;
        if (strcmp(ip, "::1") == 0)
                return 0; /* the relay's (src/net/proxy.c) */
        bool v6 = strchr(ip, ':') != NULL;
        if (!v6)
                append(&r->text, "ip", ip, proto, hp, r->ip, cp, r->tag);
        if ((v6 || !*ip) && *r->ip6)
                append(&r->text6, "ip6", ip, proto, hp, r->ip6, cp, r->tag);
        if (v6 && !*r->ip6 && r->v6_only == NULL)
                r->v6_only = ip;
        return 0;
}

static int is_v6(void *ud, const char *proto, const char *ip, long hp, long cp)
{
        (void) proto, (void) hp, (void) cp;
        if (strchr(ip, ':') == NULL || strcmp(ip, "::1") == 0)
                return 0;
        *(const char **) ud = ip;
        return 1;
}

const char *vs_net_ports_ip6(json_object *ports)
{
        const char *ip = NULL;
        each_binding(ports, is_v6, &ip);
        return ip;
}

int vs_net_ports_apply(const char *ctr_id, json_object *ep, vs_error **err)
{
        json_object *ports = json_object_object_get(ep, "Ports");
        if (ports == NULL || json_object_object_length(ports) == 0)
                return 0;
        _cleanup_free_ char *tag = xasprintf("vessel:%s", ctr_id);
        struct rules r = {tag,         vs_net_str(ep, "IP"), vs_net_str(ep, "IP6"),
                          xstrdup(""), xstrdup(""),          NULL};
        each_binding(ports, add_rule, &r);
        int ret = r.v6_only ? vs_fail(err,
                                      "-p: host address %s is IPv6 and the network has no "
                                      "IPv6 subnet",
                                      r.v6_only)
                            : vs_nft_replace(tag, r.text, err);
        if (ret == 0 && *r.ip6)
                ret = vs_nft_replace6(tag, r.text6, err);
        free(r.text);
        free(r.text6);
        return ret;
}

int vs_net_ports_remove(const char *ctr_id, json_object *ep, vs_error **err)
{
        json_object *ports = json_object_object_get(ep, "Ports");
        if (ports == NULL || json_object_object_length(ports) == 0)
                return 0;
        _cleanup_free_ char *tag = xasprintf("vessel:%s", ctr_id);
        if (*vs_net_str(ep, "IP6") && vs_nft_replace6(tag, "", err) < 0)
                return -1;
        return vs_nft_replace(tag, "", err);
}

int vs_net_ports_each(json_object *ports, int (*fn)(void *, const char *, const char *, long, long),
                      void *ud)
{
        return each_binding(ports, fn, ud);
}
