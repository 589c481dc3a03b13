/* `vessel pull` from a registry: the manifest (through an index to the
 * platform's), the config, then the layers the store lacks, a few at once
 * (curl multi), each streamed into a store transaction that hashes it and
 * unpacks it on the way. An interrupted layer resumes with a Range request.
 * Nothing is committed unless every blob matched its digest. */
#include "image/store.h"
#include "image/transfer.h"
#include "registry/client.h"
#include "registry/progress.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ACCEPT_MANIFESTS                                                                           \
        VS_MT_OCI_INDEX ", " VS_MT_DOCKER_LIST ", " VS_MT_OCI_MANIFEST ", " VS_MT_DOCKER_MANIFEST
#define CONFIG_MAX (32 << 20)

/* ------------------------------------------------------------------ */
/* manifests */

static int get_manifest(struct vs_reg_client *c, const char *ref, const char *expect, char **text,
                        size_t *len, char **digest, vs_error **err)
{
        _cleanup_free_ char *path = xasprintf("/v2/%s/manifests/%s", c->path, ref);
        struct vs_reg_response r = {0};
        struct vs_reg_request rq = {.url = path,
                                    .accept = ACCEPT_MANIFESTS,
                                    .body_fd = -1,
                                    .max_body = VS_REGISTRY_MANIFEST_MAX};
        if (vs_reg_do(c, &rq, &r, err) < 0) {
                vs_reg_response_clear(&r);
                return -1;
        }
        if (r.status != 200) {
                _cleanup_free_ char *why = vs_reg_error_text(&r);
                vs_reg_response_clear(&r);
                return vs_fail(err, "%s/%s:%s: %s", c->domain, c->path, ref, why);
        }
        char *got = vs_digest_buffer(r.body ? r.body : "", r.len);
        const char *want = expect ? expect : r.docker_digest;
        if (want && vs_digest_valid(want) && strcmp(got, want) != 0) {
                vs_fail(err, "%s/%s: manifest %s does not match its digest (content has %s)",
                        c->domain, c->path, want, got);
                free(got);
                vs_reg_response_clear(&r);
                return -1;
        }
        *text = r.body ? steal_ptr(r.body) : xstrdup("");
        *len = r.len;
        *digest = got;
        vs_reg_response_clear(&r);
        return 0;
}

/* "os/arch[/variant]" of an index entry against the wanted one; a wanted
 * platform without a variant takes any variant, and the host's ARM variant
 * is matched when known. */
static bool platform_matches(const char *have, const char *want, const char *variant)
{
        size_t n = strlen(want);
        if (strncmp(have, want, n) != 0)
                return false;
        if (have[n] == '\0')
                return true;
        if (have[n] != '/')
                return false;
        return variant == NULL || *variant == '\0' || strcmp(have + n + 1, variant) == 0;
}

static int choose(const struct vs_manifest *m, const char *platform, const char *what, size_t *out,
                  vs_error **err)
{
        _cleanup_free_ char *host = xasprintf("linux/%s", vs_platform_arch());
        const char *want = platform ? platform : host;
        /* os/arch/variant wanted: exact match only. */
        bool with_variant = strchr(want, '/') && strchr(strchr(want, '/') + 1, '/');
        for (size_t i = 0; i < m->n_layers; i++) {
                const char *have = m->platforms[i];
                if (with_variant
                        ? strcmp(have, want) == 0
                        : platform_matches(have, want, platform ? NULL : vs_platform_variant())) {
                        *out = i;
                        return 0;
                }
        }
        _cleanup_free_ char *list = xstrdup("");
        for (size_t i = 0; i < m->n_layers; i++) {
                char *n = xasprintf("%s%s%s", list, i ? ", " : "",
                                    m->platforms[i][0] ? m->platforms[i] : "(none)");
                free(list);
                list = n;
        }
        return vs_fail(err, "%s has no image for %s (it has: %s)", what, want,
                       m->n_layers ? list : "nothing");
}

/* ------------------------------------------------------------------ */
/* layers, in parallel */

/* Each layer is downloaded by its own unpack job, which receives, hashes,
 * keeps and unpacks it in one pass (blob.c); this process starts at most
 * VS_REGISTRY_PARALLEL downloads at once and follows their reports. */
struct layer_dl {
        struct puller *p;
        const struct vs_descriptor *d;
        size_t line;
        struct vs_stage *st;
        struct vs_reg_blob_input *in;
        int report_fd; /* the job's reports; -1 once it said all */
        char msg[1100];
        size_t msg_len;
        char *failure;
        bool received, done, skipped;
};

struct puller {
        struct vs_reg_client *c;
        struct vs_txn *t;
        struct vs_progress *prog;
        struct layer_dl *dls;
        size_t n;
        double received; /* when every layer's bytes were in (monotonic s) */
};

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int start_layer(struct puller *p, struct layer_dl *dl, vs_error **err)
{
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return vs_fail_errno(err, "cannot create a socket pair for layer %s",
                                     dl->d->digest);
        dl->in = vs_reg_blob_input_new(p->c, dl->d->digest, dl->d->size, sv[1]);
        const char *mt = vs_layer_media_type_for_unpack(dl->d->media_type);
        int ret = vs_stage_open_input(p->t, mt, vs_reg_blob_input_base(dl->in), &dl->st, err);
        /* Only the job holds the writing end: the reports end with it. */
        close(sv[1]);
        if (ret < 0) {
                close(sv[0]);
                return -1;
        }
        dl->report_fd = sv[0];
        return 0;
}

static void on_report(struct layer_dl *dl, const char *line)
{
        struct vs_progress *prog = dl->p->prog;
        switch (line[0]) {
        case 'P':
                vs_progress_update(prog, dl->line, "Downloading", strtoll(line + 1, NULL, 10),
                                   dl->d->size);
                break;
        case 'R':
                vs_progress_update(prog, dl->line, "Retrying", strtoll(line + 1, NULL, 10),
                                   dl->d->size);
                break;
        case 'D':
                dl->received = true;
                break;
        case 'E':
                if (dl->failure == NULL)
                        dl->failure = xstrdup(line + 1);
                break;
        default:
                break;
        }
}

/* Reads what the job reported; true once it will report nothing more. */
static bool read_reports(struct layer_dl *dl)
{
        for (;;) {
                ssize_t n = recv(dl->report_fd, dl->msg + dl->msg_len,
                                 sizeof(dl->msg) - 1 - dl->msg_len, MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return false;
                if (n <= 0)
                        return true; /* the job ended (or its end closed) */
                dl->msg_len += (size_t) n;
                dl->msg[dl->msg_len] = '\0';
                char *start = dl->msg, *nl;
                while ((nl = strchr(start, '\n')) != NULL) {
                        *nl = '\0';
                        on_report(dl, start);
                        start = nl + 1;
                }
                dl->msg_len -= (size_t) (start - dl->msg);
                memmove(dl->msg, start, dl->msg_len);
                if (dl->msg_len == sizeof(dl->msg) - 1)
                        dl->msg_len = 0; /* an overlong line: dropped */
                if (dl->received || dl->failure)
                        return true;
        }
}

/* A job said all: its download failed, or its blob is complete (checked
 * against the digest once its unpack, which hashed it, ends). */
static int layer_received(struct puller *p, struct layer_dl *dl, vs_error **err)
{
        close(dl->report_fd);
        dl->report_fd = -1;
        dl->done = true;
        if (dl->failure)
                return vs_fail(err, "%s", dl->failure);
        vs_progress_update(p->prog, dl->line, "Verifying Checksum", dl->d->size, dl->d->size);
        if (vs_stage_finish_blob(dl->st, dl->d->digest, NULL, NULL, err) < 0)
                return vs_error_wrap(err, "%s/%s", p->c->domain, p->c->path);
        vs_progress_done(p->prog, dl->line, "Download complete");
        return 0;
}

static int follow_layers(struct puller *p, vs_error **err)
{
        size_t next = 0, active = 0, remaining = 0;
        for (size_t i = 0; i < p->n; i++)
                if (!p->dls[i].skipped)
                        remaining++;
        while (remaining > 0) {
                while (active < VS_REGISTRY_PARALLEL && next < p->n) {
                        struct layer_dl *dl = &p->dls[next++];
                        if (dl->skipped)
                                continue;
                        if (start_layer(p, dl, err) < 0)
                                return -1;
                        active++;
                }
                struct pollfd fds[VS_REGISTRY_PARALLEL];
                struct layer_dl *of[VS_REGISTRY_PARALLEL];
                nfds_t n = 0;
                for (size_t i = 0; i < next && n < VS_REGISTRY_PARALLEL; i++) {
                        if (p->dls[i].report_fd >= 0 && !p->dls[i].done) {
                                of[n] = &p->dls[i];
                                fds[n++] =
                                    (struct pollfd){.fd = p->dls[i].report_fd, .events = POLLIN};
                        }
                }
                if (poll(fds, n, 100) < 0 && errno != EINTR)
                        return vs_fail_errno(err, "poll failed");
                for (nfds_t i = 0; i < n; i++) {
                        if (fds[i].revents == 0 || !read_reports(of[i]))
                                continue;
                        if (layer_received(p, of[i], err) < 0)
                                return -1;
                        active--;
                        remaining--;
                }
                vs_progress_flush(p->prog, false);
        }
        return 0;
}

static int download_layers(struct puller *p, vs_error **err)
{
        for (size_t i = 0; i < p->n; i++)
                p->dls[i].report_fd = -1;
        int ret = follow_layers(p, err);
        p->received = now_s();
        /* The unpacks that go on after their downloads. */
        for (size_t i = 0; ret == 0 && i < p->n; i++) {
                struct layer_dl *dl = &p->dls[i];
                if (dl->st == NULL)
                        continue;
                if (vs_stage_wait_unpack(dl->st, err) < 0) {
                        ret = vs_error_wrap(err, "%s/%s", p->c->domain, p->c->path);
                        break;
                }
                vs_progress_done(p->prog, dl->line, "Pull complete");
        }
        for (size_t i = 0; i < p->n; i++) {
                struct layer_dl *dl = &p->dls[i];
                if (dl->report_fd >= 0)
                        close(dl->report_fd);
                vs_stage_free(dl->st);
                vs_reg_blob_input_free(dl->in);
                free(dl->failure);
        }
        vs_progress_flush(p->prog, true);
        return ret;
}

/* ------------------------------------------------------------------ */

static int get_config(struct vs_reg_client *c, struct vs_txn *t, const struct vs_descriptor *d,
                      vs_error **err)
{
        if (vs_txn_has_blob(t, d->digest))
                return 0;
        if (d->size < 0 || d->size > CONFIG_MAX)
                return vs_fail(err, "config %s: size %lld is out of bounds", d->digest,
                               (long long) d->size);
        _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", c->path, d->digest);
        struct vs_reg_response r = {0};
        struct vs_reg_request rq = {.url = path, .body_fd = -1, .max_body = (size_t) d->size + 1};
        int ret = vs_reg_do(c, &rq, &r, err);
        if (ret == 0 && r.status != 200) {
                _cleanup_free_ char *why = vs_reg_error_text(&r);
                ret = vs_fail(err, "config %s: %s", d->digest, why);
        }
        _cleanup_free_ char *got = NULL;
        if (ret == 0 && vs_txn_put_blob(t, r.body ? r.body : "", r.len, &got, err) < 0)
                ret = -1;
        if (ret == 0 && strcmp(got, d->digest) != 0)
                ret = vs_fail(err, "config %s does not match its digest (content has %s)",
                              d->digest, got);
        vs_reg_response_clear(&r);
        return ret;
}

static bool up_to_date(struct vs_store *s, const char *name, const char *digest)
{
        struct vs_index idx = {0};
        _cleanup_error_ vs_error *e = NULL;
        if (name == NULL || vs_store_load_index(s, &idx, &e) < 0)
                return false;
        ssize_t i = vs_index_find_name(&idx, name);
        bool same =
            i >= 0 && strcmp(idx.entries[i].digest, digest) == 0 && vs_store_has_blob(s, digest);
        vs_index_clear(&idx);
        return same;
}

static int pull_image(struct vs_store *s, struct vs_reg_client *c, const struct vs_remote_ref *r,
                      const struct vs_registry_opts *o, FILE *out, vs_error **err)
{
        const char *ref = r->digest ? r->digest : r->tag;
        double t0 = now_s();
        _cleanup_free_ char *text = NULL, *digest = NULL;
        size_t len = 0;
        if (get_manifest(c, ref, r->digest, &text, &len, &digest, err) < 0)
                return -1;
        _cleanup_free_ char *what =
            xasprintf("%s/%s%s%s", r->domain, r->path, r->digest ? "@" : ":", ref);
        struct vs_manifest m;
        if (vs_manifest_parse(text, what, &m, err) < 0)
                return -1;
        _cleanup_free_ char *top_digest = xstrdup(digest);
        if (m.is_index) {
                size_t i = 0;
                if (choose(&m, o->platform, what, &i, err) < 0) {
                        vs_manifest_clear(&m);
                        return -1;
                }
                _cleanup_free_ char *child = xstrdup(m.layers[i].digest);
                vs_manifest_clear(&m);
                free(text);
                free(digest);
                text = digest = NULL;
                if (get_manifest(c, child, child, &text, &len, &digest, err) < 0 ||
                    vs_manifest_parse(text, what, &m, err) < 0)
                        return -1;
                if (m.is_index) {
                        vs_manifest_clear(&m);
                        return vs_fail(err, "%s: an index inside an index is not supported", what);
                }
        }
        int ret = -1;
        _cleanup_txn_ struct vs_txn *t = NULL;
        _cleanup_free_ char *staged = NULL;
        char *names[] = {r->local_name, NULL};
        struct puller p = {.c = c};
        if (!o->quiet)
                fprintf(out, "%s: Pulling from %s\n", r->digest ? r->digest : r->tag, r->path);
        fflush(out);
        if (up_to_date(s, r->local_name, digest)) {
                if (!o->quiet)
                        fprintf(out, "Digest: %s\nStatus: Image is up to date for %s\n", top_digest,
                                r->local_name);
                ret = 0;
                goto print_name;
        }
        if (vs_txn_begin(s, &t, err) < 0)
                goto out;
        p.t = t;
        if (vs_txn_put_blob(t, text, len, &staged, err) < 0 || get_config(c, t, &m.config, err) < 0)
                goto out;
        p.n = m.n_layers;
        p.dls = xcalloc(p.n ? p.n : 1, sizeof(*p.dls));
        p.prog = vs_progress_new(out, o->quiet);
        for (size_t i = 0; i < p.n; i++) {
                struct layer_dl *dl = &p.dls[i];
                dl->p = &p;
                dl->d = &m.layers[i];
                dl->skipped = vs_txn_has_blob(t, dl->d->digest);
                dl->line = vs_progress_add(p.prog, vs_digest_hex(dl->d->digest),
                                           dl->skipped ? "Already exists" : "Pulling fs layer");
        }
        vs_progress_flush(p.prog, true);
        double t1 = now_s();
        if (download_layers(&p, err) < 0)
                goto out;
        double t2 = now_s();
        if (vs_txn_add_image(t, digest, names, NULL, err) < 0 || vs_txn_commit(t, err) < 0)
                goto out;
        /* Where the time went (bench/registry-pull.sh reads this line). */
        vs_debug("pull %s: manifest and config %.3f s, layers received (downloaded, hashed, "
                 "blobs written) %.3f s, unpacks finished and blobs verified %.3f s, committed "
                 "%.3f s",
                 what, t1 - t0, (p.n ? p.received : t1) - t1, t2 - (p.n ? p.received : t1),
                 now_s() - t2);
        if (!o->quiet)
                fprintf(out, "Digest: %s\nStatus: Downloaded newer image for %s\n", top_digest,
                        r->local_name ? r->local_name : what);
        ret = 0;
print_name:
        if (r->digest)
                fprintf(out, "%s/%s@%s\n", r->domain, r->path, r->digest);
        else
                fprintf(out, "%s/%s:%s\n", r->domain, r->path, r->tag);
out:
        vs_progress_free(p.prog);
        free(p.dls);
        vs_manifest_clear(&m);
        return ret;
}

/* ------------------------------------------------------------------ */
/* --all-tags: tags/list, page by page */

/* The next page from a Link header (`<URL>; rel="next"`), or NULL. Only a
 * URL on the registry itself is followed (the Authorization header goes
 * with it). */
static int next_page(struct vs_reg_client *c, const char *link, char **next, vs_error **err)
{
        *next = NULL;
        if (link == NULL || strstr(link, "rel=\"next\"") == NULL)
                return 0;
        const char *lt = strchr(link, '<'), *gt = lt ? strchr(lt, '>') : NULL;
        if (gt == NULL)
                return vs_fail(err, "%s: bad Link header '%s'", c->host, link);
        _cleanup_free_ char *url = xstrndup(lt + 1, (size_t) (gt - lt - 1));
        if (url[0] == '/' && url[1] != '/') {
                *next = steal_ptr(url);
                return 0;
        }
        size_t n = strlen(c->base);
        if (strncmp(url, c->base, n) != 0 || url[n] != '/')
                return vs_fail(err, "%s: refusing the next page of tags at '%s' (another registry)",
                               c->host, url);
        *next = steal_ptr(url);
        return 0;
}

static int tags_page(struct vs_reg_client *c, const char *url, char ***tags, char **next,
                     vs_error **err)
{
        struct vs_reg_response r = {0};
        struct vs_reg_request rq = {
            .url = url, .body_fd = -1, .max_body = VS_REGISTRY_MANIFEST_MAX};
        int ret = vs_reg_do(c, &rq, &r, err);
        if (ret == 0 && r.status != 200) {
                _cleanup_free_ char *why = vs_reg_error_text(&r);
                ret = vs_fail(err, "%s/%s: cannot list the tags: %s", c->domain, c->path, why);
        }
        _cleanup_json_ json_object *doc = NULL;
        json_object *list = NULL;
        if (ret == 0 && vs_json_parse(r.body ? r.body : "", "tags/list", &doc, err) < 0)
                ret = -1;
        /* "tags": null when the repository has none */
        if (ret == 0 && json_object_object_get_ex(doc, "tags", &list) && list != NULL) {
                if (!json_object_is_type(list, json_type_array))
                        ret = vs_fail(err, "%s/%s: tags/list: 'tags' is not an array", c->domain,
                                      c->path);
                for (size_t i = 0; ret == 0 && i < json_object_array_length(list); i++) {
                        json_object *t = json_object_array_get_idx(list, i);
                        if (!json_object_is_type(t, json_type_string))
                                ret = vs_fail(err, "%s/%s: tags/list: a tag is not a string",
                                              c->domain, c->path);
                        else if (strv_len(*tags) >= VS_REGISTRY_TAGS_MAX)
                                ret = vs_fail(err, "%s/%s: more than %d tags", c->domain, c->path,
                                              VS_REGISTRY_TAGS_MAX);
                        else
                                strv_push(tags, json_object_get_string(t));
                }
        }
        if (ret == 0)
                ret = next_page(c, r.link, next, err);
        vs_reg_response_clear(&r);
        return ret;
}

static int list_tags(struct vs_reg_client *c, char ***tags, vs_error **err)
{
        *tags = xcalloc(1, sizeof(char *));
        _cleanup_free_ char *url =
            xasprintf("/v2/%s/tags/list?n=%d", c->path, VS_REGISTRY_TAGS_PAGE);
        while (url) {
                char *next = NULL;
                size_t before = strv_len(*tags);
                if (tags_page(c, url, tags, &next, err) < 0)
                        return -1;
                free(url);
                url = next;
                if (url && strv_len(*tags) == before) {
                        return vs_fail(err, "%s/%s: tags/list: an empty page with a next one",
                                       c->domain, c->path);
                }
        }
        if (**tags == NULL)
                return vs_fail(err, "%s/%s: the repository has no tags", c->domain, c->path);
        return 0;
}

/* Every tag, one after the other, each checked as a reference first. */
static int pull_all_tags(struct vs_store *s, struct vs_reg_client *c, const struct vs_remote_ref *r,
                         const struct vs_registry_opts *o, FILE *out, vs_error **err)
{
        _cleanup_strv_ char **tags = NULL;
        if (list_tags(c, &tags, err) < 0)
                return -1;
        for (size_t i = 0; tags[i]; i++) {
                _cleanup_free_ char *full = xasprintf("%s/%s:%s", r->domain, r->path, tags[i]);
                struct vs_remote_ref one;
                if (vs_remote_ref_parse(full, &one, err) < 0)
                        return vs_error_wrap(err, "%s/%s: tags/list", r->domain, r->path);
                int ret = pull_image(s, c, &one, o, out, err);
                vs_remote_ref_clear(&one);
                if (ret < 0)
                        return -1;
        }
        return 0;
}

/* Was a tag or digest written in the reference (not the default "latest")? */
static bool names_version(const char *ref)
{
        const char *slash = strrchr(ref, '/');
        return strchr(ref, '@') || strchr(slash ? slash : ref, ':');
}

int vs_registry_pull(struct vs_store *s, const char *ref, const struct vs_registry_opts *o,
                     FILE *out, vs_error **err)
{
        struct vs_remote_ref r;
        if (vs_remote_ref_parse(ref, &r, err) < 0)
                return -1;
        if (o->all_tags && names_version(ref)) {
                vs_remote_ref_clear(&r);
                return vs_fail(err,
                               "cannot pull %s: --all-tags takes a NAME without a tag or "
                               "digest",
                               ref);
        }
        struct vs_reg_client *c = NULL;
        int ret = vs_reg_client_open(r.domain, r.path, false, o, &c, err);
        if (ret == 0)
                ret = o->all_tags ? pull_all_tags(s, c, &r, o, out, err)
                                  : pull_image(s, c, &r, o, out, err);
        if (ret < 0)
                vs_error_wrap(err, "cannot pull %s", ref);
        vs_reg_client_free(c);
        vs_remote_ref_clear(&r);
        return ret;
}
