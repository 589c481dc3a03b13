#include "util/json.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <errno.h>
#include <string.h>

int vs_json_parse(const char *text, const char *what, json_object **out, vs_error **err)
{
        json_tokener *tok = json_tokener_new();
        json_object *obj = json_tokener_parse_ex(tok, text, (int) strlen(text));
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t off = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (jerr != json_tokener_success || obj == NULL) {
                if (obj)
                        json_object_put(obj);
                if (jerr == json_tokener_success)
                        return vs_fail(err, "%s: invalid JSON: document is empty or null", what);
                /* json-c names a truncated document by its parser state. */
                const char *why = jerr == json_tokener_continue ? "unexpected end of input"
                                                                : json_tokener_error_desc(jerr);
                return vs_fail(err, "%s: invalid JSON at offset %zu: %s", what, off, why);
        }
        /* Trailing garbage after the document is an error too. */
        while (text[off] == ' ' || text[off] == '\n' || text[off] == '\t' || text[off] == '\r')
                off++;
        if (text[off] != '\0') {
                json_object_put(obj);
                return vs_fail(err, "%s: invalid JSON: trailing data at offset %zu", what, off);
        }
        *out = obj;
        return 0;
}

int vs_json_parse_file(const char *path, json_object **out, vs_error **err)
{
        _cleanup_free_ char *text = NULL;
        if (vs_read_file(path, &text, NULL, err) < 0)
                return -1;
        return vs_json_parse(text, path, out, err);
}

static int typed(json_object *obj, const char *ctx, const char *key, json_type want,
                 const char *what, json_object **v, vs_error **err)
{
        if (obj == NULL || !json_object_object_get_ex(obj, key, v) || *v == NULL)
                return 0;
        if (!json_object_is_type(*v, want))
                return vs_fail(err, "%s%s%s: expected %s", ctx ? ctx : "", ctx ? "." : "", key,
                               what);
        return 1;
}

int vs_json_get_string(json_object *obj, const char *ctx, const char *key, char **out,
                       vs_error **err)
{
        json_object *v;
        int r = typed(obj, ctx, key, json_type_string, "a string", &v, err);
        if (r == 1) {
                free(*out);
                *out = xstrdup(json_object_get_string(v));
        }
        return r;
}

int vs_json_get_bool(json_object *obj, const char *ctx, const char *key, bool *out, vs_error **err)
{
        json_object *v;
        int r = typed(obj, ctx, key, json_type_boolean, "a boolean", &v, err);
        if (r == 1)
                *out = json_object_get_boolean(v);
        return r;
}

int vs_json_get_int64(json_object *obj, const char *ctx, const char *key, int64_t *out,
                      vs_error **err)
{
        json_object *v;
        int r = typed(obj, ctx, key, json_type_int, "an integer", &v, err);
        if (r == 1) {
                errno = 0;
                int64_t x = json_object_get_int64(v);
                if (errno == EINVAL || (x == INT64_MAX && json_object_get_uint64(v) > INT64_MAX))
                        return vs_fail(err, "%s.%s: integer out of range", ctx ? ctx : "", key);
                *out = x;
        }
        return r;
}

int vs_json_get_uint64(json_object *obj, const char *ctx, const char *key, uint64_t *out,
                       vs_error **err)
{
        json_object *v;
        int r = typed(obj, ctx, key, json_type_int, "an integer", &v, err);
        if (r == 1) {
                if (json_object_get_int64(v) < 0)
                        return vs_fail(err, "%s%s%s: must not be negative", ctx ? ctx : "",
                                       ctx ? "." : "", key);
                *out = json_object_get_uint64(v);
        }
        return r;
}

int vs_json_get_uint32(json_object *obj, const char *ctx, const char *key, uint32_t *out,
                       vs_error **err)
{
        uint64_t x = 0;
        int r = vs_json_get_uint64(obj, ctx, key, &x, err);
        if (r == 1) {
                if (x > UINT32_MAX)
                        return vs_fail(err, "%s%s%s: %llu is out of range (max %u)", ctx ? ctx : "",
                                       ctx ? "." : "", key, (unsigned long long) x, UINT32_MAX);
                *out = (uint32_t) x;
        }
        return r;
}

int vs_json_get_object(json_object *obj, const char *ctx, const char *key, json_object **out,
                       vs_error **err)
{
        return typed(obj, ctx, key, json_type_object, "an object", out, err);
}

int vs_json_get_array(json_object *obj, const char *ctx, const char *key, json_object **out,
                      vs_error **err)
{
        return typed(obj, ctx, key, json_type_array, "an array", out, err);
}

int vs_json_get_strv(json_object *obj, const char *ctx, const char *key, char ***out,
                     vs_error **err)
{
        json_object *arr;
        int r = vs_json_get_array(obj, ctx, key, &arr, err);
        if (r != 1)
                return r;
        size_t n = json_object_array_length(arr);
        char **v = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                if (!json_object_is_type(e, json_type_string)) {
                        strv_free(v);
                        return vs_fail(err, "%s%s%s[%zu]: expected a string", ctx ? ctx : "",
                                       ctx ? "." : "", key, i);
                }
                v[i] = xstrdup(json_object_get_string(e));
        }
        strv_free(*out);
        *out = v;
        return 1;
}

char *vs_json_to_string(json_object *obj, bool pretty)
{
        int flags =
            JSON_C_TO_STRING_NOSLASHESCAPE |
            (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);
        return xstrdup(json_object_to_json_string_ext(obj, flags));
}

void vs_json_add_defaults(json_object *obj, const char *defaults)
{
        if (obj == NULL || !json_object_is_type(obj, json_type_object))
                return;
        json_object *d = json_tokener_parse(defaults);
        if (d == NULL)
                abort();
        json_object_object_foreach(d, k, v)
        {
                if (json_object_object_get_ex(obj, k, NULL))
                        continue;
                json_object *copy = NULL;
                if (v)
                        json_object_deep_copy(v, &copy, NULL);
                json_object_object_add(obj, k, copy);
        }
        json_object_put(d);
}

const char *vs_json_str(json_object *o, const char *key)
{
        json_object *v = NULL;
        if (o == NULL || !json_object_is_type(o, json_type_object) ||
            !json_object_object_get_ex(o, key, &v))
                return NULL;
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}
