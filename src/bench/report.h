/* vessel bench: what a run found, for people (report.html) and programs
 * (results.json's "machine"). Reads only the recorded series (bench.h) and
 * the machine facts, so it renders whatever suites and cells exist. */
#ifndef VESSEL_BENCH_REPORT_H
#define VESSEL_BENCH_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

#include "bench/bench.h"
#include "util/error.h"

struct vs_bench_ratio;

/* CPU model, arch, cores, memory_MiB, kernel, cgroup_mode (v1, hybrid,
 * v2), accelerator (kvm, tcg: vessel's own VM detection) and why,
 * vessel_version, date (UTC). */
json_object *vs_bench_machine(void);

/* Writes dir/report.html: one self-contained page. Charts are SVG drawn by
 * gnuplot (run from PATH); without it the page says so and keeps the
 * tables. */
int vs_bench_report_write(const struct vs_bench *b, const char *dir, vs_error **err);

/* Internals of the report (report_*.c). */

/* The suites that have series in b, in vs_bench_suites order, then any
 * other, NULL-terminated (strings borrowed from b). */
const char **vs_bench_report_suites(const struct vs_bench *b);
/* Distinct values of one key part (0 test, 1 variant, 2 backend, 3 metric)
 * among suite's series that ran, in recording order, NULL-terminated. */
const char **vs_bench_report_parts(const struct vs_bench *b, const char *suite, int part);
/* The first series of suite/test/variant/backend with any metric (NULL
 * arguments match anything) that has samples. */
const struct vs_bench_series *vs_bench_report_first(const struct vs_bench *b, const char *suite,
                                                    const char *test, const char *variant,
                                                    const char *backend);

/* gnuplot scripts for suite's charts (NULL: nothing to draw); *points
 * counts the values drawn. */
char *vs_bench_chart_bars(const struct vs_bench *b, const char *suite, size_t *points);
char *vs_bench_chart_heat(const struct vs_bench *b, const char *suite, const char *backend,
                          size_t *points);
char *vs_bench_chart_lines(const struct vs_bench *b, const char *suite, const char *metric,
                           size_t *points);
/* Runs gnuplot ($VESSEL_BENCH_GNUPLOT, or gnuplot from PATH; set and empty:
 * no charts) on script (written to a file in workdir): the <svg> element
 * of its output in *svg. */
int vs_bench_gnuplot(const char *workdir, const char *script, char **svg, vs_error **err);

/* The summary in words (a <ul> of findings) and the machine's limits. */
void vs_bench_report_summary(FILE *out, const struct vs_bench *b);
void vs_bench_report_limits(FILE *out, const struct vs_bench *b);
/* The seed studies' published figures beside this run's. */
void vs_bench_report_seeds(FILE *out, const struct vs_bench *b);
/* HTML-escaped s to out. */
void vs_bench_html(FILE *out, const char *s);
/* A ratio as a reader wants it, without the "x": 2 decimals from 0.1 to
 * 100, 2 significant digits below (0.0022, not 0.00), none above. */
void vs_bench_report_x(FILE *out, double v);
/* A ratio with its spread: "1.40x" when min and max agree, else
 * "1.40x (1.31 – 1.52)". */
void vs_bench_report_xs(FILE *out, const struct vs_bench_ratio *r);

#endif
