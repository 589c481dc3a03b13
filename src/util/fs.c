#include "util/fs.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

static int read_fd_all(int fd, char **out, size_t *len)
{
        size_t cap = 4096, n = 0;
        char *buf = xmalloc(cap);
        for (;;) {
                if (n + 1 >= cap) {
                        cap *= 2;
                        buf = xrealloc(buf, cap);
                }
                ssize_t r = read(fd, buf + n, cap - n - 1);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        int saved = errno;
                        free(buf);
                        errno = saved;
                        return -1;
                }
                if (r == 0)
                        break;
                n += (size_t) r;
        }
        buf[n] = '\0';
        *out = buf;
        if (len)
                *len = n;
        return 0;
}

int vs_read_file_at(int dirfd, const char *path, char **out, size_t *len, vs_error **err)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return vs_fail_errno(err, "cannot open %s", path);
        if (read_fd_all(fd, out, len) < 0)
                return vs_fail_errno(err, "cannot read %s", path);
        return 0;
}

int vs_read_file(const char *path, char **out, size_t *len, vs_error **err)
{
        return vs_read_file_at(AT_FDCWD, path, out, len, err);
}

int vs_write_all(int fd, const void *data, size_t len)
{
        const char *p = data;
        while (len > 0) {
                ssize_t w = write(fd, p, len);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                p += w;
                len -= (size_t) w;
        }
        return 0;
}

static int write_replace(const char *path, const void *data, size_t len, mode_t mode,
                         bool durable, vs_error **err)
{
        _cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, getpid());
        _cleanup_free_ char *dircopy = xstrdup(path);
        const char *dir = dirname(dircopy);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return vs_fail_errno(err, "cannot create %s", tmp);
        if (vs_write_all(fd, data, len) < 0 || (durable && fsync(fd) < 0)) {
                int saved = errno;
                close(fd);
                unlink(tmp);
                return vs_error_set(err, saved, "cannot write %s", tmp);
        }
        close(fd);
        if (rename(tmp, path) < 0) {
                int saved = errno;
                unlink(tmp);
                return vs_error_set(err, saved, "cannot rename %s to %s", tmp, path);
        }
        if (!durable)
                return 0;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                fsync(dfd);
        return 0;
}

int vs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         vs_error **err)
{
        return write_replace(path, data, len, mode, true, err);
}

int vs_write_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                          vs_error **err)
{
        return write_replace(path, data, len, mode, false, err);
}

int vs_write_file_at(int dirfd, const char *path, const void *data, size_t len, vs_error **err)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0)
                return vs_fail_errno(err, "cannot open %s", path);
        if (vs_write_all(fd, data, len) < 0)
                return vs_fail_errno(err, "cannot write %s", path);
        return 0;
}

int vs_mkdir_p(const char *path, mode_t mode, vs_error **err)
{
        _cleanup_free_ char *p = xstrdup(path);
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return vs_fail_errno(err, "cannot create directory %s", p);
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return vs_fail_errno(err, "cannot create directory %s", p);
        return 0;
}

int vs_rm_rf_at(int dirfd, const char *name, vs_error **err)
{
        if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR && errno != EPERM)
                return vs_fail_errno(err, "cannot remove %s", name);
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return vs_fail_errno(err, "cannot open %s", name);
        }
        _cleanup_closedir_ DIR *d = fdopendir(fd);
        if (d == NULL) {
                close(fd);
                return vs_fail_errno(err, "cannot read directory %s", name);
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (vs_rm_rf_at(fd, de->d_name, err) < 0)
                        return vs_error_wrap(err, "in %s", name);
        }
        if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return vs_fail_errno(err, "cannot remove directory %s", name);
        return 0;
}

int vs_rm_rf(const char *path, vs_error **err)
{
        return vs_rm_rf_at(AT_FDCWD, path, err);
}

int vs_openat2(int dirfd, const char *path, int flags, unsigned long long resolve)
{
        struct open_how how = {.flags = (unsigned long long) (flags | O_CLOEXEC),
                               .resolve = resolve};
        int fd;
        do
                fd = (int) syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        while (fd < 0 && errno == EAGAIN);
        return fd;
}

int vs_open_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
        struct open_how how = {
                .flags = (unsigned long long) (flags | O_CLOEXEC),
                .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        while (*path == '/')
                path++;
        if (*path == '\0')
                path = ".";
        int fd;
        do
                fd = (int) syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
        while (fd < 0 && errno == EAGAIN);
        return fd;
}

int vs_mkdir_p_in_root(int rootfd, const char *path, mode_t mode, vs_error **err)
{
        _cleanup_free_ char *p = xstrdup(path);
        _cleanup_close_ int cur = vs_open_in_root(rootfd, "/", O_PATH | O_DIRECTORY, 0);
        if (cur < 0)
                return vs_fail_errno(err, "cannot open container root");
        char *walk = p;
        for (;;) {
                while (*walk == '/')
                        walk++;
                if (*walk == '\0')
                        break;
                char *end = strchrnul(walk, '/');
                char saved = *end;
                *end = '\0';
                /* Resolve the prefix from the root each time, so symlinks in
                 * the image are followed but can never leave it. */
                int next = vs_open_in_root(rootfd, p, O_PATH | O_DIRECTORY, 0);
                if (next < 0 && errno == ENOENT) {
                        if (mkdirat(cur, walk, mode) < 0 && errno != EEXIST)
                                return vs_fail_errno(
                                        err, "cannot create directory %s in container root", p);
                        next = vs_open_in_root(rootfd, p, O_PATH | O_DIRECTORY, 0);
                }
                if (next < 0)
                        return vs_fail_errno(err, "cannot open %s in container root", p);
                close(cur);
                cur = next;
                *end = saved;
                walk = end;
        }
        return steal_fd(cur);
}

int vs_mount_target_in_root(int rootfd, const char *path, bool is_file, vs_error **err)
{
        if (!is_file)
                return vs_mkdir_p_in_root(rootfd, path, 0755, err);
        int fd = vs_open_in_root(rootfd, path, O_PATH, 0);
        if (fd >= 0)
                return fd;
        if (errno != ENOENT)
                return vs_fail_errno(err, "cannot open %s in container root", path);
        _cleanup_free_ char *copy = xstrdup(path);
        char *slash = strrchr(copy, '/');
        const char *name = copy;
        _cleanup_close_ int parent = -1;
        if (slash) {
                *slash = '\0';
                name = slash + 1;
                parent = vs_mkdir_p_in_root(rootfd, *copy ? copy : "/", 0755, err);
        } else {
                parent = vs_open_in_root(rootfd, "/", O_PATH | O_DIRECTORY, 0);
        }
        if (parent < 0)
                return err && *err ? -1 : vs_fail_errno(err, "cannot open parent of %s", path);
        /* O_PATH parents cannot create files; reopen as a real directory. */
        _cleanup_close_ int dir = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return vs_fail_errno(err, "cannot open parent of %s", path);
        int f = openat(dir, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (f < 0 && errno != EEXIST)
                return vs_fail_errno(err, "cannot create mount target %s in container root", path);
        if (f >= 0)
                close(f);
        fd = vs_open_in_root(rootfd, path, O_PATH, 0);
        if (fd < 0)
                return vs_fail_errno(err, "cannot open %s in container root", path);
        return fd;
}

const char *vs_fd_path(int fd, char *buf, size_t size)
{
        snprintf(buf, size, "/proc/self/fd/%d", fd);
        return buf;
}

bool vs_path_exists(const char *path)
{
        return access(path, F_OK) == 0;
}

bool vs_is_dir(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool vs_fd_is_fs_type(int fd, unsigned long magic)
{
        struct statfs sfs;
        return fstatfs(fd, &sfs) == 0 && (unsigned long) sfs.f_type == magic;
}

int vs_lock_open(const char *path, int flags, mode_t mode, vs_error **err)
{
        int fd = open(path, flags | O_CLOEXEC, mode);
        if (fd < 0)
                return vs_error_set(err, errno, "cannot open %s", path);
        while (flock(fd, LOCK_EX) < 0) {
                if (errno == EINTR)
                        continue;
                int e = errno;
                close(fd);
                return vs_error_set(err, e, "cannot lock %s", path);
        }
        return fd;
}
