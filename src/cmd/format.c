/* --format, the one place every command formats through: Go templates
 * (src/util/template.h) on the JSON objects the commands build, as
 * Docker's ps, images, inspect, history, info, version do. */
#include "cmd/cmd.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/template.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <string.h>

static int format_list(const char *format, const char *default_table, json_object *header,
                       json_object *rows, const struct vs_format_methods *methods)
{
        vs_error *err = NULL;
        /* Docker 23's shorthand; 20.10 prints the word. */
        if (format && strcmp(format, "json") == 0)
                format = "{{json .}}";
        if (vs_format_list_methods(stdout, format ? format : "table", default_table, header, rows,
                                   true, methods, &err) < 0)
                return vs_report_error(&err);
        return 0;
}

int vs_cmd_format_list(const char *format, const char *default_table, json_object *header,
                       json_object *rows)
{
        return format_list(format, default_table, header, rows, NULL);
}

/* Docker's Label(name): the label's value, "" when there is none. */
static json_object *label_method(json_object *labels, const char *const *args)
{
        json_object *v = NULL;
        if (json_object_is_type(labels, json_type_object))
                json_object_object_get_ex(labels, args[0], &v);
        return json_object_new_string(v ? json_object_get_string(v) : "");
}

/* The header's Label(name), Docker's SubHeaderContext.Label: the name's
 * last dot-separated part, '-' and '_' as spaces ("com.example.my-key":
 * "my key"). */
static json_object *label_title_method(json_object *header, const char *const *args)
{
        (void) header;
        const char *dot = strrchr(args[0], '.');
        char *title = xstrdup(dot ? dot + 1 : args[0]);
        for (char *p = title; *p; p++)
                if (*p == '-' || *p == '_')
                        *p = ' ';
        json_object *o = json_object_new_string(title);
        free(title);
        return o;
}

int vs_cmd_format_labelled_list(const char *format, const char *default_table, json_object *header,
                                json_object *rows, json_object *labels)
{
        static const struct vs_template_method row[] = {
            {"Label", 1, label_method},
            {NULL, 0, NULL},
        };
        static const struct vs_template_method head[] = {
            {"Label", 1, label_title_method},
            {NULL, 0, NULL},
        };
        const struct vs_format_methods methods = {row, labels, head};
        return format_list(format, default_table, header, rows, &methods);
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

int vs_cmd_inspect_one(const char *format, json_object *o, json_object *arr, vs_error **err)
{
        if (format == NULL) {
                json_object_array_add(arr, o);
                return 0;
        }
        int r = vs_cmd_format_object(format, o, err);
        json_object_put(o);
        return r;
}

void vs_cmd_inspect_done(const char *format, json_object *arr)
{
        if (format)
                return;
        _cleanup_free_ char *text = vs_json_to_string(arr, true);
        printf("%s\n", json_object_array_length(arr) ? text : "[]");
}
