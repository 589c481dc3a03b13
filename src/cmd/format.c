/* --format, the one place every command formats through: Go templates
 * (src/util/template.h) on the JSON objects the commands build, as
 * Docker's ps, images, inspect, history, info, version do. */
#include "cmd/cmd.h"
#include "util/cleanup.h"
#include "util/template.h"
#include "util/xalloc.h"

#include <string.h>

static int format_list(const char *format, const char *default_table, json_object *header,
                       json_object *rows, const struct vs_template_method *methods,
                       json_object *selves)
{
        vs_error *err = NULL;
        /* Docker 23's shorthand; 20.10 prints the word. */
        if (format && strcmp(format, "json") == 0)
                format = "{{json .}}";
        if (vs_format_list_methods(stdout, format ? format : "table", default_table, header, rows,
                                   true, methods, selves, &err) < 0)
                return vs_report_error(&err);
        return 0;
}

int vs_cmd_format_list(const char *format, const char *default_table, json_object *header,
                       json_object *rows)
{
        return format_list(format, default_table, header, rows, NULL, NULL);
}

/* Docker's Label(name): the label's value, "" when there is none. */
static json_object *label_method(json_object *labels, const char *const *args)
{
        json_object *v = NULL;
        if (json_object_is_type(labels, json_type_object))
                json_object_object_get_ex(labels, args[0], &v);
        return json_object_new_string(v ? json_object_get_string(v) : "");
}

int vs_cmd_format_labelled_list(const char *format, const char *default_table, json_object *header,
                                json_object *rows, json_object *labels)
{
        static const struct vs_template_method methods[] = {
            {"Label", 1, label_method},
            {NULL, 0, NULL},
        };
        return format_list(format, default_table, header, rows, methods, labels);
}

int vs_cmd_format_object(const char *format, json_object *o, vs_error **err)
{
        /* Docker's \t and \n escapes, as for lists */
        json_object *rows = json_object_new_array();
        json_object_array_add(rows, json_object_get(o));
        FILE *f = stdout;
        int r = vs_format_list(f, strcmp(format, "json") == 0 ? "{{json .}}" : format, "", NULL,
                               rows, false, err);
        json_object_put(rows);
        return r;
}
