/* The per-container monitor (`vessel monitor ID`): the parent of the
 * container's init. It mounts the rootfs, writes the OCI config, creates and
 * starts the container in process, turns its stdout/stderr (pipes, or the
 * pty) into JSON-lines logs and attach streams, records the exit, applies
 * the restart policy, and cleans up. It is small by construction: vessel
 * links only libc, json-c, libseccomp, libcap and libmd; libarchive and
 * libcrypto are loaded only when image code unpacks, packs or hashes a
 * stream, which starting a container never does (test_engine.py checks the
 * maps); fixed small buffers; the config freed after start. */
#include "engine/config.h"
#include "engine/engine.h"
#include "engine/monitor_io.h"
#include "engine/health.h"
#include "vm/vm.h"
#include "runtime/cgroup.h"
#include "runtime/container.h"
#include "runtime/state.h"
#include "engine/pasta.h"
#include "net/net.h"
#include "util/clock.h"
#include "util/cleanup.h"
#include "util/exitcode.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RESTART_DELAY_MIN_MS   100
#define RESTART_DELAY_MAX_MS   60000
#define RESTART_RESET_AFTER_MS 10000

struct monitor {
        struct vs_engine *e;
        const char *id;
        struct vs_ctr *c;
        int status_fd;
        int sfd;
        struct vs_mon_io io;
        struct vs_health health;
        bool tty, open_stdin, stdin_once;
};

static void set_str(char **dst, const char *v)
{
        free(*dst);
        *dst = v ? xstrdup(v) : NULL;
}

/* Record changes: reload under the lock, apply, save. */
enum rec_event { REC_CLAIM, REC_STARTED, REC_EXITED, REC_START_FAILED, REC_RESTARTING, REC_DONE };

struct rec_update {
        enum rec_event ev;
        pid_t pid;
        int exit_code;
        bool oom;
        const char *error;
};

static int record_update(struct monitor *m, const struct rec_update *u, vs_error **err)
{
        _cleanup_close_ int lock = vs_ctr_lock(m->c, err);
        if (lock < 0)
                return -1;
        if (vs_ctr_reload(m->e, &m->c, err) < 0)
                return -1;
        struct vs_ctr *c = m->c;
        struct vs_ctr_state *s = &c->state;
        _cleanup_free_ char *now = vs_now_rfc3339();
        switch (u->ev) {
        case REC_CLAIM:
                if (c->monitor_pid != getpid() && vs_ctr_monitor_alive(c))
                        return vs_error_set(err, EBUSY,
                                            "container %.12s is already running (monitor %d)",
                                            c->id, c->monitor_pid);
                c->monitor_pid = getpid();
                c->monitor_start = vs_proc_start_time(getpid());
                free(c->boot_id);
                c->boot_id = vs_boot_id();
                c->manually_stopped = false;
                set_str(&s->error, "");
                break;
        case REC_STARTED:
                set_str(&s->status, "running");
                s->running = true;
                s->paused = s->restarting = s->oom_killed = s->dead = false;
                s->pid = u->pid;
                s->exit_code = 0;
                set_str(&s->error, "");
                set_str(&s->started_at, now);
                break;
        case REC_EXITED:
                set_str(&s->status, "exited");
                s->running = s->paused = s->restarting = false;
                s->pid = 0;
                s->exit_code = u->exit_code;
                s->oom_killed = u->oom;
                set_str(&s->finished_at, now);
                break;
        case REC_START_FAILED:
                /* Docker keeps a never-started container "created". */
                if (strcmp(s->status, "created") != 0)
                        set_str(&s->status, "exited");
                s->running = s->paused = s->restarting = false;
                s->pid = 0;
                s->exit_code = u->exit_code;
                set_str(&s->error, u->error);
                set_str(&s->finished_at, now);
                break;
        case REC_RESTARTING:
                set_str(&s->status, "restarting");
                s->restarting = true;
                c->restart_count++;
                break;
        case REC_DONE:
                c->monitor_pid = 0;
                c->monitor_start = 0;
                break;
        }
        return vs_ctr_save_state(c, err);
}

static void warn_error(vs_error **err)
{
        if (*err) {
                vs_warn("%s", (*err)->msg);
                vs_error_free(err);
        }
}

static void report_status(struct monitor *m, int code, const char *msg)
{
        if (m->status_fd < 0)
                return;
        dprintf(m->status_fd, "%d %s", code, msg ? msg : "");
        close(m->status_fd);
        m->status_fd = -1;
}

/* Exit code Docker gives a failed start, by the failure's errno: 127 not
 * found, 126 not executable, 125 anything else. */
static int start_failure_code(const vs_error *e)
{
        return vs_exec_failure_code(e ? e->errno_ : 0);
}

static int prepare_bundle(struct monitor *m, vs_error **err)
{
        bool mounted;
        vs_debug("monitor: mounting the rootfs");
        if (vs_engine_mount_rootfs(m->e, m->c, &mounted, err) < 0 ||
            vs_engine_shm_mount(m->c, err) < 0)
                return -1;
        vs_debug("monitor: writing the OCI config");
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", m->c->dir);
        _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return vs_fail_errno(err, "cannot open %s", rootfs);
        _cleanup_json_ json_object *spec = NULL;
        if (vs_engine_oci_config(m->e, m->c, rootfd, &spec, err) < 0)
                return -1;
        const struct vs_ctr_host_config *hc = &m->c->hc;
        if (m->tty && hc->console_rows && hc->console_cols) {
                json_object *cs = json_object_new_object();
                json_object_object_add(cs, "height", json_object_new_int((int) hc->console_rows));
                json_object_object_add(cs, "width", json_object_new_int((int) hc->console_cols));
                json_object_object_add(json_object_object_get(spec, "process"), "consoleSize", cs);
        }
        _cleanup_free_ char *text = vs_json_to_string(spec, true);
        _cleanup_free_ char *path = xasprintf("%s/config.json", m->c->dir);
        return vs_write_file_replace(path, text, strlen(text), 0600, err);
}

/* A VM container: the launcher stands in for the container's init. With a
 * tty the monitor makes the pty (there is no runtime to make it): the
 * launcher gets its slave, in raw mode (the guest's own pty does the line
 * discipline), and relays to a pty the guest agent allocates. */
static int vm_start(struct monitor *m, pid_t *pid, vs_error **err)
{
        int in_r = -1, out_w = -1, err_w = -1, master = -1;
        if (m->tty) {
                int slave = -1;
                if (vs_vm_open_pty(&master, &slave, err) < 0)
                        return -1;
                in_r = slave;
                out_w = dup(slave);
                err_w = dup(slave);
                fcntl(out_w, F_SETFD, FD_CLOEXEC);
                fcntl(err_w, F_SETFD, FD_CLOEXEC);
        } else if (vs_mon_io_open(&m->io, false, m->open_stdin, &in_r, &out_w, &err_w, err) < 0) {
                return -1;
        }
        int r = vs_vm_ctr_spawn(m->e, m->c, in_r, out_w, err_w, pid, err);
        vs_mon_io_close_child_ends(&in_r, &out_w, &err_w);
        if (m->tty) {
                if (r < 0)
                        close(master);
                else
                        vs_mon_io_set_master(&m->io, master);
        } else if (r < 0) {
                vs_mon_io_close_streams(&m->io);
        }
        if (r == 0)
                m->io.signal_pid = *pid;
        return r;
}

/* Creates and starts one incarnation; on success the io holds the
 * container's streams and *pid its init. */
static int start_once(struct monitor *m, pid_t *pid, vs_error **err)
{
        if (prepare_bundle(m, err) < 0)
                return -1;
        if (vs_ctr_is_vm(m->c))
                return vm_start(m, pid, err);
        int in_r = -1, out_w = -1, err_w = -1;
        if (vs_mon_io_open(&m->io, m->tty, m->open_stdin, &in_r, &out_w, &err_w, err) < 0)
                return -1;
        /* The init inherits our 0/1/2: point them at the container's
         * streams for the create, then back at /dev/null. */
        int master = -1;
        struct vs_create_opts o = {
            .root = m->c->runtime_root,
            .id = m->c->id,
            .bundle = m->c->dir,
            .console_master_out = m->tty ? &master : NULL,
        };
        if (!m->tty) {
                dup2(in_r >= 0 ? in_r : m->io.devnull, STDIN_FILENO);
                dup2(out_w, STDOUT_FILENO);
                dup2(err_w, STDERR_FILENO);
        }
        vs_debug("monitor: creating the container");
        int r = vs_container_create(&o, pid, err);
        dup2(m->io.devnull, STDIN_FILENO);
        dup2(m->io.devnull, STDOUT_FILENO);
        dup2(m->io.devnull, STDERR_FILENO);
        vs_mon_io_close_child_ends(&in_r, &out_w, &err_w);
        if (r < 0) {
                vs_mon_io_close_streams(&m->io);
                return -1;
        }
        if (m->tty)
                vs_mon_io_set_master(&m->io, master);
        vs_debug("monitor: starting the container");
        if (vs_engine_net_attach(m->e, m->c, *pid, err) < 0 ||
            vs_container_start(m->c->runtime_root, m->c->id, err) < 0) {
                _cleanup_error_ vs_error *derr = NULL;
                vs_container_delete(m->c->runtime_root, m->c->id, true, &derr);
                warn_error(&derr);
                vs_mon_io_close_streams(&m->io);
                while (waitpid(-1, NULL, WNOHANG) > 0)
                        ;
                return -1;
        }
        return 0;
}

static bool oom_killed(struct monitor *m)
{
        _cleanup_state_ struct vs_state *st = NULL;
        _cleanup_error_ vs_error *err = NULL;
        if (vs_state_load(m->c->runtime_root, m->c->id, &st, &err) < 0 || st->cgroup == NULL)
                return false;
        _cleanup_cgroup_ struct vs_cgroup *cg = NULL;
        if (vs_cgroup_from_json(st->cgroup, &cg, &err) < 0)
                return false;
        return vs_cgroup_oom_kills(cg) > 0;
}

static int exit_code_of(int status)
{
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs the I/O loop until the init exits; returns its exit code. */
static int supervise(struct monitor *m, pid_t pid)
{
        int status = 0;
        bool exited = false;
        while (!exited) {
                struct signalfd_siginfo si;
                int timeout = vs_health_poll_timeout(&m->health);
                if (vs_mon_io_poll(&m->io, m->sfd, timeout) & VS_MON_SIGNAL) {
                        while (read(m->sfd, &si, sizeof(si)) == sizeof(si))
                                ;
                }
                int st;
                pid_t w;
                /* We are a subreaper: anything orphaned in between lands here. */
                while ((w = waitpid(-1, &st, WNOHANG)) > 0)
                        if (w == pid) {
                                status = st;
                                exited = true;
                        } else {
                                /* A check the container's exit killed is
                                 * no result (Docker drops it too). */
                                siginfo_t si = {0};
                                bool gone = exited || (waitid(P_PID, (id_t) pid, &si,
                                                              WEXITED | WNOHANG | WNOWAIT) == 0 &&
                                                       si.si_pid == pid);
                                vs_health_reaped(&m->health, m->e, &m->c, w, st, !gone);
                        }
                if (!exited)
                        vs_health_tick(&m->health, m->e, &m->c);
        }
        vs_health_stop(&m->health);
        /* What the init printed last, then whatever is left of the container
         * is killed by the delete, which closes the last writers. */
        vs_mon_io_drain(&m->io, 0);
        return exit_code_of(status);
}

static bool should_restart(struct monitor *m, int exit_code)
{
        const char *policy = m->c->hc.restart_policy ? m->c->hc.restart_policy : "no";
        if (m->c->manually_stopped || strcmp(policy, "no") == 0)
                return false;
        if (strcmp(policy, "always") == 0 || strcmp(policy, "unless-stopped") == 0)
                return true;
        if (strcmp(policy, "on-failure") == 0) {
                int64_t n = m->c->hc.restart_max_retries;
                return exit_code != 0 && (n == 0 || m->c->restart_count < n);
        }
        return false;
}

/* Sleeps ms, waking early on SIGTERM/SIGINT/SIGUSR1 (stop requests) to
 * re-read the record; returns false when a stop was requested. */
static bool backoff(struct monitor *m, int64_t ms)
{
        int64_t deadline = vs_monotonic_ms() + ms;
        for (;;) {
                int64_t left = deadline - vs_monotonic_ms();
                if (left <= 0)
                        break;
                int ev = vs_mon_io_poll(&m->io, m->sfd, (int) left);
                if (ev & VS_MON_SIGNAL) {
                        struct signalfd_siginfo si;
                        bool stop = false;
                        while (read(m->sfd, &si, sizeof(si)) == sizeof(si))
                                if (si.ssi_signo != SIGCHLD)
                                        stop = true;
                        while (waitpid(-1, NULL, WNOHANG) > 0)
                                ;
                        if (stop) {
                                _cleanup_error_ vs_error *err = NULL;
                                if (vs_ctr_reload(m->e, &m->c, &err) == 0 && m->c->manually_stopped)
                                        return false;
                                warn_error(&err);
                        }
                }
        }
        _cleanup_error_ vs_error *err = NULL;
        if (vs_ctr_reload(m->e, &m->c, &err) < 0) {
                warn_error(&err);
                return false;
        }
        return !m->c->manually_stopped;
}

static void final_cleanup(struct monitor *m, int exit_code)
{
        _cleanup_error_ vs_error *err = NULL;
        /* pasta holds the container's network namespace: end it with it. */
        vs_pasta_stop(m->c);
        if (vs_engine_umount_rootfs(m->c, &err) < 0)
                warn_error(&err);
        if (m->c->hc.auto_remove) {
                vs_mon_io_close_listener(&m->io);
                /* The veths go after the exit code: their deletion waits
                 * for the kernel (see vs_net_release_deferred). */
                m->e->defer_links = true;
                if (vs_engine_rm(m->e, m->c, true, true, &err) < 0)
                        warn_error(&err);
        } else {
                struct rec_update u = {.ev = REC_DONE};
                if (record_update(m, &u, &err) < 0)
                        warn_error(&err);
        }
        vs_mon_io_send_exit(&m->io, exit_code);
        vs_net_delete_links(m->e->deferred_links);
        strv_free(m->e->deferred_links);
        m->e->deferred_links = NULL;
        m->e->defer_links = false;
}

static int setup_signals(struct monitor *m)
{
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        sigaddset(&set, SIGUSR1);
        sigprocmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);
        m->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        return m->sfd;
}

/* The next incarnation runs in a fresh image of the monitor (the libraries
 * this one dropped come back with it): exec ourselves with the delay to
 * wait and the exit code to record should a stop come first. */
static void exec_restart(struct monitor *m, int64_t delay, int exit_code)
{
        char delay_s[32], exit_s[16];
        snprintf(delay_s, sizeof(delay_s), "%lld", (long long) delay);
        snprintf(exit_s, sizeof(exit_s), "%d", exit_code);
        const char *argv[16];
        size_t n = 0;
        argv[n++] = "vessel";
        argv[n++] = "--data-root";
        argv[n++] = m->e->data_root;
        if (m->e->debug)
                argv[n++] = "--debug";
        argv[n++] = "monitor";
        argv[n++] = "--runtime-root";
        argv[n++] = m->c->runtime_root;
        argv[n++] = "--restart-delay";
        argv[n++] = delay_s;
        argv[n++] = "--last-exit";
        argv[n++] = exit_s;
        argv[n++] = m->c->id;
        argv[n] = NULL;
        vs_mon_io_close_listener(&m->io);
        execv("/proc/self/exe", (char **) argv);
        vs_warn("cannot re-execute the monitor for a restart: %m");
}

int vs_monitor_main(struct vs_engine *e, const struct vs_monitor_opts *o)
{
        struct monitor m = {.e = e, .id = o->id, .status_fd = o->status_fd};
        _cleanup_error_ vs_error *err = NULL;
        bool restarting = o->restart_delay_ms >= 0;
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        prctl(PR_SET_NAME, "vessel-monitor");
        if (vs_ctr_load(e, o->id, &m.c, &err) < 0) {
                report_status(&m, err->errno_ ? err->errno_ : EINVAL, err->msg);
                return 1;
        }
        _cleanup_free_ char *mlog = xasprintf("%s/monitor.log", m.c->dir);
        vs_log_init(mlog, "text", e->debug);
        if (setup_signals(&m) < 0) {
                report_status(&m, errno, "cannot create a signalfd");
                return 1;
        }
        vs_debug("monitor: started for %s", o->id);
        if (!restarting) {
                struct rec_update claim = {.ev = REC_CLAIM};
                if (record_update(&m, &claim, &err) < 0) {
                        report_status(&m, err->errno_ ? err->errno_ : EINVAL, err->msg);
                        return 1;
                }
        }
        m.tty = m.c->cfg.tty;
        m.open_stdin = m.c->cfg.open_stdin;
        m.stdin_once = m.c->cfg.stdin_once;
        bool no_log = m.c->hc.log_type && strcmp(m.c->hc.log_type, "none") == 0;
        if (vs_mon_io_init(&m.io, m.c->dir, no_log ? NULL : m.c->log_path, m.stdin_once, &err) <
            0) {
                report_status(&m, err->errno_ ? err->errno_ : EINVAL, err->msg);
                struct rec_update u = {.ev = REC_DONE};
                record_update(&m, &u, NULL);
                return 1;
        }
        long long log_max_size;
        int log_max_file;
        vs_config_log_rotation(m.c->hc.log_max_size, m.c->hc.log_max_file, &log_max_size,
                               &log_max_file);
        vs_mon_io_set_log_rotation(&m.io, log_max_size, log_max_file);
        vs_monitor_oom_protect();
        if (o->attach_fd >= 0)
                vs_mon_io_add_client(&m.io, o->attach_fd, true);

        int exit_code = o->last_exit;
        int64_t delay = restarting ? o->restart_delay_ms : RESTART_DELAY_MIN_MS;
        bool stopped_while_waiting = restarting && !backoff(&m, delay);
        if (stopped_while_waiting) {
                struct rec_update x = {.ev = REC_EXITED, .exit_code = exit_code};
                if (record_update(&m, &x, &err) < 0)
                        warn_error(&err);
        } else {
                pid_t pid = 0;
                bool vm = vs_ctr_is_vm(m.c);
                int64_t started = vs_monotonic_ms();
                bool ok = start_once(&m, &pid, &err) == 0;
                if (!ok) {
                        exit_code = start_failure_code(err);
                        vs_warn("%s", err->msg);
                        report_status(&m, err->errno_ ? err->errno_ : EINVAL, err->msg);
                        _cleanup_error_ vs_error *start_err = steal_ptr(err);
                        struct rec_update u = {.ev = REC_START_FAILED,
                                               .exit_code = exit_code,
                                               .error = start_err->msg};
                        if (record_update(&m, &u, &err) < 0)
                                warn_error(&err);
                } else {
                        struct rec_update u = {.ev = REC_STARTED, .pid = pid};
                        if (record_update(&m, &u, &err) < 0)
                                warn_error(&err);
                        /* State.Health is "starting" before run/start returns. */
                        vs_health_start(&m.health, m.e, &m.c);
                        /* Docker's order: the networks' connect, then start;
                         * die, then their disconnect (before the record says
                         * exited, so a `stop` that waits for it comes after). */
                        vs_engine_net_events(m.e, m.c, "connect");
                        vs_ctr_event(m.e, m.c, "start", NULL, NULL);
                        report_status(&m, 0, m.c->id);
                        /* A stop that raced with this start wins. */
                        if (m.c->manually_stopped && vm)
                                kill(pid, SIGKILL);
                        else if (m.c->manually_stopped)
                                vs_container_kill(m.c->runtime_root, m.c->id, SIGKILL, true, NULL);
                        vs_debug("monitor: container running, pid %d", pid);
                        exit_code = supervise(&m, pid);
                        vs_debug("monitor: container exited with %d", exit_code);
                        bool oom = !vm && oom_killed(&m);
                        if (!vm && vs_container_delete(m.c->runtime_root, m.c->id, true, &err) < 0)
                                warn_error(&err);
                        if (vm && vs_vm_ctr_cgroup_release(m.c, &err) < 0)
                                warn_error(&err);
                        vs_mon_io_drain(&m.io, 1000);
                        vs_mon_io_close_streams(&m.io);
                        if (oom)
                                vs_ctr_event(m.e, m.c, "oom", NULL, NULL);
                        char code_s[16];
                        snprintf(code_s, sizeof(code_s), "%d", exit_code);
                        vs_ctr_event(m.e, m.c, "die", "exitCode", code_s);
                        vs_engine_net_events(m.e, m.c, "disconnect");
                        struct rec_update x = {
                            .ev = REC_EXITED, .exit_code = exit_code, .oom = oom};
                        if (record_update(&m, &x, &err) < 0)
                                warn_error(&err);
                }
                /* A failed first start is an error of `run`/`start`, not an exit
                 * to restart from; a failed restart counts as an exit. */
                if ((ok || restarting) && should_restart(&m, exit_code)) {
                        vs_mon_io_send_exit(&m.io, exit_code);
                        if (vs_monotonic_ms() - started >= RESTART_RESET_AFTER_MS)
                                delay = RESTART_DELAY_MIN_MS;
                        else if (restarting)
                                delay = delay * 2 > RESTART_DELAY_MAX_MS ? RESTART_DELAY_MAX_MS
                                                                         : delay * 2;
                        struct rec_update r = {.ev = REC_RESTARTING};
                        if (record_update(&m, &r, &err) < 0)
                                warn_error(&err);
                        exec_restart(&m, delay, exit_code);
                }
        }
        final_cleanup(&m, exit_code);
        vs_debug("monitor: done");
        vs_mon_io_free(&m.io);
        vs_ctr_free(m.c);
        /* Never back through exit(): the destructors of dropped libraries
         * are gone with them. */
        fflush(NULL);
        _exit(0);
}
