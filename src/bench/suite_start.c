/* vessel bench, suite "start": how long a program takes to begin and to
 * end, per backend, for the same static program (the host's busybox):
 *
 *   native      fork + exec of /bin/busybox
 *   floor       bench/floor (when built beside vessel): the bare
 *               clone + pivot_root + exec a container start cannot go below
 *   container   vessel run --rm busybox (the built-in image vessel makes
 *               from that same busybox, in a data root of the bench's own)
 *   vm          the same with --isolation=vm: a cold boot
 *   vm-restore  a VM from a checkpoint: one VM (--vm-rootfs=block, an idle
 *               `sleep`) booted and checkpointed once; each sample runs
 *               `vessel restore`, then `vessel exec CTR echo` until one
 *               answers, then `vessel kill` + `vessel wait`
 *
 * "first-instruction" is the time from fork to the first byte the program
 * writes (its first act), "exit" the time until the command that ran it
 * has exited (container and VM cleaned up). For vm-restore the clock
 * starts at `vessel restore`; first-instruction is the first byte of the
 * first exec that answers (the restored guest runs a new program), exit
 * the time until the VM has stopped again. Both in ms, lower is better;
 * the report divides each by native's. */
#include "bench/bench.h"
#include "bench/stats.h"
#include "bench/workload.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MARKER   "vessel-bench-start"
#define BUSYBOX  "/bin/busybox"
#define RUN_MS   180000 /* a TCG boot takes seconds; a hang ends here */
#define STDERR_F "start-stderr"

struct timed {
        double first_ms, exit_ms;
};

static double now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void end_child(pid_t pid, int *status)
{
        kill(pid, SIGTERM);
        for (int i = 0; i < 500; i++) {
                if (waitpid(pid, status, WNOHANG) == pid)
                        return;
                struct timespec ts = {0, 20 * 1000 * 1000};
                nanosleep(&ts, NULL);
        }
        kill(pid, SIGKILL);
        waitpid(pid, status, 0);
}

/* Reads out until EOF or the deadline: the time of the first byte, and
 * whether MARKER came. */
static int read_output(int fd, double t0, double *first, bool *marker)
{
        char buf[4096], seen[256] = "";
        size_t have = 0;
        *first = -1;
        for (;;) {
                int left = (int) (t0 + RUN_MS - now_ms());
                if (left <= 0)
                        return -1;
                struct pollfd p = {fd, POLLIN, 0};
                int r = poll(&p, 1, left);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        return -1;
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (*first < 0)
                        *first = now_ms() - t0;
                size_t take =
                    (size_t) n < sizeof(seen) - 1 - have ? (size_t) n : sizeof(seen) - 1 - have;
                memcpy(seen + have, buf, take);
                have += take;
                seen[have] = '\0';
        }
        *marker = strstr(seen, MARKER) != NULL;
        return 0;
}

/* Runs argv (envp) with stdout on a pipe: *t its times. On failure *why
 * says what went wrong (the command's last stderr line). */
static int timed_run(struct vs_bench *b, char *const argv[], char *const envp[], struct timed *t,
                     char **why)
{
        _cleanup_free_ char *errpath = xasprintf("%s/" STDERR_F, b->opts.workdir);
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0) {
                *why = xasprintf("pipe: %s", strerror(errno));
                return -1;
        }
        double t0 = now_ms();
        pid_t pid = fork();
        if (pid < 0) {
                *why = xasprintf("fork: %s", strerror(errno));
                close(fds[0]);
                close(fds[1]);
                return -1;
        }
        if (pid == 0) {
                int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                int n = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (e < 0 || n < 0 || dup2(n, 0) < 0 || dup2(fds[1], 1) < 0 || dup2(e, 2) < 0)
                        _exit(126);
                execve(argv[0], argv, envp);
                _exit(127);
        }
        close(fds[1]);
        bool marker = false;
        int status = 0;
        int r = read_output(fds[0], t0, &t->first_ms, &marker);
        close(fds[0]);
        if (r < 0) {
                end_child(pid, &status);
                *why = xasprintf("%s did not finish within %d s", argv[0], RUN_MS / 1000);
                return -1;
        }
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        t->exit_ms = now_ms() - t0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !marker || t->first_ms < 0) {
                _cleanup_free_ char *line = vs_bench_last_line(errpath, "no message");
                *why = WIFEXITED(status) && WEXITSTATUS(status) == 127 && argv[0][0] == '/'
                           ? xasprintf("cannot execute %s", argv[0])
                           : xasprintf("%s (exit status %d)", line,
                                       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
                return -1;
        }
        return 0;
}

static const struct vs_bench_key FIRST = {"start", "first-instruction",  "", NULL, "ms",
                                          "ms",    VS_BENCH_LOWER_BETTER};
static const struct vs_bench_key EXIT = {
    "start", "exit", "", NULL, "ms", "ms", VS_BENCH_LOWER_BETTER};

static void skip_both(struct vs_bench *b, const char *backend, const char *why)
{
        struct vs_bench_key f = FIRST, e = EXIT;
        f.backend = e.backend = backend;
        vs_bench_skip(b, &f, "%s", why);
        vs_bench_skip(b, &e, "%s", why);
}

/* Runs of a millisecond are at the scheduler's mercy (and this machine's
 * other tenants'): for those, each sample is the median of INNER runs. */
#define INNER 5

static double median_of(double *v, int n)
{
        struct vs_bench_stat st;
        vs_bench_stat(v, (size_t) n, &st);
        return st.median;
}

/* warmup untimed runs, then --repeat samples recorded under backend, each
 * the median of inner runs. */
static void measure(struct vs_bench *b, const char *backend, char *const argv[], char *const envp[],
                    int warmup, int inner)
{
        struct vs_bench_key f = FIRST, e = EXIT;
        f.backend = e.backend = backend;
        int total = warmup + b->opts.repeat;
        for (int i = 0; i < total; i++) {
                vs_bench_progress(b, "%s %d/%d%s", backend, i + 1, total,
                                  i < warmup ? " (warm-up)" : "");
                double first[INNER], done[INNER];
                for (int k = 0; k < inner; k++) {
                        struct timed t;
                        _cleanup_free_ char *why = NULL;
                        if (timed_run(b, argv, envp, &t, &why) < 0) {
                                skip_both(b, backend, why);
                                return;
                        }
                        first[k] = t.first_ms;
                        done[k] = t.exit_ms;
                }
                if (i < warmup)
                        continue;
                vs_bench_record(b, &f, median_of(first, inner));
                vs_bench_record(b, &e, median_of(done, inner));
        }
}

/* $VESSEL_BENCH_FLOOR, or bench/floor beside the vessel binary
 * (build/vessel -> build/bench/floor). */
static char *floor_path(const struct vs_bench *b)
{
        const char *env = getenv("VESSEL_BENCH_FLOOR");
        if (env && env[0])
                return access(env, X_OK) == 0 ? xstrdup(env) : NULL;
        _cleanup_free_ char *copy = xstrdup(b->opts.vessel);
        char *p = xasprintf("%s/bench/floor", dirname(copy));
        if (access(p, X_OK) == 0)
                return p;
        free(p);
        return NULL;
}

/* A root holding only bin/busybox, for the floor. */
static int floor_rootfs(const struct vs_bench *b, char **root, char **why)
{
        *root = xasprintf("%s/start-rootfs", b->opts.workdir);
        _cleanup_free_ char *bin = xasprintf("%s/bin", *root);
        _cleanup_free_ char *dst = xasprintf("%s/busybox", bin);
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        vs_error *err = NULL;
        if (vs_mkdir_p(bin, 0755, &err) < 0 || vs_read_file(BUSYBOX, &data, &len, &err) < 0 ||
            vs_write_file_replace(dst, data, len, 0755, &err) < 0) {
                *why = xstrdup(err->msg);
                vs_error_free(&err);
                return -1;
        }
        return 0;
}

static void run_floor(struct vs_bench *b)
{
        _cleanup_free_ char *floor = floor_path(b);
        if (!floor) {
                skip_both(b, "floor",
                          "bench/floor is not built beside vessel (make "
                          "build/bench/floor)");
                return;
        }
        _cleanup_free_ char *root = NULL, *why = NULL;
        if (floor_rootfs(b, &root, &why) < 0) {
                skip_both(b, "floor", why);
                return;
        }
        char *argv[] = {floor, root, BUSYBOX, "echo", MARKER, NULL};
        measure(b, "floor", argv, environ, 1, INNER);
}

/* The VM's cells: skipped with the reason when QEMU or the kernel is not
 * there (the kernel is built only outside --quick: it takes minutes). */
static bool vm_ready(struct vs_bench *b, const char *data_root)
{
        vs_error *err = NULL;
        _cleanup_free_ char *qemu = NULL, *kernel = NULL;
        if (vs_vm_qemu_path(&qemu, &err) < 0 ||
            vs_vm_kernel_get(data_root, !b->opts.quick, isatty(STDERR_FILENO), &kernel, &err) < 0) {
                skip_both(b, "vm", err->msg);
                skip_both(b, "vm-restore", err->msg);
                vs_error_free(&err);
                return false;
        }
        return true;
}

/* `vessel restore` exists in this binary (issue 10 adds it). */
static bool have_restore(const struct vs_bench *b)
{
        pid_t pid = fork();
        if (pid == 0) {
                int n = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (n < 0 || dup2(n, 0) < 0 || dup2(n, 1) < 0 || dup2(n, 2) < 0)
                        _exit(126);
                execl(b->opts.vessel, b->opts.vessel, "restore", "--help", (char *) NULL);
                _exit(127);
        }
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) < 0)
                return false;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Runs argv (envp) with stdout on /dev/null and stderr in STDERR_F, at most
 * RUN_MS; 0 when it exited 0, else -1 with *why (its last stderr line). */
static int step(struct vs_bench *b, char *const argv[], char *const envp[], char **why)
{
        _cleanup_free_ char *errpath = xasprintf("%s/" STDERR_F, b->opts.workdir);
        double t0 = now_ms();
        pid_t pid = fork();
        if (pid < 0) {
                *why = xasprintf("fork: %s", strerror(errno));
                return -1;
        }
        if (pid == 0) {
                int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                int n = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (e < 0 || n < 0 || dup2(n, 0) < 0 || dup2(n, 1) < 0 || dup2(e, 2) < 0)
                        _exit(126);
                execve(argv[0], argv, envp);
                _exit(127);
        }
        int status = 0;
        for (;;) {
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid)
                        break;
                if (r < 0 && errno != EINTR) {
                        *why = xasprintf("waitpid: %s", strerror(errno));
                        return -1;
                }
                if (now_ms() - t0 > RUN_MS) {
                        end_child(pid, &status);
                        *why = xasprintf("vessel %s did not finish within %d s", argv[1],
                                         RUN_MS / 1000);
                        return -1;
                }
                struct timespec ts = {0, 10 * 1000 * 1000};
                nanosleep(&ts, NULL);
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        _cleanup_free_ char *line = vs_bench_last_line(errpath, "no message");
        *why = xasprintf("vessel %s: %s", argv[1], line);
        return -1;
}

/* From t0 (ms), polls `vessel exec NAME echo MARKER` until one succeeds:
 * *first the time its first byte arrived, since t0. */
static int until_exec(struct vs_bench *b, char **env, const char *name, double t0, double *first,
                      char **why)
{
        char *argv[] = {(char *) b->opts.vessel, "exec", (char *) name, "echo", MARKER, NULL};
        for (;;) {
                double ts = now_ms();
                struct timed t;
                free(*why);
                *why = NULL;
                if (timed_run(b, argv, env, &t, why) == 0) {
                        *first = ts - t0 + t.first_ms;
                        return 0;
                }
                if (now_ms() - t0 > RUN_MS) {
                        char *w = xasprintf("the VM never took an exec within %d s: %s",
                                            RUN_MS / 1000, *why);
                        free(*why);
                        *why = w;
                        return -1;
                }
                struct timespec ts2 = {0, 20 * 1000 * 1000};
                nanosleep(&ts2, NULL);
        }
}

/* One restore sample: `vessel restore NAME`, until an exec's first byte
 * (*first), then `vessel kill` + `vessel wait` (*exit: the VM is gone). */
static int restore_once(struct vs_bench *b, char **env, const char *name, struct timed *t,
                        char **why)
{
        char *vessel = (char *) b->opts.vessel;
        char *restore[] = {vessel, "restore", (char *) name, NULL};
        char *kill_[] = {vessel, "kill", (char *) name, NULL};
        char *wait_[] = {vessel, "wait", (char *) name, NULL};
        double t0 = now_ms();
        if (step(b, restore, env, why) < 0 || until_exec(b, env, name, t0, &t->first_ms, why) < 0 ||
            step(b, kill_, env, why) < 0 || step(b, wait_, env, why) < 0)
                return -1;
        t->exit_ms = now_ms() - t0;
        return 0;
}

/* The VM from a checkpoint: one VM (block root, an idle workload) is
 * booted and checkpointed once; each sample restores that checkpoint and
 * stops the VM again (docs/bench-suites.md, start). */
static void run_vm_restore(struct vs_bench *b, char **env)
{
        char *vessel = (char *) b->opts.vessel;
        _cleanup_free_ char *name = xasprintf(VS_BENCH_NAME_PREFIX "%d-restore", (int) getpid());
        char *run[] = {vessel,
                       "run",
                       "-d",
                       "--name",
                       name,
                       "--isolation=vm",
                       "--vm-rootfs=block",
                       "busybox",
                       "sh",
                       "-c",
                       "echo up; exec sleep 1000000",
                       NULL};
        char *ckpt[] = {vessel, "checkpoint", name, NULL};
        char *rm[] = {vessel, "rm", "-f", name, NULL};
        _cleanup_free_ char *why = NULL;
        double first = 0;
        vs_bench_progress(b, "vm-restore: boot and checkpoint");
        if (step(b, run, env, &why) < 0 || until_exec(b, env, name, now_ms(), &first, &why) < 0 ||
            step(b, ckpt, env, &why) < 0) {
                skip_both(b, "vm-restore", why);
                goto out;
        }
        struct vs_bench_key f = FIRST, e = EXIT;
        f.backend = e.backend = "vm-restore";
        int warmup = b->opts.quick ? 0 : 1, total = warmup + b->opts.repeat;
        for (int i = 0; i < total; i++) {
                vs_bench_progress(b, "vm-restore %d/%d%s", i + 1, total,
                                  i < warmup ? " (warm-up)" : "");
                struct timed t;
                free(why);
                why = NULL;
                if (restore_once(b, env, name, &t, &why) < 0) {
                        skip_both(b, "vm-restore", why);
                        goto out;
                }
                if (i < warmup)
                        continue;
                vs_bench_record(b, &f, t.first_ms);
                vs_bench_record(b, &e, t.exit_ms);
        }
out:
        free(why);
        why = NULL;
        if (step(b, rm, env, &why) < 0)
                vs_warn("bench start: cannot remove %s: %s", name, why);
}

int vs_bench_start_run(struct vs_bench *b, vs_error **err)
{
        (void) err;
        _cleanup_free_ char *data = xasprintf("%s/" VS_BENCH_START_DATA, b->opts.workdir);
        _cleanup_free_ char *run = xasprintf("%s/" VS_BENCH_START_RUN, b->opts.workdir);
        _cleanup_strv_ char **env = strv_copy(environ);
        _cleanup_free_ char *e1 = xasprintf("VESSEL_ROOT=%s", data);
        _cleanup_free_ char *e2 = xasprintf("VESSEL_RUNTIME_ROOT=%s", run);
        strv_env_set(&env, e1);
        strv_env_set(&env, e2);
        char *vessel = (char *) b->opts.vessel;

        if (vs_bench_wants(b, VS_BENCH_NATIVE)) {
                char *argv[] = {BUSYBOX, "echo", MARKER, NULL};
                measure(b, "native", argv, environ, 1, INNER);
        }
        if (vs_bench_wants(b, VS_BENCH_CONTAINER)) {
                run_floor(b);
                char *argv[] = {vessel, "run", "--rm", "busybox", "echo", MARKER, NULL};
                measure(b, "container", argv, env, 1, 1);
        }
        if (vs_bench_wants(b, VS_BENCH_VM)) {
                if (vm_ready(b, data)) {
                        char *argv[] = {vessel,    "run",  "--rm", "--isolation=vm",
                                        "busybox", "echo", MARKER, NULL};
                        measure(b, "vm", argv, env, b->opts.quick ? 0 : 1, 1);
                        if (!have_restore(b))
                                skip_both(b, "vm-restore", "vessel restore not available");
                        else
                                run_vm_restore(b, env);
                }
        }
        /* A container killed at its deadline. */
        vs_bench_scratch_clear(b->opts.vessel, b->opts.workdir);
        return 0;
}
