/* vessel pause / resume: freeze and thaw every process of a container. */
#include "cmd/cmd.h"
#include "runtime/container.h"

#include <getopt.h>
#include <stdio.h>

/* Both commands take exactly one ID and only --help. Returns the container
 * id, or NULL with *status set to the exit code to return. */
static const char *parse_id(const char *name, const char *usage, int argc, char **argv, int *status)
{
        static const struct option opts[] = {
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
                if (c == 'h') {
                        printf("%s", usage);
                        *status = 0;
                        return NULL;
                }
                *status = vs_option_error(name, argv, c == ':');
                return NULL;
        }
        if (optind >= argc) {
                *status = vs_usage_error(name, "missing container ID");
                return NULL;
        }
        if (argc - optind > 1) {
                *status = vs_usage_error(name, "unexpected argument '%s'", argv[optind + 1]);
                return NULL;
        }
        return argv[optind];
}

int cmd_pause(int argc, char **argv)
{
        int status;
        const char *id = parse_id("pause",
                                  "Usage: vessel pause ID\n\n"
                                  "Freeze every process of a running container (cgroup freezer).\n"
                                  "'vessel resume ID' thaws them.\n",
                                  argc, argv, &status);
        if (id == NULL)
                return status;
        vs_error *err = NULL;
        if (vs_container_pause(vs_globals.root, id, &err) < 0)
                return vs_report_error(&err);
        return 0;
}

int cmd_resume(int argc, char **argv)
{
        int status;
        const char *id = parse_id("resume",
                                  "Usage: vessel resume ID\n\n"
                                  "Thaw a container frozen by 'vessel pause'.\n",
                                  argc, argv, &status);
        if (id == NULL)
                return status;
        vs_error *err = NULL;
        if (vs_container_resume(vs_globals.root, id, &err) < 0)
                return vs_report_error(&err);
        return 0;
}
