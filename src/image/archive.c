/* `vessel load`: image archives in, in one streaming pass.
 *
 * Archive members come in any order (docker save writes manifest.json
 * last), so every regular member is staged as a blob of the transaction as
 * it streams by, and members that look like tars or compressed streams are
 * unpacked at the same time; once the archive has been read, manifest.json
 * (docker-archive, both the pre-25 layout and Docker 25's, which also
 * carries an OCI layout) or index.json (oci-archive) says which staged
 * blobs form which images. Members named by their digest are checked
 * against it as they are read; nothing outside the store's tmp/ is written
 * before every image checked out. */
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

struct member {
        char *path;
        char *link; /* symlink or hardlink target, as a member path */
        char *digest;
        int64_t size;
};

struct members {
        struct member *v;
        size_t n;
        const char *what;
};

static void members_clear(struct members *m)
{
        for (size_t i = 0; i < m->n; i++) {
                free(m->v[i].path);
                free(m->v[i].link);
                free(m->v[i].digest);
        }
        free(m->v);
        m->v = NULL;
        m->n = 0;
}

/* Lexically normalised member path: no leading "/" or "./", no "." or
 * empty components, ".." applied (never above the top). */
static char *normalize(const char *path)
{
        _cleanup_strv_ char **parts = xcalloc(1, sizeof(char *));
        _cleanup_free_ char *copy = xstrdup(path);
        char *save = NULL;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (strcmp(c, ".") == 0)
                        continue;
                if (strcmp(c, "..") == 0) {
                        size_t n = strv_len(parts);
                        if (n > 0) {
                                free(parts[n - 1]);
                                parts[n - 1] = NULL;
                        }
                        continue;
                }
                strv_push(&parts, c);
        }
        size_t len = 1;
        for (size_t i = 0; parts[i]; i++)
                len += strlen(parts[i]) + 1;
        char *out = xzalloc(len);
        for (size_t i = 0; parts[i]; i++) {
                if (i)
                        strcat(out, "/");
                strcat(out, parts[i]);
        }
        return out;
}

static char *symlink_target(const char *member, const char *target)
{
        if (target[0] == '/')
                return normalize(target);
        const char *slash = strrchr(member, '/');
        _cleanup_free_ char *joined =
            slash ? xasprintf("%.*s/%s", (int) (slash - member), member, target) : xstrdup(target);
        return normalize(joined);
}

static const struct member *find_member(const struct members *m, const char *path)
{
        _cleanup_free_ char *want = normalize(path);
        for (int hops = 0; hops < 16; hops++) {
                const struct member *found = NULL;
                for (size_t i = m->n; i > 0 && !found; i--)
                        if (strcmp(m->v[i - 1].path, want) == 0)
                                found = &m->v[i - 1];
                if (found == NULL || found->link == NULL)
                        return found && found->digest ? found : NULL;
                free(want);
                want = xstrdup(found->link);
        }
        return NULL;
}

static struct member *add_member(struct members *m, const char *path)
{
        m->v = xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
        struct member *e = &m->v[m->n++];
        *e = (struct member){.path = normalize(path)};
        return e;
}

/* "blobs/sha256/<hex>" -> its digest, else NULL. */
static char *digest_from_blob_path(const char *path)
{
        if (strncmp(path, "blobs/sha256/", 13) != 0)
                return NULL;
        char *d = xasprintf("sha256:%s", path + 13);
        if (vs_digest_valid(d))
                return d;
        free(d);
        return NULL;
}

struct staging {
        struct vs_stage *st;
        int64_t size;
        int *n_layers;
        bool labelled;
};

static int stage_bytes(struct staging *s, const void *buf, size_t len, vs_error **err)
{
        if (vs_stage_write(s->st, buf, len, err) < 0)
                return -1;
        if (!s->labelled && vs_stage_is_layer(s->st)) {
                s->labelled = true;
                _cleanup_free_ char *label = xasprintf("Loading layer %d", ++*s->n_layers);
                vs_stage_set_progress(s->st, label, s->size);
        }
        return 0;
}

/* Every byte of the current member, in order, to the stage: its data
 * blocks and, for a sparse member, its holes as zeros. 0 at the end, -1
 * when the stage failed (its err) or the archive could not be read. */
static int stage_member_bytes(struct archive *a, const struct member *e, const char *what,
                              struct staging *s, vs_error **err)
{
        static const char zeros[65536];
        const void *buf;
        size_t len;
        la_int64_t off, pos = 0;
        int r;
        while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
                while (pos < off) {
                        size_t n = off - pos > (la_int64_t) sizeof(zeros) ? sizeof(zeros)
                                                                          : (size_t) (off - pos);
                        if (stage_bytes(s, zeros, n, err) < 0)
                                return -1;
                        pos += (la_int64_t) n;
                }
                if (stage_bytes(s, buf, len, err) < 0)
                        return -1;
                pos += (la_int64_t) len;
        }
        if (r != ARCHIVE_EOF)
                return vs_fail(err, "cannot read %s: %s: %s", what, e->path,
                               archive_error_string(a));
        return 0;
}

static int stage_member(struct vs_txn *t, struct archive *a, struct member *e, int64_t size,
                        enum vs_stage_mode mode, int *n_layers, const char *what, vs_error **err)
{
        struct staging s = {.size = size, .n_layers = n_layers};
        if (vs_stage_open(t, mode, NULL, &s.st, err) < 0)
                return -1;
        int ret = -1;
        _cleanup_free_ char *expected = digest_from_blob_path(e->path);
        if (stage_member_bytes(a, e, what, &s, err) < 0)
                goto out;
        if (vs_stage_finish(s.st, NULL, &e->digest, &e->size, err) < 0)
                goto out;
        if (expected && strcmp(expected, e->digest) != 0) {
                vs_fail(err, "%s: blob %s does not match its digest (content has %s)", what,
                        expected, e->digest);
                goto out;
        }
        ret = 0;
out:
        vs_stage_free(s.st);
        return ret;
}

/* A regular member's bytes (at most max), or NULL. */
static char *read_small_member(struct archive *a, int64_t size, int64_t max)
{
        if (size < 0 || size > max)
                return NULL;
        char *text = xzalloc((size_t) size + 1);
        const void *buf;
        size_t len;
        la_int64_t off;
        int r;
        while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
                if (off < 0 || off + (la_int64_t) len > size) {
                        free(text);
                        return NULL;
                }
                memcpy(text + off, buf, len);
        }
        if (r != ARCHIVE_EOF) {
                free(text);
                return NULL;
        }
        return text;
}

/* The member paths of a docker-archive's layers that the store already
 * holds (their diff_id unpacked in layers/), from a first pass over the
 * headers and the small JSON members of a seekable archive: the streaming
 * pass stages those as plain blobs rather than unpacking them once more
 * only for the commit to find the layer present and drop the copy (a
 * `save | rmi | load` round trip unpacked the whole base image for
 * nothing). Anything unexpected gives no list, and the streaming pass
 * sniffs every member as before. The list only spares work: a member
 * whose blob the store has is not read (reuse_stored), and any other is
 * staged and proven to be its layer (vs_txn_ensure_layer) before the
 * commit. The list alternates member path and the diff_id the config gives it. */
static char **known_layer_members(struct vs_txn *t, int fd)
{
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || lseek(fd, 0, SEEK_CUR) != 0)
                return NULL;
        char **known = xcalloc(1, sizeof(char *));
        struct members m = {.what = "prescan"};
        struct archive *a = archive_read_new();
        archive_read_support_format_tar(a);
        struct archive_entry *e;
        int r = archive_read_open_fd(a, fd, 1 << 16);
        /* member.digest holds a JSON member's text here, "" for others. */
        while (r == ARCHIVE_OK && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
                const char *path = archive_entry_pathname(e);
                const char *hard = archive_entry_hardlink(e);
                if (path == NULL)
                        continue;
                if (hard) {
                        add_member(&m, path)->link = normalize(hard);
                } else if (archive_entry_filetype(e) == AE_IFLNK) {
                        struct member *mem = add_member(&m, path);
                        mem->link = symlink_target(mem->path, archive_entry_symlink(e));
                } else if (archive_entry_filetype(e) == AE_IFREG) {
                        struct member *mem = add_member(&m, path);
                        size_t pl = strlen(mem->path);
                        bool json = pl >= 5 && strcmp(mem->path + pl - 5, ".json") == 0;
                        mem->digest =
                            json ? read_small_member(a, archive_entry_size(e), 4 << 20) : NULL;
                        if (mem->digest == NULL)
                                mem->digest = xstrdup("");
                }
        }
        const struct member *mf = r == ARCHIVE_EOF ? find_member(&m, "manifest.json") : NULL;
        _cleanup_json_ json_object *list = NULL;
        if (mf && vs_json_parse(mf->digest, "manifest.json", &list, NULL) == 0 &&
            json_object_is_type(list, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(list); i++) {
                        json_object *item = json_object_array_get_idx(list, i);
                        _cleanup_free_ char *config_path = NULL;
                        _cleanup_strv_ char **layers = NULL, **diff_ids = NULL;
                        _cleanup_json_ json_object *config = NULL;
                        if (!json_object_is_type(item, json_type_object) ||
                            vs_json_get_string(item, "", "Config", &config_path, NULL) < 0 ||
                            vs_json_get_strv(item, "", "Layers", &layers, NULL) < 0 ||
                            config_path == NULL)
                                continue;
                        const struct member *cm = find_member(&m, config_path);
                        if (cm == NULL || vs_json_parse(cm->digest, "", &config, NULL) < 0 ||
                            vs_image_config_diff_ids(config, "", &diff_ids, NULL) < 0 ||
                            strv_len(diff_ids) != strv_len(layers))
                                continue;
                        for (size_t k = 0; layers[k]; k++) {
                                const struct member *lm = find_member(&m, layers[k]);
                                struct vs_layer_info info;
                                if (lm && vs_store_layer_info(vs_txn_store(t), diff_ids[k], &info,
                                                              NULL) == 1) {
                                        vs_layer_info_clear(&info);
                                        strv_push(&known, lm->path);
                                        strv_push(&known, diff_ids[k]);
                                }
                        }
                }
        }
        archive_read_free(a);
        members_clear(&m);
        if (lseek(fd, 0, SEEK_SET) != 0) {
                strv_free(known);
                return NULL;
        }
        return known;
}

/* The diff_id of a known member (known_layer_members), or NULL. */
static const char *known_diff_id(char **known, const char *path)
{
        for (size_t i = 0; known && known[i] && known[i + 1]; i += 2)
                if (strcmp(known[i], path) == 0)
                        return known[i + 1];
        return NULL;
}

/* A known member whose layer the store already holds as the blob the image
 * will name (uncompressed, digest = diff_id: a `save` of vessel's, or any
 * docker-archive, loaded back): its bytes are not read, as a registry pull
 * does not fetch a blob the store has and as Docker's and Podman's loads
 * skip a layer they hold. Nothing of the member reaches the image: its
 * config (the image ID) names the diff_id, and the store's blob of that
 * digest was proven when it was stored. 1 when that was the case, 0 when it
 * is not (the member is staged and proven like any other). */
static int reuse_stored(struct vs_txn *t, const char *diff_id, struct member *mem)
{
        if (diff_id == NULL || !vs_digest_valid(diff_id))
                return 0;
        _cleanup_free_ char *p = vs_store_blob_path(vs_txn_store(t), diff_id);
        struct stat st;
        if (lstat(p, &st) < 0 || !S_ISREG(st.st_mode))
                return 0;
        mem->digest = xstrdup(diff_id);
        mem->size = st.st_size;
        return 1;
}

static int stage_archive(struct vs_txn *t, int fd, struct members *m, vs_error **err)
{
        _cleanup_strv_ char **known = known_layer_members(t, fd);
        struct archive *a = archive_read_new();
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_empty(a);
        int ret = -1, n_layers = 0;
        struct archive_entry *e;
        int r = archive_read_open_fd(a, fd, 128 << 10);
        if (r != ARCHIVE_OK) {
                vs_fail(err, "cannot read %s: %s", m->what, archive_error_string(a));
                goto out;
        }
        while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
                const char *path = archive_entry_pathname(e);
                if (path == NULL)
                        continue;
                const char *hard = archive_entry_hardlink(e);
                mode_t type = archive_entry_filetype(e);
                if (hard) {
                        struct member *mem = add_member(m, path);
                        mem->link = normalize(hard);
                } else if (type == AE_IFLNK) {
                        struct member *mem = add_member(m, path);
                        mem->link = symlink_target(mem->path, archive_entry_symlink(e));
                } else if (type == AE_IFREG) {
                        struct member *mem = add_member(m, path);
                        const char *diff_id = known_diff_id(known, mem->path);
                        if (reuse_stored(t, diff_id, mem))
                                continue;
                        enum vs_stage_mode mode = diff_id ? VS_STAGE_BLOB : VS_STAGE_SNIFF;
                        if (stage_member(t, a, mem, archive_entry_size(e), mode, &n_layers, m->what,
                                         err) < 0)
                                goto out;
                }
        }
        vs_progress_end();
        if (r != ARCHIVE_EOF) {
                vs_fail(err, "cannot read %s: %s", m->what, archive_error_string(a));
                goto out;
        }
        ret = 0;
out:
        archive_read_free(a);
        return ret;
}

static int read_member(struct vs_txn *t, const struct members *m, const char *path, char **text,
                       vs_error **err)
{
        const struct member *e = find_member(m, path);
        if (e == NULL)
                return vs_fail(err, "%s has no %s", m->what, path);
        if (vs_txn_read_blob(t, e->digest, e->size, text, NULL, err) < 0)
                return vs_error_wrap(err, "%s: %s", m->what, path);
        return 0;
}

/* ------------------------------------------------------------------ */
/* docker-archive */

static const char *layer_type_of(struct vs_txn *t, const char *digest)
{
        unsigned char head[512];
        _cleanup_close_ int fd = vs_txn_open_blob(t, digest, NULL);
        ssize_t n = fd >= 0 ? pread(fd, head, sizeof(head), 0) : -1;
        if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b)
                return VS_MT_OCI_LAYER_GZIP;
        if (n >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd)
                return VS_MT_OCI_LAYER_ZSTD;
        return VS_MT_OCI_LAYER;
}

/* The digest a docker-archive member path claims: "<hex>.json" (pre-25
 * configs) or "blobs/sha256/<hex>" (Docker 25). */
static char *claimed_digest(const char *path)
{
        char *d = digest_from_blob_path(path);
        if (d)
                return d;
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        if (strlen(base) == 69 && strcmp(base + 64, ".json") == 0) {
                d = xasprintf("sha256:%.64s", base);
                if (vs_digest_valid(d))
                        return d;
                free(d);
        }
        return NULL;
}

static int load_docker_image(struct vs_txn *t, const struct members *m, json_object *item, size_t i,
                             char ***lines, vs_error **err)
{
        _cleanup_free_ char *ctx = xasprintf("%s: manifest.json[%zu]", m->what, i);
        _cleanup_free_ char *config_path = NULL, *config_text = NULL;
        _cleanup_strv_ char **tags = NULL, **layers = NULL, **diff_ids = NULL, **names = NULL;
        _cleanup_json_ json_object *config = NULL;
        if (!json_object_is_type(item, json_type_object))
                return vs_fail(err, "%s: expected an object", ctx);
        if (vs_json_get_string(item, ctx, "Config", &config_path, err) < 0 ||
            vs_json_get_strv(item, ctx, "RepoTags", &tags, err) < 0 ||
            vs_json_get_strv(item, ctx, "Layers", &layers, err) < 0)
                return -1;
        if (config_path == NULL)
                return vs_fail(err, "%s: missing Config", ctx);
        const struct member *cm = find_member(m, config_path);
        if (cm == NULL)
                return vs_fail(err, "%s: names config %s, which is not in the archive", ctx,
                               config_path);
        _cleanup_free_ char *claimed = claimed_digest(config_path);
        if (claimed && strcmp(claimed, cm->digest) != 0)
                return vs_fail(err, "%s: config %s does not match its digest (content has %s)",
                               m->what, config_path, cm->digest);
        _cleanup_free_ char *cwhat = xasprintf("%s: %s", m->what, config_path);
        if (vs_txn_read_blob(t, cm->digest, cm->size, &config_text, NULL, err) < 0 ||
            vs_json_parse(config_text, cwhat, &config, err) < 0 ||
            vs_image_config_diff_ids(config, cwhat, &diff_ids, err) < 0)
                return -1;
        size_t n = strv_len(layers);
        if (n != strv_len(diff_ids))
                return vs_fail(err, "%s: %zu layers, but config %s has %zu rootfs.diff_ids", ctx, n,
                               config_path, strv_len(diff_ids));
        _cleanup_json_ json_object *manifest = json_object_new_object();
        json_object_object_add(manifest, "schemaVersion", json_object_new_int(2));
        json_object_object_add(manifest, "mediaType", json_object_new_string(VS_MT_OCI_MANIFEST));
        json_object_object_add(manifest, "config",
                               vs_descriptor_json(VS_MT_OCI_CONFIG, cm->digest, cm->size));
        json_object *arr = json_object_new_array();
        json_object_object_add(manifest, "layers", arr);
        for (size_t k = 0; k < n; k++) {
                const struct member *lm = find_member(m, layers[k]);
                if (lm == NULL)
                        return vs_fail(err, "%s: names layer %s, which is not in the archive", ctx,
                                       layers[k]);
                json_object_array_add(
                    arr, vs_descriptor_json(layer_type_of(t, lm->digest), lm->digest, lm->size));
        }
        names = xcalloc(1, sizeof(char *));
        for (size_t k = 0; tags && tags[k]; k++) {
                char *name = NULL;
                if (vs_ref_normalize(tags[k], &name, err) < 0)
                        return vs_error_wrap(err, "%s: RepoTags", ctx);
                strv_push(&names, name);
                free(name);
        }
        _cleanup_free_ char *text = vs_json_to_string(manifest, false);
        _cleanup_free_ char *mdigest = NULL, *id = NULL;
        if (vs_txn_put_blob(t, text, strlen(text), &mdigest, err) < 0 ||
            vs_txn_add_image(t, mdigest, names, &id, err) < 0)
                return vs_error_wrap(err, "%s", ctx);
        vs_txn_event(t, "load", id, id);
        for (size_t k = 0; names[k]; k++) {
                _cleanup_free_ char *line = xasprintf("Loaded image: %s", names[k]);
                strv_push(lines, line);
        }
        if (names[0] == NULL) {
                _cleanup_free_ char *line = xasprintf("Loaded image ID: %s", id);
                strv_push(lines, line);
        }
        return 0;
}

static int load_docker(struct vs_txn *t, const struct members *m, char ***lines, vs_error **err)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_json_ json_object *list = NULL;
        _cleanup_free_ char *what = xasprintf("%s: manifest.json", m->what);
        if (read_member(t, m, "manifest.json", &text, err) < 0 ||
            vs_json_parse(text, what, &list, err) < 0)
                return -1;
        if (!json_object_is_type(list, json_type_array))
                return vs_fail(err, "%s: expected a JSON array", what);
        if (json_object_array_length(list) == 0)
                return vs_fail(err, "%s: lists no image", what);
        for (size_t i = 0; i < json_object_array_length(list); i++)
                if (load_docker_image(t, m, json_object_array_get_idx(list, i), i, lines, err) < 0)
                        return -1;
        return 0;
}

/* ------------------------------------------------------------------ */
/* oci-archive */

struct archive_source {
        struct vs_import_source base;
        const struct members *m;
};

static int fetch_member(struct vs_import_source *src, struct vs_txn *t,
                        const struct vs_descriptor *d, bool layer, vs_error **err)
{
        struct archive_source *as = (struct archive_source *) src;
        _cleanup_free_ char *path = xasprintf("blobs/sha256/%s", vs_digest_hex(d->digest));
        const struct member *e = find_member(as->m, path);
        if (e == NULL)
                return vs_fail(err, "%s %s is not in the archive", layer ? "layer" : "blob",
                               d->digest);
        if (strcmp(e->digest, d->digest) != 0)
                return vs_fail(err, "blob %s does not match its digest (content has %s)", d->digest,
                               e->digest);
        return 0;
}

int vs_parse_descriptor_json(json_object *obj, const char *ctx, struct vs_descriptor *d,
                             vs_error **err)
{
        memset(d, 0, sizeof(*d));
        d->size = -1;
        if (!json_object_is_type(obj, json_type_object))
                return vs_fail(err, "%s: expected an object", ctx);
        if (vs_json_get_string(obj, ctx, "mediaType", &d->media_type, err) < 0 ||
            vs_json_get_string(obj, ctx, "digest", &d->digest, err) < 0 ||
            vs_json_get_int64(obj, ctx, "size", &d->size, err) < 0 ||
            vs_digest_check(d->digest, ctx, err) < 0) {
                vs_descriptor_clear(d);
                return -1;
        }
        if (d->size < 0) {
                vs_descriptor_clear(d);
                return vs_fail(err, "%s: missing or negative size", ctx);
        }
        if (d->media_type == NULL)
                d->media_type = xstrdup(VS_MT_OCI_MANIFEST);
        return 0;
}

int vs_import_oci_index(struct vs_txn *t, struct vs_import_source *src, const char *index_text,
                        const char *ref, const char *repo_hint, char ***lines, vs_error **err)
{
        _cleanup_json_ json_object *index = NULL;
        _cleanup_free_ char *what = xasprintf("%s: index.json", src->what);
        json_object *list = NULL;
        if (vs_json_parse(index_text, what, &index, err) < 0 ||
            vs_json_get_array(index, what, "manifests", &list, err) < 0)
                return -1;
        size_t n = list ? json_object_array_length(list) : 0;
        size_t imported = 0;
        for (size_t i = 0; i < n; i++) {
                json_object *obj = json_object_array_get_idx(list, i);
                _cleanup_free_ char *ctx = xasprintf("%s.manifests[%zu]", what, i);
                if (ref) {
                        json_object *ann = NULL, *v = NULL;
                        if (!json_object_object_get_ex(obj, "annotations", &ann) ||
                            !json_object_object_get_ex(ann, VS_ANNOTATION_REF_NAME, &v) ||
                            strcmp(json_object_get_string(v), ref) != 0)
                                continue;
                }
                struct vs_descriptor d;
                if (vs_parse_descriptor_json(obj, ctx, &d, err) < 0)
                        return -1;
                _cleanup_free_ char *name = vs_ref_from_annotations(obj, repo_hint);
                char *names[] = {name, NULL};
                _cleanup_free_ char *id = NULL;
                int r = vs_import_manifest(t, src, &d, names, &id, err);
                vs_descriptor_clear(&d);
                if (r < 0)
                        return -1;
                _cleanup_free_ char *line = name ? xasprintf("Loaded image: %s", name)
                                                 : xasprintf("Loaded image ID: %s", id);
                strv_push(lines, line);
                imported++;
        }
        if (imported == 0 && ref)
                return vs_fail(err, "%s has no image named '%s'", src->what, ref);
        if (imported == 0)
                return vs_fail(err, "%s lists no image", what);
        return 0;
}

static int load_oci(struct vs_txn *t, const struct members *m, char ***lines, vs_error **err)
{
        _cleanup_free_ char *text = NULL;
        const struct member *layout = find_member(m, "oci-layout");
        if (layout == NULL)
                return vs_fail(err, "%s: has index.json but no oci-layout: not an OCI archive",
                               m->what);
        if (read_member(t, m, "index.json", &text, err) < 0)
                return -1;
        struct archive_source src = {.base = {.what = m->what, .fetch = fetch_member}, .m = m};
        return vs_import_oci_index(t, &src.base, text, NULL, NULL, lines, err);
}

int vs_archive_load(struct vs_store *s, int fd, const char *what, FILE *out, vs_error **err)
{
        _cleanup_txn_ struct vs_txn *t = NULL;
        struct members m = {.what = what};
        _cleanup_strv_ char **lines = xcalloc(1, sizeof(char *));
        int ret = -1;
        if (vs_txn_begin(s, &t, err) < 0)
                return -1;
        if (stage_archive(t, fd, &m, err) < 0)
                goto out;
        if (find_member(&m, "manifest.json")) {
                if (load_docker(t, &m, &lines, err) < 0)
                        goto out;
        } else if (find_member(&m, "index.json")) {
                if (load_oci(t, &m, &lines, err) < 0)
                        goto out;
        } else {
                vs_fail(err,
                        "%s is not an image archive: it has neither manifest.json "
                        "(docker-archive) nor index.json (oci-archive)%s",
                        what,
                        m.n ? "; to make an image of a root filesystem tarball, use vessel "
                              "import"
                            : "");
                goto out;
        }
        if (vs_txn_commit(t, err) < 0)
                goto out;
        for (size_t i = 0; lines[i]; i++)
                fprintf(out, "%s\n", lines[i]);
        ret = 0;
out:
        members_clear(&m);
        return ret;
}
