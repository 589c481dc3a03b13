/* Filesystem helpers. Paths inside a container root are always resolved
 * through a root fd with openat2(RESOLVE_IN_ROOT), never by string joins. */
#ifndef VESSEL_UTIL_FS_H
#define VESSEL_UTIL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

/* Reads a whole file (NUL-terminated; *len excludes the NUL). */
int vs_read_file(const char *path, char **out, size_t *len, vs_error **err);
int vs_read_file_at(int dirfd, const char *path, char **out, size_t *len, vs_error **err);

/* Writes temp file + fsync + rename + fsync of the directory. */
int vs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         vs_error **err);
/* write(2) until everything is written (EINTR retried); -1 with errno. */
int vs_write_all(int fd, const void *data, size_t len);

/* Temp file + rename, without fsync: for volatile runtime state under /run,
 * where readers must never see a half-written file but durability across a
 * crash of the machine is meaningless. */
int vs_write_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                          vs_error **err);
/* Plain open(O_WRONLY|O_TRUNC)+write, for procfs/cgroupfs/sysfs files. */
int vs_write_file_at(int dirfd, const char *path, const void *data, size_t len, vs_error **err);

int vs_mkdir_p(const char *path, mode_t mode, vs_error **err);
/* open(path, flags|O_CLOEXEC, mode) + an exclusive flock (EINTR retried):
 * the fd to close, or -1 with "cannot open/lock PATH". */
int vs_lock_open(const char *path, int flags, mode_t mode, vs_error **err);
/* Removes a tree without following symlinks. ENOENT is not an error. */
int vs_rm_rf(const char *path, vs_error **err);
int vs_rm_rf_at(int dirfd, const char *name, vs_error **err);

/* openat2(rootfd, path, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS). path may be
 * absolute: it is taken relative to the root. Returns fd or -1 with errno
 * (no vs_error: callers decide how to word the failure). */
int vs_open_in_root(int rootfd, const char *path, int flags, mode_t mode);

/* openat2(dirfd, path, flags|O_CLOEXEC, resolve) with EAGAIN retried;
 * resolve takes RESOLVE_* bits. Returns fd or -1 with errno. */
int vs_openat2(int dirfd, const char *path, int flags, unsigned long long resolve);

/* Creates every missing directory of path inside rootfd, each step confined
 * to the root, and returns an O_PATH|O_DIRECTORY fd on the last one. */
int vs_mkdir_p_in_root(int rootfd, const char *path, mode_t mode, vs_error **err);

/* Ensures a mount target exists inside the root: a directory, or (when
 * is_file) an empty regular file whose parents are created as directories.
 * Returns an O_PATH fd on the target. */
int vs_mount_target_in_root(int rootfd, const char *path, bool is_file, vs_error **err);

/* "/proc/self/fd/N" for mount(2)'s path arguments. buf >= 32 bytes. */
const char *vs_fd_path(int fd, char *buf, size_t size);

bool vs_path_exists(const char *path);
bool vs_is_dir(const char *path);

/* Returns true when the fd lives on a filesystem whose f_type is magic. */
bool vs_fd_is_fs_type(int fd, unsigned long magic);

#endif
