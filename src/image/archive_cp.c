/* `cp CTR:PATH -`: a tree the engine copied out of a container (into a
 * private directory of its own) written to a file descriptor as an
 * uncompressed tar stream, as Docker's cp writes it. */
#include "image/image.h"
#include "image/layer.h"
#include "image/libs.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int tar_error(struct archive *a, const char *what, vs_error **err)
{
        return vs_fail(err, "cannot write the tar stream (%s): %s", what,
                       archive_error_string(a) ? archive_error_string(a) : "error");
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int write_tree(struct archive *a, int parent, const char *base, const char *name, int depth,
                      const struct vs_layer_idshift *ids, vs_error **err)
{
        if (depth > 256)
                return vs_fail(err, "cannot write the tar stream: %s is nested too deeply", name);
        _cleanup_close_ int fd = openat(parent, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return vs_fail_errno(err, "cannot read %s", name);
        struct archive_entry *e = archive_entry_new();
        _cleanup_free_ char *entry_name =
            S_ISDIR(st.st_mode) ? xasprintf("%s/", name) : xstrdup(name);
        archive_entry_copy_pathname(e, entry_name);
        archive_entry_set_perm(e, st.st_mode & 07777);
        archive_entry_set_uid(e,
                              ids ? vs_layer_shift_id(ids->uid, ids->n_uid, st.st_uid) : st.st_uid);
        archive_entry_set_gid(e,
                              ids ? vs_layer_shift_id(ids->gid, ids->n_gid, st.st_gid) : st.st_gid);
        archive_entry_set_mtime(e, st.st_mtim.tv_sec, 0);
        int r = 0;
        _cleanup_close_ int data = -1;
        if (S_ISREG(st.st_mode)) {
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_size(e, st.st_size);
                /* the inode just checked, never a FIFO or device swapped in */
                struct stat again;
                data = vs_reopen_regular(fd, &st, &again, name, err);
                if (data < 0)
                        r = -1;
        } else if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(parent, base, target, sizeof(target) - 1);
                if (n < 0) {
                        r = vs_fail_errno(err, "cannot read %s", name);
                } else {
                        target[n] = '\0';
                        archive_entry_set_filetype(e, AE_IFLNK);
                        archive_entry_copy_symlink(e, target);
                }
        } else if (S_ISDIR(st.st_mode)) {
                archive_entry_set_filetype(e, AE_IFDIR);
        } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
                /* a header only (export): nothing is opened */
                archive_entry_set_filetype(e, st.st_mode & S_IFMT);
                archive_entry_set_rdev(e, st.st_rdev);
        } else {
                archive_entry_free(e);
                return 0; /* sockets */
        }
        if (r == 0 && archive_write_header(a, e) != ARCHIVE_OK)
                r = tar_error(a, name, err);
        archive_entry_free(e);
        if (r < 0)
                return -1;
        if (data >= 0) {
                char buf[65536];
                ssize_t n;
                while ((n = read(data, buf, sizeof(buf))) > 0)
                        if (archive_write_data(a, buf, (size_t) n) < 0)
                                return tar_error(a, name, err);
                if (n < 0)
                        return vs_fail_errno(err, "cannot read %s", name);
        }
        if (!S_ISDIR(st.st_mode))
                return 0;
        int sub = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
                return vs_fail_errno(err, "cannot read %s", name);
        DIR *d = fdopendir(sub);
        if (d == NULL) {
                close(sub);
                return vs_fail_errno(err, "cannot read %s", name);
        }
        char **names = NULL;
        size_t count = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                names = xrealloc(names, (count + 1) * sizeof(char *));
                names[count++] = xstrdup(de->d_name);
        }
        if (count)
                qsort(names, count, sizeof(char *), cmp_names);
        for (size_t i = 0; i < count; i++) {
                _cleanup_free_ char *child = xasprintf("%s/%s", name, names[i]);
                if (r == 0)
                        r = write_tree(a, dirfd(d), names[i], child, depth + 1, ids, err);
                free(names[i]);
        }
        free(names);
        closedir(d);
        return r;
}

int vs_tar_stream_tree(const char *dir, const char *name, int out_fd, vs_error **err)
{
        return vs_tar_stream_tree_ids(dir, name, out_fd, NULL, err);
}

int vs_tar_stream_tree_ids(const char *dir, const char *name, int out_fd,
                           const struct vs_layer_idshift *ids, vs_error **err)
{
        _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return vs_fail_errno(err, "cannot open %s", dir);
        struct archive *a = archive_write_new();
        if (a == NULL)
                abort();
        int r = 0;
        if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
            archive_write_open_fd(a, out_fd) != ARCHIVE_OK)
                r = tar_error(a, "open", err);
        if (r == 0 && name) {
                r = write_tree(a, dirfd, name, name, 0, ids, err);
        } else if (r == 0) {
                /* the directory's entries at the top of the stream */
                int dup_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
                DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
                if (d == NULL) {
                        if (dup_fd >= 0)
                                close(dup_fd);
                        r = vs_fail_errno(err, "cannot read %s", dir);
                }
                char **names = NULL;
                size_t count = 0;
                struct dirent *de;
                while (d && (de = readdir(d)) != NULL) {
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        names = xrealloc(names, (count + 1) * sizeof(char *));
                        names[count++] = xstrdup(de->d_name);
                }
                if (count)
                        qsort(names, count, sizeof(char *), cmp_names);
                for (size_t i = 0; i < count; i++) {
                        if (r == 0)
                                r = write_tree(a, dirfd, names[i], names[i], 0, ids, err);
                        free(names[i]);
                }
                free(names);
                if (d)
                        closedir(d);
        }
        if (archive_write_close(a) != ARCHIVE_OK && r == 0)
                r = tar_error(a, "close", err);
        archive_write_free(a);
        return r;
}
