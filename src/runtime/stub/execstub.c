/* vessel-exec: the only program of vessel's that ever runs inside a
 * container's namespaces, from a sealed memfd (see src/runtime/execstub.c).
 * With it, no process a container can see has the vessel binary on the host
 * as its image: /proc/PID/exe of every one of them is this sealed stub, and a
 * "#!/proc/self/exe" program in the image finds only the stub too
 * (CVE-2019-5736).
 *
 *   argv: "vessel-exec" REPORT_FD SECCOMP_FD PID_FD TTY DONE_FD CGROUP PATH ARG0 ARG...
 *
 * SECCOMP_FD, PID_FD, TTY, DONE_FD and CGROUP are "-" when unused. The stub first
 * makes itself non-dumpable again (execve made it dumpable: the fds it holds
 * must not be reachable through /proc/PID/fd, nor the process through
 * ptrace, from the container), then closes DONE_FD to say so. REPORT_FD may be
 * "DIRFD/FD": the stub then first opens FD's name in the directory DIRFD
 * for writing (the exec fifo through /proc/self/fd: this blocks until
 * `start`), uses that as REPORT_FD and closes DIRFD and FD. With PID_FD, the stub
 * forks first (CLONE_PARENT: the child is its parent's, and it lands in the
 * pid namespace the caller joined), writes a stage report (src/runtime/
 * stage.c: the child's pid, or -1 and why) to PID_FD and exits; the rest
 * happens in the child, once a message (any) arrives on REPORT_FD. CGROUP
 * (fork mode only) is "T1,T2,...": cgroup v1 "tasks" files open for
 * writing, into each of which the child writes "0" (moving itself: no RCU
 * grace period, unlike a move by another process) and which it closes
 * before anything else. With TTY ("tty"), it becomes a
 * session leader with fd 0 as controlling terminal. With SECCOMP_FD, it reads a compiled filter
 * (struct vs_stub_seccomp, then the instructions) from it and installs it
 * (the caller set no_new_privs). Then it marks REPORT_FD close-on-exec and
 * execs PATH with ARG0...; when any step fails it writes "cannot ...: errno
 * N" to REPORT_FD and exits 127. Started any other way (as an interpreter,
 * say) it exits 126. Freestanding: no libc; the system call and the entry
 * point are written for x86-64 and aarch64. */
#include <asm/unistd.h>

#include "runtime/stub/protocol.h"

#if defined(__x86_64__)
static long sys3(long n, long a, long b, long c)
{
        long ret;
        __asm__ volatile("syscall"
                         : "=a"(ret)
                         : "a"(n), "D"(a), "S"(b), "d"(c)
                         : "rcx", "r11", "memory");
        return ret;
}
#elif defined(__aarch64__)
static long sys3(long n, long a, long b, long c)
{
        register long x8 __asm__("x8") = n;
        register long x0 __asm__("x0") = a;
        register long x1 __asm__("x1") = b;
        register long x2 __asm__("x2") = c;
        __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
        return x0;
}
#else
#error "the exec stub supports x86-64 and aarch64: add this architecture's sys3() and _start"
#endif

static int eq(const char *a, const char *b)
{
        while (*a && *a == *b)
                a++, b++;
        return *a == *b;
}

static unsigned long append(char *buf, unsigned long n, unsigned long size, const char *s)
{
        while (*s && n < size)
                buf[n++] = *s++;
        return n;
}

static unsigned long append_num(char *buf, unsigned long n, unsigned long size, long v)
{
        char digits[24];
        int d = (int) sizeof(digits) - 1;
        digits[d] = '\0';
        if (v < 0)
                v = -v;
        do
                digits[--d] = (char) ('0' + v % 10);
        while ((v /= 10) > 0 && d > 0);
        return append(buf, n, size, digits + d);
}

__attribute__((noreturn)) static void die(int code)
{
        for (;;)
                sys3(__NR_exit_group, code, 0, 0);
}

/* A decimal fd, or -1 for "-"; anything else is not our caller. */
static long parse_fd(const char *s)
{
        if (eq(s, "-"))
                return -1;
        long fd = 0;
        if (!*s)
                die(126);
        for (; *s; s++) {
                if (*s < '0' || *s > '9' || fd > 1000000)
                        die(126);
                fd = fd * 10 + (*s - '0');
        }
        return fd;
}

/* CGROUP: "-", or "T1,T2,..." (fds); the number of them. */
static int parse_cgroup(char *s, long *tasks)
{
        if (eq(s, "-"))
                return 0;
        int n = 0;
        for (;;) {
                char *end = s;
                while (*end && *end != ',')
                        end++;
                char last = *end;
                *end = '\0';
                if (n == VS_STUB_MAX_TASKS || (tasks[n] = parse_fd(s)) < 0)
                        die(126);
                n++;
                if (!last)
                        return n;
                s = end + 1;
        }
}

/* One write: report_fd may be a datagram socket. */
__attribute__((noreturn)) static void fail(long report_fd, const char *what, const char *arg,
                                           long err)
{
        char msg[512];
        unsigned long n = 0;
        n = append(msg, n, sizeof(msg), "cannot ");
        n = append(msg, n, sizeof(msg), what);
        n = append(msg, n, sizeof(msg), arg);
        n = append(msg, n, sizeof(msg), ": errno ");
        n = append_num(msg, n, sizeof(msg), err);
        sys3(__NR_write, report_fd, (long) msg, (long) n);
        die(127);
}

static struct {
        struct vs_stub_seccomp head;
        struct vs_stub_insn insns[VS_STUB_MAX_INSNS];
} filter;

static void install_seccomp(long fd, long report_fd)
{
        char *p = (char *) &filter;
        unsigned long want = sizeof(filter), got = 0;
        for (;;) {
                long n = sys3(__NR_read, fd, (long) (p + got), (long) (want - got));
                if (n < 0)
                        fail(report_fd, "read the seccomp filter", "", n);
                if (n == 0 || (got += (unsigned long) n) == want)
                        break;
        }
        sys3(__NR_close, fd, 0, 0);
        if (got < sizeof(filter.head) || filter.head.len == 0 ||
            filter.head.len > VS_STUB_MAX_INSNS ||
            got != sizeof(filter.head) + filter.head.len * sizeof(struct vs_stub_insn))
                fail(report_fd, "read the seccomp filter", "", 22 /* EINVAL */);
        struct {
                unsigned short len;
                void *insns;
        } prog = {(unsigned short) filter.head.len, filter.insns};
        long r =
            sys3(__NR_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, filter.head.flags, (long) &prog);
        if (r < 0)
                fail(report_fd, "load the seccomp filter", "", r);
}

__attribute__((noreturn, used)) void stub_main(long *sp)
{
        long argc = sp[0];
        char **argv = (char **) (sp + 1);
        char **envp = argv + argc + 1;
        if (argc < 9 || !eq(argv[0], "vessel-exec"))
                die(126);
        /* (A seccomp filter loaded without no_new_privs could forbid it:
         * better not to run than to run dumpable.) */
        if (sys3(__NR_prctl, 4 /* PR_SET_DUMPABLE */, 0, 0) < 0)
                die(1);
        long done_fd = parse_fd(argv[5]);
        if (done_fd >= 0)
                sys3(__NR_close, done_fd, 0, 0);
        long report_fd = -1;
        char *slash = argv[1];
        while (*slash && *slash != '/')
                slash++;
        if (*slash) {
                *slash = '\0';
                long dir = parse_fd(argv[1]), fifo = parse_fd(slash + 1);
                if (dir < 0 || fifo < 0)
                        die(126);
                report_fd = sys3(__NR_openat, dir, (long) (slash + 1),
                                 01 /* O_WRONLY */ | 02000000 /* O_CLOEXEC */);
                if (report_fd < 0)
                        die(1);
                sys3(__NR_close, dir, 0, 0);
                sys3(__NR_close, fifo, 0, 0);
        } else {
                report_fd = parse_fd(argv[1]);
        }
        long seccomp_fd = parse_fd(argv[2]);
        long pid_fd = parse_fd(argv[3]);
        int tty = eq(argv[4], "tty");
        if (report_fd < 0 || (!tty && !eq(argv[4], "-")))
                die(126);
        long tasks[VS_STUB_MAX_TASKS];
        int n_tasks = parse_cgroup(argv[6], tasks);
        if (pid_fd >= 0) {
                static struct vs_stub_report report;
                long pid = sys3(__NR_clone, 0x00008000 /* CLONE_PARENT */ | 17 /* SIGCHLD */, 0, 0);
                if (pid != 0) {
                        report.pid = pid > 0 ? (int) pid : -1;
                        if (pid < 0) {
                                unsigned long n = append(report.msg, 0, sizeof(report.msg) - 1,
                                                         "cannot fork into the container: errno ");
                                append_num(report.msg, n, sizeof(report.msg) - 1, pid);
                        }
                        sys3(__NR_write, pid_fd, (long) &report, sizeof(report));
                        die(pid > 0 ? 0 : 1);
                }
                sys3(__NR_close, pid_fd, 0, 0);
                for (int i = 0; i < n_tasks; i++) {
                        long r = sys3(__NR_write, tasks[i], (long) "0", 1);
                        if (r < 0)
                                fail(report_fd, "enter the container's cgroup", "", r);
                        sys3(__NR_close, tasks[i], 0, 0);
                }
                /* Until the runtime has moved us into the container's cgroup
                 * and says so with a message on REPORT_FD. */
                char go;
                if (sys3(__NR_read, report_fd, (long) &go, 1) != 1)
                        die(1);
        }
        if (tty) {
                long r = sys3(__NR_setsid, 0, 0, 0);
                if (r < 0)
                        fail(report_fd, "become a session leader", "", r);
                r = sys3(__NR_ioctl, 0, 0x540E /* TIOCSCTTY */, 0);
                if (r < 0)
                        fail(report_fd, "make the pty the controlling terminal", "", r);
        }
        if (seccomp_fd >= 0)
                install_seccomp(seccomp_fd, report_fd);
        sys3(__NR_fcntl, report_fd, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */);
        long err = sys3(__NR_execve, (long) argv[7], (long) (argv + 8), (long) envp);
        fail(report_fd, "execute ", argv[7], err);
}

/* The kernel enters with sp at argc; stub_main(sp) never returns. */
#if defined(__x86_64__)
__asm__(".text\n.globl _start\n_start:\n"
        "xorl %ebp, %ebp\nmovq %rsp, %rdi\nandq $-16, %rsp\ncall stub_main\nhlt\n");
#else
__asm__(".text\n.globl _start\n_start:\n"
        "mov x29, xzr\nmov x30, xzr\nmov x0, sp\nbl stub_main\nbrk #0\n");
#endif
