/* vessel info (the configuration in force) and vessel system config
 * --check FILE. */
#include "cmd/cmd.h"
#include "cmd/options.h"
#include "cmd/engine_cmd.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "image/store.h"
#include "version.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

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

/* Docker's info fields that apply: counts, host, versions. */
static void info_docker_fields(json_object *o)
{
        size_t total = 0, running = 0, paused = 0, images = 0;
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        struct vs_ctr **v = NULL;
        size_t n = 0;
        /* info only reads: a data root that does not exist has nothing */
        bool exists = access(vs_globals.data_root, F_OK) == 0;
        if (exists && vs_cmd_open_engine(&e, &err) == 0 && vs_ctr_list(e, &v, &n, &err) == 0) {
                for (size_t i = 0; i < n; i++) {
                        vs_ctr_refresh(e, v[i]);
                        total++;
                        running += v[i]->state.running && !v[i]->state.paused;
                        paused += v[i]->state.paused;
                }
                vs_ctr_list_free(v, n);
                struct vs_store *store;
                struct vs_image_summary *imgs = NULL;
                size_t ni = 0;
                if (vs_engine_store(e, &store, &err) == 0 &&
                    vs_image_list(store, &imgs, &ni, &err) == 0) {
                        images = ni;
                        vs_image_summaries_free(imgs, ni);
                }
        }
        vs_error_free(&err);
        json_object_object_add(o, "Containers", json_object_new_int64((int64_t) total));
        json_object_object_add(o, "ContainersRunning", json_object_new_int64((int64_t) running));
        json_object_object_add(o, "ContainersPaused", json_object_new_int64((int64_t) paused));
        json_object_object_add(o, "ContainersStopped",
                               json_object_new_int64((int64_t) (total - running - paused)));
        json_object_object_add(o, "Images", json_object_new_int64((int64_t) images));
        json_object_object_add(o, "Driver", json_object_new_string("overlay"));
        json_object_object_add(o, "DockerRootDir", json_object_new_string(vs_globals.data_root));
        struct utsname u;
        uname(&u);
        json_object_object_add(o, "KernelVersion", json_object_new_string(u.release));
        json_object_object_add(o, "OSType", json_object_new_string("linux"));
        json_object_object_add(o, "Architecture", json_object_new_string(u.machine));
        json_object_object_add(o, "Name", json_object_new_string(u.nodename));
        json_object_object_add(o, "NCPU", json_object_new_int64(sysconf(_SC_NPROCESSORS_ONLN)));
        struct sysinfo si;
        if (sysinfo(&si) == 0)
                json_object_object_add(o, "MemTotal",
                                       json_object_new_int64((int64_t) si.totalram * si.mem_unit));
        json_object_object_add(o, "ServerVersion", json_object_new_string(VESSEL_VERSION));
        json_object_object_add(o, "CgroupDriver", json_object_new_string("cgroupfs"));
}

int cmd_engine_info(int argc, char **argv)
{
        const char *format = NULL;
        const struct vs_option opts[] = {
            {"format", 'f', VS_OPT_STRING, &format, "json|TEMPLATE",
             "json: a JSON object (the settings, and Docker's fields: Containers, Images, NCPU, "
             "MemTotal...); else a Go template on it ({{.Containers}})"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"info", "[--format json|TEMPLATE]",
                                "Show the configuration files in force and the effective settings, "
                                "each\nwith where it came from (docs/configuration.md).",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first < argc)
                return vs_usage_error("info", "unexpected argument '%s'", argv[first]);
        const struct vs_config *c = vs_config_get();
        _cleanup_json_ json_object *o = info_json(c);
        if (format)
                info_docker_fields(o);
        if (format && strcmp(format, "json") != 0) {
                vs_error *err = NULL;
                if (vs_cmd_format_object(format, o, &err) < 0)
                        return vs_report_error(&err);
                return 0;
        }
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
