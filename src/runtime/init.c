#include "runtime/init.h"
#include "runtime/idmap.h"
#include "runtime/process.h"
#include "runtime/caps.h"
#include "runtime/cgroup.h"
#include "runtime/hooks.h"
#include "runtime/rootfs.h"
#include "runtime/seccomp.h"
#include "runtime/sync.h"
#include "runtime/terminal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "version.h"

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

char *vs_hook_state_json(const char *id, const char *bundle, const char *status, pid_t pid,
                         const struct oci_config *cfg)
{
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object_object_add(o, "ociVersion", json_object_new_string(VESSEL_OCI_VERSION));
        json_object_object_add(o, "id", json_object_new_string(id));
        json_object_object_add(o, "status", json_object_new_string(status));
        json_object_object_add(o, "pid", json_object_new_int(pid));
        json_object_object_add(o, "bundle", json_object_new_string(bundle));
        json_object *ann = json_object_new_object();
        for (size_t i = 0; cfg && i < cfg->n_annotations; i++)
                json_object_object_add(ann, cfg->annotations[i].key,
                                       json_object_new_string(cfg->annotations[i].value));
        json_object_object_add(o, "annotations", ann);
        return vs_json_to_string(o, false);
}

static int write_time_offsets(const struct oci_config *cfg, vs_error **err)
{
        const struct oci_linux *l = &cfg->linux_;
        if (l->n_time_offsets == 0)
                return 0;
        _cleanup_free_ char *text = xstrdup("");
        for (size_t i = 0; i < l->n_time_offsets; i++) {
                char *t =
                    xasprintf("%s%s %s\n", text, l->time_offsets[i].key, l->time_offsets[i].value);
                free(text);
                text = t;
        }
        if (vs_write_file_at(AT_FDCWD, "/proc/self/timens_offsets", text, strlen(text), err) < 0)
                return vs_error_wrap(err, "linux.timeOffsets");
        return 0;
}

/* SYNC_GO, always the runtime's first message: once received, the id
 * mappings and oomScoreAdj are written and the host pid is known. Only a new
 * user namespace needs it before setup; otherwise it is taken where the host
 * pid is first needed, so the init never waits for the runtime to be
 * scheduled before it starts its mounts. */
static int await_go(struct vs_init_args *a, vs_error **err)
{
        struct vs_sync_msg m;
        if (a->host_pid > 0)
                return 0;
        if (vs_sync_recv(a->sync_fd, &m) < 0 || m.type != SYNC_GO)
                return vs_fail_errno(err, "lost the runtime before setup");
        a->host_pid = m.value;
        return 0;
}

static int enter_cgroup(struct vs_rootfs_ctx *ctx, vs_error **err)
{
        struct vs_init_args *a = ctx->enter_arg;
        if (ctx->cgroup_self)
                return 0;
        /* The runtime completes the cgroups while we mount (SYNC_CGROUP). */
        struct vs_sync_msg m;
        if (await_go(a, err) < 0)
                return -1;
        if (vs_sync_recv(a->sync_fd, &m) < 0 || m.type != SYNC_CGROUP)
                return vs_fail_errno(err, "lost the runtime while it set up cgroups");
        if (a->self_cgroup && vs_cgroup_enter_self(a->self_cgroup, a->v2_at_birth, err) < 0)
                return -1;
        return vs_read_file("/proc/self/cgroup", &ctx->cgroup_self, NULL, err);
}

/* lo up in a network namespace the container made (VS_LOOPBACK_ANNOTATION). */
static int loopback_up(const struct oci_config *cfg, vs_error **err)
{
        const char *want = oci_config_annotation(cfg, VS_LOOPBACK_ANNOTATION);
        const struct oci_namespace *net = oci_config_namespace(cfg, OCI_NS_NETWORK);
        if (!want || strcmp(want, "up") != 0 || !net || net->path)
                return 0;
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = {0};
        strcpy(ifr.ifr_name, "lo");
        if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return vs_fail_errno(err, "%s: cannot read the loopback's flags",
                                     VS_LOOPBACK_ANNOTATION);
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return vs_fail_errno(err, "%s: cannot bring the loopback up",
                                     VS_LOOPBACK_ANNOTATION);
        return 0;
}

/* Everything up to SYNC_CREATED; errors go back to the parent. */
static int build(struct vs_init_args *a, struct vs_rootfs_ctx *ctx, char **exe, int *procfd,
                 vs_error **err)
{
        const struct oci_config *cfg = a->cfg;
        const struct oci_process *p = cfg->process;
        struct vs_sync_msg m;
        if (a->new_userns && await_go(a, err) < 0)
                return -1;
        if (a->rootless)
                prctl(PR_SET_DUMPABLE, 0); /* the maps are written */
        if (a->new_userns) {
                if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                        return vs_fail_errno(err,
                                             "linux.uidMappings: cannot become root in the new "
                                             "user namespace (is 0 mapped?)");
        }
        if (cfg->hostname && *cfg->hostname &&
            sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
                return vs_fail_errno(err, "hostname: cannot set '%s'", cfg->hostname);
        if (cfg->domainname && *cfg->domainname &&
            setdomainname(cfg->domainname, strlen(cfg->domainname)) < 0)
                return vs_fail_errno(err, "domainname: cannot set '%s'", cfg->domainname);
        if (loopback_up(cfg, err) < 0)
                return -1;
        umask(0);
        ctx->enter_arg = a;
        ctx->enter_cgroup = enter_cgroup;
        if (vs_rootfs_prepare(ctx, err) < 0 || vs_rootfs_mount_all(ctx, err) < 0 ||
            enter_cgroup(ctx, err) < 0)
                return -1;
        /* After the cgroup move, so a new cgroup namespace is rooted at the
         * container's cgroup. */
        if (a->late_unshare && unshare(a->late_unshare) < 0)
                return vs_fail_errno(err, "linux.namespaces: cannot create the %s namespace",
                                     a->late_unshare & CLONE_NEWTIME ? "time/cgroup" : "cgroup");
        if ((a->late_unshare & CLONE_NEWTIME) && write_time_offsets(cfg, err) < 0)
                return -1;

        if (await_go(a, err) < 0)
                return -1;
        /* The runtime runs these between the mounts and pivot_root; without
         * any, no round trip to it. */
        if (cfg->hooks.n_prestart || cfg->hooks.n_create_runtime) {
                if (vs_sync_send(a->sync_fd, SYNC_HOOKS, 0, NULL) < 0)
                        return vs_fail_errno(err, "lost the runtime");
                if (vs_sync_recv(a->sync_fd, &m) < 0 || m.type != SYNC_HOOKS_DONE)
                        return vs_fail_errno(err, "lost the runtime while it ran hooks");
        }
        if (cfg->hooks.n_create_container) {
                _cleanup_free_ char *state =
                    vs_hook_state_json(a->id, a->bundle, "creating", a->host_pid, cfg);
                if (vs_hooks_run(cfg->hooks.create_container, cfg->hooks.n_create_container,
                                 "createContainer", state, err) < 0)
                        return -1;
        }
        /* The host's procfs, kept to reopen the exec fifo after pivot. */
        *procfd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (*procfd < 0)
                return vs_fail_errno(err, "cannot open /proc/self/fd");
        if (vs_rootfs_pivot(ctx, err) < 0 || vs_rootfs_finish(ctx, err) < 0)
                return -1;
        if (p->terminal &&
            vs_terminal_setup(ctx->rootfd, a->console_fd, ctx, true, p->has_console_size,
                              (uint16_t) p->console_height, (uint16_t) p->console_width, err) < 0)
                return -1;
        if (a->console_fd >= 0) {
                close(a->console_fd);
                a->console_fd = -1;
        }
        if (vs_rootfs_readonly_root(ctx, err) < 0)
                return -1;
        if (cfg->linux_.has_personality) {
                unsigned long persona =
                    cfg->linux_.personality_domain &&
                            strcmp(cfg->linux_.personality_domain, "LINUX32") == 0
                        ? PER_LINUX32
                        : PER_LINUX;
                if (personality(persona) < 0)
                        return vs_fail_errno(err, "linux.personality: cannot set it");
        }
        if (vs_process_prepare(p, a->seccomp, exe, err) < 0)
                return -1;
        return 0;
}

_Noreturn void vs_init_main(struct vs_init_args *a)
{
        /* Die with the runtime while it sets us up (had it died already, the
         * sync socket reports EOF); and hide /proc/self/exe (the host binary)
         * from anything in the container (CVE-2019-5736) until the exec
         * stub replaces it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* The runtime's end of the sync socket came with the clone: closed,
         * so that the runtime's death is our EOF. A runtime killed between
         * our clone and that prctl sends no signal: its end is closed then,
         * so go at once. (A `create` killed there left an init blocked on
         * the socket for good, holding its end and the new cgroup.) */
        if (a->parent_sync_fd >= 0 && a->parent_sync_fd != a->sync_fd)
                close(a->parent_sync_fd);
        struct pollfd hup = {.fd = a->sync_fd, .events = POLLIN};
        if (poll(&hup, 1, 0) == 1 && (hup.revents & (POLLHUP | POLLERR)))
                _exit(1);
        if (!a->rootless)
                prctl(PR_SET_DUMPABLE, 0);

        struct vs_rootfs_ctx ctx = {.cfg = a->cfg,
                                    .in_userns = a->in_userns || vs_in_user_namespace(),
                                    .no_pivot = a->no_pivot,
                                    .rootfd = -1,
                                    .root_is_cwd = a->root_is_cwd,
                                    .bind_fds = a->bind_fds,
                                    .n_bind_fds = a->n_bind_fds,
                                    .shared_mntns = !oci_config_namespace(a->cfg, OCI_NS_MOUNT)};
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_free_ char *exe = NULL;
        int procfd = -1;
        if (build(a, &ctx, &exe, &procfd, &err) < 0) {
                vs_sync_send_error(a->sync_fd, err);
                _exit(1);
        }
        if (!a->die_with_caller)
                prctl(PR_SET_PDEATHSIG, 0);
        if (vs_sync_send(a->sync_fd, SYNC_CREATED, 0, NULL) < 0)
                _exit(1);

        const struct oci_config *cfg = a->cfg;
        close(ctx.rootfd);
        /* Without startContainer hooks to run (vessel's code) after `start`,
         * the exec stub waits on the fifo: from here on no process in the
         * container runs the vessel binary (CVE-2019-5736). */
        bool waited = cfg->hooks.n_start_container == 0;
        /* The runtime records the container as created once the sync
         * socket closes: after the stub made itself non-dumpable. */
        if (waited)
                vs_process_exec(cfg->process, a->seccomp, exe, a->preserve_fds, procfd, a->fifo_fd,
                                -1, a->sync_fd, NULL, false, &err);
        close(a->sync_fd);
        /* Blocks until `start` opens the other end. */
        char name[32];
        snprintf(name, sizeof(name), "%d", a->fifo_fd);
        int fifo = openat(procfd, name, O_WRONLY | O_CLOEXEC);
        if (fifo < 0)
                _exit(1);
        close(procfd);
        close(a->fifo_fd);
        if (waited) { /* what kept the stub from waiting, for `start` */
                dprintf(fifo, "%s", err->msg);
                _exit(127);
        }
        if (cfg->hooks.n_start_container) {
                _cleanup_free_ char *state =
                    vs_hook_state_json(a->id, a->bundle, "created", a->host_pid, cfg);
                if (vs_hooks_run(cfg->hooks.start_container, cfg->hooks.n_start_container,
                                 "startContainer", state, &err) < 0) {
                        dprintf(fifo, "%s", err->msg);
                        _exit(1);
                }
        }
        vs_process_exec(cfg->process, a->seccomp, exe, a->preserve_fds, -1, fifo, -1, -1, NULL,
                        false, &err);
        dprintf(fifo, "%s", err->msg);
        _exit(127);
}
