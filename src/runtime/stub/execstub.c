/* vessel-exec: the last program every container process runs before its
 * own, from a sealed memfd (see src/runtime/execstub.c). With it, the image
 * a container's execve starts from is never the vessel binary on the host,
 * so a "#!/proc/self/exe" program in the image finds only this stub
 * (CVE-2019-5736).
 *
 *   argv: "vessel-exec" REPORT_FD PATH ARG0 ARG...
 *
 * It marks REPORT_FD close-on-exec and execs PATH with ARG0...; when that
 * fails it writes "cannot execute PATH: errno N" to REPORT_FD. Started any
 * other way (as an interpreter, say) it exits 126. Freestanding: no libc. */
#include <asm/unistd.h>

static long sys3(long n, long a, long b, long c)
{
        long ret;
        __asm__ volatile("syscall"
                         : "=a"(ret)
                         : "a"(n), "D"(a), "S"(b), "d"(c)
                         : "rcx", "r11", "memory");
        return ret;
}

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

__attribute__((noreturn)) static void die(int code)
{
        for (;;)
                sys3(__NR_exit_group, code, 0, 0);
}

__attribute__((noreturn, used)) void stub_main(long *sp)
{
        long argc = sp[0];
        char **argv = (char **) (sp + 1);
        char **envp = argv + argc + 1;
        if (argc < 4 || !eq(argv[0], "vessel-exec"))
                die(126);
        long fd = 0;
        for (const char *p = argv[1]; *p; p++) {
                if (*p < '0' || *p > '9')
                        die(126);
                fd = fd * 10 + (*p - '0');
        }
        sys3(__NR_fcntl, fd, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */);
        long err = -sys3(__NR_execve, (long) argv[2], (long) (argv + 3), (long) envp);
        /* One write: report_fd may be a datagram socket. */
        char msg[512];
        unsigned long n = 0;
        n = append(msg, n, sizeof(msg), "cannot execute ");
        n = append(msg, n, sizeof(msg), argv[2]);
        n = append(msg, n, sizeof(msg), ": errno ");
        char digits[12];
        int d = (int) sizeof(digits) - 1;
        digits[d] = '\0';
        do
                digits[--d] = (char) ('0' + err % 10);
        while ((err /= 10) > 0 && d > 0);
        n = append(msg, n, sizeof(msg), digits + d);
        sys3(__NR_write, fd, (long) msg, (long) n);
        die(127);
}

__asm__(".text\n.globl _start\n_start:\n"
        "xorl %ebp, %ebp\nmovq %rsp, %rdi\nandq $-16, %rsp\ncall stub_main\nhlt\n");
