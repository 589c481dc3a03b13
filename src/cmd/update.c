/* vessel update: change the resource limits of a live container. */
#include "cmd/cmd.h"
#include "cmd/options.h"
#include "oci/config.h"
#include "runtime/container.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum value_kind { BYTES, INT, STRING };

/* Each limit flag is one field of linux.resources (section.key). */
struct limit_flag {
        const char *name;
        enum value_kind kind;
        const char *section, *key;
        const char *help;
};

static const struct limit_flag limit_flags[] = {
    {"memory", BYTES, "memory", "limit", "memory limit (bytes; k/m/g suffixes; -1: none)"},
    {"memory-reservation", BYTES, "memory", "reservation", "memory soft limit (bytes)"},
    {"memory-swap", BYTES, "memory", "swap", "memory+swap limit (bytes; -1: unlimited swap)"},
    {"kernel-memory", BYTES, "memory", "kernel", "kernel memory limit (ignored by kernels)"},
    {"kernel-memory-tcp", BYTES, "memory", "kernelTCP", "kernel TCP buffer limit (bytes)"},
    {"cpu-shares", INT, "cpu", "shares", "CPU shares (relative weight, 2-262144)"},
    {"cpu-share", INT, "cpu", "shares", NULL}, /* runc's spelling */
    {"cpu-period", INT, "cpu", "period", "CFS period (microseconds, 1000-1000000)"},
    {"cpu-quota", INT, "cpu", "quota", "CFS quota per period (microseconds; -1: none)"},
    {"cpu-burst", INT, "cpu", "burst", "CFS burst (microseconds)"},
    {"cpu-rt-period", INT, "cpu", "realtimePeriod", "real-time period (microseconds)"},
    {"cpu-rt-runtime", INT, "cpu", "realtimeRuntime", "real-time runtime (microseconds)"},
    {"cpu-idle", INT, "cpu", "idle", "1: SCHED_IDLE cgroup, 0: normal"},
    {"cpuset-cpus", STRING, "cpu", "cpus", "CPUs allowed (e.g. 0-3,5)"},
    {"cpuset-mems", STRING, "cpu", "mems", "memory nodes allowed (e.g. 0-1)"},
    {"pids-limit", INT, "pids", "limit", "maximum number of processes (-1: none)"},
    {"blkio-weight", INT, "blockIO", "weight", "block IO weight (10-1000)"},
};
#define N_LIMIT_FLAGS (sizeof(limit_flags) / sizeof(limit_flags[0]))

/* runc's units.RAMInBytes: "512m", "1.5g", "100MiB", "1024", binary
 * multiples; plus "-1" for unlimited. */
static bool parse_bytes(const char *s, int64_t *out)
{
        if (strcmp(s, "-1") == 0) {
                *out = -1;
                return true;
        }
        const char *p = s;
        if (!isdigit((unsigned char) *p))
                return false;
        while (isdigit((unsigned char) *p))
                p++;
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char) *p))
                        return false;
                while (isdigit((unsigned char) *p))
                        p++;
        }
        _cleanup_free_ char *num = xstrndup(s, (size_t) (p - s));
        if (*p == ' ')
                p++;
        static const char units[] = "kmgtp";
        double mult = 1;
        const char *u = *p ? strchr(units, tolower((unsigned char) *p)) : NULL;
        if (u != NULL) {
                for (const char *q = units; q <= u; q++)
                        mult *= 1024;
                p++;
                if (*p == 'i' || *p == 'I')
                        p++;
        }
        if (*p == 'b' || *p == 'B')
                p++;
        if (*p != '\0')
                return false;
        errno = 0;
        double v = strtod(num, NULL) * mult;
        if (errno || !isfinite(v) || v >= 9223372036854775807.0)
                return false;
        *out = (int64_t) v;
        return true;
}

static bool parse_int(const char *s, int64_t *out)
{
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || end == s || *end != '\0' || isspace((unsigned char) *s))
                return false;
        *out = v;
        return true;
}

static json_object *section_of(json_object *doc, const char *section)
{
        json_object *sec;
        if (!json_object_object_get_ex(doc, section, &sec) ||
            !json_object_is_type(sec, json_type_object)) {
                sec = json_object_new_object();
                json_object_object_add(doc, section, sec);
        }
        return sec;
}

/* Checks one flag's value alone with the spec parser (one source of truth
 * for the ranges) and words a refusal after the flag rather than the JSON
 * field: "--cpu-quota: 10 is invalid: ...". */
static int check_flag(const struct limit_flag *f, json_object *value, vs_error **perr)
{
        _cleanup_json_ json_object *doc = json_object_new_object();
        json_object_object_add(section_of(doc, f->section), f->key, json_object_get(value));
        struct oci_resources *res = NULL;
        _cleanup_error_ vs_error *err = NULL;
        if (oci_resources_parse(doc, "linux.resources", &res, &err) == 0) {
                oci_resources_free(res);
                return 0;
        }
        _cleanup_free_ char *field = xasprintf("linux.resources.%s.%s", f->section, f->key);
        size_t len = strlen(field);
        const char *msg = err->msg;
        if (strncmp(msg, field, len) == 0 && strncmp(msg + len, ": ", 2) == 0)
                msg += len + 2;
        return vs_fail(perr, "--%s: %s", f->name, msg);
}

static bool flag_value(json_object *flags, const char *section, const char *key, int64_t *out)
{
        json_object *sec, *v;
        if (!json_object_object_get_ex(flags, section, &sec) ||
            !json_object_object_get_ex(sec, key, &v))
                return false;
        *out = json_object_get_int64(v);
        return true;
}

/* The spec parser's checks between two fields, worded after the flags
 * when both came from flags. */
static int check_flag_pairs(json_object *flags)
{
        int64_t limit, swap, quota, burst;
        if (flag_value(flags, "memory", "limit", &limit) &&
            flag_value(flags, "memory", "swap", &swap) && limit > 0 && swap > 0 && swap < limit)
                return vs_usage_error("update",
                                      "--memory-swap: %" PRId64 " is below --memory %" PRId64
                                      ": it is the memory+swap limit and must be >= the memory "
                                      "limit",
                                      swap, limit);
        if (flag_value(flags, "cpu", "quota", &quota) &&
            flag_value(flags, "cpu", "burst", &burst) && quota > 0 && burst > quota)
                return vs_usage_error("update",
                                      "--cpu-burst: %" PRId64 " exceeds --cpu-quota %" PRId64,
                                      burst, quota);
        return 0;
}

static int read_resources(const char *path, json_object **out, vs_error **err)
{
        if (strcmp(path, "-") != 0) {
                if (vs_json_parse_file(path, out, err) < 0)
                        return vs_error_wrap(err, "--resources");
        } else {
                size_t len = 0, cap = 4096;
                _cleanup_free_ char *text = xmalloc(cap);
                size_t n;
                while ((n = fread(text + len, 1, cap - len - 1, stdin)) > 0) {
                        len += n;
                        if (cap - len - 1 == 0) {
                                cap *= 2;
                                text = xrealloc(text, cap);
                        }
                }
                if (ferror(stdin))
                        return vs_fail_errno(err, "--resources: cannot read standard input");
                text[len] = '\0';
                if (vs_json_parse(text, "--resources (standard input)", out, err) < 0)
                        return -1;
        }
        if (!json_object_is_type(*out, json_type_object))
                return vs_fail(err, "--resources %s: expected a linux.resources JSON object", path);
        return 0;
}

/* Flag values, in the order given: a repeated flag's last value wins. */
static json_object *flag_values;

/* One limit flag (o->target: its limit_flags[] entry): parsed, checked
 * alone, kept in flag_values. */
static int limit_value(const struct vs_option *o, const char *s, vs_error **err)
{
        const struct limit_flag *f = o->target;
        json_object *v;
        int64_t n;
        if (f->kind == STRING) {
                v = json_object_new_string(s);
        } else if (f->kind == BYTES) {
                if (!parse_bytes(s, &n))
                        return vs_fail(err,
                                       "--%s: '%s' is not a size in bytes (like 1048576, 512k, "
                                       "256m, 1g, or -1)",
                                       f->name, s);
                v = json_object_new_int64(n);
        } else {
                if (!parse_int(s, &n))
                        return vs_fail(err, "--%s: '%s' is not an integer", f->name, s);
                v = json_object_new_int64(n);
        }
        if (check_flag(f, v, err) < 0) {
                json_object_put(v);
                return -1;
        }
        json_object_object_add(section_of(flag_values, f->section), f->key, v);
        return 0;
}

int cmd_update(int argc, char **argv)
{
        const char *resources_path = NULL;
        struct vs_option opts[N_LIMIT_FLAGS + 2] = {
            {"resources", 'r', VS_OPT_STRING, &resources_path, "FILE|-",
             "linux.resources JSON object (-: standard input)"},
        };
        for (size_t i = 0; i < N_LIMIT_FLAGS; i++) {
                const struct limit_flag *f = &limit_flags[i];
                opts[i + 1] = (struct vs_option){f->name,
                                                 0,
                                                 VS_OPT_CALLBACK,
                                                 (void *) f,
                                                 f->kind == BYTES    ? "BYTES"
                                                 : f->kind == STRING ? "LIST"
                                                                     : "N",
                                                 f->help,
                                                 limit_value};
        }
        _cleanup_json_ json_object *flags = json_object_new_object();
        flag_values = flags;
        struct vs_cmdline cl = {
            "update", "[OPTIONS] ID",
            "Change the resource limits of a created, running or paused container.\n"
            "Only the limits given are changed. With --resources, the flags override the\n"
            "file's values.",
            opts, VS_PARSE_INTERSPERSED | VS_PARSE_H_IS_HELP};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first >= argc)
                return vs_usage_error("update", "missing container ID");
        if (argc - first > 1)
                return vs_usage_error("update", "unexpected argument '%s'", argv[first + 1]);
        const char *id = argv[first];
        int r = check_flag_pairs(flags);
        if (r != 0)
                return r;
        if (resources_path == NULL && json_object_object_length(flags) == 0)
                return vs_usage_error("update",
                                      "nothing to update: give --resources or a limit flag");

        vs_error *err = NULL;
        _cleanup_json_ json_object *doc = NULL;
        if (resources_path) {
                if (read_resources(resources_path, &doc, &err) < 0)
                        return vs_report_error(&err);
        } else {
                doc = json_object_new_object();
        }
        json_object_object_foreach(flags, section, fields)
        {
                json_object *dst = section_of(doc, section);
                json_object_object_foreach(fields, key, val)
                    json_object_object_add(dst, key, json_object_get(val));
        }
        struct oci_resources *res = NULL;
        if (oci_resources_parse(doc, "linux.resources", &res, &err) < 0)
                return vs_report_error(&err);
        r = vs_container_update(vs_globals.root, id, res, &err);
        oci_resources_free(res);
        if (r < 0)
                return vs_report_error(&err);
        return 0;
}
