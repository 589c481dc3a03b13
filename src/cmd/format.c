/* --format, the one place every command formats through: Go templates
 * (src/util/template.h) on the JSON objects the commands build, as
 * Docker's ps, images, inspect, history, info, version do. */
#include "cmd/cmd.h"
#include "util/cleanup.h"
#include "util/template.h"
#include "util/xalloc.h"

#include <string.h>

int vs_cmd_format_list(const char *format, const char *default_table, json_object *header,
                       json_object *rows)
{
        vs_error *err = NULL;
        /* Docker 23's shorthand; 20.10 prints the word. */
        if (format && strcmp(format, "json") == 0)
                format = "{{json .}}";
        if (vs_format_list(stdout, format ? format : "table", default_table, header, rows, true,
                           &err) < 0)
                return vs_report_error(&err);
        return 0;
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
