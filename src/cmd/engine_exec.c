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
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
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

/* The waiter. Docker's daemon writes exec_die when an exec ends, also one
 * left running (exec -d, or detached by the keys of exec -it); only a
 * process's parent learns its exit code, and the command exits before it
 * ends. So the command forks a waiter, which runs the exec in the
 * foreground (vs_container_exec makes its caller the process's parent)
 * and writes exec_die when it ends. It tells the command over a pipe:
 *   S                  started (-d: the command's answer; the pipe closes)
 *   E<errno> <text>    it could not start (no exec_die: the command's)
 *   X<code>            exec -it: it ended, exec_die written
 *   D                  exec -it: detached by the keys; it runs on */
struct waiter {
        int fd;       /* to the command; -1 once closed */
        bool session; /* exec -it: on the command's terminal until detached */
        pid_t pid;    /* the process, once started */
        pid_t command;
};

static void tell(struct waiter *w, const char *msg, bool last)
{
        if (w->fd < 0)
                return;
        if (vs_write_all(w->fd, msg, strlen(msg)) < 0)
                vs_debug("exec: the command is gone before the waiter's %c", msg[0]);
        if (last) {
                close(w->fd);
                w->fd = -1;
        }
}

static void waiter_started(void *arg, pid_t pid)
{
        struct waiter *w = arg;
        w->pid = pid;
        tell(w, "S", !w->session);
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

/* Off the command's terminal and out of its session: a process of its own. */
static void leave_caller(void)
{
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int fd = 0; null >= 0 && fd < 3; fd++)
                dup2(null, fd);
        if (null > 2)
                close(null);
        setsid();
}

static _Noreturn void waiter_main(struct vs_engine *e, const struct vs_ctr *ct,
                                  const struct vs_exec_opts *o, const char *exec_id,
                                  struct waiter *w)
{
        /* On the terminal, the command's death is its hangup (the waiter
         * forwards the SIGHUP to the process): no waiter goes on reading
         * a terminal its shell has taken back. Until the detach. */
        if (w->session && (prctl(PR_SET_PDEATHSIG, SIGHUP) < 0 || getppid() != w->command))
                raise(SIGHUP);
        if (!w->session)
                leave_caller();
        close_inherited_fds();
        struct vs_exec_opts wo = *o;
        wo.detach = false;
        wo.started = waiter_started;
        wo.started_arg = w;
        int status = 0;
        vs_error *err = NULL;
        int r = vs_container_exec(&wo, &status, &err);
        if (w->pid == 0) {
                _cleanup_free_ char *msg =
                    xasprintf("E%d %s", err ? err->errno_ : 0,
                              err ? err->msg : "the process died before it started");
                tell(w, msg, true);
                _exit(0);
        }
        if (r == 0 && status == VS_FOREGROUND_DETACHED) {
                /* Out of the command's session before it hears D: the
                 * command leads that session, and its exit hangs up the
                 * session's foreground group (SIGHUP), which the waiter
                 * still was in (a race the waiter lost 1 run in 3). */
                prctl(PR_SET_PDEATHSIG, 0);
                leave_caller();
                tell(w, "D", true);
                int st = 0;
                while ((r = waitpid(w->pid, &st, 0)) < 0 && errno == EINTR)
                        ;
                status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        char code[16];
        snprintf(code, sizeof(code), "%d", r < 0 ? 126 : status);
        vs_exec_event(e, ct, "exec_die", exec_id, NULL, code);
        char msg[20];
        snprintf(msg, sizeof(msg), "X%s", code);
        tell(w, msg, true);
        vs_error_free(&err);
        _exit(0);
}

/* The command's side, while the waiter tells: signals sent to the command
 * go to the waiter (which forwards them to the process), but SIGWINCH,
 * which the terminal sends the waiter too. Returns what it told. */
static char *hear_waiter(int fd, pid_t w, bool session)
{
        sigset_t sigs, old;
        vs_foreground_signals(&sigs);
        if (session)
                sigprocmask(SIG_BLOCK, &sigs, &old);
        _cleanup_close_ int sfd = session ? signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK) : -1;
        char *buf = xmalloc(4096);
        size_t len = 0;
        /* -d: up to the start's letter; else up to the end */
        while (len < 4095 && (session || len == 0 || buf[0] != 'S')) {
                struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
                if (poll(p, 2, -1) < 0 && errno != EINTR)
                        break;
                struct signalfd_siginfo si;
                while (sfd >= 0 && read(sfd, &si, sizeof(si)) == sizeof(si))
                        if (si.ssi_signo != SIGCHLD && si.ssi_signo != SIGWINCH)
                                kill(w, (int) si.ssi_signo);
                if (!(p[0].revents & (POLLIN | POLLHUP)))
                        continue;
                ssize_t n = read(fd, buf + len, 4095 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        if (session)
                sigprocmask(SIG_SETMASK, &old, NULL);
        return buf;
}

/* Runs the exec through a waiter: session (exec -it on a terminal, whose
 * detach keys can leave it running), else exec -d. -d: 0 once it runs;
 * session: 0 with *status its exit code, or VS_FOREGROUND_DETACHED. -1
 * with why it could not start. caller_fd (the command's saved stderr, or
 * -1) is not the waiter's to keep. */
static int exec_via_waiter(struct vs_engine *e, const struct vs_ctr *ct,
                           const struct vs_exec_opts *o, const char *exec_id, bool session,
                           int caller_fd, int *status, vs_error **err)
{
        int pp[2];
        if (pipe2(pp, O_CLOEXEC) < 0)
                return vs_fail_errno(err, "cannot create a pipe");
        struct termios tio;
        bool tio_saved = session && tcgetattr(STDIN_FILENO, &tio) == 0;
        fflush(NULL);
        pid_t command = getpid();
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
                struct waiter wt = {.fd = pp[1], .session = session, .command = command};
                waiter_main(e, ct, o, exec_id, &wt);
        }
        close(pp[1]);
        _cleanup_free_ char *told = hear_waiter(pp[0], w, session);
        close(pp[0]);
        /* The waiter's raw mode of the terminal is not restored at its
         * exit (_exit), nor at the detach: ours was saved before. */
        if (tio_saved)
                tcsetattr(STDIN_FILENO, TCSANOW, &tio);
        const char *t = session && told[0] == 'S' ? told + 1 : told;
        if (t[0] == 'X' || t[0] == 'E')
                waitpid(w, NULL, 0);
        *status = 0;
        if (t[0] == 'S' || t[0] == 'D' || t[0] == 'X') {
                if (t[0] == 'D')
                        *status = VS_FOREGROUND_DETACHED;
                else if (t[0] == 'X')
                        *status = atoi(t + 1);
                return 0;
        }
        char *text = NULL;
        long code = t[0] == 'E' ? strtol(t + 1, &text, 10) : 0;
        vs_fail(err, "%s", text && *text == ' ' ? text + 1 : "the process died before it started");
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
         * by the waiter of a process that may be left running (exec -d,
         * or -it on a terminal: the detach keys) when it ends; a VM's
         * exec -d by the waiter that keeps its session (vs_vm_exec). */
        _cleanup_free_ char *exec_id = vs_random_hex(32);
        vs_exec_event(e, ct, "exec_create", exec_id, p->args, NULL);
        vs_exec_event(e, ct, "exec_start", exec_id, p->args, NULL);
        bool session = tty && interactive && isatty(STDIN_FILENO);
        bool waiter = vmcfg == NULL && (detach || session);
        int r = vmcfg    ? vs_vm_exec(e, ct, vmcfg, p, interactive, detach, exec_id, &status, &err)
                : waiter ? exec_via_waiter(e, ct, &o, exec_id, session, saved_err, &status, &err)
                         : vs_container_exec(&o, &status, &err);
        bool left_running = r == 0 && (detach || status == VS_FOREGROUND_DETACHED);
        if (r < 0 || (!waiter && !left_running)) {
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
