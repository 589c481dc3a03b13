/* The registry client: choosing the endpoint and scheme, TLS settings,
 * requests, and authentication (Bearer tokens from the registry's
 * WWW-Authenticate challenge, or Basic). */
#include "registry/client.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CERTS_DIR_DEFAULT "/etc/docker/certs.d"
#define USER_AGENT        "vessel"
#define SYSTEM_CA_DIR     "/etc/ssl/certs"

void vs_reg_response_clear(struct vs_reg_response *r)
{
        free(r->body);
        free(r->content_type);
        free(r->docker_digest);
        free(r->location);
        free(r->www_authenticate);
        free(r->link);
        free(r->range);
        memset(r, 0, sizeof(*r));
}

char *vs_reg_url(const struct vs_reg_client *c, const char *path)
{
        if (strncmp(path, "https://", 8) == 0 || strncmp(path, "http://", 7) == 0)
                return xstrdup(path);
        return xasprintf("%s%s", c->base, path);
}

/* ------------------------------------------------------------------ */
/* which registries may be spoken to how */

static char *host_only(const char *hostport)
{
        if (hostport[0] == '[') {
                const char *end = strchr(hostport, ']');
                return end ? xstrndup(hostport + 1, (size_t) (end - hostport - 1))
                           : xstrdup(hostport);
        }
        const char *colon = strchr(hostport, ':');
        return colon ? xstrndup(hostport, (size_t) (colon - hostport)) : xstrdup(hostport);
}

static bool in_cidr(const char *host, const char *cidr)
{
        _cleanup_free_ char *net = xstrdup(cidr);
        char *slash = strchr(net, '/');
        if (slash == NULL)
                return false;
        *slash = '\0';
        int bits = atoi(slash + 1);
        unsigned char a[16], b[16];
        int family = strchr(net, ':') ? AF_INET6 : AF_INET;
        size_t len = family == AF_INET ? 4 : 16;
        if (inet_pton(family, net, b) != 1 || inet_pton(family, host, a) != 1 || bits < 0 ||
            (size_t) bits > len * 8)
                return false;
        for (int i = 0; i < bits; i++) {
                int byte = i / 8, bit = 7 - i % 8;
                if (((a[byte] >> bit) & 1) != ((b[byte] >> bit) & 1))
                        return false;
        }
        return true;
}

static bool is_loopback(const char *hostport)
{
        _cleanup_free_ char *h = host_only(hostport);
        return strcmp(h, "localhost") == 0 || in_cidr(h, "127.0.0.0/8") || strcmp(h, "::1") == 0;
}

static bool is_insecure(const char *hostport, char *const *insecure)
{
        _cleanup_free_ char *h = host_only(hostport);
        for (size_t i = 0; insecure && insecure[i]; i++) {
                const char *e = insecure[i];
                if (strcmp(e, hostport) == 0 || strcmp(e, h) == 0 ||
                    (strchr(e, '/') && in_cidr(h, e)))
                        return true;
        }
        return false;
}

/* <certs dir>/<host[:port]>/{ca.crt,client.cert,client.key}, as Docker. */
static void find_certs(struct vs_reg_client *c)
{
        const char *dir = getenv("VESSEL_REGISTRY_CERTS_DIR");
        if (dir == NULL || *dir == '\0')
                dir = CERTS_DIR_DEFAULT;
        struct stat st;
        char *p = xasprintf("%s/%s/ca.crt", dir, c->host);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
                c->ca_file = p;
        else
                free(p);
        char *cert = xasprintf("%s/%s/client.cert", dir, c->host);
        char *key = xasprintf("%s/%s/client.key", dir, c->host);
        if (stat(cert, &st) == 0 && stat(key, &st) == 0) {
                c->cert_file = cert;
                c->key_file = key;
        } else {
                free(cert);
                free(key);
        }
}

/* ------------------------------------------------------------------ */
/* requests */

struct capture {
        struct vs_reg_response *r;
        size_t max;
        bool too_big;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
        struct capture *cap = arg;
        size_t n = size * nmemb;
        if (cap->r->len + n > cap->max) {
                cap->too_big = true;
                return 0;
        }
        cap->r->body = xrealloc(cap->r->body, cap->r->len + n + 1);
        memcpy(cap->r->body + cap->r->len, ptr, n);
        cap->r->len += n;
        cap->r->body[cap->r->len] = '\0';
        return n;
}

static void take_header(char **slot, const char *line, size_t n, const char *name)
{
        size_t k = strlen(name);
        if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
                return;
        const char *v = line + k + 1;
        const char *end = line + n;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
                end--;
        free(*slot);
        *slot = xstrndup(v, (size_t) (end - v));
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *arg)
{
        struct vs_reg_response *r = ((struct capture *) arg)->r;
        size_t n = size * nmemb;
        /* A new response (after a redirect) starts with its status line. */
        if (n > 5 && strncmp(line, "HTTP/", 5) == 0) {
                free(r->content_type);
                free(r->docker_digest);
                free(r->location);
                free(r->www_authenticate);
                free(r->link);
                free(r->range);
                r->content_type = r->docker_digest = r->location = r->www_authenticate = NULL;
                r->link = r->range = NULL;
        }
        take_header(&r->content_type, line, n, "Content-Type");
        take_header(&r->docker_digest, line, n, "Docker-Content-Digest");
        take_header(&r->location, line, n, "Location");
        take_header(&r->www_authenticate, line, n, "WWW-Authenticate");
        take_header(&r->link, line, n, "Link");
        take_header(&r->range, line, n, "Range");
        return n;
}

/* The part of a file a request sends (read with pread: the offset stays
 * ours, and not a byte past the announced length goes out). */
struct upload_src {
        int fd;
        int64_t off, left;
};

static size_t on_read_fd(char *buf, size_t size, size_t nmemb, void *arg)
{
        struct upload_src *src = arg;
        size_t want = size * nmemb;
        if ((int64_t) want > src->left)
                want = (size_t) src->left;
        if (want == 0)
                return 0;
        ssize_t n;
        do
                n = pread(src->fd, buf, want, src->off);
        while (n < 0 && errno == EINTR);
        if (n <= 0) /* an error, or the file shorter than announced */
                return CURL_READFUNC_ABORT;
        src->off += n;
        src->left -= n;
        return (size_t) n;
}

struct curl_slist *vs_reg_setup(struct vs_reg_client *c, CURL *h, const char *url,
                                struct curl_slist *headers)
{
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
        /* A transfer that stalls (under 1 byte/s for 60 s) fails. */
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
        /* Redirects keep the scheme: never from HTTPS down to HTTP. */
        const char *scheme = strncmp(url, "https://", 8) == 0 ? "https" : "http";
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, scheme);
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, scheme);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->insecure ? 0L : 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->insecure ? 0L : 2L);
        /* The system's CAs from the hashed directory, looked up as needed
         * (parsing the whole bundle costs ~30 ms per process), plus the
         * registry's own CA from the certs directory. */
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
        curl_easy_setopt(h, CURLOPT_CAPATH, SYSTEM_CA_DIR);
        if (c->cert_file) {
                curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
                curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
        }
        /* curl sends this header to the registry's host only, never to the
         * host a redirect leads to (blob storage). */
        if (c->authorization)
                headers = curl_slist_append(headers, c->authorization);
        headers = curl_slist_append(headers, "Expect:");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        return headers;
}

static int perform(struct vs_reg_client *c, const struct vs_reg_request *rq,
                   struct vs_reg_response *resp, vs_error **err)
{
        CURL *h = c->easy;
        curl_easy_reset(h);
        vs_reg_response_clear(resp);
        _cleanup_free_ char *url = vs_reg_url(c, rq->url);
        struct curl_slist *headers = NULL;
        _cleanup_free_ char *accept = rq->accept ? xasprintf("Accept: %s", rq->accept) : NULL;
        _cleanup_free_ char *ctype =
            rq->content_type ? xasprintf("Content-Type: %s", rq->content_type) : NULL;
        if (accept)
                headers = curl_slist_append(headers, accept);
        if (ctype)
                headers = curl_slist_append(headers, ctype);
        _cleanup_free_ char *crange =
            rq->content_range ? xasprintf("Content-Range: %s", rq->content_range) : NULL;
        if (crange)
                headers = curl_slist_append(headers, crange);
        headers = vs_reg_setup(c, h, url, headers);
        struct capture cap = {.r = resp, .max = rq->max_body ? rq->max_body : (1 << 20)};
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &cap);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &cap);
        const char *method = rq->method ? rq->method : "GET";
        struct upload_src src = {rq->body_fd, rq->body_fd_offset, rq->body_fd_size};
        if (strcmp(method, "HEAD") == 0) {
                curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        } else if (rq->body_fd >= 0) {
                curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read_fd);
                curl_easy_setopt(h, CURLOPT_READDATA, &src);
                curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t) rq->body_fd_size);
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        } else if (strcmp(method, "GET") != 0) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                                 (curl_off_t) (rq->body ? rq->body_len : 0));
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        }
        CURLcode rc = curl_easy_perform(h);
        curl_slist_free_all(headers);
        if (cap.too_big)
                return vs_fail(err, "%s %s: response larger than %zu bytes, refused", method, url,
                               cap.max);
        if (rc != CURLE_OK)
                return vs_error_set(err, 0, "%s %s: %s", method, url, curl_easy_strerror(rc)) - rc;
        curl_off_t cl = -1;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
        curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        resp->content_length = cl;
        return 0;
}

int vs_reg_do(struct vs_reg_client *c, const struct vs_reg_request *rq,
              struct vs_reg_response *resp, vs_error **err)
{
        if (perform(c, rq, resp, err) < 0)
                return -1;
        if (resp->status != 401 || c->scheme == NULL)
                return 0;
        /* An expired token, or a scope that needs a fresh one. */
        if (vs_reg_reauth(c, err) < 0)
                return -1;
        return perform(c, rq, resp, err) < 0 ? -1 : 0;
}

char *vs_reg_error_text(const struct vs_reg_response *r)
{
        _cleanup_json_ json_object *doc = NULL;
        json_object *errors = NULL;
        if (r->body && (doc = json_tokener_parse(r->body)) != NULL &&
            json_object_object_get_ex(doc, "errors", &errors) &&
            json_object_is_type(errors, json_type_array) && json_object_array_length(errors) > 0) {
                json_object *e = json_object_array_get_idx(errors, 0), *code = NULL, *msg = NULL;
                json_object_object_get_ex(e, "code", &code);
                json_object_object_get_ex(e, "message", &msg);
                const char *m = msg ? json_object_get_string(msg) : "";
                _cleanup_free_ char *lc = xstrdup(code ? json_object_get_string(code) : "error");
                for (char *p = lc; *p; p++)
                        *p = *p == '_' ? ' ' : (char) tolower((unsigned char) *p);
                if (*m && strcasecmp(m, lc) != 0)
                        return xasprintf("%s: %s (HTTP %ld)", lc, m, r->status);
                return xasprintf("%s (HTTP %ld)", lc, r->status);
        }
        switch (r->status) {
        case 401:
                return xstrdup("unauthorized: authentication required (HTTP 401)");
        case 403:
                return xstrdup("denied: access forbidden (HTTP 403)");
        case 404:
                return xstrdup("not found (HTTP 404)");
        default:
                return xasprintf("HTTP status %ld", r->status);
        }
}

/* ------------------------------------------------------------------ */
/* authentication */

/* WWW-Authenticate: Bearer realm="...",service="...",scope="..." */
static void parse_challenge(struct vs_reg_client *c, const char *h)
{
        free(c->scheme);
        free(c->realm);
        free(c->service);
        c->scheme = c->realm = c->service = NULL;
        size_t n = strcspn(h, " ");
        c->scheme = xstrndup(h, n);
        for (char *p = c->scheme; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        const char *p = h + n;
        while (*p) {
                while (*p == ' ' || *p == ',')
                        p++;
                const char *eq = strchr(p, '=');
                if (eq == NULL)
                        break;
                _cleanup_free_ char *key = xstrndup(p, (size_t) (eq - p));
                p = eq + 1;
                _cleanup_free_ char *val = NULL;
                if (*p == '"') {
                        const char *end = strchr(p + 1, '"');
                        if (end == NULL)
                                break;
                        val = xstrndup(p + 1, (size_t) (end - p - 1));
                        p = end + 1;
                } else {
                        size_t k = strcspn(p, ",");
                        val = xstrndup(p, k);
                        p += k;
                }
                if (strcasecmp(key, "realm") == 0) {
                        free(c->realm);
                        c->realm = steal_ptr(val);
                } else if (strcasecmp(key, "service") == 0) {
                        free(c->service);
                        c->service = steal_ptr(val);
                }
        }
}

static char *url_escape(const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        char *out = xmalloc(strlen(s) * 3 + 1), *o = out;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (isalnum(*p) || strchr("-_.~", *p)) {
                        *o++ = (char) *p;
                } else {
                        *o++ = '%';
                        *o++ = hex[*p >> 4];
                        *o++ = hex[*p & 15];
                }
        }
        *o = '\0';
        return out;
}

static char *basic_header(const char *user, const char *secret)
{
        _cleanup_free_ char *pair = xasprintf("%s:%s", user, secret);
        _cleanup_free_ char *b64 = vs_base64_encode(pair, strlen(pair));
        return xasprintf("Authorization: Basic %s", b64);
}

static int fetch_token(struct vs_reg_client *c, vs_error **err)
{
        if (c->realm == NULL)
                return vs_fail(err, "%s: Bearer challenge without a realm", c->host);
        bool https = strncmp(c->realm, "https://", 8) == 0;
        if (!https && !(strncmp(c->realm, "http://", 7) == 0 && c->plain_ok))
                return vs_fail(err, "%s: refusing token realm '%s' (not HTTPS)", c->host, c->realm);
        /* No repository (login): a token for the registry itself. */
        _cleanup_free_ char *scope =
            *c->path ? xasprintf("repository:%s:%s", c->path, c->push ? "pull,push" : "pull")
                     : xstrdup("");
        _cleanup_free_ char *escope = url_escape(scope);
        _cleanup_free_ char *eservice = url_escape(c->service ? c->service : "");
        _cleanup_free_ char *extra = NULL;
        if (c->extra_scope) {
                _cleanup_free_ char *e = url_escape(c->extra_scope);
                extra = xasprintf("&scope=%s", e);
        }
        _cleanup_free_ char *url =
            xasprintf("%s%sservice=%s%s%s%s", c->realm, strchr(c->realm, '?') ? "&" : "?", eservice,
                      *scope ? "&scope=" : "", escope, extra ? extra : "");
        char *saved = steal_ptr(c->authorization);
        if (c->user)
                c->authorization = basic_header(c->user, c->secret);
        struct vs_reg_response r = {0};
        struct vs_reg_request rq = {.url = url, .body_fd = -1, .max_body = 1 << 20};
        int ret = perform(c, &rq, &r, err);
        free(c->authorization);
        c->authorization = NULL;
        free(saved);
        if (ret < 0) {
                vs_reg_response_clear(&r);
                return vs_error_wrap(err, "cannot get a token for %s", c->host);
        }
        if (r.status == 401 || r.status == 403) {
                vs_reg_response_clear(&r);
                return vs_fail(err, "%s: %s (HTTP %ld from the token server)", c->host,
                               c->user ? "wrong user name or password"
                                       : "authentication required: use vessel login",
                               r.status);
        }
        if (r.status != 200) {
                _cleanup_free_ char *why = vs_reg_error_text(&r);
                vs_reg_response_clear(&r);
                return vs_fail(err, "cannot get a token for %s: %s", c->host, why);
        }
        _cleanup_json_ json_object *doc = json_tokener_parse(r.body ? r.body : "");
        vs_reg_response_clear(&r);
        json_object *tok = NULL;
        if (doc == NULL || !((json_object_object_get_ex(doc, "token", &tok) ||
                              json_object_object_get_ex(doc, "access_token", &tok)) &&
                             json_object_is_type(tok, json_type_string)))
                return vs_fail(err, "%s: the token server's answer has no token", c->host);
        const char *t = json_object_get_string(tok);
        for (const char *p = t; *p; p++)
                if (*p == '\r' || *p == '\n')
                        return vs_fail(err, "%s: the token server's token is malformed", c->host);
        c->authorization = xasprintf("Authorization: Bearer %s", t);
        return 0;
}

int vs_reg_reauth(struct vs_reg_client *c, vs_error **err)
{
        free(c->authorization);
        c->authorization = NULL;
        if (c->scheme == NULL)
                return 0;
        if (strcmp(c->scheme, "bearer") == 0)
                return fetch_token(c, err);
        if (strcmp(c->scheme, "basic") == 0) {
                if (c->user == NULL)
                        return vs_fail(err, "%s: authentication required: use vessel login",
                                       c->host);
                c->authorization = basic_header(c->user, c->secret);
                return 0;
        }
        return vs_fail(err, "%s: unsupported authentication scheme '%s'", c->host, c->scheme);
}

/* GET /v2/: 200 (open) or 401 with the challenge. CURLcode of a transport
 * failure in *curl_rc. */
static int ping(struct vs_reg_client *c, vs_error **err)
{
        struct vs_reg_response r = {0};
        struct vs_reg_request rq = {.url = "/v2/", .body_fd = -1};
        int ret = perform(c, &rq, &r, err);
        if (ret < 0) {
                vs_reg_response_clear(&r);
                return ret;
        }
        if (r.status == 401 && r.www_authenticate)
                parse_challenge(c, r.www_authenticate);
        else if (r.status != 200 && r.status != 401) {
                _cleanup_free_ char *why = vs_reg_error_text(&r);
                vs_reg_response_clear(&r);
                return vs_fail(err, "%s does not answer as a registry (GET /v2/: %s)", c->base,
                               why);
        }
        vs_reg_response_clear(&r);
        return 0;
}

/* The scheme: HTTPS; plain HTTP for loopback and insecure registries when
 * HTTPS does not answer as TLS. */
static int connect_endpoint(struct vs_reg_client *c, const char *base, vs_error **err)
{
        free(c->base);
        c->base = xstrdup(base);
        vs_error *first = NULL;
        int r = ping(c, &first);
        if (r == 0)
                return 0;
        bool tls_refused = r == -1 - CURLE_SSL_CONNECT_ERROR || r == -1 - CURLE_RECV_ERROR ||
                           r == -1 - CURLE_WEIRD_SERVER_REPLY || r == -1 - CURLE_GOT_NOTHING;
        if (!c->plain_ok || !tls_refused || strncmp(base, "https://", 8) != 0) {
                *err = first;
                return -1;
        }
        vs_error_free(&first);
        free(c->base);
        c->base = xasprintf("http://%s", base + 8);
        return ping(c, err) < 0 ? -1 : 0;
}

int vs_reg_client_open(const char *domain, const char *path, bool push,
                       const struct vs_registry_opts *o, struct vs_reg_client **out, vs_error **err)
{
        if (vs_dynlib_load(&vs_libcurl_lib, err) < 0)
                return -1;
        static bool global_done;
        if (!global_done) {
                curl_global_init(CURL_GLOBAL_DEFAULT);
                global_done = true;
        }
        struct vs_reg_client *c = xzalloc(sizeof(*c));
        c->domain = xstrdup(domain);
        c->path = xstrdup(path);
        c->push = push;
        c->easy = curl_easy_init();
        if (c->easy == NULL) {
                vs_reg_client_free(c);
                return vs_fail(err, "cannot initialise libcurl");
        }
        bool hub = strcmp(domain, "docker.io") == 0;
        /* Mirrors (docker.io only, pulls only), then the registry itself. */
        _cleanup_strv_ char **bases = xcalloc(1, sizeof(char *));
        for (size_t i = 0; hub && !push && o->mirrors && o->mirrors[i]; i++) {
                _cleanup_free_ char *m = xstrdup(o->mirrors[i]);
                size_t n = strlen(m);
                while (n > 0 && m[n - 1] == '/')
                        m[--n] = '\0';
                strv_push(&bases, m);
        }
        _cleanup_free_ char *own = xasprintf("https://%s", hub ? "registry-1.docker.io" : domain);
        strv_push(&bases, own);
        if (o->user) {
                c->user = xstrdup(o->user);
                c->secret = xstrdup(o->password ? o->password : "");
        } else if (vs_docker_auth_get(domain, &c->user, &c->secret, err) < 0) {
                vs_reg_client_free(c);
                return -1;
        }
        vs_error *last = NULL;
        for (size_t i = 0; bases[i]; i++) {
                const char *hp = strstr(bases[i], "://") + 3;
                free(c->host);
                c->host = xstrndup(hp, strcspn(hp, "/"));
                c->insecure = is_insecure(c->host, o->insecure);
                c->plain_ok = c->insecure || is_loopback(c->host);
                free(c->ca_file);
                free(c->cert_file);
                free(c->key_file);
                c->ca_file = c->cert_file = c->key_file = NULL;
                find_certs(c);
                vs_error_free(&last);
                if (connect_endpoint(c, bases[i], &last) == 0 && vs_reg_reauth(c, &last) == 0) {
                        *out = c;
                        return 0;
                }
        }
        *err = last;
        vs_reg_client_free(c);
        return -1;
}

void vs_reg_client_free(struct vs_reg_client *c)
{
        if (c == NULL)
                return;
        if (c->easy)
                curl_easy_cleanup(c->easy);
        free(c->domain);
        free(c->host);
        free(c->base);
        free(c->path);
        free(c->ca_file);
        free(c->cert_file);
        free(c->key_file);
        free(c->user);
        if (c->secret)
                explicit_bzero(c->secret, strlen(c->secret));
        free(c->secret);
        if (c->authorization)
                explicit_bzero(c->authorization, strlen(c->authorization));
        free(c->authorization);
        free(c->scheme);
        free(c->realm);
        free(c->service);
        free(c->extra_scope);
        free(c);
}
