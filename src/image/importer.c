/* Streams blobs into a transaction (unpacking layers on the way) and
 * imports OCI manifests, whatever the source of their blobs. */
#include "image/transfer.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROBE 512
#define MIB   (1024 * 1024)
#define CHUNK (1 << 20)

struct vs_stage {
        struct vs_txn *t;
        enum vs_stage_mode mode;
        const char *media_type;
        struct vs_blob_writer *w;
        struct vs_unpack_job *job;
        char *layer_tmp;
        unsigned char probe[PROBE];
        size_t probe_len;
        bool decided;
        char *progress;
        char *digest; /* once the blob is finished */
        /* VS_STAGE_LAYER: the unpack job keeps the blob (hashes it and writes
         * it through the writer's fd), so this process only feeds it. */
        bool kept_by_job;
        bool input_ended;
        char *want; /* the digest the kept blob must have */
        int64_t total, shown, expected;
};

static bool quiet;

void vs_progress_set_quiet(bool q)
{
        quiet = q;
}

bool vs_progress_enabled(void)
{
        return !quiet && isatty(STDERR_FILENO);
}

void vs_progress_end(void)
{
        if (vs_progress_enabled())
                vs_progress_clear();
}

bool vs_looks_like_layer(const unsigned char *p, size_t len)
{
        if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
                return true;
        if (len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
                return true;
        return len >= 262 && memcmp(p + 257, "ustar", 5) == 0;
}

int vs_stage_open(struct vs_txn *t, enum vs_stage_mode mode, const char *media_type,
                  struct vs_stage **out, vs_error **err)
{
        struct vs_stage *st = xzalloc(sizeof(*st));
        st->t = t;
        st->mode = mode;
        st->media_type = media_type;
        st->decided = mode != VS_STAGE_SNIFF;
        st->kept_by_job = mode == VS_STAGE_LAYER;
        if (vs_blob_writer_open(t, &st->w, err) < 0) {
                free(st);
                return -1;
        }
        *out = st;
        return 0;
}

int vs_stage_open_input(struct vs_txn *t, const char *media_type, struct vs_layer_input *in,
                        struct vs_stage **out, vs_error **err)
{
        struct vs_stage *st;
        if (vs_stage_open(t, VS_STAGE_LAYER, media_type, &st, err) < 0)
                return -1;
        st->layer_tmp = vs_txn_tmp_name(t, "layer");
        _cleanup_free_ char *dest = xasprintf("%s/%s", vs_txn_tmp_dir(t), st->layer_tmp);
        if (vs_unpack_job_start_input(dest, media_type, vs_blob_writer_fd(st->w), in, &st->job,
                                      err) < 0) {
                vs_stage_free(st);
                return -1;
        }
        *out = st;
        return 0;
}

void vs_stage_set_progress(struct vs_stage *st, const char *label, int64_t expected)
{
        free(st->progress);
        st->progress = label && vs_progress_enabled() ? xstrdup(label) : NULL;
        st->expected = expected;
}

bool vs_stage_is_layer(const struct vs_stage *st)
{
        return st->job != NULL;
}

static int start_job(struct vs_stage *st, const char *media_type, vs_error **err)
{
        st->layer_tmp = vs_txn_tmp_name(st->t, "layer");
        _cleanup_free_ char *dest = xasprintf("%s/%s", vs_txn_tmp_dir(st->t), st->layer_tmp);
        return vs_unpack_job_start(dest, media_type,
                                   st->kept_by_job ? vs_blob_writer_fd(st->w) : -1, &st->job, err);
}

static void show_progress(struct vs_stage *st, bool final)
{
        if (st->progress == NULL || (!final && st->total - st->shown < 4 * MIB))
                return;
        st->shown = st->total;
        if (st->expected > 0)
                vs_progress(true, "%s (%lld of %lld MB)", st->progress,
                            (long long) (st->total / MIB), (long long) (st->expected / MIB));
        else
                vs_progress(true, "%s (%lld MB)", st->progress, (long long) (st->total / MIB));
}

int vs_stage_write(struct vs_stage *st, const void *buf, size_t len, vs_error **err)
{
        if (st->mode == VS_STAGE_LAYER && st->job == NULL && st->layer_tmp == NULL &&
            start_job(st, st->media_type, err) < 0)
                return -1;
        if (!st->decided) {
                size_t take = len < PROBE - st->probe_len ? len : PROBE - st->probe_len;
                memcpy(st->probe + st->probe_len, buf, take);
                st->probe_len += take;
                if (st->probe_len < PROBE)
                        goto write_blob;
                st->decided = true;
                if (vs_looks_like_layer(st->probe, st->probe_len)) {
                        if (start_job(st, NULL, err) < 0)
                                return -1;
                        /* The probe holds bytes already written before this
                         * call: give the job those, then the rest below. */
                        size_t earlier = st->probe_len - take;
                        vs_unpack_job_feed(st->job, st->probe, earlier);
                }
        }
        if (st->job)
                vs_unpack_job_feed(st->job, buf, len);
        if (st->kept_by_job) {
                st->total += (int64_t) len;
                show_progress(st, false);
                return 0;
        }
write_blob:
        st->total += (int64_t) len;
        show_progress(st, false);
        return vs_blob_writer_write(st->w, buf, len, err);
}

/* The outcome of a job that kept the blob: the blob is staged (checked
 * against want) and the unpack's result noted in the transaction. */
static int complete_kept(struct vs_stage *st, vs_error **err)
{
        if (st->digest)
                return 0;
        _cleanup_free_ char *diff_id = NULL, *blob = NULL;
        int64_t unpacked = 0, blob_size = 0;
        vs_error *why = NULL;
        struct vs_unpack_job *job = steal_ptr(st->job);
        int r = vs_unpack_job_finish(job, &diff_id, &unpacked, &blob, &blob_size, &why);
        if (blob == NULL) {
                if (why == NULL)
                        vs_fail(&why, "the layer unpacking process did not keep the blob");
                *err = why;
                return vs_error_wrap(err, "cannot receive layer %s", st->want ? st->want : "");
        }
        if (vs_blob_writer_finish_kept(st->w, st->want, blob, blob_size, err) < 0) {
                vs_error_free(&why);
                return -1;
        }
        vs_blob_writer_free(st->w);
        st->w = NULL;
        st->digest = steal_ptr(blob);
        st->total = blob_size;
        if (r < 0)
                vs_txn_note_unpacked(st->t, st->digest, NULL, NULL, 0, &why);
        else
                vs_txn_note_unpacked(st->t, st->digest, st->layer_tmp, diff_id, unpacked, NULL);
        return 0;
}

int vs_stage_finish_blob(struct vs_stage *st, const char *expected, char **digest, int64_t *size,
                         vs_error **err)
{
        if (!st->decided) {
                st->decided = true;
                if (vs_looks_like_layer(st->probe, st->probe_len)) {
                        if (start_job(st, NULL, err) < 0)
                                return -1;
                        vs_unpack_job_feed(st->job, st->probe, st->probe_len);
                }
        }
        if (st->mode == VS_STAGE_LAYER && st->job == NULL && st->layer_tmp == NULL &&
            start_job(st, st->media_type, err) < 0)
                return -1;
        show_progress(st, true);
        if (st->kept_by_job) {
                /* The blob is checked when the job ends (it hashes it). */
                if (!st->input_ended) {
                        st->input_ended = true;
                        free(st->want);
                        st->want = expected ? xstrdup(expected) : NULL;
                        vs_unpack_job_end_input(st->job);
                }
                if (digest == NULL && size == NULL)
                        return 0;
                if (complete_kept(st, err) < 0)
                        return -1;
                if (digest)
                        *digest = xstrdup(st->digest);
                if (size)
                        *size = st->total;
                return 0;
        }
        free(st->digest);
        st->digest = NULL;
        if (vs_blob_writer_finish(st->w, expected, &st->digest, size, err) < 0)
                return -1;
        vs_blob_writer_free(st->w);
        st->w = NULL;
        if (st->job)
                vs_unpack_job_end_input(st->job);
        if (digest)
                *digest = xstrdup(st->digest);
        return 0;
}

int vs_stage_wait_unpack(struct vs_stage *st, vs_error **err)
{
        if (st->kept_by_job)
                return st->input_ended ? complete_kept(st, err) : 0;
        if (st->job == NULL || st->digest == NULL)
                return 0;
        _cleanup_free_ char *diff_id = NULL;
        int64_t unpacked = 0;
        vs_error *why = NULL;
        struct vs_unpack_job *job = steal_ptr(st->job);
        if (vs_unpack_job_finish(job, &diff_id, &unpacked, NULL, NULL, &why) < 0)
                vs_txn_note_unpacked(st->t, st->digest, NULL, NULL, 0, &why);
        else
                vs_txn_note_unpacked(st->t, st->digest, st->layer_tmp, diff_id, unpacked, NULL);
        return 0;
}

int vs_stage_finish(struct vs_stage *st, const char *expected, char **digest, int64_t *size,
                    vs_error **err)
{
        if (vs_stage_finish_blob(st, expected, digest, size, err) < 0)
                return -1;
        return vs_stage_wait_unpack(st, err);
}

void vs_stage_free(struct vs_stage *st)
{
        if (st == NULL)
                return;
        if (st->progress)
                vs_progress_end();
        vs_unpack_job_abort(st->job);
        vs_blob_writer_free(st->w);
        free(st->layer_tmp);
        free(st->progress);
        free(st->digest);
        free(st->want);
        free(st);
}

int vs_stage_fd(struct vs_txn *t, int fd, enum vs_stage_mode mode, const char *media_type,
                const char *expected, const char *progress, char **digest, int64_t *size,
                vs_error **err)
{
        struct vs_stage *st;
        if (vs_stage_open(t, mode, media_type, &st, err) < 0)
                return -1;
        struct stat sb;
        vs_stage_set_progress(st, progress,
                              fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? sb.st_size : 0);
        _cleanup_free_ char *buf = xmalloc(CHUNK);
        int ret = -1;
        for (;;) {
                ssize_t n = read(fd, buf, CHUNK);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        vs_fail_errno(err, "read failed");
                        goto out;
                }
                if (n == 0)
                        break;
                if (vs_stage_write(st, buf, (size_t) n, err) < 0)
                        goto out;
        }
        ret = vs_stage_finish(st, expected, digest, size, err);
out:
        vs_stage_free(st);
        return ret;
}

/* ------------------------------------------------------------------ */
/* manifests from any source */

static bool platform_matches(const char *p)
{
        char want[64];
        const char *variant = vs_platform_variant();
        snprintf(want, sizeof(want), "linux/%s", vs_platform_arch());
        size_t n = strlen(want);
        if (strncmp(p, want, n) != 0)
                return false;
        if (p[n] == '\0')
                return true;
        return p[n] == '/' && (*variant == '\0' || strcmp(p + n + 1, variant) == 0);
}

static int choose_platform(const struct vs_manifest *index, const char *what, size_t *chosen,
                           vs_error **err)
{
        for (size_t i = 0; i < index->n_layers; i++)
                if (platform_matches(index->platforms[i])) {
                        *chosen = i;
                        return 0;
                }
        if (index->n_layers == 1 && index->platforms[0][0] == '\0') {
                *chosen = 0;
                return 0;
        }
        _cleanup_free_ char *have = xstrdup("");
        for (size_t i = 0; i < index->n_layers; i++) {
                char *n = xasprintf("%s%s%s", have, i ? ", " : "",
                                    index->platforms[i][0] ? index->platforms[i] : "(none)");
                free(have);
                have = n;
        }
        return vs_fail(err, "%s has no image for linux/%s (it has: %s)", what, vs_platform_arch(),
                       index->n_layers ? have : "nothing");
}

static int import_at(struct vs_txn *t, struct vs_import_source *src, const struct vs_descriptor *d,
                     char *const *names, char **id, int depth, vs_error **err)
{
        if (depth > 4)
                return vs_fail(err, "%s: indexes nested too deep at %s", src->what, d->digest);
        if (src->fetch(src, t, d, false, err) < 0)
                return -1;
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ char *what = xasprintf("manifest %s", d->digest);
        if (vs_txn_read_blob(t, d->digest, d->size, &text, NULL, err) < 0)
                return -1;
        struct vs_manifest m;
        if (vs_manifest_parse(text, what, &m, err) < 0)
                return -1;
        int ret = -1;
        if (m.is_index) {
                size_t i = 0;
                if (choose_platform(&m, what, &i, err) == 0)
                        ret = import_at(t, src, &m.layers[i], names, id, depth + 1, err);
                goto out;
        }
        if (src->fetch(src, t, &m.config, false, err) < 0)
                goto out;
        for (size_t i = 0; i < m.n_layers; i++)
                if (src->fetch(src, t, &m.layers[i], true, err) < 0)
                        goto out;
        ret = vs_txn_add_image(t, d->digest, names, id, err);
out:
        vs_manifest_clear(&m);
        return ret;
}

int vs_import_manifest(struct vs_txn *t, struct vs_import_source *src,
                       const struct vs_descriptor *d, char *const *names, char **id, vs_error **err)
{
        if (import_at(t, src, d, names, id, 0, err) < 0)
                return vs_error_wrap(err, "%s", src->what);
        return 0;
}

static const char *annotation(json_object *descriptor, const char *key)
{
        json_object *ann = NULL, *v = NULL;
        if (!json_object_object_get_ex(descriptor, "annotations", &ann) ||
            !json_object_object_get_ex(ann, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

char *vs_ref_from_annotations(json_object *descriptor, const char *repo_hint)
{
        const char *full = annotation(descriptor, "io.containerd.image.name");
        const char *ref = annotation(descriptor, VS_ANNOTATION_REF_NAME);
        char *out = NULL;
        _cleanup_error_ vs_error *e = NULL;
        if (full && vs_ref_normalize(full, &out, &e) == 0)
                return out;
        vs_error_free(&e);
        if (ref == NULL || *ref == '\0')
                return NULL;
        if (strchr(ref, '/') || strchr(ref, ':')) {
                if (vs_ref_normalize(ref, &out, &e) == 0)
                        return out;
                return NULL;
        }
        /* A bare tag ("latest", "v1"): the layout's own name for it. */
        if (repo_hint == NULL)
                return NULL;
        _cleanup_free_ char *joined = xasprintf("%s:%s", repo_hint, ref);
        if (vs_ref_normalize(joined, &out, &e) == 0)
                return out;
        return NULL;
}
