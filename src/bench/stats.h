/* vessel bench: statistics over the recorded samples (bench.h's rules).
 *
 * A series' spread is its median, min and max. A ratio compares a series
 * with its baseline in the same run:
 *
 *   suite "interference"  baseline: variant "alone", same test, backend,
 *                         metric; slowdown = alone / with (higher-is-better
 *                         metrics) or with / alone (lower-is-better): 1.0
 *                         is no interference, 2.0 twice as slow
 *   suite "density"       baseline: variant "1"; growth = value / value at 1
 *   suite "start"         baseline: backend "native"; value / native's
 *                         (times: how many times native's start time)
 *   any other suite       baseline: backend "native"; relative speed =
 *                         value / native (higher-is-better) or native /
 *                         value (lower-is-better): 1.0 is native speed,
 *                         0.5 half of it ("overhead")
 *
 * The ratio's spread comes from the extremes of both series: its low and
 * high are the least and greatest ratio any pair of samples can give. */
#ifndef VESSEL_BENCH_STATS_H
#define VESSEL_BENCH_STATS_H

#include <stdbool.h>
#include <stddef.h>

#include "bench/bench.h"

struct vs_bench_stat {
        double median, min, max;
        size_t n;
};

enum vs_bench_ratio_kind {
        VS_BENCH_RATIO_SPEED,    /* relative speed: 1 = baseline, < 1 slower */
        VS_BENCH_RATIO_SLOWDOWN, /* 1 = unaffected, > 1 slower */
        VS_BENCH_RATIO_MULTIPLE, /* value / baseline value, as measured */
};

struct vs_bench_ratio {
        double median, lo, hi;
        enum vs_bench_ratio_kind kind;
        const struct vs_bench_series *base;
};

/* Median (mean of the middle two for an even count), min and max of v.
 * Returns -1 (and leaves *st zeroed) when n is 0. */
int vs_bench_stat(const double *v, size_t n, struct vs_bench_stat *st);

/* How a series of suite compares with its baseline. */
enum vs_bench_ratio_kind vs_bench_ratio_kind(const char *suite);
/* The key of k's baseline into *base (strings borrowed from k or static);
 * false when k is a baseline itself. */
bool vs_bench_baseline_key(const struct vs_bench_key *k, struct vs_bench_key *base);
/* s's ratio against its baseline in b. Returns -1 when s is a baseline,
 * when either has no samples (skipped), or when a baseline value is not
 * positive. */
int vs_bench_ratio(const struct vs_bench *b, const struct vs_bench_series *s,
                   struct vs_bench_ratio *r);
/* "speed vs native", "slowdown vs alone", "x N=1": the unit of suite's
 * ratios for a reader. */
const char *vs_bench_ratio_label(const char *suite);

#endif
