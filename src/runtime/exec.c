/* exec: a new process in a running container. */
#include "runtime/cgroup.h"
#include "runtime/container.h"
#include "vm/vm.h"
#include "runtime/foreground.h"
#include "runtime/process.h"
#include "runtime/seccomp.h"
#include "runtime/stage.h"
#include "runtime/state.h"
#include "runtime/sync.h"
#include "runtime/terminal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int vs_container_process(const char *root, const char *id, struct oci_process **out, vs_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s/config.json", root, id);
        _cleanup_json_ json_object *doc = NULL;
        if (vs_json_parse_file(path, &doc, err) < 0)
                return -1;
        json_object *proc;
        if (vs_json_get_object(doc, path, "process", &proc, err) <= 0)
                return vs_fail(err, "%s: no process", path);
        if (oci_process_parse(proc, "process", out, err) < 0) {
                oci_process_free(*out);
                *out = NULL;
                return -1;
        }
        return 0;
}

static const struct {
        const char *name;
        int flag;
} ns_files[] = {
    {"user", CLONE_NEWUSER},     {"mnt", CLONE_NEWNS},    {"pid", CLONE_NEWPID},
    {"net", CLONE_NEWNET},       {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS},
    {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
};

/* The namespaces of pid that differ from ours: those exec must join. */
static int differing_namespaces(pid_t pid)
{
        int flags = 0;
        for (size_t i = 0; i < sizeof(ns_files) / sizeof(ns_files[0]); i++) {
                char a[64], b[64];
                struct stat sa, sb;
                snprintf(a, sizeof(a), "/proc/%d/ns/%s", pid, ns_files[i].name);
                snprintf(b, sizeof(b), "/proc/self/ns/%s", ns_files[i].name);
                if (stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_ino != sb.st_ino)
                        flags |= ns_files[i].flag;
        }
        return flags;
}

struct exec_child {
        const struct vs_exec_opts *o;
        const struct vs_seccomp_prog *seccomp;
        const struct vs_exec_cgroup *cgroup;
        int pidfd, ns_flags, sync_fd, console_fd;
        pid_t init_pid;
};

/* The stage: joins the namespaces and prepares the process, then execs the
 * sealed exec stub, which forks the process into the container's pid
 * namespace (a joined pid namespace applies to children only) and reports
 * its pid on report_fd; the child execs once the runtime has moved it into
 * the container's cgroup.
 * The stage itself never enters that pid namespace, so no process the
 * container can see ever runs (or maps) the vessel binary on the host: the
 * first one there is the stub's child (CVE-2019-5736). */
static _Noreturn void exec_stage(struct exec_child *c, int report_fd)
{
        prctl(PR_SET_DUMPABLE, 0);
        _cleanup_error_ vs_error *err = NULL;
        const struct oci_process *p = c->o->process;
        _cleanup_free_ char *exe = NULL;
        /* No cleanup attribute: the gotos below jump past its opening, and
         * this process only ever ends in exec or _exit. */
        int rootfd = -1;
        if (c->ns_flags && setns(c->pidfd, c->ns_flags) < 0) {
                vs_fail_errno(&err, "cannot join the container's namespaces");
                goto fail;
        }
        close(c->pidfd);
        /* Joining a mount namespace put us at its root: the container's. A
         * container without a mount namespace of its own shares ours and
         * was chrooted: enter the init's root the same way. */
        if (!(c->ns_flags & CLONE_NEWNS)) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d/root", c->init_pid);
                _cleanup_close_ int initroot = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (initroot < 0 || fchdir(initroot) < 0 || chroot(".") < 0 || chdir("/") < 0) {
                        vs_fail_errno(&err, "cannot enter the container root");
                        goto fail;
                }
        }
        rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0) {
                vs_fail_errno(&err, "cannot open the container root");
                goto fail;
        }
        if (p->terminal &&
            vs_terminal_setup(rootfd, c->console_fd, NULL, false, p->has_console_size,
                              (uint16_t) p->console_height, (uint16_t) p->console_width, &err) < 0)
                goto fail;
        if (c->console_fd >= 0)
                close(c->console_fd);
        if (vs_process_prepare(p, c->seccomp, &exe, &err) < 0)
                goto fail;
        if (vs_sync_send(c->sync_fd, SYNC_CREATED, 0, NULL) < 0)
                _exit(1);
        vs_process_exec(p, c->seccomp, exe, c->o->preserve_fds, -1, c->sync_fd, report_fd, -1,
                        c->cgroup, p->terminal, &err);
fail:
        vs_sync_send_error(c->sync_fd, err);
        _exit(127);
}
/* The process's own error, with its errno (the engine's exit code). */
static void sync_error(vs_error **err, const struct vs_sync_msg *m)
{
        vs_fail(err, "%s", m->text);
        if (*err)
                (*err)->errno_ = m->value;
}

/* The stage's SYNC_CREATED (the stub is about to fork the process), or
 * its error. */
static int await_created(int sync_fd, vs_error **err)
{
        for (;;) {
                struct vs_sync_msg m;
                if (vs_sync_recv(sync_fd, &m) < 0)
                        return vs_fail(err, "the process died before it started");
                if (m.type == SYNC_ERROR) {
                        sync_error(err, &m);
                        return -1;
                }
                if (m.type == SYNC_CREATED)
                        return 0;
        }
}

/* EOF when the process's execve closed the socket, or the stub's error. */
static int await_exec(int sync_fd, vs_error **err)
{
        struct vs_sync_msg m;
        if (vs_sync_recv(sync_fd, &m) != 0)
                return 0;
        if (m.type == SYNC_ERROR)
                sync_error(err, &m);
        else
                vs_fail(err, "unexpected message");
        return -1;
}

int vs_container_exec(const struct vs_exec_opts *o, int *exit_status, vs_error **err)
{
        _cleanup_state_ struct vs_state *st = NULL;
        if (vs_state_load(o->root, o->id, &st, err) < 0)
                return -1;
        const char *status = vs_state_status(o->root, st);
        if (strcmp(status, "running") != 0 && strcmp(status, "created") != 0)
                return vs_fail(err, "cannot exec in container '%s': it is %s", o->id, status);
        _cleanup_config_ struct oci_config *cfg = NULL;
        if (vs_state_load_config(o->root, st, &cfg, err) < 0)
                return -1;
        /* Its init is a VM launcher in the host's namespaces (joining them
         * would run the process on the host): the process runs in the
         * guest, through the launcher (src/vm/oci.c). */
        if (vs_vm_oci_state_is_vm(st->annotations)) {
                _cleanup_free_ char *dir = vs_state_dir(o->root, o->id);
                return vs_vm_oci_exec(o->root, dir, o->id, cfg, o->process, o->console_socket,
                                      o->pid_file, o->detach, exit_status, err);
        }
        const struct oci_process *p = o->process;
        if (oci_user_check(&p->user, "process", err) < 0)
                return -1;
        if (p->terminal && !o->console_socket && o->detach)
                return vs_fail(err, "--tty with --detach needs --console-socket");
        if (!p->terminal && o->console_socket)
                return vs_fail(err, "--console-socket needs --tty");
        _cleanup_cgroup_ struct vs_cgroup *cg = NULL;
        if (st->cgroup && vs_cgroup_from_json(st->cgroup, &cg, err) < 0)
                return -1;
        _cleanup_close_ int pidfd = vs_state_pidfd(st);
        if (pidfd < 0)
                return vs_fail(err, "cannot exec in container '%s': it is stopped", o->id);

        _cleanup_close_ int console = -1, console_peer = -1, sync_fd = -1, child_sync = -1;
        if (vs_sync_open_channels(p->terminal, o->console_socket, &console, &console_peer, &sync_fd,
                                  &child_sync, err) < 0)
                return -1;

        struct vs_seccomp_prog *seccomp = NULL;
        if (vs_seccomp_compile_config(cfg, o->root, &seccomp, err) < 0)
                return -1;
        sigset_t sigs, old;
        vs_foreground_signals(&sigs);
        if (!o->detach)
                sigprocmask(SIG_BLOCK, &sigs, &old);
        /* The process moves itself into the v1 hierarchies (through the
         * stub) and inherits the v2 one from the stage, born there: a move
         * by this process would wait for an RCU grace period, 5-10 ms here
         * whenever no other move happened just before. */
        struct vs_exec_cgroup cgfds = {0};
        int v2 = -1;
        bool in_v2 = false;
        struct exec_child c = {.o = o,
                               .seccomp = seccomp,
                               .cgroup = cg ? &cgfds : NULL,
                               .pidfd = pidfd,
                               .init_pid = st->pid,
                               .ns_flags = differing_namespaces(st->pid),
                               .sync_fd = child_sync,
                               .console_fd = console};
        int master = -1, r = -1, pp[2] = {-1, -1};
        pid_t pid = -1, stage = -1;
        if (pipe2(pp, O_CLOEXEC) < 0) {
                vs_fail_errno(err, "cannot create a pipe");
                goto out;
        }
        if (cg) {
                if (vs_cgroup_open_v1_tasks(cg, cgfds.tasks, VS_STUB_MAX_TASKS, &cgfds.n_tasks,
                                            err) < 0)
                        goto out;
                v2 = vs_cgroup_v2_dirfd(cg);
        }
        fflush(NULL);
        /* Born in the v2 cgroup when the kernel allows and a v2 pids limit
         * leaves room for the stage and the process (else a plain fork, and
         * the process is moved below, so that a container at its limit can
         * still be entered). */
        if (v2 >= 0 && vs_cgroup_v2_pids_room(cg, 2) && (stage = vs_clone_into_cgroup(0, v2)) >= 0)
                in_v2 = true;
        else
                stage = fork();
        if (stage < 0) {
                vs_fail_errno(err, "cannot fork");
                goto out;
        }
        if (stage == 0) {
                close(pp[0]);
                exec_stage(&c, pp[1]);
        }
        close(steal_fd(pp[1]));
        close(steal_fd(child_sync));
        if (console_peer >= 0)
                close(steal_fd(console));
        /* CREATED: the stage is about to exec the stub, which forks the
         * process and reports its pid on the pipe. */
        if (await_created(sync_fd, err) < 0)
                goto kill;
        pid = vs_stage_wait(pp[0], stage, "the process died before it started", err);
        stage = -1;
        if (pid < 0) {
                /* The stage's own word, if it had one. */
                struct vs_sync_msg m;
                if (vs_sync_recv(sync_fd, &m) == 0 && m.type == SYNC_ERROR) {
                        vs_error_free(err);
                        sync_error(err, &m);
                }
                goto out;
        }
        /* Moved, not forked, into the v1 cgroups (as runc does): a container
         * at its pids limit can still be entered. The stub's child waits for
         * GO before it execs; it has moved itself into the v1 ones. */
        if (cg && !in_v2 && vs_cgroup_enter_v(cg, pid, true, err) < 0)
                goto kill;
        if (vs_sync_send(sync_fd, SYNC_GO, pid, NULL) < 0) {
                vs_fail(err, "the process died before it started");
                goto kill;
        }
        if (await_exec(sync_fd, err) < 0)
                goto kill;
        if (console_peer >= 0) {
                master = vs_recv_fd(console_peer, err);
                if (master < 0)
                        goto kill;
        }
        if (o->pid_file && vs_write_pid_file(o->pid_file, pid, err) < 0)
                goto kill;
        if (o->started)
                o->started(o->started_arg, pid);
        if (o->detach) {
                r = 0;
                goto out;
        }
        r = vs_foreground_wait(pid, master, &sigs, o->detach_keys, exit_status, err);
        goto out;
kill:
        if (stage > 0) {
                kill(stage, SIGKILL);
                /* A stub that had forked already says so on the pipe. */
                _cleanup_error_ vs_error *ignored = NULL;
                pid = vs_stage_wait(pp[0], stage, "", &ignored);
        }
        if (pid > 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
        }
out:
        for (size_t i = 0; i < cgfds.n_tasks; i++)
                close(cgfds.tasks[i]);
        if (v2 >= 0)
                close(v2);
        if (pp[0] >= 0)
                close(pp[0]);
        if (pp[1] >= 0)
                close(pp[1]);
        vs_seccomp_prog_free(seccomp);
        if (master >= 0)
                close(master);
        if (!o->detach)
                sigprocmask(SIG_SETMASK, &old, NULL);
        return r;
}
