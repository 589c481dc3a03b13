/* Where the runtime may write while it builds a container's filesystem.
 *
 * The image and the volumes are hostile: a symlink in the image (/dev ->
 * /data) can send a path the runtime resolves into a volume, a bind of host
 * storage, or a kernel filesystem. Resolving inside the root
 * (RESOLVE_IN_ROOT) keeps such paths in the container, but not on the right
 * filesystem. So every mount vessel makes is recorded with its mount id, and
 * whatever vessel creates (directories, files, device nodes, symlinks) or
 * mounts on at a path P must lie on the mount that owns P: the last one
 * vessel made at P or above it (lexically), or a mount below that one that
 * vessel did not make (the submounts a recursive bind brings). A path that
 * a symlink leads onto another mount is refused, never followed there.
 *
 * And mounts over kernel interfaces: only procfs may be mounted on /proc,
 * only sysfs on /sys, and nothing inside procfs but the files lxcfs
 * emulates (runc's rule). */
#ifndef VESSEL_RUNTIME_ROOTFS_CONFINE_H
#define VESSEL_RUNTIME_ROOTFS_CONFINE_H

#include <stdbool.h>

#include "runtime/rootfs.h"
#include "util/error.h"

/* "/a//b/./c/../d/" -> "/a/b/d" (malloc'd); ".." never climbs above "/". */
char *vs_clean_path(const char *path);

/* Records the mount behind fd (an attached mount, or the root) as made by
 * vessel at dest. */
int vs_rootfs_record(struct vs_rootfs_ctx *ctx, const char *dest, int fd, vs_error **err);

/* Refuses unless fd lies on the mount that owns path (see above). */
int vs_rootfs_check_owner(struct vs_rootfs_ctx *ctx, int fd, const char *path, vs_error **err);

/* O_PATH|O_DIRECTORY fd on the directory path, creating what is missing
 * (0755) when create is set. Each directory created and the result are
 * checked with vs_rootfs_check_owner. */
int vs_rootfs_dir(struct vs_rootfs_ctx *ctx, const char *path, bool create, vs_error **err);

/* O_RDONLY|O_DIRECTORY fd on the (created, checked) parent of path, for
 * creating its last component, returned in *name (malloc'd). */
int vs_rootfs_parent(struct vs_rootfs_ctx *ctx, const char *path, char **name, vs_error **err);

/* O_PATH fd on a mount target: a directory, or (is_file) a file created
 * empty when missing; checked with vs_rootfs_check_owner. */
int vs_rootfs_mount_target(struct vs_rootfs_ctx *ctx, const char *path, bool is_file,
                           vs_error **err);

/* What is about to be mounted on target (dest as configured): a new
 * filesystem of type fstype, or (srcfd >= 0) a bind of srcfd. Refuses
 * anything but procfs on /proc, anything but sysfs on /sys, and anything
 * inside procfs except the files lxcfs emulates. */
int vs_rootfs_check_kernel_target(struct vs_rootfs_ctx *ctx, int target, const char *dest,
                                  const char *fstype, int srcfd, vs_error **err);

#endif
