/* ADD <url>: an HTTP(S) download through libcurl, loaded with dlopen() on
 * first use (src/util/dynlib.h) so that vessel does not link it: the only
 * HTTP use of src/build. The body goes to a file while its sha256 is
 * computed; --checksum=sha256:<hex> must match. */
#include "build/internal.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/dynlib.h"
#include "util/fs.h"
#include "util/xalloc.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct curl_table {
        __typeof__(curl_easy_init) *easy_init;
        __typeof__(curl_easy_setopt) *easy_setopt;
        __typeof__(curl_easy_perform) *easy_perform;
        __typeof__(curl_easy_cleanup) *easy_cleanup;
        __typeof__(curl_easy_strerror) *easy_strerror;
        __typeof__(curl_easy_getinfo) *easy_getinfo;
};

static const char *const curl_names[] = {
    "curl_easy_init",
    "curl_easy_setopt",
    "curl_easy_perform",
    "curl_easy_cleanup",
    "curl_easy_strerror",
    "curl_easy_getinfo",
    NULL,
};
static struct curl_table curl_fns;
_Static_assert(sizeof(curl_fns) ==
                   (sizeof(curl_names) / sizeof(curl_names[0]) - 1) * sizeof(void *),
               "one pointer per libcurl function");

static struct vs_dynlib curl_lib = {
    .soname = "libcurl.so.4",
    .package = "libcurl4",
    .names = curl_names,
    .table = &curl_fns,
};

struct sink {
        int fd;
        struct vs_sha256 h;
        int64_t size;
        bool failed;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
        struct sink *s = arg;
        size_t len = size * n;
        if (vs_write_all(s->fd, p, len) < 0) {
                s->failed = true;
                return 0;
        }
        vs_sha256_update(&s->h, p, len);
        s->size += (int64_t) len;
        return len;
}

int fetch_url(const char *url, int out_fd, char digest[VS_DIGEST_LEN + 1], vs_error **err)
{
        if (vs_dynlib_load(&curl_lib, err) < 0)
                return -1;
        const struct curl_table *c = &curl_fns;
        CURL *h = c->easy_init();
        if (h == NULL)
                return vs_fail(err, "%s: cannot start libcurl", url);
        struct sink s = {.fd = out_fd};
        vs_sha256_init(&s.h);
        char errbuf[CURL_ERROR_SIZE] = "";
        c->easy_setopt(h, CURLOPT_URL, url);
        c->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        c->easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        c->easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        c->easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
        c->easy_setopt(h, CURLOPT_FAILONERROR, 1L);
        c->easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
        c->easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        c->easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
        c->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        c->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        c->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        c->easy_setopt(h, CURLOPT_WRITEDATA, &s);
        CURLcode rc = c->easy_perform(h);
        c->easy_cleanup(h);
        if (rc != CURLE_OK || s.failed) {
                vs_sha256_abort(&s.h);
                if (s.failed)
                        return vs_fail_errno(err, "%s: cannot write the download", url);
                return vs_fail(err, "%s: %s", url, errbuf[0] ? errbuf : c->easy_strerror(rc));
        }
        vs_sha256_final(&s.h, digest);
        return 0;
}
