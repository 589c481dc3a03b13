/* linux.seccomp: parsing and validation, filter building (checked through
 * libseccomp's pseudo filter code), and filters loaded in forked children. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "kernel_probe.h"

#include "oci/config.h"
#include "runtime/seccomp.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

static const char full_profile[] =
    "{"
    "  \"defaultAction\": \"SCMP_ACT_ERRNO\","
    "  \"defaultErrnoRet\": 38,"
    "  \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"],"
    "  \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\"],"
    "  \"listenerMetadata\": \"meta\","
    "  \"syscalls\": ["
    "    {\"names\": [\"getppid\", \"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\","
    "     \"errnoRet\": 95},"
    "    {\"names\": [\"getpgid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 46,"
    "     \"args\": [{\"index\": 0, \"value\": 424242, \"op\": \"SCMP_CMP_EQ\"},"
    "                {\"index\": 1, \"value\": 255, \"valueTwo\": 16,"
    "                 \"op\": \"SCMP_CMP_MASKED_EQ\"}]},"
    "    {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\","
    "     \"args\": [{\"index\": 0, \"value\": 18446744073709551615,"
    "                 \"op\": \"SCMP_CMP_NE\"}]}"
    "  ]"
    "}";

static int parse_text(const char *text, const char *ctx, struct oci_seccomp **out, vs_error **err)
{
        _cleanup_json_ json_object *doc = NULL;
        if (vs_json_parse(text, "test", &doc, err) < 0)
                return -1;
        return oci_seccomp_parse(doc, ctx, out, err);
}

static struct oci_seccomp *parse_ok(const char *text)
{
        _cleanup_error_ vs_error *err = NULL;
        struct oci_seccomp *s = NULL;
        int rc = parse_text(text, "linux.seccomp", &s, &err);
        if (rc < 0)
                fail_msg("unexpected parse error: %s", err->msg);
        return s;
}

/* The filter's pseudo filter code, as text. */
static char *filter_pfc(scmp_filter_ctx ctx)
{
        int fd = memfd_create("pfc", MFD_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(seccomp_export_pfc(ctx, fd), 0);
        off_t len = lseek(fd, 0, SEEK_END);
        assert_true(len > 0);
        char *text = xzalloc((size_t) len + 1);
        assert_int_equal(pread(fd, text, (size_t) len, 0), len);
        close(fd);
        return text;
}

static char *build_pfc(const struct oci_seccomp *s)
{
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
        if (vs_seccomp_build(s, &ctx, &err) < 0)
                fail_msg("unexpected build error: %s", err->msg);
        return filter_pfc(ctx);
}

static char *build_pfc_text(const char *json)
{
        struct oci_seccomp *s = parse_ok(json);
        char *pfc = build_pfc(s);
        oci_seccomp_free(s);
        return pfc;
}

#define assert_contains(haystack, needle)                                                          \
        do {                                                                                       \
                if (strstr((haystack), (needle)) == NULL)                                          \
                        fail_msg("'%s' not found in:\n%s", (needle), (haystack));                  \
        } while (0)

#define assert_not_contains(haystack, needle)                                                      \
        do {                                                                                       \
                if (strstr((haystack), (needle)) != NULL)                                          \
                        fail_msg("'%s' unexpectedly found in:\n%s", (needle), (haystack));         \
        } while (0)

static void test_parse_full(void **state)
{
        struct oci_seccomp *s = parse_ok(full_profile);

        assert_string_equal(s->default_action, "SCMP_ACT_ERRNO");
        assert_true(s->has_default_errno_ret);
        assert_int_equal(s->default_errno_ret, 38);
        assert_int_equal(strv_len(s->architectures), 3);
        assert_string_equal(s->architectures[1], "SCMP_ARCH_X86");
        assert_int_equal(strv_len(s->flags), 1);
        assert_string_equal(s->flags[0], "SECCOMP_FILTER_FLAG_LOG");
        assert_null(s->listener_path);
        assert_string_equal(s->listener_metadata, "meta");

        assert_int_equal(s->n_syscalls, 3);
        assert_int_equal(strv_len(s->syscalls[0].names), 2);
        assert_string_equal(s->syscalls[0].names[1], "mkdir");
        assert_string_equal(s->syscalls[0].action, "SCMP_ACT_ERRNO");
        assert_true(s->syscalls[0].has_errno_ret);
        assert_int_equal(s->syscalls[0].errno_ret, 95);
        assert_int_equal(s->syscalls[0].n_args, 0);

        const struct oci_seccomp_syscall *sc = &s->syscalls[1];
        assert_int_equal(sc->n_args, 2);
        assert_int_equal(sc->args[0].index, 0);
        assert_int_equal(sc->args[0].value, 424242);
        assert_int_equal(sc->args[0].value_two, 0);
        assert_string_equal(sc->args[0].op, "SCMP_CMP_EQ");
        assert_int_equal(sc->args[1].index, 1);
        assert_int_equal(sc->args[1].value, 255);
        assert_int_equal(sc->args[1].value_two, 16);
        assert_string_equal(sc->args[1].op, "SCMP_CMP_MASKED_EQ");

        assert_false(s->syscalls[2].has_errno_ret);
        assert_true(s->syscalls[2].args[0].value == UINT64_MAX);
        oci_seccomp_free(s);
}

static void test_parse_minimal(void **state)
{
        struct oci_seccomp *s = parse_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\"}");
        assert_string_equal(s->default_action, "SCMP_ACT_ALLOW");
        assert_false(s->has_default_errno_ret);
        assert_null(s->architectures);
        assert_null(s->flags);
        assert_int_equal(s->n_syscalls, 0);
        oci_seccomp_free(s);
        oci_seccomp_free(NULL);
}

static const struct {
        const char *json;
        const char *error;
} bad_profiles[] = {
    {"[]", "linux.seccomp: expected an object"},
    {"{}", "linux.seccomp.defaultAction: required"},
    {"{\"defaultAction\": 1}", "linux.seccomp.defaultAction: expected a string"},
    {"{\"defaultAction\": \"SCMP_ACT_FOO\"}",
     "linux.seccomp.defaultAction: unknown action 'SCMP_ACT_FOO'"},
    {"{\"defaultAction\": \"scmp_act_allow\"}",
     "linux.seccomp.defaultAction: unknown action 'scmp_act_allow'"},
    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": -1}",
     "linux.seccomp.defaultErrnoRet: must not be negative"},
    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 65536}",
     "linux.seccomp.defaultErrnoRet: 65536 is out of range (max 65535)"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", "
     "\"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_VAX\"]}",
     "linux.seccomp.architectures[1]: unknown architecture 'SCMP_ARCH_VAX'"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [7]}",
     "linux.seccomp.architectures[0]: expected a string"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", "
     "\"flags\": [\"SECCOMP_FILTER_FLAG_NEW_LISTENER\"]}",
     "linux.seccomp.flags[0]: unknown flag 'SECCOMP_FILTER_FLAG_NEW_LISTENER'"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": 3}",
     "linux.seccomp.listenerPath: expected a string"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}",
     "linux.seccomp.syscalls: expected an array"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [\"read\"]}",
     "linux.seccomp.syscalls[0]: expected an object"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", "
     "\"syscalls\": [{\"action\": \"SCMP_ACT_ERRNO\"}]}",
     "linux.seccomp.syscalls[0].names: must contain at least one syscall name"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", "
     "\"syscalls\": [{\"names\": [], \"action\": \"SCMP_ACT_ERRNO\"}]}",
     "linux.seccomp.syscalls[0].names: must contain at least one syscall name"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", "
     "\"syscalls\": [{\"names\": [\"read\", 1], \"action\": \"SCMP_ACT_ERRNO\"}]}",
     "linux.seccomp.syscalls[0].names[1]: expected a string"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", "
     "\"syscalls\": [{\"names\": [\"read\", \"\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
     "linux.seccomp.syscalls[0].names[1]: must not be empty"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"]}]}",
     "linux.seccomp.syscalls[0].action: required"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
     "{\"names\": [\"a\"], \"action\": \"SCMP_ACT_ERRNO\"},"
     "{\"names\": [\"b\"], \"action\": \"SCMP_ACT_LOG\"},"
     "{\"names\": [\"c\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"},"
     "{\"names\": [\"d\"], \"action\": \"SCMP_ACT_FOO\"}]}",
     "linux.seccomp.syscalls[3].action: unknown action 'SCMP_ACT_FOO'"},
    {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
     "\"action\": \"SCMP_ACT_ALLOW\", \"errnoRet\": 1}]}",
     "linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or "
     "SCMP_ACT_TRACE, not SCMP_ACT_ALLOW"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
     "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": \"EPERM\"}]}",
     "linux.seccomp.syscalls[0].errnoRet: expected an integer"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
     "\"action\": \"SCMP_ACT_ERRNO\", \"args\": {}}]}",
     "linux.seccomp.syscalls[0].args: expected an array"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
     "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [1]}]}",
     "linux.seccomp.syscalls[0].args[0]: expected an object"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
     "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 6, \"value\": 0, "
     "\"op\": \"SCMP_CMP_EQ\"}]}]}",
     "linux.seccomp.syscalls[0].args[0].index: 6 is out of range"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
     "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"value\": 0, "
     "\"op\": \"SCMP_CMP_EQ\"}]}]}",
     "linux.seccomp.syscalls[0].args[0].index: required"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
     "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, "
     "\"op\": \"SCMP_CMP_EQ\"}]}]}",
     "linux.seccomp.syscalls[0].args[0].value: required"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
     "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": -5, "
     "\"op\": \"SCMP_CMP_EQ\"}]}]}",
     "linux.seccomp.syscalls[0].args[0].value: must not be negative"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
     "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 1}]}]}",
     "linux.seccomp.syscalls[0].args[0].op: required"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
     "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 1, "
     "\"op\": \"SCMP_CMP_EQ\"}, {\"index\": 1, \"value\": 1, "
     "\"op\": \"SCMP_CMP_XX\"}]}]}",
     "linux.seccomp.syscalls[0].args[1].op: unknown operator 'SCMP_CMP_XX'"},
};

static void test_parse_errors(void **state)
{
        for (size_t i = 0; i < sizeof(bad_profiles) / sizeof(bad_profiles[0]); i++) {
                _cleanup_error_ vs_error *err = NULL;
                struct oci_seccomp *s = NULL;
                int rc = parse_text(bad_profiles[i].json, "linux.seccomp", &s, &err);
                if (rc != -1)
                        fail_msg("case %zu parsed, expected '%s'", i, bad_profiles[i].error);
                assert_null(s);
                assert_non_null(err);
                if (strstr(err->msg, bad_profiles[i].error) != err->msg)
                        fail_msg("case %zu: got '%s', expected '%s'", i, err->msg,
                                 bad_profiles[i].error);
        }
}

static void test_parse_uses_ctx(void **state)
{
        _cleanup_error_ vs_error *err = NULL;
        struct oci_seccomp *s = NULL;
        assert_int_equal(
            parse_text("{\"defaultAction\": \"X\"}", "config.json: linux.seccomp", &s, &err), -1);
        assert_string_equal(err->msg,
                            "config.json: linux.seccomp.defaultAction: unknown action 'X'");
}

static bool list_has(const char *const *list, const char *s)
{
        for (; *list; list++)
                if (strcmp(*list, s) == 0)
                        return true;
        return false;
}

static void test_features(void **state)
{
        require_syscall(SYS_seccomp, "seccomp");
        const char *const *actions, *const *ops, *const *archs, *const *flags;
        vs_seccomp_features(&actions, &ops, &archs, &flags);

        assert_true(list_has(actions, "SCMP_ACT_ERRNO"));
        assert_true(list_has(actions, "SCMP_ACT_KILL_PROCESS"));
        assert_false(list_has(actions, "SCMP_ACT_NOTIFY"));
        assert_true(list_has(ops, "SCMP_CMP_MASKED_EQ"));
        assert_true(list_has(flags, "SECCOMP_FILTER_FLAG_TSYNC"));
        assert_false(list_has(flags, "SECCOMP_FILTER_FLAG_NEW_LISTENER"));
#if defined(__x86_64__)
        assert_true(list_has(archs, "SCMP_ARCH_X86_64"));
        assert_true(list_has(archs, "SCMP_ARCH_X86"));
#elif defined(__aarch64__)
        assert_true(list_has(archs, "SCMP_ARCH_AARCH64"));
#endif
        assert_false(list_has(archs, "SCMP_ARCH_VAX"));

        /* Every listed action and operator is accepted by the builder. */
        for (size_t i = 0; actions[i]; i++) {
                struct oci_seccomp s = {.default_action = (char *) actions[i]};
                free(build_pfc(&s));
        }
        for (size_t i = 0; archs[i]; i++) {
                /* Mixing endiannesses is refused by libseccomp, so try each
                 * alone. */
                char *list[] = {(char *) archs[i], NULL};
                struct oci_seccomp s = {.default_action = "SCMP_ACT_ALLOW", .architectures = list};
                _cleanup_error_ vs_error *err = NULL;
                _cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
                int rc = vs_seccomp_build(&s, &ctx, &err);
                if (rc < 0 && err->errno_ != EDOM && err->errno_ != EEXIST)
                        fail_msg("arch %s: %s", archs[i], err->msg);
        }
}

static void test_build_full(void **state)
{
        require_syscall(SYS_seccomp, "seccomp");
        char *pfc = build_pfc_text(full_profile);

        assert_contains(pfc, "# filter for arch x86_64");
#if defined(__x86_64__)
        assert_contains(pfc, "# filter for arch x86 ");
        assert_contains(pfc, "# filter for arch x32");
#endif
        assert_contains(pfc, "# filter for syscall \"getppid\"");
        assert_contains(pfc, "# filter for syscall \"mkdir\"");
        assert_contains(pfc, "action ERRNO(95);");
        assert_contains(pfc, "if ($a0.lo32 == 424242)");
        assert_contains(pfc, "if ($a1.lo32 & 0x000000ff == 16)");
        assert_contains(pfc, "action ERRNO(46);");
        assert_contains(pfc, "# filter for syscall \"personality\"");
        assert_contains(pfc, "action ALLOW;");
        /* defaultErrnoRet */
        assert_contains(pfc, "# default action\n  action ERRNO(38);");
        free(pfc);
}

static void test_build_default_rets(void **state)
{
        require_syscall(SYS_seccomp, "seccomp");
        char *pfc = build_pfc_text(
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
            "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_TRACE\"},"
            "{\"names\": [\"getpgid\"], \"action\": \"SCMP_ACT_TRACE\", \"errnoRet\": 7},"
            "{\"names\": [\"getuid\"], \"action\": \"SCMP_ACT_ALLOW\"},"
            "{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 0}]}");
        /* EPERM when absent, for the default action and for rules. */
        assert_contains(pfc, "# default action\n  action ERRNO(1);");
        assert_contains(pfc, "action TRACE(1);");
        assert_contains(pfc, "action TRACE(7);");
        /* 0 is a valid errnoRet ("succeed without doing anything"). */
        assert_contains(pfc, "action ERRNO(0);");
        free(pfc);

        pfc = build_pfc_text("{\"defaultAction\": \"SCMP_ACT_TRACE\", \"defaultErrnoRet\": 9}");
        assert_contains(pfc, "# default action\n  action TRACE(9);");
        free(pfc);

        /* defaultErrnoRet means nothing to other actions. */
        pfc = build_pfc_text("{\"defaultAction\": \"SCMP_ACT_KILL_PROCESS\", "
                             "\"defaultErrnoRet\": 9, \"syscalls\": [{\"names\": [\"getppid\"], "
                             "\"action\": \"SCMP_ACT_LOG\"}]}");
        assert_contains(pfc, "# default action\n  action KILL_PROCESS;");
        assert_contains(pfc, "action LOG;");
        free(pfc);
}

static void test_build_skips_unknown_and_default(void **state)
{
        char *pfc = build_pfc_text("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                                   "{\"names\": [\"no_such_syscall_xyz\", \"getppid\"], "
                                   "\"action\": \"SCMP_ACT_ERRNO\"},"
                                   "{\"names\": [\"getpgid\"], \"action\": \"SCMP_ACT_ALLOW\"}]}");
        assert_contains(pfc, "# filter for syscall \"getppid\"");
        assert_not_contains(pfc, "no_such_syscall_xyz");
        /* Same action as the default: libseccomp would refuse it. */
        assert_not_contains(pfc, "\"getpgid\"");
        free(pfc);
}

static void test_build_attributes(void **state)
{
        require_syscall(SYS_seccomp, "seccomp");
        struct oci_seccomp *s =
            parse_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": "
                     "[\"SECCOMP_FILTER_FLAG_TSYNC\", \"SECCOMP_FILTER_FLAG_SPEC_ALLOW\", "
                     "\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"]}");
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
        if (vs_seccomp_build(s, &ctx, &err) < 0)
                fail_msg("%s", err->msg);
        uint32_t v = 99;
        assert_int_equal(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_NNP, &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_TSYNC, &v), 0);
        assert_int_equal(v, 1);
        assert_int_equal(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_SSB, &v), 0);
        assert_int_equal(v, 1);
        assert_int_equal(seccomp_attr_get(ctx, SCMP_FLTATR_CTL_LOG, &v), 0);
        assert_int_equal(v, 0);
        oci_seccomp_free(s);
}

static void expect_build_error(struct oci_seccomp *s, const char *expected)
{
        _cleanup_error_ vs_error *err = NULL;
        scmp_filter_ctx ctx = NULL;
        assert_int_equal(vs_seccomp_build(s, &ctx, &err), -1);
        assert_null(ctx);
        assert_non_null(err);
        if (strstr(err->msg, expected) == NULL)
                fail_msg("got '%s', expected '%s'", err->msg, expected);
}

static void test_build_rejects(void **state)
{
        require_syscall(SYS_seccomp, "seccomp");
        struct oci_seccomp *s = parse_ok("{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}");
        expect_build_error(s, "seccomp defaultAction: SCMP_ACT_NOTIFY is not supported");
        oci_seccomp_free(s);

        s = parse_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                     "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\"},"
                     "{\"names\": [\"getpgid\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}");
        expect_build_error(s, "seccomp syscalls[1]: SCMP_ACT_NOTIFY is not supported");
        oci_seccomp_free(s);

        s = parse_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/run/l\"}");
        expect_build_error(s, "listenerPath is set but seccomp notify is not supported");
        oci_seccomp_free(s);

        /* Models built by code rather than the parser are checked too. */
        char *flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_BOGUS", NULL};
        struct oci_seccomp m = {.default_action = "SCMP_ACT_ALLOW", .flags = flags};
        expect_build_error(&m, "seccomp flags[1]: unknown flag 'SECCOMP_FILTER_FLAG_BOGUS'");

        struct oci_seccomp_arg arg = {.index = 0, .value = 1, .op = "SCMP_CMP_ALMOST"};
        char *names[] = {"getppid", NULL};
        struct oci_seccomp_syscall sc = {
            .names = names, .action = "SCMP_ACT_ERRNO", .args = &arg, .n_args = 1};
        struct oci_seccomp m2 = {
            .default_action = "SCMP_ACT_ALLOW", .syscalls = &sc, .n_syscalls = 1};
        expect_build_error(&m2, "unknown operator 'SCMP_CMP_ALMOST'");
        arg.op = "SCMP_CMP_EQ";
        arg.index = 7;
        expect_build_error(&m2, "args[0]: index 7 is out of range");

        struct oci_seccomp m3 = {.default_action = "SCMP_ACT_BOGUS"};
        expect_build_error(&m3, "seccomp defaultAction: unknown action 'SCMP_ACT_BOGUS'");
}

/* Runs fn in a forked child (filters cannot be unloaded) and returns its
 * exit code; a nonzero code names the check that failed. */
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

static bool have_cap_sys_admin(void)
{
        cap_t caps = cap_get_proc();
        cap_flag_value_t v = CAP_CLEAR;
        cap_get_flag(caps, CAP_SYS_ADMIN, CAP_EFFECTIVE, &v);
        cap_free(caps);
        return v == CAP_SET;
}

static const char errno_profile[] =
    "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
    "{\"names\": [\"getppid\", \"mkdirat\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 77},"
    "{\"names\": [\"getpgid\"], \"action\": \"SCMP_ACT_ERRNO\"},"
    /* distinct indexes: both must match */
    "{\"names\": [\"dup3\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 46, \"args\": ["
    "  {\"index\": 0, \"value\": 900, \"op\": \"SCMP_CMP_EQ\"},"
    "  {\"index\": 1, \"value\": 901, \"op\": \"SCMP_CMP_EQ\"}]},"
    /* same index: either matches */
    "{\"names\": [\"fchdir\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 47, \"args\": ["
    "  {\"index\": 0, \"value\": 910, \"op\": \"SCMP_CMP_EQ\"},"
    "  {\"index\": 0, \"value\": 911, \"op\": \"SCMP_CMP_EQ\"}]},"
    "{\"names\": [\"no_such_syscall_xyz\"], \"action\": \"SCMP_ACT_KILL\"}"
    "]}";

static bool fails_with(long rc, int want)
{
        return rc == -1 && errno == want;
}

static int child_load_errno_filter(void)
{
        _cleanup_error_ vs_error *err = NULL;
        struct oci_seccomp *s = NULL;
        if (parse_text(errno_profile, "linux.seccomp", &s, &err) < 0)
                return 2;
        pid_t parent = getppid();
        bool privileged = have_cap_sys_admin();
        if (!privileged && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return 3;
        if (vs_seccomp_load(s, &err) < 0) {
                fprintf(stderr, "load: %s\n", err->msg);
                return 4;
        }
        /* The filter must not have set no_new_privs on its own. */
        if (privileged && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0)
                return 5;
        if (!fails_with(syscall(SYS_getppid), 77))
                return 6;
        if (!fails_with(syscall(SYS_mkdirat, AT_FDCWD, "/nonexistent-dir/x", 0755), 77))
                return 7;
        if (!fails_with(syscall(SYS_getpgid, 0), EPERM))
                return 8;
        if (!fails_with(syscall(SYS_dup3, 900, 901, 0), 46))
                return 9;
        if (!fails_with(syscall(SYS_dup3, 900, 902, 0), EBADF))
                return 10;
        if (!fails_with(syscall(SYS_fchdir, 910), 47) || !fails_with(syscall(SYS_fchdir, 911), 47))
                return 11;
        if (!fails_with(syscall(SYS_fchdir, 912), EBADF))
                return 12;
        /* Unfiltered syscalls still work. */
        if (getpid() <= 0 || parent <= 0)
                return 13;
        oci_seccomp_free(s);
        return 0;
}

static void test_load_errno_filter(void **state)
{
        require_syscall(SYS_seccomp, "seccomp");
        assert_int_equal(run_in_child(child_load_errno_filter), 0);
}

static int child_load_without_privilege(void)
{
        cap_t caps = cap_get_proc();
        cap_value_t admin = CAP_SYS_ADMIN;
        if (cap_set_flag(caps, CAP_EFFECTIVE, 1, &admin, CAP_CLEAR) < 0 || cap_set_proc(caps) < 0)
                return 2;
        cap_free(caps);
        struct oci_seccomp s = {.default_action = "SCMP_ACT_ALLOW"};
        _cleanup_error_ vs_error *err = NULL;
        if (vs_seccomp_load(&s, &err) != -1)
                return 3;
        if (err->errno_ != EACCES ||
            strstr(err->msg, "needs no_new_privs or CAP_SYS_ADMIN") == NULL)
                return 4;
        return 0;
}

static void test_load_without_privilege(void **state)
{
        require_syscall(SYS_seccomp, "seccomp");
        if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0)
                skip();
        assert_int_equal(run_in_child(child_load_without_privilege), 0);
}

/* Compiled programs are cached by the exact profile: the second compile of
 * one profile reads the cache, a damaged cache file is never trusted, and a
 * program from the cache behaves like a fresh one. */
static int child_install_cached(void)
{
        _cleanup_error_ vs_error *err = NULL;
        char dir[] = "/tmp/vessel-seccomp-cache.XXXXXX";
        if (mkdtemp(dir) == NULL)
                return 2;
        struct oci_seccomp *s = NULL;
        if (parse_text(errno_profile, "linux.seccomp", &s, &err) < 0)
                return 3;
        struct vs_seccomp_prog *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        if (vs_seccomp_compile(s, errno_profile, dir, &a, &err) < 0 || a->from_cache)
                return 4;
        if (vs_seccomp_compile(s, errno_profile, dir, &b, &err) < 0 || !b->from_cache)
                return 5;
        if (a->len != b->len || memcmp(a->insns, b->insns, a->len * sizeof(*a->insns)) != 0)
                return 6;
        /* Damage every cache file: the next compile must not use it. */
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "for f in %s/*.bpf; do printf garbage >> $f; done", dir);
        if (system(cmd) != 0)
                return 7;
        if (vs_seccomp_compile(s, errno_profile, dir, &c, &err) < 0 || c->from_cache)
                return 8;
        /* Another profile text is another cache entry. */
        if (vs_seccomp_compile(s, "{\"other\": true}", dir, &d, &err) < 0 || d->from_cache)
                return 9;
        snprintf(cmd, sizeof(cmd), "test $(ls %s | wc -l) -eq 2 && rm -rf %s", dir, dir);
        if (system(cmd) != 0)
                return 10;
        bool privileged = have_cap_sys_admin();
        if (!privileged && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return 11;
        if (vs_seccomp_install(b, &err) < 0)
                return 12;
        if (!fails_with(syscall(SYS_getppid), 77) || !fails_with(syscall(SYS_getpgid, 0), EPERM))
                return 13;
        vs_seccomp_prog_free(a);
        vs_seccomp_prog_free(b);
        vs_seccomp_prog_free(c);
        vs_seccomp_prog_free(d);
        oci_seccomp_free(s);
        return 0;
}

static void test_compile_cache(void **state)
{
        require_syscall(SYS_seccomp, "seccomp");
        (void) state;
        assert_int_equal(run_in_child(child_install_cached), 0);
}

/* A big profile: n argument rules over four syscalls whose only effect
 * here is ESRCH (no process has pid 1000000 + x), `distinct` of them
 * different, each rule r returning errno 1 + r % 100. */
static const long big_syscalls[] = {SYS_getpgid, SYS_getsid, SYS_sched_getscheduler, SYS_kill};
static const char *const big_names[] = {"getpgid", "getsid", "sched_getscheduler", "kill"};

static char *big_profile(long n, long distinct)
{
        size_t cap = 128 + (size_t) n * 160, len = 0;
        char *s = xmalloc(cap);
        len += (size_t) snprintf(s + len, cap - len,
                                 "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[");
        for (long i = 0; i < n; i++) {
                long r = i % distinct;
                len +=
                    (size_t) snprintf(s + len, cap - len,
                                      "%s{\"names\":[\"%s\"],\"action\":\"SCMP_ACT_ERRNO\","
                                      "\"errnoRet\":%ld,\"args\":[{\"index\":0,\"value\":%ld,"
                                      "\"op\":\"SCMP_CMP_EQ\"}]}",
                                      i ? "," : "", big_names[r % 4], 1 + r % 100, 1000000 + r / 4);
        }
        snprintf(s + len, cap - len, "]}");
        return s;
}

/* 20,000 rules (1,000 different) compile, and the filter does what every
 * rule says, and nothing else. */
static int child_big_profile(void)
{
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_free_ char *text = big_profile(20000, 1000);
        struct oci_seccomp *s = NULL;
        struct vs_seccomp_prog *p = NULL;
        if (parse_text(text, "linux.seccomp", &s, &err) < 0)
                return 2;
        if (vs_seccomp_compile(s, text, NULL, &p, &err) < 0) {
                fprintf(stderr, "compile: %s\n", err->msg);
                return 3;
        }
        if (!have_cap_sys_admin() && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return 4;
        if (vs_seccomp_install(p, &err) < 0)
                return 5;
        for (long r = 0; r < 1000; r++) {
                long nr = big_syscalls[r % 4];
                if (!fails_with(syscall(nr, 1000000 + r / 4, 0), (int) (1 + r % 100))) {
                        fprintf(stderr, "rule %ld: errno %d\n", r, errno);
                        return 6;
                }
        }
        /* Values no rule names reach the kernel. */
        for (long i = 0; i < 4; i++)
                if (!fails_with(syscall(big_syscalls[i], 1000000 + 250, 0), ESRCH) ||
                    !fails_with(syscall(big_syscalls[i], 999999, 0), ESRCH))
                        return 7;
        vs_seccomp_prog_free(p);
        oci_seccomp_free(s);
        return 0;
}

static void test_big_profile_filters_as_written(void **state)
{
        (void) state;
        require_syscall(SYS_seccomp, "seccomp");
        assert_int_equal(run_in_child(child_big_profile), 0);
}

/* A profile no seccomp filter can hold is refused, with the reason, before
 * libseccomp spends minutes generating it. */
static void test_oversized_profile_refused(void **state)
{
        (void) state;
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_free_ char *text = big_profile(20000, 20000);
        struct oci_seccomp *s = NULL;
        struct vs_seccomp_prog *p = NULL;
        assert_int_equal(parse_text(text, "linux.seccomp", &s, &err), 0);
        assert_int_equal(vs_seccomp_compile(s, text, NULL, &p, &err), -1);
        assert_non_null(strstr(err->msg, "more than a seccomp filter holds (4096)"));
        assert_null(p);
        oci_seccomp_free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_full),
            cmocka_unit_test(test_parse_minimal),
            cmocka_unit_test(test_parse_errors),
            cmocka_unit_test(test_parse_uses_ctx),
            cmocka_unit_test(test_features),
            cmocka_unit_test(test_build_full),
            cmocka_unit_test(test_build_default_rets),
            cmocka_unit_test(test_build_skips_unknown_and_default),
            cmocka_unit_test(test_build_attributes),
            cmocka_unit_test(test_build_rejects),
            cmocka_unit_test(test_load_errno_filter),
            cmocka_unit_test(test_load_without_privilege),
            cmocka_unit_test(test_compile_cache),
            cmocka_unit_test(test_big_profile_filters_as_written),
            cmocka_unit_test(test_oversized_profile_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
