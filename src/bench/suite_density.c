/* The density suite: N idle containers or VMs started at once; the time
 * until every one is ready and the PSS each costs the host
 * (docs/bench-suites.md). */
#include "bench/suite_common.h"
#include "bench/workload_suites.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUITE "density"

static pid_t parent_of(pid_t pid)
{
        _cleanup_free_ char *path = xasprintf("/proc/%d/stat", (int) pid), *text = NULL;
        size_t len = 0;
        if (vs_read_file(path, &text, &len, NULL) < 0)
                return -1;
        /* "pid (comm) S ppid ...": comm may hold spaces and parentheses. */
        char *rp = strrchr(text, ')');
        int ppid = -1;
        if (!rp || sscanf(rp + 1, " %*c %d", &ppid) != 1)
                return -1;
        return ppid;
}

/* Pss of one process from smaps_rollup, in KiB (0 when gone). */
static double pss_kib(pid_t pid)
{
        _cleanup_free_ char *path = xasprintf("/proc/%d/smaps_rollup", (int) pid), *text = NULL;
        size_t len = 0;
        if (vs_read_file(path, &text, &len, NULL) < 0)
                return 0;
        const char *p = strstr(text, "\nPss:");
        return p ? strtod(p + 5, NULL) : 0;
}

/* The PSS of an instance: its monitor (the parent of State.Pid), State.Pid
 * (the payload's init, or the VM's launcher) and every descendant (QEMU). */
static double instance_pss_mib(pid_t top)
{
        pid_t *set = xcalloc(1, sizeof(pid_t));
        size_t n = 0;
        set[n++] = top;
        /* Descendants: repeat passes over /proc until none is added. */
        for (bool added = true; added;) {
                added = false;
                DIR *d = opendir("/proc");
                struct dirent *e;
                while (d && (e = readdir(d))) {
                        pid_t pid = atoi(e->d_name);
                        if (pid <= 0)
                                continue;
                        bool have = false;
                        for (size_t i = 0; i < n && !have; i++)
                                have = set[i] == pid;
                        if (have)
                                continue;
                        pid_t pp = parent_of(pid);
                        for (size_t i = 0; i < n; i++)
                                if (set[i] == pp) {
                                        set = xrealloc(set, (n + 1) * sizeof(pid_t));
                                        set[n++] = pid;
                                        added = true;
                                        break;
                                }
                }
                if (d)
                        closedir(d);
        }
        double kib = pss_kib(parent_of(top));
        for (size_t i = 0; i < n; i++)
                kib += pss_kib(set[i]);
        free(set);
        return kib / 1024;
}

static pid_t state_pid(struct vs_bench *b, const char *name)
{
        char *argv[] = {(char *) b->opts.vessel, "inspect",     "-f",
                        "{{.State.Pid}}",        (char *) name, NULL};
        _cleanup_free_ char *out = NULL;
        if (vs_bench_capture(argv, &out, 30) != 0)
                return -1;
        return (pid_t) atoi(out);
}

static bool is_ready(struct vs_bench *b, const char *name)
{
        char *argv[] = {(char *) b->opts.vessel, "logs", (char *) name, NULL};
        _cleanup_free_ char *out = NULL;
        return vs_bench_capture(argv, &out, 30) == 0 && strstr(out, "ready") != NULL;
}

static void remove_all(struct vs_bench *b, char **names, int n)
{
        _cleanup_strv_ char **argv = xcalloc(1, sizeof(char *));
        strv_push(&argv, b->opts.vessel);
        strv_push(&argv, "rm");
        strv_push(&argv, "-f");
        for (int i = 0; i < n; i++)
                if (names[i])
                        strv_push(&argv, names[i]);
        _cleanup_free_ char *out = NULL;
        vs_bench_capture(argv, &out, 300);
}

/* N instances started together (`vessel run -d` each, all at once); ready
 * when each one's payload printed "ready". */
static void one_n(struct vs_bench *b, enum vs_bench_backend be, int n)
{
        char variant[16];
        snprintf(variant, sizeof(variant), "%d", n);
        const char *bn = vs_bench_backend_name(be);
        struct vs_bench_key ready = {SUITE, "start-all",          variant, bn, "ms",
                                     "ms",  VS_BENCH_LOWER_BETTER};
        struct vs_bench_key pss = {
            SUITE, "idle", variant, bn, "pss_MiB", "MiB", VS_BENCH_LOWER_BETTER};
        char **names = xcalloc((size_t) n, sizeof(char *));
        struct vs_bench_proc *procs = xcalloc((size_t) n, sizeof(*procs));
        char *argv[] = {"vessel", "bench-worker", "idle", NULL};
        char *vmflags[] = {"--memory=256m", NULL};
        vs_bench_progress(b, "starting %d idle %s instances", n, bn);
        double t0 = vs_bench_now();
        const char *failure = NULL;
        _cleanup_free_ char *why = NULL;
        for (int i = 0; i < n; i++) {
                names[i] = vs_bench_new_name();
                struct vs_bench_run r = {.backend = be,
                                         .argv = argv,
                                         .name = names[i],
                                         .flags = be == VS_BENCH_VM ? vmflags : NULL,
                                         .detach = true,
                                         .timeout = 120};
                vs_error *err = NULL;
                if (vs_bench_spawn(b, &r, &procs[i], &err) < 0) {
                        why = xstrdup(err->msg);
                        vs_error_free(&err);
                        procs[i].pid = 0;
                }
        }
        for (int i = 0; i < n; i++)
                if (procs[i].pid > 0 && vs_bench_reap(&procs[i], 120, NULL) != 0 && !why)
                        why = xasprintf("`vessel run -d` of %s failed", names[i]);
        bool *done = xcalloc((size_t) n, sizeof(bool));
        int left = why ? 0 : n;
        double deadline = vs_bench_now() + (be == VS_BENCH_VM ? 60.0 + 10.0 * n : 60.0);
        while (left > 0 && vs_bench_now() < deadline) {
                for (int i = 0; i < n; i++)
                        if (!done[i] && is_ready(b, names[i])) {
                                done[i] = true;
                                left--;
                        }
                if (left > 0)
                        usleep(50000);
        }
        double ms = (vs_bench_now() - t0) * 1000;
        if (!why && left > 0)
                why = xasprintf("%d of %d instances were not ready within %.0f s", left, n,
                                (deadline - t0));
        if (why) {
                failure = why;
                vs_bench_skip(b, &ready, "%s", failure);
        } else {
                vs_bench_record(b, &ready, ms);
                double total = 0;
                for (int i = 0; i < n; i++) {
                        pid_t pid = state_pid(b, names[i]);
                        if (pid > 0)
                                total += instance_pss_mib(pid);
                }
                if (total > 0)
                        vs_bench_record(b, &pss, total / n);
                else
                        vs_bench_skip(b, &pss, "no process of the instances found");
        }
        vs_bench_progress(b, "removing %d %s instances", n, bn);
        remove_all(b, names, n);
        for (int i = 0; i < n; i++)
                free(names[i]);
        free(names);
        free(procs);
        free(done);
}

int vs_bench_suite_density(struct vs_bench *b, vs_error **err)
{
        (void) err;
        _cleanup_free_ char *setup_msg = NULL;
        const char *setup_err = vs_bench_setup_all(b, &setup_msg);
        static const int quick_ns[] = {1, 5, 0}, full_ns[] = {1, 10, 50, 0};
        const int *ns = b->opts.quick ? quick_ns : full_ns;
        for (size_t i = 1; i < 3; i++) {
                enum vs_bench_backend be = vs_bench_all_backends[i];
                for (size_t k = 0; ns[k]; k++) {
                        char variant[16];
                        snprintf(variant, sizeof(variant), "%d", ns[k]);
                        struct vs_bench_key key = {
                            SUITE, "start-all",          variant, vs_bench_backend_name(be), "ms",
                            "ms",  VS_BENCH_LOWER_BETTER};
                        if (!vs_bench_cell_can_run(b, &key, be, setup_err))
                                continue;
                        for (int r = 0; r < b->opts.repeat; r++)
                                one_n(b, be, ns[k]);
                }
        }
        vs_bench_workload_release(b);
        return 0;
}
