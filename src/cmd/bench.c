/* vessel bench [SUITE...]: runs the suites of src/bench/ and writes
 * results.json (and the report) to --output, or the JSON to stdout with
 * --json. docs/bench.md. */
#include "bench/bench.h"
#include "bench/report.h"
#include "bench/workload.h"
#include "cmd/cmd.h"
#include "cmd/options.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned backends_chosen;

static int parse_isolation(const struct vs_option *o, const char *value, vs_error **err)
{
        (void) o;
        backends_chosen = 0;
        _cleanup_free_ char *copy = xstrdup(value);
        char *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (strcmp(t, "native") == 0)
                        backends_chosen |= VS_BENCH_NATIVE;
                else if (strcmp(t, "container") == 0)
                        backends_chosen |= VS_BENCH_CONTAINER;
                else if (strcmp(t, "vm") == 0)
                        backends_chosen |= VS_BENCH_VM;
                else
                        return vs_fail(err,
                                       "invalid value '%s' for --isolation: '%s' is not one of "
                                       "native, container, vm",
                                       value, t);
        }
        if (backends_chosen == 0)
                return vs_fail(err, "invalid value '%s' for --isolation: no backend named", value);
        return 0;
}

static const struct vs_bench_suite *suite_named(const char *name)
{
        for (const struct vs_bench_suite *s = vs_bench_suites; s->name; s++)
                if (strcmp(s->name, name) == 0)
                        return s;
        return NULL;
}

/* The help's summary: what bench does, and its suites (from the table). */
static char *suites_help(void)
{
        char *text = xstrdup("Measure native, container and VM overhead and interference on "
                             "this machine.\n\nSuites (all when none is named):");
        for (const struct vs_bench_suite *s = vs_bench_suites; s->name; s++) {
                char *t = xasprintf("%s\n  %-14s %s", text, s->name, s->summary);
                free(text);
                text = t;
        }
        return text;
}

static int write_results(struct vs_bench *b, bool to_stdout, vs_error **err)
{
        json_object *doc = json_object_new_object();
        json_object_object_add(doc, "machine", b->machine ? json_object_get(b->machine) : NULL);
        json_object_object_add(doc, "results", vs_bench_results_json(b));
        const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
                                                                   JSON_C_TO_STRING_NOSLASHESCAPE);
        int r = 0;
        if (b->opts.output) {
                _cleanup_free_ char *path = xasprintf("%s/results.json", b->opts.output);
                r = vs_write_output(path, text, strlen(text), 0644, false, err);
        }
        if (r == 0 && to_stdout)
                printf("%s\n", text);
        json_object_put(doc);
        return r;
}

int cmd_bench(int argc, char **argv)
{
        bool quick = false, json = false;
        int repeat = 0;
        const char *output = NULL;
        backends_chosen = VS_BENCH_NATIVE | VS_BENCH_CONTAINER | VS_BENCH_VM;
        const struct vs_option opts[] = {
            {"quick", 0, VS_OPT_BOOL, &quick, NULL, "the short run (minutes, CI-sized)"},
            {"isolation", 0, VS_OPT_CALLBACK, NULL, "LIST",
             "backends to compare: native,container,vm (default all)", parse_isolation},
            {"repeat", 0, VS_OPT_INT, &repeat, "N", "samples per cell (default 3; quick 1)"},
            {"output", 'o', VS_OPT_STRING, &output, "DIR", "write results.json and report.html"},
            {"json", 0, VS_OPT_BOOL, &json, NULL, "print results.json on stdout"},
            VS_OPT_TABLE_END,
        };
        _cleanup_free_ char *summary = suites_help();
        struct vs_cmdline cl = {"bench", "[OPTIONS] [SUITE...]", summary, opts,
                                VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (repeat < 0 || repeat > 1000)
                return vs_usage_error("bench", "invalid value '%d' for --repeat: not in 1..1000",
                                      repeat);
        for (int i = first; i < argc; i++)
                if (!suite_named(argv[i]))
                        return vs_usage_error("bench", "unknown suite '%s'", argv[i]);

        vs_error *err = NULL;
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n < 0) {
                vs_fail_errno(&err, "bench: cannot find the vessel binary (/proc/self/exe)");
                return vs_report_error(&err);
        }
        self[n] = '\0';
        /* The suites run `vessel run`, `vessel import`...: the same data
         * root as this command, whatever chose it (--data-root included). */
        if (vs_globals.data_root)
                setenv("VESSEL_ROOT", vs_globals.data_root, 1);
        const char *tmp = getenv("TMPDIR");
        _cleanup_free_ char *work = NULL;
        _cleanup_close_ int lockfd = -1;
        if (vs_bench_scratch_create(self, tmp && *tmp ? tmp : "/tmp", &work, &lockfd, &err) < 0)
                return vs_report_error(&err);
        vs_bench_scratch_on_signals(self, work);
        struct vs_bench b = {
            .opts = {.quick = quick,
                     .repeat = repeat ? repeat : (quick ? 1 : 3),
                     .backends = backends_chosen,
                     .output = output,
                     .json = json,
                     .vessel = self,
                     .workdir = work},
        };
        b.machine = vs_bench_machine();
        int status = 0;
        if (output && vs_mkdir_p(output, 0755, &err) < 0)
                goto fail;
        for (const struct vs_bench_suite *s = vs_bench_suites; s->name; s++) {
                bool chosen = first == argc;
                for (int i = first; i < argc && !chosen; i++)
                        chosen = strcmp(argv[i], s->name) == 0;
                if (!chosen)
                        continue;
                b.suite = s->name;
                if (s->run(&b, &err) < 0) {
                        vs_error_wrap(&err, "bench %s", s->name);
                        goto fail;
                }
        }
        b.suite = NULL;
        if (isatty(STDERR_FILENO))
                vs_progress_clear();
        if (write_results(&b, json, &err) < 0)
                goto fail;
        if (output && vs_bench_report_write(&b, output, &err) < 0)
                goto fail;
        goto out;
fail:
        if (isatty(STDERR_FILENO))
                vs_progress_clear();
        status = vs_report_error(&err);
out:
        vs_rm_rf(work, NULL);
        vs_bench_free(&b);
        return status;
}
