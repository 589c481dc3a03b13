/* The Go text/template library (src/util/template.c, template_exec.c)
 * behind every --format: the input is a template, optionally followed by
 * a NUL byte and the JSON document it runs on (a fixed container-like
 * document otherwise). The template is parsed, executed lax and strict,
 * and used as a "table" list format, each with a Label(name) method as
 * ps's (its data: the document's Labels); a failure must carry a message,
 * the output of a success goes through the tabwriter. */
#include "fuzz_util.h"

#include "util/cleanup.h"
#include "util/template.h"

#include <json-c/json.h>

static const char *DEFAULT_DATA =
    "{\"ID\":\"abc\",\"Names\":\"web\",\"Count\":3,\"Ratio\":0.25,\"On\":true,\"Nil\":null,"
    "\"List\":[\"a\",1,[2],{\"k\":\"v\"}],\"Labels\":{\"b\":\"2\",\"a\":\"1\"},"
    "\"State\":{\"Status\":\"running\",\"Pid\":42}}";

static json_object *method_label(json_object *self, const char *const *args)
{
        json_object *v = NULL;
        if (json_object_is_type(self, json_type_object))
                json_object_object_get_ex(self, args[0], &v);
        return json_object_new_string(v ? json_object_get_string(v) : "");
}

static json_object *method_two(json_object *self, const char *const *args)
{
        (void) self;
        return json_object_new_string(strlen(args[0]) > strlen(args[1]) ? args[0] : args[1]);
}

static const struct vs_template_method METHODS[] = {
    {"Label", 1, method_label},
    {"Two", 2, method_two},
    {NULL, 0, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = fuzz_cstr(data, size);
        size_t tlen = strlen(text);
        json_object *doc = NULL;
        if (tlen < size)
                doc = json_tokener_parse(text + tlen + 1);
        if (!doc)
                doc = json_tokener_parse(DEFAULT_DATA);
        vs_error *err = NULL;
        struct vs_template *t = NULL;
        int ret = vs_template_parse(text, &t, &err);
        fuzz_check_result(ret, &err);
        json_object *labels = NULL;
        if (json_object_is_type(doc, json_type_object))
                labels = json_object_object_get(doc, "Labels");
        json_object *self = labels ? json_object_get(labels) : json_object_new_object();
        if (ret == 0) {
                vs_template_set_methods(t, METHODS);
                for (int mode = 0; mode < 4; mode++) {
                        vs_template_set_strict(t, mode & 1);
                        char *out = NULL;
                        ret = vs_template_exec_self(t, doc, mode & 2 ? self : NULL, &out, &err);
                        if (ret == 0 && out == NULL)
                                abort();
                        fuzz_check_result(ret, &err);
                        if (out) {
                                free(vs_tabwriter(out));
                                free(out);
                        }
                }
                vs_template_free(t);
        }
        _cleanup_free_ char *table = xasprintf("table %s", text);
        json_object *rows = json_object_new_array();
        json_object_array_add(rows, json_object_get(doc));
        json_object *selves = json_object_new_array();
        json_object_array_add(selves, json_object_get(self));
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (f) {
                const struct vs_format_methods m = {METHODS, selves, METHODS};
                ret = vs_format_list_methods(f, table, "{{.ID}}", doc, rows, true, &m, &err);
                fuzz_check_result(ret, &err);
                fclose(f);
                free(buf);
        }
        json_object_put(selves);
        json_object_put(self);
        json_object_put(rows);
        json_object_put(doc);
        return 0;
}
