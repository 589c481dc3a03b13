/* vessel vm kernel: builds (when missing) or reports the microVM guest
 * kernel (src/vm/kernel.c). */
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "engine/engine.h"
#include "util/cleanup.h"
#include "util/xalloc.h"
#include "vm/vm.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char vm_usage[] =
    "Usage: vessel vm kernel [--path] [--no-build] [--config]\n\n"
    "Build the microVM guest kernel if it is not cached, then report it.\n"
    "It is built once from Debian's linux-source-6.1 with the config fragment\n"
    "vessel embeds (guest/kernel.config), under <data-root>/vm/kernel/<key>/ and\n"
    "copied to $VESSEL_KERNEL_CACHE (default /var/cache/vessel/kernel); <key>\n"
    "hashes the fragment and the build script. See docs/vm.md.\n\n"
    "      --path       print only the kernel's path\n"
    "      --no-build   fail instead of building a missing kernel\n"
    "      --config     print the config fragment and exit\n"
    "  -h, --help       print this help\n";

int cmd_vm(int argc, char **argv)
{
        if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
                fputs(vm_usage, argc < 2 ? stderr : stdout);
                return argc < 2 ? 2 : 0;
        }
        if (strcmp(argv[1], "kernel") != 0)
                return vs_usage_error("vm", "unknown subcommand '%s' (kernel)", argv[1]);
        static const struct option opts[] = {
            {"path", no_argument, NULL, 'p'},
            {"no-build", no_argument, NULL, 'n'},
            {"config", no_argument, NULL, 'c'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        bool path_only = false, no_build = false;
        int c;
        opterr = 0;
        optind = 1;
        while ((c = getopt_long(argc - 1, argv + 1, "+:h", opts, NULL)) != -1) {
                switch (c) {
                case 'p':
                        path_only = true;
                        break;
                case 'n':
                        no_build = true;
                        break;
                case 'c': {
                        size_t len;
                        const char *f = vs_vm_kernel_fragment(&len);
                        fwrite(f, 1, len, stdout);
                        return 0;
                }
                case 'h':
                        fputs(vm_usage, stdout);
                        return 0;
                default:
                        return vs_option_error("vm kernel", argv + 1, c == ':');
                }
        }
        if (optind < argc - 1)
                return vs_usage_error("vm kernel", "unexpected argument '%s'", argv[optind + 1]);
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
