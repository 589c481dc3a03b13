/* The engine's flag-value parsers shared with the runtime: regressions
 * found by fuzzing (tests/fuzz/fuzz_engine_values.c, docs/fuzzing.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "runtime/container.h"

static int64_t size_of(const char *s)
{
        vs_error *err = NULL;
        int64_t v = -42;
        int r = vs_parse_size("--memory", s, &v, &err);
        if (r < 0) {
                assert_non_null(err);
                assert_non_null(strstr(err->msg, "invalid size"));
                vs_error_free(&err);
                return -1;
        }
        assert_null(err);
        return v;
}

static void test_size_bounds(void **state)
{
        (void) state;
        assert_int_equal(size_of("512m"), 512LL << 20);
        assert_int_equal(size_of("1.5GiB"), 3LL << 29);
        assert_int_equal(size_of("0"), 0);
        assert_int_equal(size_of("4611686018427387904"), 4611686018427387904LL);
        /* 2^63 does not fit in int64_t: converting it was undefined (and
         * gave INT64_MIN, reported as "below the minimum of 6m"). */
        assert_int_equal(size_of("8388608t"), -1);
        assert_int_equal(size_of("9223372036854775807"), -1);
        assert_int_equal(size_of("9223372036854775808"), -1);
        assert_int_equal(size_of("1e300"), -1);
        assert_int_equal(size_of("nan"), -1);
        assert_int_equal(size_of("inf"), -1);
        assert_int_equal(size_of("-1"), -1);
}

static void test_signal_names(void **state)
{
        (void) state;
        assert_int_equal(vs_signal_from_name("TERM"), SIGTERM);
        assert_int_equal(vs_signal_from_name("SIGKILL"), SIGKILL);
        assert_int_equal(vs_signal_from_name("9"), 9);
        assert_int_equal(vs_signal_from_name("RTMIN"), SIGRTMIN);
        assert_int_equal(vs_signal_from_name("RTMIN+3"), SIGRTMIN + 3);
        assert_int_equal(vs_signal_from_name("SIGRTMAX-2"), SIGRTMAX - 2);
        assert_int_equal(vs_signal_from_name("RTMIN+99"), -1);
        /* Found by fuzz_engine_values: the offset overflowed a long
         * (undefined), and one that wraps when truncated to int was
         * accepted as another signal (RTMIN+2^32 was SIGRTMIN). */
        assert_int_equal(vs_signal_from_name("RTMIN89223372036854775807"), -1);
        assert_int_equal(vs_signal_from_name("RTMIN9223372036854775807"), -1);
        assert_int_equal(vs_signal_from_name("RTMIN+4294967296"), -1);
        assert_int_equal(vs_signal_from_name("RTMAX-4294967296"), -1);
        assert_int_equal(vs_signal_from_name("RTMIN 1"), -1);
        assert_int_equal(vs_signal_from_name("0"), -1);
        assert_int_equal(vs_signal_from_name(""), -1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_size_bounds),
            cmocka_unit_test(test_signal_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
