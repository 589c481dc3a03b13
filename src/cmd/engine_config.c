/* vessel info (the configuration in force) and vessel system config
 * --check FILE. */
#include "cmd/cmd.h"
#include "cmd/options.h"
#include "engine/config.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <string.h>

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
        const char *format = NULL;
        const struct vs_option opts[] = {
            {"format", 'f', VS_OPT_STRING, &format, "json", "print a JSON object"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"info", "[--format json]",
                                "Show the configuration files in force and the effective settings, "
                                "each\nwith where it came from (docs/configuration.md).",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first < argc)
                return vs_usage_error("info", "unexpected argument '%s'", argv[first]);
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
        const char *file = NULL;
        const struct vs_option opts[] = {
            {"check", 'c', VS_OPT_STRING, &file, "FILE", "the file to validate"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"system config", "--check FILE",
                                "Validate a configuration file: exit status 0 when valid, else 1\n"
                                "with one line naming the file, line, key and reason.",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first < argc)
                return vs_usage_error("system config", "unexpected argument '%s'", argv[first]);
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
