/* The decompressed stream of a layer blob, produced by a helper thread.
 *
 * Reading the blob, decompressing it (libarchive's raw format with the
 * gzip/zstd/xz/bzip2 filters, sniffed from the magic bytes) and hashing the
 * result (the diff_id) run in a producer thread that fills a small ring of
 * buffers; the tar reader in the calling thread takes buffers from the
 * ring through its read callback and spends its time in the filesystem.
 * On two cores this overlaps sha256 and inflate with the unpack syscalls,
 * which is what keeps unpack close to plain `tar -x` (docs/layers.md). */
#include "image/layer.h"
#include "image/layer_internal.h"
#include "image/libs.h"
#include "util/xalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#define SLOT_SIZE  (1024 * 1024)
#define SLOT_COUNT 4
#define RAW_BLOCK  (1024 * 1024)

struct slot {
        char *buf;
        size_t len;
};

struct vs_layer_source {
        struct archive *raw;
        struct vs_layer_tee *tee;
        struct vs_sha256 md;
        pthread_t thread;
        bool started;

        pthread_mutex_t lock;
        pthread_cond_t filled, freed;
        struct slot slots[SLOT_COUNT];
        unsigned head, count; /* filled slots: head .. head+count-1 */
        bool holding;         /* the consumer still uses slots[head] */
        bool done, cancel;
        char *error; /* set by the producer, read after done */
        int error_errno;
};

/* Producer: fill one slot at a time, hash it, publish it. */
static void *produce(void *arg)
{
        struct vs_layer_source *s = arg;
        const char *pending = NULL;
        size_t pending_len = 0;
        bool eof = false;
        while (!eof) {
                pthread_mutex_lock(&s->lock);
                while (!s->cancel && s->count == SLOT_COUNT)
                        pthread_cond_wait(&s->freed, &s->lock);
                if (s->cancel) {
                        pthread_mutex_unlock(&s->lock);
                        break;
                }
                struct slot *slot = &s->slots[(s->head + s->count) % SLOT_COUNT];
                pthread_mutex_unlock(&s->lock);

                slot->len = 0;
                char *failure = NULL;
                int failure_errno = 0;
                while (slot->len < SLOT_SIZE) {
                        if (pending_len == 0) {
                                const void *p;
                                size_t n;
                                la_int64_t off;
                                int r = archive_read_data_block(s->raw, &p, &n, &off);
                                if (r == ARCHIVE_EOF) {
                                        eof = true;
                                        break;
                                }
                                if (r < ARCHIVE_WARN) {
                                        const char *m = archive_error_string(s->raw);
                                        failure = xstrdup(m ? m : "read error");
                                        failure_errno = archive_errno(s->raw);
                                        eof = true;
                                        break;
                                }
                                pending = p;
                                pending_len = n;
                        }
                        size_t take = SLOT_SIZE - slot->len;
                        if (take > pending_len)
                                take = pending_len;
                        memcpy(slot->buf + slot->len, pending, take);
                        slot->len += take;
                        pending += take;
                        pending_len -= take;
                }
                vs_sha256_update(&s->md, slot->buf, slot->len);

                pthread_mutex_lock(&s->lock);
                if (slot->len > 0)
                        s->count++;
                if (eof) {
                        s->done = true;
                        s->error = failure;
                        s->error_errno = failure_errno;
                }
                pthread_cond_signal(&s->filled);
                pthread_mutex_unlock(&s->lock);
        }
        pthread_mutex_lock(&s->lock);
        s->done = true;
        pthread_cond_signal(&s->filled);
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

/* Start writeback of a kept blob every so many bytes, so that the syncfs
 * at commit has little left to wait for (as the store's blob writer). */
#define TEE_WRITEBACK (8 << 20)

ssize_t vs_layer_tee_next(struct vs_layer_tee *tee, const void **buf)
{
        if (tee->read_errno || tee->write_errno) {
                errno = tee->read_errno ? tee->read_errno : tee->write_errno;
                return -1;
        }
        ssize_t n = tee->in->next(tee->in, buf);
        if (n < 0) {
                tee->read_errno = errno ? errno : EIO;
                return -1;
        }
        if (tee->fd < 0)
                return n;
        if (n > 0)
                vs_sha256_update(&tee->md, *buf, (size_t) n);
        if ((n > 0 ? vs_dio_write(&tee->dio, *buf, (size_t) n) : vs_dio_finish(&tee->dio)) < 0) {
                tee->write_errno = errno ? errno : EIO;
                errno = tee->write_errno;
                return -1;
        }
        tee->size += n;
        /* ... and the tail at the end of the input (what went directly
         * to the device has no pages to write back) */
        if (!tee->dio.direct &&
            (tee->size - tee->kicked >= TEE_WRITEBACK || (n == 0 && tee->size > tee->kicked))) {
                sync_file_range(tee->fd, tee->kicked, tee->size - tee->kicked,
                                SYNC_FILE_RANGE_WRITE);
                tee->kicked = tee->size;
        }
        return n;
}

static la_ssize_t tee_read(struct archive *a, void *arg, const void **buf)
{
        struct vs_layer_source *s = arg;
        ssize_t n = vs_layer_tee_next(s->tee, buf);
        if (n < 0) {
                archive_set_error(a, errno, "%s",
                                  s->tee->write_errno ? "cannot write the layer blob"
                                                      : "cannot read the layer");
                return -1;
        }
        return n;
}

int vs_layer_source_open(int blob_fd, struct vs_layer_tee *tee, struct vs_layer_source **out,
                         vs_error **err)
{
        struct vs_layer_source *s = xzalloc(sizeof(*s));
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->filled, NULL);
        pthread_cond_init(&s->freed, NULL);
        vs_sha256_init(&s->md);
        s->raw = archive_read_new();
        if (s->raw == NULL)
                abort();
        for (int i = 0; i < SLOT_COUNT; i++)
                s->slots[i].buf = xmalloc(SLOT_SIZE);
        *out = s;

        /* Compression is sniffed from the magic bytes whatever the media
         * type says, as containerd and docker do. */
        archive_read_support_filter_gzip(s->raw);
        archive_read_support_filter_zstd(s->raw);
        archive_read_support_filter_xz(s->raw);
        archive_read_support_filter_bzip2(s->raw);
        archive_read_support_format_raw(s->raw);
        s->tee = tee;
        int opened;
        if (tee) {
                opened = archive_read_open(s->raw, s, NULL, tee_read, NULL);
        } else {
                opened = archive_read_open_fd(s->raw, blob_fd, RAW_BLOCK);
        }
        if (opened != ARCHIVE_OK)
                return vs_fail(err, "cannot read layer blob: %s", archive_error_string(s->raw));
        struct archive_entry *e;
        int r = archive_read_next_header(s->raw, &e);
        if (r == ARCHIVE_EOF)
                return vs_fail(err, "layer blob is empty");
        if (r < ARCHIVE_WARN)
                return vs_fail(err, "cannot read layer blob: %s", archive_error_string(s->raw));
        int e_thread = pthread_create(&s->thread, NULL, produce, s);
        if (e_thread != 0)
                return vs_error_set(err, e_thread, "cannot start layer reader thread");
        s->started = true;
        return 0;
}

la_ssize_t vs_layer_source_read(struct archive *a, void *arg, const void **buf)
{
        struct vs_layer_source *s = arg;
        pthread_mutex_lock(&s->lock);
        if (s->holding) {
                s->head = (s->head + 1) % SLOT_COUNT;
                s->count--;
                s->holding = false;
                pthread_cond_signal(&s->freed);
        }
        while (s->count == 0 && !s->done)
                pthread_cond_wait(&s->filled, &s->lock);
        if (s->count == 0) {
                bool failed = s->error != NULL;
                pthread_mutex_unlock(&s->lock);
                if (!failed)
                        return 0;
                if (a)
                        archive_set_error(a, s->error_errno ? s->error_errno : EIO, "%s", s->error);
                return -1;
        }
        struct slot *slot = &s->slots[s->head];
        s->holding = true;
        pthread_mutex_unlock(&s->lock);
        *buf = slot->buf;
        return (la_ssize_t) slot->len;
}

int vs_layer_source_finish(struct vs_layer_source *s, char **diff_id, vs_error **err)
{
        /* hash whatever follows the end-of-archive marker too: the digest
         * covers the whole stream, and a corrupt tail is noticed */
        const void *buf;
        la_ssize_t n;
        while ((n = vs_layer_source_read(NULL, s, &buf)) > 0)
                ;
        pthread_join(s->thread, NULL);
        s->started = false;
        if (n < 0)
                return vs_error_set(err, 0, "cannot read layer: %s", s->error);
        *diff_id = vs_layer_digest_final(&s->md);
        return 0;
}

void vs_layer_source_free(struct vs_layer_source *s)
{
        if (s == NULL)
                return;
        if (s->started) {
                pthread_mutex_lock(&s->lock);
                s->cancel = true;
                pthread_cond_signal(&s->freed);
                pthread_mutex_unlock(&s->lock);
                pthread_join(s->thread, NULL);
        }
        archive_read_free(s->raw);
        vs_sha256_abort(&s->md);
        for (int i = 0; i < SLOT_COUNT; i++)
                free(s->slots[i].buf);
        free(s->error);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->filled);
        pthread_cond_destroy(&s->freed);
        free(s);
}
