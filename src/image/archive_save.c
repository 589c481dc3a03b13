/* `vessel save`: images out as one archive.
 *
 * docker-archive is written in the layout `docker save` used before Docker
 * 25 (manifest.json, <config hex>.json, <diff_id hex>/layer.tar with VERSION
 * and json beside it, repositories): every reader of docker archives
 * (docker load, podman load, skopeo docker-archive:) takes it. Layers are
 * stored uncompressed there, as docker does; compressed layer blobs are
 * uncompressed on the way out. oci-archive is a tar of an OCI image layout
 * (oci-layout, index.json with one descriptor per name, blobs/sha256) with
 * the blobs exactly as stored. */
#include "image/libs.h"
#include "image/transfer.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (128 << 10)

struct saved_image {
        char *digest;
        char **names;
        struct vs_manifest m;
        char **diff_ids;
};

struct writer {
        struct archive *a;
        struct archive_entry *e;
        char **written; /* member paths already in the archive */
};

static int add_header(struct writer *w, const char *path, mode_t type, int64_t size, vs_error **err)
{
        archive_entry_clear(w->e);
        archive_entry_set_pathname(w->e, path);
        archive_entry_set_filetype(w->e, type);
        archive_entry_set_perm(w->e, type == AE_IFDIR ? 0755 : 0644);
        archive_entry_set_size(w->e, type == AE_IFREG ? size : 0);
        archive_entry_set_mtime(w->e, 0, 0);
        if (archive_write_header(w->a, w->e) != ARCHIVE_OK)
                return vs_fail(err, "cannot write %s into the archive: %s", path,
                               archive_error_string(w->a));
        strv_push(&w->written, path);
        return 0;
}

static int add_data(struct writer *w, const char *path, const void *data, size_t len,
                    vs_error **err)
{
        if (len > 0 && archive_write_data(w->a, data, len) != (la_ssize_t) len)
                return vs_fail(err, "cannot write %s into the archive: %s", path,
                               archive_error_string(w->a));
        return 0;
}

static int add_dir(struct writer *w, const char *path, vs_error **err)
{
        if (strv_contains(w->written, path))
                return 0;
        return add_header(w, path, AE_IFDIR, 0, err);
}

static int add_bytes(struct writer *w, const char *path, const char *data, size_t len,
                     vs_error **err)
{
        if (add_header(w, path, AE_IFREG, (int64_t) len, err) < 0)
                return -1;
        return add_data(w, path, data, len, err);
}

static int add_file_fd(struct writer *w, const char *path, int fd, int64_t size, vs_error **err)
{
        if (add_header(w, path, AE_IFREG, size, err) < 0)
                return -1;
        _cleanup_free_ char *buf = xmalloc(CHUNK);
        int64_t left = size;
        while (left > 0) {
                ssize_t n = read(fd, buf, left < CHUNK ? (size_t) left : CHUNK);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return vs_fail_errno(err, "cannot read the blob for %s", path);
                if (add_data(w, path, buf, (size_t) n, err) < 0)
                        return -1;
                left -= n;
        }
        return 0;
}

static int add_blob(struct vs_store *s, struct writer *w, const char *digest, vs_error **err)
{
        _cleanup_free_ char *path = xasprintf("blobs/sha256/%s", vs_digest_hex(digest));
        if (strv_contains(w->written, path))
                return 0;
        _cleanup_close_ int fd = vs_store_open_blob(s, digest, err);
        struct stat st;
        if (fd < 0)
                return -1;
        if (fstat(fd, &st) < 0)
                return vs_fail_errno(err, "cannot stat blob %s", digest);
        return add_file_fd(w, path, fd, st.st_size, err);
}

/* ------------------------------------------------------------------ */
/* uncompressed layers */

typedef int (*chunk_fn)(void *arg, const void *buf, size_t len, vs_error **err);

static int uncompress(struct vs_store *s, const char *digest, chunk_fn fn, void *arg,
                      vs_error **err)
{
        _cleanup_close_ int fd = vs_store_open_blob(s, digest, err);
        if (fd < 0)
                return -1;
        struct archive *a = archive_read_new();
        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        archive_read_support_format_empty(a);
        struct archive_entry *e;
        int r = archive_read_open_fd(a, fd, CHUNK);
        if (r == ARCHIVE_OK)
                r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_OK) {
                const void *buf;
                size_t len;
                la_int64_t off;
                while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK)
                        if (fn(arg, buf, len, err) < 0) {
                                archive_read_free(a);
                                return -1;
                        }
        }
        if (r != ARCHIVE_EOF) {
                vs_fail(err, "cannot uncompress layer %s: %s", digest, archive_error_string(a));
                archive_read_free(a);
                return -1;
        }
        archive_read_free(a);
        return 0;
}

static int count_chunk(void *arg, const void *buf, size_t len, vs_error **err)
{
        *(int64_t *) arg += (int64_t) len;
        return 0;
}

struct data_arg {
        struct writer *w;
        const char *path;
};

static int write_chunk(void *arg, const void *buf, size_t len, vs_error **err)
{
        struct data_arg *d = arg;
        return add_data(d->w, d->path, buf, len, err);
}

static bool is_plain_tar(const char *media_type)
{
        const char *mt = vs_layer_media_type_for_unpack(media_type);
        return mt && strcmp(mt, VS_MT_OCI_LAYER) == 0;
}

static int add_layer_tar(struct vs_store *s, struct writer *w, const char *path,
                         const struct vs_descriptor *layer, vs_error **err)
{
        if (is_plain_tar(layer->media_type)) {
                _cleanup_close_ int fd = vs_store_open_blob(s, layer->digest, err);
                struct stat st;
                if (fd < 0)
                        return -1;
                if (fstat(fd, &st) < 0)
                        return vs_fail_errno(err, "cannot stat blob %s", layer->digest);
                return add_file_fd(w, path, fd, st.st_size, err);
        }
        /* The tar header needs the size first: uncompress twice rather than
         * keep a temporary copy. */
        int64_t size = 0;
        if (uncompress(s, layer->digest, count_chunk, &size, err) < 0 ||
            add_header(w, path, AE_IFREG, size, err) < 0)
                return -1;
        struct data_arg d = {.w = w, .path = path};
        return uncompress(s, layer->digest, write_chunk, &d, err);
}

/* ------------------------------------------------------------------ */

static int write_oci(struct vs_store *s, struct writer *w, struct saved_image *imgs, size_t n,
                     vs_error **err)
{
        static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
        struct vs_index idx = {0};
        for (size_t i = 0; i < n; i++) {
                struct vs_index_entry e = {0};
                _cleanup_free_ char *p = vs_store_blob_path(s, imgs[i].digest);
                struct stat st;
                if (stat(p, &st) < 0) {
                        vs_index_clear(&idx);
                        return vs_fail_errno(err, "cannot stat %s", p);
                }
                e.size = st.st_size;
                for (size_t k = 0; imgs[i].names[k]; k++)
                        free(vs_index_set_name(&idx, imgs[i].names[k], imgs[i].digest,
                                               imgs[i].m.media_type, e.size));
                vs_index_add_image(&idx, imgs[i].digest, imgs[i].m.media_type, e.size);
        }
        _cleanup_free_ char *index = vs_index_serialize(&idx);
        vs_index_clear(&idx);
        if (add_bytes(w, "oci-layout", layout, strlen(layout), err) < 0 ||
            add_bytes(w, "index.json", index, strlen(index), err) < 0 ||
            add_dir(w, "blobs", err) < 0 || add_dir(w, "blobs/sha256", err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                if (add_blob(s, w, imgs[i].digest, err) < 0 ||
                    add_blob(s, w, imgs[i].m.config.digest, err) < 0)
                        return -1;
                for (size_t k = 0; k < imgs[i].m.n_layers; k++)
                        if (add_blob(s, w, imgs[i].m.layers[k].digest, err) < 0)
                                return -1;
        }
        return 0;
}

static int write_docker(struct vs_store *s, struct writer *w, struct saved_image *imgs, size_t n,
                        vs_error **err)
{
        _cleanup_json_ json_object *manifest = json_object_new_array();
        _cleanup_json_ json_object *repos = json_object_new_object();
        for (size_t i = 0; i < n; i++) {
                struct saved_image *img = &imgs[i];
                const char *config_hex = vs_digest_hex(img->m.config.digest);
                _cleanup_free_ char *config_path = xasprintf("%s.json", config_hex);
                if (!strv_contains(w->written, config_path)) {
                        _cleanup_close_ int fd = vs_store_open_blob(s, img->m.config.digest, err);
                        struct stat st;
                        if (fd < 0)
                                return -1;
                        if (fstat(fd, &st) < 0)
                                return vs_fail_errno(err, "cannot stat config %s",
                                                     img->m.config.digest);
                        if (add_file_fd(w, config_path, fd, st.st_size, err) < 0)
                                return -1;
                }
                json_object *item = json_object_new_object();
                json_object_array_add(manifest, item);
                json_object_object_add(item, "Config", json_object_new_string(config_path));
                json_object *tags = json_object_new_array();
                json_object_object_add(item, "RepoTags", tags);
                json_object *layers = json_object_new_array();
                json_object_object_add(item, "Layers", layers);
                const char *parent = NULL;
                for (size_t k = 0; k < img->m.n_layers; k++) {
                        const char *hex = vs_digest_hex(img->diff_ids[k]);
                        _cleanup_free_ char *tar = xasprintf("%s/layer.tar", hex);
                        json_object_array_add(layers, json_object_new_string(tar));
                        if (!strv_contains(w->written, tar)) {
                                _cleanup_free_ char *version = xasprintf("%s/VERSION", hex);
                                _cleanup_free_ char *json_path = xasprintf("%s/json", hex);
                                _cleanup_free_ char *legacy =
                                    parent ? xasprintf("{\"id\":\"%s\",\"parent\":\"%s\"}", hex,
                                                       parent)
                                           : xasprintf("{\"id\":\"%s\"}", hex);
                                if (add_dir(w, hex, err) < 0 ||
                                    add_bytes(w, version, "1.0", 3, err) < 0 ||
                                    add_bytes(w, json_path, legacy, strlen(legacy), err) < 0 ||
                                    add_layer_tar(s, w, tar, &img->m.layers[k], err) < 0)
                                        return -1;
                        }
                        parent = hex;
                }
                for (size_t k = 0; img->names[k]; k++) {
                        json_object_array_add(tags, json_object_new_string(img->names[k]));
                        _cleanup_free_ char *repo = NULL, *tag = NULL;
                        vs_ref_split(img->names[k], &repo, &tag);
                        json_object *r = NULL;
                        if (!json_object_object_get_ex(repos, repo, &r)) {
                                r = json_object_new_object();
                                json_object_object_add(repos, repo, r);
                        }
                        if (parent)
                                json_object_object_add(r, tag, json_object_new_string(parent));
                }
        }
        _cleanup_free_ char *mtext = vs_json_to_string(manifest, false);
        _cleanup_free_ char *rtext = vs_json_to_string(repos, false);
        if (add_bytes(w, "manifest.json", mtext, strlen(mtext), err) < 0)
                return -1;
        if (json_object_object_length(repos) > 0 &&
            add_bytes(w, "repositories", rtext, strlen(rtext), err) < 0)
                return -1;
        return 0;
}

static void saved_clear(struct saved_image *imgs, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(imgs[i].digest);
                strv_free(imgs[i].names);
                strv_free(imgs[i].diff_ids);
                vs_manifest_clear(&imgs[i].m);
        }
        free(imgs);
}

static int collect(struct vs_store *s, const struct vs_index *idx, char *const *refs,
                   struct saved_image **out, size_t *count, vs_error **err)
{
        size_t n = 0;
        struct saved_image *imgs = xcalloc(strv_len(refs) + 1, sizeof(*imgs));
        for (size_t i = 0; refs[i]; i++) {
                _cleanup_free_ char *digest = NULL, *name = NULL;
                if (vs_index_resolve(s, idx, refs[i], &digest, &name, err) < 0)
                        goto fail;
                struct saved_image *img = NULL;
                for (size_t k = 0; k < n && !img; k++)
                        if (strcmp(imgs[k].digest, digest) == 0)
                                img = &imgs[k];
                if (img == NULL) {
                        img = &imgs[n++];
                        img->digest = xstrdup(digest);
                        img->names = xcalloc(1, sizeof(char *));
                        _cleanup_free_ char *text = NULL;
                        _cleanup_json_ json_object *config = NULL;
                        if (vs_store_read_manifest(s, digest, &img->m, err) < 0 ||
                            vs_store_read_blob(s, img->m.config.digest, &text, NULL, err) < 0 ||
                            vs_json_parse(text, "config", &config, err) < 0 ||
                            vs_image_config_diff_ids(config, "config", &img->diff_ids, err) < 0)
                                goto fail;
                        if (strv_len(img->diff_ids) != img->m.n_layers) {
                                vs_fail(err, "image %s: manifest and config disagree on layers",
                                        refs[i]);
                                goto fail;
                        }
                }
                if (name && !strv_contains(img->names, name))
                        strv_push(&img->names, name);
        }
        *out = imgs;
        *count = n;
        return 0;
fail:
        saved_clear(imgs, n);
        return -1;
}

int vs_archive_save(struct vs_store *s, char *const *refs, enum vs_archive_format format,
                    int out_fd, vs_error **err)
{
        /* The built-in image may be saved before it was ever used. */
        for (size_t i = 0; refs[i]; i++) {
                _cleanup_free_ char *canonical = NULL;
                _cleanup_error_ vs_error *e = NULL;
                if (vs_ref_normalize(refs[i], &canonical, &e) == 0 &&
                    strcmp(canonical, "busybox:latest") == 0 && vs_image_ensure_busybox(s, err) < 0)
                        return -1;
        }
        /* Hold the lock so that no blob goes away while it is copied. */
        _cleanup_close_ int lock = vs_store_lock(s, err);
        if (lock < 0)
                return -1;
        struct vs_index idx = {0};
        struct saved_image *imgs = NULL;
        size_t n = 0;
        if (vs_store_load_index(s, &idx, err) < 0)
                return -1;
        int r = collect(s, &idx, refs, &imgs, &n, err);
        vs_index_clear(&idx);
        if (r < 0)
                return -1;
        struct writer w = {.a = archive_write_new(),
                           .e = archive_entry_new(),
                           .written = xcalloc(1, sizeof(char *))};
        archive_write_set_format_pax_restricted(w.a);
        archive_write_add_filter_none(w.a);
        /* Written in CHUNKs rather than tar's 10 KiB records (200 write
         * calls per 2 MB layer); the last block is not padded, so the
         * archive's bytes are the same. */
        archive_write_set_bytes_per_block(w.a, CHUNK);
        archive_write_set_bytes_in_last_block(w.a, 1);
        int ret = -1;
        if (archive_write_open_fd(w.a, out_fd) != ARCHIVE_OK) {
                vs_fail(err, "cannot write the archive: %s", archive_error_string(w.a));
                goto out;
        }
        if ((format == VS_ARCHIVE_OCI ? write_oci(s, &w, imgs, n, err)
                                      : write_docker(s, &w, imgs, n, err)) < 0)
                goto out;
        if (archive_write_close(w.a) != ARCHIVE_OK) {
                vs_fail(err, "cannot write the archive: %s", archive_error_string(w.a));
                goto out;
        }
        ret = 0;
out:
        archive_entry_free(w.e);
        archive_write_free(w.a);
        strv_free(w.written);
        saved_clear(imgs, n);
        return ret;
}
