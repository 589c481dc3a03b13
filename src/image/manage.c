/* Finding images by name or id, listing, tagging and removing them. */
#include "image/store.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int not_found(vs_error **err, const char *ref)
{
        vs_fail(err, "image '%s' not found", ref);
        if (err && *err)
                (*err)->errno_ = ENOENT;
        return -1;
}

/* The config digest (image id) of the image with this manifest, or NULL. */
static char *image_id_of(struct vs_store *s, const char *manifest)
{
        struct vs_manifest m;
        _cleanup_error_ vs_error *e = NULL;
        if (vs_store_read_manifest(s, manifest, &m, &e) < 0)
                return NULL;
        char *id = xstrdup(m.config.digest);
        vs_manifest_clear(&m);
        return id;
}

int vs_index_resolve(struct vs_store *s, const struct vs_index *idx, const char *ref, char **digest,
                     char **name, vs_error **err)
{
        _cleanup_free_ char *canonical = NULL;
        _cleanup_error_ vs_error *ref_err = NULL;
        if (vs_ref_normalize_any(ref, &canonical, &ref_err) == 0) {
                ssize_t at = vs_index_find_name(idx, canonical);
                /* Podman names local images localhost/NAME. */
                if (at < 0 && strchr(ref, '/') == NULL) {
                        _cleanup_free_ char *local = xasprintf("localhost/%s", canonical);
                        at = vs_index_find_name(idx, local);
                }
                if (at >= 0) {
                        *digest = xstrdup(idx->entries[at].digest);
                        if (name)
                                *name = xstrdup(idx->entries[at].name);
                        return 0;
                }
        }
        const char *hex;
        if (vs_ref_is_id_prefix(ref, &hex)) {
                _cleanup_strv_ char **digests = vs_index_digests(idx);
                _cleanup_free_ char *match = NULL;
                size_t matches = 0;
                for (size_t i = 0; digests[i]; i++) {
                        _cleanup_free_ char *id = image_id_of(s, digests[i]);
                        if (id && strncmp(vs_digest_hex(id), hex, strlen(hex)) == 0) {
                                matches++;
                                free(match);
                                match = xstrdup(digests[i]);
                        }
                }
                if (matches > 1)
                        return vs_fail(err,
                                       "image ID prefix '%s' is ambiguous: it matches %zu images",
                                       ref, matches);
                if (matches == 1) {
                        *digest = steal_ptr(match);
                        if (name)
                                *name = NULL;
                        return 0;
                }
        }
        if (ref_err && !vs_ref_is_id_prefix(ref, NULL))
                return vs_fail(err, "%s", ref_err->msg);
        return not_found(err, ref);
}

int vs_image_lookup(struct vs_store *s, const char *ref, struct vs_image **out, vs_error **err)
{
        struct vs_index idx = {0};
        _cleanup_free_ char *digest = NULL;
        _cleanup_error_ vs_error *e = NULL;
        if (vs_store_load_index(s, &idx, err) < 0)
                return -1;
        int r = vs_index_resolve(s, &idx, ref, &digest, NULL, &e);
        if (r < 0 && e->errno_ == ENOENT) {
                _cleanup_free_ char *canonical = NULL;
                _cleanup_error_ vs_error *ignored = NULL;
                if (vs_ref_normalize(ref, &canonical, &ignored) == 0 &&
                    strcmp(canonical, "busybox:latest") == 0) {
                        vs_index_clear(&idx);
                        vs_error_free(&e);
                        if (vs_image_ensure_busybox(s, err) < 0 ||
                            vs_store_load_index(s, &idx, err) < 0)
                                return -1;
                        r = vs_index_resolve(s, &idx, ref, &digest, NULL, &e);
                }
        }
        if (r < 0) {
                vs_index_clear(&idx);
                if (err)
                        *err = steal_ptr(e);
                return -1;
        }
        r = vs_store_load_image(s, &idx, digest, out, err);
        vs_index_clear(&idx);
        return r;
}

void vs_image_summaries_free(struct vs_image_summary *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].id);
                free(v[i].manifest_digest);
                strv_free(v[i].names);
                free(v[i].created);
        }
        free(v);
}

int vs_image_list(struct vs_store *s, struct vs_image_summary **out, size_t *n, vs_error **err)
{
        struct vs_index idx = {0};
        if (vs_store_load_index(s, &idx, err) < 0)
                return -1;
        _cleanup_strv_ char **digests = vs_index_digests(&idx);
        size_t count = strv_len(digests);
        struct vs_image_summary *v = xcalloc(count ? count : 1, sizeof(*v));
        for (size_t i = 0; i < count; i++) {
                struct vs_image *img;
                if (vs_store_load_image(s, &idx, digests[i], &img, err) < 0) {
                        vs_image_summaries_free(v, i);
                        vs_index_clear(&idx);
                        return -1;
                }
                v[i] = (struct vs_image_summary){
                    .id = steal_ptr(img->id),
                    .manifest_digest = steal_ptr(img->manifest_digest),
                    .names = steal_ptr(img->names),
                    .created = steal_ptr(img->created),
                    .size = img->size,
                };
                vs_image_free(img);
        }
        vs_index_clear(&idx);
        *out = v;
        *n = count;
        return 0;
}

int vs_image_tag(struct vs_store *s, const char *source, const char *target, vs_error **err)
{
        _cleanup_free_ char *name = NULL, *digest = NULL;
        if (vs_ref_normalize(target, &name, err) < 0)
                return -1;
        _cleanup_txn_ struct vs_txn *t = NULL;
        if (vs_txn_begin(s, &t, err) < 0)
                return -1;
        struct vs_index *idx = vs_txn_index(t);
        _cleanup_error_ vs_error *e = NULL;
        int r = vs_index_resolve(s, idx, source, &digest, NULL, &e);
        if (r < 0 && e->errno_ == ENOENT) {
                _cleanup_free_ char *canonical = NULL;
                _cleanup_error_ vs_error *ignored = NULL;
                if (vs_ref_normalize(source, &canonical, &ignored) == 0 &&
                    strcmp(canonical, "busybox:latest") == 0) {
                        /* The built-in image, made on first use. */
                        vs_txn_free(steal_ptr(t));
                        if (vs_image_ensure_busybox(s, err) < 0)
                                return -1;
                        return vs_image_tag(s, source, target, err);
                }
        }
        if (r < 0) {
                if (err)
                        *err = steal_ptr(e);
                return -1;
        }
        const struct vs_index_entry *entry = vs_index_entry_of(idx, digest);
        _cleanup_free_ char *mt = xstrdup(entry->media_type);
        free(vs_index_set_name(idx, name, digest, mt, entry->size));
        _cleanup_free_ char *id = image_id_of(s, digest);
        vs_txn_event(t, "tag", id ? id : digest, name);
        return vs_txn_commit(t, err);
}

int vs_image_remove(struct vs_store *s, const char *ref, bool force, FILE *out, vs_error **err)
{
        _cleanup_txn_ struct vs_txn *t = NULL;
        _cleanup_free_ char *digest = NULL, *name = NULL, *id = NULL, *user = NULL;
        _cleanup_strv_ char **lines = xcalloc(1, sizeof(char *));
        if (vs_txn_begin(s, &t, err) < 0)
                return -1;
        struct vs_index *idx = vs_txn_index(t);
        if (vs_index_resolve(s, idx, ref, &digest, &name, err) < 0)
                return -1;
        _cleanup_strv_ char **names = vs_index_names(idx, digest);
        id = image_id_of(s, digest);
        if (id == NULL)
                id = xstrdup(digest);
        if (name && strv_len(names) > 1) {
                /* One of several names: only the name goes. */
                vs_index_remove_name(idx, name);
                _cleanup_free_ char *line = xasprintf("Untagged: %s", name);
                strv_push(&lines, line);
                vs_txn_event(t, "untag", id, id);
        } else {
                if (name == NULL && strv_len(names) > 1 && !force)
                        return vs_fail(err,
                                       "image %s has several names (%s, ...): remove them one by "
                                       "one, or use -f to remove the image and all its names",
                                       ref, names[0]);
                bool in_use = s->in_use && s->in_use(id, s->in_use_arg, &user);
                if (in_use && !force)
                        return vs_fail(err, "image %s is in use by container %s", ref,
                                       user ? user : "(unknown)");
                for (size_t i = 0; names[i]; i++) {
                        vs_index_remove_name(idx, names[i]);
                        _cleanup_free_ char *line = xasprintf("Untagged: %s", names[i]);
                        strv_push(&lines, line);
                        vs_txn_event(t, "untag", id, id);
                }
                if (in_use) {
                        /* -f on an image a container uses: the names go, the
                         * image stays (untagged) for the container. */
                        _cleanup_free_ char *line =
                            xasprintf("Kept: %s (in use by container %s)", id, user ? user : "?");
                        strv_push(&lines, line);
                } else {
                        vs_index_remove_image(idx, digest);
                        vs_txn_collect_garbage(t, false);
                        _cleanup_free_ char *line = xasprintf("Deleted: %s", id);
                        strv_push(&lines, line);
                        vs_txn_event(t, "delete", id, id);
                }
        }
        if (vs_txn_commit(t, err) < 0)
                return -1;
        for (size_t i = 0; lines[i]; i++)
                fprintf(out, "%s\n", lines[i]);
        return 0;
}

/* ------------------------------------------------------------------ */
/* presentation helpers */

char *vs_human_size(int64_t bytes)
{
        static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
        double v = (double) bytes;
        size_t u = 0;
        while (v >= 1000.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
                v /= 1000.0;
                u++;
        }
        return xasprintf("%.3g%s", v, units[u]);
}

/* RFC 3339 ("2024-05-01T12:00:00.123456789Z", "...+02:00") -> time_t. */
int vs_parse_rfc3339(const char *s, time_t *out)
{
        struct tm tm = {0};
        const char *rest = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
        if (rest == NULL)
                return -1;
        if (*rest == '.')
                for (rest++; *rest >= '0' && *rest <= '9'; rest++)
                        ;
        long offset = 0;
        if (*rest == '+' || *rest == '-') {
                int h = 0, m = 0;
                if (sscanf(rest + 1, "%d:%d", &h, &m) != 2)
                        return -1;
                offset = (h * 3600L + m * 60L) * (*rest == '-' ? -1 : 1);
        } else if (*rest != 'Z' && *rest != 'z') {
                return -1;
        }
        *out = timegm(&tm) - offset;
        return 0;
}

char *vs_human_age(const char *rfc3339)
{
        time_t then;
        if (vs_parse_rfc3339(rfc3339, &then) < 0)
                return xstrdup("N/A");
        double d = difftime(time(NULL), then);
        if (d < 1)
                return xstrdup("Less than a second ago");
        if (d < 60)
                return xasprintf("%d seconds ago", (int) d);
        if (d < 120)
                return xstrdup("About a minute ago");
        if (d < 3600)
                return xasprintf("%d minutes ago", (int) (d / 60));
        if (d < 7200)
                return xstrdup("About an hour ago");
        if (d < 48 * 3600)
                return xasprintf("%d hours ago", (int) (d / 3600));
        if (d < 14 * 86400)
                return xasprintf("%d days ago", (int) (d / 86400));
        if (d < 60 * 86400)
                return xasprintf("%d weeks ago", (int) (d / (7 * 86400)));
        if (d < 730 * 86400)
                return xasprintf("%d months ago", (int) (d / (30 * 86400)));
        return xasprintf("%d years ago", (int) (d / (365.25 * 86400)));
}
