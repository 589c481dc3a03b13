/* RUN --mount: cache (a directory kept under the data root across builds,
 * keyed by id, default the target), bind (from the context, read-only
 * unless rw), tmpfs, and secret (a file given with --secret id=X,src=F,
 * bound read-only, by default at /run/secrets/X). None of them lands in the
 * step's layer: the step's container sees them as mounts, and the targets
 * the image did not have are removed from the upper dir afterwards. */
#include "build/internal.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void run_mount_clear(struct run_mount *m)
{
        free(m->type);
        free(m->source);
        free(m->target);
        free(m->stub);
        if (m->copy && m->copy_fd >= 0)
                close(m->copy_fd);
        memset(m, 0, sizeof(*m));
}

/* "key=value" fields of a comma-separated spec. */
static const char *field(char **kv, const char *key)
{
        size_t n = strlen(key);
        for (size_t i = 0; kv && kv[i]; i++) {
                if (strncmp(kv[i], key, n) == 0 && kv[i][n] == '=')
                        return kv[i] + n + 1;
                if (strcmp(kv[i], key) == 0)
                        return "true";
        }
        return NULL;
}

static char **split_commas(const char *s)
{
        char **v = NULL;
        _cleanup_free_ char *copy = xstrdup(s);
        char *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                strv_push(&v, t);
        return v;
}

static const char *secret_source(char **secrets, const char *id)
{
        for (size_t i = 0; secrets && secrets[i]; i++) {
                _cleanup_strv_ char **kv = split_commas(secrets[i]);
                const char *sid = field(kv, "id");
                const char *src = field(kv, "src");
                if (src == NULL)
                        src = field(kv, "source");
                if (sid && src && strcmp(sid, id) == 0) {
                        static char buf[4096];
                        snprintf(buf, sizeof(buf), "%s", src);
                        return buf;
                }
        }
        return NULL;
}

static bool truthy(const char *v)
{
        return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

int run_mount_parse(const char *spec, const char *data_root, int ctx_fd, char **secrets,
                    struct run_mount *m, bool *skip, vs_error **err)
{
        memset(m, 0, sizeof(*m));
        *skip = false;
        _cleanup_strv_ char **kv = split_commas(spec);
        const char *type = field(kv, "type");
        if (type == NULL)
                type = "bind";
        const char *target = field(kv, "target");
        if (target == NULL)
                target = field(kv, "dst");
        if (target == NULL)
                target = field(kv, "destination");
        if (strcmp(type, "secret") == 0) {
                const char *id = field(kv, "id");
                _cleanup_free_ char *dflt = NULL;
                if (id == NULL && target)
                        id = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
                if (id == NULL || *id == '\0')
                        return vs_fail(err, "--mount=%s: a secret needs id= or target=", spec);
                const char *src = secret_source(secrets, id);
                if (src == NULL) {
                        if (truthy(field(kv, "required")))
                                return vs_fail(err,
                                               "--mount=%s: secret '%s' was not given "
                                               "(--secret id=%s,src=FILE)",
                                               spec, id, id);
                        *skip = true;
                        return 0;
                }
                if (access(src, R_OK) < 0)
                        return vs_fail_errno(err, "--secret id=%s: cannot read %s", id, src);
                dflt = xasprintf("/run/secrets/%s", id);
                m->type = xstrdup("bind");
                m->source = realpath(src, NULL);
                m->target = xstrdup(target ? target : dflt);
                m->readonly = true;
        } else if (target == NULL || target[0] != '/') {
                return vs_fail(err, "--mount=%s: target= must be an absolute path", spec);
        } else if (strcmp(type, "cache") == 0) {
                const char *id = field(kv, "id");
                if (id == NULL)
                        id = target;
                struct vs_sha256 h;
                vs_sha256_init(&h);
                vs_sha256_update(&h, id, strlen(id));
                char d[VS_DIGEST_LEN + 1];
                vs_sha256_final(&h, d);
                m->source = xasprintf("%s/build/cache-mounts/%.32s", data_root, d + 7);
                if (vs_mkdir_p(m->source, 0755, err) < 0) {
                        run_mount_clear(m);
                        return -1;
                }
                m->type = xstrdup("bind");
                m->target = xstrdup(target);
                m->readonly = truthy(field(kv, "readonly")) || truthy(field(kv, "ro"));
        } else if (strcmp(type, "tmpfs") == 0) {
                m->type = xstrdup("tmpfs");
                m->source = xstrdup("tmpfs");
                m->target = xstrdup(target);
        } else if (strcmp(type, "bind") == 0) {
                if (field(kv, "from"))
                        return vs_fail(err, "--mount=%s: bind from= is not supported yet", spec);
                const char *src = field(kv, "source");
                if (src == NULL)
                        src = field(kv, "src");
                _cleanup_free_ char *rel = clean_inside(src ? src : ".");
                if (rel == NULL)
                        return vs_fail(err, "--mount=%s: forbidden path outside the build context",
                                       spec);
                _cleanup_close_ int fd = vs_openat2(ctx_fd, *rel ? rel : ".", O_PATH,
                                                    RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
                if (fd < 0)
                        return vs_fail_errno(err, "--mount=%s: %s in the build context", spec,
                                             *rel ? rel : ".");
                char buf[4096], link[64];
                snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
                ssize_t n = readlink(link, buf, sizeof(buf) - 1);
                if (n <= 0)
                        return vs_fail_errno(err, "--mount=%s: cannot name %s", spec, rel);
                buf[n] = '\0';
                m->type = xstrdup("bind");
                m->source = xstrdup(buf);
                m->target = xstrdup(target);
                m->readonly = !(truthy(field(kv, "rw")) || truthy(field(kv, "readwrite")));
                if (!m->readonly) {
                        m->copy = true;
                        m->copy_fd = steal_fd(fd);
                }
        } else {
                return vs_fail(err, "--mount=%s: unknown type '%s' (cache, bind, tmpfs, secret)",
                               spec, type);
        }
        if (m->source == NULL) {
                run_mount_clear(m);
                return vs_fail_errno(err, "--mount=%s: cannot resolve its source", spec);
        }
        return 0;
}

void run_mount_find_stub(struct run_mount *m, int rootfd)
{
        _cleanup_free_ char *rel = clean_inside(m->target);
        if (rel == NULL || *rel == '\0')
                return;
        for (char *p = rel;; p++) {
                if (*p == '/' || *p == '\0') {
                        char c = *p;
                        *p = '\0';
                        int fd = vs_open_in_root(rootfd, rel, O_PATH, 0);
                        if (fd < 0) {
                                m->stub = xstrdup(rel);
                                return;
                        }
                        close(fd);
                        *p = c;
                        if (c == '\0')
                                return;
                }
        }
}

int run_mount_copy(struct run_mount *m, size_t n, const char *scratch, vs_error **err)
{
        if (!m->copy)
                return 0;
        _cleanup_close_ int dir = open(scratch, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return vs_fail_errno(err, "cannot open %s", scratch);
        _cleanup_free_ char *name = xasprintf("rw-mount-%zu", n);
        struct copy_opts o = {.uid = -1, .gid = -1, .file_mode = -1};
        if (copy_tree(m->copy_fd, m->target, dir, name, &o, err) < 0)
                return vs_error_wrap(err, "--mount target=%s: cannot copy the context", m->target);
        free(m->source);
        m->source = xasprintf("%s/%s", scratch, name);
        return 0;
}

void run_mounts_unstub(const struct run_mount *m, size_t n, const char *upper)
{
        for (size_t i = 0; i < n; i++) {
                if (m[i].stub == NULL)
                        continue;
                _cleanup_free_ char *rel = xstrdup(m[i].stub);
                _cleanup_close_ int up = open(upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (up < 0)
                        continue;
                _cleanup_error_ vs_error *e = NULL;
                /* Inside the upper dir only (no symlink followed out of it). */
                char *slash = strrchr(rel, '/');
                int parent = -1;
                if (slash) {
                        *slash = '\0';
                        parent = vs_openat2(up, rel, O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT);
                } else {
                        parent = dup(up);
                }
                if (parent < 0)
                        continue;
                vs_rm_rf_at(parent, slash ? slash + 1 : rel, &e);
                close(parent);
        }
}
