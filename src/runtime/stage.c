#include "runtime/stage.h"
#include "runtime/stub/protocol.h"

#include <errno.h>
#include <limits.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t vs_raw_clone(unsigned long flags)
{
        return (pid_t) syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
}

pid_t vs_clone_into_cgroup(unsigned long flags, int cgroup_fd)
{
        struct clone_args args = {
            .flags = flags | CLONE_INTO_CGROUP,
            .exit_signal = SIGCHLD,
            .cgroup = (uint64_t) cgroup_fd,
        };
        return (pid_t) syscall(SYS_clone3, &args, sizeof(args));
}

/* The exec stub writes the same report in fork mode. */
_Static_assert(sizeof(struct vs_stub_report) == PIPE_BUF, "one atomic pipe write");
_Static_assert(sizeof(pid_t) == sizeof(int), "the stub reports an int");

void vs_stage_report(int fd, pid_t pid, const char *msg)
{
        struct vs_stub_report r = {.pid = pid};
        snprintf(r.msg, sizeof(r.msg), "%s", msg ? msg : "");
        if (write(fd, &r, sizeof(r)) != (ssize_t) sizeof(r))
                _exit(1);
}

pid_t vs_stage_wait(int fd, pid_t stage, const char *what, vs_error **err)
{
        struct vs_stub_report r = {.pid = -1};
        ssize_t n;
        do
                n = read(fd, &r, sizeof(r));
        while (n < 0 && errno == EINTR);
        while (waitpid(stage, NULL, 0) < 0 && errno == EINTR)
                ;
        if (n != (ssize_t) sizeof(r) || r.pid <= 0) {
                r.msg[sizeof(r.msg) - 1] = '\0';
                return vs_fail(err, "%s", n == (ssize_t) sizeof(r) && *r.msg ? r.msg : what);
        }
        return r.pid;
}
