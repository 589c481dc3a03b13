/* The image store: opening and locking the OCI layout under the data root,
 * reading blobs (always checked against their digest), layer records and
 * images. Writes go through transactions (txn.c). */
#include "image/store.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* JSON blobs (manifests, configs, indexes) larger than this are refused. */
#define MAX_JSON_BLOB (64 << 20)

static const char OCI_LAYOUT[] = "{\"imageLayoutVersion\":\"1.0.0\"}\n";

static int mkdir_at(int dirfd, const char *name, const char *root, vs_error **err)
{
        if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
                return vs_fail_errno(err, "cannot create %s/%s", root, name);
        return 0;
}

/* First use: oci-layout and an empty index.json, created under the lock so
 * that two first commands cannot overwrite each other's index. */
static int initialise(struct vs_store *s, vs_error **err)
{
        if (faccessat(s->root_fd, "oci-layout", F_OK, 0) == 0 &&
            faccessat(s->root_fd, "index.json", F_OK, 0) == 0)
                return 0;
        _cleanup_close_ int lock = vs_store_lock(s, err);
        if (lock < 0)
                return -1;
        if (faccessat(s->root_fd, "oci-layout", F_OK, 0) < 0) {
                _cleanup_free_ char *p = xasprintf("%s/oci-layout", s->root);
                if (vs_write_file_atomic(p, OCI_LAYOUT, strlen(OCI_LAYOUT), 0644, err) < 0)
                        return -1;
        }
        if (faccessat(s->root_fd, "index.json", F_OK, 0) < 0) {
                struct vs_index empty = {0};
                _cleanup_free_ char *text = vs_index_serialize(&empty);
                _cleanup_free_ char *p = xasprintf("%s/index.json", s->root);
                if (vs_write_file_atomic(p, text, strlen(text), 0644, err) < 0)
                        return -1;
        }
        return 0;
}

static int check_layout(struct vs_store *s, vs_error **err)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_json_ json_object *obj = NULL;
        _cleanup_free_ char *version = NULL;
        _cleanup_free_ char *path = xasprintf("%s/oci-layout", s->root);
        if (vs_read_file_at(s->root_fd, "oci-layout", &text, NULL, err) < 0 ||
            vs_json_parse(text, path, &obj, err) < 0 ||
            vs_json_get_string(obj, path, "imageLayoutVersion", &version, err) < 0)
                return vs_error_wrap(err, "image store %s is damaged", s->root);
        if (version == NULL || strncmp(version, "1.", 2) != 0)
                return vs_fail(err, "image store %s: unsupported imageLayoutVersion '%s'", s->root,
                               version ? version : "");
        return 0;
}

int vs_store_open(const char *data_root, struct vs_store **out, vs_error **err)
{
        if (data_root == NULL || data_root[0] != '/')
                return vs_fail(err, "data root '%s' is not an absolute path",
                               data_root ? data_root : "");
        if (vs_mkdir_p(data_root, 0711, err) < 0)
                return -1;
        struct vs_store *s = xzalloc(sizeof(*s));
        s->root = xstrdup(data_root);
        s->lock_fd = -1;
        s->root_fd = open(data_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->root_fd < 0) {
                vs_fail_errno(err, "cannot open data root %s", data_root);
                vs_store_close(s);
                return -1;
        }
        if (mkdir_at(s->root_fd, "blobs", s->root, err) < 0 ||
            mkdir_at(s->root_fd, "blobs/sha256", s->root, err) < 0 ||
            mkdir_at(s->root_fd, "layers", s->root, err) < 0 ||
            mkdir_at(s->root_fd, "tmp", s->root, err) < 0 || initialise(s, err) < 0 ||
            check_layout(s, err) < 0) {
                vs_store_close(s);
                return -1;
        }
        *out = s;
        return 0;
}

void vs_store_close(struct vs_store *s)
{
        if (s == NULL)
                return;
        if (s->root_fd >= 0)
                close(s->root_fd);
        free(s->root);
        free(s);
}

const char *vs_store_root(const struct vs_store *s)
{
        return s->root;
}

void vs_store_set_in_use_check(struct vs_store *s, vs_image_in_use_fn fn, void *arg)
{
        s->in_use = fn;
        s->in_use_arg = arg;
}

void vs_store_set_event_hook(struct vs_store *s, vs_image_event_fn fn, void *arg)
{
        s->event = fn;
        s->event_arg = arg;
}

void vs_store_send_event(const struct vs_store *s, const char *action, const char *id,
                         const char *name, json_object *labels)
{
        if (s && s->event)
                s->event(s->event_arg, action, id, name, labels);
}

json_object *vs_image_config_labels(const char *config_text)
{
        _cleanup_json_ json_object *cfg = json_tokener_parse(config_text);
        json_object *labels =
            json_object_object_get(json_object_object_get(cfg, "config"), "Labels");
        if (!json_object_is_type(labels, json_type_object) ||
            json_object_object_length(labels) == 0)
                return NULL;
        return json_object_get(labels);
}

void vs_store_event(struct vs_store *s, const char *action, const char *id, const char *name)
{
        if (s == NULL || s->event == NULL)
                return;
        struct vs_image *img = NULL;
        vs_error *e = NULL;
        json_object *labels = NULL;
        if (strcmp(action, "delete") != 0 && vs_image_lookup(s, id, &img, &e) == 0)
                labels = img->config.labels;
        vs_error_free(&e);
        vs_store_send_event(s, action, id, name, labels);
        vs_image_free(img);
}

/* Does this process already hold the lock through the fd last handed out?
 * (flock locks belong to the open file description: a second open would
 * deadlock against our own.) */
static bool lock_held(struct vs_store *s)
{
        struct stat st;
        if (s->lock_fd < 0 || fstat(s->lock_fd, &st) < 0 || st.st_dev != s->lock_dev ||
            st.st_ino != s->lock_ino)
                return false;
        return flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0;
}

int vs_store_lock_nested(struct vs_store *s, bool *nested, vs_error **err)
{
        if (lock_held(s)) {
                int fd = fcntl(s->lock_fd, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return vs_fail_errno(err, "cannot duplicate the lock of %s", s->root);
                *nested = true;
                return fd;
        }
        *nested = false;
        int fd = openat(s->root_fd, "store.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return vs_fail_errno(err, "cannot open %s/store.lock", s->root);
        while (flock(fd, LOCK_EX) < 0) {
                if (errno == EINTR)
                        continue;
                int saved = errno;
                close(fd);
                return vs_error_set(err, saved, "cannot lock %s/store.lock", s->root);
        }
        struct stat st;
        if (fstat(fd, &st) == 0) {
                s->lock_fd = fd;
                s->lock_dev = st.st_dev;
                s->lock_ino = st.st_ino;
        }
        return fd;
}

int vs_store_lock(struct vs_store *s, vs_error **err)
{
        bool nested;
        return vs_store_lock_nested(s, &nested, err);
}

char *vs_store_blob_path(const struct vs_store *s, const char *digest)
{
        return xasprintf("%s/blobs/sha256/%s", s->root, vs_digest_hex(digest));
}

char *vs_store_layer_dir(const struct vs_store *s, const char *diff_id)
{
        return xasprintf("%s/layers/%s", s->root, vs_digest_hex(diff_id));
}

static char *blob_rel(const char *digest)
{
        return xasprintf("blobs/sha256/%s", vs_digest_hex(digest));
}

bool vs_store_has_blob(const struct vs_store *s, const char *digest)
{
        if (!vs_digest_valid(digest))
                return false;
        _cleanup_free_ char *rel = blob_rel(digest);
        struct stat st;
        return fstatat(s->root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

int vs_store_open_blob(const struct vs_store *s, const char *digest, vs_error **err)
{
        if (vs_digest_check(digest, "blob", err) < 0)
                return -1;
        _cleanup_free_ char *rel = blob_rel(digest);
        int fd = openat(s->root_fd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return vs_fail_errno(err, "cannot open blob %s in %s", digest, s->root);
        return fd;
}

/* Reads a whole JSON-sized file and hashes it. */
int vs_read_fd_verified(int fd, const char *digest, const char *what, char **data, size_t *len,
                        vs_error **err)
{
        struct stat st;
        if (fstat(fd, &st) < 0)
                return vs_fail_errno(err, "cannot stat %s", what);
        if (st.st_size > MAX_JSON_BLOB)
                return vs_fail(err, "%s is too large for a manifest or config (%lld bytes)", what,
                               (long long) st.st_size);
        size_t cap = (size_t) st.st_size + 1, n = 0;
        _cleanup_free_ char *buf = xmalloc(cap);
        for (;;) {
                if (n + 1 >= cap) {
                        if (cap > MAX_JSON_BLOB)
                                return vs_fail(err, "%s is too large for a manifest or config",
                                               what);
                        cap *= 2;
                        buf = xrealloc(buf, cap);
                }
                ssize_t r = read(fd, buf + n, cap - n - 1);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return vs_fail_errno(err, "cannot read %s", what);
                if (r == 0)
                        break;
                n += (size_t) r;
        }
        buf[n] = '\0';
        _cleanup_free_ char *got = vs_digest_buffer(buf, n);
        if (digest && strcmp(got, digest) != 0)
                return vs_fail(err, "%s does not match its digest %s (content has %s)", what,
                               digest, got);
        *data = steal_ptr(buf);
        if (len)
                *len = n;
        return 0;
}

int vs_store_read_blob(const struct vs_store *s, const char *digest, char **data, size_t *len,
                       vs_error **err)
{
        _cleanup_close_ int fd = vs_store_open_blob(s, digest, err);
        if (fd < 0)
                return -1;
        _cleanup_free_ char *what = xasprintf("blob %s", digest);
        return vs_read_fd_verified(fd, digest, what, data, len, err);
}

int vs_hash_fd(int fd, char out[VS_DIGEST_LEN + 1], int64_t *size, vs_error **err)
{
        struct vs_sha256 h;
        vs_sha256_init(&h);
        size_t cap = 1 << 20;
        _cleanup_free_ char *buf = xmalloc(cap);
        int64_t total = 0;
        for (;;) {
                ssize_t r = read(fd, buf, cap);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        vs_sha256_abort(&h);
                        return vs_fail_errno(err, "read failed");
                }
                if (r == 0)
                        break;
                vs_sha256_update(&h, buf, (size_t) r);
                total += r;
        }
        vs_sha256_final(&h, out);
        if (size)
                *size = total;
        return 0;
}

int vs_store_verify_blob(const struct vs_store *s, const char *digest, int64_t *size,
                         vs_error **err)
{
        _cleanup_close_ int fd = vs_store_open_blob(s, digest, err);
        if (fd < 0)
                return -1;
        char got[VS_DIGEST_LEN + 1];
        if (vs_hash_fd(fd, got, size, err) < 0)
                return vs_error_wrap(err, "cannot verify blob %s", digest);
        if (strcmp(got, digest) != 0)
                return vs_fail(err, "blob %s does not match its digest (content has %s)", digest,
                               got);
        return 0;
}

int vs_store_load_index(const struct vs_store *s, struct vs_index *idx, vs_error **err)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ char *what = xasprintf("%s/index.json", s->root);
        if (vs_read_file_at(s->root_fd, "index.json", &text, NULL, err) < 0)
                return vs_error_wrap(err, "cannot read the image index");
        return vs_index_parse(text, what, idx, err);
}

void vs_layer_info_clear(struct vs_layer_info *info)
{
        free(info->diff_id);
        strv_free(info->blobs);
        memset(info, 0, sizeof(*info));
}

int vs_store_layer_info(const struct vs_store *s, const char *diff_id, struct vs_layer_info *info,
                        vs_error **err)
{
        memset(info, 0, sizeof(*info));
        const char *hex = vs_digest_hex(diff_id);
        _cleanup_free_ char *dir = xasprintf("layers/%s", hex);
        _cleanup_free_ char *rec = xasprintf("layers/%s.json", hex);
        struct stat st;
        if (fstatat(s->root_fd, dir, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                return 0;
        _cleanup_free_ char *text = NULL;
        if (fstatat(s->root_fd, rec, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        _cleanup_free_ char *what = xasprintf("%s/%s", s->root, rec);
        _cleanup_json_ json_object *obj = NULL;
        if (vs_read_file_at(s->root_fd, rec, &text, NULL, err) < 0 ||
            vs_json_parse(text, what, &obj, err) < 0 ||
            vs_json_get_string(obj, what, "diff_id", &info->diff_id, err) < 0 ||
            vs_json_get_int64(obj, what, "size", &info->size, err) < 0 ||
            vs_json_get_strv(obj, what, "blobs", &info->blobs, err) < 0) {
                vs_layer_info_clear(info);
                return -1;
        }
        if (info->diff_id == NULL || strcmp(info->diff_id, diff_id) != 0) {
                vs_layer_info_clear(info);
                return vs_fail(err, "%s: records layer %s, expected %s", what,
                               info->diff_id ? info->diff_id : "(none)", diff_id);
        }
        if (info->blobs == NULL)
                info->blobs = xcalloc(1, sizeof(char *));
        return 1;
}

int vs_store_read_manifest(const struct vs_store *s, const char *digest, struct vs_manifest *m,
                           vs_error **err)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ char *what = xasprintf("manifest %s", digest);
        if (vs_store_read_blob(s, digest, &text, NULL, err) < 0)
                return -1;
        if (vs_manifest_parse(text, what, m, err) < 0)
                return -1;
        if (m->is_index) {
                vs_manifest_clear(m);
                return vs_fail(err, "%s is an index, not an image manifest", what);
        }
        return 0;
}

void vs_image_free(struct vs_image *img)
{
        if (img == NULL)
                return;
        free(img->id);
        free(img->manifest_digest);
        strv_free(img->names);
        strv_free(img->layer_dirs);
        free(img->created);
        vs_image_config_clear(&img->config);
        if (img->config_json)
                json_object_put(img->config_json);
        free(img);
}

int vs_store_load_image(struct vs_store *s, const struct vs_index *idx, const char *digest,
                        struct vs_image **out, vs_error **err)
{
        struct vs_manifest m;
        if (vs_store_read_manifest(s, digest, &m, err) < 0)
                return -1;
        struct vs_image *img = xzalloc(sizeof(*img));
        img->manifest_digest = xstrdup(digest);
        img->id = xstrdup(m.config.digest);
        img->names = vs_index_names(idx, digest);
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ char *what = xasprintf("config %s of image %s", m.config.digest, digest);
        _cleanup_strv_ char **diff_ids = NULL;
        if (vs_store_read_blob(s, m.config.digest, &text, NULL, err) < 0 ||
            vs_json_parse(text, what, &img->config_json, err) < 0 ||
            vs_image_config_diff_ids(img->config_json, what, &diff_ids, err) < 0 ||
            vs_json_get_string(img->config_json, what, "created", &img->created, err) < 0 ||
            vs_image_config_parse(img->config_json, &img->config, err) < 0)
                goto fail;
        img->n_layers = strv_len(diff_ids);
        if (img->n_layers != m.n_layers) {
                vs_fail(err, "image %s: manifest has %zu layers, config has %zu diff_ids", digest,
                        m.n_layers, img->n_layers);
                goto fail;
        }
        img->layer_dirs = xcalloc(img->n_layers + 1, sizeof(char *));
        for (size_t i = 0; i < img->n_layers; i++) {
                struct vs_layer_info info;
                int r = vs_store_layer_info(s, diff_ids[i], &info, err);
                if (r < 0)
                        goto fail;
                if (r == 0) {
                        vs_fail(err,
                                "image %s: layer %s is missing from %s/layers (run vessel "
                                "system check)",
                                img->id, diff_ids[i], s->root);
                        goto fail;
                }
                img->size += info.size;
                vs_layer_info_clear(&info);
                img->layer_dirs[i] = vs_store_layer_dir(s, diff_ids[i]);
        }
        vs_manifest_clear(&m);
        *out = img;
        return 0;
fail:
        vs_manifest_clear(&m);
        vs_image_free(img);
        return -1;
}
