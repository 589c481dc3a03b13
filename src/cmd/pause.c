/* vessel pause / resume: freeze and thaw every process of a container. */
#include "cmd/cmd.h"
#include "cmd/options.h"
#include "runtime/container.h"

#include <stdio.h>

/* Both commands take exactly one ID and only --help. Returns the container
 * id, or NULL with *status set to the exit code to return. */
static const char *parse_id(const char *name, const char *summary, int argc, char **argv,
                            int *status)
{
        const struct vs_option opts[] = {VS_OPT_TABLE_END};
        struct vs_cmdline cl = {name, "ID", summary, opts,
                                VS_PARSE_INTERSPERSED | VS_PARSE_H_IS_HELP};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0) {
                *status = cl.status;
                return NULL;
        }
        if (first >= argc) {
                *status = vs_usage_error(name, "missing container ID");
                return NULL;
        }
        if (argc - first > 1) {
                *status = vs_usage_error(name, "unexpected argument '%s'", argv[first + 1]);
                return NULL;
        }
        return argv[first];
}

int cmd_pause(int argc, char **argv)
{
        int status;
        const char *id = parse_id("pause",
                                  "Freeze every process of a running container (cgroup freezer).\n"
                                  "'vessel resume ID' thaws them.",
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
        const char *id =
            parse_id("resume", "Thaw a container frozen by 'vessel pause'.", argc, argv, &status);
        if (id == NULL)
                return status;
        vs_error *err = NULL;
        if (vs_container_resume(vs_globals.root, id, &err) < 0)
                return vs_report_error(&err);
        return 0;
}
