/* Filesystem helpers. Paths inside a container root are always resolved
 * through a root fd with openat2(RESOLVE_IN_ROOT), never by string joins. */
#ifndef VESSEL_UTIL_FS_H
#define VESSEL_UTIL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "util/error.h"

/* Reads a whole file (NUL-terminated; *len excludes the NUL). */
int vs_read_file(const char *path, char **out, size_t *len, vs_error **err);
int vs_read_file_at(int dirfd, const char *path, char **out, size_t *len, vs_error **err);

/* Reads a whole regular file at path inside a root someone else controls
 * (a build context, a container's root): resolved with RESOLVE_IN_ROOT, so
 * no symlink leads out of it, and opened only when it is a regular file
 * (vs_open_regular: a FIFO or a device node is refused, never opened). */
int vs_read_regular_in_root(int rootfd, const char *path, char **out, size_t *len, const char *what,
                            vs_error **err);

/* Writes temp file + fsync + rename + fsync of the directory. */
int vs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         vs_error **err);
/* Temp file + fsync + rename, without the directory's fsync: the new
 * content is on disk before the name points at it, so a power cut leaves
 * the old file or the new one, never a torn one, but the rename itself may
 * be lost (the old content stays). For state that a reboot makes stale
 * anyway (a container's running state): one journal commit, not two. */
int vs_write_file_ordered(const char *path, const void *data, size_t len, mode_t mode,
                          vs_error **err);

/* write(2) until everything is written (EINTR retried); -1 with errno. */
int vs_write_all(int fd, const void *data, size_t len);

/* Temp file + rename, without fsync: for volatile runtime state under /run,
 * where readers must never see a half-written file but durability across a
 * crash of the machine is meaningless. */
int vs_write_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                          vs_error **err);
/* An output file the caller names (save -o, --pid-file). A regular file,
 * or a name that does not exist yet, is written atomically: a temp file
 * beside it, renamed over it by vs_output_commit. Anything else already
 * there is written in place and never replaced: a FIFO, a character
 * device (/dev/null, /dev/stdout's terminal or pipe), ... A symlink is
 * followed, as a shell's `>` does, and the rule applied to what
 * it points at: the link stays a link, a regular target is replaced
 * atomically beside itself, a dangling link's target is created in place.
 * A directory is an error. */
struct vs_output {
        int fd;
        char *path; /* what is written: the symlink's target for a symlink */
        char *tmp;  /* the temp file; NULL when writing in place */
};
int vs_output_open(struct vs_output *o, const char *path, mode_t mode, vs_error **err);
/* Closes (fsync first when durable, for the atomic case) and renames the
 * temp file into place; on failure the temp file is removed. */
int vs_output_commit(struct vs_output *o, bool durable, vs_error **err);
/* Closes and removes the temp file (a no-op after commit). */
void vs_output_abort(struct vs_output *o);
/* open + write + commit. */
int vs_write_output(const char *path, const void *data, size_t len, mode_t mode, bool durable,
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

/* Opening a file someone else controls (a container's files, an image's):
 * read it only when it is a regular file, and only the inode that was
 * checked. The entry is opened O_PATH first, which never opens a FIFO (no
 * hang) or a device (no driver side effect, no host data), and its type
 * is checked on that fd; only then is the same inode reopened for reading
 * through /proc/self/fd, O_NONBLOCK|O_NOCTTY. expect, when non-NULL, is a
 * stat taken earlier (the one a header or a decision was made from): its
 * device and inode must be the ones opened, so a file swapped in between
 * (RENAME_EXCHANGE) is refused, not read. *st (may be NULL) receives the
 * opened file's stat.
 *
 * vs_open_regular resolves path from dirfd with openat2's resolve bits
 * (RESOLVE_IN_ROOT for a path inside a root, 0 for one name beside dirfd);
 * flags may add O_NOFOLLOW to refuse a final symlink. vs_reopen_regular
 * takes an O_PATH fd already opened. Both return an O_RDONLY fd, or -1 with
 * *err filled (errno_ ENOENT etc. when the open failed; 0 for "not a
 * regular file" and "replaced"); what names the file in messages. */
int vs_open_regular(int dirfd, const char *path, int flags, unsigned long long resolve,
                    const struct stat *expect, struct stat *st, const char *what, vs_error **err);
int vs_reopen_regular(int pathfd, const struct stat *expect, struct stat *st, const char *what,
                      vs_error **err);
/* "a FIFO", "a character device", ... for messages. */
const char *vs_file_type_name(mode_t mode);

/* "/proc/self/fd/N" for mount(2)'s path arguments. buf >= 32 bytes. */
const char *vs_fd_path(int fd, char *buf, size_t size);

bool vs_path_exists(const char *path);
bool vs_is_dir(const char *path);

/* Returns true when the fd lives on a filesystem whose f_type is magic. */
bool vs_fd_is_fs_type(int fd, unsigned long magic);

/* A path field of /proc/PID/mountinfo, with its \ooo escapes (space, tab,
 * newline, backslash) decoded. Caller frees. */
char *vs_mountinfo_unescape(const char *s);

/* The executable `name` in $PATH's directories (when PATH is unset or
 * empty: /usr/local/bin, /usr/bin, /bin), as a path to free; NULL when
 * none of them holds one. */
char *vs_find_program(const char *name);

#endif
