/* The OCI runtime's VM isolation: a bundle whose config carries the
 * annotation run.vessel.isolation=vm, or any bundle when vessel is invoked
 * as `vessel-vm`, is created as a VM launcher instead of a namespaced init
 * (docs/vm.md, "As an OCI runtime"). The launcher is the container's init
 * for the runtime and its caller (conmon, containerd's shim): its pid is
 * the pid file's, it sits in the container's cgroup, it waits on the exec
 * fifo like an init until `start`, then boots the guest with the bundle's
 * rootfs and exits with the process's code; kill signals it (forwarded to
 * the guest), delete removes what is left. */
#include "vm/vm.h"
#include "vm/payload.h"
#include "runtime/idmap.h"
#include "runtime/state.h"
#include "../guest/proto.h"
#include "engine/engine.h"
#include "oci/config.h"
#include "runtime/terminal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

bool vs_vm_oci_wanted(const struct oci_config *cfg, bool invoked_as_vm)
{
        if (invoked_as_vm)
                return true;
        const char *v = oci_config_annotation(cfg, VS_VM_ANNOTATION);
        return v && strcmp(v, "vm") == 0;
}

void vs_vm_oci_adjust_resources(struct oci_config *cfg)
{
        struct oci_resources *r = cfg->linux_.resources;
        if (r && r->has_pids && r->pids_limit > 0)
                r->pids_limit += VS_VM_HOST_PIDS;
        if (r == NULL || !r->has_memory)
                return;
        /* The limit is the guest's RAM; the host's cgroup (QEMU, the
         * launcher) needs that plus QEMU's own memory. */
        if (r->memory.has_limit && r->memory.limit > 0)
                r->memory.limit += VS_VM_HOST_OVERHEAD;
        if (r->memory.has_swap && r->memory.swap > 0)
                r->memory.swap += VS_VM_HOST_OVERHEAD;
}

/* Guest RAM: the config's memory limit (before the overhead above was
 * added), else the default; vCPUs: ceil(quota/period), else 1. */
static unsigned memory_mib(const struct oci_config *cfg)
{
        const struct oci_resources *r = cfg->linux_.resources;
        int64_t m = VS_VM_DEFAULT_MEMORY;
        if (r && r->has_memory && r->memory.has_limit && r->memory.limit > VS_VM_HOST_OVERHEAD)
                m = r->memory.limit - VS_VM_HOST_OVERHEAD;
        if (m < VS_VM_MIN_MEMORY)
                m = VS_VM_MIN_MEMORY;
        return (unsigned) ((m + (1 << 20) - 1) >> 20);
}

static unsigned vcpus(const struct oci_config *cfg)
{
        const struct oci_resources *r = cfg->linux_.resources;
        if (r && r->has_cpu && r->cpu.has_quota && r->cpu.quota > 0 && r->cpu.period > 0)
                return (unsigned) (((uint64_t) r->cpu.quota + r->cpu.period - 1) / r->cpu.period);
        return 1;
}

/* The bundle's mounts: directory binds and other regular files' binds
 * become 9p shares (vs_vm_payload_share); file binds onto /etc/hostname,
 * /etc/hosts, /etc/resolv.conf (what podman and containerd bind there) are
 * sent by content; the agent makes its own /proc, /sys, /dev, /dev/pts,
 * /dev/shm; anything else is left out (logged). */
static void add_mounts(const struct oci_config *cfg, struct vs_vm_payload *p, char ***shares)
{
        static const char *const etc[] = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"};
        for (size_t i = 0; i < cfg->n_mounts; i++) {
                const struct oci_mount *m = &cfg->mounts[i];
                if (!m->bind || m->source == NULL)
                        continue;
                struct stat st;
                if (stat(m->source, &st) < 0)
                        continue;
                bool etc_file = false;
                for (size_t k = 0; S_ISREG(st.st_mode) && k < 3; k++) {
                        _cleanup_free_ char *text = NULL;
                        size_t n;
                        if (strcmp(m->destination, etc[k]) != 0)
                                continue;
                        etc_file = true;
                        if (vs_read_file(m->source, &text, &n, NULL) < 0 || strlen(text) != n)
                                continue;
                        _cleanup_free_ char *key = xasprintf("etc.%s", etc[k] + 5);
                        vs_vm_payload_add(p, key, text);
                }
                if (etc_file)
                        continue;
                if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
                        vs_debug("vm: mount %s -> %s left out (neither a directory nor a "
                                 "regular file)",
                                 m->source, m->destination);
                        continue;
                }
                vs_vm_payload_share(p, shares, i, m->source, m->destination,
                                    (m->flags & MS_RDONLY) != 0, S_ISREG(st.st_mode));
        }
}

struct oci_launch {
        struct vs_vm_spec s;
        char *qemu, *kernel, *initrd, *console, *qlog, *jail, *payload;
        char **shares;
        struct vs_vm_overlay *overlay;
};

static void launch_free(struct oci_launch *l)
{
        free(l->qemu);
        free(l->kernel);
        free(l->initrd);
        free(l->console);
        free(l->qlog);
        free(l->jail);
        free(l->payload);
        strv_free(l->shares);
        vs_vm_overlay_free(l->overlay);
}

/* Whether QEMU can run under ids of its own: the root an overlay it can
 * mount again over idmapped layers, or a directory that takes an idmapped
 * bind, and so every shared directory. NULL, or why not. */
static char *why_not_own_ids(const struct oci_config *cfg, const char *state_dir,
                             struct oci_launch *l)
{
        _cleanup_error_ vs_error *e = NULL;
        /* Its files' host ids are the container's mapping (podman
         * --userns=auto chowns the layers), beyond QEMU's 0-65535. */
        if (cfg->linux_.n_uid_mappings || cfg->linux_.n_gid_mappings)
                return xstrdup("the bundle has id mappings (a user namespace)");
        if (vs_vm_overlay_of(cfg->root_path, &l->overlay, &e) < 0)
                return xstrdup(e->msg);
        /* Overlay takes idmapped layers from Linux 5.19. */
        struct utsname u;
        unsigned major = 0, minor = 0;
        if (l->overlay && (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2 ||
                           major < 5 || (major == 5 && minor < 19)))
                return xstrdup("overlayfs takes idmapped layers from Linux 5.19");
        _cleanup_close_ int idmap = vs_vm_jail_idmap_fd(&l->s, &e);
        if (idmap < 0)
                return xstrdup(e->msg);
        /* What the jail binds idmapped besides the root and the shares:
         * the kernel, the initramfs and the console log (tmpfs takes
         * idmapped mounts from Linux 6.3 only). */
        const char *files[] = {l->kernel, l->initrd, state_dir};
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
                if (vs_vm_oci_idmappable(files[i], idmap, &e) < 0)
                        return xstrdup(e->msg);
        for (size_t i = 0; l->shares && l->shares[i] && l->shares[i + 1]; i += 2) {
                if (vs_vm_oci_idmappable(l->shares[i + 1], idmap, &e) < 0)
                        return xstrdup(e->msg);
        }
        if (l->overlay == NULL && vs_vm_oci_idmappable(cfg->root_path, idmap, &e) < 0)
                return xstrdup(e->msg);
        for (size_t i = 0; l->overlay && l->overlay->lowers[i]; i++)
                if (vs_vm_oci_idmappable(l->overlay->lowers[i], idmap, &e) < 0)
                        return xstrdup(e->msg);
        if (l->overlay && l->overlay->base && vs_vm_oci_idmappable(l->overlay->base, idmap, &e) < 0)
                return xstrdup(e->msg);
        return NULL;
}

/* QEMU's own ids (docs/vm.md): a slot of the runtime's block; where the
 * root or a share cannot be seen through them, QEMU stays host root with
 * the jail's five capabilities, and the runtime says why. */
static int own_ids(const struct oci_config *cfg, const char *state_dir, struct oci_launch *l,
                   vs_error **err)
{
        uint32_t start;
        /* A runtime in a user namespace (rootless podman) starts QEMU as
         * an unprivileged host user already. */
        if (vs_host_unprivileged())
                return 0;
        _cleanup_error_ vs_error *aerr = NULL;
        _cleanup_free_ char *why = NULL;
        if (vs_vm_oci_ids_allocate(state_dir, &start, &aerr) < 0) {
                why = xstrdup(aerr->msg);
        } else {
                l->s.jail_uid = l->s.jail_gid = start;
                why = why_not_own_ids(cfg, state_dir, l);
                if (why)
                        vs_vm_oci_ids_release(state_dir);
        }
        if (why) {
                vs_warn("QEMU runs as host root (without ids of its own): %s", why);
                l->s.jail_uid = l->s.jail_gid = 0;
                vs_vm_overlay_free(steal_ptr(l->overlay));
                return 0;
        }
        l->s.root_overlay = l->overlay;
        vs_debug("vm: QEMU's ids %u.. (%s root)", start, l->overlay ? "overlay" : "directory");
        return 0;
}

static int prepare(const struct oci_config *cfg, const char *root, const char *state_dir,
                   struct oci_launch *l, vs_error **err)
{
        struct vs_vm_payload p = {0};
        vs_vm_payload_process(cfg->process, &p);
        vs_vm_payload_isolation(cfg, &p);
        /* The guest's pids limit: the config's, which create raised by
         * VS_VM_HOST_PIDS for the host's cgroup. */
        const struct oci_resources *r = cfg->linux_.resources;
        if (r && r->has_pids && r->pids_limit > VS_VM_HOST_PIDS)
                vs_vm_payload_pids(&p, r->pids_limit - VS_VM_HOST_PIDS);
        if (cfg->hostname)
                vs_vm_payload_add(&p, "hostname", cfg->hostname);
        add_mounts(cfg, &p, &l->shares);
        l->payload = p.buf;
        if (vs_vm_payload_security(root, cfg, cfg->process, &p, err) < 0) {
                l->payload = p.buf;
                return -1;
        }
        l->payload = p.buf;
        /* The kernel from the state root or the shared cache (never built
         * here: an orchestrator's create must not take minutes). */
        if (vs_vm_qemu_path(&l->qemu, err) < 0 ||
            vs_vm_kernel_get(root, false, false, &l->kernel, err) < 0 ||
            vs_vm_initramfs(root, &l->initrd, err) < 0)
                return -1;
        l->console = xasprintf("%s/vm-console.log", state_dir);
        l->qlog = xasprintf("%s/vm-qemu.log", state_dir);
        l->jail = xasprintf("%s/vm-jail", state_dir);
        const char *why = "";
        l->s = (struct vs_vm_spec){
            .qemu = l->qemu,
            .kernel = l->kernel,
            .initrd = l->initrd,
            .rootfs = cfg->root_path,
            .accel = vs_vm_accel_detect(&why),
            .console_log = l->console,
            .qemu_log = l->qlog,
            .mem_mib = memory_mib(cfg),
            .cpus = vcpus(cfg),
            .shares = l->shares,
            .config = l->payload,
            .config_len = p.len,
            .boot_timeout_ms = vs_vm_boot_timeout_ms(),
            .sock_dir = state_dir,
            .tty = cfg->process->terminal,
            .started_fd = -1,
            .jail_dir = l->jail,
        };
        vs_debug("vm: %s (%s), %u MiB, %u vCPUs", l->s.accel, why, l->s.mem_mib, l->s.cpus);
        return own_ids(cfg, state_dir, l, err);
}

/* The worker: boots the guest and relays until its process ends (the
 * fifo closes once QEMU runs, which tells `start` it started); exits with
 * the process's code. */
static void __attribute__((noreturn)) worker(struct oci_launch *l, int fifo)
{
        prctl(PR_SET_NAME, "vessel-vm");
        l->s.started_fd = fifo;
        vs_error *verr = NULL;
        int code = 0;
        int r = l->overlay ? vs_vm_overlay_prepare_work(l->overlay, &verr) : 0;
        if (r == 0)
                r = vs_vm_run(&l->s, 0, 1, 2, &code, &verr);
        vs_vm_overlay_remove_work(l->overlay);
        if (r < 0) {
                /* Before QEMU ran, the fifo is still open (vs_vm_run closed
                 * every fd of its own): `start` reports the error; after,
                 * the caller's stderr (the container's log) does. */
                if (fcntl(fifo, F_GETFD) >= 0)
                        dprintf(fifo, "%s", verr->msg);
                else
                        dprintf(2, "vessel: %s\n", verr->msg);
                _exit(125);
        }
        _exit(code);
}

/* An O_PATH fd on dest under rootfd, made (as runc makes mount targets)
 * when missing: a directory, or an empty file. Every prefix is resolved
 * from the root (RESOLVE_IN_ROOT: the container's symlinks, absolute ones
 * too, stay in it), a missing step made in the directory that resolution
 * gave, and what exists is never opened for more than its place (no FIFO,
 * no device is opened). -1 with errno. */
static int view_target(int rootfd, const char *dest, bool dir)
{
        _cleanup_free_ char *prefix = xstrdup(dest);
        size_t n = strlen(prefix);
        int cur = dup(rootfd);
        bool placed = false;
        for (size_t i = 0; cur >= 0 && i <= n; i++) {
                if (prefix[i] != '/' && prefix[i] != '\0')
                        continue;
                if (i == 0 || prefix[i - 1] == '/')
                        continue;
                char c = prefix[i];
                prefix[i] = '\0';
                placed = true;
                int fd = vs_open_in_root(rootfd, prefix, O_PATH, 0);
                if (fd < 0 && errno == ENOENT) {
                        const char *name = strrchr(prefix, '/');
                        name = name ? name + 1 : prefix;
                        int r;
                        if (c == '/' || dir) {
                                r = mkdirat(cur, name, 0755);
                        } else {
                                r = openat(cur, name,
                                           O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                                           0644);
                                if (r >= 0)
                                        close(r);
                        }
                        fd = r < 0 && errno != EEXIST ? -1
                                                      : vs_open_in_root(rootfd, prefix, O_PATH, 0);
                }
                int e = errno;
                close(cur);
                cur = fd;
                errno = e;
                prefix[i] = c;
        }
        if (!placed && cur >= 0) { /* "/": not a target */
                close(cur);
                errno = EINVAL;
                return -1;
        }
        return cur;
}

/* The bundle's binds, seen at their destinations in the stand-in's view;
 * one that cannot be placed is left out of the view only. */
static void view_binds(const struct oci_config *cfg, int rootfd)
{
        for (size_t i = 0; i < cfg->n_mounts; i++) {
                const struct oci_mount *m = &cfg->mounts[i];
                struct stat st;
                if (!m->bind || m->source == NULL || stat(m->source, &st) < 0 ||
                    !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))
                        continue;
                _cleanup_close_ int target =
                    view_target(rootfd, m->destination, S_ISDIR(st.st_mode));
                _cleanup_close_ int tree =
                    target < 0 ? -1
                               : open_tree(AT_FDCWD, m->source,
                                           OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
                struct mount_attr a = {.attr_set =
                                           MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                           ((m->flags & MS_RDONLY) ? MOUNT_ATTR_RDONLY : 0)};
                if (tree < 0 ||
                    mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0 ||
                    move_mount(tree, "", target, "",
                               MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                        vs_debug("vm: %s left out of the launcher's view: %s", m->destination,
                                 strerror(errno));
        }
}

/* The stand-in's mount namespace: the container's root as "/" (with the
 * bundle's binds), nothing of the host's. Callers that reach into a
 * container through its pid's namespaces (podman cp joins its mount
 * namespace and works at "/") then reach the container's files, not the
 * host's. */
static int enter_view(const struct oci_config *cfg, vs_error **err)
{
        const char *root = cfg->root_path;
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return vs_fail_errno(err, "cannot make the VM launcher's mount namespace");
        if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
                return vs_fail_errno(err, "cannot bind %s", root);
        _cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return vs_fail_errno(err, "cannot open %s", root);
        view_binds(cfg, rootfd);
        /* As the guest has it (and the binds keep their own). */
        if (cfg->root_readonly &&
            mount(NULL, root, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
                return vs_fail_errno(err, "cannot make %s read-only", root);
        if (fchdir(rootfd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
            umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
                return vs_fail_errno(err, "cannot make %s the VM launcher's root", root);
        return 0;
}

static const int stand_in_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD};

/* The launcher: waits for `start` on the exec fifo (as an init does), then
 * forks the worker that boots the guest and stands in for it (the pid the
 * caller knows): the signals it gets go to the worker (and so to the
 * guest), it exits with the worker's code, and its root is the
 * container's (enter_view). The worker dies with it (and QEMU with the
 * worker). */
static void __attribute__((noreturn))
launcher(struct oci_launch *l, const struct oci_config *cfg, int fifo_fd, int slave)
{
        prctl(PR_SET_NAME, "vessel-vm");
        if (slave >= 0) {
                if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
                        _exit(125);
                dup2(slave, 0);
                dup2(slave, 1);
                dup2(slave, 2);
        }
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fifo_fd);
        int fifo = open(path, O_WRONLY | O_CLOEXEC); /* blocks until `start` */
        if (fifo < 0)
                _exit(125);
        /* Nothing of the runtime's (locks, sockets) stays open. */
        if (fifo > 3)
                syscall(SYS_close_range, 3, (unsigned) fifo - 1, 0);
        syscall(SYS_close_range, (unsigned) fifo + 1, ~0U, 0);
        sigset_t set;
        sigemptyset(&set);
        for (size_t i = 0; i < sizeof(stand_in_signals) / sizeof(stand_in_signals[0]); i++)
                sigaddset(&set, stand_in_signals[i]);
        signal(SIGCHLD, SIG_DFL); /* an ignored SIGCHLD would never come */
        sigprocmask(SIG_BLOCK, &set, NULL);
        pid_t self = getpid();
        pid_t w = fork();
        if (w < 0) {
                dprintf(fifo, "cannot fork the VM worker: %s", strerror(errno));
                _exit(125);
        }
        if (w == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != self)
                        _exit(125);
                /* The forwarded signals stay blocked until the VM's relay
                 * takes them (vs_vm_run): one that came before would end
                 * the worker by its default action. */
                sigset_t chld;
                sigemptyset(&chld);
                sigaddset(&chld, SIGCHLD);
                sigprocmask(SIG_UNBLOCK, &chld, NULL);
                worker(l, fifo);
        }
        vs_error *verr = NULL;
        if (enter_view(cfg, &verr) < 0) {
                kill(w, SIGKILL);
                dprintf(fifo, "%s", verr->msg);
                _exit(125);
        }
        close(fifo);
        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&set, &si);
                if (sig == SIGCHLD) {
                        int st;
                        if (waitpid(w, &st, WNOHANG) != w)
                                continue;
                        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
                }
                if (sig > 0)
                        kill(w, sig);
        }
}

bool vs_vm_oci_state_is_vm(json_object *annotations)
{
        json_object *v = json_object_object_get(annotations, VS_VM_ANNOTATION);
        return v && strcmp(json_object_get_string(v), "vm") == 0;
}

pid_t vs_vm_oci_spawn(const struct oci_config *cfg, const char *root, const char *state_dir,
                      int fifo_fd, const char *console_socket, vs_error **err)
{
        struct oci_launch l = {0};
        pid_t pid = -1;
        int master = -1, slave = -1, console = -1;
        if (prepare(cfg, root, state_dir, &l, err) < 0)
                goto out;
        if (cfg->process->terminal) {
                /* The caller's console socket gets a host pty's master; the
                 * launcher relays its raw slave to the guest's own pty. */
                console = vs_console_socket_connect(console_socket, err);
                if (console < 0 || vs_vm_open_pty(&master, &slave, err) < 0 ||
                    vs_send_fd(console, master, "console", err) < 0)
                        goto out;
        }
        pid = fork();
        if (pid < 0) {
                vs_fail_errno(err, "cannot fork the VM launcher");
                goto out;
        }
        if (pid == 0)
                launcher(&l, cfg, fifo_fd, slave);
out:
        if (master >= 0)
                close(master);
        if (slave >= 0)
                close(slave);
        if (console >= 0)
                close(console);
        launch_free(&l);
        return pid;
}

/* The relay that stands for an exec'd process: the caller's stdio (or the
 * pty's slave) to and from the session, signals as SIGNAL frames, the
 * window size as RESIZE; exits with the process's code (137 when the VM
 * ended first). */
static void __attribute__((noreturn)) exec_relay(int fd, int slave)
{
        if (slave >= 0) {
                if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
                        _exit(126);
                dup2(slave, 0);
                dup2(slave, 1);
                dup2(slave, 2);
                close(slave);
        }
        static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
        sigset_t set;
        sigemptyset(&set);
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
                sigaddset(&set, sigs[i]);
        sigprocmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);
        int sfd = signalfd(-1, &set, SFD_CLOEXEC);
        bool in_open = true;
        for (bool first = true;; first = false) {
                struct winsize ws;
                if (slave >= 0 && first && ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row) {
                        char b[32];
                        int n = snprintf(b, sizeof(b), "%u %u", ws.ws_row, ws.ws_col);
                        vs_frame_write(fd, VS_FRAME_RESIZE, b, (size_t) n);
                }
                struct pollfd p[3] = {{.fd = fd, .events = POLLIN},
                                      {.fd = in_open ? 0 : -1, .events = POLLIN},
                                      {.fd = sfd, .events = POLLIN}};
                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        _exit(126);
                }
                if (p[2].revents) {
                        struct signalfd_siginfo si;
                        if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                                char b[32];
                                int n;
                                if (si.ssi_signo == SIGWINCH) {
                                        if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row) {
                                                n = snprintf(b, sizeof(b), "%u %u", ws.ws_row,
                                                             ws.ws_col);
                                                vs_frame_write(fd, VS_FRAME_RESIZE, b, (size_t) n);
                                        }
                                } else {
                                        n = snprintf(b, sizeof(b), "%u", si.ssi_signo);
                                        vs_frame_write(fd, VS_FRAME_SIGNAL, b, (size_t) n);
                                }
                        }
                }
                if (p[1].revents) {
                        char buf[16384];
                        ssize_t n = read(0, buf, sizeof(buf));
                        if (n > 0) {
                                vs_frame_write(fd, VS_FRAME_STDIN, buf, (size_t) n);
                        } else if (n == 0 || errno != EINTR) {
                                in_open = false;
                                vs_frame_write(fd, VS_FRAME_STDIN_EOF, NULL, 0);
                        }
                }
                if (p[0].revents) {
                        enum vs_frame_type type;
                        char *data = NULL;
                        size_t len = 0;
                        if (vs_frame_read(fd, &type, &data, &len) <= 0)
                                _exit(137);
                        if (type == VS_FRAME_STDOUT || type == VS_FRAME_STDERR)
                                vs_write_all(type == VS_FRAME_STDOUT ? 1 : 2, data, len);
                        else if (type == VS_FRAME_EXIT)
                                _exit(atoi(data) & 0xff);
                        free(data);
                }
        }
}

int vs_vm_oci_exec(const char *root, const char *state_dir, const char *id,
                   const struct oci_config *cfg, const struct oci_process *proc,
                   const char *console_socket, const char *pid_file, bool detach, int *exit_status,
                   vs_error **err)
{
        _cleanup_free_ char *payload = NULL;
        size_t len = 0;
        /* The caller hands the process the stdin it should have. */
        if (vs_vm_payload_exec(root, cfg, proc, true, &payload, &len, err) < 0)
                return -1;
        if (proc->terminal && console_socket == NULL)
                return vs_fail(err, "process.terminal is true: --console-socket is required "
                                    "for a VM container's exec");
        _cleanup_close_ int fd = vs_vm_connect(state_dir, id, err);
        if (fd < 0)
                return -1;
        if (vs_frame_write(fd, (enum vs_frame_type) VS_VM_EXEC, payload, len) < 0)
                return vs_fail_errno(err, "container %s: cannot send the exec request", id);
        _cleanup_close_ int master = -1, slave = -1, console = -1;
        if (proc->terminal) {
                console = vs_console_socket_connect(console_socket, err);
                if (console < 0 || vs_vm_open_pty(&master, &slave, err) < 0 ||
                    vs_send_fd(console, master, "console", err) < 0)
                        return -1;
        }
        pid_t pid = fork();
        if (pid < 0)
                return vs_fail_errno(err, "cannot fork");
        if (pid == 0)
                exec_relay(fd, slave);
        if (pid_file && vs_write_pid_file(pid_file, pid, err) < 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                return -1;
        }
        *exit_status = 0;
        if (detach)
                return 0;
        int st;
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return vs_fail_errno(err, "cannot wait for the exec relay");
        *exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return 0;
}
