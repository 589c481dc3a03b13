/* The last steps of every container process, shared by the container
 * init and exec: limits, privileges, identity, cwd, and the exec itself. */
#include "runtime/process.h"
#include "runtime/caps.h"
#include "runtime/execstub.h"
#include "runtime/seccomp.h"
#include "runtime/stub/protocol.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *env_get(char **env, const char *key)
{
        size_t n = strlen(key);
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], key, n) == 0 && env[i][n] == '=')
                        return env[i] + n + 1;
        return NULL;
}

/* 0 when path can be executed, else why not as an errno: ENOENT (and the
 * like) when it does not exist, EISDIR for a directory, EACCES when it is
 * not a regular file or lacks the x bit. */
static int exec_check(const char *path)
{
        struct stat st;
        if (stat(path, &st) < 0)
                return errno;
        if (S_ISDIR(st.st_mode))
                return EISDIR;
        if (!S_ISREG(st.st_mode))
                return EACCES;
        return access(path, X_OK) < 0 ? errno : 0;
}

/* Resolves args[0] against the container's PATH, as execvp would. The
 * error's errno classifies the failure (engine exit codes 126/127). */
static char *find_executable(const char *arg0, char **env, vs_error **err)
{
        if (strchr(arg0, '/')) {
                int e = exec_check(arg0);
                if (e)
                        return vs_error_set(err, e, "process.args[0]: cannot execute %s", arg0),
                               NULL;
                return xstrdup(arg0);
        }
        const char *path = env_get(env, "PATH");
        if (path == NULL)
                path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        _cleanup_free_ char *copy = xstrdup(path);
        char *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                char *cand = xasprintf("%s/%s", *dir ? dir : ".", arg0);
                if (exec_check(cand) == 0)
                        return cand;
                free(cand);
        }
        vs_fail(err, "process.args[0]: executable '%s' not found in $PATH (%s) in the container",
                arg0, path);
        if (*err)
                (*err)->errno_ = ENOENT;
        return NULL;
}

static int set_rlimits(const struct oci_process *p, vs_error **err)
{
        for (size_t i = 0; i < p->n_rlimits; i++) {
                const struct oci_rlimit *r = &p->rlimits[i];
                struct rlimit rl = {.rlim_cur = r->soft, .rlim_max = r->hard};
                if (setrlimit(r->resource, &rl) < 0) {
                        struct rlimit cur = {0};
                        getrlimit(r->resource, &cur);
                        return vs_fail_errno(err,
                                             "process.rlimits[%zu]: cannot set %s to %llu/%llu "
                                             "(current hard limit %llu)",
                                             i, r->type, (unsigned long long) r->soft,
                                             (unsigned long long) r->hard,
                                             (unsigned long long) cur.rlim_max);
                }
        }
        return 0;
}

static int switch_user(const struct oci_process *p, vs_error **err)
{
        const struct oci_user *u = &p->user;
        /* setresuid(-1, ...) would keep root: never reached with a parsed
         * config, checked again here because this is where it would bite. */
        if (oci_user_check(u, "process", err) < 0)
                return -1;
        gid_t *gids = xcalloc(u->n_additional_gids + 1, sizeof(gid_t));
        for (size_t i = 0; i < u->n_additional_gids; i++)
                gids[i] = u->additional_gids[i];
        int r = setgroups(u->n_additional_gids, gids);
        free(gids);
        /* EPERM here means a user namespace with setgroups denied: only an
         * empty request is acceptable then. */
        if (r < 0 && !(errno == EPERM && u->n_additional_gids == 0))
                return vs_fail_errno(err, "process.user.additionalGids: cannot set groups");
        if (setresgid(u->gid, u->gid, u->gid) < 0)
                return vs_fail_errno(err, "process.user.gid: cannot switch to gid %u", u->gid);
        if (setresuid(u->uid, u->uid, u->uid) < 0)
                return vs_fail_errno(err, "process.user.uid: cannot switch to uid %u", u->uid);
        return 0;
}

static void reset_signals(void)
{
        struct sigaction sa = {.sa_handler = SIG_DFL};
        for (int s = 1; s < NSIG; s++)
                sigaction(s, &sa, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Made in prepare, while memfd_create is certainly allowed: a seccomp
 * profile loaded later may forbid it. */
static int execstub = -1;

int vs_process_prepare(const struct oci_process *p, const struct vs_seccomp_prog *seccomp,
                       char **exe, vs_error **err)
{
        execstub = vs_execstub_fd(err);
        if (execstub < 0)
                return -1;
        if (set_rlimits(p, err) < 0)
                return -1;
        if (p->apparmor_profile && *p->apparmor_profile)
                vs_debug("process.apparmorProfile ignored: AppArmor is not enabled on this host");
        if (p->selinux_label && *p->selinux_label)
                vs_debug("process.selinuxLabel ignored: SELinux is not enabled on this host");
        /* Without no_new_privs a seccomp filter needs CAP_SYS_ADMIN, so it
         * goes in before the capabilities are dropped; with it, as late as
         * possible (vs_process_exec). */
        if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return vs_fail_errno(err, "process.noNewPrivileges: cannot set it");
        if (!p->no_new_privileges && seccomp && vs_seccomp_install(seccomp, err) < 0)
                return -1;
        if (p->caps && vs_caps_prepare(p->caps, err) < 0)
                return -1;
        if (switch_user(p, err) < 0)
                return -1;
        if (p->caps && vs_caps_apply(p->caps, err) < 0)
                return -1;
        umask(p->user.has_umask ? (mode_t) p->user.umask : 022);
        if (chdir(p->cwd) < 0)
                return vs_fail_errno(err, "process.cwd: cannot enter %s", p->cwd);
        /* A cwd outside the root shows as "(unreachable)" (CVE-2024-21626). */
        char cwd[4096];
        if (getcwd(cwd, sizeof(cwd)) == NULL || cwd[0] != '/')
                return vs_fail(err, "process.cwd: %s is not inside the container root", p->cwd);
        *exe = find_executable(p->args[0], p->env, err);
        return *exe ? 0 : -1;
}

/* A memfd with the compiled filter for the stub to install (struct
 * vs_stub_seccomp, then the instructions), positioned at its start. */
static int seccomp_memfd(const struct vs_seccomp_prog *seccomp, vs_error **err)
{
        _cleanup_close_ int fd = memfd_create("vessel-seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return vs_fail_errno(err, "linux.seccomp: cannot pass the filter on");
        struct vs_stub_seccomp head = {.flags = seccomp->flags, .len = seccomp->len};
        if (vs_write_all(fd, &head, sizeof(head)) < 0 ||
            vs_write_all(fd, seccomp->insns, seccomp->len * sizeof(struct sock_filter)) < 0 ||
            lseek(fd, 0, SEEK_SET) < 0)
                return vs_fail_errno(err, "linux.seccomp: cannot pass the filter on");
        return steal_fd(fd);
}

int vs_process_exec(const struct oci_process *p, const struct vs_seccomp_prog *seccomp,
                    const char *exe, int preserve_fds, int wait_dir, int report_fd, int pid_fd,
                    int done_fd, const struct vs_exec_cgroup *cgroup, bool tty, vs_error **err)
{
        _Static_assert(sizeof(struct vs_stub_insn) == sizeof(struct sock_filter), "same layout");
        _Static_assert(VS_STUB_MAX_INSNS == BPF_MAXINSNS, "same limit");
        /* With no_new_privs the stub installs the filter itself, as the
         * last step before the user's program: a profile then only has to
         * allow execve. */
        _cleanup_close_ int filter = -1;
        if (p->no_new_privileges && seccomp) {
                filter = seccomp_memfd(seccomp, err);
                if (filter < 0)
                        return -1;
        }
        reset_signals();
        /* No descriptor of ours may reach the user process (CVE-2024-21626);
         * the stub closes report_fd, filter and pid_fd itself. */
        syscall(SYS_close_range, 3 + preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
        int pass[] = {report_fd, filter, pid_fd, done_fd, wait_dir};
        for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++)
                if (pass[i] >= 0)
                        fcntl(pass[i], F_SETFD, 0);
        /* CGROUP: "-", or "T1,T2,..." */
        char cg[VS_STUB_MAX_TASKS * 12] = "-";
        for (size_t i = 0, len = 0; cgroup && i < cgroup->n_tasks && i < VS_STUB_MAX_TASKS; i++) {
                len += (size_t) snprintf(cg + len, sizeof(cg) - len, "%s%d", i ? "," : "",
                                         cgroup->tasks[i]);
                fcntl(cgroup->tasks[i], F_SETFD, 0);
        }
        size_t argc = 0;
        while (p->args[argc])
                argc++;
        char fds[4][32];
        for (size_t i = 0; i < 4; i++) {
                if (pass[i] >= 0)
                        snprintf(fds[i], sizeof(fds[i]), "%d", pass[i]);
                else
                        strcpy(fds[i], "-");
        }
        if (wait_dir >= 0)
                snprintf(fds[0], sizeof(fds[0]), "%d/%d", wait_dir, report_fd);
        char **argv = xcalloc(argc + 9, sizeof(char *));
        argv[0] = "vessel-exec";
        argv[1] = fds[0];
        argv[2] = fds[1];
        argv[3] = fds[2];
        argv[4] = tty ? "tty" : "-";
        argv[5] = fds[3];
        argv[6] = cg;
        argv[7] = (char *) exe;
        for (size_t i = 0; i < argc; i++)
                argv[8 + i] = p->args[i];
        char *empty_env[] = {NULL};
        char **envp = p->env ? p->env : empty_env;
        syscall(SYS_execveat, execstub, "", argv, envp, AT_EMPTY_PATH);
        /* A seccomp profile may allow execve but not execveat. */
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", execstub);
        execve(path, argv, envp);
        free(argv);
        for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++)
                if (pass[i] >= 0)
                        fcntl(pass[i], F_SETFD, FD_CLOEXEC);
        return vs_fail_errno(err, "cannot execute %s through the exec stub", exe);
}
