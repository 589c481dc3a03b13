/* Copy fallback: applies an unpacked layer dir (overlay format) on top of a
 * root directory, with overlay's semantics: a 0:0 character device deletes
 * the path below it, an opaque directory hides everything below it, a
 * directory replaces a non-directory and vice versa, the upper directory's
 * attributes win. Nothing is ever followed through a symlink on either
 * side: both trees are walked by fd with O_NOFOLLOW. */
#include "image/layer.h"
#include "image/layer_internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define COPY_CHUNK (64 * 1024 * 1024)

struct copied {
        dev_t dev;
        ino_t ino;
        char *path; /* where the inode was first copied, relative to the root */
};

struct apply {
        int dst_root;
        void *links; /* tsearch tree of struct copied */
        char *buf;
        const struct vs_layer_idshift *shift; /* a shifted copy: see vs_layer_copy_shifted */
};

static int cmp_copied(const void *a, const void *b)
{
        const struct copied *x = a, *y = b;
        if (x->dev != y->dev)
                return x->dev < y->dev ? -1 : 1;
        if (x->ino != y->ino)
                return x->ino < y->ino ? -1 : 1;
        return 0;
}

static void free_copied(void *p)
{
        struct copied *c = p;
        free(c->path);
        free(c);
}

static int copy_data_rw(struct apply *a, int sfd, int dfd)
{
        if (a->buf == NULL)
                a->buf = xmalloc(1024 * 1024);
        for (;;) {
                ssize_t n = read(sfd, a->buf, 1024 * 1024);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return (int) n;
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(dfd, a->buf + off, (size_t) (n - off));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0)
                                return -1;
                        off += w;
                }
        }
}

static int copy_data(struct apply *a, int sfd, int dfd, off_t size)
{
        if (size == 0 || ioctl(dfd, FICLONE, sfd) == 0)
                return 0;
        off_t done = 0;
        while (done < size) {
                ssize_t n = copy_file_range(sfd, NULL, dfd, NULL, COPY_CHUNK, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (done == 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
                                          errno == EOPNOTSUPP))
                                return copy_data_rw(a, sfd, dfd);
                        return -1;
                }
                if (n == 0)
                        break;
                done += n;
        }
        return 0;
}

int vs_layer_copy_metadata(int src_dirfd, int dst_dirfd, const char *name, const struct stat *st,
                           const char *path, vs_error **err)
{
        if (fchownat(dst_dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                return vs_fail_errno(err, "cannot set owner of %s", path);
        if (!S_ISLNK(st->st_mode) &&
            fchmodat(dst_dirfd, name, st->st_mode & 07777, AT_SYMLINK_NOFOLLOW) < 0)
                return vs_fail_errno(err, "cannot set mode of %s", path);
        if (vs_layer_copy_xattrs(src_dirfd, name, dst_dirfd, name, err) < 0)
                return -1;
        struct timespec ts[2] = {st->st_atim, st->st_mtim};
        if (utimensat(dst_dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return vs_fail_errno(err, "cannot set times of %s", path);
        return 0;
}

/* Hardlinks inside a layer stay hardlinks in the copy. Returns 1 when the
 * entry was linked to an earlier copy. */
static int link_earlier_copy(struct apply *a, const struct stat *st, int dst, const char *name,
                             const char *path, vs_error **err)
{
        struct copied key = {.dev = st->st_dev, .ino = st->st_ino};
        struct copied **found = tfind(&key, &a->links, cmp_copied);
        if (found == NULL) {
                struct copied *c = xmalloc(sizeof(*c));
                *c = key;
                c->path = xstrdup(path);
                if (tsearch(c, &a->links, cmp_copied) == NULL)
                        abort();
                return 0;
        }
        _cleanup_free_ char *first = xstrdup((*found)->path);
        char *slash = strrchr(first, '/');
        const char *base = first;
        _cleanup_close_ int parent = -1;
        if (slash) {
                *slash = '\0';
                base = slash + 1;
                parent = vs_openat2(a->dst_root, first, O_PATH | O_DIRECTORY,
                                    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
        } else {
                parent = fcntl(a->dst_root, F_DUPFD_CLOEXEC, 3);
        }
        if (parent < 0 || linkat(parent, base, dst, name, 0) < 0)
                return vs_fail_errno(err, "cannot link %s to %s", path, (*found)->path);
        return 1;
}

/* The id a shifted copy stores for id of the layer: the map's host id
 * (ids the map leaves out become the container's 65534, else fail). */
static int shift_id(const struct oci_id_mapping *m, size_t n, uint32_t id, uint32_t *out)
{
        for (int pass = 0; pass < 2; pass++, id = 65534)
                for (size_t i = 0; i < n; i++)
                        if (id >= m[i].container_id && id - m[i].container_id < m[i].size) {
                                *out = m[i].host_id + (id - m[i].container_id);
                                return 0;
                        }
        return -1;
}

/* Owner, mode, xattrs and times of dst/name from st; in a shifted copy the
 * owner goes through the map. File capabilities are copied as they are:
 * their root id is the engine root's, which the kernel honours in the
 * container's namespace too (the root of an ancestor namespace). */
static int node_metadata(struct apply *a, int src, int dst, const char *name, const struct stat *st,
                         const char *path, vs_error **err)
{
        if (a->shift == NULL)
                return vs_layer_copy_metadata(src, dst, name, st, path, err);
        struct stat s = *st;
        uint32_t uid, gid;
        if (shift_id(a->shift->uid, a->shift->n_uid, st->st_uid, &uid) < 0 ||
            shift_id(a->shift->gid, a->shift->n_gid, st->st_gid, &gid) < 0)
                return vs_fail(err, "%s: owner %u:%u has no id in the container's map", path,
                               (unsigned) st->st_uid, (unsigned) st->st_gid);
        s.st_uid = uid;
        s.st_gid = gid;
        if (vs_layer_copy_metadata(src, dst, name, &s, path, err) < 0)
                return -1;
        if (!S_ISDIR(st->st_mode) || !vs_layer_is_opaque_at(src, name))
                return 0;
        /* still a lower dir: its opaque mark too (the xattr copy leaves
         * trusted.overlay.* out) */
        _cleanup_close_ int fd = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fsetxattr(fd, vs_layer_opaque_xattr(), "y", 1, 0) < 0)
                return vs_fail_errno(err, "cannot mark %s opaque", path);
        return 0;
}

uint32_t vs_layer_shift_id(const struct oci_id_mapping *m, size_t n, uint32_t id)
{
        uint32_t out;
        return shift_id(m, n, id, &out) < 0 ? 65534 : out;
}

static int copy_node(struct apply *a, int src, int dst, const char *name, const struct stat *st,
                     const char *path, vs_error **err)
{
        switch (st->st_mode & S_IFMT) {
        case S_IFREG: {
                if (st->st_nlink > 1) {
                        int r = link_earlier_copy(a, st, dst, name, path, err);
                        if (r != 0)
                                return r < 0 ? -1 : 0;
                }
                /* src may be a container's upper dir: read only the
                 * regular file st describes */
                _cleanup_close_ int sfd =
                    vs_open_regular(src, name, O_NOFOLLOW, RESOLVE_BENEATH, st, NULL, path, err);
                if (sfd < 0)
                        return -1;
                _cleanup_close_ int dfd =
                    openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (dfd < 0)
                        return vs_fail_errno(err, "cannot create %s", path);
                if (copy_data(a, sfd, dfd, st->st_size) < 0)
                        return vs_fail_errno(err, "cannot copy %s", path);
                break;
        }
        case S_IFLNK: {
                _cleanup_free_ char *target = xmalloc((size_t) st->st_size + 1);
                ssize_t n = readlinkat(src, name, target, (size_t) st->st_size + 1);
                if (n < 0 || n > st->st_size)
                        return vs_fail_errno(err, "cannot read symlink %s", path);
                target[n] = '\0';
                if (symlinkat(target, dst, name) < 0)
                        return vs_fail_errno(err, "cannot create symlink %s", path);
                break;
        }
        case S_IFCHR:
        case S_IFBLK:
        case S_IFIFO:
                if (mknodat(dst, name, st->st_mode, st->st_rdev) < 0)
                        return vs_fail_errno(err, "cannot create node %s", path);
                break;
        default:
                vs_debug("not copying socket %s", path);
                return 0;
        }
        return node_metadata(a, src, dst, name, st, path, err);
}

/* Removes every entry of the directory dst_dirfd/name (overlay's opaque). */
static int empty_dir(int dst_dirfd, const char *name, const char *path, vs_error **err)
{
        _cleanup_close_ int fd =
            openat(dst_dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return vs_fail_errno(err, "cannot open %s", path);
        _cleanup_strv_ char **names = NULL;
        size_t n;
        if (vs_layer_list_dir(fd, &names, &n, err) < 0)
                return vs_error_wrap(err, "%s", path);
        for (size_t i = 0; i < n; i++)
                if (vs_rm_rf_at(fd, names[i], err) < 0)
                        return vs_error_wrap(err, "cannot empty %s", path);
        return 0;
}

static int apply_tree(struct apply *a, int src, int dst, const char *prefix, vs_error **err);

static int apply_entry(struct apply *a, int src, int dst, const char *name, const char *prefix,
                       vs_error **err)
{
        _cleanup_free_ char *path = *prefix ? xasprintf("%s/%s", prefix, name) : xstrdup(name);
        struct stat st, dst_st;
        if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return vs_fail_errno(err, "cannot inspect %s", path);
        if (vs_layer_is_whiteout(&st) && a->shift)
                return copy_node(a, src, dst, name, &st, path, err);
        if (vs_layer_is_whiteout(&st)) {
                if (vs_rm_rf_at(dst, name, err) < 0)
                        return vs_error_wrap(err, "cannot delete %s", path);
                return 0;
        }
        bool exists = fstatat(dst, name, &dst_st, AT_SYMLINK_NOFOLLOW) == 0;
        if (!exists && errno != ENOENT)
                return vs_fail_errno(err, "cannot inspect %s in the copy", path);
        if (!S_ISDIR(st.st_mode)) {
                if (exists && vs_rm_rf_at(dst, name, err) < 0)
                        return vs_error_wrap(err, "cannot replace %s", path);
                return copy_node(a, src, dst, name, &st, path, err);
        }
        if (exists && !S_ISDIR(dst_st.st_mode)) {
                if (unlinkat(dst, name, 0) < 0)
                        return vs_fail_errno(err, "cannot replace %s", path);
                exists = false;
        }
        if (!exists) {
                if (mkdirat(dst, name, 0700) < 0)
                        return vs_fail_errno(err, "cannot create directory %s", path);
        } else if (vs_layer_is_opaque_at(src, name)) {
                if (empty_dir(dst, name, path, err) < 0)
                        return -1;
        }
        _cleanup_close_ int s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int d = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s < 0 || d < 0)
                return vs_fail_errno(err, "cannot open directory %s", path);
        if (apply_tree(a, s, d, path, err) < 0)
                return -1;
        return node_metadata(a, src, dst, name, &st, path, err);
}

static int apply_tree(struct apply *a, int src, int dst, const char *prefix, vs_error **err)
{
        _cleanup_strv_ char **names = NULL;
        size_t n;
        if (vs_layer_list_dir(src, &names, &n, err) < 0)
                return vs_error_wrap(err, "cannot read %s", *prefix ? prefix : ".");
        for (size_t i = 0; i < n; i++)
                if (apply_entry(a, src, dst, names[i], prefix, err) < 0)
                        return -1;
        return 0;
}

static int apply_dir(const char *layer_dir, const char *root, const struct vs_layer_idshift *shift,
                     vs_error **err)
{
        _cleanup_close_ int src = open(layer_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (src < 0)
                return vs_fail_errno(err, "cannot open layer %s", layer_dir);
        _cleanup_close_ int dst = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dst < 0)
                return vs_fail_errno(err, "cannot open %s", root);
        struct apply a = {.dst_root = dst, .shift = shift};
        int ret = apply_tree(&a, src, dst, "", err);
        if (ret == 0) {
                /* the root takes the attributes of the upper-most layer's root */
                struct stat st;
                if (fstat(src, &st) < 0)
                        ret = vs_fail_errno(err, "cannot inspect %s", layer_dir);
                else
                        ret = node_metadata(&a, src, dst, ".", &st, ".", err);
        }
        tdestroy(a.links, free_copied);
        free(a.buf);
        if (ret < 0)
                return vs_error_wrap(err, "cannot apply layer %s onto %s", layer_dir, root);
        return 0;
}

int vs_layer_apply_dir(const char *layer_dir, const char *root, vs_error **err)
{
        return apply_dir(layer_dir, root, NULL, err);
}

int vs_layer_copy_shifted(const char *layer_dir, const char *dst,
                          const struct vs_layer_idshift *shift, vs_error **err)
{
        return apply_dir(layer_dir, dst, shift, err);
}
