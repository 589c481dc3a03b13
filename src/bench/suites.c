/* The suites of vessel bench, in report order (bench.h). */
#include "bench/bench.h"

int vs_bench_start_run(struct vs_bench *b, vs_error **err); /* suite_start.c */

const struct vs_bench_suite vs_bench_suites[] = {
    {"start", "first instruction and exit: native, floor, container, VM cold and restored",
     vs_bench_start_run},
    {NULL},
};
