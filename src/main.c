/* vessel: command table -> cmd_*(). Global options follow runc's. */
#include "cmd/cmd.h"
#include "engine/config.h"
#include "version.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <getopt.h>
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

static bool has_arg(int argc, char **argv, const char *a, const char *b)
{
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0)
                        break;
                size_t la = strlen(a);
                if (strcmp(argv[i], a) == 0 || (b && strcmp(argv[i], b) == 0) ||
                    (strncmp(argv[i], a, la) == 0 && argv[i][la] == '='))
                        return true;
        }
        return false;
}

/* runc's interface is chosen when the caller is an orchestrator speaking
 * runc: invoked as vessel-runtime (or runc) or vessel-vm, with a runc global option
 * (--root, --log, ...), through `vessel runtime CMD`, for a command only the
 * runtime has, or for create/run given a --bundle. */
static bool runtime_mode(const char *argv0, bool runc_globals, const char *cmd, int argc,
                         char **argv)
{
        const char *base = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
        /* vessel-vm: the OCI runtime with VM isolation for every bundle. */
        if (strcmp(base, "vessel-vm") == 0) {
                vs_globals.vm = true;
                return true;
        }
        if (strcmp(base, "vessel-runtime") == 0 || strcmp(base, "runc") == 0 || runc_globals)
                return true;
        bool engine_has = find(vs_engine_commands, cmd) || find(vs_image_commands, cmd);
        if (!engine_has)
                return true;
        if ((strcmp(cmd, "create") == 0 || strcmp(cmd, "run") == 0) &&
            has_arg(argc, argv, "--bundle", "-b"))
                return true;
        return false;
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
        enum {
                OPT_ROOT = 256,
                OPT_LOG,
                OPT_LOG_FORMAT,
                OPT_DEBUG,
                OPT_SYSTEMD,
                OPT_ROOTLESS,
                OPT_DATA_ROOT,
                OPT_CONFIG
        };
        bool runc_globals = false;
        static const struct option opts[] = {
            {"root", required_argument, NULL, OPT_ROOT},
            {"log", required_argument, NULL, OPT_LOG},
            {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
            {"debug", no_argument, NULL, OPT_DEBUG},
            {"systemd-cgroup", no_argument, NULL, OPT_SYSTEMD},
            {"rootless", required_argument, NULL, OPT_ROOTLESS},
            {"data-root", required_argument, NULL, OPT_DATA_ROOT},
            {"config", required_argument, NULL, OPT_CONFIG},
            {"version", no_argument, NULL, 'v'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        int c;
        while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
                switch (c) {
                case OPT_ROOT:
                        runc_globals = true;
                        vs_globals.root = optarg;
                        break;
                case OPT_LOG:
                        runc_globals = true;
                        vs_globals.log_path = optarg;
                        break;
                case OPT_LOG_FORMAT:
                        runc_globals = true;
                        vs_globals.log_format = optarg;
                        break;
                case OPT_DATA_ROOT:
                        vs_globals.data_root = optarg;
                        vs_globals.data_root_source = "flag";
                        break;
                case OPT_CONFIG:
                        vs_globals.config_path = optarg;
                        break;
                case OPT_DEBUG:
                        vs_globals.debug = true;
                        break;
                case OPT_SYSTEMD:
                        runc_globals = true;
                        vs_globals.systemd_cgroup = true;
                        break;
                case OPT_ROOTLESS:
                        runc_globals = true;
                        break;
                case 'v':
                        printf("vessel version %s\nspec: %s\n", VESSEL_VERSION, VESSEL_OCI_VERSION);
                        return 0;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (vs_log_init(vs_globals.log_path, vs_globals.log_format, vs_globals.debug) < 0)
                return 2;
        if (optind >= argc) {
                usage(stderr);
                return 2;
        }
        if (vs_globals.root[0] != '/') {
                fprintf(stderr, "vessel: --root: '%s' is not an absolute path\n", vs_globals.root);
                return 2;
        }
        if (strcmp(argv[optind], "runtime") == 0) {
                runc_globals = true;
                if (++optind >= argc) {
                        usage(stderr);
                        return 2;
                }
        }
        const char *name = argv[optind];
        int sub_argc = argc - optind;
        char **sub_argv = argv + optind;
        const struct vs_command *cmd = NULL;
        if (runtime_mode(argv[0], runc_globals, name, sub_argc, sub_argv))
                cmd = find(runtime_commands, name);
        else if ((cmd = find(vs_engine_commands, name)) == NULL)
                cmd = find(vs_image_commands, name);
        if (cmd) {
                if (!runtime_mode(argv[0], runc_globals, name, sub_argc, sub_argv) &&
                    load_config(name, sub_argc, sub_argv) < 0)
                        return 1;
                optind = 0; /* reinitialise getopt for the command */
                return cmd->fn(sub_argc, sub_argv);
        }
        fprintf(stderr, "vessel: unknown command '%s'\nTry 'vessel --help'.\n", name);
        return 2;
}
