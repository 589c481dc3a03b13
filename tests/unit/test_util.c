/* src/util: error objects (first error wins, errno kept, context wrapped)
 * and string vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"

static int fails_with_errno(vs_error **err)
{
        errno = ENOENT;
        return vs_fail_errno(err, "cannot open %s", "/x");
}

static void test_error_set_and_wrap(void **state)
{
        (void) state;
        vs_error *err = NULL;
        assert_int_equal(fails_with_errno(&err), -1);
        assert_int_equal(err->errno_, ENOENT);
        assert_string_equal(err->msg, "cannot open /x: No such file or directory");
        /* Context goes in front; the errno stays. */
        assert_int_equal(vs_error_wrap(&err, "bundle %s", "b"), -1);
        assert_int_equal(vs_error_wrap(&err, "create"), -1);
        assert_string_equal(err->msg,
                            "create: bundle b: cannot open /x: No such file or directory");
        assert_int_equal(err->errno_, ENOENT);
        /* The first error wins: a later failure does not replace it. */
        assert_int_equal(vs_fail(&err, "cleanup failed too"), -1);
        assert_int_equal(err->errno_, ENOENT);
        assert_non_null(strstr(err->msg, "cannot open /x"));
        vs_error_free(&err);
        assert_null(err);
        vs_error_free(&err); /* twice is harmless */

        /* No errno: no strerror text. */
        assert_int_equal(vs_fail(&err, "bad %d", 7), -1);
        assert_int_equal(err->errno_, 0);
        assert_string_equal(err->msg, "bad 7");
        vs_error_free(&err);

        /* A NULL err (the caller does not want the message), and wrapping
         * nothing, only return -1. */
        assert_int_equal(vs_fail(NULL, "x"), -1);
        assert_int_equal(vs_error_wrap(NULL, "x"), -1);
        assert_int_equal(vs_error_wrap(&err, "x"), -1);
        assert_null(err);
}

static void test_cleanup_error(void **state)
{
        (void) state;
        /* _cleanup_error_ frees at scope exit (ASan reports a leak if not). */
        _cleanup_error_ vs_error *e = NULL;
        vs_fail(&e, "ignored");
        assert_non_null(e);
}

static void test_strv(void **state)
{
        (void) state;
        char **v = NULL;
        assert_int_equal(strv_len(v), 0);
        assert_false(strv_contains(v, "a"));
        strv_push(&v, "a");
        strv_push(&v, "b");
        strv_push(&v, "");
        assert_int_equal(strv_len(v), 3);
        assert_null(v[3]);
        assert_true(strv_contains(v, "b"));
        assert_true(strv_contains(v, ""));
        assert_false(strv_contains(v, "c"));
        char **c = strv_copy(v);
        assert_int_equal(strv_len(c), 3);
        assert_ptr_not_equal(c[0], v[0]); /* deep copy */
        assert_string_equal(c[1], "b");
        strv_free(v);
        strv_free(c);
        strv_free(NULL);
        c = strv_copy(NULL); /* an empty vector, not NULL */
        assert_non_null(c);
        assert_null(c[0]);
        strv_free(c);

        _cleanup_strv_ char **env = NULL;
        strv_env_set(&env, "PATH=/bin");
        strv_env_set(&env, "A=1");
        strv_env_set(&env, "PATH=/usr/bin");
        strv_env_set(&env, "PATHX=2"); /* a longer key is another key */
        strv_env_set(&env, "A=");
        assert_int_equal(strv_len(env), 3);
        assert_string_equal(env[0], "PATH=/usr/bin");
        assert_string_equal(env[1], "A=");
        assert_string_equal(env[2], "PATHX=2");
}

static void test_fnv1a(void **state)
{
        (void) state;
        /* FNV-1a's algorithm with an offset basis of 1469598103934665603,
         * not the published 14695981039346656037 (a digit short): not the
         * standard vectors, but names already on disk (runtime state dirs
         * of engines, the seccomp cache) depend on it, so it is pinned.
         * Values from an independent computation (Python). */
        assert_true(vs_fnv1a("") == 0x14650fb0739d0383ULL);
        assert_true(vs_fnv1a("a") == 0x44bd8ad473cd9906ULL);
        assert_true(vs_fnv1a("foobar") == 0x88fad7c0a8ff07f2ULL);
        assert_true(vs_fnv1a("/var/lib/x") != vs_fnv1a("/var/lib/y"));
}

static void test_str_escape(void **state)
{
        (void) state;
        const char *cases[][2] = {
            {"", ""},
            {"plain name", "plain name"},
            {"a\n10.0.0.1 evil", "a\\n10.0.0.1 evil"},
            {"t\tb\\c", "t\\tb\\\\c"},
            {"\x01\x7f\x1b[2J", "\\x01\\x7f\\x1b[2J"},
            {"\xc3\xa9", "\xc3\xa9"}, /* UTF-8 kept */
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *q = vs_str_escape(cases[i][0]);
                assert_string_equal(q, cases[i][1]);
                free(q);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_error_set_and_wrap),
            cmocka_unit_test(test_cleanup_error),
            cmocka_unit_test(test_strv),
            cmocka_unit_test(test_fnv1a),
            cmocka_unit_test(test_str_escape),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
