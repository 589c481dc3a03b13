/* vessel container COMMAND: Docker's container group. Every container
 * command of the engine table under its own name, ls/list for ps, and
 * prune (remove every stopped container). */
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "engine/engine.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char *const members[] = {
    "attach", "commit", "cp",      "create",  "diff", "exec",   "inspect", "kill",
    "logs",   "pause",  "rename",  "restart", "rm",   "run",    "start",   "stats",
    "stop",   "top",    "unpause", "update",  "wait", "export", "port",    NULL,
};

static int container_prune(int argc, char **argv)
{
        static const struct option opts[] = {
            {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0}};
        bool force = false;
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:fh", opts, NULL)) != -1) {
                if (c == 'f') {
                        force = true;
                } else if (c == 'h') {
                        printf("Usage: vessel container prune [-f]\n\n"
                               "Remove every stopped container.\n\n"
                               "  -f, --force   do not ask for confirmation\n");
                        return 0;
                } else {
                        return vs_option_error("container prune", argv, c == ':');
                }
        }
        if (optind < argc)
                return vs_usage_error("container prune", "unexpected argument '%s'", argv[optind]);
        if (!force) {
                printf("WARNING! This will remove all stopped containers.\n"
                       "Are you sure you want to continue? [y/N] ");
                fflush(stdout);
                char line[16] = "";
                if (!fgets(line, sizeof(line), stdin) || (line[0] != 'y' && line[0] != 'Y'))
                        return 0;
        }
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        struct vs_ctr **v = NULL;
        size_t n = 0;
        if (vs_cmd_open_engine(&e, &err) < 0 || vs_ctr_list(e, &v, &n, &err) < 0)
                return vs_report_error(&err);
        int status = 0;
        bool any = false;
        for (size_t i = 0; i < n; i++) {
                vs_ctr_refresh(e, v[i]);
                const char *st = v[i]->state.status;
                if (strcmp(st, "exited") != 0 && strcmp(st, "created") != 0 &&
                    strcmp(st, "dead") != 0)
                        continue;
                if (vs_engine_rm(e, v[i], false, false, &err) < 0) {
                        status = vs_report_error(&err);
                        continue;
                }
                if (!any)
                        printf("Deleted Containers:\n");
                any = true;
                printf("%s\n", v[i]->id);
        }
        vs_ctr_list_free(v, n);
        printf("%sTotal reclaimed space: 0B\n", any ? "\n" : "");
        return status;
}

static void container_usage(FILE *f)
{
        fprintf(f, "Usage: vessel container COMMAND\n\nManage containers.\n\nCommands:\n"
                   "  ls, list, ps   list containers\n"
                   "  prune          remove every stopped container\n");
        for (size_t i = 0; members[i]; i++)
                for (size_t k = 0; vs_engine_commands[k].name; k++)
                        if (strcmp(vs_engine_commands[k].name, members[i]) == 0)
                                fprintf(f, "  %-14s %s\n", members[i],
                                        vs_engine_commands[k].summary);
}

int cmd_container(int argc, char **argv)
{
        if (argc < 2) {
                container_usage(stderr);
                return vs_usage_error("container", "missing COMMAND");
        }
        const char *sub = argv[1];
        if (strcmp(sub, "--help") == 0) {
                container_usage(stdout);
                return 0;
        }
        if (strcmp(sub, "prune") == 0)
                return container_prune(argc - 1, argv + 1);
        if (strcmp(sub, "ls") == 0 || strcmp(sub, "list") == 0)
                sub = "ps";
        bool member = strcmp(sub, "ps") == 0;
        for (size_t i = 0; members[i] && !member; i++)
                member = strcmp(members[i], sub) == 0;
        for (size_t k = 0; member && vs_engine_commands[k].name; k++)
                if (strcmp(vs_engine_commands[k].name, sub) == 0)
                        return vs_engine_commands[k].fn(argc - 1, argv + 1);
        return vs_usage_error("container", "unknown command '%s'", argv[1]);
}
