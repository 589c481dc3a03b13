/* The suites of vessel bench, in report order (bench.h). */
#include "bench/bench.h"

const struct vs_bench_suite vs_bench_suites[] = {
    {NULL},
};
