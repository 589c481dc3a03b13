/* vessel: command table -> cmd_*(). Global options follow runc's. */
#include "cmd/cmd.h"
#include "version.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>



struct command {
        const char *name;
        int (*fn)(int argc, char **argv);
        const char *summary;
};

static const struct command commands[] = {
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
};

static void usage(FILE *out)
{
        fprintf(out, "Usage: vessel [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\n"
                     "An OCI runtime (runc-compatible command line).\n\nCommands:\n");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
        fprintf(out, "\nGlobal options:\n"
                     "  --root DIR              state root (default " VESSEL_DEFAULT_ROOT ")\n"
                     "  --log FILE              write logs and errors to FILE\n"
                     "  --log-format text|json  format of the --log file (default text)\n"
                     "  --debug                 log debug messages\n"
                     "  --systemd-cgroup        accepted for runc compatibility\n"
                     "  --version, -v           print the version\n"
                     "  --help, -h              print this help\n\n"
                     "Run 'vessel COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
        enum { OPT_ROOT = 256, OPT_LOG, OPT_LOG_FORMAT, OPT_DEBUG, OPT_SYSTEMD, OPT_ROOTLESS };
        static const struct option opts[] = {
                {"root", required_argument, NULL, OPT_ROOT},
                {"log", required_argument, NULL, OPT_LOG},
                {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
                {"debug", no_argument, NULL, OPT_DEBUG},
                {"systemd-cgroup", no_argument, NULL, OPT_SYSTEMD},
                {"rootless", required_argument, NULL, OPT_ROOTLESS},
                {"version", no_argument, NULL, 'v'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        int c;
        while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
                switch (c) {
                case OPT_ROOT:
                        vs_globals.root = optarg;
                        break;
                case OPT_LOG:
                        vs_globals.log_path = optarg;
                        break;
                case OPT_LOG_FORMAT:
                        vs_globals.log_format = optarg;
                        break;
                case OPT_DEBUG:
                        vs_globals.debug = true;
                        break;
                case OPT_SYSTEMD:
                        vs_globals.systemd_cgroup = true;
                        break;
                case OPT_ROOTLESS:
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
                fprintf(stderr, "vessel: --root: '%s' is not an absolute path\n",
                        vs_globals.root);
                return 2;
        }
        const char *name = argv[optind];
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                if (strcmp(commands[i].name, name) == 0) {
                        int sub_argc = argc - optind;
                        char **sub_argv = argv + optind;
                        optind = 0; /* reinitialise getopt for the command */
                        return commands[i].fn(sub_argc, sub_argv);
                }
        }
        fprintf(stderr, "vessel: unknown command '%s'\nTry 'vessel --help'.\n", name);
        return 2;
}
