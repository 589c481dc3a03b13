/* process.capabilities: name mapping, validation errors, and the two-step
 * application around a uid change, run in forked children as root. */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "oci/config.h"
#include "runtime/caps.h"
#include "util/cleanup.h"

static void test_cap_from_name(void **state)
{
        assert_int_equal(vs_cap_from_name("CAP_CHOWN"), CAP_CHOWN);
        assert_int_equal(vs_cap_from_name("cap_chown"), CAP_CHOWN);
        assert_int_equal(vs_cap_from_name("Cap_Net_Bind_Service"), CAP_NET_BIND_SERVICE);
        assert_int_equal(vs_cap_from_name("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
        assert_int_equal(vs_cap_from_name("CAP_AUDIT_READ"), CAP_AUDIT_READ);
        /* The spec spells names with the prefix; runc requires it too. */
        assert_int_equal(vs_cap_from_name("CHOWN"), -1);
        assert_int_equal(vs_cap_from_name("CAP_FOO"), -1);
        assert_int_equal(vs_cap_from_name("CAP_"), -1);
        assert_int_equal(vs_cap_from_name("CAP_0"), -1);
        assert_int_equal(vs_cap_from_name("0"), -1);
        assert_int_equal(vs_cap_from_name("CAP_CHOWN "), -1);
        assert_int_equal(vs_cap_from_name(""), -1);
        assert_int_equal(vs_cap_from_name(NULL), -1);
}

static void test_cap_name(void **state)
{
        assert_string_equal(vs_cap_name(CAP_CHOWN), "CAP_CHOWN");
        assert_string_equal(vs_cap_name(CAP_SYS_ADMIN), "CAP_SYS_ADMIN");
        assert_string_equal(vs_cap_name(CAP_NET_BIND_SERVICE), "CAP_NET_BIND_SERVICE");
        assert_null(vs_cap_name(-1));
        assert_null(vs_cap_name(64));
        assert_null(vs_cap_name(1000));
        /* Every capability this libcap was built with round-trips. */
        for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
                const char *name = vs_cap_name(cap);
                assert_non_null(name);
                assert_int_equal(vs_cap_from_name(name), cap);
        }
}

static void test_last_cap(void **state)
{
        FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
        if (f == NULL)
                skip();
        int expected = -1;
        assert_int_equal(fscanf(f, "%d", &expected), 1);
        fclose(f);
        assert_int_equal(vs_cap_last_cap(), expected);
        assert_int_equal(vs_cap_last_cap(), expected);
        assert_true(vs_cap_last_cap() >= CAP_AUDIT_READ);
}

static void test_validate(void **state)
{
        char *bounding[] = {"CAP_CHOWN", "cap_kill", "CAP_FOO", NULL};
        char *good[] = {"CAP_CHOWN", "CAP_NET_BIND_SERVICE", NULL};
        char *no_prefix[] = {"NET_RAW", NULL};
        char *empty[] = {NULL};

        assert_int_equal(vs_caps_validate(NULL, NULL), 0);
        struct oci_capabilities none = {0};
        assert_int_equal(vs_caps_validate(&none, NULL), 0);
        struct oci_capabilities ok = {.bounding = good,
                                      .effective = good,
                                      .permitted = good,
                                      .inheritable = empty,
                                      .ambient = good};
        assert_int_equal(vs_caps_validate(&ok, NULL), 0);

        struct {
                struct oci_capabilities caps;
                const char *error;
        } cases[] = {
            {{.bounding = bounding},
             "process.capabilities.bounding[2]: unknown capability 'CAP_FOO'"},
            {{.bounding = good, .effective = good, .permitted = good, .ambient = no_prefix},
             "process.capabilities.ambient[0]: unknown capability 'NET_RAW'"},
            {{.inheritable = bounding},
             "process.capabilities.inheritable[2]: unknown capability 'CAP_FOO'"},
            {{.effective = good, .permitted = bounding},
             "process.capabilities.permitted[2]: unknown capability 'CAP_FOO'"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_error_ vs_error *err = NULL;
                assert_int_equal(vs_caps_validate(&cases[i].caps, &err), -1);
                assert_non_null(err);
                assert_string_equal(err->msg, cases[i].error);
        }

        /* prepare/apply refuse unknown names on their own as well. */
        _cleanup_error_ vs_error *err = NULL;
        struct oci_capabilities bad = {.bounding = bounding};
        assert_int_equal(vs_caps_prepare(&bad, &err), -1);
        assert_string_equal(err->msg,
                            "process.capabilities.bounding[2]: unknown capability 'CAP_FOO'");
}

static void test_null_caps_do_nothing(void **state)
{
        assert_int_equal(vs_caps_prepare(NULL, NULL), 0);
        assert_int_equal(vs_caps_apply(NULL, NULL), 0);
}

static bool is_root(void)
{
        cap_t caps = cap_get_proc();
        cap_flag_value_t v = CAP_CLEAR;
        cap_get_flag(caps, CAP_SETPCAP, CAP_EFFECTIVE, &v);
        cap_free(caps);
        return geteuid() == 0 && v == CAP_SET;
}

static uint64_t proc_set(cap_flag_t flag)
{
        cap_t caps = cap_get_proc();
        uint64_t mask = 0;
        for (int cap = 0; cap <= vs_cap_last_cap(); cap++) {
                cap_flag_value_t v = CAP_CLEAR;
                cap_get_flag(caps, (cap_value_t) cap, flag, &v);
                if (v == CAP_SET)
                        mask |= UINT64_C(1) << cap;
        }
        cap_free(caps);
        return mask;
}

static uint64_t bounding_set(void)
{
        uint64_t mask = 0;
        for (int cap = 0; cap <= vs_cap_last_cap(); cap++)
                if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
                        mask |= UINT64_C(1) << cap;
        return mask;
}

static uint64_t ambient_set(void)
{
        uint64_t mask = 0;
        for (int cap = 0; cap <= vs_cap_last_cap(); cap++)
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1)
                        mask |= UINT64_C(1) << cap;
        return mask;
}

#define BIT(cap) (UINT64_C(1) << (cap))

static int run_in_child(int (*fn)(void))
{
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(fn());
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFSIGNALED(status))
                fail_msg("child killed by signal %d", WTERMSIG(status));
        return WEXITSTATUS(status);
}

static bool error_is(vs_error **err, const char *expected)
{
        bool ok = *err != NULL && strcmp((*err)->msg, expected) == 0;
        if (!ok)
                fprintf(stderr, "got '%s'\nexpected '%s'\n", *err ? (*err)->msg : "(no error)",
                        expected);
        vs_error_free(err);
        return ok;
}

/* The container init's sequence for a non-root user with an ambient
 * capability, then the failures an impossible request must name. */
static int child_prepare_setuid_apply(void)
{
        _cleanup_error_ vs_error *err = NULL;
        char *bounding[] = {"CAP_CHOWN", "CAP_SETUID", "CAP_SETGID", "CAP_NET_BIND_SERVICE",
                            "CAP_KILL",  NULL};
        char *effective[] = {"CAP_CHOWN", "CAP_NET_BIND_SERVICE", NULL};
        char *permitted[] = {"CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_KILL", NULL};
        char *inheritable[] = {"CAP_NET_BIND_SERVICE", NULL};
        char *ambient[] = {"CAP_NET_BIND_SERVICE", NULL};
        struct oci_capabilities c = {.bounding = bounding,
                                     .effective = effective,
                                     .permitted = permitted,
                                     .inheritable = inheritable,
                                     .ambient = ambient};

        if (vs_caps_validate(&c, &err) < 0)
                return 2;
        if (vs_caps_prepare(&c, &err) < 0) {
                fprintf(stderr, "prepare: %s\n", err->msg);
                return 3;
        }
        if (bounding_set() != (BIT(CAP_CHOWN) | BIT(CAP_SETUID) | BIT(CAP_SETGID) |
                               BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_KILL)))
                return 4;
        if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 1)
                return 5;
        /* Idempotent: nothing left to drop needs no CAP_SETPCAP. */
        if (vs_caps_prepare(&c, &err) < 0)
                return 6;

        if (setgroups(0, NULL) < 0 || setresgid(1000, 1000, 1000) < 0 ||
            setresuid(1000, 1000, 1000) < 0)
                return 7;
        if (vs_caps_apply(&c, &err) < 0) {
                fprintf(stderr, "apply: %s\n", err->msg);
                return 8;
        }
        if (proc_set(CAP_EFFECTIVE) != (BIT(CAP_CHOWN) | BIT(CAP_NET_BIND_SERVICE)))
                return 9;
        if (proc_set(CAP_PERMITTED) != (BIT(CAP_CHOWN) | BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_KILL)))
                return 10;
        if (proc_set(CAP_INHERITABLE) != BIT(CAP_NET_BIND_SERVICE))
                return 11;
        if (ambient_set() != BIT(CAP_NET_BIND_SERVICE))
                return 12;
        if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 0)
                return 13;
        if (getuid() != 1000 || geteuid() != 1000)
                return 14;

        /* Gone with the uid change and not kept: cannot come back. */
        char *admin[] = {"CAP_SYS_ADMIN", NULL};
        struct oci_capabilities more = {.permitted = admin};
        if (vs_caps_apply(&more, &err) != -1 ||
            !error_is(&err, "cannot set permitted capability CAP_SYS_ADMIN: the process does "
                            "not hold it any more: Operation not permitted"))
                return 15;

        char *kill[] = {"CAP_KILL", NULL};
        struct oci_capabilities eff_only = {.effective = kill};
        if (vs_caps_apply(&eff_only, &err) != -1 ||
            !error_is(&err, "cannot set effective capability CAP_KILL: it is not in the "
                            "permitted set: Operation not permitted"))
                return 16;

        struct oci_capabilities inh = {.permitted = permitted, .inheritable = admin};
        if (vs_caps_apply(&inh, &err) != -1 ||
            !error_is(&err, "cannot set inheritable capability CAP_SYS_ADMIN: it is not in the "
                            "bounding set: Operation not permitted"))
                return 17;

        /* Ambient needs permitted and inheritable. */
        char *chown[] = {"CAP_CHOWN", NULL};
        struct oci_capabilities amb = {.permitted = chown, .ambient = chown};
        if (vs_caps_apply(&amb, &err) != -1 ||
            !error_is(&err, "cannot raise ambient capability CAP_CHOWN (an ambient capability "
                            "must also be permitted and inheritable): Operation not permitted"))
                return 18;
        if (ambient_set() != 0)
                return 19;

        /* Dropping from the bounding set needs CAP_SETPCAP, long gone. */
        struct oci_capabilities none = {0};
        if (vs_caps_prepare(&none, &err) != -1 ||
            !error_is(&err, "cannot drop CAP_CHOWN from the bounding set: Operation not "
                            "permitted"))
                return 20;
        return 0;
}

static void test_prepare_setuid_apply(void **state)
{
        if (!is_root())
                skip();
        assert_int_equal(run_in_child(child_prepare_setuid_apply), 0);
}

/* A root process keeps its uid: the sets still come out exactly as asked,
 * and an inheritable capability outside the permitted set is allowed
 * because CAP_SETPCAP is still held. */
static int child_stay_root(void)
{
        _cleanup_error_ vs_error *err = NULL;
        char *bounding[] = {"CAP_SETPCAP", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL", NULL};
        char *effective[] = {"CAP_SETPCAP", "CAP_CHOWN", NULL};
        char *permitted[] = {"CAP_SETPCAP", "CAP_CHOWN", NULL};
        char *inheritable[] = {"CAP_KILL", NULL};
        struct oci_capabilities c = {.bounding = bounding,
                                     .effective = effective,
                                     .permitted = permitted,
                                     .inheritable = inheritable};
        if (vs_caps_prepare(&c, &err) < 0 || vs_caps_apply(&c, &err) < 0) {
                fprintf(stderr, "%s\n", err->msg);
                return 2;
        }
        if (bounding_set() !=
            (BIT(CAP_SETPCAP) | BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_KILL)))
                return 3;
        if (proc_set(CAP_EFFECTIVE) != (BIT(CAP_SETPCAP) | BIT(CAP_CHOWN)) ||
            proc_set(CAP_PERMITTED) != (BIT(CAP_SETPCAP) | BIT(CAP_CHOWN)))
                return 4;
        if (proc_set(CAP_INHERITABLE) != BIT(CAP_KILL))
                return 5;
        if (ambient_set() != 0)
                return 6;
        /* An empty object drops everything. */
        struct oci_capabilities none = {0};
        if (vs_caps_prepare(&none, &err) < 0 || vs_caps_apply(&none, &err) < 0) {
                fprintf(stderr, "%s\n", err->msg);
                return 7;
        }
        if (bounding_set() != 0 || proc_set(CAP_PERMITTED) != 0 || proc_set(CAP_EFFECTIVE) != 0 ||
            proc_set(CAP_INHERITABLE) != 0)
                return 8;
        return 0;
}

static void test_stay_root(void **state)
{
        if (!is_root())
                skip();
        assert_int_equal(run_in_child(child_stay_root), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cap_from_name),
            cmocka_unit_test(test_cap_name),
            cmocka_unit_test(test_last_cap),
            cmocka_unit_test(test_validate),
            cmocka_unit_test(test_null_caps_do_nothing),
            cmocka_unit_test(test_prepare_setuid_apply),
            cmocka_unit_test(test_stay_root),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
