#include "util/sealed.h"
#include "util/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

bool vs_running_sealed(void)
{
        _cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        int seals = fcntl(fd, F_GET_SEALS);
        return seals >= 0 && (seals & SEALS) == SEALS;
}

int vs_reexec_sealed(char **argv, vs_error **err)
{
        if (vs_running_sealed())
                return 0;
        _cleanup_close_ int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return vs_fail_errno(err, "cannot open /proc/self/exe");
        struct stat st;
        if (fstat(self, &st) < 0)
                return vs_fail_errno(err, "cannot stat /proc/self/exe");
        _cleanup_close_ int mfd = memfd_create("vessel", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (mfd < 0)
                return vs_fail_errno(err, "cannot create a memfd for a sealed copy of vessel");
        off_t left = st.st_size;
        while (left > 0) {
                ssize_t n = sendfile(mfd, self, NULL, (size_t) left);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return vs_fail_errno(err, "cannot copy vessel into a memfd");
                left -= n;
        }
        if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0)
                return vs_fail_errno(err, "cannot seal the copy of vessel");
        fexecve(mfd, argv, environ);
        return vs_fail_errno(err, "cannot re-execute vessel from its sealed copy");
}
