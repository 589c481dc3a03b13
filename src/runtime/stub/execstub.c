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
 * other way (as an interpreter, say) it exits 126. Freestanding: no libc;
 * the system call and the entry point are written for x86-64 and aarch64. */
#include <asm/unistd.h>

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

/* The kernel enters with sp at argc; stub_main(sp) never returns. */
#if defined(__x86_64__)
__asm__(".text\n.globl _start\n_start:\n"
        "xorl %ebp, %ebp\nmovq %rsp, %rdi\nandq $-16, %rsp\ncall stub_main\nhlt\n");
#else
__asm__(".text\n.globl _start\n_start:\n"
        "mov x29, xzr\nmov x30, xzr\nmov x0, sp\nbl stub_main\nbrk #0\n");
#endif
