/* Getting images into and out of the store: streaming blobs in (with layers
 * unpacked on the way), importing OCI manifests from any source, and the
 * archive formats (load/save), rootfs import and `pull oci:PATH`. */
#ifndef VESSEL_IMAGE_TRANSFER_H
#define VESSEL_IMAGE_TRANSFER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "image/store.h"
#include "util/error.h"

/* ------------------------------------------------------------------ */
/* staging a stream (importer.c) */

enum vs_stage_mode {
        VS_STAGE_BLOB,  /* just a blob */
        VS_STAGE_LAYER, /* a layer: unpack it while it streams */
        VS_STAGE_SNIFF, /* unpack it too when its first bytes look like a tar or a
                           compressed stream (archive entries, before manifests are read) */
};

struct vs_stage;
/* media_type (VS_STAGE_LAYER only; NULL sniffs) is a vs_layer_unpack type. */
int vs_stage_open(struct vs_txn *t, enum vs_stage_mode mode, const char *media_type,
                  struct vs_stage **out, vs_error **err);
/* A VS_STAGE_LAYER stage whose unpack job reads in itself (see
 * vs_unpack_job_start_input): nothing is written to it, finish_blob only
 * names the digest the kept blob must have. */
struct vs_layer_input;
int vs_stage_open_input(struct vs_txn *t, const char *media_type, struct vs_layer_input *in,
                        struct vs_stage **out, vs_error **err);
/* Progress on stderr while the stream comes in ("Loading layer 2 (34 of 80
 * MB)"; expected 0 when unknown), when stderr is a terminal. */
void vs_stage_set_progress(struct vs_stage *st, const char *label, int64_t expected);
/* Is the stream being unpacked as a layer (known, or sniffed so)? */
bool vs_stage_is_layer(const struct vs_stage *st);
int vs_stage_write(struct vs_stage *st, const void *buf, size_t len, vs_error **err);
/* Completes the blob (checked against expected when not NULL) and records
 * the outcome of the unpack, if one ran, in the transaction. */
int vs_stage_finish(struct vs_stage *st, const char *expected, char **digest, int64_t *size,
                    vs_error **err);
/* vs_stage_finish in two steps, so that the unpack of one layer goes on
 * while the next ones stream: finish_blob ends the unpack's input and
 * completes and checks the blob; wait_unpack then waits for the unpack and
 * records its outcome. A VS_STAGE_LAYER stream is kept by its unpack job
 * (this process only feeds it): unless finish_blob is asked for the digest
 * or size, the blob is checked by wait_unpack, when the job has hashed it
 * all. */
int vs_stage_finish_blob(struct vs_stage *st, const char *expected, char **digest, int64_t *size,
                         vs_error **err);
int vs_stage_wait_unpack(struct vs_stage *st, vs_error **err);
void vs_stage_free(struct vs_stage *st);
/* Copies everything fd reads into a new stage. */
int vs_stage_fd(struct vs_txn *t, int fd, enum vs_stage_mode mode, const char *media_type,
                const char *expected, const char *progress, char **digest, int64_t *size,
                vs_error **err);

/* Was the first of the bytes a tar, or gzip / zstd data? */
bool vs_looks_like_layer(const unsigned char *p, size_t len);

/* True when progress should be shown: stderr is a terminal, and not quiet. */
bool vs_progress_enabled(void);
void vs_progress_set_quiet(bool quiet);
void vs_progress_end(void);

/* ------------------------------------------------------------------ */
/* importing OCI images from a source of blobs (importer.c) */

struct vs_import_source {
        const char *what; /* "archive x.tar", "OCI layout /path" */
        /* Makes blob d available in the transaction; layer: d is a layer. */
        int (*fetch)(struct vs_import_source *src, struct vs_txn *t, const struct vs_descriptor *d,
                     bool layer, vs_error **err);
};

/* Imports the image that descriptor d (a manifest, or an index: the
 * platform's manifest is chosen) describes, with its names. */
int vs_import_manifest(struct vs_txn *t, struct vs_import_source *src,
                       const struct vs_descriptor *d, char *const *names, char **id,
                       vs_error **err);

/* Imports the images an OCI index.json lists (only the one whose ref.name
 * annotation is ref, when ref is not NULL); appends "Loaded image: ..."
 * lines to *lines. */
int vs_import_oci_index(struct vs_txn *t, struct vs_import_source *src, const char *index_text,
                        const char *ref, const char *repo_hint, char ***lines, vs_error **err);
/* A descriptor object of an index (mediaType defaults to an OCI manifest). */
int vs_parse_descriptor_json(json_object *obj, const char *ctx, struct vs_descriptor *d,
                             vs_error **err);

/* The names an index.json entry gives: org.opencontainers.image.ref.name
 * (or io.containerd.image.name) when it is a full reference; a bare tag
 * like "latest" is combined with repo_hint when given (else no name). */
char *vs_ref_from_annotations(json_object *descriptor, const char *repo_hint);

/* "2024-05-01T12:00:00Z" for now, or for $SOURCE_DATE_EPOCH when set. */
char *vs_rfc3339_now(void);
/* A one-layer image config for this platform: created, the layer's diff id,
 * container_config (Env, Cmd...: taken over; NULL for {}) and one history
 * entry (created_by, comment or NULL). A new object the caller puts. */
json_object *vs_image_config_new(const char *created, const char *layer_diff_id,
                                 json_object *container_config, const char *created_by,
                                 const char *comment);
/* Stores config and an OCI manifest listing the staged layer blobs (all of
 * layer_type); returns the manifest digest. */
int vs_make_image(struct vs_txn *t, json_object *config, char *const *layer_digests,
                  const int64_t *layer_sizes, const char *layer_type, char **manifest_digest,
                  vs_error **err);

/* ------------------------------------------------------------------ */
/* commands (archive.c, archive_save.c, import.c, busybox.c) */

/* `vessel load`: docker-archive (both layouts) or oci-archive, plain or
 * compressed, from fd. Prints "Loaded image: NAME" / "Loaded image ID: ID"
 * on out. */
int vs_archive_load(struct vs_store *s, int fd, const char *what, FILE *out, vs_error **err);

enum vs_archive_format {
        VS_ARCHIVE_DOCKER,
        VS_ARCHIVE_OCI,
};
/* `vessel save`: the images refs name, as one archive written to out_fd. */
int vs_archive_save(struct vs_store *s, char *const *refs, enum vs_archive_format format,
                    int out_fd, vs_error **err);

/* `vessel import`: a root filesystem tarball (plain or compressed) becomes a
 * one-layer image, named name when not NULL. */
int vs_image_import_rootfs(struct vs_store *s, int fd, const char *what, const char *name,
                           const char *message, char **id, vs_error **err);

/* `vessel pull`: oci:PATH[:REF] (an OCI layout directory), oci-archive:FILE
 * and docker-archive:FILE; anything else is a registry name, which vessel
 * cannot reach. */
int vs_image_pull(struct vs_store *s, const char *ref, FILE *out, vs_error **err);

#endif
