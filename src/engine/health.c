/* Health checks, run by the container's monitor (no daemon): on schedule the
 * monitor forks a helper that starts the check in the container through the
 * runtime's exec (vs_container_exec: every namespace, the cgroup, seccomp,
 * the container's user, env and cwd), collects its output (Docker keeps the
 * first 4096 bytes) and exits with its status. The helper dies with the
 * monitor (PR_SET_PDEATHSIG) and always takes the check with it: on a
 * timeout or the monitor's death it gets SIGTERM and kills the check and
 * every process the check started (kill_tree; Docker's daemon kills only
 * the check's own process and leaves its children running). A
 * check never outlives the container: it runs in its pid namespace, and the
 * monitor ends the helper when the container exits. */
#include "engine/health.h"
#include "engine/engine.h"
#include "oci/config.h"
#include "runtime/container.h"
#include "runtime/state.h"
#include "util/clock.h"
#include "util/cleanup.h"
#include "util/exitcode.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HEALTH_OUTPUT_MAX   4096 /* Docker's maxOutputLen */
#define HEALTH_LOG_ENTRIES  5    /* Docker's maxLogEntries */
#define HEALTH_DEFAULT_MS   30000
#define HEALTH_DEFAULT_RETR 3

/* Test: ["CMD", args...] or ["CMD-SHELL", cmd]; ["NONE"], empty or
 * anything else: no check. */
static char **check_argv(char *const *test)
{
        if (test == NULL || test[0] == NULL)
                return NULL;
        if (strcmp(test[0], "CMD") == 0 && test[1])
                return strv_copy(test + 1);
        if (strcmp(test[0], "CMD-SHELL") == 0 && test[1]) {
                char **v = NULL;
                strv_push(&v, "/bin/sh");
                strv_push(&v, "-c");
                strv_push(&v, test[1]);
                return v;
        }
        return NULL;
}

typedef void (*health_edit)(json_object *health, void *arg);

/* Changes State.Health under the record's lock; a status change is logged
 * as Docker's "health_status: STATUS" event. */
static void health_update(struct vs_engine *e, struct vs_ctr **c, health_edit edit, void *arg)
{
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_close_ int lock = vs_ctr_lock(*c, &err);
        if (lock < 0 || vs_ctr_reload(e, c, &err) < 0) {
                vs_warn("health check: %s", err ? err->msg : "cannot lock the record");
                return;
        }
        struct vs_ctr_state *s = &(*c)->state;
        _cleanup_free_ char *old = NULL;
        if (s->health)
                old = xstrdup(json_object_get_string(json_object_object_get(s->health, "Status")));
        else
                s->health = json_object_new_object();
        edit(s->health, arg);
        if (vs_ctr_save_state(*c, &err) < 0) {
                vs_warn("health check: %s", err->msg);
                return;
        }
        const char *now = json_object_get_string(json_object_object_get(s->health, "Status"));
        if (old == NULL || strcmp(old, now) != 0) {
                if (strcmp(now, "starting") == 0)
                        return;
                _cleanup_free_ char *action = xasprintf("health_status: %s", now);
                vs_ctr_event(e, *c, action, NULL, NULL);
        }
}

/* The wait before the next check: --health-start-interval while the start
 * period lasts (when given), else the interval. */
static int64_t next_interval(const struct vs_health *h, int64_t now)
{
        if (h->start_interval_ms > 0 && now - h->started_ms < h->start_period_ms)
                return h->start_interval_ms;
        return h->interval_ms;
}

static void edit_start(json_object *h, void *arg)
{
        (void) arg;
        json_object_object_add(h, "Status", json_object_new_string("starting"));
        json_object_object_add(h, "FailingStreak", json_object_new_int(0));
        json_object *log = json_object_object_get(h, "Log");
        if (log == NULL || !json_object_is_type(log, json_type_array))
                json_object_object_add(h, "Log", json_object_new_array());
}

void vs_health_start(struct vs_health *h, struct vs_engine *e, struct vs_ctr **c)
{
        memset(h, 0, sizeof(*h));
        h->result_fd = -1;
        const struct vs_ctr_config *cfg = &(*c)->cfg;
        h->argv = check_argv(cfg->health_test);
        if (h->argv == NULL)
                return;
        h->interval_ms = cfg->health_interval > 0 ? cfg->health_interval / 1000000 : 0;
        h->timeout_ms = cfg->health_timeout > 0 ? cfg->health_timeout / 1000000 : 0;
        h->start_period_ms = cfg->health_start_period > 0 ? cfg->health_start_period / 1000000 : 0;
        h->start_interval_ms =
            cfg->health_start_interval > 0 ? cfg->health_start_interval / 1000000 : 0;
        if (h->interval_ms <= 0)
                h->interval_ms = HEALTH_DEFAULT_MS;
        if (h->timeout_ms <= 0)
                h->timeout_ms = HEALTH_DEFAULT_MS;
        h->retries = cfg->health_retries > 0 ? (int) cfg->health_retries : HEALTH_DEFAULT_RETR;
        h->started_ms = vs_monotonic_ms();
        h->next_ms = h->started_ms + next_interval(h, h->started_ms);
        health_update(e, c, edit_start, NULL);
}

int vs_health_poll_timeout(const struct vs_health *h)
{
        if (h->argv == NULL)
                return -1;
        int64_t at = h->helper ? h->check_ms + h->timeout_ms : h->next_ms;
        if (h->pending) /* no next check before it is recorded */
                at = h->pending_ms;
        if (h->helper && h->timed_out)
                return -1; /* waiting for the helper's exit (SIGCHLD) */
        int64_t left = at - vs_monotonic_ms();
        return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int) left;
}

/* ---- the helper ---- */

static _Noreturn void helper_fail(int result_fd, int code, const char *msg)
{
        int32_t c = code;
        if (write(result_fd, &c, sizeof(c)) == sizeof(c) && msg)
                (void) !write(result_fd, msg, strnlen(msg, HEALTH_OUTPUT_MAX));
        _exit(0);
}

static pid_t read_pid(const char *path)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        if (vs_read_file(path, &text, &len, NULL) < 0)
                return -1;
        return (pid_t) atoi(text);
}

/* Stops pid and, from the top down, every descendant it has (the kernel's
 * /proc/PID/task/TID/children lists; a stopped process forks no more),
 * appending them to *v; at most 4096. */
static void stop_tree(pid_t pid, pid_t **v, size_t *n)
{
        if (*n >= 4096 || kill(pid, SIGSTOP) < 0)
                return;
        *v = xrealloc(*v, (*n + 1) * sizeof(pid_t));
        (*v)[(*n)++] = pid;
        _cleanup_free_ char *dir = xasprintf("/proc/%d/task", (int) pid);
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *path = xasprintf("%s/%s/children", dir, de->d_name);
                _cleanup_free_ char *text = NULL;
                if (vs_read_file(path, &text, NULL, NULL) < 0)
                        continue;
                char *save = NULL;
                for (char *t = strtok_r(text, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
                        stop_tree((pid_t) atoi(t), v, n);
        }
}

/* The check and what it started (`sh -c 'a & b'`): stopped first, so that
 * none forks while the tree is read, then killed. */
static void kill_tree(pid_t pid)
{
        pid_t *v = NULL;
        size_t n = 0;
        stop_tree(pid, &v, &n);
        for (size_t i = 0; i < n; i++)
                kill(v[i], SIGKILL);
        free(v);
}

/* Result on result_fd: the exit code (int32), then the output. */
static _Noreturn void helper_main(const struct vs_ctr *c, char **argv, int result_fd, pid_t monitor)
{
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_BLOCK, &set, NULL);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != monitor)
                _exit(1);
        prctl(PR_SET_NAME, "vessel-health");
        /* Nothing of the monitor's (the container's stdin pipe, attach
         * sockets): a check must not keep them open. */
        if (result_fd != 3 && dup2(result_fd, 3) < 0)
                _exit(1);
        result_fd = 3;
        fcntl(result_fd, F_SETFD, FD_CLOEXEC);
        syscall(SYS_close_range, 4u, ~0U, 0u);
        /* The monitor's log again (its fd was closed with the rest). */
        _cleanup_free_ char *mlog = xasprintf("%s/monitor.log", c->dir);
        vs_log_init(mlog, NULL, vs_log_debug_enabled());
        int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        int out[2];
        if (sfd < 0 || pipe2(out, O_CLOEXEC) < 0)
                helper_fail(result_fd, -1, "cannot create the check's pipe");
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        dup2(devnull, STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        dup2(out[1], STDERR_FILENO);
        close(out[1]);
        _cleanup_free_ char *pid_file = xasprintf("%s/health.pid", c->dir);
        unlink(pid_file);
        vs_error *err = NULL;
        struct oci_process *p = NULL;
        if (vs_container_process(c->runtime_root, c->id, &p, &err) < 0)
                helper_fail(result_fd, -1, err->msg);
        strv_free(p->args);
        p->args = strv_copy(argv);
        p->terminal = false;
        struct vs_exec_opts o = {.root = c->runtime_root,
                                 .id = c->id,
                                 .process = p,
                                 .pid_file = pid_file,
                                 .detach = true};
        int status = 0;
        int r = vs_container_exec(&o, &status, &err);
        dup2(devnull, STDOUT_FILENO);
        dup2(devnull, STDERR_FILENO);
        if (r < 0) {
                /* Not found/not executable as `exec` says (127/126); a check
                 * that could not start at all (a paused container): -1, as
                 * Docker's probe error. */
                int code = vs_exec_failure_code(err ? err->errno_ : 0);
                helper_fail(result_fd, code == 125 ? -1 : code,
                            err ? err->msg : "cannot run the check");
        }
        pid_t pid = read_pid(pid_file);
        unlink(pid_file);
        char buf[HEALTH_OUTPUT_MAX];
        size_t n = 0;
        int code = -1;
        bool done = false;
        fcntl(out[0], F_SETFL, O_NONBLOCK);
        while (!done) {
                struct pollfd pfd[2] = {{.fd = out[0], .events = POLLIN},
                                        {.fd = sfd, .events = POLLIN}};
                if (poll(pfd, 2, -1) < 0 && errno != EINTR)
                        break;
                if (pfd[0].revents) {
                        char tmp[4096];
                        ssize_t k = read(out[0], tmp, sizeof(tmp));
                        if (k > 0 && n < sizeof(buf)) {
                                size_t take =
                                    (size_t) k < sizeof(buf) - n ? (size_t) k : sizeof(buf) - n;
                                memcpy(buf + n, tmp, take);
                                n += take;
                        }
                        if (k == 0) /* everything that had it open is gone */
                                pfd[0].fd = -1, close(out[0]), out[0] = -1;
                }
                struct signalfd_siginfo si;
                bool term = false;
                while (read(sfd, &si, sizeof(si)) == sizeof(si))
                        term |= si.ssi_signo == SIGTERM;
                if (term) {
                        /* The timeout, or the monitor died. */
                        if (pid > 0)
                                kill_tree(pid);
                        while (waitpid(-1, NULL, 0) > 0)
                                ;
                        _exit(1);
                }
                int st;
                pid_t w;
                while ((w = waitpid(-1, &st, WNOHANG)) > 0)
                        if (w == pid) {
                                code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                                done = true;
                        }
                if (out[0] < 0 && pid <= 0)
                        done = true;
        }
        /* What the check wrote last (a child it left behind may hold the
         * pipe: no waiting for EOF). */
        ssize_t k;
        while (out[0] >= 0 && n < sizeof(buf) && (k = read(out[0], buf + n, sizeof(buf) - n)) > 0)
                n += (size_t) k;
        int32_t c32 = code;
        if (write(result_fd, &c32, sizeof(c32)) == sizeof(c32) && n)
                (void) !write(result_fd, buf, n);
        _exit(0);
}

static void record_result(struct vs_health *h, struct vs_engine *e, struct vs_ctr **c, char *buf,
                          size_t n);

void vs_health_tick(struct vs_health *h, struct vs_engine *e, struct vs_ctr **c)
{
        if (h->argv == NULL)
                return;
        int64_t now = vs_monotonic_ms();
        if (h->pending && now >= h->pending_ms) {
                _cleanup_free_ char *buf = xmalloc(h->pending_len + 1);
                memcpy(buf, h->pending, h->pending_len);
                size_t n = h->pending_len;
                free(steal_ptr(h->pending));
                record_result(h, e, c, buf, n);
        }
        if (h->helper) {
                if (!h->timed_out && now >= h->check_ms + h->timeout_ms) {
                        h->timed_out = true;
                        kill(h->helper, SIGTERM);
                }
                return;
        }
        if (now < h->next_ms || h->pending)
                return;
        int rp[2];
        if (pipe2(rp, O_CLOEXEC) < 0) {
                vs_warn("health check: cannot create a pipe: %m");
                h->next_ms = now + next_interval(h, now);
                return;
        }
        pid_t monitor = getpid();
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
                close(rp[0]);
                helper_main(*c, h->argv, rp[1], monitor);
        }
        close(rp[1]);
        if (pid < 0) {
                vs_warn("health check: cannot fork: %m");
                close(rp[0]);
                h->next_ms = now + next_interval(h, now);
                return;
        }
        fcntl(rp[0], F_SETFL, O_NONBLOCK);
        h->helper = pid;
        h->result_fd = rp[0];
        h->check_ms = now;
        h->timed_out = false;
        free(h->check_start);
        h->check_start = vs_now_rfc3339();
        /* Docker's daemon runs a check as an exec: its events too. */
        free(h->exec_id);
        h->exec_id = vs_random_hex(32);
        vs_exec_event(e, *c, "exec_create", h->exec_id, h->argv, NULL);
        vs_exec_event(e, *c, "exec_start", h->exec_id, h->argv, NULL);
}

struct result {
        const struct vs_health *h;
        int code;
        const char *output;
        const char *start, *end;
};

static void edit_result(json_object *health, void *arg)
{
        const struct result *r = arg;
        json_object *st = json_object_object_get(health, "Status");
        const char *status = st ? json_object_get_string(st) : "starting";
        int64_t streak = json_object_get_int64(json_object_object_get(health, "FailingStreak"));
        const char *next = status;
        if (r->code == 0) {
                streak = 0;
                next = "healthy";
        } else if (strcmp(status, "starting") == 0 &&
                   r->h->check_ms - r->h->started_ms < r->h->start_period_ms) {
                /* Docker: failures in the start period do not count. */
        } else if (++streak >= r->h->retries) {
                next = "unhealthy";
        }
        json_object_object_add(health, "Status", json_object_new_string(next));
        json_object_object_add(health, "FailingStreak", json_object_new_int64(streak));
        json_object *log = json_object_object_get(health, "Log");
        if (log == NULL || !json_object_is_type(log, json_type_array)) {
                log = json_object_new_array();
                json_object_object_add(health, "Log", log);
        }
        json_object *entry = json_object_new_object();
        json_object_object_add(entry, "Start", json_object_new_string(r->start));
        json_object_object_add(entry, "End", json_object_new_string(r->end));
        json_object_object_add(entry, "ExitCode", json_object_new_int(r->code));
        json_object_object_add(entry, "Output", json_object_new_string(r->output));
        json_object_array_add(log, entry);
        size_t len = json_object_array_length(log);
        if (len > HEALTH_LOG_ENTRIES)
                json_object_array_del_idx(log, 0, len - HEALTH_LOG_ENTRIES);
}

bool vs_health_reaped(struct vs_health *h, struct vs_engine *e, struct vs_ctr **c, pid_t pid,
                      int status, bool record)
{
        if (h->helper == 0 || pid != h->helper)
                return false;
        (void) status;
        char buf[HEALTH_OUTPUT_MAX + sizeof(int32_t) + 1];
        size_t n = 0;
        ssize_t k;
        while (n < sizeof(buf) - 1 && (k = read(h->result_fd, buf + n, sizeof(buf) - 1 - n)) > 0)
                n += (size_t) k;
        close(h->result_fd);
        h->result_fd = -1;
        h->helper = 0;
        int32_t code = -1;
        if (n >= sizeof(code))
                memcpy(&code, buf, sizeof(code));
        if (h->exec_id) {
                /* The check's process's status: killed at its timeout (or
                 * with its helper) is 137; one that could not start, 126
                 * or 127 as exec's. */
                char num[16];
                snprintf(num, sizeof(num), "%d",
                         h->timed_out || n < sizeof(code) || code < 0 ? 128 + SIGKILL : code);
                vs_exec_event(e, *c, "exec_die", h->exec_id, NULL, num);
                free(steal_ptr(h->exec_id));
        }
        if (record && !h->timed_out && code == 128 + SIGKILL) {
                free(h->pending);
                h->pending = xmalloc(n + 1);
                memcpy(h->pending, buf, n);
                h->pending_len = n;
                h->pending_ms = vs_monotonic_ms() + 500;
                return true;
        }
        if (record)
                record_result(h, e, c, buf, n);
        h->next_ms = vs_monotonic_ms() + next_interval(h, vs_monotonic_ms());
        return true;
}

static void record_result(struct vs_health *h, struct vs_engine *e, struct vs_ctr **c, char *buf,
                          size_t n)
{
        buf[n] = '\0';
        struct result r = {.h = h, .code = -1, .output = "", .start = h->check_start};
        _cleanup_free_ char *msg = NULL;
        if (h->timed_out) {
                msg = xasprintf("Health check exceeded timeout (%llds)",
                                (long long) (h->timeout_ms / 1000));
                r.output = msg;
        } else if (n >= sizeof(int32_t)) {
                int32_t code;
                memcpy(&code, buf, sizeof(code));
                r.code = code;
                r.output = buf + sizeof(int32_t);
        } else {
                r.output = "the health check's helper died";
        }
        _cleanup_free_ char *end = vs_now_rfc3339();
        r.end = end;
        health_update(e, c, edit_result, &r);
}

void vs_health_stop(struct vs_health *h)
{
        if (h->helper > 0) {
                kill(h->helper, SIGTERM);
                waitpid(h->helper, NULL, 0);
        }
        if (h->result_fd >= 0)
                close(h->result_fd);
        strv_free(h->argv);
        free(h->check_start);
        free(h->exec_id);
        free(h->pending);
        memset(h, 0, sizeof(*h));
        h->result_fd = -1;
}
