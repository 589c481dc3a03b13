/* What the overhead, interference and density suites share (suite_common.h). */
#include "bench/suite_common.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <math.h>
#include <string.h>

const enum vs_bench_backend vs_bench_all_backends[3] = {VS_BENCH_NATIVE, VS_BENCH_CONTAINER,
                                                        VS_BENCH_VM};

bool vs_bench_cell_can_run(struct vs_bench *b, const struct vs_bench_key *key,
                           enum vs_bench_backend be, const char *setup_error)
{
        if (!vs_bench_wants(b, be))
                return false;
        if (be != VS_BENCH_NATIVE && !vs_bench_workload_image()) {
                vs_bench_skip(b, key, "no workload image: %s",
                              setup_error ? setup_error : "setup failed");
                return false;
        }
        const char *why = NULL;
        if (be == VS_BENCH_VM && !vs_bench_vm_ready(b, &why)) {
                vs_bench_skip(b, key, "%s", why);
                return false;
        }
        return true;
}

int vs_bench_cell(struct vs_bench *b, const struct vs_bench_key *key, const struct vs_bench_run *r,
                  vs_bench_parse_fn *parse, const void *arg)
{
        for (int i = 0; i < b->opts.repeat; i++) {
                vs_bench_progress(b, "%s %s on %s (%d/%d)", key->test, key->variant, key->backend,
                                  i + 1, b->opts.repeat);
                _cleanup_free_ char *out = NULL;
                vs_error *err = NULL;
                double span = 0;
                struct vs_bench_run rr = *r;
                rr.span = &span;
                int st = vs_bench_exec(b, &rr, &out, NULL, &err);
                if (st != 0) {
                        vs_bench_skip(b, key, "%s", err ? err->msg : "failed");
                        vs_error_free(&err);
                        return -1;
                }
                double v = parse(out, arg);
                if (!(v > 0) || isinf(v)) {
                        vs_bench_skip(b, key, "no measurement in the output of %s", r->argv[0]);
                        return -1;
                }
                /* A guest's clock may run slow (TCG): rescale a worker's
                 * figure to the host's time between its "go" and its result. */
                double guest = vs_bench_out_value(out, "secs");
                if (r->backend == VS_BENCH_VM && guest > 0 && span > 0 && strstr(out, "go\n"))
                        v = key->dir == VS_BENCH_HIGHER_BETTER ? v * guest / span
                                                               : v * span / guest;
                vs_bench_record(b, key, v);
        }
        return 0;
}

double vs_bench_parse_kv(const char *out, const void *arg)
{
        return vs_bench_out_value(out, arg);
}

const char *vs_bench_setup_all(struct vs_bench *b, char **msg)
{
        vs_error *err = NULL;
        *msg = NULL;
        if (vs_bench_workload_setup(b, &err) < 0) {
                *msg = xstrdup(err->msg);
                vs_error_free(&err);
        }
        return *msg;
}
