/* The configuration file: parse, validate, layer (see config.h and
 * docs/configuration.md). Each layer's JSON is merged key by key over the
 * effective values so far, and the result is parsed into a new struct in
 * one pass; an error leaves the old one untouched. Errors name the file,
 * the line (json-c gives an offset for syntax errors; a key's line is found
 * by scanning the text along the key's path) and the key path. */
#include "engine/config.h"
#include "engine/engine.h"
#include "net/net.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- where a key is in the text ---- */

/* A key path: each level a key, or an array index when key is NULL. */
struct kpath {
        const char *key[6];
        long idx[6];
        int n;
};

static struct kpath kp_child(const struct kpath *p, const char *key, long idx)
{
        struct kpath c = *p;
        if (c.n < 6) {
                c.key[c.n] = key;
                c.idx[c.n] = idx;
                c.n++;
        }
        return c;
}

static char *kp_string(const struct kpath *p)
{
        char *s = xstrdup("");
        for (int i = 0; i < p->n; i++) {
                char *n = p->key[i] ? xasprintf("%s%s%s", s, i ? "." : "", p->key[i])
                                    : xasprintf("%s[%ld]", s, p->idx[i]);
                free(s);
                s = n;
        }
        return s;
}

static size_t skip_ws(const char *t, size_t i)
{
        while (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')
                i++;
        return i;
}

/* t[i] == '"': the index just past the closing quote. */
static size_t skip_string(const char *t, size_t i)
{
        for (i++; t[i] && t[i] != '"'; i++)
                if (t[i] == '\\' && t[i + 1])
                        i++;
        return t[i] ? i + 1 : i;
}

/* From the container value at t[i] ('{' or '['), the position of the member
 * `key` (its name) or element `idx`; (size_t)-1 when absent. */
static size_t find_child(const char *t, size_t i, const char *key, long idx)
{
        if (t[i] != '{' && t[i] != '[')
                return (size_t) -1;
        bool obj = t[i] == '{';
        int depth = 0;
        long elem = 0;
        bool elem_start = true;
        for (; t[i]; i++) {
                char ch = t[i];
                if (depth == 1 && !obj && elem_start && ch != ' ' && ch != '\t' && ch != '\n' &&
                    ch != '\r' && ch != ']') {
                        if (elem == idx)
                                return i;
                        elem_start = false;
                }
                if (ch == '"') {
                        size_t end = skip_string(t, i);
                        if (depth == 1 && obj && t[skip_ws(t, end)] == ':' &&
                            end - i - 2 == strlen(key) && strncmp(t + i + 1, key, end - i - 2) == 0)
                                return i;
                        i = end - 1;
                } else if (ch == '{' || ch == '[') {
                        depth++;
                        if (depth == 1)
                                continue;
                } else if (ch == '}' || ch == ']') {
                        if (--depth == 0)
                                return (size_t) -1;
                } else if (ch == ',' && depth == 1 && !obj) {
                        elem++;
                        elem_start = true;
                }
        }
        return (size_t) -1;
}

static int line_at(const char *t, size_t off)
{
        int line = 1;
        for (size_t i = 0; i < off && t[i]; i++)
                line += t[i] == '\n';
        return line;
}

/* The line of the deepest part of the path found in the text. */
static int kp_line(const char *text, const struct kpath *p)
{
        if (text == NULL)
                return 0;
        size_t at = skip_ws(text, 0), best = at;
        for (int l = 0; l < p->n; l++) {
                size_t c = find_child(text, at, p->key[l] ? p->key[l] : "", p->idx[l]);
                if (c == (size_t) -1)
                        break;
                best = c;
                if (p->key[l]) { /* on to the member's value */
                        c = skip_ws(text, skip_string(text, c));
                        c = skip_ws(text, c + 1);
                }
                at = c;
        }
        return line_at(text, best);
}

struct pctx {
        const char *text; /* the layer's text: keys from it are located */
        const char *file;
        json_object *layer; /* the layer's own object: its keys are the ones checked */
};

__attribute__((format(printf, 4, 5))) static int
key_fail(const struct pctx *x, const struct kpath *p, vs_error **err, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *why = xvasprintf(fmt, ap);
        va_end(ap);
        _cleanup_free_ char *path = kp_string(p);
        int line = kp_line(x->text, p);
        if (line > 0)
                return vs_fail(err, "%s:%d: %s: %s", x->file, line, path, why);
        return vs_fail(err, "%s: %s: %s", x->file, path, why);
}

/* ---- typed values ---- */

static const char *type_name(json_object *v)
{
        switch (json_object_get_type(v)) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "a boolean";
        case json_type_double:
                return "a number";
        case json_type_int:
                return "an integer";
        case json_type_object:
                return "an object";
        case json_type_array:
                return "an array";
        case json_type_string:
                return "a string";
        }
        return "?";
}

static int want(const struct pctx *x, const struct kpath *p, json_object *v, json_type t,
                const char *what, vs_error **err)
{
        if (v == NULL || !json_object_is_type(v, t))
                return key_fail(x, p, err, "expected %s, got %s", what, v ? type_name(v) : "null");
        return 0;
}

static int get_string(const struct pctx *x, const struct kpath *p, json_object *v, char **out,
                      vs_error **err)
{
        if (want(x, p, v, json_type_string, "a string", err) < 0)
                return -1;
        if (json_object_get_string_len(v) == 0)
                return key_fail(x, p, err, "must not be empty");
        free(*out);
        *out = xstrdup(json_object_get_string(v));
        return 0;
}

static int get_path(const struct pctx *x, const struct kpath *p, json_object *v, char **out,
                    vs_error **err)
{
        if (get_string(x, p, v, out, err) < 0)
                return -1;
        if ((*out)[0] != '/')
                return key_fail(x, p, err, "'%s' is not an absolute path", *out);
        return 0;
}

static int get_enum(const struct pctx *x, const struct kpath *p, json_object *v,
                    const char *const *allowed, char **out, vs_error **err)
{
        if (get_string(x, p, v, out, err) < 0)
                return -1;
        for (size_t i = 0; allowed[i]; i++)
                if (strcmp(allowed[i], *out) == 0)
                        return 0;
        _cleanup_free_ char *list = xstrdup(allowed[0]);
        for (size_t i = 1; allowed[i]; i++) {
                char *n = xasprintf("%s, %s", list, allowed[i]);
                free(list);
                list = n;
        }
        return key_fail(x, p, err, "invalid value '%s' (%s)", *out, list);
}

static int get_int(const struct pctx *x, const struct kpath *p, json_object *v, int64_t min,
                   int64_t max, int64_t *out, vs_error **err)
{
        if (want(x, p, v, json_type_int, "an integer", err) < 0)
                return -1;
        errno = 0;
        int64_t n = json_object_get_int64(v);
        if (errno || n < min || n > max)
                return key_fail(x, p, err, "%s is out of range (%" PRId64 " to %" PRId64 ")",
                                json_object_get_string(v), min, max);
        *out = n;
        return 0;
}

/* A size: "64m", "1.5g", "512k", "1024" or a number of bytes. */
static int get_size(const struct pctx *x, const struct kpath *p, json_object *v, int64_t *out,
                    vs_error **err)
{
        if (json_object_is_type(v, json_type_int))
                return get_int(x, p, v, 0, INT64_MAX, out, err);
        if (v == NULL || !json_object_is_type(v, json_type_string))
                return key_fail(x, p, err, "expected a size (\"64m\" or bytes), got %s",
                                v ? type_name(v) : "null");
        _cleanup_error_ vs_error *e = NULL;
        if (vs_parse_size("size", json_object_get_string(v), out, &e) < 0)
                return key_fail(x, p, err, "invalid size '%s' (a number with k, m, g or t)",
                                json_object_get_string(v));
        return 0;
}

typedef int (*strv_check)(const char *s, const char **why);

static int get_strv(const struct pctx *x, const struct kpath *p, json_object *v, strv_check check,
                    char ***out, vs_error **err)
{
        if (want(x, p, v, json_type_array, "an array of strings", err) < 0)
                return -1;
        _cleanup_strv_ char **list = NULL;
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                struct kpath e = kp_child(p, NULL, (long) i);
                _cleanup_free_ char *s = NULL;
                if (get_string(x, &e, json_object_array_get_idx(v, i), &s, err) < 0)
                        return -1;
                const char *why = NULL;
                if (check && check(s, &why) < 0)
                        return key_fail(x, &e, err, "'%s' %s", s, why);
                strv_push(&list, s);
        }
        strv_free(*out);
        *out = list ? list : xcalloc(1, sizeof(char *));
        list = NULL;
        return 0;
}

/* Every member of obj must be one of names. */
static int known_members(const struct pctx *x, const struct kpath *p, json_object *obj,
                         const char *const *names, vs_error **err)
{
        json_object_object_foreach(obj, k, val)
        {
                (void) val;
                bool ok = false;
                for (size_t i = 0; names[i] && !ok; i++)
                        ok = strcmp(names[i], k) == 0;
                if (!ok) {
                        struct kpath c = kp_child(p, k, 0);
                        return key_fail(x, &c, err, "unknown key");
                }
        }
        return 0;
}

/* ---- element checks ---- */

static int check_abs(const char *s, const char **why)
{
        *why = "is not an absolute path";
        return s[0] == '/' ? 0 : -1;
}

static int check_ip(const char *s, const char **why)
{
        unsigned char buf[16];
        *why = "is not an IP address";
        return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1 ? 0 : -1;
}

/* "a.b.c/16": an address and a prefix that fits it. */
static int parse_cidr(const char *s, int *family, int *prefix)
{
        const char *slash = strchr(s, '/');
        if (slash == NULL)
                return -1;
        _cleanup_free_ char *addr = xstrndup(s, (size_t) (slash - s));
        unsigned char buf[16];
        int max;
        if (inet_pton(AF_INET, addr, buf) == 1)
                *family = AF_INET, max = 32;
        else if (inet_pton(AF_INET6, addr, buf) == 1)
                *family = AF_INET6, max = 128;
        else
                return -1;
        char *end;
        errno = 0;
        long n = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || errno || n < 0 || n > max)
                return -1;
        *prefix = (int) n;
        return 0;
}

static int check_cidr(const char *s, const char **why)
{
        int f, n;
        *why = "is not an address with a prefix length (CIDR, e.g. 10.0.0.0/8)";
        return parse_cidr(s, &f, &n);
}

static int check_domain(const char *s, const char **why)
{
        *why = "is not a domain name";
        if (strlen(s) > 253)
                return -1;
        for (const char *c = s; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == '_'))
                        return -1;
        return 0;
}

static int check_url(const char *s, const char **why)
{
        *why = "is not an http:// or https:// URL";
        if (strncmp(s, "https://", 8) == 0)
                return s[8] ? 0 : -1;
        if (strncmp(s, "http://", 7) == 0)
                return s[7] ? 0 : -1;
        return -1;
}

/* host[:port] or a CIDR; no scheme, no path (Docker's shape). */
static int check_registry(const char *s, const char **why)
{
        *why = "is not a registry host[:port] or CIDR";
        if (strstr(s, "://"))
                return -1;
        if (strchr(s, '/'))
                return check_cidr(s, why);
        for (const char *c = s; *c; c++)
                if (*c == ' ' || *c == '\t' || *c == '@' || *c == '?' || *c == '#')
                        return -1;
        return 0;
}

/* ---- the keys ---- */

static const char *const ulimit_names[] = {
    "core",  "cpu", "data",   "fsize",  "locks",      "memlock", "msgqueue", "nice", "nofile",
    "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",   "as",       NULL};

/* {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 524288}} */
static int parse_ulimits(const struct pctx *x, const struct kpath *p, json_object *v,
                         struct vs_config *c, vs_error **err)
{
        if (want(x, p, v, json_type_object, "an object of limits", err) < 0)
                return -1;
        json_object_object_foreach(v, name, u)
        {
                struct kpath up = kp_child(p, name, 0);
                bool known = false;
                for (size_t i = 0; ulimit_names[i] && !known; i++)
                        known = strcmp(ulimit_names[i], name) == 0;
                if (!known)
                        return key_fail(x, &up, err,
                                        "unknown limit (nofile, nproc, core, stack, memlock, ...)");
                if (want(x, &up, u, json_type_object, "an object {\"Name\", \"Soft\", \"Hard\"}",
                         err) < 0)
                        return -1;
                static const char *const members[] = {"Name", "Soft", "Hard", NULL};
                if (known_members(x, &up, u, members, err) < 0)
                        return -1;
                json_object *jn = json_object_object_get(u, "Name");
                struct kpath np = kp_child(&up, "Name", 0);
                if (jn) {
                        if (want(x, &np, jn, json_type_string, "a string", err) < 0)
                                return -1;
                        if (strcmp(json_object_get_string(jn), name) != 0)
                                return key_fail(x, &np, err, "'%s' differs from its key '%s'",
                                                json_object_get_string(jn), name);
                }
                int64_t soft, hard;
                struct kpath sp = kp_child(&up, "Soft", 0), hp = kp_child(&up, "Hard", 0);
                json_object *js = json_object_object_get(u, "Soft"),
                            *jh = json_object_object_get(u, "Hard");
                if (js == NULL)
                        return key_fail(x, &up, err, "Soft is missing");
                if (jh == NULL)
                        return key_fail(x, &up, err, "Hard is missing");
                if (get_int(x, &sp, js, -1, INT64_MAX, &soft, err) < 0 ||
                    get_int(x, &hp, jh, -1, INT64_MAX, &hard, err) < 0)
                        return -1;
                if (hard != -1 && (soft == -1 || soft > hard))
                        return key_fail(x, &sp, err,
                                        "soft limit %" PRId64 " exceeds hard limit %" PRId64, soft,
                                        hard);
                c->ulimits = xrealloc(c->ulimits, (c->n_ulimits + 1) * sizeof(*c->ulimits));
                c->ulimits[c->n_ulimits++] =
                    (struct vs_config_ulimit){.name = xstrdup(name), .soft = soft, .hard = hard};
        }
        return 0;
}

/* Docker's log-opts: string values. */
static int parse_log_opts(const struct pctx *x, const struct kpath *p, json_object *v,
                          struct vs_config *c, vs_error **err)
{
        if (want(x, p, v, json_type_object, "an object", err) < 0)
                return -1;
        static const char *const members[] = {"max-size", "max-file", NULL};
        if (known_members(x, p, v, members, err) < 0)
                return -1;
        /* Docker's json-file: no rotation unless asked; vessel's default
         * bound applies to what the file leaves unset. */
        c->log_max_size = VS_DEFAULT_LOG_MAX_SIZE;
        c->log_max_file = VS_DEFAULT_LOG_MAX_FILE;
        json_object *ms = json_object_object_get(v, "max-size");
        if (ms) {
                struct kpath mp = kp_child(p, "max-size", 0);
                if (want(x, &mp, ms, json_type_string, "a string (\"20m\", or \"-1\" for no limit)",
                         err) < 0)
                        return -1;
                if (strcmp(json_object_get_string(ms), "-1") == 0)
                        c->log_max_size = 0;
                else if (get_size(x, &mp, ms, &c->log_max_size, err) < 0)
                        return -1;
                else if (c->log_max_size < 4096)
                        return key_fail(x, &mp, err, "'%s' is below the minimum of 4k",
                                        json_object_get_string(ms));
        }
        json_object *mf = json_object_object_get(v, "max-file");
        if (mf) {
                struct kpath fp = kp_child(p, "max-file", 0);
                if (want(x, &fp, mf, json_type_string, "a string (\"5\")", err) < 0)
                        return -1;
                const char *s = json_object_get_string(mf);
                char *end;
                errno = 0;
                long n = strtol(s, &end, 10);
                if (end == s || *end || errno || n < 1 || n > 100)
                        return key_fail(x, &fp, err, "invalid file count '%s' (1 to 100)", s);
                c->log_max_file = n;
        }
        return 0;
}

/* {"crun": {"path": "/usr/bin/crun", "runtimeArgs": ["--debug"]}} */
static int parse_runtimes(const struct pctx *x, const struct kpath *p, json_object *v,
                          struct vs_config *c, vs_error **err)
{
        if (want(x, p, v, json_type_object, "an object of runtimes", err) < 0)
                return -1;
        json_object_object_foreach(v, name, r)
        {
                struct kpath rp = kp_child(p, name, 0);
                if (strcmp(name, "vessel") == 0)
                        return key_fail(x, &rp, err, "'vessel' is the built-in runtime's name");
                if (want(x, &rp, r, json_type_object, "an object {\"path\", \"runtimeArgs\"}",
                         err) < 0)
                        return -1;
                static const char *const members[] = {"path", "runtimeArgs", NULL};
                if (known_members(x, &rp, r, members, err) < 0)
                        return -1;
                struct vs_config_runtime rt = {.name = xstrdup(name)};
                c->runtimes = xrealloc(c->runtimes, (c->n_runtimes + 1) * sizeof(*c->runtimes));
                c->runtimes[c->n_runtimes++] = rt;
                struct vs_config_runtime *dst = &c->runtimes[c->n_runtimes - 1];
                json_object *path = json_object_object_get(r, "path");
                struct kpath pp = kp_child(&rp, "path", 0);
                if (path == NULL)
                        return key_fail(x, &rp, err, "path is missing");
                if (get_string(x, &pp, path, &dst->path, err) < 0)
                        return -1;
                json_object *args = json_object_object_get(r, "runtimeArgs");
                struct kpath ap = kp_child(&rp, "runtimeArgs", 0);
                if (args && get_strv(x, &ap, args, NULL, &dst->args, err) < 0)
                        return -1;
        }
        return 0;
}

/* [{"base": "10.10.0.0/16", "size": 24}] */
static int parse_pools(const struct pctx *x, const struct kpath *p, json_object *v,
                       struct vs_config *c, vs_error **err)
{
        if (want(x, p, v, json_type_array, "an array of {\"base\", \"size\"}", err) < 0)
                return -1;
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                struct kpath ep = kp_child(p, NULL, (long) i);
                json_object *e = json_object_array_get_idx(v, i);
                if (want(x, &ep, e, json_type_object, "an object {\"base\", \"size\"}", err) < 0)
                        return -1;
                static const char *const members[] = {"base", "size", NULL};
                if (known_members(x, &ep, e, members, err) < 0)
                        return -1;
                c->pools = xrealloc(c->pools, (c->n_pools + 1) * sizeof(*c->pools));
                struct vs_config_pool *pool = &c->pools[c->n_pools++];
                *pool = (struct vs_config_pool){0};
                json_object *base = json_object_object_get(e, "base"),
                            *size = json_object_object_get(e, "size");
                struct kpath bp = kp_child(&ep, "base", 0), sp = kp_child(&ep, "size", 0);
                if (base == NULL || size == NULL)
                        return key_fail(x, &ep, err, "needs both base and size");
                if (get_string(x, &bp, base, &pool->base, err) < 0)
                        return -1;
                int fam, prefix;
                if (parse_cidr(pool->base, &fam, &prefix) < 0)
                        return key_fail(x, &bp, err, "'%s' is not a CIDR (e.g. 10.10.0.0/16)",
                                        pool->base);
                if (get_int(x, &sp, size, prefix, fam == AF_INET ? 32 : 128, &pool->size, err) < 0)
                        return -1;
        }
        return 0;
}

struct key {
        const char *name;
        enum vs_config_key id;
        bool in_effect;
};

static const struct key keys[VS_CK_COUNT] = {
    {"data-root", VS_CK_DATA_ROOT, true},
    {"exec-root", VS_CK_EXEC_ROOT, false},
    {"default-ulimits", VS_CK_DEFAULT_ULIMITS, true},
    {"log-driver", VS_CK_LOG_DRIVER, true},
    {"log-opts", VS_CK_LOG_OPTS, true},
    {"default-runtime", VS_CK_DEFAULT_RUNTIME, false},
    {"runtimes", VS_CK_RUNTIMES, false},
    {"registry-mirrors", VS_CK_REGISTRY_MIRRORS, true},
    {"insecure-registries", VS_CK_INSECURE_REGISTRIES, true},
    {"default-address-pools", VS_CK_ADDRESS_POOLS, true},
    {"bip", VS_CK_BIP, true},
    {"dns", VS_CK_DNS, true},
    {"dns-search", VS_CK_DNS_SEARCH, true},
    {"default-shm-size", VS_CK_SHM_SIZE, true},
    {"userns-remap", VS_CK_USERNS_REMAP, false},
    {"default-cgroupns-mode", VS_CK_CGROUPNS_MODE, false},
    {"default-ipc-mode", VS_CK_IPC_MODE, false},
    {"seccomp-profile", VS_CK_SECCOMP_PROFILE, false},
    {"no-new-privileges", VS_CK_NO_NEW_PRIVILEGES, true},
    {"default-isolation", VS_CK_ISOLATION, false},
    {"default-pids-limit", VS_CK_PIDS_LIMIT, true},
    {"vm-kernel", VS_CK_VM_KERNEL, false},
    {"vm-memory", VS_CK_VM_MEMORY, false},
    {"vm-vcpus", VS_CK_VM_VCPUS, false},
    {"cni-plugin-dirs", VS_CK_CNI_PLUGIN_DIRS, true},
    {"cni-config-dir", VS_CK_CNI_CONFIG_DIR, true},
    {"userns", VS_CK_USERNS, true},
    {"ipv6", VS_CK_IPV6, true},
    {"fixed-cidr-v6", VS_CK_FIXED_CIDR_V6, true},
    {"mtu", VS_CK_MTU, true},
};

const char *vs_config_key_name(enum vs_config_key k)
{
        return k < VS_CK_COUNT ? keys[k].name : NULL;
}

bool vs_config_key_in_effect(enum vs_config_key k)
{
        return k < VS_CK_COUNT && keys[k].in_effect;
}

static int parse_key(const struct pctx *x, enum vs_config_key id, json_object *v,
                     struct vs_config *c, vs_error **err)
{
        struct kpath p = {.n = 1, .key = {keys[id].name}};
        static const char *const drivers[] = {"json-file", "local", NULL};
        static const char *const cgroupns[] = {"private", "host", NULL};
        static const char *const ipc[] = {"private", "shareable", "host", "none", NULL};
        static const char *const isolation[] = {"container", "vm", NULL};
        switch (id) {
        case VS_CK_DATA_ROOT:
                return get_path(x, &p, v, &c->data_root, err);
        case VS_CK_EXEC_ROOT:
                return get_path(x, &p, v, &c->exec_root, err);
        case VS_CK_DEFAULT_ULIMITS:
                return parse_ulimits(x, &p, v, c, err);
        case VS_CK_LOG_DRIVER:
                return get_enum(x, &p, v, drivers, &c->log_driver, err);
        case VS_CK_LOG_OPTS:
                return parse_log_opts(x, &p, v, c, err);
        case VS_CK_DEFAULT_RUNTIME:
                return get_string(x, &p, v, &c->default_runtime, err);
        case VS_CK_RUNTIMES:
                return parse_runtimes(x, &p, v, c, err);
        case VS_CK_REGISTRY_MIRRORS:
                return get_strv(x, &p, v, check_url, &c->registry_mirrors, err);
        case VS_CK_INSECURE_REGISTRIES:
                return get_strv(x, &p, v, check_registry, &c->insecure_registries, err);
        case VS_CK_ADDRESS_POOLS:
                return parse_pools(x, &p, v, c, err);
        case VS_CK_BIP: {
                const char *why;
                if (get_string(x, &p, v, &c->bip, err) < 0)
                        return -1;
                if (check_cidr(c->bip, &why) < 0)
                        return key_fail(x, &p, err, "'%s' %s", c->bip, why);
                return 0;
        }
        case VS_CK_DNS:
                return get_strv(x, &p, v, check_ip, &c->dns, err);
        case VS_CK_DNS_SEARCH:
                return get_strv(x, &p, v, check_domain, &c->dns_search, err);
        case VS_CK_SHM_SIZE:
                if (get_size(x, &p, v, &c->shm_size, err) < 0)
                        return -1;
                if (c->shm_size <= 0)
                        return key_fail(x, &p, err, "must be greater than 0");
                return 0;
        case VS_CK_USERNS_REMAP:
                return get_string(x, &p, v, &c->userns_remap, err);
        case VS_CK_CGROUPNS_MODE:
                return get_enum(x, &p, v, cgroupns, &c->cgroupns_mode, err);
        case VS_CK_IPC_MODE:
                return get_enum(x, &p, v, ipc, &c->ipc_mode, err);
        case VS_CK_SECCOMP_PROFILE:
                if (get_string(x, &p, v, &c->seccomp_profile, err) < 0)
                        return -1;
                if (strcmp(c->seccomp_profile, "builtin") != 0 &&
                    strcmp(c->seccomp_profile, "unconfined") != 0 && c->seccomp_profile[0] != '/')
                        return key_fail(x, &p, err,
                                        "'%s' is not builtin, unconfined or an absolute path",
                                        c->seccomp_profile);
                return 0;
        case VS_CK_NO_NEW_PRIVILEGES:
                if (want(x, &p, v, json_type_boolean, "a boolean", err) < 0)
                        return -1;
                c->no_new_privileges = json_object_get_boolean(v);
                return 0;
        case VS_CK_ISOLATION:
                return get_enum(x, &p, v, isolation, &c->isolation, err);
        case VS_CK_MTU:
                return get_int(x, &p, v, VS_NET_MTU_MIN, VS_NET_MTU_MAX, &c->mtu, err);
        case VS_CK_PIDS_LIMIT:
                if (get_int(x, &p, v, -1, INT64_MAX, &c->pids_limit, err) < 0)
                        return -1;
                if (c->pids_limit == 0)
                        c->pids_limit = -1; /* Docker: 0 and -1 both mean no limit */
                return 0;
        case VS_CK_VM_KERNEL:
                return get_path(x, &p, v, &c->vm_kernel, err);
        case VS_CK_VM_MEMORY:
                if (get_size(x, &p, v, &c->vm_memory, err) < 0)
                        return -1;
                if (c->vm_memory < (16LL << 20))
                        return key_fail(x, &p, err, "is below the minimum of 16m");
                return 0;
        case VS_CK_VM_VCPUS:
                return get_int(x, &p, v, 1, 256, &c->vm_vcpus, err);
        case VS_CK_CNI_PLUGIN_DIRS:
                return get_strv(x, &p, v, check_abs, &c->cni_plugin_dirs, err);
        case VS_CK_CNI_CONFIG_DIR:
                return get_path(x, &p, v, &c->cni_config_dir, err);
        case VS_CK_USERNS: {
                static const char *const userns[] = {"host", "auto", NULL};
                return get_enum(x, &p, v, userns, &c->userns, err);
        }
        case VS_CK_IPV6:
                if (want(x, &p, v, json_type_boolean, "a boolean", err) < 0)
                        return -1;
                c->ipv6 = json_object_get_boolean(v);
                return 0;
        case VS_CK_FIXED_CIDR_V6: {
                int fam, prefix;
                if (get_string(x, &p, v, &c->fixed_cidr_v6, err) < 0)
                        return -1;
                if (parse_cidr(c->fixed_cidr_v6, &fam, &prefix) < 0 || fam != AF_INET6)
                        return key_fail(x, &p, err, "'%s' is not an IPv6 subnet (e.g. fd00:1::/64)",
                                        c->fixed_cidr_v6);
                return 0;
        }
        case VS_CK_COUNT:
                break;
        }
        return 0;
}

/* ---- whole structs ---- */

void vs_config_clear(struct vs_config *c)
{
        free(c->data_root);
        free(c->exec_root);
        for (size_t i = 0; i < c->n_ulimits; i++)
                free(c->ulimits[i].name);
        free(c->ulimits);
        free(c->log_driver);
        free(c->default_runtime);
        for (size_t i = 0; i < c->n_runtimes; i++) {
                free(c->runtimes[i].name);
                free(c->runtimes[i].path);
                strv_free(c->runtimes[i].args);
        }
        free(c->runtimes);
        strv_free(c->registry_mirrors);
        strv_free(c->insecure_registries);
        for (size_t i = 0; i < c->n_pools; i++)
                free(c->pools[i].base);
        free(c->pools);
        free(c->bip);
        free(c->fixed_cidr_v6);
        strv_free(c->dns);
        strv_free(c->dns_search);
        free(c->userns_remap);
        free(c->cgroupns_mode);
        free(c->ipc_mode);
        free(c->seccomp_profile);
        free(c->isolation);
        free(c->vm_kernel);
        strv_free(c->cni_plugin_dirs);
        free(c->cni_config_dir);
        free(c->userns);
        for (size_t i = 0; i < c->n_files; i++)
                free(c->files[i]);
        memset(c, 0, sizeof(*c));
}

static char **empty_strv(void)
{
        return xcalloc(1, sizeof(char *));
}

void vs_config_init(struct vs_config *c)
{
        memset(c, 0, sizeof(*c));
        c->ulimits = xcalloc(1, sizeof(*c->ulimits));
        c->ulimits[0] = (struct vs_config_ulimit){.name = xstrdup("nofile"),
                                                  .soft = VS_DEFAULT_NOFILE_SOFT,
                                                  .hard = VS_DEFAULT_NOFILE_HARD};
        c->n_ulimits = 1;
        c->log_driver = xstrdup("json-file");
        c->log_max_size = VS_DEFAULT_LOG_MAX_SIZE;
        c->log_max_file = VS_DEFAULT_LOG_MAX_FILE;
        c->default_runtime = xstrdup("vessel");
        c->registry_mirrors = empty_strv();
        c->insecure_registries = empty_strv();
        c->dns = empty_strv();
        c->dns_search = empty_strv();
        c->shm_size = 64LL << 20;
        c->cgroupns_mode = xstrdup("private");
        c->ipc_mode = xstrdup("private");
        c->seccomp_profile = xstrdup("builtin");
        c->isolation = xstrdup("container");
        c->userns = xstrdup("host");
        c->pids_limit = VS_DEFAULT_PIDS_LIMIT;
        c->vm_memory = 512LL << 20;
        c->vm_vcpus = 1;
        c->cni_plugin_dirs = empty_strv();
        strv_push(&c->cni_plugin_dirs, "/usr/lib/cni");
        strv_push(&c->cni_plugin_dirs, "/opt/cni/bin");
        c->cni_config_dir = xstrdup("/etc/cni/net.d");
}

static json_object *jstrv(char **v)
{
        json_object *a = json_object_new_array();
        for (size_t i = 0; v && v[i]; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        return a;
}

static json_object *jsize(int64_t n)
{
        return json_object_new_int64(n);
}

json_object *vs_config_to_json(const struct vs_config *c)
{
        json_object *o = json_object_new_object();
#define ADD(k, v) json_object_object_add(o, k, v)
#define ADD_STR(k, s)                                                                              \
        do {                                                                                       \
                if (s)                                                                             \
                        ADD(k, json_object_new_string(s));                                         \
        } while (0)
        ADD_STR("data-root", c->data_root);
        ADD_STR("exec-root", c->exec_root);
        json_object *ul = json_object_new_object();
        for (size_t i = 0; i < c->n_ulimits; i++) {
                json_object *u = json_object_new_object();
                json_object_object_add(u, "Name", json_object_new_string(c->ulimits[i].name));
                json_object_object_add(u, "Soft", json_object_new_int64(c->ulimits[i].soft));
                json_object_object_add(u, "Hard", json_object_new_int64(c->ulimits[i].hard));
                json_object_object_add(ul, c->ulimits[i].name, u);
        }
        ADD("default-ulimits", ul);
        ADD_STR("log-driver", c->log_driver);
        json_object *lo = json_object_new_object();
        _cleanup_free_ char *ms =
            c->log_max_size ? xasprintf("%" PRId64, c->log_max_size) : xstrdup("-1");
        _cleanup_free_ char *mf = xasprintf("%" PRId64, c->log_max_file);
        json_object_object_add(lo, "max-size", json_object_new_string(ms));
        json_object_object_add(lo, "max-file", json_object_new_string(mf));
        ADD("log-opts", lo);
        ADD_STR("default-runtime", c->default_runtime);
        json_object *rts = json_object_new_object();
        for (size_t i = 0; i < c->n_runtimes; i++) {
                json_object *r = json_object_new_object();
                json_object_object_add(r, "path", json_object_new_string(c->runtimes[i].path));
                if (c->runtimes[i].args)
                        json_object_object_add(r, "runtimeArgs", jstrv(c->runtimes[i].args));
                json_object_object_add(rts, c->runtimes[i].name, r);
        }
        ADD("runtimes", rts);
        ADD("registry-mirrors", jstrv(c->registry_mirrors));
        ADD("insecure-registries", jstrv(c->insecure_registries));
        json_object *pools = json_object_new_array();
        for (size_t i = 0; i < c->n_pools; i++) {
                json_object *p = json_object_new_object();
                json_object_object_add(p, "base", json_object_new_string(c->pools[i].base));
                json_object_object_add(p, "size", json_object_new_int64(c->pools[i].size));
                json_object_array_add(pools, p);
        }
        ADD("default-address-pools", pools);
        ADD_STR("bip", c->bip);
        ADD("ipv6", json_object_new_boolean(c->ipv6));
        ADD_STR("fixed-cidr-v6", c->fixed_cidr_v6);
        ADD("mtu", json_object_new_int64(c->mtu ? c->mtu : VS_NET_DEFAULT_MTU));
        ADD("dns", jstrv(c->dns));
        ADD("dns-search", jstrv(c->dns_search));
        ADD("default-shm-size", jsize(c->shm_size));
        ADD_STR("userns-remap", c->userns_remap);
        ADD_STR("default-cgroupns-mode", c->cgroupns_mode);
        ADD_STR("default-ipc-mode", c->ipc_mode);
        ADD_STR("seccomp-profile", c->seccomp_profile);
        ADD("no-new-privileges", json_object_new_boolean(c->no_new_privileges));
        ADD_STR("default-isolation", c->isolation);
        ADD("default-pids-limit", json_object_new_int64(c->pids_limit));
        ADD_STR("vm-kernel", c->vm_kernel);
        ADD("vm-memory", jsize(c->vm_memory));
        ADD("vm-vcpus", json_object_new_int64(c->vm_vcpus));
        ADD("cni-plugin-dirs", jstrv(c->cni_plugin_dirs));
        ADD_STR("cni-config-dir", c->cni_config_dir);
        ADD_STR("userns", c->userns);
#undef ADD_STR
#undef ADD
        return o;
}

static int lookup_key(const char *name)
{
        for (int i = 0; i < VS_CK_COUNT; i++)
                if (strcmp(keys[i].name, name) == 0)
                        return i;
        return -1;
}

/* Parses the merged object (earlier layers' effective values + this
 * layer's keys) into out. Only this layer's keys can fail: the rest were
 * valid before. */
static int parse_merged(const struct pctx *x, json_object *merged, struct vs_config *out,
                        vs_error **err)
{
        memset(out, 0, sizeof(*out));
        /* Lists are rebuilt from scratch by their parsers. */
        json_object_object_foreach(merged, k, v)
        {
                int id = lookup_key(k);
                if (id < 0) {
                        struct kpath p = {.n = 1, .key = {k}};
                        return key_fail(x, &p, err, "unknown key");
                }
                struct pctx ctx = *x;
                if (x->layer && json_object_object_get(x->layer, k) != v)
                        ctx.text = NULL; /* an earlier layer's value: no line in this text */
                if (parse_key(&ctx, (enum vs_config_key) id, v, out, err) < 0)
                        return -1;
        }
        if (strcmp(out->default_runtime, "vessel") != 0) {
                bool found = false;
                for (size_t i = 0; i < out->n_runtimes && !found; i++)
                        found = strcmp(out->runtimes[i].name, out->default_runtime) == 0;
                if (!found) {
                        struct kpath p = {.n = 1, .key = {"default-runtime"}};
                        return key_fail(x, &p, err, "'%s' is not vessel nor one of runtimes",
                                        out->default_runtime);
                }
        }
        return 0;
}

int vs_config_apply(struct vs_config *c, const char *text, const char *file, vs_error **err)
{
        json_tokener *tok = json_tokener_new();
        _cleanup_json_ json_object *layer = json_tokener_parse_ex(tok, text, (int) strlen(text));
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t off = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (jerr == json_tokener_success) {
                off = skip_ws(text, off);
                if (text[off])
                        return vs_fail(err, "%s:%d: invalid JSON: trailing data", file,
                                       line_at(text, off));
        }
        if (jerr != json_tokener_success)
                return vs_fail(err, "%s:%d: invalid JSON: %s", file, line_at(text, off),
                               jerr == json_tokener_continue ? "unexpected end of input"
                                                             : json_tokener_error_desc(jerr));
        if (layer == NULL || !json_object_is_type(layer, json_type_object))
                return vs_fail(err, "%s:1: expected a JSON object of settings", file);
        struct pctx x = {.text = text, .file = file, .layer = layer};
        /* Check this layer's keys are known first, so the error names them. */
        json_object_object_foreach(layer, k, v)
        {
                (void) v;
                if (lookup_key(k) < 0) {
                        struct kpath p = {.n = 1, .key = {k}};
                        return key_fail(&x, &p, err, "unknown key");
                }
        }
        _cleanup_json_ json_object *merged = vs_config_to_json(c);
        json_object_object_foreach(layer, k2, v2)
            json_object_object_add(merged, k2, json_object_get(v2));
        struct vs_config next;
        if (parse_merged(&x, merged, &next, err) < 0) {
                vs_config_clear(&next);
                return -1;
        }
        for (size_t i = 0; i < c->n_files; i++)
                next.files[i] = xstrdup(c->files[i]);
        next.n_files = c->n_files;
        if (next.n_files < 2)
                next.files[next.n_files++] = xstrdup(file);
        memcpy(next.origin, c->origin, sizeof(next.origin));
        json_object_object_foreach(layer, k3, v3)
        {
                (void) v3;
                next.origin[lookup_key(k3)] = next.files[next.n_files - 1];
        }
        /* Origins pointed into c->files: repoint them at next's copies. */
        for (int i = 0; i < VS_CK_COUNT; i++)
                for (size_t f = 0; f < c->n_files; f++)
                        if (c->origin[i] == c->files[f] &&
                            !json_object_object_get(layer, keys[i].name))
                                next.origin[i] = next.files[f];
        vs_config_clear(c);
        *c = next;
        return 0;
}

int vs_config_apply_file(struct vs_config *c, const char *path, bool must_exist, vs_error **err)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ vs_error *rerr = NULL;
        if (vs_read_file(path, &text, NULL, &rerr) < 0) {
                if (rerr->errno_ == ENOENT && !must_exist)
                        return 0;
                return vs_fail(err, "config file %s", rerr->msg);
        }
        return vs_config_apply(c, text, path, err);
}

static char *user_config_path(void)
{
        const char *xdg = getenv("XDG_CONFIG_HOME");
        if (xdg && xdg[0] == '/')
                return xasprintf("%s/vessel/config.json", xdg);
        const char *home = getenv("HOME");
        if (home && home[0] == '/')
                return xasprintf("%s/.config/vessel/config.json", home);
        return NULL;
}

int vs_config_load(struct vs_config *c, const char *chosen, vs_error **err)
{
        vs_config_init(c);
        const char *sys = getenv("VESSEL_SYSTEM_CONFIG");
        if (sys == NULL || *sys == '\0')
                sys = VS_CONFIG_SYSTEM_PATH;
        if (vs_config_apply_file(c, sys, false, err) < 0)
                return -1;
        if (chosen == NULL || *chosen == '\0')
                chosen = getenv("VESSEL_CONFIG");
        if (chosen && *chosen)
                return vs_config_apply_file(c, chosen, true, err);
        _cleanup_free_ char *user = user_config_path();
        return user ? vs_config_apply_file(c, user, false, err) : 0;
}

static struct vs_config current;
static bool current_set;

const struct vs_config *vs_config_get(void)
{
        if (!current_set) {
                vs_config_init(&current);
                current_set = true;
        }
        return &current;
}

void vs_config_set(struct vs_config *c)
{
        if (current_set)
                vs_config_clear(&current);
        current = *c;
        current_set = true;
        memset(c, 0, sizeof(*c));
        /* The address keys go to the network layer, which reads no
         * configuration itself. */
        struct vs_net_pool_spec *pools = xmalloc((current.n_pools + 1) * sizeof(*pools));
        for (size_t i = 0; i < current.n_pools; i++)
                pools[i] =
                    (struct vs_net_pool_spec){current.pools[i].base, (long) current.pools[i].size};
        vs_net_set_defaults(current.bip, pools, current.n_pools);
        vs_net_set_default_ipv6(current.ipv6, current.fixed_cidr_v6);
        vs_net_set_default_mtu((unsigned) current.mtu);
        free(pools);
}

void vs_config_log_rotation(const char *ms, const char *mf, long long *max_size, int *max_file)
{
        *max_size = VS_DEFAULT_LOG_MAX_SIZE;
        *max_file = VS_DEFAULT_LOG_MAX_FILE;
        int64_t size;
        _cleanup_error_ vs_error *err = NULL;
        if (ms && strcmp(ms, "-1") == 0)
                *max_size = 0;
        else if (ms && vs_parse_size("max-size", ms, &size, &err) == 0)
                *max_size = size;
        if (mf && atoi(mf) >= 1)
                *max_file = atoi(mf);
}
