/* floor: the least work a container start needs, as the benchmarks' baseline.
 *
 *   floor ROOTFS CMD [ARG...]
 *
 * clone() into new mount, pid, uts, ipc and net namespaces; in the child make
 * the mount tree private, bind ROOTFS onto itself, pivot_root into it, detach
 * the old root and exec CMD. The parent waits and exits with the child's
 * status (128+N when the child is killed by signal N; 125 when floor itself
 * fails, 127/126 when CMD cannot be executed). No /proc, /dev, cgroups,
 * capabilities, seccomp or config parsing: whatever a runtime spends beyond
 * this is the runtime's own overhead.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define FLOOR_FAILED 125
#define STACK_SIZE   (256 * 1024)

struct child_args {
        const char *rootfs;
        char **argv;
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
        int saved = errno;
        va_list ap;

        fputs("floor: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, ": %s\n", strerror(saved));
        _exit(FLOOR_FAILED);
}

static int child_main(void *data)
{
        const struct child_args *args = data;

        /* Keep the pivot and the detach below from propagating to the host. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                die("cannot make / rprivate");
        /* pivot_root needs the new root to be a mount point. */
        if (mount(args->rootfs, args->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                die("cannot bind-mount %s onto itself", args->rootfs);
        if (chdir(args->rootfs) < 0)
                die("cannot chdir to %s", args->rootfs);
        /* pivot_root(".", ".") stacks the old root on top of the new one;
         * detaching "." then drops it without needing a put_old directory. */
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                die("cannot pivot_root into %s", args->rootfs);
        if (umount2(".", MNT_DETACH) < 0)
                die("cannot detach the old root after pivot_root into %s", args->rootfs);
        if (chdir("/") < 0)
                die("cannot chdir to / in %s", args->rootfs);
        execv(args->argv[0], args->argv);
        int saved = errno;
        fprintf(stderr, "floor: cannot execute %s in %s: %s\n", args->argv[0], args->rootfs,
                strerror(saved));
        _exit(saved == ENOENT ? 127 : 126);
}

int main(int argc, char **argv)
{
        const int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET;
        struct child_args args;
        char *stack;
        pid_t pid;
        int status;

        if (argc < 3 || argv[2][0] != '/') {
                fprintf(stderr, "usage: %s ROOTFS /ABSOLUTE/CMD [ARG...]\n", argv[0]);
                return 2;
        }
        args.rootfs = argv[1];
        args.argv = &argv[2];

        stack = malloc(STACK_SIZE);
        if (stack == NULL) {
                fprintf(stderr, "floor: cannot allocate the child's stack: %s\n", strerror(errno));
                return FLOOR_FAILED;
        }
        pid = clone(child_main, stack + STACK_SIZE, flags | SIGCHLD, &args);
        if (pid < 0) {
                fprintf(stderr, "floor: cannot clone into new namespaces: %s\n", strerror(errno));
                return FLOOR_FAILED;
        }
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR) {
                        fprintf(stderr, "floor: cannot wait for child %d: %s\n", (int) pid,
                                strerror(errno));
                        return FLOOR_FAILED;
                }
        }
        free(stack);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return WEXITSTATUS(status);
}
