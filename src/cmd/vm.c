/* vessel vm kernel: builds (when missing) or reports the microVM guest
 * kernel (src/vm/kernel.c). */
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "cmd/options.h"
#include "engine/engine.h"
#include "util/cleanup.h"
#include "util/xalloc.h"
#include "vm/vm.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char vm_summary[] =
    "Build the microVM guest kernel if it is not cached, then report it.\n"
    "It is built once from Debian's linux-source-6.1 with the config fragment\n"
    "vessel embeds (guest/kernel.config), under <data-root>/vm/kernel/<key>/ and\n"
    "copied to $VESSEL_KERNEL_CACHE (default /var/cache/vessel/kernel); <key>\n"
    "hashes the fragment and the build script. See docs/vm.md.";

int cmd_vm(int argc, char **argv)
{
        bool path_only = false, no_build = false, config = false;
        const struct vs_option opts[] = {
            {"path", 0, VS_OPT_BOOL, &path_only, NULL, "print only the kernel's path"},
            {"no-build", 0, VS_OPT_BOOL, &no_build, NULL,
             "fail instead of building a missing kernel"},
            {"config", 0, VS_OPT_BOOL, &config, NULL, "print the config fragment and exit"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"vm kernel", "[--path] [--no-build] [--config]", vm_summary, opts};
        if (argc < 2 || strcmp(argv[1], "--help") == 0) {
                if (argc < 2) {
                        fprintf(stderr, "Usage: vessel vm kernel [OPTIONS]\n");
                        return vs_usage_status();
                }
                vs_print_help(&cl);
                return 0;
        }
        if (strcmp(argv[1], "kernel") != 0)
                return vs_usage_error("vm", "unknown subcommand '%s' (kernel)", argv[1]);
        int first = vs_parse_options(&cl, argc - 1, argv + 1);
        if (first < 0)
                return cl.status;
        if (first < argc - 1)
                return vs_usage_error("vm kernel", "unexpected argument '%s'", argv[first + 1]);
        if (config) {
                size_t len;
                const char *f = vs_vm_kernel_fragment(&len);
                fwrite(f, 1, len, stdout);
                return 0;
        }
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_free_ char *path = NULL, *key = NULL, *qemu = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0 || vs_vm_kernel_key(&key, &err) < 0 ||
            vs_vm_kernel_get(e->data_root, !no_build, !path_only, &path, &err) < 0)
                return vs_report_error(&err);
        if (path_only) {
                printf("%s\n", path);
                return 0;
        }
        const char *why = "";
        const char *accel = vs_vm_accel_detect(&why);
        _cleanup_error_ vs_error *qerr = NULL;
        bool have_qemu = vs_vm_qemu_path(&qemu, &qerr) == 0;
        printf("kernel       %s\n", path);
        printf("key          %s\n", key);
        printf("accelerator  %s (%s)\n", accel, why);
        printf("qemu         %s\n", have_qemu ? qemu : qerr->msg);
        return 0;
}
