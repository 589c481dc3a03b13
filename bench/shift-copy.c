/* The cost of the rootless engine's shifted layer copies (src/image/
 * shift.c, docs/rootless.md): N times, interleaved, a plain copy of DIR
 * (vs_layer_apply_dir into an empty directory: the floor, what any copy
 * costs) and a shifted copy (vs_layer_copy_shifted with a keep-id map for
 * uid and gid 1000 laid over ids 100000..: every owner changed), each into
 * a new directory under TMP, then a syncfs of it (what shift.c does before
 * the copy gets its name). Prints the medians of wall time and CPU time
 * (user + system of this process) of the copy, of the syncfs, and the
 * ratio shifted / plain. Run as root (the shifted owners are other ids).
 * Usage: shift-copy DIR TMP [N]. Linked against vessel's objects. */
#include "image/layer.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
               (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int cmp(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
        qsort(v, (size_t) n, sizeof(*v), cmp);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

enum { WALL, CPU, SYNC, NK };

int main(int argc, char **argv)
{
        if (argc < 3) {
                fprintf(stderr, "usage: shift-copy DIR TMP [N]\n");
                return 2;
        }
        int n = argc > 3 ? atoi(argv[3]) : 5;
        if (n < 1)
                n = 1;
        struct oci_id_mapping m[] = {{0, 100001, 1000}, {1000, 100000, 1}, {1001, 101001, 64535}};
        struct vs_layer_idshift shift = {m, m, 3, 3};
        double *t[2][NK];
        for (int k = 0; k < 2; k++)
                for (int j = 0; j < NK; j++)
                        t[k][j] = xcalloc((size_t) n, sizeof(double));
        for (int i = 0; i < n; i++) {
                for (int k = 0; k < 2; k++) {
                        _cleanup_free_ char *dst = xasprintf("%s/copy-%d-%d", argv[2], k, i);
                        vs_error *err = NULL;
                        if (mkdir(dst, 0700) < 0) {
                                perror(dst);
                                return 1;
                        }
                        double w0 = now_ms(), c0 = cpu_ms();
                        int r = k ? vs_layer_copy_shifted(argv[1], dst, &shift, &err)
                                  : vs_layer_apply_dir(argv[1], dst, &err);
                        if (r < 0) {
                                fprintf(stderr, "shift-copy: %s\n", err->msg);
                                return 1;
                        }
                        t[k][WALL][i] = now_ms() - w0;
                        t[k][CPU][i] = cpu_ms() - c0;
                        int fd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        w0 = now_ms();
                        if (fd < 0 || syncfs(fd) < 0) {
                                perror("syncfs");
                                return 1;
                        }
                        t[k][SYNC][i] = now_ms() - w0;
                        close(fd);
                        if (vs_rm_rf(dst, &err) < 0) {
                                fprintf(stderr, "shift-copy: %s\n", err->msg);
                                return 1;
                        }
                }
        }
        const char *names[] = {"plain copy (floor)", "shifted copy"};
        double res[2][NK];
        for (int k = 0; k < 2; k++) {
                for (int j = 0; j < NK; j++)
                        res[k][j] = median(t[k][j], n);
                printf("  %-20s wall %8.1f ms  cpu %8.1f ms  syncfs %8.1f ms\n", names[k],
                       res[k][WALL], res[k][CPU], res[k][SYNC]);
        }
        printf("  shifted / plain: wall %.2fx, cpu %.2fx (medians of %d, interleaved)\n",
               res[1][WALL] / res[0][WALL], res[1][CPU] / res[0][CPU], n);
        return 0;
}
