/* The overhead, interference and density suites (docs/bench-suites.md). */
#ifndef VESSEL_BENCH_WORKLOAD_SUITES_H
#define VESSEL_BENCH_WORKLOAD_SUITES_H

#include "bench/bench.h"

int vs_bench_suite_overhead(struct vs_bench *b, vs_error **err);
int vs_bench_suite_interference(struct vs_bench *b, vs_error **err);
int vs_bench_suite_density(struct vs_bench *b, vs_error **err);

#endif
