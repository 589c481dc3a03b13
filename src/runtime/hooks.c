#include "runtime/hooks.h"
#include "util/clock.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HOOK_OUTPUT_MAX 4096

/* Keeps the tail of what the hook printed, for the error message. */
static void drain(int fd, char *buf, size_t *len)
{
        char tmp[1024];
        ssize_t r;
        while ((r = read(fd, tmp, sizeof(tmp))) > 0) {
                size_t n = (size_t) r;
                if (*len + n > HOOK_OUTPUT_MAX - 1) {
                        size_t drop = *len + n - (HOOK_OUTPUT_MAX - 1);
                        if (drop > *len)
                                drop = *len;
                        memmove(buf, buf + drop, *len - drop);
                        *len -= drop;
                        if (n > HOOK_OUTPUT_MAX - 1 - *len)
                                n = HOOK_OUTPUT_MAX - 1 - *len;
                }
                memcpy(buf + *len, tmp, n);
                *len += n;
        }
}

static void trim(char *s)
{
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r'))
                s[--n] = '\0';
        for (char *p = s; *p; p++)
                if (*p == '\n')
                        *p = ' ';
}

static int run_one(const struct oci_hook *h, const char *ctx, const char *state_json,
                   vs_error **err)
{
        _cleanup_close_ int in = memfd_create("vessel-hook-state", MFD_CLOEXEC);
        if (in < 0)
                return vs_fail_errno(err, "%s: cannot create stdin for the hook", ctx);
        size_t len = strlen(state_json);
        if (write(in, state_json, len) != (ssize_t) len || lseek(in, 0, SEEK_SET) < 0)
                return vs_fail_errno(err, "%s: cannot write the state for the hook", ctx);
        int out[2];
        if (pipe2(out, O_CLOEXEC) < 0)
                return vs_fail_errno(err, "%s: cannot create a pipe", ctx);
        _cleanup_close_ int out_r = out[0];
        pid_t pid = fork();
        if (pid < 0) {
                close(out[1]);
                return vs_fail_errno(err, "%s: cannot fork", ctx);
        }
        if (pid == 0) {
                char *argv0[] = {h->path, NULL};
                char *envp0[] = {NULL};
                sigset_t all;
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                if (dup2(in, 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0)
                        _exit(127);
                execve(h->path, h->args && h->args[0] ? h->args : argv0, h->env ? h->env : envp0);
                dprintf(2, "cannot execute: %s", strerror(errno));
                _exit(127);
        }
        close(out[1]);
        _cleanup_close_ int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        fcntl(out_r, F_SETFL, O_NONBLOCK);
        char output[HOOK_OUTPUT_MAX] = "";
        size_t olen = 0;
        long long deadline =
            h->has_timeout ? vs_monotonic_ms() + (long long) h->timeout * 1000 : -1;
        bool timed_out = false, out_open = true;
        for (;;) {
                struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN},
                                      {.fd = out_open ? out_r : -1, .events = POLLIN}};
                int wait_ms = -1;
                if (deadline >= 0) {
                        long long left = deadline - vs_monotonic_ms();
                        wait_ms = left > 0 ? (int) left : 0;
                }
                int n = poll(p, 2, wait_ms);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n == 0) {
                        timed_out = true;
                        kill(pid, SIGKILL);
                        break;
                }
                if (p[1].revents) {
                        drain(out_r, output, &olen);
                        if (p[1].revents & (POLLHUP | POLLERR))
                                out_open = false;
                }
                if (p[0].revents)
                        break;
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        drain(out_r, output, &olen);
        output[olen] = '\0';
        trim(output);
        if (timed_out)
                return vs_fail(err, "%s %s: timed out after %d s%s%s", ctx, h->path, h->timeout,
                               olen ? ": " : "", output);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFSIGNALED(status))
                return vs_fail(err, "%s %s: killed by signal %d%s%s", ctx, h->path,
                               WTERMSIG(status), *output ? ": " : "", output);
        return vs_fail(err, "%s %s: exited with status %d%s%s", ctx, h->path, WEXITSTATUS(status),
                       *output ? ": " : "", output);
}

void vs_hooks_run_all(const struct oci_hook *hooks, size_t n, const char *kind,
                      const char *state_json)
{
        for (size_t i = 0; i < n; i++) {
                char ctx[64];
                vs_error *err = NULL;
                snprintf(ctx, sizeof(ctx), "hooks.%s[%zu]", kind, i);
                if (run_one(&hooks[i], ctx, state_json, &err) < 0) {
                        vs_warn("%s", err->msg);
                        vs_error_free(&err);
                }
        }
}

int vs_hooks_run(const struct oci_hook *hooks, size_t n, const char *kind, const char *state_json,
                 vs_error **err)
{
        for (size_t i = 0; i < n; i++) {
                char ctx[64];
                snprintf(ctx, sizeof(ctx), "hooks.%s[%zu]", kind, i);
                if (run_one(&hooks[i], ctx, state_json, err) < 0)
                        return -1;
        }
        return 0;
}
