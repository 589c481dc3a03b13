/* vessel build / vessel builder prune: front ends over src/build. */
#include "build/build.h"
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "cmd/image_cmd.h"
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
        if (*v == '\0' || strcspn(v, "/ ") != strlen(v))
                return vs_fail(err,
                               "invalid value '%s' for --network: none, host, bridge or a "
                               "network's name",
                               v);
        *out = strcmp(v, "default") == 0 ? "none" : v;
        return 0;
}

static int parse_pull(const struct vs_option *opt, const char *v, vs_error **err)
{
        if (strcmp(v, "never") != 0 && strcmp(v, "missing") != 0 && strcmp(v, "always") != 0)
                return vs_fail(err, "invalid value '%s' for --pull: never, missing or always", v);
        *(const char **) opt->target = v;
        return 0;
}

/* "linux/<arch>[/variant]": only the host's platform (no emulation). */
static int parse_platform(const struct vs_option *opt, const char *v, vs_error **err)
{
        _cleanup_error_ vs_error *e = NULL;
        if (vs_build_platform_check(v, &e) < 0)
                return vs_fail(err, "invalid value '%s' for --platform: %s", v, e->msg);
        *(const char **) opt->target = v;
        return 0;
}

/* type=oci|docker,dest=F ("-": stdout), type=local,dest=DIR, or a bare DIR
 * (type=local, as Docker's -o DIR). */
static int parse_output(const struct vs_option *opt, const char *v, vs_error **err)
{
        struct vs_build_opts *o = opt->target;
        if (strchr(v, '=') == NULL && strchr(v, ',') == NULL) {
                if (strcmp(v, "-") == 0)
                        return vs_fail(err, "invalid value '-' for --output: use "
                                            "type=oci,dest=- or type=docker,dest=-");
                o->output = VS_BUILD_OUT_LOCAL;
                o->output_dest = v;
                return 0;
        }
        _cleanup_free_ char *copy = xstrdup(v);
        const char *type = NULL, *dest = NULL;
        char *save = NULL;
        for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
                if (strncmp(kv, "type=", 5) == 0)
                        type = v + (kv - copy) + 5;
                else if (strncmp(kv, "dest=", 5) == 0)
                        dest = v + (kv - copy) + 5;
                else
                        return vs_fail(err, "invalid value '%s' for --output: unknown key in '%s'",
                                       v, kv);
        }
        if (type == NULL || dest == NULL)
                return vs_fail(err, "invalid value '%s' for --output: type=...,dest=... needed", v);
        /* The values as pointers into v, which outlives the build. */
        size_t tl = strcspn(type, ","), dl = strcspn(dest, ",");
        if (dest[dl] != '\0')
                return vs_fail(err, "invalid value '%s' for --output: put dest= last", v);
        if (tl == 3 && strncmp(type, "oci", 3) == 0)
                o->output = VS_BUILD_OUT_OCI;
        else if (tl == 6 && strncmp(type, "docker", 6) == 0)
                o->output = VS_BUILD_OUT_DOCKER;
        else if (tl == 5 && strncmp(type, "local", 5) == 0)
                o->output = VS_BUILD_OUT_LOCAL;
        else
                return vs_fail(err, "invalid value '%s' for --output: type oci, docker or local",
                               v);
        if (o->output == VS_BUILD_OUT_LOCAL && strcmp(dest, "-") == 0)
                return vs_fail(err, "invalid value '%s' for --output: type=local needs a directory",
                               v);
        o->output_dest = dest;
        return 0;
}

int cmd_build(int argc, char **argv)
{
        struct vs_build_opts o = {
            .network = "none", .tty = isatty(2), .pull_image = vs_cmd_pull_for_run};
        /* Docker's `build --pull` is a bool (always pull); vessel's also takes
         * --pull=never|missing|always. A bare --pull means always. */
        for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
                if (strcmp(argv[i], "--pull") == 0)
                        argv[i] = (char *) "--pull=always";
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
            {"network", 0, VS_OPT_CALLBACK, &o.network, "MODE",
             "none (default), host, bridge or a network's name, for RUN", parse_network},
            {"platform", 0, VS_OPT_CALLBACK, &o.platform, "OS/ARCH",
             "the target platform: only the host's (linux/<its arch>)", parse_platform},
            {"pull", 0, VS_OPT_CALLBACK, &o.pull, "POLICY",
             "base images: missing (default), always (also a bare --pull) or never", parse_pull},
            {"output", 'o', VS_OPT_CALLBACK, &o, "type=oci|docker|local,dest=F",
             "also write the result as an archive (dest=- : stdout) or a directory", parse_output},
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
        /* With the archive on stdout the id goes to stderr (as --iidfile can). */
        fprintf(o.output_dest && strcmp(o.output_dest, "-") == 0 ? stderr : stdout, "%s\n", id);
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
