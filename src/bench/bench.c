/* vessel bench: the run's samples (bench.h). */
#include "bench/bench.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool same(const char *a, const char *b)
{
        return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool key_matches(const struct vs_bench_key *a, const struct vs_bench_key *b)
{
        return same(a->suite, b->suite) && same(a->test, b->test) && same(a->variant, b->variant) &&
               same(a->backend, b->backend) && same(a->metric, b->metric);
}

const struct vs_bench_series *vs_bench_find(const struct vs_bench *b,
                                            const struct vs_bench_key *key)
{
        for (size_t i = 0; i < b->nseries; i++)
                if (key_matches(&b->series[i].key, key))
                        return &b->series[i];
        return NULL;
}

static struct vs_bench_series *series_of(struct vs_bench *b, const struct vs_bench_key *key)
{
        struct vs_bench_series *s = (struct vs_bench_series *) vs_bench_find(b, key);
        if (s)
                return s;
        b->series = xrealloc(b->series, (b->nseries + 1) * sizeof(*b->series));
        s = &b->series[b->nseries++];
        memset(s, 0, sizeof(*s));
        s->key.suite = xstrdup(key->suite ? key->suite : "");
        s->key.test = xstrdup(key->test ? key->test : "");
        s->key.variant = xstrdup(key->variant ? key->variant : "");
        s->key.backend = xstrdup(key->backend ? key->backend : "");
        s->key.metric = xstrdup(key->metric ? key->metric : "");
        s->key.unit = xstrdup(key->unit ? key->unit : "");
        s->key.dir = key->dir;
        return s;
}

void vs_bench_record(struct vs_bench *b, const struct vs_bench_key *key, double value)
{
        struct vs_bench_series *s = series_of(b, key);
        s->v = xrealloc(s->v, (s->n + 1) * sizeof(double));
        s->v[s->n++] = value;
}

void vs_bench_skip(struct vs_bench *b, const struct vs_bench_key *key, const char *fmt, ...)
{
        struct vs_bench_series *s = series_of(b, key);
        if (s->skip)
                return;
        va_list ap;
        va_start(ap, fmt);
        s->skip = xvasprintf(fmt, ap);
        va_end(ap);
        _cleanup_free_ char *variant =
            s->key.variant[0] ? xasprintf(" (%s)", s->key.variant) : xstrdup("");
        vs_progress(false, "bench %s: %s%s on %s skipped: %s", s->key.suite, s->key.test, variant,
                    s->key.backend, s->skip);
}

void vs_bench_progress(struct vs_bench *b, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *line = xvasprintf(fmt, ap);
        va_end(ap);
        vs_debug("bench %s: %s", b->suite ? b->suite : "", line);
        if (isatty(STDERR_FILENO))
                vs_progress(true, "bench %s: %s", b->suite ? b->suite : "", line);
        free(line);
}

bool vs_bench_wants(const struct vs_bench *b, enum vs_bench_backend backend)
{
        return (b->opts.backends & backend) != 0;
}

const char *vs_bench_backend_name(enum vs_bench_backend backend)
{
        switch (backend) {
        case VS_BENCH_NATIVE:
                return "native";
        case VS_BENCH_CONTAINER:
                return "container";
        case VS_BENCH_VM:
                return "vm";
        }
        return "?";
}

json_object *vs_bench_results_json(const struct vs_bench *b)
{
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < b->nseries; i++) {
                const struct vs_bench_series *s = &b->series[i];
                json_object *o = json_object_new_object();
                json_object_object_add(o, "suite", json_object_new_string(s->key.suite));
                json_object_object_add(o, "test", json_object_new_string(s->key.test));
                json_object_object_add(o, "variant", json_object_new_string(s->key.variant));
                json_object_object_add(o, "backend", json_object_new_string(s->key.backend));
                json_object_object_add(o, "metric", json_object_new_string(s->key.metric));
                json_object_object_add(o, "unit", json_object_new_string(s->key.unit));
                json_object_object_add(
                    o, "higher_is_better",
                    json_object_new_boolean(s->key.dir == VS_BENCH_HIGHER_BETTER));
                json_object *v = json_object_new_array();
                for (size_t k = 0; k < s->n; k++)
                        json_object_array_add(v, json_object_new_double(s->v[k]));
                json_object_object_add(o, "samples", v);
                if (s->skip)
                        json_object_object_add(o, "skipped", json_object_new_string(s->skip));
                json_object_array_add(a, o);
        }
        return a;
}

void vs_bench_free(struct vs_bench *b)
{
        for (size_t i = 0; i < b->nseries; i++) {
                struct vs_bench_series *s = &b->series[i];
                free((char *) s->key.suite);
                free((char *) s->key.test);
                free((char *) s->key.variant);
                free((char *) s->key.backend);
                free((char *) s->key.metric);
                free((char *) s->key.unit);
                free(s->v);
                free(s->skip);
        }
        free(b->series);
        b->series = NULL;
        b->nseries = 0;
        if (b->machine)
                json_object_put(b->machine);
        b->machine = NULL;
}
