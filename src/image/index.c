/* index.json of the store's OCI layout: one manifest descriptor per image
 * name (annotation org.opencontainers.image.ref.name = "name:tag"), and one
 * without the annotation for each image that has no name. */
#include "image/store.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <string.h>

static void entry_clear(struct vs_index_entry *e)
{
        free(e->digest);
        free(e->media_type);
        free(e->name);
        memset(e, 0, sizeof(*e));
}

void vs_index_clear(struct vs_index *idx)
{
        for (size_t i = 0; i < idx->n; i++)
                entry_clear(&idx->entries[i]);
        free(idx->entries);
        idx->entries = NULL;
        idx->n = 0;
}

static void push(struct vs_index *idx, const char *digest, const char *media_type, int64_t size,
                 const char *name)
{
        idx->entries = xrealloc(idx->entries, (idx->n + 1) * sizeof(*idx->entries));
        idx->entries[idx->n++] = (struct vs_index_entry){
            .digest = xstrdup(digest),
            .media_type = xstrdup(media_type ? media_type : VS_MT_OCI_MANIFEST),
            .size = size,
            .name = name ? xstrdup(name) : NULL,
        };
}

static void remove_at(struct vs_index *idx, size_t i)
{
        entry_clear(&idx->entries[i]);
        memmove(&idx->entries[i], &idx->entries[i + 1], (idx->n - i - 1) * sizeof(*idx->entries));
        idx->n--;
}

int vs_index_parse(const char *text, const char *what, struct vs_index *idx, vs_error **err)
{
        _cleanup_json_ json_object *root = NULL;
        if (vs_json_parse(text, what, &root, err) < 0)
                return -1;
        if (!json_object_is_type(root, json_type_object))
                return vs_fail(err, "%s: expected a JSON object", what);
        json_object *manifests = NULL;
        if (vs_json_get_array(root, what, "manifests", &manifests, err) < 0)
                return -1;
        struct vs_index out = {0};
        size_t n = manifests ? json_object_array_length(manifests) : 0;
        for (size_t i = 0; i < n; i++) {
                json_object *d = json_object_array_get_idx(manifests, i);
                _cleanup_free_ char *ctx = xasprintf("%s: manifests[%zu]", what, i);
                _cleanup_free_ char *digest = NULL, *mt = NULL, *name = NULL;
                int64_t size = -1;
                json_object *ann = NULL;
                if (!json_object_is_type(d, json_type_object)) {
                        vs_index_clear(&out);
                        return vs_fail(err, "%s: expected an object", ctx);
                }
                if (vs_json_get_string(d, ctx, "digest", &digest, err) < 0 ||
                    vs_json_get_string(d, ctx, "mediaType", &mt, err) < 0 ||
                    vs_json_get_int64(d, ctx, "size", &size, err) < 0 ||
                    vs_json_get_object(d, ctx, "annotations", &ann, err) < 0 ||
                    (ann && vs_json_get_string(ann, ctx, VS_ANNOTATION_REF_NAME, &name, err) < 0) ||
                    vs_digest_check(digest, ctx, err) < 0) {
                        vs_index_clear(&out);
                        return -1;
                }
                if (size < 0) {
                        vs_index_clear(&out);
                        return vs_fail(err, "%s: missing or negative size", ctx);
                }
                /* A name appears once; an untagged entry only for an image
                 * without names (repaired silently: both are harmless). */
                if (name && vs_index_find_name(&out, name) >= 0)
                        continue;
                push(&out, digest, mt, size, name);
        }
        for (size_t i = 0; i < out.n;) {
                bool named = false;
                for (size_t j = 0; j < out.n && !named; j++)
                        named = out.entries[j].name &&
                                strcmp(out.entries[j].digest, out.entries[i].digest) == 0;
                bool dup = false;
                for (size_t j = 0; j < i && !dup; j++)
                        dup = out.entries[j].name == NULL &&
                              strcmp(out.entries[j].digest, out.entries[i].digest) == 0;
                if (out.entries[i].name == NULL && (named || dup))
                        remove_at(&out, i);
                else
                        i++;
        }
        *idx = out;
        return 0;
}

char *vs_index_serialize(const struct vs_index *idx)
{
        _cleanup_json_ json_object *root = json_object_new_object();
        json_object_object_add(root, "schemaVersion", json_object_new_int(2));
        json_object_object_add(root, "mediaType", json_object_new_string(VS_MT_OCI_INDEX));
        json_object *manifests = json_object_new_array();
        for (size_t i = 0; i < idx->n; i++) {
                const struct vs_index_entry *e = &idx->entries[i];
                json_object *d = vs_descriptor_json(e->media_type, e->digest, e->size);
                if (e->name) {
                        json_object *ann = json_object_new_object();
                        json_object_object_add(ann, VS_ANNOTATION_REF_NAME,
                                               json_object_new_string(e->name));
                        json_object_object_add(d, "annotations", ann);
                }
                json_object_array_add(manifests, d);
        }
        json_object_object_add(root, "manifests", manifests);
        char *s = vs_json_to_string(root, true);
        char *with_nl = xasprintf("%s\n", s);
        free(s);
        return with_nl;
}

ssize_t vs_index_find_name(const struct vs_index *idx, const char *name)
{
        for (size_t i = 0; i < idx->n; i++)
                if (idx->entries[i].name && strcmp(idx->entries[i].name, name) == 0)
                        return (ssize_t) i;
        return -1;
}

const struct vs_index_entry *vs_index_entry_of(const struct vs_index *idx, const char *digest)
{
        for (size_t i = 0; i < idx->n; i++)
                if (strcmp(idx->entries[i].digest, digest) == 0)
                        return &idx->entries[i];
        return NULL;
}

bool vs_index_has_digest(const struct vs_index *idx, const char *digest)
{
        return vs_index_entry_of(idx, digest) != NULL;
}

void vs_index_add_image(struct vs_index *idx, const char *digest, const char *media_type,
                        int64_t size)
{
        if (!vs_index_has_digest(idx, digest))
                push(idx, digest, media_type, size, NULL);
}

/* After the image lost a name: keeps it as an untagged entry when it has no
 * other. */
static void keep_untagged(struct vs_index *idx, const char *digest, const char *media_type,
                          int64_t size)
{
        if (!vs_index_has_digest(idx, digest))
                push(idx, digest, media_type, size, NULL);
}

char *vs_index_set_name(struct vs_index *idx, const char *name, const char *digest,
                        const char *media_type, int64_t size)
{
        char *previous = NULL;
        ssize_t at = vs_index_find_name(idx, name);
        if (at >= 0) {
                struct vs_index_entry old = idx->entries[at];
                if (strcmp(old.digest, digest) == 0)
                        return NULL;
                previous = xstrdup(old.digest);
                _cleanup_free_ char *old_mt = xstrdup(old.media_type);
                remove_at(idx, (size_t) at);
                keep_untagged(idx, previous, old_mt, old.size);
        }
        for (size_t i = 0; i < idx->n; i++)
                if (idx->entries[i].name == NULL && strcmp(idx->entries[i].digest, digest) == 0) {
                        remove_at(idx, i);
                        break;
                }
        push(idx, digest, media_type, size, name);
        return previous;
}

bool vs_index_remove_name(struct vs_index *idx, const char *name)
{
        ssize_t at = vs_index_find_name(idx, name);
        if (at < 0)
                return false;
        _cleanup_free_ char *digest = xstrdup(idx->entries[at].digest);
        _cleanup_free_ char *mt = xstrdup(idx->entries[at].media_type);
        int64_t size = idx->entries[at].size;
        remove_at(idx, (size_t) at);
        keep_untagged(idx, digest, mt, size);
        return true;
}

void vs_index_remove_image(struct vs_index *idx, const char *digest)
{
        for (size_t i = 0; i < idx->n;) {
                if (strcmp(idx->entries[i].digest, digest) == 0)
                        remove_at(idx, i);
                else
                        i++;
        }
}

char **vs_index_names(const struct vs_index *idx, const char *digest)
{
        char **v = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < idx->n; i++)
                if (idx->entries[i].name && strcmp(idx->entries[i].digest, digest) == 0)
                        strv_push(&v, idx->entries[i].name);
        return v;
}

char **vs_index_digests(const struct vs_index *idx)
{
        char **v = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < idx->n; i++)
                if (!strv_contains(v, idx->entries[i].digest))
                        strv_push(&v, idx->entries[i].digest);
        return v;
}
