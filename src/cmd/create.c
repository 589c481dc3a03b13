/* vessel create / run: runc-compatible front ends. */
#include "cmd/cmd.h"
#include "runtime/container.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out, const char *cmd)
{
        bool run = strcmp(cmd, "run") == 0;
        fprintf(out,
                "Usage: vessel %s [OPTIONS] ID\n\n%s\n\nOptions:\n"
                "  -b, --bundle DIR          bundle directory (default: current directory)\n"
                "      --pid-file FILE       write the container init's pid to FILE\n"
                "      --console-socket SOCK send the pty master to this AF_UNIX socket\n"
                "      --no-pivot            use MS_MOVE + chroot instead of pivot_root\n"
                "      --preserve-fds N      pass N extra fds (3..3+N-1) to the container\n"
                "      --no-new-keyring      accepted for runc compatibility\n"
                "%s"
                "  -h, --help                print this help\n",
                cmd,
                run ? "Create and start a container. In the foreground, signals are forwarded\n"
                      "and the exit status is the container's (128+N when killed by signal N);\n"
                      "the container is deleted when it exits."
                    : "Create a container: its init is set up and waits before the user\n"
                      "process until `vessel start ID`.",
                run ? "  -d, --detach              return once the container runs\n" : "");
}

static int create_or_run(int argc, char **argv, bool run)
{
        enum { OPT_PID = 256, OPT_CONSOLE, OPT_NOPIVOT, OPT_PRESERVE, OPT_KEYRING };
        static const struct option opts[] = {
                {"bundle", required_argument, NULL, 'b'},
                {"pid-file", required_argument, NULL, OPT_PID},
                {"console-socket", required_argument, NULL, OPT_CONSOLE},
                {"no-pivot", no_argument, NULL, OPT_NOPIVOT},
                {"preserve-fds", required_argument, NULL, OPT_PRESERVE},
                {"no-new-keyring", no_argument, NULL, OPT_KEYRING},
                {"detach", no_argument, NULL, 'd'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        const char *cmd = run ? "run" : "create";
        struct vs_create_opts o = {.root = vs_globals.root, .bundle = ".", .vm = vs_globals.vm};
        bool detach = false;
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, run ? ":b:dh" : ":b:h", opts, NULL)) != -1) {
                switch (c) {
                case 'b':
                        o.bundle = optarg;
                        break;
                case OPT_PID:
                        o.pid_file = optarg;
                        break;
                case OPT_CONSOLE:
                        o.console_socket = optarg;
                        break;
                case OPT_NOPIVOT:
                        o.no_pivot = true;
                        break;
                case OPT_PRESERVE: {
                        char *end;
                        long n = strtol(optarg, &end, 10);
                        if (*end || n < 0 || n > 1024)
                                return vs_usage_error(cmd, "--preserve-fds: '%s' is not a count",
                                                      optarg);
                        o.preserve_fds = (int) n;
                        break;
                }
                case OPT_KEYRING:
                        break;
                case 'd':
                        detach = true;
                        break;
                case 'h':
                        usage(stdout, cmd);
                        return 0;
                case ':':
                        return vs_option_error(cmd, argv, true);
                default:
                        return vs_option_error(cmd, argv, false);
                }
        }
        if (optind != argc - 1)
                return vs_usage_error(cmd, optind >= argc ? "missing container ID"
                                                          : "expected exactly one container ID");
        o.id = argv[optind];
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
