/* timeit: the wall time of one command, without a shell's own forks in it.
 *
 *   timeit FILE CMD [ARG...]
 *
 * Runs CMD (searched in $PATH) with this process's stdin, stdout and stderr,
 * waits for it and appends the elapsed time in nanoseconds (CLOCK_MONOTONIC,
 * from just before fork to just after the wait) as one line to FILE. Exits
 * with CMD's status (128+N when killed by signal N; 127 when it cannot be
 * run, 125 when timeit itself fails). The benchmark scripts time each
 * command of an engine with it: `date +%s%N` before and after a command
 * adds a fork and exec of date (~5 ms on our machines) to every figure,
 * which is most of a fast command's time and none of what it does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
        if (argc < 3) {
                fprintf(stderr, "usage: timeit FILE CMD [ARG...]\n");
                return 125;
        }
        long long t0 = now_ns();
        pid_t pid = fork();
        if (pid < 0) {
                fprintf(stderr, "timeit: fork: %s\n", strerror(errno));
                return 125;
        }
        if (pid == 0) {
                execvp(argv[2], argv + 2);
                fprintf(stderr, "timeit: %s: %s\n", argv[2], strerror(errno));
                _exit(127);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR) {
                        fprintf(stderr, "timeit: waitpid: %s\n", strerror(errno));
                        return 125;
                }
        }
        long long t1 = now_ns();
        FILE *f = fopen(argv[1], "a");
        if (!f || fprintf(f, "%lld\n", t1 - t0) < 0 || fclose(f) != 0) {
                fprintf(stderr, "timeit: %s: %s\n", argv[1], strerror(errno));
                return 125;
        }
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return WEXITSTATUS(status);
}
