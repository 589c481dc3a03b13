/* Stages in parallel: the needed stages in file order, each once the
 * stages it names (FROM, COPY --from) are built. When two or more are
 * ready at once, each is built in a child process (at most
 * min(2, online CPUs) at a time), which sends back its image id or its
 * error line; a stage that is ready alone is built in process. Children
 * print plain progress (their step numbers are reserved up front, so the
 * `#N` lines stay distinct) and die with the build (PR_SET_PDEATHSIG). */
#include "build/exec.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PARALLEL 2

struct child {
        pid_t pid;
        int fd;
        size_t stage;
};

enum { WAITING, RUNNING, DONE };

static _Noreturn void stage_child(struct builder *b, struct stage *st, int fd, pid_t parent)
{
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
                _exit(1);
        struct vs_build_opts o = *b->o;
        o.tty = false; /* lines, not a line rewritten in place */
        b->o = &o;
        b->line_open = false;
        b->prefixed = true;
        vs_error *err = NULL;
        int r = build_stage(b, st, &err);
        _cleanup_free_ char *msg =
            r == 0 ? xasprintf("O%s", st->image_id) : xasprintf("E%s", err ? err->msg : "failed");
        fflush(stderr);
        size_t n = strlen(msg), off = 0;
        while (off < n) {
                ssize_t w = write(fd, msg + off, n - off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        break;
                off += (size_t) w;
        }
        _exit(r == 0 ? 0 : 1);
}

struct line_relay {
        int rfd, out, step; /* out: stderr as it was (step_run moves fd 2) */
        pthread_t th;
};

/* No malloc here: the runtime clones the step's init while this thread
 * runs, and a lock held across that clone would stay held in the child. */
static void emit(int out_fd, int step, const char *line, size_t n)
{
        char out[8192 + 32];
        int k = snprintf(out, 32, "#%d ", step);
        if (k < 0 || k >= 32)
                return;
        if (n > sizeof(out) - (size_t) k - 1)
                n = sizeof(out) - (size_t) k - 1;
        memcpy(out + k, line, n);
        out[(size_t) k + n] = '\n';
        size_t len = (size_t) k + n + 1, off = 0;
        while (off < len) {
                ssize_t w = write(out_fd, out + off, len - off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return;
                off += (size_t) w;
        }
}

static void *relay_main(void *arg)
{
        struct line_relay *r = arg;
        char buf[8192];
        size_t have = 0;
        for (;;) {
                ssize_t n = read(r->rfd, buf + have, sizeof(buf) - have);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                have += (size_t) n;
                char *start = buf, *nl;
                while ((nl = memchr(start, '\n', have - (size_t) (start - buf))) != NULL) {
                        emit(r->out, r->step, start, (size_t) (nl - start));
                        start = nl + 1;
                }
                have -= (size_t) (start - buf);
                memmove(buf, start, have);
                if (have == sizeof(buf)) { /* a very long line: in pieces */
                        emit(r->out, r->step, buf, have);
                        have = 0;
                }
        }
        if (have)
                emit(r->out, r->step, buf, have);
        return NULL;
}

struct line_relay *relay_start(int step, int *wfd, vs_error **err)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
                vs_fail_errno(err, "cannot make a pipe");
                return NULL;
        }
        struct line_relay *r = xzalloc(sizeof(*r));
        r->rfd = p[0];
        r->step = step;
        r->out = fcntl(2, F_DUPFD_CLOEXEC, 3);
        /* The thread takes no signal: a SIGTERM for the build must reach
         * the runtime's signalfd (which cancels the step), not this thread. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        int e = pthread_create(&r->th, NULL, relay_main, r);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (e != 0) {
                close(r->out);
                close(p[0]);
                close(p[1]);
                free(r);
                errno = e;
                vs_fail_errno(err, "cannot start a thread");
                return NULL;
        }
        *wfd = p[1];
        return r;
}

void relay_finish(struct line_relay *r)
{
        if (r == NULL)
                return;
        pthread_join(r->th, NULL);
        close(r->rfd);
        close(r->out);
        free(r);
}

static int spawn(struct builder *b, size_t i, struct child *c, vs_error **err)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return vs_fail_errno(err, "cannot make a pipe");
        fflush(stdout);
        fflush(stderr);
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
                close(p[0]);
                close(p[1]);
                return vs_fail_errno(err, "cannot fork");
        }
        if (pid == 0) {
                close(p[0]);
                stage_child(b, &b->stages[i], p[1], parent);
        }
        close(p[1]);
        *c = (struct child){.pid = pid, .fd = p[0], .stage = i};
        /* The child numbers its steps from here. */
        b->step += (int) (b->stages[i].end - b->stages[i].from);
        return 0;
}

/* Reads a child's answer to EOF, reaps it; 0 with the stage's id set. */
static int collect(struct builder *b, struct child *c, vs_error **err)
{
        char *buf = NULL;
        size_t len = 0;
        char chunk[4096];
        for (;;) {
                ssize_t n = read(c->fd, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                buf = xrealloc(buf, len + (size_t) n + 1);
                memcpy(buf + len, chunk, (size_t) n);
                len += (size_t) n;
        }
        close(c->fd);
        int status = 0;
        while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
                ;
        _cleanup_free_ char *msg = buf;
        if (msg)
                msg[len] = '\0';
        struct stage *st = &b->stages[c->stage];
        if (msg && msg[0] == 'O' && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                st->image_id = xstrdup(msg + 1);
                return 0;
        }
        if (msg && msg[0] == 'E')
                return vs_fail(err, "%s", msg + 1);
        return vs_fail(err, "stage %s: its build process ended without a result (status %d)",
                       st->name ? st->name : "(unnamed)", status);
}

static bool ready(struct builder *b, size_t i, const int *state)
{
        if (state[i] != WAITING)
                return false;
        _cleanup_free_ bool *deps = xcalloc(b->n_stages, sizeof(bool));
        stage_deps(b, i, deps);
        for (size_t j = 0; j < i; j++)
                if (deps[j] && state[j] != DONE)
                        return false;
        return true;
}

int build_stages(struct builder *b, vs_error **err)
{
        size_t n = b->n_stages;
        _cleanup_free_ int *state = xcalloc(n, sizeof(int));
        for (size_t i = 0; i < n; i++)
                state[i] = b->stages[i].needed ? WAITING : DONE;
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        size_t limit = cpus < 1 ? 1 : cpus < MAX_PARALLEL ? (size_t) cpus : MAX_PARALLEL;
        struct child kids[MAX_PARALLEL];
        size_t nkids = 0;
        int r = 0;
        for (;;) {
                size_t nready = 0, first = n;
                for (size_t i = 0; i < n; i++)
                        if (ready(b, i, state)) {
                                if (nready++ == 0)
                                        first = i;
                        }
                if (r == 0 && build_interrupted())
                        r = vs_fail(err, "interrupted");
                if (r < 0 || (nready == 0 && nkids == 0))
                        break;
                if (nkids == 0 && (nready == 1 || limit == 1)) {
                        if (build_stage(b, &b->stages[first], err) < 0) {
                                r = -1;
                                break;
                        }
                        state[first] = DONE;
                        continue;
                }
                for (size_t i = 0; i < n && nkids < limit; i++) {
                        if (!ready(b, i, state))
                                continue;
                        if (spawn(b, i, &kids[nkids], err) < 0) {
                                r = -1;
                                break;
                        }
                        nkids++;
                        state[i] = RUNNING;
                }
                if (nkids == 0)
                        break;
                /* Wait for one child to finish. */
                struct pollfd pf[MAX_PARALLEL];
                for (size_t k = 0; k < nkids; k++)
                        pf[k] = (struct pollfd){.fd = kids[k].fd, .events = POLLIN};
                if (poll(pf, nkids, -1) < 0 && errno != EINTR) {
                        r = vs_fail_errno(err, "poll");
                        break;
                }
                for (size_t k = 0; k < nkids; k++) {
                        if (pf[k].revents == 0)
                                continue;
                        vs_error *e = NULL;
                        if (collect(b, &kids[k], &e) < 0) {
                                if (r == 0) {
                                        *err = e;
                                        r = -1;
                                } else {
                                        vs_error_free(&e);
                                }
                        } else {
                                state[kids[k].stage] = DONE;
                        }
                        kids[k] = kids[--nkids];
                        break;
                }
        }
        /* A failure: the other children stop (their steps clean up as on
         * Ctrl-C) and are reaped. */
        for (size_t k = 0; k < nkids; k++)
                kill(kids[k].pid, SIGTERM);
        for (size_t k = 0; k < nkids; k++) {
                /* One that does not stop within 10 s is killed (the next
                 * build reaps what it left). */
                struct pollfd pf = {.fd = kids[k].fd, .events = POLLIN};
                if (poll(&pf, 1, 10000) == 0)
                        kill(kids[k].pid, SIGKILL);
                vs_error *e = NULL;
                collect(b, &kids[k], &e);
                vs_error_free(&e);
        }
        return r;
}
