/* vessel pull, push, login, logout (registries: src/registry, and pull's
 * local sources: oci:, oci-archive:, docker-archive:). */
#include "cmd/image_cmd.h"
#include "cmd/options.h"
#include "engine/config.h"
#include "image/transfer.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

void vs_cmd_registry_opts(struct vs_registry_opts *o)
{
        const struct vs_config *cfg = vs_config_get();
        memset(o, 0, sizeof(*o));
        o->mirrors = cfg->registry_mirrors;
        o->insecure = cfg->insecure_registries;
}

/* "linux/amd64", "linux/arm/v7": os/arch[/variant]. */
static int set_platform(const struct vs_option *opt, const char *p, vs_error **err)
{
        const char *slash = strchr(p, '/');
        if (slash == NULL || slash == p || slash[1] == '\0' || slash[1] == '/' || strchr(p, ' '))
                return vs_fail(err,
                               "invalid value '%s' for --platform: os/arch[/variant], e.g. "
                               "linux/arm64",
                               p);
        *(const char **) opt->target = p;
        return 0;
}

/* Docker's pull event: Actor.ID the reference as given, with its tag
 * ("busybox:latest"), name the repository ("busybox"). */
static int pull_event(struct vs_store *s, const char *ref)
{
        _cleanup_free_ char *full = NULL;
        vs_error *e = NULL;
        if (vs_ref_normalize(ref, &full, &e) < 0) {
                vs_error_free(&e);
                full = xstrdup(ref);
        }
        _cleanup_free_ char *repo = xstrdup(full);
        char *at = strchr(repo, '@'), *slash = strrchr(repo, '/');
        char *colon = strrchr(slash ? slash : repo, ':');
        if (at)
                *at = '\0';
        else if (colon)
                *colon = '\0';
        vs_store_event(s, "pull", full, repo);
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
        if (builtin || !vs_ref_is_remote(ref)) {
                if (o->all_tags)
                        return vs_fail(err, "cannot pull %s: --all-tags is for registries", ref);
                return vs_image_pull(s, ref, out, err) < 0 ? -1 : pull_event(s, ref);
        }
        return vs_registry_pull(s, ref, o, out, err) < 0 ? -1 : pull_event(s, ref);
}

bool vs_cmd_image_missing(const vs_error *err)
{
        return err && err->errno_ == ENOENT && strncmp(err->msg, "image '", 7) == 0 &&
               strstr(err->msg, "' not found");
}

int vs_cmd_pull_for_create(struct vs_store *s, const char *image, bool missing, bool quiet,
                           vs_error **err)
{
        if (missing) {
                if (!vs_ref_is_remote(image))
                        return vs_fail(err, "image '%s' not found", image);
                if (!quiet)
                        fprintf(stderr, "Unable to find image '%s' locally\n", image);
        }
        struct vs_registry_opts o;
        vs_cmd_registry_opts(&o);
        if (!quiet)
                return vs_cmd_pull_image(s, image, &o, stderr, err);
        /* Docker discards the pull's progress: so does a memory stream */
        o.quiet = true;
        char *buf = NULL;
        size_t len = 0;
        FILE *sink = open_memstream(&buf, &len);
        if (!sink)
                return vs_fail_errno(err, "cannot open a memory stream");
        int r = vs_cmd_pull_image(s, image, &o, sink, err);
        fclose(sink);
        free(buf);
        return r;
}

int vs_cmd_pull_for_run(struct vs_store *s, const char *image, bool missing, vs_error **err)
{
        return vs_cmd_pull_for_create(s, image, missing, false, err);
}

int cmd_pull(int argc, char **argv)
{
        struct vs_registry_opts o;
        vs_cmd_registry_opts(&o);
        const struct vs_option opts[] = {
            {"all-tags", 'a', VS_OPT_BOOL, &o.all_tags, NULL,
             "every tag of the repository (NAME without a tag)"},
            {"platform", 0, VS_OPT_CALLBACK, &o.platform, "OS/ARCH[/VARIANT]",
             "the image of a multi-platform index to take (default: the host's)", set_platform},
            {"quiet", 'q', VS_OPT_BOOL, &o.quiet, NULL, "print only the image's name"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {
            "pull", "[OPTIONS] NAME[:TAG|@DIGEST] | SOURCE",
            "Copy an image into the store from a registry (docs/registries.md):\n"
            "  alpine, docker.io/library/alpine:3.19, localhost:5000/app@sha256:...\n"
            "or from:\n"
            "  oci:PATH[:REF]          an OCI image layout directory (REF: the\n"
            "                          org.opencontainers.image.ref.name of the image;\n"
            "                          optional when the layout holds one image)\n"
            "  oci-archive:FILE        as vessel load -i FILE\n"
            "  docker-archive:FILE     as vessel load -i FILE\n"
            "  busybox                 the built-in image, made from the host's\n"
            "                          busybox-static",
            opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (o.quiet)
                vs_progress_set_quiet(true);
        if (argc - first != 1)
                return vs_usage_error("pull", "expected one NAME or SOURCE");
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        if (vs_cmd_open_store(&s, &err) < 0 ||
            vs_cmd_pull_image(s, argv[first], &o, stdout, &err) < 0)
                return vs_report_error(&err);
        return 0;
}

int cmd_push(int argc, char **argv)
{
        struct vs_registry_opts o;
        vs_cmd_registry_opts(&o);
        const struct vs_option opts[] = {
            {"quiet", 'q', VS_OPT_BOOL, &o.quiet, NULL, "print only the pushed digest line"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"push", "[OPTIONS] NAME[:TAG]",
                                "Upload an image to the registry its name says "
                                "(docs/registries.md): the\nblobs the registry lacks, then the "
                                "manifest.",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (argc - first != 1)
                return vs_usage_error("push", "expected one NAME[:TAG]");
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_store_ struct vs_store *s = NULL;
        if (vs_cmd_open_store(&s, &err) < 0 ||
            vs_registry_push(s, argv[first], &o, stdout, &err) < 0)
                return vs_report_error(&err);
        vs_store_event(s, "push", argv[first], argv[first]);
        return 0;
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

/* Asks on the terminal that is standard input, as Docker does ("Username: ",
 * "Password: " on stdout); the password is read with echo off, which is
 * restored even when a signal ends the read. NULL at end of input. */
static char *prompt(const char *what, bool secret)
{
        struct termios saved, quiet;
        bool restore = false;
        sigset_t block, old;
        if (secret && tcgetattr(STDIN_FILENO, &saved) == 0) {
                quiet = saved;
                quiet.c_lflag &= ~(tcflag_t) ECHO;
                quiet.c_lflag |= ECHONL;
                /* ^C/^Z while echo is off would leave the terminal silent. */
                sigemptyset(&block);
                sigaddset(&block, SIGINT);
                sigaddset(&block, SIGTSTP);
                sigaddset(&block, SIGQUIT);
                sigprocmask(SIG_BLOCK, &block, &old);
                restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
                if (!restore)
                        sigprocmask(SIG_SETMASK, &old, NULL);
        }
        /* Asked once echo is off: what is typed after the prompt is kept. */
        fprintf(stdout, "%s: ", what);
        fflush(stdout);
        char *line = read_line(stdin);
        if (restore) {
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
                sigprocmask(SIG_SETMASK, &old, NULL);
        }
        return line;
}

int cmd_login(int argc, char **argv)
{
        const char *user = NULL, *pass_arg = NULL;
        bool from_stdin = false;
        const struct vs_option opts[] = {
            {"username", 'u', VS_OPT_STRING, &user, "USER",
             "the user name (asked for on a terminal when absent)"},
            {"password", 'p', VS_OPT_STRING, &pass_arg, "PASS",
             "the password (visible to other users: prefer --password-stdin)"},
            {"password-stdin", 0, VS_OPT_BOOL, &from_stdin, NULL,
             "read the password from standard input (without either: asked "
             "for on a terminal, not echoed)"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"login", "[OPTIONS] [SERVER]",
                                "Check credentials against a registry (default: Docker Hub) and "
                                "store them\nas Docker does ($DOCKER_CONFIG/config.json, else "
                                "~/.docker/config.json, or\nits credential helper).",
                                opts, VS_PARSE_INTERSPERSED};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (argc - first > 1)
                return vs_usage_error("login", "expected at most one SERVER");
        if (from_stdin && pass_arg)
                return vs_usage_error("login",
                                      "--password and --password-stdin exclude each other");
        /* Without a password (or user): asked on a terminal, as Docker does. */
        bool tty = isatty(STDIN_FILENO);
        bool ask_user = user == NULL || *user == '\0';
        if ((ask_user || (!from_stdin && pass_arg == NULL)) && !tty)
                return vs_usage_error("login",
                                      "cannot ask for a %s: standard input is not a terminal "
                                      "(use -u USER and --password-stdin)",
                                      ask_user ? "user name" : "password");
        if (ask_user && from_stdin)
                return vs_usage_error("login", "--password-stdin needs --username");
        _cleanup_free_ char *asked_user = NULL;
        if (ask_user) {
                asked_user = prompt("Username", false);
                if (asked_user == NULL || *asked_user == '\0')
                        return vs_usage_error("login", "no user name given");
                user = asked_user;
        }
        _cleanup_free_ char *password = pass_arg ? xstrdup(pass_arg) : NULL;
        if (from_stdin) {
                password = read_line(stdin);
                if (password == NULL)
                        return vs_usage_error("login", "no password on standard input");
        } else if (password == NULL) {
                password = prompt("Password", true);
                if (password == NULL || *password == '\0')
                        return vs_usage_error("login", "no password given");
        }
        struct vs_registry_opts o;
        vs_cmd_registry_opts(&o);
        _cleanup_error_ vs_error *err = NULL;
        int r =
            vs_registry_login(first < argc ? argv[first] : NULL, user, password, &o, stdout, &err);
        explicit_bzero(password, strlen(password));
        return r < 0 ? vs_report_error(&err) : 0;
}

int cmd_logout(int argc, char **argv)
{
        const struct vs_option opts[] = {VS_OPT_TABLE_END};
        struct vs_cmdline cl = {"logout", "[SERVER]",
                                "Remove the credentials stored for a registry (default: Docker "
                                "Hub).",
                                opts, 0};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (argc - first > 1)
                return vs_usage_error("logout", "expected at most one SERVER");
        _cleanup_error_ vs_error *err = NULL;
        if (vs_registry_logout(first < argc ? argv[first] : NULL, stdout, &err) < 0)
                return vs_report_error(&err);
        return 0;
}
