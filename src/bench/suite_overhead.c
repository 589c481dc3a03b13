/* The overhead suite: the same CPU, memory, disk and network workloads
 * natively, in a container and in a VM; the report divides each by native
 * (docs/bench-suites.md). */
#include "bench/suite_common.h"
#include "bench/workload_suites.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUITE "overhead"

static const char *secs_str(struct vs_bench *b, double quick, double full, char buf[16])
{
        snprintf(buf, 16, "%g", b->opts.quick ? quick : full);
        return buf;
}

static void worker_cells(struct vs_bench *b, const char *setup_err)
{
        char s[16], mib_stream[8], mib_lat[8];
        snprintf(mib_stream, sizeof(mib_stream), "%d", b->opts.quick ? 96 : 192);
        snprintf(mib_lat, sizeof(mib_lat), "%d", b->opts.quick ? 32 : 128);
        struct {
                const char *test, *kind, *mib, *metric, *unit;
                enum vs_bench_dir dir;
        } tests[] = {
            {"cpu-kernel", "cpu", NULL, "ops_per_s", "ops/s", VS_BENCH_HIGHER_BETTER},
            {"stream-triad", "stream", mib_stream, "MB_per_s", "MB/s", VS_BENCH_HIGHER_BETTER},
            {"memory-latency", "latency", mib_lat, "ns", "ns", VS_BENCH_LOWER_BETTER},
        };
        secs_str(b, 1, 5, s);
        for (size_t t = 0; t < sizeof(tests) / sizeof(tests[0]); t++)
                for (size_t i = 0; i < 3; i++) {
                        enum vs_bench_backend be = vs_bench_all_backends[i];
                        struct vs_bench_key key = {
                            SUITE,           tests[t].test, "",          vs_bench_backend_name(be),
                            tests[t].metric, tests[t].unit, tests[t].dir};
                        if (b->opts.quick && be == VS_BENCH_VM && t > 0) {
                                if (vs_bench_wants(b, be))
                                        vs_bench_skip(b, &key,
                                                      "--quick: the VM runs the cpu "
                                                      "kernel only (a TCG boot per cell)");
                                continue;
                        }
                        if (!vs_bench_cell_can_run(b, &key, be, setup_err))
                                continue;
                        char *argv[] = {"vessel", "bench-worker",        (char *) tests[t].kind,
                                        s,        (char *) tests[t].mib, NULL};
                        struct vs_bench_run r = {.backend = be, .argv = argv, .timeout = 180};
                        vs_bench_cell(b, &key, &r, vs_bench_parse_kv, tests[t].metric);
                }
}

/* "stress-ng: metrc: [pid] cpu  395  1.01  0.24  0.00  391.17  1610.43":
 * bogo ops/s over real time, the fifth number. */
static double parse_stress_ng(const char *out, const void *arg)
{
        (void) arg;
        for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                const char *m = strstr(l, "metrc:");
                const char *nl = strchr(l, '\n');
                if (!m || (nl && m > nl))
                        continue;
                const char *c = strstr(m, "] cpu ");
                if (!c || (nl && c > nl))
                        continue;
                double v[5];
                if (sscanf(c + 6, "%lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4]) == 5)
                        return v[4];
        }
        return NAN;
}

/* Whether the host tool the cell runs is in the workload image; records
 * the skip for a chosen backend when it is not. */
static bool tool_here(struct vs_bench *b, const struct vs_bench_key *key, enum vs_bench_backend be,
                      const char *tool)
{
        if (vs_bench_tool(tool))
                return true;
        if (vs_bench_wants(b, be))
                vs_bench_skip(b, key, "%s is not installed (apt-get install %s; scripts/deps.sh)",
                              tool, tool);
        return false;
}

static void stress_ng_cells(struct vs_bench *b, const char *setup_err)
{
        static const char *const quick_methods[] = {"int64", NULL};
        static const char *const full_methods[] = {"int64", "double", "matrixprod", "fft", NULL};
        const char *const *methods = b->opts.quick ? quick_methods : full_methods;
        char s[16];
        secs_str(b, 1, 5, s);
        for (size_t m = 0; methods[m]; m++)
                for (size_t i = 0; i < 3; i++) {
                        enum vs_bench_backend be = vs_bench_all_backends[i];
                        struct vs_bench_key key = {SUITE,
                                                   "stress-ng-cpu",
                                                   methods[m],
                                                   vs_bench_backend_name(be),
                                                   "bogo_ops_per_s",
                                                   "bogo ops/s",
                                                   VS_BENCH_HIGHER_BETTER};
                        if (!tool_here(b, &key, be, "stress-ng"))
                                continue;
                        if (b->opts.quick && be == VS_BENCH_VM) {
                                if (vs_bench_wants(b, be))
                                        vs_bench_skip(b, &key,
                                                      "--quick: the VM runs the cpu "
                                                      "kernel only (a TCG boot per cell)");
                                continue;
                        }
                        if (!vs_bench_cell_can_run(b, &key, be, setup_err))
                                continue;
                        _cleanup_free_ char *method = xasprintf("--cpu-method=%s", methods[m]);
                        char *argv[] = {"/usr/bin/stress-ng", "--cpu",    "1", method, "-t", s,
                                        "--metrics-brief",    "--stdout", NULL};
                        struct vs_bench_run r = {.backend = be, .argv = argv, .timeout = 180};
                        vs_bench_cell(b, &key, &r, parse_stress_ng, NULL);
                }
}

static void record_fio(struct vs_bench *b, const char *out, const char *variant, const char *be,
                       bool *ok)
{
        json_object *doc = json_tokener_parse(out), *jobs;
        if (!doc || !json_object_object_get_ex(doc, "jobs", &jobs)) {
                json_object_put(doc);
                return;
        }
        for (size_t i = 0; i < json_object_array_length(jobs); i++) {
                json_object *j = json_object_array_get_idx(jobs, i), *name, *rd, *wr, *x;
                if (!json_object_object_get_ex(j, "jobname", &name) ||
                    !json_object_object_get_ex(j, "read", &rd) ||
                    !json_object_object_get_ex(j, "write", &wr))
                        continue;
                const char *n = json_object_get_string(name);
                bool write = strstr(n, "write") != NULL;
                json_object *side = write ? wr : rd;
                bool seq = strncmp(n, "seq", 3) == 0;
                if (!json_object_object_get_ex(side, seq ? "bw" : "iops", &x))
                        continue;
                double v = json_object_get_double(x);
                _cleanup_free_ char *test = xasprintf("fio-%s", n);
                struct vs_bench_key key = {SUITE,
                                           test,
                                           variant,
                                           be,
                                           seq ? "MB_per_s" : "iops",
                                           seq ? "MB/s" : "IOPS",
                                           VS_BENCH_HIGHER_BETTER};
                if (v > 0) {
                        vs_bench_record(b, &key, seq ? v * 1024 / 1e6 : v);
                        *ok = true;
                }
        }
        json_object_put(doc);
}

static char **fio_argv(struct vs_bench *b, const char *dir)
{
        char **v = xcalloc(1, sizeof(char *));
        const char *rt = b->opts.quick ? "500ms" : "3s";
        _cleanup_free_ char *d = xasprintf("--directory=%s", dir);
        _cleanup_free_ char *r = xasprintf("--runtime=%s", rt);
        /* fio lays its file out first: small in --quick, past the page
         * cache's reach matters less with O_DIRECT. */
        _cleanup_free_ char *size = xasprintf("--size=%s", b->opts.quick ? "8M" : "256M");
        const char *const common[] = {
            "/usr/bin/fio", "--output-format=json", d, size,         "--ioengine=psync",
            "--direct=1",   "--time_based",         r, "--unlink=1", "--group_reporting=0"};
        for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
                strv_push(&v, common[i]);
        const char *const jobs[][3] = {{"randread-4k", "randread", "4k"},
                                       {"randwrite-4k", "randwrite", "4k"},
                                       {"seqread-1m", "read", "1m"},
                                       {"seqwrite-1m", "write", "1m"}};
        size_t n = b->opts.quick ? 2 : 4;
        for (size_t j = 0; j < n; j++) {
                _cleanup_free_ char *name = xasprintf("--name=%s", jobs[j][0]);
                _cleanup_free_ char *rw = xasprintf("--rw=%s", jobs[j][1]);
                _cleanup_free_ char *bs = xasprintf("--bs=%s", jobs[j][2]);
                strv_push(&v, name);
                strv_push(&v, rw);
                strv_push(&v, bs);
                strv_push(&v, "--stonewall");
        }
        return v;
}

/* Each place runs fio once; native's one run is the baseline of every
 * place (the host has no overlay or volume in the way). */
static void fio_cells(struct vs_bench *b, const char *setup_err)
{
        static const char *const places[] = {"overlay", "volume", "vm-disk"};
        /* The host's disk is the same for every place: native runs on the
         * first and its samples (each one) stand beside the others. */
        _cleanup_strv_ char **native_outs = xcalloc(1, sizeof(char *));
        bool native_done = false;
        for (size_t p = 0; p < 3; p++) {
                enum vs_bench_backend backends[] = {VS_BENCH_NATIVE,
                                                    p == 2 ? VS_BENCH_VM : VS_BENCH_CONTAINER};
                for (size_t i = 0; i < 2; i++) {
                        enum vs_bench_backend be = backends[i];
                        struct vs_bench_key key = {SUITE,
                                                   "fio",
                                                   places[p],
                                                   vs_bench_backend_name(be),
                                                   "iops",
                                                   "IOPS",
                                                   VS_BENCH_HIGHER_BETTER};
                        if (!tool_here(b, &key, be, "fio"))
                                continue;
                        if (!vs_bench_cell_can_run(b, &key, be, setup_err))
                                continue;
                        for (int k = 0; k < b->opts.repeat; k++) {
                                bool ok = false;
                                if (be == VS_BENCH_NATIVE && native_done) {
                                        if (native_outs[k])
                                                record_fio(b, native_outs[k], places[p], "native",
                                                           &ok);
                                        continue;
                                }
                                _cleanup_free_ char *hostdir = xasprintf("%s/fio", b->opts.workdir);
                                _cleanup_free_ char *vol = xasprintf("%s:/data", hostdir);
                                vs_mkdir_p(hostdir, 0755, NULL);
                                const char *dir = be == VS_BENCH_NATIVE ? hostdir
                                                  : p == 1              ? "/data"
                                                                        : "/tmp";
                                _cleanup_strv_ char **argv = fio_argv(b, dir);
                                char *vflags[] = {"-v", vol, NULL};
                                struct vs_bench_run r = {.backend = be,
                                                         .argv = argv,
                                                         .flags = p == 1 ? vflags : NULL,
                                                         .timeout = 240};
                                vs_bench_progress(b, "fio on %s (%s)", places[p],
                                                  vs_bench_backend_name(be));
                                _cleanup_free_ char *out = NULL;
                                vs_error *err = NULL;
                                if (vs_bench_exec(b, &r, &out, NULL, &err) != 0) {
                                        vs_bench_skip(b, &key, "%s", err ? err->msg : "failed");
                                        vs_error_free(&err);
                                        break;
                                }
                                record_fio(b, out, places[p], vs_bench_backend_name(be), &ok);
                                if (!ok) {
                                        vs_bench_skip(b, &key, "fio printed no results");
                                        break;
                                }
                                if (be == VS_BENCH_NATIVE) {
                                        strv_push(&native_outs, out);
                                        native_done = k == b->opts.repeat - 1;
                                }
                        }
                }
        }
}

/* The iperf3 server: natively on the bench namespace's loopback, else a
 * container on vessel's bridge network created inside that namespace.
 * Returns the address to connect to, or NULL (skip recorded). */
static char *iperf_server(struct vs_bench *b, bool native, const char *name,
                          struct vs_bench_proc *sp, vs_error **err)
{
        char *sargv[] = {"/usr/bin/iperf3", "-s", native ? "-1" : NULL, NULL};
        char *flags[] = {"--network=bridge", NULL};
        struct vs_bench_run sr = {.backend = native ? VS_BENCH_NATIVE : VS_BENCH_CONTAINER,
                                  .argv = sargv,
                                  .name = name,
                                  .flags = flags,
                                  .detach = !native,
                                  .netns = true,
                                  .timeout = 60};
        if (native)
                return vs_bench_spawn(b, &sr, sp, err) < 0 ? NULL : xstrdup("127.0.0.1");
        _cleanup_free_ char *out = NULL;
        if (vs_bench_exec(b, &sr, &out, NULL, err) != 0)
                return NULL;
        char *argv[] = {(char *) b->opts.vessel,          "inspect",     "-f",
                        "{{.NetworkSettings.IPAddress}}", (char *) name, NULL};
        free(out);
        out = NULL;
        if (vs_bench_capture(argv, &out, 30) != 0 || strchr(out, '.') == NULL) {
                vs_fail(err, "cannot find the address of the iperf3 server container");
                return NULL;
        }
        out[strcspn(out, "\n")] = '\0';
        return steal_ptr(out);
}

static bool record_iperf(struct vs_bench *b, const char *out, bool udp,
                         const struct vs_bench_key *tcp, const struct vs_bench_key *jit,
                         const struct vs_bench_key *loss)
{
        json_object *doc = json_tokener_parse(out), *end, *sum, *x;
        bool got = false;
        if (doc && json_object_object_get_ex(doc, "end", &end)) {
                if (!udp && json_object_object_get_ex(end, "sum_received", &sum) &&
                    json_object_object_get_ex(sum, "bits_per_second", &x)) {
                        vs_bench_record(b, tcp, json_object_get_double(x) / 1e6);
                        got = true;
                }
                if (udp && json_object_object_get_ex(end, "sum", &sum) &&
                    json_object_object_get_ex(sum, "jitter_ms", &x)) {
                        vs_bench_record(b, jit, json_object_get_double(x));
                        if (json_object_object_get_ex(sum, "lost_percent", &x))
                                vs_bench_record(b, loss, json_object_get_double(x));
                        got = true;
                }
        }
        json_object_put(doc);
        return got;
}

/* One iperf3 measurement: a server, a client, both gone after. */
static void iperf_once(struct vs_bench *b, enum vs_bench_backend be, bool udp,
                       const struct vs_bench_key *tcp, const struct vs_bench_key *jit,
                       const struct vs_bench_key *loss)
{
        const char *secs = b->opts.quick ? "1" : "5";
        bool native = be == VS_BENCH_NATIVE;
        vs_bench_progress(b, "iperf3 %s on %s", udp ? "udp" : "tcp", vs_bench_backend_name(be));
        _cleanup_free_ char *server = vs_bench_new_name();
        struct vs_bench_proc sp = {.outfd = -1};
        vs_error *err = NULL;
        _cleanup_free_ char *addr = iperf_server(b, native, server, &sp, &err);
        _cleanup_free_ char *out = NULL;
        int st = -1;
        if (addr) {
                /* iperf3 maps a temporary file, which the VM's shared
                 * root cannot back. */
                char *flags[] = {"--network=bridge",
                                 be == VS_BENCH_VM ? "--env=TMPDIR=/dev/shm" : NULL, NULL};
                char *cargv[] = {"/usr/bin/iperf3", "-c", addr,   "-t", (char *) secs, "-J",
                                 udp ? "-u" : NULL, "-b", "200M", NULL};
                struct vs_bench_run cr = {.backend = be,
                                          .argv = cargv,
                                          .flags = native ? NULL : flags,
                                          .netns = true,
                                          .timeout = 120};
                /* The server needs a moment to listen. */
                int tries = native ? 15 : be == VS_BENCH_CONTAINER ? 5 : 1;
                for (int t = 0; t < tries && st != 0; t++) {
                        usleep(native ? 100000 : 400000);
                        free(out);
                        out = NULL;
                        vs_error_free(&err);
                        st = vs_bench_exec(b, &cr, &out, NULL, &err);
                }
        }
        if (native && sp.outfd >= 0)
                vs_bench_reap(&sp, 5, NULL);
        if (!native)
                vs_bench_rm(b, server);
        if (st != 0 || !record_iperf(b, out, udp, tcp, jit, loss))
                vs_bench_skip(b, udp ? jit : tcp, "iperf3 failed: %s",
                              err ? err->msg : "no result in its output");
        vs_error_free(&err);
}

/* iperf3 on the host's loopback (native), from a container (container) or
 * a VM (vm) to a container on a bridge; all inside the bench's network
 * namespace. */
static void iperf_cells(struct vs_bench *b, const char *setup_err)
{
        for (size_t i = 0; i < 3; i++) {
                enum vs_bench_backend be = vs_bench_all_backends[i];
                const char *bn = vs_bench_backend_name(be);
                struct vs_bench_key tcp = {SUITE,    "iperf3-tcp",          "", bn, "Mbit_per_s",
                                           "Mbit/s", VS_BENCH_HIGHER_BETTER};
                struct vs_bench_key jit = {SUITE, "iperf3-udp",         "", bn, "jitter_ms",
                                           "ms",  VS_BENCH_LOWER_BETTER};
                struct vs_bench_key loss = {SUITE, "iperf3-udp",         "", bn, "lost_percent",
                                            "%",   VS_BENCH_LOWER_BETTER};
                if (!vs_bench_wants(b, be))
                        continue;
                /* Both cells record the skip. */
                bool tcp_ok = tool_here(b, &tcp, be, "iperf3");
                bool jit_ok = tool_here(b, &jit, be, "iperf3");
                if (!tcp_ok || !jit_ok)
                        continue;
                if (!vs_bench_cell_can_run(b, &tcp, be, setup_err) ||
                    (be == VS_BENCH_VM && !vs_bench_workload_image()))
                        continue;
                for (int k = 0; k < b->opts.repeat; k++)
                        for (int udp = 0; udp < 2; udp++) {
                                if (udp && be == VS_BENCH_VM && b->opts.quick) {
                                        vs_bench_skip(b, &jit, "--quick: the VM runs TCP only");
                                        continue;
                                }
                                iperf_once(b, be, udp, &tcp, &jit, &loss);
                        }
        }
}

int vs_bench_suite_overhead(struct vs_bench *b, vs_error **err)
{
        (void) err;
        _cleanup_free_ char *setup_msg = NULL;
        const char *setup_err = vs_bench_setup_all(b, &setup_msg);
        worker_cells(b, setup_err);
        stress_ng_cells(b, setup_err);
        fio_cells(b, setup_err);
        iperf_cells(b, setup_err);
        vs_bench_workload_release(b);
        return 0;
}
