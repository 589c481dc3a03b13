/* The network layer's value parsers, as typed on the command line: the
 * first input byte picks the parser, the rest is the value.
 *   -p / --publish      vs_net_parse_port   --subnet (IPv4)  vs_cidr_parse
 *   --subnet (IPv6)     vs_cidr6_parse      --mac-address    vs_mac_parse
 *   --ip / --gateway    vs_ipv4_parse
 * Invariants: an accepted -p yields bindings whose container ports are
 * 1-65535 and host ports "", a port, or a range A-B with A <= B; an
 * accepted subnet has no host bits and prints back as itself. */
#include "net/net.h"
#include "util/cleanup.h"
#include "util/json.h"

#include "fuzz_util.h"

#include <stdlib.h>
#include <string.h>

static void check_bindings(json_object *b)
{
        json_object_object_foreach(b, key, arr)
        {
                char *end;
                long cp = strtol(key, &end, 10);
                if (cp < 1 || cp > 65535 || (strcmp(end, "/tcp") && strcmp(end, "/udp")))
                        abort();
                for (size_t i = 0; i < json_object_array_length(arr); i++) {
                        const char *hp = json_object_get_string(
                            json_object_object_get(json_object_array_get_idx(arr, i), "HostPort"));
                        long lo = 0, hi = 0;
                        if (*hp && sscanf(hp, "%ld-%ld", &lo, &hi) == 2 &&
                            (lo < 1 || hi < lo || hi > 65535))
                                abort();
                        if (*hp && !strchr(hp, '-') && (atol(hp) < 1 || atol(hp) > 65535))
                                abort();
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        _cleanup_free_ char *s = fuzz_cstr(data + 1, size - 1);
        vs_error *err = NULL;
        int ret = 0;
        switch (data[0] % 5) {
        case 0: {
                json_object *b = json_object_new_object();
                ret = vs_net_parse_port(s, b, &err);
                if (ret == 0)
                        check_bindings(b);
                json_object_put(b);
                break;
        }
        case 1: {
                struct vs_cidr c;
                ret = vs_cidr_parse("--subnet", s, &c, &err);
                if (ret == 0) {
                        _cleanup_free_ char *back = vs_cidr_str(&c);
                        struct vs_cidr again;
                        if (vs_cidr_parse("--subnet", back, &again, NULL) < 0 ||
                            again.addr != c.addr || again.prefix != c.prefix || c.prefix < 8 ||
                            c.prefix > 30)
                                abort();
                }
                break;
        }
        case 2: {
                struct vs_cidr6 c;
                ret = vs_cidr6_parse("--subnet", s, &c, &err);
                if (ret == 0) {
                        char buf[46];
                        vs_ipv6_nth(&c, 0, buf);
                        if (c.prefix < 48 || c.prefix > 120)
                                abort();
                }
                break;
        }
        case 3: {
                uint8_t m[6];
                ret = vs_mac_parse("--mac-address", s, m, &err);
                if (ret == 0 && (m[0] & 1))
                        abort();
                break;
        }
        default: {
                uint32_t ip;
                ret = vs_ipv4_parse("--ip", s, &ip, &err);
                break;
        }
        }
        fuzz_check_result(ret, &err);
        return 0;
}
