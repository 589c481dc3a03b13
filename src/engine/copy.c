/* `vessel cp`: copies between a container's root and the host. Paths in
 * the container are resolved inside its root (openat2 RESOLVE_IN_ROOT), and
 * every entry below is created or opened relative to its parent's fd with
 * O_NOFOLLOW: a symlink in the container never sends a copy to the host's
 * files. Symlinks are copied as symlinks.
 *
 * Out of a container, everything read is the container's: a regular file
 * is read only as the inode that was checked (vs_reopen_regular: never a
 * FIFO or a device swapped in), device nodes and sockets are skipped with
 * a warning (a container-made device node on the host would be a door to
 * the host's devices), and, as Docker does, the copies belong to the
 * caller, not to the container's uids; set-user/group-id bits are dropped
 * with the ownership, as chown(2) drops them. Into a container, entries
 * become root's (Docker's default without --archive). */
#include "engine/engine.h"
#include "image/image.h"
#include "image/layer.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

static int reopen(int pathfd, int flags)
{
        char buf[64];
        return open(vs_fd_path(pathfd, buf, sizeof(buf)), flags | O_CLOEXEC);
}

static int copy_data(int in, int out, const char *what, vs_error **err)
{
        for (;;) {
                ssize_t n = sendfile(out, in, NULL, 1 << 20);
                if (n == 0)
                        return 0;
                if (n > 0)
                        continue;
                if (errno == EINTR)
                        continue;
                if (errno != EINVAL && errno != ENOSYS)
                        return vs_fail_errno(err, "cannot copy %s", what);
                /* Fall back to read/write. */
                char buf[65536];
                ssize_t r;
                while ((r = read(in, buf, sizeof(buf))) > 0) {
                        char *p = buf;
                        while (r > 0) {
                                ssize_t w = write(out, p, (size_t) r);
                                if (w < 0 && errno == EINTR)
                                        continue;
                                if (w < 0)
                                        return vs_fail_errno(err, "cannot copy %s", what);
                                p += w;
                                r -= w;
                        }
                }
                return r < 0 ? vs_fail_errno(err, "cannot read %s", what) : 0;
        }
}

/* Mode and times; the owner stays the caller's (see above). */
static void set_meta(int fd, const struct stat *st, bool out)
{
        mode_t mode = st->st_mode & 07777;
        if (out && !S_ISDIR(st->st_mode))
                mode &= ~(mode_t) (S_ISUID | S_ISGID);
        fchmod(fd, mode);
        struct timespec ts[2] = {st->st_atim, st->st_mtim};
        futimens(fd, ts);
}

/* Removes a non-directory entry at (dirfd, name) when one is in the way.
 * On the host (out), a device, FIFO or socket is never removed to make
 * room for what a container sent (under names the container chose). */
static int clear_entry(int dirfd, const char *name, bool out, vs_error **err)
{
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        if (S_ISDIR(st.st_mode))
                return 0;
        if (out && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
                return vs_fail(err, "cannot copy over %s: it is %s", name,
                               vs_file_type_name(st.st_mode));
        unlinkat(dirfd, name, 0);
        return 0;
}

/* Copies the entry behind srcfd (an O_PATH|O_NOFOLLOW fd) to (dirfd,
 * name), descending by fd. out: from a container to the host. */
static int copy_entry(int srcfd, const char *what, int parent, const char *name, bool out,
                      vs_error **err)
{
        struct stat st;
        if (fstat(srcfd, &st) < 0)
                return vs_fail_errno(err, "cannot stat %s", what);
        if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(srcfd, "", target, sizeof(target) - 1);
                if (n < 0)
                        return vs_fail_errno(err, "cannot read the link %s", what);
                target[n] = '\0';
                if (clear_entry(parent, name, out, err) < 0)
                        return -1;
                if (symlinkat(target, parent, name) < 0)
                        return vs_fail_errno(err, "cannot create the link %s", name);
                return 0;
        }
        if (S_ISREG(st.st_mode)) {
                _cleanup_close_ int in = vs_reopen_regular(srcfd, &st, NULL, what, err);
                if (in < 0)
                        return -1;
                if (clear_entry(parent, name, out, err) < 0)
                        return -1;
                /* O_EXCL: whatever was there is gone; a FIFO or device
                 * planted in the meantime (copying into a running
                 * container) is refused, never opened */
                _cleanup_close_ int dst =
                    openat(parent, name,
                           O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
                if (dst < 0)
                        return vs_fail_errno(err, "cannot create %s", name);
                if (copy_data(in, dst, what, err) < 0)
                        return -1;
                set_meta(dst, &st, out);
                return 0;
        }
        if (S_ISDIR(st.st_mode)) {
                if (clear_entry(parent, name, out, err) < 0)
                        return -1;
                if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
                        return vs_fail_errno(err, "cannot create the directory %s", name);
                _cleanup_close_ int dst =
                    openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (dst < 0)
                        return vs_fail_errno(err, "cannot open the directory %s", name);
                int in = reopen(srcfd, O_RDONLY | O_DIRECTORY);
                if (in < 0)
                        return vs_fail_errno(err, "cannot open %s", what);
                _cleanup_closedir_ DIR *d = fdopendir(in);
                if (d == NULL) {
                        close(in);
                        return vs_fail_errno(err, "cannot read %s", what);
                }
                struct dirent *de;
                while ((de = readdir(d)) != NULL) {
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        _cleanup_close_ int child =
                            openat(dirfd(d), de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_free_ char *cwhat = xasprintf("%s/%s", what, de->d_name);
                        if (child < 0)
                                return vs_fail_errno(err, "cannot open %s", cwhat);
                        if (copy_entry(child, cwhat, dst, de->d_name, out, err) < 0)
                                return -1;
                }
                set_meta(dst, &st, out);
                return 0;
        }
        if (out && !S_ISFIFO(st.st_mode)) {
                vs_warn("cp: not copying %s: it is %s, and nothing but files, directories, "
                        "links and FIFOs leaves a container",
                        what, vs_file_type_name(st.st_mode));
                return 0;
        }
        if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
                if (clear_entry(parent, name, out, err) < 0)
                        return -1;
                if (mknodat(parent, name, st.st_mode & (S_IFMT | 0777), st.st_rdev) < 0)
                        return vs_fail_errno(err, "cannot create %s", name);
                return 0;
        }
        return vs_fail(err, "cannot copy %s: unsupported file type", what);
}

/* A regular file out of a container to the host path the caller named:
 * the output-file rule (vs_output_open) applies, so a device or FIFO
 * there is written in place, never removed, and keeps its own mode. */
static int copy_file_to_host(int srcfd, const struct stat *st, const char *what, const char *path,
                             vs_error **err)
{
        _cleanup_close_ int in = vs_reopen_regular(srcfd, st, NULL, what, err);
        if (in < 0)
                return -1;
        struct vs_output o;
        if (vs_output_open(&o, path, 0600, err) < 0)
                return -1;
        if (copy_data(in, o.fd, what, err) < 0) {
                vs_output_abort(&o);
                return -1;
        }
        if (o.tmp)
                set_meta(o.fd, st, true);
        return vs_output_commit(&o, false, err);
}

static bool is_container_arg(const char *s)
{
        if (s[0] == '/' || s[0] == '.' || strcmp(s, "-") == 0)
                return false;
        const char *colon = strchr(s, ':');
        return colon && colon > s && memchr(s, '/', (size_t) (colon - s)) == NULL;
}

static char *base_name(const char *path)
{
        _cleanup_free_ char *copy = xstrdup(path);
        size_t n = strlen(copy);
        while (n > 1 && copy[n - 1] == '/')
                copy[--n] = '\0';
        return xstrdup(basename(copy));
}

static char *dir_name(const char *path)
{
        _cleanup_free_ char *copy = xstrdup(path);
        size_t n = strlen(copy);
        while (n > 1 && copy[n - 1] == '/')
                copy[--n] = '\0';
        return xstrdup(dirname(copy));
}

/* Where a copy of `srcname` goes for the destination `dst`: into dst when
 * it is a directory, else as dst. Returns an fd on the directory and the
 * entry name. open_fn resolves a path (in a root or on the host). */
struct dest {
        int dirfd;
        char *name;
        char *path; /* on the host: the destination's path */
};

static int dest_in_root(int rootfd, const char *dst, const char *srcname, struct dest *d,
                        vs_error **err)
{
        int fd = vs_open_in_root(rootfd, dst, O_RDONLY | O_DIRECTORY, 0);
        if (fd >= 0) {
                d->dirfd = fd;
                d->name = xstrdup(srcname);
                return 0;
        }
        if (errno != ENOENT && errno != ENOTDIR)
                return vs_fail_errno(err, "%s in the container", dst);
        if (dst[strlen(dst) - 1] == '/')
                return vs_fail(err, "%s: no such directory in the container", dst);
        _cleanup_free_ char *parent = dir_name(dst);
        fd = vs_open_in_root(rootfd, parent, O_RDONLY | O_DIRECTORY, 0);
        if (fd < 0)
                return vs_fail_errno(err, "%s in the container", parent);
        d->dirfd = fd;
        d->name = base_name(dst);
        return 0;
}

static int dest_on_host(const char *dst, const char *srcname, struct dest *d, vs_error **err)
{
        int fd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
                d->dirfd = fd;
                d->name = xstrdup(srcname);
                d->path = xasprintf("%s/%s", dst, srcname);
                return 0;
        }
        if (errno != ENOENT && errno != ENOTDIR)
                return vs_fail_errno(err, "%s", dst);
        if (dst[strlen(dst) - 1] == '/')
                return vs_fail(err, "%s: no such directory", dst);
        _cleanup_free_ char *parent = dir_name(dst);
        fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return vs_fail_errno(err, "%s", parent);
        d->dirfd = fd;
        d->name = base_name(dst);
        d->path = xstrdup(dst);
        return 0;
}

/* The engine's file behind cpath when it names one of the files it binds
 * into the container (/etc/hostname...), else NULL. */
static char *mounted_file(const struct vs_ctr *c, const char *cpath)
{
        _cleanup_free_ char *norm = xmalloc(strlen(cpath) + 1);
        size_t n = 0;
        for (const char *p = cpath; *p; p++)
                if (*p != '/' || (n > 0 && norm[n - 1] != '/'))
                        norm[n++] = *p;
        while (n > 0 && norm[n - 1] == '/')
                n--;
        norm[n] = '\0';
        for (size_t i = 0; vs_engine_mounted_files[i]; i++)
                if (strcmp(norm, vs_engine_mounted_files[i]) == 0)
                        return xasprintf("%s/%s", c->dir, strrchr(norm, '/') + 1);
        return NULL;
}

static int copy_in_root(int rootfd, const struct vs_ctr *c, bool from, const char *src,
                        const char *dst, const char *cpath, vs_error **err)
{
        _cleanup_free_ char *srcname = base_name(from ? cpath : src);
        if (strcmp(srcname, "/") == 0) {
                free(srcname);
                srcname = xstrdup("rootfs");
        }
        _cleanup_close_ int srcfd = -1;
        struct dest d = {.dirfd = -1};
        struct stat st;
        int r;
        if (from) {
                /* The files the engine binds in: what the container sees is
                 * the engine's copy, not the mount target under it. */
                _cleanup_free_ char *mounted = mounted_file(c, cpath);
                srcfd = mounted ? open(mounted, O_PATH | O_NOFOLLOW | O_CLOEXEC)
                                : vs_open_in_root(rootfd, cpath, O_PATH | O_NOFOLLOW, 0);
                if (srcfd < 0)
                        return vs_fail_errno(err, "%s:%s", c->name, cpath);
                if (fstat(srcfd, &st) < 0)
                        return vs_fail_errno(err, "%s:%s", c->name, cpath);
                if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode))
                        return vs_fail(err, "cannot copy %s:%s out of the container: it is %s",
                                       c->name, cpath, vs_file_type_name(st.st_mode));
                r = dest_on_host(dst, srcname, &d, err);
        } else {
                srcfd = open(src, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (srcfd < 0)
                        return vs_fail_errno(err, "%s", src);
                r = dest_in_root(rootfd, cpath, srcname, &d, err);
        }
        if (r == 0) {
                if (from && S_ISREG(st.st_mode))
                        r = copy_file_to_host(srcfd, &st, cpath, d.path, err);
                else
                        r = copy_entry(srcfd, from ? cpath : src, d.dirfd, d.name, from, err);
                if (r < 0)
                        vs_error_wrap(err, "cp %s %s", src, dst);
        }
        if (d.dirfd >= 0)
                close(d.dirfd);
        free(d.name);
        free(d.path);
        return r;
}

/* copy_in_root; into a root whose overlay has idmapped layers (a user
 * namespace's, a VM's QEMU's), as the container's root: what host root
 * made there would have an owner the upper dir cannot represent. */
static int copy_in(int rootfd, const struct vs_ctr *c, bool from, const char *src, const char *dst,
                   const char *cpath, vs_error **err)
{
        struct vs_idmaps m;
        int mapped = from ? 0 : vs_userns_rootfs_mappings(c, &m, err);
        if (mapped < 0)
                return -1;
        if (mapped == 0)
                return copy_in_root(rootfd, c, from, src, dst, cpath, err);
        uid_t uid = vs_idmaps_host(m.uid, m.n_uid, 0);
        gid_t gid = vs_idmaps_host(m.gid, m.n_gid, 0);
        vs_idmaps_clear(&m);
        if (vs_rootfs_become_mapped_root(uid, gid, err) < 0) {
                vs_rootfs_become_host_root();
                return -1;
        }
        int r = copy_in_root(rootfd, c, from, src, dst, cpath, err);
        vs_rootfs_become_host_root();
        return r;
}

/* cp CTR:PATH -: copied out (as any cp out) into a private directory of
 * the container's, then written to stdout as a tar stream. */
static int cp_out_to_tar(int rootfd, const struct vs_ctr *c, const char *src, const char *cpath,
                         vs_error **err)
{
        _cleanup_free_ char *tmp = xasprintf("%s/cp-XXXXXX", c->dir);
        if (mkdtemp(tmp) == NULL)
                return vs_fail_errno(err, "cannot create %s", tmp);
        _cleanup_free_ char *name = base_name(cpath);
        if (strcmp(name, "/") == 0) {
                free(name);
                name = xstrdup("rootfs");
        }
        int r = copy_in_root(rootfd, c, true, src, tmp, cpath, err);
        if (r == 0)
                r = vs_tar_stream_tree(tmp, name, STDOUT_FILENO, err);
        _cleanup_error_ vs_error *rerr = NULL;
        if (vs_rm_rf(tmp, &rerr) < 0)
                vs_warn("%s", rerr->msg);
        return r;
}

/* cp - CTR:PATH: the tar on stdin is unpacked (with the layer unpacker's
 * defences) into a private directory, and each of its top entries copied
 * in as cp copies a host path in. PATH must be a directory, as in Docker. */
static int cp_in_from_tar(int rootfd, const struct vs_ctr *c, const char *dst, const char *cpath,
                          vs_error **err)
{
        _cleanup_close_ int target = vs_open_in_root(rootfd, cpath, O_PATH, 0);
        struct stat st;
        if (target < 0 || fstat(target, &st) < 0)
                return vs_fail_errno(err, "%s:%s", c->name, cpath);
        if (!S_ISDIR(st.st_mode))
                return vs_fail(err, "cp - %s: the destination must be a directory", dst);
        _cleanup_free_ char *tmp = xasprintf("%s/cp-XXXXXX", c->dir);
        if (mkdtemp(tmp) == NULL)
                return vs_fail_errno(err, "cannot create %s", tmp);
        _cleanup_free_ char *tar = xasprintf("%s/in.tar", tmp);
        _cleanup_free_ char *root = xasprintf("%s/root", tmp);
        int r = 0;
        {
                _cleanup_close_ int out =
                    open(tar, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (out < 0)
                        r = vs_fail_errno(err, "cannot create %s", tar);
                else
                        r = copy_data(STDIN_FILENO, out, "the tar stream on stdin", err);
        }
        if (r == 0) {
                _cleanup_close_ int in = open(tar, O_RDONLY | O_CLOEXEC);
                _cleanup_free_ char *diff_id = NULL;
                int64_t size = 0;
                r = in < 0 ? vs_fail_errno(err, "cannot open %s", tar)
                           : vs_layer_unpack(in, "application/vnd.oci.image.layer.v1.tar", root,
                                             false, &diff_id, &size, err);
                if (r < 0)
                        vs_error_wrap(err, "cp - %s: not a tar stream", dst);
        }
        _cleanup_closedir_ DIR *d = r == 0 ? opendir(root) : NULL;
        struct dirent *de;
        while (r == 0 && d && (de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                _cleanup_free_ char *path = xasprintf("%s/%s", root, de->d_name);
                r = copy_in(rootfd, c, false, path, dst, cpath, err);
        }
        _cleanup_error_ vs_error *rerr = NULL;
        if (vs_rm_rf(tmp, &rerr) < 0)
                vs_warn("%s", rerr->msg);
        return r;
}

int vs_engine_cp(struct vs_engine *e, const char *src, const char *dst, vs_error **err)
{
        bool from = is_container_arg(src), to = is_container_arg(dst);
        bool tar_out = from && strcmp(dst, "-") == 0, tar_in = to && strcmp(src, "-") == 0;
        if (from == to)
                return vs_fail(err, from ? "copying between containers is not supported"
                                         : "one of SRC and DEST must be CONTAINER:PATH");
        const char *carg = from ? src : dst;
        const char *colon = strchr(carg, ':');
        _cleanup_free_ char *ref = xstrndup(carg, (size_t) (colon - carg));
        const char *cpath = *(colon + 1) ? colon + 1 : "/";
        _cleanup_ctr_ struct vs_ctr *c = NULL;
        if (vs_ctr_resolve(e, ref, &c, err) < 0)
                return -1;
        bool mounted = false;
        if (vs_engine_mount_rootfs(e, c, &mounted, err) < 0)
                return -1;
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", c->dir);
        int r;
        int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0) {
                r = vs_fail_errno(err, "cannot open %s", rootfs);
        } else {
                if (tar_out)
                        r = cp_out_to_tar(rootfd, c, src, cpath, err);
                else if (tar_in)
                        r = cp_in_from_tar(rootfd, c, dst, cpath, err);
                else
                        r = copy_in(rootfd, c, from, src, dst, cpath, err);
                close(rootfd);
        }
        /* A container that is not running gets its rootfs only for the copy. */
        if (mounted) {
                _cleanup_error_ vs_error *uerr = NULL;
                if (vs_engine_umount_rootfs(c, &uerr) < 0 && r == 0) {
                        *err = steal_ptr(uerr);
                        r = -1;
                }
        }
        return r;
}
