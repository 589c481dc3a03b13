#include "runtime/rootfs.h"
#include "runtime/rootfs_confine.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- new mount API helpers ---- */

static uint64_t mount_attrs_from_flags(unsigned long flags)
{
        uint64_t a = 0;
        if (flags & MS_RDONLY)
                a |= MOUNT_ATTR_RDONLY;
        if (flags & MS_NOSUID)
                a |= MOUNT_ATTR_NOSUID;
        if (flags & MS_NODEV)
                a |= MOUNT_ATTR_NODEV;
        if (flags & MS_NOEXEC)
                a |= MOUNT_ATTR_NOEXEC;
        if (flags & MS_NODIRATIME)
                a |= MOUNT_ATTR_NODIRATIME;
        if (flags & MS_NOATIME)
                a |= MOUNT_ATTR_NOATIME;
        else if (flags & MS_STRICTATIME)
                a |= MOUNT_ATTR_STRICTATIME;
        return a;
}

static uint64_t clear_attrs_from_flags(unsigned long clear)
{
        uint64_t a = 0;
        if (clear & MS_RDONLY)
                a |= MOUNT_ATTR_RDONLY;
        if (clear & MS_NOSUID)
                a |= MOUNT_ATTR_NOSUID;
        if (clear & MS_NODEV)
                a |= MOUNT_ATTR_NODEV;
        if (clear & MS_NOEXEC)
                a |= MOUNT_ATTR_NOEXEC;
        if (clear & MS_NODIRATIME)
                a |= MOUNT_ATTR_NODIRATIME;
        return a;
}

/* Attaches the detached mount mfd onto the directory/file targetfd. */
static int attach(int mfd, int targetfd, const char *dest, vs_error **err)
{
        if (move_mount(mfd, "", targetfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
            0)
                return vs_fail_errno(err, "cannot mount on %s", dest);
        return 0;
}

/* attach(), and remember the mount as vessel's own at dest: what vessel later
 * creates beneath dest must land on it (rootfs_confine.h). */
static int attach_made(struct vs_rootfs_ctx *ctx, int mfd, int targetfd, const char *dest,
                       vs_error **err)
{
        if (attach(mfd, targetfd, dest, err) < 0)
                return -1;
        return vs_rootfs_record(ctx, dest, mfd, err);
}

/* mount -t type source with data "a=b,c" through fsopen/fsconfig/fsmount. */
static int new_fs_mount(const char *type, const char *source, const char *data, unsigned long flags,
                        const char *dest, vs_error **err)
{
        _cleanup_close_ int fsfd = fsopen(type, FSOPEN_CLOEXEC);
        if (fsfd < 0)
                return vs_fail_errno(err, "cannot mount %s on %s: unknown filesystem type", type,
                                     dest);
        if (source && *source && fsconfig(fsfd, FSCONFIG_SET_STRING, "source", source, 0) < 0)
                return vs_fail_errno(err, "cannot mount %s on %s: bad source '%s'", type, dest,
                                     source);
        _cleanup_free_ char *opts = data ? xstrdup(data) : NULL;
        char *save = NULL;
        for (char *o = opts ? strtok_r(opts, ",", &save) : NULL; o;
             o = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(o, '=');
                int r;
                if (eq) {
                        *eq = '\0';
                        r = fsconfig(fsfd, FSCONFIG_SET_STRING, o, eq + 1, 0);
                } else {
                        r = fsconfig(fsfd, FSCONFIG_SET_FLAG, o, NULL, 0);
                }
                if (r < 0)
                        return vs_fail_errno(err, "cannot mount %s on %s: option '%s%s%s'", type,
                                             dest, o, eq ? "=" : "", eq ? eq + 1 : "");
        }
        if (flags & MS_RDONLY)
                fsconfig(fsfd, FSCONFIG_SET_FLAG, "ro", NULL, 0);
        if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return vs_fail_errno(err, "cannot mount %s on %s", type, dest);
        int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, (unsigned int) mount_attrs_from_flags(flags));
        if (mfd < 0)
                return vs_fail_errno(err, "cannot mount %s on %s", type, dest);
        return mfd;
}

/* A detached copy of the tree at (dirfd, path), with attributes applied. */
static int clone_tree(int dirfd, const char *path, bool recursive, unsigned long flags,
                      unsigned long clear, const char *what, vs_error **err)
{
        unsigned int of = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
        if (*path == '\0')
                of |= AT_EMPTY_PATH;
        int tfd = open_tree(dirfd, path, of);
        if (tfd < 0)
                return vs_fail_errno(err, "cannot bind %s", what);
        struct mount_attr attr = {
            .attr_set = mount_attrs_from_flags(flags),
            .attr_clr = clear_attrs_from_flags(clear),
        };
        if (flags & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME))
                attr.attr_clr |= MOUNT_ATTR__ATIME;
        if (attr.attr_set || attr.attr_clr) {
                if (mount_setattr(tfd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
                                  sizeof(attr)) < 0) {
                        int saved = errno;
                        close(tfd);
                        return vs_error_set(err, saved, "cannot set mount options on %s", what);
                }
        }
        return tfd;
}

int vs_rootfs_clone_source(const struct oci_mount *m, size_t idx, vs_error **err)
{
        int fd =
            clone_tree(AT_FDCWD, m->source, m->recursive, m->flags, m->clear_flags, m->source, err);
        if (fd < 0)
                return vs_error_wrap(err, "mounts[%zu].source", idx);
        return fd;
}

/* Propagation of the mount behind fd (named dest in messages). */
static int set_propagation(int fd, const char *dest, unsigned long prop, vs_error **err)
{
        if (prop == 0)
                return 0;
        struct mount_attr attr = {.propagation = prop & ~(unsigned long) MS_REC};
        if (mount_setattr(fd, "", AT_EMPTY_PATH | ((prop & MS_REC) ? AT_RECURSIVE : 0), &attr,
                          sizeof(attr)) < 0)
                return vs_fail_errno(err, "cannot set propagation of %s", dest);
        return 0;
}

int vs_rootfs_bind_fd(struct vs_rootfs_ctx *ctx, int srcfd, const char *dest, vs_error **err)
{
        _cleanup_close_ int target = vs_rootfs_mount_target(ctx, dest, true, err);
        if (target < 0 || vs_rootfs_check_kernel_target(ctx, target, dest, NULL, srcfd, err) < 0)
                return -1;
        _cleanup_close_ int tree = clone_tree(srcfd, "", false, 0, 0, dest, err);
        if (tree < 0)
                return -1;
        return attach_made(ctx, tree, target, dest, err);
}

/* ---- preparation and pivot ---- */

int vs_rootfs_prepare(struct vs_rootfs_ctx *ctx, vs_error **err)
{
        const struct oci_config *cfg = ctx->cfg;
        if (ctx->shared_mntns) {
                ctx->rootfd = open(cfg->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (ctx->rootfd < 0)
                        return vs_fail_errno(err, "root.path %s", cfg->root_path);
                /* No bind of our own: the root lies on the caller's mount,
                 * which then owns what vessel creates under it. */
                return vs_rootfs_record(ctx, "/", ctx->rootfd, err);
        }
        /* Nothing mounted here may propagate back to the host. A private
         * propagation request is honoured at once; others after pivot. */
        unsigned long first = MS_SLAVE | MS_REC;
        if (cfg->linux_.rootfs_propagation_flags & MS_PRIVATE)
                first = MS_PRIVATE | MS_REC;
        if (mount(NULL, "/", NULL, first, NULL) < 0)
                return vs_fail_errno(err, "cannot make / %s",
                                     first & MS_PRIVATE ? "rprivate" : "rslave");
        _cleanup_close_ int dir =
            open(ctx->root_is_cwd ? "." : cfg->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return vs_fail_errno(err, "root.path %s", cfg->root_path);
        _cleanup_close_ int tree = clone_tree(dir, "", true, 0, 0, cfg->root_path, err);
        if (tree < 0)
                return -1;
        if (attach(tree, dir, cfg->root_path, err) < 0)
                return -1;
        if (ctx->root_is_cwd) {
                /* The attached tree's fd names the new mount; no path walk. */
                ctx->rootfd = steal_fd(tree);
                return vs_rootfs_record(ctx, "/", ctx->rootfd, err);
        }
        /* Reopen: the fd must name the new mount, not the directory under it. */
        ctx->rootfd = open(cfg->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (ctx->rootfd < 0)
                return vs_fail_errno(err, "cannot open root %s", cfg->root_path);
        return vs_rootfs_record(ctx, "/", ctx->rootfd, err);
}

int vs_rootfs_pivot(struct vs_rootfs_ctx *ctx, vs_error **err)
{
        if (fchdir(ctx->rootfd) < 0)
                return vs_fail_errno(err, "cannot enter root %s", ctx->cfg->root_path);
        if (ctx->shared_mntns) {
                /* pivot_root would swap the root of every process in the
                 * runtime's namespace. */
                if (chroot(".") < 0)
                        return vs_fail_errno(err, "cannot chroot to %s", ctx->cfg->root_path);
        } else if (ctx->no_pivot) {
                if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
                        return vs_fail_errno(err, "cannot move root %s to /", ctx->cfg->root_path);
                if (chroot(".") < 0)
                        return vs_fail_errno(err, "cannot chroot to %s", ctx->cfg->root_path);
        } else {
                if (syscall(SYS_pivot_root, ".", ".") < 0)
                        return vs_fail_errno(err, "cannot pivot_root to %s", ctx->cfg->root_path);
                /* The old root is now stacked on "."; umount follows down to
                 * it (mount(2) would not: it would act on the new root). It is
                 * rslave or rprivate since prepare, so nothing propagates. */
                if (umount2(".", MNT_DETACH) < 0)
                        return vs_fail_errno(err, "cannot detach the old root");
        }
        if (chdir("/") < 0)
                return vs_fail_errno(err, "cannot chdir to / after pivot");
        close(ctx->rootfd);
        ctx->rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (ctx->rootfd < 0)
                return vs_fail_errno(err, "cannot open the new root");
        return 0;
}

/* ---- config mounts ---- */

static bool dest_is(const char *dest, const char *want)
{
        /* Compare ignoring repeated and trailing slashes. */
        while (*dest && *want) {
                if (*dest == '/' && *want == '/') {
                        while (*dest == '/')
                                dest++;
                        while (*want == '/')
                                want++;
                        continue;
                }
                if (*dest++ != *want++)
                        return false;
        }
        while (*dest == '/')
                dest++;
        return *dest == '\0' && *want == '\0';
}

/* A host cgroup hierarchy: the mount of its root, its type and its
 * superblock options (where a v1 hierarchy lists its controllers). */
struct hier {
        char *mnt, *type, *opts;
};

/* The host's cgroup hierarchies, from the mounts of their roots outside this
 * container's root (a bind of the host's /sys into it brings copies). */
static size_t read_hierarchies(const char *root_path, struct hier *hs, size_t max, vs_error **err)
{
        _cleanup_fclose_ FILE *mi = fopen("/proc/self/mountinfo", "re");
        if (!mi)
                return (size_t) vs_fail_errno(err, "cannot read /proc/self/mountinfo");
        size_t nh = 0, rl = strlen(root_path);
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, mi) > 0 && nh < max) {
                char *sep = strstr(line, " - ");
                char root[4096], mnt[4096], fstype[64], opts[1024];
                if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
                    sscanf(sep + 3, "%63s %*s %1023s", fstype, opts) != 2)
                        continue;
                if ((strcmp(fstype, "cgroup") && strcmp(fstype, "cgroup2")) || strcmp(root, "/"))
                        continue;
                if (strncmp(mnt, root_path, rl) == 0 && (mnt[rl] == '/' || !mnt[rl]))
                        continue;
                hs[nh++] = (struct hier){xstrdup(mnt), xstrdup(fstype), xstrdup(opts)};
        }
        free(line);
        return nh;
}

static bool has_option(const char *opts, const char *name)
{
        size_t l = strlen(name);
        for (const char *o = opts; o; o = strchr(o, ',') ? strchr(o, ',') + 1 : NULL)
                if (strncmp(o, name, l) == 0 && (o[l] == ',' || o[l] == '\0'))
                        return true;
        return false;
}

/* The hierarchy of a /proc/self/cgroup line's controller list ("" for
 * cgroup2): the one whose options hold each listed controller exactly, so
 * that "cpu" never matches cpuset or cpuacct. */
static const struct hier *find_hierarchy(const struct hier *hs, size_t nh, const char *ctrls)
{
        for (size_t i = 0; i < nh; i++) {
                if (*ctrls == '\0') {
                        if (strcmp(hs[i].type, "cgroup2") == 0)
                                return &hs[i];
                        continue;
                }
                if (strcmp(hs[i].type, "cgroup") != 0)
                        continue;
                _cleanup_free_ char *cs = xstrdup(ctrls);
                bool all = true;
                char *save = NULL;
                for (char *c = strtok_r(cs, ",", &save); c && all; c = strtok_r(NULL, ",", &save))
                        all = has_option(hs[i].opts, c);
                if (all)
                        return &hs[i];
        }
        return NULL;
}

/* Binds the container's own cgroup of one hierarchy at dest. */
static int bind_own_cgroup(struct vs_rootfs_ctx *ctx, const struct oci_mount *m,
                           const struct hier *h, const char *own, const char *dest, int target,
                           vs_error **err)
{
        _cleanup_close_ int t = target >= 0 ? fcntl(target, F_DUPFD_CLOEXEC, 3)
                                            : vs_rootfs_mount_target(ctx, dest, false, err);
        if (t < 0)
                return vs_fail_errno(err, "cannot open %s", dest);
        _cleanup_free_ char *src = xasprintf("%s%s", h->mnt, own);
        unsigned long flags = (m->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY));
        _cleanup_close_ int tree = clone_tree(AT_FDCWD, src, true, flags, 0, src, err);
        if (tree < 0 || attach_made(ctx, tree, t, dest, err) < 0)
                return -1;
        return 0;
}

/* cgroupfs: a tmpfs holding one bind of the container's own cgroup per
 * hierarchy on v1/hybrid (named after its controllers, as runc does), or
 * the cgroup2 tree itself on pure v2. */
static int mount_cgroupfs(struct vs_rootfs_ctx *ctx, const struct oci_mount *m, int target,
                          vs_error **err)
{
        if (ctx->enter_cgroup && ctx->enter_cgroup(ctx, err) < 0)
                return -1;
        struct hier hs[32];
        vs_error *rerr = NULL;
        size_t nh = read_hierarchies(ctx->cfg->root_path, hs, 32, &rerr);
        if (rerr) {
                *err = rerr;
                return -1;
        }
        _cleanup_free_ char *lines = xstrdup(ctx->cgroup_self ? ctx->cgroup_self : "");
        /* "0::/path" alone (maybe with its newline): pure v2 */
        bool pure_v2 = lines[0] && strncmp(lines, "0::", 3) == 0 &&
                       (!strchr(lines, '\n') || strchr(lines, '\n')[1] == '\0');
        int ret = 0;
        _cleanup_close_ int tmpfs = -1;
        if (!pure_v2) {
                tmpfs = new_fs_mount("tmpfs", "tmpfs", "mode=755", m->flags & ~MS_RDONLY,
                                     m->destination, err);
                if (tmpfs < 0 || attach_made(ctx, tmpfs, target, m->destination, err) < 0) {
                        ret = -1;
                        goto out;
                }
        }
        char *save = NULL;
        for (char *l = strtok_r(lines, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                /* "N:controllers:/path" */
                char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c2 = '\0';
                const char *ctrls = c1 + 1, *own = c2 + 1;
                const struct hier *h = find_hierarchy(hs, nh, ctrls);
                if (!h)
                        continue; /* not mounted on the host */
                if (pure_v2) {
                        ret = bind_own_cgroup(ctx, m, h, own, m->destination, target, err);
                        goto out;
                }
                /* The directory name: the controllers, "name=" dropped. */
                _cleanup_free_ char *name = xstrdup(*ctrls ? ctrls : "unified");
                for (char *p; (p = strstr(name, "name="));)
                        memmove(p, p + 5, strlen(p + 5) + 1);
                _cleanup_free_ char *dest = xasprintf("%s/%s", m->destination, name);
                if (bind_own_cgroup(ctx, m, h, own, dest, -1, err) < 0) {
                        ret = -1;
                        goto out;
                }
                if (strchr(name, ',')) {
                        /* Co-mounted controllers: cpu -> cpu,cpuacct as runc does. */
                        _cleanup_close_ int dirp = vs_rootfs_dir(ctx, m->destination, false, err);
                        _cleanup_close_ int dir =
                            dirp < 0 ? -1 : openat(dirp, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (dir < 0) {
                                ret = vs_fail_errno(err, "cannot open %s", m->destination);
                                goto out;
                        }
                        _cleanup_free_ char *names = xstrdup(name);
                        char *s3 = NULL;
                        for (char *c = strtok_r(names, ",", &s3); c; c = strtok_r(NULL, ",", &s3))
                                symlinkat(name, dir, c);
                }
        }
        if (!pure_v2 && (m->flags & MS_RDONLY)) {
                struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
                if (mount_setattr(tmpfs, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                        ret = vs_fail_errno(err, "cannot make %s read-only", m->destination);
        }
out:
        for (size_t i = 0; i < nh; i++) {
                free(hs[i].mnt);
                free(hs[i].type);
                free(hs[i].opts);
        }
        return ret;
}

/* A new filesystem of m's type, or the host's sysfs or mqueue where a user
 * namespace may not mount its own (as runc does). */
static int new_fs_or_host(const struct oci_mount *m, vs_error **err)
{
        _cleanup_error_ vs_error *merr = NULL;
        int mfd = new_fs_mount(m->type, m->source, m->data, m->flags, m->destination, &merr);
        if (mfd >= 0)
                return mfd;
        if ((merr->errno_ == EPERM || merr->errno_ == EACCES) &&
            (strcmp(m->type, "sysfs") == 0 || strcmp(m->type, "mqueue") == 0)) {
                const char *host = strcmp(m->type, "sysfs") == 0 ? "/sys" : "/dev/mqueue";
                vs_debug("%s: %s; binding the host's %s", m->destination, merr->msg, host);
                return clone_tree(AT_FDCWD, host, true, m->flags | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                  0, host, err);
        }
        *err = steal_ptr(merr);
        return -1;
}

static int mount_one(struct vs_rootfs_ctx *ctx, const struct oci_mount *m, size_t idx,
                     vs_error **err)
{
        const char *dest = m->destination;
        bool is_file = false;
        _cleanup_close_ int src = -1;
        _cleanup_close_ int pre = -1;
        if (m->bind && idx < ctx->n_bind_fds && ctx->bind_fds[idx] >= 0) {
                pre = steal_fd(ctx->bind_fds[idx]);
                ctx->bind_fds[idx] = -1;
        }
        if (m->bind) {
                src =
                    pre >= 0 ? fcntl(pre, F_DUPFD_CLOEXEC, 3) : open(m->source, O_PATH | O_CLOEXEC);
                if (src < 0)
                        return vs_fail_errno(err, "mounts[%zu].source: %s", idx, m->source);
                struct stat st;
                if (fstat(src, &st) < 0)
                        return vs_fail_errno(err, "mounts[%zu].source: %s", idx, m->source);
                is_file = !S_ISDIR(st.st_mode);
        }
        _cleanup_close_ int target = vs_rootfs_mount_target(ctx, dest, is_file, err);
        if (target < 0 || vs_rootfs_check_kernel_target(ctx, target, dest, m->bind ? NULL : m->type,
                                                        src, err) < 0)
                return vs_error_wrap(err, "mounts[%zu]", idx);

        _cleanup_close_ int mfd = -1;
        if (!m->bind && (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0)) {
                if (mount_cgroupfs(ctx, m, target, err) < 0)
                        return vs_error_wrap(err, "mounts[%zu]", idx);
                /* The mount now on the target: the tmpfs or the cgroup2 tree. */
                mfd = vs_rootfs_dir(ctx, dest, false, err);
        } else {
                mfd = pre >= 0  ? steal_fd(pre)
                      : m->bind ? clone_tree(src, "", m->recursive, m->flags, m->clear_flags,
                                             m->source, err)
                                : new_fs_or_host(m, err);
                if (mfd >= 0 && attach_made(ctx, mfd, target, dest, err) < 0)
                        return vs_error_wrap(err, "mounts[%zu]", idx);
        }
        if (mfd < 0 || set_propagation(mfd, dest, m->propagation, err) < 0)
                return vs_error_wrap(err, "mounts[%zu]", idx);
        return 0;
}

/* ---- /dev ---- */

static const struct {
        const char *name;
        unsigned major, minor;
} default_devices[] = {
    {"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
    {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

/* Creates (mknod) or, in a user namespace, binds the host's device after
 * checking the host node really is that device. */
static int make_device(struct vs_rootfs_ctx *ctx, const char *path, char type, unsigned major,
                       unsigned minor, mode_t perm, uid_t uid, gid_t gid, vs_error **err)
{
        /* The directory the node goes in: on the filesystem vessel mounted
         * there (the /dev tmpfs), wherever the image's symlinks point. */
        _cleanup_free_ char *name = NULL;
        _cleanup_close_ int parent = vs_rootfs_parent(ctx, path, &name, err);
        if (parent < 0)
                return -1;
        if (unlinkat(parent, name, 0) < 0 && errno != ENOENT && errno != EISDIR)
                return vs_fail_errno(err, "cannot replace %s", path);
        mode_t fmt = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
        if (!ctx->in_userns || type == 'p') {
                if (mknodat(parent, name, fmt | perm, makedev(major, minor)) < 0)
                        return vs_fail_errno(err, "cannot create device %s", path);
                if (fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                        return vs_fail_errno(err, "cannot chown device %s", path);
                return 0;
        }
        _cleanup_close_ int src = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (src < 0 || fstat(src, &st) < 0)
                return vs_fail_errno(err, "cannot bind device %s from the host", path);
        if ((st.st_mode & S_IFMT) != fmt || major(st.st_rdev) != major ||
            minor(st.st_rdev) != minor)
                return vs_fail(err, "host %s is not the device %u:%u: refusing to bind it", path,
                               major, minor);
        return vs_rootfs_bind_fd(ctx, src, path, err);
}

static bool has_bind_dev(const struct oci_config *cfg)
{
        for (size_t i = 0; i < cfg->n_mounts; i++)
                if (cfg->mounts[i].bind && dest_is(cfg->mounts[i].destination, "/dev"))
                        return true;
        return false;
}

static bool has_mount_at(const struct oci_config *cfg, const char *dest)
{
        for (size_t i = 0; i < cfg->n_mounts; i++)
                if (dest_is(cfg->mounts[i].destination, dest))
                        return true;
        return false;
}

static int setup_dev(struct vs_rootfs_ctx *ctx, vs_error **err)
{
        const struct oci_config *cfg = ctx->cfg;
        /* A bind mount at /dev is host storage (-v /dev:/dev): as runc does,
         * create nothing in it (its ptmx would be replaced by a symlink). */
        if (has_bind_dev(cfg))
                return 0;
        for (size_t i = 0; i < sizeof(default_devices) / sizeof(default_devices[0]); i++) {
                _cleanup_free_ char *p = xasprintf("/dev/%s", default_devices[i].name);
                if (make_device(ctx, p, 'c', default_devices[i].major, default_devices[i].minor,
                                0666, 0, 0, err) < 0)
                        return -1;
        }
        for (size_t i = 0; i < cfg->linux_.n_devices; i++) {
                const struct oci_device *d = &cfg->linux_.devices[i];
                char type = d->type == 'u' ? 'c' : d->type;
                if (make_device(ctx, d->path, type, (unsigned) d->major, (unsigned) d->minor,
                                d->has_file_mode ? d->file_mode : 0666, d->has_uid ? d->uid : 0,
                                d->has_gid ? d->gid : 0, err) < 0)
                        return vs_error_wrap(err, "linux.devices[%zu]", i);
        }
        _cleanup_close_ int devp = vs_open_in_root(ctx->rootfd, "/dev", O_PATH | O_DIRECTORY, 0);
        if (devp < 0 && errno == ENOENT)
                return 0; /* no /dev at all: nothing to link */
        close(devp);
        devp = vs_rootfs_dir(ctx, "/dev", false, err);
        if (devp < 0)
                return -1;
        _cleanup_close_ int dev = openat(devp, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dev < 0)
                return vs_fail_errno(err, "cannot open /dev in container root");
        static const char *const links[][2] = {
            {"/proc/self/fd", "fd"},
            {"/proc/self/fd/0", "stdin"},
            {"/proc/self/fd/1", "stdout"},
            {"/proc/self/fd/2", "stderr"},
        };
        for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
                if (symlinkat(links[i][0], dev, links[i][1]) < 0 && errno != EEXIST)
                        return vs_fail_errno(err, "cannot create /dev/%s", links[i][1]);
        if (access("/proc/kcore", F_OK) == 0)
                symlinkat("/proc/kcore", dev, "core");
        if (has_mount_at(cfg, "/dev/pts")) {
                /* ptmx of the container's own devpts instance */
                if (unlinkat(dev, "ptmx", 0) < 0 && errno != ENOENT)
                        return vs_fail_errno(err, "cannot replace /dev/ptmx");
                if (symlinkat("pts/ptmx", dev, "ptmx") < 0)
                        return vs_fail_errno(err, "cannot create /dev/ptmx");
        }
        return 0;
}

int vs_rootfs_mount_all(struct vs_rootfs_ctx *ctx, vs_error **err)
{
        const struct oci_config *cfg = ctx->cfg;
        for (size_t i = 0; i < cfg->n_mounts; i++)
                if (mount_one(ctx, &cfg->mounts[i], i, err) < 0)
                        return -1;
        if (setup_dev(ctx, err) < 0)
                return -1;
        if (cfg->process && cfg->process->cwd) {
                _cleanup_close_ int cwd = vs_rootfs_dir(ctx, cfg->process->cwd, true, err);
                if (cwd < 0)
                        return vs_error_wrap(err, "process.cwd");
        }
        return 0;
}

/* ---- after pivot ---- */

static int mask_path(struct vs_rootfs_ctx *ctx, const char *path, int devnull, vs_error **err)
{
        _cleanup_close_ int target = vs_open_in_root(ctx->rootfd, path, O_PATH | O_NOFOLLOW, 0);
        if (target < 0) {
                if (errno == ENOENT)
                        return 0;
                return vs_fail_errno(err, "linux.maskedPaths: %s", path);
        }
        struct stat st;
        if (fstat(target, &st) < 0)
                return vs_fail_errno(err, "linux.maskedPaths: %s", path);
        if (vs_rootfs_check_owner(ctx, target, path, err) < 0)
                return vs_error_wrap(err, "linux.maskedPaths");
        int mfd;
        if (S_ISDIR(st.st_mode))
                mfd = new_fs_mount("tmpfs", "tmpfs", NULL,
                                   MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, path, err);
        else
                mfd = clone_tree(devnull, "", false, 0, 0, "/dev/null", err);
        if (mfd < 0)
                return vs_error_wrap(err, "linux.maskedPaths");
        int r = attach_made(ctx, mfd, target, path, err);
        close(mfd);
        return r < 0 ? vs_error_wrap(err, "linux.maskedPaths") : 0;
}

static int readonly_path(struct vs_rootfs_ctx *ctx, const char *path, vs_error **err)
{
        _cleanup_close_ int target = vs_open_in_root(ctx->rootfd, path, O_PATH | O_NOFOLLOW, 0);
        if (target < 0) {
                if (errno == ENOENT)
                        return 0;
                return vs_fail_errno(err, "linux.readonlyPaths: %s", path);
        }
        if (vs_rootfs_check_owner(ctx, target, path, err) < 0)
                return vs_error_wrap(err, "linux.readonlyPaths");
        _cleanup_close_ int tree = clone_tree(
            target, "", true, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, path, err);
        if (tree < 0 || attach_made(ctx, tree, target, path, err) < 0)
                return vs_error_wrap(err, "linux.readonlyPaths");
        return 0;
}

/* Namespaced sysctls only, and only when the namespace is the container's. */
static int check_sysctl(const struct oci_config *cfg, const char *key, vs_error **err)
{
        const struct oci_namespace *ipc = oci_config_namespace(cfg, OCI_NS_IPC);
        const struct oci_namespace *net = oci_config_namespace(cfg, OCI_NS_NETWORK);
        const struct oci_namespace *uts = oci_config_namespace(cfg, OCI_NS_UTS);
        static const char *const ipc_keys[] = {
            "kernel.msgmax", "kernel.msgmnb",          "kernel.msgmni",
            "kernel.sem",    "kernel.shmall",          "kernel.shmmax",
            "kernel.shmmni", "kernel.shm_rmid_forced", NULL};
        for (size_t i = 0; ipc_keys[i]; i++)
                if (strcmp(key, ipc_keys[i]) == 0) {
                        if (ipc == NULL)
                                return vs_fail(err, "linux.sysctl: %s needs an ipc namespace", key);
                        return 0;
                }
        if (strncmp(key, "fs.mqueue.", 10) == 0) {
                if (ipc == NULL)
                        return vs_fail(err, "linux.sysctl: %s needs an ipc namespace", key);
                return 0;
        }
        if (strncmp(key, "net.", 4) == 0) {
                if (net == NULL)
                        return vs_fail(err, "linux.sysctl: %s needs a network namespace", key);
                return 0;
        }
        if (strcmp(key, "kernel.hostname") == 0 || strcmp(key, "kernel.domainname") == 0) {
                if (uts == NULL)
                        return vs_fail(err, "linux.sysctl: %s needs a uts namespace", key);
                return 0;
        }
        return vs_fail(err, "linux.sysctl: %s is not namespaced: it would change the host", key);
}

static int apply_sysctl(struct vs_rootfs_ctx *ctx, vs_error **err)
{
        const struct oci_linux *l = &ctx->cfg->linux_;
        if (l->n_sysctl == 0)
                return 0;
        _cleanup_close_ int procsys =
            open("/proc/sys", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (procsys < 0 || !vs_fd_is_fs_type(procsys, PROC_SUPER_MAGIC))
                return vs_fail(err, "linux.sysctl: /proc/sys in the container is not procfs");
        for (size_t i = 0; i < l->n_sysctl; i++) {
                const char *key = l->sysctl[i].key;
                if (check_sysctl(ctx->cfg, key, err) < 0)
                        return -1;
                _cleanup_free_ char *rel = xstrdup(key);
                for (char *p = rel; *p; p++)
                        if (*p == '.')
                                *p = '/';
                if (strstr(rel, ".."))
                        return vs_fail(err, "linux.sysctl: bad key %s", key);
                _cleanup_close_ int fd =
                    vs_openat2(procsys, rel, O_WRONLY,
                               RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
                if (fd < 0)
                        return vs_fail_errno(err, "linux.sysctl: %s", key);
                const char *v = l->sysctl[i].value;
                if (write(fd, v, strlen(v)) < 0)
                        return vs_fail_errno(err, "linux.sysctl: cannot set %s to '%s'", key, v);
        }
        return 0;
}

int vs_rootfs_finish(struct vs_rootfs_ctx *ctx, vs_error **err)
{
        const struct oci_linux *l = &ctx->cfg->linux_;
        /* Before /proc/sys becomes read-only through readonlyPaths. */
        if (apply_sysctl(ctx, err) < 0)
                return -1;
        if (l->masked_paths && l->masked_paths[0]) {
                _cleanup_close_ int devnull =
                    vs_open_in_root(ctx->rootfd, "/dev/null", O_PATH | O_NOFOLLOW, 0);
                struct stat st;
                if (devnull < 0 || fstat(devnull, &st) < 0 || !S_ISCHR(st.st_mode) ||
                    st.st_rdev != makedev(1, 3))
                        return vs_fail(err, "linux.maskedPaths: the container's /dev/null is not "
                                            "the null device (1:3); refusing to mask with it");
                /* and the one vessel made on its /dev, not one in a volume */
                if (vs_rootfs_check_owner(ctx, devnull, "/dev/null", err) < 0)
                        return vs_error_wrap(err, "linux.maskedPaths");
                for (size_t i = 0; l->masked_paths[i]; i++)
                        if (mask_path(ctx, l->masked_paths[i], devnull, err) < 0)
                                return -1;
        }
        for (size_t i = 0; l->readonly_paths && l->readonly_paths[i]; i++)
                if (readonly_path(ctx, l->readonly_paths[i], err) < 0)
                        return -1;
        if (l->rootfs_propagation_flags &&
            set_propagation(ctx->rootfd, "/", l->rootfs_propagation_flags, err) < 0)
                return vs_error_wrap(err, "linux.rootfsPropagation");
        return 0;
}

int vs_rootfs_readonly_root(struct vs_rootfs_ctx *ctx, vs_error **err)
{
        if (!ctx->cfg->root_readonly)
                return 0;
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
        if (mount_setattr(ctx->rootfd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                return vs_fail_errno(err, "root.readonly: cannot make / read-only");
        return 0;
}
