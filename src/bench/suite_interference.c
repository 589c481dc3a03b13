/* The interference suite (Sharma et al. 2016): a victim on the host alone,
 * then beside a noisy neighbour under each isolation; the victim's
 * throughput and the host's responsiveness (docs/bench-suites.md). */
#include "bench/suite_common.h"
#include "bench/workload_suites.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUITE "interference"

struct victim {
        const char *test, *kind, *metric, *unit;
        bool netns, dir;
};
static const struct victim victims[] = {
    {"victim-cpu", "cpu", "ops_per_s", "ops/s", false, false},
    {"victim-memory", "stream", "MB_per_s", "MB/s", false, false},
    {"victim-disk", "disk", "MB_per_s", "MB/s", false, true},
    {"victim-network", "net", "MB_per_s", "MB/s", true, false},
};

static const char *const neighbours[] = {"fork-bomb", "malloc-bomb", "disk-bomb", "udp-flood",
                                         "cpu-hog"};

/* Every neighbour's cgroup gets pids.max and memory.max before it starts:
 * the "default" container is vessel's defaults plus this ceiling. */
#define SAFETY_PIDS   "--pids-limit=512"
#define SAFETY_MEMORY "--memory=512m"

struct isolation {
        const char *name;
        enum vs_bench_backend backend;
        const char *flags[8];
        bool pin_victim; /* victim on CPU 0, neighbour on CPU 1 */
};
static const struct isolation isolations[] = {
    {"cpu-shares", VS_BENCH_CONTAINER, {"--cpu-shares=2", SAFETY_PIDS, SAFETY_MEMORY}, false},
    {"cpuset", VS_BENCH_CONTAINER, {"--cpuset-cpus=1", SAFETY_PIDS, SAFETY_MEMORY}, true},
    {"container-default", VS_BENCH_CONTAINER, {SAFETY_PIDS, SAFETY_MEMORY}, false},
    {"container-limits",
     VS_BENCH_CONTAINER,
     {"--pids-limit=64", "--memory=128m", "--memory-swap=128m", "--cpus=0.5", "--blkio-weight=10"},
     false},
    {"vm", VS_BENCH_VM, {"--memory=256m", "--cpus=1"}, false},
};

/* The worst latency of fork+exec of /bin/true on the host, probed every
 * 100 ms until the victim's span ends. */
static double probe_once(void)
{
        double t0 = vs_bench_now();
        pid_t pid = fork();
        if (pid == 0) {
                execl("/bin/true", "true", (char *) NULL);
                _exit(127);
        }
        if (pid < 0)
                return 10000; /* the host could not fork: unresponsive */
        while (waitpid(pid, NULL, 0) < 0)
                ;
        return (vs_bench_now() - t0) * 1000;
}

/* Runs the victim natively, probing the host meanwhile; records both. */
static int run_victim(struct vs_bench *b, const struct victim *v, const char *variant,
                      const char *iso, bool pin, double secs)
{
        char s[16];
        snprintf(s, sizeof(s), "%g", secs);
        char *argv[] = {"vessel",
                        "bench-worker",
                        (char *) v->kind,
                        s,
                        v->dir ? (char *) b->opts.workdir : (v->kind[0] == 's' ? "64" : NULL),
                        NULL};
        struct vs_bench_key key = {
            SUITE, v->test, variant, iso, v->metric, v->unit, VS_BENCH_HIGHER_BETTER};
        struct vs_bench_key resp = {
            SUITE, v->test, variant, iso, "responsive_ms", "ms", VS_BENCH_LOWER_BETTER};
        struct vs_bench_run r = {.backend = VS_BENCH_NATIVE,
                                 .argv = argv,
                                 .netns = v->netns,
                                 .pin_cpu = pin ? 1 : 0,
                                 .timeout = secs + 60};
        struct vs_bench_proc p;
        vs_error *err = NULL;
        if (vs_bench_spawn(b, &r, &p, &err) < 0) {
                vs_bench_skip(b, &key, "%s", err->msg);
                vs_error_free(&err);
                return -1;
        }
        double worst = 0, end = vs_bench_now() + secs + 0.3;
        while (vs_bench_now() < end) {
                double l = probe_once();
                if (l > worst)
                        worst = l;
                usleep(100000);
        }
        _cleanup_free_ char *out = NULL;
        int st = vs_bench_reap(&p, 60, &out);
        double val = vs_bench_out_value(out, v->metric);
        if (st != 0 || !(val > 0)) {
                vs_bench_skip(b, &key, "the %s victim failed (status %d)", v->kind, st);
                return -1;
        }
        vs_bench_record(b, &key, val);
        vs_bench_record(b, &resp, worst);
        return 0;
}

/* Starts the neighbour and waits for its "go" (a VM's boot included). */
static int start_neighbour(struct vs_bench *b, const struct isolation *iso, const char *kind,
                           double secs, struct vs_bench_proc *p, vs_error **err)
{
        char s[16];
        snprintf(s, sizeof(s), "%g", secs);
        char *argv[] = {"vessel", "bench-worker", (char *) kind, s, "/tmp", NULL};
        /* --blkio-weight needs a proportional-weight I/O scheduler (BFQ,
         * or cgroup v2's iocost), which the runtime refuses to do without:
         * left out where the host has none (the report's machine facts
         * say io_weight false). */
        const char *flags[sizeof(iso->flags) / sizeof(iso->flags[0]) + 1] = {0};
        size_t nf = 0;
        bool io_weight = vs_bench_io_weight();
        for (size_t i = 0; i < sizeof(iso->flags) / sizeof(iso->flags[0]) && iso->flags[i]; i++)
                if (io_weight || strncmp(iso->flags[i], "--blkio-weight", 14) != 0)
                        flags[nf++] = iso->flags[i];
        struct vs_bench_run r = {.backend = iso->backend,
                                 .argv = argv,
                                 .flags = (char *const *) flags,
                                 .timeout = secs + 60};
        if (vs_bench_spawn(b, &r, p, err) < 0)
                return -1;
        double deadline = vs_bench_now() + 60;
        char buf[256];
        while (vs_bench_now() < deadline) {
                struct pollfd pfd = {.fd = p->outfd, .events = POLLIN};
                if (poll(&pfd, 1, 200) > 0) {
                        ssize_t n = read(p->outfd, buf, sizeof(buf) - 1);
                        if (n > 0)
                                return 0;
                        break; /* EOF: it ended before it started */
                }
        }
        _cleanup_free_ char *errpath = xasprintf("%s/%s.err", b->opts.workdir, p->name);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        vs_read_file(errpath, &text, &len, NULL);
        vs_bench_reap(p, 5, NULL);
        if (text && len > 0) {
                text[strcspn(text, "\n")] = '\0';
                return vs_fail(err, "the %s neighbour did not start: %s", kind, text);
        }
        return vs_fail(err, "the %s neighbour did not start", kind);
}

/* --quick measures the victim alone once, under the first isolation, and
 * records that run under the others too. */
static bool alone_from_first(struct vs_bench *b, const struct victim *v, const char *iso)
{
        struct vs_bench_key first = {SUITE, v->test, "alone", isolations[0].name, v->metric};
        struct vs_bench_key firstr = {SUITE, v->test, "alone", isolations[0].name, "responsive_ms"};
        const struct vs_bench_series *s = vs_bench_find(b, &first);
        const struct vs_bench_series *r = vs_bench_find(b, &firstr);
        if (!s || !r || s->n == 0 || r->n == 0 || strcmp(iso, isolations[0].name) == 0)
                return false;
        struct vs_bench_key key = {
            SUITE, v->test, "alone", iso, v->metric, v->unit, VS_BENCH_HIGHER_BETTER};
        struct vs_bench_key resp = {
            SUITE, v->test, "alone", iso, "responsive_ms", "ms", VS_BENCH_LOWER_BETTER};
        vs_bench_record(b, &key, s->v[s->n - 1]);
        vs_bench_record(b, &resp, r->v[r->n - 1]);
        return true;
}

static bool quick_cell(const struct isolation *iso, const char *neighbour)
{
        return strcmp(iso->name, "container-limits") == 0 || strcmp(neighbour, "cpu-hog") == 0 ||
               (strcmp(iso->name, "container-default") == 0 && strcmp(neighbour, "fork-bomb") == 0);
}

static void one_isolation(struct vs_bench *b, const struct isolation *iso, const struct victim *vs,
                          size_t nv, const char *setup_err, double secs)
{
        struct vs_bench_key any = {SUITE,
                                   vs[0].test,
                                   "alone",
                                   iso->name,
                                   vs[0].metric,
                                   vs[0].unit,
                                   VS_BENCH_HIGHER_BETTER};
        if (!vs_bench_cell_can_run(b, &any, iso->backend, setup_err))
                return;
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        if (iso->pin_victim && ncpu < 2) {
                vs_bench_skip(b, &any, "cpusets need 2 CPUs; this machine has %ld", ncpu);
                return;
        }
        for (size_t v = 0; v < nv; v++) {
                for (int k = 0; k < b->opts.repeat; k++) {
                        vs_bench_progress(b, "%s alone (%s)", vs[v].test, iso->name);
                        if (!b->opts.quick || !alone_from_first(b, &vs[v], iso->name))
                                run_victim(b, &vs[v], "alone", iso->name, iso->pin_victim, secs);
                }
                for (size_t n = 0; n < sizeof(neighbours) / sizeof(neighbours[0]); n++) {
                        struct vs_bench_key key = {
                            SUITE,        vs[v].test, neighbours[n],         iso->name,
                            vs[v].metric, vs[v].unit, VS_BENCH_HIGHER_BETTER};
                        if (b->opts.quick && !quick_cell(iso, neighbours[n]))
                                continue;
                        for (int k = 0; k < b->opts.repeat; k++) {
                                vs_bench_progress(b, "%s beside %s (%s)", vs[v].test, neighbours[n],
                                                  iso->name);
                                struct vs_bench_proc np;
                                vs_error *err = NULL;
                                /* The neighbour outlasts the victim's run. */
                                if (start_neighbour(b, iso, neighbours[n], secs + 0.8, &np, &err) <
                                    0) {
                                        vs_bench_skip(b, &key, "%s", err->msg);
                                        vs_error_free(&err);
                                        break;
                                }
                                run_victim(b, &vs[v], neighbours[n], iso->name, iso->pin_victim,
                                           secs);
                                vs_bench_reap(&np, 30, NULL);
                        }
                }
        }
}

int vs_bench_suite_interference(struct vs_bench *b, vs_error **err)
{
        (void) err;
        _cleanup_free_ char *setup_msg = NULL;
        const char *setup_err = vs_bench_setup_all(b, &setup_msg);
        double secs = b->opts.quick ? 1 : 3;
        size_t nv = b->opts.quick ? 1 : sizeof(victims) / sizeof(victims[0]);
        for (size_t i = 0; i < sizeof(isolations) / sizeof(isolations[0]); i++)
                one_isolation(b, &isolations[i], victims, nv, setup_err, secs);
        vs_bench_workload_release(b);
        return 0;
}
