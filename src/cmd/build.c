/* vessel build / vessel builder prune: front ends over src/build. */
#include "build/build.h"
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "cmd/options.h"
#include "engine/engine.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse_progress(const struct vs_option *opt, const char *v, vs_error **err)
{
        bool *tty = opt->target;
        if (strcmp(v, "auto") == 0)
                *tty = isatty(2);
        else if (strcmp(v, "tty") == 0)
                *tty = true;
        else if (strcmp(v, "plain") == 0)
                *tty = false;
        else
                return vs_fail(err, "invalid value '%s' for --progress: auto, plain or tty", v);
        return 0;
}

static int parse_network(const struct vs_option *opt, const char *v, vs_error **err)
{
        const char **out = opt->target;
        if (strcmp(v, "none") != 0 && strcmp(v, "host") != 0 && strcmp(v, "default") != 0)
                return vs_fail(err, "invalid value '%s' for --network: none or host", v);
        *out = strcmp(v, "default") == 0 ? "none" : v;
        return 0;
}

int cmd_build(int argc, char **argv)
{
        struct vs_build_opts o = {.network = "none", .tty = isatty(2)};
        _cleanup_strv_ char **tags = NULL, **args = NULL, **labels = NULL, **secrets = NULL;
        const struct vs_option opts[] = {
            {"tag", 't', VS_OPT_LIST, &tags, "NAME[:TAG]", "name the result (repeatable)"},
            {"file", 'f', VS_OPT_STRING, &o.file, "FILE|-",
             "the Dockerfile (default CONTEXT/Dockerfile)"},
            {"build-arg", 0, VS_OPT_LIST, &args, "K[=V]", "set a build argument (repeatable)"},
            {"target", 0, VS_OPT_STRING, &o.target, "STAGE", "build up to this stage"},
            {"no-cache", 0, VS_OPT_BOOL, &o.no_cache, NULL, "ignore the build cache"},
            {"label", 0, VS_OPT_KV, &labels, "K=V", "add a label to the image (repeatable)"},
            {"quiet", 'q', VS_OPT_BOOL, &o.quiet, NULL, "print only the image id"},
            {"iidfile", 0, VS_OPT_STRING, &o.iidfile, "FILE", "write the image id to FILE"},
            {"progress", 0, VS_OPT_CALLBACK, &o.tty, "MODE", "auto, plain or tty", parse_progress},
            {"network", 0, VS_OPT_CALLBACK, &o.network, "MODE", "none (default) or host, for RUN",
             parse_network},
            {"secret", 0, VS_OPT_LIST, &secrets, "id=X,src=F",
             "a secret for RUN --mount=type=secret,id=X"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"build", "[OPTIONS] CONTEXT|-",
                                "Build an image from a Dockerfile; print its id.", opts,
                                VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        for (size_t i = 0; secrets && secrets[i]; i++)
                if (strstr(secrets[i], "id=") == NULL)
                        return vs_usage_error("build", "--secret: expected id=X,src=FILE, not '%s'",
                                              secrets[i]);
        if (argc - first != 1)
                return vs_usage_error("build", "expected one CONTEXT (a directory, or - for a tar "
                                               "on stdin)");
        o.context = argv[first];
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

int cmd_builder_prune(int argc, char **argv)
{
        const struct vs_option opts[] = {VS_OPT_TABLE_END};
        struct vs_cmdline cl = {"builder prune", "",
                                "Remove build cache entries that no named image uses.", opts, 0};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (first != argc)
                return vs_usage_error("builder prune", "takes no arguments");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        size_t removed = 0;
        if (vs_cmd_open_engine(&e, &err) < 0 || vs_builder_prune(e, &removed, &err) < 0)
                return vs_report_error(&err);
        printf("Removed %zu build cache entries\n", removed);
        return 0;
}
