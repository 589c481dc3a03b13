/* Commit: a container's upper dir becomes a new layer on top of its image.
 *
 * The upper dir (overlay mode) is packed as it is: whiteouts and opaque
 * directories are already the deletions. In copy mode the upper dir is a
 * whole root, so the changes against the image are first materialised in
 * overlay format beside it (rootfs_diff.c) and that is packed. Everything
 * else goes through one store transaction (store.h): the gzip blob is
 * streamed into it, unpacked into the store's layer directory (so the new
 * image runs at once), the config and manifest are staged, and the index
 * names the image; index.json is replaced last, under the store lock. */
#include "image/image.h"
#include "image/layer.h"
#include "image/layer_internal.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The image-config "config" fields a commit may change. Objects are
 * merged key by key, Env variable by variable; the rest are replaced (null
 * removes the field). */
static const char *const changeable[] = {
    "Cmd",          "Entrypoint", "Env",    "WorkingDir", "User",
    "ExposedPorts", "Volumes",    "Labels", "StopSignal", NULL,
};

static size_t env_key_len(const char *kv)
{
        return strcspn(kv, "=");
}

/* base Env with each variable of changes set (replaced or appended). */
static int merge_env(json_object *conf, json_object *changes, vs_error **err)
{
        if (!json_object_is_type(changes, json_type_array))
                return vs_fail(err, "commit change Env: expected an array of \"KEY=value\"");
        json_object *env = json_object_object_get(conf, "Env");
        json_object *merged = json_object_new_array();
        if (env && json_object_is_type(env, json_type_array))
                for (size_t i = 0; i < json_object_array_length(env); i++)
                        json_object_array_add(merged,
                                              json_object_get(json_object_array_get_idx(env, i)));
        for (size_t i = 0; i < json_object_array_length(changes); i++) {
                json_object *v = json_object_array_get_idx(changes, i);
                if (!json_object_is_type(v, json_type_string)) {
                        json_object_put(merged);
                        return vs_fail(err, "commit change Env[%zu]: expected a string", i);
                }
                const char *kv = json_object_get_string(v);
                size_t klen = env_key_len(kv);
                size_t j = 0, n = json_object_array_length(merged);
                for (; j < n; j++) {
                        const char *old =
                            json_object_get_string(json_object_array_get_idx(merged, j));
                        if (old && env_key_len(old) == klen && strncmp(old, kv, klen) == 0)
                                break;
                }
                if (j < n)
                        json_object_array_put_idx(merged, j, json_object_new_string(kv));
                else
                        json_object_array_add(merged, json_object_new_string(kv));
        }
        json_object_object_add(conf, "Env", merged);
        return 0;
}

static int merge_object(json_object *conf, const char *key, json_object *changes, vs_error **err)
{
        if (!json_object_is_type(changes, json_type_object))
                return vs_fail(err, "commit change %s: expected an object", key);
        json_object *old = json_object_object_get(conf, key);
        json_object *merged = NULL;
        if (old && json_object_is_type(old, json_type_object))
                json_object_deep_copy(old, &merged, NULL);
        if (merged == NULL)
                merged = json_object_new_object();
        json_object_object_foreach(changes, k, v)
        {
                if (v == NULL)
                        json_object_object_del(merged, k);
                else
                        json_object_object_add(merged, k, json_object_get(v));
        }
        json_object_object_add(conf, key, merged);
        return 0;
}

static int apply_changes(json_object *conf, json_object *changes, vs_error **err)
{
        if (changes == NULL)
                return 0;
        if (!json_object_is_type(changes, json_type_object))
                return vs_fail(err, "commit changes: expected an object of image config fields");
        json_object_object_foreach(changes, key, val)
        {
                size_t i = 0;
                while (changeable[i] && strcmp(changeable[i], key) != 0)
                        i++;
                if (changeable[i] == NULL)
                        return vs_fail(err, "commit change '%s': not a field commit can change",
                                       key);
                int r = 0;
                if (val == NULL)
                        json_object_object_del(conf, key);
                else if (strcmp(key, "Env") == 0)
                        r = merge_env(conf, val, err);
                else if (strcmp(key, "Labels") == 0 || strcmp(key, "ExposedPorts") == 0 ||
                         strcmp(key, "Volumes") == 0)
                        r = merge_object(conf, key, val, err);
                else
                        json_object_object_add(conf, key, json_object_get(val));
                if (r < 0)
                        return -1;
        }
        return 0;
}

static json_object *child_of_type(json_object *obj, const char *key, json_type type)
{
        json_object *v = json_object_object_get(obj, key);
        if (v == NULL || !json_object_is_type(v, type)) {
                v = type == json_type_array ? json_object_new_array() : json_object_new_object();
                json_object_object_add(obj, key, v);
        }
        return v;
}

/* The base image's config, or an empty one for this platform. */
static json_object *base_config(const struct vs_image *base)
{
        json_object *cfg = NULL;
        if (base && base->config_json)
                json_object_deep_copy(base->config_json, &cfg, NULL);
        if (cfg == NULL) {
                cfg = json_object_new_object();
                json_object_object_add(cfg, "architecture",
                                       json_object_new_string(vs_platform_arch()));
                json_object_object_add(cfg, "os", json_object_new_string("linux"));
        }
        return cfg;
}

/* cfg's new layer (diff_id NULL: none) and history entry h (taken). */
static void add_layer_and_history(json_object *cfg, const char *diff_id, json_object *h)
{
        json_object *rootfs = child_of_type(cfg, "rootfs", json_type_object);
        json_object_object_add(rootfs, "type", json_object_new_string("layers"));
        json_object *ids = child_of_type(rootfs, "diff_ids", json_type_array);
        if (diff_id)
                json_object_array_add(ids, json_object_new_string(diff_id));
        else
                json_object_object_add(h, "empty_layer", json_object_new_boolean(true));
        json_object_array_add(child_of_type(cfg, "history", json_type_array), h);
}

static json_object *history_entry(const char *created, const char *created_by, const char *comment,
                                  const char *author)
{
        json_object *h = json_object_new_object();
        json_object_object_add(h, "created", json_object_new_string(created));
        json_object_object_add(h, "created_by", json_object_new_string(created_by));
        if (comment && *comment)
                json_object_object_add(h, "comment", json_object_new_string(comment));
        if (author && *author)
                json_object_object_add(h, "author", json_object_new_string(author));
        return h;
}

/* The new image config: base + changes + the layer + a history entry. */
static int build_config(const struct vs_image *base, json_object *changes, const char *diff_id,
                        const char *comment, const char *author, json_object **out, vs_error **err)
{
        json_object *cfg = base_config(base);
        _cleanup_free_ char *created = vs_now_rfc3339();
        json_object *conf = child_of_type(cfg, "config", json_type_object);
        if (apply_changes(conf, changes, err) < 0) {
                json_object_put(cfg);
                return -1;
        }
        json_object_object_add(cfg, "created", json_object_new_string(created));
        if (author)
                json_object_object_add(cfg, "author", json_object_new_string(author));
        add_layer_and_history(cfg, diff_id,
                              history_entry(created, "vessel commit", comment, author));
        *out = cfg;
        return 0;
}

static int build_manifest(struct vs_store *s, const struct vs_image *base,
                          const char *config_digest, int64_t config_size, const char *layer_digest,
                          int64_t layer_size, char **out, vs_error **err)
{
        _cleanup_json_ json_object *m = json_object_new_object();
        json_object_object_add(m, "schemaVersion", json_object_new_int(2));
        json_object_object_add(m, "mediaType", json_object_new_string(VS_MT_OCI_MANIFEST));
        json_object_object_add(m, "config",
                               vs_descriptor_json(VS_MT_OCI_CONFIG, config_digest, config_size));
        json_object *layers = json_object_new_array();
        json_object_object_add(m, "layers", layers);
        if (base && base->manifest_digest) {
                struct vs_manifest bm;
                if (vs_store_read_manifest(s, base->manifest_digest, &bm, err) < 0)
                        return vs_error_wrap(err, "cannot read the base image's manifest");
                for (size_t i = 0; i < bm.n_layers; i++)
                        json_object_array_add(layers, vs_descriptor_json(bm.layers[i].media_type,
                                                                         bm.layers[i].digest,
                                                                         bm.layers[i].size));
                vs_manifest_clear(&bm);
        }
        if (layer_digest) /* NULL: a build step that changes only the config */
                json_object_array_add(
                    layers, vs_descriptor_json(VS_MT_OCI_LAYER_GZIP, layer_digest, layer_size));
        *out = vs_json_to_string(m, false);
        return 0;
}

/* Copy mode: the changes against the image, materialised as an overlay
 * upper dir beside upper_dir (same filesystem: files are hardlinked). */
static int copy_mode_changes(const struct vs_image *base, const char *upper_dir, char **dir,
                             vs_error **err)
{
        _cleanup_free_ char *copy = xstrdup(upper_dir);
        _cleanup_free_ char *tmp = xasprintf("%s/commit-XXXXXX", dirname(copy));
        if (mkdtemp(tmp) == NULL)
                return vs_fail_errno(err, "cannot create a directory beside %s", upper_dir);
        _cleanup_close_ int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_strv_ char **lines = NULL;
        struct vs_image none = {0};
        if (fd < 0 ||
            vs_image_rootfs_changes(base ? base : &none, upper_dir, true, fd, &lines, err) < 0) {
                if (fd < 0)
                        vs_fail_errno(err, "cannot open %s", tmp);
                _cleanup_error_ vs_error *rm = NULL;
                vs_rm_rf(tmp, &rm);
                return -1;
        }
        *dir = steal_ptr(tmp);
        return 0;
}

/* Packs dir (skipping the engine's stub files) as a gzip layer blob of t. */
static int pack_in_txn(struct vs_txn *t, const char *dir, const char *const *skip_stubs,
                       char **diff_id, char **digest, int64_t *size, vs_error **err)
{
        _cleanup_free_ char *stored = NULL;
        int64_t stored_size = 0;
        struct vs_blob_writer *w = NULL;
        if (vs_blob_writer_open(t, &w, err) < 0)
                return -1;
        int r = vs_layer_pack_skipping(dir, skip_stubs, vs_blob_writer_fd(w), diff_id, digest, size,
                                       err);
        if (r == 0)
                r = vs_blob_writer_finish(w, *digest, &stored, &stored_size, err);
        vs_blob_writer_free(w);
        if (r < 0)
                return -1;
        return vs_txn_ensure_layer(t, *digest, VS_MT_OCI_LAYER_GZIP, *diff_id, err);
}

/* Stores config and the manifest over base's layers (+ layer_digest, when
 * not NULL), adds the image (named name, when not NULL) and commits t. */
static int store_image_in_txn(struct vs_txn *t, const struct vs_image *base, json_object *config,
                              const char *layer_digest, int64_t layer_size, const char *name,
                              char **id, vs_error **err)
{
        _cleanup_free_ char *config_digest = NULL, *manifest_digest = NULL, *manifest = NULL;
        _cleanup_free_ char *config_text = vs_json_to_string(config, false);
        if (vs_txn_put_blob(t, config_text, strlen(config_text), &config_digest, err) < 0)
                return -1;
        if (build_manifest(vs_txn_store(t), base, config_digest, (int64_t) strlen(config_text),
                           layer_digest, layer_size, &manifest, err) < 0)
                return -1;
        if (vs_txn_put_blob(t, manifest, strlen(manifest), &manifest_digest, err) < 0)
                return -1;
        char *names[] = {(char *) name, NULL};
        if (vs_txn_add_image(t, manifest_digest, name ? names : NULL, id, err) < 0)
                return -1;
        if (name && id && *id)
                vs_txn_event(t, "tag", *id, name);
        return vs_txn_commit(t, err);
}

static int commit_in_txn(struct vs_txn *t, const struct vs_image *base, const char *pack_dir,
                         const char *const *skip_stubs, json_object *changes, const char *comment,
                         const char *author, const char *name, char **id, vs_error **err)
{
        _cleanup_free_ char *diff_id = NULL, *digest = NULL;
        _cleanup_json_ json_object *config = NULL;
        int64_t size = 0;
        if (pack_in_txn(t, pack_dir, skip_stubs, &diff_id, &digest, &size, err) < 0)
                return -1;
        if (build_config(base, changes, diff_id, comment, author, &config, err) < 0)
                return -1;
        return store_image_in_txn(t, base, config, digest, size, name, id, err);
}

int vs_image_commit(struct vs_store *s, const struct vs_image *base, const char *upper_dir,
                    json_object *changes, const char *comment, const char *author, const char *ref,
                    char **id, vs_error **err)
{
        return vs_image_commit_skipping(s, base, upper_dir, NULL, changes, comment, author, ref, id,
                                        err);
}

int vs_image_commit_skipping(struct vs_store *s, const struct vs_image *base, const char *upper_dir,
                             const char *const *skip_stubs, json_object *changes,
                             const char *comment, const char *author, const char *ref, char **id,
                             vs_error **err)
{
        _cleanup_free_ char *name = NULL, *changes_dir = NULL;
        if (ref && vs_ref_normalize(ref, &name, err) < 0)
                return -1;
        if (!vs_is_dir(upper_dir))
                return vs_error_set(err, ENOENT, "cannot commit %s", upper_dir);
        if (vs_image_rootfs_upper_is_copy(upper_dir) &&
            copy_mode_changes(base, upper_dir, &changes_dir, err) < 0)
                return vs_error_wrap(err, "cannot commit %s", upper_dir);
        _cleanup_txn_ struct vs_txn *t = NULL;
        int r = vs_txn_begin(s, &t, err);
        if (r == 0)
                r = commit_in_txn(t, base, changes_dir ? changes_dir : upper_dir, skip_stubs,
                                  changes, comment, author, name, id, err);
        if (changes_dir) {
                _cleanup_error_ vs_error *rm = NULL;
                vs_rm_rf(changes_dir, &rm);
        }
        if (r < 0)
                return vs_error_wrap(err, "cannot commit %s", upper_dir);
        return 0;
}

/* ------------------------------------------------------------------ */
/* Build steps (src/build): a layer or none, the whole "config" object and
 * the history entry given by the builder, as Docker records them. */

static json_object *step_config(const struct vs_image *base, const struct vs_commit_step *st,
                                const char *diff_id)
{
        json_object *cfg = base_config(base);
        _cleanup_free_ char *now = st->created ? NULL : vs_now_rfc3339();
        const char *created = st->created ? st->created : now;
        json_object *conf = NULL;
        json_object_deep_copy(st->config, &conf, NULL);
        json_object_object_add(cfg, "config", conf ? conf : json_object_new_object());
        json_object_object_add(cfg, "created", json_object_new_string(created));
        add_layer_and_history(cfg, diff_id,
                              history_entry(created, st->created_by, st->comment, NULL));
        return cfg;
}

static int step_in_txn(struct vs_txn *t, const struct vs_image *base,
                       const struct vs_commit_step *st, char **id, vs_error **err)
{
        _cleanup_free_ char *diff_id = NULL, *digest = NULL;
        int64_t size = 0;
        if (st->upper_dir && pack_in_txn(t, st->upper_dir, NULL, &diff_id, &digest, &size, err) < 0)
                return -1;
        _cleanup_json_ json_object *config = step_config(base, st, diff_id);
        return store_image_in_txn(t, base, config, digest, size, NULL, id, err);
}

int vs_image_commit_step(struct vs_store *s, const struct vs_image *base,
                         const struct vs_commit_step *st, char **id, vs_error **err)
{
        _cleanup_txn_ struct vs_txn *t = NULL;
        if (vs_txn_begin(s, &t, err) < 0)
                return -1;
        return step_in_txn(t, base, st, id, err);
}
