/* Engine lifecycle: start (spawn the monitor), stop, kill, pause, rm,
 * wait, rename. Commands talk to the monitor only through the record, the
 * runtime's state and signals: any of them may run while the monitor is
 * gone (killed, or the host rebooted), and then do its cleanup. */
#include "engine/engine.h"
#include "vm/vm.h"
#include "engine/rootless.h"
#include "image/image.h"
#include "image/layer.h"
#include "runtime/container.h"
#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_STOP_TIMEOUT 10

bool vs_is_mountpoint(const char *path)
{
        struct statx sx;
        if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, 0, &sx) < 0)
                return false;
        return (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
               (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* The rootless engine's container with maps of its own: img's layers
 * become copies with the container's ids, and a new upper dir (the root
 * directory's owner) the container's root's. */
static int shifted_layers(struct vs_store *store, struct vs_image *img, const char *dir,
                          const struct vs_idmaps *maps, vs_error **err)
{
        struct vs_layer_idshift shift = {maps->uid, maps->gid, maps->n_uid, maps->n_gid};
        if (vs_image_shift_layers(store, img, &shift, err) < 0)
                return -1;
        _cleanup_free_ char *upper = xasprintf("%s/upper", dir);
        bool fresh = !vs_is_dir(upper);
        if (vs_image_rootfs_prepare_dir(img, dir, err) < 0)
                return -1;
        if (fresh && lchown(upper, vs_idmaps_host(maps->uid, maps->n_uid, 0),
                            vs_idmaps_host(maps->gid, maps->n_gid, 0)) < 0)
                return vs_fail_errno(err, "cannot give %s to the container's root", upper);
        return 0;
}

int vs_engine_mount_rootfs(struct vs_engine *e, struct vs_ctr *c, bool *mounted, vs_error **err)
{
        *mounted = false;
        /* Recorded first, also when mounted already: a recovery that saw
         * an older, dead holder has finished by then (it holds the hold
         * lock), and none will unmount it under us. */
        if (vs_ctr_hold_mount(c, err) < 0)
                return -1;
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", c->dir);
        if (vs_is_mountpoint(rootfs))
                return 0;
        struct vs_store *store;
        if (vs_engine_store(e, &store, err) < 0)
                return -1;
        struct vs_image *img = NULL;
        if (vs_image_lookup(store, c->image_id, &img, err) < 0)
                return vs_error_wrap(err, "container %.12s", c->id);
        struct vs_idmaps maps;
        int userns = vs_userns_rootfs_mappings(c, &maps, err);
        struct vs_rootfs_idmap idmap = {.userns_fd = -1};
        if (userns > 0 && vs_rootless()) {
                /* no idmapped layers without host root: copies (shift.c) */
                int r = shifted_layers(store, img, c->dir, &maps, err);
                vs_idmaps_clear(&maps);
                r = r < 0 ? -1 : vs_image_rootfs_mount(img, c->dir, rootfs, NULL, err);
                vs_image_free(img);
                if (r < 0)
                        return -1;
                *mounted = true;
                return 0;
        }
        if (userns > 0) {
                idmap.uid = vs_idmaps_host(maps.uid, maps.n_uid, 0);
                idmap.gid = vs_idmaps_host(maps.gid, maps.n_gid, 0);
                idmap.userns_fd = vs_userns_fd(&maps, err);
        }
        vs_idmaps_clear(&maps);
        int r = userns < 0 || idmap.userns_fd < (userns > 0 ? 0 : -1)
                    ? -1
                    : vs_image_rootfs_mount_flags(img, c->dir, rootfs, userns > 0 ? &idmap : NULL,
                                                  c->hc.auto_remove ? VS_ROOTFS_VOLATILE : 0, err);
        if (idmap.userns_fd >= 0)
                close(idmap.userns_fd);
        vs_image_free(img);
        if (r < 0)
                return -1;
        *mounted = true;
        return 0;
}

int vs_engine_umount_rootfs(struct vs_ctr *c, vs_error **err)
{
        vs_engine_shm_umount(c->dir);
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", c->dir);
        for (int i = 0; i < 8 && vs_is_mountpoint(rootfs); i++)
                if (vs_image_rootfs_umount(rootfs, err) < 0)
                        return -1;
        if (vs_is_mountpoint(rootfs))
                return vs_fail(err, "%s is still mounted", rootfs);
        vs_ctr_release_mount(c);
        return 0;
}

static bool is_enoent(const vs_error *e)
{
        return e && (e->errno_ == ENOENT || strstr(e->msg, "does not exist"));
}

static void set_str(char **dst, const char *v)
{
        free(*dst);
        *dst = v ? xstrdup(v) : NULL;
}

int vs_engine_cleanup_runtime(struct vs_engine *e, struct vs_ctr *c, vs_error **err)
{
        _cleanup_error_ vs_error *derr = NULL;
        if (vs_container_delete(c->runtime_root, c->id, true, &derr) < 0 && !is_enoent(derr)) {
                *err = steal_ptr(derr);
                return -1;
        }
        vs_ctr_thaw_all(c); /* its freeze holds die with the runtime state */
        /* A VM's cgroup is the engine's own (a monitor killed left it). */
        if (vs_ctr_is_vm(c) && vs_vm_ctr_cgroup_release(c, err) < 0)
                return -1;
        if (vs_engine_umount_rootfs(c, err) < 0)
                return -1;
        _cleanup_free_ char *sock = xasprintf("%s/attach.sock", c->dir);
        unlink(sock);
        (void) e;
        return 0;
}

/* Records what an unsupervised stop looked like: the exit status is not
 * known, since only the init's parent could have read it. */
static int record_unknown_exit(struct vs_engine *e, struct vs_ctr **c, vs_error **err)
{
        _cleanup_close_ int lock = vs_ctr_lock(*c, err);
        if (lock < 0 || vs_ctr_reload(e, c, err) < 0)
                return -1;
        struct vs_ctr_state *s = &(*c)->state;
        set_str(&s->status, "exited");
        s->running = s->paused = s->restarting = false;
        s->pid = 0;
        s->exit_code = -1;
        set_str(&s->error, "the container's monitor was gone: exit status unknown");
        _cleanup_free_ char *now = vs_now_rfc3339();
        set_str(&s->finished_at, now);
        (*c)->monitor_pid = 0;
        (*c)->monitor_start = 0;
        return vs_ctr_save_state(*c, err);
}

static int pidfd_of(pid_t pid, unsigned long long start)
{
        if (pid <= 0)
                return -1;
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
                return -1;
        /* Opened first, checked second: the pidfd cannot be recycled. */
        if (!vs_pid_is(pid, start)) {
                close(fd);
                return -1;
        }
        return fd;
}

/* Waits up to timeout_ms (-1: forever) for the process behind pidfd. */
static bool wait_pidfd(int pidfd, int timeout_ms)
{
        if (pidfd < 0)
                return true;
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        int r;
        do
                r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        return r > 0;
}

/* ---- start ---- */

static const char *self_exe(void)
{
        return "/proc/self/exe";
}

/* Becomes the monitor: called in the grandchild, never returns. */
static void exec_monitor(struct vs_engine *e, const struct vs_ctr *c, int status_w, int attach_fd)
{
        /* fds: status -> 3, attach -> 4, the rest closed, stdio /dev/null. */
        int s = fcntl(status_w, F_DUPFD_CLOEXEC, 10);
        int a = attach_fd >= 0 ? fcntl(attach_fd, F_DUPFD_CLOEXEC, 10) : -1;
        int devnull = open("/dev/null", O_RDWR);
        if (s < 0 || devnull < 0)
                _exit(127);
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
        dup2(s, 3);
        if (a >= 0)
                dup2(a, 4);
        syscall(SYS_close_range, a >= 0 ? 5 : 4, ~0U, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < NSIG; sig++)
                signal(sig, SIG_DFL);
        const char *argv[16];
        size_t n = 0;
        argv[n++] = "vessel";
        argv[n++] = "--data-root";
        argv[n++] = e->data_root;
        if (e->debug)
                argv[n++] = "--debug";
        argv[n++] = "monitor";
        argv[n++] = "--runtime-root";
        argv[n++] = c->runtime_root;
        argv[n++] = "--status-fd";
        argv[n++] = "3";
        if (a >= 0) {
                argv[n++] = "--attach-fd";
                argv[n++] = "4";
        }
        argv[n++] = c->id;
        argv[n] = NULL;
        execv(self_exe(), (char **) argv);
        dprintf(3, "%d cannot execute %s: %s", errno, self_exe(), strerror(errno));
        _exit(127);
}

static int spawn_monitor(struct vs_engine *e, const struct vs_ctr *c, int attach_fd, vs_error **err)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return vs_fail_errno(err, "cannot create a pipe");
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
                close(p[0]);
                close(p[1]);
                return vs_fail_errno(err, "cannot fork the monitor");
        }
        if (pid == 0) {
                /* Double fork + setsid: the monitor is nobody's child in our
                 * session and outlives this command. */
                setsid();
                pid_t g = fork();
                if (g < 0)
                        _exit(1);
                if (g > 0)
                        _exit(0);
                close(p[0]);
                exec_monitor(e, c, p[1], attach_fd);
        }
        close(p[1]);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        char buf[4096];
        size_t len = 0;
        ssize_t n;
        while (len < sizeof(buf) - 1 && (n = read(p[0], buf + len, sizeof(buf) - 1 - len)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        break;
                len += (size_t) n;
        }
        close(p[0]);
        buf[len] = '\0';
        if (len == 0)
                return vs_fail(err,
                               "the monitor of container %.12s exited before starting it "
                               "(see %s/monitor.log)",
                               c->id, c->dir);
        char *msg;
        long code = strtol(buf, &msg, 10);
        if (*msg == ' ')
                msg++;
        if (code == 0)
                return 0;
        /* The monitor's errno travels with its message (run maps it to 127
         * or 126 as Docker does). */
        vs_error_set(err, 0, "%s", msg);
        if (*err)
                (*err)->errno_ = (int) code;
        return -1;
}

/* A monitor that recorded the exit (so `wait` has returned) may still be
 * finishing (unmount, log, record): that container is not running, and
 * start waits for the monitor (which takes the record's lock) to end. */
static int wait_finishing_monitor(struct vs_engine *e, const struct vs_ctr *c, vs_error **err)
{
        _cleanup_ctr_ struct vs_ctr *f = NULL;
        if (vs_ctr_load(e, c->id, &f, err) < 0)
                return -1;
        vs_ctr_refresh(e, f);
        if (!vs_ctr_monitor_alive(f) || f->state.running || f->state.restarting ||
            strcmp(f->state.status, "exited") != 0)
                return 0;
        _cleanup_close_ int mon = pidfd_of(f->monitor_pid, f->monitor_start);
        if (mon >= 0 && !wait_pidfd(mon, 10000))
                return vs_fail(err, "container %s: its monitor %d is still finishing its last run",
                               f->name, f->monitor_pid);
        return 0;
}

int vs_engine_start(struct vs_engine *e, struct vs_ctr *c, int attach_fd, vs_error **err)
{
        if (wait_finishing_monitor(e, c, err) < 0)
                return -1;
        {
                _cleanup_close_ int lock = vs_ctr_lock(c, err);
                if (lock < 0)
                        return -1;
                struct vs_ctr *fresh = NULL;
                if (vs_ctr_load(e, c->id, &fresh, err) < 0)
                        return -1;
                _cleanup_ctr_ struct vs_ctr *f = fresh;
                vs_ctr_refresh(e, f);
                if (vs_ctr_monitor_alive(f) && f->state.paused)
                        return vs_fail(err,
                                       "container %s is paused: unpause it instead of starting it",
                                       f->name);
                /* Docker: starting a running container does nothing. */
                if (vs_ctr_monitor_alive(f) && attach_fd < 0)
                        return 0;
                if (vs_ctr_monitor_alive(f))
                        return vs_error_set(err, EBUSY, "container %s is already running", f->name);
                if (f->unmonitored)
                        return vs_fail(err,
                                       "container %s is running without its monitor: "
                                       "stop it or remove it with rm -f first",
                                       f->name);
                if (vs_engine_cleanup_runtime(e, f, err) < 0)
                        return -1;
        }
        return spawn_monitor(e, c, attach_fd, err);
}

/* ---- stop / kill ---- */

static int stop_signal_of(const struct vs_ctr *c)
{
        int sig = c->cfg.stop_signal ? vs_signal_from_name(c->cfg.stop_signal) : -1;
        return sig > 0 ? sig : SIGTERM;
}

static int stop_timeout_of(const struct vs_ctr *c)
{
        return c->cfg.has_stop_timeout ? (int) c->cfg.stop_timeout : DEFAULT_STOP_TIMEOUT;
}

static bool is_active(const struct vs_ctr *c)
{
        const char *s = c->state.status;
        return strcmp(s, "running") == 0 || strcmp(s, "paused") == 0 ||
               strcmp(s, "restarting") == 0;
}

/* Marks the stop as the user's (no restart); *out: the live view, fresh
 * from disk. */
int vs_engine_mark_stopped(struct vs_engine *e, const struct vs_ctr *c, struct vs_ctr **out,
                           vs_error **err)
{
        _cleanup_close_ int lock = vs_ctr_lock(c, err);
        if (lock < 0)
                return -1;
        struct vs_ctr *f = NULL;
        if (vs_ctr_load(e, c->id, &f, err) < 0)
                return -1;
        f->manually_stopped = true;
        if (vs_ctr_save_state(f, err) < 0) {
                vs_ctr_free(f);
                return -1;
        }
        vs_ctr_refresh(e, f);
        *out = f;
        return 0;
}

static void signal_container(struct vs_ctr *c, int sig, bool all)
{
        if (vs_ctr_is_vm(c)) {
                /* To the VM launcher, which forwards it to the guest. */
                if (c->state.pid > 0)
                        kill(c->state.pid, sig);
                return;
        }
        _cleanup_error_ vs_error *err = NULL;
        if (all)
                vs_ctr_kill_hold(c);
        if (vs_container_kill(c->runtime_root, c->id, sig, all, &err) < 0 && !is_enoent(err))
                vs_debug("%s", err->msg);
        if (all)
                vs_ctr_kill_release(c);
        if (c->state.paused) {
                vs_error_free(&err);
                vs_container_resume(c->runtime_root, c->id, &err);
        }
}

/* Docker's events of a stop: kill (the stop signal), then, once it is
 * down, stop. */
static void kill_event(struct vs_engine *e, const struct vs_ctr *c, int sig)
{
        char s[16];
        snprintf(s, sizeof(s), "%d", sig);
        vs_ctr_event(e, c, "kill", "signal", s);
}

static int stop_unmonitored(struct vs_engine *e, struct vs_ctr **c, int sig, int timeout,
                            vs_error **err)
{
        _cleanup_state_ struct vs_state *st = NULL;
        _cleanup_error_ vs_error *lerr = NULL;
        if (vs_state_load((*c)->runtime_root, (*c)->id, &st, &lerr) == 0) {
                _cleanup_close_ int pidfd = vs_state_pidfd(st);
                if (sig)
                        signal_container(*c, sig, false);
                if (!wait_pidfd(pidfd, timeout * 1000)) {
                        kill_event(e, *c, SIGKILL);
                        signal_container(*c, SIGKILL, true);
                        wait_pidfd(pidfd, 10000);
                }
        }
        if (vs_engine_cleanup_runtime(e, *c, err) < 0)
                return -1;
        return record_unknown_exit(e, c, err);
}

static int stop_monitored(struct vs_engine *e, struct vs_ctr *c, int sig, int timeout,
                          vs_error **err)
{
        _cleanup_close_ int mon = pidfd_of(c->monitor_pid, c->monitor_start);
        if (mon < 0)
                return 0;
        if (sig)
                signal_container(c, sig, false);
        /* Wakes a monitor that is waiting to restart. */
        syscall(SYS_pidfd_send_signal, mon, SIGUSR1, NULL, 0);
        if (wait_pidfd(mon, timeout * 1000))
                return 0;
        vs_debug("container %.12s: no exit %d s after signal %d, killing it", c->id, timeout, sig);
        if (sig)
                kill_event(e, c, SIGKILL);
        signal_container(c, SIGKILL, true);
        if (wait_pidfd(mon, 30000))
                return 0;
        return vs_fail(err, "container %.12s: its monitor %d did not finish after SIGKILL", c->id,
                       c->monitor_pid);
}

int vs_engine_stop(struct vs_engine *e, struct vs_ctr *c, int timeout, vs_error **err)
{
        _cleanup_ctr_ struct vs_ctr *cur = NULL;
        if (vs_engine_mark_stopped(e, c, &cur, err) < 0)
                return -1;
        if (timeout < 0)
                timeout = stop_timeout_of(cur);
        int sig = stop_signal_of(cur);
        bool active = is_active(cur) && (vs_ctr_monitor_alive(cur) || cur->unmonitored);
        if (active)
                kill_event(e, cur, sig);
        int r = 0;
        if (vs_ctr_monitor_alive(cur))
                r = stop_monitored(e, cur, sig, timeout, err);
        else if (cur->unmonitored || cur->exit_unknown)
                r = stop_unmonitored(e, &cur, sig, timeout, err);
        if (r == 0 && active)
                vs_ctr_event(e, cur, "stop", NULL, NULL);
        return r;
}

int vs_engine_restart(struct vs_engine *e, struct vs_ctr *c, int timeout, vs_error **err)
{
        if (vs_engine_stop(e, c, timeout, err) < 0 || vs_engine_start(e, c, -1, err) < 0)
                return -1;
        vs_ctr_event(e, c, "restart", NULL, NULL);
        return 0;
}

int vs_engine_kill(struct vs_engine *e, struct vs_ctr *c, int sig, vs_error **err)
{
        _cleanup_ctr_ struct vs_ctr *cur = NULL;
        if (vs_ctr_load(e, c->id, &cur, err) < 0)
                return -1;
        vs_ctr_refresh(e, cur);
        if (!cur->state.running && !cur->state.restarting)
                return vs_fail(err, "container %s is not running", cur->name);
        bool restarting = cur->state.restarting;
        vs_ctr_free(steal_ptr(cur));
        /* Docker: a kill is the user's stop, the restart policy stays out. */
        if (vs_engine_mark_stopped(e, c, &cur, err) < 0)
                return -1;
        if (restarting) {
                _cleanup_close_ int mon = pidfd_of(cur->monitor_pid, cur->monitor_start);
                if (mon >= 0)
                        syscall(SYS_pidfd_send_signal, mon, SIGUSR1, NULL, 0);
                return 0;
        }
        if (vs_ctr_is_vm(cur)) {
                /* The VM launcher forwards the signal to the guest's process;
                 * SIGKILL ends the launcher, and QEMU with it. */
                if (cur->state.pid > 0 && kill(cur->state.pid, sig) < 0 && errno != ESRCH)
                        return vs_fail_errno(err, "container %s", cur->name);
                kill_event(e, cur, sig);
                return 0;
        }
        /* The event first: the monitor writes die as soon as the signal
         * lands (for a paused container, at the thaw below), and Docker's
         * order is kill, then die. */
        kill_event(e, cur, sig);
        if (vs_container_kill(cur->runtime_root, cur->id, sig, false, err) < 0)
                return vs_error_wrap(err, "container %s", cur->name);
        /* Docker kills a paused container: frozen tasks take the signal
         * once thawed. */
        if (cur->state.paused && sig == SIGKILL) {
                vs_ctr_thaw_all(cur);
                _cleanup_close_ int lock = vs_ctr_lock(cur, err);
                if (lock < 0 || vs_ctr_reload(e, &cur, err) < 0)
                        return -1;
                if (cur->state.paused && !cur->unmonitored) {
                        cur->state.paused = false;
                        if (strcmp(cur->state.status, "paused") == 0)
                                set_str(&cur->state.status, "running");
                        if (vs_ctr_save_state(cur, err) < 0)
                                return -1;
                }
        }
        return 0;
}

int vs_engine_pause(struct vs_engine *e, struct vs_ctr *c, bool pause, vs_error **err)
{
        _cleanup_close_ int lock = vs_ctr_lock(c, err);
        if (lock < 0)
                return -1;
        _cleanup_ctr_ struct vs_ctr *cur = NULL;
        if (vs_ctr_load(e, c->id, &cur, err) < 0)
                return -1;
        vs_ctr_refresh(e, cur);
        if (!cur->state.running)
                return vs_fail(err, "container %s is not running", cur->name);
        if (pause && cur->state.paused)
                return vs_fail(err, "container %s is already paused", cur->name);
        if (!pause && !cur->state.paused)
                return vs_fail(err, "container %s is not paused", cur->name);
        /* A VM is stopped and continued by QEMU (QMP, through its launcher). */
        int r =
            vs_ctr_is_vm(cur) ? vs_vm_pause(cur, pause, err) : vs_ctr_freeze_user(cur, pause, err);
        if (r < 0)
                return -1;
        vs_ctr_event(e, cur, pause ? "pause" : "unpause", NULL, NULL);
        if (cur->unmonitored)
                return 0; /* derived state; nothing to record */
        cur->state.paused = pause;
        set_str(&cur->state.status, pause ? "paused" : "running");
        return vs_ctr_save_state(cur, err);
}

/* ---- rm ---- */

void vs_engine_remove_anonymous_volumes(struct vs_engine *e, const struct vs_ctr *c)
{
        for (size_t i = 0; c->mounts && i < json_object_array_length(c->mounts); i++) {
                json_object *m = json_object_array_get_idx(c->mounts, i);
                json_object *anon = json_object_object_get(m, "Anonymous");
                json_object *name = json_object_object_get(m, "Name");
                if (!anon || !json_object_get_boolean(anon) || !name)
                        continue;
                _cleanup_free_ char *dir =
                    xasprintf("%s/volumes/%s", e->data_root, json_object_get_string(name));
                _cleanup_error_ vs_error *err = NULL;
                if (vs_rm_rf(dir, &err) < 0)
                        vs_warn("%s", err->msg);
        }
}

static int rm_once(struct vs_engine *e, struct vs_ctr *c, bool force, bool volumes, vs_error **err);

int vs_engine_rm(struct vs_engine *e, struct vs_ctr *c, bool force, bool volumes, vs_error **err)
{
        int r = rm_once(e, c, force, volumes, err);
        if (r < 0 && !is_enoent(*err))
                return -1;
        /* Someone else (the monitor of a --rm container) may be removing
         * it: that removal holds the names lock until the directory is
         * gone, so wait for it before saying the container is gone. */
        if (vs_path_exists(c->dir)) {
                _cleanup_error_ vs_error *lerr = NULL;
                _cleanup_close_ int names = vs_names_lock(e, &lerr);
                (void) names; /* taken and given back: the wait itself */
        }
        if (r < 0 && !vs_path_exists(c->dir)) {
                vs_error_free(err);
                r = 0;
        }
        return r;
}

static int rm_once(struct vs_engine *e, struct vs_ctr *c, bool force, bool volumes, vs_error **err)
{
        struct vs_ctr *cur = NULL;
        if (vs_ctr_load(e, c->id, &cur, err) < 0)
                return is_enoent(*err) ? (vs_error_free(err), 0) : -1;
        _cleanup_ctr_ struct vs_ctr *owned = cur;
        vs_ctr_refresh(e, cur);
        bool self_monitor = cur->monitor_pid == getpid();
        if (!self_monitor && (is_active(cur) || vs_ctr_monitor_alive(cur))) {
                if (!force && is_active(cur))
                        return vs_fail(err, "container %s is %s: stop it first or use rm -f",
                                       cur->name, cur->state.status);
                struct vs_ctr *marked = NULL;
                if (vs_engine_mark_stopped(e, cur, &marked, err) < 0)
                        return -1;
                vs_ctr_free(owned);
                owned = cur = marked;
                if (vs_ctr_monitor_alive(cur)) {
                        kill_event(e, cur, SIGKILL);
                        if (stop_monitored(e, cur, 0, 0, err) < 0)
                                return -1;
                } else if (cur->unmonitored) {
                        if (stop_unmonitored(e, &owned, 0, 0, err) < 0)
                                return -1;
                        cur = owned;
                }
        }
        if (vs_engine_cleanup_runtime(e, cur, err) < 0)
                return vs_error_wrap(err, "cannot remove container %s", cur->name);
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", cur->dir);
        if (vs_is_mountpoint(rootfs))
                return vs_fail(err, "cannot remove container %s: %s is still mounted", cur->name,
                               rootfs);
        if (vs_engine_net_release(e, cur, err) < 0)
                return vs_error_wrap(err, "cannot remove container %s", cur->name);
        if (volumes)
                vs_engine_remove_anonymous_volumes(e, cur);
        /* The record goes first (so a crash in the middle leaves a directory
         * that listings skip and system prune removes), then the rest, under
         * the names lock as system prune removes such directories. */
        _cleanup_close_ int names = vs_names_lock(e, err);
        if (names < 0)
                return -1;
        _cleanup_free_ char *rec = xasprintf("%s/record.json", cur->dir);
        if (unlink(rec) < 0 && errno != ENOENT)
                return vs_fail_errno(err, "cannot remove %s", rec);
        if (vs_rm_rf(cur->dir, err) < 0)
                return -1;
        vs_userns_release(e, cur->id);
        vs_ctr_event(e, cur, "destroy", NULL, NULL);
        return 0;
}

/* ---- wait ---- */

/* Sleeps until the record changes, the monitor exits, or timeout_ms. */
static void wait_event(const struct vs_ctr *c, int timeout_ms)
{
        _cleanup_close_ int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (in >= 0)
                inotify_add_watch(in, c->dir, IN_MOVED_TO | IN_DELETE_SELF | IN_CLOSE_WRITE);
        _cleanup_close_ int mon = pidfd_of(c->monitor_pid, c->monitor_start);
        struct pollfd p[2] = {{.fd = in, .events = POLLIN}, {.fd = mon, .events = POLLIN}};
        poll(p, 2, timeout_ms);
}

int vs_engine_wait(struct vs_engine *e, struct vs_ctr *c, int *exit_code, vs_error **err)
{
        struct vs_ctr *cur = NULL;
        if (vs_ctr_load(e, c->id, &cur, err) < 0)
                return -1;
        _cleanup_free_ char *started = xstrdup(cur->state.started_at ? cur->state.started_at : "");
        for (;;) {
                vs_ctr_refresh(e, cur);
                const char *s = cur->state.status;
                bool monitor = vs_ctr_monitor_alive(cur);
                bool new_exit = strcmp(s, "restarting") == 0 ||
                                (strcmp(s, "running") == 0 && cur->state.started_at &&
                                 strcmp(cur->state.started_at, started) != 0);
                bool waiting = strcmp(s, "running") == 0 || strcmp(s, "paused") == 0 ||
                               (strcmp(s, "created") == 0 && monitor);
                if (!waiting || new_exit) {
                        *exit_code = cur->state.exit_code;
                        vs_ctr_free(cur);
                        return 0;
                }
                /* Bounded, so a missed event costs a second at most. */
                wait_event(cur, 1000);
                struct vs_ctr *fresh = NULL;
                if (vs_ctr_load(e, c->id, &fresh, err) < 0) {
                        vs_ctr_free(cur);
                        return -1;
                }
                vs_ctr_free(cur);
                cur = fresh;
        }
}

/* ---- rename ---- */

int vs_engine_rename(struct vs_engine *e, struct vs_ctr *c, const char *name, vs_error **err)
{
        if (vs_name_validate(name, err) < 0)
                return -1;
        _cleanup_close_ int names = vs_names_lock(e, err);
        if (names < 0)
                return -1;
        if (vs_name_check_free(e, name, c->id, err) < 0)
                return -1;
        _cleanup_close_ int lock = vs_ctr_lock(c, err);
        if (lock < 0)
                return -1;
        struct vs_ctr *cur = NULL;
        if (vs_ctr_load(e, c->id, &cur, err) < 0)
                return -1;
        _cleanup_free_ char *old = xasprintf("/%s", cur->name);
        set_str(&cur->name, name);
        int r = vs_ctr_save(cur, err);
        if (r == 0)
                vs_ctr_event(e, cur, "rename", "oldName", old);
        vs_ctr_free(cur);
        return r;
}
