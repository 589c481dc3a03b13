/* The suites of vessel bench, in report order (bench.h). */
#include "bench/bench.h"
#include "bench/workload_suites.h"

int vs_bench_start_run(struct vs_bench *b, vs_error **err); /* suite_start.c */

const struct vs_bench_suite vs_bench_suites[] = {
    {"start", "first instruction and exit: native, floor, container, VM cold and restored",
     vs_bench_start_run},
    {"overhead", "CPU, memory, disk and network: container and VM against native",
     vs_bench_suite_overhead},
    {"interference", "a victim beside fork, malloc, disk and UDP bombs and a CPU hog",
     vs_bench_suite_interference},
    {"density", "N idle containers and VMs: time until all are ready, PSS per instance",
     vs_bench_suite_density},
    {NULL},
};
