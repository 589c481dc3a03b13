/* start, kill, delete and run. */
#include "runtime/cgroup.h"
#include "runtime/container.h"
#include "runtime/foreground.h"
#include "runtime/hooks.h"
#include "runtime/hostmounts.h"
#include "runtime/init.h"
#include "runtime/state.h"
#include "runtime/terminal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "vm/vm.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct {
        const char *name;
        int sig;
} signals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

int vs_signal_from_name(const char *s)
{
        if (s == NULL || *s == '\0')
                return -1;
        if (isdigit((unsigned char) *s)) {
                char *end;
                long n = strtol(s, &end, 10);
                return (*end == '\0' && n > 0 && n < NSIG) ? (int) n : -1;
        }
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
                if (strcasecmp(s, signals[i].name) == 0)
                        return signals[i].sig;
        if (strncasecmp(s, "RTMIN", 5) == 0 || strncasecmp(s, "RTMAX", 5) == 0) {
                bool min = strncasecmp(s, "RTMIN", 5) == 0;
                const char *rest = s + 5;
                long off = 0;
                if (*rest) {
                        /* Bounded before the addition: a huge offset would
                         * overflow, or wrap into the range once truncated. */
                        char *end;
                        errno = 0;
                        off = strtol(rest, &end, 10);
                        if (*end != '\0' || errno || isspace((unsigned char) *rest) ||
                            (min && off < 0) || (!min && off > 0) ||
                            labs(off) > SIGRTMAX - SIGRTMIN)
                                return -1;
                }
                int sig = (min ? SIGRTMIN : SIGRTMAX) + (int) off;
                return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
        }
        return -1;
}

static int destroy(const char *root, struct vs_state *st, vs_error **err);

static int pidfd_signal(int pidfd, int sig)
{
        return (int) syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Waits until the process behind pidfd has exited (it need not be our
 * child); gives up after timeout_ms. */
static bool wait_pidfd(int pidfd, int timeout_ms)
{
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        int r;
        do
                r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        return r > 0;
}

static void run_poststart(const char *root, const struct vs_state *st)
{
        _cleanup_config_ struct oci_config *cfg = NULL;
        _cleanup_error_ vs_error *herr = NULL;
        if (vs_state_load_config(root, st, &cfg, &herr) == 0 && cfg->hooks.n_poststart) {
                _cleanup_free_ char *state =
                    vs_hook_state_json(st->id, st->bundle, "running", st->pid, cfg);
                vs_hooks_run_all(cfg->hooks.poststart, cfg->hooks.n_poststart, "poststart", state);
        } else if (herr) {
                vs_warn("%s", herr->msg);
        }
}

/* Waits on the exec fifo's read end until the init exec'd (the fifo closes
 * with nothing in it) or failed (an error in it, or died), then runs the
 * poststart hooks; a failed start destroys the container. */
static int await_exec(const char *root, struct vs_state *st, int fifo, int pidfd, vs_error **err)
{
        const char *id = st->id;
        _cleanup_free_ char *fifo_path = vs_state_fifo_path(root, id);
        /* The init writes an error, or closes the fifo by exec'ing. */
        char msg[4096];
        size_t len = 0;
        bool done = false;
        while (!done) {
                struct pollfd p[2] = {{.fd = fifo, .events = POLLIN},
                                      {.fd = pidfd, .events = POLLIN}};
                int r = poll(p, 2, -1);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return vs_fail_errno(err, "cannot wait for the container init");
                if (p[0].revents) {
                        ssize_t n = read(fifo, msg + len, sizeof(msg) - 1 - len);
                        if (n > 0)
                                len += (size_t) n;
                        else if (n == 0 || (p[0].revents & POLLHUP))
                                done = true;
                        if (len >= sizeof(msg) - 1)
                                done = true;
                } else if (p[1].revents) {
                        /* Died without a word (or after writing one). */
                        ssize_t n = read(fifo, msg + len, sizeof(msg) - 1 - len);
                        if (n > 0)
                                len += (size_t) n;
                        done = true;
                        if (len == 0) {
                                vs_fail(err, "container '%s': init exited before exec", id);
                                goto failed;
                        }
                }
        }
        msg[len] = '\0';
        unlink(fifo_path);
        if (len > 0) {
                vs_fail(err, "container '%s' failed to start: %s", id, msg);
                goto failed;
        }
        run_poststart(root, st);
        return 0;
failed:
        /* runtime-spec: a failed start stops the container and destroys it. */
        {
                _cleanup_error_ vs_error *derr = NULL;
                if (destroy(root, st, &derr) < 0)
                        vs_warn("%s", derr->msg);
        }
        return -1;
}

int vs_container_start(const char *root, const char *id, vs_error **err)
{
        _cleanup_state_ struct vs_state *st = NULL;
        _cleanup_close_ int lock = -1;
        if (vs_state_open_locked(root, id, &st, &lock, err) < 0)
                return -1;
        const char *status = vs_state_status(root, st);
        if (strcmp(status, "created") != 0)
                return vs_fail(err, "container '%s' cannot be started: it is %s, not created", id,
                               status);
        _cleanup_free_ char *fifo_path = vs_state_fifo_path(root, id);
        _cleanup_close_ int pidfd = vs_state_pidfd(st);
        if (pidfd < 0)
                return vs_fail(err, "container '%s' cannot be started: its init is gone", id);
        _cleanup_close_ int fifo = open(fifo_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fifo < 0)
                return vs_fail_errno(err, "cannot open %s", fifo_path);
        return await_exec(root, st, fifo, pidfd, err);
}

/* start for run: create opened the fifo before the init ran, so the init
 * may have exec'd, even exited, since; pid is our unreaped child, so it
 * cannot have been reused. */
static int start_created(const char *root, const char *id, pid_t pid, int fifo, vs_error **err)
{
        _cleanup_state_ struct vs_state *st = NULL;
        _cleanup_close_ int lock = -1;
        if (vs_state_open_locked(root, id, &st, &lock, err) < 0)
                return -1;
        _cleanup_close_ int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return vs_fail_errno(err, "container '%s': cannot watch its init %d", id,
                                     (int) pid);
        return await_exec(root, st, fifo, pidfd, err);
}

static bool same_pidns(pid_t a, ino_t ns)
{
        char path[64];
        struct stat st;
        snprintf(path, sizeof(path), "/proc/%d/ns/pid", a);
        return stat(path, &st) == 0 && st.st_ino == ns;
}

/* Without a cgroup, "all processes" are those in the init's pid namespace
 * (when the container has its own). */
static int kill_pidns(pid_t init, int sig, vs_error **err)
{
        char path[64];
        struct stat ns, self;
        snprintf(path, sizeof(path), "/proc/%d/ns/pid", init);
        if (stat(path, &ns) < 0)
                return vs_fail_errno(err, "cannot read %s", path);
        if (stat("/proc/self/ns/pid", &self) == 0 && self.st_ino == ns.st_ino) {
                /* Shares our pid namespace: only the init is known to be its. */
                return kill(init, sig) < 0 ? vs_fail_errno(err, "cannot signal %d", init) : 0;
        }
        _cleanup_closedir_ DIR *d = opendir("/proc");
        if (!d)
                return vs_fail_errno(err, "cannot read /proc");
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (!isdigit((unsigned char) de->d_name[0]))
                        continue;
                pid_t pid = (pid_t) atoi(de->d_name);
                if (same_pidns(pid, ns.st_ino))
                        kill(pid, sig);
        }
        return 0;
}

int vs_container_kill(const char *root, const char *id, int sig, bool all, vs_error **err)
{
        _cleanup_state_ struct vs_state *st = NULL;
        if (vs_state_load(root, id, &st, err) < 0)
                return -1;
        _cleanup_close_ int pidfd = vs_state_pidfd(st);
        if (pidfd < 0)
                return vs_fail(err, "container '%s' is not running", id);
        if (all) {
                if (st->cgroup) {
                        _cleanup_cgroup_ struct vs_cgroup *cg = NULL;
                        if (vs_cgroup_from_json(st->cgroup, &cg, err) < 0)
                                return -1;
                        return vs_cgroup_kill_all(cg, sig, err);
                }
                return kill_pidns(st->pid, sig, err);
        }
        if (pidfd_signal(pidfd, sig) < 0)
                return vs_fail_errno(err, "cannot send signal %d to container '%s'", sig, id);
        return 0;
}

/* Stops whatever is left and removes every trace of the container. */
static int destroy(const char *root, struct vs_state *st, vs_error **err)
{
        int pidfd = st->pid > 0 ? vs_state_pidfd(st) : -1;
        _cleanup_cgroup_ struct vs_cgroup *cg = NULL;
        if (st->cgroup && vs_cgroup_from_json(st->cgroup, &cg, err) < 0)
                vs_error_free(err); /* a broken record must not block deletion */
        if (cg && st->cgroup_pending) {
                /* A create killed before it made the cgroup: no process of
                 * the container can be in it (there was none yet). */
                vs_cgroup_remove_idle(cg);
                vs_cgroup_free(steal_ptr(cg));
        }
        if (pidfd >= 0) {
                if (cg)
                        vs_cgroup_freeze(cg, false, NULL);
                pidfd_signal(pidfd, SIGKILL);
                if (!wait_pidfd(pidfd, 10000))
                        vs_warn("container '%s': init %d did not exit after SIGKILL", st->id,
                                st->pid);
                close(pidfd);
        }
        _cleanup_config_ struct oci_config *cfg = NULL;
        _cleanup_error_ vs_error *cerr = NULL;
        vs_state_load_config(root, st, &cfg, &cerr);
        if (cg && vs_cgroup_destroy(cg, err) < 0)
                return -1;
        /* After the init is gone (nothing holds them), before the record
         * of them goes. */
        _cleanup_free_ char *mounts_file = vs_host_mounts_file(root, st->id);
        vs_host_mounts_release(mounts_file);
        _cleanup_free_ char *dir = vs_state_dir(root, st->id);
        if (vs_rm_rf(dir, err) < 0)
                return -1;
        if (vs_vm_oci_state_is_vm(st->annotations))
                vs_vm_oci_ids_release(dir);
        if (cfg && cfg->hooks.n_poststop) {
                _cleanup_free_ char *state =
                    vs_hook_state_json(st->id, st->bundle, "stopped", 0, cfg);
                vs_hooks_run_all(cfg->hooks.poststop, cfg->hooks.n_poststop, "poststop", state);
        }
        return 0;
}

int vs_container_delete(const char *root, const char *id, bool force, vs_error **err)
{
        _cleanup_state_ struct vs_state *st = NULL;
        _cleanup_close_ int lock = -1;
        _cleanup_error_ vs_error *oerr = NULL;
        if (vs_state_open_locked(root, id, &st, &lock, &oerr) < 0) {
                /* Forced deletion of what is already gone succeeds, as with
                 * runc: podman and containerd call it on every teardown. A
                 * directory without a state record (a create in progress)
                 * is not "gone". */
                _cleanup_free_ char *dir = vs_state_dir(root, id);
                if (force && oerr->errno_ == ENOENT && access(dir, F_OK) < 0 && errno == ENOENT)
                        return 0;
                *err = steal_ptr(oerr);
                return -1;
        }
        const char *status = vs_state_status(root, st);
        /* Its `create` would go on writing into what we remove. */
        if (strcmp(status, "creating") == 0)
                return vs_fail(err,
                               "container '%s' is being created (by process %d): stop that "
                               "first",
                               id, (int) st->creator);
        if (!force && (strcmp(status, "running") == 0 || strcmp(status, "paused") == 0))
                return vs_fail(err, "container '%s' is %s: stop it first or use --force", id,
                               status);
        return destroy(root, st, err);
}

/* ---- run ---- */

/* cancel: a terminating signal kills the container rather than being
 * forwarded to its init (which, as pid 1, ignores signals it has no handler
 * for): how a build step is cancelled by Ctrl-C. */
/* After the detach keys: a process of its own keeps the pty's master
 * open and drains it until pid is gone, so that the process neither gets
 * a hangup nor blocks on a full terminal; nobody sees that output (as with
 * Docker, until someone attaches, which exec has no way to). */
static void hold_master(int pidfd, int master)
{
        pid_t h = fork();
        if (h != 0)
                return;
        setsid();
        signal(SIGHUP, SIG_IGN);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* nothing of the caller's (a test's pipe, a lock) stays open here */
        long max = sysconf(_SC_OPEN_MAX);
        for (int fd = 0; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
                if (fd != master && fd != pidfd)
                        close(fd);
        int null = open("/dev/null", O_RDWR);
        for (int fd = 0; null >= 0 && fd < 3; fd++)
                if (fd != null && fd != master && fd != pidfd)
                        dup2(null, fd);
        for (;;) {
                struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN},
                                      {.fd = master, .events = POLLIN}};
                if (poll(p, 2, -1) < 0 && errno != EINTR)
                        _exit(1);
                if (p[0].revents)
                        _exit(0);
                char buf[8192];
                if (p[1].revents && read(master, buf, sizeof(buf)) <= 0 && errno != EAGAIN &&
                    errno != EINTR)
                        _exit(0);
        }
}

static int forward_loop(pid_t pid, int pidfd, int sfd, int master, bool cancel,
                        const struct vs_detach_keys *dk, int *exit_status)
{
        bool master_open = master >= 0, stdin_open = master >= 0;
        bool raw = dk && dk->n && master >= 0 && isatty(STDIN_FILENO);
        size_t matched = 0;
        for (;;) {
                struct pollfd p[4] = {
                    {.fd = sfd, .events = POLLIN},
                    {.fd = pidfd, .events = POLLIN},
                    {.fd = master_open ? master : -1, .events = POLLIN},
                    {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN},
                };
                int r = poll(p, 4, -1);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -1;
                if (p[0].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                                int sig = (int) si.ssi_signo;
                                if (sig == SIGCHLD)
                                        continue;
                                if (sig == SIGWINCH && master >= 0) {
                                        vs_terminal_resize_from_stdin(master);
                                        continue;
                                }
                                if (cancel && (sig == SIGINT || sig == SIGTERM || sig == SIGHUP ||
                                               sig == SIGQUIT))
                                        sig = SIGKILL;
                                pidfd_signal(pidfd, sig);
                        }
                }
                if (p[2].revents) {
                        char buf[8192];
                        ssize_t n = read(master, buf, sizeof(buf));
                        if (n > 0) {
                                if (write(STDOUT_FILENO, buf, (size_t) n) < 0)
                                        master_open = false;
                        } else if (n == 0 || errno != EAGAIN) {
                                master_open = false;
                        }
                }
                if (p[3].revents) {
                        char buf[8192];
                        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                        if (n > 0 && raw &&
                            vs_detach_keys_scan(dk->keys, dk->n, buf, &n, &matched)) {
                                if (n > 0 && write(master, buf, (size_t) n) < 0)
                                        n = 0;
                                hold_master(pidfd, master);
                                *exit_status = VS_FOREGROUND_DETACHED;
                                return 0;
                        }
                        if (n > 0) {
                                if (write(master, buf, (size_t) n) < 0)
                                        stdin_open = false;
                        } else {
                                stdin_open = false;
                        }
                }
                if (p[1].revents) {
                        /* Drain what the container printed before it died. */
                        if (master_open) {
                                char buf[8192];
                                fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
                                ssize_t n;
                                while ((n = read(master, buf, sizeof(buf))) > 0)
                                        if (write(STDOUT_FILENO, buf, (size_t) n) < 0)
                                                break;
                        }
                        int status;
                        if (waitpid(pid, &status, 0) < 0)
                                return -1;
                        *exit_status =
                            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                        return 0;
                }
        }
}

static int foreground_wait(pid_t pid, int master, const sigset_t *sigs, bool cancel,
                           const struct vs_detach_keys *dk, int *exit_status, vs_error **err)
{
        _cleanup_close_ int sfd = signalfd(-1, sigs, SFD_CLOEXEC | SFD_NONBLOCK);
        _cleanup_close_ int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (master >= 0)
                vs_terminal_proxy_start(master, NULL);
        *exit_status = 255;
        if (sfd < 0 || pidfd < 0 ||
            forward_loop(pid, pidfd, sfd, master, cancel, dk, exit_status) < 0)
                return vs_fail_errno(err, "lost track of process %d", pid);
        return 0;
}

int vs_foreground_wait(pid_t pid, int master, const sigset_t *sigs, const struct vs_detach_keys *dk,
                       int *exit_status, vs_error **err)
{
        return foreground_wait(pid, master, sigs, false, dk, exit_status, err);
}

void vs_foreground_signals(sigset_t *all)
{
        sigfillset(all);
        sigdelset(all, SIGSEGV);
        sigdelset(all, SIGBUS);
        sigdelset(all, SIGFPE);
        sigdelset(all, SIGILL);
        sigdelset(all, SIGABRT);
}

int vs_container_run(const struct vs_create_opts *o, bool detach, int *exit_status, vs_error **err)
{
        int master = -1;
        struct vs_create_opts co = *o;
        if (!detach && !o->console_socket)
                co.console_master_out = &master;
        /* Signals are taken by a signalfd from before the init exists, so
         * none arriving during setup is lost; the init unblocks them. */
        sigset_t all, old;
        vs_foreground_signals(&all);
        if (!detach)
                sigprocmask(SIG_BLOCK, &all, &old);
        pid_t pid = 0;
        _cleanup_close_ int fifo = -1;
        co.exec_fifo_out = &fifo;
        int r = vs_container_create(&co, &pid, err);
        if (r == 0 && start_created(o->root, o->id, pid, fifo, err) < 0) {
                _cleanup_error_ vs_error *derr = NULL;
                vs_container_delete(o->root, o->id, true, &derr);
                r = -1;
        }
        if (r == 0 && !detach) {
                r = foreground_wait(pid, master, &all, o->cancel_on_signal, NULL, exit_status, err);
                _cleanup_error_ vs_error *derr = NULL;
                if (vs_container_delete(o->root, o->id, true, &derr) < 0 && r == 0) {
                        *err = steal_ptr(derr);
                        r = -1;
                }
        }
        if (master >= 0)
                close(master);
        if (!detach)
                sigprocmask(SIG_SETMASK, &old, NULL);
        return r;
}
