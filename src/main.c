/* vessel: command table -> cmd_*(). Global options follow runc's. */
#include "cmd/cmd.h"
#include "cmd/dispatch.h"
#include "cmd/options.h"
#include "engine/config.h"
#include "engine/rootless.h"
#include "version.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The system-wide file's data root is root's engine's: the rootless engine
 * keeps its own default (docs/rootless.md). */
static bool from_system_file(const struct vs_config *cfg)
{
        const char *sys = getenv("VESSEL_SYSTEM_CONFIG");
        const char *origin = cfg->origin[VS_CK_DATA_ROOT];
        return origin && strcmp(origin, sys && *sys ? sys : VS_CONFIG_SYSTEM_PATH) == 0;
}

/* The configuration file layers and the engine data root's precedence:
 * --data-root > $VESSEL_ROOT > config files > built-in. The monitor takes
 * everything from the container's record, and `system config --check`
 * validates a file of its own, so neither reads the files in force. */
static int load_config(const char *name, int argc, char **argv)
{
        bool skip = strcmp(name, "monitor") == 0 ||
                    (strcmp(name, "system") == 0 && argc > 1 && strcmp(argv[1], "config") == 0);
        if (!skip) {
                struct vs_config c;
                vs_error *err = NULL;
                if (vs_config_load(&c, vs_globals.config_path, &err) < 0) {
                        vs_config_clear(&c);
                        vs_report_error(&err);
                        return -1;
                }
                vs_config_set(&c);
        }
        const struct vs_config *cfg = vs_config_get();
        if (vs_globals.data_root)
                return 0;
        const char *env = getenv("VESSEL_ROOT");
        if (env && *env) {
                vs_globals.data_root = env;
                vs_globals.data_root_source = "environment (VESSEL_ROOT)";
        } else if (cfg->data_root && !(vs_rootless() && from_system_file(cfg))) {
                vs_globals.data_root = cfg->data_root;
                vs_globals.data_root_source = cfg->origin[VS_CK_DATA_ROOT];
        } else if (vs_rootless()) {
                vs_globals.data_root = vs_rootless_data_dir();
                vs_globals.data_root_source = "default (rootless)";
        } else {
                vs_globals.data_root = "/var/lib/vessel";
                vs_globals.data_root_source = "default";
        }
        return 0;
}

int main(int argc, char **argv)
{
        bool version = false, help = false;
        const char *root = NULL, *rootless = NULL;
        const struct vs_option opts[] = {
            {"root", 0, VS_OPT_STRING, &root, "DIR"},
            {"log", 0, VS_OPT_STRING, &vs_globals.log_path, "FILE"},
            {"log-format", 0, VS_OPT_STRING, &vs_globals.log_format, "FMT"},
            {"debug", 0, VS_OPT_BOOL, &vs_globals.debug},
            {"systemd-cgroup", 0, VS_OPT_BOOL, &vs_globals.systemd_cgroup},
            {"rootless", 0, VS_OPT_STRING, &rootless, "BOOL"},
            {"data-root", 0, VS_OPT_STRING, &vs_globals.data_root, "DIR"},
            {"config", 0, VS_OPT_STRING, &vs_globals.config_path, "FILE"},
            {"version", 'v', VS_OPT_BOOL, &version},
            {"help", 'h', VS_OPT_BOOL, &help},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {.opts = opts};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (vs_globals.data_root)
                vs_globals.data_root_source = "flag";
        /* vessel-vm: the OCI runtime with VM isolation for every bundle
         * (docs/vm.md); the dispatch rule makes it the runtime's command set. */
        const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
        vs_globals.vm = strcmp(base, "vessel-vm") == 0;
        if (root)
                vs_globals.root = root;
        /* A runc global option before the command selects the runtime's
         * command set (docs/cli.md). */
        bool runc_globals = root || vs_globals.log_path || vs_globals.log_format ||
                            vs_globals.systemd_cgroup || rootless;
        if (version) {
                printf("vessel version %s\nspec: %s\n", VESSEL_VERSION, VESSEL_OCI_VERSION);
                return 0;
        }
        if (help) {
                vs_cmd_usage(stdout);
                return 0;
        }
        if (vs_log_init(vs_globals.log_path, vs_globals.log_format, vs_globals.debug) < 0)
                return 2;
        if (first >= argc) {
                vs_cmd_usage(stderr);
                return 2;
        }
        if (vs_globals.root[0] != '/') {
                fprintf(stderr, "vessel: --root: '%s' is not an absolute path\n", vs_globals.root);
                return 2;
        }
        bool runtime_prefix = false;
        if (strcmp(argv[first], "runtime") == 0) {
                runtime_prefix = true;
                if (++first >= argc) {
                        vs_cmd_usage(stderr);
                        return 2;
                }
        }
        const char *name = argv[first];
        int sub_argc = argc - first;
        char **sub_argv = argv + first;
        bool engine_has = vs_command_find(name, VS_MODE_ENGINE) != NULL;
        vs_globals.mode = vs_dispatch_mode(argv[0], runc_globals, runtime_prefix, engine_has);
        const struct vs_command *cmd = vs_command_find(name, vs_globals.mode);
        if (cmd == NULL) {
                fprintf(stderr, "vessel: unknown command '%s'\nTry 'vessel --help'.\n", name);
                return 2;
        }
        if (vs_globals.mode == VS_MODE_ENGINE && geteuid() != 0 && strcmp(name, "version") != 0 &&
            strcmp(name, "help") != 0) {
                /* An ordinary user's engine: in its own namespaces. */
                vs_error *err = NULL;
                if (vs_rootless_enter(&err) < 0)
                        return vs_report_error(&err);
        }
        if (vs_globals.mode == VS_MODE_ENGINE && load_config(name, sub_argc, sub_argv) < 0)
                return 1;
        return cmd->fn(sub_argc, sub_argv);
}
