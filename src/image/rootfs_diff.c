/* What a container changed, relative to its image (docker diff), and, for
 * commit in copy mode, the same changes as an overlay-format directory.
 *
 * The image side is never merged on disk: a directory of the image is a
 * "lower set", the fds of that directory in every layer that contributes
 * to it, top first, cut after an opaque directory, a whiteout or a
 * non-directory, exactly as overlayfs merges them.
 *
 * Overlay mode: the upper dir holds only what changed. Whiteouts are
 * "D", entries the image has are "C" (directories too: overlay copies a
 * directory up when anything below it changes, which is docker's "C" for
 * parents), others "A" with everything below them; an opaque directory
 * deletes whatever the image had below it.
 *
 * Copy mode: the upper dir holds the whole root, so both trees are
 * compared: missing from the image "A", different type or metadata (mode,
 * owner, size, mtime, device, symlink target) "C", a directory "C" when
 * anything below it changed, in the image but not in the upper dir "D". */
#include "image/image.h"
#include "image/layer_internal.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct lower_set {
        int *fds; /* O_RDONLY|O_DIRECTORY, top layer first */
        size_t n;
};

struct changes {
        bool full_copy;
        char **lines;
        size_t n, cap;
};

static void lower_set_clear(struct lower_set *l)
{
        for (size_t i = 0; i < l->n; i++)
                close(l->fds[i]);
        free(l->fds);
        l->fds = NULL;
        l->n = 0;
}

static void add_line(struct changes *c, char kind, const char *path)
{
        if (c->n + 1 >= c->cap) {
                c->cap = c->cap ? c->cap * 2 : 64;
                c->lines = xrealloc(c->lines, c->cap * sizeof(*c->lines));
        }
        c->lines[c->n++] = xasprintf("%c /%s", kind, path);
        c->lines[c->n] = NULL;
}

/* The image's entry name in this directory: 1 with *st (and *layer, the
 * fd of the directory holding it), 0 when absent or whited out. */
static int lower_lookup(const struct lower_set *l, const char *name, struct stat *st, int *layer,
                        const char *path, vs_error **err)
{
        for (size_t i = 0; i < l->n; i++) {
                if (fstatat(l->fds[i], name, st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return vs_fail_errno(err, "cannot inspect /%s in the image", path);
                }
                if (vs_layer_is_whiteout(st))
                        return 0;
                *layer = l->fds[i];
                return 1;
        }
        return 0;
}

/* The lower set of subdirectory name. */
static int lower_child(const struct lower_set *l, const char *name, struct lower_set *out,
                       const char *path, vs_error **err)
{
        out->fds = xmalloc((l->n ? l->n : 1) * sizeof(*out->fds));
        out->n = 0;
        for (size_t i = 0; i < l->n; i++) {
                struct stat st;
                if (fstatat(l->fds[i], name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return vs_fail_errno(err, "cannot inspect /%s in the image", path);
                }
                if (!S_ISDIR(st.st_mode))
                        break;
                int fd = openat(l->fds[i], name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return vs_fail_errno(err, "cannot open /%s in the image", path);
                out->fds[out->n++] = fd;
                if (vs_layer_is_opaque_at(l->fds[i], name))
                        break;
        }
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(a, b);
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Names the image has in this directory (whiteouts applied), sorted. */
static int lower_names(const struct lower_set *l, char ***out, vs_error **err)
{
        void *seen = NULL; /* names decided by a higher layer */
        size_t cap = 16, n = 0;
        char **names = xmalloc(cap * sizeof(*names));
        int ret = 0;
        for (size_t i = 0; i < l->n && ret == 0; i++) {
                _cleanup_strv_ char **list = NULL;
                size_t m;
                if (vs_layer_list_dir(l->fds[i], &list, &m, err) < 0) {
                        ret = -1;
                        break;
                }
                for (size_t j = 0; j < m; j++) {
                        if (tfind(list[j], &seen, cmp_str))
                                continue;
                        char *name = xstrdup(list[j]);
                        tsearch(name, &seen, cmp_str);
                        struct stat st;
                        if (fstatat(l->fds[i], name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                            vs_layer_is_whiteout(&st))
                                continue;
                        if (n + 1 >= cap) {
                                cap *= 2;
                                names = xrealloc(names, cap * sizeof(*names));
                        }
                        names[n++] = xstrdup(name);
                }
        }
        tdestroy(seen, free);
        names[n] = NULL;
        qsort(names, n, sizeof(*names), cmp_names);
        *out = names;
        return ret;
}

/* Copy mode: does the upper entry differ from the image's? */
static bool meta_differs(int upper, const struct stat *a, int lower, const struct stat *b,
                         const char *name)
{
        if (a->st_mode != b->st_mode || a->st_uid != b->st_uid || a->st_gid != b->st_gid)
                return true;
        /* a directory's times change with its entries: those are reported
         * themselves */
        if (S_ISDIR(a->st_mode))
                return false;
        if (a->st_mtim.tv_sec != b->st_mtim.tv_sec || a->st_mtim.tv_nsec != b->st_mtim.tv_nsec)
                return true;
        if (S_ISREG(a->st_mode))
                return a->st_size != b->st_size;
        if (S_ISCHR(a->st_mode) || S_ISBLK(a->st_mode))
                return a->st_rdev != b->st_rdev;
        if (S_ISLNK(a->st_mode)) {
                if (a->st_size != b->st_size)
                        return true;
                char ta[PATH_MAX + 1], tb[PATH_MAX + 1];
                ssize_t na = readlinkat(upper, name, ta, sizeof(ta) - 1);
                ssize_t nb = readlinkat(lower, name, tb, sizeof(tb) - 1);
                return na != nb || na < 0 || memcmp(ta, tb, (size_t) na) != 0;
        }
        return false;
}

static int make_whiteout(int out, const char *name, const char *path, vs_error **err)
{
        if (out >= 0 && mknodat(out, name, S_IFCHR, makedev(0, 0)) < 0)
                return vs_fail_errno(err, "cannot record the deletion of /%s", path);
        return 0;
}

/* "D" for what the image has in this directory and upper_names lacks.
 * Returns 1 when anything was deleted. */
static int report_deleted(struct changes *c, const struct lower_set *lower, char **upper_names,
                          size_t n_upper, int out, const char *prefix, vs_error **err)
{
        _cleanup_strv_ char **names = NULL;
        if (lower_names(lower, &names, err) < 0)
                return -1;
        int deleted = 0;
        for (char **p = names; *p; p++) {
                if (bsearch(p, upper_names, n_upper, sizeof(char *), cmp_names))
                        continue;
                _cleanup_free_ char *path = *prefix ? xasprintf("%s/%s", prefix, *p) : xstrdup(*p);
                add_line(c, 'D', path);
                if (make_whiteout(out, *p, path, err) < 0)
                        return -1;
                deleted = 1;
        }
        return deleted;
}

static int walk(struct changes *c, int upper, const struct lower_set *lower, bool hidden, int out,
                const char *prefix, vs_error **err);

/* One directory of the upper dir; returns 1 when it or anything below it
 * is a change. hidden: below an opaque directory of the upper dir (overlay
 * mode), where the image's entries are gone unless the upper dir has them. */
static int walk_dir(struct changes *c, int upper, const char *name, const struct stat *st,
                    const struct lower_set *lower, bool hidden, int found, const struct stat *lst,
                    int lfd, int out, const char *path, vs_error **err)
{
        bool same_type = found && S_ISDIR(lst->st_mode);
        bool opaque = !c->full_copy && (hidden || vs_layer_is_opaque_at(upper, name));
        struct lower_set child = {0};
        _cleanup_close_ int sub = -1, sub_out = -1;
        int below = -1;
        if (same_type && lower_child(lower, name, &child, path, err) < 0)
                goto out;
        sub = openat(upper, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) {
                vs_fail_errno(err, "cannot open %s", path);
                goto out;
        }
        if (out >= 0) {
                if (mkdirat(out, name, 0700) < 0 ||
                    (sub_out = openat(out, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) <
                        0) {
                        vs_fail_errno(err, "cannot record /%s", path);
                        goto out;
                }
        }
        if (opaque && child.n > 0) {
                /* everything the image had below is hidden: deleted */
                _cleanup_strv_ char **names = NULL;
                size_t n;
                if (vs_layer_list_dir(sub, &names, &n, err) < 0 ||
                    report_deleted(c, &child, names, n, -1, path, err) < 0)
                        goto out;
        }
        below = walk(c, sub, &child, opaque, sub_out, path, err);
        if (below < 0)
                goto out;
        bool own = !found || !same_type || !c->full_copy || meta_differs(upper, st, lfd, lst, name);
        if (!own && !below) {
                if (out >= 0 && unlinkat(out, name, AT_REMOVEDIR) < 0) {
                        below = vs_fail_errno(err, "cannot clean up /%s", path);
                        goto out;
                }
                below = 0;
                goto out;
        }
        add_line(c, found ? 'C' : 'A', path);
        if (out >= 0 && vs_layer_copy_metadata(upper, out, name, st, path, err) < 0) {
                below = -1;
                goto out;
        }
        below = 1;
out:
        lower_set_clear(&child);
        return below;
}

static int walk(struct changes *c, int upper, const struct lower_set *lower, bool hidden, int out,
                const char *prefix, vs_error **err)
{
        _cleanup_strv_ char **names = NULL;
        size_t n;
        if (vs_layer_list_dir(upper, &names, &n, err) < 0)
                return vs_error_wrap(err, "cannot read /%s", prefix);
        int changed = 0;
        for (size_t i = 0; i < n; i++) {
                const char *name = names[i];
                _cleanup_free_ char *path =
                    *prefix ? xasprintf("%s/%s", prefix, name) : xstrdup(name);
                struct stat st, lst;
                if (fstatat(upper, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return vs_fail_errno(err, "cannot inspect /%s", path);
                if (!c->full_copy && vs_layer_is_whiteout(&st)) {
                        add_line(c, 'D', path);
                        if (make_whiteout(out, name, path, err) < 0)
                                return -1;
                        changed = 1;
                        continue;
                }
                int lfd = -1;
                int found = lower_lookup(lower, name, &lst, &lfd, path, err);
                if (found < 0)
                        return -1;
                if (S_ISDIR(st.st_mode)) {
                        int r = walk_dir(c, upper, name, &st, lower, hidden, found, &lst, lfd, out,
                                         path, err);
                        if (r < 0)
                                return -1;
                        changed |= r;
                        continue;
                }
                bool same_type = found && ((st.st_mode ^ lst.st_mode) & S_IFMT) == 0;
                if (found && same_type && c->full_copy &&
                    !meta_differs(upper, &st, lfd, &lst, name))
                        continue;
                add_line(c, found ? 'C' : 'A', path);
                if (out >= 0 && linkat(upper, name, out, name, 0) < 0)
                        return vs_fail_errno(err, "cannot record /%s", path);
                changed = 1;
        }
        if (c->full_copy && lower->n > 0) {
                int r = report_deleted(c, lower, names, n, out, prefix, err);
                if (r < 0)
                        return -1;
                changed |= r;
        }
        return changed;
}

static int cmp_lines(const void *a, const void *b)
{
        return strcmp(*(char *const *) a + 2, *(char *const *) b + 2);
}

int vs_image_rootfs_changes(const struct vs_image *img, const char *upper_dir, bool full_copy,
                            int changes_dir, char ***lines, vs_error **err)
{
        struct changes c = {.full_copy = full_copy};
        struct lower_set root = {.fds = xmalloc((img->n_layers + 1) * sizeof(int))};
        int ret = -1;
        _cleanup_close_ int upper = open(upper_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (upper < 0) {
                vs_fail_errno(err, "cannot open %s", upper_dir);
                goto out;
        }
        for (size_t i = 0; i < img->n_layers; i++) {
                const char *dir = img->layer_dirs[img->n_layers - 1 - i];
                int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0) {
                        vs_fail_errno(err, "cannot open layer %s", dir);
                        goto out;
                }
                root.fds[root.n++] = fd;
        }
        if (walk(&c, upper, &root, false, changes_dir, "", err) < 0)
                goto out;
        if (c.lines == NULL)
                c.lines = xcalloc(1, sizeof(*c.lines));
        qsort(c.lines, c.n, sizeof(*c.lines), cmp_lines);
        *lines = steal_ptr(c.lines);
        ret = 0;
out:
        lower_set_clear(&root);
        if (c.lines) {
                for (size_t i = 0; i < c.n; i++)
                        free(c.lines[i]);
                free(c.lines);
        }
        if (ret < 0)
                vs_error_wrap(err, "cannot compare %s with its image", upper_dir);
        return ret;
}

int vs_image_rootfs_diff(const struct vs_image *img, const char *upper_dir, char ***lines,
                         vs_error **err)
{
        return vs_image_rootfs_changes(img, upper_dir, vs_image_rootfs_upper_is_copy(upper_dir), -1,
                                       lines, err);
}
