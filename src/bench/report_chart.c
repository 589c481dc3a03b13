/* vessel bench: the report's charts, drawn by gnuplot's svg terminal
 * (report.h). Scripts carry their data inline (datablocks), so one
 * gnuplot process per chart reads one file and writes one SVG. */
#include "bench/report.h"
#include "bench/stats.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHART_W 860
#define CHART_H 380

/* s as a gnuplot string literal's contents (no quotes or backslashes). */
static void gp_str(FILE *f, const char *s)
{
        for (; *s; s++)
                fputc(*s == '"' || *s == '\\' || *s == '\n' ? '\'' : *s, f);
}

static void gp_head(FILE *f, const char *title, int height)
{
        fprintf(f,
                "set terminal svg size %d,%d dynamic enhanced font 'sans,11' background "
                "'#ffffff'\nset encoding utf8\nset datafile missing '?'\nset key outside right "
                "top noenhanced\nset grid ytics lc '#dddddd'\nset title \"",
                CHART_W, height);
        gp_str(f, title);
        fputs("\" noenhanced\n", f);
}

static bool eq(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}

/* One cluster of a bar chart: a test/variant/metric. */
static char *cluster_label(const struct vs_bench_series *s)
{
        return xasprintf("%s%s%s%s [%s]", s->key.test, s->key.variant[0] ? " (" : "",
                         s->key.variant, s->key.variant[0] ? ")" : "", s->key.metric);
}

/* Bars per backend for each test/variant/metric of suite: the ratio to
 * native (relative speed) when the suite has one, else the values
 * themselves on a log scale. */
char *vs_bench_chart_bars(const struct vs_bench *b, const char *suite, size_t *points)
{
        *points = 0;
        bool speed = vs_bench_ratio_kind(suite) == VS_BENCH_RATIO_SPEED;
        _cleanup_free_ const char **backends = vs_bench_report_parts(b, suite, 2);
        size_t nb = 0;
        for (; backends[nb]; nb++)
                ;
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        const char *unit = "";
        fputs("$d << EOD\n", f);
        /* Clusters in recording order, each once. */
        for (size_t i = 0; i < b->nseries; i++) {
                const struct vs_bench_series *s = &b->series[i];
                if (!eq(s->key.suite, suite))
                        continue;
                _cleanup_free_ char *label = cluster_label(s);
                bool seen = false;
                for (size_t k = 0; k < i && !seen; k++) {
                        _cleanup_free_ char *l2 = cluster_label(&b->series[k]);
                        seen = eq(b->series[k].key.suite, suite) && eq(l2, label);
                }
                if (seen)
                        continue;
                /* A cluster with nothing to draw (a metric without a
                 * ratio, such as UDP jitter) is left out, not drawn empty. */
                char *rowtext = NULL;
                size_t rowlen = 0, drawn_here = 0;
                FILE *row = open_memstream(&rowtext, &rowlen);
                fputc('"', row);
                gp_str(row, label);
                fputc('"', row);
                for (size_t k = 0; k < nb; k++) {
                        struct vs_bench_key key = s->key;
                        key.backend = backends[k];
                        const struct vs_bench_series *t = vs_bench_find(b, &key);
                        struct vs_bench_ratio r;
                        struct vs_bench_stat st;
                        if (speed && t && vs_bench_ratio(b, t, &r) == 0) {
                                fprintf(row, " %g %g %g", r.median, r.lo, r.hi);
                                drawn_here++;
                        } else if (!speed && t && !t->skip && t->n > 0 &&
                                   vs_bench_stat(t->v, t->n, &st) == 0 && st.min > 0) {
                                fprintf(row, " %g %g %g", st.median, st.min, st.max);
                                unit = t->key.unit;
                                drawn_here++;
                        } else {
                                fputs(" ? ? ?", row);
                        }
                }
                fclose(row);
                if (drawn_here)
                        fprintf(f, "%s\n", rowtext);
                *points += drawn_here;
                free(rowtext);
        }
        fputs("EOD\n", f);
        gp_head(f,
                speed ? "relative speed (1.0 = native; bars: median, whiskers: min-max)"
                      : "median (whiskers: min-max), log scale",
                CHART_H);
        fputs("set style data histograms\nset style histogram errorbars gap 1 lw 1\n"
              "set style fill solid 0.75 border -1\nset xtics rotate by -25 noenhanced\n"
              "set yrange [0:*]\n",
              f);
        if (speed)
                fputs("set ylabel 'x native'\nset arrow from graph 0, first 1 to graph 1, "
                      "first 1 nohead dt 2 lc '#444444'\n",
                      f);
        else
                fprintf(f, "set logscale y\nset yrange [*:*]\nset ylabel '%s'\n", unit);
        fputs("plot ", f);
        size_t col = 2, drawn = 0;
        for (size_t k = 0; k < nb; k++, col += 3) {
                if (speed && eq(backends[k], "native"))
                        continue;
                fprintf(f, "%s$d using %zu:%zu:%zu%s title \"", drawn ? ", " : "", col, col + 1,
                        col + 2, drawn ? "" : ":xtic(1)");
                drawn++;
                gp_str(f, backends[k]);
                fputc('"', f);
        }
        fputc('\n', f);
        fclose(f);
        if (*points == 0 || drawn == 0) {
                free(text);
                return NULL;
        }
        return text;
}

/* One heat map per neighbour isolation: victims (test [metric]) down,
 * neighbours across, the slowdown in each cell. */
char *vs_bench_chart_heat(const struct vs_bench *b, const char *suite, const char *backend,
                          size_t *points)
{
        *points = 0;
        _cleanup_free_ const char **variants = vs_bench_report_parts(b, suite, 1);
        char **rows = NULL;
        size_t nrows = 0;
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        fputs("$d << EOD\n", f);
        size_t x = 0;
        /* The colour scale's top: at least 4x, so that 1.1x stays pale. */
        double top = 4;
        _cleanup_free_ char *xtics = xstrdup("");
        for (size_t v = 0; variants[v]; v++) {
                if (eq(variants[v], "alone"))
                        continue;
                bool any = false;
                for (size_t i = 0; i < b->nseries; i++) {
                        const struct vs_bench_series *s = &b->series[i];
                        struct vs_bench_ratio r;
                        if (!eq(s->key.suite, suite) || !eq(s->key.backend, backend) ||
                            !eq(s->key.variant, variants[v]) || vs_bench_ratio(b, s, &r) < 0)
                                continue;
                        /* responsive_ms is the host's answer time, not the victim's. */
                        _cleanup_free_ char *row =
                            eq(s->key.metric, "responsive_ms")
                                ? xasprintf("host response time (%s)", s->key.unit)
                                : xasprintf("%s [%s]", s->key.test, s->key.metric);
                        size_t y = 0;
                        while (y < nrows && !eq(rows[y], row))
                                y++;
                        if (y == nrows) {
                                rows = xrealloc(rows, (nrows + 1) * sizeof(char *));
                                rows[nrows++] = xstrdup(row);
                        }
                        fprintf(f, "%zu %zu %g \"%.3gx\"\n", x, y, r.median, r.median);
                        top = r.median > top ? r.median : top;
                        (*points)++;
                        any = true;
                }
                if (any) {
                        char *t = xasprintf("%s%s\"%s\" %zu", xtics, x ? ", " : "", variants[v], x);
                        free(xtics);
                        xtics = t;
                        x++;
                }
        }
        fputs("EOD\n", f);
        _cleanup_free_ char *title =
            xasprintf("victim slowdown beside each neighbour, isolated by %s", backend);
        int height = 140 + 34 * (int) (nrows ? nrows : 1);
        gp_head(f, title, height < CHART_H ? CHART_H : height);
        fprintf(f, "unset key\nset grid noytics\nset xtics (%s) noenhanced\nset ytics (", xtics);
        for (size_t y = 0; y < nrows; y++) {
                fprintf(f, "%s\"", y ? ", " : "");
                gp_str(f, rows[y]);
                fprintf(f, "\" %zu", y);
        }
        fprintf(f,
                ") noenhanced\nset xrange [-0.5:%zu.5]\nset yrange [-0.5:%zu.5]\n"
                "set cblabel 'slowdown (1 = unaffected)'\nset cbrange [1:%g]\n"
                "set palette defined (0 '#ffffff', 1 '#fee08b', 2 '#f46d43', 3 '#a50026')\n"
                "plot $d using 1:2:(0.5):(0.5):3 with boxxyerror fs solid 1.0 fc palette, "
                "$d using 1:2:4 with labels\n",
                x ? x - 1 : 0, nrows ? nrows - 1 : 0, top);
        fclose(f);
        for (size_t y = 0; y < nrows; y++)
                free(rows[y]);
        free(rows);
        if (*points == 0) {
                free(text);
                return NULL;
        }
        return text;
}

/* One line per test and backend: metric's median (whiskers min-max)
 * against the variant read as a number (instances). */
char *vs_bench_chart_lines(const struct vs_bench *b, const char *suite, const char *metric,
                           size_t *points)
{
        *points = 0;
        _cleanup_free_ const char **tests = vs_bench_report_parts(b, suite, 0);
        _cleanup_free_ const char **backends = vs_bench_report_parts(b, suite, 2);
        _cleanup_free_ const char **variants = vs_bench_report_parts(b, suite, 1);
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        _cleanup_free_ char *plot = xstrdup("");
        const char *unit = "";
        size_t lines = 0;
        for (size_t t = 0; tests[t]; t++)
                for (size_t k = 0; backends[k]; k++) {
                        size_t n = 0;
                        fprintf(f, "$l%zu << EOD\n", lines);
                        for (size_t v = 0; variants[v]; v++) {
                                struct vs_bench_key key = {suite, tests[t], variants[v],
                                                           backends[k], metric};
                                const struct vs_bench_series *s = vs_bench_find(b, &key);
                                struct vs_bench_stat st;
                                char *end;
                                double xv = strtod(variants[v], &end);
                                if (!s || s->skip || end == variants[v] ||
                                    vs_bench_stat(s->v, s->n, &st) < 0)
                                        continue;
                                fprintf(f, "%g %g %g %g\n", xv, st.median, st.min, st.max);
                                unit = s->key.unit;
                                n++;
                        }
                        fputs("EOD\n", f);
                        if (n == 0)
                                continue;
                        *points += n;
                        char *p =
                            xasprintf("%s%s$l%zu using 1:2:3:4 with yerrorlines lw 2 pt 7 "
                                      "title \"%s %s\"",
                                      plot, plot[0] ? ", " : "", lines, backends[k], tests[t]);
                        free(plot);
                        plot = p;
                        lines++;
                }
        _cleanup_free_ char *title =
            xasprintf("%s by instance count (median, whiskers min-max)", metric);
        gp_head(f, title, CHART_H);
        fprintf(f, "set xlabel 'instances (N)'\nset ylabel '%s'\nset yrange [0:*]\nplot %s\n", unit,
                plot);
        fclose(f);
        if (*points == 0) {
                free(text);
                return NULL;
        }
        return text;
}

/* Waits for pid at most timeout_ms; kills it past that. */
static int wait_bounded(pid_t pid, int timeout_ms, int *status)
{
        for (int waited = 0;; waited += 10) {
                pid_t r = waitpid(pid, status, WNOHANG);
                if (r == pid)
                        return 0;
                if (r < 0 && errno != EINTR)
                        return -1;
                if (waited >= timeout_ms) {
                        kill(pid, SIGKILL);
                        waitpid(pid, status, 0);
                        return -1;
                }
                struct timespec ts = {0, 10 * 1000 * 1000};
                nanosleep(&ts, NULL);
        }
}

int vs_bench_gnuplot(const char *workdir, const char *script, char **svg, vs_error **err)
{
        *svg = NULL;
        const char *prog = getenv("VESSEL_BENCH_GNUPLOT");
        if (prog && !prog[0])
                return vs_fail(err, "charts are off ($VESSEL_BENCH_GNUPLOT is empty)");
        if (!prog)
                prog = "gnuplot";
        _cleanup_free_ char *path = xasprintf("%s/chart.gp", workdir);
        _cleanup_free_ char *out = xasprintf("%s/chart.svg", workdir);
        if (vs_write_file_replace(path, script, strlen(script), 0600, err) < 0)
                return -1;
        pid_t pid = fork();
        if (pid < 0)
                return vs_fail_errno(err, "cannot fork gnuplot");
        if (pid == 0) {
                int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                int n = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (o < 0 || n < 0 || dup2(o, 1) < 0 || dup2(n, 0) < 0 ||
                    (!vs_log_debug_enabled() && dup2(n, 2) < 0))
                        _exit(126);
                execlp(prog, prog, path, (char *) NULL);
                _exit(127);
        }
        int status = 0;
        if (wait_bounded(pid, 30000, &status) < 0)
                return vs_fail(err, "gnuplot did not finish within 30 s on %s", path);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                return vs_fail(err, "gnuplot is not installed (Debian: apt-get install "
                                    "gnuplot-nox)");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return vs_fail(err, "gnuplot failed on %s (status %d)", path, status);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        if (vs_read_file(out, &text, &len, err) < 0)
                return -1;
        char *start = strstr(text, "<svg");
        char *end = start ? strstr(start, "</svg>") : NULL;
        if (!end)
                return vs_fail(err, "gnuplot wrote no SVG for %s", path);
        *svg = xstrndup(start, (size_t) (end - start) + strlen("</svg>"));
        return 0;
}
