/* vessel: command table -> cmd_*(). Global options follow runc's. */
#include "cmd/cmd.h"
#include "cmd/dispatch.h"
#include "cmd/options.h"
#include "engine/config.h"
#include "version.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* runc's command set: bundles and container ids. */
static const struct vs_command runtime_commands[] = {
    {"spec", cmd_spec, "write a default config.json into the bundle"},
    {"create", cmd_create, "create a container from a bundle (stopped before the user process)"},
    {"start", cmd_start, "run the user process of a created container"},
    {"run", cmd_run, "create and start a container"},
    {"state", cmd_state, "print the runtime-spec state of a container"},
    {"kill", cmd_kill, "send a signal to a container's init (or all its processes)"},
    {"delete", cmd_delete, "delete a container and its state"},
    {"list", cmd_list, "list the containers under the state root"},
    {"exec", cmd_exec, "run a new process inside a running container"},
    {"pause", cmd_pause, "freeze every process of a container"},
    {"resume", cmd_resume, "thaw a paused container"},
    {"update", cmd_update, "change the resource limits of a running container"},
    {"ps", cmd_ps, "list the processes of a container"},
    {"events", cmd_events, "print container statistics and OOM events as JSON"},
    {"features", cmd_features, "print the runtime-spec features document"},
    {NULL, NULL, NULL},
};

static const struct vs_command *find(const struct vs_command *table, const char *name)
{
        for (size_t i = 0; table[i].name; i++)
                if (strcmp(table[i].name, name) == 0)
                        return &table[i];
        return NULL;
}

static void usage(FILE *out)
{
        fprintf(out, "Usage: vessel [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\n"
                     "Containers from images, and an OCI runtime.\n\nCommands:\n");
        const struct vs_command *tables[] = {vs_engine_commands, vs_image_commands};
        for (size_t t = 0; t < 2; t++)
                for (size_t i = 0; tables[t][i].name; i++)
                        if (strncmp(tables[t][i].summary, "(internal)", 10) != 0)
                                fprintf(out, "  %-10s %s\n", tables[t][i].name,
                                        tables[t][i].summary);
        fprintf(out, "\nOCI runtime commands (runc-compatible; `vessel runtime CMD`, or any runc\n"
                     "global option, selects them where the engine has the same name):\n");
        for (size_t i = 0; runtime_commands[i].name; i++)
                fprintf(out, "  %-10s %s\n", runtime_commands[i].name, runtime_commands[i].summary);
        fprintf(out,
                "\nGlobal options:\n"
                "  --root DIR              state root (default " VESSEL_DEFAULT_ROOT ")\n"
                "  --log FILE              write logs and errors to FILE\n"
                "  --log-format text|json  format of the --log file (default text)\n"
                "  --debug                 log debug messages\n"
                "  --systemd-cgroup        accepted for runc compatibility\n"
                "  --data-root DIR         engine data (default /var/lib/vessel, or $VESSEL_ROOT)\n"
                "  --config FILE           configuration file instead of the user's (or\n"
                "                          $VESSEL_CONFIG); see docs/configuration.md\n"
                "  --version, -v           print the version\n"
                "  --help, -h              print this help\n\n"
                "Run 'vessel COMMAND --help' for a command's options.\n");
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
        } else if (cfg->data_root) {
                vs_globals.data_root = cfg->data_root;
                vs_globals.data_root_source = cfg->origin[VS_CK_DATA_ROOT];
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
                usage(stdout);
                return 0;
        }
        if (vs_log_init(vs_globals.log_path, vs_globals.log_format, vs_globals.debug) < 0)
                return 2;
        if (first >= argc) {
                usage(stderr);
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
                        usage(stderr);
                        return 2;
                }
        }
        const char *name = argv[first];
        int sub_argc = argc - first;
        char **sub_argv = argv + first;
        const struct vs_command *cmd = find(vs_engine_commands, name);
        if (cmd == NULL)
                cmd = find(vs_image_commands, name);
        vs_globals.mode = vs_dispatch_mode(argv[0], runc_globals, runtime_prefix, cmd != NULL);
        if (vs_globals.mode == VS_MODE_RUNTIME)
                cmd = find(runtime_commands, name);
        if (cmd == NULL) {
                fprintf(stderr, "vessel: unknown command '%s'\nTry 'vessel --help'.\n", name);
                return 2;
        }
        if (vs_globals.mode == VS_MODE_ENGINE && load_config(name, sub_argc, sub_argv) < 0)
                return 1;
        return cmd->fn(sub_argc, sub_argv);
}
