/* vessel update (engine): new resource limits and restart policy for
 * containers, as Docker's update (src/engine/update.c). The runtime's
 * update (runc's: --root, or `vessel runtime update`) is src/cmd/update.c. */
#include "cmd/cmd.h"
#include "cmd/options.h"
#include "cmd/engine_cmd.h"
#include "engine/engine.h"
#include "util/cleanup.h"

#include <stdio.h>
#include <string.h>

int cmd_engine_update(int argc, char **argv)
{
        struct vs_update u = {0};
        const struct vs_option opts[] = {
            {"memory", 'm', VS_OPT_STRING, &u.f.memory, "SIZE", "memory limit"},
            {"memory-swap", 0, VS_OPT_STRING, &u.f.memory_swap, "SIZE",
             "memory plus swap (-1: unlimited)"},
            {"memory-reservation", 0, VS_OPT_STRING, &u.memory_reservation, "SIZE", "soft limit"},
            {"cpus", 0, VS_OPT_STRING, &u.f.cpus, "N", "CPUs (a fraction is a quota)"},
            {"cpu-shares", 'c', VS_OPT_STRING, &u.f.cpu_shares, "N", "relative weight"},
            {"cpuset-cpus", 0, VS_OPT_STRING, &u.f.cpuset_cpus, "LIST", "CPUs allowed (0-3,5)"},
            {"pids-limit", 0, VS_OPT_STRING, &u.f.pids_limit, "N", "process limit (-1: unlimited)"},
            {"blkio-weight", 0, VS_OPT_STRING, &u.f.blkio_weight, "N",
             "block IO weight (10 to 1000)"},
            {"cpu-period", 0, VS_OPT_STRING, &u.f.cpu_period, "US",
             "CFS period in microseconds (1000 to 1000000)"},
            {"cpu-quota", 0, VS_OPT_STRING, &u.f.cpu_quota, "US",
             "CFS quota in microseconds per period (-1: none)"},
            {"restart", 0, VS_OPT_STRING, &u.f.restart, "POLICY",
             "no, always, unless-stopped, on-failure[:N]"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"update", "[OPTIONS] CONTAINER...",
                                "Change containers' resource limits and restart policy: applied "
                                "to running\ncontainers and kept for their next start.",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        bool any = u.f.memory || u.f.memory_swap || u.memory_reservation || u.f.cpus ||
                   u.f.cpu_shares || u.f.cpuset_cpus || u.f.pids_limit || u.f.blkio_weight ||
                   u.f.restart || u.f.cpu_period || u.f.cpu_quota;
        if (first >= argc)
                return vs_usage_error("update", "missing CONTAINER");
        vs_error *err = NULL;
        if (!any) {
                vs_fail(&err, "update: give one or more flags (see vessel update --help)");
                return vs_report_error(&err);
        }
        _cleanup_engine_ struct vs_engine *e = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0)
                return vs_report_error(&err);
        int status = 0;
        for (int i = first; i < argc; i++) {
                _cleanup_ctr_ struct vs_ctr *ct = NULL;
                if (vs_ctr_resolve(e, argv[i], &ct, &err) < 0 ||
                    vs_engine_update(e, ct, &u, &err) < 0) {
                        status = vs_report_error(&err);
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return status;
}
