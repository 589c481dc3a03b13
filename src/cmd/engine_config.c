/* vessel info (the configuration in force) and vessel system config
 * --check FILE. */
#include "cmd/cmd.h"
#include "engine/config.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void info_usage(FILE *f)
{
        fprintf(f, "Usage: vessel info [--format json]\n\n"
                   "Show the configuration files in force and the effective settings, each\n"
                   "with where it came from (docs/configuration.md).\n\n"
                   "Options:\n"
                   "  -f, --format json   print a JSON object\n"
                   "  -h, --help          print this help\n");
}

static json_object *info_json(const struct vs_config *c)
{
        json_object *o = json_object_new_object();
        json_object *files = json_object_new_array();
        for (size_t i = 0; i < c->n_files; i++)
                json_object_array_add(files, json_object_new_string(c->files[i]));
        json_object_object_add(o, "ConfigFiles", files);
        json_object_object_add(o, "DataRoot", json_object_new_string(vs_globals.data_root));
        json_object_object_add(o, "DataRootSource",
                               json_object_new_string(vs_globals.data_root_source));
        json_object_object_add(o, "Config", vs_config_to_json(c));
        json_object *origins = json_object_new_object();
        json_object *pending = json_object_new_array();
        for (int k = 0; k < VS_CK_COUNT; k++) {
                const char *from = c->origin[k];
                json_object_object_add(origins, vs_config_key_name(k),
                                       json_object_new_string(from ? from : "default"));
                if (!vs_config_key_in_effect(k))
                        json_object_array_add(pending,
                                              json_object_new_string(vs_config_key_name(k)));
        }
        json_object_object_add(o, "Origins", origins);
        json_object_object_add(o, "NotYetActedOn", pending);
        return o;
}

int cmd_engine_info(int argc, char **argv)
{
        static const struct option opts[] = {
            {"format", required_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        const char *format = NULL;
        int ch;
        while ((ch = getopt_long(argc, argv, ":f:h", opts, NULL)) != -1) {
                switch (ch) {
                case 'f':
                        format = optarg;
                        break;
                case 'h':
                        info_usage(stdout);
                        return 0;
                default:
                        return vs_option_error("info", argv, ch == ':');
                }
        }
        if (optind < argc)
                return vs_usage_error("info", "unexpected argument '%s'", argv[optind]);
        if (format && strcmp(format, "json") != 0)
                return vs_usage_error("info", "--format: unsupported format '%s' (json)", format);
        const struct vs_config *c = vs_config_get();
        _cleanup_json_ json_object *o = info_json(c);
        if (format) {
                _cleanup_free_ char *s = vs_json_to_string(o, true);
                printf("%s\n", s);
                return 0;
        }
        printf("Config files:   ");
        for (size_t i = 0; i < c->n_files; i++)
                printf("%s%s", i ? ", " : "", c->files[i]);
        printf("%s\n", c->n_files ? "" : "none (built-in defaults)");
        printf("Data root:      %s (%s)\n", vs_globals.data_root, vs_globals.data_root_source);
        printf("Settings (* not yet acted on):\n");
        json_object *cfg = json_object_object_get(o, "Config");
        for (int k = 0; k < VS_CK_COUNT; k++) {
                const char *name = vs_config_key_name(k);
                json_object *v = json_object_object_get(cfg, name);
                const char *text =
                    v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE)
                      : "(unset)";
                printf("  %c %-22s %s  [%s]\n", vs_config_key_in_effect(k) ? ' ' : '*', name, text,
                       c->origin[k] ? c->origin[k] : "default");
        }
        return 0;
}

/* vessel system config --check FILE: exit 0 when valid, 1 (one error line)
 * otherwise. The file is checked alone, over the built-in defaults. */
int vs_cmd_system_config(int argc, char **argv)
{
        static const struct option opts[] = {
            {"check", required_argument, NULL, 'c'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        const char *file = NULL;
        int ch;
        while ((ch = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
                switch (ch) {
                case 'c':
                        file = optarg;
                        break;
                case 'h':
                        printf("Usage: vessel system config --check FILE\n\n"
                               "Validate a configuration file: exit status 0 when valid, else 1\n"
                               "with one line naming the file, line, key and reason.\n");
                        return 0;
                default:
                        return vs_option_error("system config", argv, ch == ':');
                }
        }
        if (optind < argc)
                return vs_usage_error("system config", "unexpected argument '%s'", argv[optind]);
        if (file == NULL)
                return vs_usage_error("system config", "--check FILE is required");
        struct vs_config c;
        vs_config_init(&c);
        vs_error *err = NULL;
        int r = vs_config_apply_file(&c, file, true, &err);
        vs_config_clear(&c);
        if (r < 0)
                return vs_report_error(&err);
        printf("%s: valid\n", file);
        return 0;
}
