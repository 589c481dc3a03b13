/* vessel stop / restart / kill / pause / unpause / rm / wait / rename. */
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "cmd/options.h"
#include "engine/engine.h"
#include "util/cleanup.h"

#include <signal.h>
#include <errno.h>
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

/* Parses the options, then applies the action to each CONTAINER argument;
 * prints each name given on success (Docker's output), except for wait. */
static int for_each(struct vs_cmdline *cl, int argc, char **argv, const struct ctl *a)
{
        int first = vs_parse_options(cl, argc, argv);
        if (first < 0)
                return cl->status;
        if (first >= argc)
                return vs_usage_error(cl->cmd, "missing CONTAINER");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0)
                return vs_report_error(&err);
        int status = 0;
        for (int i = first; i < argc; i++) {
                _cleanup_ctr_ struct vs_ctr *c = NULL;
                if (vs_ctr_resolve(e, argv[i], &c, &err) < 0 || act(e, c, a, &err) < 0) {
                        /* Docker: rm -f of a container that is not there
                         * says so, and is no failure. */
                        bool gone =
                            a->action == RM && a->force && c == NULL && err->errno_ == ENOENT;
                        int s = vs_report_error(&err);
                        if (!gone)
                                status = s;
                        continue;
                }
                if (a->action != WAIT)
                        printf("%s\n", argv[i]);
                fflush(stdout);
        }
        return status;
}

static int set_timeout(const struct vs_option *o, const char *s, vs_error **err)
{
        char *end;
        long v = strtol(s, &end, 10);
        if (*s == '\0' || *end || v < -1 || v > 1000000)
                return vs_fail(err, "--time: invalid number of seconds '%s'", s);
        *(int *) o->target = (int) v;
        return 0;
}

static int stop_like(const char *cmd, enum action action, int argc, char **argv)
{
        struct ctl a = {.action = action, .timeout = -1};
        const struct vs_option opts[] = {
            {"time", 't', VS_OPT_CALLBACK, &a.timeout, "N",
             "seconds to wait after the stop signal before SIGKILL (default: --stop-timeout of "
             "the container, else 10)",
             set_timeout},
            {"timeout", 0, VS_OPT_CALLBACK, &a.timeout, "N", NULL, set_timeout},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {cmd, "[-t SECONDS] CONTAINER...",
                                action == STOP ? "Stop containers: their stop signal, then SIGKILL."
                                               : "Stop containers, then start them again.",
                                opts};
        return for_each(&cl, argc, argv, &a);
}

int cmd_engine_stop(int argc, char **argv)
{
        return stop_like("stop", STOP, argc, argv);
}

int cmd_engine_restart(int argc, char **argv)
{
        return stop_like("restart", RESTART, argc, argv);
}

static int set_signal(const struct vs_option *o, const char *s, vs_error **err)
{
        return vs_parse_signal("--signal", s, o->target, err);
}

int cmd_engine_kill(int argc, char **argv)
{
        struct ctl a = {.action = KILL, .sig = SIGKILL};
        const struct vs_option opts[] = {
            {"signal", 's', VS_OPT_CALLBACK, &a.sig, "SIGNAL", "signal to send (default SIGKILL)",
             set_signal},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"kill", "[-s SIGNAL] CONTAINER...",
                                "Send a signal (default SIGKILL) to containers' main process.\n"
                                "The restart policy does not restart a killed container.",
                                opts};
        return for_each(&cl, argc, argv, &a);
}

static int simple(const char *cmd, enum action action, const char *help, int argc, char **argv)
{
        const struct vs_option opts[] = {VS_OPT_TABLE_END};
        struct vs_cmdline cl = {cmd, "CONTAINER...", help, opts};
        struct ctl a = {.action = action};
        return for_each(&cl, argc, argv, &a);
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
        struct ctl a = {.action = RM};
        const struct vs_option opts[] = {
            {"force", 'f', VS_OPT_BOOL, &a.force, NULL, "kill a running container first"},
            {"volumes", 'v', VS_OPT_BOOL, &a.volumes, NULL, "also remove its anonymous volumes"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"rm", "[-f] [-v] CONTAINER...",
                                "Remove containers: record, logs, runtime state, mounts.", opts};
        return for_each(&cl, argc, argv, &a);
}

int cmd_engine_rename(int argc, char **argv)
{
        const struct vs_option opts[] = {VS_OPT_TABLE_END};
        struct vs_cmdline cl = {"rename", "CONTAINER NEW_NAME", "Rename a container.", opts};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (argc - first != 2)
                return vs_usage_error("rename", "expected CONTAINER NEW_NAME");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ctr = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0 || vs_ctr_resolve(e, argv[first], &ctr, &err) < 0 ||
            vs_engine_rename(e, ctr, argv[first + 1], &err) < 0)
                return vs_report_error(&err);
        return 0;
}
