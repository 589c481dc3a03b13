/* Helpers of the overhead, interference and density suites
 * (docs/bench-suites.md). */
#ifndef VESSEL_BENCH_SUITE_COMMON_H
#define VESSEL_BENCH_SUITE_COMMON_H

#include "bench/bench.h"
#include "bench/workload.h"

extern const enum vs_bench_backend vs_bench_all_backends[3];

/* Whether backend be is chosen and can run here; records the skip (with
 * its reason) under key when chosen but impossible. */
bool vs_bench_cell_can_run(struct vs_bench *b, const struct vs_bench_key *key,
                           enum vs_bench_backend be, const char *setup_error);

/* Turns a run's stdout into the cell's number (<= 0 or NaN: none). */
typedef double vs_bench_parse_fn(const char *out, const void *arg);
/* `key=value` of a worker line; arg is the key. */
double vs_bench_parse_kv(const char *out, const void *arg);

/* Runs r --repeat times, recording parse's number under key; a failed run
 * skips the cell with its error line. Returns -1 when skipped. */
int vs_bench_cell(struct vs_bench *b, const struct vs_bench_key *key, const struct vs_bench_run *r,
                  vs_bench_parse_fn *parse, const void *arg);

/* Sets up the workloads; returns NULL, or the reason they are missing
 * (also in *msg, to free). */
const char *vs_bench_setup_all(struct vs_bench *b, char **msg);

#endif
