/* vessel bench: medians, spreads and ratios (stats.h). */
#include "bench/stats.h"

#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

int vs_bench_stat(const double *v, size_t n, struct vs_bench_stat *st)
{
        memset(st, 0, sizeof(*st));
        if (n == 0)
                return -1;
        _cleanup_free_ double *s = xmalloc(n * sizeof(double));
        memcpy(s, v, n * sizeof(double));
        qsort(s, n, sizeof(double), cmp_double);
        st->n = n;
        st->min = s[0];
        st->max = s[n - 1];
        st->median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        return 0;
}

enum vs_bench_ratio_kind vs_bench_ratio_kind(const char *suite)
{
        if (strcmp(suite, "interference") == 0)
                return VS_BENCH_RATIO_SLOWDOWN;
        if (strcmp(suite, "density") == 0 || strcmp(suite, "start") == 0)
                return VS_BENCH_RATIO_MULTIPLE;
        return VS_BENCH_RATIO_SPEED;
}

const char *vs_bench_ratio_label(const char *suite)
{
        if (strcmp(suite, "density") == 0)
                return "x N=1";
        if (strcmp(suite, "start") == 0)
                return "native's time";
        if (vs_bench_ratio_kind(suite) == VS_BENCH_RATIO_SLOWDOWN)
                return "slowdown vs alone";
        return "speed vs native";
}

bool vs_bench_baseline_key(const struct vs_bench_key *k, struct vs_bench_key *base)
{
        *base = *k;
        const char *suite = k->suite ? k->suite : "";
        if (strcmp(suite, "interference") == 0) {
                base->variant = "alone";
                return strcmp(k->variant ? k->variant : "", "alone") != 0;
        }
        if (strcmp(suite, "density") == 0) {
                base->variant = "1";
                return strcmp(k->variant ? k->variant : "", "1") != 0;
        }
        base->backend = "native";
        return strcmp(k->backend ? k->backend : "", "native") != 0;
}

/* The ratio of value v to baseline value w under kind and direction. */
static double ratio_of(double v, double w, enum vs_bench_ratio_kind kind, enum vs_bench_dir dir)
{
        switch (kind) {
        case VS_BENCH_RATIO_SPEED:
                return dir == VS_BENCH_HIGHER_BETTER ? v / w : w / v;
        case VS_BENCH_RATIO_SLOWDOWN:
                return dir == VS_BENCH_HIGHER_BETTER ? w / v : v / w;
        case VS_BENCH_RATIO_MULTIPLE:
                break;
        }
        return v / w;
}

/* Metrics that are a quality of the run, not a speed: UDP jitter and loss
 * near zero are noise, and their ratio (0.17 against 0.014 ms) would read as
 * "12x faster". The report shows them as measured, without a ratio. */
static bool ratio_less(const char *metric)
{
        return strcmp(metric, "jitter_ms") == 0 || strcmp(metric, "lost_percent") == 0;
}

int vs_bench_ratio(const struct vs_bench *b, const struct vs_bench_series *s,
                   struct vs_bench_ratio *r)
{
        memset(r, 0, sizeof(*r));
        if (s->key.metric && ratio_less(s->key.metric))
                return -1;
        struct vs_bench_key bk;
        if (!vs_bench_baseline_key(&s->key, &bk))
                return -1;
        const struct vs_bench_series *base = vs_bench_find(b, &bk);
        struct vs_bench_stat ss, bs;
        if (!base || s->skip || base->skip || vs_bench_stat(s->v, s->n, &ss) < 0 ||
            vs_bench_stat(base->v, base->n, &bs) < 0)
                return -1;
        if (bs.min <= 0 || ss.min <= 0)
                return -1;
        r->kind = vs_bench_ratio_kind(s->key.suite);
        r->base = base;
        r->median = ratio_of(ss.median, bs.median, r->kind, s->key.dir);
        /* Monotonic in each argument: the extremes are at the corners. */
        const double corners[4] = {
            ratio_of(ss.min, bs.min, r->kind, s->key.dir),
            ratio_of(ss.min, bs.max, r->kind, s->key.dir),
            ratio_of(ss.max, bs.min, r->kind, s->key.dir),
            ratio_of(ss.max, bs.max, r->kind, s->key.dir),
        };
        r->lo = r->hi = corners[0];
        for (int i = 1; i < 4; i++) {
                r->lo = corners[i] < r->lo ? corners[i] : r->lo;
                r->hi = corners[i] > r->hi ? corners[i] : r->hi;
        }
        return 0;
}
