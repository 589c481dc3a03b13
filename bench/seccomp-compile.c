/* Seccomp compile time: profiles of N argument rules (default 20,000,
 * BENCH_SECCOMP_RULES overrides) parsed from JSON and compiled to BPF by
 * vessel's own code (oci_seccomp_parse + vs_seccomp_compile, no cache), the
 * best of three runs. Prints a line per profile: instructions and seconds,
 * or the time to refuse one that no seccomp filter can hold. Linked
 * against vessel's objects (see the Makefile's bench target). */
#include "oci/config.h"
#include "runtime/seccomp.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* n rules, each "syscall S with argument 0 == V returns errno E", spread
 * over five syscalls; only `distinct` of them differ (generated and merged
 * profiles repeat rules), each repeated n / distinct times. */
static char *profile(long n, long distinct)
{
        static const char *const names[] = {"personality", "ioctl", "fcntl", "prctl", "getpgid"};
        size_t cap = 128 + (size_t) n * 128, len = 0;
        char *s = xmalloc(cap);
        len += (size_t) snprintf(s + len, cap - len,
                                 "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[");
        for (long i = 0; i < n; i++) {
                long r = i % distinct;
                len += (size_t) snprintf(s + len, cap - len,
                                         "%s{\"names\":[\"%s\"],\"action\":\"SCMP_ACT_ERRNO\","
                                         "\"errnoRet\":%ld,\"args\":[{\"index\":0,\"value\":%ld,"
                                         "\"op\":\"SCMP_CMP_EQ\"}]}",
                                         i ? "," : "", names[r % 5], 1 + r % 100, 1000000 + r / 5);
        }
        snprintf(s + len, cap - len, "]}");
        return s;
}

/* Parse and compile (no cache), best of three; prints one line. */
static void measure(long n, long distinct)
{
        _cleanup_free_ char *text = profile(n, distinct);
        double best = 1e9;
        unsigned len = 0;
        _cleanup_free_ char *failure = NULL;
        for (int run = 0; run < 3; run++) {
                _cleanup_error_ vs_error *err = NULL;
                _cleanup_json_ json_object *doc = NULL;
                struct oci_seccomp *s = NULL;
                struct vs_seccomp_prog *p = NULL;
                double t0 = now();
                int r = vs_json_parse(text, "profile", &doc, &err);
                if (r == 0)
                        r = oci_seccomp_parse(doc, "linux.seccomp", &s, &err);
                if (r == 0)
                        r = vs_seccomp_compile(s, text, NULL, &p, &err);
                double t = now() - t0;
                if (r < 0 && failure == NULL)
                        failure = xstrdup(err->msg);
                len = p ? p->len : 0;
                vs_seccomp_prog_free(p);
                oci_seccomp_free(s);
                if (t < best)
                        best = t;
                if (t > 10) /* one slow run is figure enough */
                        break;
        }
        if (failure)
                printf(
                    "seccomp compile: %ld argument rules, %ld distinct: refused in %.3f s (%s)\n",
                    n, distinct, best, failure);
        else
                printf("seccomp compile: %ld argument rules, %ld distinct: %u instructions in "
                       "%.3f s\n",
                       n, distinct, len, best);
}

int main(void)
{
        const char *env = getenv("BENCH_SECCOMP_RULES");
        long n = env ? atol(env) : 20000;
        if (n < 20) {
                fprintf(stderr, "seccomp-compile: BENCH_SECCOMP_RULES must be at least 20\n");
                return 1;
        }
        /* All different: more than a filter can hold, to be refused fast;
         * then loadable ones, a twentieth and a tenth of them different. */
        measure(n, n);
        measure(n, n / 20);
        measure(n, n / 10);
        return 0;
}
