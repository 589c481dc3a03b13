/* The default seccomp profile: an allowlist in the spirit of Docker's.
 * Everything not listed fails with EPERM. Syscalls that create namespaces,
 * load kernel code, change the clock, reboot, manage keys, swap, mount or
 * reach into other processes' memory are only allowed with the capability
 * that governs them; clone3 fails with ENOSYS so that C libraries fall back
 * to clone, whose namespace flags can be checked. io_uring is not allowed:
 * the operations it performs bypass the filter. Names this libseccomp
 * does not know are skipped by the runtime, so the list may name syscalls
 * of newer kernels. */
#include "engine/engine.h"
#include "util/strv.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <string.h>

static const char *const allowed[] = {
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "arch_prctl",
    "bind",
    "brk",
    "cachestat",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_requeue",
    "futex_time64",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "futimesat",
    "get_robust_list",
    "get_thread_area",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "io_setup",
    "io_submit",
    "ioctl",
    "ioprio_get",
    "ioprio_set",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listxattr",
    "llistxattr",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "map_shadow_stack",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "mseal",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pselect6_time64",
    "ptrace",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "set_robust_list",
    "set_thread_area",
    "set_tid_address",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "setsid",
    "setsockopt",
    "setuid",
    "setuid32",
    "setxattr",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socket",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
    /* the runtime's own last steps before exec run under the filter */
    "chroot",
    NULL,
};

/* Allowed only with the capability next to them (Docker's model). */
static const struct {
        const char *cap;
        const char *const names[24];
} by_cap[] = {
    {"CAP_SYS_ADMIN",
     {"bpf",
      "clone",
      "fanotify_init",
      "fsconfig",
      "fsmount",
      "fsopen",
      "fspick",
      "lookup_dcookie",
      "mount",
      "mount_setattr",
      "move_mount",
      "open_tree",
      "perf_event_open",
      "quotactl",
      "quotactl_fd",
      "setdomainname",
      "sethostname",
      "setns",
      "syslog",
      "umount",
      "umount2",
      "unshare",
      NULL}},
    {"CAP_SYS_BOOT", {"reboot", NULL}},
    {"CAP_SYS_CHROOT", {"chroot", NULL}},
    {"CAP_SYS_MODULE", {"delete_module", "init_module", "finit_module", NULL}},
    {"CAP_SYS_PACCT", {"acct", NULL}},
    {"CAP_SYS_PTRACE",
     {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", NULL}},
    {"CAP_SYS_RAWIO", {"iopl", "ioperm", NULL}},
    {"CAP_SYS_TIME",
     {"settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime",
      "clock_adjtime64", NULL}},
    {"CAP_SYS_TTY_CONFIG", {"vhangup", NULL}},
    {"CAP_SYS_NICE",
     {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node", "move_pages", NULL}},
    {"CAP_SYSLOG", {"syslog", NULL}},
    {"CAP_BPF", {"bpf", NULL}},
    {"CAP_PERFMON", {"perf_event_open", NULL}},
    {"CAP_DAC_READ_SEARCH", {"open_by_handle_at", NULL}},
};

static json_object *rule(const char *const *names, size_t n, const char *action, int errno_ret)
{
        json_object *r = json_object_new_object();
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < n && names[i]; i++)
                json_object_array_add(a, json_object_new_string(names[i]));
        json_object_object_add(r, "names", a);
        json_object_object_add(r, "action", json_object_new_string(action));
        if (errno_ret)
                json_object_object_add(r, "errnoRet", json_object_new_int(errno_ret));
        return r;
}

static json_object *arg(unsigned index, uint64_t value, uint64_t value_two, const char *op)
{
        json_object *a = json_object_new_object();
        json_object_object_add(a, "index", json_object_new_int((int) index));
        json_object_object_add(a, "value", json_object_new_uint64(value));
        json_object_object_add(a, "valueTwo", json_object_new_uint64(value_two));
        json_object_object_add(a, "op", json_object_new_string(op));
        return a;
}

static json_object *one_with_args(const char *name, json_object *args)
{
        const char *names[] = {name, NULL};
        json_object *r = rule(names, 1, "SCMP_ACT_ALLOW", 0);
        json_object_object_add(r, "args", args);
        return r;
}

json_object *vs_engine_seccomp_default(char *const *caps)
{
        json_object *p = json_object_new_object();
        json_object_object_add(p, "defaultAction", json_object_new_string("SCMP_ACT_ERRNO"));
        json_object_object_add(p, "defaultErrnoRet", json_object_new_int(EPERM));
        json_object *archs = json_object_new_array();
#if defined(__x86_64__) || defined(__i386__)
        /* No x32: nobody ships x32 binaries, and the filter for it costs
         * about as much to build as the other two together. libseccomp makes
         * x86_64 filters refuse x32 syscall numbers (bad-arch action). */
        json_object_array_add(archs, json_object_new_string("SCMP_ARCH_X86_64"));
        json_object_array_add(archs, json_object_new_string("SCMP_ARCH_X86"));
#elif defined(__aarch64__) || defined(__arm__)
        json_object_array_add(archs, json_object_new_string("SCMP_ARCH_AARCH64"));
        json_object_array_add(archs, json_object_new_string("SCMP_ARCH_ARM"));
#endif
        json_object_object_add(p, "architectures", archs);

        json_object *sys = json_object_new_array();
        json_object_object_add(p, "syscalls", sys);
        size_t n_allowed = 0;
        while (allowed[n_allowed])
                n_allowed++;
        /* chroot is the last entry: only with CAP_SYS_CHROOT (below). */
        json_object_array_add(sys, rule(allowed, n_allowed - 1, "SCMP_ACT_ALLOW", 0));

        /* personality: only the harmless domains (Linux, Linux32, and
         * querying), as Docker allows. */
        static const uint64_t personas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};
        for (size_t i = 0; i < sizeof(personas) / sizeof(personas[0]); i++) {
                json_object *args = json_object_new_array();
                json_object_array_add(args, arg(0, personas[i], 0, "SCMP_CMP_EQ"));
                json_object_array_add(sys, one_with_args("personality", args));
        }

        bool sys_admin = strv_contains(caps, "CAP_SYS_ADMIN");
        if (!sys_admin) {
                /* clone without any CLONE_NEW* flag (mask 0x7e020000). */
                json_object *args = json_object_new_array();
                json_object_array_add(args, arg(0, 0x7e020000, 0, "SCMP_CMP_MASKED_EQ"));
                json_object_array_add(sys, one_with_args("clone", args));
                /* clone3 passes its flags in memory, out of seccomp's reach:
                 * ENOSYS makes libcs fall back to clone. */
                const char *clone3[] = {"clone3", NULL};
                json_object_array_add(sys, rule(clone3, 1, "SCMP_ACT_ERRNO", ENOSYS));
        } else {
                const char *clone3[] = {"clone3", NULL};
                json_object_array_add(sys, rule(clone3, 1, "SCMP_ACT_ALLOW", 0));
        }
        for (size_t i = 0; i < sizeof(by_cap) / sizeof(by_cap[0]); i++) {
                if (!strv_contains(caps, by_cap[i].cap))
                        continue;
                size_t n = 0;
                while (by_cap[i].names[n])
                        n++;
                json_object_array_add(sys, rule(by_cap[i].names, n, "SCMP_ACT_ALLOW", 0));
        }
        return p;
}
