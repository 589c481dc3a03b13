/* Container records (src/engine/record.c) read back from disk: a damaged
 * record is refused with an error naming the file; regressions found by
 * tests/fuzz/fuzz_ctr_record.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "util/fs.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct fixture {
        char dir[64];
        struct vs_engine *e;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        snprintf(f->dir, sizeof(f->dir), "/tmp/vessel-unit-rec.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        char data[128], run[128];
        snprintf(data, sizeof(data), "%s/data", f->dir);
        snprintf(run, sizeof(run), "%s/run", f->dir);
        vs_error *err = NULL;
        assert_int_equal(vs_engine_open(data, run, false, &f->e, &err), 0);
        char cdir[256];
        snprintf(cdir, sizeof(cdir), "%s/%s", f->e->ctr_root, ID);
        assert_int_equal(mkdir(cdir, 0700), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        vs_engine_close(f->e);
        vs_error *err = NULL;
        vs_rm_rf(f->dir, &err);
        vs_error_free(&err);
        free(f);
        return 0;
}

/* Loads a record with this text: NULL and the error message, or the
 * container (the message then NULL). */
static struct vs_ctr *load(struct fixture *f, const char *text, char **msg)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/%s/record.json", f->e->ctr_root, ID);
        vs_error *err = NULL;
        assert_int_equal(vs_write_file_replace(path, text, strlen(text), 0600, &err), 0);
        struct vs_ctr *c = NULL;
        *msg = NULL;
        if (vs_ctr_load(f->e, ID, &c, &err) < 0) {
                assert_non_null(err);
                *msg = strdup(err->msg);
                vs_error_free(&err);
                return NULL;
        }
        return c;
}

static void test_good_record(void **state)
{
        char *msg;
        struct vs_ctr *c = load(*state,
                                "{\"Id\":\"" ID "\",\"Path\":\"sh\",\"Args\":[\"-c\",\"x\"],"
                                "\"Config\":{\"Env\":[\"A=b\"],\"Cmd\":[\"sh\"]}}",
                                &msg);
        assert_non_null(c);
        assert_string_equal(c->path, "sh");
        assert_string_equal(c->args[1], "x");
        vs_ctr_free(c);
}

static void test_damaged_records_are_refused(void **state)
{
        static const char *const bad[] = {
            /* null in Args: was strdup(NULL) in every listing */
            "{\"Id\":\"" ID "\",\"Path\":\"sh\",\"Args\":[\"-c\",null]}",
            /* a number in Config.Env, null in Cmd: crashed at start */
            "{\"Id\":\"" ID "\",\"Path\":\"sh\",\"Config\":{\"Env\":[\"A=b\",1]}}",
            "{\"Id\":\"" ID "\",\"Path\":\"sh\",\"Config\":{\"Cmd\":[null]}}",
            /* not arrays where start iterates arrays: json-c aborted */
            "{\"Id\":\"" ID "\",\"Path\":\"sh\",\"HostConfig\":{\"Ulimits\":{}}}",
            "{\"Id\":\"" ID "\",\"Path\":\"sh\",\"HostConfig\":{\"CapAdd\":[1]}}",
            /* no Path: crashed at start (strdup(NULL) into argv) */
            "{\"Id\":\"" ID "\",\"Args\":[]}",
            /* another container's record */
            "{\"Id\":\"ab\",\"Path\":\"sh\"}",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char *msg;
                struct vs_ctr *c = load(*state, bad[i], &msg);
                if (c != NULL)
                        fail_msg("accepted: %s", bad[i]);
                assert_non_null(strstr(msg, "record.json"));
                free(msg);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_good_record, setup, teardown),
            cmocka_unit_test_setup_teardown(test_damaged_records_are_refused, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
