/* vessel checkpoint / restore: save a running VM container's whole state
 * (RAM, devices, disk) and start it again from there (src/vm/checkpoint.c,
 * docs/vm.md). Containers on the host kernel would need CRIU, which does
 * not work on this kernel: refused with that reason. */
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "cmd/options.h"
#include "util/cleanup.h"
#include "vm/vm.h"

#include <stdio.h>
#include <time.h>

int cmd_engine_checkpoint(int argc, char **argv)
{
        bool leave = false;
        const char *export_file = NULL;
        const struct vs_option opts[] = {
            {"leave-running", 'R', VS_OPT_BOOL, &leave, NULL,
             "keep the container running after the checkpoint"},
            {"export", 'e', VS_OPT_STRING, &export_file, "FILE",
             "also write the checkpoint and the container's record to FILE (a tar.zst archive "
             "for restore --import)"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {
            "checkpoint", "[OPTIONS] CONTAINER",
            "Save a running VM container (--isolation=vm --vm-rootfs=block): "
            "its RAM,\ndevices and disk, with QEMU's migration into a file. "
            "The container stops\n(unless --leave-running); `restore` starts it "
            "again where it was.",
            opts};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (argc - first != 1)
                return vs_usage_error("checkpoint", "expected one CONTAINER");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ct = NULL;
        if (vs_cmd_running_ctr(argv[first], &e, &ct, &err) < 0)
                return vs_report_error(&err);
        if (!vs_ctr_is_vm(ct)) {
                vs_fail(&err,
                        "cannot checkpoint container %s: it runs on the host kernel, which "
                        "needs CRIU, and CRIU does not work on this kernel; a VM container "
                        "(--isolation=vm --vm-rootfs=block) can be checkpointed",
                        ct->name);
                return vs_report_error(&err);
        }
        if (vs_vm_checkpoint(e, ct, leave, export_file, &err) < 0)
                return vs_report_error(&err);
        printf("%s\n", ct->name);
        return 0;
}

int cmd_engine_restore(int argc, char **argv)
{
        const char *import_file = NULL, *name = NULL;
        const struct vs_option opts[] = {
            {"import", 'i', VS_OPT_STRING, &import_file, "FILE",
             "a new container from an archive `checkpoint --export` wrote (its image must be "
             "here)"},
            {"name", 'n', VS_OPT_STRING, &name, "NAME",
             "with --import: the new container's name (default: the exported one's)"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"restore", "[OPTIONS] CONTAINER | --import FILE [--name NAME]",
                                "Start a checkpointed VM container again from its checkpoint: its "
                                "processes go on\nwhere they were.",
                                opts};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (import_file ? argc - first != 0 : argc - first != 1)
                return vs_usage_error("restore", import_file ? "--import takes no CONTAINER"
                                                             : "expected one CONTAINER");
        if (name && import_file == NULL)
                return vs_usage_error("restore", "--name needs --import");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ct = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0)
                return vs_report_error(&err);
        if (import_file ? vs_vm_import(e, import_file, name, &ct, &err) < 0
                        : vs_ctr_resolve(e, argv[first], &ct, &err) < 0)
                return vs_report_error(&err);
        vs_ctr_refresh(e, ct);
        if (vs_vm_restore(e, ct, &err) < 0) {
                if (import_file) {
                        /* Nothing of a failed import stays. */
                        _cleanup_error_ vs_error *rerr = NULL;
                        vs_engine_rm(e, ct, true, false, &rerr);
                }
                return vs_report_error(&err);
        }
        printf("%s\n", ct->name);
        return 0;
}
