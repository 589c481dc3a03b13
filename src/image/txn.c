/* Write transactions on the image store. Everything a transaction writes
 * goes first into its own directory under <root>/tmp; vs_txn_commit makes it
 * durable (syncfs), renames blobs and unpacked layers into place, and
 * replaces index.json last. A transaction holds store.lock from begin to
 * free, so the stale temporary files of a killed one can be removed by the
 * next. */
#include "image/layer.h"
#include "image/libs.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Start writeback of a streamed blob every so many bytes, so that the
 * syncfs at commit has little left to wait for. */
#define WRITEBACK_CHUNK (32 << 20)

struct staged_blob {
        char *digest;
        char *tmp;
        int64_t size;
        bool used;
};

struct unpacked {
        char *blob_digest;
        char *tmp;
        char *diff_id;
        int64_t size;
        vs_error *error;
};

/* A layer an image of this transaction needs: its directory comes from tmp
 * (a fresh unpack) or is already in the store; blobs are the layer blobs
 * verified to uncompress to it, recorded in layers/<hex>.json. */
struct layer_plan {
        char *diff_id;
        char **blobs;
        int64_t size;
        char *tmp;
        bool in_store;
        char *record_tmp; /* layers/<hex>.json, written before the commit's syncfs */
};

struct config_cache {
        char *manifest;
        char *config;
};

struct vs_txn {
        struct vs_store *s;
        int lock_fd;
        bool nested;
        char *tmp_dir;
        int tmp_fd;
        unsigned counter;
        struct vs_index idx;
        char *orig_index;
        char **orig_digests;
        struct staged_blob *blobs;
        size_t n_blobs;
        struct unpacked *unpacked;
        size_t n_unpacked;
        struct layer_plan *plans;
        size_t n_plans;
        struct config_cache *configs;
        size_t n_configs;
        bool gc, gc_all, committed;
        char **events; /* action, id, name, ... sent after the commit */
        size_t gc_blobs, gc_layers;
        int64_t gc_bytes;
};

struct vs_blob_writer {
        struct vs_txn *t;
        char *tmp;
        int fd;
        struct vs_sha256 h;
        int64_t hashed;
        int64_t kicked;
};

static int clean_stale_tmp(struct vs_store *s)
{
        _cleanup_close_ int fd = openat(s->root_fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        int dfd = dup(fd);
        if (dfd < 0)
                return -1;
        _cleanup_closedir_ DIR *d = fdopendir(dfd);
        if (d == NULL) {
                close(dfd);
                return -1;
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                _cleanup_error_ vs_error *e = NULL;
                if (vs_rm_rf_at(fd, de->d_name, &e) < 0)
                        vs_warn("cannot remove stale %s/tmp/%s: %s", s->root, de->d_name, e->msg);
        }
        return 0;
}

int vs_txn_begin(struct vs_store *s, struct vs_txn **out, vs_error **err)
{
        struct vs_txn *t = xzalloc(sizeof(*t));
        t->s = s;
        t->tmp_fd = -1;
        t->lock_fd = vs_store_lock_nested(s, &t->nested, err);
        if (t->lock_fd < 0) {
                free(t);
                return -1;
        }
        /* Only lock holders write under tmp/: what is there now was left by
         * a killed transaction. */
        if (!t->nested)
                clean_stale_tmp(s);
        t->tmp_dir = xasprintf("%s/tmp/txn-%d-%u", s->root, (int) getpid(), ++s->txn_counter);
        if (mkdir(t->tmp_dir, 0700) < 0 && errno != EEXIST) {
                vs_fail_errno(err, "cannot create %s", t->tmp_dir);
                goto fail;
        }
        t->tmp_fd = open(t->tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (t->tmp_fd < 0) {
                vs_fail_errno(err, "cannot open %s", t->tmp_dir);
                goto fail;
        }
        if (vs_store_load_index(s, &t->idx, err) < 0)
                goto fail;
        t->orig_index = vs_index_serialize(&t->idx);
        t->orig_digests = vs_index_digests(&t->idx);
        *out = t;
        return 0;
fail:
        vs_txn_free(t);
        return -1;
}

struct vs_store *vs_txn_store(struct vs_txn *t)
{
        return t->s;
}

struct vs_index *vs_txn_index(struct vs_txn *t)
{
        return &t->idx;
}

const char *vs_txn_tmp_dir(struct vs_txn *t)
{
        return t->tmp_dir;
}

int vs_txn_tmp_fd(struct vs_txn *t)
{
        return t->tmp_fd;
}

char *vs_txn_tmp_name(struct vs_txn *t, const char *prefix)
{
        return xasprintf("%s-%u", prefix, ++t->counter);
}

/* ------------------------------------------------------------------ */
/* blobs */

static struct staged_blob *find_staged(struct vs_txn *t, const char *digest)
{
        for (size_t i = 0; i < t->n_blobs; i++)
                if (strcmp(t->blobs[i].digest, digest) == 0)
                        return &t->blobs[i];
        return NULL;
}

static void add_staged(struct vs_txn *t, const char *digest, const char *tmp, int64_t size)
{
        if (find_staged(t, digest) || vs_store_has_blob(t->s, digest)) {
                unlinkat(t->tmp_fd, tmp, 0);
                return;
        }
        t->blobs = xrealloc(t->blobs, (t->n_blobs + 1) * sizeof(*t->blobs));
        t->blobs[t->n_blobs++] =
            (struct staged_blob){.digest = xstrdup(digest), .tmp = xstrdup(tmp), .size = size};
}

int vs_blob_writer_open(struct vs_txn *t, struct vs_blob_writer **out, vs_error **err)
{
        struct vs_blob_writer *w = xzalloc(sizeof(*w));
        w->t = t;
        w->tmp = vs_txn_tmp_name(t, "blob");
        w->fd = openat(t->tmp_fd, w->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (w->fd < 0) {
                vs_fail_errno(err, "cannot create %s/%s", t->tmp_dir, w->tmp);
                free(w->tmp);
                free(w);
                return -1;
        }
        vs_sha256_init(&w->h);
        *out = w;
        return 0;
}

int vs_blob_writer_fd(struct vs_blob_writer *w)
{
        return w->fd;
}

int vs_blob_writer_write(struct vs_blob_writer *w, const void *buf, size_t len, vs_error **err)
{
        const char *p = buf;
        vs_sha256_update(&w->h, buf, len);
        w->hashed += (int64_t) len;
        while (len > 0) {
                ssize_t n = write(w->fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return vs_fail_errno(err, "cannot write %s/%s", w->t->tmp_dir, w->tmp);
                p += n;
                len -= (size_t) n;
        }
        if (w->hashed - w->kicked >= WRITEBACK_CHUNK) {
                sync_file_range(w->fd, w->kicked, w->hashed - w->kicked, SYNC_FILE_RANGE_WRITE);
                w->kicked = w->hashed;
        }
        return 0;
}

/* The blob is complete with digest got: checked and staged. */
static int finish_as(struct vs_blob_writer *w, const char *expected, const char *got, int64_t total,
                     char **digest, int64_t *size, vs_error **err)
{
        if (expected && strcmp(got, expected) != 0)
                return vs_fail(err, "blob %s does not match its digest (content has %s)", expected,
                               got);
        add_staged(w->t, got, w->tmp, total);
        close(w->fd);
        w->fd = -1;
        free(w->tmp);
        w->tmp = NULL;
        if (digest)
                *digest = xstrdup(got);
        if (size)
                *size = total;
        return 0;
}

int vs_blob_writer_finish(struct vs_blob_writer *w, const char *expected, char **digest,
                          int64_t *size, vs_error **err)
{
        char got[VS_DIGEST_LEN + 1];
        int64_t total = w->hashed;
        struct stat st;
        if (fstat(w->fd, &st) < 0)
                return vs_fail_errno(err, "cannot stat %s/%s", w->t->tmp_dir, w->tmp);
        if (st.st_size != w->hashed) {
                /* Written through the fd by someone else: hash the file. */
                vs_sha256_abort(&w->h);
                if (lseek(w->fd, 0, SEEK_SET) < 0 || vs_hash_fd(w->fd, got, &total, err) < 0)
                        return vs_error_wrap(err, "cannot hash %s/%s", w->t->tmp_dir, w->tmp);
        } else {
                vs_sha256_final(&w->h, got);
        }
        return finish_as(w, expected, got, total, digest, size, err);
}

int vs_blob_writer_finish_kept(struct vs_blob_writer *w, const char *expected, const char *got,
                               int64_t size, vs_error **err)
{
        struct stat st;
        if (fstat(w->fd, &st) < 0)
                return vs_fail_errno(err, "cannot stat %s/%s", w->t->tmp_dir, w->tmp);
        if (!vs_digest_valid(got) || st.st_size != size || w->hashed != 0)
                return vs_fail(err, "%s/%s: the blob written through its fd is not the one told",
                               w->t->tmp_dir, w->tmp);
        vs_sha256_abort(&w->h);
        return finish_as(w, expected, got, size, NULL, NULL, err);
}

void vs_blob_writer_free(struct vs_blob_writer *w)
{
        if (w == NULL)
                return;
        if (w->fd >= 0) {
                close(w->fd);
                vs_sha256_abort(&w->h);
        }
        if (w->tmp)
                unlinkat(w->t->tmp_fd, w->tmp, 0);
        free(w->tmp);
        free(w);
}

int vs_txn_put_blob(struct vs_txn *t, const void *data, size_t len, char **digest, vs_error **err)
{
        struct vs_blob_writer *w;
        if (vs_blob_writer_open(t, &w, err) < 0)
                return -1;
        int r = vs_blob_writer_write(w, data, len, err);
        if (r == 0)
                r = vs_blob_writer_finish(w, NULL, digest, NULL, err);
        vs_blob_writer_free(w);
        return r;
}

bool vs_txn_has_blob(struct vs_txn *t, const char *digest)
{
        return find_staged(t, digest) || vs_store_has_blob(t->s, digest);
}

int vs_txn_open_blob(struct vs_txn *t, const char *digest, vs_error **err)
{
        struct staged_blob *b = find_staged(t, digest);
        if (b == NULL)
                return vs_store_open_blob(t->s, digest, err);
        int fd = openat(t->tmp_fd, b->tmp, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return vs_fail_errno(err, "cannot open %s/%s", t->tmp_dir, b->tmp);
        return fd;
}

static int blob_size_check(struct vs_txn *t, const char *digest, int64_t want, vs_error **err)
{
        if (want < 0)
                return 0;
        int64_t have = -1;
        struct staged_blob *b = find_staged(t, digest);
        struct stat st;
        if (b) {
                have = b->size;
        } else {
                _cleanup_free_ char *p = vs_store_blob_path(t->s, digest);
                if (stat(p, &st) == 0)
                        have = st.st_size;
        }
        if (have != want)
                return vs_fail(err, "blob %s has %lld bytes, its descriptor says %lld", digest,
                               (long long) have, (long long) want);
        return 0;
}

int vs_txn_read_blob(struct vs_txn *t, const char *digest, int64_t size, char **data, size_t *len,
                     vs_error **err)
{
        if (!vs_txn_has_blob(t, digest))
                return vs_fail(err, "blob %s is missing", digest);
        if (blob_size_check(t, digest, size, err) < 0)
                return -1;
        _cleanup_close_ int fd = vs_txn_open_blob(t, digest, err);
        if (fd < 0)
                return -1;
        _cleanup_free_ char *what = xasprintf("blob %s", digest);
        return vs_read_fd_verified(fd, digest, what, data, len, err);
}

/* ------------------------------------------------------------------ */
/* layers */

static struct unpacked *find_unpacked(struct vs_txn *t, const char *blob_digest)
{
        for (size_t i = 0; i < t->n_unpacked; i++)
                if (strcmp(t->unpacked[i].blob_digest, blob_digest) == 0)
                        return &t->unpacked[i];
        return NULL;
}

void vs_txn_note_unpacked(struct vs_txn *t, const char *blob_digest, const char *tmp_name,
                          const char *diff_id, int64_t size, vs_error **error)
{
        if (find_unpacked(t, blob_digest)) {
                if (tmp_name)
                        vs_rm_rf_at(t->tmp_fd, tmp_name, NULL);
                vs_error_free(error);
                return;
        }
        t->unpacked = xrealloc(t->unpacked, (t->n_unpacked + 1) * sizeof(*t->unpacked));
        t->unpacked[t->n_unpacked++] = (struct unpacked){
            .blob_digest = xstrdup(blob_digest),
            .tmp = tmp_name ? xstrdup(tmp_name) : NULL,
            .diff_id = diff_id ? xstrdup(diff_id) : NULL,
            .size = size,
            .error = error ? steal_ptr(*error) : NULL,
        };
}

static struct layer_plan *find_plan(struct vs_txn *t, const char *diff_id)
{
        for (size_t i = 0; i < t->n_plans; i++)
                if (strcmp(t->plans[i].diff_id, diff_id) == 0)
                        return &t->plans[i];
        return NULL;
}

static void plan_layer(struct vs_txn *t, const char *diff_id, const char *blob, int64_t size,
                       const char *tmp, bool in_store)
{
        struct layer_plan *p = find_plan(t, diff_id);
        if (p == NULL) {
                t->plans = xrealloc(t->plans, (t->n_plans + 1) * sizeof(*t->plans));
                p = &t->plans[t->n_plans++];
                *p = (struct layer_plan){.diff_id = xstrdup(diff_id),
                                         .blobs = xcalloc(1, sizeof(char *)),
                                         .size = size,
                                         .in_store = in_store};
        }
        if (!strv_contains(p->blobs, blob))
                strv_push(&p->blobs, blob);
        if (!p->in_store && p->tmp == NULL && tmp)
                p->tmp = xstrdup(tmp);
}

/* sha256 of the uncompressed content of a layer blob. */
static int hash_uncompressed(int fd, char out[VS_DIGEST_LEN + 1], vs_error **err)
{
        struct archive *a = archive_read_new();
        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        archive_read_support_format_empty(a);
        struct archive_entry *e;
        struct vs_sha256 h;
        vs_sha256_init(&h);
        int r = archive_read_open_fd(a, fd, 1 << 20);
        if (r == ARCHIVE_OK)
                r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_OK) {
                const void *buf;
                size_t len;
                la_int64_t off;
                while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK)
                        vs_sha256_update(&h, buf, len);
        }
        if (r != ARCHIVE_EOF) {
                vs_fail(err, "cannot uncompress layer: %s", archive_error_string(a));
                vs_sha256_abort(&h);
                archive_read_free(a);
                return -1;
        }
        archive_read_free(a);
        vs_sha256_final(&h, out);
        return 0;
}

static int diff_id_mismatch(const char *blob, const char *got, const char *want, vs_error **err)
{
        return vs_fail(err,
                       "layer %s: its uncompressed content has digest %s, but the image "
                       "config's rootfs.diff_ids says %s",
                       blob, got, want);
}

int vs_txn_ensure_layer(struct vs_txn *t, const char *blob_digest, const char *media_type,
                        const char *diff_id, vs_error **err)
{
        struct layer_plan *p = find_plan(t, diff_id);
        if (p && strv_contains(p->blobs, blob_digest))
                return 0;
        struct vs_layer_info info;
        int have = vs_store_layer_info(t->s, diff_id, &info, err);
        if (have < 0)
                return -1;
        bool known_pair = have == 1 && strv_contains(info.blobs, blob_digest);
        int64_t info_size = info.size;
        vs_layer_info_clear(&info);
        if (known_pair) {
                plan_layer(t, diff_id, blob_digest, info_size, NULL, true);
                return 0;
        }
        struct unpacked *u = find_unpacked(t, blob_digest);
        if (u && u->error)
                return vs_fail(err, "layer %s: %s", blob_digest, u->error->msg);
        if (u) {
                if (strcmp(u->diff_id, diff_id) != 0)
                        return diff_id_mismatch(blob_digest, u->diff_id, diff_id, err);
                plan_layer(t, diff_id, blob_digest, have == 1 ? info_size : u->size, u->tmp,
                           have == 1);
                return 0;
        }
        if (!vs_txn_has_blob(t, blob_digest))
                return vs_fail(err, "layer blob %s is missing", blob_digest);
        _cleanup_close_ int fd = vs_txn_open_blob(t, blob_digest, err);
        if (fd < 0)
                return -1;
        if (have == 1 || p) {
                /* The directory exists: only prove this blob is that layer. */
                char got[VS_DIGEST_LEN + 1];
                if (hash_uncompressed(fd, got, err) < 0)
                        return vs_error_wrap(err, "layer %s", blob_digest);
                if (strcmp(got, diff_id) != 0)
                        return diff_id_mismatch(blob_digest, got, diff_id, err);
                plan_layer(t, diff_id, blob_digest, have == 1 ? info_size : p->size, NULL,
                           have == 1);
                return 0;
        }
        _cleanup_free_ char *tmp = vs_txn_tmp_name(t, "layer");
        _cleanup_free_ char *dest = xasprintf("%s/%s", t->tmp_dir, tmp);
        _cleanup_free_ char *got = NULL;
        int64_t size = 0;
        const char *mt = media_type ? vs_layer_media_type_for_unpack(media_type) : NULL;
        if (media_type && mt == NULL)
                return vs_fail(err, "layer %s: unknown layer media type '%s'", blob_digest,
                               media_type);
        if (vs_layer_unpack(fd, mt, dest, false, &got, &size, err) < 0)
                return vs_error_wrap(err, "layer %s", blob_digest);
        vs_txn_note_unpacked(t, blob_digest, tmp, got, size, NULL);
        if (strcmp(got, diff_id) != 0)
                return diff_id_mismatch(blob_digest, got, diff_id, err);
        plan_layer(t, diff_id, blob_digest, size, tmp, false);
        return 0;
}

/* ------------------------------------------------------------------ */
/* images */

static char *config_of(struct vs_txn *t, const char *manifest)
{
        for (size_t i = 0; i < t->n_configs; i++)
                if (strcmp(t->configs[i].manifest, manifest) == 0)
                        return t->configs[i].config;
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ vs_error *e = NULL;
        struct vs_manifest m;
        _cleanup_free_ char *what = xasprintf("manifest %s", manifest);
        if (vs_txn_read_blob(t, manifest, -1, &text, NULL, &e) < 0 ||
            vs_manifest_parse(text, what, &m, &e) < 0)
                return NULL;
        char *config = m.is_index ? NULL : xstrdup(m.config.digest);
        vs_manifest_clear(&m);
        if (config == NULL)
                return NULL;
        t->configs = xrealloc(t->configs, (t->n_configs + 1) * sizeof(*t->configs));
        t->configs[t->n_configs++] =
            (struct config_cache){.manifest = xstrdup(manifest), .config = config};
        return config;
}

static void mark_used(struct vs_txn *t, const char *digest)
{
        struct staged_blob *b = find_staged(t, digest);
        if (b)
                b->used = true;
}

int vs_txn_add_image(struct vs_txn *t, const char *manifest_digest, char *const *names, char **id,
                     vs_error **err)
{
        _cleanup_free_ char *text = NULL, *config_text = NULL;
        size_t len = 0;
        _cleanup_free_ char *what = xasprintf("manifest %s", manifest_digest);
        if (vs_txn_read_blob(t, manifest_digest, -1, &text, &len, err) < 0)
                return -1;
        struct vs_manifest m;
        if (vs_manifest_parse(text, what, &m, err) < 0)
                return -1;
        int ret = -1;
        _cleanup_json_ json_object *config = NULL;
        _cleanup_strv_ char **diff_ids = NULL;
        _cleanup_strv_ char **digests = NULL;
        _cleanup_free_ char *use_mt = NULL, *use_digest = NULL;
        _cleanup_free_ char *cwhat = xasprintf("config %s", m.config.digest ? m.config.digest : "");
        if (m.is_index) {
                vs_fail(err, "%s is an index, not an image manifest", what);
                goto out;
        }
        if (!vs_txn_has_blob(t, m.config.digest)) {
                vs_fail(err, "%s names config %s, which is missing", what, m.config.digest);
                goto out;
        }
        if (vs_txn_read_blob(t, m.config.digest, m.config.size, &config_text, NULL, err) < 0 ||
            vs_json_parse(config_text, cwhat, &config, err) < 0 ||
            vs_image_config_diff_ids(config, cwhat, &diff_ids, err) < 0)
                goto out;
        if (strv_len(diff_ids) != m.n_layers) {
                vs_fail(err, "%s has %zu layers but its config has %zu rootfs.diff_ids", what,
                        m.n_layers, strv_len(diff_ids));
                goto out;
        }
        for (size_t i = 0; i < m.n_layers; i++) {
                const struct vs_descriptor *l = &m.layers[i];
                if (!vs_txn_has_blob(t, l->digest)) {
                        vs_fail(err, "%s names layer %s, which is missing", what, l->digest);
                        goto out;
                }
                if (blob_size_check(t, l->digest, l->size, err) < 0 ||
                    vs_txn_ensure_layer(t, l->digest, l->media_type, diff_ids[i], err) < 0)
                        goto out;
        }
        /* An image is its config: reuse the manifest the store already has
         * for it, so that one image never shows up twice. */
        const char *use = manifest_digest;
        digests = vs_index_digests(&t->idx);
        for (size_t i = 0; digests[i]; i++) {
                const char *c =
                    strcmp(digests[i], manifest_digest) ? config_of(t, digests[i]) : NULL;
                if (c && strcmp(c, m.config.digest) == 0) {
                        use = digests[i];
                        break;
                }
        }
        if (use == manifest_digest) {
                mark_used(t, manifest_digest);
                mark_used(t, m.config.digest);
                for (size_t i = 0; i < m.n_layers; i++)
                        mark_used(t, m.layers[i].digest);
                vs_index_add_image(&t->idx, manifest_digest, m.media_type, (int64_t) len);
        }
        const struct vs_index_entry *e = vs_index_entry_of(&t->idx, use);
        use_mt = xstrdup(e->media_type);
        int64_t use_size = e->size;
        use_digest = xstrdup(use);
        for (size_t i = 0; names && names[i]; i++) {
                _cleanup_free_ char *name = NULL;
                if (vs_ref_normalize_any(names[i], &name, err) < 0)
                        goto out;
                free(vs_index_set_name(&t->idx, name, use_digest, use_mt, use_size));
        }
        if (id)
                *id = xstrdup(m.config.digest);
        ret = 0;
out:
        vs_manifest_clear(&m);
        return ret;
}

/* ------------------------------------------------------------------ */
/* commit */

/* Writes data to a new file in the temporary directory (*tmp_name), and
 * fsyncs it when sync. */
static int write_tmp(struct vs_txn *t, const char *data, size_t len, bool sync, char **tmp_name,
                     vs_error **err)
{
        _cleanup_free_ char *tmp = vs_txn_tmp_name(t, "file");
        _cleanup_close_ int fd =
            openat(t->tmp_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return vs_fail_errno(err, "cannot create %s/%s", t->tmp_dir, tmp);
        for (size_t off = 0; off < len;) {
                ssize_t n = write(fd, data + off, len - off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return vs_fail_errno(err, "cannot write %s/%s", t->tmp_dir, tmp);
                off += (size_t) n;
        }
        if (sync && fsync(fd) < 0)
                return vs_fail_errno(err, "cannot write %s/%s", t->tmp_dir, tmp);
        *tmp_name = steal_ptr(tmp);
        return 0;
}

static int move_into_place(struct vs_txn *t, const char *tmp, const char *rel, vs_error **err)
{
        if (renameat(t->tmp_fd, tmp, t->s->root_fd, rel) < 0)
                return vs_fail_errno(err, "cannot rename %s/%s to %s/%s", t->tmp_dir, tmp,
                                     t->s->root, rel);
        return 0;
}

static int fsync_dir(struct vs_txn *t, const char *rel, vs_error **err)
{
        _cleanup_close_ int fd = openat(t->s->root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return vs_fail_errno(err, "cannot sync %s/%s", t->s->root, rel);
        return 0;
}

static char *layer_record(const char *diff_id, int64_t size, char *const *blobs)
{
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object_object_add(o, "diff_id", json_object_new_string(diff_id));
        json_object_object_add(o, "size", json_object_new_int64(size));
        json_object *arr = json_object_new_array();
        for (size_t i = 0; blobs && blobs[i]; i++)
                json_object_array_add(arr, json_object_new_string(blobs[i]));
        json_object_object_add(o, "blobs", arr);
        return vs_json_to_string(o, false);
}

static void rollback(struct vs_txn *t, char **created)
{
        for (size_t n = strv_len(created); n > 0; n--) {
                const char *rel = created[n - 1];
                if (vs_rm_rf_at(t->s->root_fd, rel, NULL) < 0)
                        vs_warn("cannot roll back %s/%s", t->s->root, rel);
        }
}

/* renameat2(RENAME_NOREPLACE), or an existence check and renameat where
 * the filesystem lacks the flag (we hold the lock: nobody else writes). */
static int rename_noreplace(int from_fd, const char *from, int to_fd, const char *to)
{
        if (renameat2(from_fd, from, to_fd, to, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != EINVAL)
                return -1;
        if (faccessat(to_fd, to, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
                errno = EEXIST;
                return -1;
        }
        return renameat(from_fd, from, to_fd, to);
}

/* The record of each layer the commit adds or gives more blobs: written
 * into the temporary directory before the syncfs, so that it is durable
 * with everything else (no fsync of its own). */
static int write_records(struct vs_txn *t, vs_error **err)
{
        for (size_t i = 0; i < t->n_plans; i++) {
                struct layer_plan *p = &t->plans[i];
                _cleanup_strv_ char **blobs = strv_copy(p->blobs);
                if (p->in_store) {
                        struct vs_layer_info info;
                        if (vs_store_layer_info(t->s, p->diff_id, &info, err) < 0)
                                return -1;
                        bool all = true;
                        for (size_t j = 0; blobs[j]; j++)
                                all = all && strv_contains(info.blobs, blobs[j]);
                        for (size_t j = 0; info.blobs && info.blobs[j]; j++)
                                if (!strv_contains(blobs, info.blobs[j]))
                                        strv_push(&blobs, info.blobs[j]);
                        vs_layer_info_clear(&info);
                        if (all)
                                continue;
                } else if (p->tmp == NULL) {
                        return vs_fail(err, "layer %s was never unpacked", p->diff_id);
                }
                _cleanup_free_ char *text = layer_record(p->diff_id, p->size, blobs);
                if (write_tmp(t, text, strlen(text), false, &p->record_tmp, err) < 0)
                        return -1;
        }
        return 0;
}

static int promote(struct vs_txn *t, char ***created, vs_error **err)
{
        for (size_t i = 0; i < t->n_blobs; i++) {
                struct staged_blob *b = &t->blobs[i];
                if (!b->used)
                        continue;
                _cleanup_free_ char *rel = xasprintf("blobs/sha256/%s", vs_digest_hex(b->digest));
                if (rename_noreplace(t->tmp_fd, b->tmp, t->s->root_fd, rel) == 0)
                        strv_push(created, rel);
                else if (errno != EEXIST)
                        return vs_fail_errno(err, "cannot move blob %s into %s/blobs", b->digest,
                                             t->s->root);
        }
        for (size_t i = 0; i < t->n_plans; i++) {
                struct layer_plan *p = &t->plans[i];
                if (p->record_tmp == NULL)
                        continue;
                const char *hex = vs_digest_hex(p->diff_id);
                _cleanup_free_ char *dir = xasprintf("layers/%s", hex);
                _cleanup_free_ char *rec = xasprintf("layers/%s.json", hex);
                if (!p->in_store) {
                        /* A directory without its record is the remains of a
                         * killed removal: replace it. */
                        if (vs_rm_rf_at(t->s->root_fd, dir, err) < 0)
                                return -1;
                        if (renameat(t->tmp_fd, p->tmp, t->s->root_fd, dir) < 0)
                                return vs_fail_errno(err, "cannot move layer %s into %s/layers",
                                                     p->diff_id, t->s->root);
                        strv_push(created, dir);
                }
                if (move_into_place(t, p->record_tmp, rec, err) < 0)
                        return -1;
                if (!p->in_store)
                        strv_push(created, rec);
        }
        return 0;
}

static void collect_garbage(struct vs_txn *t);

int vs_txn_commit(struct vs_txn *t, vs_error **err)
{
        _cleanup_free_ char *index = vs_index_serialize(&t->idx);
        bool index_changed = strcmp(index, t->orig_index) != 0;
        bool promoting = t->n_plans > 0;
        for (size_t i = 0; i < t->n_blobs && !promoting; i++)
                promoting = t->blobs[i].used;
        /* Everything new is written into the temporary directory first (the
         * layer records and index.json too, unsynced), made durable by one
         * syncfs, then renamed into place: the directories' fsyncs make the
         * renames durable before index.json names the image. */
        _cleanup_free_ char *index_tmp = NULL;
        if (promoting && write_records(t, err) < 0)
                return -1;
        if (index_changed && write_tmp(t, index, strlen(index), !promoting, &index_tmp, err) < 0)
                return -1;
        if (promoting && syncfs(t->s->root_fd) < 0)
                return vs_fail_errno(err, "cannot sync the image store %s", t->s->root);
        _cleanup_strv_ char **created = xcalloc(1, sizeof(char *));
        if (promoting && (promote(t, &created, err) < 0 || fsync_dir(t, "blobs/sha256", err) < 0 ||
                          fsync_dir(t, "layers", err) < 0))
                goto fail;
        if (index_changed) {
                if (move_into_place(t, index_tmp, "index.json", err) < 0)
                        goto fail;
                _cleanup_error_ vs_error *e = NULL;
                if (fsync_dir(t, ".", &e) < 0)
                        vs_warn("%s", e->msg);
        }
        t->committed = true;
        if (t->gc)
                collect_garbage(t);
        for (size_t i = 0; t->events && t->events[i]; i += 4) {
                _cleanup_json_ json_object *labels =
                    *t->events[i + 3] ? json_tokener_parse(t->events[i + 3]) : NULL;
                vs_store_send_event(t->s, t->events[i], t->events[i + 1], t->events[i + 2], labels);
        }
        return 0;
fail:
        rollback(t, created);
        return vs_error_wrap(err, "cannot update the image store %s", t->s->root);
}

void vs_txn_event(struct vs_txn *t, const char *action, const char *id, const char *name)
{
        /* A delete has none: Docker writes it once the image is gone. */
        _cleanup_free_ char *config = NULL;
        _cleanup_json_ json_object *labels = NULL;
        vs_error *e = NULL;
        if (strcmp(action, "delete") != 0 && strncmp(id, "sha256:", 7) == 0 &&
            vs_txn_read_blob(t, id, -1, &config, NULL, &e) == 0)
                labels = vs_image_config_labels(config);
        vs_error_free(&e);
        strv_push(&t->events, action);
        strv_push(&t->events, id);
        strv_push(&t->events, name ? name : id);
        strv_push(&t->events,
                  labels ? json_object_to_json_string_ext(labels, JSON_C_TO_STRING_PLAIN) : "");
}

void vs_txn_free(struct vs_txn *t)
{
        if (t == NULL)
                return;
        strv_free(t->events);
        if (t->tmp_fd >= 0) {
                close(t->tmp_fd);
                if (vs_rm_rf(t->tmp_dir, NULL) < 0)
                        vs_warn("cannot remove %s", t->tmp_dir);
        }
        if (t->lock_fd >= 0)
                close(t->lock_fd);
        free(t->tmp_dir);
        vs_index_clear(&t->idx);
        free(t->orig_index);
        strv_free(t->orig_digests);
        for (size_t i = 0; i < t->n_blobs; i++) {
                free(t->blobs[i].digest);
                free(t->blobs[i].tmp);
        }
        free(t->blobs);
        for (size_t i = 0; i < t->n_unpacked; i++) {
                free(t->unpacked[i].blob_digest);
                free(t->unpacked[i].tmp);
                free(t->unpacked[i].diff_id);
                vs_error_free(&t->unpacked[i].error);
        }
        free(t->unpacked);
        for (size_t i = 0; i < t->n_plans; i++) {
                free(t->plans[i].diff_id);
                free(t->plans[i].tmp);
                free(t->plans[i].record_tmp);
                strv_free(t->plans[i].blobs);
        }
        free(t->plans);
        for (size_t i = 0; i < t->n_configs; i++) {
                free(t->configs[i].manifest);
                free(t->configs[i].config);
        }
        free(t->configs);
        free(t);
}

/* ------------------------------------------------------------------ */
/* garbage collection after a commit */

void vs_txn_collect_garbage(struct vs_txn *t, bool everything_unreferenced)
{
        t->gc = true;
        t->gc_all = t->gc_all || everything_unreferenced;
}

void vs_txn_gc_stats(struct vs_txn *t, size_t *blobs, size_t *layers, int64_t *bytes)
{
        *blobs = t->gc_blobs;
        *layers = t->gc_layers;
        *bytes = t->gc_bytes;
}

/* Adds the blobs and layers of image manifest to the sets; false when the
 * image cannot be read (then nothing may be deleted on its account). */
static bool image_refs(struct vs_store *s, const char *manifest, char ***blobs, char ***layers)
{
        _cleanup_error_ vs_error *e = NULL;
        struct vs_manifest m;
        if (vs_store_read_manifest(s, manifest, &m, &e) < 0)
                return false;
        _cleanup_free_ char *text = NULL;
        _cleanup_json_ json_object *config = NULL;
        _cleanup_strv_ char **diff_ids = NULL;
        bool ok = vs_store_read_blob(s, m.config.digest, &text, NULL, &e) == 0 &&
                  vs_json_parse(text, "config", &config, &e) == 0 &&
                  vs_image_config_diff_ids(config, "config", &diff_ids, &e) == 0;
        strv_push(blobs, manifest);
        strv_push(blobs, m.config.digest);
        for (size_t i = 0; i < m.n_layers; i++)
                strv_push(blobs, m.layers[i].digest);
        for (size_t i = 0; ok && diff_ids[i]; i++)
                strv_push(layers, diff_ids[i]);
        vs_manifest_clear(&m);
        return ok;
}

static void delete_blob(struct vs_txn *t, const char *hex)
{
        _cleanup_free_ char *rel = xasprintf("blobs/sha256/%s", hex);
        struct stat st;
        if (fstatat(t->s->root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return;
        if (unlinkat(t->s->root_fd, rel, 0) == 0) {
                t->gc_blobs++;
                t->gc_bytes += st.st_size;
        }
}

/* The record goes first: a directory without it is treated as absent. */
static void delete_layer(struct vs_txn *t, const char *hex)
{
        _cleanup_free_ char *rel = xasprintf("layers/%s", hex);
        _cleanup_free_ char *rec = xasprintf("layers/%s.json", hex);
        _cleanup_free_ char *del = xasprintf("del-%s", hex);
        struct vs_layer_info info = {0};
        _cleanup_free_ char *diff_id = xasprintf("sha256:%s", hex);
        if (vs_store_layer_info(t->s, diff_id, &info, NULL) == 1)
                t->gc_bytes += info.size;
        vs_layer_info_clear(&info);
        bool existed = faccessat(t->s->root_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
        unlinkat(t->s->root_fd, rec, 0);
        if (existed && renameat(t->s->root_fd, rel, t->tmp_fd, del) == 0) {
                vs_rm_rf_at(t->tmp_fd, del, NULL);
                t->gc_layers++;
        }
        vs_image_shift_forget(t->s, hex);
}

static bool is_hex64(const char *s)
{
        _cleanup_free_ char *d = xasprintf("sha256:%s", s);
        return vs_digest_valid(d);
}

static void collect_garbage(struct vs_txn *t)
{
        _cleanup_strv_ char **keep_blobs = xcalloc(1, sizeof(char *));
        _cleanup_strv_ char **keep_layers = xcalloc(1, sizeof(char *));
        _cleanup_strv_ char **digests = vs_index_digests(&t->idx);
        for (size_t i = 0; digests[i]; i++)
                if (!image_refs(t->s, digests[i], &keep_blobs, &keep_layers)) {
                        vs_warn("image %s cannot be read: not removing unused blobs "
                                "(run vessel system check)",
                                digests[i]);
                        return;
                }
        _cleanup_strv_ char **cand_blobs = xcalloc(1, sizeof(char *));
        _cleanup_strv_ char **cand_layers = xcalloc(1, sizeof(char *));
        if (t->gc_all) {
                const char *dirs[] = {"blobs/sha256", "layers"};
                for (size_t k = 0; k < 2; k++) {
                        int fd = openat(t->s->root_fd, dirs[k], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        _cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
                        if (d == NULL) {
                                if (fd >= 0)
                                        close(fd);
                                continue;
                        }
                        struct dirent *de;
                        while ((de = readdir(d)) != NULL) {
                                _cleanup_free_ char *name = xstrdup(de->d_name);
                                char *dot = strstr(name, ".json");
                                if (k == 1 && dot && dot[5] == '\0')
                                        *dot = '\0';
                                if (!is_hex64(name))
                                        continue;
                                char ***v = k == 0 ? &cand_blobs : &cand_layers;
                                _cleanup_free_ char *dg = xasprintf("sha256:%s", name);
                                if (!strv_contains(*v, dg))
                                        strv_push(v, dg);
                        }
                }
        } else {
                for (size_t i = 0; t->orig_digests[i]; i++)
                        if (!strv_contains(digests, t->orig_digests[i]))
                                image_refs(t->s, t->orig_digests[i], &cand_blobs, &cand_layers);
        }
        for (size_t i = 0; cand_blobs[i]; i++)
                if (!strv_contains(keep_blobs, cand_blobs[i]))
                        delete_blob(t, vs_digest_hex(cand_blobs[i]));
        for (size_t i = 0; cand_layers[i]; i++)
                if (!strv_contains(keep_layers, cand_layers[i]))
                        delete_layer(t, vs_digest_hex(cand_layers[i]));
}
