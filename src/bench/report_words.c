/* vessel bench: the report's words: the summary of findings, the
 * machine's limits, and the seed studies beside this run (report.h).
 * Everything here is derived from the recorded series and the machine. */
#include "bench/report.h"
#include "bench/stats.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

static const char *machine_str(const struct vs_bench *b, const char *key)
{
        json_object *v;
        if (!b->machine || !json_object_object_get_ex(b->machine, key, &v))
                return "";
        return json_object_get_string(v);
}

static bool tcg(const struct vs_bench *b)
{
        return strcmp(machine_str(b, "accelerator"), "tcg") == 0;
}

static void who(FILE *out, const struct vs_bench *b, const char *backend)
{
        if (strcmp(backend, "container") == 0)
                fputs("Containers", out);
        else if (strcmp(backend, "vm") == 0)
                fputs(tcg(b) ? "The VM (TCG: this host has no hardware virtualization)"
                             : "The VM (KVM)",
                      out);
        else if (strcmp(backend, "native") == 0)
                fputs("Native", out);
        else if (strcmp(backend, "vm-restore") == 0)
                fputs("The VM restored from a checkpoint (time from `vessel restore` until an "
                      "exec in it answers)",
                      out);
        else if (strcmp(backend, "floor") == 0)
                fputs("The floor (bare clone + pivot_root + exec)", out);
        else
                vs_bench_html(out, backend);
}

/* Overhead-like suites: per backend, each test's speed relative to native. */
static void summary_speed(FILE *out, const struct vs_bench *b, const char *suite)
{
        _cleanup_free_ const char **backends = vs_bench_report_parts(b, suite, 2);
        for (size_t k = 0; backends[k]; k++) {
                size_t said = 0;
                for (size_t i = 0; i < b->nseries; i++) {
                        const struct vs_bench_series *s = &b->series[i];
                        struct vs_bench_ratio r;
                        if (strcmp(s->key.suite, suite) != 0 ||
                            strcmp(s->key.backend, backends[k]) != 0 ||
                            vs_bench_ratio(b, s, &r) < 0)
                                continue;
                        if (said == 0) {
                                fputs("<li>", out);
                                who(out, b, backends[k]);
                                fputs(" ran ", out);
                        }
                        fputs(said ? ", " : "", out);
                        vs_bench_html(out, s->key.test);
                        if (s->key.variant[0]) {
                                fputs(" (", out);
                                vs_bench_html(out, s->key.variant);
                                fputs(")", out);
                        }
                        fputs(" at <b>", out);
                        vs_bench_report_x(out, r.median);
                        fputs("x</b> native", out);
                        said++;
                }
                if (said)
                        fprintf(out, " (%s).</li>\n", suite);
        }
}

/* A number as a reader wants it: no exponent, 3 significant digits below
 * 100. */
static void num(FILE *out, double v)
{
        fprintf(out, v >= 100 || v <= -100 ? "%.0f" : "%.3g", v);
}

/* Start: ", N times faster than WHAT" when s is backend's and the same
 * test ran on other (the VM against a container; a restore against a cold
 * boot). */
static void vs_than(FILE *out, const struct vs_bench *b, const struct vs_bench_series *s,
                    const char *backend, const char *other, const char *what)
{
        const struct vs_bench_series *o;
        struct vs_bench_stat ss, os;
        if (strcmp(s->key.backend, backend) != 0 ||
            !(o = vs_bench_report_first(b, s->key.suite, s->key.test, s->key.variant, other)) ||
            vs_bench_stat(s->v, s->n, &ss) < 0 || vs_bench_stat(o->v, o->n, &os) < 0 ||
            ss.median <= 0)
                return;
        fputs("; ", out);
        if (os.median >= ss.median) {
                num(out, os.median / ss.median);
                fprintf(out, "x faster than %s", what);
        } else {
                num(out, ss.median / os.median);
                fprintf(out, "x %s's", what);
        }
}

/* Start: per backend, each test's time and its multiple of native's. */
static void summary_start(FILE *out, const struct vs_bench *b, const char *suite)
{
        _cleanup_free_ const char **backends = vs_bench_report_parts(b, suite, 2);
        for (size_t k = 0; backends[k]; k++) {
                size_t said = 0;
                for (size_t i = 0; i < b->nseries; i++) {
                        const struct vs_bench_series *s = &b->series[i];
                        struct vs_bench_stat st;
                        struct vs_bench_ratio r;
                        if (strcmp(s->key.suite, suite) != 0 ||
                            strcmp(s->key.backend, backends[k]) != 0 || s->skip ||
                            vs_bench_stat(s->v, s->n, &st) < 0)
                                continue;
                        if (said++ == 0) {
                                fputs("<li>", out);
                                who(out, b, backends[k]);
                                fputs(": ", out);
                        } else {
                                fputs(", ", out);
                        }
                        vs_bench_html(out, s->key.test);
                        fputs(" after <b>", out);
                        num(out, st.median);
                        fprintf(out, " %s</b>", s->key.unit);
                        if (vs_bench_ratio(b, s, &r) == 0) {
                                fputs(" (", out);
                                num(out, r.median);
                                fputs("x native's", out);
                                vs_than(out, b, s, "vm-restore", "vm", "a cold boot");
                                vs_than(out, b, s, "vm", "container", "a container");
                                fputs(")", out);
                        }
                }
                if (said)
                        fprintf(out, " (%s).</li>\n", suite);
        }
}

/* The responsiveness probe's metric in interference (how long the host
 * took to answer while the neighbour ran), not the victim's speed. */
#define RESPONSIVE "responsive_ms"

/* Interference, one isolation: the cell of metric (or, with metric NULL,
 * of any metric but RESPONSIVE) with the largest (worst) or smallest
 * slowdown. */
static const struct vs_bench_series *extreme(const struct vs_bench *b, const char *suite,
                                             const char *backend, const char *metric, bool worst,
                                             double *ratio)
{
        const struct vs_bench_series *pick = NULL;
        for (size_t i = 0; i < b->nseries; i++) {
                const struct vs_bench_series *s = &b->series[i];
                struct vs_bench_ratio r;
                if (strcmp(s->key.suite, suite) != 0 || strcmp(s->key.backend, backend) != 0 ||
                    (metric ? strcmp(s->key.metric, metric) != 0
                            : strcmp(s->key.metric, RESPONSIVE) == 0) ||
                    vs_bench_ratio(b, s, &r) < 0)
                        continue;
                if (!pick || (worst ? r.median > *ratio : r.median < *ratio))
                        pick = s, *ratio = r.median;
        }
        return pick;
}

/* Interference: per neighbour isolation, the victim's worst and mildest
 * cell, and how slow the host became to answer. */
static void summary_slowdown(FILE *out, const struct vs_bench *b, const char *suite)
{
        _cleanup_free_ const char **backends = vs_bench_report_parts(b, suite, 2);
        for (size_t k = 0; backends[k]; k++) {
                double wr = 0, br = 0, rr = 0;
                const struct vs_bench_series *worst =
                    extreme(b, suite, backends[k], NULL, true, &wr);
                const struct vs_bench_series *best =
                    extreme(b, suite, backends[k], NULL, false, &br);
                const struct vs_bench_series *resp =
                    extreme(b, suite, backends[k], RESPONSIVE, true, &rr);
                if (!worst && !resp)
                        continue;
                fputs("<li>Neighbour isolated by <b>", out);
                vs_bench_html(out, backends[k]);
                fputs("</b>: ", out);
                if (worst) {
                        fputs("the victim (", out);
                        vs_bench_html(out, worst->key.test);
                        /* Below 1: the neighbour did not slow it (noise). */
                        fputs(wr < 1 ? ") was not slowed (<b>" : ") ran <b>", out);
                        vs_bench_report_x(out, wr);
                        fputs(wr < 1 ? "x</b>) beside " : "x</b> slower beside ", out);
                        vs_bench_html(out, worst->key.variant);
                        if (best && best != worst) {
                                fputs(", ", out);
                                vs_bench_report_x(out, br);
                                fputs("x beside ", out);
                                vs_bench_html(out, best->key.variant);
                        }
                }
                if (resp) {
                        fputs(worst ? "; the host took " : "the host took ", out);
                        vs_bench_report_x(out, rr);
                        fputs("x as long to answer beside ", out);
                        vs_bench_html(out, resp->key.variant);
                }
                fputs(".</li>\n", out);
        }
}

/* Density: per backend and metric, the largest N against N=1. */
static void summary_growth(FILE *out, const struct vs_bench *b, const char *suite)
{
        for (size_t i = 0; i < b->nseries; i++) {
                const struct vs_bench_series *s = &b->series[i];
                struct vs_bench_ratio r;
                struct vs_bench_stat st, bs;
                if (strcmp(s->key.suite, suite) != 0 || vs_bench_ratio(b, s, &r) < 0 ||
                    vs_bench_stat(s->v, s->n, &st) < 0 ||
                    vs_bench_stat(r.base->v, r.base->n, &bs) < 0)
                        continue;
                /* Only the largest N of each test/backend/metric. */
                bool larger = false;
                for (size_t k = 0; k < b->nseries && !larger; k++) {
                        const struct vs_bench_series *t = &b->series[k];
                        larger = strcmp(t->key.suite, suite) == 0 && !t->skip &&
                                 strcmp(t->key.test, s->key.test) == 0 &&
                                 strcmp(t->key.backend, s->key.backend) == 0 &&
                                 strcmp(t->key.metric, s->key.metric) == 0 &&
                                 atof(t->key.variant) > atof(s->key.variant);
                }
                if (larger)
                        continue;
                fputs("<li>", out);
                who(out, b, s->key.backend);
                fputs(": ", out);
                if (strcmp(s->key.test, "idle") == 0 && strcmp(s->key.unit, "MiB") == 0)
                        fputs("PSS per idle instance", out);
                else if (strcmp(s->key.test, "start-all") == 0)
                        fputs("the time until all instances were ready", out);
                else {
                        vs_bench_html(out, s->key.test);
                        fputs(" ", out);
                        vs_bench_html(out, s->key.metric);
                }
                fputs(" went from ", out);
                num(out, bs.median);
                fprintf(out, " %s at N=1 to <b>", s->key.unit);
                num(out, st.median);
                fprintf(out, " %s</b> at N=", s->key.unit);
                vs_bench_html(out, s->key.variant);
                fputs(" (", out);
                vs_bench_report_x(out, r.median);
                fputs("x).</li>\n", out);
        }
}

void vs_bench_report_summary(FILE *out, const struct vs_bench *b)
{
        fputs("<ul>\n", out);
        _cleanup_free_ const char **suites = vs_bench_report_suites(b);
        for (size_t i = 0; suites[i]; i++) {
                switch (vs_bench_ratio_kind(suites[i])) {
                case VS_BENCH_RATIO_SPEED:
                        summary_speed(out, b, suites[i]);
                        break;
                case VS_BENCH_RATIO_SLOWDOWN:
                        summary_slowdown(out, b, suites[i]);
                        break;
                case VS_BENCH_RATIO_MULTIPLE:
                        if (strcmp(suites[i], "start") == 0)
                                summary_start(out, b, suites[i]);
                        else
                                summary_growth(out, b, suites[i]);
                        break;
                }
        }
        size_t skipped = 0;
        for (size_t i = 0; i < b->nseries; i++)
                skipped += b->series[i].skip != NULL;
        if (skipped)
                fprintf(out, "<li>%zu cell%s did not run here; each table says why.</li>\n",
                        skipped, skipped == 1 ? "" : "s");
        if (b->nseries == 0)
                fputs("<li>No suite recorded anything in this run.</li>\n", out);
        fputs("</ul>\n", out);
}

void vs_bench_report_limits(FILE *out, const struct vs_bench *b)
{
        fputs("<ul>\n", out);
        if (tcg(b)) {
                fputs("<li><b>No hardware virtualization: the VM runs under TCG</b>, QEMU's "
                      "instruction-by-instruction emulator (",
                      out);
                vs_bench_html(out, machine_str(b, "accelerator_reason"));
                fputs("). Every VM figure here measures emulation, not a hypervisor: with KVM "
                      "the VM's CPU and memory figures would be near native, as in the "
                      "published studies. Compare containers with native here; read VM "
                      "figures as this host's, not as VMs'.</li>\n",
                      out);
        }
        long cores = atol(machine_str(b, "cores"));
        if (cores > 0 && cores <= 4)
                fprintf(out,
                        "<li><b>Only %ld CPU core%s.</b> A victim and its neighbour share "
                        "cores, so CPU sets can separate them only partly, and the bench's own "
                        "processes (vessel, QEMU, gnuplot) compete with the workloads: "
                        "interference and density figures overstate what a larger host "
                        "shows.</li>\n",
                        cores, cores == 1 ? "" : "s");
        const char *cg = machine_str(b, "cgroup_mode");
        if (strcmp(cg, "v1") == 0 || strcmp(cg, "hybrid") == 0)
                fprintf(out,
                        "<li><b>cgroups %s.</b> The v1 blkio controller throttles only direct "
                        "I/O (buffered writeback is not charged to the writer), so a disk "
                        "bomb's limits hold less than under cgroup v2's io controller.</li>\n",
                        cg);
        if (b->opts.repeat < 3)
                fprintf(out,
                        "<li><b>%d sample%s per cell</b>%s: min–max shows no spread worth the "
                        "name; run <code>vessel bench --repeat 5</code> for one.</li>\n",
                        b->opts.repeat, b->opts.repeat == 1 ? "" : "s",
                        b->opts.quick ? " (--quick)" : "");
        fputs("</ul>\n", out);
}

/* A published figure and where this run keeps the one to set beside it. */
struct seed {
        const char *study, *measure, *backend, *published, *source;
        const char *suite, *test_prefix; /* this run's series: test starts with */
};

#define FELTER "Felter et al., IBM RC25482 (2014) / ISPASS 2015"
#define FELTER_LOGS                                                                                \
        "the authors' raw fio logs, github.com/thewmf/kvm-docker-comparison "                      \
        "fio/results/{linux,docker,vm}.log"
#define SHARMA "Sharma et al., Middleware '16"
#define JOY    "Joy, ICCCA 2015"

static const struct seed SEEDS[] = {
    {FELTER, "4 KiB random read IOPS, QD16", "container", "0.99x (58,407 vs 58,729 IOPS)",
     FELTER_LOGS, "overhead", "fio-randread"},
    {FELTER, "4 KiB random read IOPS, QD16", "vm", "0.42x (24,793 vs 58,729 IOPS, KVM)",
     FELTER_LOGS, "overhead", "fio-randread"},
    {FELTER, "4 KiB random write IOPS, QD16", "container", "1.16x (84,226 vs 72,807 IOPS)",
     FELTER_LOGS, "overhead", "fio-randwrite"},
    {FELTER, "4 KiB random write IOPS, QD16", "vm", "0.26x (18,936 vs 72,807 IOPS, KVM)",
     FELTER_LOGS, "overhead", "fio-randwrite"},
    {FELTER, "1 MiB sequential read, QD1", "container", "1.00x (512,500 vs 511,875 KB/s)",
     FELTER_LOGS, "overhead", "fio-seq"},
    {FELTER, "1 MiB sequential read, QD1", "vm", "0.83x (424,546 vs 511,875 KB/s, KVM)",
     FELTER_LOGS, "overhead", "fio-seq"},
    {FELTER, "STREAM triad bandwidth", "vm",
     "0.97-1.12x (44.8-51.7 vs 46.1 GB/s over the first runs, 32 threads, KVM)",
     "the authors' raw logs, github.com/thewmf/kvm-docker-comparison "
     "Stream/results/{linux,vm}.log",
     "overhead", "stream"},
    {FELTER, "CPU, memory, I/O, network overall", "container",
     "\"containers result in equal or better performance than VMs in almost all cases\"; "
     "both need tuning for I/O-intensive work (qualitative)",
     "the paper's abstract", "overhead", "cpu"},
    {SHARMA, "noisy neighbours (fork, malloc, disk bombs)", "container-default",
     "containers are hurt more by a misbehaving neighbour than VMs are; CPU sets isolate "
     "better than CPU shares (qualitative: the paper's figures were not checked here)",
     "Sharma, Chaufournier, Shenoy, Tay: Containers and Virtual Machines at Scale: A "
     "Comparative Study",
     "interference", ""},
    {SHARMA, "noisy neighbours (fork, malloc, disk bombs)", "vm",
     "the VM's own kernel shields the victim from most neighbour bombs (qualitative: not "
     "checked against the paper's figures here)",
     "Sharma et al., as above", "interference", ""},
    {JOY, "start and scale-up", "vm",
     "containers scale up in seconds where VMs take minutes; about 3x the throughput of VMs "
     "(qualitative, as the issue summarises the paper; not checked here)",
     "Joy: Performance comparison between Linux containers and virtual machines", "start", ""},
};

/* This run's figure for a seed: the ratio of the first matching series. */
/* Start, for Joy's "seconds where VMs take minutes": the VM's start as a
 * multiple of the container's, cold and restored. */
static void measured_start(FILE *out, const struct vs_bench *b)
{
        const struct vs_bench_series *c =
            vs_bench_report_first(b, "start", "first-instruction", NULL, "container");
        struct vs_bench_stat cs;
        if (!c || vs_bench_stat(c->v, c->n, &cs) < 0 || cs.median <= 0) {
                fputs("<td class=\"note\">not measured in this run</td>", out);
                return;
        }
        fputs("<td>", out);
        static const char *const vms[] = {"vm", "vm-restore"};
        static const char *const names[] = {"cold boot", "from a checkpoint"};
        size_t said = 0;
        for (size_t i = 0; i < 2; i++) {
                const struct vs_bench_series *v =
                    vs_bench_report_first(b, "start", "first-instruction", NULL, vms[i]);
                struct vs_bench_stat vs;
                if (!v || vs_bench_stat(v->v, v->n, &vs) < 0)
                        continue;
                fprintf(out, "%sVM %s: ", said++ ? "; " : "", names[i]);
                vs_bench_report_x(out, vs.median / cs.median);
                fprintf(out, "x a container's time to first instruction (%.0f vs %.0f ms)",
                        vs.median, cs.median);
        }
        if (!said)
                fputs("no VM start measured", out);
        fprintf(out, "%s</td>", tcg(b) ? "; TCG" : "");
}

static void measured(FILE *out, const struct vs_bench *b, const struct seed *sd)
{
        if (strcmp(sd->suite, "start") == 0) {
                measured_start(out, b);
                return;
        }
        bool slowdown = vs_bench_ratio_kind(sd->suite) == VS_BENCH_RATIO_SLOWDOWN;
        const struct vs_bench_series *pick = NULL;
        struct vs_bench_ratio best = {0};
        for (size_t i = 0; i < b->nseries; i++) {
                const struct vs_bench_series *s = &b->series[i];
                struct vs_bench_ratio r;
                if (strcmp(s->key.suite, sd->suite) != 0 ||
                    strcmp(s->key.backend, sd->backend) != 0 ||
                    strncmp(s->key.test, sd->test_prefix, strlen(sd->test_prefix)) != 0 ||
                    (slowdown && strcmp(s->key.metric, RESPONSIVE) == 0) ||
                    vs_bench_ratio(b, s, &r) < 0)
                        continue;
                /* Interference: the worst cell; elsewhere the first. */
                if (!pick || (slowdown && r.median > best.median))
                        pick = s, best = r;
                if (!slowdown)
                        break;
        }
        if (!pick) {
                fputs("<td class=\"note\">not measured in this run</td>", out);
                return;
        }
        fputs("<td>", out);
        vs_bench_report_xs(out, &best);
        fputs(" ", out);
        vs_bench_html(out, pick->key.test);
        if (pick->key.variant[0]) {
                fputs(", ", out);
                vs_bench_html(out, pick->key.variant);
        }
        fprintf(out, "; %s%s</td>", vs_bench_ratio_label(sd->suite),
                strcmp(sd->backend, "vm") == 0 && tcg(b) ? "; TCG" : "");
}

void vs_bench_report_seeds(FILE *out, const struct vs_bench *b)
{
        fputs("<p>The studies vessel grew from, their figures as ratios to native (or to the "
              "victim alone), and this run's nearest figure. A published figure is given as a "
              "number only where it could be checked against the authors' data; otherwise "
              "the finding is stated in words and marked so.</p>\n"
              "<table class=\"seeds\"><tr><th>study</th><th>measure</th><th>backend</th>"
              "<th>published</th><th>this machine</th><th>source</th></tr>\n",
              out);
        for (size_t i = 0; i < sizeof(SEEDS) / sizeof(SEEDS[0]); i++) {
                const struct seed *sd = &SEEDS[i];
                fputs("<tr><td>", out);
                vs_bench_html(out, sd->study);
                fputs("</td><td>", out);
                vs_bench_html(out, sd->measure);
                fputs("</td><td>", out);
                vs_bench_html(out, sd->backend);
                fputs("</td><td>", out);
                vs_bench_html(out, sd->published);
                fputs("</td>", out);
                measured(out, b, sd);
                fputs("<td>", out);
                vs_bench_html(out, sd->source);
                fputs("</td></tr>\n", out);
        }
        fputs("</table>\n", out);
}
