/* vessel update (engine): new resource limits and restart policy for
 * containers, as Docker's update (src/engine/update.c). The runtime's
 * update (runc's: --root, or `vessel runtime update`) is src/cmd/update.c. */
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "engine/engine.h"
#include "util/cleanup.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void update_usage(void)
{
        printf("Usage: vessel update [OPTIONS] CONTAINER...\n\n"
               "Change containers' resource limits and restart policy: applied to running\n"
               "containers and kept for their next start.\n\n"
               "  -m, --memory SIZE            memory limit\n"
               "      --memory-swap SIZE       memory plus swap (-1: unlimited)\n"
               "      --memory-reservation SIZE  soft limit\n"
               "      --cpus N                 CPUs (a fraction is a quota)\n"
               "  -c, --cpu-shares N           relative weight\n"
               "      --cpuset-cpus LIST       CPUs allowed (0-3,5)\n"
               "      --pids-limit N           process limit (-1: unlimited)\n"
               "      --blkio-weight N         block IO weight (10 to 1000)\n"
               "      --restart POLICY         no, always, unless-stopped, on-failure[:N]\n");
}

int cmd_engine_update(int argc, char **argv)
{
        enum { O_SWAP = 256, O_RES, O_CPUS, O_CPUSET, O_PIDS, O_BLKIO, O_RESTART };
        static const struct option opts[] = {
            {"memory", required_argument, NULL, 'm'},
            {"memory-swap", required_argument, NULL, O_SWAP},
            {"memory-reservation", required_argument, NULL, O_RES},
            {"cpus", required_argument, NULL, O_CPUS},
            {"cpu-shares", required_argument, NULL, 'c'},
            {"cpuset-cpus", required_argument, NULL, O_CPUSET},
            {"pids-limit", required_argument, NULL, O_PIDS},
            {"blkio-weight", required_argument, NULL, O_BLKIO},
            {"restart", required_argument, NULL, O_RESTART},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        struct vs_update u = {0};
        bool any = false;
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:m:c:h", opts, NULL)) != -1) {
                any = true;
                switch (c) {
                case 'm':
                        u.f.memory = optarg;
                        break;
                case O_SWAP:
                        u.f.memory_swap = optarg;
                        break;
                case O_RES:
                        u.memory_reservation = optarg;
                        break;
                case O_CPUS:
                        u.f.cpus = optarg;
                        break;
                case 'c':
                        u.f.cpu_shares = optarg;
                        break;
                case O_CPUSET:
                        u.f.cpuset_cpus = optarg;
                        break;
                case O_PIDS:
                        u.f.pids_limit = optarg;
                        break;
                case O_BLKIO:
                        u.f.blkio_weight = optarg;
                        break;
                case O_RESTART:
                        u.f.restart = optarg;
                        break;
                case 'h':
                        update_usage();
                        return 0;
                default:
                        return vs_option_error("update", argv, c == ':');
                }
        }
        if (optind >= argc)
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
        for (int i = optind; i < argc; i++) {
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
