/* Helpers shared by the layer and rootfs code (layer*.c, rootfs*.c,
 * commit.c); not part of the image interface. */
#ifndef VESSEL_IMAGE_LAYER_INTERNAL_H
#define VESSEL_IMAGE_LAYER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "image/image.h"
#include "image/libs.h"
#include "image/store.h"
#include "util/dio.h"
#include "util/error.h"

#define VS_WHITEOUT_PREFIX ".wh."
#define VS_WHITEOUT_OPAQUE ".wh..wh..opq"
#define VS_WHITEOUT_META   ".wh..wh."
#define VS_OVERLAY_XATTR   "trusted.overlay."
#define VS_OVERLAY_OPAQUE  "trusted.overlay.opaque"
/* In a user namespace (the rootless engine) overlay is mounted with
 * userxattr and keeps its xattrs in the user.overlay. namespace. */
#define VS_OVERLAY_USER_XATTR  "user.overlay."
#define VS_OVERLAY_USER_OPAQUE "user.overlay.opaque"
#define VS_MEDIA_TYPE_TAR_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"

/* An overlay whiteout: a character device with device number 0:0. */
static inline bool vs_layer_is_whiteout(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* The opaque-directory xattr of the overlays this process mounts:
 * user.overlay.opaque in a user namespace, else trusted.overlay.opaque. */
const char *vs_layer_opaque_xattr(void);
/* True when the directory entry dirfd/name carries that xattr =y. */
bool vs_layer_is_opaque_at(int dirfd, const char *name);

/* "sha256:<hex>" of a finished digest context (the context is consumed). */
/* "sha256:<hex>" of what h hashed (h is released). */
char *vs_layer_digest_final(struct vs_sha256 *h);

/* Copies the xattrs of src_dirfd/src_name onto dst_dirfd/dst_name, without
 * following a final symlink on either side and skipping trusted.overlay.*
 * (overlay's own bookkeeping, never image content). Unsupported xattrs are
 * skipped. */
int vs_layer_copy_xattrs(int src_dirfd, const char *src_name, int dst_dirfd, const char *dst_name,
                         vs_error **err);

/* Owner, mode (not for symlinks), xattrs (as above) and times of
 * src_dirfd/name (whose stat is st) onto dst_dirfd/name, never following
 * a final symlink; path names the entry in messages. */
int vs_layer_copy_metadata(int src_dirfd, int dst_dirfd, const char *name, const struct stat *st,
                           const char *path, vs_error **err);

/* Sorted names of the entries of a directory fd ("." and ".." left out). */
int vs_layer_list_dir(int dirfd, char ***names, size_t *n, vs_error **err);

/* layer_source.c: the decompressed stream of a blob, read, inflated and
 * hashed by a helper thread. vs_layer_source_read is a libarchive read
 * callback (arg = the source). finish drains the rest of the stream and
 * returns the diff_id; free cancels a running reader. */
struct vs_layer_source;
/* The compressed bytes an unpack reads, kept as they pass: hashed and
 * written to fd (a blob file) past the page cache where the filesystem
 * allows it (util/dio.h), else with writeback started every few MiB. */
struct vs_layer_tee {
        struct vs_layer_input *in;
        int fd; /* -1: only pass the bytes on */
        struct vs_dio dio;
        struct vs_sha256 md;
        int64_t size, kicked;
        int read_errno, write_errno; /* the first failure; the tee stops there */
};
/* The next bytes of the input, through the tee: > 0 bytes (kept; *buf
 * valid until the next call), 0 at the end, -1 once reading or keeping
 * failed. */
ssize_t vs_layer_tee_next(struct vs_layer_tee *tee, const void **buf);
/* tee (may be NULL): the stream comes from tee's input instead of blob_fd. */
int vs_layer_source_open(int blob_fd, struct vs_layer_tee *tee, struct vs_layer_source **out,
                         vs_error **err);
la_ssize_t vs_layer_source_read(struct archive *a, void *arg, const void **buf);
int vs_layer_source_finish(struct vs_layer_source *s, char **diff_id, vs_error **err);
void vs_layer_source_free(struct vs_layer_source *s);

/* rootfs_diff.c: walks an upper dir against the image's layers. When
 * changes_dir >= 0 (a directory fd), the changes are also materialised
 * there in overlay upper format (files hardlinked or copied from upper,
 * deletions as whiteouts), ready for vs_layer_pack. full_copy says the
 * upper dir holds a complete copy of the image (copy mode) rather than an
 * overlay upper. */
int vs_image_rootfs_changes(const struct vs_image *img, const char *upper_dir, bool full_copy,
                            int changes_dir, char ***lines, vs_error **err);

/* rootfs.c: true when upper_dir was prepared in copy mode (the layers were
 * copied into it, because overlayfs was unavailable). */
bool vs_image_rootfs_upper_is_copy(const char *upper_dir);

#endif
