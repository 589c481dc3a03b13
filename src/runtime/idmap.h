/* Idmapped mounts: a user namespace that holds given id mappings, made for
 * MOUNT_ATTR_IDMAP (the namespace is empty: its process is gone once the
 * fd is open), and a bind of a source seen through it. */
#ifndef VESSEL_RUNTIME_IDMAP_H
#define VESSEL_RUNTIME_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "oci/config.h"
#include "util/error.h"

/* Writes maps into /proc/PID/FILE (uid_map or gid_map). */
int vs_idmap_write(pid_t pid, const char *file, const struct oci_id_mapping *m, size_t n,
                   vs_error **err);
/* An fd on a new user namespace with these uid and gid mappings. */
int vs_idmap_userns_fd(const struct oci_id_mapping *uid, size_t n_uid,
                       const struct oci_id_mapping *gid, size_t n_gid, vs_error **err);
/* Makes the detached mount tree_fd idmapped through userns_fd. */
int vs_idmap_apply(int tree_fd, int userns_fd, bool recursive, const char *what, vs_error **err);
/* A detached, idmapped (through userns_fd) bind of path under dirfd, or
 * of dirfd itself when path is "" (not recursive): its fd, which keeps it
 * alive (closing the last one dissolves it). what names it in errors. */
int vs_idmap_clone(int dirfd, const char *path, int userns_fd, const char *what, vs_error **err);

/* True when this process is in a user namespace other than the initial
 * one (its uid_map is not the identity over all ids): root there cannot
 * make cgroups or device nodes on the host (the rootless engine). */
bool vs_in_user_namespace(void);
/* Unprivileged on the host: not root, or root of a user namespace. */
bool vs_host_unprivileged(void);

#endif
