/* The image store's own interface, beyond what image.h gives the engine:
 * digests and references, index.json, manifests and configs, and write
 * transactions. Used by the store's source files (store, index, import,
 * archive, check) and by commit.c.
 *
 * Writing to the store always goes through a transaction:
 *
 *   struct vs_txn *t;
 *   vs_txn_begin(s, &t, err);               takes store.lock, loads index.json
 *   ... stage blobs (vs_txn_put_blob, vs_blob_writer_*) and unpacked layers
 *       (vs_txn_ensure_layer) into <root>/tmp/<txn>/ ...
 *   vs_txn_add_image(t, manifest_digest, names, &id, err);
 *   vs_txn_commit(t, err);                  syncfs, renames into blobs/ and
 *                                           layers/, index.json last
 *   vs_txn_free(t);                         rolls back when not committed
 *
 * Nothing outside <root>/tmp changes before vs_txn_commit, and index.json is
 * replaced last, so a failed or killed transaction leaves the store as it
 * was (stale temporary files are removed by the next transaction). */
#ifndef VESSEL_IMAGE_STORE_H
#define VESSEL_IMAGE_STORE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "image/image.h"
#include "util/error.h"

#define VS_MT_OCI_INDEX        "application/vnd.oci.image.index.v1+json"
#define VS_MT_OCI_MANIFEST     "application/vnd.oci.image.manifest.v1+json"
#define VS_MT_OCI_CONFIG       "application/vnd.oci.image.config.v1+json"
#define VS_MT_OCI_LAYER        "application/vnd.oci.image.layer.v1.tar"
#define VS_MT_OCI_LAYER_GZIP   "application/vnd.oci.image.layer.v1.tar+gzip"
#define VS_MT_OCI_LAYER_ZSTD   "application/vnd.oci.image.layer.v1.tar+zstd"
#define VS_MT_DOCKER_MANIFEST  "application/vnd.docker.distribution.manifest.v2+json"
#define VS_MT_DOCKER_LIST      "application/vnd.docker.distribution.manifest.list.v2+json"
#define VS_MT_DOCKER_CONFIG    "application/vnd.docker.container.image.v1+json"
#define VS_MT_DOCKER_LAYER     "application/vnd.docker.image.rootfs.diff.tar"
#define VS_MT_DOCKER_LAYER_GZ  "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define VS_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"

/* "sha256:" + 64 hex digits */
#define VS_DIGEST_LEN 71

/* ------------------------------------------------------------------ */
/* digests and references (ref.c) */

/* A stream's sha256: its first VS_SHA256_SMALL bytes are held, and a
 * stream that ends within them is hashed with libmd (linked) at the end;
 * past them, or once libcrypto is loaded anyway, with OpenSSL's EVP (SHA
 * extensions, several times libmd's speed, but ~4.5 ms to load). So a
 * command whose streams are all small (a `load` of an image whose layers
 * the store holds: configs, manifests) never loads libcrypto. */
#define VS_SHA256_SMALL (1u << 20)
struct vs_sha256 {
        void *ctx;          /* EVP_MD_CTX; NULL while the bytes are held */
        unsigned char *buf; /* the bytes held */
        size_t len, cap;
};
void vs_sha256_init(struct vs_sha256 *h);
void vs_sha256_update(struct vs_sha256 *h, const void *data, size_t len);
/* Writes "sha256:<hex>" into out and releases the context. */
void vs_sha256_final(struct vs_sha256 *h, char out[VS_DIGEST_LEN + 1]);
void vs_sha256_abort(struct vs_sha256 *h);
char *vs_digest_buffer(const void *data, size_t len);

/* "sha256:" followed by exactly 64 lowercase hex digits. */
bool vs_digest_valid(const char *digest);
/* Like vs_digest_valid, with an error naming what and why. */
int vs_digest_check(const char *digest, const char *what, vs_error **err);
/* The hex part of a valid digest. */
const char *vs_digest_hex(const char *digest);

/* Parses an image name ("busybox", "reg.example:5000/a/b:v1") into its
 * canonical "name:tag" form: tag "latest" when absent, "docker.io/library/"
 * and "docker.io/" dropped as Docker shows them. Errors say why the
 * reference is invalid. */
int vs_ref_normalize(const char *ref, char **out, vs_error **err);
/* Like vs_ref_normalize, and also takes a digest reference
 * ("NAME[:TAG]@sha256:<hex>"), canonical as "name@sha256:<hex>" (the tag
 * dropped, as Docker does): the name a pull by digest stores, which run and
 * the other lookups find. New names (tag, commit, build -t) never take one. */
int vs_ref_normalize_any(const char *ref, char **out, vs_error **err);
/* True when ref is 4..64 lowercase hex digits, optionally after "sha256:";
 * *hex points at the digits. */
bool vs_ref_is_id_prefix(const char *ref, const char **hex);
/* Splits "name:tag" (canonical) into its repository and tag parts;
 * "name@sha256:..." into the name and "<none>", as Docker lists it. */
void vs_ref_split(const char *name_tag, char **repo, char **tag);

/* ------------------------------------------------------------------ */
/* index.json (index.c): one descriptor per image name, plus one without a
 * name for each image that has none. Pure in-memory manipulation; the
 * transaction writes it. */

struct vs_index_entry {
        char *digest;     /* manifest */
        char *media_type; /* of the manifest */
        int64_t size;
        char *name; /* canonical "name:tag", NULL for an untagged image */
};

struct vs_index {
        struct vs_index_entry *entries;
        size_t n;
};

int vs_index_parse(const char *text, const char *what, struct vs_index *idx, vs_error **err);
char *vs_index_serialize(const struct vs_index *idx);
void vs_index_clear(struct vs_index *idx);
/* Entry naming name, or -1. */
ssize_t vs_index_find_name(const struct vs_index *idx, const char *name);
bool vs_index_has_digest(const struct vs_index *idx, const char *digest);
/* Records the image (untagged) unless the index already has it. */
void vs_index_add_image(struct vs_index *idx, const char *digest, const char *media_type,
                        int64_t size);
/* Points name at the image, taking it from whichever image had it (that
 * image stays, untagged when this was its last name). Returns the digest
 * that previously had the name (caller frees), or NULL. */
char *vs_index_set_name(struct vs_index *idx, const char *name, const char *digest,
                        const char *media_type, int64_t size);
/* Removes a name; the image stays, untagged when this was its last name.
 * Returns false when no image has the name. */
bool vs_index_remove_name(struct vs_index *idx, const char *name);
/* Removes the image and all its names. */
void vs_index_remove_image(struct vs_index *idx, const char *digest);
/* Names of the image (NULL-terminated, possibly empty). */
char **vs_index_names(const struct vs_index *idx, const char *digest);
/* The distinct manifest digests, in index order (NULL-terminated). */
char **vs_index_digests(const struct vs_index *idx);
/* The entry describing digest (any of its names), or NULL. */
const struct vs_index_entry *vs_index_entry_of(const struct vs_index *idx, const char *digest);

/* ------------------------------------------------------------------ */
/* manifests and configs (manifest.c) */

struct vs_descriptor {
        char *media_type;
        char *digest;
        int64_t size;
};

struct vs_manifest {
        char *media_type; /* manifest or index type (OCI or Docker) */
        bool is_index;
        struct vs_descriptor config;  /* manifests only */
        struct vs_descriptor *layers; /* manifests: layers; indexes: manifests */
        size_t n_layers;
        char **platforms; /* indexes only: "os/arch[/variant]" per entry, "" when unset */
};

/* Parses a manifest or index, checking every media type and digest:
 * "unknown manifest media type", "unknown config media type", "unknown
 * layer media type". what names the blob in messages. */
int vs_manifest_parse(const char *text, const char *what, struct vs_manifest *m, vs_error **err);
void vs_manifest_clear(struct vs_manifest *m);
void vs_descriptor_clear(struct vs_descriptor *d);
/* {"mediaType", "digest", "size"}: a new object the caller puts. */
json_object *vs_descriptor_json(const char *media_type, const char *digest, int64_t size);
/* Known layer media type? Layer types other than those vs_layer_unpack
 * takes (Docker's uncompressed type, OCI non-distributable types) map to
 * the equivalent it takes. */
bool vs_layer_media_type_known(const char *media_type);
const char *vs_layer_media_type_for_unpack(const char *media_type);
/* The "os/arch[/variant]" vessel runs ("linux/amd64"), and the GOARCH
 * name of this machine ("amd64"). */
const char *vs_platform_arch(void);
const char *vs_platform_variant(void);

/* rootfs.diff_ids of an image config, checked. */
int vs_image_config_diff_ids(json_object *config, const char *what, char ***diff_ids,
                             vs_error **err);
/* The engine-facing fields of config.config. */
int vs_image_config_parse(json_object *config, struct vs_image_config *out, vs_error **err);
void vs_image_config_clear(struct vs_image_config *c);

/* ------------------------------------------------------------------ */
/* the store (store.c) */

struct vs_store {
        char *root;
        int root_fd;
        int lock_fd; /* last fd vs_store_lock handed out, to detect nesting */
        dev_t lock_dev;
        ino_t lock_ino;
        vs_image_in_use_fn in_use;
        void *in_use_arg;
        vs_image_event_fn event; /* NULL: events go nowhere */
        void *event_arg;
        unsigned txn_counter;
};

/* Sends one event to the store's hook as it is (image.h). */
void vs_store_send_event(const struct vs_store *s, const char *action, const char *id,
                         const char *name, json_object *labels);
/* The Labels of an image config's text (a new reference), or NULL when it
 * has none (or is not an image config). */
json_object *vs_image_config_labels(const char *config_text);

/* vs_store_lock, also telling whether this process already held it (the
 * returned fd is then a duplicate: closing it does not unlock). */
int vs_store_lock_nested(struct vs_store *s, bool *nested, vs_error **err);

/* Reads a whole file of JSON size (at most 64 MiB) from fd and, when digest
 * is not NULL, checks it; what names it in messages. */
int vs_read_fd_verified(int fd, const char *digest, const char *what, char **data, size_t *len,
                        vs_error **err);
/* sha256 of everything fd reads from its current offset. */
int vs_hash_fd(int fd, char out[VS_DIGEST_LEN + 1], int64_t *size, vs_error **err);

/* <root>/blobs/sha256/<hex>, <root>/layers/<hex> */
char *vs_store_blob_path(const struct vs_store *s, const char *digest);
char *vs_store_layer_dir(const struct vs_store *s, const char *diff_id);
bool vs_store_has_blob(const struct vs_store *s, const char *digest);
int vs_store_open_blob(const struct vs_store *s, const char *digest, vs_error **err);
/* Reads a (small, JSON) blob and verifies its digest. */
int vs_store_read_blob(const struct vs_store *s, const char *digest, char **data, size_t *len,
                       vs_error **err);
/* Hashes a blob; fails when its content does not match its name. */
int vs_store_verify_blob(const struct vs_store *s, const char *digest, int64_t *size,
                         vs_error **err);
/* Loads index.json (without the lock: it is replaced atomically). */
int vs_store_load_index(const struct vs_store *s, struct vs_index *idx, vs_error **err);

/* What the store knows about an unpacked layer (layers/<hex>.json). */
struct vs_layer_info {
        char *diff_id;
        int64_t size; /* bytes unpacked */
        char **blobs; /* blob digests verified to uncompress to diff_id */
};
/* 1 when layers/<hex> and its record exist, 0 when not, -1 on error. */
int vs_store_layer_info(const struct vs_store *s, const char *diff_id, struct vs_layer_info *info,
                        vs_error **err);
void vs_layer_info_clear(struct vs_layer_info *info);

/* The image whose manifest is digest, names from idx. */
int vs_store_load_image(struct vs_store *s, const struct vs_index *idx, const char *digest,
                        struct vs_image **out, vs_error **err);
/* The manifest digest and config (parsed) of an image. */
int vs_store_read_manifest(const struct vs_store *s, const char *digest, struct vs_manifest *m,
                           vs_error **err);

/* ------------------------------------------------------------------ */
/* transactions (txn.c) */

struct vs_txn;
struct vs_blob_writer;

int vs_txn_begin(struct vs_store *s, struct vs_txn **out, vs_error **err);
struct vs_store *vs_txn_store(struct vs_txn *t);
struct vs_index *vs_txn_index(struct vs_txn *t);
/* The transaction's private temporary directory under <root>/tmp. */
const char *vs_txn_tmp_dir(struct vs_txn *t);
int vs_txn_tmp_fd(struct vs_txn *t);
/* A fresh name for a file or directory in the temporary directory. */
char *vs_txn_tmp_name(struct vs_txn *t, const char *prefix);

/* Streams a blob into the transaction, hashing it. When expected is not
 * NULL the content must match it ("blob X does not match its digest (got
 * Y)"). The blob is promoted into blobs/ at commit when an image uses it. */
int vs_blob_writer_open(struct vs_txn *t, struct vs_blob_writer **out, vs_error **err);
int vs_blob_writer_write(struct vs_blob_writer *w, const void *buf, size_t len, vs_error **err);
/* The underlying fd (for writers such as vs_layer_pack that take an fd;
 * bytes written to it directly are hashed by vs_blob_writer_finish). */
int vs_blob_writer_fd(struct vs_blob_writer *w);
int vs_blob_writer_finish(struct vs_blob_writer *w, const char *expected, char **digest,
                          int64_t *size, vs_error **err);
/* Finishes a blob that another process wrote through the fd and hashed
 * as it went (a layer kept by its unpack job): got is that digest, size
 * the bytes written; checked against expected as vs_blob_writer_finish. */
int vs_blob_writer_finish_kept(struct vs_blob_writer *w, const char *expected, const char *got,
                               int64_t size, vs_error **err);
void vs_blob_writer_free(struct vs_blob_writer *w);
/* Stores a small blob from memory; *digest may be NULL. */
int vs_txn_put_blob(struct vs_txn *t, const void *data, size_t len, char **digest, vs_error **err);
/* Blob present in the store or staged in the transaction? */
bool vs_txn_has_blob(struct vs_txn *t, const char *digest);
int vs_txn_open_blob(struct vs_txn *t, const char *digest, vs_error **err);
/* Reads a staged or stored blob, checking its digest and (when size >= 0)
 * its size against a descriptor. */
int vs_txn_read_blob(struct vs_txn *t, const char *digest, int64_t size, char **data, size_t *len,
                     vs_error **err);

/* Records the result of unpacking blob_digest into tmp_name (a directory in
 * the transaction's temporary directory), or why it failed (error, taken). */
void vs_txn_note_unpacked(struct vs_txn *t, const char *blob_digest, const char *tmp_name,
                          const char *diff_id, int64_t size, vs_error **error);
/* Makes sure the layer blob_digest unpacks to diff_id and that layers/<hex>
 * exists at commit: reuses the store's layer when it is known to come from
 * this blob, a layer already unpacked in this transaction, or unpacks it.
 * media_type NULL sniffs. */
int vs_txn_ensure_layer(struct vs_txn *t, const char *blob_digest, const char *media_type,
                        const char *diff_id, vs_error **err);

/* Adds the image whose manifest (blob manifest_digest, staged or stored) is
 * complete in the transaction: checks that every blob is present and every
 * layer ensured. An image with the same config already in the store is
 * reused (names move to it). Each of names (canonical, may be NULL) moves
 * to the image. *id (may be NULL) gets "sha256:<config hex>". */
int vs_txn_add_image(struct vs_txn *t, const char *manifest_digest, char *const *names, char **id,
                     vs_error **err);
/* Blobs and layers of images removed from the index in this transaction
 * are deleted after the commit when no remaining image uses them. */
void vs_txn_collect_garbage(struct vs_txn *t, bool everything_unreferenced);
/* What the garbage collection of a committed transaction removed. */
void vs_txn_gc_stats(struct vs_txn *t, size_t *blobs, size_t *layers, int64_t *bytes);

/* An image event (Docker's: load, import, tag, untag, delete, pull, push,
 * save) for the store's event hook, sent by vs_txn_commit once the change
 * is in place (never for a transaction that fails). The image's labels are
 * taken when it is queued: an untag's image may be gone by the commit,
 * and Docker writes the untag while it is there. */
void vs_txn_event(struct vs_txn *t, const char *action, const char *id, const char *name);

int vs_txn_commit(struct vs_txn *t, vs_error **err);
/* Rolls back (when not committed), unlocks, frees. */
void vs_txn_free(struct vs_txn *t);

static inline void vs_cleanup_txnp(struct vs_txn **t)
{
        if (*t)
                vs_txn_free(*t);
}
#define _cleanup_txn_ __attribute__((cleanup(vs_cleanup_txnp)))

/* ------------------------------------------------------------------ */
/* layers unpacked while they stream in (unpack_job.c): a child process runs
 * vs_layer_unpack on a socket the importer feeds, so that hashing and
 * storing the blob and unpacking it use both cores. */

struct vs_unpack_job;
/* Starts unpacking into dest_dir (which must not exist). With blob_fd >= 0
 * the job also keeps what it is fed: it hashes every byte and writes it
 * to blob_fd, and reads its input to the end whatever the unpack does. */
int vs_unpack_job_start(const char *dest_dir, const char *media_type, int blob_fd,
                        struct vs_unpack_job **out, vs_error **err);
/* The same, but the child reads its input itself from in (an input set up
 * in this process and used only in the child, after the fork: a download
 * that the child receives, keeps and unpacks in one pass, with nothing fed
 * from here). */
struct vs_layer_input;
int vs_unpack_job_start_input(const char *dest_dir, const char *media_type, int blob_fd,
                              struct vs_layer_input *in, struct vs_unpack_job **out,
                              vs_error **err);
/* Feeds the next bytes; once the job has stopped reading (it failed, or the
 * tar ended) the rest is dropped: the outcome is told by finish. */
void vs_unpack_job_feed(struct vs_unpack_job *j, const void *buf, size_t len);
/* Ends the input: the job finishes unpacking what it was fed on its own
 * (finish then only waits). */
void vs_unpack_job_end_input(struct vs_unpack_job *j);
/* Ends the input and waits: 0 with the diff_id and size, or -1 with the
 * reason the layer was refused. *blob (when blob is not NULL) is the digest
 * of the stream a job with a blob_fd kept whole, and *blob_size its length,
 * whether or not the unpack succeeded; NULL when it was not kept whole.
 * Frees the job. */
int vs_unpack_job_finish(struct vs_unpack_job *j, char **diff_id, int64_t *size, char **blob,
                         int64_t *blob_size, vs_error **err);
/* Kills a job that is no longer wanted and frees it. */
void vs_unpack_job_abort(struct vs_unpack_job *j);

/* ------------------------------------------------------------------ */
/* image management (manage.c, check.c) */

struct vs_image_summary {
        char *id; /* sha256:... */
        char *manifest_digest;
        char **names;
        char *created;
        int64_t size;
};
int vs_image_list(struct vs_store *s, struct vs_image_summary **out, size_t *n, vs_error **err);
void vs_image_summaries_free(struct vs_image_summary *v, size_t n);

/* Resolves ref against idx: *digest gets the manifest digest, *name the
 * canonical name when ref was a name (else NULL). Returns 0, or -1 with
 * "image 'x' not found" / "ambiguous". */
int vs_index_resolve(struct vs_store *s, const struct vs_index *idx, const char *ref, char **digest,
                     char **name, vs_error **err);

int vs_image_tag(struct vs_store *s, const char *source, const char *target, vs_error **err);

/* rmi: prints "Untagged: ..." / "Deleted: ..." lines to out. */
int vs_image_remove(struct vs_store *s, const char *ref, bool force, FILE *out, vs_error **err);

struct vs_prune_report {
        size_t images, blobs, layers;
        int64_t bytes;
};
/* Removes untagged images (all unused images when all) that no container
 * uses, then (when sweep) every blob and layer no image references. */
/* match (NULL: every image): whether an image (its config's created and
 * config.Labels) may go (system prune --filter). */
int vs_store_prune(struct vs_store *s, bool all, bool sweep,
                   bool (*match)(void *arg, const char *created, json_object *labels),
                   void *match_arg, FILE *out, struct vs_prune_report *report, vs_error **err);
/* Verifies digests and references; prints one line per problem on out.
 * Returns the number of problems, or -1 when the check itself failed. */
int vs_store_check(struct vs_store *s, FILE *out, vs_error **err);

/* The `image inspect` document of an image (inspect.c). */
json_object *vs_image_inspect_json(const struct vs_image *img);

/* `history`: the config's history, oldest first, with the size of the
 * layer each entry made (0 for empty_layer entries). */
struct vs_history_entry {
        char *created, *created_by, *comment;
        int64_t size;
};
int vs_image_history(struct vs_store *s, const struct vs_image *img, struct vs_history_entry **out,
                     size_t *n, vs_error **err);
void vs_history_free(struct vs_history_entry *v, size_t n);

/* Human-friendly sizes ("4.26MB") and ages ("2 hours ago"), as docker
 * prints them. */
char *vs_human_size(int64_t bytes);
char *vs_human_age(const char *rfc3339);
/* RFC 3339 timestamp -> seconds since the epoch; -1 when malformed. */
int vs_parse_rfc3339(const char *s, time_t *out);

#endif
