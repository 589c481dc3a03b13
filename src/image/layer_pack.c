/* Layer pack: an overlay upper dir becomes a gzip-compressed tar layer.
 *
 * Two libarchive writers are chained: a pax tar writer whose output
 * callback hashes the uncompressed stream (the diff_id) and hands it to a
 * raw writer with the gzip filter, whose output callback hashes the
 * compressed bytes (the blob digest) and writes them out. One pass, no temp
 * file. Entries come out in a fixed order (a depth-first walk with sorted
 * names), times to the second, no atime/ctime, no gzip timestamp, numeric
 * owners only: the same upper dir always gives the same blob. */
#include "image/layer.h"
#include "image/layer_internal.h"
#include "image/libs.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define COPY_BUF_SIZE (1024 * 1024)

struct hardlink {
        dev_t dev;
        ino_t ino;
        char *path; /* first path seen for the inode */
};

struct pack {
        struct archive *tar; /* pax writer -> tar_write_cb */
        struct archive *gz;  /* raw writer + gzip filter -> blob_write_cb */
        struct archive_entry *entry;
        struct vs_sha256 diff_md, blob_md;
        int out_fd;
        int64_t blob_size;
        void *links; /* tsearch tree of struct hardlink */
        char *buf;
        const char *const *skip_stubs; /* paths whose empty files are left out */
};

static int cmp_links(const void *a, const void *b)
{
        const struct hardlink *x = a, *y = b;
        if (x->dev != y->dev)
                return x->dev < y->dev ? -1 : 1;
        if (x->ino != y->ino)
                return x->ino < y->ino ? -1 : 1;
        return 0;
}

static void free_link(void *p)
{
        struct hardlink *l = p;
        free(l->path);
        free(l);
}

static la_ssize_t blob_write_cb(struct archive *a, void *arg, const void *buf, size_t len)
{
        struct pack *p = arg;
        const char *c = buf;
        size_t left = len;
        while (left > 0) {
                ssize_t w = write(p->out_fd, c, left);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        archive_set_error(a, errno, "cannot write layer blob");
                        return -1;
                }
                c += w;
                left -= (size_t) w;
        }
        vs_sha256_update(&p->blob_md, buf, len);
        p->blob_size += (int64_t) len;
        return (la_ssize_t) len;
}

static la_ssize_t tar_write_cb(struct archive *a, void *arg, const void *buf, size_t len)
{
        struct pack *p = arg;
        vs_sha256_update(&p->diff_md, buf, len);
        la_ssize_t w = archive_write_data(p->gz, buf, len);
        if (w < 0) {
                archive_set_error(a, archive_errno(p->gz), "%s", archive_error_string(p->gz));
                return -1;
        }
        return (la_ssize_t) len;
}

/* SOURCE_DATE_EPOCH (reproducible-builds.org): no file time in a layer is
 * later than it, so identical inputs give identical layers (vessel build). */
static time_t clamp_mtime(time_t t)
{
        const char *s = getenv("SOURCE_DATE_EPOCH");
        if (s == NULL || *s == '\0')
                return t;
        char *end;
        long long epoch = strtoll(s, &end, 10);
        if (*end != '\0' || epoch < 0)
                return t;
        return t > (time_t) epoch ? (time_t) epoch : t;
}

static void entry_from_stat(struct archive_entry *e, const char *path, const struct stat *st)
{
        archive_entry_clear(e);
        archive_entry_copy_pathname(e, path);
        archive_entry_set_uid(e, st->st_uid);
        archive_entry_set_gid(e, st->st_gid);
        archive_entry_set_perm(e, st->st_mode & 07777);
        archive_entry_set_mtime(e, clamp_mtime(st->st_mtim.tv_sec), 0);
}

static int cmp_strings(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Adds the xattrs (sorted; trusted.overlay.* left out) of the inode fd (an
 * O_PATH fd) holds, through its /proc/self/fd link; a symlink's own by its
 * name in dirfd, without following it. */
static int add_xattrs(struct archive_entry *e, int fd, bool is_link, int dirfd, const char *name,
                      const char *path, vs_error **err)
{
        char proc[PATH_MAX + 32];
        if (is_link)
                snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dirfd, name);
        else
                snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        ssize_t (*list)(const char *, char *, size_t) = is_link ? llistxattr : listxattr;
        ssize_t (*get)(const char *, const char *, void *, size_t) = is_link ? lgetxattr : getxattr;
        ssize_t len = list(proc, NULL, 0);
        if (len <= 0)
                return 0;
        _cleanup_free_ char *names = xmalloc((size_t) len);
        len = list(proc, names, (size_t) len);
        if (len < 0)
                return vs_fail_errno(err, "cannot list xattrs of %s", path);
        size_t count = 0;
        for (char *n = names; n < names + len; n += strlen(n) + 1)
                count++;
        _cleanup_free_ const char **sorted = xcalloc(count + 1, sizeof(*sorted));
        count = 0;
        for (char *n = names; n < names + len; n += strlen(n) + 1)
                if (strncmp(n, VS_OVERLAY_XATTR, strlen(VS_OVERLAY_XATTR)) != 0)
                        sorted[count++] = n;
        qsort(sorted, count, sizeof(*sorted), cmp_strings);
        for (size_t i = 0; i < count; i++) {
                ssize_t vlen = get(proc, sorted[i], NULL, 0);
                if (vlen < 0)
                        return vs_fail_errno(err, "cannot read xattr %s of %s", sorted[i], path);
                _cleanup_free_ char *val = xmalloc((size_t) vlen + 1);
                vlen = get(proc, sorted[i], val, (size_t) vlen);
                if (vlen < 0)
                        return vs_fail_errno(err, "cannot read xattr %s of %s", sorted[i], path);
                archive_entry_xattr_add_entry(e, sorted[i], val, (size_t) vlen);
        }
        return 0;
}

static int write_header(struct pack *p, const char *path, vs_error **err)
{
        if (archive_write_header(p->tar, p->entry) < ARCHIVE_WARN)
                return vs_fail(err, "cannot write tar header for %s: %s", path,
                               archive_error_string(p->tar));
        return 0;
}

/* An empty regular file entry: whiteouts and opaque markers. */
static int write_marker(struct pack *p, const char *path, const struct stat *st, mode_t perm,
                        vs_error **err)
{
        entry_from_stat(p->entry, path, st);
        archive_entry_set_filetype(p->entry, AE_IFREG);
        archive_entry_set_perm(p->entry, perm);
        archive_entry_set_size(p->entry, 0);
        return write_header(p, path, err);
}

/* The data of the regular file whose header was written from st, read
 * from the inode pathfd holds (vs_reopen_regular: never a FIFO or a
 * device, never another inode). */
static int write_file_data(struct pack *p, int pathfd, const char *path, const struct stat *st,
                           vs_error **err)
{
        int64_t size = st->st_size;
        _cleanup_close_ int fd = vs_reopen_regular(pathfd, st, NULL, path, err);
        if (fd < 0)
                return -1;
        int64_t done = 0;
        while (done < size) {
                size_t want = (size_t) (size - done < COPY_BUF_SIZE ? size - done : COPY_BUF_SIZE);
                ssize_t n = read(fd, p->buf, want);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return vs_fail_errno(err, "cannot read %s", path);
                }
                if (n == 0)
                        return vs_fail(err, "cannot pack %s: file shrank while packing", path);
                if (archive_write_data(p->tar, p->buf, (size_t) n) < 0)
                        return vs_fail(err, "cannot pack %s: %s", path,
                                       archive_error_string(p->tar));
                done += n;
        }
        return 0;
}

static int pack_dir(struct pack *p, int dirfd, const char *prefix, vs_error **err);

static int pack_one(struct pack *p, int dirfd, const char *name, const char *prefix, vs_error **err)
{
        _cleanup_free_ char *path = *prefix ? xasprintf("%s/%s", prefix, name) : xstrdup(name);
        /* The upper dir may belong to a running container (commit
         * --pause=false) that renames entries under us: everything about
         * an entry (stat, xattrs, data, a directory's contents, a link's
         * target) comes from the one inode this O_PATH fd holds, so a
         * header always describes what follows it, and a FIFO or device
         * node swapped in is packed as what it is, never opened. */
        _cleanup_close_ int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return vs_fail_errno(err, "cannot inspect %s", path);
        /* The engine's mount targets (/etc/hostname...): empty files the
         * runtime created to bind over, not the container's changes. */
        for (size_t i = 0; p->skip_stubs && p->skip_stubs[i]; i++)
                if (strcmp(path, p->skip_stubs[i]) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
                        return 0;
        if (vs_layer_is_whiteout(&st)) {
                _cleanup_free_ char *wh =
                    *prefix ? xasprintf("%s/.wh.%s", prefix, name) : xasprintf(".wh.%s", name);
                return write_marker(p, wh, &st, 0600, err);
        }
        if (strncmp(name, VS_WHITEOUT_PREFIX, strlen(VS_WHITEOUT_PREFIX)) == 0)
                return vs_fail(err,
                               "cannot pack %s: the name prefix .wh. is reserved for "
                               "whiteouts",
                               path);
        if (S_ISSOCK(st.st_mode)) {
                vs_debug("not packing socket %s", path);
                return 0;
        }
        struct archive_entry *e = p->entry;
        entry_from_stat(e, path, &st);
        if (add_xattrs(e, fd, S_ISLNK(st.st_mode), dirfd, name, path, err) < 0)
                return -1;
        switch (st.st_mode & S_IFMT) {
        case S_IFDIR: {
                archive_entry_set_filetype(e, AE_IFDIR);
                if (write_header(p, path, err) < 0)
                        return -1;
                if (vs_layer_is_opaque_at(dirfd, name)) {
                        _cleanup_free_ char *opq = xasprintf("%s/%s", path, VS_WHITEOUT_OPAQUE);
                        if (write_marker(p, opq, &st, st.st_mode & 0777, err) < 0)
                                return -1;
                }
                _cleanup_close_ int sub = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (sub < 0)
                        return vs_fail_errno(err, "cannot open directory %s", path);
                return pack_dir(p, sub, path, err);
        }
        case S_IFREG: {
                archive_entry_set_filetype(e, AE_IFREG);
                if (st.st_nlink > 1) {
                        struct hardlink key = {.dev = st.st_dev, .ino = st.st_ino};
                        struct hardlink **found = tfind(&key, &p->links, cmp_links);
                        if (found) {
                                archive_entry_set_size(e, 0);
                                archive_entry_copy_hardlink(e, (*found)->path);
                                return write_header(p, path, err);
                        }
                        struct hardlink *l = xmalloc(sizeof(*l));
                        *l = key;
                        l->path = xstrdup(path);
                        if (tsearch(l, &p->links, cmp_links) == NULL)
                                abort();
                }
                archive_entry_set_size(e, st.st_size);
                if (write_header(p, path, err) < 0)
                        return -1;
                return write_file_data(p, fd, path, &st, err);
        }
        case S_IFLNK: {
                _cleanup_free_ char *target = xmalloc((size_t) st.st_size + 1);
                ssize_t n = readlinkat(fd, "", target, (size_t) st.st_size + 1);
                if (n < 0 || n > st.st_size)
                        return vs_fail_errno(err, "cannot read symlink %s", path);
                target[n] = '\0';
                archive_entry_set_filetype(e, AE_IFLNK);
                archive_entry_copy_symlink(e, target);
                return write_header(p, path, err);
        }
        case S_IFCHR:
        case S_IFBLK:
        case S_IFIFO:
                archive_entry_set_filetype(e, st.st_mode & S_IFMT);
                if (!S_ISFIFO(st.st_mode))
                        archive_entry_set_rdev(e, st.st_rdev);
                return write_header(p, path, err);
        default:
                return vs_fail(err, "cannot pack %s: unsupported file type", path);
        }
}

static int pack_dir(struct pack *p, int dirfd, const char *prefix, vs_error **err)
{
        _cleanup_strv_ char **names = NULL;
        size_t n = 0;
        if (vs_layer_list_dir(dirfd, &names, &n, err) < 0)
                return vs_error_wrap(err, "cannot pack %s", *prefix ? prefix : ".");
        for (size_t i = 0; i < n; i++)
                if (pack_one(p, dirfd, names[i], prefix, err) < 0)
                        return -1;
        return 0;
}

static int open_writers(struct pack *p, vs_error **err)
{
        p->gz = archive_write_new();
        p->tar = archive_write_new();
        p->entry = archive_entry_new();
        if (p->gz == NULL || p->tar == NULL || p->entry == NULL)
                abort();
        if (archive_write_add_filter_gzip(p->gz) != ARCHIVE_OK ||
            archive_write_set_format_raw(p->gz) != ARCHIVE_OK)
                return vs_fail(err, "cannot set up gzip writer: %s", archive_error_string(p->gz));
        /* no mtime in the gzip header: reproducible blobs */
        archive_write_set_filter_option(p->gz, "gzip", "timestamp", NULL);
        archive_write_set_bytes_in_last_block(p->gz, 1);
        if (archive_write_open(p->gz, p, NULL, blob_write_cb, NULL) != ARCHIVE_OK)
                return vs_fail(err, "cannot open gzip writer: %s", archive_error_string(p->gz));
        struct archive_entry *raw = archive_entry_new();
        archive_entry_set_filetype(raw, AE_IFREG);
        archive_entry_copy_pathname(raw, "layer.tar");
        int r = archive_write_header(p->gz, raw);
        archive_entry_free(raw);
        if (r != ARCHIVE_OK)
                return vs_fail(err, "cannot start gzip stream: %s", archive_error_string(p->gz));

        /* pax only where ustar cannot say it (long names, xattrs, big ids),
         * as docker's tar writer does */
        if (archive_write_set_format_pax_restricted(p->tar) != ARCHIVE_OK)
                return vs_fail(err, "cannot set up tar writer: %s", archive_error_string(p->tar));
        archive_write_set_format_option(p->tar, "pax", "xattrheader", "SCHILY");
        archive_write_set_bytes_in_last_block(p->tar, 1);
        if (archive_write_open(p->tar, p, NULL, tar_write_cb, NULL) != ARCHIVE_OK)
                return vs_fail(err, "cannot open tar writer: %s", archive_error_string(p->tar));
        return 0;
}

static int close_writers(struct pack *p, vs_error **err)
{
        if (archive_write_close(p->tar) != ARCHIVE_OK)
                return vs_fail(err, "cannot finish tar stream: %s", archive_error_string(p->tar));
        if (archive_write_close(p->gz) != ARCHIVE_OK)
                return vs_fail(err, "cannot finish gzip stream: %s", archive_error_string(p->gz));
        return 0;
}

int vs_layer_pack(const char *upper_dir, int out_fd, char **diff_id, char **digest,
                  int64_t *blob_size, vs_error **err)
{
        return vs_layer_pack_skipping(upper_dir, NULL, out_fd, diff_id, digest, blob_size, err);
}

int vs_layer_pack_skipping(const char *upper_dir, const char *const *skip_stubs, int out_fd,
                           char **diff_id, char **digest, int64_t *blob_size, vs_error **err)
{
        struct pack p = {.out_fd = out_fd, .skip_stubs = skip_stubs};
        vs_sha256_init(&p.diff_md);
        vs_sha256_init(&p.blob_md);
        p.buf = xmalloc(COPY_BUF_SIZE);
        int ret = -1;
        _cleanup_close_ int root = open(upper_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root < 0) {
                vs_fail_errno(err, "cannot open %s", upper_dir);
                goto out;
        }
        if (open_writers(&p, err) < 0 || pack_dir(&p, root, "", err) < 0 ||
            close_writers(&p, err) < 0)
                goto out;
        *diff_id = vs_layer_digest_final(&p.diff_md);
        *digest = vs_layer_digest_final(&p.blob_md);
        if (blob_size)
                *blob_size = p.blob_size;
        ret = 0;
out:
        if (ret < 0)
                vs_error_wrap(err, "cannot pack layer from %s", upper_dir);
        if (p.tar)
                archive_write_free(p.tar);
        if (p.gz)
                archive_write_free(p.gz);
        if (p.entry)
                archive_entry_free(p.entry);
        tdestroy(p.links, free_link);
        vs_sha256_abort(&p.diff_md);
        vs_sha256_abort(&p.blob_md);
        free(p.buf);
        return ret;
}
