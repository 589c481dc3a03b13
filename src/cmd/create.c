/* vessel create / run: runc-compatible front ends. */
#include "cmd/cmd.h"
#include "cmd/options.h"
#include "runtime/container.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_preserve_fds(const struct vs_option *o, const char *v, vs_error **err)
{
        char *end;
        long n = strtol(v, &end, 10);
        if (*v == '\0' || *end || n < 0 || n > 1024)
                return vs_fail(err, "invalid value '%s' for --%s: not a count (0-1024)", v,
                               o->name);
        *(int *) o->target = (int) n;
        return 0;
}

static int create_or_run(int argc, char **argv, bool run)
{
        const char *cmd = run ? "run" : "create";
        struct vs_create_opts o = {.root = vs_globals.root, .bundle = ".", .vm = vs_globals.vm};
        bool detach = false, ignored = false;
        const struct vs_option opts[] = {
            {"bundle", 'b', VS_OPT_STRING, &o.bundle, "DIR",
             "bundle directory (default: current directory)"},
            {"pid-file", 0, VS_OPT_STRING, &o.pid_file, "FILE",
             "write the container init's pid to FILE"},
            {"console-socket", 0, VS_OPT_STRING, &o.console_socket, "SOCK",
             "send the pty master to this AF_UNIX socket"},
            {"no-pivot", 0, VS_OPT_BOOL, &o.no_pivot, NULL,
             "use MS_MOVE + chroot instead of pivot_root"},
            {"preserve-fds", 0, VS_OPT_CALLBACK, &o.preserve_fds, "N",
             "pass N extra fds (3..3+N-1) to the container", set_preserve_fds},
            {"no-new-keyring", 0, VS_OPT_BOOL, &ignored, NULL, "accepted for runc compatibility"},
            {run ? "detach" : NULL, 'd', run ? VS_OPT_BOOL : VS_OPT_END, &detach, NULL,
             "return once the container runs"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {
            cmd, "[OPTIONS] ID",
            run ? "Create and start a container. In the foreground, signals are forwarded\n"
                  "and the exit status is the container's (128+N when killed by signal N);\n"
                  "the container is deleted when it exits."
                : "Create a container: its init is set up and waits before the user\n"
                  "process until `vessel start ID`.",
            opts, VS_PARSE_INTERSPERSED | VS_PARSE_H_IS_HELP};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first != argc - 1)
                return vs_usage_error(cmd, first >= argc ? "missing container ID"
                                                         : "expected exactly one container ID");
        o.id = argv[first];
        vs_error *err = NULL;
        if (!run) {
                if (vs_container_create(&o, NULL, &err) < 0)
                        return vs_report_error(&err);
                return 0;
        }
        int status = 0;
        if (vs_container_run(&o, detach, &status, &err) < 0) {
                vs_report_error(&err);
                return status ? status : 1;
        }
        return status;
}

int cmd_create(int argc, char **argv)
{
        return create_or_run(argc, argv, false);
}

int cmd_run(int argc, char **argv)
{
        return create_or_run(argc, argv, true);
}
