/* COPY/ADD file work, all through fds: sources are resolved inside their
 * root (the context, or another stage's mounted root) with
 * RESOLVE_IN_ROOT, destinations inside the step's mounted root likewise,
 * and every entry below is opened O_NOFOLLOW relative to its parent, so no
 * symlink in an image or a context leads a write or a read outside. Also:
 * content digests of sources for the cache, .dockerignore matching. */
#include "build/internal.h"
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
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

char *clean_inside(const char *path)
{
        char **parts = NULL;
        _cleanup_free_ char *copy = xstrdup(path);
        char *save = NULL;
        for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
                if (strcmp(t, ".") == 0)
                        continue;
                if (strcmp(t, "..") == 0) {
                        size_t n = strv_len(parts);
                        if (n == 0) {
                                strv_free(parts);
                                return NULL;
                        }
                        free(parts[n - 1]);
                        parts[n - 1] = NULL;
                        continue;
                }
                strv_push(&parts, t);
        }
        size_t len = 1;
        for (size_t i = 0; parts && parts[i]; i++)
                len += strlen(parts[i]) + 1;
        char *out = xzalloc(len);
        for (size_t i = 0; parts && parts[i]; i++) {
                if (i)
                        strcat(out, "/");
                strcat(out, parts[i]);
        }
        strv_free(parts);
        return out;
}

int mkdir_in_root(int rootfd, const char *path, uid_t uid, gid_t gid, vs_error **err)
{
        _cleanup_free_ char *clean = clean_inside(path);
        if (clean == NULL)
                clean = xstrdup("");
        int fd = vs_openat2(rootfd, ".", O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT);
        if (fd < 0)
                return vs_fail_errno(err, "cannot open the root");
        char *save = NULL;
        for (char *t = strtok_r(clean, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
                bool made = mkdirat(fd, t, 0755) == 0;
                if (!made && errno != EEXIST) {
                        vs_fail_errno(err, "cannot create directory %s in %s", t, path);
                        close(fd);
                        return -1;
                }
                /* An existing symlink is followed, inside the root only. */
                int next = vs_openat2(fd, t, O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT);
                if (next < 0 && errno == EXDEV)
                        next = vs_openat2(rootfd, path, O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT);
                if (next < 0) {
                        vs_fail_errno(err, "cannot open directory %s", path);
                        close(fd);
                        return -1;
                }
                close(fd);
                fd = next;
                if (made) {
                        char p[64];
                        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
                        if (save == NULL || *save == '\0')
                                if (chown(p, uid, gid) < 0) {
                                        vs_fail_errno(err, "cannot chown %s", path);
                                        close(fd);
                                        return -1;
                                }
                }
        }
        return fd;
}

/* Opens the parent of dest_path (created as needed) and returns the last
 * component in *name. */
static int open_parent(int dst_root, const char *dest_path, char **name, vs_error **err)
{
        _cleanup_free_ char *clean = clean_inside(dest_path);
        if (clean == NULL || *clean == '\0')
                return vs_fail(err, "invalid destination %s", dest_path);
        char *slash = strrchr(clean, '/');
        *name = xstrdup(slash ? slash + 1 : clean);
        if (slash)
                *slash = '\0';
        int fd = mkdir_in_root(dst_root, slash ? clean : "", 0, 0, err);
        if (fd < 0) {
                free(*name);
                *name = NULL;
        }
        return fd;
}

static int set_meta(int fd, const struct stat *st, const struct copy_opts *o, bool link,
                    vs_error **err)
{
        uid_t uid = o->uid >= 0 ? (uid_t) o->uid : st->st_uid;
        gid_t gid = o->gid >= 0 ? (gid_t) o->gid : st->st_gid;
        if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
                return vs_fail_errno(err, "cannot set the owner of a copied file");
        struct timespec ts[2] = {st->st_atim, st->st_mtim};
        if (link)
                return 0;
        char p[64];
        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
        mode_t mode = o->file_mode >= 0 ? (mode_t) o->file_mode : (st->st_mode & 07777);
        if (o->host && !S_ISDIR(st->st_mode))
                mode &= ~(mode_t) (S_ISUID | S_ISGID);
        if (chmod(p, mode) < 0)
                return vs_fail_errno(err, "cannot set the mode of a copied file");
        if (utimensat(AT_FDCWD, p, ts, 0) < 0)
                return vs_fail_errno(err, "cannot set the times of a copied file");
        return 0;
}

static int copy_entry(int src_dir, const char *src_name, const char *rel, int dst_dir,
                      const char *dst_name, const struct copy_opts *o, int depth, vs_error **err);

static int copy_dir_contents(int src_fd, const char *rel, int dst_fd, const struct copy_opts *o,
                             int depth, vs_error **err)
{
        int dfd = openat(src_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return vs_fail_errno(err, "cannot read directory %s", rel);
        DIR *d = fdopendir(dfd);
        if (d == NULL) {
                close(dfd);
                return vs_fail_errno(err, "cannot read directory %s", rel);
        }
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                _cleanup_free_ char *crel =
                    *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
                if (o->ignored && o->ignored(crel, o->ignored_arg))
                        continue;
                r = copy_entry(dirfd(d), de->d_name, crel, dst_fd, de->d_name, o, depth + 1, err);
        }
        closedir(d);
        return r;
}

static int copy_file(int src, const struct stat *st, int dst_dir, const char *name,
                     const struct copy_opts *o, const char *rel, vs_error **err)
{
        int in = vs_reopen_regular(src, st, NULL, rel, err);
        if (in < 0)
                return -1;
        unlinkat(dst_dir, name, 0);
        int out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0) {
                close(in);
                return vs_fail_errno(err, "cannot create %s", name);
        }
        off_t left = st->st_size;
        while (left > 0) {
                ssize_t n = sendfile(out, in, NULL, left > (1 << 30) ? (1 << 30) : (size_t) left);
                if (n <= 0) {
                        if (n < 0 && errno == EINTR)
                                continue;
                        vs_fail_errno(err, "cannot copy %s", rel);
                        close(in);
                        close(out);
                        return -1;
                }
                left -= n;
        }
        close(in);
        int r = set_meta(out, st, o, false, err);
        close(out);
        return r;
}

static int copy_entry(int src_dir, const char *src_name, const char *rel, int dst_dir,
                      const char *dst_name, const struct copy_opts *o, int depth, vs_error **err)
{
        if (depth > 4096)
                return vs_fail(err, "%s: directories nested too deeply", rel);
        _cleanup_close_ int src = openat(src_dir, src_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (src < 0 || fstat(src, &st) < 0)
                return vs_fail_errno(err, "cannot open %s", rel);
        if (S_ISREG(st.st_mode))
                return copy_file(src, &st, dst_dir, dst_name, o, rel, err);
        if (S_ISLNK(st.st_mode)) {
                char target[4097];
                ssize_t n = readlinkat(src, "", target, sizeof(target) - 1);
                if (n < 0)
                        return vs_fail_errno(err, "cannot read link %s", rel);
                target[n] = '\0';
                unlinkat(dst_dir, dst_name, 0);
                if (symlinkat(target, dst_dir, dst_name) < 0)
                        return vs_fail_errno(err, "cannot create link %s", dst_name);
                _cleanup_close_ int l = openat(dst_dir, dst_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (l < 0)
                        return vs_fail_errno(err, "cannot open link %s", dst_name);
                uid_t uid = o->uid >= 0 ? (uid_t) o->uid : st.st_uid;
                gid_t gid = o->gid >= 0 ? (gid_t) o->gid : st.st_gid;
                if (fchownat(l, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
                        return vs_fail_errno(err, "cannot set the owner of %s", dst_name);
                struct timespec ts[2] = {st.st_atim, st.st_mtim};
                utimensat(dst_dir, dst_name, ts, AT_SYMLINK_NOFOLLOW);
                return 0;
        }
        if (!S_ISDIR(st.st_mode))
                return 0; /* devices, FIFOs, sockets: not copied */
        struct stat dst_st;
        if (fstatat(dst_dir, dst_name, &dst_st, AT_SYMLINK_NOFOLLOW) == 0 &&
            !S_ISDIR(dst_st.st_mode))
                unlinkat(dst_dir, dst_name, 0);
        if (mkdirat(dst_dir, dst_name, 0700) < 0 && errno != EEXIST)
                return vs_fail_errno(err, "cannot create directory %s", dst_name);
        _cleanup_close_ int dst =
            openat(dst_dir, dst_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dst < 0)
                return vs_fail_errno(err, "cannot open directory %s", dst_name);
        _cleanup_close_ int srcd =
            openat(src_dir, src_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (srcd < 0)
                return vs_fail_errno(err, "cannot open directory %s", rel);
        if (copy_dir_contents(srcd, rel, dst, o, depth, err) < 0)
                return -1;
        struct copy_opts dir_o = *o;
        dir_o.file_mode = -1; /* --chmod is for files and directories alike in BuildKit */
        if (o->file_mode >= 0)
                dir_o.file_mode = o->file_mode;
        return set_meta(dst, &st, &dir_o, false, err);
}

int copy_tree(int src_fd, const char *src_rel, int dst_root, const char *dest_path,
              const struct copy_opts *o, vs_error **err)
{
        struct stat st;
        if (fstat(src_fd, &st) < 0)
                return vs_fail_errno(err, "cannot stat %s", src_rel);
        if (S_ISDIR(st.st_mode)) {
                /* A directory's contents go into dest_path (created). */
                _cleanup_close_ int dst =
                    mkdir_in_root(dst_root, dest_path, o->uid >= 0 ? (uid_t) o->uid : 0,
                                  o->gid >= 0 ? (gid_t) o->gid : 0, err);
                if (dst < 0)
                        return -1;
                _cleanup_close_ int dstw = openat(dst, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int srcd = openat(src_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dstw < 0 || srcd < 0)
                        return vs_fail_errno(err, "cannot open %s", dest_path);
                return copy_dir_contents(srcd, src_rel, dstw, o, 0, err);
        }
        _cleanup_free_ char *name = NULL;
        _cleanup_close_ int parent = open_parent(dst_root, dest_path, &name, err);
        if (parent < 0)
                return -1;
        _cleanup_close_ int pw = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pw < 0)
                return vs_fail_errno(err, "cannot open the parent of %s", dest_path);
        if (S_ISREG(st.st_mode))
                return copy_file(src_fd, &st, pw, name, o, src_rel, err);
        /* The source itself was resolved (links followed): only files and
         * directories reach here; others are refused. */
        return vs_fail(err, "%s: not a regular file or directory", src_rel);
}

int write_in_root(int dst_root, const char *dest_path, const char *data, size_t len, mode_t mode,
                  uid_t uid, gid_t gid, vs_error **err)
{
        _cleanup_free_ char *name = NULL;
        _cleanup_close_ int parent = open_parent(dst_root, dest_path, &name, err);
        if (parent < 0)
                return -1;
        _cleanup_close_ int pw = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pw < 0)
                return vs_fail_errno(err, "cannot open the parent of %s", dest_path);
        unlinkat(pw, name, 0);
        _cleanup_close_ int out =
            openat(pw, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0 || vs_write_all(out, data, len) < 0)
                return vs_fail_errno(err, "cannot write %s", dest_path);
        if (fchown(out, uid, gid) < 0 || fchmod(out, mode) < 0)
                return vs_fail_errno(err, "cannot set the owner or mode of %s", dest_path);
        return 0;
}

/* ---- content digests ---- */

static void hash_str(struct vs_sha256 *h, const char *s)
{
        vs_sha256_update(h, s, strlen(s) + 1);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* fd: an O_PATH fd of the entry (not followed). */
static int hash_fd(struct vs_sha256 *h, int fd, const char *rel,
                   bool (*ignored)(const char *, void *), void *arg, int depth, vs_error **err)
{
        if (depth > 4096)
                return vs_fail(err, "%s: directories nested too deeply", rel);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return vs_fail_errno(err, "cannot stat %s", rel);
        char meta[96];
        snprintf(meta, sizeof(meta), "%o %lld", (unsigned) st.st_mode,
                 S_ISREG(st.st_mode) ? (long long) st.st_size : 0LL);
        hash_str(h, rel);
        hash_str(h, meta);
        if (S_ISLNK(st.st_mode)) {
                char target[4097];
                ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
                target[n < 0 ? 0 : n] = '\0';
                hash_str(h, target);
                return 0;
        }
        if (S_ISREG(st.st_mode)) {
                _cleanup_close_ int in = vs_reopen_regular(fd, &st, NULL, rel, err);
                if (in < 0)
                        return -1;
                char buf[65536];
                ssize_t n;
                while ((n = read(in, buf, sizeof(buf))) > 0)
                        vs_sha256_update(h, buf, (size_t) n);
                if (n < 0)
                        return vs_fail_errno(err, "cannot read %s", rel);
                return 0;
        }
        if (!S_ISDIR(st.st_mode))
                return 0;
        int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (d == NULL) {
                if (dfd >= 0)
                        close(dfd);
                return vs_fail_errno(err, "cannot read directory %s", rel);
        }
        char **names = NULL;
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        strv_push(&names, de->d_name);
        size_t n = strv_len(names);
        if (n)
                qsort(names, n, sizeof(char *), cmp_str);
        int r = 0;
        for (size_t i = 0; r == 0 && i < n; i++) {
                _cleanup_free_ char *crel =
                    *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
                if (ignored && ignored(crel, arg))
                        continue;
                _cleanup_close_ int c = openat(dirfd(d), names[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (c < 0) {
                        r = vs_fail_errno(err, "cannot open %s", crel);
                        break;
                }
                r = hash_fd(h, c, crel, ignored, arg, depth + 1, err);
        }
        strv_free(names);
        closedir(d);
        return r;
}

int hash_tree(int fd, const char *rel, bool (*ignored)(const char *, void *), void *arg,
              char out[72], vs_error **err)
{
        struct vs_sha256 h;
        vs_sha256_init(&h);
        if (hash_fd(&h, fd, rel, ignored, arg, 0, err) < 0) {
                vs_sha256_abort(&h);
                return -1;
        }
        vs_sha256_final(&h, out);
        return 0;
}

/* ---- .dockerignore ---- */

struct ignore {
        char **patterns; /* cleaned; "!" kept as the first character */
};

struct ignore *ignore_parse(const char *text)
{
        struct ignore *ig = xzalloc(sizeof(*ig));
        _cleanup_free_ char *copy = xstrdup(text);
        char *save = NULL;
        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                while (*l == ' ' || *l == '\t')
                        l++;
                size_t n = strlen(l);
                while (n && (l[n - 1] == ' ' || l[n - 1] == '\t' || l[n - 1] == '\r'))
                        l[--n] = '\0';
                if (*l == '\0' || *l == '#')
                        continue;
                bool neg = *l == '!';
                if (neg)
                        l++;
                while (*l == '/')
                        l++;
                _cleanup_free_ char *c = clean_inside(l);
                if (c == NULL || *c == '\0')
                        continue;
                _cleanup_free_ char *p = xasprintf("%s%s", neg ? "!" : "", c);
                strv_push(&ig->patterns, p);
        }
        return ig;
}

/* Go filepath.Match with "**" matching any number of path elements. */
static bool match_pattern(const char *pat, const char *path)
{
        if (strncmp(pat, "**", 2) == 0) {
                const char *rest = pat[2] == '/' ? pat + 3 : pat + 2;
                if (*rest == '\0')
                        return true;
                for (const char *p = path;; p = strchr(p, '/') + 1) {
                        if (match_pattern(rest, p))
                                return true;
                        if (strchr(p, '/') == NULL)
                                return false;
                }
        }
        const char *slash = strchr(pat, '/');
        if (slash == NULL)
                return fnmatch(pat, path, FNM_PATHNAME) == 0;
        _cleanup_free_ char *head = xstrndup(pat, (size_t) (slash - pat));
        const char *ps = strchr(path, '/');
        if (ps == NULL)
                return false;
        _cleanup_free_ char *phead = xstrndup(path, (size_t) (ps - path));
        if (fnmatch(head, phead, FNM_PATHNAME) != 0)
                return false;
        return match_pattern(slash + 1, ps + 1);
}

/* A path matches a pattern when it or one of its parent directories does
 * (Docker's patternmatcher); the last matching pattern decides. */
bool ignore_match(const char *rel, void *arg)
{
        struct ignore *ig = arg;
        if (ig == NULL || ig->patterns == NULL)
                return false;
        bool ignored = false;
        for (size_t i = 0; ig->patterns[i]; i++) {
                const char *pat = ig->patterns[i];
                bool neg = *pat == '!';
                if (neg)
                        pat++;
                bool m = false;
                _cleanup_free_ char *p = xstrdup(rel);
                for (;;) {
                        if (match_pattern(pat, p)) {
                                m = true;
                                break;
                        }
                        char *s = strrchr(p, '/');
                        if (s == NULL)
                                break;
                        *s = '\0';
                }
                if (m)
                        ignored = !neg;
        }
        return ignored;
}

void ignore_free(struct ignore *ig)
{
        if (ig == NULL)
                return;
        strv_free(ig->patterns);
        free(ig);
}
