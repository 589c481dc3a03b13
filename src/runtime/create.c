/* `create`: the parent side of container creation. */
#include "runtime/caps.h"
#include "runtime/cgroup.h"
#include "runtime/container.h"
#include "vm/vm.h"
#include "runtime/hooks.h"
#include "runtime/hostmounts.h"
#include "runtime/init.h"
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

/* vs_raw_clone into the cgroup2 directory cgroup_fd; -1 with ENOSYS/E2BIG on
 * kernels without clone3 or CLONE_INTO_CGROUP. */
static pid_t clone_into_cgroup(unsigned long flags, int cgroup_fd)
{
        struct clone_args args = {
            .flags = flags | CLONE_INTO_CGROUP,
            .exit_signal = SIGCHLD,
            .cgroup = (uint64_t) cgroup_fd,
        };
        return (pid_t) syscall(SYS_clone3, &args, sizeof(args));
}

static int write_id_map(pid_t pid, const char *file, const struct oci_id_mapping *maps, size_t n,
                        const char *field, vs_error **err)
{
        _cleanup_free_ char *text = xstrdup("");
        for (size_t i = 0; i < n; i++) {
                char *t = xasprintf("%s%u %u %u\n", text, maps[i].container_id, maps[i].host_id,
                                    maps[i].size);
                free(text);
                text = t;
        }
        _cleanup_free_ char *path = xasprintf("/proc/%d/%s", pid, file);
        if (vs_write_file_at(AT_FDCWD, path, text, strlen(text), err) < 0)
                return vs_error_wrap(err, "%s", field);
        return 0;
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
                        pid = clone_into_cgroup(flags, v2);
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
        if (vs_cgroup_complete(c->cgroup, c->cfg->linux_.resources, err) < 0)
                return -1;
        c->rec.cgroup_pending = false;
        /* The state says so (for exec, and whoever lists containers). */
        json_object_object_add(c->rec.annotations, VS_VM_ANNOTATION, json_object_new_string("vm"));
        _cleanup_free_ char *cache = xasprintf("%s/.vm", o->root);
        c->pid = vs_vm_oci_spawn(c->cfg, cache, c->state_dir, fifo, o->console_socket, err);
        if (c->pid < 0) {
                c->pid = 0;
                return -1;
        }
        if (save_progress(c, false, err) < 0 || vs_cgroup_enter(c->cgroup, c->pid, err) < 0)
                return -1;
        return finish_create(c, err);
}

static int do_create(struct create_ctx *c, vs_error **err)
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
        /* Everything that can fail on the config alone before the claim. */
        struct vs_seccomp_prog *seccomp = NULL;
        if (vs_seccomp_compile_config(cfg, o->root, &seccomp, err) < 0)
                return -1;
        c->seccomp = seccomp;
        if (claim_id(c, err) < 0)
                return -1;
        _cleanup_free_ char *fifo_path = vs_state_fifo_path(o->root, o->id);
        _cleanup_close_ int fifo = open(fifo_path, O_PATH | O_CLOEXEC);
        if (fifo < 0)
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
         * one the init is born in, complete (below) the rest while the init
         * builds its mounts. */
        if (vs_cgroup_plan(o->id, cfg->linux_.cgroups_path, cfg->linux_.resources, &c->cgroup,
                           err) < 0)
                return -1;
        c->rec.cgroup_pending = true;
        if (save_progress(c, false, err) < 0)
                return -1;
        if (vs_cgroup_begin(c->cgroup, err) < 0) {
                vs_cgroup_free(steal_ptr(c->cgroup));
                return -1;
        }
        if (c->vm)
                return create_vm(c, fifo, err);

        _cleanup_close_ int console = -1, console_peer = -1;
        if (terminal && vs_console_open(o->console_socket, &console, &console_peer, err) < 0)
                return -1;
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return vs_fail_errno(err, "cannot create the sync socket");
        _cleanup_close_ int sync_fd = sv[0];
        _cleanup_close_ int child_sync = sv[1];

        unsigned long flags = 0;
        int late = 0;
        bool any_path = false, new_userns = false, in_userns = false;
        for (size_t i = 0; i < cfg->linux_.n_namespaces; i++) {
                const struct oci_namespace *ns = &cfg->linux_.namespaces[i];
                if (ns->type == OCI_NS_USER)
                        in_userns = true;
                if (ns->path) {
                        struct stat nst;
                        if (stat(ns->path, &nst) < 0)
                                return vs_fail_errno(err, "linux.namespaces[%zu].path %s", i,
                                                     ns->path);
                        any_path = true;
                        continue;
                }
                if (ns->type == OCI_NS_CGROUP || ns->type == OCI_NS_TIME)
                        late |= oci_ns_clone_flag(ns->type);
                else
                        flags |= (unsigned long) oci_ns_clone_flag(ns->type);
                if (ns->type == OCI_NS_USER)
                        new_userns = true;
        }
        struct vs_init_args a = {
            .cfg = cfg,
            .id = o->id,
            .bundle = c->bundle,
            .sync_fd = child_sync,
            .console_fd = console,
            .fifo_fd = fifo,
            .late_unshare = late,
            .in_userns = in_userns,
            .new_userns = new_userns,
            .no_pivot = o->no_pivot,
            .preserve_fds = o->preserve_fds,
            /* Outside a user namespace the init can enter its cgroups
             * itself, without the parent's RCU-bound migration. */
            .self_cgroup = in_userns ? NULL : c->cgroup,
        };
        if (!oci_config_namespace(cfg, OCI_NS_MOUNT)) {
                if (vs_host_mounts_list(cfg->root_path, &c->mounts_before, err) < 0)
                        return -1;
                c->shared_mntns = true;
        }
        a.seccomp = c->seccomp;
        c->pid = spawn_init(&a, flags, any_path, err);
        if (c->pid < 0) {
                c->pid = 0;
                return -1;
        }
        if (save_progress(c, false, err) < 0)
                return -1;
        close(steal_fd(child_sync));
        if (console >= 0 && console_peer >= 0)
                close(steal_fd(console));

        if (new_userns) {
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
        /* The init starts its setup without waiting for SYNC_GO, so it may
         * have failed already: its SYNC_ERROR is then read below. It waits
         * for SYNC_CGROUP only where it needs its cgroup, building its mounts
         * meanwhile (the first migration into a cgroup v1 hierarchy by
         * another process waits for an RCU grace period, several ms). */
        vs_sync_send(sync_fd, SYNC_GO, c->pid, NULL);
        /* The rest of the cgroups is made while the init mounts; it enters
         * them (or is moved) once they are complete, before it execs. */
        if (vs_cgroup_complete(c->cgroup, cfg->linux_.resources, err) < 0)
                return -1;
        c->rec.cgroup_pending = false;
        if (save_progress(c, false, err) < 0)
                return -1;
        if (a.self_cgroup == NULL && vs_cgroup_enter(c->cgroup, c->pid, err) < 0)
                return -1;
        vs_sync_send(sync_fd, SYNC_CGROUP, 0, NULL);
        if (await_init(c, sync_fd, err) < 0)
                return -1;
        if (console_peer >= 0) {
                int master = vs_recv_fd(console_peer, err);
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
