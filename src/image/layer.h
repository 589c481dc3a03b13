/* Layers: tar archives (plain, gzip, zstd) unpacked into directories in
 * overlayfs format, and container changes packed back into layers.
 *
 * Unpacked layer directory format (what overlayfs reads as a lowerdir):
 * a ".wh.NAME" entry becomes a 0:0 character device NAME, and a
 * ".wh..wh..opq" entry sets the xattr trusted.overlay.opaque=y on its
 * directory. Unpacking enforces the traversal defences of DESIGN.md: no
 * "..", no absolute names, never a write through a symlinked ancestor,
 * hardlinks and whiteouts confined to the layer, device nodes only when
 * allow_devices, ownership and modes set by fd. */
#ifndef VESSEL_IMAGE_LAYER_H
#define VESSEL_IMAGE_LAYER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/config.h"
#include "util/error.h"

/* Media types handled: application/vnd.oci.image.layer.v1.tar[+gzip|+zstd],
 * application/vnd.docker.image.rootfs.diff.tar.gzip; NULL sniffs. Anything
 * else: "unknown layer media type '...'". dest_dir must not exist; on
 * failure nothing is left at dest_dir. *diff_id = "sha256:<hex>" of the
 * uncompressed tar; *size = bytes unpacked. */
int vs_layer_unpack(int blob_fd, const char *media_type, const char *dest_dir, bool allow_devices,
                    char **diff_id, int64_t *size, vs_error **err);

/* A stream handed over in buffers: next() gives the next bytes (> 0, *buf
 * valid until the next call), 0 at the end, or -1 (errno). */
struct vs_layer_input {
        ssize_t (*next)(struct vs_layer_input *in, const void **buf);
};

/* vs_layer_unpack of the stream in gives, keeping that stream as it
 * passes: every byte, up to the end of the input (also what follows the
 * archive, and all of it when the unpack fails), is hashed and written to
 * blob_fd (when blob_fd >= 0; else *blob_digest is NULL). Returns 0 when the whole stream was kept
 * (blob_digest "sha256:<hex>", to free, and blob_size); the unpack's outcome is then *diff_id, or
 * NULL with *unpack_err. -1 (err) when the stream could not be read or
 * kept. */
int vs_layer_unpack_keeping(struct vs_layer_input *in, int blob_fd, const char *media_type,
                            const char *dest_dir, char **diff_id, int64_t *size, char **blob_digest,
                            int64_t *blob_size, vs_error **unpack_err, vs_error **err);

/* Applies an unpacked layer dir (overlay format) on top of root: used by the
 * copy fallback where overlayfs is unavailable (whiteouts delete). */
int vs_layer_apply_dir(const char *layer_dir, const char *root, vs_error **err);

/* Owners of a shifted copy: id N of the layer becomes the host id the
 * mappings give container id N (container id -> host id, as in an OCI
 * config); ids they leave out become the container's 65534. */
struct vs_layer_idshift {
        const struct oci_id_mapping *uid, *gid;
        size_t n_uid, n_gid;
};
/* The id the map gives id (65534 when neither it nor 65534 is mapped). */
uint32_t vs_layer_shift_id(const struct oci_id_mapping *m, size_t n, uint32_t id);
/* Copies an unpacked layer dir into the empty directory dst, whiteouts and
 * opaque marks kept (an overlay lower dir still), every owner shifted.
 * For a container whose ids
 * cannot be idmapped (the rootless engine): image_shift.c caches them. */
int vs_layer_copy_shifted(const char *layer_dir, const char *dst,
                          const struct vs_layer_idshift *shift, vs_error **err);

/* Packs an overlay upper dir as a gzip tar layer into out_fd: 0:0 char
 * devices become ".wh.NAME", opaque dirs get ".wh..wh..opq". Returns the
 * digests of the uncompressed tar (diff_id) and of the written blob. */
int vs_layer_pack(const char *upper_dir, int out_fd, char **diff_id, char **digest,
                  int64_t *blob_size, vs_error **err);
/* The same, leaving out the empty regular files at the given paths
 * ("etc/hostname": relative, no leading slash): mount targets. */
int vs_layer_pack_skipping(const char *upper_dir, const char *const *skip_stubs, int out_fd,
                           char **diff_id, char **digest, int64_t *blob_size, vs_error **err);

#endif
