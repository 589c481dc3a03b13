/* `vessel import` (a root filesystem tarball becomes a one-layer image) and
 * `vessel pull` (from an OCI layout directory or an archive; registries are
 * out of reach). */
#include "image/libs.h"
#include "image/transfer.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Now, or $SOURCE_DATE_EPOCH for reproducible images. */
char *vs_rfc3339_now(void)
{
        time_t now = time(NULL);
        const char *sde = getenv("SOURCE_DATE_EPOCH");
        if (sde && *sde)
                now = (time_t) strtoll(sde, NULL, 10);
        struct tm tm;
        gmtime_r(&now, &tm);
        char buf[64];
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
        return xstrdup(buf);
}

/* An image config and manifest around layers already staged; returns the
 * manifest digest. */
json_object *vs_image_config_new(const char *created, const char *layer_diff_id,
                                 json_object *container_config, const char *created_by,
                                 const char *comment)
{
        json_object *config = json_object_new_object();
        json_object_object_add(config, "created", json_object_new_string(created));
        json_object_object_add(config, "architecture", json_object_new_string(vs_platform_arch()));
        if (*vs_platform_variant())
                json_object_object_add(config, "variant",
                                       json_object_new_string(vs_platform_variant()));
        json_object_object_add(config, "os", json_object_new_string("linux"));
        json_object_object_add(config, "config",
                               container_config ? container_config : json_object_new_object());
        json_object *rootfs = json_object_new_object();
        json_object *ids = json_object_new_array();
        json_object_array_add(ids, json_object_new_string(layer_diff_id));
        json_object_object_add(rootfs, "type", json_object_new_string("layers"));
        json_object_object_add(rootfs, "diff_ids", ids);
        json_object_object_add(config, "rootfs", rootfs);
        json_object *history = json_object_new_array();
        json_object *h = json_object_new_object();
        json_object_object_add(h, "created", json_object_new_string(created));
        json_object_object_add(h, "created_by", json_object_new_string(created_by));
        if (comment)
                json_object_object_add(h, "comment", json_object_new_string(comment));
        json_object_array_add(history, h);
        json_object_object_add(config, "history", history);
        return config;
}

int vs_make_image(struct vs_txn *t, json_object *config, char *const *layer_digests,
                  const int64_t *layer_sizes, const char *layer_type, char **manifest_digest,
                  vs_error **err)
{
        _cleanup_free_ char *config_text = vs_json_to_string(config, false);
        _cleanup_free_ char *config_digest = NULL;
        if (vs_txn_put_blob(t, config_text, strlen(config_text), &config_digest, err) < 0)
                return -1;
        _cleanup_json_ json_object *m = json_object_new_object();
        json_object_object_add(m, "schemaVersion", json_object_new_int(2));
        json_object_object_add(m, "mediaType", json_object_new_string(VS_MT_OCI_MANIFEST));
        json_object_object_add(
            m, "config",
            vs_descriptor_json(VS_MT_OCI_CONFIG, config_digest, (int64_t) strlen(config_text)));
        json_object *layers = json_object_new_array();
        for (size_t i = 0; layer_digests[i]; i++)
                json_object_array_add(
                    layers, vs_descriptor_json(layer_type, layer_digests[i], layer_sizes[i]));
        json_object_object_add(m, "layers", layers);
        _cleanup_free_ char *text = vs_json_to_string(m, false);
        return vs_txn_put_blob(t, text, strlen(text), manifest_digest, err);
}

/* The uncompressed bytes of fd (any compression libarchive knows) staged as
 * a plain tar layer, unpacked on the way. */
static int stage_uncompressed(struct vs_txn *t, int fd, const char *what, char **digest,
                              int64_t *size, vs_error **err)
{
        struct archive *a = archive_read_new();
        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        archive_read_support_format_empty(a);
        struct vs_stage *st = NULL;
        struct archive_entry *e;
        int ret = -1;
        int r = archive_read_open_fd(a, fd, 1 << 20);
        if (r == ARCHIVE_OK)
                r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) {
                vs_fail(err, "%s is empty", what);
                goto out;
        }
        if (r != ARCHIVE_OK) {
                vs_fail(err, "cannot read %s: %s", what, archive_error_string(a));
                goto out;
        }
        if (vs_stage_open(t, VS_STAGE_LAYER, VS_MT_OCI_LAYER, &st, err) < 0)
                goto out;
        vs_stage_set_progress(st, "Importing", 0);
        const void *buf;
        size_t len;
        la_int64_t off;
        while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK)
                if (vs_stage_write(st, buf, len, err) < 0)
                        goto out;
        if (r != ARCHIVE_EOF) {
                vs_fail(err, "cannot read %s: %s", what, archive_error_string(a));
                goto out;
        }
        ret = vs_stage_finish(st, NULL, digest, size, err);
out:
        vs_stage_free(st);
        archive_read_free(a);
        return ret;
}

int vs_image_import_rootfs(struct vs_store *s, int fd, const char *what, const char *name,
                           const char *message, char **id, vs_error **err)
{
        _cleanup_free_ char *canonical = NULL;
        if (name && vs_ref_normalize(name, &canonical, err) < 0)
                return -1;
        _cleanup_txn_ struct vs_txn *t = NULL;
        if (vs_txn_begin(s, &t, err) < 0)
                return -1;
        _cleanup_free_ char *layer = NULL, *manifest = NULL, *now = vs_rfc3339_now();
        int64_t size = 0;
        if (stage_uncompressed(t, fd, what, &layer, &size, err) < 0)
                return -1;
        _cleanup_json_ json_object *config =
            vs_image_config_new(now, layer, NULL, "vessel import", message);
        char *layers[] = {layer, NULL};
        char *names[] = {canonical, NULL};
        if (vs_make_image(t, config, layers, &size, VS_MT_OCI_LAYER, &manifest, err) < 0 ||
            vs_txn_add_image(t, manifest, names, id, err) < 0)
                return vs_error_wrap(err, "cannot import %s", what);
        if (id && *id && canonical)
                vs_txn_event(t, "tag", *id, canonical);
        if (id && *id)
                vs_txn_event(t, "import", *id, *id);
        return vs_txn_commit(t, err);
}

/* ------------------------------------------------------------------ */
/* pull */

struct layout_source {
        struct vs_import_source base;
        int dirfd;
        int n_layers;
};

/* A file of the layout, which whoever made it controls: beneath it, and
 * only a regular file (a FIFO would hang the pull, a device node give the
 * host's data). */
static int open_beneath(int dirfd, const char *path, vs_error **err)
{
        return vs_open_regular(dirfd, path, O_NOFOLLOW, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
                               NULL, NULL, path, err);
}

static int fetch_file(struct vs_import_source *src, struct vs_txn *t, const struct vs_descriptor *d,
                      bool layer, vs_error **err)
{
        struct layout_source *ls = (struct layout_source *) src;
        _cleanup_free_ char *path = xasprintf("blobs/sha256/%s", vs_digest_hex(d->digest));
        _cleanup_error_ vs_error *e = NULL;
        _cleanup_close_ int fd = open_beneath(ls->dirfd, path, &e);
        if (fd < 0 && e->errno_ == ENOENT)
                return vs_fail(err, "%s %s is missing from the layout (%s)",
                               layer ? "layer" : "blob", d->digest, path);
        if (fd < 0)
                return vs_fail(err, "%s %s: %s", layer ? "layer" : "blob", d->digest, e->msg);
        if (vs_txn_has_blob(t, d->digest))
                return 0;
        _cleanup_free_ char *label = layer ? xasprintf("Copying layer %d", ++ls->n_layers) : NULL;
        const char *mt = layer ? vs_layer_media_type_for_unpack(d->media_type) : NULL;
        return vs_stage_fd(t, fd, layer ? VS_STAGE_LAYER : VS_STAGE_BLOB, mt, d->digest, label,
                           NULL, NULL, err);
}

/* The last path component, made into a repository name ("My_Image" ->
 * "my_image"), or NULL. */
static char *repo_hint_of(const char *path)
{
        _cleanup_free_ char *copy = xstrdup(path);
        size_t n = strlen(copy);
        while (n > 1 && copy[n - 1] == '/')
                copy[--n] = '\0';
        const char *base = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
        char *hint = xstrdup(base);
        for (char *c = hint; *c; c++)
                *c = (char) tolower((unsigned char) *c);
        _cleanup_free_ char *check = NULL;
        _cleanup_error_ vs_error *e = NULL;
        if (*hint == '\0' || vs_ref_normalize(hint, &check, &e) < 0) {
                free(hint);
                return NULL;
        }
        return hint;
}

/* Without a REF, a layout must hold one image (as containers/image wants). */
static int check_single(const char *index_text, const char *what, vs_error **err)
{
        _cleanup_json_ json_object *index = NULL;
        json_object *list = NULL;
        if (vs_json_parse(index_text, what, &index, err) < 0 ||
            vs_json_get_array(index, what, "manifests", &list, err) < 0)
                return -1;
        size_t n = list ? json_object_array_length(list) : 0;
        if (n <= 1)
                return 0;
        _cleanup_free_ char *refs = xstrdup("");
        for (size_t i = 0; i < n; i++) {
                json_object *ann = NULL, *v = NULL;
                json_object *d = json_object_array_get_idx(list, i);
                const char *r = json_object_object_get_ex(d, "annotations", &ann) &&
                                        json_object_object_get_ex(ann, VS_ANNOTATION_REF_NAME, &v)
                                    ? json_object_get_string(v)
                                    : "(unnamed)";
                char *next = xasprintf("%s%s%s", refs, i ? ", " : "", r);
                free(refs);
                refs = next;
        }
        return vs_fail(err, "%s holds %zu images: name one with oci:PATH:REF (%s)", what, n, refs);
}

static int pull_layout(struct vs_store *s, const char *spec, FILE *out, vs_error **err)
{
        /* oci:PATH[:REF], split at the first ':' as containers/image does. */
        _cleanup_free_ char *path = xstrdup(spec);
        char *colon = strchr(path, ':');
        const char *ref = NULL;
        if (colon) {
                *colon = '\0';
                ref = colon + 1;
                if (*ref == '\0')
                        ref = NULL;
        }
        if (*path == '\0')
                return vs_fail(err, "oci:%s: missing the layout directory", spec);
        _cleanup_close_ int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return vs_fail_errno(err, "cannot open OCI layout %s", path);
        _cleanup_free_ char *what = xasprintf("OCI layout %s", path);
        _cleanup_free_ char *layout = NULL, *index = NULL;
        _cleanup_close_ int lfd = open_beneath(dirfd, "oci-layout", err);
        if (lfd < 0)
                return vs_error_wrap(err, "%s", what);
        _cleanup_close_ int ifd = open_beneath(dirfd, "index.json", err);
        if (ifd < 0)
                return vs_error_wrap(err, "%s", what);
        if (vs_read_fd_verified(lfd, NULL, "oci-layout", &layout, NULL, err) < 0 ||
            vs_read_fd_verified(ifd, NULL, "index.json", &index, NULL, err) < 0)
                return vs_error_wrap(err, "%s", what);
        if (ref == NULL && check_single(index, what, err) < 0)
                return -1;
        _cleanup_txn_ struct vs_txn *t = NULL;
        if (vs_txn_begin(s, &t, err) < 0)
                return -1;
        struct layout_source src = {.base = {.what = what, .fetch = fetch_file}, .dirfd = dirfd};
        _cleanup_free_ char *hint = repo_hint_of(path);
        _cleanup_strv_ char **lines = xcalloc(1, sizeof(char *));
        if (vs_import_oci_index(t, &src.base, index, ref, hint, &lines, err) < 0 ||
            vs_txn_commit(t, err) < 0)
                return -1;
        for (size_t i = 0; lines[i]; i++)
                fprintf(out, "%s\n", lines[i]);
        return 0;
}

static int pull_archive(struct vs_store *s, const char *path, FILE *out, vs_error **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return vs_fail_errno(err, "cannot open %s", path);
        _cleanup_free_ char *what = xasprintf("archive %s", path);
        return vs_archive_load(s, fd, what, out, err);
}

int vs_image_pull(struct vs_store *s, const char *ref, FILE *out, vs_error **err)
{
        if (strncmp(ref, "oci:", 4) == 0)
                return pull_layout(s, ref + 4, out, err);
        if (strncmp(ref, "oci-archive:", 12) == 0)
                return pull_archive(s, ref + 12, out, err);
        if (strncmp(ref, "docker-archive:", 15) == 0)
                return pull_archive(s, ref + 15, out, err);
        _cleanup_free_ char *name = NULL;
        if (vs_ref_normalize(ref, &name, err) < 0)
                return -1;
        if (strcmp(name, "busybox:latest") == 0) {
                if (vs_image_ensure_busybox(s, err) < 0)
                        return -1;
                fprintf(out, "busybox:latest: the built-in image (from the host's "
                             "busybox-static)\n");
                return 0;
        }
        return vs_fail(err,
                       "cannot pull %s: no registry is reachable from vessel; use vessel load "
                       "or pull oci:PATH",
                       ref);
}
