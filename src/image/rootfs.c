/* Container root filesystems: an overlay of the image's unpacked layers with
 * the container's upper dir, or, where overlayfs cannot be used, a copy of
 * the layers in the upper dir bind-mounted in its place ("copy mode").
 *
 *   <dir>/upper       the container's changes (overlay mode) or the whole
 *                     root (copy mode)
 *   <dir>/work        overlay's work dir
 *   <dir>/copy-mode   "<dev>:<ino>" of the upper dir holding a full copy:
 *                     present only in copy mode
 *
 * Layers are handed to overlayfs as /proc/self/fd/N paths of O_PATH fds:
 * one "lowerdir+" fsconfig() per layer on kernels that have it (6.8+), else
 * a classic mount(2) data string that stays short however long the store
 * path is (about 17 bytes per layer, ~200 layers in a page). */
#include "image/image.h"
#include "image/layer.h"
#include "image/layer_internal.h"
#include "runtime/idmap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_MARKER "copy-mode"
#define COPY_TMP    "upper.copy"

/* ---- directories ---- */

int vs_image_rootfs_prepare_dir(const struct vs_image *img, const char *dir, vs_error **err)
{
        if (vs_mkdir_p(dir, 0700, err) < 0)
                return -1;
        _cleanup_free_ char *upper = xasprintf("%s/upper", dir);
        _cleanup_free_ char *work = xasprintf("%s/work", dir);
        if (mkdir(upper, 0755) < 0 && errno != EEXIST)
                return vs_fail_errno(err, "cannot create %s", upper);
        if (mkdir(work, 0700) < 0 && errno != EEXIST)
                return vs_fail_errno(err, "cannot create %s", work);
        return 0;
}

/* ---- copy mode ---- */

static bool env_true(const char *name)
{
        const char *v = getenv(name);
        return v && *v && strcmp(v, "0") != 0;
}

static void announce_copy_mode(const char *reason)
{
        static bool said;
        if (said)
                return;
        said = true;
        vs_progress(false, "vessel: overlayfs unavailable (%s); using a copy of the image", reason);
}

/* Does the marker name the directory at path (same device and inode)? */
static bool marker_names(const char *marker, const char *path)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ vs_error *e = NULL;
        struct stat st;
        unsigned long long dev, ino;
        if (vs_read_file(marker, &text, NULL, &e) < 0 || lstat(path, &st) < 0 ||
            !S_ISDIR(st.st_mode) || sscanf(text, "%llu:%llu", &dev, &ino) != 2)
                return false;
        return dev == (unsigned long long) st.st_dev && ino == (unsigned long long) st.st_ino;
}

bool vs_image_rootfs_upper_is_copy(const char *upper_dir)
{
        _cleanup_free_ char *copy = xstrdup(upper_dir);
        _cleanup_free_ char *marker = xasprintf("%s/%s", dirname(copy), COPY_MARKER);
        return marker_names(marker, upper_dir);
}

/* Makes <dir>/upper a full copy of the image with the container's changes
 * on top, once. Crash-safe: the copy is built beside the upper dir, the
 * marker naming it is written, and only then are the two exchanged; the
 * marker tells at any later point which directory is the copy. */
static int ensure_copy(const struct vs_image *img, const char *dir, vs_error **err)
{
        _cleanup_free_ char *upper = xasprintf("%s/upper", dir);
        _cleanup_free_ char *tmp = xasprintf("%s/%s", dir, COPY_TMP);
        _cleanup_free_ char *marker = xasprintf("%s/%s", dir, COPY_MARKER);
        if (marker_names(marker, upper))
                return vs_rm_rf(tmp, err); /* the replaced upper, if still there */
        if (!marker_names(marker, tmp)) {
                if (vs_rm_rf(tmp, err) < 0)
                        return -1;
                if (mkdir(tmp, 0755) < 0)
                        return vs_fail_errno(err, "cannot create %s", tmp);
                for (size_t i = 0; i < img->n_layers; i++)
                        if (vs_layer_apply_dir(img->layer_dirs[i], tmp, err) < 0)
                                return -1;
                /* Changes made while the container ran on overlay (an
                 * upper dir in overlay format) go on top. */
                if (vs_is_dir(upper) && vs_layer_apply_dir(upper, tmp, err) < 0)
                        return -1;
                struct stat st;
                if (stat(tmp, &st) < 0)
                        return vs_fail_errno(err, "cannot inspect %s", tmp);
                _cleanup_free_ char *text = xasprintf("%llu:%llu\n", (unsigned long long) st.st_dev,
                                                      (unsigned long long) st.st_ino);
                if (vs_write_file_atomic(marker, text, strlen(text), 0644, err) < 0)
                        return -1;
        }
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, upper, RENAME_EXCHANGE) < 0) {
                if (errno != ENOENT || rename(tmp, upper) < 0)
                        return vs_fail_errno(err, "cannot put the image copy %s in place of %s",
                                             tmp, upper);
        }
        return vs_rm_rf(tmp, err);
}

/* ---- idmapped mounts ---- */

/* The overlay keeps its mounter's credentials for the work it does on the
 * upper dir: they must be ids the idmapped upper mount can represent, so
 * the mounter takes the mapped root's fs ids, with its capabilities (which
 * a change of fsuid from 0 drops from the effective set) put back. */
int vs_rootfs_become_mapped_root(uid_t uid, gid_t gid, vs_error **err)
{
        setfsgid(gid);
        setfsuid(uid);
        cap_t caps = cap_get_proc();
        if (caps == NULL)
                return vs_fail_errno(err, "cannot read capabilities");
        cap_value_t list[CAP_LAST_CAP + 1];
        int n = 0;
        for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
                cap_flag_value_t v;
                if (cap_get_flag(caps, c, CAP_PERMITTED, &v) == 0 && v == CAP_SET)
                        list[n++] = c;
        }
        int r = cap_set_flag(caps, CAP_EFFECTIVE, n, list, CAP_SET) == 0 ? cap_set_proc(caps) : -1;
        int e = errno;
        cap_free(caps);
        if (r < 0)
                return vs_error_set(err, e, "cannot keep capabilities as the overlay's mounter");
        return 0;
}

void vs_rootfs_become_host_root(void)
{
        /* Back to fsuid 0: the kernel restores the effective fs capabilities. */
        setfsuid(0);
        setfsgid(0);
}

static int mount_copy(const struct vs_image *img, const char *dir, const char *target,
                      const struct vs_rootfs_idmap *idmap, vs_error **err)
{
        if (ensure_copy(img, dir, err) < 0)
                return vs_error_wrap(err, "cannot copy the image into %s", dir);
        _cleanup_free_ char *upper = xasprintf("%s/upper", dir);
        if (idmap == NULL) {
                if (mount(upper, target, NULL, MS_BIND, NULL) < 0)
                        return vs_fail_errno(err, "cannot bind %s on %s", upper, target);
                return 0;
        }
        _cleanup_close_ int ufd = open(upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (ufd < 0)
                return vs_fail_errno(err, "cannot open %s", upper);
        _cleanup_close_ int mfd = vs_idmap_clone(ufd, "", idmap->userns_fd, upper, err);
        if (mfd < 0)
                return -1;
        if (move_mount(mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return vs_fail_errno(err, "cannot bind %s on %s", upper, target);
        return 0;
}

/* ---- overlay ---- */

struct layer_fds {
        int *fds;
        size_t n;
};

static void close_layer_fds(struct layer_fds *l)
{
        for (size_t i = 0; i < l->n; i++)
                if (l->fds[i] >= 0)
                        close(l->fds[i]);
        free(l->fds);
}

/* O_PATH fds on the lower dirs, top layer first (overlay's order). */
static int open_lowers(const struct vs_image *img, const char *dir, struct layer_fds *l,
                       vs_error **err)
{
        _cleanup_free_ char *empty = NULL;
        size_t n = img->n_layers;
        if (n == 0) {
                /* overlay needs a lower layer: an image without layers gets
                 * an empty one */
                empty = xasprintf("%s/empty", dir);
                if (mkdir(empty, 0755) < 0 && errno != EEXIST)
                        return vs_fail_errno(err, "cannot create %s", empty);
                n = 1;
        }
        l->fds = xmalloc(n * sizeof(*l->fds));
        for (size_t i = 0; i < n; i++) {
                const char *path = empty ? empty : img->layer_dirs[n - 1 - i];
                /* A layer that occurs twice (two identical diffs, e.g. two
                 * empty build steps) is stacked once, at its topmost place:
                 * overlayfs refuses the same lower dir twice (ELOOP), and
                 * the lower copy can change nothing the upper one hides. */
                bool seen = false;
                for (size_t j = 0; !empty && j < i; j++)
                        seen = seen || strcmp(img->layer_dirs[n - 1 - j], path) == 0;
                if (seen)
                        continue;
                int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return vs_fail_errno(err, "cannot open layer %s", path);
                l->fds[l->n++] = fd;
        }
        return 0;
}

/* The kernel's own words about a failed fsconfig (the fs context log),
 * with our /proc/self/fd/N paths turned back into the real ones. */
static char *fs_log(int fsfd)
{
        char buf[512];
        ssize_t n = read(fsfd, buf, sizeof(buf) - 1);
        if (n <= 2)
                return NULL;
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        const char *msg = buf + 2; /* "e overlay: ..." */
        const char *fdp = strstr(msg, "/proc/self/fd/");
        if (fdp == NULL)
                return xstrdup(msg);
        char link[64], real[PATH_MAX];
        size_t digits = strspn(fdp + 14, "0123456789");
        snprintf(link, sizeof(link), "%.*s", (int) (14 + digits), fdp);
        ssize_t r = readlink(link, real, sizeof(real) - 1);
        if (r < 0)
                return xstrdup(msg);
        real[r] = '\0';
        return xasprintf("%.*s%s%s", (int) (fdp - msg), msg, real, fdp + 14 + digits);
}

static int set_string(int fsfd, const char *key, const char *value)
{
        return fsconfig(fsfd, FSCONFIG_SET_STRING, key, value, 0);
}

/* redirect_dir and metacopy would put overlay xattrs in the upper dir that
 * only overlay understands (a renamed directory, a data-less copy-up):
 * commit packs the upper dir as plain files, so both stay off. */
static const char *const fixed_options[][2] = {
    {"redirect_dir", "off"},
    {"metacopy", "off"},
    {"index", "off"},
};

/* The value of a fixed option: with userxattr (in a user namespace) the
 * kernel takes only redirect_dir=nofollow, which creates no redirect
 * either (and follows none). */
static const char *fixed_value(size_t i)
{
        if (vs_in_user_namespace() && strcmp(fixed_options[i][0], "redirect_dir") == 0)
                return "nofollow";
        return fixed_options[i][1];
}

/* After a failed step of the overlay mount (errno set): 1 when the failure
 * means overlayfs cannot be used here (*reason says why: copy mode), else
 * -1 with the error (a missing layer, a busy target...). */
static int overlay_failure(int fsfd, const char *target, char **reason, vs_error **err)
{
        int e = errno;
        _cleanup_free_ char *why = fsfd >= 0 ? fs_log(fsfd) : NULL;
        if (e == EINVAL || e == EOPNOTSUPP || e == EPERM || e == ENODEV || e == ENOSYS) {
                *reason = why           ? xstrdup(why)
                          : e == ENODEV ? xstrdup("the kernel has no overlay filesystem")
                                        : xasprintf("overlay mount: %s", strerror(e));
                return 1;
        }
        return vs_error_set(err, e, "cannot mount overlay on %s%s%s", target, why ? ": " : "",
                            why ? why : "");
}

/* Classic mount(2): every path through /proc/self/fd keeps the data string
 * short (and free of ',' or ':' that would need escaping). */
static int mount_overlay_legacy(const struct layer_fds *l, int upper, int work, const char *target,
                                char **reason, vs_error **err)
{
        size_t cap = 256 + 24 * l->n;
        _cleanup_free_ char *data = xmalloc(cap);
        size_t o = (size_t) snprintf(data, cap, "lowerdir=");
        for (size_t i = 0; i < l->n; i++)
                o += (size_t) snprintf(data + o, cap - o, "%s/proc/self/fd/%d", i ? ":" : "",
                                       l->fds[i]);
        o += (size_t) snprintf(data + o, cap - o, ",upperdir=/proc/self/fd/%d", upper);
        o += (size_t) snprintf(data + o, cap - o, ",workdir=/proc/self/fd/%d", work);
        for (size_t i = 0; i < sizeof(fixed_options) / sizeof(fixed_options[0]); i++)
                o += (size_t) snprintf(data + o, cap - o, ",%s=%s", fixed_options[i][0],
                                       fixed_value(i));
        if (vs_in_user_namespace())
                o += (size_t) snprintf(data + o, cap - o, ",userxattr");
        long page = sysconf(_SC_PAGESIZE);
        if ((long) o >= page)
                return vs_fail(err,
                               "cannot mount %zu layers on %s: the overlay options exceed "
                               "a page on this kernel",
                               l->n, target);
        if (mount("overlay", target, "overlay", 0, data) == 0)
                return 0;
        return overlay_failure(-1, target, reason, err);
}

/* Replaces the layer fds by idmapped mounts of them, and upper/work by
 * the same dirs on one idmapped mount of dir (overlay wants both on one). */
static int idmap_all(struct layer_fds *l, const char *dir, const struct vs_rootfs_idmap *idmap,
                     int *mdir_out, int *upper, int *work, vs_error **err)
{
        char what[64];
        for (size_t i = 0; i < l->n; i++) {
                snprintf(what, sizeof(what), "layer %zu of the image", l->n - i);
                int m = vs_idmap_clone(l->fds[i], "", idmap->userns_fd, what, err);
                if (m < 0)
                        return -1;
                close(l->fds[i]);
                l->fds[i] = m;
        }
        _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return vs_fail_errno(err, "cannot open %s", dir);
        /* Kept open until the overlay is made: closing the last fd of a
         * detached mount dissolves it, and overlay cannot clone an upper
         * dir on a dissolved mount ("failed to clone upperpath"). */
        int mdir = vs_idmap_clone(dfd, "", idmap->userns_fd, dir, err);
        if (mdir < 0)
                return -1;
        *mdir_out = mdir;
        int u = openat(mdir, "upper", O_PATH | O_DIRECTORY | O_CLOEXEC);
        int w = openat(mdir, "work", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (u < 0 || w < 0) {
                int e = errno;
                if (u >= 0)
                        close(u);
                if (w >= 0)
                        close(w);
                return vs_error_set(err, e, "cannot open the upper and work dirs of %s", dir);
        }
        close(*upper);
        close(*work);
        *upper = u;
        *work = w;
        return 0;
}

/* 0 mounted, 1 overlay unusable here (*reason says why), -1 error. */
static int mount_overlay(const struct vs_image *img, const char *dir, const char *target,
                         const struct vs_rootfs_idmap *idmap, unsigned flags, char **reason,
                         vs_error **err)
{
        struct layer_fds l = {0};
        _cleanup_free_ char *upper_path = xasprintf("%s/upper", dir);
        _cleanup_free_ char *work_path = xasprintf("%s/work", dir);
        _cleanup_close_ int upper = open(upper_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int work = open(work_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int fsfd = -1, mfd = -1, mdir = -1;
        char p[64];
        int ret = -1;
        if (upper < 0 || work < 0) {
                vs_fail_errno(err, "cannot open %s", upper < 0 ? upper_path : work_path);
                goto out;
        }
        /* A volatile overlay leaves work/incompat/volatile behind, and the
         * kernel refuses to mount over it again: a layer that is thrown
         * away at the container's exit has nothing to lose to it. */
        if ((flags & VS_ROOTFS_VOLATILE) && vs_rm_rf_at(work, "work/incompat/volatile", err) < 0)
                goto out;
        if (open_lowers(img, dir, &l, err) < 0)
                goto out;
        if (idmap && idmap_all(&l, dir, idmap, &mdir, &upper, &work, err) < 0)
                goto out;
        if (idmap && vs_rootfs_become_mapped_root(idmap->uid, idmap->gid, err) < 0)
                goto out;
        const char *api = getenv("VESSEL_OVERLAY_MOUNT_API");
        if (api && strcmp(api, "legacy") == 0) {
                ret = mount_overlay_legacy(&l, upper, work, target, reason, err);
                goto out;
        }
        fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fsfd < 0) {
                ret = overlay_failure(-1, target, reason, err);
                goto out;
        }
        set_string(fsfd, "source", "vessel");
        for (size_t i = 0; i < l.n; i++) {
                if (set_string(fsfd, "lowerdir+", vs_fd_path(l.fds[i], p, sizeof(p))) == 0)
                        continue;
                if (i == 0 && errno == EINVAL) { /* before 6.8: no "lowerdir+" */
                        ret = mount_overlay_legacy(&l, upper, work, target, reason, err);
                        goto out;
                }
                _cleanup_free_ char *why = fs_log(fsfd);
                char name[PATH_MAX], link[64];
                int saved = errno;
                snprintf(link, sizeof(link), "/proc/self/fd/%d", l.fds[i]);
                ssize_t nl = readlink(link, name, sizeof(name) - 1);
                name[nl > 0 ? nl : 0] = '\0';
                errno = saved;
                vs_fail_errno(err, "cannot use layer %s for overlay%s%s", name, why ? ": " : "",
                              why ? why : "");
                goto out;
        }
        if (set_string(fsfd, "upperdir", vs_fd_path(upper, p, sizeof(p))) < 0 ||
            set_string(fsfd, "workdir", vs_fd_path(work, p, sizeof(p))) < 0) {
                ret = overlay_failure(fsfd, target, reason, err);
                goto out;
        }
        for (size_t i = 0; i < sizeof(fixed_options) / sizeof(fixed_options[0]); i++)
                if (set_string(fsfd, fixed_options[i][0], fixed_value(i)) < 0)
                        vs_debug("overlay option %s=%s not taken: %s", fixed_options[i][0],
                                 fixed_value(i), strerror(errno));
        /* In a user namespace (the rootless engine) the trusted. xattrs are
         * out of reach: overlay keeps its own in user. (Linux >= 5.11). */
        if (vs_in_user_namespace() && fsconfig(fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
                vs_debug("overlay option userxattr not taken: %s", strerror(errno));
        /* No sync of the upper layer, not even the syncfs of the whole upper
         * filesystem that unmounting an overlay does (Linux >= 5.10). */
        if ((flags & VS_ROOTFS_VOLATILE) &&
            fsconfig(fsfd, FSCONFIG_SET_FLAG, "volatile", NULL, 0) < 0)
                vs_debug("overlay option volatile not taken: %s", strerror(errno));
        if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
                ret = overlay_failure(fsfd, target, reason, err);
                goto out;
        }
        mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
        if (mfd < 0) {
                vs_fail_errno(err, "cannot create the overlay mount for %s", target);
                goto out;
        }
        if (move_mount(mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
                vs_fail_errno(err, "cannot mount overlay on %s", target);
                goto out;
        }
        ret = 0;
out:
        if (idmap)
                vs_rootfs_become_host_root();
        close_layer_fds(&l);
        return ret;
}

int vs_image_rootfs_mount(const struct vs_image *img, const char *dir, const char *target,
                          const struct vs_rootfs_idmap *idmap, vs_error **err)
{
        return vs_image_rootfs_mount_flags(img, dir, target, idmap, 0, err);
}

int vs_image_rootfs_mount_flags(const struct vs_image *img, const char *dir, const char *target,
                                const struct vs_rootfs_idmap *idmap, unsigned flags, vs_error **err)
{
        if (vs_image_rootfs_prepare_dir(img, dir, err) < 0 || vs_mkdir_p(target, 0755, err) < 0)
                return -1;
        _cleanup_free_ char *upper = xasprintf("%s/upper", dir);
        if (vs_image_rootfs_upper_is_copy(upper))
                return mount_copy(img, dir, target, idmap, err);
        _cleanup_free_ char *reason = NULL;
        if (env_true("VESSEL_NO_OVERLAY")) {
                reason = xstrdup("VESSEL_NO_OVERLAY is set");
        } else {
                int r = mount_overlay(img, dir, target, idmap, flags, &reason, err);
                if (r <= 0)
                        return r;
        }
        announce_copy_mode(reason);
        return mount_copy(img, dir, target, idmap, err);
}

int vs_image_rootfs_umount(const char *target, vs_error **err)
{
        if (umount2(target, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
                return vs_fail_errno(err, "cannot unmount %s", target);
        return 0;
}
