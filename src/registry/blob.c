/* A layer blob downloaded by the process that unpacks it (see client.h):
 * curl's write callback copies what arrives into one buffer, which the
 * unpack's reader (vs_layer_unpack_keeping) hashes, writes to the blob file
 * and inflates in the same thread. No other process or thread handles the
 * bytes on their way: the parent only starts the job and hears its reports.
 *
 * The transfer resumes with a Range request when the connection ends
 * early, and asks for a fresh token on 401, as the registry client does for
 * its other requests. */
#include "registry/client.h"
#include "image/layer.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The reader is given the buffer once it holds this much (or the transfer
 * paused or ended): fewer, larger writes and inflate calls. */
#define BLOB_CHUNK (1 << 20)
/* curl's receive buffer (CURLOPT_BUFFERSIZE; at most 10 MiB since 7.88). */
#define RECV_BUFFER     (1 << 20)
#define REPORT_EVERY    (4 << 20)
#define RESUME_ATTEMPTS 5
#define ERROR_BODY_MAX  (64 << 10)

struct vs_reg_blob_input {
        struct vs_layer_input in;
        struct vs_reg_client *c;
        char *digest;
        int64_t size;
        int report_fd;
        CURLM *multi;
        CURL *h;
        struct curl_slist *headers;
        char *buf;
        size_t fill, cap;
        bool paused;  /* the buffer was full: curl holds the rest */
        bool running; /* the transfer is in the multi handle */
        bool ended;   /* ... and ended, with rc, not yet looked at */
        bool done;    /* every byte received */
        CURLcode rc;
        int64_t fed, pos, reported;
        bool started; /* a byte of this attempt seen */
        int attempts;
        char *error_body;
        size_t error_len;
        char *failure; /* why this input fails, once it does */
};

static void report(struct vs_reg_blob_input *b, const char *fmt, ...)
{
        if (b->report_fd < 0)
                return;
        char line[1024];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t) n > sizeof(line) - 2)
                n = (int) sizeof(line) - 2;
        line[n++] = '\n';
        for (const char *p = line; n > 0;) {
                /* The parent may be gone: no SIGPIPE. */
                ssize_t w = send(b->report_fd, p, (size_t) n, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return;
                p += w;
                n -= (int) w;
        }
}

static void fail(struct vs_reg_blob_input *b, const char *fmt, ...)
{
        if (b->failure)
                return;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&b->failure, fmt, ap) < 0)
                b->failure = xstrdup("the download failed");
        va_end(ap);
        for (char *p = b->failure; *p; p++)
                if (*p == '\n')
                        *p = ' ';
        report(b, "E%s", b->failure);
}

static size_t on_bytes(char *ptr, size_t size, size_t nmemb, void *arg)
{
        struct vs_reg_blob_input *b = arg;
        size_t n = size * nmemb;
        long status = 0;
        curl_easy_getinfo(b->h, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 300) {
                size_t room = ERROR_BODY_MAX - b->error_len;
                size_t take = n < room ? n : room;
                b->error_body = xrealloc(b->error_body, b->error_len + take + 1);
                memcpy(b->error_body + b->error_len, ptr, take);
                b->error_len += take;
                b->error_body[b->error_len] = '\0';
                return n;
        }
        /* No room: curl keeps these bytes and gives them again once the
         * reader took the buffer (curl_easy_pause). */
        if (b->fill > 0 && b->fill + n > b->cap) {
                b->paused = true;
                return CURL_WRITEFUNC_PAUSE;
        }
        if (b->fill + n > b->cap) {
                b->cap = n;
                b->buf = xrealloc(b->buf, b->cap);
        }
        if (!b->started) {
                b->started = true;
                /* 206: the range asked for; 200: from the start again. */
                b->pos = status == 206 ? b->fed : 0;
        }
        const char *p = ptr;
        size_t left = n;
        if (b->pos < b->fed) {
                int64_t skip = b->fed - b->pos;
                size_t s = (int64_t) left < skip ? left : (size_t) skip;
                p += s;
                left -= s;
                b->pos += (int64_t) s;
        }
        if (left == 0)
                return n;
        if (b->fed + (int64_t) left > b->size) {
                fail(b, "layer %s: the registry sent more than its %lld bytes", b->digest,
                     (long long) b->size);
                return 0;
        }
        memcpy(b->buf + b->fill, p, left);
        b->fill += left;
        b->fed += (int64_t) left;
        b->pos += (int64_t) left;
        if (b->fed - b->reported >= REPORT_EVERY) {
                b->reported = b->fed;
                report(b, "P%lld", (long long) b->fed);
        }
        return n;
}

static int start(struct vs_reg_blob_input *b)
{
        if (b->h == NULL)
                b->h = curl_easy_init();
        else
                curl_easy_reset(b->h);
        if (b->h == NULL) {
                fail(b, "cannot initialise libcurl");
                return -1;
        }
        curl_slist_free_all(b->headers);
        b->headers = NULL;
        free(b->error_body);
        b->error_body = NULL;
        b->error_len = 0;
        b->started = false;
        char *path = xasprintf("/v2/%s/blobs/%s", b->c->path, b->digest);
        char *url = vs_reg_url(b->c, path);
        b->headers = vs_reg_setup(b->c, b->h, url, NULL);
        free(url);
        free(path);
        /* Fewer, larger reads from the socket. */
        curl_easy_setopt(b->h, CURLOPT_BUFFERSIZE, (long) RECV_BUFFER);
        curl_easy_setopt(b->h, CURLOPT_WRITEFUNCTION, on_bytes);
        curl_easy_setopt(b->h, CURLOPT_WRITEDATA, b);
        if (b->fed > 0) {
                char range[64];
                snprintf(range, sizeof(range), "%lld-", (long long) b->fed);
                curl_easy_setopt(b->h, CURLOPT_RANGE, range);
        }
        if (curl_multi_add_handle(b->multi, b->h) != CURLM_OK) {
                fail(b, "cannot start the download of %s", b->digest);
                return -1;
        }
        b->running = true;
        return 0;
}

/* The transfer ended: complete (1), started again (0: a resume, or a fresh
 * token), or failed (-1). */
static int transfer_ended(struct vs_reg_blob_input *b)
{
        curl_multi_remove_handle(b->multi, b->h);
        b->running = false;
        if (b->failure)
                return -1;
        long status = 0;
        curl_easy_getinfo(b->h, CURLINFO_RESPONSE_CODE, &status);
        if (b->rc == CURLE_OK && status == 401 && b->attempts++ < RESUME_ATTEMPTS) {
                vs_error *e = NULL;
                if (vs_reg_reauth(b->c, &e) < 0) {
                        fail(b, "%s", e && e->msg ? e->msg : "cannot authenticate");
                        vs_error_free(&e);
                        return -1;
                }
                return start(b);
        }
        if (b->rc == CURLE_OK && status >= 300) {
                struct vs_reg_response r = {.status = status, .body = b->error_body};
                char *why = vs_reg_error_text(&r);
                fail(b, "layer %s: %s", b->digest, why);
                free(why);
                return -1;
        }
        if (b->fed < b->size) {
                /* Cut short: ask for the rest. */
                if (b->attempts++ >= RESUME_ATTEMPTS) {
                        fail(b, "layer %s: download failed after %d attempts: %s", b->digest,
                             RESUME_ATTEMPTS,
                             b->rc != CURLE_OK ? curl_easy_strerror(b->rc)
                                               : "the connection ended early");
                        return -1;
                }
                report(b, "R%lld", (long long) b->fed);
                return start(b);
        }
        return 1;
}

/* In the job's process, on the first read. */
static int setup(struct vs_reg_blob_input *b)
{
        /* The parent's handle, and the connection it holds, stay the
         * parent's: a fresh one for the token requests made here. */
        b->c->easy = curl_easy_init();
        b->multi = curl_multi_init();
        if (b->c->easy == NULL || b->multi == NULL) {
                fail(b, "cannot initialise libcurl");
                return -1;
        }
        b->cap = BLOB_CHUNK + RECV_BUFFER;
        b->buf = xmalloc(b->cap);
        return start(b);
}

static ssize_t blob_next(struct vs_layer_input *in, const void **buf)
{
        struct vs_reg_blob_input *b = (struct vs_reg_blob_input *) in;
        if (b->multi == NULL && b->failure == NULL && setup(b) < 0) {
                errno = EIO;
                return -1;
        }
        b->fill = 0; /* the reader is done with the last buffer */
        for (;;) {
                if (b->failure) {
                        errno = EIO;
                        return -1;
                }
                if (b->done)
                        return 0;
                if (b->paused && b->fill == 0) {
                        b->paused = false;
                        curl_easy_pause(b->h, CURLPAUSE_CONT);
                        continue;
                }
                if (b->fill >= BLOB_CHUNK || (b->fill > 0 && (b->paused || b->ended))) {
                        *buf = b->buf;
                        return (ssize_t) b->fill;
                }
                if (b->ended) {
                        b->ended = false;
                        int r = transfer_ended(b);
                        if (r > 0) {
                                b->done = true;
                                report(b, "D");
                        }
                        continue;
                }
                int running = 0;
                curl_multi_perform(b->multi, &running);
                CURLMsg *msg;
                int queued;
                while ((msg = curl_multi_info_read(b->multi, &queued)) != NULL) {
                        if (msg->msg == CURLMSG_DONE) {
                                b->ended = true;
                                b->rc = msg->data.result;
                        }
                }
                if (!b->ended && !b->paused && b->fill < BLOB_CHUNK && b->failure == NULL)
                        curl_multi_poll(b->multi, NULL, 0, 1000, NULL);
        }
}

struct vs_reg_blob_input *vs_reg_blob_input_new(struct vs_reg_client *c, const char *digest,
                                                int64_t size, int report_fd)
{
        struct vs_reg_blob_input *b = xzalloc(sizeof(*b));
        b->in.next = blob_next;
        b->c = c;
        b->digest = xstrdup(digest);
        b->size = size;
        b->report_fd = report_fd;
        return b;
}

struct vs_layer_input *vs_reg_blob_input_base(struct vs_reg_blob_input *b)
{
        return &b->in;
}

void vs_reg_blob_input_free(struct vs_reg_blob_input *b)
{
        if (b == NULL)
                return;
        /* Only the job's process ever used curl through it. */
        free(b->digest);
        free(b->buf);
        free(b->error_body);
        free(b->failure);
        free(b);
}
