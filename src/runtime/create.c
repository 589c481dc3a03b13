/* `create`: the parent side of container creation. */
#include "runtime/caps.h"
#include "runtime/cgroup.h"
#include "runtime/container.h"
#include "vm/vm.h"
#include "runtime/hooks.h"
#include "runtime/hostmounts.h"
#include "runtime/idmap.h"
#include "runtime/init.h"
#include "runtime/rootfs.h"
#include "runtime/seccomp.h"
#include "runtime/stage.h"
#include "runtime/state.h"
#include "runtime/sync.h"
#include "runtime/terminal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int write_id_map(pid_t pid, const char *file, const struct oci_id_mapping *maps, size_t n,
                        const char *field, vs_error **err)
{
        if (vs_idmap_write(pid, file, maps, n, err) < 0)
                return vs_error_wrap(err, "%s", field);
        return 0;
}

struct host_sources {
        int *fds;
        size_t n;
};

static void host_sources_free(struct host_sources *h)
{
        for (size_t i = 0; i < h->n; i++)
                if (h->fds[i] >= 0)
                        close(h->fds[i]);
        free(h->fds);
        *h = (struct host_sources){0};
}

static int open_host_sources(const struct oci_config *cfg, struct host_sources *h, vs_error **err)
{
        h->fds = xmalloc((cfg->n_mounts ? cfg->n_mounts : 1) * sizeof(int));
        for (h->n = 0; h->n < cfg->n_mounts; h->n++) {
                const struct oci_mount *m = &cfg->mounts[h->n];
                h->fds[h->n] = -1;
                if (m->bind && (h->fds[h->n] = vs_rootfs_clone_source(m, h->n, err)) < 0)
                        return -1;
                if (m->n_uid_mappings) {
                        _cleanup_close_ int ns =
                            vs_idmap_userns_fd(m->uid_mappings, m->n_uid_mappings, m->gid_mappings,
                                               m->n_gid_mappings, err);
                        if (ns < 0 ||
                            vs_idmap_apply(h->fds[h->n], ns, m->recursive, m->source, err) < 0) {
                                close(h->fds[h->n]);
                                h->fds[h->n] = -1;
                                return vs_error_wrap(err, "mounts[%zu]", h->n);
                        }
                }
        }
        return 0;
}

static bool any_idmapped(const struct oci_config *cfg)
{
        for (size_t i = 0; i < cfg->n_mounts; i++)
                if (cfg->mounts[i].n_uid_mappings)
                        return true;
        return false;
}

static bool mount_ns_joined(const struct oci_config *cfg)
{
        for (size_t i = 0; i < cfg->linux_.n_namespaces; i++)
                if (cfg->linux_.namespaces[i].type == OCI_NS_MOUNT &&
                    cfg->linux_.namespaces[i].path)
                        return true;
        return false;
}

static int deny_setgroups(pid_t pid, vs_error **err)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/setgroups", (int) pid);
        if (vs_write_file_at(AT_FDCWD, path, "deny", 4, err) < 0)
                return vs_error_wrap(err, "linux.gidMappings (rootless)");
        return 0;
}

/* Limits that need a cgroup (device rules alone do not: a user namespace
 * cannot create device nodes). */
static bool has_limits(const struct oci_resources *r)
{
        return r && (r->has_memory || r->has_cpu || r->has_pids || r->has_block_io ||
                     r->n_hugepage_limits || r->has_network || r->n_unified);
}

/* A cgroup an unprivileged caller could not make: say why limits cannot
 * be had here, instead of the bare EACCES. */
static int rootless_limits_error(vs_error **err)
{
        if (!vs_host_unprivileged() || *err == NULL ||
            ((*err)->errno_ != EACCES && (*err)->errno_ != EPERM && (*err)->errno_ != EROFS))
                return -1;
        const char *mode = vs_cgroup_mode();
        bool v2 = mode && strcmp(mode, "v2") == 0;
        return vs_error_wrap(err,
                             "linux.resources: an unprivileged user cannot have limits here (%s)",
                             v2 ? "the cgroup2 tree is not delegated to this user; ask systemd "
                                  "for a delegated scope (Delegate=yes)"
                                : "cgroup v1 hierarchies cannot be delegated to an unprivileged "
                                  "user; run without limits or as root");
}

/* Spawns the init. Namespaces joined by path are entered by an
 * intermediate process, so that the new ones the init creates are owned by
 * a joined user namespace and a joined pid namespace applies to the init. */
static pid_t spawn_init(struct vs_init_args *a, unsigned long flags, bool any_path, vs_error **err)
{
        fflush(NULL);
        if (!any_path) {
                pid_t pid = -1;
                _cleanup_close_ int v2 = a->self_cgroup ? vs_cgroup_v2_dirfd(a->self_cgroup) : -1;
                if (v2 >= 0) {
                        pid = vs_clone_into_cgroup(flags, v2);
                        if (pid == 0) {
                                a->v2_at_birth = true;
                                vs_init_main(a);
                        }
                }
                if (pid < 0)
                        pid = vs_raw_clone(flags | SIGCHLD);
                if (pid < 0)
                        return vs_fail_errno(err, "cannot create the container's namespaces");
                if (pid == 0)
                        vs_init_main(a);
                return pid;
        }
        int pp[2];
        if (pipe2(pp, O_CLOEXEC) < 0)
                return vs_fail_errno(err, "cannot create a pipe");
        pid_t stage = fork();
        if (stage < 0) {
                close(pp[0]);
                close(pp[1]);
                return vs_fail_errno(err, "cannot fork");
        }
        if (stage == 0) {
                close(pp[0]);
                const struct oci_config *cfg = a->cfg;
                char msg[512] = "";
                /* User namespace last: before it we still hold host root. */
                for (int pass = 0; pass < 2 && !*msg; pass++) {
                        for (size_t i = 0; i < cfg->linux_.n_namespaces; i++) {
                                const struct oci_namespace *ns = &cfg->linux_.namespaces[i];
                                if (!ns->path || (ns->type == OCI_NS_USER) != (pass == 1))
                                        continue;
                                int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
                                if (fd < 0 || setns(fd, oci_ns_clone_flag(ns->type)) < 0) {
                                        snprintf(msg, sizeof(msg),
                                                 "linux.namespaces[%zu]: cannot join %s "
                                                 "namespace %s: %s",
                                                 i, oci_ns_type_name(ns->type), ns->path,
                                                 strerror(errno));
                                        break;
                                }
                                close(fd);
                        }
                }
                pid_t pid = -1;
                if (!*msg) {
                        pid = vs_raw_clone(flags | CLONE_PARENT | SIGCHLD);
                        if (pid == 0) {
                                close(pp[1]);
                                vs_init_main(a);
                        }
                        if (pid < 0)
                                snprintf(msg, sizeof(msg),
                                         "cannot create the container's namespaces: %s",
                                         strerror(errno));
                }
                vs_stage_report(pp[1], pid, msg);
                _exit(0);
        }
        close(pp[1]);
        pid_t pid = vs_stage_wait(pp[0], stage, "cannot spawn the container init", err);
        close(pp[0]);
        return pid;
}

/* Devices every container gets whatever its device rules say (as runc
 * does): the default /dev nodes, ptys, and mknod of any node. Nodes listed
 * in linux.devices are created but need their own rule, as with runc.
 * Appended after the config's own rules so a
 * leading deny-all does not shut them out. */
static void allow_default_devices(struct oci_config *cfg)
{
        struct oci_resources *r = cfg->linux_.resources;
        if (r == NULL || r->n_devices == 0)
                return;
        static const struct {
                char type;
                int64_t major, minor;
                const char *access;
        } defaults[] = {
            {'c', -1, -1, "m"}, {'b', -1, -1, "m"}, {'c', 1, 3, "rwm"},    {'c', 1, 5, "rwm"},
            {'c', 1, 7, "rwm"}, {'c', 1, 8, "rwm"}, {'c', 1, 9, "rwm"},    {'c', 5, 0, "rwm"},
            {'c', 5, 1, "rwm"}, {'c', 5, 2, "rwm"}, {'c', 136, -1, "rwm"},
        };
        size_t nd = sizeof(defaults) / sizeof(defaults[0]);
        size_t n = r->n_devices + nd;
        r->devices = xrealloc(r->devices, n * sizeof(*r->devices));
        struct oci_device_cgroup *d = &r->devices[r->n_devices];
        for (size_t i = 0; i < nd; i++, d++)
                *d = (struct oci_device_cgroup){.allow = true,
                                                .type = defaults[i].type,
                                                .major = defaults[i].major,
                                                .minor = defaults[i].minor,
                                                .access = xstrdup(defaults[i].access)};
        r->n_devices = (size_t) (d - r->devices);
}

struct create_ctx {
        const struct vs_create_opts *o;
        struct oci_config *cfg;
        char *bundle;
        char *state_dir;
        struct vs_cgroup *cgroup;
        pid_t pid;
        bool dir_created;
        /* Without a mount namespace: the mounts under root.path before. */
        bool shared_mntns;
        struct vs_mount_ids mounts_before;
        struct vs_seccomp_prog *seccomp;
        struct vs_state rec; /* what state.json says, from the claim on */
        int exec_fifo;       /* the read end for run, or -1 */
        bool vm;             /* VM isolation (src/vm/oci.c) */
};

static void create_cleanup(struct create_ctx *c)
{
        if (c->pid > 0) {
                kill(c->pid, SIGKILL);
                while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        if (c->shared_mntns)
                vs_host_mounts_release_new(c->cfg->root_path, &c->mounts_before);
        if (c->cgroup) {
                _cleanup_error_ vs_error *e = NULL;
                if (vs_cgroup_destroy(c->cgroup, &e) < 0)
                        vs_warn("%s", e->msg);
        }
        if (c->dir_created) {
                _cleanup_error_ vs_error *e = NULL;
                if (vs_rm_rf(c->state_dir, &e) < 0)
                        vs_warn("%s", e->msg);
        }
        if (c->vm && c->state_dir)
                vs_vm_oci_ids_release(c->state_dir);
}

static int run_create_hooks(struct create_ctx *c, vs_error **err)
{
        const struct oci_hooks *h = &c->cfg->hooks;
        if (h->n_prestart == 0 && h->n_create_runtime == 0)
                return 0;
        _cleanup_free_ char *state =
            vs_hook_state_json(c->o->id, c->bundle, "creating", c->pid, c->cfg);
        if (vs_hooks_run(h->prestart, h->n_prestart, "prestart", state, err) < 0 ||
            vs_hooks_run(h->create_runtime, h->n_create_runtime, "createRuntime", state, err) < 0)
                return -1;
        return 0;
}

/* Records the creation's progress in state.json: everything a `delete -f`
 * needs to undo it should this process die (kill -9) before it is done. */
static int save_progress(struct create_ctx *c, bool done, vs_error **err)
{
        struct vs_state *r = &c->rec;
        json_object_put(r->cgroup);
        r->cgroup = c->cgroup ? vs_cgroup_to_json(c->cgroup) : NULL;
        r->pid = c->pid;
        r->pid_start = c->pid > 0 ? vs_proc_start_time(c->pid) : 0;
        if (done) {
                r->creator = 0;
                r->creator_start = 0;
        }
        return vs_state_save_in(c->state_dir, r, err);
}

/* Removes claims (below) whose creator died before renaming them. */
static void sweep_stale_claims(const char *root)
{
        _cleanup_closedir_ DIR *d = opendir(root);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
                int pid;
                unsigned long long start;
                if (sscanf(de->d_name, ".claim.%d.%llu", &pid, &start) != 2 ||
                    vs_proc_start_time(pid) == start)
                        continue;
                _cleanup_free_ char *path = xasprintf("%s/%s", root, de->d_name);
                _cleanup_error_ vs_error *e = NULL;
                if (vs_rm_rf(path, &e) < 0)
                        vs_debug("%s", e->msg);
        }
}

/* Claims the id: a directory holding the exec fifo and the first state
 * record (naming this process as its creator) is renamed into place in one
 * step, so that <root>/<id> never exists without a state.json. */
static int claim_id(struct create_ctx *c, vs_error **err)
{
        const struct vs_create_opts *o = c->o;
        sweep_stale_claims(o->root);
        c->state_dir = vs_state_dir(o->root, o->id);
        struct vs_state *r = &c->rec;
        r->id = (char *) o->id;
        r->bundle = c->bundle;
        r->rootfs = c->cfg->root_path;
        r->created = vs_now_rfc3339();
        struct passwd *pw = getpwuid(geteuid());
        r->owner = xstrdup(pw ? pw->pw_name : "");
        r->annotations = json_object_new_object();
        for (size_t i = 0; i < c->cfg->n_annotations; i++)
                json_object_object_add(r->annotations, c->cfg->annotations[i].key,
                                       json_object_new_string(c->cfg->annotations[i].value));
        r->creator = getpid();
        r->creator_start = vs_proc_start_time(r->creator);

        _cleanup_free_ char *tmp =
            xasprintf("%s/.claim.%d.%llu", o->root, (int) r->creator, r->creator_start);
        if (vs_rm_rf(tmp, err) < 0)
                return -1;
        if (mkdir(tmp, 0711) < 0)
                return vs_fail_errno(err, "cannot create %s", tmp);
        _cleanup_free_ char *fifo = xasprintf("%s/exec.fifo", tmp);
        int rc = 0;
        /* 0622 whatever the umask: a non-root container user opens it. */
        if (mkfifo(fifo, 0622) < 0 || chmod(fifo, 0622) < 0)
                rc = vs_fail_errno(err, "cannot create %s", fifo);
        if (rc == 0)
                rc = vs_state_save_in(tmp, r, err);
        if (rc == 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, c->state_dir, RENAME_NOREPLACE) < 0) {
                if (errno == EEXIST)
                        rc = vs_fail(err, "container '%s' already exists", o->id);
                else
                        rc = vs_fail_errno(err, "cannot create %s", c->state_dir);
        }
        if (rc < 0) {
                _cleanup_error_ vs_error *e = NULL;
                vs_rm_rf(tmp, &e);
                return -1;
        }
        /* No lock is held from here on, since the forked init would inherit
         * it until exec: the record's creator says the id is in use. */
        c->dir_created = true;
        return 0;
}

/* The init's setup, up to CREATED (running the create hooks when it asks),
 * then EOF: the init then waits in the exec stub, non-dumpable again,
 * before anything can join the container (exec needs "created"). */
static int await_init(struct create_ctx *c, int sync_fd, vs_error **err)
{
        for (;;) {
                struct vs_sync_msg m;
                if (vs_sync_recv(sync_fd, &m) < 0)
                        return vs_fail(err, "container init exited during setup");
                if (m.type == SYNC_ERROR) {
                        vs_fail(err, "%s", m.text);
                        (*err)->errno_ = m.value;
                        return -1;
                }
                if (m.type == SYNC_HOOKS) {
                        if (run_create_hooks(c, err) < 0)
                                return -1;
                        if (vs_sync_send(sync_fd, SYNC_HOOKS_DONE, 0, NULL) < 0)
                                return vs_fail(err, "container init exited during setup");
                        continue;
                }
                if (m.type == SYNC_CREATED)
                        break;
                return vs_fail(err, "container init sent an unexpected message %d", m.type);
        }
        struct vs_sync_msg m;
        if (vs_sync_recv(sync_fd, &m) == 0)
                return vs_fail(err, "container init sent an unexpected message %d", m.type);
        return 0;
}

static int finish_create(struct create_ctx *c, vs_error **err);

/* VM isolation (src/vm/oci.c): the VM launcher stands in for the init, in
 * the container's cgroup, waiting on the exec fifo. */
static int create_vm(struct create_ctx *c, int fifo, vs_error **err)
{
        const struct vs_create_opts *o = c->o;
        if (c->cgroup && vs_cgroup_complete(c->cgroup, c->cfg->linux_.resources, err) < 0)
                return rootless_limits_error(err);
        c->rec.cgroup_pending = false;
        /* The state says so (for exec, and whoever lists containers). */
        json_object_object_add(c->rec.annotations, VS_VM_ANNOTATION, json_object_new_string("vm"));
        _cleanup_free_ char *cache = xasprintf("%s/.vm", o->root);
        c->pid = vs_vm_oci_spawn(c->cfg, cache, c->state_dir, fifo, o->console_socket, err);
        if (c->pid < 0) {
                c->pid = 0;
                return -1;
        }
        if (save_progress(c, false, err) < 0 ||
            (c->cgroup && vs_cgroup_enter(c->cgroup, c->pid, err) < 0))
                return -1;
        return finish_create(c, err);
}

/* Phase 1: everything that can fail on the options and the config alone,
 * before the id is claimed. */
static int create_check(struct create_ctx *c, vs_error **err)
{
        const struct vs_create_opts *o = c->o;
        if (vs_validate_id(o->id, err) < 0)
                return -1;
        c->bundle = realpath(o->bundle ? o->bundle : ".", NULL);
        if (c->bundle == NULL)
                return vs_fail_errno(err, "bundle %s", o->bundle ? o->bundle : ".");
        if (oci_config_load(c->bundle, &c->cfg, err) < 0)
                return -1;
        struct oci_config *cfg = c->cfg;
        struct stat st;
        if (stat(cfg->root_path, &st) < 0)
                return vs_fail_errno(err, "root.path %s", cfg->root_path);
        if (!S_ISDIR(st.st_mode))
                return vs_fail(err, "root.path %s: not a directory", cfg->root_path);
        if (cfg->process->caps && vs_caps_validate(cfg->process->caps, err) < 0)
                return -1;
        c->vm = vs_vm_oci_wanted(cfg, o->vm);
        if (c->vm)
                vs_vm_oci_adjust_resources(cfg);
        bool terminal = cfg->process->terminal;
        if (terminal && !o->console_socket && !o->console_master_out)
                return vs_fail(err, "process.terminal is true: --console-socket is required");
        if (!terminal && o->console_socket)
                return vs_fail(err, "--console-socket given but process.terminal is false");
        if (vs_mkdir_p(o->root, 0711, err) < 0)
                return -1;
        return vs_seccomp_compile_config(cfg, o->root, &c->seccomp, err);
}

/* Phase 2: the claim of the id, the exec fifo (*fifo; c->exec_fifo for
 * run) and the cgroup the init is born in. */
static int create_claim(struct create_ctx *c, int *fifo, vs_error **err)
{
        const struct vs_create_opts *o = c->o;
        struct oci_config *cfg = c->cfg;
        if (claim_id(c, err) < 0)
                return -1;
        _cleanup_free_ char *fifo_path = vs_state_fifo_path(o->root, o->id);
        *fifo = open(fifo_path, O_PATH | O_CLOEXEC);
        if (*fifo < 0)
                return vs_fail_errno(err, "cannot open %s", fifo_path);
        /* For run: with a reader already there the init's open of the fifo
         * does not block, so it execs as soon as it is ready, while the
         * runtime still writes the state. */
        if (o->exec_fifo_out) {
                c->exec_fifo = open(fifo_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
                if (c->exec_fifo < 0)
                        return vs_fail_errno(err, "cannot open %s", fifo_path);
        }

        allow_default_devices(cfg);
        /* The directories are recorded (pending) before they exist, so that
         * a `delete -f` after a kill -9 finds them; begin makes the cgroup2
         * one the init is born in, complete (create_finish) the rest while the init
         * builds its mounts. An unprivileged caller (rootless) without
         * limits gets no cgroup, as with runc --rootless. */
        bool cgroups = !vs_host_unprivileged() || has_limits(cfg->linux_.resources);
        if (cgroups && vs_cgroup_plan(o->id, cfg->linux_.cgroups_path, cfg->linux_.resources,
                                      &c->cgroup, err) < 0)
                return -1;
        c->rec.cgroup_pending = cgroups;
        if (save_progress(c, false, err) < 0)
                return -1;
        if (cgroups && vs_cgroup_begin(c->cgroup, err) < 0) {
                vs_cgroup_free(steal_ptr(c->cgroup));
                return rootless_limits_error(err);
        }
        return 0;
}

/* The clone flags of linux.namespaces: *late those the init unshares
 * itself (cgroup, time); namespaces joined by path are checked to exist. */
struct ns_plan {
        unsigned long flags;
        int late;
        bool any_path, new_userns, in_userns;
};

static int plan_namespaces(const struct oci_config *cfg, struct ns_plan *p, vs_error **err)
{
        *p = (struct ns_plan){0};
        for (size_t i = 0; i < cfg->linux_.n_namespaces; i++) {
                const struct oci_namespace *ns = &cfg->linux_.namespaces[i];
                if (ns->type == OCI_NS_USER)
                        p->in_userns = true;
                if (ns->path) {
                        struct stat nst;
                        if (stat(ns->path, &nst) < 0)
                                return vs_fail_errno(err, "linux.namespaces[%zu].path %s", i,
                                                     ns->path);
                        p->any_path = true;
                        continue;
                }
                if (ns->type == OCI_NS_CGROUP || ns->type == OCI_NS_TIME)
                        p->late |= oci_ns_clone_flag(ns->type);
                else
                        p->flags |= (unsigned long) oci_ns_clone_flag(ns->type);
                if (ns->type == OCI_NS_USER)
                        p->new_userns = true;
        }
        return 0;
}

/* The init's fds: the exec fifo, its ends of the sync socket and of the
 * console; ours: the other ends. */
struct create_fds {
        int fifo, sync, child_sync, console, console_peer;
};

/* Phase 3: the init is spawned, its id maps and OOM score written.
 * *self_cgroup: whether it enters its cgroups itself. */
static int create_spawn(struct create_ctx *c, struct create_fds *fds, bool *self_cgroup,
                        vs_error **err)
{
        const struct vs_create_opts *o = c->o;
        struct oci_config *cfg = c->cfg;
        struct ns_plan ns;
        if (plan_namespaces(cfg, &ns, err) < 0)
                return -1;
        struct vs_init_args a = {
            .cfg = cfg,
            .id = o->id,
            .bundle = c->bundle,
            .sync_fd = fds->child_sync,
            .parent_sync_fd = fds->sync,
            .console_fd = fds->console,
            .fifo_fd = fds->fifo,
            .late_unshare = ns.late,
            .in_userns = ns.in_userns,
            .new_userns = ns.new_userns,
            .no_pivot = o->no_pivot,
            .die_with_caller = o->die_with_caller,
            .preserve_fds = o->preserve_fds,
            .rootless = geteuid() != 0,
            /* Outside a user namespace the init can enter its cgroups
             * itself, without the parent's RCU-bound migration. */
            .self_cgroup = ns.in_userns ? NULL : c->cgroup,
            .seccomp = c->seccomp,
        };
        *self_cgroup = a.self_cgroup != NULL;
        if (!oci_config_namespace(cfg, OCI_NS_MOUNT)) {
                if (vs_host_mounts_list(cfg->root_path, &c->mounts_before, err) < 0)
                        return -1;
                c->shared_mntns = true;
        }
        /* A new user namespace's root may not walk the host paths to its
         * root and mount sources (a 0700 data root): it is born in its
         * root, and gets its bind sources opened here (as runc >= 1.2). */
        _cleanup_close_ int cwd = -1;
        __attribute__((cleanup(host_sources_free))) struct host_sources hs = {0};
        bool own_mntns = !c->shared_mntns && !mount_ns_joined(cfg);
        bool idmapped = any_idmapped(cfg);
        if (idmapped && (geteuid() != 0 || !own_mntns))
                return vs_fail(err, "mounts: idmapped mounts need a runtime run as root and a "
                                    "new mount namespace");
        /* Only root may clone mounts here; a rootless caller maps itself,
         * so its init walks what the caller could. */
        if (own_mntns && geteuid() == 0 && (ns.new_userns || idmapped)) {
                if (open_host_sources(cfg, &hs, err) < 0)
                        return -1;
                a.bind_fds = hs.fds;
                a.n_bind_fds = hs.n;
        }
        if (ns.new_userns && own_mntns) {
                cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (cwd < 0 || chdir(cfg->root_path) < 0)
                        return vs_fail_errno(err, "root.path %s", cfg->root_path);
                a.root_is_cwd = true;
        }
        c->pid = spawn_init(&a, ns.flags, ns.any_path, err);
        if (cwd >= 0 && fchdir(cwd) < 0 && c->pid > 0)
                return vs_fail_errno(err, "cannot return to the working directory");
        host_sources_free(&hs);
        if (c->pid < 0) {
                c->pid = 0;
                return -1;
        }
        if (save_progress(c, false, err) < 0)
                return -1;
        close(steal_fd(fds->child_sync));
        if (fds->console >= 0 && fds->console_peer >= 0)
                close(steal_fd(fds->console));

        if (ns.new_userns) {
                /* Without CAP_SETGID the kernel takes a gid_map only from a
                 * writer that gave up setgroups(2) for the namespace. */
                if (geteuid() != 0 && deny_setgroups(c->pid, err) < 0)
                        return -1;
                if (write_id_map(c->pid, "uid_map", cfg->linux_.uid_mappings,
                                 cfg->linux_.n_uid_mappings, "linux.uidMappings", err) < 0 ||
                    write_id_map(c->pid, "gid_map", cfg->linux_.gid_mappings,
                                 cfg->linux_.n_gid_mappings, "linux.gidMappings", err) < 0)
                        return -1;
        }
        if (cfg->process->has_oom_score_adj) {
                char path[64], val[16];
                snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", c->pid);
                int n = snprintf(val, sizeof(val), "%d", cfg->process->oom_score_adj);
                if (vs_write_file_at(AT_FDCWD, path, val, (size_t) n, err) < 0)
                        return vs_error_wrap(err, "process.oomScoreAdj");
        }
        return 0;
}

/* Phase 4: the init set free, its cgroups completed, its readiness awaited;
 * the console master handed out, the config and state written. */
static int create_finish(struct create_ctx *c, const struct create_fds *fds, bool self_cgroup,
                         vs_error **err)
{
        const struct vs_create_opts *o = c->o;
        struct oci_config *cfg = c->cfg;
        /* The init starts its setup without waiting for SYNC_GO, so it may
         * have failed already: its SYNC_ERROR is then read below. It waits
         * for SYNC_CGROUP only where it needs its cgroup, building its mounts
         * meanwhile (the first migration into a cgroup v1 hierarchy by
         * another process waits for an RCU grace period, several ms). */
        vs_sync_send(fds->sync, SYNC_GO, c->pid, NULL);
        /* The rest of the cgroups is made while the init mounts; it enters
         * them (or is moved) once they are complete, before it execs. */
        if (c->cgroup && vs_cgroup_complete(c->cgroup, cfg->linux_.resources, err) < 0)
                return rootless_limits_error(err);
        c->rec.cgroup_pending = false;
        if (save_progress(c, false, err) < 0)
                return -1;
        if (c->cgroup && !self_cgroup && vs_cgroup_enter(c->cgroup, c->pid, err) < 0)
                return -1;
        vs_sync_send(fds->sync, SYNC_CGROUP, 0, NULL);
        if (await_init(c, fds->sync, err) < 0)
                return -1;
        if (fds->console_peer >= 0) {
                int master = vs_recv_fd(fds->console_peer, err);
                if (master < 0)
                        return -1;
                *o->console_master_out = master;
        }

        return finish_create(c, err);
}

static int finish_create(struct create_ctx *c, vs_error **err)
{
        const struct vs_create_opts *o = c->o;
        struct oci_config *cfg = c->cfg;
        /* Hooks and exec read the config as it was at create time. */
        _cleanup_free_ char *cfg_text = vs_json_to_string(cfg->raw, false);
        _cleanup_free_ char *cfg_copy = xasprintf("%s/config.json", c->state_dir);
        _cleanup_free_ char *mounts_file = vs_host_mounts_file(o->root, o->id);
        if (c->shared_mntns &&
            vs_host_mounts_record(mounts_file, cfg->root_path, &c->mounts_before, err) < 0)
                return -1;
        if (vs_write_file_replace(cfg_copy, cfg_text, strlen(cfg_text), 0600, err) < 0 ||
            save_progress(c, true, err) < 0)
                return -1;
        if (o->pid_file && vs_write_pid_file(o->pid_file, c->pid, err) < 0)
                return -1;
        return 0;
}

static void close_fds(struct create_fds *fds)
{
        int *v[] = {&fds->fifo, &fds->sync, &fds->child_sync, &fds->console, &fds->console_peer};
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
                if (*v[i] >= 0)
                        close(steal_fd(*v[i]));
}

static int do_create(struct create_ctx *c, vs_error **err)
{
        struct create_fds fds = {-1, -1, -1, -1, -1};
        bool self_cgroup = false;
        int r = -1;
        if (create_check(c, err) < 0 || create_claim(c, &fds.fifo, err) < 0)
                goto out;
        if (c->vm) {
                r = create_vm(c, fds.fifo, err);
                goto out;
        }
        if (vs_sync_open_channels(c->cfg->process->terminal, c->o->console_socket, &fds.console,
                                  &fds.console_peer, &fds.sync, &fds.child_sync, err) < 0)
                goto out;
        if (create_spawn(c, &fds, &self_cgroup, err) < 0 ||
            create_finish(c, &fds, self_cgroup, err) < 0)
                goto out;
        r = 0;
out:
        close_fds(&fds);
        return r;
}

int vs_container_create(const struct vs_create_opts *o, pid_t *pid_out, vs_error **err)
{
        struct create_ctx c = {.o = o, .exec_fifo = -1};
        int r = do_create(&c, err);
        if (r < 0) {
                create_cleanup(&c);
                if (c.exec_fifo >= 0)
                        close(c.exec_fifo);
        } else {
                if (pid_out)
                        *pid_out = c.pid;
                if (o->exec_fifo_out)
                        *o->exec_fifo_out = c.exec_fifo;
        }
        if (c.cgroup)
                vs_cgroup_free(c.cgroup);
        vs_mount_ids_free(&c.mounts_before);
        vs_seccomp_prog_free(c.seccomp);
        free(c.rec.created);
        free(c.rec.owner);
        json_object_put(c.rec.annotations);
        json_object_put(c.rec.cgroup);
        oci_config_free(c.cfg);
        free(c.bundle);
        free(c.state_dir);
        return r;
}
