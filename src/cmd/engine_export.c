/* vessel export: a container's filesystem (its image and its changes, as
 * the container's root shows them) as an uncompressed tar, as Docker's
 * export writes it. */
#include "cmd/cmd.h"
#include "cmd/options.h"
#include "cmd/engine_cmd.h"
#include "engine/engine.h"
#include "image/image.h"
#include "image/layer.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cmd_engine_export(int argc, char **argv)
{
        const char *output = NULL;
        const struct vs_option opts[] = {
            {"output", 'o', VS_OPT_STRING, &output, "FILE", "write to FILE instead"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"export", "[-o FILE] CONTAINER",
                                "Write a container's filesystem as a tar archive (to stdout).",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (argc - first != 1)
                return vs_usage_error("export", "expected one CONTAINER");
        vs_error *err = NULL;
        if (!output && isatty(STDOUT_FILENO)) {
                vs_fail(&err, "export: refusing to write a tar archive to a terminal (use -o "
                              "FILE or redirect)");
                return vs_report_error(&err);
        }
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ct = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0 || vs_ctr_resolve(e, argv[first], &ct, &err) < 0)
                return vs_report_error(&err);
        /* -o FILE: written beside and renamed into place only when the whole
         * tree is in, so a failed export leaves no half archive. */
        struct vs_output o = {.fd = -1};
        if (output && vs_output_open(&o, output, 0644, &err) < 0)
                return vs_report_error(&err);
        bool mounted = false;
        int r = vs_engine_mount_rootfs(e, ct, &mounted, &err);
        if (r == 0) {
                _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", ct->dir);
                /* a rootless container's shifted ids, turned back */
                struct vs_idmaps back;
                int shifted = vs_userns_unshift_maps(ct, &back, &err);
                struct vs_layer_idshift ids = {back.uid, back.gid, back.n_uid, back.n_gid};
                r = shifted < 0
                        ? -1
                        : vs_tar_stream_tree_ids(rootfs, NULL, output ? o.fd : STDOUT_FILENO,
                                                 shifted ? &ids : NULL, &err);
                vs_idmaps_clear(&back);
        }
        if (mounted) {
                _cleanup_error_ vs_error *uerr = NULL;
                if (vs_engine_umount_rootfs(ct, &uerr) < 0 && r == 0) {
                        err = steal_ptr(uerr);
                        r = -1;
                }
        }
        if (output) {
                if (r == 0)
                        r = vs_output_commit(&o, false, &err);
                else
                        vs_output_abort(&o);
        }
        return r < 0 ? vs_report_error(&err) : 0;
}
