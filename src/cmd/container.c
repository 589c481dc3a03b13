/* vessel container prune: remove every stopped container. The rest of
 * Docker's container group (every container command under its own name,
 * ls/list for ps) is rows of the command table (commands.c). */
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "cmd/options.h"
#include "engine/engine.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <string.h>

int cmd_container_prune(int argc, char **argv)
{
        bool force = false;
        const struct vs_option opts[] = {
            {"force", 'f', VS_OPT_BOOL, &force, NULL, "do not ask for confirmation"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"container prune", "[-f]", "Remove every stopped container.", opts,
                                VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first < argc)
                return vs_usage_error("container prune", "unexpected argument '%s'", argv[first]);
        if (!force && !vs_cmd_confirm("This will remove all stopped containers."))
                return 0;
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0)
                return vs_report_error(&err);
        int status = 0;
        bool any = vs_cmd_prune_containers(e, NULL, &status) > 0;
        printf("%sTotal reclaimed space: 0B\n", any ? "\n" : "");
        return status;
}

int vs_cmd_prune_containers(struct vs_engine *e, const struct vs_prune_filter *f, int *status)
{
        vs_error *err = NULL;
        struct vs_ctr **v = NULL;
        size_t n = 0, removed = 0;
        if (vs_ctr_list(e, &v, &n, &err) < 0) {
                *status = vs_report_error(&err);
                return 0;
        }
        bool any = false;
        for (size_t i = 0; i < n; i++) {
                vs_ctr_refresh(e, v[i]);
                const char *st = v[i]->state.status;
                if (strcmp(st, "exited") != 0 && strcmp(st, "created") != 0 &&
                    strcmp(st, "dead") != 0)
                        continue;
                if (f && !vs_prune_filter_match((void *) f, v[i]->created,
                                                json_object_object_get(v[i]->config, "Labels")))
                        continue;
                if (vs_engine_rm(e, v[i], false, false, &err) < 0) {
                        *status = vs_report_error(&err);
                        continue;
                }
                if (!any)
                        printf("Deleted Containers:\n");
                any = true;
                removed++;
                printf("%s\n", v[i]->id);
        }
        vs_ctr_list_free(v, n);
        return (int) removed;
}
