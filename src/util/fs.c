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

int vs_read_regular_in_root(int rootfd, const char *path, char **out, size_t *len, const char *what,
                            vs_error **err)
{
        _cleanup_close_ int fd = vs_open_regular(
            rootfd, path, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, NULL, NULL, what, err);
        if (fd < 0)
                return -1;
        if (read_fd_all(fd, out, len) < 0)
                return vs_fail_errno(err, "cannot read %s", what);
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

enum replace_sync { SYNC_NONE, SYNC_DATA, SYNC_ALL };

static int write_replace(const char *path, const void *data, size_t len, mode_t mode,
                         enum replace_sync sync, vs_error **err)
{
        bool durable = sync != SYNC_NONE;
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
        if (sync != SYNC_ALL)
                return 0;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                fsync(dfd);
        return 0;
}

int vs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         vs_error **err)
{
        return write_replace(path, data, len, mode, SYNC_ALL, err);
}

int vs_write_file_ordered(const char *path, const void *data, size_t len, mode_t mode,
                          vs_error **err)
{
        return write_replace(path, data, len, mode, SYNC_DATA, err);
}

int vs_write_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                          vs_error **err)
{
        return write_replace(path, data, len, mode, SYNC_NONE, err);
}

int vs_output_open(struct vs_output *o, const char *path, mode_t mode, vs_error **err)
{
        *o = (struct vs_output){.fd = -1};
        struct stat st;
        _cleanup_free_ char *target = xstrdup(path);
        bool exists = lstat(path, &st) == 0;
        if (!exists && errno != ENOENT)
                return vs_fail_errno(err, "cannot inspect %s", path);
        if (exists && S_ISLNK(st.st_mode)) {
                char *real = realpath(path, NULL);
                if (real == NULL && errno != ENOENT)
                        return vs_fail_errno(err, "cannot resolve the link %s", path);
                if (real == NULL) {
                        /* dangling: the shell's `>` creates the target */
                        o->fd =
                            open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOCTTY | O_CLOEXEC, mode);
                        if (o->fd < 0)
                                return vs_fail_errno(err, "cannot create %s", path);
                        o->path = steal_ptr(target);
                        return 0;
                }
                free(target);
                target = real;
                exists = lstat(target, &st) == 0;
                if (!exists && errno != ENOENT)
                        return vs_fail_errno(err, "cannot inspect %s", target);
        }
        if (exists && S_ISDIR(st.st_mode))
                return vs_fail(err, "cannot write %s: it is a directory", path);
        if (exists && !S_ISREG(st.st_mode)) {
                /* never renamed over: a device or FIFO is written through */
                o->fd = open(target, O_WRONLY | O_NOCTTY | O_CLOEXEC);
                if (o->fd < 0)
                        return vs_fail_errno(err, "cannot open %s", path);
                o->path = steal_ptr(target);
                return 0;
        }
        o->tmp = xasprintf("%s.tmp.%d", target, (int) getpid());
        o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (o->fd < 0) {
                vs_fail_errno(err, "cannot create %s", o->tmp);
                free(o->tmp);
                o->tmp = NULL;
                return -1;
        }
        o->path = steal_ptr(target);
        return 0;
}

void vs_output_abort(struct vs_output *o)
{
        if (o->fd >= 0)
                close(o->fd);
        o->fd = -1;
        if (o->tmp)
                unlink(o->tmp);
        free(o->tmp);
        free(o->path);
        o->tmp = o->path = NULL;
}

int vs_output_commit(struct vs_output *o, bool durable, vs_error **err)
{
        int ret = 0;
        if (o->tmp == NULL) {
                if (close(o->fd) < 0)
                        ret = vs_fail_errno(err, "cannot write %s", o->path);
                o->fd = -1;
                vs_output_abort(o);
                return ret;
        }
        int fd = o->fd;
        o->fd = -1;
        if ((durable && fsync(fd) < 0) || close(fd) < 0) {
                ret = vs_fail_errno(err, "cannot write %s", o->tmp);
        } else if (rename(o->tmp, o->path) < 0) {
                ret = vs_fail_errno(err, "cannot rename %s to %s", o->tmp, o->path);
        } else {
                if (durable) {
                        _cleanup_free_ char *copy = xstrdup(o->path);
                        _cleanup_close_ int dfd =
                            open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (dfd >= 0)
                                fsync(dfd);
                }
                free(o->tmp);
                o->tmp = NULL;
        }
        vs_output_abort(o);
        return ret;
}

int vs_write_output(const char *path, const void *data, size_t len, mode_t mode, bool durable,
                    vs_error **err)
{
        struct vs_output o;
        if (vs_output_open(&o, path, mode, err) < 0)
                return -1;
        if (vs_write_all(o.fd, data, len) < 0) {
                vs_fail_errno(err, "cannot write %s", o.tmp ? o.tmp : o.path);
                vs_output_abort(&o);
                return -1;
        }
        return vs_output_commit(&o, durable, err);
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

const char *vs_file_type_name(mode_t mode)
{
        switch (mode & S_IFMT) {
        case S_IFREG:
                return "a regular file";
        case S_IFDIR:
                return "a directory";
        case S_IFLNK:
                return "a symlink";
        case S_IFIFO:
                return "a FIFO";
        case S_IFCHR:
                return "a character device";
        case S_IFBLK:
                return "a block device";
        case S_IFSOCK:
                return "a socket";
        default:
                return "of an unknown type";
        }
}

int vs_reopen_regular(int pathfd, const struct stat *expect, struct stat *st, const char *what,
                      vs_error **err)
{
        struct stat before, after;
        if (fstat(pathfd, &before) < 0)
                return vs_fail_errno(err, "cannot inspect %s", what);
        if (!S_ISREG(before.st_mode))
                return vs_fail(err, "cannot read %s: it is %s, not a regular file", what,
                               vs_file_type_name(before.st_mode));
        if (expect && (expect->st_dev != before.st_dev || expect->st_ino != before.st_ino))
                return vs_fail(err, "cannot read %s: it was replaced while being read", what);
        char proc[64];
        int fd = open(vs_fd_path(pathfd, proc, sizeof(proc)),
                      O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return vs_fail_errno(err, "cannot open %s", what);
        /* the magic link reopens the inode pathfd holds: checked anyway */
        if (fstat(fd, &after) < 0 || after.st_dev != before.st_dev ||
            after.st_ino != before.st_ino) {
                close(fd);
                return vs_fail(err, "cannot read %s: it was replaced while being read", what);
        }
        if (st)
                *st = after;
        return fd;
}

int vs_open_regular(int dirfd, const char *path, int flags, unsigned long long resolve,
                    const struct stat *expect, struct stat *st, const char *what, vs_error **err)
{
        _cleanup_close_ int pathfd =
            vs_openat2(dirfd, path, O_PATH | (flags & O_NOFOLLOW), resolve);
        if (pathfd < 0)
                return vs_fail_errno(err, "cannot open %s", what);
        return vs_reopen_regular(pathfd, expect, st, what, err);
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

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
char *vs_mountinfo_unescape(const char *s)
{
        char *out = xmalloc(strlen(s) + 1), *o = out;
        while (*s) {
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
                    s[3] >= '0' && s[3] <= '7') {
                        *o++ = (char) (((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
                        s += 4;
                } else {
                        *o++ = *s++;
                }
        }
        *o = '\0';
        return out;
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

char *vs_find_program(const char *name)
{
        const char *path = getenv("PATH");
        _cleanup_free_ char *dirs = xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
        char *save = NULL;
        for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                char *p = xasprintf("%s/%s", d, name);
                struct stat st;
                if (access(p, X_OK) == 0 && stat(p, &st) == 0 && S_ISREG(st.st_mode))
                        return p;
                free(p);
        }
        return NULL;
}
