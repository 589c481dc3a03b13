/* Running a workload natively, in a container or in a VM, and the bench's
 * network namespace (workload.h). */
#include "bench/workload.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned name_seq;
static const char *bench_vessel; /* for reap's removal of a timed-out run */
static pid_t netns_holder;
static int netns_fd = -1;

char *vs_bench_new_name(void)
{
        return xasprintf(VS_BENCH_NAME_PREFIX "%d-%u", (int) getpid(), ++name_seq);
}

double vs_bench_out_value(const char *out, const char *key)
{
        size_t kl = strlen(key);
        for (const char *p = out; p && (p = strstr(p, key)); p += kl)
                if ((p == out || p[-1] == ' ' || p[-1] == '\n') && p[kl] == '=')
                        return strtod(p + kl + 1, NULL);
        return NAN;
}

static void set_lo_up(void)
{
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = {0};
        strcpy(ifr.ifr_name, "lo");
        if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
                ifr.ifr_flags |= IFF_UP;
                ioctl(s, SIOCSIFFLAGS, &ifr);
        }
        if (s >= 0)
                close(s);
}

int vs_bench_netns(vs_error **err)
{
        if (netns_fd >= 0)
                return netns_fd;
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return vs_fail_errno(err, "bench: cannot create a pipe");
        pid_t pid = fork();
        if (pid < 0) {
                close(p[0]);
                close(p[1]);
                return vs_fail_errno(err, "bench: cannot fork the network namespace holder");
        }
        if (pid == 0) {
                /* Dies with the bench, even on kill -9: the namespace goes
                 * with its last process. */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                char ok = unshare(CLONE_NEWNET) == 0 ? '1' : '0';
                if (ok == '1')
                        set_lo_up();
                if (write(p[1], &ok, 1) != 1)
                        _exit(1);
                for (;;)
                        pause();
        }
        close(p[1]);
        char ok = 0;
        ssize_t n;
        while ((n = read(p[0], &ok, 1)) < 0 && errno == EINTR)
                ;
        close(p[0]);
        if (n != 1 || ok != '1') {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                return vs_fail(err, "bench: cannot create a network namespace");
        }
        _cleanup_free_ char *path = xasprintf("/proc/%d/ns/net", (int) pid);
        netns_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (netns_fd < 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                return vs_fail_errno(err, "bench: cannot open %s", path);
        }
        netns_holder = pid;
        return netns_fd;
}

static void release_netns(void)
{
        if (netns_fd >= 0)
                close(netns_fd);
        netns_fd = -1;
        if (netns_holder > 0) {
                kill(netns_holder, SIGKILL);
                while (waitpid(netns_holder, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        netns_holder = 0;
}

/* argv of the child: the workload itself (native) or `vessel run`. */
static char **child_argv(struct vs_bench *b, const struct vs_bench_run *r, const char *name)
{
        char **v = xcalloc(1, sizeof(char *));
        bool self = strcmp(r->argv[0], "vessel") == 0;
        if (r->backend == VS_BENCH_NATIVE) {
                strv_push(&v, self ? b->opts.vessel : r->argv[0]);
        } else {
                strv_push(&v, b->opts.vessel);
                strv_push(&v, "run");
                strv_push(&v, r->detach ? "-d" : "--rm");
                strv_push(&v, "--name");
                strv_push(&v, name);
                if (r->backend == VS_BENCH_VM)
                        strv_push(&v, "--isolation=vm");
                for (size_t i = 0; r->flags && r->flags[i]; i++)
                        strv_push(&v, r->flags[i]);
                strv_push(&v, vs_bench_workload_image());
                strv_push(&v, self ? "/usr/bin/vessel" : r->argv[0]);
        }
        for (size_t i = 1; r->argv[i]; i++)
                strv_push(&v, r->argv[i]);
        return v;
}

int vs_bench_spawn(struct vs_bench *b, const struct vs_bench_run *r, struct vs_bench_proc *p,
                   vs_error **err)
{
        memset(p, 0, sizeof(*p));
        p->outfd = -1;
        bench_vessel = b->opts.vessel;
        p->backend = r->backend;
        if (r->backend != VS_BENCH_NATIVE && !vs_bench_workload_image())
                return vs_fail(err, "bench: no workload image");
        int ns = -1;
        if (r->netns && (ns = vs_bench_netns(err)) < 0)
                return -1;
        _cleanup_free_ char *name = r->name ? xstrdup(r->name) : vs_bench_new_name();
        _cleanup_strv_ char **argv = child_argv(b, r, name);
        _cleanup_free_ char *errpath = xasprintf("%s/%s.err", b->opts.workdir, name);
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return vs_fail_errno(err, "bench: cannot create a pipe");
        vs_debug("bench: running %s", argv[0]);
        pid_t pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                return vs_fail_errno(err, "bench: cannot fork");
        }
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                setpgid(0, 0);
                int devnull = open("/dev/null", O_RDONLY);
                int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
                if (devnull < 0 || e < 0 || dup2(devnull, 0) < 0 || dup2(fds[1], 1) < 0 ||
                    dup2(e, 2) < 0)
                        _exit(127);
                if (r->pin_cpu > 0 && r->backend == VS_BENCH_NATIVE) {
                        cpu_set_t set;
                        CPU_ZERO(&set);
                        CPU_SET(r->pin_cpu - 1, &set);
                        sched_setaffinity(0, sizeof(set), &set);
                }
                if (ns >= 0 && setns(ns, CLONE_NEWNET) < 0) {
                        fprintf(stderr, "cannot join the bench's network namespace: %s\n",
                                strerror(errno));
                        _exit(127);
                }
                execv(argv[0], argv);
                fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        close(fds[1]);
        p->pid = pid;
        p->outfd = fds[0];
        p->name = steal_ptr(name);
        p->started = vs_bench_now();
        return 0;
}

void vs_bench_rm(struct vs_bench *b, const char *name)
{
        char *argv[] = {(char *) b->opts.vessel, "rm", "-f", (char *) name, NULL};
        _cleanup_free_ char *out = NULL;
        vs_bench_capture(argv, &out, 60);
}

int vs_bench_reap(struct vs_bench_proc *p, double timeout, char **out)
{
        size_t len = 0, cap = 4096;
        char *buf = xmalloc(cap);
        int status = -1;
        bool exited = false, killed = false;
        double deadline = vs_bench_now() + timeout;
        fcntl(p->outfd, F_SETFL, O_NONBLOCK);
        for (;;) {
                struct pollfd pfd = {.fd = p->outfd, .events = POLLIN};
                int left = (int) ((deadline - vs_bench_now()) * 1000);
                if (left > 0)
                        poll(&pfd, 1, left < 100 ? left : 100);
                bool was_exited = exited;
                if (!exited && waitpid(p->pid, &status, WNOHANG) == p->pid)
                        exited = true;
                bool eof = false;
                for (;;) {
                        if (cap - len < 2048)
                                buf = xrealloc(buf, cap *= 2);
                        ssize_t n = read(p->outfd, buf + len, cap - len - 1);
                        if (n > 0) {
                                len += (size_t) n;
                                p->last_out = vs_bench_now();
                                if (p->first_out == 0)
                                        p->first_out = p->last_out;
                                continue;
                        }
                        eof = n == 0;
                        break;
                }
                if (eof) {
                        if (!exited)
                                while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
                                        ;
                        break;
                }
                /* Exited, drained once more: a detached container may still
                 * hold the pipe's other end. */
                if (exited && was_exited)
                        break;
                if (exited)
                        continue;
                if (vs_bench_now() >= deadline) {
                        if (p->backend != VS_BENCH_NATIVE && p->name && bench_vessel) {
                                char *argv[] = {(char *) bench_vessel, "rm", "-f", p->name, NULL};
                                _cleanup_free_ char *o = NULL;
                                vs_bench_capture(argv, &o, 60);
                        }
                        kill(-p->pid, SIGKILL);
                        kill(p->pid, SIGKILL);
                        while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
                                ;
                        killed = true;
                        break;
                }
        }
        buf[len] = '\0';
        close(p->outfd);
        p->outfd = -1;
        free(p->name);
        p->name = NULL;
        if (out)
                *out = buf;
        else
                free(buf);
        if (killed)
                return -1;
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* The last non-empty line of path (workload.h). */
char *vs_bench_last_line(const char *path, const char *none)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        if (vs_read_file(path, &text, &len, NULL) < 0 || len == 0)
                return xstrdup(none);
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
                text[--len] = '\0';
        char *nl = strrchr(text, '\n');
        return xstrdup(nl ? nl + 1 : text);
}

int vs_bench_exec(struct vs_bench *b, const struct vs_bench_run *r, char **out, double *secs,
                  vs_error **err)
{
        *out = NULL;
        struct vs_bench_proc p;
        if (vs_bench_spawn(b, r, &p, err) < 0) {
                *out = xstrdup("");
                return -1;
        }
        _cleanup_free_ char *errpath = xasprintf("%s/%s.err", b->opts.workdir, p.name);
        double t0 = p.started;
        int status = vs_bench_reap(&p, r->timeout, out);
        if (secs)
                *secs = vs_bench_now() - t0;
        if (r->span)
                *r->span = p.last_out - p.first_out;
        if (status < 0)
                return vs_fail(err, "%s did not finish within %.0f s", r->argv[0], r->timeout);
        if (status != 0) {
                _cleanup_free_ char *why = vs_bench_last_line(errpath, "no error output");
                vs_fail(err, "%s exited with status %d: %s", r->argv[0], status, why);
        }
        unlink(errpath);
        return status;
}

int vs_bench_capture_env(char *const *argv, char *const *envp, char **out, double timeout)
{
        int fds[2];
        *out = NULL;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -1;
        pid_t pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                return -1;
        }
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                int devnull = open("/dev/null", O_RDWR);
                dup2(devnull, 0);
                dup2(fds[1], 1);
                dup2(devnull, 2);
                execve(argv[0], argv, envp ? envp : environ);
                _exit(127);
        }
        close(fds[1]);
        struct vs_bench_proc p = {
            .pid = pid, .outfd = fds[0], .backend = VS_BENCH_NATIVE, .started = vs_bench_now()};
        return vs_bench_reap(&p, timeout, out);
}

int vs_bench_capture(char *const *argv, char **out, double timeout)
{
        return vs_bench_capture_env(argv, NULL, out, timeout);
}

void vs_bench_workload_release(struct vs_bench *b)
{
        release_netns();
        /* This run's containers (a cell that failed midway may leave one). */
        vs_bench_rm_own(b->opts.vessel);
}
