/* The network layer's own share of a bridged start: what `run --network
 * bridge` adds to `--network none`, without the rest of a container's
 * start around it (whose noise, on a shared machine, is larger than the
 * difference). N times: a child makes a network namespace (as the runtime
 * does), then vessel's own calls for a container on the default bridge:
 * vs_net_lease (IPAM, at create), vs_net_hosts (the hosts-file section),
 * vs_net_attach (bridge, veth, address, route: the monitor's step), and
 * after the child is gone vs_net_release (rm). Prints the median wall
 * time and the median CPU time (user + system of this thread, so the
 * kernel's netlink work included) of each step and of their sum.
 * Run as root inside a network namespace of its own (bench/net.sh does):
 * it makes vessel0 there. Usage: net-attach DATA_ROOT [N]. Linked against
 * vessel's objects (see the Makefile). */
#include "net/internal.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { LEASE, HOSTS, ATTACH, RELEASE, TOTAL, GONE, NSTEPS };
static const char *const step_names[] = {"lease",   "hosts", "attach",
                                         "release", "total", "(kernel: veth gone after)"};

static double clock_ms(clockid_t id)
{
        struct timespec ts;
        clock_gettime(id, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

static double median(double *v, int n)
{
        qsort(v, (size_t) n, sizeof(*v), cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A child in a new network namespace, waiting for its pipe to close. */
static pid_t ns_child(int *hold)
{
        int ready[2], p[2];
        if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(p, O_CLOEXEC) < 0)
                return -1;
        pid_t pid = fork();
        if (pid == 0) {
                close(ready[0]);
                close(p[1]);
                char c = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
                if (write(ready[1], &c, 1) != 1)
                        _exit(1);
                while (read(p[0], &c, 1) > 0)
                        ;
                _exit(0);
        }
        close(ready[1]);
        close(p[0]);
        char c = 'n';
        if (pid < 0 || read(ready[0], &c, 1) != 1 || c != 'y') {
                close(ready[0]);
                return -1;
        }
        close(ready[0]);
        *hold = p[1];
        return pid;
}

static void die(vs_error *err, const char *what)
{
        fprintf(stderr, "net-attach: %s: %s\n", what, err ? err->msg : "failed");
        exit(1);
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: net-attach DATA_ROOT [N]\n");
                return 2;
        }
        const char *root = argv[1];
        int n = argc > 2 ? atoi(argv[2]) : 50;
        if (n < 1)
                n = 1;
        double *wall[NSTEPS], *cpu[NSTEPS];
        for (int s = 0; s < NSTEPS; s++) {
                wall[s] = xcalloc((size_t) n, sizeof(double));
                cpu[s] = xcalloc((size_t) n, sizeof(double));
        }
        _cleanup_free_ char *hosts_path = xasprintf("%s/bench-hosts", root);
        close(open(hosts_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        for (int i = -1; i < n; i++) { /* i == -1: warm-up (makes vessel0) */
                char id[65];
                snprintf(id, sizeof(id), "%064x", (unsigned) (0xbe4c0000u + (unsigned) (i + 1)));
                int hold = -1;
                pid_t pid = ns_child(&hold);
                if (pid < 0)
                        die(NULL, "cannot make a network namespace");
                struct vs_net_endpoint_opts o = {
                    .network = VS_NET_DEFAULT,
                    .ctr_id = id,
                    .ctr_name = id,
                    .hostname = "bench",
                    .hosts_path = hosts_path,
                };
                vs_error *err = NULL;
                double w[NSTEPS + 1], c[NSTEPS + 1];
                w[0] = clock_ms(CLOCK_MONOTONIC);
                c[0] = clock_ms(CLOCK_THREAD_CPUTIME_ID);
                if (vs_net_lease(root, &o, &err) < 0)
                        die(err, "lease");
                w[1] = clock_ms(CLOCK_MONOTONIC);
                c[1] = clock_ms(CLOCK_THREAD_CPUTIME_ID);
                _cleanup_free_ char *hosts = NULL;
                if (vs_net_hosts(root, id, &hosts, &err) < 0)
                        die(err, "hosts");
                w[2] = clock_ms(CLOCK_MONOTONIC);
                c[2] = clock_ms(CLOCK_THREAD_CPUTIME_ID);
                if (vs_net_attach(root, id, pid, &err) < 0)
                        die(err, "attach");
                w[3] = clock_ms(CLOCK_MONOTONIC);
                c[3] = clock_ms(CLOCK_THREAD_CPUTIME_ID);
                /* The container exits: its namespace goes and the kernel
                 * takes the veth with it, asynchronously; rm comes later
                 * (after the monitor's and the runtime's clean-up), when
                 * the veth is gone, which is waited for here (at most 2 s:
                 * release deletes one still there). */
                close(hold);
                waitpid(pid, NULL, 0);
                char veth[16];
                vs_net_veth_name(id, "eth0", veth);
                double g0 = clock_ms(CLOCK_MONOTONIC);
                while (if_nametoindex(veth) != 0 && clock_ms(CLOCK_MONOTONIC) - g0 < 2000)
                        usleep(200);
                double gone = clock_ms(CLOCK_MONOTONIC) - g0;
                double w3 = clock_ms(CLOCK_MONOTONIC), c3 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
                if (vs_net_release(root, id, &err) < 0)
                        die(err, "release");
                w[4] = clock_ms(CLOCK_MONOTONIC) - w3 + w[3];
                c[4] = clock_ms(CLOCK_THREAD_CPUTIME_ID) - c3 + c[3];
                if (i < 0)
                        continue;
                for (int s = 0; s < TOTAL; s++) {
                        wall[s][i] = w[s + 1] - w[s];
                        cpu[s][i] = c[s + 1] - c[s];
                }
                wall[TOTAL][i] = w[4] - w[0];
                cpu[TOTAL][i] = c[4] - c[0];
                wall[GONE][i] = gone;
                cpu[GONE][i] = 0;
        }
        printf("network layer per bridged container, median of %d (ms): wall / CPU\n", n);
        for (int s = 0; s < GONE; s++)
                printf("  %-8s %7.3f / %7.3f\n", step_names[s], median(wall[s], n),
                       median(cpu[s], n));
        printf("  %s %.3f\n", step_names[GONE], median(wall[GONE], n));
        return 0;
}
