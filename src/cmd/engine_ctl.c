/* vessel stop / restart / kill / pause / unpause / rm / wait / rename. */
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "engine/engine.h"
#include "util/cleanup.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum action { STOP, RESTART, KILL, PAUSE, UNPAUSE, RM, WAIT };

struct ctl {
        enum action action;
        int timeout; /* -1: the container's */
        int sig;
        bool force, volumes;
};

static int act(struct vs_engine *e, struct vs_ctr *c, const struct ctl *a, vs_error **err)
{
        int code;
        switch (a->action) {
        case STOP:
                return vs_engine_stop(e, c, a->timeout, err);
        case RESTART:
                return vs_engine_restart(e, c, a->timeout, err);
        case KILL:
                return vs_engine_kill(e, c, a->sig, err);
        case PAUSE:
                return vs_engine_pause(e, c, true, err);
        case UNPAUSE:
                return vs_engine_pause(e, c, false, err);
        case RM:
                return vs_engine_rm(e, c, a->force, a->volumes, err);
        case WAIT:
                if (vs_engine_wait(e, c, &code, err) < 0)
                        return -1;
                printf("%d\n", code);
                return 0;
        }
        return 0;
}

/* Applies the action to each CONTAINER argument; prints each name given
 * on success (Docker's output), except for wait. */
static int for_each(const char *cmd, int argc, char **argv, const struct ctl *a)
{
        if (optind >= argc)
                return vs_usage_error(cmd, "missing CONTAINER");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0)
                return vs_report_error(&err);
        int status = 0;
        for (int i = optind; i < argc; i++) {
                _cleanup_ctr_ struct vs_ctr *c = NULL;
                if (vs_ctr_resolve(e, argv[i], &c, &err) < 0 || act(e, c, a, &err) < 0) {
                        status = vs_report_error(&err);
                        continue;
                }
                if (a->action != WAIT)
                        printf("%s\n", argv[i]);
                fflush(stdout);
        }
        return status;
}

static int parse_timeout(const char *cmd, const char *s, int *out)
{
        char *end;
        long v = strtol(s, &end, 10);
        if (*s == '\0' || *end || v < -1 || v > 1000000)
                return vs_usage_error(cmd, "--time: invalid number of seconds '%s'", s);
        *out = (int) v;
        return 0;
}

static int stop_like(const char *cmd, enum action action, int argc, char **argv)
{
        static const struct option opts[] = {
            {"time", required_argument, NULL, 't'},
            {"timeout", required_argument, NULL, 't'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        struct ctl a = {.action = action, .timeout = -1};
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:t:h", opts, NULL)) != -1) {
                if (c == 't') {
                        if (parse_timeout(cmd, optarg, &a.timeout))
                                return vs_usage_status();
                } else if (c == 'h') {
                        printf("Usage: vessel %s [-t SECONDS] CONTAINER...\n\n%s\n\n"
                               "  -t, --time N   seconds to wait after the stop signal before "
                               "SIGKILL\n                 (default: --stop-timeout of the "
                               "container, else 10)\n",
                               cmd,
                               action == STOP ? "Stop containers: their stop signal, then SIGKILL."
                                              : "Stop containers, then start them again.");
                        return 0;
                } else {
                        return vs_option_error(cmd, argv, c == ':');
                }
        }
        return for_each(cmd, argc, argv, &a);
}

int cmd_engine_stop(int argc, char **argv)
{
        return stop_like("stop", STOP, argc, argv);
}

int cmd_engine_restart(int argc, char **argv)
{
        return stop_like("restart", RESTART, argc, argv);
}

int cmd_engine_kill(int argc, char **argv)
{
        static const struct option opts[] = {
            {"signal", required_argument, NULL, 's'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        struct ctl a = {.action = KILL, .sig = SIGKILL};
        int c;
        opterr = 0;
        vs_error *err = NULL;
        while ((c = getopt_long(argc, argv, "+:s:h", opts, NULL)) != -1) {
                if (c == 's') {
                        if (vs_parse_signal("--signal", optarg, &a.sig, &err) < 0) {
                                vs_report_error(&err);
                                return vs_usage_status();
                        }
                } else if (c == 'h') {
                        printf("Usage: vessel kill [-s SIGNAL] CONTAINER...\n\n"
                               "Send a signal (default SIGKILL) to containers' main process.\n"
                               "The restart policy does not restart a killed container.\n");
                        return 0;
                } else {
                        return vs_option_error("kill", argv, c == ':');
                }
        }
        return for_each("kill", argc, argv, &a);
}

static int simple(const char *cmd, enum action action, const char *help, int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
                if (c == 'h') {
                        printf("Usage: vessel %s CONTAINER...\n\n%s\n", cmd, help);
                        return 0;
                }
                return vs_option_error(cmd, argv, c == ':');
        }
        struct ctl a = {.action = action};
        return for_each(cmd, argc, argv, &a);
}

int cmd_engine_pause(int argc, char **argv)
{
        return simple("pause", PAUSE, "Freeze every process of containers.", argc, argv);
}

int cmd_engine_unpause(int argc, char **argv)
{
        return simple("unpause", UNPAUSE, "Thaw paused containers.", argc, argv);
}

int cmd_engine_wait(int argc, char **argv)
{
        return simple("wait", WAIT, "Block until containers stop; print the exit code of each.",
                      argc, argv);
}

int cmd_engine_rm(int argc, char **argv)
{
        static const struct option opts[] = {
            {"force", no_argument, NULL, 'f'},
            {"volumes", no_argument, NULL, 'v'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        struct ctl a = {.action = RM};
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:fvh", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        a.force = true;
                        break;
                case 'v':
                        a.volumes = true;
                        break;
                case 'h':
                        printf("Usage: vessel rm [-f] [-v] CONTAINER...\n\n"
                               "Remove containers: record, logs, runtime state, mounts.\n\n"
                               "  -f, --force     kill a running container first\n"
                               "  -v, --volumes   also remove its anonymous volumes\n");
                        return 0;
                default:
                        return vs_option_error("rm", argv, c == ':');
                }
        }
        return for_each("rm", argc, argv, &a);
}

int cmd_engine_rename(int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
                if (c == 'h') {
                        printf("Usage: vessel rename CONTAINER NEW_NAME\n\nRename a container.\n");
                        return 0;
                }
                return vs_option_error("rename", argv, c == ':');
        }
        if (argc - optind != 2)
                return vs_usage_error("rename", "expected CONTAINER NEW_NAME");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ctr = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0 || vs_ctr_resolve(e, argv[optind], &ctr, &err) < 0 ||
            vs_engine_rename(e, ctr, argv[optind + 1], &err) < 0)
                return vs_report_error(&err);
        return 0;
}
