/* The image store: a content-addressed OCI image layout under the data
 * root, plus vessel's own records (unpacked layers, names). Every write is
 * atomic (temp + fsync + rename) and every multi-step change holds the
 * store lock, so concurrent commands and a kill -9 at any instant leave it
 * consistent.
 *
 *   <data-root>/                  default /var/lib/vessel (VESSEL_ROOT, --data-root)
 *     oci-layout, index.json      OCI image layout; index.json holds one manifest
 *                                 descriptor per named image (annotation
 *                                 org.opencontainers.image.ref.name = "name:tag")
 *     blobs/sha256/<hex>          manifests, configs, compressed layers
 *     layers/<diffid-hex>/        each layer unpacked once, shared read-only
 *     containers/                 engine records (src/engine)
 *     store.lock                  flock for multi-step changes
 */
#ifndef VESSEL_IMAGE_H
#define VESSEL_IMAGE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct vs_store;

/* Opens (creating on first use) the store at data_root. */
int vs_store_open(const char *data_root, struct vs_store **out, vs_error **err);
void vs_store_close(struct vs_store *s);
const char *vs_store_root(const struct vs_store *s);
/* Exclusive lock for a multi-step change; returns an fd to close. */
int vs_store_lock(struct vs_store *s, vs_error **err);

/* The parts of an image config the engine turns into an OCI config. */
struct vs_image_config {
        char **entrypoint, **cmd, **env; /* NULL-terminated, NULL when absent */
        char *working_dir, *user, *stop_signal;
        json_object *labels, *exposed_ports, *volumes; /* owned; may be NULL */
};

struct vs_image {
        char *id;              /* "sha256:<hex of the config blob>" */
        char *manifest_digest; /* "sha256:<hex>" */
        char **names;          /* "busybox:latest", ... (may be empty) */
        char **layer_dirs;     /* unpacked layers, bottom first (overlay lowerdirs reversed) */
        size_t n_layers;
        char *created; /* RFC 3339 from the config */
        int64_t size;  /* bytes unpacked */
        struct vs_image_config config;
        json_object *config_json; /* the whole image config, owned */
};

/* Resolves "name", "name:tag", a full id or an unambiguous id prefix. The
 * name "busybox" (or busybox:latest) is created from the host's
 * busybox-static on first use when absent. Errors: "image 'x' not found". */
int vs_image_lookup(struct vs_store *s, const char *ref, struct vs_image **out, vs_error **err);
void vs_image_free(struct vs_image *img);

/* Ensures the built-in busybox image exists (no network). */
int vs_image_ensure_busybox(struct vs_store *s, vs_error **err);

/* Container root filesystems: dir/upper and dir/work are created; the
 * overlay of the image's layers + dir/upper is mounted on target. Where
 * overlayfs is unavailable, the layers are copied into dir/upper once and
 * target is a bind of it ("copy" mode, said once on stderr). */
int vs_image_rootfs_prepare_dir(const struct vs_image *img, const char *dir, vs_error **err);
/* With idmap, the root is seen through a user namespace's mappings: every
 * layer and the upper dir are idmapped mounts (MOUNT_ATTR_IDMAP) of that
 * namespace, and the overlay is created with the mapped root's ids as its
 * mounter's, so on-disk owners stay the image's (docs/userns.md). */
struct vs_rootfs_idmap {
        int userns_fd;
        uid_t uid; /* the host ids container root maps to */
        gid_t gid;
};
int vs_image_rootfs_mount(const struct vs_image *img, const char *dir, const char *target,
                          const struct vs_rootfs_idmap *idmap, vs_error **err);
/* flags: VS_ROOTFS_VOLATILE, for a container whose upper layer goes with
 * it (--rm): overlay's "volatile" (no sync of the upper layer, none at
 * unmount either) where the kernel has it (5.10+, through fsconfig). */
#define VS_ROOTFS_VOLATILE 1u
int vs_image_rootfs_mount_flags(const struct vs_image *img, const char *dir, const char *target,
                                const struct vs_rootfs_idmap *idmap, unsigned flags,
                                vs_error **err);
int vs_image_rootfs_umount(const char *target, vs_error **err);
/* Files made through such an overlay by host root would have an owner the
 * idmapped upper dir cannot represent (EOVERFLOW): the caller takes the
 * mapped root's fs ids, its capabilities kept (a change of fsuid from 0
 * drops them from the effective set), and goes back with
 * vs_rootfs_become_host_root. */
int vs_rootfs_become_mapped_root(uid_t uid, gid_t gid, vs_error **err);
void vs_rootfs_become_host_root(void);

/* Points img's layer dirs at copies whose owners went through shift, made
 * once per map and layer and cached in the store (shift.c): the rootless
 * engine's containers with id maps of their own. */
struct vs_layer_idshift;
int vs_image_shift_layers(const struct vs_store *s, struct vs_image *img,
                          const struct vs_layer_idshift *shift, vs_error **err);
/* Removes the copies of layer hex (the store removes the layer). */
void vs_image_shift_forget(const struct vs_store *s, const char *hex);

/* Commit: the upper dir becomes a new layer (deletions as whiteouts,
 * opaque dirs), stacked on base, with the config changed by changes (a JSON
 * object of image-config fields to override, may be NULL) and a history
 * entry (comment/author may be NULL). ref (may be NULL) names the result.
 * Returns the new image id in *id. */
int vs_image_commit(struct vs_store *s, const struct vs_image *base, const char *upper_dir,
                    json_object *changes, const char *comment, const char *author, const char *ref,
                    char **id, vs_error **err);

/* One build step (src/build): upper_dir (an overlay upper dir, or NULL for
 * a step that changes only the config) stacked on base (NULL: scratch),
 * config as the result's whole "config" object, and a history entry
 * {created, created_by, comment, empty_layer} as Docker records it. created
 * NULL: now. The result is an unnamed image; its id in *id. */
struct vs_commit_step {
        const char *upper_dir;
        json_object *config;
        const char *created_by, *comment, *created;
};
int vs_image_commit_step(struct vs_store *s, const struct vs_image *base,
                         const struct vs_commit_step *st, char **id, vs_error **err);
/* The same, leaving out the empty files at skip_stubs ("etc/hostname"...):
 * the mount targets of files the engine binds into a container. */
/* Writes dir/name (a file, link or directory) to out_fd as an uncompressed
 * tar whose top entry is name (cp CTR:PATH -); name NULL: dir's entries at
 * the top (export). Regular files are read only as the inode checked
 * (never a FIFO or device swapped in); device nodes and FIFOs are headers
 * only; sockets are left out. */
int vs_tar_stream_tree(const char *dir, const char *name, int out_fd, vs_error **err);
/* The same with owners through ids (vs_layer_shift_id): export of a
 * rootless container whose layers are shifted copies, ids turned back. */
int vs_tar_stream_tree_ids(const char *dir, const char *name, int out_fd,
                           const struct vs_layer_idshift *ids, vs_error **err);
int vs_image_commit_skipping(struct vs_store *s, const struct vs_image *base, const char *upper_dir,
                             const char *const *skip_stubs, json_object *changes,
                             const char *comment, const char *author, const char *ref, char **id,
                             vs_error **err);

/* Changes of a container relative to its image, as "A /path", "C /path",
 * "D /path" lines (docker diff), sorted. */
int vs_image_rootfs_diff(const struct vs_image *img, const char *upper_dir, char ***lines,
                         vs_error **err);

/* Images that the engine's container records still use cannot be removed:
 * the engine registers a check. */
typedef bool (*vs_image_in_use_fn)(const char *image_id, void *arg, char **user);
void vs_store_set_in_use_check(struct vs_store *s, vs_image_in_use_fn fn, void *arg);
/* Image events (Docker's: action "tag", "untag", "delete", "load",
 * "import", "pull", "push", "save"; id "sha256:..." or, for pull and push,
 * the reference; name the attribute Docker shows; labels the image
 * config's Labels, NULL when it has none or is gone: a delete's, as
 * Docker's) go to fn once the change they report is in place. The engine
 * logs them (events.log). */
typedef void (*vs_image_event_fn)(void *arg, const char *action, const char *id, const char *name,
                                  json_object *labels);
void vs_store_set_event_hook(struct vs_store *s, vs_image_event_fn fn, void *arg);
/* Sends one event to the hook (none set: nothing), with the labels of the
 * image id (an id or a reference) names now. */
void vs_store_event(struct vs_store *s, const char *action, const char *id, const char *name);

#endif
