/* The detach-key matcher shared by attach and exec (src/runtime/terminal.c)
 * and system prune's --filter (src/cmd/engine_common.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cmd/engine_cmd.h"
#include "runtime/terminal.h"
#include "util/strv.h"

/* Feeds chunks through the matcher; returns the chunk index where the keys
 * completed (-1: never) and the bytes passed on in out. */
static int scan(const char *keys, const char *const *chunks, char *out, size_t *out_len)
{
        size_t matched = 0, nkeys = strlen(keys);
        *out_len = 0;
        for (int i = 0; chunks[i]; i++) {
                char buf[64];
                ssize_t n = (ssize_t) strlen(chunks[i]);
                memcpy(buf, chunks[i], (size_t) n);
                bool hit = vs_detach_keys_scan(keys, nkeys, buf, &n, &matched);
                memcpy(out + *out_len, buf, (size_t) n);
                *out_len += (size_t) n;
                if (hit)
                        return i;
        }
        return -1;
}

static void test_detach_keys(void **state)
{
        (void) state;
        char out[256];
        size_t len;
        /* ctrl-p ctrl-q in one read; what came before goes on */
        const char *a[] = {"ab\x10\x11", NULL};
        assert_int_equal(scan("\x10\x11", a, out, &len), 0);
        assert_int_equal(len, 2);
        assert_memory_equal(out, "ab", 2);
        /* split over two reads: the prefix is held back, then dropped */
        const char *b[] = {"x\x10", "\x11", NULL};
        assert_int_equal(scan("\x10\x11", b, out, &len), 1);
        assert_int_equal(len, 1);
        /* a prefix followed by something else is passed on whole */
        const char *c[] = {"\x10", "z", "\x10\x10\x11", NULL};
        assert_int_equal(scan("\x10\x11", c, out, &len), 2);
        assert_int_equal(len, 3);
        assert_memory_equal(out, "\x10z\x10", 3);
        /* never typed */
        const char *d[] = {"\x11\x10", "q", NULL};
        assert_int_equal(scan("\x10\x11", d, out, &len), -1);
        assert_int_equal(len, 3);
        /* a one-key sequence */
        const char *e[] = {"ab\x01", "cd", NULL};
        assert_int_equal(scan("\x01", e, out, &len), 0);
        assert_int_equal(len, 2);
}

static json_object *labels(const char *k, const char *v)
{
        json_object *o = json_object_new_object();
        if (k)
                json_object_object_add(o, k, json_object_new_string(v));
        return o;
}

static void test_prune_filter(void **state)
{
        (void) state;
        struct vs_prune_filter f = {0};
        vs_error *err = NULL;
        char *ok[] = {"until=2020-01-01T00:00:00Z", "label=a", "label!=b=2", NULL};
        assert_int_equal(vs_prune_filter_parse(ok, false, &f, &err), 0);
        json_object *a1 = labels("a", "1"), *none = labels(NULL, NULL), *b2 = labels("b", "2");
        json_object_object_add(b2, "a", json_object_new_string("x"));
        assert_true(vs_prune_filter_match(&f, "2019-06-01T00:00:00Z", a1));
        assert_false(vs_prune_filter_match(&f, "2020-06-01T00:00:00Z", a1));   /* too new */
        assert_false(vs_prune_filter_match(&f, NULL, a1));                     /* time unknown */
        assert_false(vs_prune_filter_match(&f, "2019-06-01T00:00:00Z", none)); /* no label a */
        assert_false(vs_prune_filter_match(&f, "2019-06-01T00:00:00Z", b2));   /* b=2 excluded */
        assert_true(vs_prune_filter_match(NULL, NULL, NULL));
        vs_prune_filter_clear(&f);

        struct vs_prune_filter g = {0};
        char *kv[] = {"label=a=1", NULL};
        assert_int_equal(vs_prune_filter_parse(kv, true, &g, &err), 0);
        assert_true(vs_prune_filter_match(&g, NULL, a1));
        assert_false(vs_prune_filter_match(&g, NULL, b2)); /* a=x */
        vs_prune_filter_clear(&g);

        const char *bad[][2] = {{"bogus=1", "invalid filter 'bogus'"},
                                {"until=someday", "until='someday'"},
                                {"label", "expected KEY=VALUE"},
                                {"label=", "invalid filter 'label'"}};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct vs_prune_filter h = {0};
                char *v[] = {(char *) bad[i][0], NULL};
                assert_int_equal(vs_prune_filter_parse(v, false, &h, &err), -1);
                assert_non_null(strstr(err->msg, bad[i][1]));
                vs_error_free(&err);
                vs_prune_filter_clear(&h);
        }
        struct vs_prune_filter u = {0};
        char *until[] = {"until=1h", NULL};
        assert_int_equal(vs_prune_filter_parse(until, true, &u, &err), -1);
        assert_non_null(strstr(err->msg, "--volumes"));
        vs_error_free(&err);
        vs_prune_filter_clear(&u);
        json_object_put(a1);
        json_object_put(none);
        json_object_put(b2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_detach_keys),
            cmocka_unit_test(test_prune_filter),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
