/* vessel build / vessel builder prune: front ends over src/build. */
#include "build/build.h"
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "engine/engine.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse_progress(const char *v, bool *tty)
{
        if (strcmp(v, "auto") == 0)
                *tty = isatty(2);
        else if (strcmp(v, "tty") == 0)
                *tty = true;
        else if (strcmp(v, "plain") == 0)
                *tty = false;
        else
                return vs_usage_error("build", "--progress: auto, plain or tty, not '%s'", v);
        return 0;
}

static int parse_network(const char *v, const char **out)
{
        if (strcmp(v, "none") != 0 && strcmp(v, "host") != 0 && strcmp(v, "default") != 0)
                return vs_usage_error("build", "--network: none or host, not '%s'", v);
        *out = strcmp(v, "default") == 0 ? "none" : v;
        return 0;
}

static void build_usage(void)
{
        printf("Usage: vessel build [OPTIONS] CONTEXT|-\n\n"
               "Build an image from a Dockerfile; print its id.\n\n"
               "  -t, --tag NAME[:TAG]     name the result (repeatable)\n"
               "  -f, --file FILE|-        the Dockerfile (default CONTEXT/Dockerfile)\n"
               "      --build-arg K[=V]    set a build argument (repeatable)\n"
               "      --target STAGE       build up to this stage\n"
               "      --no-cache           ignore the build cache\n"
               "      --label K=V          add a label to the image (repeatable)\n"
               "  -q, --quiet              print only the image id\n"
               "      --iidfile FILE       write the image id to FILE\n"
               "      --progress MODE      auto, plain or tty\n"
               "      --network MODE       none (default) or host, for RUN\n"
               "      --secret id=X,src=F  a secret for RUN --mount=type=secret,id=X\n");
}

int cmd_build(int argc, char **argv)
{
        static const struct option opts[] = {
            {"tag", required_argument, NULL, 't'},
            {"file", required_argument, NULL, 'f'},
            {"build-arg", required_argument, NULL, 'A'},
            {"target", required_argument, NULL, 'T'},
            {"no-cache", no_argument, NULL, 'N'},
            {"label", required_argument, NULL, 'L'},
            {"quiet", no_argument, NULL, 'q'},
            {"iidfile", required_argument, NULL, 'I'},
            {"progress", required_argument, NULL, 'P'},
            {"network", required_argument, NULL, 'n'},
            {"secret", required_argument, NULL, 'S'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        struct vs_build_opts o = {.network = "none", .tty = isatty(2)};
        _cleanup_strv_ char **tags = NULL, **args = NULL, **labels = NULL, **secrets = NULL;
        int c, rc;
        optind = 1;
        while ((c = getopt_long(argc, argv, "+t:f:qh", opts, NULL)) != -1) {
                switch (c) {
                case 't':
                        strv_push(&tags, optarg);
                        break;
                case 'f':
                        o.file = optarg;
                        break;
                case 'A':
                        strv_push(&args, optarg);
                        break;
                case 'T':
                        o.target = optarg;
                        break;
                case 'N':
                        o.no_cache = true;
                        break;
                case 'L':
                        if (strchr(optarg, '=') == NULL)
                                return vs_usage_error("build", "--label: expected K=V, not '%s'",
                                                      optarg);
                        strv_push(&labels, optarg);
                        break;
                case 'S':
                        if (strstr(optarg, "id=") == NULL)
                                return vs_usage_error("build",
                                                      "--secret: expected id=X,src=FILE, "
                                                      "not '%s'",
                                                      optarg);
                        strv_push(&secrets, optarg);
                        break;
                case 'q':
                        o.quiet = true;
                        break;
                case 'I':
                        o.iidfile = optarg;
                        break;
                case 'P':
                        if ((rc = parse_progress(optarg, &o.tty)) != 0)
                                return rc;
                        break;
                case 'n':
                        if ((rc = parse_network(optarg, &o.network)) != 0)
                                return rc;
                        break;
                case 'h':
                        build_usage();
                        return 0;
                default:
                        return vs_option_error("build", argv, c == ':');
                }
        }
        if (argc - optind != 1)
                return vs_usage_error("build", "expected one CONTEXT (a directory, or - for a tar "
                                               "on stdin)");
        o.context = argv[optind];
        o.tags = tags;
        o.build_args = args;
        o.labels = labels;
        o.secrets = secrets;
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_free_ char *id = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0 || vs_build(e, &o, &id, &err) < 0)
                return vs_report_error(&err);
        printf("%s\n", id);
        return 0;
}

int cmd_builder(int argc, char **argv)
{
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                printf("Usage: vessel builder prune\n\n"
                       "Remove build cache entries that no named image uses.\n");
                return argc < 2 ? 125 : 0;
        }
        if (strcmp(argv[1], "prune") != 0)
                return vs_usage_error("builder", "unknown subcommand '%s' (prune)", argv[1]);
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        size_t removed = 0;
        if (vs_cmd_open_engine(&e, &err) < 0 || vs_builder_prune(e, &removed, &err) < 0)
                return vs_report_error(&err);
        printf("Removed %zu build cache entries\n", removed);
        return 0;
}
