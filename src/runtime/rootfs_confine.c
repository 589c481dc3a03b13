#include "runtime/rootfs_confine.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

char *vs_clean_path(const char *path)
{
        size_t len = strlen(path);
        char *out = xmalloc(len + 2);
        size_t n = 0;
        const char *p = path;
        while (*p) {
                while (*p == '/')
                        p++;
                const char *end = strchrnul(p, '/');
                size_t l = (size_t) (end - p);
                if (l == 0 || (l == 1 && p[0] == '.')) {
                        /* nothing */
                } else if (l == 2 && p[0] == '.' && p[1] == '.') {
                        while (n > 0 && out[n - 1] != '/')
                                n--;
                        if (n > 0)
                                n--;
                } else {
                        out[n++] = '/';
                        memcpy(out + n, p, l);
                        n += l;
                }
                p = end;
        }
        if (n == 0)
                out[n++] = '/';
        out[n] = '\0';
        return out;
}

/* Is anc (clean) path itself or one of its ancestors? */
static bool covers(const char *anc, const char *path)
{
        if (strcmp(anc, "/") == 0)
                return true;
        size_t l = strlen(anc);
        return strncmp(anc, path, l) == 0 && (path[l] == '\0' || path[l] == '/');
}

struct ident {
        uint64_t mnt;
        uint64_t ino;
        uint32_t dev_major, dev_minor;
        uint16_t mode;
};

static int identify(int fd, struct ident *id)
{
        struct statx stx;
        if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
                  STATX_MNT_ID | STATX_INO | STATX_TYPE, &stx) < 0)
                return -1;
        if (!(stx.stx_mask & STATX_MNT_ID)) {
                errno = ENOSYS; /* Linux < 5.8 */
                return -1;
        }
        *id = (struct ident){.mnt = stx.stx_mnt_id,
                             .ino = stx.stx_ino,
                             .dev_major = stx.stx_dev_major,
                             .dev_minor = stx.stx_dev_minor,
                             .mode = stx.stx_mode};
        return 0;
}

static bool same(const struct ident *a, const struct ident *b)
{
        return a->mnt == b->mnt && a->ino == b->ino && a->dev_major == b->dev_major &&
               a->dev_minor == b->dev_minor;
}

int vs_rootfs_record(struct vs_rootfs_ctx *ctx, const char *dest, int fd, vs_error **err)
{
        struct ident id;
        if (identify(fd, &id) < 0)
                return vs_fail_errno(err, "cannot read the mount id of %s", dest);
        ctx->made = xrealloc(ctx->made, (ctx->n_made + 1) * sizeof(*ctx->made));
        ctx->made[ctx->n_made++] = (struct vs_rootfs_mount){vs_clean_path(dest), id.mnt};
        return 0;
}

static const struct vs_rootfs_mount *made_with_id(const struct vs_rootfs_ctx *ctx, uint64_t id)
{
        /* The last: a mount id names one mount while it exists. */
        for (size_t i = ctx->n_made; i-- > 0;)
                if (ctx->made[i].mnt_id == id)
                        return &ctx->made[i];
        return NULL;
}

static const struct vs_rootfs_mount *owner_by_path(const struct vs_rootfs_ctx *ctx,
                                                   const char *clean)
{
        for (size_t i = ctx->n_made; i-- > 0;)
                if (covers(ctx->made[i].dest, clean))
                        return &ctx->made[i];
        return NULL;
}

/* The parent of mount id in this mount namespace (0 when id is its root or
 * is not listed). */
static int parent_mount(uint64_t id, uint64_t *parent, vs_error **err)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return vs_fail_errno(err, "cannot read /proc/self/mountinfo");
        char *line = NULL;
        size_t cap = 0;
        bool found = false;
        while (!found && getline(&line, &cap, f) > 0) {
                uint64_t m, p;
                if (sscanf(line, "%" SCNu64 " %" SCNu64, &m, &p) == 2 && m == id) {
                        *parent = p == m ? 0 : p;
                        found = true;
                }
        }
        free(line);
        /* A parent outside this namespace's view (the mount a host root was
         * pivoted from) ends the walk like the namespace's root does. */
        if (!found)
                *parent = 0;
        return 0;
}

/* The mount vessel made that fd lies on: its own mount's, or that of the
 * nearest ancestor mount vessel made (submounts of a recursive bind). */
static int owner_by_fd(const struct vs_rootfs_ctx *ctx, int fd, const struct vs_rootfs_mount **out,
                       vs_error **err)
{
        struct ident id;
        if (identify(fd, &id) < 0)
                return vs_fail_errno(err, "cannot read a mount id");
        uint64_t mnt = id.mnt;
        for (int depth = 0; mnt != 0 && depth < 4096; depth++) {
                const struct vs_rootfs_mount *m = made_with_id(ctx, mnt);
                if (m) {
                        *out = m;
                        return 0;
                }
                if (parent_mount(mnt, &mnt, err) < 0)
                        return -1;
        }
        *out = NULL;
        return 0;
}

int vs_rootfs_check_owner(struct vs_rootfs_ctx *ctx, int fd, const char *path, vs_error **err)
{
        _cleanup_free_ char *clean = vs_clean_path(path);
        const struct vs_rootfs_mount *want = owner_by_path(ctx, clean), *got = NULL;
        if (owner_by_fd(ctx, fd, &got, err) < 0)
                return vs_error_wrap(err, "%s", clean);
        if (want && got == want)
                return 0;
        if (got == NULL)
                return vs_fail(err,
                               "%s resolves outside every filesystem vessel mounted in the "
                               "container: refusing to create or mount anything there",
                               clean);
        return vs_fail(err,
                       "%s resolves into the filesystem mounted at %s, not onto the one vessel "
                       "mounted at %s (a symlink leads out of it): refusing to create or mount "
                       "anything there",
                       clean, got->dest, want ? want->dest : "/");
}

int vs_rootfs_dir(struct vs_rootfs_ctx *ctx, const char *path, bool create, vs_error **err)
{
        _cleanup_free_ char *clean = vs_clean_path(path);
        _cleanup_free_ char *full = xstrdup(clean);
        _cleanup_close_ int cur = vs_open_in_root(ctx->rootfd, "/", O_PATH | O_DIRECTORY, 0);
        if (cur < 0)
                return vs_fail_errno(err, "cannot open the container root");
        char *walk = clean;
        for (;;) {
                while (*walk == '/')
                        walk++;
                if (*walk == '\0')
                        break;
                char *end = strchrnul(walk, '/');
                char saved = *end;
                *end = '\0';
                /* Each prefix from the root again: symlinks in the image are
                 * followed but can never leave it. */
                int next = vs_open_in_root(ctx->rootfd, clean, O_PATH | O_DIRECTORY, 0);
                if (next < 0 && errno == ENOENT && create) {
                        /* The directory that receives the new entry. */
                        char keep = walk[-1];
                        walk[-1] = '\0';
                        int r =
                            vs_rootfs_check_owner(ctx, cur, walk == clean + 1 ? "/" : clean, err);
                        walk[-1] = keep;
                        if (r < 0)
                                return vs_error_wrap(err, "%s", full);
                        if (mkdirat(cur, walk, 0755) < 0 && errno != EEXIST)
                                return vs_fail_errno(
                                    err, "cannot create directory %s in container root", clean);
                        next = vs_open_in_root(ctx->rootfd, clean, O_PATH | O_DIRECTORY, 0);
                }
                if (next < 0)
                        return vs_fail_errno(err, "cannot open %s in container root", clean);
                close(cur);
                cur = next;
                *end = saved;
                walk = end;
        }
        if (vs_rootfs_check_owner(ctx, cur, clean, err) < 0)
                return -1;
        return steal_fd(cur);
}

int vs_rootfs_parent(struct vs_rootfs_ctx *ctx, const char *path, char **name, vs_error **err)
{
        _cleanup_free_ char *clean = vs_clean_path(path);
        char *slash = strrchr(clean, '/');
        if (slash[1] == '\0')
                return vs_fail(err, "%s: not a path to a file", path);
        *slash = '\0';
        _cleanup_close_ int parent = vs_rootfs_dir(ctx, *clean ? clean : "/", true, err);
        if (parent < 0)
                return -1;
        /* A readable directory fd, as fchownat and the callers expect. */
        int dir = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return vs_fail_errno(err, "cannot open %s in container root", *clean ? clean : "/");
        *name = xstrdup(slash + 1);
        return dir;
}

int vs_rootfs_mount_target(struct vs_rootfs_ctx *ctx, const char *path, bool is_file,
                           vs_error **err)
{
        if (!is_file)
                return vs_rootfs_dir(ctx, path, true, err);
        _cleanup_free_ char *clean = vs_clean_path(path);
        _cleanup_close_ int fd = vs_open_in_root(ctx->rootfd, clean, O_PATH, 0);
        if (fd < 0 && errno == ENOENT) {
                _cleanup_free_ char *name = NULL;
                _cleanup_close_ int dir = vs_rootfs_parent(ctx, clean, &name, err);
                if (dir < 0)
                        return -1;
                int f =
                    openat(dir, name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (f < 0 && errno != EEXIST)
                        return vs_fail_errno(err, "cannot create mount target %s in container root",
                                             clean);
                if (f >= 0)
                        close(f);
                fd = vs_open_in_root(ctx->rootfd, clean, O_PATH, 0);
        }
        if (fd < 0)
                return vs_fail_errno(err, "cannot open %s in container root", clean);
        if (vs_rootfs_check_owner(ctx, fd, clean, err) < 0)
                return -1;
        return steal_fd(fd);
}

/* ---- kernel filesystems ---- */

static bool fd_fs_is(int fd, unsigned long magic)
{
        struct statfs sfs;
        return fstatfs(fd, &sfs) == 0 && (unsigned long) sfs.f_type == magic;
}

/* Is target the place /proc (or /sys) resolves to in the container, or
 * (below) a directory beneath it? Compared by identity, so that it holds
 * whether or not the kernel filesystem is mounted there yet, and whatever
 * symlinks lead there. */
static int where(struct vs_rootfs_ctx *ctx, int target, const char *place, bool *at, bool *below)
{
        *at = *below = false;
        _cleanup_close_ int p = vs_open_in_root(ctx->rootfd, place, O_PATH, 0);
        if (p < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
        struct ident want, root, cur;
        if (identify(p, &want) < 0 || identify(ctx->rootfd, &root) < 0 ||
            identify(target, &cur) < 0)
                return -1;
        if (same(&cur, &want)) {
                *at = true;
                return 0;
        }
        if (!S_ISDIR(cur.mode))
                return 0;
        _cleanup_close_ int fd = fcntl(target, F_DUPFD_CLOEXEC, 3);
        for (int depth = 0; fd >= 0 && depth < 4096 && !same(&cur, &root); depth++) {
                int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                struct ident u;
                if (up < 0 || identify(up, &u) < 0) {
                        if (up >= 0)
                                close(up);
                        return -1;
                }
                close(fd);
                fd = up;
                if (same(&u, &want)) {
                        *below = true;
                        return 0;
                }
                if (same(&u, &cur))
                        break; /* the top of the namespace */
                cur = u;
        }
        return 0;
}

int vs_rootfs_check_kernel_target(struct vs_rootfs_ctx *ctx, int target, const char *dest,
                                  const char *fstype, int srcfd, vs_error **err)
{
        /* The files lxcfs emulates: runc allows binds onto these only. */
        static const char *const lxcfs[] = {
            "/proc/cpuinfo",
            "/proc/diskstats",
            "/proc/meminfo",
            "/proc/stat",
            "/proc/swaps",
            "/proc/uptime",
            "/proc/loadavg",
            "/proc/slabinfo",
            "/proc/sys/kernel/ns_last_pid",
            "/proc/sys/crypto/fips_enabled",
        };
        _cleanup_free_ char *clean = vs_clean_path(dest);
        bool at, below;
        if (where(ctx, target, "/proc", &at, &below) < 0)
                return vs_fail_errno(err, "%s: cannot tell whether it is in /proc", clean);
        const char *what = srcfd >= 0 ? "a bind mount" : fstype ? fstype : "this filesystem";
        if (at) {
                if (srcfd >= 0 ? fd_fs_is(srcfd, PROC_SUPER_MAGIC) : strcmp(fstype, "proc") == 0)
                        return 0;
                return vs_fail(err,
                               "%s is where the container's procfs belongs: only procfs may be "
                               "mounted there, not %s%s",
                               clean, what, srcfd >= 0 ? " of a source that is not procfs" : "");
        }
        if (below || fd_fs_is(target, PROC_SUPER_MAGIC)) {
                for (size_t i = 0; i < sizeof(lxcfs) / sizeof(lxcfs[0]); i++)
                        if (strcmp(clean, lxcfs[i]) == 0)
                                return 0;
                return vs_fail(err,
                               "%s is inside procfs: refusing to mount %s over kernel "
                               "interfaces",
                               clean, what);
        }
        if (where(ctx, target, "/sys", &at, &below) < 0)
                return vs_fail_errno(err, "%s: cannot tell whether it is /sys", clean);
        if (at && !(srcfd >= 0 ? fd_fs_is(srcfd, SYSFS_MAGIC) : strcmp(fstype, "sysfs") == 0))
                return vs_fail(err,
                               "%s is where the container's sysfs belongs: only sysfs may be "
                               "mounted there, not %s%s",
                               clean, what, srcfd >= 0 ? " of a source that is not sysfs" : "");
        return 0;
}
