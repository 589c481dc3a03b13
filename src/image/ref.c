/* Digests and image references. Whole small buffers (manifests, configs:
 * what looking an image up on the start path verifies) are hashed with
 * libmd, which is small and linked, so that starting a container never
 * loads libcrypto (docs/design.md). Streams go through struct vs_sha256:
 * libmd at the end for one within VS_SHA256_SMALL bytes, OpenSSL's EVP
 * (SHA extensions; loaded on first use, see image/libs.h) past that or
 * once libcrypto is loaded anyway. */
#include "image/libs.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <sha2.h>
#include <stdlib.h>
#include <string.h>

static void start_evp(struct vs_sha256 *h)
{
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
                abort();
        h->ctx = ctx;
        if (h->len > 0 && EVP_DigestUpdate(ctx, h->buf, h->len) != 1)
                abort();
        free(h->buf);
        h->buf = NULL;
        h->len = h->cap = 0;
}

void vs_sha256_init(struct vs_sha256 *h)
{
        *h = (struct vs_sha256){0};
        if (__atomic_load_n(&vs_libcrypto_lib.loaded, __ATOMIC_ACQUIRE))
                start_evp(h);
}

void vs_sha256_update(struct vs_sha256 *h, const void *data, size_t len)
{
        if (len == 0)
                return;
        if (h->ctx == NULL && h->len + len > VS_SHA256_SMALL)
                start_evp(h);
        if (h->ctx) {
                if (EVP_DigestUpdate(h->ctx, data, len) != 1)
                        abort();
                return;
        }
        if (h->len + len > h->cap) {
                h->cap = h->len + len > 2 * h->cap ? h->len + len : 2 * h->cap;
                h->buf = xrealloc(h->buf, h->cap);
        }
        memcpy(h->buf + h->len, data, len);
        h->len += len;
}

void vs_sha256_final(struct vs_sha256 *h, char out[VS_DIGEST_LEN + 1])
{
        if (h->ctx == NULL) {
                memcpy(out, "sha256:", 7);
                if (SHA256Data(h->buf ? h->buf : (const unsigned char *) "", h->len, out + 7) ==
                    NULL)
                        abort();
                out[VS_DIGEST_LEN] = '\0';
                vs_sha256_abort(h);
                return;
        }
        unsigned char md[32];
        unsigned int n = 0;
        if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != sizeof(md))
                abort();
        static const char hex[] = "0123456789abcdef";
        memcpy(out, "sha256:", 7);
        for (size_t i = 0; i < sizeof(md); i++) {
                out[7 + 2 * i] = hex[md[i] >> 4];
                out[8 + 2 * i] = hex[md[i] & 15];
        }
        out[VS_DIGEST_LEN] = '\0';
        vs_sha256_abort(h);
}

void vs_sha256_abort(struct vs_sha256 *h)
{
        if (h->ctx)
                EVP_MD_CTX_free(h->ctx);
        h->ctx = NULL;
        free(h->buf);
        h->buf = NULL;
        h->len = h->cap = 0;
}

char *vs_digest_buffer(const void *data, size_t len)
{
        char out[VS_DIGEST_LEN + 1] = "sha256:";
        _Static_assert(sizeof(out) - 7 == SHA256_DIGEST_STRING_LENGTH, "sha256 hex length");
        if (SHA256Data(data, len, out + 7) == NULL)
                abort();
        return xstrdup(out);
}

static bool is_lower_hex(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!isdigit((unsigned char) s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
                        return false;
        return true;
}

bool vs_digest_valid(const char *digest)
{
        return digest && strncmp(digest, "sha256:", 7) == 0 && strlen(digest) == VS_DIGEST_LEN &&
               is_lower_hex(digest + 7, 64);
}

int vs_digest_check(const char *digest, const char *what, vs_error **err)
{
        if (digest == NULL)
                return vs_fail(err, "%s: missing digest", what);
        if (vs_digest_valid(digest))
                return 0;
        const char *colon = strchr(digest, ':');
        if (colon && strncmp(digest, "sha256:", 7) != 0)
                return vs_fail(err, "%s: unsupported digest algorithm in '%s' (only sha256)", what,
                               digest);
        return vs_fail(err, "%s: invalid digest '%s' (expected sha256: and 64 hex digits)", what,
                       digest);
}

const char *vs_digest_hex(const char *digest)
{
        return strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest;
}

bool vs_ref_is_id_prefix(const char *ref, const char **hex)
{
        const char *h = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : ref;
        size_t n = strlen(h);
        if (n < 4 || n > 64 || !is_lower_hex(h, n))
                return false;
        if (hex)
                *hex = h;
        return true;
}

/* [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */
static bool valid_tag(const char *t)
{
        size_t n = strlen(t);
        if (n == 0 || n > 128 || !(isalnum((unsigned char) t[0]) || t[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!(isalnum((unsigned char) t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
                        return false;
        return true;
}

/* A path component: [a-z0-9]+ joined by '.', '_', '__' or runs of '-'. */
static bool valid_component(const char *c, size_t n, bool *uppercase)
{
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (isupper((unsigned char) c[i]))
                        *uppercase = true;
        if (*uppercase)
                return false;
        if (!isalnum((unsigned char) c[0]) || !isalnum((unsigned char) c[n - 1]))
                return false;
        for (size_t i = 0; i < n;) {
                if (isalnum((unsigned char) c[i])) {
                        i++;
                        continue;
                }
                size_t j = i;
                while (j < n && !isalnum((unsigned char) c[j]))
                        j++;
                size_t run = j - i;
                bool ok = (run == 1 && (c[i] == '.' || c[i] == '_' || c[i] == '-')) ||
                          (run == 2 && c[i] == '_' && c[i + 1] == '_');
                if (!ok) {
                        ok = true;
                        for (size_t k = i; k < j; k++)
                                ok = ok && c[k] == '-';
                }
                if (!ok)
                        return false;
                i = j;
        }
        return true;
}

/* host[:port], host being dot-separated labels of letters, digits, '-'. */
static bool valid_domain(const char *d, size_t n)
{
        const char *colon = memchr(d, ':', n);
        size_t host = colon ? (size_t) (colon - d) : n;
        if (host == 0)
                return false;
        for (size_t i = 0; i < host; i++)
                if (!(isalnum((unsigned char) d[i]) || d[i] == '.' || d[i] == '-'))
                        return false;
        if (d[0] == '.' || d[0] == '-' || d[host - 1] == '.' || d[host - 1] == '-')
                return false;
        if (colon) {
                if (host + 1 == n)
                        return false;
                for (size_t i = host + 1; i < n; i++)
                        if (!isdigit((unsigned char) d[i]))
                                return false;
        }
        return true;
}

int vs_ref_normalize(const char *ref, char **out, vs_error **err)
{
        if (ref == NULL || *ref == '\0')
                return vs_fail(err, "invalid image name '': empty");
        if (strchr(ref, '@'))
                return vs_fail(err,
                               "invalid image name '%s': digest references (NAME@sha256:...) "
                               "cannot name an image here; use NAME[:TAG]",
                               ref);
        if (strlen(ref) > 255 + 1 + 128)
                return vs_fail(err, "invalid image name '%s': too long", ref);
        _cleanup_free_ char *name = xstrdup(ref);
        const char *tag = "latest";
        char *slash = strrchr(name, '/');
        char *colon = strrchr(slash ? slash : name, ':');
        if (colon) {
                *colon = '\0';
                tag = colon + 1;
                if (!valid_tag(tag))
                        return vs_fail(err,
                                       "invalid image name '%s': bad tag '%s' (letters, digits, "
                                       "'_', '.', '-'; at most 128)",
                                       ref, tag);
        }
        /* Components: the first is a registry when it looks like one. */
        const char *path = name;
        const char *first_slash = strchr(name, '/');
        bool has_domain = false;
        if (first_slash) {
                size_t n = (size_t) (first_slash - name);
                if (memchr(name, '.', n) || memchr(name, ':', n) ||
                    (n == 9 && strncmp(name, "localhost", 9) == 0)) {
                        if (!valid_domain(name, n))
                                return vs_fail(err, "invalid image name '%s': bad registry '%.*s'",
                                               ref, (int) n, name);
                        has_domain = true;
                        path = first_slash + 1;
                }
        }
        bool uppercase = false;
        for (const char *c = path;;) {
                const char *end = strchrnul(c, '/');
                if (!valid_component(c, (size_t) (end - c), &uppercase)) {
                        if (uppercase)
                                return vs_fail(err,
                                               "invalid image name '%s': repository name must be "
                                               "lowercase",
                                               ref);
                        return vs_fail(err,
                                       "invalid image name '%s': bad component '%.*s' (lowercase "
                                       "letters and digits, separated by '.', '_', '__' or '-')",
                                       ref, (int) (end - c), c);
                }
                if (*end == '\0')
                        break;
                c = end + 1;
        }
        if (strlen(name) > 255)
                return vs_fail(err, "invalid image name '%s': name longer than 255 characters",
                               ref);
        const char *shown = name;
        if (has_domain &&
            (strncmp(name, "docker.io/", 10) == 0 || strncmp(name, "index.docker.io/", 16) == 0)) {
                shown = strchr(name, '/') + 1;
                if (strncmp(shown, "library/", 8) == 0 && strchr(shown + 8, '/') == NULL)
                        shown += 8;
        }
        *out = xasprintf("%s:%s", shown, tag);
        return 0;
}

int vs_ref_normalize_any(const char *ref, char **out, vs_error **err)
{
        const char *at = ref ? strchr(ref, '@') : NULL;
        if (at == NULL)
                return vs_ref_normalize(ref, out, err);
        if (vs_digest_check(at + 1, "invalid image name", err) < 0)
                return vs_error_wrap(err, "%s", ref);
        _cleanup_free_ char *name = xstrndup(ref, (size_t) (at - ref));
        _cleanup_free_ char *canonical = NULL;
        if (vs_ref_normalize(name, &canonical, err) < 0)
                return -1;
        *strrchr(canonical, ':') = '\0'; /* the tag vs_ref_normalize added or kept */
        *out = xasprintf("%s%s", canonical, at);
        return 0;
}

void vs_ref_split(const char *name_tag, char **repo, char **tag)
{
        const char *at = strchr(name_tag, '@');
        if (at) {
                *repo = xstrndup(name_tag, (size_t) (at - name_tag));
                *tag = xstrdup("<none>");
                return;
        }
        const char *slash = strrchr(name_tag, '/');
        const char *colon = strrchr(slash ? slash : name_tag, ':');
        if (colon == NULL) {
                *repo = xstrdup(name_tag);
                *tag = xstrdup("latest");
                return;
        }
        *repo = xstrndup(name_tag, (size_t) (colon - name_tag));
        *tag = xstrdup(colon + 1);
}
