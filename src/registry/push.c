/* `vessel push`: for each blob of the image (layers, config) a HEAD tells
 * whether the registry has it; missing ones are mounted from another
 * repository of the same registry when the image has a name there, else
 * uploaded in one PUT (monolithic upload), or as PATCHes of
 * VS_REGISTRY_CHUNK bytes then a PUT when larger; then the manifest, byte for byte
 * as stored, so its digest stays the same. */
#include "image/store.h"
#include "registry/client.h"
#include "registry/progress.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A chunk cut short is resumed (or its blob started again) this often. */
#define RESUME_ATTEMPTS 5

static int blob_exists(struct vs_reg_client *c, const char *digest, bool *exists, vs_error **err)
{
        _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", c->path, digest);
        struct vs_reg_response r = {0};
        struct vs_reg_request rq = {.method = "HEAD", .url = path, .body_fd = -1};
        int ret = vs_reg_do(c, &rq, &r, err);
        if (ret == 0) {
                *exists = r.status == 200;
                if (r.status != 200 && r.status != 404) {
                        _cleanup_free_ char *why = vs_reg_error_text(&r);
                        ret = vs_fail(err, "HEAD blob %s: %s", digest, why);
                }
        }
        vs_reg_response_clear(&r);
        return ret;
}

/* An upload Location stays on the registry's scheme. */
static int check_location(struct vs_reg_client *c, const char *loc, vs_error **err)
{
        if (loc == NULL || *loc == '\0')
                return vs_fail(err, "%s: upload started without a Location", c->host);
        if (loc[0] == '/')
                return 0;
        bool https = strncmp(c->base, "https://", 8) == 0;
        if (strncmp(loc, https ? "https://" : "http://", https ? 8 : 7) != 0)
                return vs_fail(err, "%s: refusing upload location '%s' (another scheme)", c->host,
                               loc);
        return 0;
}

/* POST an upload (mounting from `from` when not NULL): 1 when mounted,
 * 0 with *location for the PUT. */
static int start_upload(struct vs_reg_client *c, const char *digest, const char *from,
                        char **location, vs_error **err)
{
        _cleanup_free_ char *path =
            from ? xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s", c->path, digest, from)
                 : xasprintf("/v2/%s/blobs/uploads/", c->path);
        struct vs_reg_response r = {0};
        struct vs_reg_request rq = {.method = "POST", .url = path, .body_fd = -1};
        int ret = vs_reg_do(c, &rq, &r, err);
        if (ret == 0 && r.status == 201 && from) {
                ret = 1;
        } else if (ret == 0 && r.status == 202) {
                ret = check_location(c, r.location, err);
                if (ret == 0)
                        *location = xstrdup(r.location);
        } else if (ret == 0) {
                _cleanup_free_ char *why = vs_reg_error_text(&r);
                ret = vs_fail(err, "cannot start the upload of %s: %s", digest, why);
        }
        vs_reg_response_clear(&r);
        return ret;
}

/* The chunk size of chunked uploads: blobs larger are sent as PATCHes of
 * this size; $VESSEL_REGISTRY_CHUNK_SIZE (bytes, at least 1) instead of
 * VS_REGISTRY_CHUNK. */
static int64_t chunk_size(void)
{
        const char *env = getenv("VESSEL_REGISTRY_CHUNK_SIZE");
        char *end = NULL;
        long long n = env ? strtoll(env, &end, 10) : 0;
        return env && *env && end && *end == '\0' && n > 0 ? (int64_t) n : VS_REGISTRY_CHUNK;
}

/* The next upload URL, from a 202's Location (relative or on the registry). */
static int next_location(struct vs_reg_client *c, struct vs_reg_response *r, char **location,
                         vs_error **err)
{
        if (check_location(c, r->location, err) < 0)
                return -1;
        free(*location);
        *location = xstrdup(r->location);
        return 0;
}

/* How many bytes an upload session holds (GET LOCATION: 204, Range 0-END
 * or none, and the Location to go on with): 0 with *held, or -1 when the
 * session is gone or unusable (err). */
static int upload_status(struct vs_reg_client *c, char **location, int64_t *held, vs_error **err)
{
        struct vs_reg_response r = {0};
        struct vs_reg_request rq = {.url = *location, .body_fd = -1, .max_body = 65536};
        int ret = vs_reg_do(c, &rq, &r, err);
        if (ret == 0 && r.status != 204) {
                _cleanup_free_ char *why = vs_reg_error_text(&r);
                ret = vs_fail(err, "the upload session is gone: %s", why);
        }
        long long start = 0, end = -1;
        const char *range = r.range && strncmp(r.range, "bytes=", 6) == 0 ? r.range + 6 : r.range;
        if (ret == 0 && range && (sscanf(range, "%lld-%lld", &start, &end) != 2 || start != 0))
                ret = vs_fail(err, "the upload session holds '%s'", r.range);
        if (ret == 0 && r.location)
                ret = next_location(c, &r, location, err);
        vs_reg_response_clear(&r);
        /* "0-0" is also what Distribution says of an empty session: taken
         * as nothing held (a resent first byte would be refused, never
         * lost). */
        if (ret == 0)
                *held = end > 0 ? end + 1 : 0;
        return ret;
}

/* Chunked upload: PATCH LOCATION with Content-Range START-END for each
 * chunk (the registry answers 202, a new Location and Range 0-END), then
 * PUT LOCATION?digest= without a body. A PATCH cut short (connection
 * lost) resumes from what the session holds, asked with GET LOCATION;
 * when the session is gone (Distribution cancels one whose Location's
 * state no longer matches: part of the chunk arrived), a new one is
 * started and the blob sent again from its first byte. */
static int upload_chunks(struct vs_reg_client *c, const char *digest, int fd, int64_t size,
                         char **location, struct vs_progress *prog, size_t line, vs_error **err)
{
        int64_t chunk = chunk_size();
        int attempts = 0;
        for (int64_t off = 0; off < size;) {
                int64_t n = size - off < chunk ? size - off : chunk;
                char range[64], want[64];
                snprintf(range, sizeof(range), "%lld-%lld", (long long) off,
                         (long long) (off + n - 1));
                snprintf(want, sizeof(want), "0-%lld", (long long) (off + n - 1));
                struct vs_reg_response resp = {0};
                struct vs_reg_request rq = {.method = "PATCH",
                                            .url = *location,
                                            .content_type = "application/octet-stream",
                                            .content_range = range,
                                            .body_fd = fd,
                                            .body_fd_offset = off,
                                            .body_fd_size = n};
                int ret = vs_reg_do(c, &rq, &resp, err);
                if (ret < 0 && attempts < RESUME_ATTEMPTS) {
                        /* Cut short: where does the session stand? */
                        vs_reg_response_clear(&resp);
                        attempts++;
                        vs_error_free(err);
                        int64_t held = 0;
                        if (upload_status(c, location, &held, err) == 0 && held <= off + n) {
                                off = held;
                        } else {
                                vs_error_free(err);
                                free(*location);
                                *location = NULL;
                                if (start_upload(c, digest, NULL, location, err) < 0)
                                        return -1;
                                off = 0;
                        }
                        vs_progress_update(prog, line, "Retrying", off, size);
                        continue;
                }
                if (ret == 0 && resp.status != 202) {
                        _cleanup_free_ char *why = vs_reg_error_text(&resp);
                        ret = vs_fail(err, "cannot upload bytes %s of blob %s: %s", range, digest,
                                      why);
                } else if (ret == 0 && resp.range && strcmp(resp.range, want) != 0 &&
                           !(strncmp(resp.range, "bytes=", 6) == 0 &&
                             strcmp(resp.range + 6, want) == 0)) {
                        ret = vs_fail(err, "blob %s: the registry holds %s after bytes %s", digest,
                                      resp.range, range);
                }
                if (ret == 0)
                        ret = next_location(c, &resp, location, err);
                vs_reg_response_clear(&resp);
                if (ret < 0)
                        return -1;
                off += n;
                vs_progress_update(prog, line, "Pushing", off, size);
                vs_progress_flush(prog, false);
        }
        return 0;
}

static int upload_blob(struct vs_reg_client *c, struct vs_store *s, const char *digest,
                       const char *from, bool *mounted, struct vs_progress *prog, size_t line,
                       vs_error **err)
{
        _cleanup_free_ char *location = NULL;
        int r = start_upload(c, digest, from, &location, err);
        if (r < 0)
                return -1;
        *mounted = r == 1;
        if (*mounted)
                return 0;
        _cleanup_close_ int fd = vs_store_open_blob(s, digest, err);
        if (fd < 0)
                return -1;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return vs_fail_errno(err, "cannot stat blob %s", digest);
        /* Over the chunk size: PATCHes, then a PUT without a body. */
        bool chunked = st.st_size > chunk_size();
        if (chunked && upload_chunks(c, digest, fd, st.st_size, &location, prog, line, err) < 0)
                return -1;
        _cleanup_free_ char *url =
            xasprintf("%s%sdigest=%s", location, strchr(location, '?') ? "&" : "?", digest);
        struct vs_reg_response resp = {0};
        struct vs_reg_request rq = {.method = "PUT",
                                    .url = url,
                                    .content_type = "application/octet-stream",
                                    .body_fd = chunked ? -1 : fd,
                                    .body_fd_size = chunked ? 0 : st.st_size};
        int ret = vs_reg_do(c, &rq, &resp, err);
        if (ret == 0 && resp.status != 201) {
                _cleanup_free_ char *why = vs_reg_error_text(&resp);
                ret = vs_fail(err, "cannot upload blob %s: %s", digest, why);
        }
        vs_reg_response_clear(&resp);
        return ret;
}

/* Another repository on the same registry holding this image, to mount
 * its blobs from. */
static char *mount_source(struct vs_store *s, const char *manifest, const char *domain,
                          const char *path)
{
        struct vs_index idx = {0};
        _cleanup_error_ vs_error *e = NULL;
        if (vs_store_load_index(s, &idx, &e) < 0)
                return NULL;
        char *from = NULL;
        _cleanup_strv_ char **names = vs_index_names(&idx, manifest);
        for (size_t i = 0; names[i] && from == NULL; i++) {
                struct vs_remote_ref r;
                if (vs_remote_ref_parse(names[i], &r, &e) < 0) {
                        vs_error_free(&e);
                        continue;
                }
                if (strcmp(r.domain, domain) == 0 && strcmp(r.path, path) != 0)
                        from = xstrdup(r.path);
                vs_remote_ref_clear(&r);
        }
        vs_index_clear(&idx);
        return from;
}

static int push_blobs(struct vs_reg_client *c, struct vs_store *s, const struct vs_manifest *m,
                      const char *from, struct vs_progress *prog, vs_error **err)
{
        for (size_t i = 0; i <= m->n_layers; i++) {
                const struct vs_descriptor *d = i < m->n_layers ? &m->layers[i] : &m->config;
                size_t line = vs_progress_add(prog, vs_digest_hex(d->digest), "Preparing");
                vs_progress_flush(prog, true);
                bool exists = false, mounted = false;
                if (blob_exists(c, d->digest, &exists, err) < 0)
                        return -1;
                if (exists) {
                        vs_progress_done(prog, line, "Layer already exists");
                        continue;
                }
                vs_progress_update(prog, line, "Pushing", 0, 0);
                vs_progress_flush(prog, true);
                if (upload_blob(c, s, d->digest, from, &mounted, prog, line, err) < 0)
                        return -1;
                vs_progress_done(prog, line,
                                 mounted ? "Mounted from another repository" : "Pushed");
                vs_progress_flush(prog, true);
        }
        return 0;
}

static int push_manifest(struct vs_reg_client *c, const char *tag, const char *media_type,
                         const char *text, size_t len, vs_error **err)
{
        _cleanup_free_ char *path = xasprintf("/v2/%s/manifests/%s", c->path, tag);
        struct vs_reg_response r = {0};
        struct vs_reg_request rq = {.method = "PUT",
                                    .url = path,
                                    .content_type = media_type,
                                    .body = text,
                                    .body_len = len,
                                    .body_fd = -1};
        int ret = vs_reg_do(c, &rq, &r, err);
        if (ret == 0 && r.status != 201) {
                _cleanup_free_ char *why = vs_reg_error_text(&r);
                ret = vs_fail(err, "cannot put the manifest: %s", why);
        }
        vs_reg_response_clear(&r);
        return ret;
}

int vs_registry_push(struct vs_store *s, const char *ref, const struct vs_registry_opts *o,
                     FILE *out, vs_error **err)
{
        struct vs_remote_ref r;
        if (vs_remote_ref_parse(ref, &r, err) < 0)
                return -1;
        int ret = -1;
        struct vs_index idx = {0};
        struct vs_manifest m = {0};
        struct vs_reg_client *c = NULL;
        struct vs_progress *prog = NULL;
        _cleanup_free_ char *digest = NULL, *text = NULL, *from = NULL;
        size_t len = 0;
        if (r.digest) {
                vs_fail(err, "cannot push %s: push takes NAME[:TAG], not a digest", ref);
                goto out;
        }
        if (vs_store_load_index(s, &idx, err) < 0 ||
            vs_index_resolve(s, &idx, r.local_name, &digest, NULL, err) < 0 ||
            vs_store_read_blob(s, digest, &text, &len, err) < 0 ||
            vs_manifest_parse(text, digest, &m, err) < 0)
                goto out;
        if (m.is_index) {
                vs_fail(err, "cannot push %s: it is an index", ref);
                goto out;
        }
        from = mount_source(s, digest, r.domain, r.path);
        if (vs_reg_client_open(r.domain, r.path, true, o, &c, err) < 0)
                goto wrap;
        if (from) {
                c->extra_scope = xasprintf("repository:%s:pull", from);
                if (vs_reg_reauth(c, err) < 0)
                        goto wrap;
        }
        if (!o->quiet)
                fprintf(out, "The push refers to repository [%s/%s]\n", r.domain, r.path);
        prog = vs_progress_new(out, o->quiet);
        if (push_blobs(c, s, &m, from, prog, err) < 0 ||
            push_manifest(c, r.tag, m.media_type, text, len, err) < 0)
                goto wrap;
        fprintf(out, "%s: digest: %s size: %zu\n", r.tag, digest, len);
        ret = 0;
        goto out;
wrap:
        vs_error_wrap(err, "cannot push %s", ref);
out:
        vs_progress_free(prog);
        vs_reg_client_free(c);
        vs_manifest_clear(&m);
        vs_index_clear(&idx);
        vs_remote_ref_clear(&r);
        return ret;
}
