/* Mounts a container without a mount namespace of its own leaves in the
 * runtime's (the caller's) mount namespace: its config mounts and /dev land
 * beneath root.path there. create records the ones that appeared (by mount
 * id) in the state directory; delete detaches exactly those. */
#ifndef VESSEL_RUNTIME_HOSTMOUNTS_H
#define VESSEL_RUNTIME_HOSTMOUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct vs_mount_ids {
        uint64_t *ids;
        size_t n;
};

/* <root>/<id>/host-mounts: "mount-id path" lines. Caller frees. */
char *vs_host_mounts_file(const char *root, const char *id);

/* Ids of the mounts at or beneath path in this process's namespace. */
int vs_host_mounts_list(const char *path, struct vs_mount_ids *out, vs_error **err);
void vs_mount_ids_free(struct vs_mount_ids *m);

/* Writes to file the mounts at or beneath path that are not in before. */
int vs_host_mounts_record(const char *file, const char *path, const struct vs_mount_ids *before,
                          vs_error **err);

/* Detaches the mounts recorded in file (newest first) that still exist and
 * are still reachable at their path without a symlink; a missing file is
 * nothing to do. */
void vs_host_mounts_release(const char *file);

/* Detaches the mounts at or beneath path that are not in before (a failed
 * create). */
void vs_host_mounts_release_new(const char *path, const struct vs_mount_ids *before);

#endif
