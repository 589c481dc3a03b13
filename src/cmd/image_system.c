/* vessel system check|prune, vessel image prune. */
#include "cmd/engine_cmd.h"
#include "cmd/image_cmd.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void system_usage(FILE *f)
{
        fprintf(f, "Usage: vessel system COMMAND\n\n"
                   "Commands:\n"
                   "  check           verify every blob against its digest, every reference of\n"
                   "                  the index, manifests and configs, and that every layer is\n"
                   "                  unpacked; print the problems (exit status 1 if any)\n"
                   "  prune [-a]      image prune, then remove every blob and unpacked layer\n"
                   "                  no image uses and what interrupted commands left\n"
                   "  df [--format T]  disk used by images, containers and volumes\n"
                   "  config --check FILE\n"
                   "                  validate a configuration file (exit status 0 or 1)\n");
}

static void prune_usage(FILE *f, const char *cmd)
{
        fprintf(f,
                "Usage: vessel %s [OPTIONS]\n\n"
                "Remove untagged images that no container uses%s.\n\n"
                "Options:\n"
                "  -a, --all     remove every image no container uses, tagged or not\n"
                "  -f, --force   accepted for compatibility (vessel does not ask)\n"
                "  -h, --help    print this help\n",
                cmd,
                strcmp(cmd, "system prune") == 0
                    ? ", then every blob and unpacked layer that no image uses, and\n"
                      "what killed commands left on containers (a freeze or rootfs mount\n"
                      "whose holder died, the directory of a half-created or half-removed\n"
                      "container)"
                    : "");
}

static int prune(const char *cmd, bool sweep, int argc, char **argv)
{
        static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                             {"force", no_argument, NULL, 'f'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0}};
        bool all = false;
        int c;
        while ((c = getopt_long(argc, argv, ":afh", opts, NULL)) != -1) {
                switch (c) {
                case 'a':
                        all = true;
                        break;
                case 'f':
                        break;
                case 'h':
                        prune_usage(stdout, cmd);
                        return 0;
                default:
                        return vs_option_error(cmd, argv, c == ':');
                }
        }
        if (optind < argc)
                return vs_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
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

static int check(int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
        int c;
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
                if (c == 'h') {
                        system_usage(stdout);
                        return 0;
                }
                return vs_option_error("system check", argv, c == ':');
        }
        if (optind < argc)
                return vs_usage_error("system check", "unexpected argument '%s'", argv[optind]);
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

int cmd_system(int argc, char **argv)
{
        if (argc < 2) {
                system_usage(stderr);
                return 2;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                system_usage(stdout);
                return 0;
        }
        if (strcmp(argv[1], "check") == 0)
                return check(argc - 1, argv + 1);
        if (strcmp(argv[1], "prune") == 0)
                return prune("system prune", true, argc - 1, argv + 1);
        if (strcmp(argv[1], "config") == 0)
                return vs_cmd_system_config(argc - 1, argv + 1);
        if (strcmp(argv[1], "df") == 0)
                return vs_cmd_system_df(argc - 1, argv + 1);
        return vs_usage_error("system", "unknown command '%s' (check, prune, df or config)",
                              argv[1]);
}
