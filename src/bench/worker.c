/* `vessel bench-worker KIND ARGS...`: the compute, memory, disk and network
 * kernels and the noisy neighbours of vessel bench, built into vessel so
 * that the same code runs natively, in a container and in a VM (the bench's
 * workload image carries vessel's own binary; workload.h).
 *
 * Each measuring kind runs for a wall-clock budget and prints one line of
 * `name=value` pairs on stdout, which the bench parses (vs_bench_out_value).
 * The neighbours (the bombs) bound themselves in time as well as living
 * inside a cgroup whose pids.max and memory.max the bench set before they
 * started: a fork bomb stops forking at its deadline and its first process
 * kills its whole process group. */
#include "bench/workload.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double vs_bench_now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* The fixed compute kernel: integer mixing (xorshift-multiply) with no
 * memory traffic; one op is one round. */
static uint64_t mix_rounds(uint64_t x, long rounds)
{
        for (long i = 0; i < rounds; i++) {
                x ^= x >> 33;
                x *= 0xff51afd7ed558ccdULL;
                x ^= x >> 29;
                x += (uint64_t) i;
        }
        return x;
}

/* The measurement starts: the bench times the span between this line and
 * the result on its own clock, because a guest's clock under TCG can run
 * slow (docs/bench-suites.md). */
static void go(void)
{
        printf("go\n");
        fflush(stdout);
}

static int run_cpu(double secs)
{
        const long chunk = 1 << 20;
        uint64_t x = 42;
        long ops = 0;
        go();
        double t0 = vs_bench_now(), t;
        do {
                x = mix_rounds(x, chunk);
                ops += chunk;
                t = vs_bench_now();
        } while (t - t0 < secs);
        printf("ops_per_s=%.0f secs=%.6f check=%llu\n", (double) ops / (t - t0), t - t0,
               (unsigned long long) (x & 0xff));
        return 0;
}

/* STREAM's triad a = b + s*c over arrays far larger than the caches; the
 * best pass counts (as STREAM reports), 24 bytes moved per element. */
static int run_stream(double secs, long mib)
{
        size_t n = (size_t) mib * 1024 * 1024 / 8 / 3;
        double *a = malloc(n * 8), *b = malloc(n * 8), *c = malloc(n * 8);
        if (!a || !b || !c) {
                fprintf(stderr, "bench-worker stream: cannot allocate %ld MiB\n", mib);
                return 1;
        }
        for (size_t i = 0; i < n; i++) {
                a[i] = 0;
                b[i] = 1.0;
                c[i] = 2.0;
        }
        go();
        double best = 0, t0 = vs_bench_now();
        do {
                double s = vs_bench_now();
                for (size_t i = 0; i < n; i++)
                        a[i] = b[i] + 3.0 * c[i];
                double d = vs_bench_now() - s;
                double rate = 24.0 * (double) n / d / 1e6;
                if (rate > best)
                        best = rate;
        } while (vs_bench_now() - t0 < secs);
        printf("MB_per_s=%.1f secs=%.6f check=%.0f\n", best, vs_bench_now() - t0, a[n / 2]);
        free(a);
        free(b);
        free(c);
        return 0;
}

/* Pointer chasing through a random cyclic permutation of cache lines: each
 * load depends on the previous one, so the time per load is the memory
 * latency at this working-set size. */
static int run_latency(double secs, long mib)
{
        size_t line = 64 / sizeof(size_t);
        size_t n = (size_t) mib * 1024 * 1024 / 64;
        size_t *mem = malloc(n * 64);
        size_t *order = malloc(n * sizeof(size_t));
        if (!mem || !order) {
                fprintf(stderr, "bench-worker latency: cannot allocate %ld MiB\n", mib);
                return 1;
        }
        for (size_t i = 0; i < n; i++)
                order[i] = i;
        uint64_t r = 88172645463325252ULL;
        for (size_t i = n - 1; i > 0; i--) {
                r ^= r << 13;
                r ^= r >> 7;
                r ^= r << 17;
                size_t j = (size_t) (r % (i + 1));
                size_t t = order[i];
                order[i] = order[j];
                order[j] = t;
        }
        for (size_t i = 0; i < n; i++)
                mem[order[i] * line] = order[(i + 1) % n] * line;
        free(order);
        size_t p = 0;
        long loads = 0;
        go();
        double t0 = vs_bench_now(), t;
        do {
                for (int k = 0; k < 100000; k++)
                        p = mem[p];
                loads += 100000;
                t = vs_bench_now();
        } while (t - t0 < secs);
        printf("ns=%.2f secs=%.6f check=%zu\n", (t - t0) * 1e9 / (double) loads, t - t0, p % 7);
        free(mem);
        return 0;
}

/* Sequential 1 MiB writes with fdatasync, wrapping at 64 MiB: the disk
 * victim (MB/s) and, without the report, the disk bomb. */
static int run_disk(double secs, const char *dir, bool report)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/vessel-bench-disk.%d", dir, (int) getpid());
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
                fprintf(stderr, "bench-worker disk: cannot create %s: %s\n", path, strerror(errno));
                return 1;
        }
        unlink(path);
        size_t bs = 1 << 20;
        char *buf = malloc(bs);
        memset(buf, 0xa5, bs);
        go();
        double t0 = vs_bench_now(), t;
        long long bytes = 0;
        off_t at = 0;
        do {
                if (pwrite(fd, buf, bs, at) != (ssize_t) bs) {
                        fprintf(stderr, "bench-worker disk: write: %s\n", strerror(errno));
                        break;
                }
                bytes += (long long) bs;
                at = (at + (off_t) bs) % (64 << 20);
                if (at % (8 << 20) == 0)
                        fdatasync(fd);
                t = vs_bench_now();
        } while (t - t0 < secs);
        fdatasync(fd);
        t = vs_bench_now();
        close(fd);
        free(buf);
        if (report)
                printf("MB_per_s=%.1f secs=%.6f\n", (double) bytes / (t - t0) / 1e6, t - t0);
        return 0;
}

/* TCP over loopback: a forked receiver, the sender counts bytes for secs. */
static int run_net(double secs)
{
        int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t sl = sizeof(sa);
        if (ls < 0 || bind(ls, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(ls, 1) < 0 ||
            getsockname(ls, (struct sockaddr *) &sa, &sl) < 0) {
                fprintf(stderr, "bench-worker net: cannot listen on loopback: %s\n",
                        strerror(errno));
                return 1;
        }
        pid_t pid = fork();
        if (pid == 0) {
                int c = accept(ls, NULL, NULL);
                char buf[1 << 16];
                while (c >= 0 && read(c, buf, sizeof(buf)) > 0)
                        ;
                _exit(0);
        }
        close(ls);
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0 || connect(s, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                fprintf(stderr, "bench-worker net: cannot connect: %s\n", strerror(errno));
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                return 1;
        }
        static char buf[1 << 16];
        long long bytes = 0;
        go();
        double t0 = vs_bench_now(), t = t0;
        do {
                ssize_t n = write(s, buf, sizeof(buf));
                if (n <= 0)
                        break;
                bytes += n;
                t = vs_bench_now();
        } while (t - t0 < secs);
        close(s);
        waitpid(pid, NULL, 0);
        printf("MB_per_s=%.1f secs=%.6f\n", (double) bytes / (t - t0) / 1e6, t - t0);
        return 0;
}

static int run_cpu_hog(double secs)
{
        go();
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        for (long i = 1; i < n; i++)
                if (fork() == 0)
                        break;
        double t0 = vs_bench_now();
        uint64_t x = 1;
        while (vs_bench_now() - t0 < secs)
                x = mix_rounds(x, 1 << 16);
        return (int) (x & 0);
}

/* Every process forks as fast as it can until the deadline (the cgroup's
 * pids.max turns the excess into EAGAIN); then the first one kills the
 * process group. */
static int run_fork_bomb(double secs)
{
        go();
        setpgid(0, 0);
        pid_t leader = getpid();
        double deadline = vs_bench_now() + secs;
        signal(SIGCHLD, SIG_IGN);
        while (vs_bench_now() < deadline) {
                pid_t p = fork();
                if (p < 0)
                        usleep(1000);
        }
        if (getpid() == leader) {
                signal(SIGTERM, SIG_IGN);
                kill(0, SIGKILL);
        }
        _exit(0);
}

/* Children allocate and touch memory until the cgroup's memory.max makes
 * the OOM killer end them; the parent starts another until the deadline. */
static int run_malloc_bomb(double secs)
{
        go();
        double deadline = vs_bench_now() + secs;
        while (vs_bench_now() < deadline) {
                pid_t p = fork();
                if (p == 0) {
                        for (;;) {
                                size_t sz = 16 << 20;
                                char *m = mmap(NULL, sz, PROT_READ | PROT_WRITE,
                                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                                if (m == MAP_FAILED || vs_bench_now() >= deadline)
                                        _exit(0);
                                memset(m, 1, sz);
                        }
                }
                if (p < 0) {
                        usleep(10000);
                        continue;
                }
                while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        return 0;
}

static int run_udp_flood(double secs)
{
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        int r = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t sl = sizeof(sa);
        /* A bound receiver that never reads: the packets cross the stack
         * and are dropped at its full buffer, never leaving this namespace. */
        if (s < 0 || r < 0 || bind(r, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            getsockname(r, (struct sockaddr *) &sa, &sl) < 0) {
                fprintf(stderr, "bench-worker udp-flood: no loopback socket: %s\n",
                        strerror(errno));
                return 1;
        }
        static char pkt[1400];
        go();
        double deadline = vs_bench_now() + secs;
        long sent = 0;
        while (vs_bench_now() < deadline)
                for (int i = 0; i < 256; i++)
                        if (sendto(s, pkt, sizeof(pkt), 0, (struct sockaddr *) &sa, sizeof(sa)) > 0)
                                sent++;
        printf("packets=%ld\n", sent);
        return 0;
}

static __attribute__((noreturn)) int run_idle(void)
{
        printf("ready\n");
        fflush(stdout);
        for (;;)
                pause();
}

static int usage(FILE *f)
{
        fprintf(f, "usage: vessel bench-worker cpu|stream|latency|disk|net|cpu-hog|fork-bomb|"
                   "malloc-bomb|disk-bomb|udp-flood SECONDS [MiB|DIR], or idle\n");
        return f == stdout ? 0 : 2;
}

int vs_bench_worker(int argc, char **argv)
{
        if (argc < 2)
                return usage(stderr);
        const char *kind = argv[1];
        if (strcmp(kind, "--help") == 0)
                return usage(stdout);
        if (strcmp(kind, "idle") == 0)
                return run_idle();
        if (strcmp(kind, "cleanup") == 0)
                return vs_bench_scratch_cleanup_main(argc, argv);
        if (argc < 3)
                return usage(stderr);
        char *end;
        double secs = strtod(argv[2], &end);
        if (*end || !(secs > 0 && secs <= 3600)) {
                fprintf(stderr, "bench-worker: invalid SECONDS '%s': not in (0, 3600]\n", argv[2]);
                return 2;
        }
        long mib = argc > 3 ? strtol(argv[3], NULL, 10) : 64;
        if (mib < 1 || mib > 4096)
                mib = 64;
        const char *dir = argc > 3 ? argv[3] : "/tmp";
        int r;
        if (strcmp(kind, "cpu") == 0)
                r = run_cpu(secs);
        else if (strcmp(kind, "stream") == 0)
                r = run_stream(secs, mib);
        else if (strcmp(kind, "latency") == 0)
                r = run_latency(secs, mib);
        else if (strcmp(kind, "disk") == 0)
                r = run_disk(secs, dir, true);
        else if (strcmp(kind, "disk-bomb") == 0)
                r = run_disk(secs, dir, false);
        else if (strcmp(kind, "net") == 0)
                r = run_net(secs);
        else if (strcmp(kind, "cpu-hog") == 0)
                r = run_cpu_hog(secs);
        else if (strcmp(kind, "fork-bomb") == 0)
                r = run_fork_bomb(secs);
        else if (strcmp(kind, "malloc-bomb") == 0)
                r = run_malloc_bomb(secs);
        else if (strcmp(kind, "udp-flood") == 0)
                r = run_udp_flood(secs);
        else
                return usage(stderr);
        fflush(stdout);
        return r;
}
