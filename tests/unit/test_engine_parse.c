/* The engine's value parsers and formatters (src/engine/create.c,
 * monitor_io.c, util.c): sizes, restart policies, signals, the log-line
 * JSON of container.log, times and durations since, names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <json-c/json.h>

#include "engine/engine.h"
#include "engine/monitor_io.h"
#include "util/error.h"

static void size_ok(const char *s, int64_t want)
{
        vs_error *err = NULL;
        int64_t v = -1;
        if (vs_parse_size("--memory", s, &v, &err) < 0)
                fail_msg("'%s' refused: %s", s, err->msg);
        assert_int_equal(v, want);
}

static void size_bad(const char *s)
{
        vs_error *err = NULL;
        int64_t v = 0;
        if (vs_parse_size("--shm-size", s, &v, &err) == 0)
                fail_msg("'%s' accepted as %lld", s, (long long) v);
        /* The flag and the value are named. */
        assert_non_null(strstr(err->msg, "--shm-size"));
        assert_non_null(strstr(err->msg, s));
        vs_error_free(&err);
}

static void test_sizes(void **state)
{
        (void) state;
        size_ok("0", 0);
        size_ok("100", 100);
        size_ok("100b", 100);
        size_ok("1k", 1024);
        size_ok("1K", 1024);
        size_ok("64m", 64 << 20);
        size_ok("64mb", 64 << 20);
        size_ok("64MiB", 64 << 20);
        size_ok("2g", 2LL << 30);
        size_ok("1t", 1LL << 40);
        size_ok("0.5k", 512);
        size_bad("");
        size_bad("m");
        size_bad("10x");
        size_bad("10mm");
        size_bad("10 m");
        size_bad("-5m");
        size_bad("1kbb");
}

static void restart_ok(const char *s, const char *name, int retries)
{
        vs_error *err = NULL;
        char *got = NULL;
        int n = -1;
        if (vs_parse_restart(s, &got, &n, &err) < 0)
                fail_msg("'%s' refused: %s", s, err->msg);
        assert_string_equal(got, name);
        assert_int_equal(n, retries);
        free(got);
}

static void restart_bad(const char *s, const char *why)
{
        vs_error *err = NULL;
        char *got = NULL;
        int n = 0;
        if (vs_parse_restart(s, &got, &n, &err) == 0)
                fail_msg("'%s' accepted as %s", s, got);
        assert_null(got);
        assert_non_null(strstr(err->msg, "--restart"));
        assert_non_null(strstr(err->msg, why));
        vs_error_free(&err);
}

static void test_restart_policies(void **state)
{
        (void) state;
        restart_ok("no", "no", 0);
        restart_ok("always", "always", 0);
        restart_ok("unless-stopped", "unless-stopped", 0);
        restart_ok("on-failure", "on-failure", 0);
        restart_ok("on-failure:3", "on-failure", 3);
        restart_ok("on-failure:0", "on-failure", 0);
        restart_bad("sometimes", "invalid policy");
        restart_bad("always:3", "only on-failure");
        restart_bad("on-failure:-1", "on-failure:N");
        restart_bad("on-failure:x", "on-failure:N");
        restart_bad("on-failure:99999999999", "on-failure:N");
        restart_bad("on-failures", "invalid policy");
}

static void test_signals(void **state)
{
        (void) state;
        vs_error *err = NULL;
        int sig = 0;
        assert_int_equal(vs_parse_signal("--stop-signal", "SIGTERM", &sig, &err), 0);
        assert_int_equal(sig, SIGTERM);
        assert_int_equal(vs_parse_signal("--stop-signal", "KILL", &sig, &err), 0);
        assert_int_equal(sig, SIGKILL);
        assert_int_equal(vs_parse_signal("--stop-signal", "9", &sig, &err), 0);
        assert_int_equal(sig, 9);
        assert_int_equal(vs_parse_signal("--stop-signal", "SIGNOPE", &sig, &err), -1);
        assert_non_null(strstr(err->msg, "--stop-signal: unknown signal 'SIGNOPE'"));
        vs_error_free(&err);
}

/* Parses one container.log line; its "log" must be want (n bytes). */
static void log_line_is(const char *data, size_t n, const char *stream, const char *want,
                        size_t want_len)
{
        size_t len = 0;
        char *line = vs_log_line_json(data, n, stream, &len);
        assert_int_equal(len, strlen(line));
        assert_int_equal(line[len - 1], '\n');
        json_tokener *tok = json_tokener_new();
        json_object *o = json_tokener_parse_ex(tok, line, (int) len);
        assert_int_equal(json_tokener_get_error(tok), json_tokener_success);
        json_tokener_free(tok);
        assert_non_null(o);
        json_object *log = json_object_object_get(o, "log");
        assert_int_equal(json_object_get_string_len(log), want_len);
        assert_memory_equal(json_object_get_string(log), want, want_len);
        assert_string_equal(json_object_get_string(json_object_object_get(o, "stream")), stream);
        /* RFC 3339 with nanoseconds, UTC, close to now. */
        const char *t = json_object_get_string(json_object_object_get(o, "time"));
        assert_non_null(t);
        assert_int_equal(t[strlen(t) - 1], 'Z');
        int64_t ns = vs_rfc3339_to_ns(t);
        assert_true(ns > 0);
        assert_true(llabs(ns / 1000000000 - (long long) time(NULL)) < 60);
        json_object_put(o);
        free(line);
}

static void test_log_line_json(void **state)
{
        (void) state;
        log_line_is("hello\n", 6, "stdout", "hello\n", 6);
        log_line_is("a\"b\\c\td\r", 8, "stderr", "a\"b\\c\td\r", 8);
        /* Control bytes are escaped, valid UTF-8 kept, invalid bytes become
         * U+FFFD: the line stays one valid JSON document. */
        log_line_is("\x01\x7f", 2, "stdout", "\x01\x7f", 2);
        log_line_is("caf\xc3\xa9", 5, "stdout", "caf\xc3\xa9", 5);
        log_line_is("x\xff", 2, "stdout", "x\xef\xbf\xbd", 4);
        log_line_is("", 0, "stdout", "", 0);
        /* A NUL inside the data is data. */
        log_line_is("a\0b", 3, "stdout", "a\0b", 3);
}

static void test_times(void **state)
{
        (void) state;
        assert_int_equal(vs_rfc3339_to_ns("1970-01-01T00:00:01Z"), 1000000000);
        assert_int_equal(vs_rfc3339_to_ns("2024-05-01T10:11:12.5Z"),
                         1714558272LL * 1000000000 + 500000000);
        assert_int_equal(vs_rfc3339_to_ns("2024-05-01T10:11:12.123456789Z") % 1000000000,
                         123456789);
        assert_int_equal(vs_rfc3339_to_ns(VS_ZERO_TIME), 0);
        assert_int_equal(vs_rfc3339_to_ns("yesterday"), 0);
        assert_int_equal(vs_rfc3339_to_ns(NULL), 0);

        /* Durations since a time, in Docker's words. */
        static const struct {
                long ago;
                const char *want;
        } cases[] = {
            {5, "5 seconds"},        {90, "About a minute"},   {600, "10 minutes"},
            {5400, "About an hour"}, {10 * 3600, "10 hours"},  {3 * 86400, "3 days"},
            {21 * 86400, "3 weeks"}, {90 * 86400, "3 months"}, {1000 * 86400, "2 years"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *got = NULL;
                /* Again when the clock's second turned during the call (a
                 * slow run, qemu-user): "now" must be the same on both sides. */
                for (int tries = 0; tries < 5; tries++) {
                        time_t now = time(NULL), then = now - cases[i].ago;
                        struct tm tm;
                        gmtime_r(&then, &tm);
                        char s[64];
                        strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
                        free(got);
                        got = vs_human_since(s);
                        if (time(NULL) == now)
                                break;
                }
                assert_string_equal(got, cases[i].want);
                free(got);
        }
        char *never = vs_human_since(VS_ZERO_TIME);
        assert_string_equal(never, "Less than a second");
        free(never);
}

static void test_command_string_and_names(void **state)
{
        (void) state;
        char *args[] = {"-c", "echo hi", NULL};
        char *s = vs_command_string("sh", args);
        assert_non_null(strstr(s, "sh -c "));
        assert_non_null(strstr(s, "echo hi"));
        assert_null(strstr(s, "sh -c echo hi")); /* the space is quoted */
        free(s);

        vs_error *err = NULL;
        assert_int_equal(vs_name_validate("web_1.a-b", &err), 0);
        assert_int_equal(vs_name_validate("-web", &err), -1);
        assert_non_null(strstr(err->msg, "invalid container name '-web'"));
        vs_error_free(&err);
        assert_int_equal(vs_name_validate("", &err), -1);
        vs_error_free(&err);
        assert_int_equal(vs_name_validate("a/b", &err), -1);
        vs_error_free(&err);
        for (int i = 0; i < 20; i++) {
                char *n = vs_name_generate();
                assert_int_equal(vs_name_validate(n, &err), 0);
                assert_non_null(strchr(n, '_'));
                free(n);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_sizes),   cmocka_unit_test(test_restart_policies),
            cmocka_unit_test(test_signals), cmocka_unit_test(test_log_line_json),
            cmocka_unit_test(test_times),   cmocka_unit_test(test_command_string_and_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
