/* COPY and ADD steps: sources from the context (after .dockerignore),
 * another stage or an image, heredocs, URLs and local archives; Docker's
 * destination rules; the cache key from the sources' content digests. */
#include "build/exec.h"
#include "engine/engine.h"
#include "image/image.h"
#include "image/layer.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- COPY and ADD ---- */

struct source {
        char *rel; /* cleaned path in its root, or the heredoc word */
        int fd;    /* O_PATH, resolved inside the root (-1: heredoc) */
        const struct vs_df_heredoc *hd;
        bool is_dir;
        bool url; /* ADD of a URL: a downloaded file, never an archive to unpack */
};

struct copy_arg {
        const struct vs_df_instr *in;
        struct source *src;
        size_t n;
        char *dest;
        bool dest_dir, from_context, add;
        const char *chown;
        int chmod;
        /* --link: copied onto an empty root (a layer independent of the
         * parent), --chown names resolved in the parent beforehand. */
        bool link;
        int64_t link_uid, link_gid;
        /* --parents: each source keeps its path under the destination. */
        bool parents;
        /* What a copy leaves out: .dockerignore (context sources, by their
         * context path) and --exclude (by the path below the source being
         * copied; a source itself by its name). */
        struct ignore *dockerignore, *exclude;
        const char *prefix; /* the source being copied (context path) */
};

static bool context_ignored(const char *rel, void *arg)
{
        const struct copy_arg *ca = arg;
        if (ca->dockerignore && ignore_match(rel, ca->dockerignore))
                return true;
        if (ca->exclude == NULL || ca->prefix == NULL)
                return false;
        size_t n = strlen(ca->prefix);
        if (n && strncmp(rel, ca->prefix, n) == 0 && rel[n] == '/')
                return ignore_match(rel + n + 1, ca->exclude);
        return n == 0 && ignore_match(rel, ca->exclude);
}

static bool fnmatch_name(const char *pat, const char *name)
{
        return fnmatch(pat, name, FNM_PATHNAME) == 0;
}

static bool has_glob(const char *s)
{
        return strpbrk(s, "*?[") != NULL;
}

static void add_source(struct copy_arg *ca, const char *rel, int fd)
{
        struct stat st;
        ca->src = xrealloc(ca->src, (ca->n + 1) * sizeof(*ca->src));
        ca->src[ca->n++] = (struct source){
            .rel = xstrdup(rel), .fd = fd, .is_dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)};
}

/* Resolves one source pattern inside root: a path or a glob in its last
 * component. */
static int resolve_source(struct state *s, struct copy_arg *ca, int root, const char *word,
                          vs_error **err)
{
        const char *what = ca->from_context ? "the build context" : "the source image";
        _cleanup_free_ char *rel = clean_inside(word);
        if (rel == NULL)
                return fail_line(s, "%s %s: forbidden path outside %s",
                                 vs_df_kind_name(ca->in->kind), word, what);
        struct ignore *ig = ca->dockerignore;
        if (!has_glob(rel)) {
                int fd = vs_openat2(root, *rel ? rel : ".", O_PATH,
                                    RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
                if (fd < 0 || (*rel && ig && ignore_match(rel, ig))) {
                        if (fd >= 0)
                                close(fd);
                        return fail_line(s, "%s %s: not found in %s%s",
                                         vs_df_kind_name(ca->in->kind), word, what,
                                         ca->from_context ? " (or excluded by .dockerignore)" : "");
                }
                add_source(ca, rel, fd);
                return 0;
        }
        char *slash = strrchr(rel, '/');
        _cleanup_free_ char *dir = slash ? xstrndup(rel, (size_t) (slash - rel)) : xstrdup("");
        const char *pat = slash ? slash + 1 : rel;
        if (has_glob(dir))
                return fail_line(s, "%s %s: wildcards only in the last path element are supported",
                                 vs_df_kind_name(ca->in->kind), word);
        int dfd = vs_openat2(root, *dir ? dir : ".", O_RDONLY | O_DIRECTORY,
                             RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (d == NULL) {
                if (dfd >= 0)
                        close(dfd);
                return fail_line(s, "%s %s: not found in %s", vs_df_kind_name(ca->in->kind), word,
                                 what);
        }
        char **names = NULL;
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
                    fnmatch_name(pat, de->d_name))
                        strv_push(&names, de->d_name);
        size_t before = ca->n;
        for (size_t i = 0; names && names[i]; i++) {
                _cleanup_free_ char *r =
                    *dir ? xasprintf("%s/%s", dir, names[i]) : xstrdup(names[i]);
                if ((ig && ignore_match(r, ig)) ||
                    (ca->exclude && ignore_match(names[i], ca->exclude)))
                        continue;
                int fd =
                    vs_openat2(dirfd(d), names[i], O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
                if (fd >= 0)
                        add_source(ca, r, fd);
        }
        strv_free(names);
        closedir(d);
        ca->dest_dir = true;
        if (ca->n == before)
                return fail_line(s, "%s %s: no source files were specified",
                                 vs_df_kind_name(ca->in->kind), word);
        return 0;
}

static int chown_ids(struct state *s, int rootfd, const char *spec, int64_t *uid, int64_t *gid,
                     vs_error **err)
{
        *uid = 0;
        *gid = 0;
        if (spec == NULL)
                return 0;
        char *end;
        unsigned long u = strtoul(spec, &end, 10);
        if (end != spec && *end == '\0') {
                *uid = *gid = (int64_t) u; /* "--chown=10": gid 10 too */
                return 0;
        }
        struct vs_user us = {0};
        _cleanup_error_ vs_error *e = NULL;
        if (vs_resolve_user(rootfd, spec, &us, &e) < 0)
                return fail_line(s, "--chown=%s: %s", spec, e->msg);
        *uid = us.uid;
        *gid = us.gid;
        vs_user_clear(&us);
        return 0;
}

/* COPY --link: the --chown ids, names looked up in the parent's files. */
static int link_ids(struct state *s, struct copy_arg *ca, vs_error **err)
{
        struct step_mount m = {.rootfd = -1};
        if (s->img && step_mount_open(s->b->e->data_root, s->img, &m, err) < 0)
                return -1;
        int r = chown_ids(s, m.rootfd, ca->chown, &ca->link_uid, &ca->link_gid, err);
        if (m.dir)
                step_mount_close(&m);
        return r;
}

static bool is_archive_name(const char *n)
{
        static const char *const ext[] = {".tar",     ".tar.gz", ".tgz",     ".tar.xz", ".txz",
                                          ".tar.bz2", ".tbz2",   ".tar.zst", NULL};
        size_t ln = strlen(n);
        for (size_t i = 0; ext[i]; i++) {
                size_t le = strlen(ext[i]);
                if (ln > le && strcmp(n + ln - le, ext[i]) == 0)
                        return true;
        }
        return false;
}

/* ADD of a local archive: unpacked (with the layer code's traversal
 * defences) beside the step, then copied in keeping owners. */
static int add_archive(struct state *s, struct step_mount *m, struct source *src, const char *dest,
                       vs_error **err)
{
        /* Chosen by its name: a FIFO or a device node called x.tar (a
         * stage's RUN can make one) is refused, never opened. */
        _cleanup_close_ int in = vs_reopen_regular(src->fd, NULL, NULL, src->rel, err);
        if (in < 0)
                return -1;
        _cleanup_free_ char *dir = xasprintf("%s/archive", m->dir);
        _cleanup_free_ char *diff = NULL;
        int64_t size = 0;
        if (vs_layer_unpack(in, NULL, dir, false, &diff, &size, err) < 0)
                return fail_line(s, "ADD %s: %s", src->rel, (*err)->msg);
        _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct copy_opts o = {.uid = -1, .gid = -1, .file_mode = -1};
        int r = dfd < 0 ? vs_fail_errno(err, "cannot open %s", dir)
                        : copy_tree(dfd, src->rel, m->rootfd, dest, &o, err);
        _cleanup_error_ vs_error *e = NULL;
        vs_rm_rf(dir, &e);
        return r;
}

static int copy_fn(struct state *s, struct step_mount *m, void *arg, vs_error **err)
{
        struct copy_arg *ca = arg;
        struct copy_opts o = {.file_mode = ca->chmod};
        if (ca->link) {
                o.uid = ca->link_uid;
                o.gid = ca->link_gid;
        } else if (chown_ids(s, m->rootfd, ca->chown, &o.uid, &o.gid, err) < 0) {
                return -1;
        }
        if (ca->from_context || ca->exclude) {
                o.ignored = context_ignored;
                o.ignored_arg = ca;
        }
        for (size_t i = 0; i < ca->n; i++) {
                struct source *src = &ca->src[i];
                const char *base = strrchr(src->rel, '/') ? strrchr(src->rel, '/') + 1 : src->rel;
                _cleanup_free_ char *dest = NULL;
                bool into = ca->dest_dir;
                if (!into && !src->is_dir) {
                        /* An existing directory as destination takes the file. */
                        int fd = vs_open_in_root(m->rootfd, ca->dest, O_PATH | O_DIRECTORY, 0);
                        if (fd >= 0) {
                                into = true;
                                close(fd);
                        }
                }
                if (ca->parents && !src->hd && !src->url)
                        dest = xasprintf("%s/%s", ca->dest, src->rel);
                else
                        dest = into && !src->is_dir ? xasprintf("%s/%s", ca->dest, base)
                                                    : xstrdup(ca->dest);
                ca->prefix = src->rel;
                int r;
                if (src->hd) {
                        _cleanup_free_ char *content = NULL;
                        if (src->hd->expand) {
                                if (expand(s, src->hd->content, &content, err) < 0)
                                        return -1;
                        } else {
                                content = xstrdup(src->hd->content);
                        }
                        _cleanup_free_ char *hdest = ca->dest_dir
                                                         ? xasprintf("%s/%s", ca->dest, src->rel)
                                                         : xstrdup(ca->dest);
                        r = write_in_root(m->rootfd, hdest, content, strlen(content),
                                          ca->chmod >= 0 ? (mode_t) ca->chmod : 0644, (uid_t) o.uid,
                                          (gid_t) o.gid, err);
                } else if (ca->add && !src->is_dir && !src->url && is_archive_name(src->rel)) {
                        r = add_archive(s, m, src, ca->dest, err);
                } else {
                        r = copy_tree(src->fd, src->rel, m->rootfd, dest, &o, err);
                }
                if (r < 0)
                        return strncmp((*err)->msg, s->b->dfname, strlen(s->b->dfname)) == 0
                                   ? -1
                                   : fail_line(s, "%s %s: %s", vs_df_kind_name(ca->in->kind),
                                               src->rel, (*err)->msg);
        }
        return 0;
}

static void copy_arg_clear(struct copy_arg *ca)
{
        for (size_t i = 0; i < ca->n; i++) {
                free(ca->src[i].rel);
                if (ca->src[i].fd >= 0)
                        close(ca->src[i].fd);
        }
        free(ca->src);
        free(ca->dest);
        ignore_free(ca->exclude);
}

/* ADD <url>: downloaded into an unnamed file beside the build's scratch
 * dirs, checked against --checksum, mode 0600 as Docker gives it. */
static int add_url(struct state *s, struct copy_arg *ca, const char *word, vs_error **err)
{
        _cleanup_free_ char *url = NULL;
        if (expand(s, word, &url, err) < 0)
                return -1;
        _cleanup_free_ char *dir = xasprintf("%s/build/tmp", s->b->e->data_root);
        if (vs_mkdir_p(dir, 0700, err) < 0)
                return -1;
        int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0)
                return vs_fail_errno(err, "cannot create a file in %s", dir);
        char digest[VS_DIGEST_LEN + 1];
        _cleanup_error_ vs_error *e = NULL;
        if (fetch_url(url, fd, digest, &e) < 0) {
                close(fd);
                return fail_line(s, "ADD %s", e->msg);
        }
        const char *want = vs_df_flag(ca->in, "checksum");
        if (want && strcmp(want, digest) != 0) {
                close(fd);
                return fail_line(s, "ADD %s: checksum mismatch: expected %s, got %s", url, want,
                                 digest);
        }
        fchmod(fd, 0600);
        /* The file name: the last element of the URL's path. */
        const char *after = strstr(url, "://");
        after = after ? after + 3 : url;
        _cleanup_free_ char *path = xstrdup(after + strcspn(after, "/"));
        path[strcspn(path, "?#")] = '\0';
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        ca->src = xrealloc(ca->src, (ca->n + 1) * sizeof(*ca->src));
        ca->src[ca->n++] =
            (struct source){.rel = xstrdup(*base ? base : "index.html"), .fd = fd, .url = true};
        return 0;
}

static int copy_sources(struct state *s, const struct vs_df_instr *in, struct copy_arg *ca,
                        int root, char **words, size_t n, vs_error **err)
{
        for (size_t i = 0; i + 1 < n; i++) {
                const char *w = words[i];
                const struct vs_df_heredoc *hd = NULL;
                for (size_t h = 0; h < in->n_heredocs; h++) {
                        if (strncmp(w, "<<", 2) != 0)
                                break;
                        /* "<<EOF", "<<-EOF", "<<'EOF'", "<<\"EOF\"": the word unquoted. */
                        _cleanup_free_ char *m = xstrdup(w + 2 + (w[2] == '-'));
                        size_t k = 0;
                        for (const char *c = m; *c; c++)
                                if (*c != '\'' && *c != '"')
                                        m[k++] = *c;
                        m[k] = '\0';
                        if (strcmp(m, in->heredocs[h].word) == 0)
                                hd = &in->heredocs[h];
                }
                if (hd) {
                        ca->src = xrealloc(ca->src, (ca->n + 1) * sizeof(*ca->src));
                        ca->src[ca->n++] =
                            (struct source){.rel = xstrdup(hd->word), .fd = -1, .hd = hd};
                        continue;
                }
                if (ca->add && (strncmp(w, "http://", 7) == 0 || strncmp(w, "https://", 8) == 0)) {
                        if (add_url(s, ca, w, err) < 0)
                                return -1;
                        continue;
                }
                if (ca->add && strncmp(w, "git@", 4) == 0)
                        return fail_line(s, "ADD %s: git sources are not supported yet", w);
                _cleanup_free_ char *x = NULL;
                if (expand(s, w, &x, err) < 0 || resolve_source(s, ca, root, x, err) < 0)
                        return -1;
        }
        if (ca->n > 1)
                ca->dest_dir = true;
        return 0;
}

int do_copy(struct state *s, const struct vs_df_instr *in, vs_error **err)
{
        struct copy_arg ca = {
            .in = in, .add = in->kind == VS_DF_ADD, .chmod = -1, .from_context = true};
        struct step_mount from = {.rootfd = -1};
        _cleanup_free_ char *from_v = NULL, *chown_v = NULL, *dest = NULL, *extra = NULL;
        _cleanup_free_ char *srcs = NULL, *desc = NULL, *key = NULL, *hit = NULL, *excl = NULL;
        int r = -1;
        int root = s->b->ctx_fd;
        const char *f = vs_df_flag(in, "from");
        if (vs_df_flag(in, "keep-git-dir")) {
                fail_line(s, "%s: --keep-git-dir is not supported yet", vs_df_kind_name(in->kind));
                goto out;
        }
        ca.parents = vs_df_flag(in, "parents") && strcmp(vs_df_flag(in, "parents"), "false") != 0;
        excl = xstrdup("");
        for (size_t i = 0; in->flags && in->flags[i]; i++) {
                if (strncmp(in->flags[i], "--exclude=", 10) != 0)
                        continue;
                _cleanup_free_ char *pat = NULL;
                if (expand(s, in->flags[i] + 10, &pat, err) < 0)
                        goto out;
                char *x = xasprintf("%s%s\n", excl, pat);
                free(excl);
                excl = x;
        }
        if (*excl)
                ca.exclude = ignore_parse(excl);
        if (vs_df_flag(in, "checksum")) {
                bool url = false;
                for (size_t i = 0; in->args[i] && in->args[i + 1]; i++)
                        url = url || strncmp(in->args[i], "http://", 7) == 0 ||
                              strncmp(in->args[i], "https://", 8) == 0;
                if (!url || strncmp(vs_df_flag(in, "checksum"), "sha256:", 7) != 0) {
                        fail_line(s, "ADD --checksum=%s: only sha256:<hex> for URL sources",
                                  vs_df_flag(in, "checksum"));
                        goto out;
                }
        }
        if (f == NULL)
                ca.dockerignore = s->b->ignore;
        if (f) {
                if (expand(s, f, &from_v, err) < 0)
                        goto out;
                ca.from_context = false;
                struct stage *st = stage_named(s->b, from_v, (size_t) (s->stage - s->b->stages));
                const char *ref = st ? st->image_id : from_v;
                struct vs_image *img = NULL;
                _cleanup_error_ vs_error *e = NULL;
                if (ref == NULL || (st ? vs_image_lookup(s->b->store, ref, &img, &e)
                                       : base_image(s->b, ref, &img, &e)) < 0) {
                        fail_line(s, "COPY --from=%s: no such stage or image%s%s", from_v,
                                  e ? ": " : "", e ? e->msg : "");
                        goto out;
                }
                r = step_mount_open(s->b->e->data_root, img, &from, err);
                vs_image_free(img);
                if (r < 0)
                        goto out;
                r = -1;
                root = from.rootfd;
        }
        if (vs_df_flag(in, "chown") && expand(s, vs_df_flag(in, "chown"), &chown_v, err) < 0)
                goto out;
        ca.chown = chown_v;
        const char *cm = vs_df_flag(in, "chmod");
        if (cm) {
                char *end;
                long v = strtol(cm, &end, 8);
                if (*end || v < 0 || v > 07777) {
                        fail_line(s, "--chmod=%s: expected an octal mode", cm);
                        goto out;
                }
                ca.chmod = (int) v;
        }
        size_t n = strv_len(in->args);
        if (copy_sources(s, in, &ca, root, in->args, n, err) < 0)
                goto out;
        if (expand(s, in->args[n - 1], &dest, err) < 0)
                goto out;
        size_t dl = strlen(dest);
        if (dl && dest[dl - 1] == '/')
                ca.dest_dir = true;
        if (dest[0] != '/') {
                const char *wd = workdir_of(s);
                ca.dest = xasprintf("%s/%s", strcmp(wd, "/") == 0 ? "" : wd, dest);
        } else {
                ca.dest = xstrdup(dest);
        }
        /* The cache key: the instruction and what the sources hold. */
        ca.link = vs_df_flag(in, "link") && strcmp(vs_df_flag(in, "link"), "false") != 0;
        extra = xasprintf("%s%s%s%s %s", ca.link ? "link " : "", ca.parents ? "parents " : "",
                          *excl ? "exclude " : "", excl, from_v ? from_v : "context");
        for (size_t i = 0; i < ca.n; i++) {
                char h[VS_DIGEST_LEN + 1];
                if (ca.src[i].hd) {
                        _cleanup_free_ char *c = xasprintf("%s %s", extra, ca.src[i].hd->content);
                        free(extra);
                        extra = steal_ptr(c);
                        continue;
                }
                ca.prefix = ca.src[i].rel;
                if (hash_tree(ca.src[i].fd, ca.src[i].rel,
                              ca.from_context || ca.exclude ? context_ignored : NULL, &ca, h,
                              err) < 0)
                        goto out;
                char *c = xasprintf("%s %s", extra, h);
                free(extra);
                extra = c;
        }
        srcs = NULL;
        {
                char **v = NULL;
                for (size_t i = 0; i < ca.n; i++)
                        strv_push(&v, ca.src[i].rel);
                srcs = join_words(v);
                strv_free(v);
        }
        desc = xasprintf("%s %s%s%s%s %s # buildkit", vs_df_kind_name(in->kind),
                         chown_v ? "--chown=" : "", chown_v ? chown_v : "", chown_v ? " " : "",
                         srcs, ca.dest);
        key = cache_key(s, desc, extra);
        hit = cache_get(s, key);
        if (hit) {
                r = set_image(s, hit, err) < 0 ? -1 : 1;
                goto out;
        }
        if (ca.link && link_ids(s, &ca, err) < 0)
                goto out;
        r = fs_step_on(s, ca.link ? NULL : s->img, desc, key, copy_fn, NULL, &ca, err);
out:
        copy_arg_clear(&ca);
        if (from.dir)
                step_mount_close(&from);
        return r;
}
