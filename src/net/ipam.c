/* IPv4 address arithmetic for the IPAM: pure functions, unit-tested. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "util/xalloc.h"

int vs_ipv4_parse(const char *flag, const char *s, uint32_t *out, vs_error **err)
{
        struct in_addr a;
        if (s == NULL || inet_pton(AF_INET, s, &a) != 1)
                return vs_fail(err, "%s: '%s' is not an IPv4 address", flag, s ? s : "");
        *out = ntohl(a.s_addr);
        return 0;
}

int vs_cidr_parse(const char *flag, const char *s, struct vs_cidr *out, vs_error **err)
{
        const char *slash = s ? strchr(s, '/') : NULL;
        if (slash == NULL || slash - s >= 16)
                return vs_fail(err, "%s: '%s' is not a CIDR subnet (a.b.c.d/n)", flag, s ? s : "");
        char addr[16];
        memcpy(addr, s, (size_t) (slash - s));
        addr[slash - s] = '\0';
        struct in_addr a;
        char *end;
        unsigned long n = strtoul(slash + 1, &end, 10);
        if (inet_pton(AF_INET, addr, &a) != 1 || *end || end == slash + 1 || n > 32)
                return vs_fail(err, "%s: '%s' is not a CIDR subnet (a.b.c.d/n)", flag, s);
        if (n < 8 || n > 30)
                return vs_fail(err, "%s: '%s': the prefix length must be between 8 and 30", flag,
                               s);
        uint32_t ip = ntohl(a.s_addr), mask = 0xffffffffu << (32 - n);
        if (ip & ~mask) {
                char buf[16];
                return vs_fail(err, "%s: '%s' has host bits set (the network is %s/%lu)", flag, s,
                               vs_ipv4_str(ip & mask, buf), n);
        }
        out->addr = ip;
        out->prefix = (unsigned) n;
        return 0;
}

static uint32_t mask_of(unsigned prefix)
{
        return prefix ? 0xffffffffu << (32 - prefix) : 0;
}

bool vs_cidr_contains(const struct vs_cidr *c, uint32_t ip)
{
        return (ip & mask_of(c->prefix)) == c->addr;
}

bool vs_cidr_overlap(const struct vs_cidr *a, const struct vs_cidr *b)
{
        unsigned p = a->prefix < b->prefix ? a->prefix : b->prefix;
        return (a->addr & mask_of(p)) == (b->addr & mask_of(p));
}

const char *vs_ipv4_str(uint32_t ip, char *buf)
{
        snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
        return buf;
}

char *vs_cidr_str(const struct vs_cidr *c)
{
        char buf[16];
        return xasprintf("%s/%u", vs_ipv4_str(c->addr, buf), c->prefix);
}

uint32_t vs_ipam_next(const struct vs_cidr *c, const struct vs_cidr *range, uint32_t gw,
                      bool (*taken)(void *, uint32_t), void *ud)
{
        uint32_t last = c->addr | ~mask_of(c->prefix); /* broadcast */
        uint32_t from = c->addr + 1;
        if (range) { /* only its addresses (still host addresses of c) */
                uint32_t rlast = range->addr | ~mask_of(range->prefix);
                from = range->addr > from ? range->addr : from;
                last = rlast < last ? rlast + 1 : last;
        }
        for (uint32_t ip = from; ip < last; ip++)
                if (ip != gw && !taken(ud, ip))
                        return ip;
        return 0;
}

int vs_mac_parse(const char *flag, const char *s, uint8_t mac[6], vs_error **err)
{
        unsigned v[6];
        char end;
        if (s == NULL || strlen(s) != 17 ||
            sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &end) != 6)
                return vs_fail(err, "%s: '%s' is not a MAC address (aa:bb:cc:dd:ee:ff)", flag,
                               s ? s : "");
        for (int i = 0; i < 6; i++)
                mac[i] = (uint8_t) v[i];
        if (mac[0] & 1)
                return vs_fail(err, "%s: '%s' is a multicast address", flag, s);
        if ((mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0)
                return vs_fail(err, "%s: '%s' is the zero address", flag, s);
        return 0;
}

/* ---- IPv6 ---- */

int vs_cidr6_parse(const char *flag, const char *s, struct vs_cidr6 *out, vs_error **err)
{
        const char *slash = s ? strchr(s, '/') : NULL;
        char addr[INET6_ADDRSTRLEN];
        if (slash == NULL || (size_t) (slash - s) >= sizeof(addr))
                return vs_fail(err, "%s: '%s' is not an IPv6 subnet (a:b::/n)", flag, s ? s : "");
        memcpy(addr, s, (size_t) (slash - s));
        addr[slash - s] = '\0';
        char *end;
        unsigned long n = strtoul(slash + 1, &end, 10);
        struct in6_addr a;
        if (inet_pton(AF_INET6, addr, &a) != 1 || *end || end == slash + 1 || n > 128)
                return vs_fail(err, "%s: '%s' is not an IPv6 subnet (a:b::/n)", flag, s);
        if (n < 48 || n > 120)
                return vs_fail(err, "%s: '%s': the prefix length must be between 48 and 120", flag,
                               s);
        for (unsigned bit = (unsigned) n; bit < 128; bit++)
                if (a.s6_addr[bit / 8] & (0x80 >> (bit % 8)))
                        return vs_fail(err, "%s: '%s' has host bits set", flag, s);
        memcpy(out->addr, a.s6_addr, 16);
        out->prefix = (unsigned) n;
        return 0;
}

bool vs_cidr6_overlap(const struct vs_cidr6 *a, const struct vs_cidr6 *b)
{
        unsigned p = a->prefix < b->prefix ? a->prefix : b->prefix;
        for (unsigned bit = 0; bit < p; bit++) {
                uint8_t m = (uint8_t) (0x80 >> (bit % 8));
                if ((a->addr[bit / 8] & m) != (b->addr[bit / 8] & m))
                        return false;
        }
        return true;
}

void vs_ipv6_nth(const struct vs_cidr6 *c, uint32_t n, char buf[INET6_ADDRSTRLEN])
{
        uint8_t a[16];
        memcpy(a, c->addr, 16);
        for (int i = 15; i >= 12; i--) {
                uint32_t v = a[i] + (n & 255);
                a[i] = (uint8_t) v;
                n = (n >> 8) + (v >> 8);
        }
        inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}
