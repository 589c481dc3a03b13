/* vessel list */
#include "cmd/cmd.h"
#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

int cmd_list(int argc, char **argv)
{
        static const struct option opts[] = {
                {"format", required_argument, NULL, 'f'},
                {"quiet", no_argument, NULL, 'q'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        const char *format = "table";
        bool quiet = false;
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":f:qh", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        format = optarg;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'h':
                        printf("Usage: vessel list [--format table|json] [-q]\n\n"
                               "List the containers under the state root.\n\n"
                               "  -f, --format table|json  output format (default table)\n"
                               "  -q, --quiet              print the ids only\n");
                        return 0;
                case ':':
                        return vs_option_error("list", argv, true);
                default:
                        return vs_option_error("list", argv, false);
                }
        }
        if (optind != argc)
                return vs_usage_error("list", "unexpected argument '%s'", argv[optind]);
        if (strcmp(format, "table") && strcmp(format, "json"))
                return vs_usage_error("list", "--format: unknown format '%s' (table|json)",
                                      format);
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
                       json_object_get_string(status), st->bundle,
                       st->created ? st->created : "", st->owner ? st->owner : "");
                json_object_put(o);
        }
        if (!quiet && strcmp(format, "json") == 0)
                printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
                                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
        return 0;
}
