/* `vessel create`/`run`: flags -> Docker-shaped Config + HostConfig, merged
 * with the image config, in a new record. Every flag is validated here, so
 * a bad value fails before anything exists, with an error naming the flag. */
#include "engine/config.h"
#include "engine/engine.h"
#include "net/net.h"
#include "engine/rootless.h"
#include "vm/vm.h"
#include "image/image.h"
#include "runtime/caps.h"
#include "runtime/container.h"
#include "oci/config.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int vs_parse_size(const char *flag, const char *s, int64_t *out, vs_error **err)
{
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno || v < 0)
                goto bad;
        int64_t mult = 1;
        if (*end) {
                switch (tolower((unsigned char) *end)) {
                case 'b':
                        mult = 1;
                        break;
                case 'k':
                        mult = 1LL << 10;
                        break;
                case 'm':
                        mult = 1LL << 20;
                        break;
                case 'g':
                        mult = 1LL << 30;
                        break;
                case 't':
                        mult = 1LL << 40;
                        break;
                default:
                        goto bad;
                }
                end++;
                /* "512mb", "1GiB"... */
                if (tolower((unsigned char) *end) == 'i')
                        end++;
                if (mult > 1 && tolower((unsigned char) *end) == 'b')
                        end++;
                if (*end)
                        goto bad;
        }
        /* 2^63 itself does not fit in int64_t; "nan" fails every comparison. */
        double bytes = v * (double) mult;
        if (!(bytes < 0x1p63))
                goto bad;
        *out = (int64_t) bytes;
        return 0;
bad:
        return vs_fail(err, "%s: invalid size '%s' (a number with an optional b, k, m or g suffix)",
                       flag, s);
}

static int parse_int(const char *flag, const char *s, int64_t min, int64_t max, int64_t *out,
                     vs_error **err)
{
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end == s || *end || errno || v < min || v > max)
                return vs_fail(
                    err, "%s: invalid value '%s' (an integer from %" PRId64 " to %" PRId64 ")",
                    flag, s, min, max);
        *out = v;
        return 0;
}

int vs_parse_restart(const char *s, char **name, int *max_retries, vs_error **err)
{
        *max_retries = 0;
        if (strcmp(s, "no") == 0 || strcmp(s, "always") == 0 || strcmp(s, "unless-stopped") == 0) {
                *name = xstrdup(s);
                return 0;
        }
        if (strncmp(s, "on-failure", 10) == 0 && (s[10] == '\0' || s[10] == ':')) {
                if (s[10] == ':') {
                        int64_t n;
                        if (parse_int("--restart on-failure:N", s + 11, 0, INT_MAX, &n, err) < 0)
                                return -1;
                        *max_retries = (int) n;
                }
                *name = xstrdup("on-failure");
                return 0;
        }
        if (strchr(s, ':'))
                return vs_fail(err,
                               "--restart: only on-failure takes a maximum retry count "
                               "('%s')",
                               s);
        return vs_fail(err,
                       "--restart: invalid policy '%s' (no, on-failure[:N], always, "
                       "unless-stopped)",
                       s);
}

int vs_parse_signal(const char *flag, const char *s, int *out, vs_error **err)
{
        int sig = vs_signal_from_name(s);
        if (sig <= 0)
                return vs_fail(err, "%s: unknown signal '%s'", flag, s);
        *out = sig;
        return 0;
}

/* "CHOWN", "cap_chown", "ALL" -> "CAP_CHOWN" / "ALL". */
static int normalise_cap(const char *flag, const char *s, char **out, vs_error **err)
{
        if (strcasecmp(s, "ALL") == 0) {
                *out = xstrdup("ALL");
                return 0;
        }
        _cleanup_free_ char *name =
            strncasecmp(s, "CAP_", 4) == 0 ? xstrdup(s) : xasprintf("CAP_%s", s);
        for (char *p = name; *p; p++)
                *p = (char) toupper((unsigned char) *p);
        if (vs_cap_from_name(name) < 0)
                return vs_fail(err, "%s: unknown capability '%s'", flag, s);
        *out = steal_ptr(name);
        return 0;
}

static json_object *strv_json(char *const *v)
{
        json_object *a = json_object_new_array();
        for (size_t i = 0; v && v[i]; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        return a;
}

/* Env: later entries override earlier ones with the same key. "KEY" alone
 * takes the value from our own environment (dropped when unset). */
static void env_set(char ***env, const char *entry)
{
        _cleanup_free_ char *kv = NULL;
        if (strchr(entry, '=') == NULL) {
                const char *v = getenv(entry);
                if (v == NULL)
                        return;
                kv = xasprintf("%s=%s", entry, v);
                entry = kv;
        }
        size_t klen = (size_t) (strchr(entry, '=') - entry);
        for (size_t i = 0; *env && (*env)[i]; i++) {
                if (strncmp((*env)[i], entry, klen) == 0 && (*env)[i][klen] == '=') {
                        free((*env)[i]);
                        (*env)[i] = xstrdup(entry);
                        return;
                }
        }
        strv_push(env, entry);
}

static int read_env_file(const char *path, char ***env, vs_error **err)
{
        _cleanup_free_ char *text = NULL;
        if (vs_read_file(path, &text, NULL, err) < 0)
                return vs_error_wrap(err, "--env-file");
        char *save = NULL;
        size_t lineno = 0;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                lineno++;
                while (isspace((unsigned char) *line))
                        line++;
                size_t n = strlen(line);
                while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
                        line[--n] = '\0';
                if (*line == '\0' || *line == '#')
                        continue;
                if (*line == '=')
                        return vs_fail(err, "--env-file %s:%zu: variable name missing", path,
                                       lineno);
                env_set(env, line);
        }
        return 0;
}

/* --label K[=V] (no value: empty), after the lines of every --label-file
 * (# comments and blank lines skipped): into labels, the later winning. */
static int add_label(const char *where, const char *kv, json_object *labels, vs_error **err)
{
        const char *eq = strchr(kv, '=');
        if (*kv == '\0' || eq == kv)
                return vs_fail(err, "%s: invalid label '%s': the key is empty", where, kv);
        _cleanup_free_ char *key = eq ? xstrndup(kv, (size_t) (eq - kv)) : xstrdup(kv);
        json_object_object_add(labels, key, json_object_new_string(eq ? eq + 1 : ""));
        return 0;
}

static int parse_labels(const struct vs_run_flags *f, json_object *labels, vs_error **err)
{
        for (size_t i = 0; f->label_files && f->label_files[i]; i++) {
                const char *path = f->label_files[i];
                _cleanup_free_ char *text = NULL;
                if (vs_read_file(path, &text, NULL, err) < 0)
                        return vs_error_wrap(err, "--label-file");
                char *save = NULL;
                size_t lineno = 0;
                for (char *line = strtok_r(text, "\n", &save); line;
                     line = strtok_r(NULL, "\n", &save)) {
                        lineno++;
                        while (isspace((unsigned char) *line))
                                line++;
                        size_t n = strlen(line);
                        while (n && isspace((unsigned char) line[n - 1]))
                                line[--n] = '\0';
                        if (*line == '\0' || *line == '#')
                                continue;
                        _cleanup_free_ char *where = xasprintf("--label-file %s:%zu", path, lineno);
                        if (add_label(where, line, labels, err) < 0)
                                return -1;
                }
        }
        for (size_t i = 0; f->labels && f->labels[i]; i++)
                if (add_label("--label", f->labels[i], labels, err) < 0)
                        return -1;
        return 0;
}

static int check_env(const char *flag, const char *e, vs_error **err)
{
        if (*e == '\0' || *e == '=')
                return vs_fail(err, "%s: invalid environment variable '%s'", flag, e);
        return 0;
}

static bool is_propagation(const char *o)
{
        static const char *const names[] = {"private", "rprivate", "shared", "rshared",
                                            "slave",   "rslave",   NULL};
        for (size_t i = 0; names[i]; i++)
                if (strcmp(o, names[i]) == 0)
                        return true;
        return false;
}

static bool is_volume_name(const char *s)
{
        if (!isalnum((unsigned char) *s))
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("_.-", *s))
                        return false;
        return true;
}

/* -v HOST:CTR[:OPTS], -v NAME:CTR[:OPTS] (named volume), -v CTR (anonymous
 * volume). Fills one Docker-shaped Mounts entry and the Binds string. */
static int parse_volume(struct vs_engine *e, const char *spec, json_object *mounts,
                        json_object *binds, json_object *volumes, vs_error **err)
{
        _cleanup_free_ char *copy = xstrdup(spec);
        char *parts[3] = {NULL};
        size_t n = 0;
        for (char *save = NULL, *tok = strtok_r(copy, ":", &save); tok;
             tok = strtok_r(NULL, ":", &save)) {
                if (n == 3)
                        return vs_fail(err, "--volume: invalid spec '%s' (HOST:CONTAINER[:ro])",
                                       spec);
                parts[n++] = tok;
        }
        if (n == 0)
                return vs_fail(err, "--volume: empty spec");
        const char *src = n >= 2 ? parts[0] : NULL;
        const char *dst = n >= 2 ? parts[1] : parts[0];
        const char *opts = n == 3 ? parts[2] : "";
        if (dst[0] != '/' || strcmp(dst, "/") == 0)
                return vs_fail(err, "--volume %s: the container path must be absolute and not /",
                               spec);
        bool rw = true, idmap = false;
        const char *propagation = "rprivate";
        _cleanup_free_ char *ocopy = xstrdup(opts);
        for (char *save = NULL, *o = strtok_r(ocopy, ",", &save); o;
             o = strtok_r(NULL, ",", &save)) {
                if (strcmp(o, "ro") == 0)
                        rw = false;
                else if (strcmp(o, "rw") == 0)
                        rw = true;
                else if (is_propagation(o))
                        propagation = o;
                else if (strcmp(o, "idmap") == 0)
                        idmap = true;
                else if (strcmp(o, "z") == 0 || strcmp(o, "Z") == 0)
                        ; /* SELinux relabel: nothing to do without SELinux */
                else
                        return vs_fail(err,
                                       "--volume %s: unknown option '%s' (ro, rw, idmap, "
                                       "[r]private, [r]shared, [r]slave)",
                                       spec, o);
        }
        json_object *m = json_object_new_object();
        _cleanup_free_ char *source = NULL, *vname = NULL;
        if (src && src[0] == '/') {
                _cleanup_error_ vs_error *merr = NULL;
                if (!vs_path_exists(src) && vs_mkdir_p(src, 0755, &merr) < 0) {
                        json_object_put(m);
                        return vs_fail(err, "--volume %s: cannot create %s: %s", spec, src,
                                       merr->msg);
                }
                source = realpath(src, NULL);
                if (source == NULL) {
                        json_object_put(m);
                        return vs_fail_errno(err, "--volume %s: %s", spec, src);
                }
                json_object_object_add(m, "Type", json_object_new_string("bind"));
        } else {
                if (src && !is_volume_name(src)) {
                        json_object_put(m);
                        return vs_fail(err,
                                       "--volume %s: '%s' is neither an absolute host path "
                                       "nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)",
                                       spec, src);
                }
                vname = src ? xstrdup(src) : vs_random_hex(32);
                source = xasprintf("%s/volumes/%s/_data", e->data_root, vname);
                if (vs_mkdir_p(source, 0755, err) < 0) {
                        json_object_put(m);
                        return vs_error_wrap(err, "--volume %s", spec);
                }
                json_object_object_add(m, "Type", json_object_new_string("volume"));
                json_object_object_add(m, "Name", json_object_new_string(vname));
                if (src == NULL) {
                        json_object_object_add(m, "Anonymous", json_object_new_boolean(1));
                        json_object_object_add(volumes, dst, json_object_new_object());
                }
        }
        json_object_object_add(m, "Source", json_object_new_string(source));
        json_object_object_add(m, "Destination", json_object_new_string(dst));
        json_object_object_add(m, "Mode", json_object_new_string(opts));
        json_object_object_add(m, "RW", json_object_new_boolean(rw));
        json_object_object_add(m, "Propagation", json_object_new_string(propagation));
        if (idmap)
                json_object_object_add(m, "Idmap", json_object_new_boolean(1));
        json_object_array_add(mounts, m);
        if (src)
                json_object_array_add(binds, json_object_new_string(spec));
        return 0;
}

static int parse_tmpfs(const char *spec, json_object *tmpfs, json_object *mounts, vs_error **err)
{
        _cleanup_free_ char *copy = xstrdup(spec);
        char *colon = strchr(copy, ':');
        const char *opts = "";
        if (colon) {
                *colon = '\0';
                opts = colon + 1;
        }
        if (copy[0] != '/' || strcmp(copy, "/") == 0)
                return vs_fail(err, "--tmpfs %s: the container path must be absolute and not /",
                               spec);
        _cleanup_free_ char *ocopy = xstrdup(opts);
        for (char *save = NULL, *o = strtok_r(ocopy, ",", &save); o;
             o = strtok_r(NULL, ",", &save)) {
                int64_t size;
                if (strncmp(o, "size=", 5) == 0 &&
                    vs_parse_size("--tmpfs size", o + 5, &size, err) < 0)
                        return -1;
                if (strncmp(o, "mode=", 5) == 0 &&
                    (strspn(o + 5, "01234567") != strlen(o + 5) || strlen(o + 5) == 0))
                        return vs_fail(err, "--tmpfs %s: invalid mode '%s' (octal)", spec, o + 5);
        }
        json_object_object_add(tmpfs, copy, json_object_new_string(opts));
        json_object *m = json_object_new_object();
        json_object_object_add(m, "Type", json_object_new_string("tmpfs"));
        json_object_object_add(m, "Source", json_object_new_string(""));
        json_object_object_add(m, "Destination", json_object_new_string(copy));
        json_object_object_add(m, "Mode", json_object_new_string(opts));
        json_object_object_add(m, "RW", json_object_new_boolean(strstr(opts, "ro") != opts));
        json_object_object_add(m, "Propagation", json_object_new_string(""));
        json_object_array_add(mounts, m);
        return 0;
}

/* --mount's fields (Docker's CSV, cli/opts/mount.go). */
struct mount_spec {
        const char *type, *source, *target, *propagation, *tmpfs_size, *tmpfs_mode;
        bool readonly;
};

static int parse_bool_field(const char *spec, const char *key, const char *v, bool *out,
                            vs_error **err)
{
        if (v == NULL || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
                *out = true;
        else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
                *out = false;
        else
                return vs_fail(err, "--mount %s: invalid value '%s' for %s (true or false)", spec,
                               v, key);
        return 0;
}

static int mount_fields(const char *spec, char *copy, struct mount_spec *m, vs_error **err)
{
        m->type = "volume";
        for (char *save = NULL, *f = strtok_r(copy, ",", &save); f;
             f = strtok_r(NULL, ",", &save)) {
                char *v = strchr(f, '=');
                if (v)
                        *v++ = '\0';
                if (strcmp(f, "readonly") == 0 || strcmp(f, "ro") == 0) {
                        if (parse_bool_field(spec, f, v, &m->readonly, err) < 0)
                                return -1;
                        continue;
                }
                if (v == NULL)
                        return vs_fail(err, "--mount %s: invalid field '%s': not KEY=VALUE", spec,
                                       f);
                if (strcmp(f, "type") == 0)
                        m->type = v;
                else if (strcmp(f, "source") == 0 || strcmp(f, "src") == 0)
                        m->source = v;
                else if (strcmp(f, "target") == 0 || strcmp(f, "destination") == 0 ||
                         strcmp(f, "dst") == 0)
                        m->target = v;
                else if (strcmp(f, "bind-propagation") == 0)
                        m->propagation = v;
                else if (strcmp(f, "tmpfs-size") == 0)
                        m->tmpfs_size = v;
                else if (strcmp(f, "tmpfs-mode") == 0)
                        m->tmpfs_mode = v;
                else if (strcmp(f, "consistency") == 0)
                        ; /* Docker for Mac's; no meaning on Linux (Docker ignores it too) */
                else
                        return vs_fail(err,
                                       "--mount %s: unknown key '%s' (type, source, target, "
                                       "readonly, bind-propagation, tmpfs-size, tmpfs-mode)",
                                       spec, f);
        }
        if (strcmp(m->type, "bind") && strcmp(m->type, "volume") && strcmp(m->type, "tmpfs"))
                return vs_fail(err, "--mount %s: unsupported type '%s' (bind, volume, tmpfs)", spec,
                               m->type);
        if (m->target == NULL || *m->target == '\0')
                return vs_fail(err, "--mount %s: target is required", spec);
        if (strchr(m->target, ':') || (m->source && strchr(m->source, ':')))
                return vs_fail(err, "--mount %s: a path with ':' is not supported", spec);
        bool tmpfs = strcmp(m->type, "tmpfs") == 0, bind = strcmp(m->type, "bind") == 0;
        if (tmpfs && m->source)
                return vs_fail(err, "--mount %s: a tmpfs mount takes no source", spec);
        if (bind && (m->source == NULL || *m->source == '\0'))
                return vs_fail(err, "--mount %s: a bind mount needs a source", spec);
        if (!tmpfs && (m->tmpfs_size || m->tmpfs_mode))
                return vs_fail(err, "--mount %s: tmpfs options on a %s mount", spec, m->type);
        if (!bind && m->propagation)
                return vs_fail(err, "--mount %s: bind-propagation on a %s mount", spec, m->type);
        if (m->propagation && !is_propagation(m->propagation))
                return vs_fail(err, "--mount %s: invalid bind-propagation '%s'", spec,
                               m->propagation);
        return 0;
}

static int parse_ulimit(const char *spec, json_object *out, vs_error **err)
{
        static const char *const names[] = {"core",    "cpu",      "data",   "fsize",      "locks",
                                            "memlock", "msgqueue", "nice",   "nofile",     "nproc",
                                            "rss",     "rtprio",   "rttime", "sigpending", "stack",
                                            "as",      NULL};
        const char *eq = strchr(spec, '=');
        if (eq == NULL)
                return vs_fail(err, "--ulimit: invalid spec '%s' (NAME=SOFT[:HARD])", spec);
        _cleanup_free_ char *name = xstrndup(spec, (size_t) (eq - spec));
        bool known = false;
        for (size_t i = 0; names[i] && !known; i++)
                known = strcmp(names[i], name) == 0;
        if (!known)
                return vs_fail(err,
                               "--ulimit: unknown limit '%s' (nofile, nproc, core, stack, "
                               "memlock, ...)",
                               name);
        _cleanup_free_ char *vals = xstrdup(eq + 1);
        char *colon = strchr(vals, ':');
        if (colon)
                *colon = '\0';
        int64_t soft, hard;
        if (parse_int("--ulimit", vals, -1, INT64_MAX, &soft, err) < 0)
                return -1;
        hard = soft;
        if (colon && parse_int("--ulimit", colon + 1, -1, INT64_MAX, &hard, err) < 0)
                return -1;
        if (soft != -1 && hard != -1 && soft > hard)
                return vs_fail(err,
                               "--ulimit %s: soft limit %" PRId64 " exceeds hard limit %" PRId64,
                               spec, soft, hard);
        json_object *u = json_object_new_object();
        json_object_object_add(u, "Name", json_object_new_string(name));
        json_object_object_add(u, "Soft", json_object_new_int64(soft));
        json_object_object_add(u, "Hard", json_object_new_int64(hard));
        json_object_array_add(out, u);
        return 0;
}

static int parse_throttle(const char *flag, const char *spec, bool iops, json_object *out,
                          vs_error **err)
{
        const char *colon = strrchr(spec, ':');
        if (colon == NULL || colon == spec)
                return vs_fail(err, "%s: invalid spec '%s' (DEVICE:RATE)", flag, spec);
        _cleanup_free_ char *path = xstrndup(spec, (size_t) (colon - spec));
        struct stat st;
        if (stat(path, &st) < 0)
                return vs_fail_errno(err, "%s: %s", flag, path);
        if (!S_ISBLK(st.st_mode))
                return vs_fail(err, "%s: %s is not a block device", flag, path);
        int64_t rate;
        if (iops) {
                if (parse_int(flag, colon + 1, 0, INT64_MAX, &rate, err) < 0)
                        return -1;
        } else if (vs_parse_size(flag, colon + 1, &rate, err) < 0) {
                return -1;
        }
        json_object *t = json_object_new_object();
        json_object_object_add(t, "Path", json_object_new_string(path));
        json_object_object_add(t, "Rate", json_object_new_int64(rate));
        json_object_array_add(out, t);
        return 0;
}

static int parse_cpuset(const char *s, vs_error **err)
{
        /* "0-3,5": numbers and ranges. */
        const char *p = s;
        if (*p == '\0')
                goto bad;
        while (*p) {
                char *end;
                long a = strtol(p, &end, 10);
                if (end == p || a < 0)
                        goto bad;
                p = end;
                if (*p == '-') {
                        long b = strtol(p + 1, &end, 10);
                        if (end == p + 1 || b < a)
                                goto bad;
                        p = end;
                }
                if (*p == ',')
                        p++;
                else if (*p)
                        goto bad;
        }
        return 0;
bad:
        return vs_fail(err, "--cpuset-cpus: invalid CPU list '%s' (e.g. 0-2,4)", s);
}

static int parse_security_opts(char **opts, json_object *hc, vs_error **err)
{
        json_object *arr = json_object_new_array();
        json_object_object_add(hc, "SecurityOpt", arr);
        if (vs_config_get()->no_new_privileges) /* the file's default; a flag overrides */
                json_object_object_add(hc, "NoNewPrivileges", json_object_new_boolean(1));
        for (size_t i = 0; opts && opts[i]; i++) {
                const char *o = opts[i];
                json_object_array_add(arr, json_object_new_string(o));
                if (strcmp(o, "no-new-privileges") == 0 ||
                    strcmp(o, "no-new-privileges=true") == 0 ||
                    strcmp(o, "no-new-privileges:true") == 0) {
                        json_object_object_add(hc, "NoNewPrivileges", json_object_new_boolean(1));
                } else if (strcmp(o, "no-new-privileges=false") == 0 ||
                           strcmp(o, "no-new-privileges:false") == 0) {
                        json_object_object_add(hc, "NoNewPrivileges", json_object_new_boolean(0));
                } else if (strncmp(o, "seccomp=", 8) == 0 || strncmp(o, "seccomp:", 8) == 0) {
                        const char *v = o + 8;
                        if (strcmp(v, "unconfined") == 0) {
                                json_object_object_add(hc, "SeccompProfile",
                                                       json_object_new_string("unconfined"));
                                continue;
                        }
                        _cleanup_json_ json_object *prof = NULL;
                        if (vs_json_parse_file(v, &prof, err) < 0)
                                return vs_error_wrap(err, "--security-opt seccomp");
                        /* Reject now what the runtime would reject at start. */
                        struct oci_seccomp *sc = NULL;
                        if (oci_seccomp_parse(prof, "--security-opt seccomp", &sc, err) < 0)
                                return -1;
                        oci_seccomp_free(sc);
                        json_object_object_add(hc, "SeccompProfile", json_object_get(prof));
                } else {
                        return vs_fail(err,
                                       "--security-opt: unsupported option '%s' "
                                       "(seccomp=PROFILE|unconfined, no-new-privileges)",
                                       o);
                }
        }
        return 0;
}

static int64_t online_cpus(void)
{
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 ? n : 1;
}

/* The configured default-ulimits, for each limit no --ulimit named. The
 * built-in default (Docker's nofile 1024:524288) is capped at this
 * process's hard limit, which the container cannot exceed; configured
 * values are used as written (a start above the host's hard limit fails
 * naming the limit). */
static void add_default_ulimits(json_object *ul)
{
        const struct vs_config *cfg = vs_config_get();
        bool builtin = cfg->origin[VS_CK_DEFAULT_ULIMITS] == NULL;
        for (size_t i = 0; i < cfg->n_ulimits; i++) {
                const struct vs_config_ulimit *d = &cfg->ulimits[i];
                bool given = false;
                for (size_t j = 0; j < json_object_array_length(ul) && !given; j++)
                        given = strcmp(json_object_get_string(json_object_object_get(
                                           json_object_array_get_idx(ul, j), "Name")),
                                       d->name) == 0;
                if (given)
                        continue;
                int64_t soft = d->soft, hard = d->hard;
                struct rlimit rl;
                if (builtin && strcmp(d->name, "nofile") == 0 &&
                    getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
                    (hard == -1 || (uint64_t) hard > rl.rlim_max)) {
                        hard = (int64_t) rl.rlim_max;
                        if (soft == -1 || soft > hard)
                                soft = hard;
                }
                json_object *u = json_object_new_object();
                json_object_object_add(u, "Name", json_object_new_string(d->name));
                json_object_object_add(u, "Soft", json_object_new_int64(soft));
                json_object_object_add(u, "Hard", json_object_new_int64(hard));
                json_object_array_add(ul, u);
        }
}

/* The first resource-limit flag given, or NULL. */
static const char *first_limit_flag(const struct vs_run_flags *f)
{
        if (f->memory || f->memory_swap)
                return "--memory";
        if (f->cpus || f->cpu_shares || f->cpuset_cpus)
                return "--cpus";
        if (f->cpu_period || f->cpu_quota)
                return f->cpu_period ? "--cpu-period" : "--cpu-quota";
        if (f->pids_limit && strcmp(f->pids_limit, "0") != 0 && strcmp(f->pids_limit, "-1") != 0)
                return "--pids-limit";
        if (f->blkio_weight || f->device_read_bps || f->device_write_bps || f->device_read_iops ||
            f->device_write_iops)
                return "--blkio-weight";
        return NULL;
}

static int parse_resources(const struct vs_run_flags *f, json_object *hc, vs_error **err)
{
        int64_t v;
        const char *limit = vs_rootless() ? first_limit_flag(f) : NULL;
        if (limit && vs_rootless_limits(limit, err) < 0)
                return -1;
        int64_t memory = 0;
        if (f->memory) {
                if (vs_parse_size("--memory", f->memory, &memory, err) < 0)
                        return -1;
                if (memory != 0 && memory < 6 * (1 << 20))
                        return vs_fail(err, "--memory: %s is below the minimum of 6m", f->memory);
                json_object_object_add(hc, "Memory", json_object_new_int64(memory));
        }
        if (f->memory_swap) {
                if (strcmp(f->memory_swap, "-1") == 0) {
                        v = -1;
                } else {
                        if (vs_parse_size("--memory-swap", f->memory_swap, &v, err) < 0)
                                return -1;
                        if (memory == 0)
                                return vs_fail(err, "--memory-swap needs --memory as well");
                        if (v < memory)
                                return vs_fail(err,
                                               "--memory-swap %s is less than --memory %s: "
                                               "it is memory plus swap",
                                               f->memory_swap, f->memory);
                }
                json_object_object_add(hc, "MemorySwap", json_object_new_int64(v));
        }
        if (f->cpus) {
                char *end;
                errno = 0;
                double cpus = strtod(f->cpus, &end);
                if (end == f->cpus || *end || errno || !(cpus > 0)) /* NaN too */
                        return vs_fail(err, "--cpus: invalid number '%s'", f->cpus);
                if (cpus > (double) online_cpus() || cpus < 0.01)
                        return vs_fail(err,
                                       "--cpus: %s is out of range: this host has CPUs from "
                                       "0.01 to %" PRId64 ".00",
                                       f->cpus, online_cpus());
                json_object_object_add(hc, "NanoCpus",
                                       json_object_new_int64((int64_t) (cpus * 1e9 + 0.5)));
        }
        if (f->cpu_shares) {
                if (parse_int("--cpu-shares", f->cpu_shares, 0, 262144, &v, err) < 0)
                        return -1;
                if (v != 0 && v < 2)
                        return vs_fail(err, "--cpu-shares: %s is below the minimum of 2",
                                       f->cpu_shares);
                json_object_object_add(hc, "CpuShares", json_object_new_int64(v));
        }
        if (f->cpu_period || f->cpu_quota) {
                /* Docker's rules (daemon_unix.go): CFS periods of 1ms to 1s,
                 * quotas of at least 1ms (-1 or 0: none), not with --cpus. */
                int64_t period = 0, quota = 0;
                if (f->cpu_period &&
                    parse_int("--cpu-period", f->cpu_period, 0, INT64_MAX, &period, err) < 0)
                        return -1;
                if (f->cpu_quota &&
                    parse_int("--cpu-quota", f->cpu_quota, -1, INT64_MAX, &quota, err) < 0)
                        return -1;
                if (period != 0 && (period < 1000 || period > 1000000))
                        return vs_fail(err,
                                       "--cpu-period: %s is out of range: a CFS period is "
                                       "1000 to 1000000 microseconds (1ms to 1s)",
                                       f->cpu_period);
                if (quota > 0 && quota < 1000)
                        return vs_fail(err,
                                       "--cpu-quota: %s is below the minimum of 1000 "
                                       "microseconds (1ms)",
                                       f->cpu_quota);
                if (f->cpus && (period || quota))
                        return vs_fail(err,
                                       "conflicting options: --cpus and --%s cannot both "
                                       "be set",
                                       period ? "cpu-period" : "cpu-quota");
                if (f->cpu_period)
                        json_object_object_add(hc, "CpuPeriod", json_object_new_int64(period));
                if (f->cpu_quota)
                        json_object_object_add(hc, "CpuQuota", json_object_new_int64(quota));
        }
        if (f->cpuset_cpus) {
                if (parse_cpuset(f->cpuset_cpus, err) < 0)
                        return -1;
                json_object_object_add(hc, "CpusetCpus", json_object_new_string(f->cpuset_cpus));
        }
        if (f->pids_limit) {
                if (parse_int("--pids-limit", f->pids_limit, -1, INT64_MAX, &v, err) < 0)
                        return -1;
                json_object_object_add(hc, "PidsLimit", json_object_new_int64(v <= 0 ? -1 : v));
        } else if (vs_config_get()->pids_limit > 0 && !vs_rootless()) {
                /* Not the rootless engine's default: it has no cgroup. */
                json_object_object_add(hc, "PidsLimit",
                                       json_object_new_int64(vs_config_get()->pids_limit));
        }
        if (f->blkio_weight) {
                if (parse_int("--blkio-weight", f->blkio_weight, 0, 1000, &v, err) < 0)
                        return -1;
                if (v != 0 && v < 10)
                        return vs_fail(err, "--blkio-weight: %s is out of range (10 to 1000)",
                                       f->blkio_weight);
                json_object_object_add(hc, "BlkioWeight", json_object_new_int64(v));
        }
        static const struct {
                const char *flag, *key;
                bool iops;
                size_t off;
        } throttles[] = {
            {"--device-read-bps", "BlkioDeviceReadBps", false,
             offsetof(struct vs_run_flags, device_read_bps)},
            {"--device-write-bps", "BlkioDeviceWriteBps", false,
             offsetof(struct vs_run_flags, device_write_bps)},
            {"--device-read-iops", "BlkioDeviceReadIOps", true,
             offsetof(struct vs_run_flags, device_read_iops)},
            {"--device-write-iops", "BlkioDeviceWriteIOps", true,
             offsetof(struct vs_run_flags, device_write_iops)},
        };
        for (size_t t = 0; t < sizeof(throttles) / sizeof(throttles[0]); t++) {
                char **list = *(char ***) ((const char *) f + throttles[t].off);
                json_object *arr = json_object_new_array();
                json_object_object_add(hc, throttles[t].key, arr);
                for (size_t i = 0; list && list[i]; i++)
                        if (parse_throttle(throttles[t].flag, list[i], throttles[t].iops, arr,
                                           err) < 0)
                                return -1;
        }
        json_object *ul = json_object_new_array();
        json_object_object_add(hc, "Ulimits", ul);
        for (size_t i = 0; f->ulimits && f->ulimits[i]; i++)
                if (parse_ulimit(f->ulimits[i], ul, err) < 0)
                        return -1;
        add_default_ulimits(ul);
        return 0;
}

int vs_engine_parse_resources(const struct vs_run_flags *f, json_object *hc, vs_error **err)
{
        return parse_resources(f, hc, err);
}

/* --isolation: "container" (the default) or "vm" (src/vm, docs/vm.md). */
static int parse_isolation(const struct vs_run_flags *f, json_object *hc, vs_error **err)
{
        const char *iso = f->isolation ? f->isolation : "container";
        if (strcmp(iso, "default") == 0)
                iso = "container";
        if (strcmp(iso, "container") != 0 && strcmp(iso, "vm") != 0)
                return vs_fail(err, "--isolation: unsupported value '%s' (container, vm)", iso);
        json_object_object_add(hc, "Isolation", json_object_new_string(iso));
        if (f->vm_rootfs && strcmp(iso, "vm") != 0)
                return vs_fail(err, "--vm-rootfs needs --isolation=vm");
        if (strcmp(iso, "vm") != 0)
                return 0;
        if (f->vm_rootfs && strcmp(f->vm_rootfs, "9p") != 0 && strcmp(f->vm_rootfs, "block") != 0)
                return vs_fail(err, "--vm-rootfs: unsupported value '%s' (9p, block)",
                               f->vm_rootfs);
        if (f->vm_rootfs && strcmp(f->vm_rootfs, "block") == 0)
                json_object_object_add(hc, VS_VM_HC_ROOTFS, json_object_new_string("block"));
        if (f->memory) {
                int64_t m = 0;
                if (vs_parse_size("--memory", f->memory, &m, err) < 0)
                        return -1;
                if (m < VS_VM_MIN_MEMORY)
                        return vs_fail(err, "--memory: %s is below the VM guest minimum of %lldm",
                                       f->memory, VS_VM_MIN_MEMORY >> 20);
        }
        return 0;
}

/* -v SRC:DST:idmap maps the source's ids as the container's: it needs a
 * user namespace. */
static int check_idmap_volumes(json_object *hc, json_object *mounts, vs_error **err)
{
        const char *mode = json_object_get_string(json_object_object_get(hc, "UsernsMode"));
        for (size_t i = 0; i < json_object_array_length(mounts); i++) {
                json_object *m = json_object_array_get_idx(mounts, i);
                if (json_object_object_get(m, "Idmap") && vs_rootless())
                        return vs_fail(
                            err,
                            "--volume %s: idmap needs host root (the kernel makes idmapped "
                            "mounts of the host's filesystems for host root only); with "
                            "--userns=keep-id your own files are yours inside",
                            json_object_get_string(json_object_object_get(m, "Destination")));
                if (json_object_object_get(m, "Idmap") && (mode == NULL || *mode == '\0'))
                        return vs_fail(
                            err,
                            "--volume %s: idmap needs a user namespace "
                            "(--userns=auto or --uidmap)",
                            json_object_get_string(json_object_object_get(m, "Destination")));
        }
        return 0;
}

/* Docker's LogConfig from --log-driver/--log-opt, else the configured
 * driver and rotation; the monitor rotates by it (monitor_io.c). json-file
 * and local keep the same JSON lines (local with Docker's local defaults,
 * 20m x 5); none keeps nothing and `logs` says so. */
static int parse_log_config(const struct vs_run_flags *f, json_object *hc, vs_error **err)
{
        const struct vs_config *cfg = vs_config_get();
        const char *driver = f->log_driver ? f->log_driver : cfg->log_driver;
        if (strcmp(driver, "json-file") && strcmp(driver, "local") && strcmp(driver, "none"))
                return vs_fail(err,
                               "--log-driver: unsupported logging driver '%s' (json-file, "
                               "local, none)",
                               driver);
        bool flagged = f->log_driver && strcmp(f->log_driver, cfg->log_driver) != 0;
        bool local = strcmp(driver, "local") == 0;
        _cleanup_free_ char *ms = flagged             ? xstrdup(local ? "20m" : "-1")
                                  : cfg->log_max_size ? xasprintf("%" PRId64, cfg->log_max_size)
                                                      : xstrdup("-1");
        _cleanup_free_ char *mf =
            flagged ? xstrdup(local ? "5" : "1") : xasprintf("%" PRId64, cfg->log_max_file);
        for (size_t i = 0; f->log_opts && f->log_opts[i]; i++) {
                const char *o = f->log_opts[i], *eq = strchr(o, '=');
                if (eq == NULL)
                        return vs_fail(err, "--log-opt %s: expected KEY=VALUE", o);
                size_t klen = (size_t) (eq - o);
                int64_t n = 0;
                if (strcmp(driver, "none") != 0 && klen == 8 && strncmp(o, "max-size", 8) == 0) {
                        if (strcmp(eq + 1, "-1") != 0 &&
                            (vs_parse_size("--log-opt max-size", eq + 1, &n, err) < 0 || n <= 0))
                                return vs_fail(err, "--log-opt max-size: invalid size '%s'",
                                               eq + 1);
                        free(ms);
                        ms = xstrdup(eq + 1);
                } else if (strcmp(driver, "none") != 0 && klen == 8 &&
                           strncmp(o, "max-file", 8) == 0) {
                        char *end;
                        long v = strtol(eq + 1, &end, 10);
                        if (*end || end == eq + 1 || v < 1 || v > 1000)
                                return vs_fail(err,
                                               "--log-opt max-file: '%s' is not a number of "
                                               "files (at least 1)",
                                               eq + 1);
                        free(mf);
                        mf = xstrdup(eq + 1);
                } else {
                        return vs_fail(err, "--log-opt: unknown log opt '%.*s' for %s log driver",
                                       (int) klen, o, driver);
                }
        }
        /* The monitor reads sizes in bytes or Docker's units. */
        json_object *lc = json_object_new_object(), *lopts = json_object_new_object();
        json_object_object_add(lc, "Type", json_object_new_string(driver));
        if (strcmp(driver, "none") != 0) {
                json_object_object_add(lopts, "max-size", json_object_new_string(ms));
                json_object_object_add(lopts, "max-file", json_object_new_string(mf));
        }
        json_object_object_add(lc, "Config", lopts);
        json_object_object_add(hc, "LogConfig", lc);
        return 0;
}

/* --mount type=bind|volume|tmpfs,...: the same mounts as -v and --tmpfs
 * make (one implementation), with Docker's stricter rules (a bind source
 * must exist), recorded in HostConfig.Mounts as Docker records them. */
static int parse_mount(struct vs_engine *e, const char *spec, json_object *hc, json_object *mounts,
                       json_object *volumes, vs_error **err)
{
        _cleanup_free_ char *copy = xstrdup(spec);
        struct mount_spec m = {0};
        if (mount_fields(spec, copy, &m, err) < 0)
                return -1;
        json_object *rec = json_object_new_object();
        json_object_array_add(json_object_object_get(hc, "Mounts"), rec);
        json_object_object_add(rec, "Type", json_object_new_string(m.type));
        if (m.source)
                json_object_object_add(rec, "Source", json_object_new_string(m.source));
        json_object_object_add(rec, "Target", json_object_new_string(m.target));
        if (m.readonly)
                json_object_object_add(rec, "ReadOnly", json_object_new_boolean(1));
        if (strcmp(m.type, "tmpfs") == 0) {
                _cleanup_free_ char *opts = xasprintf(
                    "%s%s%s%s%s%s", m.tmpfs_size ? "size=" : "", m.tmpfs_size ? m.tmpfs_size : "",
                    m.tmpfs_size && m.tmpfs_mode ? "," : "", m.tmpfs_mode ? "mode=" : "",
                    m.tmpfs_mode ? m.tmpfs_mode : "",
                    m.readonly ? (m.tmpfs_size || m.tmpfs_mode ? ",ro" : "ro") : "");
                _cleanup_free_ char *tspec = xasprintf("%s:%s", m.target, opts);
                _cleanup_json_ json_object *scratch = json_object_new_object();
                json_object *to = json_object_new_object();
                if (m.tmpfs_size || m.tmpfs_mode)
                        json_object_object_add(rec, "TmpfsOptions", to);
                else
                        json_object_put(to);
                if (m.tmpfs_size) {
                        int64_t size;
                        if (vs_parse_size("--mount tmpfs-size", m.tmpfs_size, &size, err) < 0)
                                return -1;
                        json_object_object_add(to, "SizeBytes", json_object_new_int64(size));
                }
                if (m.tmpfs_mode)
                        json_object_object_add(
                            to, "Mode", json_object_new_int64(strtol(m.tmpfs_mode, NULL, 8)));
                if (parse_tmpfs(tspec, scratch, mounts, err) < 0)
                        return vs_error_wrap(err, "--mount %s", spec);
                json_object *last =
                    json_object_array_get_idx(mounts, json_object_array_length(mounts) - 1);
                json_object_object_add(last, "RW", json_object_new_boolean(!m.readonly));
                return 0;
        }
        if (strcmp(m.type, "bind") == 0) {
                struct stat st;
                if (m.source[0] != '/')
                        return vs_fail(err, "--mount %s: the bind source must be an absolute path",
                                       spec);
                if (stat(m.source, &st) < 0)
                        return vs_fail(err, "--mount %s: bind source path does not exist: %s", spec,
                                       m.source);
                if (m.propagation) {
                        json_object *bo = json_object_new_object();
                        json_object_object_add(bo, "Propagation",
                                               json_object_new_string(m.propagation));
                        json_object_object_add(rec, "BindOptions", bo);
                }
        }
        _cleanup_free_ char *vspec =
            m.source ? xasprintf("%s:%s", m.source, m.target) : xstrdup(m.target);
        _cleanup_json_ json_object *scratch = json_object_new_array();
        if (parse_volume(e, vspec, mounts, scratch, volumes, err) < 0)
                return vs_error_wrap(err, "--mount %s", spec);
        json_object *last = json_object_array_get_idx(mounts, json_object_array_length(mounts) - 1);
        /* Docker gives volumes of --mount its default SELinux label, "z". */
        bool volume = strcmp(m.type, "volume") == 0;
        json_object_object_add(last, "Mode", json_object_new_string(volume ? "z" : ""));
        json_object_object_add(last, "RW", json_object_new_boolean(!m.readonly));
        if (m.propagation)
                json_object_object_add(last, "Propagation", json_object_new_string(m.propagation));
        return 0;
}

static int build_host_config(struct vs_engine *e, const struct vs_run_flags *f, json_object *hc,
                             json_object *mounts, json_object *volumes, vs_error **err)
{
        json_object *binds = json_object_new_array();
        json_object_object_add(hc, "Binds", binds);
        for (size_t i = 0; f->volumes && f->volumes[i]; i++)
                if (parse_volume(e, f->volumes[i], mounts, binds, volumes, err) < 0)
                        return -1;
        json_object *tmpfs = json_object_new_object();
        json_object_object_add(hc, "Tmpfs", tmpfs);
        for (size_t i = 0; f->tmpfs && f->tmpfs[i]; i++)
                if (parse_tmpfs(f->tmpfs[i], tmpfs, mounts, err) < 0)
                        return -1;
        json_object_object_add(hc, "Mounts", json_object_new_array());
        for (size_t i = 0; f->mounts && f->mounts[i]; i++)
                if (parse_mount(e, f->mounts[i], hc, mounts, volumes, err) < 0)
                        return -1;

        /* A VM's network is QEMU's (src/vm/net.c). */
        bool vm = f->isolation && strcmp(f->isolation, "vm") == 0;
        if (vm && vs_vm_net_own(f->network) && f->ip6)
                return vs_fail(err, "--ip6 is not supported with --isolation=vm on network '%s'",
                               f->network ? f->network : "default");
        if (vm && vs_vm_net_own(f->network)
                ? vs_vm_net_check(f->network, f->ip, f->publish, hc, err) < 0
                : vs_engine_net_check(e, f, hc, err) < 0)
                return -1;
        if (vs_engine_ns_check(e, f, hc, err) < 0)
                return -1;
        if (f->cidfile)
                json_object_object_add(hc, "ContainerIDFile", json_object_new_string(f->cidfile));

        _cleanup_free_ char *policy = NULL;
        int max_retries = 0;
        if (vs_parse_restart(f->restart ? f->restart : "no", &policy, &max_retries, err) < 0)
                return -1;
        if (f->rm && strcmp(policy, "no") != 0)
                return vs_fail(err, "conflicting options: --restart %s and --rm", f->restart);
        json_object *rp = json_object_new_object();
        json_object_object_add(rp, "Name", json_object_new_string(policy));
        json_object_object_add(rp, "MaximumRetryCount", json_object_new_int(max_retries));
        json_object_object_add(hc, "RestartPolicy", rp);
        json_object_object_add(hc, "AutoRemove", json_object_new_boolean(f->rm));

        json_object *add = json_object_new_array(), *drop = json_object_new_array();
        json_object_object_add(hc, "CapAdd", add);
        json_object_object_add(hc, "CapDrop", drop);
        for (size_t i = 0; f->cap_add && f->cap_add[i]; i++) {
                _cleanup_free_ char *cap = NULL;
                if (normalise_cap("--cap-add", f->cap_add[i], &cap, err) < 0)
                        return -1;
                json_object_array_add(add, json_object_new_string(cap));
        }
        for (size_t i = 0; f->cap_drop && f->cap_drop[i]; i++) {
                _cleanup_free_ char *cap = NULL;
                if (normalise_cap("--cap-drop", f->cap_drop[i], &cap, err) < 0)
                        return -1;
                json_object_array_add(drop, json_object_new_string(cap));
        }
        json_object_object_add(hc, "Privileged", json_object_new_boolean(f->privileged));
        if (f->init && f->isolation && strcmp(f->isolation, "vm") == 0)
                return vs_fail(err, "--init is not supported with --isolation=vm (the guest "
                                    "agent is the VM's init)");
        if (f->init)
                json_object_object_add(hc, "Init", json_object_new_boolean(1));
        if (f->tty && f->console_rows && f->console_cols) {
                json_object *cs = json_object_new_array();
                json_object_array_add(cs, json_object_new_int((int) f->console_rows));
                json_object_array_add(cs, json_object_new_int((int) f->console_cols));
                json_object_object_add(hc, "ConsoleSize", cs);
        }
        json_object_object_add(hc, "ReadonlyRootfs", json_object_new_boolean(f->read_only));
        if (parse_isolation(f, hc, err) < 0 || vs_userns_parse_flags(f, hc, err) < 0 ||
            check_idmap_volumes(hc, mounts, err) < 0)
                return -1;
        if (parse_security_opts(f->security_opts, hc, err) < 0)
                return -1;
        if (parse_log_config(f, hc, err) < 0 || vs_engine_parse_host_opts(f, hc, err) < 0)
                return -1;
        return parse_resources(f, hc, err);
}

int vs_engine_attach_streams(const struct vs_run_flags *f, unsigned *mask, vs_error **err)
{
        static const char *const names[] = {"stdin", "stdout", "stderr"};
        *mask = 0;
        for (size_t i = 0; f->attach && f->attach[i]; i++) {
                size_t k = 0;
                while (k < 3 && strcasecmp(f->attach[i], names[k]) != 0)
                        k++;
                if (k == 3)
                        return vs_fail(err, "-a: invalid stream '%s' (stdin, stdout or stderr)",
                                       f->attach[i]);
                *mask |= 1u << k;
        }
        if (f->attach && f->detach)
                return vs_fail(err, "conflicting options: -a and -d");
        if (f->detach)
                return *mask = 0, 0;
        if (f->attach == NULL)
                *mask = VS_ATTACH_STDOUT | VS_ATTACH_STDERR;
        if (f->interactive)
                *mask |= VS_ATTACH_STDIN;
        return 0;
}

static void add_strv_or_null(json_object *o, const char *k, char *const *v)
{
        json_object_object_add(o, k, v ? strv_json(v) : NULL);
}

static int build_healthcheck(const struct vs_run_flags *f, const struct vs_image *img,
                             json_object *cfg, vs_error **err);

static int build_config(const struct vs_run_flags *f, const struct vs_image *img,
                        const char *short_id, json_object *cfg, json_object *volumes,
                        vs_error **err)
{
        const struct vs_image_config *ic = &img->config;
        const char *hostname = f->hostname;
        char host[256];
        if (hostname == NULL && f->network && strcmp(f->network, "host") == 0 &&
            gethostname(host, sizeof(host)) == 0) {
                host[sizeof(host) - 1] = '\0';
                hostname = host;
        }
        if (hostname && (strlen(hostname) > 63 || !vs_net_host_name_ok(hostname))) {
                _cleanup_free_ char *q = vs_str_escape(hostname);
                return vs_fail(err, "--hostname: invalid hostname '%s'", q);
        }
        json_object_object_add(cfg, "Hostname",
                               json_object_new_string(hostname ? hostname : short_id));
        json_object_object_add(cfg, "Domainname", json_object_new_string(""));
        const char *user = f->user ? f->user : (ic->user ? ic->user : "");
        _cleanup_free_ char *keep = NULL;
        if (f->user == NULL && f->userns && strncmp(f->userns, "keep-id", 7) == 0 &&
            vs_rootless()) {
                /* podman's keep-id: you, unless -u says otherwise */
                uint32_t uid, gid, nu, ng;
                if (vs_rootless_ids(&uid, &gid, &nu, &ng, err) < 0)
                        return -1;
                user = keep = xasprintf("%u:%u", uid, gid);
        }
        json_object_object_add(cfg, "User", json_object_new_string(user));
        bool attached = !f->detach;
        unsigned streams = 0;
        if (vs_engine_attach_streams(f, &streams, err) < 0)
                return -1;
        json_object_object_add(cfg, "AttachStdin",
                               json_object_new_boolean(streams & VS_ATTACH_STDIN));
        json_object_object_add(cfg, "AttachStdout",
                               json_object_new_boolean(streams & VS_ATTACH_STDOUT));
        json_object_object_add(cfg, "AttachStderr",
                               json_object_new_boolean(streams & VS_ATTACH_STDERR));
        json_object_object_add(cfg, "Tty", json_object_new_boolean(f->tty));
        json_object_object_add(cfg, "OpenStdin", json_object_new_boolean(f->interactive));
        json_object_object_add(cfg, "StdinOnce",
                               json_object_new_boolean(attached && f->interactive));

        _cleanup_strv_ char **env = strv_copy(ic->env);
        if (env == NULL)
                env = xcalloc(1, sizeof(char *));
        bool has_path = false;
        for (size_t i = 0; env[i]; i++)
                has_path |= strncmp(env[i], "PATH=", 5) == 0;
        if (!has_path)
                env_set(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        for (size_t i = 0; f->env_files && f->env_files[i]; i++)
                if (read_env_file(f->env_files[i], &env, err) < 0)
                        return -1;
        for (size_t i = 0; f->env && f->env[i]; i++) {
                if (check_env("--env", f->env[i], err) < 0)
                        return -1;
                env_set(&env, f->env[i]);
        }
        json_object_object_add(cfg, "Env", strv_json(env));

        _cleanup_strv_ char **entrypoint = NULL;
        char *const *cmd = f->cmd;
        if (f->has_entrypoint) {
                if (*f->entrypoint)
                        strv_push(&entrypoint, f->entrypoint);
                /* Docker: a new entrypoint drops the image's CMD. */
        } else {
                entrypoint = strv_copy(ic->entrypoint);
                if (cmd == NULL)
                        cmd = ic->cmd;
        }
        add_strv_or_null(cfg, "Cmd", cmd);
        json_object_object_add(cfg, "Image", json_object_new_string(f->image));
        json_object_object_add(cfg, "Volumes", json_object_get(volumes));
        const char *wd = f->workdir ? f->workdir : (ic->working_dir ? ic->working_dir : "");
        if (f->workdir && f->workdir[0] != '/')
                return vs_fail(err, "--workdir: '%s' is not an absolute path", f->workdir);
        json_object_object_add(cfg, "WorkingDir", json_object_new_string(wd));
        add_strv_or_null(cfg, "Entrypoint", entrypoint);
        json_object *labels = NULL;
        if (ic->labels)
                json_object_deep_copy(ic->labels, &labels, NULL);
        if (labels == NULL)
                labels = json_object_new_object();
        json_object_object_add(cfg, "Labels", labels);
        if (parse_labels(f, labels, err) < 0)
                return -1;
        const char *stop_signal = f->stop_signal ? f->stop_signal : ic->stop_signal;
        if (stop_signal) {
                int sig;
                if (vs_parse_signal("--stop-signal", stop_signal, &sig, err) < 0)
                        return -1;
                json_object_object_add(cfg, "StopSignal", json_object_new_string(stop_signal));
        }
        if (f->stop_timeout) {
                int64_t t;
                if (parse_int("--stop-timeout", f->stop_timeout, -1, INT_MAX, &t, err) < 0)
                        return -1;
                json_object_object_add(cfg, "StopTimeout", json_object_new_int64(t));
        }
        return build_healthcheck(f, img, cfg, err);
}

/* The keys of obj (a JSON object, or anything else: none) onto *keys. */
static void push_keys(json_object *obj, char ***keys)
{
        if (!json_object_is_type(obj, json_type_object))
                return;
        json_object_object_foreach(obj, k, v)
        {
                (void) v;
                if (!strv_contains(*keys, k))
                        strv_push(keys, k);
        }
}

/* Config.ExposedPorts, as Docker's: the image's EXPOSE, every --expose and
 * the container port of every -p, by key (a Go map is encoded sorted);
 * absent when there is none. */
static int build_exposed(const struct vs_run_flags *f, const struct vs_image *img, json_object *hc,
                         json_object *cfg, vs_error **err)
{
        static const char *const protos[] = {"tcp", "udp", "sctp", NULL};
        _cleanup_strv_ char **keys = xcalloc(1, sizeof(char *));
        push_keys(img->config.exposed_ports, &keys);
        for (size_t i = 0; f->expose && f->expose[i]; i++)
                if (vs_net_port_keys(f->expose[i], 1, protos, &keys, err) < 0)
                        return vs_error_wrap(err, "invalid range format for --expose: %s",
                                             f->expose[i]);
        push_keys(json_object_object_get(hc, "PortBindings"), &keys);
        if (keys[0] == NULL)
                return 0;
        strv_sort(keys);
        json_object *exposed = json_object_new_object();
        for (size_t i = 0; keys[i]; i++)
                json_object_object_add(exposed, keys[i], json_object_new_object());
        json_object_object_add(cfg, "ExposedPorts", exposed);
        return 0;
}

/* Config.Healthcheck: the image's, with each flag given over its member
 * (Docker's merge); --no-healthcheck is Test ["NONE"]. */
static int build_healthcheck(const struct vs_run_flags *f, const struct vs_image *img,
                             json_object *cfg, vs_error **err)
{
        if (f->no_healthcheck && f->health_cmd)
                return vs_fail(err, "--no-healthcheck conflicts with --health-* options");
        if (f->health_retries < 0)
                return vs_fail(err, "--health-retries cannot be negative");
        json_object *ihc = NULL, *icfg = NULL, *hc = NULL;
        if (img->config_json && json_object_object_get_ex(img->config_json, "config", &icfg))
                json_object_object_get_ex(icfg, "Healthcheck", &ihc);
        if (ihc && json_object_is_type(ihc, json_type_object))
                json_object_deep_copy(ihc, &hc, NULL);
        bool flags = f->health_cmd || f->health_interval || f->health_timeout ||
                     f->health_start_period || f->health_retries || f->health_start_interval;
        if (hc == NULL && !flags && !f->no_healthcheck)
                return 0;
        if (hc == NULL)
                hc = json_object_new_object();
        json_object_object_add(cfg, "Healthcheck", hc);
        if (f->no_healthcheck) {
                json_object *t = json_object_new_array();
                json_object_array_add(t, json_object_new_string("NONE"));
                json_object_object_add(hc, "Test", t);
        } else if (f->health_cmd) {
                json_object *t = json_object_new_array();
                json_object_array_add(t, json_object_new_string("CMD-SHELL"));
                json_object_array_add(t, json_object_new_string(f->health_cmd));
                json_object_object_add(hc, "Test", t);
        }
        const struct {
                const char *key;
                int64_t v;
        } nums[] = {{"Interval", f->health_interval},
                    {"Timeout", f->health_timeout},
                    {"StartPeriod", f->health_start_period},
                    {"StartInterval", f->health_start_interval},
                    {"Retries", f->health_retries}};
        for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
                if (nums[i].v)
                        json_object_object_add(hc, nums[i].key, json_object_new_int64(nums[i].v));
        return 0;
}

static void set_args(struct vs_ctr *c)
{
        _cleanup_strv_ char **argv = NULL;
        for (size_t i = 0; c->cfg.entrypoint && c->cfg.entrypoint[i]; i++)
                strv_push(&argv, c->cfg.entrypoint[i]);
        for (size_t i = 0; c->cfg.cmd && c->cfg.cmd[i]; i++)
                strv_push(&argv, c->cfg.cmd[i]);
        c->path = argv ? xstrdup(argv[0]) : NULL;
        c->args = argv ? strv_copy(argv + 1) : xcalloc(1, sizeof(char *));
}

/* The container's directory, and its volumes given to its mapped root. */
static int make_ctr_dir(struct vs_ctr *c, vs_error **err)
{
        struct vs_idmaps maps;
        int userns = vs_userns_mappings(c->host_config, &maps, err);
        if (userns < 0)
                return -1;
        int r = userns ? vs_userns_prepare_volumes(c, &maps, err) : 0;
        if (r == 0 && mkdir(c->dir, 0700) < 0)
                r = vs_fail_errno(err, "cannot create %s", c->dir);
        vs_idmaps_clear(&maps);
        return r;
}

/* Claims the name under the names lock (check + mkdir + record), so two
 * creates cannot take the same one. */
static int claim_and_save(struct vs_engine *e, const char *name, struct vs_ctr *c, vs_error **err)
{
        _cleanup_close_ int lock = vs_names_lock(e, err);
        if (lock < 0)
                return -1;
        if (name) {
                if (vs_name_check_free(e, name, NULL, err) < 0)
                        return -1;
                c->name = xstrdup(name);
        } else {
                for (int attempt = 0; attempt < 10 && c->name == NULL; attempt++) {
                        _cleanup_free_ char *n = vs_name_generate();
                        _cleanup_error_ vs_error *nerr = NULL;
                        if (attempt >= 5) {
                                char *numbered = xasprintf("%s%d", n, attempt);
                                free(n);
                                n = numbered;
                        }
                        if (vs_name_check_free(e, n, NULL, &nerr) == 0)
                                c->name = steal_ptr(n);
                }
                if (c->name == NULL)
                        c->name = xasprintf("vessel_%.12s", c->id);
        }
        if (vs_userns_allocate(e, c->id, c->host_config, err) < 0)
                return -1;
        if (make_ctr_dir(c, err) < 0) {
                vs_userns_release(e, c->id);
                return -1;
        }
        /* An --rm container's first record is not fsynced either
         * (vs_ctr_save_state): a power cut can only leave its directory
         * without a record, which system prune removes, the fate --rm asked
         * for. */
        if ((c->hc.auto_remove ? vs_ctr_save_state(c, err) : vs_ctr_save(c, err)) < 0) {
                _cleanup_error_ vs_error *rerr = NULL;
                vs_rm_rf(c->dir, &rerr);
                vs_userns_release(e, c->id);
                return -1;
        }
        return 0;
}

int vs_engine_create(struct vs_engine *e, const struct vs_run_flags *f, struct vs_ctr **out,
                     vs_error **err)
{
        if (f->name && vs_name_validate(f->name, err) < 0)
                return vs_error_wrap(err, "--name");
        struct vs_store *store;
        if (vs_engine_store(e, &store, err) < 0)
                return -1;
        struct vs_image *img = NULL;
        if (vs_image_lookup(store, f->image, &img, err) < 0)
                return -1;
        _cleanup_ctr_ struct vs_ctr *c = xzalloc(sizeof(*c));
        c->id = vs_random_hex(32);
        char short_id[13];
        snprintf(short_id, sizeof(short_id), "%.12s", c->id);
        c->config = json_object_new_object();
        c->host_config = json_object_new_object();
        c->mounts = json_object_new_array();
        c->created = vs_now_rfc3339();
        c->state.status = xstrdup("created");
        c->runtime_root = xstrdup(e->runtime_root);
        c->dir = xasprintf("%s/%s", e->ctr_root, c->id);
        c->log_path = xasprintf("%s/container.log", c->dir);
        _cleanup_json_ json_object *volumes = json_object_new_object();
        int r = build_host_config(e, f, c->host_config, c->mounts, volumes, err);
        if (r == 0)
                r = build_config(f, img, short_id, c->config, volumes, err);
        if (r == 0)
                r = build_exposed(f, img, c->host_config, c->config, err);
        if (r == 0)
                vs_engine_net_publish_all(c->config, c->host_config);
        if (r == 0)
                r = vs_ctr_read_fields(c, "new container", err);
        if (r == 0) {
                c->image_id = xstrdup(img->id);
                c->image_name = xstrdup(img->names && img->names[0] ? img->names[0] : f->image);
                set_args(c);
                if (c->path == NULL)
                        r = vs_fail(err,
                                    "no command specified: the image '%s' has neither "
                                    "Entrypoint nor Cmd, give one after the image",
                                    f->image);
        }
        vs_image_free(img);
        if (r == 0)
                r = claim_and_save(e, f->name, c, err);
        if (r < 0) {
                /* Volumes made for a container that never came to be. */
                vs_engine_remove_anonymous_volumes(e, c);
                return -1;
        }
        vs_ctr_event(e, c, "create", NULL, NULL);
        *out = steal_ptr(c);
        return 0;
}

int vs_engine_adopt(struct vs_engine *e, json_object *record, const char *name, struct vs_ctr **out,
                    vs_error **err)
{
        if (name && vs_name_validate(name, err) < 0)
                return vs_error_wrap(err, "--name");
        _cleanup_ctr_ struct vs_ctr *c = NULL;
        if (vs_ctr_from_json(record, "the imported record", &c, err) < 0)
                return -1;
        struct vs_store *store;
        struct vs_image *img = NULL;
        if (vs_engine_store(e, &store, err) < 0)
                return -1;
        if (vs_image_lookup(store, c->image_id, &img, NULL) < 0)
                return vs_fail(err, "the container's image %s (%.19s) is not here: pull it first",
                               c->image_name ? c->image_name : "?", c->image_id);
        vs_image_free(img);
        /* A new container on this host: its own id, paths and state. */
        free(c->id);
        c->id = vs_random_hex(32);
        free(c->dir);
        c->dir = xasprintf("%s/%s", e->ctr_root, c->id);
        free(c->log_path);
        c->log_path = xasprintf("%s/container.log", c->dir);
        free(c->runtime_root);
        c->runtime_root = xstrdup(e->runtime_root);
        free(c->boot_id);
        c->boot_id = NULL;
        c->monitor_pid = 0;
        c->monitor_start = 0;
        c->restart_count = 0;
        c->manually_stopped = false;
        free(c->state.status);
        c->state.status = xstrdup("exited");
        c->state.running = c->state.paused = c->state.restarting = c->state.dead = false;
        c->state.pid = 0;
        c->state.exit_code = 0;
        _cleanup_free_ char *old_name = steal_ptr(c->name);
        if (claim_and_save(e, name ? name : old_name, c, err) < 0)
                return -1;
        *out = steal_ptr(c);
        return 0;
}
