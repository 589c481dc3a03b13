/* The client side of a VM launcher's <container dir>/vm.sock: `exec` (the
 * launcher opens a session on the guest agent's control channel,
 * guest/proto.h; the session's frames are the engine's attach frames, so
 * the client side is the attach session's), pause/unpause (QMP, done by the
 * launcher) and stats (the guest's memory and processes). */
#include "vm/vm.h"
#include "../guest/proto.h"
#include "engine/engine.h"
#include "oci/config.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

int vs_vm_connect(const char *dir, const char *name, vs_error **err)
{
        _cleanup_close_ int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return vs_fail_errno(err, "container %s: cannot open %s", name, dir);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/" VS_VM_EXEC_SOCK, dirfd);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return vs_fail_errno(err, "cannot create a socket");
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                if (e == ENOENT || e == ECONNREFUSED)
                        return vs_fail(err,
                                       "container %s: its VM is still booting or has "
                                       "ended (no %s/" VS_VM_EXEC_SOCK ")",
                                       name, dir);
                errno = e;
                return vs_fail_errno(err, "container %s: cannot reach its VM launcher", name);
        }
        return fd;
}

static int connect_launcher(const struct vs_ctr *c, vs_error **err)
{
        return vs_vm_connect(c->dir, c->name, err);
}

/* exec -d: the session runs on in a waiter of its own (double-forked,
 * a session of its own, nothing of the caller's open: a caller reading a
 * pipe it gave is not held until the process ends), which reads the
 * session's frames, drops the output (as Docker's exec -d) and writes
 * exec_die with the exit code; 137 when the launcher hangs up without one
 * (the VM ended and took the process with it). */
static int detached_waiter(struct vs_engine *e, const struct vs_ctr *c, int fd, const char *exec_id,
                           vs_error **err)
{
        fflush(NULL);
        pid_t w = fork();
        if (w < 0)
                return vs_fail_errno(err, "cannot fork the exec's waiter");
        if (w == 0) {
                if (setsid() < 0 || fork() != 0)
                        _exit(0);
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                for (int i = 0; i < 3 && null >= 0; i++)
                        dup2(null, i);
                for (int i = 3; i < 1024; i++)
                        if (i != fd)
                                close(i);
                int code = 137;
                for (;;) {
                        enum vs_frame_type t;
                        char *d = NULL;
                        size_t n = 0;
                        if (vs_frame_read(fd, &t, &d, &n) <= 0)
                                break;
                        bool exit_frame = t == VS_FRAME_EXIT;
                        if (exit_frame && d)
                                code = atoi(d);
                        free(d);
                        if (exit_frame)
                                break;
                }
                if (exec_id) {
                        char num[16];
                        snprintf(num, sizeof(num), "%d", code);
                        vs_exec_event(e, c, "exec_die", exec_id, NULL, num);
                }
                _exit(0);
        }
        while (waitpid(w, NULL, 0) < 0 && errno == EINTR)
                ;
        return 0;
}

int vs_vm_exec(struct vs_engine *e, const struct vs_ctr *c, const struct oci_config *cfg,
               const struct oci_process *proc, bool interactive, bool detach, const char *exec_id,
               int *status, vs_error **err)
{
        _cleanup_free_ char *payload = NULL;
        size_t len = 0;
        if (vs_vm_exec_payload(c, cfg, proc, interactive && !detach, &payload, &len, err) < 0)
                return -1;
        _cleanup_close_ int fd = connect_launcher(c, err);
        if (fd < 0)
                return -1;
        if (vs_frame_write(fd, (enum vs_frame_type) VS_VM_EXEC, payload, len) < 0)
                return vs_fail_errno(err, "container %s: cannot send the exec request", c->name);
        *status = 0;
        if (detach)
                return detached_waiter(e, c, fd, exec_id, err);
        int code = -1;
        if (vs_attach_session(e, c, fd, proc->terminal, interactive, &code, err) < 0)
                return -1;
        /* The launcher hung up without an exit code: the VM ended and took
         * the process with it, as a container's end kills its execs. */
        *status = code < 0 ? 137 : code;
        return 0;
}

int vs_vm_launcher_answer(int fd, const struct vs_ctr *c, int *answer, char **data, vs_error **err)
{
        _cleanup_free_ char *msg = NULL;
        for (;;) {
                enum vs_frame_type t;
                char *d = NULL;
                size_t n = 0;
                if (vs_frame_read(fd, &t, &d, &n) <= 0)
                        return vs_fail(err, "container %s: no answer from its VM launcher",
                                       c->name);
                if ((int) t == VS_FRAME_STDERR) {
                        free(msg);
                        msg = d;
                        continue;
                }
                *answer = (int) t;
                if ((int) t == VS_FRAME_EXIT && strcmp(d, "0") != 0 && msg) {
                        free(d);
                        return vs_fail(err, "container %s: %s", c->name, msg);
                }
                *data = d;
                return 0;
        }
}

/* One request and its answer frame (EXIT, STATS). */
static int request(const struct vs_ctr *c, int type, int timeout_s, int *answer, char **data,
                   vs_error **err)
{
        _cleanup_close_ int fd = connect_launcher(c, err);
        if (fd < 0)
                return -1;
        struct timeval tv = {.tv_sec = timeout_s};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (vs_frame_write(fd, (enum vs_frame_type) type, NULL, 0) < 0)
                return vs_fail_errno(err, "container %s: cannot reach its VM launcher", c->name);
        return vs_vm_launcher_answer(fd, c, answer, data, err);
}

int vs_vm_pause(const struct vs_ctr *c, bool pause, vs_error **err)
{
        int type = 0;
        _cleanup_free_ char *data = NULL;
        if (request(c, pause ? VS_VM_PAUSE : VS_VM_RESUME, 30, &type, &data, err) < 0)
                return -1;
        if (type != VS_FRAME_EXIT || strcmp(data, "0") != 0)
                return vs_fail(err, "container %s: the VM could not be %s", c->name,
                               pause ? "paused" : "resumed");
        return 0;
}

/* utime + stime of pid, in ns. */
static uint64_t cpu_ns_of(pid_t pid)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        _cleanup_free_ char *text = NULL;
        size_t n;
        if (vs_read_file(path, &text, &n, NULL) < 0)
                return 0;
        char *p = strrchr(text, ')');
        unsigned long long ut = 0, st = 0;
        if (p == NULL ||
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
                return 0;
        return (ut + st) * (1000000000ULL / (uint64_t) sysconf(_SC_CLK_TCK));
}

int vs_vm_stats(const struct vs_ctr *c, struct vs_vm_stats *st, vs_error **err)
{
        *st = (struct vs_vm_stats){0};
        if (c->state.pid <= 0)
                return vs_fail(err, "container %s is not running", c->name);
        /* The launcher and its children (QEMU). */
        st->cpu_ns = cpu_ns_of(c->state.pid);
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int) c->state.pid,
                 (int) c->state.pid);
        _cleanup_free_ char *kids = NULL;
        size_t n;
        if (vs_read_file(path, &kids, &n, NULL) == 0)
                for (char *save = NULL, *t = strtok_r(kids, " \n", &save); t;
                     t = strtok_r(NULL, " \n", &save))
                        st->cpu_ns += cpu_ns_of((pid_t) atoi(t));
        int type = 0;
        _cleanup_free_ char *data = NULL;
        _cleanup_error_ vs_error *gerr = NULL;
        unsigned long long total, avail, procs;
        if (request(c, VS_VM_STATS, 1, &type, &data, &gerr) == 0 && type == VS_VM_STATS &&
            sscanf(data, "%llu %llu %llu", &total, &avail, &procs) == 3 && avail <= total) {
                st->mem_total = total << 10;
                st->mem_used = (total - avail) << 10;
                st->pids = procs;
                st->guest = true;
        }
        return 0;
}

int vs_vm_top(const struct vs_ctr *c, char **table, vs_error **err)
{
        if (c->state.paused)
                return vs_fail(err, "container %s is paused: its guest cannot answer", c->name);
        int type = 0;
        _cleanup_free_ char *data = NULL;
        if (request(c, VS_VM_TOP, 10, &type, &data, err) < 0)
                return -1;
        if (type != VS_VM_TOP)
                return vs_fail(err, "container %s: its guest did not answer", c->name);
        *table = steal_ptr(data);
        return 0;
}
