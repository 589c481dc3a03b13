/* Layer unpack: a tar stream (plain, gzip, zstd; xz and bzip2 when sniffed)
 * becomes a directory in overlay lowerdir format.
 *
 * The blob is read, decompressed and hashed (the diff_id is the sha256 of
 * the decompressed stream, trailing padding included) by the helper thread
 * of layer_source.c; the tar reader here takes the decompressed buffers
 * through its read callback. One pass, no temp file.
 *
 * Every entry is written relative to an fd on a fresh temp directory beside
 * dest_dir, renamed into place at the end. Parents are resolved with
 * openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS): a symlink anywhere in a
 * parent is an error, never followed; ".." and absolute names are rejected
 * before any lookup; hardlink targets and whiteouts go through the same
 * resolution; ownership, modes, xattrs and times are applied by fd or with
 * AT_SYMLINK_NOFOLLOW. See docs/layers.md. */
#include "image/layer.h"
#include "image/layer_internal.h"
#include "image/libs.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define RESOLVE_LAYER                                                                              \
        (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

static const char *const known_media_types[] = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    NULL,
};

struct dir_time {
        char *path;
        struct timespec ts[2];
};

struct unpack {
        int rootfd; /* O_PATH|O_DIRECTORY on the temp dir */
        bool allow_devices;
        int64_t size;
        /* Entries mostly arrive grouped by directory: keep the last parent. */
        char *parent_path;
        int parent_fd;
        /* Directory times are set last: creating children changes them. */
        struct dir_time *dirs;
        size_t n_dirs, cap_dirs;
        void *dio_buf; /* for large files (util/dio.h), made at the first */
};

/* ---- names ---- */

/* Drops empty and "." components. Returns NULL for an absolute name or one
 * with a ".." component; "." for the layer root. */
static char *clean_name(const char *raw)
{
        if (raw[0] == '/')
                return NULL;
        size_t len = strlen(raw), o = 0;
        char *out = xmalloc(len + 2);
        const char *p = raw;
        while (*p) {
                const char *end = strchrnul(p, '/');
                size_t n = (size_t) (end - p);
                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        free(out);
                        return NULL;
                }
                if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (o > 0)
                                out[o++] = '/';
                        memcpy(out + o, p, n);
                        o += n;
                }
                p = *end ? end + 1 : end;
        }
        if (o == 0)
                out[o++] = '.';
        out[o] = '\0';
        return out;
}

/* Splits "a/b/c" into parent "a/b" (in place) and returns "c"; a name
 * without '/' has the parent "". */
static const char *split_name(char *path, const char **parent)
{
        char *slash = strrchr(path, '/');
        if (slash == NULL) {
                *parent = "";
                return path;
        }
        *slash = '\0';
        *parent = path;
        return slash + 1;
}

/* ---- parent resolution ---- */

static void forget_parent(struct unpack *u)
{
        free(u->parent_path);
        u->parent_path = NULL;
        if (u->parent_fd >= 0)
                close(u->parent_fd);
        u->parent_fd = -1;
}

/* Something at path is about to be replaced: drop a cached fd on it or
 * below it, so later entries are resolved again. */
static void invalidate_parent(struct unpack *u, const char *path)
{
        if (u->parent_path == NULL)
                return;
        size_t n = strlen(path);
        if (strncmp(u->parent_path, path, n) == 0 &&
            (u->parent_path[n] == '\0' || u->parent_path[n] == '/'))
                forget_parent(u);
}

/* Opens the directory dir (a clean relative name, "" for the root) inside
 * the layer without following any symlink. With create, missing
 * directories are made (0755, like docker and containerd). label starts
 * every error message. Returns a new O_PATH fd. */
static int open_dir_in_layer(struct unpack *u, const char *label, const char *dir, bool create,
                             vs_error **err)
{
        if (*dir == '\0') {
                int fd = fcntl(u->rootfd, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return vs_fail_errno(err, "%s: cannot duplicate layer root fd", label);
                return fd;
        }
        int fd = vs_openat2(u->rootfd, dir, O_PATH | O_DIRECTORY, RESOLVE_LAYER);
        if (fd >= 0)
                return fd;
        /* Slow path: walk one component at a time, to create what is
         * missing and to name the component that is in the way. */
        _cleanup_free_ char *p = xstrdup(dir);
        _cleanup_close_ int cur = fcntl(u->rootfd, F_DUPFD_CLOEXEC, 3);
        if (cur < 0)
                return vs_fail_errno(err, "%s: cannot duplicate layer root fd", label);
        char *walk = p;
        for (;;) {
                char *end = strchrnul(walk, '/');
                char saved = *end;
                *end = '\0';
                int next = vs_openat2(cur, walk, O_PATH | O_DIRECTORY, RESOLVE_LAYER);
                if (next < 0 && errno == ENOENT && create) {
                        if (mkdirat(cur, walk, 0755) < 0 && errno != EEXIST)
                                return vs_fail_errno(err, "%s: cannot create parent '%s'", label,
                                                     p);
                        next = vs_openat2(cur, walk, O_PATH | O_DIRECTORY, RESOLVE_LAYER);
                }
                if (next < 0) {
                        if (errno == ELOOP)
                                return vs_fail(err, "%s: parent '%s' is a symlink", label, p);
                        if (errno == ENOTDIR)
                                return vs_fail(err, "%s: parent '%s' is not a directory", label, p);
                        if (errno == ENOENT)
                                return vs_fail(err, "%s: parent '%s' does not exist", label, p);
                        return vs_fail_errno(err, "%s: cannot open parent '%s'", label, p);
                }
                close(cur);
                cur = next;
                if (saved == '\0')
                        break;
                *end = saved;
                walk = end + 1;
        }
        return steal_fd(cur);
}

/* The parent directory fd for an entry, borrowed (owned by the cache). */
static int entry_parent(struct unpack *u, const char *label, const char *parent, vs_error **err)
{
        if (*parent == '\0')
                return u->rootfd;
        if (u->parent_path && strcmp(u->parent_path, parent) == 0)
                return u->parent_fd;
        int fd = open_dir_in_layer(u, label, parent, true, err);
        if (fd < 0)
                return -1;
        forget_parent(u);
        u->parent_path = xstrdup(parent);
        u->parent_fd = fd;
        return fd;
}

/* Removes whatever is at parentfd/base (the entry path is path) so that a
 * new entry can take its place. */
static int remove_existing(struct unpack *u, int parentfd, const char *base, const char *path,
                           const char *label, vs_error **err)
{
        struct stat st;
        if (fstatat(parentfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return 0;
                return vs_fail_errno(err, "%s: cannot inspect existing entry", label);
        }
        invalidate_parent(u, path);
        if (S_ISDIR(st.st_mode)) {
                if (vs_rm_rf_at(parentfd, base, err) < 0)
                        return vs_error_wrap(err, "%s: cannot replace existing directory", label);
        } else if (unlinkat(parentfd, base, 0) < 0) {
                return vs_fail_errno(err, "%s: cannot replace existing entry", label);
        }
        return 0;
}

/* ---- metadata ---- */

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
        ts[1].tv_sec = archive_entry_mtime(e);
        ts[1].tv_nsec = archive_entry_mtime_nsec(e);
        if (archive_entry_atime_is_set(e)) {
                ts[0].tv_sec = archive_entry_atime(e);
                ts[0].tv_nsec = archive_entry_atime_nsec(e);
        } else {
                ts[0] = ts[1];
        }
}

/* Applies the entry's xattrs through fd, or (fd < 0) on parentfd/base
 * without following it. trusted.overlay.* never comes from an archive:
 * only whiteout entries may make a directory opaque. */
static int apply_xattrs(int fd, int parentfd, const char *base, struct archive_entry *e,
                        const char *label, vs_error **err)
{
        if (archive_entry_xattr_reset(e) == 0)
                return 0;
        char path[PATH_MAX + 32];
        if (fd < 0)
                snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", parentfd, base);
        const char *name;
        const void *value;
        size_t size;
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                /* Overlay's own xattrs (trusted. as root, user. in the
                 * rootless engine's overlays) are never the image's to set. */
                if (strncmp(name, VS_OVERLAY_XATTR, strlen(VS_OVERLAY_XATTR)) == 0 ||
                    strncmp(name, VS_OVERLAY_USER_XATTR, strlen(VS_OVERLAY_USER_XATTR)) == 0) {
                        vs_debug("%s: ignoring xattr %s", label, name);
                        continue;
                }
                int r = fd >= 0 ? fsetxattr(fd, name, value, size, 0)
                                : lsetxattr(path, name, value, size, 0);
                if (r == 0)
                        continue;
                if (errno == ENOTSUP || errno == EOPNOTSUPP || errno == EPERM) {
                        vs_debug("%s: xattr %s not set: %s", label, name, strerror(errno));
                        continue;
                }
                return vs_fail_errno(err, "%s: cannot set xattr %s", label, name);
        }
        return 0;
}

/* Owner, then mode (chown clears setuid/setgid), then xattrs (chown and
 * writes clear security.capability). */
static int apply_fd_metadata(int fd, struct archive_entry *e, const char *label, vs_error **err)
{
        if (fchown(fd, (uid_t) archive_entry_uid(e), (gid_t) archive_entry_gid(e)) < 0)
                return vs_fail_errno(err, "%s: cannot set owner", label);
        if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
                return vs_fail_errno(err, "%s: cannot set mode", label);
        return apply_xattrs(fd, -1, NULL, e, label, err);
}

static void remember_dir_times(struct unpack *u, const char *path, struct archive_entry *e)
{
        if (u->n_dirs == u->cap_dirs) {
                u->cap_dirs = u->cap_dirs ? u->cap_dirs * 2 : 64;
                u->dirs = xrealloc(u->dirs, u->cap_dirs * sizeof(*u->dirs));
        }
        struct dir_time *d = &u->dirs[u->n_dirs++];
        d->path = xstrdup(path);
        entry_times(e, d->ts);
}

static int apply_dir_times(struct unpack *u, vs_error **err)
{
        for (size_t i = 0; i < u->n_dirs; i++) {
                struct dir_time *d = &u->dirs[i];
                _cleanup_close_ int fd =
                    vs_openat2(u->rootfd, d->path, O_RDONLY | O_DIRECTORY, RESOLVE_LAYER);
                if (fd < 0) {
                        /* replaced by a later entry: its times are the later entry's */
                        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
                                continue;
                        return vs_fail_errno(err, "layer entry '%s': cannot open directory",
                                             d->path);
                }
                if (futimens(fd, d->ts) < 0)
                        return vs_fail_errno(err, "layer entry '%s': cannot set times", d->path);
        }
        return 0;
}

/* ---- entries ---- */

static int unpack_dir(struct unpack *u, struct archive_entry *e, int parentfd, const char *base,
                      const char *path, const char *label, vs_error **err)
{
        _cleanup_close_ int fd = -1;
        if (strcmp(path, ".") == 0) {
                fd = openat(u->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        } else {
                if (mkdirat(parentfd, base, 0700) < 0) {
                        struct stat st;
                        if (errno != EEXIST)
                                return vs_fail_errno(err, "%s: cannot create directory", label);
                        if (fstatat(parentfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                                return vs_fail_errno(err, "%s: cannot inspect existing entry",
                                                     label);
                        if (!S_ISDIR(st.st_mode)) {
                                if (remove_existing(u, parentfd, base, path, label, err) < 0)
                                        return -1;
                                if (mkdirat(parentfd, base, 0700) < 0)
                                        return vs_fail_errno(err, "%s: cannot create directory",
                                                             label);
                        }
                }
                fd = openat(parentfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0)
                return vs_fail_errno(err, "%s: cannot open directory", label);
        if (apply_fd_metadata(fd, e, label, err) < 0)
                return -1;
        remember_dir_times(u, path, e);
        return 0;
}

/* Files this large have their writeback started when written. */
#define WRITEBACK_MIN (256 << 10)

static int write_all_at(int fd, const char *buf, size_t len, int64_t off)
{
        while (len > 0) {
                ssize_t w = pwrite(fd, buf, len, off);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                buf += w;
                len -= (size_t) w;
                off += w;
        }
        return 0;
}

static int unpack_file(struct unpack *u, struct archive *ar, struct archive_entry *e, int parentfd,
                       const char *base, const char *path, const char *label, vs_error **err)
{
        const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
        _cleanup_close_ int fd = openat(parentfd, base, flags, 0600);
        if (fd < 0 && errno == EEXIST) {
                if (remove_existing(u, parentfd, base, path, label, err) < 0)
                        return -1;
                fd = openat(parentfd, base, flags, 0600);
        }
        if (fd < 0)
                return vs_fail_errno(err, "%s: cannot create file", label);
        /* A large file's bytes go past the page cache (util/dio.h) as long
         * as they come in order from offset 0; a hole (a sparse entry) ends
         * that, and the rest is written where it belongs. */
        struct vs_dio dio = {.fd = -1};
        if (archive_entry_size(e) >= VS_DIO_CHUNK) {
                if (u->dio_buf == NULL)
                        u->dio_buf = vs_dio_buffer_new();
                vs_dio_init(&dio, fd, u->dio_buf);
        }
        int64_t end = 0;
        for (;;) {
                const void *buf;
                size_t len;
                la_int64_t off;
                int r = archive_read_data_block(ar, &buf, &len, &off);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN) {
                        vs_dio_release(&dio);
                        return vs_fail(err, "%s: cannot read data: %s", label,
                                       archive_error_string(ar));
                }
                if (dio.buf != NULL && off != vs_dio_offset(&dio) && vs_dio_finish(&dio) < 0)
                        return vs_fail_errno(err, "%s: cannot write file", label);
                if (dio.buf != NULL ? vs_dio_write(&dio, buf, len) < 0
                                    : write_all_at(fd, buf, len, off) < 0) {
                        vs_dio_release(&dio);
                        return vs_fail_errno(err, "%s: cannot write file", label);
                }
                if (off + (int64_t) len > end)
                        end = off + (int64_t) len;
        }
        if (vs_dio_finish(&dio) < 0)
                return vs_fail_errno(err, "%s: cannot write file", label);
        int64_t size = archive_entry_size(e);
        if (end < size && ftruncate(fd, size) < 0) /* sparse tail */
                return vs_fail_errno(err, "%s: cannot extend file", label);
        /* Start writing a large file back now (asynchronously), so that the
         * store's one syncfs at commit has little left to wait for. */
        if (end >= WRITEBACK_MIN)
                sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        u->size += size;
        if (apply_fd_metadata(fd, e, label, err) < 0)
                return -1;
        struct timespec ts[2];
        entry_times(e, ts);
        if (futimens(fd, ts) < 0)
                return vs_fail_errno(err, "%s: cannot set times", label);
        return 0;
}

/* Owner, mode (not for symlinks), xattrs and times of a node without an fd
 * (symlink, device, fifo), none of them following a symlink. */
static int apply_node_metadata(int parentfd, const char *base, struct archive_entry *e,
                               bool is_symlink, const char *label, vs_error **err)
{
        if (fchownat(parentfd, base, (uid_t) archive_entry_uid(e), (gid_t) archive_entry_gid(e),
                     AT_SYMLINK_NOFOLLOW) < 0)
                return vs_fail_errno(err, "%s: cannot set owner", label);
        if (!is_symlink &&
            fchmodat(parentfd, base, archive_entry_perm(e) & 07777, AT_SYMLINK_NOFOLLOW) < 0)
                return vs_fail_errno(err, "%s: cannot set mode", label);
        if (apply_xattrs(-1, parentfd, base, e, label, err) < 0)
                return -1;
        struct timespec ts[2];
        entry_times(e, ts);
        if (utimensat(parentfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return vs_fail_errno(err, "%s: cannot set times", label);
        return 0;
}

static int unpack_symlink(struct unpack *u, struct archive_entry *e, int parentfd, const char *base,
                          const char *path, const char *label, vs_error **err)
{
        const char *target = archive_entry_symlink(e);
        if (target == NULL || *target == '\0')
                return vs_fail(err, "%s: symlink without a target", label);
        if (symlinkat(target, parentfd, base) < 0) {
                if (errno != EEXIST)
                        return vs_fail_errno(err, "%s: cannot create symlink", label);
                if (remove_existing(u, parentfd, base, path, label, err) < 0)
                        return -1;
                if (symlinkat(target, parentfd, base) < 0)
                        return vs_fail_errno(err, "%s: cannot create symlink", label);
        }
        return apply_node_metadata(parentfd, base, e, true, label, err);
}

static int unpack_node(struct unpack *u, struct archive_entry *e, int parentfd, const char *base,
                       const char *path, const char *label, vs_error **err)
{
        mode_t mode = archive_entry_filetype(e) | (archive_entry_perm(e) & 07777);
        dev_t dev = S_ISFIFO(mode) ? 0 : archive_entry_rdev(e);
        if (mknodat(parentfd, base, mode, dev) < 0) {
                if (errno != EEXIST)
                        return vs_fail_errno(err, "%s: cannot create node", label);
                if (remove_existing(u, parentfd, base, path, label, err) < 0)
                        return -1;
                if (mknodat(parentfd, base, mode, dev) < 0)
                        return vs_fail_errno(err, "%s: cannot create node", label);
        }
        return apply_node_metadata(parentfd, base, e, false, label, err);
}

static int unpack_hardlink(struct unpack *u, struct archive_entry *e, int parentfd,
                           const char *base, const char *path, const char *raw, const char *label,
                           vs_error **err)
{
        const char *raw_target = archive_entry_hardlink(e);
        _cleanup_free_ char *target = clean_name(raw_target);
        if (target == NULL)
                return vs_fail(err, "%s: hardlink target '%s' escapes the layer", label,
                               raw_target);
        if (strcmp(target, path) == 0)
                return 0;
        _cleanup_free_ char *tlabel =
            xasprintf("layer entry '%s': hardlink target '%s'", raw, raw_target);
        const char *tparent;
        const char *tbase = split_name(target, &tparent);
        if (strcmp(target, ".") == 0)
                return vs_fail(err, "%s is a directory", tlabel);
        _cleanup_close_ int tparentfd = open_dir_in_layer(u, tlabel, tparent, false, err);
        if (tparentfd < 0)
                return -1;
        struct stat st;
        if (fstatat(tparentfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? vs_fail(err, "%s does not exist", tlabel)
                                       : vs_fail_errno(err, "%s: cannot inspect", tlabel);
        if (S_ISDIR(st.st_mode))
                return vs_fail(err, "%s is a directory", tlabel);
        /* flags 0: a symlink target is linked itself, never followed */
        if (linkat(tparentfd, tbase, parentfd, base, 0) < 0) {
                if (errno != EEXIST)
                        return vs_fail_errno(err, "%s: cannot create hardlink", label);
                if (remove_existing(u, parentfd, base, path, label, err) < 0)
                        return -1;
                if (linkat(tparentfd, tbase, parentfd, base, 0) < 0)
                        return vs_fail_errno(err, "%s: cannot create hardlink", label);
        }
        return 0;
}

/* ".wh.NAME" -> 0:0 char device NAME; ".wh..wh..opq" -> opaque parent. */
static int unpack_whiteout(struct unpack *u, struct archive_entry *e, int parentfd,
                           const char *base, const char *path, const char *label, vs_error **err)
{
        if (strcmp(base, VS_WHITEOUT_OPAQUE) == 0) {
                _cleanup_close_ int dfd = openat(parentfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0 || fsetxattr(dfd, vs_layer_opaque_xattr(), "y", 1, 0) < 0)
                        return vs_fail_errno(err, "%s: cannot mark the directory opaque", label);
                return 0;
        }
        if (strncmp(base, VS_WHITEOUT_META, strlen(VS_WHITEOUT_META)) == 0) {
                vs_debug("%s: ignoring whiteout metadata entry", label);
                return 0;
        }
        const char *name = base + strlen(VS_WHITEOUT_PREFIX);
        if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return vs_fail(err, "%s: whiteout names '%s' outside its directory", label, name);
        /* NAME's own path, for the parent cache */
        size_t plen = strlen(path) - strlen(base);
        _cleanup_free_ char *target = xasprintf("%.*s%s", (int) plen, path, name);
        if (mknodat(parentfd, name, S_IFCHR, makedev(0, 0)) < 0) {
                if (errno != EEXIST)
                        return vs_fail_errno(err, "%s: cannot create whiteout", label);
                if (remove_existing(u, parentfd, name, target, label, err) < 0)
                        return -1;
                if (mknodat(parentfd, name, S_IFCHR, makedev(0, 0)) < 0)
                        return vs_fail_errno(err, "%s: cannot create whiteout", label);
        }
        if (fchownat(parentfd, name, (uid_t) archive_entry_uid(e), (gid_t) archive_entry_gid(e),
                     AT_SYMLINK_NOFOLLOW) < 0)
                return vs_fail_errno(err, "%s: cannot set owner", label);
        return 0;
}

static int unpack_entry(struct unpack *u, struct archive *ar, struct archive_entry *e,
                        vs_error **err)
{
        const char *raw = archive_entry_pathname(e);
        if (raw == NULL)
                raw = archive_entry_pathname_utf8(e);
        if (raw == NULL)
                return vs_fail(err, "layer entry with an unreadable name");
        _cleanup_free_ char *label = xasprintf("layer entry '%s'", raw);
        _cleanup_free_ char *path = clean_name(raw);
        if (path == NULL)
                return vs_fail(err, "%s: path escapes the layer", label);
        _cleanup_free_ char *scratch = xstrdup(path);
        const char *parent;
        const char *base = split_name(scratch, &parent);
        mode_t type = archive_entry_filetype(e);
        bool hardlink = archive_entry_hardlink(e) != NULL;

        if (strcmp(path, ".") == 0) {
                if (hardlink || type != AE_IFDIR)
                        return vs_fail(err, "%s: the layer root must be a directory", label);
                return unpack_dir(u, e, u->rootfd, ".", path, label, err);
        }
        int parentfd = entry_parent(u, label, parent, err);
        if (parentfd < 0)
                return -1;
        if (strncmp(base, VS_WHITEOUT_PREFIX, strlen(VS_WHITEOUT_PREFIX)) == 0)
                return unpack_whiteout(u, e, parentfd, base, path, label, err);
        if (hardlink)
                return unpack_hardlink(u, e, parentfd, base, path, raw, label, err);
        switch (type) {
        case AE_IFDIR:
                return unpack_dir(u, e, parentfd, base, path, label, err);
        case AE_IFREG:
                return unpack_file(u, ar, e, parentfd, base, path, label, err);
        case AE_IFLNK:
                return unpack_symlink(u, e, parentfd, base, path, label, err);
        case AE_IFCHR:
        case AE_IFBLK:
                if (!u->allow_devices) {
                        vs_debug("%s: device node skipped (devices not allowed)", label);
                        return 0;
                }
                return unpack_node(u, e, parentfd, base, path, label, err);
        case AE_IFIFO:
                return unpack_node(u, e, parentfd, base, path, label, err);
        case AE_IFSOCK:
                vs_debug("%s: socket skipped", label);
                return 0;
        default:
                return vs_fail(err, "%s: unsupported entry type 0%o", label, (unsigned) type);
        }
}

/* ---- the two readers ---- */

static int check_media_type(const char *media_type, vs_error **err)
{
        if (media_type == NULL)
                return 0;
        for (const char *const *m = known_media_types; *m; m++)
                if (strcmp(media_type, *m) == 0)
                        return 0;
        return vs_fail(err, "unknown layer media type '%s'", media_type);
}

static int unpack_stream(struct unpack *u, struct vs_layer_source *src, char **diff_id,
                         vs_error **err)
{
        struct archive *tar = archive_read_new();
        if (tar == NULL)
                abort();
        archive_read_support_format_tar(tar);
        int ret = -1;
        if (archive_read_open(tar, src, NULL, vs_layer_source_read, NULL) != ARCHIVE_OK) {
                vs_fail(err, "layer is not a tar archive: %s", archive_error_string(tar));
                goto out;
        }
        for (;;) {
                struct archive_entry *e;
                int r = archive_read_next_header(tar, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN) {
                        vs_fail(err, "cannot read layer: %s", archive_error_string(tar));
                        goto out;
                }
                if (r == ARCHIVE_WARN)
                        vs_debug("layer: %s", archive_error_string(tar));
                if (unpack_entry(u, tar, e, err) < 0)
                        goto out;
        }
        if (vs_layer_source_finish(src, diff_id, err) < 0)
                goto out;
        ret = apply_dir_times(u, err);
out:
        archive_read_free(tar);
        return ret;
}

static int unpack(int blob_fd, struct vs_layer_tee *tee, const char *media_type,
                  const char *dest_dir, bool allow_devices, char **diff_id, int64_t *size,
                  vs_error **err)
{
        if (check_media_type(media_type, err) < 0)
                return -1;
        struct stat st;
        if (fstatat(AT_FDCWD, dest_dir, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return vs_error_set(err, EEXIST, "cannot unpack layer into %s", dest_dir);
        _cleanup_free_ char *d1 = xstrdup(dest_dir), *d2 = xstrdup(dest_dir);
        _cleanup_free_ char *tmp = xasprintf("%s/.tmp-%s-XXXXXX", dirname(d1), basename(d2));
        if (mkdtemp(tmp) == NULL)
                return vs_fail_errno(err, "cannot create temporary directory for layer %s",
                                     dest_dir);

        struct unpack u = {.allow_devices = allow_devices, .parent_fd = -1};
        struct vs_layer_source *src = NULL;
        _cleanup_free_ char *digest = NULL;
        int ret = -1;
        u.rootfd = open(tmp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (u.rootfd < 0) {
                vs_fail_errno(err, "cannot open %s", tmp);
                goto out;
        }
        /* the layer root's mode when the archive has no "./" entry */
        if (chmod(tmp, 0755) < 0) {
                vs_fail_errno(err, "cannot set mode of %s", tmp);
                goto out;
        }
        if (vs_layer_source_open(blob_fd, tee, &src, err) < 0 ||
            unpack_stream(&u, src, &digest, err) < 0)
                goto out;
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dest_dir, RENAME_NOREPLACE) < 0) {
                vs_fail_errno(err, "cannot rename %s to %s", tmp, dest_dir);
                goto out;
        }
        *diff_id = steal_ptr(digest);
        if (size)
                *size = u.size;
        ret = 0;
out:
        vs_layer_source_free(src);
        if (ret < 0) {
                vs_error_wrap(err, "cannot unpack layer into %s", dest_dir);
                _cleanup_error_ vs_error *rm_err = NULL;
                if (vs_rm_rf(tmp, &rm_err) < 0)
                        vs_warn("cannot remove %s: %s", tmp, rm_err->msg);
        }
        forget_parent(&u);
        for (size_t i = 0; i < u.n_dirs; i++)
                free(u.dirs[i].path);
        free(u.dirs);
        vs_dio_buffer_free(u.dio_buf);
        if (u.rootfd >= 0)
                close(u.rootfd);
        return ret;
}

int vs_layer_unpack(int blob_fd, const char *media_type, const char *dest_dir, bool allow_devices,
                    char **diff_id, int64_t *size, vs_error **err)
{
        return unpack(blob_fd, NULL, media_type, dest_dir, allow_devices, diff_id, size, err);
}

int vs_layer_unpack_keeping(struct vs_layer_input *in, int blob_fd, const char *media_type,
                            const char *dest_dir, char **diff_id, int64_t *size, char **blob_digest,
                            int64_t *blob_size, vs_error **unpack_err, vs_error **err)
{
        struct vs_layer_tee tee = {.in = in, .fd = blob_fd};
        vs_sha256_init(&tee.md);
        void *dio_buf = blob_fd >= 0 ? vs_dio_buffer_new() : NULL;
        if (blob_fd >= 0)
                vs_dio_init(&tee.dio, blob_fd, dio_buf);
        *diff_id = NULL;
        *blob_digest = NULL;
        if (unpack(-1, &tee, media_type, dest_dir, false, diff_id, size, unpack_err) < 0)
                *diff_id = NULL;
        /* The rest of the input: what follows the archive's end, or all that
         * an unpack that failed left unread. */
        const void *buf;
        ssize_t n;
        while ((n = vs_layer_tee_next(&tee, &buf)) > 0)
                ;
        vs_dio_release(&tee.dio);
        vs_dio_buffer_free(dio_buf);
        if (n < 0) {
                vs_sha256_abort(&tee.md);
                if (tee.write_errno)
                        return vs_error_set(err, tee.write_errno, "cannot write the layer blob");
                return vs_error_set(err, tee.read_errno, "cannot read the layer");
        }
        if (blob_fd >= 0)
                *blob_digest = vs_layer_digest_final(&tee.md);
        else
                vs_sha256_abort(&tee.md);
        *blob_size = tee.size;
        return 0;
}
