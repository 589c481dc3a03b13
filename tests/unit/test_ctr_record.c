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
        struct vs_ctr *c =
            load(*state,
                 "{\"Id\":\"" ID "\",\"Name\":\"n\",\"Path\":\"sh\",\"Args\":[\"-c\",\"x\"],"
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
            "{\"Id\":\"" ID "\",\"Name\":\"n\",\"Path\":\"sh\",\"Args\":[\"-c\",null]}",
            /* a number in Config.Env, null in Cmd: crashed at start */
            "{\"Id\":\"" ID "\",\"Name\":\"n\",\"Path\":\"sh\",\"Config\":{\"Env\":[\"A=b\",1]}}",
            "{\"Id\":\"" ID "\",\"Name\":\"n\",\"Path\":\"sh\",\"Config\":{\"Cmd\":[null]}}",
            /* not arrays where start iterates arrays: json-c aborted */
            "{\"Id\":\"" ID "\",\"Name\":\"n\",\"Path\":\"sh\",\"HostConfig\":{\"Ulimits\":{}}}",
            "{\"Id\":\"" ID "\",\"Name\":\"n\",\"Path\":\"sh\",\"HostConfig\":{\"CapAdd\":[1]}}",
            /* the network keys not as the network code iterates them
             * (fuzz_ctr_record: DnsOptions an object aborted in json-c) */
            "{\"Id\":\"" ID "\",\"Name\":\"n\",\"Path\":\"sh\",\"HostConfig\":{\"DnsOptions\":{}}}",
            "{\"Id\":\"" ID
            "\",\"Name\":\"n\",\"Path\":\"sh\",\"HostConfig\":{\"Networks\":\"a\"}}",
            "{\"Id\":\"" ID
            "\",\"Name\":\"n\",\"Path\":\"sh\",\"HostConfig\":{\"ExtraHosts\":[null]}}",
            "{\"Id\":\"" ID
            "\",\"Name\":\"n\",\"Path\":\"sh\",\"HostConfig\":{\"PortBindings\":[]}}",
            "{\"Id\":\"" ID
            "\",\"Name\":\"n\",\"Path\":\"sh\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":{}}}}",
            "{\"Id\":\"" ID
            "\",\"Name\":\"n\",\"Path\":\"sh\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[1]}}}",
            /* the kernel and device settings not as hostopts.c reads them */
            "{\"Id\":\"" ID "\",\"Name\":\"n\",\"Path\":\"sh\",\"HostConfig\":{\"Sysctls\":[]}}",
            "{\"Id\":\"" ID
            "\",\"Name\":\"n\",\"Path\":\"sh\",\"HostConfig\":{\"Sysctls\":{\"net.a\":1}}}",
            "{\"Id\":\"" ID "\",\"Name\":\"n\",\"Path\":\"sh\",\"HostConfig\":{\"Devices\":{}}}",
            "{\"Id\":\"" ID "\",\"Name\":\"n\",\"Path\":\"sh\",\"HostConfig\":{\"Devices\":[1]}}",
            "{\"Id\":\"" ID "\",\"Name\":\"n\",\"Path\":\"sh\",\"HostConfig\":{\"Devices\":"
            "[{\"PathOnHost\":\"/dev/null\",\"PathInContainer\":null,"
            "\"CgroupPermissions\":\"rwm\"}]}}",
            "{\"Id\":\"" ID "\",\"Name\":\"n\",\"Path\":\"sh\",\"HostConfig\":{\"GroupAdd\":[5]}}",
            "{\"Id\":\"" ID
            "\",\"Name\":\"n\",\"Path\":\"sh\",\"HostConfig\":{\"DeviceCgroupRules\":\"c\"}}",
            /* no Path: crashed at start (strdup(NULL) into argv) */
            "{\"Id\":\"" ID "\",\"Args\":[]}",
            /* no Name: a NULL name reached the network lease (fuzz_ctr_record) */
            "{\"Id\":\"" ID "\",\"Path\":\"sh\"}",
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

/* Every typed field read from a record as create writes it, and the record
 * written back unchanged (the on-disk format stays the same). */
static const char full_record[] =
    "{\"Id\":\"" ID "\",\"Name\":\"n\",\"Path\":\"sh\",\"Args\":[\"-c\",\"x\"],"
    "\"Config\":{\"Hostname\":\"h1\",\"User\":\"1:2\",\"WorkingDir\":\"/w\","
    "\"StopSignal\":\"SIGUSR1\",\"StopTimeout\":7,\"Env\":[\"A=b\"],\"Cmd\":null,"
    "\"Entrypoint\":[\"sh\"],\"Tty\":true,\"OpenStdin\":false,\"StdinOnce\":true,"
    "\"Labels\":{\"k\":\"v\"},\"Unknown\":[1,2]},"
    "\"HostConfig\":{\"NetworkMode\":\"net1\",\"IPv4Address\":\"10.1.0.5\","
    "\"RestartPolicy\":{\"Name\":\"on-failure\",\"MaximumRetryCount\":3},"
    "\"AutoRemove\":false,\"Privileged\":true,\"CapAdd\":[\"CAP_NET_ADMIN\"],"
    "\"CapDrop\":[],\"Memory\":67108864,\"MemorySwap\":-1,\"NanoCpus\":1500000000,"
    "\"PidsLimit\":0,\"CpuShares\":0,\"ConsoleSize\":[24,80],"
    "\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{\"max-size\":\"-1\","
    "\"max-file\":\"3\"}},\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":1,\"Hard\":2}],"
    "\"PortBindings\":{\"80/tcp\":[]},\"Isolation\":\"vm\"}}";

static void test_typed_fields(void **state)
{
        struct fixture *f = *state;
        char *msg;
        struct vs_ctr *c = load(f, full_record, &msg);
        assert_non_null(c);
        assert_string_equal(c->cfg.hostname, "h1");
        assert_string_equal(c->cfg.user, "1:2");
        assert_string_equal(c->cfg.working_dir, "/w");
        assert_string_equal(c->cfg.stop_signal, "SIGUSR1");
        assert_true(c->cfg.has_stop_timeout);
        assert_int_equal(c->cfg.stop_timeout, 7);
        assert_string_equal(c->cfg.env[0], "A=b");
        assert_null(c->cfg.cmd);
        assert_string_equal(c->cfg.entrypoint[0], "sh");
        assert_true(c->cfg.tty);
        assert_false(c->cfg.open_stdin);
        assert_true(c->cfg.stdin_once);
        assert_string_equal(c->hc.network_mode, "net1");
        assert_string_equal(c->hc.ipv4_address, "10.1.0.5");
        assert_string_equal(c->hc.restart_policy, "on-failure");
        assert_int_equal(c->hc.restart_max_retries, 3);
        assert_false(c->hc.auto_remove);
        assert_true(c->hc.privileged);
        assert_string_equal(c->hc.cap_add[0], "CAP_NET_ADMIN");
        assert_null(c->hc.cap_drop[0]);
        assert_int_equal(c->hc.memory, 64 << 20);
        assert_true(c->hc.has_memory_swap);
        assert_int_equal(c->hc.memory_swap, -1);
        assert_int_equal(c->hc.nano_cpus, 1500000000);
        assert_true(c->hc.has_pids_limit); /* 0 is a value, not "unset" */
        assert_int_equal(c->hc.pids_limit, 0);
        assert_int_equal(c->hc.console_rows, 24);
        assert_int_equal(c->hc.console_cols, 80);
        assert_string_equal(c->hc.log_max_size, "-1");
        assert_string_equal(c->hc.log_max_file, "3");
        assert_int_equal(json_object_array_length(c->hc.ulimits), 1);
        assert_non_null(c->hc.port_bindings);
        assert_string_equal(c->hc.isolation, "vm");
        vs_ctr_free(c);
}

static json_object *saved(struct fixture *f)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/%s/record.json", f->e->ctr_root, ID);
        return json_object_from_file(path);
}

/* Read and written again, a record keeps every member as it was: keys
 * without a typed field, null, and unset values alike. */
static void test_round_trip(void **state)
{
        struct fixture *f = *state;
        char *msg;
        struct vs_ctr *c = load(f, full_record, &msg);
        assert_non_null(c);
        vs_error *err = NULL;
        assert_int_equal(vs_ctr_save(c, &err), 0);
        json_object *want = json_tokener_parse(full_record), *got = saved(f);
        assert_non_null(got);
        assert_true(json_object_equal(json_object_object_get(want, "Config"),
                                      json_object_object_get(got, "Config")));
        assert_true(json_object_equal(json_object_object_get(want, "HostConfig"),
                                      json_object_object_get(got, "HostConfig")));
        json_object_put(want);
        json_object_put(got);
        vs_ctr_free(c);

        /* An old record without Config and HostConfig gains no members. */
        c = load(f, "{\"Id\":\"" ID "\",\"Name\":\"n\",\"Path\":\"sh\"}", &msg);
        assert_non_null(c);
        assert_null(c->hc.restart_policy);
        assert_false(c->cfg.has_stop_timeout);
        assert_int_equal(vs_ctr_save(c, &err), 0);
        got = saved(f);
        assert_int_equal(json_object_object_length(json_object_object_get(got, "Config")), 0);
        assert_int_equal(json_object_object_length(json_object_object_get(got, "HostConfig")), 0);
        json_object_put(got);
        vs_ctr_free(c);
}

/* The typed fields are what is written: a change to one is on disk after a
 * save, under its JSON name. */
static void test_writer_uses_typed_fields(void **state)
{
        struct fixture *f = *state;
        char *msg;
        struct vs_ctr *c = load(f, full_record, &msg);
        assert_non_null(c);
        c->hc.auto_remove = true;
        c->hc.restart_max_retries = 0; /* 0 where the record had a value: kept as 0 */
        c->hc.has_memory_swap = false; /* an optional one unset: the member goes */
        c->hc.has_pids_limit = false;
        free(c->cfg.stop_signal);
        c->cfg.stop_signal = strdup("SIGINT");
        c->hc.console_rows = 50;
        vs_error *err = NULL;
        assert_int_equal(vs_ctr_save(c, &err), 0);
        vs_ctr_free(c);
        json_object *got = saved(f);
        json_object *hc = json_object_object_get(got, "HostConfig");
        json_object *rp = json_object_object_get(hc, "RestartPolicy");
        json_object *cs = json_object_object_get(hc, "ConsoleSize");
        json_object *cfg = json_object_object_get(got, "Config");
        assert_true(json_object_get_boolean(json_object_object_get(hc, "AutoRemove")));
        assert_int_equal(json_object_get_int(json_object_object_get(rp, "MaximumRetryCount")), 0);
        assert_false(json_object_object_get_ex(hc, "MemorySwap", NULL));
        assert_false(json_object_object_get_ex(hc, "PidsLimit", NULL));
        assert_int_equal(json_object_get_int(json_object_array_get_idx(cs, 0)), 50);
        assert_string_equal(json_object_get_string(json_object_object_get(cfg, "StopSignal")),
                            "SIGINT");
        json_object_put(got);
        c = NULL;
        assert_int_equal(vs_ctr_load(f->e, ID, &c, &err), 0);
        assert_true(c->hc.auto_remove);
        assert_string_equal(c->cfg.stop_signal, "SIGINT");
        assert_int_equal(c->hc.console_rows, 50);
        vs_ctr_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_good_record, setup, teardown),
            cmocka_unit_test_setup_teardown(test_damaged_records_are_refused, setup, teardown),
            cmocka_unit_test_setup_teardown(test_typed_fields, setup, teardown),
            cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
            cmocka_unit_test_setup_teardown(test_writer_uses_typed_fields, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
