/* vessel system check|prune, vessel image prune. */
#include "cmd/engine_cmd.h"
#include "cmd/image_cmd.h"
#include "cmd/options.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <string.h>

static int prune(const char *cmd, bool sweep, int argc, char **argv)
{
        bool all = false, force = false;
        const struct vs_option opts[] = {
            {"all", 'a', VS_OPT_BOOL, &all, NULL,
             "remove every image no container uses, tagged or not"},
            {"force", 'f', VS_OPT_BOOL, &force, NULL,
             "accepted for compatibility (vessel does not ask)"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {
            cmd, "[OPTIONS]",
            sweep ? "Remove untagged images that no container uses, then every blob and "
                    "unpacked layer that no\nimage uses, and what killed commands left on "
                    "containers (a freeze or rootfs mount\nwhose holder died, the directory of "
                    "a half-created or half-removed container)."
                  : "Remove untagged images that no container uses.",
            opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first < argc)
                return vs_usage_error(cmd, "unexpected argument '%s'", argv[first]);
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        struct vs_prune_report r;
        if (sweep) {
                /* What interrupted engine commands left on containers. */
                _cleanup_engine_ struct vs_engine *e = NULL;
                size_t leftovers = 0;
                if (vs_cmd_open_engine(&e, &err) < 0 ||
                    vs_engine_prune_leftovers(e, &leftovers, &err) < 0)
                        return vs_report_error(&err);
                if (leftovers)
                        printf("Removed %zu leftover container directories\n", leftovers);
        }
        if (vs_cmd_open_store(&s, &err) < 0 || vs_store_prune(s, all, sweep, stdout, &r, &err) < 0)
                return vs_report_error(&err);
        /* system prune: also the addresses, veths and port rules of
         * containers that are gone (never the networks themselves). */
        _cleanup_strv_ char **nets = NULL;
        if (sweep && vs_cmd_network_prune(false, &nets, &err) < 0)
                return vs_report_error(&err);
        _cleanup_free_ char *size = vs_human_size(r.bytes);
        if (sweep)
                printf("Removed %zu images, %zu blobs, %zu unpacked layers\n", r.images, r.blobs,
                       r.layers);
        printf("Total reclaimed space: %s\n", size);
        return 0;
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
