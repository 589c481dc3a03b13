/* The bench's scratch directory, and what an interrupted or killed run
 * leaves behind (workload.h, docs/bench.md "Interrupted runs").
 *
 * A run works in <tmpdir>/vessel-bench.XXXXXX and holds an flock on its
 * `lock` file until it ends. The start suite keeps a store of its own in
 * there (containers and VMs that `vessel rm` must end before the files can
 * go). SIGINT, SIGTERM and SIGHUP make the bench exec
 * `vessel bench-worker cleanup`, which keeps the pid (the containers it
 * made in the user's store are named vessel-bench-<pid>-<n>), removes them
 * and the scratch directory, then dies of the same signal. A run killed
 * with SIGKILL leaves its directory with a free lock: the next run removes
 * it (and its containers: workload_image.c removes those named after dead
 * benches). */
#include "bench/workload.h"
#include "runtime/hostmounts.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define SCRATCH_PREFIX "vessel-bench."
#define LOCK_FILE      "lock"

void vs_bench_scratch_clear(const char *vessel, const char *work)
{
        _cleanup_strv_ char **env = strv_copy(environ);
        _cleanup_free_ char *e1 = xasprintf("VESSEL_ROOT=%s/" VS_BENCH_START_DATA, work);
        _cleanup_free_ char *e2 = xasprintf("VESSEL_RUNTIME_ROOT=%s/" VS_BENCH_START_RUN, work);
        strv_env_set(&env, e1);
        strv_env_set(&env, e2);
        _cleanup_free_ char *data = xasprintf("%s/" VS_BENCH_START_DATA, work);
        if (access(data, F_OK) < 0)
                return;
        char *ps[] = {(char *) vessel, "ps", "-aq", NULL};
        _cleanup_free_ char *ids = NULL;
        if (vs_bench_capture_env(ps, env, &ids, 60) != 0 || !ids)
                return;
        char *save = NULL;
        for (char *id = strtok_r(ids, "\n", &save); id; id = strtok_r(NULL, "\n", &save)) {
                char *rm[] = {(char *) vessel, "rm", "-f", id, NULL};
                _cleanup_free_ char *out = NULL;
                if (vs_bench_capture_env(rm, env, &out, 120) != 0)
                        vs_warn("bench: cannot remove container %s of %s", id, data);
        }
}

void vs_bench_rm_own(const char *vessel)
{
        char *argv[] = {(char *) vessel, "ps", "-a", "--format", "{{.Names}}", NULL};
        _cleanup_free_ char *out = NULL;
        if (vs_bench_capture(argv, &out, 60) != 0)
                return;
        _cleanup_free_ char *mine = xasprintf(VS_BENCH_NAME_PREFIX "%d-", (int) getpid());
        char *save = NULL;
        for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                if (strncmp(l, mine, strlen(mine)) != 0)
                        continue;
                char *rm[] = {(char *) vessel, "rm", "-f", l, NULL};
                _cleanup_free_ char *o = NULL;
                vs_bench_capture(rm, &o, 120);
        }
}

/* Ends what is left in work (its containers and VMs, then any mount
 * beneath it) and removes it. */
static void remove_scratch(const char *vessel, const char *work)
{
        vs_bench_scratch_clear(vessel, work);
        struct vs_mount_ids none = {0};
        vs_host_mounts_release_new(work, &none);
        _cleanup_error_ vs_error *err = NULL;
        if (vs_rm_rf(work, &err) < 0)
                vs_warn("bench: cannot remove %s: %s", work, err->msg);
}

/* The scratch directories under tmpdir whose run is gone (lock free). */
static void remove_stale(const char *vessel, const char *tmpdir)
{
        _cleanup_closedir_ DIR *d = opendir(tmpdir);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strncmp(de->d_name, SCRATCH_PREFIX, strlen(SCRATCH_PREFIX)) != 0 ||
                    de->d_type != DT_DIR)
                        continue;
                _cleanup_free_ char *dir = xasprintf("%s/%s", tmpdir, de->d_name);
                _cleanup_free_ char *lock = xasprintf("%s/" LOCK_FILE, dir);
                /* No lock file: not a run of this version (or one that was
                 * killed before it made it: nothing of it runs then). */
                _cleanup_close_ int fd = open(lock, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
                        continue;
                vs_warn("bench: removing %s, left by a bench run that was killed", dir);
                remove_scratch(vessel, dir);
        }
}

int vs_bench_scratch_create(const char *vessel, const char *tmpdir, char **work, int *lockfd,
                            vs_error **err)
{
        remove_stale(vessel, tmpdir);
        _cleanup_free_ char *dir = xasprintf("%s/" SCRATCH_PREFIX "XXXXXX", tmpdir);
        if (!mkdtemp(dir))
                return vs_fail_errno(err, "bench: cannot create a scratch directory under %s",
                                     tmpdir);
        _cleanup_free_ char *lock = xasprintf("%s/" LOCK_FILE, dir);
        int fd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 || flock(fd, LOCK_EX) < 0) {
                vs_fail_errno(err, "bench: cannot lock %s", lock);
                if (fd >= 0)
                        close(fd);
                vs_rm_rf(dir, NULL);
                return -1;
        }
        *lockfd = fd;
        *work = steal_ptr(dir);
        return 0;
}

/* What the handler execs, prepared before it is installed (only execve and
 * the argument vector are touched in the handler). */
static char *cleanup_argv[6];
static char signo_text[3][12];

static void on_signal(int sig)
{
        int i = sig == SIGINT ? 0 : sig == SIGTERM ? 1 : 2;
        cleanup_argv[4] = signo_text[i];
        execve(cleanup_argv[0], cleanup_argv, environ);
        /* Cannot happen with the binary that runs; die of the signal. */
        signal(sig, SIG_DFL);
        raise(sig);
}

void vs_bench_scratch_on_signals(const char *vessel, const char *work)
{
        static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
        cleanup_argv[0] = xstrdup(vessel);
        cleanup_argv[1] = "bench-worker";
        cleanup_argv[2] = "cleanup";
        cleanup_argv[3] = xstrdup(work);
        cleanup_argv[5] = NULL;
        struct sigaction sa = {.sa_handler = on_signal};
        sigfillset(&sa.sa_mask);
        for (int i = 0; i < 3; i++) {
                snprintf(signo_text[i], sizeof(signo_text[i]), "%d", sigs[i]);
                sigaction(sigs[i], &sa, NULL);
        }
}

int vs_bench_scratch_cleanup_main(int argc, char **argv)
{
        /* argv: bench-worker cleanup WORK SIGNAL */
        if (argc != 4) {
                fprintf(stderr, "usage: vessel bench-worker cleanup WORK SIGNAL\n");
                return 2;
        }
        int sig = atoi(argv[3]);
        /* The signal arrived mid-run: a second one must not cut this short. */
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n < 0)
                return 1;
        self[n] = '\0';
        if (isatty(STDERR_FILENO))
                fprintf(stderr, "\r\033[K");
        fprintf(stderr, "vessel bench: interrupted (%s); removing its containers and %s\n",
                strsignal(sig), argv[2]);
        /* This run's containers in the user's store (vessel-bench-<pid>-n:
         * the pid is still ours), then the scratch directory's store. */
        vs_bench_rm_own(self);
        remove_scratch(self, argv[2]);
        if (sig <= 0 || sig >= NSIG)
                return 1;
        signal(sig, SIG_DFL);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        sigprocmask(SIG_UNBLOCK, &one, NULL);
        raise(sig);
        return 128 + sig;
}
