/* Small helpers shared by layer unpack/pack/apply and the rootfs code. */
#include "image/layer_internal.h"
#include "runtime/idmap.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

/* xattr syscalls have no *at() form: reach dirfd/name through procfs, with
 * the l* variants so that a final symlink is never followed. */
static void xattr_path(char *buf, size_t size, int dirfd, const char *name)
{
        snprintf(buf, size, "/proc/self/fd/%d/%s", dirfd, name);
}

const char *vs_layer_opaque_xattr(void)
{
        return vs_in_user_namespace() ? VS_OVERLAY_USER_OPAQUE : VS_OVERLAY_OPAQUE;
}

bool vs_layer_is_opaque_at(int dirfd, const char *name)
{
        char path[PATH_MAX + 32], val[4];
        xattr_path(path, sizeof(path), dirfd, name);
        ssize_t n = lgetxattr(path, vs_layer_opaque_xattr(), val, sizeof(val));
        return n == 1 && val[0] == 'y';
}

char *vs_layer_digest_final(struct vs_sha256 *h)
{
        char out[VS_DIGEST_LEN + 1];
        vs_sha256_final(h, out);
        return xstrdup(out);
}

static bool xattr_unsupported(int e)
{
        return e == ENOTSUP || e == EOPNOTSUPP || e == EPERM;
}

int vs_layer_copy_xattrs(int src_dirfd, const char *src_name, int dst_dirfd, const char *dst_name,
                         vs_error **err)
{
        char src[PATH_MAX + 32], dst[PATH_MAX + 32];
        xattr_path(src, sizeof(src), src_dirfd, src_name);
        xattr_path(dst, sizeof(dst), dst_dirfd, dst_name);
        ssize_t len = llistxattr(src, NULL, 0);
        if (len < 0) {
                if (xattr_unsupported(errno))
                        return 0;
                return vs_fail_errno(err, "cannot list xattrs of %s", src_name);
        }
        if (len == 0)
                return 0;
        _cleanup_free_ char *names = xmalloc((size_t) len);
        len = llistxattr(src, names, (size_t) len);
        if (len < 0)
                return vs_fail_errno(err, "cannot list xattrs of %s", src_name);
        for (char *n = names; n < names + len; n += strlen(n) + 1) {
                if (strncmp(n, VS_OVERLAY_XATTR, strlen(VS_OVERLAY_XATTR)) == 0)
                        continue;
                ssize_t vlen = lgetxattr(src, n, NULL, 0);
                if (vlen < 0)
                        return vs_fail_errno(err, "cannot read xattr %s of %s", n, src_name);
                _cleanup_free_ char *val = xmalloc((size_t) vlen + 1);
                vlen = lgetxattr(src, n, val, (size_t) vlen);
                if (vlen < 0)
                        return vs_fail_errno(err, "cannot read xattr %s of %s", n, src_name);
                if (lsetxattr(dst, n, val, (size_t) vlen, 0) < 0) {
                        if (xattr_unsupported(errno)) {
                                vs_debug("xattr %s of %s not copied: %s", n, src_name,
                                         strerror(errno));
                                continue;
                        }
                        return vs_fail_errno(err, "cannot set xattr %s on %s", n, dst_name);
                }
        }
        return 0;
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int vs_layer_list_dir(int dirfd, char ***names, size_t *n, vs_error **err)
{
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return vs_fail_errno(err, "cannot open directory");
        _cleanup_closedir_ DIR *d = fdopendir(fd);
        if (d == NULL) {
                close(fd);
                return vs_fail_errno(err, "cannot read directory");
        }
        size_t cap = 16, count = 0;
        char **v = xmalloc(cap * sizeof(*v));
        struct dirent *de;
        errno = 0;
        while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (count + 1 >= cap) {
                        cap *= 2;
                        v = xrealloc(v, cap * sizeof(*v));
                }
                v[count++] = xstrdup(de->d_name);
                errno = 0;
        }
        if (errno != 0) {
                int saved = errno;
                for (size_t i = 0; i < count; i++)
                        free(v[i]);
                free(v);
                return vs_error_set(err, saved, "cannot read directory");
        }
        v[count] = NULL;
        qsort(v, count, sizeof(*v), cmp_names);
        *names = v;
        *n = count;
        return 0;
}
