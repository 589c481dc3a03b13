/* start-latency: how long it takes to start, run to completion and clean up a
 * container, per runtime, against a floor measured in the same run.
 *
 *   start-latency --bundle DIR [--floor BIN] [--full-floor BIN] [--vessel BIN]
 *                 [--runc BIN] [--crun BIN] [-n N] [-w N] [--json FILE] ...
 *
 * Contenders (each enabled by giving its binary):
 *   bare floor     FLOOR ROOTFS ARGS...         bare clone + pivot_root + exec
 *   full floor     FLOOR --full ROOTFS ARGS...  + the kernel work of the default
 *                                               config (cgroups, mounts, devices,
 *                                               masked paths, capabilities)
 *   vessel run     VESSEL --root R run --bundle DIR ID
 *   vessel 4-step  VESSEL --root R create --bundle DIR --pid-file P ID;
 *                  VESSEL --root R start ID; wait for the init pid from P;
 *                  VESSEL --root R delete ID
 *   runc run       RUNC --root R run --bundle DIR ID
 *   crun run       CRUN --root R run --bundle DIR ID
 *
 * ROOTFS and ARGS come from DIR/config.json (root.path, process.args), so the
 * floors run what the runtimes run. Every median is divided by both floors'. Iterations are
 * interleaved (one iteration of every contender, in an order rotated each round) so that slow drift
 * of the machine and asynchronous kernel clean-up (network namespaces are torn down by a workqueue)
 * are spread over all contenders alike. Every command is posix_spawn()ed directly, no shell; the
 * harness is a child subreaper so that a container init orphaned by `vessel create` is reparented
 * to it and can be waited for. Peak RSS is ru_maxrss from wait4(): the largest resident set of the
 * runtime process or of any descendant it waited for (the container init before its exec counts; so
 * does the runtime's re-exec'd helper, like `runc init`), maximum over all iterations.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

extern char **environ;

#define MAX_CMD_ARGS 64

enum kind {
        KIND_FLOOR,      /* floor ROOTFS ARGS... */
        KIND_FULL_FLOOR, /* floor --full ROOTFS ARGS... */
        KIND_RUN,        /* RUNTIME --root R run --bundle DIR ID */
        KIND_STEPS,      /* create, start, wait for init, delete */
};

enum step {
        STEP_CREATE,
        STEP_START,
        STEP_WAIT,
        STEP_DELETE,
        NSTEPS,
};

static const char *const step_names[NSTEPS] = {"create", "start", "wait", "delete"};

struct contender {
        const char *key;   /* JSON key and container id infix */
        const char *label; /* as printed */
        enum kind kind;
        const char *bin;
        char root[PATH_MAX];     /* --root of the runtime, private to this contender */
        char pid_file[PATH_MAX]; /* KIND_STEPS only */
        double *samples_ms;      /* in the order measured */
        double *sorted_ms;
        size_t nsamples;
        long peak_rss_kib;
        long step_rss_kib[NSTEPS]; /* KIND_STEPS only */
        bool failed;
        char error[512];   /* first line of the failing command's stderr */
        char context[256]; /* which command failed, how, on which iteration */
};

struct bench {
        char *bundle; /* absolute */
        char rootfs[PATH_MAX];
        char *cmd[MAX_CMD_ARGS + 1]; /* process.args from config.json */
        const char *tmpdir;
        unsigned iterations;
        unsigned warmup;
        int timeout_ms;
        int null_fd;
        int err_fd; /* memfd collecting every child's stderr */
        posix_spawn_file_actions_t actions;
        posix_spawnattr_t attr; /* each command in a process group of its own */
        struct contender contenders[8];
        size_t ncontenders;
        unsigned iteration; /* 1-based, counting warm-up rounds */
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
        va_list ap;

        fputs("start-latency: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
        void *p = calloc(n, size);

        if (p == NULL)
                die("out of memory");
        return p;
}

static double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

/* Reads root.path and process.args from BUNDLE/config.json. */
static void load_bundle(struct bench *b)
{
        char path[PATH_MAX];
        json_object *cfg, *root, *root_path, *process, *args, *terminal;
        size_t nargs;

        snprintf(path, sizeof(path), "%s/config.json", b->bundle);
        cfg = json_object_from_file(path);
        if (cfg == NULL)
                die("cannot read %s: %s", path, json_util_get_last_err());
        if (!json_object_object_get_ex(cfg, "root", &root) ||
            !json_object_object_get_ex(root, "path", &root_path) ||
            !json_object_is_type(root_path, json_type_string))
                die("%s: root.path is missing or not a string", path);
        if (json_object_get_string(root_path)[0] == '/')
                snprintf(b->rootfs, sizeof(b->rootfs), "%s", json_object_get_string(root_path));
        else
                snprintf(b->rootfs, sizeof(b->rootfs), "%s/%s", b->bundle,
                         json_object_get_string(root_path));
        if (!json_object_object_get_ex(cfg, "process", &process) ||
            !json_object_object_get_ex(process, "args", &args) ||
            !json_object_is_type(args, json_type_array))
                die("%s: process.args is missing or not an array", path);
        if (json_object_object_get_ex(process, "terminal", &terminal) &&
            json_object_get_boolean(terminal))
                die("%s: process.terminal is true; the benchmark runs without a terminal "
                    "(scripts/mkbundle.sh turns it off)",
                    path);
        nargs = json_object_array_length(args);
        if (nargs == 0 || nargs > MAX_CMD_ARGS)
                die("%s: process.args must have 1 to %d entries, not %zu", path, MAX_CMD_ARGS,
                    nargs);
        for (size_t i = 0; i < nargs; i++) {
                json_object *arg = json_object_array_get_idx(args, i);

                if (!json_object_is_type(arg, json_type_string))
                        die("%s: process.args[%zu] is not a string", path, i);
                b->cmd[i] = strdup(json_object_get_string(arg));
                if (b->cmd[i] == NULL)
                        die("out of memory");
        }
        if (b->cmd[0][0] != '/')
                die("%s: process.args[0] (%s) must be an absolute path for the floor", path,
                    b->cmd[0]);
        json_object_put(cfg);
}

static void add_contender(struct bench *b, const char *key, const char *label, enum kind kind,
                          const char *bin)
{
        struct contender *c = &b->contenders[b->ncontenders++];

        c->key = key;
        c->label = label;
        c->kind = kind;
        c->bin = bin;
        c->samples_ms = xcalloc(b->iterations, sizeof(double));
        c->sorted_ms = xcalloc(b->iterations, sizeof(double));
        if (kind == KIND_FLOOR || kind == KIND_FULL_FLOOR)
                return;
        snprintf(c->root, sizeof(c->root), "%s/%s-root", b->tmpdir, key);
        if (mkdir(c->root, 0700) < 0 && errno != EEXIST)
                die("cannot create runtime root %s: %s", c->root, strerror(errno));
        snprintf(c->pid_file, sizeof(c->pid_file), "%s/%s.pid", b->tmpdir, key);
}

static void fail(struct contender *c, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct contender *c, const char *error, const char *fmt, ...)
{
        va_list ap;

        c->failed = true;
        snprintf(c->error, sizeof(c->error), "%s", error);
        va_start(ap, fmt);
        vsnprintf(c->context, sizeof(c->context), fmt, ap);
        va_end(ap);
}

/* The first non-empty line a child wrote to stderr since offset, or "". */
static void stderr_first_line(const struct bench *b, off_t offset, char *buf, size_t size)
{
        ssize_t n = pread(b->err_fd, buf, size - 1, offset);
        char *line = buf, *end;

        buf[n > 0 ? n : 0] = '\0';
        while (*line == '\n')
                line++;
        end = strchr(line, '\n');
        if (end != NULL)
                *end = '\0';
        memmove(buf, line, strlen(line) + 1);
}

static void describe_status(int status, char *buf, size_t size)
{
        if (WIFSIGNALED(status))
                snprintf(buf, size, "was killed by signal %d (%s)", WTERMSIG(status),
                         strsignal(WTERMSIG(status)));
        else
                snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
}

/* Waits for pid to finish, at most timeout_ms, then kills it. Also works for a
 * process that is not our child: its end is seen on a pidfd, but its status
 * and rusage are not known (reported as exit 0, ru zeroed). Returns -1 on a
 * wait error, 1 on timeout, else 0. */
static int wait_process(pid_t pid, int timeout_ms, int *status, struct rusage *ru)
{
        int pidfd = pidfd_open(pid, 0);
        bool exited = false, timed_out = false;

        if (pidfd >= 0) {
                struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
                int n;

                do
                        n = poll(&pfd, 1, timeout_ms);
                while (n < 0 && errno == EINTR);
                if (n == 0) {
                        /* Its own process group: take its helpers along. */
                        kill(-pid, SIGKILL);
                        kill(pid, SIGKILL);
                        timed_out = true;
                }
                exited = n > 0;
                close(pidfd);
        }
        memset(ru, 0, sizeof(*ru));
        while (wait4(pid, status, 0, ru) < 0) {
                if (errno == EINTR)
                        continue;
                if (errno == ECHILD && (exited || timed_out)) {
                        *status = 0;
                        return timed_out;
                }
                return -1;
        }
        return timed_out;
}

/* Waits for one step's process; true when it exited 0. On failure marks the
 * contender failed with the first line the step wrote to stderr. */
static bool finish_step(struct bench *b, struct contender *c, const char *what, pid_t pid,
                        off_t err_offset, long *rss_kib)
{
        struct rusage ru;
        int status, ret;
        char how[96], line[sizeof(c->error)];

        ret = wait_process(pid, b->timeout_ms, &status, &ru);
        if (ret < 0) {
                snprintf(line, sizeof(line), "cannot wait for %s (pid %d): %s", what, (int) pid,
                         strerror(errno));
                fail(c, line, "iteration %u", b->iteration);
                return false;
        }
        if (ru.ru_maxrss > *rss_kib)
                *rss_kib = ru.ru_maxrss;
        if (ret == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return true;
        if (ret > 0)
                snprintf(how, sizeof(how), "did not finish within %d s and was killed",
                         b->timeout_ms / 1000);
        else
                describe_status(status, how, sizeof(how));
        stderr_first_line(b, err_offset, line, sizeof(line));
        if (line[0] == '\0') {
                snprintf(line, sizeof(line), "%s %s", what, how);
                fail(c, line, "iteration %u, nothing on stderr", b->iteration);
        } else {
                fail(c, line, "%s %s on iteration %u", what, how, b->iteration);
        }
        return false;
}

/* Runs argv to completion, stdin and stdout on /dev/null, stderr captured. */
static bool run_step(struct bench *b, struct contender *c, const char *what, char *const argv[],
                     long *rss_kib)
{
        off_t err_offset = lseek(b->err_fd, 0, SEEK_CUR);
        pid_t pid;
        int ret;

        ret = posix_spawnp(&pid, argv[0], &b->actions, &b->attr, argv, environ);
        if (ret != 0) {
                char line[sizeof(c->error)];

                snprintf(line, sizeof(line), "cannot execute %s: %s", argv[0], strerror(ret));
                fail(c, line, "%s on iteration %u", what, b->iteration);
                return false;
        }
        return finish_step(b, c, what, pid, err_offset, rss_kib);
}

static pid_t read_pid_file(const char *path)
{
        char buf[32];
        ssize_t n;
        long pid;
        char *end;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return -1;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        pid = strtol(buf, &end, 10);
        if (pid <= 0 || pid > INT_MAX || (*end != '\0' && *end != '\n'))
                return -1;
        return (pid_t) pid;
}

/* "NAME STEP" for messages, NAME being the binary's base name. */
static const char *step_label(const struct contender *c, const char *step, char *buf, size_t size)
{
        const char *slash = strrchr(c->bin, '/');

        snprintf(buf, size, "%s%s%s", slash != NULL ? slash + 1 : c->bin, step[0] ? " " : "", step);
        return buf;
}

/* create + start + wait for the init + delete. */
static bool run_steps(struct bench *b, struct contender *c, const char *id, pid_t *init_pid)
{
        char *argv[12];
        char what[64];
        off_t err_offset;
        pid_t init;

        argv[0] = (char *) c->bin, argv[1] = "--root", argv[2] = c->root;
        argv[3] = "create", argv[4] = "--bundle", argv[5] = (char *) b->bundle;
        argv[6] = "--pid-file", argv[7] = c->pid_file, argv[8] = (char *) id, argv[9] = NULL;
        if (!run_step(b, c, step_label(c, "create", what, sizeof(what)), argv,
                      &c->step_rss_kib[STEP_CREATE]))
                return false;
        *init_pid = read_pid_file(c->pid_file);
        if (*init_pid < 0) {
                fail(c, "create exited 0 but left no pid file with a valid pid",
                     "reading %s on iteration %u", c->pid_file, b->iteration);
                return false;
        }
        argv[3] = "start", argv[4] = (char *) id, argv[5] = NULL;
        if (!run_step(b, c, step_label(c, "start", what, sizeof(what)), argv,
                      &c->step_rss_kib[STEP_START]))
                return false;
        err_offset = lseek(b->err_fd, 0, SEEK_CUR);
        init = *init_pid;
        *init_pid = -1; /* reaped by finish_step() whatever the outcome */
        if (!finish_step(b, c, "container process", init, err_offset, &c->step_rss_kib[STEP_WAIT]))
                return false;
        argv[3] = "delete";
        return run_step(b, c, step_label(c, "delete", what, sizeof(what)), argv,
                        &c->step_rss_kib[STEP_DELETE]);
}

/* After a failed iteration: kill what may still run, remove the container. */
static void clean_up_failure(struct bench *b, struct contender *c, const char *id, pid_t init_pid)
{
        char *argv[] = {(char *) c->bin, "--root", c->root, "delete", "--force", (char *) id, NULL};
        pid_t pid;
        int status;

        if (init_pid > 0) {
                kill(init_pid, SIGKILL);
                waitpid(init_pid, &status, 0);
        }
        if (posix_spawnp(&pid, argv[0], &b->actions, &b->attr, argv, environ) == 0)
                waitpid(pid, &status, 0);
}

static void run_iteration(struct bench *b, struct contender *c, bool measure)
{
        char id[128];
        char *argv[MAX_CMD_ARGS + 8];
        char what[64];
        pid_t init_pid = -1;
        double start;
        bool ok;

        snprintf(id, sizeof(id), "vb%d-%s-%u", (int) getpid(), c->key, b->iteration);
        switch (c->kind) {
        case KIND_FLOOR:
        case KIND_FULL_FLOOR: {
                size_t n = 0;

                argv[n++] = (char *) c->bin;
                if (c->kind == KIND_FULL_FLOOR)
                        argv[n++] = "--full";
                argv[n++] = b->rootfs;
                for (size_t i = 0; i <= MAX_CMD_ARGS; i++) {
                        argv[n + i] = b->cmd[i];
                        if (b->cmd[i] == NULL)
                                break;
                }
                break;
        }
        case KIND_RUN:
                argv[0] = (char *) c->bin, argv[1] = "--root", argv[2] = c->root;
                argv[3] = "run", argv[4] = "--bundle", argv[5] = (char *) b->bundle;
                argv[6] = id, argv[7] = NULL;
                break;
        case KIND_STEPS:
                unlink(c->pid_file);
                break;
        }

        start = now_ms();
        if (c->kind == KIND_STEPS)
                ok = run_steps(b, c, id, &init_pid);
        else
                ok = run_step(b, c,
                              step_label(c, c->kind == KIND_RUN ? "run" : "", what, sizeof(what)),
                              argv, &c->peak_rss_kib);
        if (ok && measure)
                c->samples_ms[c->nsamples++] = now_ms() - start;
        if (!ok && c->kind != KIND_FLOOR && c->kind != KIND_FULL_FLOOR)
                clean_up_failure(b, c, id, init_pid);

        /* Orphans reparented to us (a runtime's helpers) must not pile up. */
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
        if (c->kind == KIND_STEPS)
                for (int s = 0; s < NSTEPS; s++)
                        if (c->step_rss_kib[s] > c->peak_rss_kib)
                                c->peak_rss_kib = c->step_rss_kib[s];
}

static int compare_double(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

static double median(const double *sorted, size_t n)
{
        return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/* Nearest-rank percentile of sorted samples, p in (0, 100]. */
static double percentile(const double *sorted, size_t n, double p)
{
        size_t rank = (size_t) ((p / 100.0) * (double) n + 0.999999);

        return sorted[rank > 0 ? rank - 1 : 0];
}

/* The median of the floor of that kind, or 0 when it was not measured. */
static double floor_median(const struct bench *b, enum kind kind)
{
        for (size_t i = 0; i < b->ncontenders; i++) {
                const struct contender *c = &b->contenders[i];

                if (c->kind == kind && !c->failed && c->nsamples > 0)
                        return median(c->sorted_ms, c->nsamples);
        }
        return 0;
}

static void print_command(const struct bench *b, const struct contender *c)
{
        switch (c->kind) {
        case KIND_FLOOR:
        case KIND_FULL_FLOOR:
                printf("  %-16s %s%s %s", c->label, c->bin,
                       c->kind == KIND_FULL_FLOOR ? " --full" : "", b->rootfs);
                for (size_t i = 0; b->cmd[i] != NULL; i++)
                        printf(" %s", b->cmd[i]);
                printf("\n");
                break;
        case KIND_RUN:
                printf("  %-16s %s --root %s run --bundle %s ID\n", c->label, c->bin, c->root,
                       b->bundle);
                break;
        case KIND_STEPS:
                printf("  %-16s %s --root %s create --bundle %s --pid-file %s ID;\n", c->label,
                       c->bin, c->root, b->bundle, c->pid_file);
                printf("  %-16s %s --root %s start ID; wait for the init pid; "
                       "%s --root %s delete ID\n",
                       "", c->bin, c->root, c->bin, c->root);
                break;
        }
}

/* posix_spawn() runs the child on our memory until its exec, and exec records
 * the outgoing mm's high-water RSS in the child's ru_maxrss: no command can
 * report less than this. */
static long harness_rss_kib(void)
{
        struct rusage ru;

        if (getrusage(RUSAGE_SELF, &ru) < 0)
                return 0;
        return ru.ru_maxrss;
}

/* "1.23", or "-" when that floor was not measured. */
static void format_ratio(double value, double floor, char *buf, size_t size)
{
        if (floor > 0)
                snprintf(buf, size, "%.2f", value / floor);
        else
                snprintf(buf, size, "-");
}

static void print_report(const struct bench *b)
{
        const double bare = floor_median(b, KIND_FLOOR), full = floor_median(b, KIND_FULL_FLOOR);

        printf("start-latency: %u iterations per contender after %u warm-up, interleaved\n",
               b->iterations, b->warmup);
        printf("bundle %s, process", b->bundle);
        for (size_t i = 0; b->cmd[i] != NULL; i++)
                printf(" %s", b->cmd[i]);
        printf("\ncommands (ID differs per iteration):\n");
        for (size_t i = 0; i < b->ncontenders; i++)
                print_command(b, &b->contenders[i]);
        printf("\n%-16s %10s %10s %10s %7s %7s %10s\n", "contender", "median", "p10", "p90",
               "x bare", "x full", "peak RSS");
        for (size_t i = 0; i < b->ncontenders; i++) {
                const struct contender *c = &b->contenders[i];
                const double *s = c->sorted_ms;
                size_t n = c->nsamples;
                char ratio_bare[32], ratio_full[32];

                if (c->failed) {
                        printf("%-16s FAILED: %s\n%-16s (%s)\n", c->label, c->error, "",
                               c->context);
                        continue;
                }
                format_ratio(median(s, n), bare, ratio_bare, sizeof(ratio_bare));
                format_ratio(median(s, n), full, ratio_full, sizeof(ratio_full));
                printf("%-16s %7.2f ms %7.2f ms %7.2f ms %7s %7s %6.1f MiB\n", c->label,
                       median(s, n), percentile(s, n, 10), percentile(s, n, 90), ratio_bare,
                       ratio_full, (double) c->peak_rss_kib / 1024.0);
        }
        for (size_t i = 0; i < b->ncontenders; i++) {
                const struct contender *c = &b->contenders[i];

                if (c->kind != KIND_STEPS || c->failed)
                        continue;
                printf("%s peak RSS by step:", c->label);
                for (int s = 0; s < NSTEPS; s++)
                        printf(" %s %.1f MiB%s", step_names[s],
                               (double) c->step_rss_kib[s] / 1024.0, s + 1 < NSTEPS ? "," : "\n");
        }
        printf("peak RSS resolution: %.1f MiB (this harness's own peak, which every command\n"
               "inherits through vfork: a figure at or below it means \"at most that\")\n",
               (double) harness_rss_kib() / 1024.0);
}

/* The measured times in the order they were taken: drift shows there. */
static json_object *samples_json(const struct contender *c)
{
        json_object *list = json_object_new_array_ext((int) c->nsamples);

        for (size_t i = 0; i < c->nsamples; i++)
                json_object_array_add(list, json_object_new_double(c->samples_ms[i]));
        return list;
}

static void write_json(const struct bench *b, const char *path)
{
        const double bare = floor_median(b, KIND_FLOOR), full = floor_median(b, KIND_FULL_FLOOR);
        json_object *doc = json_object_new_object();
        json_object *list = json_object_new_array();
        json_object *cmd = json_object_new_array();

        for (size_t i = 0; b->cmd[i] != NULL; i++)
                json_object_array_add(cmd, json_object_new_string(b->cmd[i]));
        json_object_object_add(doc, "iterations", json_object_new_int64(b->iterations));
        json_object_object_add(doc, "warmup", json_object_new_int64(b->warmup));
        json_object_object_add(doc, "bundle", json_object_new_string(b->bundle));
        json_object_object_add(doc, "process_args", cmd);
        json_object_object_add(doc, "rss_resolution_kib", json_object_new_int64(harness_rss_kib()));
        for (size_t i = 0; i < b->ncontenders; i++) {
                const struct contender *c = &b->contenders[i];
                json_object *o = json_object_new_object();
                const double *s = c->sorted_ms;
                size_t n = c->nsamples;

                json_object_object_add(o, "key", json_object_new_string(c->key));
                json_object_object_add(o, "label", json_object_new_string(c->label));
                json_object_object_add(o, "binary", json_object_new_string(c->bin));
                json_object_object_add(o, "ok", json_object_new_boolean(!c->failed));
                if (c->failed) {
                        json_object_object_add(o, "error", json_object_new_string(c->error));
                        json_object_object_add(o, "context", json_object_new_string(c->context));
                } else {
                        json_object_object_add(o, "median_ms",
                                               json_object_new_double(median(s, n)));
                        json_object_object_add(o, "p10_ms",
                                               json_object_new_double(percentile(s, n, 10)));
                        json_object_object_add(o, "p90_ms",
                                               json_object_new_double(percentile(s, n, 90)));
                        json_object_object_add(o, "min_ms", json_object_new_double(s[0]));
                        json_object_object_add(o, "max_ms", json_object_new_double(s[n - 1]));
                        json_object_object_add(o, "peak_rss_kib",
                                               json_object_new_int64(c->peak_rss_kib));
                        json_object_object_add(o, "samples_ms", samples_json(c));
                        if (bare > 0)
                                json_object_object_add(o, "ratio_to_floor",
                                                       json_object_new_double(median(s, n) / bare));
                        if (full > 0)
                                json_object_object_add(o, "ratio_to_full_floor",
                                                       json_object_new_double(median(s, n) / full));
                }
                if (c->kind == KIND_STEPS && !c->failed) {
                        json_object *steps = json_object_new_object();

                        for (int st = 0; st < NSTEPS; st++)
                                json_object_object_add(steps, step_names[st],
                                                       json_object_new_int64(c->step_rss_kib[st]));
                        json_object_object_add(o, "peak_rss_kib_by_step", steps);
                }
                json_object_array_add(list, o);
        }
        json_object_object_add(doc, "contenders", list);
        json_c_set_serialization_double_format("%.3f", JSON_C_OPTION_GLOBAL);
        if (json_object_to_file_ext(path, doc,
                                    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) < 0)
                die("cannot write %s: %s", path, json_util_get_last_err());
        json_object_put(doc);
}

static void free_bench(struct bench *b)
{
        for (size_t i = 0; i < b->ncontenders; i++) {
                free(b->contenders[i].samples_ms);
                free(b->contenders[i].sorted_ms);
        }
        for (size_t i = 0; b->cmd[i] != NULL; i++)
                free(b->cmd[i]);
        posix_spawn_file_actions_destroy(&b->actions);
        posix_spawnattr_destroy(&b->attr);
        close(b->err_fd);
        close(b->null_fd);
        free(b->bundle);
}

static void usage(FILE *out, const char *prog)
{
        fprintf(out,
                "usage: %s --bundle DIR [--floor BIN] [--full-floor BIN] [--vessel BIN]\n"
                "          [--runc BIN] [--crun BIN] [-n N] [-w N] [--timeout SEC] [--tmpdir DIR]\n"
                "          [--json FILE]\n"
                "\n"
                "Times create + start + wait + delete of DIR's container per runtime.\n"
                "  -b, --bundle DIR   OCI bundle; terminal must be off\n"
                "      --floor BIN    bench/floor: clone + pivot_root + exec baseline\n"
                "      --full-floor BIN  bench/floor --full: + the kernel work of the default\n"
                "                     config (cgroups, mounts, devices, capabilities)\n"
                "      --vessel BIN   adds `vessel run` and vessel create/start/wait/delete\n"
                "      --runc BIN     adds `runc run`\n"
                "      --crun BIN     adds `crun run`\n"
                "  -n, --iterations N measured iterations per contender (default 200)\n"
                "  -w, --warmup N     unmeasured iterations first (default 5)\n"
                "      --timeout SEC  kill a command that runs longer (default 30)\n"
                "      --tmpdir DIR   for runtime roots and pid files (default: a new one in\n"
                "                     $TMPDIR or /tmp, removed at the end)\n"
                "      --json FILE    also write the results as JSON\n",
                prog);
}

static unsigned parse_count(const char *opt, const char *arg, unsigned min)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(arg, &end, 10);
        if (errno != 0 || *end != '\0' || arg[0] == '-' || v < min || v > 1000000)
                die("%s: invalid count '%s' (want %u to 1000000)", opt, arg, min);
        return (unsigned) v;
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
            {"bundle", required_argument, NULL, 'b'},
            {"floor", required_argument, NULL, 'F'},
            {"full-floor", required_argument, NULL, 'L'},
            {"vessel", required_argument, NULL, 'V'},
            {"runc", required_argument, NULL, 'R'},
            {"crun", required_argument, NULL, 'C'},
            {"iterations", required_argument, NULL, 'n'},
            {"warmup", required_argument, NULL, 'w'},
            {"timeout", required_argument, NULL, 'T'},
            {"tmpdir", required_argument, NULL, 't'},
            {"json", required_argument, NULL, 'j'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        struct bench b = {.iterations = 200, .warmup = 5, .timeout_ms = 30000};
        const char *floor_bin = NULL, *full_floor_bin = NULL, *vessel_bin = NULL, *runc_bin = NULL,
                   *crun_bin = NULL;
        const char *json_path = NULL, *bundle = NULL;
        char own_tmpdir[PATH_MAX] = "";
        bool progress = isatty(STDERR_FILENO);
        int opt;

        while ((opt = getopt_long(argc, argv, "b:n:w:h", options, NULL)) != -1) {
                switch (opt) {
                case 'b':
                        bundle = optarg;
                        break;
                case 'F':
                        floor_bin = optarg;
                        break;
                case 'L':
                        full_floor_bin = optarg;
                        break;
                case 'V':
                        vessel_bin = optarg;
                        break;
                case 'R':
                        runc_bin = optarg;
                        break;
                case 'C':
                        crun_bin = optarg;
                        break;
                case 'n':
                        b.iterations = parse_count("--iterations", optarg, 1);
                        break;
                case 'w':
                        b.warmup = parse_count("--warmup", optarg, 0);
                        break;
                case 'T':
                        b.timeout_ms = (int) parse_count("--timeout", optarg, 1) * 1000;
                        break;
                case 't':
                        b.tmpdir = optarg;
                        break;
                case 'j':
                        json_path = optarg;
                        break;
                case 'h':
                        usage(stdout, argv[0]);
                        return 0;
                default:
                        usage(stderr, argv[0]);
                        return 2;
                }
        }
        if (bundle == NULL || optind != argc) {
                usage(stderr, argv[0]);
                return 2;
        }
        b.bundle = realpath(bundle, NULL);
        if (b.bundle == NULL)
                die("cannot resolve bundle %s: %s", bundle, strerror(errno));
        load_bundle(&b);
        if (b.tmpdir == NULL) {
                const char *base = getenv("TMPDIR");

                snprintf(own_tmpdir, sizeof(own_tmpdir), "%s/start-latency.XXXXXX",
                         base != NULL && base[0] != '\0' ? base : "/tmp");
                if (mkdtemp(own_tmpdir) == NULL)
                        die("cannot create a temporary directory %s: %s", own_tmpdir,
                            strerror(errno));
                b.tmpdir = own_tmpdir;
        } else if (mkdir(b.tmpdir, 0700) < 0 && errno != EEXIST) {
                die("cannot create --tmpdir %s: %s", b.tmpdir, strerror(errno));
        }

        /* A container init orphaned by `create` is reparented to us. */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                die("cannot become a child subreaper: %s", strerror(errno));
        b.null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (b.null_fd < 0)
                die("cannot open /dev/null: %s", strerror(errno));
        b.err_fd = memfd_create("start-latency-stderr", MFD_CLOEXEC);
        if (b.err_fd < 0)
                die("cannot create a memfd for children's stderr: %s", strerror(errno));
        posix_spawn_file_actions_init(&b.actions);
        posix_spawn_file_actions_adddup2(&b.actions, b.null_fd, STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&b.actions, b.null_fd, STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&b.actions, b.err_fd, STDERR_FILENO);
        posix_spawnattr_init(&b.attr);
        posix_spawnattr_setflags(&b.attr, POSIX_SPAWN_SETPGROUP);
        posix_spawnattr_setpgroup(&b.attr, 0);

        if (floor_bin != NULL)
                add_contender(&b, "floor", "bare floor", KIND_FLOOR, floor_bin);
        if (full_floor_bin != NULL)
                add_contender(&b, "full_floor", "full floor", KIND_FULL_FLOOR, full_floor_bin);
        if (vessel_bin != NULL) {
                add_contender(&b, "vessel_run", "vessel run", KIND_RUN, vessel_bin);
                add_contender(&b, "vessel_steps", "vessel 4-step", KIND_STEPS, vessel_bin);
        }
        if (runc_bin != NULL)
                add_contender(&b, "runc_run", "runc run", KIND_RUN, runc_bin);
        if (crun_bin != NULL)
                add_contender(&b, "crun_run", "crun run", KIND_RUN, crun_bin);
        if (b.ncontenders == 0)
                die("no contenders: give at least one of --floor, --full-floor, --vessel, --runc, "
                    "--crun");

        for (unsigned round = 0; round < b.warmup + b.iterations; round++) {
                b.iteration = round + 1;
                if (progress)
                        fprintf(stderr, "\rstart-latency: iteration %u/%u%s", b.iteration,
                                b.warmup + b.iterations, round < b.warmup ? " (warm-up)" : "");
                /* Rotate who goes first: no contender always follows the same one. */
                for (size_t k = 0; k < b.ncontenders; k++) {
                        struct contender *c = &b.contenders[(round + k) % b.ncontenders];

                        if (!c->failed)
                                run_iteration(&b, c, round >= b.warmup);
                }
                /* Keep the captured stderr small; offsets restart from 0. */
                if (ftruncate(b.err_fd, 0) == 0)
                        lseek(b.err_fd, 0, SEEK_SET);
        }
        if (progress)
                fprintf(stderr, "\r%60s\r", "");

        for (size_t i = 0; i < b.ncontenders; i++) {
                struct contender *c = &b.contenders[i];

                memcpy(c->sorted_ms, c->samples_ms, c->nsamples * sizeof(double));
                qsort(c->sorted_ms, c->nsamples, sizeof(double), compare_double);
        }
        print_report(&b);
        if (json_path != NULL)
                write_json(&b, json_path);

        if (own_tmpdir[0] != '\0') {
                for (size_t i = 0; i < b.ncontenders; i++) {
                        struct contender *c = &b.contenders[i];

                        if (c->kind == KIND_FLOOR || c->kind == KIND_FULL_FLOOR)
                                continue;
                        unlink(c->pid_file);
                        if (rmdir(c->root) < 0 && errno != ENOENT)
                                fprintf(stderr, "start-latency: leaving %s: %s\n", c->root,
                                        strerror(errno));
                }
                rmdir(own_tmpdir);
        }
        free_bench(&b);
        return 0;
}
