/* vessel bench-worker KIND ...: the workloads vessel bench runs natively, in
 * containers and in VMs (src/bench/worker.c, docs/bench-suites.md). Hidden:
 * not a user command. */
#include "bench/workload.h"
#include "cmd/cmd.h"

int cmd_bench_worker(int argc, char **argv)
{
        return vs_bench_worker(argc, argv);
}
