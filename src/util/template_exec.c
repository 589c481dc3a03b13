/* Go text/template: execution over json-c values, the functions, and
 * Docker's table output (see template.h). */
#include "util/cleanup.h"
#include "util/template_internal.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Output past this is an error, not an allocation the size of a width. */
#define MAX_OUTPUT (64u << 20)
#define MAX_WIDTH  4096

struct sbuf {
        char *s;
        size_t n, cap;
        bool overflow;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
        if (b->n + n + 1 > MAX_OUTPUT) {
                b->overflow = true;
                return;
        }
        if (b->n + n + 1 > b->cap) {
                b->cap = (b->n + n + 1) * 2;
                b->s = xrealloc(b->s, b->cap);
        }
        memcpy(b->s + b->n, s, n);
        b->n += n;
        b->s[b->n] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
        sb_add(b, s, strlen(s));
}

static void sb_fmt(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_fmt(struct sbuf *b, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *s = xvasprintf(fmt, ap);
        va_end(ap);
        sb_str(b, s);
}

static char *sb_take(struct sbuf *b)
{
        if (!b->s)
                return xstrdup("");
        return b->s;
}

/* A value: a json-c reference we own, NULL for nil; missing: a key that
 * was not there (prints "<no value>"). */
struct val {
        json_object *j;
        bool missing;
};

static struct val val_own(json_object *j)
{
        return (struct val){.j = j};
}

static struct val val_ref(json_object *j)
{
        return (struct val){.j = json_object_get(j)};
}

static void val_put(struct val *v)
{
        json_object_put(v->j);
        v->j = NULL;
}

struct var {
        char *name;
        struct val v;
};

struct exec {
        const struct vs_template *t;
        const struct vs_template_method *methods; /* NULL: the data has none */
        json_object *root, *self;                 /* the data the methods belong to; their data */
        bool header;                              /* a table's header: HeaderFunctions */
        struct var *vars;
        size_t nvars;
        const struct tpl_pipe *at; /* for errors */
        vs_error **err;
};

static int xerr(struct exec *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int xerr(struct exec *x, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);
        va_end(ap);
        if (x->at)
                return vs_fail(x->err, "template: :%d:%d: executing \"\" at <%s>: %s", x->at->line,
                               x->at->col, x->at->src, msg);
        return vs_fail(x->err, "template: %s", msg);
}

static const char *type_name(const struct val *v)
{
        if (v->missing || !v->j)
                return "<nil>";
        switch (json_object_get_type(v->j)) {
        case json_type_string:
                return "string";
        case json_type_int:
                return "int";
        case json_type_double:
                return "float64";
        case json_type_boolean:
                return "bool";
        case json_type_array:
                return "[]interface {}";
        case json_type_object:
                return "map[string]interface {}";
        default:
                return "<nil>";
        }
}

static bool truth(const struct val *v)
{
        if (v->missing || !v->j)
                return false;
        switch (json_object_get_type(v->j)) {
        case json_type_boolean:
                return json_object_get_boolean(v->j);
        case json_type_int:
                return json_object_get_int64(v->j) != 0;
        case json_type_double:
                return json_object_get_double(v->j) != 0;
        case json_type_string:
                return json_object_get_string_len(v->j) > 0;
        case json_type_array:
                return json_object_array_length(v->j) > 0;
        case json_type_object:
                return json_object_object_length(v->j) > 0;
        default:
                return false;
        }
}

/* Go's %v of a float64: the shortest representation, in %e form when the
 * exponent is < -4 or >= 6 (strconv's 'g' with precision -1). */
static void print_float(struct sbuf *b, double d)
{
        if (isnan(d)) {
                sb_str(b, "NaN");
                return;
        }
        if (isinf(d)) {
                sb_str(b, d > 0 ? "+Inf" : "-Inf");
                return;
        }
        char buf[64];
        int prec = 1;
        for (; prec <= 17; prec++) {
                snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
                if (strtod(buf, NULL) == d)
                        break;
        }
        int exp = d == 0 ? 0 : atoi(strchr(buf, 'e') + 1);
        if (exp < -4 || exp >= 6) {
                /* Go: 1e+06 style, at least two exponent digits */
                char *e = strchr(buf, 'e');
                *e = '\0';
                char *dot = strchr(buf, '.');
                if (dot) {
                        char *end = buf + strlen(buf) - 1;
                        while (end > dot && *end == '0')
                                *end-- = '\0';
                        if (end == dot)
                                *end = '\0';
                }
                sb_fmt(b, "%se%c%02d", buf, exp < 0 ? '-' : '+', abs(exp));
                return;
        }
        snprintf(buf, sizeof(buf), "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, d);
        sb_str(b, buf);
}

static int cmp_keys(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void print_json_value(struct sbuf *b, json_object *j);

static void print_val(struct sbuf *b, const struct val *v)
{
        if (v->missing) {
                sb_str(b, "<no value>");
                return;
        }
        print_json_value(b, v->j);
}

static void print_json_value(struct sbuf *b, json_object *j)
{
        if (!j) {
                sb_str(b, "<nil>");
                return;
        }
        switch (json_object_get_type(j)) {
        case json_type_string:
                sb_add(b, json_object_get_string(j), json_object_get_string_len(j));
                break;
        case json_type_int:
                sb_fmt(b, "%" PRId64, json_object_get_int64(j));
                break;
        case json_type_double:
                print_float(b, json_object_get_double(j));
                break;
        case json_type_boolean:
                sb_str(b, json_object_get_boolean(j) ? "true" : "false");
                break;
        case json_type_array:
                sb_str(b, "[");
                for (size_t i = 0; i < json_object_array_length(j); i++) {
                        if (i)
                                sb_str(b, " ");
                        print_json_value(b, json_object_array_get_idx(j, i));
                }
                sb_str(b, "]");
                break;
        case json_type_object: {
                size_t n = (size_t) json_object_object_length(j), k = 0;
                const char **keys = xcalloc(n + 1, sizeof(char *));
                json_object_object_foreach(j, key, val)
                {
                        (void) val;
                        keys[k++] = key;
                }
                qsort(keys, k, sizeof(char *), cmp_keys);
                sb_str(b, "map[");
                for (size_t i = 0; i < k; i++) {
                        if (i)
                                sb_str(b, " ");
                        sb_str(b, keys[i]);
                        sb_str(b, ":");
                        print_json_value(b, json_object_object_get(j, keys[i]));
                }
                sb_str(b, "]");
                free(keys);
                break;
        }
        default:
                sb_str(b, "<nil>");
        }
}

static char *val_string(const struct val *v)
{
        struct sbuf b = {0};
        print_val(&b, v);
        return sb_take(&b);
}

static bool is_string(const struct val *v)
{
        return !v->missing && v->j && json_object_is_type(v->j, json_type_string);
}

static bool is_number(const struct val *v)
{
        return !v->missing && v->j &&
               (json_object_is_type(v->j, json_type_int) ||
                json_object_is_type(v->j, json_type_double));
}

/* ---- functions ---- */

typedef int (*tpl_fn)(struct exec *x, struct val *a, size_t n, struct val *out);

static int want_args(struct exec *x, const char *fn, size_t n, size_t want)
{
        if (n != want)
                return xerr(x, "wrong number of args for %s: want %zu got %zu", fn, want, n);
        return 0;
}

static int want_string(struct exec *x, const char *fn, const struct val *v)
{
        if (!is_string(v))
                return xerr(x, "error calling %s: wrong type for value; expected string; got %s",
                            fn, type_name(v));
        return 0;
}

static int fn_not(struct exec *x, struct val *a, size_t n, struct val *out)
{
        if (want_args(x, "not", n, 1) < 0)
                return -1;
        *out = val_own(json_object_new_boolean(!truth(&a[0])));
        return 0;
}

static int fn_and_or(struct exec *x, struct val *a, size_t n, struct val *out, bool is_and)
{
        if (n < 1)
                return xerr(x, "wrong number of args for %s: want at least 1 got 0",
                            is_and ? "and" : "or");
        size_t i = 0;
        for (; i + 1 < n; i++)
                if (truth(&a[i]) != is_and)
                        break;
        *out = a[i];
        a[i] = (struct val){0};
        return 0;
}

static int fn_and(struct exec *x, struct val *a, size_t n, struct val *out)
{
        return fn_and_or(x, a, n, out, true);
}

static int fn_or(struct exec *x, struct val *a, size_t n, struct val *out)
{
        return fn_and_or(x, a, n, out, false);
}

static int fn_len(struct exec *x, struct val *a, size_t n, struct val *out)
{
        if (want_args(x, "len", n, 1) < 0)
                return -1;
        json_object *j = a[0].missing ? NULL : a[0].j;
        int64_t len;
        switch (j ? json_object_get_type(j) : json_type_null) {
        case json_type_string:
                len = json_object_get_string_len(j);
                break;
        case json_type_array:
                len = (int64_t) json_object_array_length(j);
                break;
        case json_type_object:
                len = json_object_object_length(j);
                break;
        default:
                return xerr(x, "error calling len: len of type %s", type_name(&a[0]));
        }
        *out = val_own(json_object_new_int64(len));
        return 0;
}

static int fn_index(struct exec *x, struct val *a, size_t n, struct val *out)
{
        if (n < 1)
                return xerr(x, "wrong number of args for index: want at least 1 got 0");
        struct val cur = a[0];
        a[0] = (struct val){0};
        for (size_t i = 1; i < n; i++) {
                json_object *j = cur.missing ? NULL : cur.j;
                json_object *next = NULL;
                if (j && json_object_is_type(j, json_type_array)) {
                        if (!a[i].j || !json_object_is_type(a[i].j, json_type_int)) {
                                val_put(&cur);
                                return xerr(x,
                                            "error calling index: cannot index slice/array "
                                            "with type %s",
                                            type_name(&a[i]));
                        }
                        int64_t k = json_object_get_int64(a[i].j);
                        if (k < 0 || (size_t) k >= json_object_array_length(j)) {
                                val_put(&cur);
                                return xerr(x, "error calling index: index out of range: %" PRId64,
                                            k);
                        }
                        next = json_object_array_get_idx(j, (size_t) k);
                } else if (j && json_object_is_type(j, json_type_object)) {
                        if (!is_string(&a[i])) {
                                val_put(&cur);
                                return xerr(x,
                                            "error calling index: value has type %s; should be "
                                            "string",
                                            type_name(&a[i]));
                        }
                        next = json_object_object_get(j, json_object_get_string(a[i].j));
                } else {
                        const char *tn = type_name(&cur);
                        val_put(&cur);
                        return xerr(x, "error calling index: can't index item of type %s", tn);
                }
                json_object_get(next);
                val_put(&cur);
                cur = val_own(next);
        }
        *out = cur;
        return 0;
}

/* Go's fmt.Sprint: a space between operands when neither is a string. */
static int fn_print_common(struct exec *x, struct val *a, size_t n, struct val *out, bool ln)
{
        struct sbuf b = {0};
        for (size_t i = 0; i < n; i++) {
                if (i && (ln || (!is_string(&a[i - 1]) && !is_string(&a[i]))))
                        sb_str(&b, " ");
                print_val(&b, &a[i]);
        }
        if (ln)
                sb_str(&b, "\n");
        _cleanup_free_ char *s = sb_take(&b);
        *out = val_own(json_object_new_string(s));
        return 0;
}

static int fn_print(struct exec *x, struct val *a, size_t n, struct val *out)
{
        return fn_print_common(x, a, n, out, false);
}

static int fn_println(struct exec *x, struct val *a, size_t n, struct val *out)
{
        return fn_print_common(x, a, n, out, true);
}

static void printf_quote(struct sbuf *b, const char *s)
{
        sb_str(b, "\"");
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                if (c == '"' || c == '\\')
                        sb_fmt(b, "\\%c", c);
                else if (c == '\n')
                        sb_str(b, "\\n");
                else if (c == '\t')
                        sb_str(b, "\\t");
                else if (c < 0x20 || c == 0x7f)
                        sb_fmt(b, "\\x%02x", c);
                else
                        sb_add(b, (const char *) &c, 1);
        }
        sb_str(b, "\"");
}

/* One verb of printf: flags, width and precision from spec. */
static void printf_one(struct sbuf *b, const char *spec, char verb, struct val *v)
{
        char cfmt[64];
        _cleanup_free_ char *s = NULL;
        switch (verb) {
        case 'd':
        case 'x':
        case 'X':
        case 'o':
        case 'c':
                if (v->j && json_object_is_type(v->j, json_type_int)) {
                        const char *len = verb == 'c' ? "" : "ll";
                        snprintf(cfmt, sizeof(cfmt), "%%%s%s%c", spec, len, verb);
                        if (verb == 'c')
                                sb_fmt(b, cfmt, (int) json_object_get_int64(v->j));
                        else
                                sb_fmt(b, cfmt, (long long) json_object_get_int64(v->j));
                        return;
                }
                if ((verb == 'x' || verb == 'X') && is_string(v)) {
                        const unsigned char *p =
                            (const unsigned char *) json_object_get_string(v->j);
                        for (; *p; p++)
                                sb_fmt(b, verb == 'x' ? "%02x" : "%02X", *p);
                        return;
                }
                break;
        case 'f':
        case 'F':
        case 'e':
        case 'E':
        case 'g':
        case 'G':
                if (is_number(v)) {
                        snprintf(cfmt, sizeof(cfmt), "%%%s%c", spec, verb);
                        sb_fmt(b, cfmt, json_object_get_double(v->j));
                        return;
                }
                break;
        case 't':
                if (v->j && json_object_is_type(v->j, json_type_boolean)) {
                        snprintf(cfmt, sizeof(cfmt), "%%%ss", spec);
                        sb_fmt(b, cfmt, json_object_get_boolean(v->j) ? "true" : "false");
                        return;
                }
                break;
        case 'q':
                if (is_string(v)) {
                        struct sbuf q = {0};
                        printf_quote(&q, json_object_get_string(v->j));
                        s = sb_take(&q);
                        snprintf(cfmt, sizeof(cfmt), "%%%ss", spec);
                        sb_fmt(b, cfmt, s);
                        return;
                }
                break;
        case 's':
        case 'v':
                s = val_string(v);
                snprintf(cfmt, sizeof(cfmt), "%%%ss", spec);
                sb_fmt(b, cfmt, s);
                return;
        }
        s = val_string(v);
        sb_fmt(b, "%%!%c(%s=%s)", verb, type_name(v), s);
}

static int fn_printf(struct exec *x, struct val *a, size_t n, struct val *out)
{
        if (n < 1 || want_string(x, "printf", &a[0]) < 0)
                return n < 1 ? xerr(x, "wrong number of args for printf: want at least 1 got 0")
                             : -1;
        const char *f = json_object_get_string(a[0].j);
        struct sbuf b = {0};
        size_t argi = 1;
        while (*f) {
                if (*f != '%') {
                        const char *next = strchr(f, '%');
                        size_t len = next ? (size_t) (next - f) : strlen(f);
                        sb_add(&b, f, len);
                        f += len;
                        continue;
                }
                f++;
                if (*f == '%') {
                        sb_str(&b, "%");
                        f++;
                        continue;
                }
                char spec[40];
                size_t k = 0;
                while (*f && strchr("-+ #0", *f) && k < 8)
                        spec[k++] = *f++;
                int width = 0, prec = -1;
                while (isdigit((unsigned char) *f))
                        width = width < MAX_WIDTH ? width * 10 + (*f++ - '0') : (f++, width);
                if (*f == '.') {
                        f++;
                        prec = 0;
                        while (isdigit((unsigned char) *f))
                                prec = prec < MAX_WIDTH ? prec * 10 + (*f++ - '0') : (f++, prec);
                }
                if (width > MAX_WIDTH)
                        width = MAX_WIDTH;
                if (prec > MAX_WIDTH)
                        prec = MAX_WIDTH;
                spec[k] = '\0';
                if (width)
                        k += (size_t) snprintf(spec + k, sizeof(spec) - k, "%d", width);
                if (prec >= 0)
                        snprintf(spec + k, sizeof(spec) - k, ".%d", prec);
                char verb = *f;
                if (!verb) {
                        sb_str(&b, "%!(NOVERB)");
                        break;
                }
                f++;
                if (argi >= n) {
                        sb_fmt(&b, "%%!%c(MISSING)", verb);
                        continue;
                }
                printf_one(&b, spec, verb, &a[argi++]);
        }
        if (argi < n) {
                sb_str(&b, "%!(EXTRA ");
                for (; argi < n; argi++) {
                        _cleanup_free_ char *s = val_string(&a[argi]);
                        sb_fmt(&b, "%s=%s%s", type_name(&a[argi]), s, argi + 1 < n ? ", " : "");
                }
                sb_str(&b, ")");
        }
        _cleanup_free_ char *s = sb_take(&b);
        *out = val_own(json_object_new_string(s));
        return 0;
}

static int compare(struct exec *x, const char *fn, struct val *l, struct val *r, int *cmp)
{
        if (is_number(l) && is_number(r)) {
                if (json_object_is_type(l->j, json_type_int) &&
                    json_object_is_type(r->j, json_type_int)) {
                        int64_t a = json_object_get_int64(l->j), b = json_object_get_int64(r->j);
                        *cmp = (a > b) - (a < b);
                } else {
                        double a = json_object_get_double(l->j), b = json_object_get_double(r->j);
                        *cmp = (a > b) - (a < b);
                }
                return 0;
        }
        if (is_string(l) && is_string(r)) {
                int c = strcmp(json_object_get_string(l->j), json_object_get_string(r->j));
                *cmp = (c > 0) - (c < 0);
                return 0;
        }
        bool eqop = strcmp(fn, "eq") == 0 || strcmp(fn, "ne") == 0;
        if (eqop && !l->missing && !r->missing && l->j && r->j &&
            json_object_is_type(l->j, json_type_boolean) &&
            json_object_is_type(r->j, json_type_boolean)) {
                *cmp = json_object_get_boolean(l->j) != json_object_get_boolean(r->j);
                return 0;
        }
        if (eqop && (l->missing || !l->j) && (r->missing || !r->j)) {
                *cmp = 0;
                return 0;
        }
        return xerr(x, "error calling %s: incompatible types for comparison", fn);
}

static int fn_cmp(struct exec *x, const char *fn, struct val *a, size_t n, struct val *out)
{
        bool eq = strcmp(fn, "eq") == 0;
        if (eq ? n < 2 : want_args(x, fn, n, 2) < 0)
                return eq ? xerr(x, "wrong number of args for eq: want at least 2 got %zu", n) : -1;
        bool result = false;
        for (size_t i = 1; i < n; i++) {
                int c = 0;
                if (compare(x, fn, &a[0], &a[i], &c) < 0)
                        return -1;
                if (strcmp(fn, "eq") == 0)
                        result = result || c == 0;
                else if (strcmp(fn, "ne") == 0)
                        result = c != 0;
                else if (strcmp(fn, "lt") == 0)
                        result = c < 0;
                else if (strcmp(fn, "le") == 0)
                        result = c <= 0;
                else if (strcmp(fn, "gt") == 0)
                        result = c > 0;
                else
                        result = c >= 0;
        }
        *out = val_own(json_object_new_boolean(result));
        return 0;
}

#define CMP_FN(name)                                                                               \
        static int fn_##name(struct exec *x, struct val *a, size_t n, struct val *out)             \
        {                                                                                          \
                return fn_cmp(x, #name, a, n, out);                                                \
        }
CMP_FN(eq)
CMP_FN(ne)
CMP_FN(lt)
CMP_FN(le)
CMP_FN(gt)
CMP_FN(ge)

/* Go's json.Marshal: compact, <, > and & escaped. */
static int fn_json(struct exec *x, struct val *a, size_t n, struct val *out)
{
        if (want_args(x, "json", n, 1) < 0)
                return -1;
        const char *s = a[0].j
                            ? json_object_to_json_string_ext(
                                  a[0].j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                            : "null";
        struct sbuf b = {0};
        for (; *s; s++) {
                if (*s == '<' || *s == '>' || *s == '&')
                        sb_fmt(&b, "\\u%04x", (unsigned char) *s);
                else
                        sb_add(&b, s, 1);
        }
        _cleanup_free_ char *str = sb_take(&b);
        *out = val_own(json_object_new_string(str));
        return 0;
}

static int fn_join(struct exec *x, struct val *a, size_t n, struct val *out)
{
        if (want_args(x, "join", n, 2) < 0 || want_string(x, "join", &a[1]) < 0)
                return -1;
        json_object *l = a[0].missing ? NULL : a[0].j;
        struct sbuf b = {0};
        if (l && json_object_is_type(l, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(l); i++) {
                        if (i)
                                sb_str(&b, json_object_get_string(a[1].j));
                        print_json_value(&b, json_object_array_get_idx(l, i));
                }
        } else if (l) {
                return xerr(x,
                            "error calling join: wrong type for value; expected []string; "
                            "got %s",
                            type_name(&a[0]));
        }
        _cleanup_free_ char *s = sb_take(&b);
        *out = val_own(json_object_new_string(s));
        return 0;
}

static int fn_split(struct exec *x, struct val *a, size_t n, struct val *out)
{
        if (want_args(x, "split", n, 2) < 0 || want_string(x, "split", &a[0]) < 0 ||
            want_string(x, "split", &a[1]) < 0)
                return -1;
        const char *s = json_object_get_string(a[0].j), *sep = json_object_get_string(a[1].j);
        size_t seplen = strlen(sep);
        json_object *arr = json_object_new_array();
        if (seplen == 0) {
                for (; *s; s++)
                        json_object_array_add(arr, json_object_new_string_len(s, 1));
        } else {
                for (;;) {
                        const char *hit = strstr(s, sep);
                        size_t len = hit ? (size_t) (hit - s) : strlen(s);
                        json_object_array_add(arr, json_object_new_string_len(s, (int) len));
                        if (!hit)
                                break;
                        s = hit + seplen;
                }
        }
        *out = val_own(arr);
        return 0;
}

static int fn_case(struct exec *x, const char *fn, struct val *a, size_t n, struct val *out)
{
        if (want_args(x, fn, n, 1) < 0 || want_string(x, fn, &a[0]) < 0)
                return -1;
        _cleanup_free_ char *s = xstrdup(json_object_get_string(a[0].j));
        bool word_start = true;
        for (char *p = s; *p; p++) {
                unsigned char c = (unsigned char) *p;
                if (fn[0] == 'u')
                        *p = (char) toupper(c);
                else if (fn[0] == 'l')
                        *p = (char) tolower(c);
                else if (word_start)
                        *p = (char) toupper(c);
                word_start = !(isalnum(c) || c == '_' || c == '\'' || c >= 0x80);
        }
        *out = val_own(json_object_new_string(s));
        return 0;
}

static int fn_upper(struct exec *x, struct val *a, size_t n, struct val *out)
{
        return fn_case(x, "upper", a, n, out);
}

static int fn_lower(struct exec *x, struct val *a, size_t n, struct val *out)
{
        return fn_case(x, "lower", a, n, out);
}

static int fn_title(struct exec *x, struct val *a, size_t n, struct val *out)
{
        return fn_case(x, "title", a, n, out);
}

static int int_arg(struct exec *x, const char *fn, const struct val *v, int64_t *out)
{
        if (!v->j || v->missing || !json_object_is_type(v->j, json_type_int))
                return xerr(x, "error calling %s: expected integer; got %s", fn, type_name(v));
        *out = json_object_get_int64(v->j);
        return 0;
}

/* Docker's truncate STRING N: the first N bytes. */
static int fn_truncate(struct exec *x, struct val *a, size_t n, struct val *out)
{
        int64_t len;
        if (want_args(x, "truncate", n, 2) < 0 || want_string(x, "truncate", &a[0]) < 0 ||
            int_arg(x, "truncate", &a[1], &len) < 0)
                return -1;
        const char *s = json_object_get_string(a[0].j);
        size_t slen = strlen(s);
        size_t keep = len < 0 ? 0 : (size_t) len < slen ? (size_t) len : slen;
        *out = val_own(json_object_new_string_len(s, (int) keep));
        return 0;
}

/* Docker's pad STRING BEFORE AFTER: spaces around it. */
static int fn_pad(struct exec *x, struct val *a, size_t n, struct val *out)
{
        int64_t before, after;
        if (want_args(x, "pad", n, 3) < 0 || want_string(x, "pad", &a[0]) < 0 ||
            int_arg(x, "pad", &a[1], &before) < 0 || int_arg(x, "pad", &a[2], &after) < 0)
                return -1;
        if (before < 0 || after < 0 || before > MAX_WIDTH || after > MAX_WIDTH)
                return xerr(x, "error calling pad: padding out of range");
        _cleanup_free_ char *s = xasprintf("%*s%s%*s", (int) before, "",
                                           json_object_get_string(a[0].j), (int) after, "");
        *out = val_own(json_object_new_string(s));
        return 0;
}

static const struct {
        const char *name;
        tpl_fn fn;
} funcs[] = {
    {"not", fn_not},         {"and", fn_and},
    {"or", fn_or},           {"len", fn_len},
    {"index", fn_index},     {"print", fn_print},
    {"println", fn_println}, {"printf", fn_printf},
    {"eq", fn_eq},           {"ne", fn_ne},
    {"lt", fn_lt},           {"le", fn_le},
    {"gt", fn_gt},           {"ge", fn_ge},
    {"json", fn_json},       {"join", fn_join},
    {"split", fn_split},     {"upper", fn_upper},
    {"lower", fn_lower},     {"title", fn_title},
    {"pad", fn_pad},         {"truncate", fn_truncate},
};

/* ---- evaluation ---- */

static int eval_pipe(struct exec *x, const struct tpl_pipe *p, const struct val *dot,
                     struct val *out);

static int lookup_var(struct exec *x, const char *name, struct val *out)
{
        for (size_t i = x->nvars; i-- > 0;)
                if (strcmp(x->vars[i].name, name) == 0) {
                        *out = x->vars[i].v;
                        if (out->j)
                                json_object_get(out->j);
                        return 0;
                }
        return xerr(x, "undefined variable: %s", name);
}

/* The arguments of a command whose first word is a field chain: they go
 * to its last field, which must be a method. */
struct call {
        const struct tpl_cmd *c; /* args[1..] */
        const struct val *dot;
        struct val *final; /* the previous command's value, when has_final */
        bool has_final;
};

static size_t call_nargs(const struct call *k)
{
        return k ? k->c->n - 1 + (k->has_final ? 1 : 0) : 0;
}

static int eval_arg(struct exec *x, const struct tpl_arg *a, const struct val *dot,
                    struct val *out);

static const struct vs_template_method *find_method(const struct exec *x, const struct val *v,
                                                    const char *name)
{
        if (!x->methods || v->missing || !v->j || v->j != x->root)
                return NULL;
        for (const struct vs_template_method *m = x->methods; m->name; m++)
                if (strcmp(m->name, name) == 0)
                        return m;
        return NULL;
}

/* One argument of a method: Go's evalArg for a string parameter. */
static int method_arg(struct exec *x, const struct call *k, size_t i, struct val *out)
{
        if (k->has_final && i == call_nargs(k) - 1) {
                *out = *k->final;
                *k->final = (struct val){0};
        } else {
                const struct tpl_arg *a = k->c->args[i + 1];
                switch (a->kind) {
                case TA_INT:
                        return xerr(x, "expected string; found %" PRId64, a->i);
                case TA_FLOAT: {
                        struct sbuf b = {0};
                        print_float(&b, a->d);
                        _cleanup_free_ char *f = sb_take(&b);
                        return xerr(x, "expected string; found %s", f);
                }
                case TA_BOOL:
                        return xerr(x, "expected string; found %s", a->b ? "true" : "false");
                case TA_NIL:
                        return xerr(x, "cannot assign nil to string");
                default:
                        if (eval_arg(x, a, k->dot, out) < 0)
                                return -1;
                }
        }
        if (out->missing || !out->j)
                return xerr(x, "invalid value; expected string");
        if (!is_string(out))
                return xerr(x, "wrong type for value; expected string; got %s", type_name(out));
        return 0;
}

static int call_method(struct exec *x, const struct vs_template_method *m, const struct call *k,
                       struct val *out)
{
        size_t n = call_nargs(k);
        if (n != m->nargs)
                return xerr(x, "wrong number of args for %s: want %zu got %zu", m->name, m->nargs,
                            n);
        struct val *vals = xcalloc(n + 1, sizeof(*vals));
        const char **strs = xcalloc(n + 1, sizeof(*strs));
        int r = 0;
        for (size_t i = 0; i < n && r == 0; i++)
                if ((r = method_arg(x, k, i, &vals[i])) == 0)
                        strs[i] = json_object_get_string(vals[i].j);
        if (r == 0)
                *out = val_own(m->fn(x->self, strs));
        for (size_t i = 0; i < n; i++)
                val_put(&vals[i]);
        free(vals);
        free(strs);
        return r;
}

/* Evaluates the field chain on v; k: arguments for its last field. */
static int eval_fields_call(struct exec *x, struct val *v, char **fields, const struct call *k)
{
        for (size_t i = 0; fields && fields[i]; i++) {
                bool last = !fields[i + 1];
                const struct vs_template_method *m = find_method(x, v, fields[i]);
                if (m) {
                        struct val res = {0};
                        int r = call_method(x, m, last ? k : NULL, &res);
                        val_put(v);
                        if (r < 0)
                                return -1;
                        *v = res;
                        continue;
                }
                json_object *j = v->missing ? NULL : v->j;
                if (!j) {
                        val_put(v);
                        return xerr(x, "nil pointer evaluating interface {}.%s", fields[i]);
                }
                if (!json_object_is_type(j, json_type_object)) {
                        const char *tn = type_name(v);
                        int r = xerr(x, "can't evaluate field %s in type %s", fields[i], tn);
                        val_put(v);
                        return r;
                }
                json_object *next = NULL;
                bool found = json_object_object_get_ex(j, fields[i], &next);
                if (!found && x->t->strict) {
                        val_put(v);
                        return xerr(x, "can't evaluate field %s", fields[i]);
                }
                if (last && call_nargs(k) > 0) {
                        /* strict data stands for Docker's contexts, whose
                         * fields are methods without arguments; the rest
                         * for maps */
                        val_put(v);
                        if (x->t->strict)
                                return xerr(x, "wrong number of args for %s: want 0 got %zu",
                                            fields[i], call_nargs(k));
                        return xerr(x, "%s is not a method but has arguments", fields[i]);
                }
                json_object_get(next);
                val_put(v);
                *v = val_own(next);
                v->missing = !found;
        }
        return 0;
}

/* A command's first word, or an argument (k NULL). */
static int eval_term(struct exec *x, const struct tpl_arg *a, const struct val *dot,
                     const struct call *k, struct val *out)
{
        *out = (struct val){0};
        switch (a->kind) {
        case TA_DOT:
                *out = *dot;
                json_object_get(out->j);
                return eval_fields_call(x, out, a->fields, k);
        case TA_VAR:
                if (lookup_var(x, a->str, out) < 0)
                        return -1;
                return eval_fields_call(x, out, a->fields, k);
        case TA_STRING:
                *out = val_own(json_object_new_string(a->str));
                return 0;
        case TA_INT:
                *out = val_own(json_object_new_int64(a->i));
                return 0;
        case TA_FLOAT:
                *out = val_own(json_object_new_double(a->d));
                return 0;
        case TA_BOOL:
                *out = val_own(json_object_new_boolean(a->b));
                return 0;
        case TA_NIL:
                return 0;
        case TA_PIPE:
                if (eval_pipe(x, a->pipe, dot, out) < 0)
                        return -1;
                return eval_fields_call(x, out, a->fields, k);
        case TA_FUNC:
                return xerr(x, "%s is a function, not a value", a->str);
        }
        return 0;
}

static int eval_arg(struct exec *x, const struct tpl_arg *a, const struct val *dot, struct val *out)
{
        return eval_term(x, a, dot, NULL, out);
}

/* Docker's HeaderFunctions: in a table's header these return their first
 * argument, a string, so that the titles stay as they are. */
static const struct {
        const char *name;
        size_t nargs;
} header_funcs[] = {
    {"json", 1},  {"split", 2}, {"join", 2},     {"title", 1},
    {"lower", 1}, {"upper", 1}, {"truncate", 2},
};

static int header_func(struct exec *x, const char *name, size_t want, struct val *a, size_t n,
                       struct val *out)
{
        if (want_args(x, name, n, want) < 0)
                return -1;
        if (!is_string(&a[0]))
                return xerr(x, "error calling %s: wrong type for value; expected string; got %s",
                            name, type_name(&a[0]));
        *out = a[0];
        a[0] = (struct val){0};
        return 0;
}

static int call_func(struct exec *x, const struct tpl_cmd *c, const struct val *dot,
                     struct val *final, bool has_final, struct val *out)
{
        const char *name = c->args[0]->str;
        tpl_fn fn = NULL;
        for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
                if (strcmp(funcs[i].name, name) == 0)
                        fn = funcs[i].fn;
        size_t header_nargs = 0;
        for (size_t i = 0; x->header && i < sizeof(header_funcs) / sizeof(header_funcs[0]); i++)
                if (strcmp(header_funcs[i].name, name) == 0)
                        header_nargs = header_funcs[i].nargs;
        if (!fn)
                return xerr(x, "function \"%s\" is not supported", name);
        size_t n = c->n - 1 + (has_final ? 1 : 0);
        struct val *args = xcalloc(n + 1, sizeof(*args));
        int r = 0;
        size_t got = 0;
        for (size_t i = 1; i < c->n && r == 0; i++)
                if ((r = eval_arg(x, c->args[i], dot, &args[got])) == 0)
                        got++;
        if (r == 0 && has_final) {
                args[got++] = *final;
                *final = (struct val){0};
        }
        if (r == 0)
                r = header_nargs ? header_func(x, name, header_nargs, args, got, out)
                                 : fn(x, args, got, out);
        for (size_t i = 0; i < got; i++)
                val_put(&args[i]);
        free(args);
        return r;
}

static void set_var(struct exec *x, const char *name, struct val v, bool assign)
{
        if (assign)
                for (size_t i = x->nvars; i-- > 0;)
                        if (strcmp(x->vars[i].name, name) == 0) {
                                val_put(&x->vars[i].v);
                                x->vars[i].v = v;
                                return;
                        }
        x->vars = xrealloc(x->vars, (x->nvars + 1) * sizeof(*x->vars));
        x->vars[x->nvars++] = (struct var){.name = xstrdup(name), .v = v};
}

static void pop_vars(struct exec *x, size_t mark)
{
        while (x->nvars > mark) {
                x->nvars--;
                free(x->vars[x->nvars].name);
                val_put(&x->vars[x->nvars].v);
        }
}

static int eval_pipe(struct exec *x, const struct tpl_pipe *p, const struct val *dot,
                     struct val *out)
{
        const struct tpl_pipe *saved = x->at;
        x->at = p;
        struct val cur = {0};
        bool has = false;
        for (size_t i = 0; i < p->n; i++) {
                const struct tpl_cmd *c = p->cmds[i];
                struct val next = {0};
                int r;
                if (c->args[0]->kind == TA_FUNC) {
                        r = call_func(x, c, dot, &cur, has, &next);
                } else if (c->args[0]->fields && (c->n > 1 || has)) {
                        struct call k = {c, dot, &cur, has};
                        r = eval_term(x, c->args[0], dot, &k, &next);
                } else if (has) {
                        r = xerr(x, "can't give argument to non-function %s", p->src);
                } else {
                        r = eval_arg(x, c->args[0], dot, &next);
                }
                val_put(&cur);
                if (r < 0) {
                        val_put(&next);
                        return -1;
                }
                cur = next;
                has = true;
        }
        x->at = saved;
        *out = cur;
        return 0;
}

static int exec_list(struct exec *x, const struct tpl_list *l, const struct val *dot,
                     struct sbuf *b);

/* Declares the pipeline's variables (not range's, which has its own). */
static int eval_action_pipe(struct exec *x, const struct tpl_pipe *p, const struct val *dot,
                            struct val *out)
{
        if (eval_pipe(x, p, dot, out) < 0)
                return -1;
        if (p->ndecl == 1) {
                struct val copy = *out;
                json_object_get(copy.j);
                set_var(x, p->decl[0], copy, p->assign);
        }
        return 0;
}

static int exec_range(struct exec *x, const struct tpl_node *n, const struct val *dot,
                      struct sbuf *b)
{
        struct val v;
        if (eval_pipe(x, n->pipe, dot, &v) < 0)
                return -1;
        json_object *j = v.missing ? NULL : v.j;
        size_t count = 0;
        int r = 0;
        const char **keys = NULL;
        if (j && json_object_is_type(j, json_type_array)) {
                count = json_object_array_length(j);
        } else if (j && json_object_is_type(j, json_type_object)) {
                count = (size_t) json_object_object_length(j);
                keys = xcalloc(count + 1, sizeof(char *));
                size_t k = 0;
                json_object_object_foreach(j, key, val)
                {
                        (void) val;
                        keys[k++] = key;
                }
                qsort(keys, k, sizeof(char *), cmp_keys);
        } else if (j) {
                r = xerr(x, "range can't iterate over %s", json_object_get_string(j));
        }
        for (size_t i = 0; i < count && r == 0 && !b->overflow; i++) {
                size_t mark = x->nvars;
                json_object *elem =
                    keys ? json_object_object_get(j, keys[i]) : json_object_array_get_idx(j, i);
                struct val ev = val_ref(elem);
                if (n->pipe->ndecl == 2) {
                        set_var(x, n->pipe->decl[0],
                                val_own(keys ? json_object_new_string(keys[i])
                                             : json_object_new_int64((int64_t) i)),
                                false);
                        set_var(x, n->pipe->decl[1], val_ref(elem), false);
                } else if (n->pipe->ndecl == 1) {
                        set_var(x, n->pipe->decl[0], val_ref(elem), false);
                }
                r = exec_list(x, &n->body, &ev, b);
                val_put(&ev);
                pop_vars(x, mark);
        }
        if (r == 0 && count == 0)
                r = exec_list(x, &n->alt, dot, b);
        free(keys);
        val_put(&v);
        return r;
}

static int exec_node(struct exec *x, const struct tpl_node *n, const struct val *dot,
                     struct sbuf *b)
{
        struct val v = {0};
        int r = 0;
        size_t mark = x->nvars;
        switch (n->kind) {
        case TN_TEXT:
                sb_add(b, n->text, n->len);
                return 0;
        case TN_ACTION:
                if (eval_action_pipe(x, n->pipe, dot, &v) < 0)
                        return -1;
                if (n->pipe->ndecl == 0)
                        print_val(b, &v);
                val_put(&v);
                return 0;
        case TN_IF:
        case TN_WITH:
                if (eval_action_pipe(x, n->pipe, dot, &v) < 0)
                        return -1;
                if (truth(&v))
                        r = exec_list(x, &n->body, n->kind == TN_WITH ? &v : dot, b);
                else
                        r = exec_list(x, &n->alt, dot, b);
                val_put(&v);
                pop_vars(x, mark);
                return r;
        case TN_RANGE:
                return exec_range(x, n, dot, b);
        }
        return 0;
}

static int exec_list(struct exec *x, const struct tpl_list *l, const struct val *dot,
                     struct sbuf *b)
{
        size_t mark = x->nvars;
        int r = 0;
        for (size_t i = 0; i < l->n && r == 0; i++) {
                r = exec_node(x, l->v[i], dot, b);
                if (r == 0 && b->overflow)
                        r = xerr(x, "output longer than %u bytes", MAX_OUTPUT);
        }
        pop_vars(x, mark);
        return r;
}

/* Executes t on data into b, which keeps what was written before an error. */
static int exec_into(const struct vs_template *t, const struct vs_template_method *methods,
                     json_object *data, json_object *self, bool header, struct sbuf *b,
                     vs_error **err)
{
        struct exec x = {.t = t, .root = data, .self = self, .header = header, .err = err};
        if (self)
                x.methods = methods;
        struct val dot = val_ref(data);
        set_var(&x, "$", val_ref(data), false);
        int r = exec_list(&x, &t->root, &dot, b);
        pop_vars(&x, 0);
        free(x.vars);
        val_put(&dot);
        return r;
}

int vs_template_exec_self(const struct vs_template *t, json_object *data, json_object *self,
                          char **out, vs_error **err)
{
        struct sbuf b = {0};
        if (exec_into(t, t->methods, data, self, false, &b, err) < 0) {
                free(b.s);
                return -1;
        }
        *out = sb_take(&b);
        return 0;
}

int vs_template_exec(const struct vs_template *t, json_object *data, char **out, vs_error **err)
{
        return vs_template_exec_self(t, data, NULL, out, err);
}

/* ---- tables ---- */

static size_t runes(const char *s)
{
        size_t n = 0;
        for (; *s; s++)
                n += ((unsigned char) *s & 0xc0) != 0x80;
        return n;
}

char *vs_tabwriter(const char *text)
{
        /* Cells: split into lines, then at tabs; a cell followed by a tab
         * belongs to a column, the line's last cell does not. */
        size_t nlines = 0, cap = 16;
        char ***cells = xcalloc(cap, sizeof(char **));
        size_t *ncells = xcalloc(cap, sizeof(size_t));
        const char *p = text;
        while (*p) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);
                if (nlines == cap) {
                        cap *= 2;
                        cells = xrealloc(cells, cap * sizeof(char **));
                        ncells = xrealloc(ncells, cap * sizeof(size_t));
                }
                _cleanup_free_ char *line = xstrndup(p, len);
                size_t n = 1;
                for (char *q = line; *q; q++)
                        n += *q == '\t';
                cells[nlines] = xcalloc(n + 1, sizeof(char *));
                ncells[nlines] = n;
                char *save = line;
                for (size_t i = 0; i < n; i++) {
                        char *tab = strchr(save, '\t');
                        if (tab)
                                *tab = '\0';
                        cells[nlines][i] = xstrdup(save);
                        save = tab ? tab + 1 : save + strlen(save);
                }
                nlines++;
                p += len + (nl ? 1 : 0);
        }
        size_t maxcols = 0;
        for (size_t i = 0; i < nlines; i++)
                if (ncells[i] > maxcols)
                        maxcols = ncells[i];
        size_t *width = xcalloc(maxcols + 1, sizeof(size_t));
        /* Go's tabwriter counts runes: UTF-8 lead bytes. */
        for (size_t i = 0; i < nlines; i++)
                for (size_t c = 0; c + 1 < ncells[i]; c++) {
                        size_t w = runes(cells[i][c]) + 3; /* padding 3 */
                        if (w < 10)
                                w = 10; /* minwidth 10 */
                        if (w > width[c])
                                width[c] = w;
                }
        struct sbuf b = {0};
        for (size_t i = 0; i < nlines; i++) {
                for (size_t c = 0; c < ncells[i]; c++) {
                        sb_str(&b, cells[i][c]);
                        if (c + 1 < ncells[i])
                                sb_fmt(&b, "%*s", (int) (width[c] - runes(cells[i][c])), "");
                        free(cells[i][c]);
                }
                sb_str(&b, "\n");
                free(cells[i]);
        }
        free(cells);
        free(ncells);
        free(width);
        return sb_take(&b);
}

/* Docker turns the two characters \t and \n into a tab and a newline. */
static char *unescape_format(const char *f)
{
        char *s = xstrdup(f), *w = s;
        for (const char *r = f; *r; r++) {
                if (r[0] == '\\' && (r[1] == 't' || r[1] == 'n')) {
                        *w++ = r[1] == 't' ? '\t' : '\n';
                        r++;
                } else {
                        *w++ = *r;
                }
        }
        *w = '\0';
        return s;
}

int vs_format_list(FILE *out, const char *format, const char *default_table, json_object *header,
                   json_object *rows, bool strict, vs_error **err)
{
        return vs_format_list_methods(out, format, default_table, header, rows, strict, NULL, err);
}

int vs_format_list_methods(FILE *out, const char *format, const char *default_table,
                           json_object *header, json_object *rows, bool strict,
                           const struct vs_format_methods *methods, vs_error **err)
{
        static const struct vs_format_methods none = {0};
        if (!methods)
                methods = &none;
        bool table = false;
        const char *body = format;
        if (strcmp(format, "table") == 0) {
                table = true;
                body = default_table;
        } else if (strncmp(format, "table ", 6) == 0) {
                table = true;
                body = format + 6;
        }
        _cleanup_free_ char *text = unescape_format(body);
        struct vs_template *t = NULL;
        if (vs_template_parse(text, &t, err) < 0)
                return vs_error_wrap(err, "template parsing error");
        vs_template_set_strict(t, strict);
        vs_template_set_methods(t, methods->row);
        struct sbuf b = {0};
        int r = 0;
        if (table) {
                /* The header object has every field: a header never fails
                 * strictly. Docker ignores its errors and keeps what it
                 * printed before one; its string functions keep the titles
                 * (HeaderFunctions). */
                vs_template_set_strict(t, false);
                struct sbuf h = {0};
                vs_error *herr = NULL;
                exec_into(t, methods->header, header, methods->header ? header : NULL, true, &h,
                          &herr);
                vs_error_free(&herr);
                vs_template_set_strict(t, strict);
                _cleanup_free_ char *hs = sb_take(&h);
                sb_str(&b, hs);
                sb_str(&b, "\n");
        }
        for (size_t i = 0; r == 0 && i < json_object_array_length(rows); i++) {
                char *s = NULL;
                json_object *self =
                    methods->selves ? json_object_array_get_idx(methods->selves, i) : NULL;
                r = vs_template_exec_self(t, json_object_array_get_idx(rows, i), self, &s, err);
                if (r == 0) {
                        sb_str(&b, s);
                        sb_str(&b, "\n");
                }
                free(s);
        }
        vs_template_free(t);
        if (r < 0) {
                free(b.s);
                return -1;
        }
        _cleanup_free_ char *all = sb_take(&b);
        if (table) {
                _cleanup_free_ char *aligned = vs_tabwriter(all);
                fputs(aligned, out);
        } else {
                fputs(all, out);
        }
        return 0;
}
