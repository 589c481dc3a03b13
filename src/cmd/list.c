/* vessel list */
#include "cmd/cmd.h"
#include "cmd/options.h"
#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"

#include <stdio.h>
#include <string.h>

int cmd_list(int argc, char **argv)
{
        const char *format = "table";
        bool quiet = false;
        const struct vs_option opts[] = {
            {"format", 'f', VS_OPT_STRING, &format, "table|json", "output format (default table)"},
            {"quiet", 'q', VS_OPT_BOOL, &quiet, NULL, "print the ids only"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"list", "[--format table|json] [-q]",
                                "List the containers under the state root.", opts,
                                VS_PARSE_INTERSPERSED | VS_PARSE_H_IS_HELP};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first != argc)
                return vs_usage_error("list", "unexpected argument '%s'", argv[first]);
        if (strcmp(format, "table") && strcmp(format, "json"))
                return vs_usage_error("list", "--format: unknown format '%s' (table|json)", format);
        vs_error *err = NULL;
        _cleanup_strv_ char **ids = NULL;
        if (vs_state_list(vs_globals.root, &ids, &err) < 0)
                return vs_report_error(&err);
        _cleanup_json_ json_object *arr = json_object_new_array();
        if (!quiet && strcmp(format, "table") == 0)
                printf("%-20s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE",
                       "CREATED", "OWNER");
        for (size_t i = 0; ids[i]; i++) {
                _cleanup_state_ struct vs_state *st = NULL;
                vs_error *e = NULL;
                if (vs_state_load(vs_globals.root, ids[i], &st, &e) < 0) {
                        vs_error_free(&e); /* deleted meanwhile */
                        continue;
                }
                if (quiet) {
                        printf("%s\n", st->id);
                        continue;
                }
                json_object *o = vs_state_to_json(vs_globals.root, st);
                if (strcmp(format, "json") == 0) {
                        json_object_array_add(arr, o);
                        continue;
                }
                json_object *status, *pid;
                json_object_object_get_ex(o, "status", &status);
                json_object_object_get_ex(o, "pid", &pid);
                printf("%-20s %-8d %-10s %-40s %-32s %s\n", st->id, json_object_get_int(pid),
                       json_object_get_string(status), st->bundle, st->created ? st->created : "",
                       st->owner ? st->owner : "");
                json_object_put(o);
        }
        if (!quiet && strcmp(format, "json") == 0)
                printf("%s\n", json_object_to_json_string_ext(
                                   arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        return 0;
}
