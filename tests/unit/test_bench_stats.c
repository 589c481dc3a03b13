/* vessel bench: the statistics (median, min-max, ratios to the baseline
 * per suite, their spread), results.json's schema, the machine facts, and
 * the report rendered from a hand-made run (every suite's chart kind,
 * hostile names escaped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bench/bench.h"
#include "bench/report.h"
#include "bench/stats.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static void rec(struct vs_bench *b, const char *suite, const char *test, const char *variant,
                const char *backend, const char *metric, enum vs_bench_dir dir, const double *v,
                size_t n)
{
        struct vs_bench_key k = {suite, test, variant, backend, metric, metric, dir};
        for (size_t i = 0; i < n; i++)
                vs_bench_record(b, &k, v[i]);
}

static const struct vs_bench_series *find(const struct vs_bench *b, const char *suite,
                                          const char *test, const char *variant,
                                          const char *backend, const char *metric)
{
        struct vs_bench_key k = {suite, test, variant, backend, metric, NULL, 0};
        const struct vs_bench_series *s = vs_bench_find(b, &k);
        assert_non_null(s);
        return s;
}

static void test_stat(void **state)
{
        struct vs_bench_stat st;
        const double odd[] = {5, 1, 3};
        assert_int_equal(vs_bench_stat(odd, 3, &st), 0);
        assert_true(st.median == 3 && st.min == 1 && st.max == 5 && st.n == 3);
        const double even[] = {4, 1, 10, 2};
        assert_int_equal(vs_bench_stat(even, 4, &st), 0);
        assert_true(st.median == 3 && st.min == 1 && st.max == 10);
        const double one[] = {7.5};
        assert_int_equal(vs_bench_stat(one, 1, &st), 0);
        assert_true(st.median == 7.5 && st.min == 7.5 && st.max == 7.5);
        assert_int_equal(vs_bench_stat(NULL, 0, &st), -1);
        assert_int_equal(st.n, 0);
        /* The caller's order is left alone. */
        assert_true(odd[0] == 5 && even[2] == 10);
}

static void test_ratio_overhead(void **state)
{
        struct vs_bench b = {.opts = {.repeat = 3}};
        const double nat[] = {100, 110, 90}, ctr[] = {99, 95, 100};
        rec(&b, "overhead", "cpu", "", "native", "ops_per_s", VS_BENCH_HIGHER_BETTER, nat, 3);
        rec(&b, "overhead", "cpu", "", "container", "ops_per_s", VS_BENCH_HIGHER_BETTER, ctr, 3);
        const double nat_ms[] = {10, 12}, vm_ms[] = {20, 30};
        rec(&b, "overhead", "lat", "", "native", "us", VS_BENCH_LOWER_BETTER, nat_ms, 2);
        rec(&b, "overhead", "lat", "", "vm", "us", VS_BENCH_LOWER_BETTER, vm_ms, 2);

        struct vs_bench_ratio r;
        assert_int_equal(
            vs_bench_ratio(&b, find(&b, "overhead", "cpu", "", "container", "ops_per_s"), &r), 0);
        assert_int_equal(r.kind, VS_BENCH_RATIO_SPEED);
        assert_float_equal(r.median, 0.99, 1e-9);
        assert_float_equal(r.lo, 95.0 / 110, 1e-9);
        assert_float_equal(r.hi, 100.0 / 90, 1e-9);
        assert_true(r.lo <= r.median && r.median <= r.hi);
        /* Lower is better: speed is native's time over the backend's. */
        assert_int_equal(vs_bench_ratio(&b, find(&b, "overhead", "lat", "", "vm", "us"), &r), 0);
        assert_float_equal(r.median, 11.0 / 25, 1e-9);
        assert_float_equal(r.lo, 10.0 / 30, 1e-9);
        assert_float_equal(r.hi, 12.0 / 20, 1e-9);
        /* The baseline has no ratio of its own. */
        assert_int_equal(
            vs_bench_ratio(&b, find(&b, "overhead", "cpu", "", "native", "ops_per_s"), &r), -1);
        vs_bench_free(&b);
}

static void test_ratio_interference_density_start(void **state)
{
        struct vs_bench b = {.opts = {.repeat = 1}};
        const double alone[] = {100}, bombed[] = {50}, alone_ms[] = {10}, bombed_ms[] = {30};
        rec(&b, "interference", "victim-cpu", "alone", "cpuset", "ops_per_s",
            VS_BENCH_HIGHER_BETTER, alone, 1);
        rec(&b, "interference", "victim-cpu", "fork-bomb", "cpuset", "ops_per_s",
            VS_BENCH_HIGHER_BETTER, bombed, 1);
        rec(&b, "interference", "victim-net", "alone", "vm", "ms", VS_BENCH_LOWER_BETTER, alone_ms,
            1);
        rec(&b, "interference", "victim-net", "udp-flood", "vm", "ms", VS_BENCH_LOWER_BETTER,
            bombed_ms, 1);
        /* A neighbour under another isolation has no "alone" of its own. */
        rec(&b, "interference", "victim-cpu", "fork-bomb", "cpu-shares", "ops_per_s",
            VS_BENCH_HIGHER_BETTER, bombed, 1);
        struct vs_bench_ratio r;
        assert_int_equal(
            vs_bench_ratio(
                &b, find(&b, "interference", "victim-cpu", "fork-bomb", "cpuset", "ops_per_s"), &r),
            0);
        assert_int_equal(r.kind, VS_BENCH_RATIO_SLOWDOWN);
        assert_float_equal(r.median, 2.0, 1e-9);
        assert_int_equal(
            vs_bench_ratio(&b, find(&b, "interference", "victim-net", "udp-flood", "vm", "ms"), &r),
            0);
        assert_float_equal(r.median, 3.0, 1e-9);
        assert_int_equal(vs_bench_ratio(&b,
                                        find(&b, "interference", "victim-cpu", "fork-bomb",
                                             "cpu-shares", "ops_per_s"),
                                        &r),
                         -1);

        const double one[] = {100, 120}, five[] = {300, 360};
        rec(&b, "density", "idle", "1", "container", "ms", VS_BENCH_LOWER_BETTER, one, 2);
        rec(&b, "density", "idle", "5", "container", "ms", VS_BENCH_LOWER_BETTER, five, 2);
        assert_int_equal(
            vs_bench_ratio(&b, find(&b, "density", "idle", "5", "container", "ms"), &r), 0);
        assert_int_equal(r.kind, VS_BENCH_RATIO_MULTIPLE);
        assert_float_equal(r.median, 3.0, 1e-9);
        assert_float_equal(r.lo, 2.5, 1e-9);
        assert_float_equal(r.hi, 3.6, 1e-9);

        const double n_ms[] = {1}, c_ms[] = {50};
        rec(&b, "start", "exit", "", "native", "ms", VS_BENCH_LOWER_BETTER, n_ms, 1);
        rec(&b, "start", "exit", "", "container", "ms", VS_BENCH_LOWER_BETTER, c_ms, 1);
        assert_int_equal(vs_bench_ratio(&b, find(&b, "start", "exit", "", "container", "ms"), &r),
                         0);
        assert_float_equal(r.median, 50.0, 1e-9);
        vs_bench_free(&b);
}

static void test_ratio_refused(void **state)
{
        struct vs_bench b = {.opts = {.repeat = 1}};
        struct vs_bench_key nat = {
            "overhead", "disk", "", "native", "iops", "iops", VS_BENCH_HIGHER_BETTER};
        struct vs_bench_key ctr = nat, vm = nat, zero = nat, zc = nat;
        ctr.backend = "container";
        vm.backend = "vm";
        vs_bench_skip(&b, &nat, "fio is not installed");
        vs_bench_record(&b, &ctr, 10);
        struct vs_bench_ratio r;
        /* Skipped baseline, missing baseline, zero baseline: no ratio. */
        assert_int_equal(vs_bench_ratio(&b, vs_bench_find(&b, &ctr), &r), -1);
        zero.test = zc.test = "zero";
        vs_bench_record(&b, &zero, 0);
        zc.backend = "container";
        vs_bench_record(&b, &zc, 5);
        assert_int_equal(vs_bench_ratio(&b, vs_bench_find(&b, &zc), &r), -1);
        vm.test = "alone-without-native";
        vs_bench_record(&b, &vm, 3);
        assert_int_equal(vs_bench_ratio(&b, vs_bench_find(&b, &vm), &r), -1);
        /* UDP jitter and loss are no speed: no ratio, though both ran. */
        struct vs_bench_key jn = {"overhead", "iperf3-udp",         "", "native", "jitter_ms",
                                  "ms",       VS_BENCH_LOWER_BETTER};
        struct vs_bench_key jc = jn;
        jc.backend = "container";
        vs_bench_record(&b, &jn, 0.17);
        vs_bench_record(&b, &jc, 0.014);
        assert_int_equal(vs_bench_ratio(&b, vs_bench_find(&b, &jc), &r), -1);
        vs_bench_free(&b);
}

/* results.json: every entry has exactly the documented members and types;
 * a skipped cell has its reason and no samples. */
static void test_results_schema(void **state)
{
        struct vs_bench b = {.opts = {.repeat = 2}};
        const double v[] = {1.5, 2.5};
        rec(&b, "start", "exit", "", "native", "ms", VS_BENCH_LOWER_BETTER, v, 2);
        struct vs_bench_key k = {"start", "exit", "", "vm", "ms", "ms", VS_BENCH_LOWER_BETTER};
        vs_bench_skip(&b, &k, "no guest kernel (%s)", "vessel vm kernel");
        vs_bench_skip(&b, &k, "a second reason is ignored");
        json_object *a = vs_bench_results_json(&b);
        /* Round trip through text, as a reader of the file sees it. */
        json_object *doc = json_tokener_parse(json_object_to_json_string(a));
        json_object_put(a);
        assert_non_null(doc);
        assert_true(json_object_is_type(doc, json_type_array));
        assert_int_equal(json_object_array_length(doc), 2);
        const char *strings[] = {"suite", "test", "variant", "backend", "metric", "unit"};
        for (size_t i = 0; i < 2; i++) {
                json_object *o = json_object_array_get_idx(doc, i), *m;
                for (size_t s = 0; s < 6; s++) {
                        assert_true(json_object_object_get_ex(o, strings[s], &m));
                        assert_true(json_object_is_type(m, json_type_string));
                }
                assert_true(json_object_object_get_ex(o, "higher_is_better", &m));
                assert_true(json_object_is_type(m, json_type_boolean));
                assert_false(json_object_get_boolean(m));
                assert_true(json_object_object_get_ex(o, "samples", &m));
                assert_true(json_object_is_type(m, json_type_array));
                bool skipped = json_object_object_get_ex(o, "skipped", NULL);
                assert_int_equal(json_object_object_length(o), skipped ? 9 : 8);
                assert_int_equal(json_object_array_length(m), skipped ? 0 : 2);
        }
        json_object *o = json_object_array_get_idx(doc, 1), *m;
        assert_true(json_object_object_get_ex(o, "skipped", &m));
        assert_string_equal(json_object_get_string(m), "no guest kernel (vessel vm kernel)");
        o = json_object_array_get_idx(doc, 0);
        assert_true(json_object_object_get_ex(o, "samples", &m));
        assert_float_equal(json_object_get_double(json_object_array_get_idx(m, 1)), 2.5, 0);
        json_object_put(doc);
        vs_bench_free(&b);
}

static void test_machine(void **state)
{
        json_object *m = vs_bench_machine(), *v;
        assert_true(json_object_object_get_ex(m, "cores", &v));
        assert_true(json_object_get_int(v) >= 1);
        assert_true(json_object_object_get_ex(m, "memory_MiB", &v));
        assert_true(json_object_get_int64(v) > 0);
        assert_true(json_object_object_get_ex(m, "cgroup_mode", &v));
        const char *cg = json_object_get_string(v);
        assert_true(strcmp(cg, "v1") == 0 || strcmp(cg, "hybrid") == 0 || strcmp(cg, "v2") == 0 ||
                    strcmp(cg, "none") == 0);
        assert_true(json_object_object_get_ex(m, "accelerator", &v));
        const char *acc = json_object_get_string(v);
        assert_true(strcmp(acc, "kvm") == 0 || strcmp(acc, "tcg") == 0);
        const char *strings[] = {"cpu_model",          "kernel", "vessel_version",
                                 "accelerator_reason", "date",   "arch"};
        for (size_t i = 0; i < 6; i++) {
                assert_true(json_object_object_get_ex(m, strings[i], &v));
                assert_true(strlen(json_object_get_string(v)) > 0);
        }
        json_object_put(m);
}

/* The ELF machine of path (0: unreadable): under qemu-user (the cross
 * unit tests) this binary is arm64 while the host's gnuplot is not, and
 * cannot be run from here. */
static unsigned elf_machine(const char *path)
{
        unsigned char h[20] = {0};
        FILE *f = fopen(path, "rb");
        if (!f)
                return 0;
        size_t n = fread(h, 1, sizeof(h), f);
        fclose(f);
        return n == sizeof(h) ? (unsigned) (h[18] | h[19] << 8) : 0;
}

static size_t count(const char *hay, const char *needle)
{
        size_t n = 0;
        for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
                n++;
        return n;
}

/* A run with cells in every suite: the page holds each suite's section and
 * table rows, the summary, the limits, the seeds; names are escaped; with
 * gnuplot installed, one chart per kind. */
static void test_report(void **state)
{
        char dir[] = "/tmp/vessel-test-bench.XXXXXX";
        assert_non_null(mkdtemp(dir));
        struct vs_bench b = {.opts = {.repeat = 2, .workdir = dir}};
        b.machine = vs_bench_machine();
        const double hi[] = {100, 104}, mid[] = {60, 70}, lo[] = {10, 11};
        rec(&b, "overhead", "cpu-kernel", "", "native", "ops_per_s", VS_BENCH_HIGHER_BETTER, hi, 2);
        rec(&b, "overhead", "cpu-kernel", "", "container", "ops_per_s", VS_BENCH_HIGHER_BETTER, hi,
            2);
        rec(&b, "overhead", "cpu-kernel", "", "vm", "ops_per_s", VS_BENCH_HIGHER_BETTER, lo, 2);
        rec(&b, "interference", "victim-<b>", "alone", "cpuset", "ops_per_s",
            VS_BENCH_HIGHER_BETTER, hi, 2);
        rec(&b, "interference", "victim-<b>", "fork-bomb", "cpuset", "ops_per_s",
            VS_BENCH_HIGHER_BETTER, mid, 2);
        /* The host's answer time grew more than the victim slowed: the
         * summary must name the victim's figure as the victim's. */
        rec(&b, "interference", "victim-<b>", "alone", "cpuset", "responsive_ms",
            VS_BENCH_LOWER_BETTER, lo, 2);
        rec(&b, "interference", "victim-<b>", "fork-bomb", "cpuset", "responsive_ms",
            VS_BENCH_LOWER_BETTER, mid, 2);
        rec(&b, "start", "first-instruction", "", "native", "ms", VS_BENCH_LOWER_BETTER, lo, 2);
        rec(&b, "start", "first-instruction", "", "vm", "ms", VS_BENCH_LOWER_BETTER, hi, 2);
        rec(&b, "start", "first-instruction", "", "vm-restore", "ms", VS_BENCH_LOWER_BETTER, lo, 2);
        rec(&b, "density", "idle", "1", "container", "pss_MiB", VS_BENCH_LOWER_BETTER, lo, 2);
        rec(&b, "density", "idle", "5", "container", "pss_MiB", VS_BENCH_LOWER_BETTER, mid, 2);
        struct vs_bench_key k = {"start", "exit", "", "vm", "ms", "ms", VS_BENCH_LOWER_BETTER};
        vs_bench_skip(&b, &k, "no <kernel> & no QEMU");
        /* Without a gnuplot this test can run (an exec of the host's from
         * qemu-user hangs), charts are turned off: the page must say so. */
        const char *skip = NULL;
        if (access("/usr/bin/gnuplot", X_OK) != 0)
                skip = "gnuplot is not installed";
        else if (elf_machine("/usr/bin/gnuplot") != elf_machine("/proc/self/exe"))
                skip = "the host's gnuplot is for another architecture than this test (qemu-user)";
        if (skip)
                setenv("VESSEL_BENCH_GNUPLOT", "", 1);
        vs_error *err = NULL;
        int written = vs_bench_report_write(&b, dir, &err);
        unsetenv("VESSEL_BENCH_GNUPLOT");
        _cleanup_free_ char *path = xasprintf("%s/report.html", dir);
        _cleanup_free_ char *html = NULL;
        size_t len = 0;
        int read = written == 0 ? vs_read_file(path, &html, &len, &err) : -1;
        vs_bench_free(&b);
        vs_rm_rf(dir, NULL);
        assert_int_equal(written, 0);
        assert_int_equal(read, 0);
        const char *want[] = {"id=\"summary\"",
                              "id=\"limits\"",
                              "id=\"suite-overhead\"",
                              "id=\"suite-interference\"",
                              "id=\"suite-density\"",
                              "id=\"suite-start\"",
                              "id=\"seeds\"",
                              "victim-&lt;b&gt;",
                              "no &lt;kernel&gt; &amp; no QEMU",
                              "at <b>0.10x</b> native",
                              "ran <b>1.57x</b> slower beside fork-bomb",
                              "the host took 6.19x as long to answer beside fork-bomb",
                              "9.71x faster than a cold boot"};
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
                if (!strstr(html, want[i]))
                        fail_msg("report.html lacks %s", want[i]);
        assert_null(strstr(html, "victim-<b>"));
        assert_int_equal(count(html, "<tr class=\"skipped\">"), 1);
        if (skip) {
                print_message("skipped: charts: %s\n", skip);
                assert_non_null(strstr(html, "charts are off"));
                assert_int_equal(count(html, "<figure class=\"chart\""), 0);
        } else {
                const char *left = strstr(html, "left out");
                if (left)
                        fail_msg("a chart was %.200s", left);
                assert_int_equal(count(html, "<figure class=\"chart\""), 4);
                assert_int_equal(count(html, "data-kind=\"heat map\""), 1);
                assert_int_equal(count(html, "data-kind=\"line chart\""), 1);
                assert_int_equal(count(html, "data-kind=\"bar chart\""), 2);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_stat),
            cmocka_unit_test(test_ratio_overhead),
            cmocka_unit_test(test_ratio_interference_density_start),
            cmocka_unit_test(test_ratio_refused),
            cmocka_unit_test(test_results_schema),
            cmocka_unit_test(test_machine),
            cmocka_unit_test(test_report),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
