/* vessel port CONTAINER [PORT[/PROTO]]: its published ports, as Docker
 * prints them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "cmd/options.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

struct filter {
        const char *want; /* "80/tcp" or NULL */
        int shown;
};

static void show(void *ud, const char *key, const char *ip, const char *port)
{
        struct filter *f = ud;
        if (f->want == NULL) {
                printf("%s -> %s:%s\n", key, ip, port);
        } else if (strcmp(f->want, key) == 0) {
                printf("%s:%s\n", ip, port);
        } else {
                return;
        }
        f->shown++;
}

int cmd_engine_port(int argc, char **argv)
{
        const struct vs_option opts[] = {VS_OPT_TABLE_END};
        struct vs_cmdline cl = {"port", "CONTAINER [PORT[/PROTO]]",
                                "List a container's published ports (or the host addresses of "
                                "one).",
                                opts, 0};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first + 1 != argc && first + 2 != argc)
                return vs_usage_error("port", "expects CONTAINER [PORT[/PROTO]]");
        _cleanup_free_ char *want = NULL;
        if (first + 2 == argc) {
                const char *p = argv[first + 1];
                char *end;
                long v = strtol(p, &end, 10);
                if (v < 1 || v > 65535 || (*end && strcmp(end, "/tcp") && strcmp(end, "/udp")))
                        return vs_usage_error("port", "'%s' is not PORT[/tcp|udp]", p);
                want = *end ? xstrdup(p) : xasprintf("%ld/tcp", v);
        }
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ct = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0 || vs_ctr_resolve(e, argv[first], &ct, &err) < 0)
                return vs_report_error(&err);
        struct filter f = {want, 0};
        vs_engine_ports_each(e, ct, show, &f);
        if (want && f.shown == 0) {
                vs_fail(&err, "no public port '%s' published for %s", want, ct->name);
                return vs_report_error(&err);
        }
        return 0;
}
