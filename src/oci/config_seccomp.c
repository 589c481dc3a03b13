/* linux.seccomp of the runtime-spec: parsed and validated here, independent
 * of libseccomp, so that a config naming something unknown is rejected at
 * create time with the field path; src/runtime/seccomp.c turns the model
 * into a filter. */
#include "oci/config.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* The kernel evaluates six syscall arguments, no more. */
#define SECCOMP_MAX_ARGS 6

/* Both SCMP_ACT_ERRNO and SCMP_ACT_TRACE carry 16 bits of data. */
#define SECCOMP_MAX_RET 0xffff

static const char *const known_actions[] = {
    "SCMP_ACT_KILL",        "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",       "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",       "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",      NULL,
};

const char *const oci_seccomp_operators[OCI_SECCOMP_N_OPERATORS + 1] = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL,
};

/* Every architecture the runtime-spec names, whether or not the installed
 * libseccomp knows it: the builder decides what it can honour. */
const char *const oci_seccomp_architectures[OCI_SECCOMP_N_ARCHS + 1] = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",    "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB",        NULL,
};

static const char *const known_flags[] = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    NULL,
};

static bool in_list(const char *const *list, const char *s)
{
        for (; *list; list++)
                if (strcmp(*list, s) == 0)
                        return true;
        return false;
}

static bool action_takes_ret(const char *action)
{
        return strcmp(action, "SCMP_ACT_ERRNO") == 0 || strcmp(action, "SCMP_ACT_TRACE") == 0;
}

/* Reads a required, known action name. */
static int parse_action(json_object *obj, const char *ctx, const char *key, char **out,
                        vs_error **err)
{
        int r = vs_json_get_string(obj, ctx, key, out, err);
        if (r < 0)
                return -1;
        if (r == 0)
                return vs_fail(err, "%s.%s: required", ctx, key);
        if (!in_list(known_actions, *out))
                return vs_fail(err, "%s.%s: unknown action '%s'", ctx, key, *out);
        return 0;
}

static int parse_ret(json_object *obj, const char *ctx, const char *key, bool *has, uint32_t *out,
                     vs_error **err)
{
        int r = vs_json_get_uint32(obj, ctx, key, out, err);
        if (r < 0)
                return -1;
        if (r == 0)
                return 0;
        if (*out > SECCOMP_MAX_RET)
                return vs_fail(err, "%s.%s: %u is out of range (max %u)", ctx, key, *out,
                               SECCOMP_MAX_RET);
        *has = true;
        return 0;
}

/* A list of names, each of which must appear in known. */
static int parse_name_list(json_object *obj, const char *ctx, const char *key,
                           const char *const *known, const char *what, char ***out, vs_error **err)
{
        if (vs_json_get_strv(obj, ctx, key, out, err) < 0)
                return -1;
        for (size_t i = 0; *out && (*out)[i]; i++)
                if (!in_list(known, (*out)[i]))
                        return vs_fail(err, "%s.%s[%zu]: unknown %s '%s'", ctx, key, i, what,
                                       (*out)[i]);
        return 0;
}

static int parse_arg(json_object *obj, const char *ctx, struct oci_seccomp_arg *arg, vs_error **err)
{
        if (!json_object_is_type(obj, json_type_object))
                return vs_fail(err, "%s: expected an object", ctx);

        int r = vs_json_get_uint32(obj, ctx, "index", &arg->index, err);
        if (r < 0)
                return -1;
        if (r == 0)
                return vs_fail(err, "%s.index: required", ctx);
        if (arg->index >= SECCOMP_MAX_ARGS)
                return vs_fail(err, "%s.index: %u is out of range (syscalls have %d arguments)",
                               ctx, arg->index, SECCOMP_MAX_ARGS);

        r = vs_json_get_uint64(obj, ctx, "value", &arg->value, err);
        if (r < 0)
                return -1;
        if (r == 0)
                return vs_fail(err, "%s.value: required", ctx);
        if (vs_json_get_uint64(obj, ctx, "valueTwo", &arg->value_two, err) < 0)
                return -1;

        r = vs_json_get_string(obj, ctx, "op", &arg->op, err);
        if (r < 0)
                return -1;
        if (r == 0)
                return vs_fail(err, "%s.op: required", ctx);
        if (!in_list(oci_seccomp_operators, arg->op))
                return vs_fail(err, "%s.op: unknown operator '%s'", ctx, arg->op);
        return 0;
}

static int parse_syscall(json_object *obj, const char *ctx, struct oci_seccomp_syscall *sc,
                         vs_error **err)
{
        if (!json_object_is_type(obj, json_type_object))
                return vs_fail(err, "%s: expected an object", ctx);

        int r = vs_json_get_strv(obj, ctx, "names", &sc->names, err);
        if (r < 0)
                return -1;
        if (r == 0 || sc->names[0] == NULL)
                return vs_fail(err, "%s.names: must contain at least one syscall name", ctx);
        for (size_t i = 0; sc->names[i]; i++)
                if (sc->names[i][0] == '\0')
                        return vs_fail(err, "%s.names[%zu]: must not be empty", ctx, i);

        if (parse_action(obj, ctx, "action", &sc->action, err) < 0)
                return -1;
        if (parse_ret(obj, ctx, "errnoRet", &sc->has_errno_ret, &sc->errno_ret, err) < 0)
                return -1;
        /* runc refuses this too: the value would silently have no effect. */
        if (sc->has_errno_ret && !action_takes_ret(sc->action))
                return vs_fail(err,
                               "%s.errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, "
                               "not %s",
                               ctx, sc->action);

        json_object *args = NULL;
        if (vs_json_get_array(obj, ctx, "args", &args, err) < 0)
                return -1;
        if (args == NULL)
                return 0;
        size_t n = json_object_array_length(args);
        sc->args = xcalloc(n ? n : 1, sizeof(*sc->args));
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *actx = xasprintf("%s.args[%zu]", ctx, i);
                sc->n_args = i + 1;
                if (parse_arg(json_object_array_get_idx(args, i), actx, &sc->args[i], err) < 0)
                        return -1;
        }
        return 0;
}

static int parse_seccomp(json_object *obj, const char *ctx, struct oci_seccomp *s, vs_error **err)
{
        if (!json_object_is_type(obj, json_type_object))
                return vs_fail(err, "%s: expected an object", ctx);

        if (parse_action(obj, ctx, "defaultAction", &s->default_action, err) < 0)
                return -1;
        if (parse_ret(obj, ctx, "defaultErrnoRet", &s->has_default_errno_ret, &s->default_errno_ret,
                      err) < 0)
                return -1;
        if (parse_name_list(obj, ctx, "architectures", oci_seccomp_architectures, "architecture",
                            &s->architectures, err) < 0)
                return -1;
        if (parse_name_list(obj, ctx, "flags", known_flags, "flag", &s->flags, err) < 0)
                return -1;
        if (vs_json_get_string(obj, ctx, "listenerPath", &s->listener_path, err) < 0)
                return -1;
        if (vs_json_get_string(obj, ctx, "listenerMetadata", &s->listener_metadata, err) < 0)
                return -1;

        json_object *syscalls = NULL;
        if (vs_json_get_array(obj, ctx, "syscalls", &syscalls, err) < 0)
                return -1;
        if (syscalls == NULL)
                return 0;
        size_t n = json_object_array_length(syscalls);
        s->syscalls = xcalloc(n ? n : 1, sizeof(*s->syscalls));
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *sctx = xasprintf("%s.syscalls[%zu]", ctx, i);
                /* Counted before parsing so a half-parsed entry is freed too. */
                s->n_syscalls = i + 1;
                if (parse_syscall(json_object_array_get_idx(syscalls, i), sctx, &s->syscalls[i],
                                  err) < 0)
                        return -1;
        }
        return 0;
}

int oci_seccomp_parse(json_object *obj, const char *ctx, struct oci_seccomp **out, vs_error **err)
{
        struct oci_seccomp *s = xzalloc(sizeof(*s));
        if (parse_seccomp(obj, ctx ? ctx : "linux.seccomp", s, err) < 0) {
                oci_seccomp_free(s);
                return -1;
        }
        *out = s;
        return 0;
}

void oci_seccomp_free(struct oci_seccomp *s)
{
        if (s == NULL)
                return;
        free(s->default_action);
        strv_free(s->architectures);
        strv_free(s->flags);
        free(s->listener_path);
        free(s->listener_metadata);
        for (size_t i = 0; i < s->n_syscalls; i++) {
                struct oci_seccomp_syscall *sc = &s->syscalls[i];
                strv_free(sc->names);
                free(sc->action);
                for (size_t j = 0; j < sc->n_args; j++)
                        free(sc->args[j].op);
                free(sc->args);
        }
        free(s->syscalls);
        free(s);
}
