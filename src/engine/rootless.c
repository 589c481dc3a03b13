/* The rootless engine (docs/rootless.md). An ordinary user cannot mount an
 * overlay or a volume in the host's mount namespace, so the whole engine
 * runs in a user namespace the user owns (0 inside is the user, 1.. the
 * user's /etc/subuid range, mapped by newuidmap/newgidmap) and a mount
 * namespace owned by it. A pause process holds both, so that what one
 * command mounts (a container's root) the next one sees; every command
 * joins them with setns(), as podman's commands join its pause process.
 * Nothing here gives the user more than the user has: the kernel and the
 * setuid helpers decide which host ids the namespace gets. */
#include "engine/rootless.h"
#include "runtime/cgroup.h"
#include "runtime/idmap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAUSE_NAME "vessel-pause"

/* ---- where ---- */

static int cached = -1;

/* A child of a joined command (the monitor) inherits the environment and
 * the namespaces; root's engine has neither. */
bool vs_rootless(void)
{
        if (cached < 0)
                cached = getenv(VS_ROOTLESS_RUN_ENV) && vs_in_user_namespace();
        return cached;
}

const char *vs_rootless_run_dir(void)
{
        return vs_rootless() ? getenv(VS_ROOTLESS_RUN_ENV) : NULL;
}

const char *vs_rootless_data_dir(void)
{
        return vs_rootless() ? getenv(VS_ROOTLESS_DATA_ENV) : NULL;
}

/* From /proc/self/FILE: the outside id of inside id 0, and the end of the
 * inside ids (newuidmap writes them from 0 without gaps). */
static int read_map(const char *file, uint32_t *root, uint32_t *n, vs_error **err)
{
        _cleanup_free_ char *path = xasprintf("/proc/self/%s", file);
        _cleanup_free_ char *text = NULL;
        if (vs_read_file(path, &text, NULL, err) < 0)
                return -1;
        bool found = false;
        uint64_t end = 0;
        char *save = NULL;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                unsigned long long in, out, size;
                if (sscanf(l, "%llu %llu %llu", &in, &out, &size) != 3)
                        continue;
                if (in == 0) {
                        *root = (uint32_t) out;
                        found = true;
                }
                if (in + size > end)
                        end = in + size;
        }
        if (!found)
                return vs_fail(err, "%s: id 0 is not mapped", path);
        *n = end > UINT32_MAX ? UINT32_MAX : (uint32_t) end;
        return 0;
}

int vs_rootless_ids(uint32_t *uid, uint32_t *gid, uint32_t *n_uid, uint32_t *n_gid, vs_error **err)
{
        return read_map("uid_map", uid, n_uid, err) < 0 || read_map("gid_map", gid, n_gid, err) < 0
                   ? -1
                   : 0;
}

int vs_rootless_limits(const char *flag, vs_error **err)
{
        const char *mode = vs_cgroup_mode();
        if (mode && strcmp(mode, "v2") == 0)
                return 0;
        return vs_fail(err,
                       "%s: the rootless engine cannot limit resources on this host (cgroup %s: "
                       "its hierarchies cannot be delegated to an unprivileged user; run "
                       "without limits, or as root)",
                       flag, mode && strcmp(mode, "none") != 0 ? mode : "v1");
}

/* $XDG_RUNTIME_DIR/vessel when XDG_RUNTIME_DIR is the user's own
 * directory, else /tmp/vessel-run-UID (podman's fallback); made 0700 and
 * checked to be the user's own directory, not a symlink another user
 * planted in /tmp. */
static int run_dir(uid_t uid, char **out, vs_error **err)
{
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        struct stat st;
        if (xdg && xdg[0] == '/' && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid)
                *out = xasprintf("%s/vessel", xdg);
        else
                *out = xasprintf("/tmp/vessel-run-%u", (unsigned) uid);
        if (mkdir(*out, 0700) < 0 && errno != EEXIST)
                return vs_fail_errno(err, "rootless: cannot create run dir %s", *out);
        if (lstat(*out, &st) < 0)
                return vs_fail_errno(err, "rootless: run dir %s", *out);
        if (!S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 022))
                return vs_fail(err,
                               "rootless: run dir %s is not a directory of uid %u writable only "
                               "by it (remove it, or set XDG_RUNTIME_DIR)",
                               *out, (unsigned) uid);
        return 0;
}

static char *data_dir(const struct passwd *pw)
{
        const char *xdg = getenv("XDG_DATA_HOME");
        if (xdg && xdg[0] == '/')
                return xasprintf("%s/vessel", xdg);
        const char *home = getenv("HOME");
        if (!(home && home[0] == '/') && pw)
                home = pw->pw_dir;
        return xasprintf("%s/.local/share/vessel", home && home[0] == '/' ? home : "/");
}

/* ---- /etc/subuid ---- */

/* newuidmap's arguments after the pid: "0 ID 1" then, for each range of
 * the user (by name or uid) in path, "NEXT START COUNT". */
static int subid_args(const char *path, const char *user, unsigned id, char ***argv, size_t *argc,
                      vs_error **err)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ vs_error *rerr = NULL;
        if (vs_read_file(path, &text, NULL, &rerr) < 0 && rerr->errno_ != ENOENT) {
                *err = steal_ptr(rerr);
                return -1;
        }
        char uidname[16];
        snprintf(uidname, sizeof(uidname), "%u", id);
        unsigned long long next = 1;
        char *save = NULL;
        for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
             line = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (c2 == NULL)
                        continue;
                *c1 = '\0';
                if (!(user && strcmp(line, user) == 0) && strcmp(line, uidname) != 0)
                        continue;
                char *e1, *e2;
                errno = 0;
                unsigned long long s = strtoull(c1 + 1, &e1, 10), n = strtoull(c2 + 1, &e2, 10);
                if (errno || e1 != c2 || *e2 || n == 0 || s + n > UINT32_MAX ||
                    next + n > UINT32_MAX)
                        continue;
                *argv = xrealloc(*argv, (*argc + 4) * sizeof(char *));
                (*argv)[(*argc)++] = xasprintf("%llu", next);
                (*argv)[(*argc)++] = xasprintf("%llu", s);
                (*argv)[(*argc)++] = xasprintf("%llu", n);
                (*argv)[*argc] = NULL;
                next += n;
        }
        if (next == 1)
                return vs_fail(err,
                               "rootless: %s has no entry for user '%s' (as root: usermod "
                               "--add-subuids 100000-165535 --add-subgids 100000-165535 %s)",
                               path, user ? user : uidname, user ? user : uidname);
        return 0;
}

/* Runs newuidmap or newgidmap for pid: 0 is id, then the subordinate ranges. */
static int write_map(const char *tool, const char *file, pid_t pid, const char *user, unsigned id,
                     vs_error **err)
{
        size_t argc = 0;
        _cleanup_strv_ char **argv = xcalloc(6, sizeof(char *));
        argv[argc++] = xstrdup(tool);
        argv[argc++] = xasprintf("%d", (int) pid);
        argv[argc++] = xstrdup("0");
        argv[argc++] = xasprintf("%u", id);
        argv[argc++] = xstrdup("1");
        if (subid_args(file, user, id, &argv, &argc, err) < 0)
                return -1;
        pid_t child = fork();
        if (child < 0)
                return vs_fail_errno(err, "rootless: fork for %s", tool);
        if (child == 0) {
                execvp(tool, argv);
                _exit(errno == ENOENT ? 127 : 126);
        }
        int status;
        while (waitpid(child, &status, 0) < 0)
                if (errno != EINTR)
                        return vs_fail_errno(err, "rootless: waiting for %s", tool);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                return vs_fail(err, "rootless: %s not found (install Debian's uidmap package)",
                               tool);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return vs_fail(err, "rootless: %s failed for the ranges of %s in %s (status %d)",
                               tool, user ? user : "the user", file, status);
        return 0;
}

/* ---- the pause process ---- */

/* Joins the namespaces of pid if it is this user's pause process: 1 when
 * it is not (gone, or a recycled pid), 0 joined. cwd is kept (setns into a
 * mount namespace moves it to that namespace's root). */
static int join(pid_t pid, uid_t uid, vs_error **err)
{
        char path[64], comm[32] = "";
        snprintf(path, sizeof(path), "/proc/%d/comm", (int) pid);
        _cleanup_free_ char *text = NULL;
        vs_error *e = NULL;
        if (vs_read_file(path, &text, NULL, &e) < 0) {
                vs_error_free(&e);
                return 1;
        }
        snprintf(comm, sizeof(comm), "%s", text);
        comm[strcspn(comm, "\n")] = '\0';
        if (strcmp(comm, PAUSE_NAME) != 0)
                return 1;
        snprintf(path, sizeof(path), "/proc/%d/ns/user", (int) pid);
        _cleanup_close_ int userns = open(path, O_RDONLY | O_CLOEXEC);
        snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int) pid);
        _cleanup_close_ int mntns = open(path, O_RDONLY | O_CLOEXEC);
        uid_t owner = (uid_t) -1;
        if (userns < 0 || mntns < 0 || ioctl(userns, NS_GET_OWNER_UID, &owner) < 0 || owner != uid)
                return 1;
        _cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (setns(userns, CLONE_NEWUSER) < 0)
                return vs_fail_errno(err, "rootless: cannot join the user namespace of pid %d",
                                     (int) pid);
        if (setns(mntns, CLONE_NEWNS) < 0)
                return vs_fail_errno(err, "rootless: cannot join the mount namespace of pid %d",
                                     (int) pid);
        if (cwd >= 0 && fchdir(cwd) < 0)
                return vs_fail_errno(err, "rootless: cannot return to the working directory");
        return 0;
}

/* The pause process: unshares the namespaces, waits for its maps, then
 * holds the namespaces until SIGTERM. */
static _Noreturn void pause_main(int up, int down)
{
        setsid();
        int e = unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 ? errno : 0;
        pid_t me = getpid();
        int msg[2] = {e, (int) me};
        if (write(up, msg, sizeof(msg)) != sizeof(msg) || e)
                _exit(1);
        char ok = 0;
        if (read(down, &ok, 1) != 1 || ok != 1)
                _exit(1);
        prctl(PR_SET_NAME, PAUSE_NAME);
        if (chdir("/") < 0)
                _exit(1);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
                dup2(null, 0);
                dup2(null, 1);
                dup2(null, 2);
        }
        close_range(3, ~0U, 0);
        sigset_t all;
        sigfillset(&all);
        sigdelset(&all, SIGTERM);
        sigprocmask(SIG_SETMASK, &all, NULL);
        signal(SIGTERM, SIG_DFL);
        for (;;)
                pause();
}

/* Starts the pause process (detached: its parent exits at once) and gives
 * its namespace the user's ids; the pid file names it. */
static int start_pause(const char *run, const struct passwd *pw, uid_t uid, gid_t gid, pid_t *out,
                       vs_error **err)
{
        int up[2], down[2];
        if (pipe2(up, O_CLOEXEC) < 0)
                return vs_fail_errno(err, "rootless: pipe");
        if (pipe2(down, O_CLOEXEC) < 0) {
                close(up[0]);
                close(up[1]);
                return vs_fail_errno(err, "rootless: pipe");
        }
        _cleanup_close_ int up_r = up[0], down_w = down[1];
        pid_t mid = fork();
        if (mid == 0) {
                pid_t p = fork();
                if (p == 0) {
                        close(up[0]);
                        close(down[1]);
                        pause_main(up[1], down[0]);
                }
                _exit(p < 0);
        }
        close(up[1]);
        close(down[0]);
        if (mid < 0)
                return vs_fail_errno(err, "rootless: fork");
        int status;
        while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
                ;
        int msg[2];
        if (read(up_r, msg, sizeof(msg)) != sizeof(msg))
                return vs_fail(err, "rootless: the pause process died before it unshared");
        if (msg[0])
                return vs_error_set(err, msg[0],
                                    "rootless: cannot create a user namespace (is "
                                    "kernel.unprivileged_userns_clone or "
                                    "user.max_user_namespaces 0?)");
        pid_t pid = msg[1];
        const char *user = pw ? pw->pw_name : NULL;
        if (write_map("newuidmap", "/etc/subuid", pid, user, uid, err) < 0 ||
            write_map("newgidmap", "/etc/subgid", pid, user, gid, err) < 0)
                return -1; /* closing down_w ends the pause process */
        char ok = 1;
        if (write(down_w, &ok, 1) != 1)
                return vs_fail_errno(err, "rootless: the pause process died");
        _cleanup_free_ char *pidfile = xasprintf("%s/pause.pid", run);
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%d\n", (int) pid);
        if (vs_write_file_atomic(pidfile, buf, (size_t) n, 0600, err) < 0) {
                kill(pid, SIGTERM);
                return -1;
        }
        *out = pid;
        return 0;
}

int vs_rootless_enter(vs_error **err)
{
        if (geteuid() == 0)
                return 0;
        uid_t uid = geteuid();
        gid_t gid = getegid();
        struct passwd *pw = getpwuid(uid);
        _cleanup_free_ char *run = NULL;
        if (run_dir(uid, &run, err) < 0)
                return -1;
        _cleanup_free_ char *data = data_dir(pw);
        _cleanup_free_ char *lockpath = xasprintf("%s/pause.lock", run);
        _cleanup_close_ int lock = vs_lock_open(lockpath, O_RDWR | O_CREAT, 0600, err);
        if (lock < 0)
                return -1;
        _cleanup_free_ char *pidfile = xasprintf("%s/pause.pid", run);
        _cleanup_free_ char *text = NULL;
        vs_error *rerr = NULL;
        int joined = 1;
        if (vs_read_file(pidfile, &text, NULL, &rerr) == 0) {
                long pid = strtol(text, NULL, 10);
                if (pid > 0 && (joined = join((pid_t) pid, uid, err)) < 0)
                        return -1;
        }
        vs_error_free(&rerr);
        if (joined) {
                pid_t pid = 0;
                if (start_pause(run, pw, uid, gid, &pid, err) < 0)
                        return -1;
                if ((joined = join(pid, uid, err)) < 0)
                        return -1;
                if (joined)
                        return vs_fail(err, "rootless: the pause process %d is gone", (int) pid);
        }
        setenv(VS_ROOTLESS_RUN_ENV, run, 1);
        setenv(VS_ROOTLESS_DATA_ENV, data, 1);
        cached = 1;
        return 0;
}
