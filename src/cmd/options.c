/* The declarative option parser (see options.h and docs/cli.md). */
#include "cmd/options.h"
#include "cmd/cmd.h"
#include "engine/engine.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad_value(vs_error **err, const char *name, const char *s, const char *why)
{
        return vs_fail(err, "invalid value '%s' for --%s: %s", s, name, why);
}

int vs_opt_parse_int(const char *name, const char *s, int *out, vs_error **err)
{
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (*s == '\0' || *end != '\0' || isspace((unsigned char) *s))
                return bad_value(err, name, s, "not an integer");
        if (errno || v < INT_MIN || v > INT_MAX)
                return bad_value(err, name, s, "out of range");
        *out = (int) v;
        return 0;
}

int vs_opt_parse_bool(const char *name, const char *s, bool *out, vs_error **err)
{
        if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0) {
                *out = true;
                return 0;
        }
        if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0) {
                *out = false;
                return 0;
        }
        return bad_value(err, name, s, "not true or false");
}

/* A Go duration (what runc's --interval and Docker's durations take): "5s",
 * "500ms", "1m30s", "1.5s", "100us"; positive. */
int vs_opt_parse_duration(const char *name, const char *s, int64_t *ns_out, vs_error **err)
{
        static const struct {
                const char *unit;
                double ns;
        } units[] = {
            {"ns", 1},  {"us", 1e3}, {"µs", 1e3},   {"ms", 1e6},
            {"s", 1e9}, {"m", 60e9}, {"h", 3600e9},
        };
        const char *why = "not a positive duration (like 5s, 500ms, 1m)";
        double total = 0;
        const char *p = s;
        if (*p == '\0')
                return bad_value(err, name, s, why);
        while (*p) {
                /* Digits and one dot only: strtod alone would take
                 * exponents and hex. */
                size_t nlen = strspn(p, "0123456789.");
                char num[64];
                if (nlen == 0 || nlen >= sizeof(num) ||
                    memchr(p, '.', nlen) != memrchr(p, '.', nlen))
                        return bad_value(err, name, s, why);
                memcpy(num, p, nlen);
                num[nlen] = '\0';
                char *end;
                double v = strtod(num, &end);
                if (*end != '\0')
                        return bad_value(err, name, s, why);
                p += nlen;
                size_t best = 0;
                double mult = 0;
                /* Longest unit first, so "ms" is not read as "m" + "s". */
                for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                        size_t len = strlen(units[i].unit);
                        if (strncmp(p, units[i].unit, len) == 0 && len > best) {
                                best = len;
                                mult = units[i].ns;
                        }
                }
                if (best == 0)
                        return bad_value(err, name, s, why); /* a unit on every number */
                p += best;
                total += v * mult;
        }
        if (!isfinite(total) || total < 1 || total > 9e18)
                return bad_value(err, name, s, why);
        *ns_out = (int64_t) total;
        return 0;
}

/* Stores one value (NULL for a bool given without one). */
static int store(const struct vs_option *o, const char *v, vs_error **err)
{
        switch (o->type) {
        case VS_OPT_BOOL:
                if (v == NULL) {
                        *(bool *) o->target = true;
                        return 0;
                }
                return vs_opt_parse_bool(o->name, v, o->target, err);
        case VS_OPT_STRING:
                if (o->target)
                        *(const char **) o->target = v;
                return 0;
        case VS_OPT_INT:
                return vs_opt_parse_int(o->name, v, o->target, err);
        case VS_OPT_SIZE: {
                _cleanup_free_ char *flag = xasprintf("--%s", o->name);
                return vs_parse_size(flag, v, o->target, err);
        }
        case VS_OPT_DURATION:
                return vs_opt_parse_duration(o->name, v, o->target, err);
        case VS_OPT_KV:
                if (v[0] == '=' || strchr(v, '=') == NULL)
                        return bad_value(err, o->name, v, "not KEY=VALUE");
                strv_push(o->target, v);
                return 0;
        case VS_OPT_LIST:
                strv_push(o->target, v);
                return 0;
        case VS_OPT_CALLBACK:
                return o->cb(o, v, err);
        case VS_OPT_END:
                break;
        }
        return vs_fail(err, "--%s: unknown option type", o->name);
}

static const struct vs_option *find_long(const struct vs_option *opts, const char *name, size_t len)
{
        for (const struct vs_option *o = opts; o->type != VS_OPT_END; o++)
                if (o->name && strlen(o->name) == len && strncmp(o->name, name, len) == 0)
                        return o;
        return NULL;
}

static const struct vs_option *find_short(const struct vs_option *opts, char c)
{
        for (const struct vs_option *o = opts; o->type != VS_OPT_END; o++)
                if (o->short_name && o->short_name == c)
                        return o;
        return NULL;
}

static int fail(struct vs_cmdline *cl, const char *fmt, const char *what)
{
        cl->status = vs_usage_error(cl->cmd, fmt, what);
        return -1;
}

static int store_or_fail(struct vs_cmdline *cl, const struct vs_option *o, const char *v)
{
        vs_error *err = NULL;
        if (store(o, v, &err) == 0)
                return 0;
        cl->status = vs_usage_error(cl->cmd, "%s", err->msg);
        vs_error_free(&err);
        return -1;
}

/* "--name[=value]" at argv[*i]. */
static int parse_long(struct vs_cmdline *cl, int argc, char **argv, int *i)
{
        const char *a = argv[*i] + 2;
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t) (eq - a) : strlen(a);
        if (len == 4 && strncmp(a, "help", 4) == 0 && !find_long(cl->opts, "help", 4)) {
                if (eq)
                        return fail(cl, "option '--help' takes no argument", NULL);
                vs_print_help(cl);
                cl->status = 0;
                return -1;
        }
        const struct vs_option *o = find_long(cl->opts, a, len);
        if (o == NULL) {
                _cleanup_free_ char *shown = xasprintf("--%.*s", (int) len, a);
                return fail(cl, "unrecognized option '%s'", shown);
        }
        if (o->type == VS_OPT_BOOL)
                return store_or_fail(cl, o, eq ? eq + 1 : NULL);
        if (eq)
                return store_or_fail(cl, o, eq + 1);
        if (*i + 1 >= argc)
                return fail(cl, "option '%s' requires an argument", argv[*i]);
        return store_or_fail(cl, o, argv[++*i]);
}

/* "-abc", "-eVALUE", "-e VALUE" at argv[*i]. */
static int parse_short(struct vs_cmdline *cl, int argc, char **argv, int *i)
{
        for (const char *p = argv[*i] + 1; *p; p++) {
                const struct vs_option *o = find_short(cl->opts, *p);
                if (o == NULL && *p == 'h' && (cl->flags & VS_PARSE_H_IS_HELP)) {
                        vs_print_help(cl);
                        cl->status = 0;
                        return -1;
                }
                char shown[3] = {'-', *p, '\0'};
                if (o == NULL)
                        return fail(cl, "unrecognized option '%s'", shown);
                if (o->type == VS_OPT_BOOL) {
                        if (store_or_fail(cl, o, NULL) < 0)
                                return -1;
                        continue;
                }
                if (p[1])
                        return store_or_fail(cl, o, p + 1);
                if (*i + 1 >= argc)
                        return fail(cl, "option '%s' requires an argument", shown);
                return store_or_fail(cl, o, argv[++*i]);
        }
        return 0;
}

int vs_parse_options(struct vs_cmdline *cl, int argc, char **argv)
{
        _cleanup_free_ char **operands = xcalloc((size_t) argc + 1, sizeof(char *));
        int n_operands = 0, i = 1;
        for (; i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, "--") == 0) {
                        i++;
                        break;
                }
                if (a[0] != '-' || a[1] == '\0') {
                        if (!(cl->flags & VS_PARSE_INTERSPERSED))
                                break;
                        operands[n_operands++] = argv[i];
                        continue;
                }
                int r =
                    a[1] == '-' ? parse_long(cl, argc, argv, &i) : parse_short(cl, argc, argv, &i);
                if (r < 0)
                        return -1;
        }
        /* Operands gathered among the options go before the rest, in order. */
        int first = i - n_operands;
        memmove(argv + first + n_operands, argv + i, (size_t) (argc - i) * sizeof(char *));
        memcpy(argv + first, operands, (size_t) n_operands * sizeof(char *));
        return first;
}

void vs_print_help(const struct vs_cmdline *cl)
{
        printf("Usage: vessel %s %s\n\n%s\n", cl->cmd, cl->usage, cl->summary);
        bool any = false;
        for (const struct vs_option *o = cl->opts; o && o->type != VS_OPT_END; o++) {
                if (o->help == NULL)
                        continue;
                if (!any)
                        printf("\nOptions:\n");
                any = true;
                _cleanup_free_ char *left =
                    xasprintf("%c%c%c --%s%s%s", o->short_name ? '-' : ' ',
                              o->short_name ? o->short_name : ' ', o->short_name ? ',' : ' ',
                              o->name, o->arg ? " " : "", o->arg ? o->arg : "");
                if (strlen(left) > 26)
                        printf("  %s\n  %-26s %s\n", left, "", o->help);
                else
                        printf("  %-26s %s\n", left, o->help);
        }
        printf("  %s--help                 print this help\n",
               cl->flags & VS_PARSE_H_IS_HELP ? "-h, " : "    ");
}
