/* The dispatch rule (src/cmd/dispatch.c, docs/cli.md "Two command sets"):
 * which command set serves an invocation, from argv0, the global options
 * before the command, the `runtime` prefix and the command's name only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cmd/dispatch.h"

#define ENGINE  VS_MODE_ENGINE
#define RUNTIME VS_MODE_RUNTIME

static void test_argv0(void **state)
{
        (void) state;
        /* Installed as vessel-runtime (podman calls `start ID` with no
         * global option) or as runc: the runtime, whatever the command. */
        assert_int_equal(vs_dispatch_mode("/usr/bin/vessel-runtime", false, false, true), RUNTIME);
        assert_int_equal(vs_dispatch_mode("vessel-runtime", false, false, true), RUNTIME);
        assert_int_equal(vs_dispatch_mode("/usr/local/sbin/runc", false, false, true), RUNTIME);
        /* Only the base name counts. */
        assert_int_equal(vs_dispatch_mode("/opt/runc/vessel", false, false, true), ENGINE);
        assert_int_equal(vs_dispatch_mode("/usr/bin/vessel", false, false, true), ENGINE);
        assert_int_equal(vs_dispatch_mode("vessel", false, false, true), ENGINE);
        assert_int_equal(vs_dispatch_mode("runc-wrapper", false, false, true), ENGINE);
        assert_int_equal(vs_dispatch_mode(NULL, false, false, true), ENGINE);
}

static void test_globals_and_prefix(void **state)
{
        (void) state;
        /* Docker's and containerd's shim: `--root R --log F --log-format
         * json [--systemd-cgroup] create --bundle B ID`; conmon: `--root R
         * [--systemd-cgroup] create ...`: a runc global before the command. */
        assert_int_equal(vs_dispatch_mode("/usr/bin/vessel", true, false, true), RUNTIME);
        /* `vessel runtime CMD`. */
        assert_int_equal(vs_dispatch_mode("/usr/bin/vessel", false, true, true), RUNTIME);
        assert_int_equal(vs_dispatch_mode("/usr/bin/vessel", true, true, true), RUNTIME);
}

static void test_command_name(void **state)
{
        (void) state;
        /* A command the engine has not (state, delete, spec, ...). */
        assert_int_equal(vs_dispatch_mode("vessel", false, false, false), RUNTIME);
        /* One it has: the engine, with nothing else to go by. The
         * command's arguments (`run --rm busybox echo --root -b x`) are
         * not an input of the rule at all. */
        assert_int_equal(vs_dispatch_mode("vessel", false, false, true), ENGINE);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_argv0),
            cmocka_unit_test(test_globals_and_prefix),
            cmocka_unit_test(test_command_name),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
