/* QEMU's own ids on the OCI path (docs/vm.md, "QEMU's own ids"): a bundle's
 * root is the caller's (podman's, Docker's, containerd's) overlay mount,
 * which cannot be idmapped (the kernel refuses an overlay mount
 * MOUNT_ATTR_IDMAP), so QEMU's jail mounts an overlay of its own over the
 * same layers, each an idmapped mount, with overlay's index off (the upper
 * dir is the caller's overlay's too: with the index on, the kernel refuses
 * a second user of it). A root that is a plain directory is an idmapped
 * bind as an engine VM's volumes are. The host ids come from a block of
 * their own, slots recorded machine-wide (the runtime has no data root and
 * each caller its own state root). */
#include "vm/vm.h"
#include "image/image.h"
#include "runtime/idmap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the id slots ---- */

/* systemd's unused block 0x70000000-0x7fffffff (its UIDS-GIDS.md): the
 * engine's VMs take its first 1024 ranges of 65536 ids (userns.c), the
 * OCI runtime's the next 1024, so the two never hand out the same ids. */
#define OCI_IDS_START 0x74000000u
#define OCI_IDS_SLOTS 1024

static const char *ids_dir(void)
{
        const char *d = getenv("VESSEL_VM_IDS_DIR");
        return d && *d ? d : VS_VM_OCI_IDS_DIR;
}

/* Calls fn for each slot record ("slot-K", holding the state dir it was
 * taken for), the directory locked. */
static int
each_slot(int dfd, void (*fn)(int dfd, const char *name, unsigned k, const char *owner, void *arg),
          void *arg, vs_error **err)
{
        int d2 = dup(dfd);
        DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
        if (d == NULL) {
                if (d2 >= 0)
                        close(d2);
                return vs_fail_errno(err, "cannot read %s", ids_dir());
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                unsigned k;
                char end;
                if (sscanf(de->d_name, "slot-%u%c", &k, &end) != 1 || k >= OCI_IDS_SLOTS)
                        continue;
                char owner[PATH_MAX] = "";
                int fd = openat(dfd, de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        continue;
                ssize_t n = read(fd, owner, sizeof(owner) - 1);
                close(fd);
                owner[n > 0 ? n : 0] = '\0';
                fn(dfd, de->d_name, k, owner, arg);
        }
        closedir(d);
        return 0;
}

static int open_locked(int *lock, vs_error **err)
{
        const char *dir = ids_dir();
        if (vs_mkdir_p(dir, 0700, err) < 0)
                return -1;
        _cleanup_free_ char *lp = xasprintf("%s/.lock", dir);
        *lock = vs_lock_open(lp, O_RDWR | O_CREAT, 0600, err);
        if (*lock < 0)
                return -1;
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                close(steal_fd(*lock));
                return vs_fail_errno(err, "cannot open %s", dir);
        }
        return dfd;
}

/* A slot whose state directory is gone (a runtime killed before delete)
 * is free again. */
static void mark_used(int dfd, const char *name, unsigned k, const char *owner, void *arg)
{
        bool *used = arg;
        if (*owner == '/' && access(owner, F_OK) < 0 && errno == ENOENT) {
                unlinkat(dfd, name, 0);
                return;
        }
        used[k] = true;
}

int vs_vm_oci_ids_allocate(const char *state_dir, uint32_t *start, vs_error **err)
{
        _cleanup_close_ int lock = -1;
        _cleanup_close_ int dfd = open_locked(&lock, err);
        if (dfd < 0)
                return -1;
        bool used[OCI_IDS_SLOTS] = {false};
        if (each_slot(dfd, mark_used, used, err) < 0)
                return -1;
        unsigned k = 0;
        while (k < OCI_IDS_SLOTS && used[k])
                k++;
        if (k == OCI_IDS_SLOTS)
                return vs_fail(err,
                               "no free range of %d ids for QEMU left in %s (%d VM containers "
                               "hold one)",
                               VS_VM_JAIL_IDS, ids_dir(), OCI_IDS_SLOTS);
        char name[32];
        snprintf(name, sizeof(name), "slot-%u", k);
        _cleanup_free_ char *path = xasprintf("%s/%s", ids_dir(), name);
        if (vs_write_file_atomic(path, state_dir, strlen(state_dir), 0600, err) < 0)
                return -1;
        *start = OCI_IDS_START + k * (uint32_t) VS_VM_JAIL_IDS;
        return 0;
}

static void drop_owned(int dfd, const char *name, unsigned k, const char *owner, void *arg)
{
        (void) k;
        if (strcmp(owner, (const char *) arg) == 0)
                unlinkat(dfd, name, 0);
}

void vs_vm_oci_ids_release(const char *state_dir)
{
        /* A rootless runtime takes none (and may not open the lock). */
        if (vs_host_unprivileged() || access(ids_dir(), F_OK) < 0)
                return;
        _cleanup_error_ vs_error *err = NULL;
        _cleanup_close_ int lock = -1;
        _cleanup_close_ int dfd = open_locked(&lock, &err);
        if (dfd < 0 || each_slot(dfd, drop_owned, (void *) state_dir, &err) < 0)
                vs_warn("cannot release QEMU's ids of %s: %s", state_dir, err->msg);
}

/* ---- the caller's overlay ---- */

void vs_vm_overlay_free(struct vs_vm_overlay *ov)
{
        if (ov == NULL)
                return;
        strv_free(ov->lowers);
        free(ov->base);
        free(ov->upper);
        free(ov->work);
        free(ov->work_path);
        free(ov->opts);
        free(ov);
}

/* Options of the caller's overlay that change how its upper dir reads and
 * so must be the same on ours. */
static const char *const kept_options[] = {"metacopy", "redirect_dir", "userxattr", "volatile",
                                           "xino"};

static int parse_options(const char *root, char *opts, struct vs_vm_overlay *ov, vs_error **err)
{
        char *save = NULL;
        _cleanup_free_ char *lower = NULL, *upper = NULL;
        for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(o, '=');
                size_t klen = eq ? (size_t) (eq - o) : strlen(o);
                _cleanup_free_ char *v = eq ? vs_mountinfo_unescape(eq + 1) : NULL;
                if (klen == 8 && strncmp(o, "lowerdir", 8) == 0)
                        lower = steal_ptr(v);
                else if (klen == 8 && strncmp(o, "upperdir", 8) == 0)
                        upper = steal_ptr(v);
                for (size_t i = 0; i < sizeof(kept_options) / sizeof(kept_options[0]); i++) {
                        if (strlen(kept_options[i]) != klen || strncmp(o, kept_options[i], klen))
                                continue;
                        char *prev = ov->opts;
                        ov->opts = xasprintf("%s,%s", prev ? prev : "", o);
                        free(prev);
                }
        }
        if (lower == NULL)
                return vs_fail(err, "%s: an overlay without lowerdir", root);
        /* ':' separates layers; a layer path with an escaped ':' or ','
         * (a backslash left) or a relative one (the caller's mount made
         * from its own directory) cannot be opened from here. */
        if (strstr(lower, "::") || strchr(lower, '\\'))
                return vs_fail(err, "%s: overlay layers this runtime cannot name", root);
        char *s2 = NULL;
        for (char *l = strtok_r(lower, ":", &s2); l; l = strtok_r(NULL, ":", &s2)) {
                /* /proc/self/fd/N names the mounter's fd: here, ours. */
                if (*l != '/' || strncmp(l, "/proc/", 6) == 0)
                        return vs_fail(err, "%s: overlay layer %s cannot be opened from here", root,
                                       l);
                strv_push(&ov->lowers, l);
        }
        if (upper == NULL)
                return 0;
        /* QEMU's overlay has a work dir of its own beside the upper dir
         * (overlay wants both on one mount: one idmapped clone of their
         * directory holds both): the caller's is busy, and a volatile one
         * cannot be mounted again while it holds its mark. */
        char *slash = strrchr(upper, '/');
        if (*upper != '/' || strncmp(upper, "/proc/", 6) == 0 || slash == upper || slash[1] == '\0')
                return vs_fail(err, "%s: the overlay's upper dir %s has no directory above it",
                               root, upper);
        ov->base = xstrndup(upper, (size_t) (slash - upper));
        ov->upper = xstrdup(slash + 1);
        /* One clone of base must hold the upper dir itself, not what a
         * mount on it hides. */
        struct statx a, b;
        if (statx(AT_FDCWD, ov->base, 0, STATX_MNT_ID, &a) < 0 ||
            statx(AT_FDCWD, upper, 0, STATX_MNT_ID, &b) < 0)
                return vs_fail_errno(err, "%s: cannot look at the overlay's upper dir %s", root,
                                     upper);
        if (a.stx_mnt_id != b.stx_mnt_id)
                return vs_fail(err, "%s: the overlay's upper dir %s is a mount of its own", root,
                               upper);
        ov->work = xasprintf("vessel-vm-work-%016" PRIx64, vs_fnv1a(upper));
        ov->work_path = xasprintf("%s/%s", ov->base, ov->work);
        return 0;
}

int vs_vm_overlay_of(const char *root, struct vs_vm_overlay **out, vs_error **err)
{
        *out = NULL;
        struct statx stx;
        if (statx(AT_FDCWD, root, 0, STATX_MNT_ID, &stx) < 0 || !(stx.stx_mask & STATX_MNT_ID))
                return vs_fail_errno(err, "cannot find the mount of %s", root);
        _cleanup_free_ char *real = realpath(root, NULL);
        _cleanup_free_ char *text = NULL;
        if (real == NULL || vs_read_file("/proc/self/mountinfo", &text, NULL, err) < 0)
                return real ? -1 : vs_fail_errno(err, "%s", root);
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *f[6] = {NULL}, *s3 = NULL, *tok = strtok_r(line, " ", &s3);
                for (int i = 0; i < 6 && tok; i++, tok = strtok_r(NULL, " ", &s3))
                        f[i] = tok;
                if (f[5] == NULL || strtoull(f[0], NULL, 10) != stx.stx_mnt_id)
                        continue;
                while (tok && strcmp(tok, "-") != 0) /* the optional fields */
                        tok = strtok_r(NULL, " ", &s3);
                char *fstype = strtok_r(NULL, " ", &s3);
                char *source = fstype ? strtok_r(NULL, " ", &s3) : NULL;
                char *opts = source ? strtok_r(NULL, " ", &s3) : NULL;
                if (opts == NULL)
                        return vs_fail(err, "/proc/self/mountinfo: cannot read the mount of %s",
                                       root);
                if (strcmp(fstype, "overlay") != 0)
                        return 0; /* a plain directory */
                _cleanup_free_ char *mp = vs_mountinfo_unescape(f[4]);
                if (strcmp(f[3], "/") != 0 || strcmp(mp, real) != 0)
                        return vs_fail(err, "%s: a directory inside an overlay mount", root);
                struct vs_vm_overlay *ov = xcalloc(1, sizeof(*ov));
                if (parse_options(root, opts, ov, err) < 0) {
                        vs_vm_overlay_free(ov);
                        return -1;
                }
                *out = ov;
                return 0;
        }
        return vs_fail(err, "the mount of %s is not in /proc/self/mountinfo", root);
}

int vs_vm_overlay_mount(const struct vs_vm_overlay *ov, const char *target, int idmap_fd, uid_t uid,
                        gid_t gid, unsigned long flags, vs_error **err)
{
        size_t n = strv_len(ov->lowers);
        int *fds = xcalloc(n + 3, sizeof(int));
        size_t nfd = 0;
        int ret = -1;
        size_t cap = 256 + 24 * n + (ov->opts ? strlen(ov->opts) : 0);
        _cleanup_free_ char *data = xmalloc(cap);
        size_t o = (size_t) snprintf(data, cap, "lowerdir=");
        for (size_t i = 0; i < n; i++) {
                if ((fds[nfd] =
                         vs_idmap_clone(AT_FDCWD, ov->lowers[i], idmap_fd, ov->lowers[i], err)) < 0)
                        goto out;
                o += (size_t) snprintf(data + o, cap - o, "%s/proc/self/fd/%d", i ? ":" : "",
                                       fds[nfd++]);
        }
        if (ov->base) {
                if ((fds[nfd] = vs_idmap_clone(AT_FDCWD, ov->base, idmap_fd, ov->base, err)) < 0)
                        goto out;
                int base = fds[nfd++];
                int u = fds[nfd++] = openat(base, ov->upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
                int w = fds[nfd++] = openat(base, ov->work, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (u < 0 || w < 0) {
                        vs_fail_errno(err, "cannot open the overlay's upper and work dirs in %s",
                                      ov->base);
                        goto out;
                }
                o += (size_t) snprintf(data + o, cap - o,
                                       ",upperdir=/proc/self/fd/%d,workdir=/proc/self/fd/%d", u, w);
        }
        o += (size_t) snprintf(data + o, cap - o, ",index=off%s", ov->opts ? ov->opts : "");
        if ((long) o >= sysconf(_SC_PAGESIZE)) {
                vs_fail(err, "cannot mount %zu layers: the overlay options exceed a page", n);
                goto out;
        }
        /* The overlay works on its upper dir with its mounter's
         * credentials: ids the idmapped upper can hold. */
        if (vs_rootfs_become_mapped_root(uid, gid, err) < 0)
                goto out;
        int r = mount("overlay", target, "overlay", flags, data);
        int e = errno;
        vs_rootfs_become_host_root();
        if (r < 0) {
                vs_error_set(err, e, "cannot mount an overlay of idmapped layers on %s", target);
                goto out;
        }
        ret = 0;
out:
        for (size_t i = 0; i < nfd; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        free(fds);
        return ret;
}

int vs_vm_overlay_prepare_work(const struct vs_vm_overlay *ov, vs_error **err)
{
        if (ov->work_path == NULL)
                return 0;
        if (vs_rm_rf(ov->work_path, err) < 0)
                return -1;
        if (mkdir(ov->work_path, 0700) < 0)
                return vs_fail_errno(err, "cannot create %s", ov->work_path);
        return 0;
}

void vs_vm_overlay_remove_work(const struct vs_vm_overlay *ov)
{
        _cleanup_error_ vs_error *err = NULL;
        if (ov && ov->work_path && vs_rm_rf(ov->work_path, &err) < 0)
                vs_warn("%s", err->msg);
}

int vs_vm_oci_idmappable(const char *path, int idmap_fd, vs_error **err)
{
        int t = vs_idmap_clone(AT_FDCWD, path, idmap_fd, path, err);
        if (t < 0)
                return -1;
        close(t);
        return 0;
}
