/* IPAM: CIDR parsing and arithmetic, -p parsing, and leases taken by
 * concurrent processes on one network (distinct addresses, exhaustion). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/net.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/xalloc.h"

static void test_cidr_parse(void **state)
{
        struct vs_cidr c;
        vs_error *err = NULL;
        assert_int_equal(vs_cidr_parse("--subnet", "10.1.2.0/24", &c, &err), 0);
        assert_int_equal(c.addr, 0x0a010200);
        assert_int_equal(c.prefix, 24);
        const char *bad[] = {"10.1.2.0", "10.1.2.0/",   "10.1.2.0/33", "10.1.2.0/24x", "10.1.2/24",
                             "banana/8", "10.1.2.1/24", "10.0.0.0/31", "10.0.0.0/4",   ""};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(vs_cidr_parse("--subnet", bad[i], &c, &err), -1);
                assert_non_null(strstr(err->msg, "--subnet"));
                vs_error_free(&err);
        }
        _cleanup_free_ char *s = vs_cidr_str(&(struct vs_cidr){0xac1e0000, 16});
        assert_string_equal(s, "172.30.0.0/16");
}

static void test_overlap_contains(void **state)
{
        struct vs_cidr a = {0x0a000000, 8}, b = {0x0a050000, 16}, c = {0x0b000000, 16};
        assert_true(vs_cidr_overlap(&a, &b));
        assert_true(vs_cidr_overlap(&b, &a));
        assert_false(vs_cidr_overlap(&a, &c));
        assert_true(vs_cidr_contains(&b, 0x0a05ffff));
        assert_false(vs_cidr_contains(&b, 0x0a060000));
}

static bool taken_list(void *ud, uint32_t ip)
{
        for (const uint32_t *p = ud; *p; p++)
                if (*p == ip)
                        return true;
        return false;
}

static void test_next(void **state)
{
        struct vs_cidr c = {0x0a000000, 29}; /* .1 - .6 usable */
        uint32_t none[] = {0};
        assert_int_equal(vs_ipam_next(&c, NULL, 0x0a000001, taken_list, none), 0x0a000002);
        uint32_t some[] = {0x0a000002, 0x0a000003, 0};
        assert_int_equal(vs_ipam_next(&c, NULL, 0x0a000001, taken_list, some), 0x0a000004);
        uint32_t all[] = {0x0a000002, 0x0a000003, 0x0a000004, 0x0a000005, 0x0a000006, 0};
        assert_int_equal(vs_ipam_next(&c, NULL, 0x0a000001, taken_list, all), 0);
        /* A gateway at the end leaves the first address free. */
        assert_int_equal(vs_ipam_next(&c, NULL, 0x0a000006, taken_list, none), 0x0a000001);
        /* --ip-range: only its addresses; its first is the network's if
         * it starts the subnet, and the broadcast stays out. */
        struct vs_cidr big = {0x0a000000, 24}, r = {0x0a000080, 26}; /* .128-.191 */
        assert_int_equal(vs_ipam_next(&big, &r, 0x0a000001, taken_list, none), 0x0a000080);
        uint32_t low[] = {0x0a000080, 0x0a000081, 0};
        assert_int_equal(vs_ipam_next(&big, &r, 0x0a000001, taken_list, low), 0x0a000082);
        struct vs_cidr head = {0x0a000000, 30}, tail = {0x0a0000fc, 30};
        assert_int_equal(vs_ipam_next(&big, &head, 0x0a000001, taken_list, none), 0x0a000002);
        uint32_t fd[] = {0x0a0000fc, 0x0a0000fd, 0x0a0000fe, 0};
        assert_int_equal(vs_ipam_next(&big, &tail, 0x0a000001, taken_list, fd), 0);
}

static void test_parse_port(void **state)
{
        _cleanup_json_ json_object *b = json_object_new_object();
        vs_error *err = NULL;
        assert_int_equal(vs_net_parse_port("8080:80", b, &err), 0);
        assert_int_equal(vs_net_parse_port("127.0.0.1:53:53/udp", b, &err), 0);
        _cleanup_free_ char *s = vs_json_to_string(b, false);
        assert_string_equal(s, "{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}],"
                               "\"53/udp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"53\"}]}");
        /* Ranges, a host port left to the start, a host range for one port. */
        _cleanup_json_ json_object *r = json_object_new_object();
        assert_int_equal(vs_net_parse_port("8000-8001:80-81", r, &err), 0);
        assert_int_equal(vs_net_parse_port("90", r, &err), 0);
        assert_int_equal(vs_net_parse_port("1.2.3.4::91/udp", r, &err), 0);
        assert_int_equal(vs_net_parse_port("7000-7009:92", r, &err), 0);
        _cleanup_free_ char *rs = vs_json_to_string(r, false);
        assert_string_equal(rs, "{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8000\"}],"
                                "\"81/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8001\"}],"
                                "\"90/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"\"}],"
                                "\"91/udp\":[{\"HostIp\":\"1.2.3.4\",\"HostPort\":\"\"}],"
                                "\"92/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"7000-7009\"}]}");
        /* IPv6 host addresses, bracketed. */
        _cleanup_json_ json_object *v6 = json_object_new_object();
        assert_int_equal(vs_net_parse_port("[::]:8080:80", v6, &err), 0);
        assert_int_equal(vs_net_parse_port("[fd00:1::5]::81/udp", v6, &err), 0);
        /* [::1]: the relay's, canonical whatever the spelling. */
        assert_int_equal(vs_net_parse_port("[0:0::1]:8082:82", v6, &err), 0);
        _cleanup_free_ char *v6s = vs_json_to_string(v6, false);
        assert_string_equal(v6s, "{\"80/tcp\":[{\"HostIp\":\"::\",\"HostPort\":\"8080\"}],"
                                 "\"81/udp\":[{\"HostIp\":\"fd00:1::5\",\"HostPort\":\"\"}],"
                                 "\"82/tcp\":[{\"HostIp\":\"::1\",\"HostPort\":\"8082\"}]}");
        const char *bad[] = {
            "0:80",        "8080:0",     "70000:80",    "8080:80/sctp", "x:80:80",  ":80",
            "8080:",       "80-79",      "1-2:3-5",     "8000-x:80",    "a",        "",
            "::1:8080:80", "[zz]:80:80", "[::]8080:80", "[fd00::1]:80", "[::]x:1:2"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(vs_net_parse_port(bad[i], b, &err), -1);
                assert_non_null(strstr(err->msg, "-p"));
                vs_error_free(&err);
        }
}

static void test_cidr6(void **state)
{
        struct vs_cidr6 a, b;
        vs_error *err = NULL;
        assert_int_equal(vs_cidr6_parse("--subnet", "fd00:39::/64", &a, &err), 0);
        assert_int_equal(a.prefix, 64);
        char buf[46];
        vs_ipv6_nth(&a, 1, buf);
        assert_string_equal(buf, "fd00:39::1");
        vs_ipv6_nth(&a, 0x1ff, buf);
        assert_string_equal(buf, "fd00:39::1ff");
        assert_int_equal(vs_cidr6_parse("--subnet", "fd00:39::ff00/120", &b, &err), 0);
        assert_true(vs_cidr6_overlap(&a, &b));
        assert_int_equal(vs_cidr6_parse("--subnet", "fd00:3a::/64", &b, &err), 0);
        assert_false(vs_cidr6_overlap(&a, &b));
        const char *bad[] = {
            "fd00::1/64", "fd00::/40", "fd00::/121", "fd00::", "10.0.0.0/8", "fd00::/x", "zz::/64"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(vs_cidr6_parse("--subnet", bad[i], &b, &err), -1);
                assert_non_null(strstr(err->msg, "--subnet"));
                vs_error_free(&err);
        }
}

static void test_mac_parse(void **state)
{
        uint8_t m[6];
        vs_error *err = NULL;
        assert_int_equal(vs_mac_parse("--mac-address", "02:42:ac:1e:00:99", m, &err), 0);
        assert_int_equal(m[0], 0x02);
        assert_int_equal(m[5], 0x99);
        const char *bad[] = {"01:00:5e:00:00:01",    "00:00:00:00:00:00", "02:42:ac:1e:00",
                             "02:42:ac:1e:00:99:11", "zz:42:ac:1e:00:99", "02-42-ac-1e-00-99"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(vs_mac_parse("--mac-address", bad[i], m, &err), -1);
                assert_non_null(strstr(err->msg, "--mac-address"));
                vs_error_free(&err);
        }
}

/* 13 processes take leases on a /28 (14 host addresses, one the
 * gateway: 13 free) at once; then one more finds none. */
static void test_concurrent_leases(void **state)
{
        char dir[] = "/tmp/vs-ipam-XXXXXX";
        assert_non_null(mkdtemp(dir));
        vs_error *err = NULL;
        _cleanup_free_ char *id = NULL;
        struct vs_net_create_opts o = {.name = "n", .subnet = "10.99.0.0/28"};
        assert_int_equal(vs_net_create(dir, &o, &id, &err), 0);
        enum { N = 13 };
        for (int i = 0; i < N; i++) {
                pid_t p = fork();
                assert_true(p >= 0);
                if (p == 0) {
                        char cid[65];
                        snprintf(cid, sizeof(cid), "%064d", i);
                        struct vs_net_endpoint_opts eo = {.network = "n",
                                                          .ctr_id = cid,
                                                          .ctr_name = cid,
                                                          .hostname = "h",
                                                          .hosts_path = ""};
                        _exit(vs_net_lease(dir, &eo, NULL) == 0 ? 0 : 1);
                }
        }
        int failures = 0, status;
        while (wait(&status) > 0)
                failures += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
        assert_int_equal(failures, 0);
        _cleanup_json_ json_object *net = NULL;
        assert_int_equal(vs_net_inspect(dir, "n", &net, &err), 0);
        json_object *ctrs = json_object_object_get(net, "Containers");
        assert_int_equal(json_object_object_length(ctrs), N);
        bool seen[16] = {0};
        json_object_object_foreach(ctrs, k, v)
        {
                (void) k;
                unsigned a, b, c, d, pfx;
                const char *s = json_object_get_string(json_object_object_get(v, "IPv4Address"));
                assert_int_equal(sscanf(s, "%u.%u.%u.%u/%u", &a, &b, &c, &d, &pfx), 5);
                assert_true(d >= 2 && d <= 14);
                assert_false(seen[d]);
                seen[d] = true;
        }
        struct vs_net_endpoint_opts eo = {
            .network = "n", .ctr_id = "x", .ctr_name = "x", .hostname = "x", .hosts_path = ""};
        assert_int_equal(vs_net_lease(dir, &eo, &err), -1);
        assert_non_null(strstr(err->msg, "no free address"));
        vs_error_free(&err);
        if (vs_rm_rf(dir, &err) < 0)
                fail_msg("%s", err->msg);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cidr_parse),
            cmocka_unit_test(test_overlap_contains),
            cmocka_unit_test(test_next),
            cmocka_unit_test(test_parse_port),
            cmocka_unit_test(test_mac_parse),
            cmocka_unit_test(test_cidr6),
            cmocka_unit_test(test_concurrent_leases),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
