/* `vessel system check` (every blob against its digest, every reference of
 * the index, manifests and configs, every unpacked layer present) and
 * pruning. */
#include "image/store.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct checker {
        struct vs_store *s;
        FILE *out;
        int problems;
        char **blobs_used;
        char **layers_used;
};

static void __attribute__((format(printf, 2, 3))) problem(struct checker *c, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vfprintf(c->out, fmt, ap);
        va_end(ap);
        fputc('\n', c->out);
        c->problems++;
}

static void use(char ***v, const char *digest)
{
        if (!strv_contains(*v, digest))
                strv_push(v, digest);
}

static void check_layout(struct checker *c)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_json_ json_object *obj = NULL;
        _cleanup_error_ vs_error *e = NULL;
        _cleanup_free_ char *version = NULL;
        if (vs_read_file_at(c->s->root_fd, "oci-layout", &text, NULL, &e) < 0 ||
            vs_json_parse(text, "oci-layout", &obj, &e) < 0 ||
            vs_json_get_string(obj, "oci-layout", "imageLayoutVersion", &version, &e) < 0)
                problem(c, "%s", e->msg);
        else if (version == NULL)
                problem(c, "oci-layout: missing imageLayoutVersion");
}

/* A blob the index refers to: present, and of the size the reference says
 * (its content is checked with every other blob). */
static bool check_blob_ref(struct checker *c, const char *digest, int64_t size, const char *what)
{
        use(&c->blobs_used, digest);
        _cleanup_free_ char *p = vs_store_blob_path(c->s, digest);
        struct stat st;
        if (stat(p, &st) < 0) {
                problem(c, "%s: blob %s is missing", what, digest);
                return false;
        }
        if (size >= 0 && st.st_size != size) {
                problem(c, "%s: blob %s has %lld bytes, the reference says %lld", what, digest,
                        (long long) st.st_size, (long long) size);
                return false;
        }
        return true;
}

static void check_image(struct checker *c, const struct vs_index_entry *entry)
{
        _cleanup_free_ char *what =
            xasprintf("image %s%s%s%s", entry->digest, entry->name ? " (" : "",
                      entry->name ? entry->name : "", entry->name ? ")" : "");
        if (!check_blob_ref(c, entry->digest, entry->size, what))
                return;
        struct vs_manifest m;
        _cleanup_error_ vs_error *e = NULL;
        if (vs_store_read_manifest(c->s, entry->digest, &m, &e) < 0) {
                problem(c, "%s: %s", what, e->msg);
                return;
        }
        _cleanup_free_ char *text = NULL;
        _cleanup_json_ json_object *config = NULL;
        _cleanup_strv_ char **diff_ids = NULL;
        for (size_t i = 0; i < m.n_layers; i++)
                check_blob_ref(c, m.layers[i].digest, m.layers[i].size, what);
        if (!check_blob_ref(c, m.config.digest, m.config.size, what))
                goto out;
        if (vs_store_read_blob(c->s, m.config.digest, &text, NULL, &e) < 0 ||
            vs_json_parse(text, "config", &config, &e) < 0 ||
            vs_image_config_diff_ids(config, "config", &diff_ids, &e) < 0) {
                problem(c, "%s: %s", what, e->msg);
                goto out;
        }
        if (strv_len(diff_ids) != m.n_layers) {
                problem(c, "%s: manifest has %zu layers, config has %zu diff_ids", what, m.n_layers,
                        strv_len(diff_ids));
                goto out;
        }
        for (size_t i = 0; diff_ids[i]; i++) {
                use(&c->layers_used, diff_ids[i]);
                struct vs_layer_info info;
                vs_error_free(&e);
                int r = vs_store_layer_info(c->s, diff_ids[i], &info, &e);
                if (r < 0)
                        problem(c, "%s: layer %s: %s", what, diff_ids[i], e->msg);
                else if (r == 0)
                        problem(c, "%s: unpacked layer %s is missing from %s/layers", what,
                                diff_ids[i], c->s->root);
                else if (!strv_contains(info.blobs, m.layers[i].digest))
                        problem(c, "%s: layer blob %s was never verified to unpack to %s", what,
                                m.layers[i].digest, diff_ids[i]);
                if (r == 1)
                        vs_layer_info_clear(&info);
        }
out:
        vs_manifest_clear(&m);
}

static DIR *open_dir(struct checker *c, const char *rel)
{
        int fd = openat(c->s->root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                problem(c, "cannot open %s/%s", c->s->root, rel);
                return NULL;
        }
        DIR *d = fdopendir(fd);
        if (d == NULL)
                close(fd);
        return d;
}

static size_t check_blobs(struct checker *c, size_t *unused)
{
        _cleanup_closedir_ DIR *d = open_dir(c, "blobs/sha256");
        size_t n = 0;
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *digest = xasprintf("sha256:%s", de->d_name);
                if (!vs_digest_valid(digest)) {
                        problem(c, "%s/blobs/sha256/%s: not a blob name", c->s->root, de->d_name);
                        continue;
                }
                n++;
                _cleanup_error_ vs_error *e = NULL;
                if (vs_store_verify_blob(c->s, digest, NULL, &e) < 0)
                        problem(c, "%s", e->msg);
                if (!strv_contains(c->blobs_used, digest))
                        (*unused)++;
        }
        return n;
}

static size_t count_layers(struct checker *c, size_t *unused)
{
        _cleanup_closedir_ DIR *d = open_dir(c, "layers");
        size_t n = 0;
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.' || strchr(de->d_name, '.'))
                        continue;
                _cleanup_free_ char *diff_id = xasprintf("sha256:%s", de->d_name);
                if (!vs_digest_valid(diff_id))
                        continue;
                n++;
                if (!strv_contains(c->layers_used, diff_id))
                        (*unused)++;
        }
        return n;
}

int vs_store_check(struct vs_store *s, FILE *out, vs_error **err)
{
        _cleanup_close_ int lock = vs_store_lock(s, err);
        if (lock < 0)
                return -1;
        struct checker c = {.s = s,
                            .out = out,
                            .blobs_used = xcalloc(1, sizeof(char *)),
                            .layers_used = xcalloc(1, sizeof(char *))};
        check_layout(&c);
        struct vs_index idx = {0};
        _cleanup_error_ vs_error *e = NULL;
        size_t images = 0;
        if (vs_store_load_index(s, &idx, &e) < 0) {
                problem(&c, "%s", e->msg);
        } else {
                _cleanup_strv_ char **digests = vs_index_digests(&idx);
                images = strv_len(digests);
                for (size_t i = 0; i < idx.n; i++)
                        if (!strv_contains(c.blobs_used, idx.entries[i].digest))
                                check_image(&c, &idx.entries[i]);
        }
        vs_index_clear(&idx);
        size_t unused_blobs = 0, unused_layers = 0;
        size_t blobs = check_blobs(&c, &unused_blobs);
        size_t layers = count_layers(&c, &unused_layers);
        if (unused_blobs || unused_layers)
                fprintf(out,
                        "note: %zu blobs and %zu layers are not used by any image (vessel "
                        "system prune removes them)\n",
                        unused_blobs, unused_layers);
        if (c.problems == 0)
                fprintf(out, "ok: %zu images, %zu blobs, %zu layers checked in %s\n", images, blobs,
                        layers, s->root);
        strv_free(c.blobs_used);
        strv_free(c.layers_used);
        return c.problems;
}

/* The image of config digest id passes match (its created, config.Labels)? */
static bool prune_match(struct vs_store *s, const char *id,
                        bool (*match)(void *, const char *, json_object *), void *arg)
{
        if (match == NULL)
                return true;
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        _cleanup_error_ vs_error *e = NULL;
        if (vs_store_read_blob(s, id, &data, &len, &e) < 0)
                return match(arg, NULL, NULL);
        _cleanup_json_ json_object *cfg = json_tokener_parse(data);
        json_object *created = cfg ? json_object_object_get(cfg, "created") : NULL;
        json_object *inner = cfg ? json_object_object_get(cfg, "config") : NULL;
        return match(arg, created ? json_object_get_string(created) : NULL,
                     inner ? json_object_object_get(inner, "Labels") : NULL);
}

int vs_store_prune(struct vs_store *s, bool all, bool sweep,
                   bool (*match)(void *arg, const char *created, json_object *labels),
                   void *match_arg, FILE *out, struct vs_prune_report *report, vs_error **err)
{
        _cleanup_txn_ struct vs_txn *t = NULL;
        if (vs_txn_begin(s, &t, err) < 0)
                return -1;
        struct vs_index *idx = vs_txn_index(t);
        _cleanup_strv_ char **digests = vs_index_digests(idx);
        _cleanup_strv_ char **lines = xcalloc(1, sizeof(char *));
        size_t removed = 0;
        for (size_t i = 0; digests[i]; i++) {
                _cleanup_strv_ char **names = vs_index_names(idx, digests[i]);
                if (names[0] && !all)
                        continue;
                struct vs_manifest m;
                _cleanup_error_ vs_error *e = NULL;
                _cleanup_free_ char *id = NULL, *user = NULL;
                if (vs_store_read_manifest(s, digests[i], &m, &e) == 0) {
                        id = xstrdup(m.config.digest);
                        vs_manifest_clear(&m);
                } else {
                        id = xstrdup(digests[i]);
                }
                if (s->in_use && s->in_use(id, s->in_use_arg, &user))
                        continue;
                if (!prune_match(s, id, match, match_arg))
                        continue;
                for (size_t k = 0; names[k]; k++) {
                        _cleanup_free_ char *line = xasprintf("Untagged: %s", names[k]);
                        strv_push(&lines, line);
                        vs_txn_event(t, "untag", id, id);
                }
                vs_index_remove_image(idx, digests[i]);
                _cleanup_free_ char *line = xasprintf("Deleted: %s", id);
                strv_push(&lines, line);
                vs_txn_event(t, "delete", id, id);
                removed++;
        }
        vs_txn_collect_garbage(t, sweep);
        if (vs_txn_commit(t, err) < 0)
                return -1;
        struct vs_prune_report r = {.images = removed};
        vs_txn_gc_stats(t, &r.blobs, &r.layers, &r.bytes);
        for (size_t i = 0; out && lines[i]; i++)
                fprintf(out, "%s\n", lines[i]);
        if (report)
                *report = r;
        return 0;
}
