/* vessel system check|prune, vessel image prune. */
#include "build/build.h"
#include "cmd/engine_cmd.h"
#include "cmd/image_cmd.h"
#include "cmd/options.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <string.h>

/* system prune's Docker scope, before the images: stopped containers, the
 * networks no container uses, (--volumes) the volumes no container uses,
 * and after them the build cache no named image uses. */
static int prune_engine_objects(bool volumes, int *status, vs_error **err)
{
        _cleanup_engine_ struct vs_engine *e = NULL;
        size_t leftovers = 0;
        if (vs_cmd_open_engine(&e, err) < 0 || vs_engine_prune_leftovers(e, &leftovers, err) < 0)
                return -1;
        /* What interrupted engine commands left on containers. */
        if (leftovers)
                printf("Removed %zu leftover container directories\n", leftovers);
        if (vs_cmd_prune_containers(e, status) > 0)
                printf("\n");
        /* The networks, and the addresses, veths and port rules of
         * containers that are gone. */
        _cleanup_strv_ char **nets = NULL;
        if (vs_cmd_network_prune(true, &nets, err) < 0)
                return -1;
        for (size_t i = 0; nets[i]; i++)
                printf("%s%s\n%s", i ? "" : "Deleted Networks:\n", nets[i],
                       nets[i + 1] ? "" : "\n");
        if (volumes && vs_cmd_prune_volumes(e, status) > 0)
                printf("\n");
        return 0;
}

static int prune(const char *cmd, bool sweep, int argc, char **argv)
{
        bool all = false, force = false, volumes = false;
        const struct vs_option opts[] = {
            {"all", 'a', VS_OPT_BOOL, &all, NULL,
             "remove every image no container uses, tagged or not"},
            {"force", 'f', VS_OPT_BOOL, &force, NULL,
             "accepted for compatibility (vessel does not ask)"},
            {"volumes", 0, VS_OPT_BOOL, &volumes, NULL, "also the volumes no container uses"},
            VS_OPT_TABLE_END,
        };
        /* image prune: without --volumes */
        const struct vs_option image_opts[] = {opts[0], opts[1], VS_OPT_TABLE_END};
        struct vs_cmdline cl = {
            cmd, "[OPTIONS]",
            sweep ? "Remove what Docker's system prune removes: stopped containers, networks no "
                    "container\nuses, untagged images no container uses (-a: every image no "
                    "container uses),\nthe build cache no named image uses, and with --volumes "
                    "the volumes no container\nuses. Then every blob and unpacked layer that no "
                    "image uses, and what killed\ncommands left on containers (a freeze or rootfs "
                    "mount whose holder died, the\ndirectory of a half-created or half-removed "
                    "container)."
                  : "Remove untagged images that no container uses.",
            sweep ? opts : image_opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first < argc)
                return vs_usage_error(cmd, "unexpected argument '%s'", argv[first]);
        vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        struct vs_prune_report r;
        int status = 0;
        if (sweep && prune_engine_objects(volumes, &status, &err) < 0)
                return vs_report_error(&err);
        if (vs_cmd_open_store(&s, &err) < 0 || vs_store_prune(s, all, sweep, stdout, &r, &err) < 0)
                return vs_report_error(&err);
        _cleanup_free_ char *size = vs_human_size(r.bytes);
        if (sweep) {
                _cleanup_engine_ struct vs_engine *e = NULL;
                size_t cache = 0;
                if (vs_cmd_open_engine(&e, &err) < 0 || vs_builder_prune(e, &cache, &err) < 0)
                        return vs_report_error(&err);
                printf("Removed %zu images, %zu blobs, %zu unpacked layers, %zu build cache "
                       "entries\n",
                       r.images, r.blobs, r.layers, cache);
        }
        printf("Total reclaimed space: %s\n", size);
        return status;
}

int cmd_image_prune(int argc, char **argv)
{
        return prune("image prune", false, argc, argv);
}

int cmd_system_check(int argc, char **argv)
{
        const struct vs_option opts[] = {VS_OPT_TABLE_END};
        struct vs_cmdline cl = {"system check", "",
                                "Verify every blob against its digest, every reference of the "
                                "index,\nmanifests and configs, and that every layer is unpacked; "
                                "print the\nproblems (exit status 1 if any).",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first < argc)
                return vs_usage_error("system check", "unexpected argument '%s'", argv[first]);
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        if (vs_cmd_open_store(&s, &err) < 0)
                return vs_report_error(&err);
        int problems = vs_store_check(s, stdout, &err);
        if (problems < 0)
                return vs_report_error(&err);
        if (problems > 0) {
                fprintf(stderr, "vessel: system check found %d problem%s in %s\n", problems,
                        problems == 1 ? "" : "s", vs_store_root(s));
                return 1;
        }
        return 0;
}

int cmd_system_prune(int argc, char **argv)
{
        return prune("system prune", true, argc, argv);
}
