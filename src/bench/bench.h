/* vessel bench: native vs container vs VM on the user's own machine.
 *
 * A run (struct vs_bench) executes suites; a suite measures and records
 * samples. A sample is one number under a key of six parts:
 *
 *   suite    "start" | "overhead" | "interference" | "density"
 *   test     what ran: "cpu-kernel", "stream-triad", "fio-randread-4k",
 *            "iperf3-tcp", "first-instruction", "victim-cpu", "idle"...
 *   variant  the condition: "" (none), the neighbour ("alone", "fork-bomb",
 *            "malloc-bomb", "disk-bomb", "udp-flood", "cpu-hog") for
 *            interference, the instance count ("1", "10", "50") for density
 *   backend  "native" | "container" | "vm" for start/overhead/density; for
 *            interference the neighbour's isolation: "cpu-shares", "cpuset",
 *            "container-default", "container-limits", "vm"
 *   metric   "ops_per_s", "MB_per_s", "iops", "ms", "us", "pss_MiB",
 *            "responsive_ms"... with its unit and its direction
 *
 * Samples under one key are the repeats (--repeat N): the report shows their
 * median and min-max. Ratios are derived, never recorded: overhead and
 * start against backend "native" of the same test/variant/metric;
 * interference as slowdown = alone / with-neighbour (higher-is-better
 * metrics) or with / alone (lower-is-better) under the same backend;
 * density as growth over variant "1".
 *
 * A cell that cannot run here (a missing tool, no VM kernel, not root) is
 * recorded with vs_bench_skip() and a one-line reason, which the report and
 * results.json carry.
 *
 * Layering: suites (src/bench/suite_*.c) use this API and the workload
 * helpers; the report (results.json, report.html) reads only the recorded
 * samples and the machine facts. */
#ifndef VESSEL_BENCH_BENCH_H
#define VESSEL_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "util/error.h"

enum vs_bench_backend {
        VS_BENCH_NATIVE = 1 << 0,
        VS_BENCH_CONTAINER = 1 << 1,
        VS_BENCH_VM = 1 << 2,
};

struct vs_bench_opts {
        bool quick;          /* the CI-sized run: fewer, shorter cells */
        int repeat;          /* samples per cell, >= 1 */
        unsigned backends;   /* VS_BENCH_* chosen by --isolation */
        const char *output;  /* --output DIR, or NULL: no files written */
        bool json;           /* --json: results.json on stdout */
        const char *vessel;  /* the vessel binary that runs containers and VMs */
        const char *workdir; /* scratch directory of this run (removed after) */
};

enum vs_bench_dir {
        VS_BENCH_HIGHER_BETTER, /* throughput, ops/s */
        VS_BENCH_LOWER_BETTER,  /* time, latency, memory */
};

struct vs_bench_key {
        const char *suite, *test, *variant, *backend, *metric, *unit;
        enum vs_bench_dir dir;
};

/* One key and all its samples, in recording order. */
struct vs_bench_series {
        struct vs_bench_key key; /* strings owned by the series */
        double *v;
        size_t n;
        char *skip; /* non-NULL: the cell did not run; why */
};

struct vs_bench {
        struct vs_bench_opts opts;
        struct vs_bench_series *series;
        size_t nseries;
        json_object *machine; /* CPU model, cores, memory, kernel, cgroup mode, accelerator */
        const char *suite;    /* the suite running now, for progress lines */
};

/* Appends value to the series of key (created on first use). */
void vs_bench_record(struct vs_bench *b, const struct vs_bench_key *key, double value);
/* Marks key's cell as skipped, with a reason (printf format); printed once. */
void vs_bench_skip(struct vs_bench *b, const struct vs_bench_key *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The series of key, or NULL. Only suite/test/variant/backend/metric match. */
const struct vs_bench_series *vs_bench_find(const struct vs_bench *b,
                                            const struct vs_bench_key *key);
/* A progress line on a terminal (transient) and in --debug logs. */
void vs_bench_progress(struct vs_bench *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bool vs_bench_wants(const struct vs_bench *b, enum vs_bench_backend backend);
const char *vs_bench_backend_name(enum vs_bench_backend backend);

/* Every series as results.json's "results" array:
 * [{"suite","test","variant","backend","metric","unit","higher_is_better",
 *   "samples":[...], "skipped": "why" (only when skipped)}] */
json_object *vs_bench_results_json(const struct vs_bench *b);
void vs_bench_free(struct vs_bench *b);
/* Whether --blkio-weight can apply here: a block device with the BFQ
 * scheduler, or cgroup v2's iocost (src/bench/machine.c). */
bool vs_bench_io_weight(void);

/* A suite: measures and records; returns -1 with *err only when the whole
 * run must stop (a cell that cannot run is skipped, not an error). */
struct vs_bench_suite {
        const char *name;
        const char *summary;
        int (*run)(struct vs_bench *b, vs_error **err);
};

/* The suites in report order, ending with {NULL}. */
extern const struct vs_bench_suite vs_bench_suites[];

#endif
