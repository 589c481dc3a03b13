/* vessel exec / cp / commit. */
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "engine/engine.h"
#include "vm/vm.h"
#include "oci/config.h"
#include "runtime/container.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static bool env_has(char **env, const char *key)
{
        size_t n = strlen(key);
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], key, n) == 0 && env[i][n] == '=')
                        return true;
        return false;
}

/* -u: the user resolved in the container's own /etc/passwd, through the
 * init's root (a VM container's: the rootfs the engine shares with it). */
static int set_user(const struct vs_ctr *c, struct oci_process *p, const char *spec, vs_error **err)
{
        _cleanup_free_ char *path = vs_ctr_is_vm(c) ? xasprintf("%s/rootfs", c->dir)
                                                    : xasprintf("/proc/%d/root", c->state.pid);
        _cleanup_close_ int rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return vs_fail_errno(err, "cannot open the root of container %s", c->name);
        struct vs_user u;
        if (vs_resolve_user(rootfd, spec, &u, err) < 0)
                return vs_error_wrap(err, "--user");
        p->user.uid = u.uid;
        p->user.gid = u.gid;
        free(p->user.additional_gids);
        p->user.additional_gids = u.n_gids ? xcalloc(u.n_gids, sizeof(uint32_t)) : NULL;
        if (u.n_gids)
                memcpy(p->user.additional_gids, u.gids, u.n_gids * sizeof(uint32_t));
        p->user.n_additional_gids = u.n_gids;
        _cleanup_free_ char *home = xasprintf("HOME=%s", u.home);
        strv_env_set(&p->env, home);
        vs_user_clear(&u);
        return 0;
}

int cmd_engine_exec(int argc, char **argv)
{
        static const struct option opts[] = {
            {"detach", no_argument, NULL, 'd'},
            {"interactive", no_argument, NULL, 'i'},
            {"tty", no_argument, NULL, 't'},
            {"env", required_argument, NULL, 'e'},
            {"user", required_argument, NULL, 'u'},
            {"workdir", required_argument, NULL, 'w'},
            {"privileged", no_argument, NULL, 'P'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        bool detach = false, interactive = false, tty = false;
        const char *user = NULL, *workdir = NULL;
        _cleanup_strv_ char **envs = NULL;
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:dite:u:w:h", opts, NULL)) != -1) {
                switch (c) {
                case 'd':
                        detach = true;
                        break;
                case 'i':
                        interactive = true;
                        break;
                case 't':
                        tty = true;
                        break;
                case 'e':
                        if (optarg[0] == '=' || optarg[0] == '\0')
                                return vs_usage_error("exec", "--env: invalid variable '%s'",
                                                      optarg);
                        if (strchr(optarg, '=')) {
                                strv_push(&envs, optarg);
                        } else if (getenv(optarg)) {
                                _cleanup_free_ char *kv =
                                    xasprintf("%s=%s", optarg, getenv(optarg));
                                strv_push(&envs, kv);
                        }
                        break;
                case 'u':
                        user = optarg;
                        break;
                case 'w':
                        if (optarg[0] != '/')
                                return vs_usage_error("exec", "--workdir: '%s' is not absolute",
                                                      optarg);
                        workdir = optarg;
                        break;
                case 'P':
                        return vs_usage_error("exec", "--privileged is not supported");
                case 'h':
                        printf("Usage: vessel exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\n"
                               "Run a command in a running container; exit with its code.\n\n"
                               "  -d, --detach          run in the background\n"
                               "  -i, --interactive     forward stdin\n"
                               "  -t, --tty             allocate a pseudo-terminal\n"
                               "  -e, --env KEY=VALUE   set an environment variable\n"
                               "  -u, --user USER[:GROUP]  user (name or uid) and group\n"
                               "  -w, --workdir DIR     working directory\n");
                        return 0;
                default:
                        return vs_option_error("exec", argv, c == ':');
                }
        }
        if (argc - optind < 2)
                return vs_usage_error("exec", "expected CONTAINER COMMAND [ARG...]");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ct = NULL;
        if (vs_cmd_running_ctr(argv[optind], &e, &ct, &err) < 0)
                return vs_report_error(&err);
        if (ct->state.paused) {
                vs_fail(&err, "container %s is paused: unpause it first", ct->name);
                return vs_report_error(&err);
        }
        struct oci_process *p = NULL;
        /* A VM container has no runtime container: its process comes from
         * the bundle's config, and the session goes to its VM launcher. */
        _cleanup_config_ struct oci_config *vmcfg = NULL;
        if (vs_ctr_is_vm(ct)) {
                if (oci_config_load(ct->dir, &vmcfg, &err) < 0)
                        return vs_report_error(&err);
                p = steal_ptr(vmcfg->process);
        } else if (vs_container_process(ct->runtime_root, ct->id, &p, &err) < 0) {
                return vs_report_error(&err);
        }
        strv_free(p->args);
        p->args = strv_copy(argv + optind + 1);
        p->terminal = tty;
        p->has_console_size = false;
        if (tty && isatty(STDIN_FILENO)) {
                struct winsize ws;
                if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row) {
                        p->has_console_size = true;
                        p->console_height = ws.ws_row;
                        p->console_width = ws.ws_col;
                }
        }
        if (tty && !env_has(p->env, "TERM"))
                strv_env_set(&p->env, "TERM=xterm");
        for (size_t i = 0; envs && envs[i]; i++)
                strv_env_set(&p->env, envs[i]);
        if (workdir) {
                free(p->cwd);
                p->cwd = xstrdup(workdir);
        }
        int rc = 0;
        if (user && set_user(ct, p, user, &err) < 0) {
                oci_process_free(p);
                return vs_report_error(&err);
        }
        if (tty && detach) {
                oci_process_free(p);
                return vs_usage_error("exec", "--tty with --detach is not supported");
        }
        /* The process inherits our stdio: /dev/null for what it must not
         * have (stdin without -i; everything with -d). */
        int saved_err = -1;
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (!interactive && devnull >= 0)
                dup2(devnull, STDIN_FILENO);
        if (detach && devnull >= 0) {
                fflush(stdout);
                saved_err = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
                dup2(devnull, STDOUT_FILENO);
                dup2(devnull, STDERR_FILENO);
        }
        struct vs_exec_opts o = {
            .root = ct->runtime_root, .id = ct->id, .process = p, .detach = detach};
        int status = 0;
        int r = vmcfg ? vs_vm_exec(e, ct, vmcfg, p, interactive, detach, &status, &err)
                      : vs_container_exec(&o, &status, &err);
        if (saved_err >= 0) {
                dup2(saved_err, STDERR_FILENO);
                close(saved_err);
        }
        if (devnull >= 0)
                close(devnull);
        oci_process_free(p);
        if (r < 0) {
                /* Docker's codes: 127 the command was not found, 126 it could
                 * not be run. */
                int code = err && err->errno_ == ENOENT ? 127 : 126;
                vs_report_error(&err);
                return code;
        }
        rc = detach ? 0 : status;
        return rc;
}

int cmd_engine_cp(int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
                if (c == 'h') {
                        printf("Usage: vessel cp CONTAINER:SRC HOSTDEST\n"
                               "       vessel cp HOSTSRC CONTAINER:DEST\n\n"
                               "Copy files and directories between a container and the host.\n"
                               "Container paths resolve inside the container's root; symlinks\n"
                               "are copied as links. Volumes mounted in a running container\n"
                               "are not seen (its root filesystem is). Copies out of a\n"
                               "container belong to the caller, without set-id bits; device\n"
                               "nodes and sockets are never copied out (skipped with a\n"
                               "warning). A device or FIFO named as HOSTDEST is written in\n"
                               "place, never replaced. Copies into a container belong to root.\n");
                        return 0;
                }
                return vs_option_error("cp", argv, c == ':');
        }
        if (argc - optind != 2)
                return vs_usage_error("cp", "expected SRC and DEST");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0 ||
            vs_engine_cp(e, argv[optind], argv[optind + 1], &err) < 0)
                return vs_report_error(&err);
        return 0;
}

int cmd_engine_commit(int argc, char **argv)
{
        static const struct option opts[] = {
            {"author", required_argument, NULL, 'a'},  {"change", required_argument, NULL, 'c'},
            {"message", required_argument, NULL, 'm'}, {"pause", optional_argument, NULL, 'p'},
            {"help", no_argument, NULL, 'h'},          {0},
        };
        struct vs_commit_opts o = {.pause = true};
        _cleanup_strv_ char **changes = NULL;
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:a:c:m:ph", opts, NULL)) != -1) {
                switch (c) {
                case 'a':
                        o.author = optarg;
                        break;
                case 'c':
                        strv_push(&changes, optarg);
                        break;
                case 'm':
                        o.message = optarg;
                        break;
                case 'p':
                        if (optarg == NULL || strcmp(optarg, "true") == 0)
                                o.pause = true;
                        else if (strcmp(optarg, "false") == 0)
                                o.pause = false;
                        else
                                return vs_usage_error("commit", "--pause: true or false");
                        break;
                case 'h':
                        printf("Usage: vessel commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]\n\n"
                               "Create an image from a container's changes; print its id.\n\n"
                               "  -a, --author NAME      author\n"
                               "  -c, --change INSTR     Dockerfile instruction to apply\n"
                               "                         (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,\n"
                               "                         STOPSIGNAL, USER, VOLUME, WORKDIR)\n"
                               "  -m, --message TEXT     commit message\n"
                               "  -p, --pause=true|false pause a running container meanwhile "
                               "(default true)\n");
                        return 0;
                default:
                        return vs_option_error("commit", argv, c == ':');
                }
        }
        if (argc - optind < 1 || argc - optind > 2)
                return vs_usage_error("commit", "expected CONTAINER [REPOSITORY[:TAG]]");
        o.changes = changes;
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ct = NULL;
        _cleanup_free_ char *id = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0 || vs_ctr_resolve(e, argv[optind], &ct, &err) < 0 ||
            vs_engine_commit(e, ct, argc - optind == 2 ? argv[optind + 1] : NULL, &o, &id, &err) <
                0)
                return vs_report_error(&err);
        printf("%s\n", id);
        return 0;
}
