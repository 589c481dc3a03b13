/* vessel exec / cp / commit. */
#include "cmd/cmd.h"
#include "cmd/engine_cmd.h"
#include "cmd/options.h"
#include "engine/engine.h"
#include "vm/vm.h"
#include "oci/config.h"
#include "runtime/container.h"
#include "runtime/foreground.h"
#include "util/cleanup.h"
#include "util/exitcode.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
        /* Docker's exec -u keeps the container's --group-add groups. */
        if (vs_user_add_groups(rootfd, c->hc.group_add, &u, err) < 0) {
                vs_user_clear(&u);
                return -1;
        }
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

/* -e KEY=VALUE, or KEY alone: ours, when we have it. */
static int add_env(const struct vs_option *o, const char *v, vs_error **err)
{
        if (v[0] == '=' || v[0] == '\0')
                return vs_fail(err, "invalid value '%s' for --%s: not a variable", v, o->name);
        if (strchr(v, '=')) {
                strv_push(o->target, v);
        } else if (getenv(v)) {
                _cleanup_free_ char *kv = xasprintf("%s=%s", v, getenv(v));
                strv_push(o->target, kv);
        }
        return 0;
}

static int set_workdir(const struct vs_option *o, const char *v, vs_error **err)
{
        if (v[0] != '/')
                return vs_fail(err, "invalid value '%s' for --%s: not absolute", v, o->name);
        *(const char **) o->target = v;
        return 0;
}

/* exec -d. Docker's daemon writes exec_die when a detached exec ends;
 * only the process's parent learns its exit code, and the command exits
 * at once. So a waiter, forked here in a session of its own, runs the
 * exec in the foreground (vs_container_exec makes its caller the
 * process's parent), tells the command once the process has started (or
 * why it could not), and writes exec_die when it ends. */
static void waiter_started(void *arg, pid_t pid)
{
        int *fd = arg;
        (void) pid;
        if (vs_write_all(*fd, "S", 1) < 0)
                vs_debug("exec: the command is gone before the process started");
        close(*fd);
        *fd = -1;
}

/* The fds the command's caller gave it (beyond stdio): the ones without
 * FD_CLOEXEC, as vessel opens all of its own with it. A waiter keeps none
 * (a caller reading a pipe to its end must not wait for the process). */
static void close_inherited_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        if (d == NULL)
                return;
        for (struct dirent *de; (de = readdir(d));) {
                int fd = atoi(de->d_name);
                if (fd > 2 && fd != dirfd(d) && !(fcntl(fd, F_GETFD) & FD_CLOEXEC))
                        close(fd);
        }
        closedir(d);
}

static _Noreturn void waiter_main(struct vs_engine *e, const struct vs_ctr *ct,
                                  const struct vs_exec_opts *o, const char *exec_id, int fd)
{
        setsid();
        close_inherited_fds();
        struct vs_exec_opts wo = *o;
        wo.detach = false;
        wo.started = waiter_started;
        wo.started_arg = &fd;
        int status = 0;
        vs_error *err = NULL;
        int r = vs_container_exec(&wo, &status, &err);
        if (fd >= 0) { /* it never started: "ERRNO MESSAGE" for the command */
                _cleanup_free_ char *msg =
                    xasprintf("%d %s", err ? err->errno_ : 0,
                              err ? err->msg : "the process died before it started");
                if (vs_write_all(fd, msg, strlen(msg)) < 0)
                        vs_debug("exec: the command is gone: %s", msg);
                _exit(0);
        }
        char code[16];
        snprintf(code, sizeof(code), "%d", r < 0 ? 126 : status);
        vs_exec_event(e, ct, "exec_die", exec_id, NULL, code);
        vs_error_free(&err);
        _exit(0);
}

/* 0 once the waiter's process runs; -1 with its error. caller_fd (the
 * command's saved stderr, or -1) is not the waiter's to keep. */
static int exec_detached(struct vs_engine *e, const struct vs_ctr *ct, const struct vs_exec_opts *o,
                         const char *exec_id, int caller_fd, vs_error **err)
{
        int pp[2];
        if (pipe2(pp, O_CLOEXEC) < 0)
                return vs_fail_errno(err, "cannot create a pipe");
        fflush(NULL);
        pid_t w = fork();
        if (w < 0) {
                close(pp[0]);
                close(pp[1]);
                return vs_fail_errno(err, "cannot fork");
        }
        if (w == 0) {
                close(pp[0]);
                if (caller_fd >= 0)
                        close(caller_fd);
                waiter_main(e, ct, o, exec_id, pp[1]);
        }
        close(pp[1]);
        char buf[4096];
        size_t len = 0;
        /* Up to its end (an error), or the start's byte. */
        while (len < sizeof(buf) - 1 && !(len > 0 && buf[0] == 'S')) {
                ssize_t n = read(pp[0], buf + len, sizeof(buf) - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        close(pp[0]);
        buf[len] = '\0';
        if (len > 0 && buf[0] == 'S')
                return 0;
        char *msg = NULL;
        long code = strtol(buf, &msg, 10);
        vs_fail(err, "%s", len && *msg == ' ' ? msg + 1 : "the process died before it started");
        (*err)->errno_ = (int) code;
        return -1;
}

struct engine_exec_flags {
        bool detach, interactive, tty, privileged;
        const char *user, *workdir;
        char **envs;
};

static int exec_in(const struct engine_exec_flags *x, int argc, char **argv);

int cmd_engine_exec(int argc, char **argv)
{
        struct engine_exec_flags x = {0};
        const struct vs_option opts[] = {
            {"detach", 'd', VS_OPT_BOOL, &x.detach, NULL, "run in the background"},
            {"interactive", 'i', VS_OPT_BOOL, &x.interactive, NULL, "forward stdin"},
            {"tty", 't', VS_OPT_BOOL, &x.tty, NULL, "allocate a pseudo-terminal"},
            {"env", 'e', VS_OPT_CALLBACK, &x.envs, "KEY=VALUE", "set an environment variable",
             add_env},
            {"user", 'u', VS_OPT_STRING, &x.user, "USER[:GROUP]", "user (name or uid) and group"},
            {"workdir", 'w', VS_OPT_CALLBACK, &x.workdir, "DIR", "working directory", set_workdir},
            {"privileged", 0, VS_OPT_BOOL, &x.privileged},
            VS_DETACH_KEYS_OPTION,
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"exec", "[OPTIONS] CONTAINER COMMAND [ARG...]",
                                "Run a command in a running container; exit with its code.", opts};
        int first = vs_parse_options(&cl, argc, argv);
        int rc = first < 0 ? cl.status : exec_in(&x, argc - first, argv + first);
        strv_free(x.envs);
        return rc;
}

/* CONTAINER COMMAND [ARG...] */
static int exec_in(const struct engine_exec_flags *x, int argc, char **argv)
{
        bool detach = x->detach, interactive = x->interactive, tty = x->tty;
        const char *user = x->user, *workdir = x->workdir;
        char **envs = x->envs;
        if (x->privileged)
                return vs_usage_error("exec", "--privileged is not supported");
        if (argc < 2)
                return vs_usage_error("exec", "expected CONTAINER COMMAND [ARG...]");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ct = NULL;
        if (vs_cmd_running_ctr(argv[0], &e, &ct, &err) < 0)
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
        p->args = strv_copy(argv + 1);
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
        /* -it from a terminal: the detach keys leave the process running */
        vs_cmd_use_detach_keys(e);
        struct vs_detach_keys dk = {.keys = "\x10\x11", .n = 2};
        if (e->detach_keys_len) {
                memcpy(dk.keys, e->detach_keys, e->detach_keys_len);
                dk.n = e->detach_keys_len;
        }
        struct vs_exec_opts o = {.root = ct->runtime_root,
                                 .id = ct->id,
                                 .process = p,
                                 .detach = detach,
                                 .detach_keys = tty && interactive ? &dk : NULL};
        int status = 0;
        /* Docker's exec events: exec_create and exec_start name the
         * command; exec_die its exit code, written here when we waited,
         * by the waiter of -d when the process ends (exec_detached). A
         * process left running otherwise (a VM's -d, the detach keys) has
         * none: nothing is its parent any more. */
        _cleanup_free_ char *exec_id = vs_random_hex(32);
        vs_exec_event(e, ct, "exec_create", exec_id, p->args, NULL);
        vs_exec_event(e, ct, "exec_start", exec_id, p->args, NULL);
        int r = vmcfg    ? vs_vm_exec(e, ct, vmcfg, p, interactive, detach, &status, &err)
                : detach ? exec_detached(e, ct, &o, exec_id, saved_err, &err)
                         : vs_container_exec(&o, &status, &err);
        bool left_running = r == 0 && (detach || status == VS_FOREGROUND_DETACHED);
        if (!left_running) {
                char code[16];
                snprintf(code, sizeof(code), "%d", r < 0 ? 126 : status);
                vs_exec_event(e, ct, "exec_die", exec_id, NULL, code);
        }
        if (saved_err >= 0) {
                dup2(saved_err, STDERR_FILENO);
                close(saved_err);
        }
        if (devnull >= 0)
                close(devnull);
        oci_process_free(p);
        if (r < 0) {
                /* Docker's codes: 127 the command was not found, 126 it could
                 * not be run (for any other failure of the exec too). */
                int code = vs_exec_failure_code(err ? err->errno_ : 0) == 127 ? 127 : 126;
                vs_report_error(&err);
                return code;
        }
        if (status == VS_FOREGROUND_DETACHED) {
                fprintf(stderr, "read escape sequence\n");
                return 0;
        }
        rc = detach ? 0 : status;
        return rc;
}

int cmd_engine_cp(int argc, char **argv)
{
        const struct vs_option opts[] = {VS_OPT_TABLE_END};
        struct vs_cmdline cl = {"cp",
                                "CONTAINER:SRC HOSTDEST\n       vessel cp HOSTSRC CONTAINER:DEST",
                                "Copy files and directories between a container and the host.\n"
                                "Container paths resolve inside the container's root; symlinks\n"
                                "are copied as links. Volumes mounted in a running container\n"
                                "are not seen (its root filesystem is). Copies out of a\n"
                                "container belong to the caller, without set-id bits; device\n"
                                "nodes and sockets are never copied out (skipped with a\n"
                                "warning). A device or FIFO named as HOSTDEST is written in\n"
                                "place, never replaced. Copies into a container belong to root.",
                                opts};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (argc - first != 2)
                return vs_usage_error("cp", "expected SRC and DEST");
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0 ||
            vs_engine_cp(e, argv[first], argv[first + 1], &err) < 0)
                return vs_report_error(&err);
        return 0;
}

int cmd_engine_commit(int argc, char **argv)
{
        struct vs_commit_opts o = {.pause = true};
        _cleanup_strv_ char **changes = NULL;
        const struct vs_option opts[] = {
            {"author", 'a', VS_OPT_STRING, &o.author, "NAME", "author"},
            {"change", 'c', VS_OPT_LIST, &changes, "INSTR",
             "Dockerfile instruction to apply (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, "
             "USER, VOLUME, WORKDIR)"},
            {"message", 'm', VS_OPT_STRING, &o.message, "TEXT", "commit message"},
            {"pause", 'p', VS_OPT_BOOL, &o.pause, NULL,
             "pause a running container meanwhile (default true; --pause=false)"},
            VS_OPT_TABLE_END,
        };
        struct vs_cmdline cl = {"commit", "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
                                "Create an image from a container's changes; print its id.", opts};
        int first = vs_parse_options(&cl, argc, argv);
        if (first < 0)
                return cl.status;
        if (argc - first < 1 || argc - first > 2)
                return vs_usage_error("commit", "expected CONTAINER [REPOSITORY[:TAG]]");
        o.changes = changes;
        vs_error *err = NULL;
        _cleanup_engine_ struct vs_engine *e = NULL;
        _cleanup_ctr_ struct vs_ctr *ct = NULL;
        _cleanup_free_ char *id = NULL;
        if (vs_cmd_open_engine(&e, &err) < 0 || vs_ctr_resolve(e, argv[first], &ct, &err) < 0 ||
            vs_engine_commit(e, ct, argc - first == 2 ? argv[first + 1] : NULL, &o, &id, &err) < 0)
                return vs_report_error(&err);
        vs_ctr_event(e, ct, "commit", NULL, NULL);
        printf("%s\n", id);
        return 0;
}
