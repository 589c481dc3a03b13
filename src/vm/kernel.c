/* The guest kernel: built from Debian's linux-source-6.1 with the fragment
 * in guest/kernel.config by guest/build-kernel.sh (both embedded in vessel),
 * cached by a key hashing the two. Each cached kernel records the source it
 * was built from (size and mtime of the tarball); a changed source rebuilds
 * it when the source is there, and a kernel without its source still runs. */
#include "vm/vm.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern const char vs_kernel_fragment_start[], vs_kernel_fragment_end[];
extern const char vs_kernel_script_start[], vs_kernel_script_end[];
__asm__(".section .rodata\n"
        ".globl vs_kernel_fragment_start\n.hidden vs_kernel_fragment_start\n"
        "vs_kernel_fragment_start:\n.incbin \"guest/kernel.config\"\n"
        ".globl vs_kernel_fragment_end\n.hidden vs_kernel_fragment_end\n"
        "vs_kernel_fragment_end:\n"
        ".globl vs_kernel_script_start\n.hidden vs_kernel_script_start\n"
        "vs_kernel_script_start:\n.incbin \"guest/build-kernel.sh\"\n"
        ".globl vs_kernel_script_end\n.hidden vs_kernel_script_end\n"
        "vs_kernel_script_end:\n.previous\n");

#define DEFAULT_SOURCE       "/usr/src/linux-source-6.1.tar.xz"
#define DEFAULT_SHARED_CACHE "/var/cache/vessel/kernel"

const char *vs_vm_kernel_fragment(size_t *len)
{
        *len = (size_t) (vs_kernel_fragment_end - vs_kernel_fragment_start);
        return vs_kernel_fragment_start;
}

static const char *source_path(void)
{
        const char *s = getenv("VESSEL_LINUX_SOURCE");
        return s && *s ? s : DEFAULT_SOURCE;
}

static const char *shared_cache(void)
{
        const char *s = getenv("VESSEL_KERNEL_CACHE");
        return s && *s ? s : DEFAULT_SHARED_CACHE;
}

/* "<size>-<mtime>" of the source tarball, or NULL when it is missing. */
static char *source_version(void)
{
        struct stat st;
        if (stat(source_path(), &st) < 0)
                return NULL;
        return xasprintf("%lld-%lld", (long long) st.st_size, (long long) st.st_mtime);
}

int vs_vm_kernel_key(char **key, vs_error **err)
{
        /* One buffer hashed with libmd (vs_digest_buffer): the streaming
         * hash would load libcrypto into every VM run and, inherited, into
         * its monitor. */
        static const char head[] = "vessel guest kernel x86_64\n";
        size_t nf = (size_t) (vs_kernel_fragment_end - vs_kernel_fragment_start);
        size_t ns = (size_t) (vs_kernel_script_end - vs_kernel_script_start);
        _cleanup_free_ char *buf = xmalloc(sizeof(head) - 1 + nf + ns);
        memcpy(buf, head, sizeof(head) - 1);
        memcpy(buf + sizeof(head) - 1, vs_kernel_fragment_start, nf);
        memcpy(buf + sizeof(head) - 1 + nf, vs_kernel_script_start, ns);
        _cleanup_free_ char *digest = vs_digest_buffer(buf, sizeof(head) - 1 + nf + ns);
        /* 16 bytes of it name the directory. */
        *key = xasprintf("%.32s", vs_digest_hex(digest));
        return 0;
}

/* A usable kernel in dir: bzImage present, and built from the installed
 * source when there is one. */
static bool kernel_usable(const char *dir, const char *version)
{
        _cleanup_free_ char *img = xasprintf("%s/bzImage", dir);
        if (!vs_path_exists(img))
                return false;
        if (version == NULL)
                return true;
        _cleanup_free_ char *src = xasprintf("%s/source", dir);
        _cleanup_free_ char *built = NULL;
        size_t n;
        if (vs_read_file(src, &built, &n, NULL) < 0)
                return false;
        return strcmp(built, version) == 0;
}

static int write_file(const char *path, const void *data, size_t len, mode_t mode, vs_error **err)
{
        return vs_write_file_replace(path, data, len, mode, err);
}

/* Copies the built kernel into the shared cache (best effort). */
static void share(const char *dir, const char *key)
{
        _cleanup_free_ char *dst = xasprintf("%s/%s", shared_cache(), key);
        _cleanup_free_ char *tmp = xasprintf("%s.tmp%d", dst, (int) getpid());
        _cleanup_error_ vs_error *err = NULL;
        if (vs_mkdir_p(tmp, 0755, &err) < 0) {
                vs_debug("kernel: not shared: %s", err->msg);
                return;
        }
        static const char *const files[] = {"bzImage", "config", "source"};
        for (size_t i = 0; i < 3; i++) {
                _cleanup_free_ char *from = xasprintf("%s/%s", dir, files[i]);
                _cleanup_free_ char *to = xasprintf("%s/%s", tmp, files[i]);
                _cleanup_free_ char *data = NULL;
                size_t n;
                if (vs_read_file(from, &data, &n, &err) < 0 ||
                    write_file(to, data, n, 0644, &err) < 0)
                        goto fail;
        }
        if (rename(tmp, dst) == 0)
                return;
        vs_debug("kernel: not shared: cannot rename %s: %m", tmp);
fail:
        vs_rm_rf(tmp, NULL);
}

static double elapsed_s(const struct timespec *t0)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double) (t.tv_sec - t0->tv_sec) + (double) (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Runs the embedded build script; its output goes to log, and on a
 * terminal a status line counts the compiled files. */
static int run_build(const char *tmpdir, const char *out, const char *logpath, bool progress,
                     vs_error **err)
{
        _cleanup_free_ char *script = xasprintf("%s/build-kernel.sh", tmpdir);
        _cleanup_free_ char *frag = xasprintf("%s/kernel.config", tmpdir);
        size_t flen;
        const char *f = vs_vm_kernel_fragment(&flen);
        if (write_file(script, vs_kernel_script_start,
                       (size_t) (vs_kernel_script_end - vs_kernel_script_start), 0755, err) < 0 ||
            write_file(frag, f, flen, 0644, err) < 0)
                return -1;
        _cleanup_close_ int logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (logfd < 0)
                return vs_fail_errno(err, "cannot create %s", logpath);
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return vs_fail_errno(err, "cannot create a pipe");
        const char *jobs_env = getenv("VESSEL_KERNEL_JOBS");
        char jobs[32];
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        snprintf(jobs, sizeof(jobs), "%s", jobs_env && *jobs_env ? jobs_env : "");
        if (*jobs == '\0')
                snprintf(jobs, sizeof(jobs), "%ld", ncpu > 0 ? ncpu : 1);
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
                close(pfd[0]);
                close(pfd[1]);
                return vs_fail_errno(err, "cannot fork");
        }
        if (pid == 0) {
                /* The build dies with us (a ^C of `vessel vm kernel`). */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(1);
                setpgid(0, 0);
                dup2(pfd[1], STDOUT_FILENO);
                dup2(pfd[1], STDERR_FILENO);
                int null = open("/dev/null", O_RDONLY);
                if (null >= 0)
                        dup2(null, STDIN_FILENO);
                execl("/bin/sh", "sh", script, source_path(), frag, out, jobs, (char *) NULL);
                _exit(127);
        }
        close(pfd[1]);
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        char buf[8192], last[512] = "";
        size_t files = 0, lastlen = 0;
        bool tty = progress && isatty(STDERR_FILENO);
        for (;;) {
                ssize_t n = read(pfd[0], buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                vs_write_all(logfd, buf, (size_t) n);
                for (ssize_t i = 0; i < n; i++) {
                        if (buf[i] != '\n') {
                                if (lastlen < sizeof(last) - 1)
                                        last[lastlen++] = buf[i];
                                continue;
                        }
                        last[lastlen] = '\0';
                        lastlen = 0;
                        if (strncmp(last, "vessel: ", 8) == 0) {
                                if (progress)
                                        vs_progress(false, "%s (%.0fs)", last, elapsed_s(&t0));
                        } else if (strncmp(last, "  CC", 4) == 0 || strncmp(last, "  AS", 4) == 0) {
                                files++;
                                if (tty && files % 20 == 0)
                                        vs_progress(true, "vessel: %zu files compiled (%.0fs)",
                                                    files, elapsed_s(&t0));
                        }
                }
        }
        close(pfd[0]);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (tty)
                vs_progress_clear();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return vs_fail(err, "building the guest kernel failed (log: %s)", logpath);
        if (progress)
                vs_progress(false, "vessel: guest kernel built in %.0fs (%zu files)",
                            elapsed_s(&t0), files);
        return 0;
}

static int build(const char *base, const char *key, const char *version, bool progress, char **path,
                 vs_error **err)
{
        _cleanup_free_ char *dir = xasprintf("%s/%s", base, key);
        _cleanup_free_ char *tmp = xasprintf("%s/%s.tmp", base, key);
        _cleanup_free_ char *log = xasprintf("%s/%s.log", base, key);
        if (vs_rm_rf(tmp, err) < 0 || vs_mkdir_p(tmp, 0755, err) < 0)
                return -1;
        _cleanup_free_ char *out = xasprintf("%s/out", tmp);
        if (progress)
                vs_progress(false,
                            "vessel: building the guest kernel from %s (once; a few minutes)",
                            source_path());
        if (run_build(tmp, out, log, progress, err) < 0) {
                vs_rm_rf(tmp, NULL);
                return -1;
        }
        _cleanup_free_ char *src = xasprintf("%s/source", out);
        if (write_file(src, version, strlen(version), 0644, err) < 0)
                return -1;
        if (vs_rm_rf(dir, err) < 0)
                return -1;
        if (rename(out, dir) < 0)
                return vs_fail_errno(err, "cannot rename %s to %s", out, dir);
        vs_rm_rf(tmp, NULL);
        share(dir, key);
        *path = xasprintf("%s/bzImage", dir);
        return 0;
}

int vs_vm_kernel_get(const char *data_root, bool do_build, bool progress, char **path,
                     vs_error **err)
{
        _cleanup_free_ char *key = NULL;
        if (vs_vm_kernel_key(&key, err) < 0)
                return -1;
        _cleanup_free_ char *version = source_version();
        _cleanup_free_ char *base = xasprintf("%s/vm/kernel", data_root);
        _cleanup_free_ char *mine = xasprintf("%s/%s", base, key);
        _cleanup_free_ char *shared = xasprintf("%s/%s", shared_cache(), key);
        const char *dirs[] = {mine, shared};
        for (size_t i = 0; i < 2; i++)
                if (kernel_usable(dirs[i], version)) {
                        *path = xasprintf("%s/bzImage", dirs[i]);
                        return 0;
                }
        if (version == NULL) {
                for (size_t i = 0; i < 2; i++)
                        if (kernel_usable(dirs[i], NULL)) {
                                *path = xasprintf("%s/bzImage", dirs[i]);
                                return 0;
                        }
                return vs_fail(err,
                               "no guest kernel and no kernel source to build it from: %s is "
                               "missing (install Debian's linux-source-6.1)",
                               source_path());
        }
        if (!do_build)
                return vs_fail(err, "the guest kernel is not built yet: run `vessel vm kernel`");
        if (vs_mkdir_p(base, 0755, err) < 0)
                return -1;
        /* One build at a time per data root; whoever waited finds it done. */
        _cleanup_free_ char *lockpath = xasprintf("%s/%s.lock", base, key);
        _cleanup_close_ int lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (lock < 0)
                return vs_fail_errno(err, "cannot open %s", lockpath);
        if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
                if (progress)
                        vs_progress(false, "vessel: waiting for another build of the guest kernel");
                if (flock(lock, LOCK_EX) < 0)
                        return vs_fail_errno(err, "cannot lock %s", lockpath);
        }
        for (size_t i = 0; i < 2; i++)
                if (kernel_usable(dirs[i], version)) {
                        *path = xasprintf("%s/bzImage", dirs[i]);
                        return 0;
                }
        return build(base, key, version, progress, path, err);
}
