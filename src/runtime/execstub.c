#include "runtime/execstub.h"
#include "util/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef VESSEL_EXECSTUB
#error "VESSEL_EXECSTUB (the path of the built stub) must be defined by the Makefile"
#endif

extern const char vs_execstub_start[], vs_execstub_end[];
__asm__(".section .rodata\n.balign 16\n.globl vs_execstub_start\n.hidden vs_execstub_start\n"
        "vs_execstub_start:\n.incbin \"" VESSEL_EXECSTUB "\"\n"
        ".globl vs_execstub_end\n.hidden vs_execstub_end\nvs_execstub_end:\n.previous\n");

int vs_execstub_fd(vs_error **err)
{
        _cleanup_close_ int fd = memfd_create("vessel-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return vs_fail_errno(err, "cannot create the exec stub");
        const char *p = vs_execstub_start;
        size_t left = (size_t) (vs_execstub_end - vs_execstub_start);
        while (left > 0) {
                ssize_t n = write(fd, p, left);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return vs_fail_errno(err, "cannot write the exec stub");
                p += n;
                left -= (size_t) n;
        }
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
                return vs_fail_errno(err, "cannot seal the exec stub");
        return steal_fd(fd);
}
