/* The suites of vessel bench, in report order (bench.h). */
#include "bench/bench.h"
#include "bench/workload_suites.h"

const struct vs_bench_suite vs_bench_suites[] = {
    {"overhead", "CPU, memory, disk and network: container and VM against native",
     vs_bench_suite_overhead},
    {"interference", "a victim beside fork, malloc, disk and UDP bombs and a CPU hog",
     vs_bench_suite_interference},
    {"density", "N idle containers and VMs: time until all are ready, PSS per instance",
     vs_bench_suite_density},
    {NULL},
};
