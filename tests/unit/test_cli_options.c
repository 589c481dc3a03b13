/* The declarative option parser (src/cmd/options.c): exact long names,
 * --flag=value and --flag value, short clusters, typed values with one error
 * format, repeatable flags, operands, help. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cmd/cmd.h"
#include "cmd/options.h"
#include "util/strv.h"

struct flags {
        bool detach, tty, interactive;
        const char *hostname, *pid;
        int pids_limit;
        int64_t memory, interval;
        char **env, **labels;
        int seen;
};

static int count(const struct vs_option *o, const char *v, vs_error **err)
{
        if (strcmp(v, "bad") == 0)
                return vs_fail(err, "invalid value '%s' for --%s: bad", v, o->name);
        (*(int *) o->target)++;
        return 0;
}

/* Parses argv (NULL-terminated, argv[0] the command) into *f. Returns the
 * first operand's index or -1; *status the exit status then. */
static int parse(struct flags *f, unsigned flags, int *status, char **argv)
{
        memset(f, 0, sizeof(*f));
        const struct vs_option opts[] = {
            {"detach", 'd', VS_OPT_BOOL, &f->detach, NULL, "detach"},
            {"tty", 't', VS_OPT_BOOL, &f->tty, NULL, "tty"},
            {"interactive", 'i', VS_OPT_BOOL, &f->interactive, NULL, "stdin"},
            {"hostname", 'n', VS_OPT_STRING, &f->hostname, "NAME", "hostname"},
            {"pid", 0, VS_OPT_STRING, &f->pid, "MODE", "pid namespace"},
            {"pids-limit", 0, VS_OPT_INT, &f->pids_limit, "N", "processes"},
            {"memory", 'm', VS_OPT_SIZE, &f->memory, "SIZE", "memory"},
            {"interval", 0, VS_OPT_DURATION, &f->interval, "D", "interval"},
            {"env", 'e', VS_OPT_LIST, &f->env, "K[=V]", "env"},
            {"label", 'l', VS_OPT_KV, &f->labels, "K=V", "label"},
            {"seen", 0, VS_OPT_CALLBACK, &f->seen, "X", "callback", count},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"test", "[OPTIONS] ARG...", "A test.", opts, flags};
        int argc = (int) strv_len(argv);
        int r = vs_parse_options(&cl, argc, argv);
        *status = cl.status;
        return r;
}

#define ARGV(...) ((char *[]){"test", __VA_ARGS__, NULL})

static void free_flags(struct flags *f)
{
        strv_free(f->env);
        strv_free(f->labels);
}

static void test_long_forms(void **state)
{
        (void) state;
        struct flags f;
        int st;
        char **a = ARGV("--hostname=h1", "--pid", "host", "--pids-limit=5", "img", "--detach");
        assert_int_equal(parse(&f, 0, &st, a), 5);
        assert_string_equal(f.hostname, "h1");
        assert_string_equal(f.pid, "host");
        assert_int_equal(f.pids_limit, 5);
        assert_false(f.detach); /* after the first operand: the command's */
        assert_string_equal(a[5], "img");
        free_flags(&f);
        /* An empty value is a value. */
        assert_int_equal(parse(&f, 0, &st, ARGV("--hostname=", "x")), 2);
        assert_string_equal(f.hostname, "");
        assert_int_equal(parse(&f, 0, &st, ARGV("--hostname", "", "x")), 3);
        assert_string_equal(f.hostname, "");
}

static void test_exact_names(void **state)
{
        (void) state;
        struct flags f;
        int st;
        vs_globals.mode = VS_MODE_ENGINE;
        /* getopt_long took "--pid 5" for --pids-limit and "--det" for --detach. */
        assert_int_equal(parse(&f, 0, &st, ARGV("--pid", "5", "x")), 3);
        assert_string_equal(f.pid, "5");
        assert_int_equal(f.pids_limit, 0);
        assert_int_equal(parse(&f, 0, &st, ARGV("--det", "x")), -1);
        assert_int_equal(st, 125);
        assert_int_equal(parse(&f, 0, &st, ARGV("--pids", "5", "x")), -1);
        assert_int_equal(parse(&f, 0, &st, ARGV("--Detach", "x")), -1);
        vs_globals.mode = VS_MODE_RUNTIME;
        assert_int_equal(parse(&f, 0, &st, ARGV("--det", "x")), -1);
        assert_int_equal(st, 2);
}

static void test_short_forms(void **state)
{
        (void) state;
        struct flags f;
        int st;
        assert_int_equal(parse(&f, 0, &st, ARGV("-dit", "-eA=1", "-e", "B", "-nhost", "x")), 6);
        assert_true(f.detach && f.interactive && f.tty);
        assert_string_equal(f.env[0], "A=1");
        assert_string_equal(f.env[1], "B");
        assert_null(f.env[2]);
        assert_string_equal(f.hostname, "host");
        free_flags(&f);
        /* A value may look like an option. */
        assert_int_equal(parse(&f, 0, &st, ARGV("-e", "--detach", "x")), 3);
        assert_false(f.detach);
        assert_string_equal(f.env[0], "--detach");
        free_flags(&f);
        /* -ti then a value-taking flag last in the cluster. */
        assert_int_equal(parse(&f, 0, &st, ARGV("-tm", "64m", "x")), 3);
        assert_int_equal(f.memory, 64 << 20);
}

static void test_bools(void **state)
{
        (void) state;
        struct flags f;
        int st;
        assert_int_equal(parse(&f, 0, &st, ARGV("--detach=true", "--tty=false", "x")), 3);
        assert_true(f.detach);
        assert_false(f.tty);
        assert_int_equal(parse(&f, 0, &st, ARGV("--detach=maybe", "x")), -1);
        /* A bool never takes the next word. */
        assert_int_equal(parse(&f, 0, &st, ARGV("--detach", "false")), 2);
        assert_true(f.detach);
}

static void test_typed_values(void **state)
{
        (void) state;
        struct flags f;
        int st;
        vs_globals.mode = VS_MODE_ENGINE;
        assert_int_equal(parse(&f, 0, &st, ARGV("--memory", "1.5g", "--interval=1m30s", "x")), 4);
        assert_int_equal(f.memory, 3LL << 29);
        assert_int_equal(f.interval, 90000000000LL);
        assert_int_equal(parse(&f, 0, &st, ARGV("--pids-limit", "-1", "x")), 3);
        assert_int_equal(f.pids_limit, -1);
        const char *bad[][2] = {
            {"--pids-limit", "5x"}, {"--pids-limit", "99999999999"},
            {"--pids-limit", ""},   {"--memory", "lots"},
            {"--interval", "5"},    {"--interval", "0s"},
            {"--label", "novalue"}, {"--label", "=v"},
            {"--seen", "bad"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char *a[] = {"test", (char *) bad[i][0], (char *) bad[i][1], "x", NULL};
                assert_int_equal(parse(&f, 0, &st, a), -1);
                assert_int_equal(st, 125);
                free_flags(&f);
        }
        vs_globals.mode = VS_MODE_RUNTIME;
}

static void test_repeatable_and_callback(void **state)
{
        (void) state;
        struct flags f;
        int st;
        assert_int_equal(
            parse(&f, 0, &st, ARGV("-l", "a=1", "--label=b=2", "--seen", "1", "--seen=2", "x")), 7);
        assert_string_equal(f.labels[0], "a=1");
        assert_string_equal(f.labels[1], "b=2");
        assert_int_equal(f.seen, 2);
        free_flags(&f);
}

static void test_missing_and_unknown(void **state)
{
        (void) state;
        struct flags f;
        int st;
        assert_int_equal(parse(&f, 0, &st, ARGV("--hostname")), -1);
        assert_int_equal(st, 2);
        assert_int_equal(parse(&f, 0, &st, ARGV("-n")), -1);
        assert_int_equal(parse(&f, 0, &st, ARGV("-x", "a")), -1);
        assert_int_equal(parse(&f, 0, &st, ARGV("--bogus=1", "a")), -1);
}

static void test_help(void **state)
{
        (void) state;
        struct flags f;
        int st;
        assert_int_equal(parse(&f, 0, &st, ARGV("--help")), -1);
        assert_int_equal(st, 0);
        /* -h is help only where a command says so (runc's commands); an
         * engine command without an -h flag rejects it. */
        assert_int_equal(parse(&f, 0, &st, ARGV("-h")), -1);
        assert_int_equal(st, 2);
        assert_int_equal(parse(&f, VS_PARSE_H_IS_HELP, &st, ARGV("-h")), -1);
        assert_int_equal(st, 0);
        assert_int_equal(parse(&f, 0, &st, ARGV("--help=1")), -1);
        assert_int_equal(st, 2);
}

static void test_operands(void **state)
{
        (void) state;
        struct flags f;
        int st;
        /* "--" ends the options; "-" is an operand. */
        char **a = ARGV("-d", "--", "--tty", "-");
        assert_int_equal(parse(&f, 0, &st, a), 3);
        assert_string_equal(a[3], "--tty");
        assert_false(f.tty);
        /* Interspersed: operands gathered in order, options anywhere. */
        char **b = ARGV("one", "-d", "two", "--hostname", "h", "three", "--", "-t");
        assert_int_equal(parse(&f, VS_PARSE_INTERSPERSED, &st, b), 5);
        assert_true(f.detach);
        assert_false(f.tty);
        assert_string_equal(b[5], "one");
        assert_string_equal(b[6], "two");
        assert_string_equal(b[7], "three");
        assert_string_equal(b[8], "-t");
        assert_string_equal(f.hostname, "h");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_long_forms),
            cmocka_unit_test(test_exact_names),
            cmocka_unit_test(test_short_forms),
            cmocka_unit_test(test_bools),
            cmocka_unit_test(test_typed_values),
            cmocka_unit_test(test_repeatable_and_callback),
            cmocka_unit_test(test_missing_and_unknown),
            cmocka_unit_test(test_help),
            cmocka_unit_test(test_operands),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
