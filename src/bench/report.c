/* vessel bench: report.html, one self-contained page (report.h). */
#include "bench/report.h"
#include "bench/stats.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

static const char STYLE[] =
    "body{font-family:sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}"
    "h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}"
    "table{border-collapse:collapse;margin:1em 0;font-size:.9em}"
    "td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "tr.skipped td{color:#888}.machine{background:#f7f7f7;padding:.6em;border-radius:4px}"
    "figure.chart{margin:1em 0}figure.chart svg{max-width:100%;height:auto}"
    ".note{color:#555;font-size:.9em}";

void vs_bench_html(FILE *out, const char *s)
{
        for (; s && *s; s++) {
                switch (*s) {
                case '&':
                        fputs("&amp;", out);
                        break;
                case '<':
                        fputs("&lt;", out);
                        break;
                case '>':
                        fputs("&gt;", out);
                        break;
                case '"':
                        fputs("&quot;", out);
                        break;
                default:
                        fputc(*s, out);
                }
        }
}

void vs_bench_report_x(FILE *out, double v)
{
        fprintf(out, v >= 100 ? "%.0f" : v >= 0.1 ? "%.2f" : "%.2g", v);
}

void vs_bench_report_xs(FILE *out, const struct vs_bench_ratio *r)
{
        vs_bench_report_x(out, r->median);
        fputc('x', out);
        if (r->lo == r->hi)
                return;
        fputs(" (", out);
        vs_bench_report_x(out, r->lo);
        fputs(" – ", out);
        vs_bench_report_x(out, r->hi);
        fputc(')', out);
}

static bool listed(const char **v, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

const char **vs_bench_report_suites(const struct vs_bench *b)
{
        const char **v = xcalloc(b->nseries + 1, sizeof(char *));
        size_t n = 0;
        for (const struct vs_bench_suite *s = vs_bench_suites; s->name; s++)
                for (size_t i = 0; i < b->nseries; i++)
                        if (strcmp(b->series[i].key.suite, s->name) == 0 &&
                            !listed(v, n, s->name)) {
                                v[n++] = b->series[i].key.suite;
                                break;
                        }
        for (size_t i = 0; i < b->nseries; i++)
                if (!listed(v, n, b->series[i].key.suite))
                        v[n++] = b->series[i].key.suite;
        return v;
}

const char **vs_bench_report_parts(const struct vs_bench *b, const char *suite, int part)
{
        const char **v = xcalloc(b->nseries + 1, sizeof(char *));
        size_t n = 0;
        for (size_t i = 0; i < b->nseries; i++) {
                const struct vs_bench_series *s = &b->series[i];
                if (strcmp(s->key.suite, suite) != 0 || s->skip || s->n == 0)
                        continue;
                const char *p = part == 0   ? s->key.test
                                : part == 1 ? s->key.variant
                                : part == 2 ? s->key.backend
                                            : s->key.metric;
                if (!listed(v, n, p))
                        v[n++] = p;
        }
        return v;
}

static bool matches(const char *want, const char *have)
{
        return !want || strcmp(want, have) == 0;
}

const struct vs_bench_series *vs_bench_report_first(const struct vs_bench *b, const char *suite,
                                                    const char *test, const char *variant,
                                                    const char *backend)
{
        for (size_t i = 0; i < b->nseries; i++) {
                const struct vs_bench_series *s = &b->series[i];
                if (matches(suite, s->key.suite) && matches(test, s->key.test) &&
                    matches(variant, s->key.variant) && matches(backend, s->key.backend) &&
                    !s->skip && s->n > 0)
                        return s;
        }
        return NULL;
}

static const char *suite_summary(const char *name)
{
        for (const struct vs_bench_suite *s = vs_bench_suites; s->name; s++)
                if (strcmp(s->name, name) == 0)
                        return s->summary;
        return NULL;
}

static void machine_line(FILE *out, const struct vs_bench *b)
{
        json_object *m = b->machine;
        const char *keys[] = {"cpu_model", "arch",          "cores",       "memory_MiB",
                              "kernel",    "cgroup_mode",   "accelerator", "accelerator_reason",
                              "date",      "vessel_version"};
        const char *names[] = {"CPU",     "arch",           "cores",   "memory (MiB)", "kernel",
                               "cgroups", "VM accelerator", "because", "date",         "vessel"};
        fputs("<p class=\"machine\" id=\"machine\">", out);
        for (size_t i = 0; m && i < sizeof(keys) / sizeof(keys[0]); i++) {
                json_object *v;
                if (!json_object_object_get_ex(m, keys[i], &v))
                        continue;
                fprintf(out, "%s<b>%s</b> ", i ? " · " : "", names[i]);
                vs_bench_html(out, json_object_get_string(v));
        }
        fputs("</p>\n", out);
}

/* 4 significant digits, without an exponent for large values. */
static void num4(FILE *out, double v)
{
        fprintf(out, v >= 1e4 || v <= -1e4 ? "%.0f" : "%.4g", v);
}

static void cell_row(FILE *out, const struct vs_bench *b, const struct vs_bench_series *s)
{
        struct vs_bench_stat st;
        struct vs_bench_ratio r;
        bool ran = !s->skip && vs_bench_stat(s->v, s->n, &st) == 0;
        fprintf(out, "<tr%s><td>", ran ? "" : " class=\"skipped\"");
        vs_bench_html(out, s->key.test);
        fputs("</td><td>", out);
        vs_bench_html(out, s->key.variant);
        fputs("</td><td>", out);
        vs_bench_html(out, s->key.backend);
        fputs("</td><td>", out);
        vs_bench_html(out, s->key.metric);
        fputs(" (", out);
        if (strcmp(s->key.unit, s->key.metric) != 0) {
                vs_bench_html(out, s->key.unit);
                fputs(", ", out);
        }
        fprintf(out, "%s)</td>",
                s->key.dir == VS_BENCH_HIGHER_BETTER ? "higher is better" : "lower is better");
        if (ran) {
                fputs("<td class=\"num\">", out);
                num4(out, st.median);
                fputs("</td><td class=\"num\">", out);
                if (st.min != st.max) {
                        num4(out, st.min);
                        fputs(" – ", out);
                        num4(out, st.max);
                }
                fprintf(out, "</td><td class=\"num\">%zu</td>", st.n);
        } else
                fputs("<td></td><td></td><td class=\"num\">0</td>", out);
        if (ran && vs_bench_ratio(b, s, &r) == 0) {
                fputs("<td class=\"num\">", out);
                vs_bench_report_xs(out, &r);
                fprintf(out, " %s</td>", vs_bench_ratio_label(s->key.suite));
        } else
                fputs("<td></td>", out);
        fputs("<td>", out);
        if (s->skip) {
                fputs("skipped: ", out);
                vs_bench_html(out, s->skip);
        }
        fputs("</td></tr>\n", out);
}

static void chart(FILE *out, const struct vs_bench *b, const char *suite, char *script,
                  size_t points, const char *what)
{
        if (!script)
                return;
        _cleanup_free_ char *svg = NULL;
        vs_error *err = NULL;
        if (vs_bench_gnuplot(b->opts.workdir, script, &svg, &err) < 0) {
                fprintf(out, "<p class=\"note\">chart (%s) left out: ", what);
                vs_bench_html(out, err->msg);
                fputs("</p>\n", out);
                vs_error_free(&err);
        } else {
                fputs("<figure class=\"chart\" data-suite=\"", out);
                vs_bench_html(out, suite);
                fprintf(out, "\" data-kind=\"%s\" data-points=\"%zu\">\n%s\n<figcaption>", what,
                        points, svg);
                vs_bench_html(out, suite);
                fprintf(out, ": %s</figcaption></figure>\n", what);
        }
        free(script);
}

static void suite_charts(FILE *out, const struct vs_bench *b, const char *suite)
{
        size_t points = 0;
        if (strcmp(suite, "interference") == 0) {
                _cleanup_free_ const char **backends = vs_bench_report_parts(b, suite, 2);
                for (size_t k = 0; backends[k]; k++) {
                        char *script = vs_bench_chart_heat(b, suite, backends[k], &points);
                        chart(out, b, suite, script, points, "heat map");
                }
        } else if (strcmp(suite, "density") == 0) {
                _cleanup_free_ const char **metrics = vs_bench_report_parts(b, suite, 3);
                for (size_t k = 0; metrics[k]; k++) {
                        char *script = vs_bench_chart_lines(b, suite, metrics[k], &points);
                        chart(out, b, suite, script, points, "line chart");
                }
        } else {
                char *script = vs_bench_chart_bars(b, suite, &points);
                chart(out, b, suite, script, points, "bar chart");
        }
}

static void suite_section(FILE *out, const struct vs_bench *b, const char *suite)
{
        fputs("<section class=\"suite\" id=\"suite-", out);
        vs_bench_html(out, suite);
        fputs("\" data-suite=\"", out);
        vs_bench_html(out, suite);
        fputs("\"><h2>", out);
        vs_bench_html(out, suite);
        fputs("</h2>\n", out);
        const char *what = suite_summary(suite);
        if (what) {
                fputs("<p>", out);
                vs_bench_html(out, what);
                fputs("</p>\n", out);
        }
        suite_charts(out, b, suite);
        fputs("<table class=\"cells\"><tr><th>test</th><th>variant</th><th>backend</th>"
              "<th>metric</th><th>median</th><th>min – max</th><th>n</th><th>ratio</th>"
              "<th>note</th></tr>\n",
              out);
        for (size_t i = 0; i < b->nseries; i++)
                if (strcmp(b->series[i].key.suite, suite) == 0)
                        cell_row(out, b, &b->series[i]);
        fputs("</table>\n</section>\n", out);
}

int vs_bench_report_write(const struct vs_bench *b, const char *dir, vs_error **err)
{
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        fprintf(out,
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<title>vessel bench report</title><style>%s</style></head><body>\n"
                "<h1>vessel bench: native, container and VM on this machine</h1>\n",
                STYLE);
        machine_line(out, b);
        fputs("<section id=\"summary\"><h2>What this run found</h2>\n", out);
        vs_bench_report_summary(out, b);
        fputs("</section>\n<section id=\"limits\"><h2>Where this machine limits the "
              "conclusions</h2>\n",
              out);
        vs_bench_report_limits(out, b);
        fputs("</section>\n", out);
        _cleanup_free_ const char **suites = vs_bench_report_suites(b);
        for (size_t i = 0; suites[i]; i++)
                suite_section(out, b, suites[i]);
        fputs("<section id=\"seeds\"><h2>Beside the published studies</h2>\n", out);
        vs_bench_report_seeds(out, b);
        fputs("</section>\n<p class=\"note\">Every sample, and the machine, are in "
              "results.json beside this page. Ratios are taken within this run: each series "
              "against its baseline (native, the victim alone, or N=1) measured minutes "
              "apart on the same machine. docs/bench.md explains each suite.</p>\n"
              "</body></html>\n",
              out);
        fclose(out);
        _cleanup_free_ char *path = xasprintf("%s/report.html", dir);
        int r = vs_write_output(path, text, len, 0644, false, err);
        free(text);
        return r;
}
