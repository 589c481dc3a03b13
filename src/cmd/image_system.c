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
static int prune_engine_objects(bool volumes, const struct vs_prune_filter *f, int *status,
                                vs_error **err)
{
        _cleanup_engine_ struct vs_engine *e = NULL;
        size_t leftovers = 0;
        if (vs_cmd_open_engine(&e, err) < 0 || vs_engine_prune_leftovers(e, &leftovers, err) < 0)
                return -1;
        /* What interrupted engine commands left on containers. */
        if (leftovers)
                printf("Removed %zu leftover container directories\n", leftovers);
        if (vs_cmd_prune_containers(e, f, status) > 0)
                printf("\n");
        /* The networks, and the addresses, veths and port rules of
         * containers that are gone. */
        _cleanup_strv_ char **nets = NULL;
        if (vs_cmd_network_prune(true, f, &nets, err) < 0)
                return -1;
        for (size_t i = 0; nets[i]; i++)
                printf("%s%s\n%s", i ? "" : "Deleted Networks:\n", nets[i],
                       nets[i + 1] ? "" : "\n");
        if (volumes && vs_cmd_prune_volumes(e, f, status) > 0)
                printf("\n");
        return 0;
}

/* Docker's question before a prune (-f skips it). */
static bool confirm(bool sweep, bool all, bool volumes, const struct vs_prune_filter *f)
{
        if (!sweep)
                return vs_cmd_confirm(all ? "This will remove all images without at least one "
                                            "container associated to them."
                                          : "This will remove all dangling images.");
        _cleanup_free_ char *w = xasprintf(
            "This will remove:\n  - all stopped containers\n  - all networks not used by at "
            "least one container\n%s  - %s\n  - %s\n%s",
            volumes ? "  - all volumes not used by at least one container\n" : "",
            all ? "all images without at least one container associated to them"
                : "all dangling images",
            f->set ? "unused build cache is kept (a filter was given)"
            : all  ? "all build cache"
                   : "all dangling build cache",
            f->set ? "\n  Items to be pruned will be filtered with the given --filter\n" : "");
        return vs_cmd_confirm(w);
}

static int prune(const char *cmd, bool sweep, int argc, char **argv)
{
        bool all = false, force = false, volumes = false;
        _cleanup_strv_ char **filters = NULL;
        const struct vs_option opts[] = {
            {"all", 'a', VS_OPT_BOOL, &all, NULL,
             "remove every image no container uses, tagged or not"},
            {"force", 'f', VS_OPT_BOOL, &force, NULL, "do not ask for confirmation"},
            {"volumes", 0, VS_OPT_BOOL, &volumes, NULL, "also the volumes no container uses"},
            {"filter", 0, VS_OPT_LIST, &filters, "FILTER",
             "until=TIME (created before: RFC 3339, Unix seconds or a duration such as 24h), "
             "label=K[=V], label!=K[=V] (repeatable)"},
            VS_OPT_TABLE_END,
        };
        /* image prune: without --volumes */
        const struct vs_option image_opts[] = {opts[0], opts[1], opts[3], VS_OPT_TABLE_END};
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
        struct vs_prune_filter f = {0};
        if (vs_prune_filter_parse(filters, sweep && volumes, &f, &err) < 0) {
                vs_prune_filter_clear(&f);
                vs_report_error(&err);
                return 125;
        }
        if (!force && !confirm(sweep, all, volumes, &f)) {
                vs_prune_filter_clear(&f);
                return 0;
        }
        _cleanup_store_ struct vs_store *s = NULL;
        struct vs_prune_report r;
        int status = 0;
        const struct vs_prune_filter *fp = f.set ? &f : NULL;
        int rc = sweep ? prune_engine_objects(volumes, fp, &status, &err) : 0;
        if (rc == 0 && (vs_cmd_open_store(&s, &err) < 0 ||
                        vs_store_prune(s, all, sweep, fp ? vs_prune_filter_match : NULL,
                                       (void *) fp, stdout, &r, &err) < 0))
                rc = -1;
        vs_prune_filter_clear(&f);
        if (rc < 0)
                return vs_report_error(&err);
        _cleanup_free_ char *size = vs_human_size(r.bytes);
        if (sweep) {
                _cleanup_engine_ struct vs_engine *e = NULL;
                size_t cache = 0;
                /* The build cache has no creation time or labels to filter
                 * by: with a filter it is kept. */
                if (vs_cmd_open_engine(&e, &err) < 0 ||
                    (fp == NULL && vs_builder_prune(e, &cache, &err) < 0))
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
