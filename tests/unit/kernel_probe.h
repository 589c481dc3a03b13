/* Skipping the unit tests that need a kernel interface this process does not
 * have. Natively (Linux >= 5.6, as vessel requires) each is always there and
 * nothing is skipped; under qemu-user (`make cross-test`), which passes most
 * system calls to the host kernel but does not emulate openat2(2),
 * seccomp(2) or bpf(2), and which runs threads of its own in every process,
 * the tests that need them are skipped with the reason printed. */
#ifndef VESSEL_TESTS_KERNEL_PROBE_H
#define VESSEL_TESTS_KERNEL_PROBE_H

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

/* True when system call nr is not implemented here (ENOSYS). The arguments
 * are invalid on purpose: an implemented call fails with another errno. */
static inline bool probe_enosys(long nr)
{
        errno = 0;
        long r = syscall(nr, -1L, 0L, 0L, 0L);
        return r < 0 && errno == ENOSYS;
}

/* Prints why and skips the calling test when system call nr is missing. */
#define require_syscall(nr, name)                                                                  \
        do {                                                                                       \
                if (probe_enosys(nr)) {                                                            \
                        print_message("skipped: %s(2) is not implemented here (ENOSYS; "           \
                                      "qemu-user does not emulate it)\n",                          \
                                      name);                                                       \
                        skip();                                                                    \
                }                                                                                  \
        } while (0)

/* Threads of this process (an emulator's own threads show here). */
static inline int probe_thread_count(void)
{
        DIR *d = opendir("/proc/self/task");
        if (d == NULL)
                return -1;
        int n = 0;
        struct dirent *e;
        while ((e = readdir(d)))
                n += e->d_name[0] != '.';
        closedir(d);
        return n;
}

#endif
