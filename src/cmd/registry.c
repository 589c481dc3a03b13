/* vessel pull, push, login, logout (registries: src/registry, and pull's
 * local sources: oci:, oci-archive:, docker-archive:). */
#include "cmd/image_cmd.h"
#include "engine/config.h"
#include "image/transfer.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void vs_cmd_registry_opts(struct vs_registry_opts *o)
{
        const struct vs_config *cfg = vs_config_get();
        memset(o, 0, sizeof(*o));
        o->mirrors = cfg->registry_mirrors;
        o->insecure = cfg->insecure_registries;
}

/* "linux/amd64", "linux/arm/v7": os/arch[/variant]. */
static int check_platform(const char *p)
{
        const char *slash = strchr(p, '/');
        if (slash == NULL || slash == p || slash[1] == '\0' || slash[1] == '/' || strchr(p, ' ')) {
                return vs_usage_error("pull",
                                      "invalid --platform '%s' (os/arch[/variant], e.g. "
                                      "linux/arm64)",
                                      p);
        }
        return 0;
}

int vs_cmd_pull_image(struct vs_store *s, const char *ref, const struct vs_registry_opts *o,
                      FILE *out, vs_error **err)
{
        /* "busybox" is the built-in image; local transports are the store's. */
        _cleanup_free_ char *name = NULL;
        vs_error *e = NULL;
        bool builtin = vs_ref_normalize(ref, &name, &e) == 0 && strcmp(name, "busybox:latest") == 0;
        vs_error_free(&e);
        if (builtin || !vs_ref_is_remote(ref))
                return vs_image_pull(s, ref, out, err);
        return vs_registry_pull(s, ref, o, out, err);
}

int vs_cmd_pull_policy_check(const char *cmd, const char *policy)
{
        if (strcmp(policy, "missing") && strcmp(policy, "always") && strcmp(policy, "never"))
                return vs_usage_error(cmd, "invalid --pull '%s' (missing, always or never)",
                                      policy);
        return 0;
}

bool vs_cmd_image_missing(const vs_error *err)
{
        return err && err->errno_ == ENOENT && strncmp(err->msg, "image '", 7) == 0 &&
               strstr(err->msg, "' not found");
}

int vs_cmd_pull_for_run(struct vs_store *s, const char *image, bool missing, vs_error **err)
{
        if (missing) {
                if (!vs_ref_is_remote(image))
                        return vs_fail(err, "image '%s' not found", image);
                fprintf(stderr, "Unable to find image '%s' locally\n", image);
        }
        struct vs_registry_opts o;
        vs_cmd_registry_opts(&o);
        return vs_cmd_pull_image(s, image, &o, stderr, err);
}

static void pull_usage(FILE *f)
{
        fprintf(f, "Usage: vessel pull [OPTIONS] NAME[:TAG|@DIGEST] | SOURCE\n\n"
                   "Copy an image into the store from a registry (docs/registries.md):\n"
                   "  alpine, docker.io/library/alpine:3.19, localhost:5000/app@sha256:...\n"
                   "or from:\n"
                   "  oci:PATH[:REF]          an OCI image layout directory (REF: the\n"
                   "                          org.opencontainers.image.ref.name of the image;\n"
                   "                          optional when the layout holds one image)\n"
                   "  oci-archive:FILE        as vessel load -i FILE\n"
                   "  docker-archive:FILE     as vessel load -i FILE\n"
                   "  busybox                 the built-in image, made from the host's\n"
                   "                          busybox-static\n\n"
                   "Options:\n"
                   "      --platform OS/ARCH[/VARIANT]  the image of a multi-platform index to\n"
                   "                                    take (default: the host's)\n"
                   "  -q, --quiet                       print only the image's name\n"
                   "  -h, --help                        print this help\n");
}

int cmd_pull(int argc, char **argv)
{
        enum { OPT_PLATFORM = 256 };
        static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
                                             {"platform", required_argument, NULL, OPT_PLATFORM},
                                             {"help", no_argument, NULL, 'h'},
                                             {0}};
        struct vs_registry_opts o;
        vs_cmd_registry_opts(&o);
        int c;
        while ((c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
                switch (c) {
                case 'q':
                        o.quiet = true;
                        vs_progress_set_quiet(true);
                        break;
                case OPT_PLATFORM:
                        if (check_platform(optarg) != 0)
                                return 2;
                        o.platform = optarg;
                        break;
                case 'h':
                        pull_usage(stdout);
                        return 0;
                default:
                        return vs_option_error("pull", argv, c == ':');
                }
        }
        if (argc - optind != 1)
                return vs_usage_error("pull", "expected one NAME or SOURCE");
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        if (vs_cmd_open_store(&s, &err) < 0 ||
            vs_cmd_pull_image(s, argv[optind], &o, stdout, &err) < 0)
                return vs_report_error(&err);
        return 0;
}

static void push_usage(FILE *f)
{
        fprintf(f, "Usage: vessel push [OPTIONS] NAME[:TAG]\n\n"
                   "Upload an image to the registry its name says (docs/registries.md): the\n"
                   "blobs the registry lacks, then the manifest.\n\n"
                   "Options:\n"
                   "  -q, --quiet   print only the pushed digest line\n"
                   "  -h, --help    print this help\n");
}

int cmd_push(int argc, char **argv)
{
        static const struct option opts[] = {
            {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'}, {0}};
        struct vs_registry_opts o;
        vs_cmd_registry_opts(&o);
        int c;
        while ((c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
                if (c == 'q') {
                        o.quiet = true;
                        continue;
                }
                if (c == 'h') {
                        push_usage(stdout);
                        return 0;
                }
                return vs_option_error("push", argv, c == ':');
        }
        if (argc - optind != 1)
                return vs_usage_error("push", "expected one NAME[:TAG]");
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        if (vs_cmd_open_store(&s, &err) < 0 ||
            vs_registry_push(s, argv[optind], &o, stdout, &err) < 0)
                return vs_report_error(&err);
        return 0;
}

static void login_usage(FILE *f)
{
        fprintf(f, "Usage: vessel login [OPTIONS] [SERVER]\n\n"
                   "Check credentials against a registry (default: Docker Hub) and store them\n"
                   "as Docker does ($DOCKER_CONFIG/config.json, else ~/.docker/config.json, or\n"
                   "its credential helper).\n\n"
                   "Options:\n"
                   "  -u, --username USER     the user name\n"
                   "  -p, --password PASS     the password (visible to other users: prefer\n"
                   "                          --password-stdin)\n"
                   "      --password-stdin    read the password from standard input\n"
                   "  -h, --help              print this help\n");
}

/* One line of standard input, without its newline. */
static char *read_line(FILE *in)
{
        char *line = NULL;
        size_t cap = 0;
        ssize_t n = getline(&line, &cap, in);
        if (n < 0) {
                free(line);
                return NULL;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = '\0';
        return line;
}

int cmd_login(int argc, char **argv)
{
        enum { OPT_STDIN = 256 };
        static const struct option opts[] = {{"username", required_argument, NULL, 'u'},
                                             {"password", required_argument, NULL, 'p'},
                                             {"password-stdin", no_argument, NULL, OPT_STDIN},
                                             {"help", no_argument, NULL, 'h'},
                                             {0}};
        const char *user = NULL;
        _cleanup_free_ char *password = NULL;
        bool from_stdin = false;
        int c;
        while ((c = getopt_long(argc, argv, ":u:p:h", opts, NULL)) != -1) {
                switch (c) {
                case 'u':
                        user = optarg;
                        break;
                case 'p':
                        free(password);
                        password = xstrdup(optarg);
                        break;
                case OPT_STDIN:
                        from_stdin = true;
                        break;
                case 'h':
                        login_usage(stdout);
                        return 0;
                default:
                        return vs_option_error("login", argv, c == ':');
                }
        }
        if (argc - optind > 1)
                return vs_usage_error("login", "expected at most one SERVER");
        if (from_stdin && password)
                return vs_usage_error("login",
                                      "--password and --password-stdin exclude each other");
        if (user == NULL || *user == '\0')
                return vs_usage_error("login", "missing --username (vessel asks for nothing)");
        if (from_stdin) {
                password = read_line(stdin);
                if (password == NULL)
                        return vs_usage_error("login", "no password on standard input");
        }
        if (password == NULL)
                return vs_usage_error("login", "missing --password-stdin (or --password)");
        struct vs_registry_opts o;
        vs_cmd_registry_opts(&o);
        _cleanup_error_ vs_error *err = NULL;
        int r = vs_registry_login(optind < argc ? argv[optind] : NULL, user, password, &o, stdout,
                                  &err);
        explicit_bzero(password, strlen(password));
        return r < 0 ? vs_report_error(&err) : 0;
}

int cmd_logout(int argc, char **argv)
{
        if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
                printf("Usage: vessel logout [SERVER]\n\nRemove the credentials stored for a "
                       "registry (default: Docker Hub).\n");
                return 0;
        }
        if (argc > 2)
                return vs_usage_error("logout", "expected at most one SERVER");
        _cleanup_error_ vs_error *err = NULL;
        if (vs_registry_logout(argc > 1 ? argv[1] : NULL, stdout, &err) < 0)
                return vs_report_error(&err);
        return 0;
}
