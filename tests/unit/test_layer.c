/* Layers: unpack defences (each bad archive refused with its message and
 * nothing left behind or written outside), whiteouts and opaque dirs through
 * real overlay mounts and through the copy fallback, pack/unpack round
 * trips with independently computed digests, diff, and commit into a real
 * store. Run as root; the process gets a private mount namespace first, so
 * no mount outlives it. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "kernel_probe.h"

#include "image/image.h"
#include "image/layer.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* ---- scaffolding ---- */

enum { T_FILE, T_DIR, T_SYMLINK, T_HARDLINK, T_CHR, T_FIFO };

struct tent {
        int type;
        const char *name;
        const char *data; /* file content, symlink or hardlink target */
        mode_t perm;
};

enum { PLAIN, GZIP, ZSTD };

struct fixture {
        char *dir;    /* scratch dir of the test */
        char *layers; /* parent of the unpack destinations */
        char *canary; /* must never change */
        char *before; /* snapshot of canary */
};

static void write_tar(const char *path, const struct tent *ents, size_t n, int filter)
{
        struct archive *a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        if (filter == GZIP)
                archive_write_add_filter_gzip(a);
        else if (filter == ZSTD)
                archive_write_add_filter_zstd(a);
        assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
        struct archive_entry *e = archive_entry_new();
        for (size_t i = 0; i < n; i++) {
                const struct tent *t = &ents[i];
                archive_entry_clear(e);
                archive_entry_copy_pathname(e, t->name);
                archive_entry_set_perm(e, t->perm ? t->perm : (t->type == T_DIR ? 0755 : 0644));
                archive_entry_set_mtime(e, 1000000000, 0);
                archive_entry_set_uid(e, 0);
                archive_entry_set_gid(e, 0);
                switch (t->type) {
                case T_FILE:
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_size(e, t->data ? (la_int64_t) strlen(t->data) : 0);
                        break;
                case T_DIR:
                        archive_entry_set_filetype(e, AE_IFDIR);
                        break;
                case T_SYMLINK:
                        archive_entry_set_filetype(e, AE_IFLNK);
                        archive_entry_copy_symlink(e, t->data);
                        break;
                case T_HARDLINK:
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_copy_hardlink(e, t->data);
                        archive_entry_set_size(e, 0);
                        break;
                case T_CHR:
                        archive_entry_set_filetype(e, AE_IFCHR);
                        archive_entry_set_rdev(e, makedev(1, 3));
                        break;
                case T_FIFO:
                        archive_entry_set_filetype(e, AE_IFIFO);
                        break;
                }
                assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
                if (t->type == T_FILE && t->data)
                        archive_write_data(a, t->data, strlen(t->data));
        }
        archive_entry_free(e);
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
}

static void put_file(const char *path, const char *content, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, strlen(content)), (ssize_t) strlen(content));
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

static char *read_text(const char *path)
{
        char *text = NULL;
        vs_error *err = NULL;
        if (vs_read_file(path, &text, NULL, &err) < 0) {
                vs_error_free(&err);
                return NULL;
        }
        return text;
}

static bool exists(const char *path)
{
        struct stat st;
        return lstat(path, &st) == 0;
}

/* A recursive listing with modes, sizes, link counts and small contents. */
static void snapshot_into(const char *path, char **out)
{
        struct stat st;
        if (lstat(path, &st) < 0)
                return;
        char *line = xasprintf("%s %o %lld %lu\n", path, st.st_mode, (long long) st.st_size,
                               (unsigned long) st.st_nlink);
        char *joined = xasprintf("%s%s", *out, line);
        free(line);
        free(*out);
        *out = joined;
        if (S_ISREG(st.st_mode)) {
                _cleanup_free_ char *text = read_text(path);
                joined = xasprintf("%s%s\n", *out, text ? text : "");
                free(*out);
                *out = joined;
        }
        if (!S_ISDIR(st.st_mode))
                return;
        DIR *d = opendir(path);
        assert_non_null(d);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                _cleanup_free_ char *sub = xasprintf("%s/%s", path, de->d_name);
                snapshot_into(sub, out);
        }
        closedir(d);
}

static char *snapshot(const char *path)
{
        char *out = xstrdup("");
        snapshot_into(path, &out);
        return out;
}

static size_t count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        assert_non_null(d);
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

static int setup(void **state)
{
        struct fixture *f = xzalloc(sizeof(*f));
        f->dir = xstrdup("/tmp/vessel-test-layer-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->layers = xasprintf("%s/layers", f->dir);
        f->canary = xasprintf("%s/canary", f->dir);
        assert_int_equal(mkdir(f->layers, 0755), 0);
        assert_int_equal(mkdir(f->canary, 0755), 0);
        _cleanup_free_ char *c = xasprintf("%s/file", f->canary);
        put_file(c, "original\n", 0644);
        f->before = snapshot(f->canary);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        vs_error *err = NULL;
        if (vs_rm_rf(f->dir, &err) < 0)
                vs_error_free(&err);
        free(f->dir);
        free(f->layers);
        free(f->canary);
        free(f->before);
        free(f);
        return 0;
}

static int unpack_path(const char *tar, const char *media_type, const char *dest, bool devices,
                       char **diff_id, vs_error **err)
{
        int fd = open(tar, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        int64_t size = 0;
        int r = vs_layer_unpack(fd, media_type, dest, devices, diff_id, &size, err);
        close(fd);
        return r;
}

/* Unpacking ents must fail with want in the message, leave nothing in the
 * layers dir, and leave the canary alone. */
static void expect_refused(struct fixture *f, const struct tent *ents, size_t n, int filter,
                           const char *want)
{
        _cleanup_free_ char *tar = xasprintf("%s/bad.tar", f->dir);
        _cleanup_free_ char *dest = xasprintf("%s/l1", f->layers);
        write_tar(tar, ents, n, filter);
        char *diff_id = NULL;
        vs_error *err = NULL;
        assert_int_equal(unpack_path(tar, NULL, dest, false, &diff_id, &err), -1);
        assert_non_null(err);
        if (strstr(err->msg, want) == NULL)
                fail_msg("error '%s' does not contain '%s'", err->msg, want);
        vs_error_free(&err);
        assert_null(diff_id);
        assert_int_equal(count_entries(f->layers), 0);
        _cleanup_free_ char *after = snapshot(f->canary);
        assert_string_equal(after, f->before);
        unlink(tar);
}

static char *sha256_hex_of(const void *data, size_t len, EVP_MD_CTX *ctx)
{
        unsigned char sum[32];
        unsigned int n = 0;
        EVP_MD_CTX *md = ctx ? ctx : EVP_MD_CTX_new();
        if (!ctx) {
                EVP_DigestInit_ex(md, EVP_sha256(), NULL);
                EVP_DigestUpdate(md, data, len);
        }
        EVP_DigestFinal_ex(md, sum, &n);
        EVP_MD_CTX_free(md);
        char *out = xmalloc(7 + 65);
        strcpy(out, "sha256:");
        for (unsigned i = 0; i < n; i++)
                sprintf(out + 7 + 2 * i, "%02x", sum[i]);
        return out;
}

static char *sha256_file(const char *path)
{
        char *data = NULL;
        size_t len = 0;
        vs_error *err = NULL;
        assert_int_equal(vs_read_file(path, &data, &len, &err), 0);
        char *d = sha256_hex_of(data, len, NULL);
        free(data);
        return d;
}

/* sha256 of the decompressed content of a (gzip) file, with libarchive's
 * raw reader: an independent path from the one vessel uses. */
static char *sha256_uncompressed(const char *path)
{
        struct archive *a = archive_read_new();
        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        assert_int_equal(archive_read_open_filename(a, path, 65536), ARCHIVE_OK);
        struct archive_entry *e;
        assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        EVP_DigestInit_ex(md, EVP_sha256(), NULL);
        char buf[65536];
        la_ssize_t n;
        while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
                EVP_DigestUpdate(md, buf, (size_t) n);
        assert_int_equal(n, 0);
        archive_read_free(a);
        return sha256_hex_of(NULL, 0, md);
}

/* ---- unpack: formats and digests ---- */

static const struct tent simple[] = {
    {T_DIR, "./", NULL, 0755},
    {T_DIR, "etc/", NULL, 0755},
    {T_FILE, "etc/hello", "hello\n", 0644},
    {T_FILE, "bin/su", "#!/bin/sh\n", 04755},
    {T_SYMLINK, "etc/link", "/etc/hello", 0777},
    {T_HARDLINK, "etc/hard", "etc/hello", 0644},
    {T_FIFO, "fifo", NULL, 0600},
    {T_FILE, "Főtanúsítvány.crt", "utf8\n", 0644},
};

static void test_unpack_formats(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        struct fixture *f = *state;
        const int filters[] = {PLAIN, GZIP, ZSTD};
        const char *types[] = {"application/vnd.oci.image.layer.v1.tar",
                               "application/vnd.oci.image.layer.v1.tar+gzip",
                               "application/vnd.oci.image.layer.v1.tar+zstd"};
        _cleanup_free_ char *plain = xasprintf("%s/plain.tar", f->dir);
        write_tar(plain, simple, sizeof(simple) / sizeof(simple[0]), PLAIN);
        _cleanup_free_ char *want = sha256_file(plain);
        for (int i = 0; i < 3; i++) {
                for (int sniff = 0; sniff < 2; sniff++) {
                        _cleanup_free_ char *tar = xasprintf("%s/t%d.tar", f->dir, i);
                        _cleanup_free_ char *dest = xasprintf("%s/l%d%d", f->layers, i, sniff);
                        write_tar(tar, simple, sizeof(simple) / sizeof(simple[0]), filters[i]);
                        _cleanup_free_ char *diff_id = NULL;
                        vs_error *err = NULL;
                        int r =
                            unpack_path(tar, sniff ? NULL : types[i], dest, false, &diff_id, &err);
                        if (r < 0)
                                fail_msg("unpack: %s", err->msg);
                        assert_string_equal(diff_id, want);
                        _cleanup_free_ char *p = xasprintf("%s/etc/hello", dest);
                        _cleanup_free_ char *text = read_text(p);
                        assert_string_equal(text, "hello\n");
                        struct stat st, st2;
                        _cleanup_free_ char *su = xasprintf("%s/bin/su", dest);
                        assert_int_equal(lstat(su, &st), 0);
                        assert_int_equal(st.st_mode & 07777, 04755); /* setuid kept */
                        assert_int_equal(st.st_mtime, 1000000000);
                        _cleanup_free_ char *hard = xasprintf("%s/etc/hard", dest);
                        assert_int_equal(lstat(p, &st), 0);
                        assert_int_equal(lstat(hard, &st2), 0);
                        assert_int_equal(st.st_ino, st2.st_ino);
                        _cleanup_free_ char *link = xasprintf("%s/etc/link", dest);
                        char target[64] = {0};
                        assert_int_equal(readlink(link, target, sizeof(target) - 1), 10);
                        assert_string_equal(target, "/etc/hello");
                        _cleanup_free_ char *fifo = xasprintf("%s/fifo", dest);
                        assert_int_equal(lstat(fifo, &st), 0);
                        assert_true(S_ISFIFO(st.st_mode));
                        _cleanup_free_ char *utf = xasprintf("%s/Főtanúsítvány.crt", dest);
                        assert_true(exists(utf));
                }
        }
        /* no temporary directory left beside the layers */
        assert_int_equal(count_entries(f->layers), 6);
}

/* Large files (past the direct-write chunk, util/dio.h) and sparse ones
 * (a hole first, or data then a hole) come out byte for byte. */
static void test_unpack_large_and_sparse(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        struct fixture *f = *state;
        const size_t mib = 1 << 20;
        const struct {
                const char *name;
                size_t size;
                size_t data[2][2]; /* (offset, length) of the data; {0, 0}: none */
        } files[] = {
            {"big", 2 * mib + mib / 2 + 17, {{0, 2 * mib + mib / 2 + 17}, {0, 0}}},
            {"data-then-hole", 3 * mib, {{0, 4096}, {2 * mib, 8192}}},
            {"hole-first", 3 * mib + 5, {{mib, 4096}, {3 * mib, 5}}},
        };
        _cleanup_free_ char *tar = xasprintf("%s/large.tar", f->dir);
        struct archive *a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        assert_int_equal(archive_write_open_filename(a, tar), ARCHIVE_OK);
        unsigned char *want[3];
        for (size_t i = 0; i < 3; i++) {
                want[i] = xzalloc(files[i].size);
                struct archive_entry *e = archive_entry_new();
                archive_entry_copy_pathname(e, files[i].name);
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, 0644);
                archive_entry_set_size(e, (la_int64_t) files[i].size);
                for (size_t k = 0; k < 2 && files[i].data[k][1]; k++) {
                        size_t off = files[i].data[k][0], len = files[i].data[k][1];
                        for (size_t b = off; b < off + len; b++)
                                want[i][b] = (unsigned char) ((b * 2654435761u >> 11) | 1);
                        if (i > 0)
                                archive_entry_sparse_add_entry(e, (la_int64_t) off,
                                                               (la_int64_t) len);
                }
                assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
                assert_int_equal(archive_write_data(a, want[i], files[i].size),
                                 (la_ssize_t) files[i].size);
                archive_entry_free(e);
        }
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);

        _cleanup_free_ char *dest = xasprintf("%s/large", f->layers);
        _cleanup_free_ char *diff_id = NULL;
        vs_error *err = NULL;
        if (unpack_path(tar, NULL, dest, false, &diff_id, &err) < 0)
                fail_msg("unpack: %s", err->msg);
        for (size_t i = 0; i < 3; i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", dest, files[i].name);
                _cleanup_free_ char *got = NULL;
                size_t len = 0;
                if (vs_read_file(p, &got, &len, &err) < 0)
                        fail_msg("%s", err->msg);
                assert_int_equal(len, files[i].size);
                if (memcmp(got, want[i], len) != 0)
                        fail_msg("%s differs from what was packed", files[i].name);
                free(want[i]);
        }
}

static void test_unpack_from_pipe(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        struct fixture *f = *state;
        _cleanup_free_ char *tar = xasprintf("%s/p.tar.gz", f->dir);
        write_tar(tar, simple, sizeof(simple) / sizeof(simple[0]), GZIP);
        _cleanup_free_ char *want = sha256_uncompressed(tar);
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                int fd = open(tar, O_RDONLY);
                char buf[4096];
                ssize_t n;
                while ((n = read(fd, buf, sizeof(buf))) > 0)
                        if (write(p[1], buf, (size_t) n) != n)
                                _exit(1);
                _exit(0);
        }
        close(p[1]);
        _cleanup_free_ char *dest = xasprintf("%s/piped", f->layers);
        char *diff_id = NULL;
        int64_t size = 0;
        vs_error *err = NULL;
        int r = vs_layer_unpack(p[0], NULL, dest, false, &diff_id, &size, &err);
        close(p[0]);
        waitpid(pid, NULL, 0);
        if (r < 0)
                fail_msg("unpack: %s", err->msg);
        assert_string_equal(diff_id, want);
        assert_int_equal(size, 6 + 10 + 5);
        free(diff_id);
}

static void test_unpack_devices(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        struct fixture *f = *state;
        const struct tent ents[] = {
            {T_DIR, "dev/", NULL, 0755},
            {T_CHR, "dev/null", NULL, 0666},
            {T_FILE, "dev/keep", "k", 0644},
        };
        _cleanup_free_ char *tar = xasprintf("%s/dev.tar", f->dir);
        write_tar(tar, ents, 3, PLAIN);
        for (int allow = 0; allow < 2; allow++) {
                _cleanup_free_ char *dest = xasprintf("%s/dev%d", f->layers, allow);
                _cleanup_free_ char *diff_id = NULL;
                vs_error *err = NULL;
                if (unpack_path(tar, NULL, dest, allow, &diff_id, &err) < 0)
                        fail_msg("unpack: %s", err->msg);
                _cleanup_free_ char *node = xasprintf("%s/dev/null", dest);
                _cleanup_free_ char *keep = xasprintf("%s/dev/keep", dest);
                struct stat st;
                assert_true(exists(keep));
                if (!allow) {
                        /* skipped, not created: see docs/layers.md */
                        assert_false(exists(node));
                } else {
                        assert_int_equal(lstat(node, &st), 0);
                        assert_true(S_ISCHR(st.st_mode));
                        assert_int_equal(st.st_rdev, makedev(1, 3));
                        assert_int_equal(st.st_mode & 07777, 0666);
                }
        }
}

/* ---- unpack: refused archives ---- */

static void test_refuse_dotdot(void **state)
{
        const struct tent ents[] = {{T_FILE, "ok", "x", 0}, {T_FILE, "../x", "evil", 0}};
        expect_refused(*state, ents, 2, PLAIN, "layer entry '../x': path escapes the layer");
        const struct tent ents2[] = {{T_FILE, "a/../../x", "evil", 0}};
        expect_refused(*state, ents2, 1, GZIP, "layer entry 'a/../../x': path escapes the layer");
}

static void test_refuse_absolute(void **state)
{
        const struct tent ents[] = {{T_FILE, "/abs", "evil", 0}};
        expect_refused(*state, ents, 1, PLAIN, "layer entry '/abs': path escapes the layer");
}

static void test_refuse_symlink_parent(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        struct fixture *f = *state;
        /* "evil -> /" then a file through it (aimed at the canary, so a
         * broken defence shows up here rather than on the host) */
        _cleanup_free_ char *through = xasprintf("evil%s/file", f->canary);
        const struct tent ents[] = {{T_SYMLINK, "evil", "/", 0}, {T_FILE, through, "pwned", 0}};
        expect_refused(f, ents, 2, PLAIN, "parent 'evil' is a symlink");
        const struct tent ents2[] = {{T_SYMLINK, "evil", f->canary, 0},
                                     {T_FILE, "evil/file", "pwned", 0}};
        expect_refused(f, ents2, 2, PLAIN, "layer entry 'evil/file': parent 'evil' is a symlink");
        /* deeper: a directory, then a symlink below it */
        const struct tent ents3[] = {
            {T_DIR, "a/", NULL, 0}, {T_SYMLINK, "a/b", f->canary, 0}, {T_DIR, "a/b/sub/", NULL, 0}};
        expect_refused(f, ents3, 3, PLAIN, "parent 'a/b' is a symlink");
        /* a whiteout and an opaque marker through a symlink */
        const struct tent ents4[] = {{T_SYMLINK, "evil", f->canary, 0},
                                     {T_FILE, "evil/.wh.file", "", 0}};
        expect_refused(f, ents4, 2, PLAIN, "parent 'evil' is a symlink");
        const struct tent ents5[] = {{T_SYMLINK, "evil", f->canary, 0},
                                     {T_FILE, "evil/.wh..wh..opq", "", 0}};
        expect_refused(f, ents5, 2, PLAIN, "parent 'evil' is a symlink");
}

static void test_refuse_hardlink_escape(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        struct fixture *f = *state;
        const struct tent ents[] = {{T_HARDLINK, "shadow", "../../etc/shadow", 0}};
        expect_refused(f, ents, 1, PLAIN,
                       "layer entry 'shadow': hardlink target '../../etc/shadow' escapes the "
                       "layer");
        const struct tent ents2[] = {{T_HARDLINK, "shadow", "/etc/shadow", 0}};
        expect_refused(f, ents2, 1, PLAIN, "hardlink target '/etc/shadow' escapes the layer");
        /* a symlink to the outside, then a hardlink through it */
        const struct tent ents3[] = {{T_SYMLINK, "out", f->canary, 0},
                                     {T_HARDLINK, "h", "out/file", 0}};
        expect_refused(f, ents3, 2, PLAIN,
                       "layer entry 'h': hardlink target 'out/file': parent 'out' is a symlink");
        /* a hardlink to a symlink links the symlink itself, never its target */
        _cleanup_free_ char *tar = xasprintf("%s/hl.tar", f->dir);
        _cleanup_free_ char *dest = xasprintf("%s/hl", f->layers);
        _cleanup_free_ char *target = xasprintf("%s/file", f->canary);
        const struct tent ents4[] = {{T_SYMLINK, "s", target, 0}, {T_HARDLINK, "h", "s", 0}};
        write_tar(tar, ents4, 2, PLAIN);
        _cleanup_free_ char *diff_id = NULL;
        vs_error *err = NULL;
        if (unpack_path(tar, NULL, dest, false, &diff_id, &err) < 0)
                fail_msg("unpack: %s", err->msg);
        _cleanup_free_ char *h = xasprintf("%s/h", dest);
        struct stat st, cst;
        assert_int_equal(lstat(h, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        assert_int_equal(lstat(target, &cst), 0);
        assert_int_equal(cst.st_nlink, 1);
}

static void test_refuse_whiteout_escape(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        const struct tent ents[] = {{T_FILE, ".wh..", "", 0}};
        expect_refused(*state, ents, 1, PLAIN,
                       "layer entry '.wh..': whiteout names '.' outside its directory");
        const struct tent ents2[] = {{T_DIR, "a/", NULL, 0}, {T_FILE, "a/.wh...", "", 0}};
        expect_refused(*state, ents2, 2, PLAIN,
                       "layer entry 'a/.wh...': whiteout names '..' outside its directory");
        const struct tent ents3[] = {{T_FILE, "../.wh.x", "", 0}};
        expect_refused(*state, ents3, 1, PLAIN, "path escapes the layer");
}

static void test_refuse_misc(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        struct fixture *f = *state;
        const struct tent ents[] = {{T_FILE, "a", "file", 0}, {T_FILE, "a/b", "x", 0}};
        expect_refused(f, ents, 2, PLAIN, "layer entry 'a/b': parent 'a' is not a directory");
        const struct tent ents2[] = {{T_FILE, ".", "x", 0}};
        expect_refused(f, ents2, 1, PLAIN, "the layer root must be a directory");
        const struct tent ents3[] = {{T_HARDLINK, "h", "missing", 0}};
        expect_refused(f, ents3, 1, PLAIN, "hardlink target 'missing' does not exist");
}

static void test_refuse_truncated(void **state)
{
        struct fixture *f = *state;
        /* incompressible content, so that cutting the gzip stream cuts a file */
        size_t big = 256 * 1024;
        char *data = xmalloc(big + 1);
        unsigned x = 12345;
        for (size_t i = 0; i < big; i++) {
                x = x * 1103515245 + 12345;
                data[i] = (char) ('!' + (x >> 16) % 90);
        }
        data[big] = '\0';
        const struct tent ents[] = {{T_FILE, "big", data, 0}, {T_FILE, "after", "x", 0}};
        _cleanup_free_ char *tar = xasprintf("%s/trunc.tar.gz", f->dir);
        _cleanup_free_ char *dest = xasprintf("%s/trunc", f->layers);
        for (int filter = GZIP; filter <= ZSTD; filter++) {
                write_tar(tar, ents, 2, filter);
                struct stat st;
                assert_int_equal(stat(tar, &st), 0);
                assert_int_equal(truncate(tar, st.st_size / 2), 0);
                char *diff_id = NULL;
                vs_error *err = NULL;
                assert_int_equal(unpack_path(tar, NULL, dest, false, &diff_id, &err), -1);
                assert_non_null(strstr(err->msg, "cannot unpack layer into"));
                assert_non_null(strstr(err->msg, "layer entry 'big': cannot read data"));
                vs_error_free(&err);
                assert_int_equal(count_entries(f->layers), 0);
        }
        /* cut after the last entry: the end of the stream is checked too */
        const struct tent small[] = {{T_FILE, "small", "x", 0}};
        write_tar(tar, small, 1, GZIP);
        struct stat st;
        assert_int_equal(stat(tar, &st), 0);
        assert_int_equal(truncate(tar, st.st_size - 4), 0);
        char *diff_id = NULL;
        vs_error *err = NULL;
        assert_int_equal(unpack_path(tar, NULL, dest, false, &diff_id, &err), -1);
        assert_non_null(strstr(err->msg, "cannot read layer"));
        vs_error_free(&err);
        assert_int_equal(count_entries(f->layers), 0);
        free(data);
}

static void test_refuse_media_type_and_dest(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *tar = xasprintf("%s/m.tar", f->dir);
        _cleanup_free_ char *dest = xasprintf("%s/m", f->layers);
        write_tar(tar, simple, 1, PLAIN);
        char *diff_id = NULL;
        vs_error *err = NULL;
        assert_int_equal(unpack_path(tar, "application/x-foo", dest, false, &diff_id, &err), -1);
        assert_string_equal(err->msg, "unknown layer media type 'application/x-foo'");
        vs_error_free(&err);
        assert_int_equal(count_entries(f->layers), 0);
        /* not a tar at all */
        _cleanup_free_ char *junk = xasprintf("%s/junk", f->dir);
        put_file(junk, "this is not a tar archive, not even close................", 0644);
        assert_int_equal(unpack_path(junk, NULL, dest, false, &diff_id, &err), -1);
        assert_non_null(strstr(err->msg, "layer is not a tar archive"));
        vs_error_free(&err);
        assert_int_equal(count_entries(f->layers), 0);
        /* an existing destination is left alone */
        assert_int_equal(mkdir(dest, 0755), 0);
        assert_int_equal(unpack_path(tar, NULL, dest, false, &diff_id, &err), -1);
        assert_int_equal(err->errno_, EEXIST);
        vs_error_free(&err);
        assert_int_equal(count_entries(dest), 0);
        assert_int_equal(count_entries(f->layers), 1);
}

/* ---- whiteouts through overlay and the copy fallback ---- */

static const struct tent lower_layer[] = {
    {T_DIR, "d/", NULL, 0755},         {T_FILE, "d/keep", "keep", 0}, {T_FILE, "d/gone", "gone", 0},
    {T_DIR, "o/", NULL, 0755},         {T_FILE, "o/old", "old", 0},   {T_DIR, "o/sub/", NULL, 0755},
    {T_FILE, "o/sub/deep", "deep", 0}, {T_FILE, "f", "f", 0},         {T_FILE, "x", "x1", 0},
};

static const struct tent upper_layer[] = {
    {T_FILE, "d/.wh.gone", "", 0}, {T_DIR, "o/", NULL, 0700}, {T_FILE, "o/.wh..wh..opq", "", 0},
    {T_FILE, "o/new", "new", 0},   {T_FILE, ".wh.f", "", 0},  {T_FILE, "x", "x2", 0},
};

static void make_image(struct fixture *f, struct vs_image *img)
{
        memset(img, 0, sizeof(*img));
        img->layer_dirs = xcalloc(3, sizeof(char *));
        const struct tent *layers[] = {lower_layer, upper_layer};
        size_t sizes[] = {sizeof(lower_layer) / sizeof(lower_layer[0]),
                          sizeof(upper_layer) / sizeof(upper_layer[0])};
        for (int i = 0; i < 2; i++) {
                _cleanup_free_ char *tar = xasprintf("%s/layer%d.tar", f->dir, i);
                img->layer_dirs[i] = xasprintf("%s/img%d", f->layers, i);
                write_tar(tar, layers[i], sizes[i], GZIP);
                _cleanup_free_ char *diff_id = NULL;
                vs_error *err = NULL;
                if (unpack_path(tar, NULL, img->layer_dirs[i], false, &diff_id, &err) < 0)
                        fail_msg("unpack: %s", err->msg);
        }
        img->n_layers = 2;
        /* the unpacked upper layer is in overlay format */
        struct stat st;
        _cleanup_free_ char *wh = xasprintf("%s/d/gone", img->layer_dirs[1]);
        assert_int_equal(lstat(wh, &st), 0);
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(st.st_rdev, makedev(0, 0));
        _cleanup_free_ char *o = xasprintf("%s/o", img->layer_dirs[1]);
        char v[4] = {0};
        assert_int_equal(getxattr(o, "trusted.overlay.opaque", v, sizeof(v)), 1);
        assert_int_equal(v[0], 'y');
}

static void free_image(struct vs_image *img)
{
        for (size_t i = 0; i < img->n_layers; i++)
                free(img->layer_dirs[i]);
        free(img->layer_dirs);
}

static void check_merged(const char *root)
{
        const char *present[] = {"d/keep", "o/new", "x"};
        const char *absent[] = {"d/gone", "o/old", "o/sub", "f"};
        for (size_t i = 0; i < 3; i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", root, present[i]);
                if (!exists(p))
                        fail_msg("%s missing from the merged root", present[i]);
        }
        for (size_t i = 0; i < 4; i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", root, absent[i]);
                if (exists(p))
                        fail_msg("%s should be hidden in the merged root", absent[i]);
        }
        _cleanup_free_ char *x = xasprintf("%s/x", root);
        _cleanup_free_ char *text = read_text(x);
        assert_string_equal(text, "x2");
        struct stat st;
        _cleanup_free_ char *o = xasprintf("%s/o", root);
        assert_int_equal(stat(o, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
}

static bool is_overlay(const char *path)
{
        _cleanup_free_ char *mi = read_text("/proc/self/mountinfo");
        char *line = mi;
        while (line && *line) {
                char *end = strchrnul(line, '\n');
                char save = *end;
                *end = '\0';
                bool hit = strstr(line, path) && strstr(line, " - overlay ");
                *end = save;
                if (hit)
                        return true;
                line = *end ? end + 1 : end;
        }
        return false;
}

static void mount_and_check(struct fixture *f, const char *name, bool expect_overlay)
{
        struct vs_image img;
        make_image(f, &img);
        _cleanup_free_ char *cdir = xasprintf("%s/%s", f->dir, name);
        _cleanup_free_ char *target = xasprintf("%s/rootfs", cdir);
        vs_error *err = NULL;
        if (vs_image_rootfs_prepare_dir(&img, cdir, &err) < 0 ||
            vs_image_rootfs_mount(&img, cdir, target, NULL, &err) < 0)
                fail_msg("mount: %s", err->msg);
        assert_int_equal(is_overlay(target), expect_overlay);
        check_merged(target);
        /* a write lands in the upper dir */
        _cleanup_free_ char *w = xasprintf("%s/written", target);
        put_file(w, "w", 0644);
        _cleanup_free_ char *up = xasprintf("%s/upper/written", cdir);
        assert_true(exists(up));
        assert_int_equal(vs_image_rootfs_umount(target, &err), 0);
        assert_int_equal(vs_image_rootfs_umount(target, &err), 0); /* not mounted: fine */
        _cleanup_free_ char *marker = xasprintf("%s/copy-mode", cdir);
        assert_int_equal(exists(marker), !expect_overlay);
        if (!expect_overlay) {
                /* the copy is made once: a second mount keeps the changes */
                if (vs_image_rootfs_mount(&img, cdir, target, NULL, &err) < 0)
                        fail_msg("mount: %s", err->msg);
                assert_true(exists(w));
                check_merged(target);
                assert_int_equal(vs_image_rootfs_umount(target, &err), 0);
        }
        free_image(&img);
}

static void test_overlay_mount(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        unsetenv("VESSEL_NO_OVERLAY");
        mount_and_check(*state, "c-overlay", true);
}

static void test_overlay_mount_legacy(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        unsetenv("VESSEL_NO_OVERLAY");
        setenv("VESSEL_OVERLAY_MOUNT_API", "legacy", 1);
        mount_and_check(*state, "c-legacy", true);
        unsetenv("VESSEL_OVERLAY_MOUNT_API");
}

static void test_copy_fallback(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        setenv("VESSEL_NO_OVERLAY", "1", 1);
        mount_and_check(*state, "c-copy", false);
        unsetenv("VESSEL_NO_OVERLAY");
}

/* A container that ran on overlay, then falls back to copy mode: its
 * changes (whiteouts included) survive into the copy. */
static void test_overlay_then_copy(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        struct fixture *f = *state;
        struct vs_image img;
        make_image(f, &img);
        _cleanup_free_ char *cdir = xasprintf("%s/c-switch", f->dir);
        _cleanup_free_ char *target = xasprintf("%s/rootfs", cdir);
        vs_error *err = NULL;
        unsetenv("VESSEL_NO_OVERLAY");
        if (vs_image_rootfs_mount(&img, cdir, target, NULL, &err) < 0)
                fail_msg("mount: %s", err->msg);
        _cleanup_free_ char *keep = xasprintf("%s/d/keep", target);
        assert_int_equal(unlink(keep), 0);
        assert_int_equal(vs_image_rootfs_umount(target, &err), 0);
        setenv("VESSEL_NO_OVERLAY", "1", 1);
        if (vs_image_rootfs_mount(&img, cdir, target, NULL, &err) < 0)
                fail_msg("mount: %s", err->msg);
        unsetenv("VESSEL_NO_OVERLAY");
        assert_false(exists(keep));
        _cleanup_free_ char *x = xasprintf("%s/x", target);
        assert_true(exists(x));
        assert_int_equal(vs_image_rootfs_umount(target, &err), 0);
        free_image(&img);
}

/* ---- pack ---- */

static void make_upper(const char *up)
{
        char p[512];
        assert_int_equal(mkdir(up, 0755), 0);
        snprintf(p, sizeof(p), "%s/dir", up);
        assert_int_equal(mkdir(p, 0750), 0);
        snprintf(p, sizeof(p), "%s/dir/file", up);
        put_file(p, "content\n", 04755);
        assert_int_equal(setxattr(p, "user.vessel", "v", 1, 0), 0);
        assert_int_equal(chown(p, 1000, 1001), 0);
        assert_int_equal(chmod(p, 04755), 0);
        char q[512];
        snprintf(q, sizeof(q), "%s/dir/hardlink", up);
        assert_int_equal(link(p, q), 0);
        snprintf(p, sizeof(p), "%s/dir/symlink", up);
        assert_int_equal(symlink("file", p), 0);
        snprintf(p, sizeof(p), "%s/deleted", up);
        assert_int_equal(mknod(p, S_IFCHR, makedev(0, 0)), 0);
        snprintf(p, sizeof(p), "%s/opaque", up);
        assert_int_equal(mkdir(p, 0755), 0);
        assert_int_equal(setxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);
        /* overlay's own bookkeeping is never packed */
        assert_int_equal(setxattr(p, "trusted.overlay.origin", "zz", 2, 0), 0);
        snprintf(p, sizeof(p), "%s/opaque/inside", up);
        put_file(p, "in", 0600);
        snprintf(p, sizeof(p), "%s/fifo", up);
        assert_int_equal(mkfifo(p, 0640), 0);
        snprintf(p, sizeof(p), "%s/a-very-long-name-%0150d", up, 7);
        put_file(p, "long", 0644);
        snprintf(p, sizeof(p), "%s/Főtanúsítvány.crt", up);
        put_file(p, "utf-8 name", 0644);
}

static void compare_entry(const char *a, const char *b, const char *rel)
{
        struct stat sa, sb;
        _cleanup_free_ char *pa = xasprintf("%s/%s", a, rel);
        _cleanup_free_ char *pb = xasprintf("%s/%s", b, rel);
        assert_int_equal(lstat(pa, &sa), 0);
        if (lstat(pb, &sb) < 0)
                fail_msg("%s missing after the round trip", rel);
        if (sa.st_mode != sb.st_mode || sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid)
                fail_msg("%s: mode/owner %o %d:%d became %o %d:%d", rel, sa.st_mode,
                         (int) sa.st_uid, (int) sa.st_gid, sb.st_mode, (int) sb.st_uid,
                         (int) sb.st_gid);
        assert_int_equal(sa.st_rdev, sb.st_rdev);
        if (!S_ISDIR(sa.st_mode))
                assert_int_equal(sa.st_size, sb.st_size);
        assert_int_equal(sa.st_mtime, sb.st_mtime);
        if (S_ISREG(sa.st_mode)) {
                _cleanup_free_ char *ta = read_text(pa), *tb = read_text(pb);
                assert_string_equal(ta, tb);
        }
        char xa[8] = {0}, xb[8] = {0};
        ssize_t na = lgetxattr(pa, "trusted.overlay.opaque", xa, sizeof(xa));
        ssize_t nb = lgetxattr(pb, "trusted.overlay.opaque", xb, sizeof(xb));
        assert_int_equal(na, nb);
        assert_string_equal(xa, xb);
        if (S_ISDIR(sa.st_mode)) {
                assert_int_equal(lgetxattr(pb, "trusted.overlay.origin", xb, sizeof(xb)), -1);
                DIR *d = opendir(pa);
                struct dirent *de;
                size_t n = 0;
                while ((de = readdir(d)) != NULL) {
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        _cleanup_free_ char *sub = *rel && strcmp(rel, ".")
                                                       ? xasprintf("%s/%s", rel, de->d_name)
                                                       : xstrdup(de->d_name);
                        compare_entry(a, b, sub);
                        n++;
                }
                closedir(d);
                assert_int_equal(count_entries(pb), n);
        }
}

static void test_pack_round_trip(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        struct fixture *f = *state;
        _cleanup_free_ char *up = xasprintf("%s/upper", f->dir);
        make_upper(up);
        _cleanup_free_ char *blob = xasprintf("%s/blob.tar.gz", f->dir);
        char *diff_id = NULL, *digest = NULL;
        int64_t size = 0;
        vs_error *err = NULL;
        int fd = open(blob, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (vs_layer_pack(up, fd, &diff_id, &digest, &size, &err) < 0)
                fail_msg("pack: %s", err->msg);
        close(fd);
        struct stat st;
        assert_int_equal(stat(blob, &st), 0);
        assert_int_equal(st.st_size, size);
        _cleanup_free_ char *want_digest = sha256_file(blob);
        _cleanup_free_ char *want_diff = sha256_uncompressed(blob);
        assert_string_equal(digest, want_digest);
        assert_string_equal(diff_id, want_diff);

        /* the archive speaks docker's whiteout format */
        struct archive *a = archive_read_new();
        archive_read_support_filter_all(a);
        archive_read_support_format_all(a);
        assert_int_equal(archive_read_open_filename(a, blob, 65536), ARCHIVE_OK);
        struct archive_entry *e;
        bool wh = false, opq = false, hard = false;
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
                const char *name = archive_entry_pathname(e);
                if (strcmp(name, ".wh.deleted") == 0)
                        wh = archive_entry_filetype(e) == AE_IFREG;
                if (strcmp(name, "opaque/.wh..wh..opq") == 0)
                        opq = true;
                if (strcmp(name, "dir/hardlink") == 0)
                        hard = archive_entry_hardlink(e) &&
                               strcmp(archive_entry_hardlink(e), "dir/file") == 0;
        }
        archive_read_free(a);
        assert_true(wh);
        assert_true(opq);
        assert_true(hard);

        /* unpacking gives the upper dir back, with the same diff_id */
        _cleanup_free_ char *dest = xasprintf("%s/rt", f->layers);
        _cleanup_free_ char *diff2 = NULL;
        if (unpack_path(blob, "application/vnd.oci.image.layer.v1.tar+gzip", dest, true, &diff2,
                        &err) < 0)
                fail_msg("unpack: %s", err->msg);
        assert_string_equal(diff2, diff_id);
        compare_entry(up, dest, ".");
        _cleanup_free_ char *f1 = xasprintf("%s/dir/file", dest);
        _cleanup_free_ char *f2 = xasprintf("%s/dir/hardlink", dest);
        struct stat s1, s2;
        assert_int_equal(lstat(f1, &s1), 0);
        assert_int_equal(lstat(f2, &s2), 0);
        assert_int_equal(s1.st_ino, s2.st_ino);
        char v[4] = {0};
        assert_int_equal(getxattr(f1, "user.vessel", v, sizeof(v)), 1);

        /* packing is reproducible */
        _cleanup_free_ char *blob2 = xasprintf("%s/blob2.tar.gz", f->dir);
        fd = open(blob2, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        char *diff3 = NULL, *digest3 = NULL;
        if (vs_layer_pack(up, fd, &diff3, &digest3, NULL, &err) < 0)
                fail_msg("pack: %s", err->msg);
        close(fd);
        assert_string_equal(digest3, digest);
        assert_string_equal(diff3, diff_id);
        free(diff3);
        free(digest3);
        free(diff_id);
        free(digest);
}

static void test_pack_refuses_reserved_names(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *up = xasprintf("%s/upper-wh", f->dir);
        assert_int_equal(mkdir(up, 0755), 0);
        _cleanup_free_ char *p = xasprintf("%s/.wh.sneaky", up);
        put_file(p, "", 0644);
        _cleanup_free_ char *blob = xasprintf("%s/wh.tar.gz", f->dir);
        int fd = open(blob, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        char *diff_id = NULL, *digest = NULL;
        vs_error *err = NULL;
        assert_int_equal(vs_layer_pack(up, fd, &diff_id, &digest, NULL, &err), -1);
        close(fd);
        assert_non_null(strstr(err->msg, "reserved for whiteouts"));
        vs_error_free(&err);
}

/* ---- diff ---- */

static void expect_lines(char **lines, const char *const *want)
{
        size_t n = 0;
        while (lines[n])
                n++;
        size_t m = 0;
        while (want[m])
                m++;
        for (size_t i = 0; i < n && i < m; i++)
                if (strcmp(lines[i], want[i]) != 0)
                        fail_msg("line %zu: got '%s', want '%s'", i, lines[i], want[i]);
        if (n != m)
                fail_msg("got %zu lines (first extra/missing: '%s'), want %zu", n,
                         n > m ? lines[m] : want[n], m);
}

static void container_changes(const char *root)
{
        char p[512];
        snprintf(p, sizeof(p), "%s/d/keep", root);
        put_file(p, "changed", 0644);
        snprintf(p, sizeof(p), "%s/x", root);
        assert_int_equal(unlink(p), 0);
        snprintf(p, sizeof(p), "%s/new", root);
        assert_int_equal(mkdir(p, 0755), 0);
        snprintf(p, sizeof(p), "%s/new/file", root);
        put_file(p, "n", 0644);
}

static void diff_case(struct fixture *f, const char *name, bool copy)
{
        struct vs_image img;
        make_image(f, &img);
        _cleanup_free_ char *cdir = xasprintf("%s/%s", f->dir, name);
        _cleanup_free_ char *target = xasprintf("%s/rootfs", cdir);
        _cleanup_free_ char *upper = xasprintf("%s/upper", cdir);
        vs_error *err = NULL;
        if (copy)
                setenv("VESSEL_NO_OVERLAY", "1", 1);
        if (vs_image_rootfs_mount(&img, cdir, target, NULL, &err) < 0)
                fail_msg("mount: %s", err->msg);
        unsetenv("VESSEL_NO_OVERLAY");
        char **lines = NULL;
        if (vs_image_rootfs_diff(&img, upper, &lines, &err) < 0)
                fail_msg("diff: %s", err->msg);
        assert_null(lines[0]);
        strv_free(lines);
        container_changes(target);
        if (vs_image_rootfs_diff(&img, upper, &lines, &err) < 0)
                fail_msg("diff: %s", err->msg);
        const char *const want[] = {"C /d", "C /d/keep", "A /new", "A /new/file", "D /x", NULL};
        expect_lines(lines, want);
        strv_free(lines);
        assert_int_equal(vs_image_rootfs_umount(target, &err), 0);
        free_image(&img);
}

static void test_diff_overlay(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        diff_case(*state, "c-diff-overlay", false);
}

static void test_diff_copy(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        diff_case(*state, "c-diff-copy", true);
}

/* ---- commit into a real store ---- */

static void commit_case(struct fixture *f, const char *name, bool copy)
{
        _cleanup_free_ char *root = xasprintf("%s/store-%s", f->dir, name);
        struct vs_store *s = NULL;
        vs_error *err = NULL;
        if (vs_store_open(root, &s, &err) < 0)
                fail_msg("store: %s", err->msg);
        /* a base image committed from scratch */
        _cleanup_free_ char *base_up = xasprintf("%s/base-upper-%s", f->dir, name);
        assert_int_equal(mkdir(base_up, 0755), 0);
        _cleanup_free_ char *p = xasprintf("%s/hello", base_up);
        put_file(p, "hello", 0644);
        _cleanup_free_ char *gone = xasprintf("%s/gone", base_up);
        put_file(gone, "gone", 0644);
        _cleanup_json_ json_object *changes = NULL;
        assert_int_equal(vs_json_parse("{\"Env\":[\"A=1\",\"B=2\"],\"Cmd\":[\"sh\"],"
                                       "\"Labels\":{\"l1\":\"v1\"}}",
                                       "changes", &changes, &err),
                         0);
        char *base_id = NULL;
        if (vs_image_commit(s, NULL, base_up, changes, "base", NULL, "test/base", &base_id, &err) <
            0)
                fail_msg("commit: %s", err->msg);
        struct vs_image *base = NULL;
        if (vs_image_lookup(s, "test/base:latest", &base, &err) < 0)
                fail_msg("lookup: %s", err->msg);
        assert_string_equal(base->id, base_id);
        assert_int_equal(base->n_layers, 1);

        /* a container on it: change, delete, add */
        _cleanup_free_ char *cdir = xasprintf("%s/ctr-%s", f->dir, name);
        _cleanup_free_ char *target = xasprintf("%s/rootfs", cdir);
        _cleanup_free_ char *upper = xasprintf("%s/upper", cdir);
        if (copy)
                setenv("VESSEL_NO_OVERLAY", "1", 1);
        if (vs_image_rootfs_mount(base, cdir, target, NULL, &err) < 0)
                fail_msg("mount: %s", err->msg);
        unsetenv("VESSEL_NO_OVERLAY");
        _cleanup_free_ char *tg = xasprintf("%s/gone", target);
        _cleanup_free_ char *tn = xasprintf("%s/new", target);
        assert_int_equal(unlink(tg), 0);
        put_file(tn, "new", 0644);
        assert_int_equal(vs_image_rootfs_umount(target, &err), 0);

        _cleanup_json_ json_object *changes2 = NULL;
        assert_int_equal(vs_json_parse("{\"Env\":[\"B=3\",\"C=4\"],\"WorkingDir\":\"/w\","
                                       "\"Labels\":{\"l2\":\"v2\"}}",
                                       "changes", &changes2, &err),
                         0);
        char *id = NULL;
        if (vs_image_commit(s, base, upper, changes2, "second", "me", "test/child:v1", &id, &err) <
            0)
                fail_msg("commit: %s", err->msg);
        struct vs_image *child = NULL;
        if (vs_image_lookup(s, "test/child:v1", &child, &err) < 0)
                fail_msg("lookup: %s", err->msg);
        assert_string_equal(child->id, id);
        assert_int_equal(child->n_layers, 2);
        assert_string_equal(child->layer_dirs[0], base->layer_dirs[0]);
        const char *const env[] = {"A=1", "B=3", "C=4", NULL};
        for (size_t i = 0; env[i]; i++) {
                assert_non_null(child->config.env[i]);
                assert_string_equal(child->config.env[i], env[i]);
        }
        assert_null(child->config.env[3]);
        assert_string_equal(child->config.cmd[0], "sh");
        assert_string_equal(child->config.working_dir, "/w");
        json_object *l1 = NULL, *l2 = NULL;
        assert_true(json_object_object_get_ex(child->config.labels, "l1", &l1));
        assert_true(json_object_object_get_ex(child->config.labels, "l2", &l2));
        json_object *hist = json_object_object_get(child->config_json, "history");
        assert_int_equal(json_object_array_length(hist), 2);
        json_object *h = json_object_array_get_idx(hist, 1);
        assert_string_equal(json_object_get_string(json_object_object_get(h, "created_by")),
                            "vessel commit");
        assert_string_equal(json_object_get_string(json_object_object_get(h, "comment")), "second");
        assert_string_equal(json_object_get_string(json_object_object_get(h, "author")), "me");

        /* the new layer holds just the changes, and the image runs at once */
        _cleanup_free_ char *lw = xasprintf("%s/gone", child->layer_dirs[1]);
        struct stat st;
        assert_int_equal(lstat(lw, &st), 0);
        assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
        _cleanup_free_ char *lh = xasprintf("%s/hello", child->layer_dirs[1]);
        assert_false(exists(lh));
        _cleanup_free_ char *cdir2 = xasprintf("%s/ctr2-%s", f->dir, name);
        _cleanup_free_ char *target2 = xasprintf("%s/rootfs", cdir2);
        if (vs_image_rootfs_mount(child, cdir2, target2, NULL, &err) < 0)
                fail_msg("mount: %s", err->msg);
        _cleanup_free_ char *t2n = xasprintf("%s/new", target2);
        _cleanup_free_ char *t2g = xasprintf("%s/gone", target2);
        _cleanup_free_ char *t2h = xasprintf("%s/hello", target2);
        assert_true(exists(t2n));
        assert_true(exists(t2h));
        assert_false(exists(t2g));
        assert_int_equal(vs_image_rootfs_umount(target2, &err), 0);
        /* nothing left beside the upper dir */
        _cleanup_free_ char *sib = xasprintf("%s", cdir);
        DIR *d = opendir(sib);
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
                assert_null(strstr(de->d_name, "commit-"));
        closedir(d);
        vs_image_free(base);
        vs_image_free(child);
        free(base_id);
        free(id);
        vs_store_close(s);
}

static void test_commit_overlay(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        commit_case(*state, "overlay", false);
}

static void test_commit_copy(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        commit_case(*state, "copy", true);
}

/* vs_layer_copy_shifted: owners through a keep-id-like map (host ids
 * 100000..), modes with setuid kept after the owner, hardlinks, symlinks,
 * whiteouts and opaque marks kept (the copy is an overlay lower dir), an
 * unmapped id given the map's 65534. */
static void test_shifted_copy(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        struct fixture *f = *state;
        _cleanup_free_ char *src = xasprintf("%s/src", f->dir);
        _cleanup_free_ char *dst = xasprintf("%s/dst", f->dir);
        _cleanup_free_ char *a = xasprintf("%s/a", src), *b = xasprintf("%s/b", src);
        _cleanup_free_ char *s = xasprintf("%s/s", src), *wh = xasprintf("%s/gone", src);
        _cleanup_free_ char *o = xasprintf("%s/o", src), *far = xasprintf("%s/o/far", src);
        assert_int_equal(mkdir(src, 0755), 0);
        assert_int_equal(mkdir(dst, 0700), 0);
        put_file(a, "a", 0644);
        assert_int_equal(chown(a, 1000, 50), 0);
        assert_int_equal(chmod(a, 04755), 0);
        assert_int_equal(link(a, b), 0);
        assert_int_equal(symlink("a", s), 0);
        assert_int_equal(lchown(s, 7, 7), 0);
        assert_int_equal(mknod(wh, S_IFCHR, makedev(0, 0)), 0);
        assert_int_equal(mkdir(o, 0700), 0);
        assert_int_equal(setxattr(o, "trusted.overlay.opaque", "y", 1, 0), 0);
        put_file(far, "far", 0600);
        assert_int_equal(chown(far, 70000, 70000), 0);
        const struct oci_id_mapping m[] = {
            {0, 100001, 1000}, {1000, 100000, 1}, {1001, 101001, 64535}};
        struct vs_layer_idshift shift = {m, m, 3, 3};
        vs_error *err = NULL;
        if (vs_layer_copy_shifted(src, dst, &shift, &err) < 0)
                fail_msg("copy: %s", err->msg);
        struct stat st, st2;
        _cleanup_free_ char *ca = xasprintf("%s/a", dst), *cb = xasprintf("%s/b", dst);
        assert_int_equal(lstat(ca, &st), 0);
        assert_int_equal(st.st_uid, 100000); /* 1000: the keep-id user */
        assert_int_equal(st.st_gid, 100051); /* 50: 100001 + 50 */
        assert_int_equal(st.st_mode & 07777, 04755);
        assert_int_equal(lstat(cb, &st2), 0);
        assert_true(st.st_ino == st2.st_ino); /* still one inode */
        _cleanup_free_ char *text = read_text(ca);
        assert_string_equal(text, "a");
        _cleanup_free_ char *cs = xasprintf("%s/s", dst);
        assert_int_equal(lstat(cs, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        assert_int_equal(st.st_uid, 100008);
        _cleanup_free_ char *cwh = xasprintf("%s/gone", dst);
        assert_int_equal(lstat(cwh, &st), 0);
        assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
        assert_int_equal(st.st_uid, 100001);
        _cleanup_free_ char *co = xasprintf("%s/o", dst);
        char v[4] = {0};
        assert_int_equal(getxattr(co, "trusted.overlay.opaque", v, sizeof(v)), 1);
        assert_int_equal(lstat(co, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        _cleanup_free_ char *cfar = xasprintf("%s/o/far", dst);
        assert_int_equal(lstat(cfar, &st), 0);
        assert_int_equal(st.st_uid, 101001 + (65534 - 1001)); /* unmapped: 65534's */
        assert_int_equal(lstat(dst, &st), 0);
        assert_int_equal(st.st_uid, 100001); /* the root dir: 0's */
        assert_int_equal(st.st_mode & 07777, 0755);
}

int main(void)
{
        if (geteuid() != 0) {
                printf("[  SKIPPED ] test_layer needs root\n");
                return 0;
        }
        /* every mount of these tests dies with the process */
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                perror("cannot make a private mount namespace");
                return 1;
        }
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_unpack_formats, setup, teardown),
            cmocka_unit_test_setup_teardown(test_unpack_from_pipe, setup, teardown),
            cmocka_unit_test_setup_teardown(test_unpack_large_and_sparse, setup, teardown),
            cmocka_unit_test_setup_teardown(test_unpack_devices, setup, teardown),
            cmocka_unit_test_setup_teardown(test_refuse_dotdot, setup, teardown),
            cmocka_unit_test_setup_teardown(test_refuse_absolute, setup, teardown),
            cmocka_unit_test_setup_teardown(test_refuse_symlink_parent, setup, teardown),
            cmocka_unit_test_setup_teardown(test_refuse_hardlink_escape, setup, teardown),
            cmocka_unit_test_setup_teardown(test_refuse_whiteout_escape, setup, teardown),
            cmocka_unit_test_setup_teardown(test_refuse_misc, setup, teardown),
            cmocka_unit_test_setup_teardown(test_refuse_truncated, setup, teardown),
            cmocka_unit_test_setup_teardown(test_refuse_media_type_and_dest, setup, teardown),
            cmocka_unit_test_setup_teardown(test_overlay_mount, setup, teardown),
            cmocka_unit_test_setup_teardown(test_overlay_mount_legacy, setup, teardown),
            cmocka_unit_test_setup_teardown(test_copy_fallback, setup, teardown),
            cmocka_unit_test_setup_teardown(test_overlay_then_copy, setup, teardown),
            cmocka_unit_test_setup_teardown(test_pack_round_trip, setup, teardown),
            cmocka_unit_test_setup_teardown(test_pack_refuses_reserved_names, setup, teardown),
            cmocka_unit_test_setup_teardown(test_diff_overlay, setup, teardown),
            cmocka_unit_test_setup_teardown(test_diff_copy, setup, teardown),
            cmocka_unit_test_setup_teardown(test_commit_overlay, setup, teardown),
            cmocka_unit_test_setup_teardown(test_commit_copy, setup, teardown),
            cmocka_unit_test_setup_teardown(test_shifted_copy, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
