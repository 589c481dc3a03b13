/* The workloads of vessel bench and how they run on each backend
 * (docs/bench-suites.md).
 *
 * The workload image: vessel's own binary (whose hidden `bench-worker`
 * command holds the compute, memory, disk and network kernels and the
 * neighbours, worker.c) plus stress-ng, fio and iperf3 when the host has
 * them, each with the shared libraries the dynamic loader resolves for it
 * (`ld.so --list`), copied into a root filesystem and imported with
 * `vessel import` under a name that hashes their contents
 * (vessel-bench-workload:<12 hex>): a second run finds and reuses it.
 *
 * Runners: native (fork+exec of the same files on the host), container
 * (`vessel run --rm`) and VM (`vessel run --rm --isolation=vm`). Every
 * container the bench makes is named vessel-bench-<bench pid>-<n>: the
 * label by which the next run removes what a killed run left behind.
 * Runs that need a network run in a network namespace of the bench's own
 * (vs_bench_netns), held by a child that dies with the bench. */
#ifndef VESSEL_BENCH_WORKLOAD_H
#define VESSEL_BENCH_WORKLOAD_H

#include <stdbool.h>
#include <sys/types.h>

#include "bench/bench.h"

#define VS_BENCH_NAME_PREFIX "vessel-bench-"

/* `vessel bench-worker ...` (worker.c). */
int vs_bench_worker(int argc, char **argv);
/* CLOCK_MONOTONIC in seconds. */
double vs_bench_now(void);

/* Once per run: removes containers left by bench runs that are gone, and
 * builds or finds the workload image. Returns -1 with *err only when the
 * image cannot be made at all (then every container/VM cell is skipped by
 * the caller with the message). */
int vs_bench_workload_setup(struct vs_bench *b, vs_error **err);
/* The image reference, or NULL before a successful setup. */
const char *vs_bench_workload_image(void);
/* A host tool by name ("fio", "stress-ng", "iperf3"): its absolute path
 * when the image carries it (setup found it on the host), else NULL. */
const char *vs_bench_tool(const char *name);
/* The last non-empty line of the file at path (a command's stderr), for a
 * skip reason or an error message; none when it is empty or unreadable. */
char *vs_bench_last_line(const char *path, const char *none);
/* The ELF interpreter (PT_INTERP) of path, or NULL (static, or not ELF). */
char *vs_bench_elf_interp(const char *path);
/* Appends to *libs the absolute paths `ld.so --list` printed in text. */
void vs_bench_parse_ldlist(const char *text, char ***libs);
/* Whether VMs can run here; false with a reason in *why (static text). */
bool vs_bench_vm_ready(struct vs_bench *b, const char **why);

/* One workload run. */
struct vs_bench_run {
        enum vs_bench_backend backend;
        char *const *argv;  /* the workload: argv[0] a path in the image/host */
        char *const *flags; /* extra `vessel run` flags (container, vm) */
        const char *name;   /* container name; NULL: a fresh bench name */
        bool detach;        /* vessel run -d: returns once started */
        bool netns;         /* in the bench's network namespace */
        double timeout;     /* seconds; then the run is killed (and removed) */
        double *span;       /* optional: seconds between its first and last output */
        int pin_cpu;        /* native: the CPU to run on, plus 1 (0: any) */
};

/* Runs r to its end: *out gets its stdout (always set, maybe empty), *secs
 * the wall time, the return value its exit status (-1 with *err when it
 * could not start or timed out). */
int vs_bench_exec(struct vs_bench *b, const struct vs_bench_run *r, char **out, double *secs,
                  vs_error **err);

/* Started, not waited for: *pid is the child (vessel run, or the native
 * workload), *outfd its stdout (read end), *name the container name. */
struct vs_bench_proc {
        pid_t pid;
        int outfd;
        char *name;
        enum vs_bench_backend backend;
        double started;
        double first_out, last_out; /* when output first and last arrived */
};
int vs_bench_spawn(struct vs_bench *b, const struct vs_bench_run *r, struct vs_bench_proc *p,
                   vs_error **err);
/* Waits up to timeout seconds for p, then kills it (and removes its
 * container); returns its exit status, or -1 when it had to be killed.
 * *out (optional) gets what it printed. Always releases p. */
int vs_bench_reap(struct vs_bench_proc *p, double timeout, char **out);
/* `vessel rm -f NAME`, quietly. */
void vs_bench_rm(struct vs_bench *b, const char *name);
/* A fresh container name (vessel-bench-<pid>-<n>), to free. */
char *vs_bench_new_name(void);

/* The value of `key=` in a worker's output line, or NAN. */
double vs_bench_out_value(const char *out, const char *key);

/* The bench's network namespace (created on first use, loopback up):
 * an fd to setns() into, or -1 with *err. */
int vs_bench_netns(vs_error **err);
/* Ends the namespace holder and removes this run's containers. */
void vs_bench_workload_release(struct vs_bench *b);

/* Runs argv on the host with stdout captured (a helper for `vessel ps`,
 * `vessel inspect`...); returns the exit status or -1. */
int vs_bench_capture(char *const *argv, char **out, double timeout);
/* The same with envp as the environment (NULL: this process's). */
int vs_bench_capture_env(char *const *argv, char *const *envp, char **out, double timeout);

/* The scratch directory (scratch.c): the start suite's own data and runtime
 * roots live in it (VS_BENCH_START_DATA, VS_BENCH_START_RUN), beside a lock
 * file the bench holds while it runs. */
#define VS_BENCH_START_DATA "start-data"
#define VS_BENCH_START_RUN  "start-run"
/* Creates the scratch directory under tmpdir and locks it (*lockfd, close
 * on exec); first removes the scratch directories of bench runs that are
 * gone (their lock is free): their containers and VMs, then the files. */
int vs_bench_scratch_create(const char *vessel, const char *tmpdir, char **work, int *lockfd,
                            vs_error **err);
/* Removes the containers and VMs of the start suite's store in work. */
void vs_bench_scratch_clear(const char *vessel, const char *work);
/* From here on SIGINT, SIGTERM and SIGHUP replace this process with
 * `vessel bench-worker cleanup WORK SIGNAL` (same pid, so the containers
 * named after it are found): it removes this run's containers, VMs and
 * scratch directory, then dies of the signal. */
void vs_bench_scratch_on_signals(const char *vessel, const char *work);
/* Removes the containers this run made in the user's store (named
 * vessel-bench-<this pid>-<n>). */
void vs_bench_rm_own(const char *vessel);
/* bench-worker cleanup WORK SIGNAL. */
int vs_bench_scratch_cleanup_main(int argc, char **argv);

#endif
