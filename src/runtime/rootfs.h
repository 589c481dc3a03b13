/* The container's filesystem: mounts, /dev, pivot_root, masked and
 * read-only paths. Every target is resolved inside the root through
 * openat2(RESOLVE_IN_ROOT) and mounted by fd with the new mount API, so a
 * symlink swapped into the image can never redirect a mount to the host. */
#ifndef VESSEL_RUNTIME_ROOTFS_H
#define VESSEL_RUNTIME_ROOTFS_H

#include <stdbool.h>
#include <stdint.h>

#include "oci/config.h"
#include "util/error.h"

/* A mount vessel made in the container: its destination (lexically cleaned)
 * and its mount id. */
struct vs_rootfs_mount {
        char *dest;
        uint64_t mnt_id;
};

struct vs_rootfs_ctx {
        const struct oci_config *cfg;
        bool in_userns; /* mknod is not allowed: bind host devices instead */
        bool no_pivot;
        /* No mount namespace of its own: the mounts are made in the
         * runtime's (recorded and detached at delete, see hostmounts.h),
         * "/" keeps its propagation, and the root is entered by chroot. */
        bool shared_mntns;
        int rootfd; /* O_PATH fd on the bind-mounted root, set by prepare */
        /* In a new user namespace the container's root may not be allowed
         * to walk the host paths above its root and mount sources: the
         * runtime then starts it with its cwd on the root (root_is_cwd)
         * and opens every bind source itself (bind_fds[i]: a detached tree
         * for mounts[i] with its options applied, -1 for other mounts). */
        bool root_is_cwd;
        int *bind_fds;
        size_t n_bind_fds;
        char *cgroup_self; /* /proc/self/cgroup, read once in the container cgroup */
        /* Waits until the runtime has moved us into our cgroup and reads
         * cgroup_self; the mounts call it before the cgroupfs mount. */
        int (*enter_cgroup)(struct vs_rootfs_ctx *ctx, vs_error **err);
        void *enter_arg;
        /* Every mount vessel made, the root first, in order: whatever vessel
         * creates or mounts at path P must lie on the last of these whose
         * destination is P or above it (see rootfs_confine.h). */
        struct vs_rootfs_mount *made;
        size_t n_made;
};

/* Before the mounts: propagation of "/", bind of the root onto itself. */
int vs_rootfs_prepare(struct vs_rootfs_ctx *ctx, vs_error **err);
/* config mounts, default devices, linux.devices, /dev symlinks. */
int vs_rootfs_mount_all(struct vs_rootfs_ctx *ctx, vs_error **err);
/* pivot_root (or MS_MOVE + chroot with no_pivot); cwd is "/" afterwards. */
int vs_rootfs_pivot(struct vs_rootfs_ctx *ctx, vs_error **err);
/* After pivot: masked paths, read-only paths, rootfsPropagation, sysctl. */
int vs_rootfs_finish(struct vs_rootfs_ctx *ctx, vs_error **err);
/* Last: root.readonly. */
int vs_rootfs_readonly_root(struct vs_rootfs_ctx *ctx, vs_error **err);
/* The detached tree a bind mount m attaches, made from its source (by the
 * runtime on the host side, for a container in a new user namespace). */
int vs_rootfs_clone_source(const struct oci_mount *m, size_t idx, vs_error **err);
/* Bind-mounts the file behind fd onto dest (a path inside the current root),
 * creating dest as a file, with the checks of every other mount. Used for
 * /dev/console and for devices in user namespaces. */
int vs_rootfs_bind_fd(struct vs_rootfs_ctx *ctx, int srcfd, const char *dest, vs_error **err);

#endif
