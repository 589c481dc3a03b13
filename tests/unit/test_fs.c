/* util/fs.c helpers that guard against hostile files: vs_open_regular
 * (never opens a FIFO or a device, never reads an entry swapped after its
 * stat) and vs_output_* (never renames over a device, FIFO or symlink).
 * Everything lives in a temp directory; the device nodes are made there
 * (mknod needs root, as the integration tests do). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/cleanup.h"
#include "util/dio.h"
#include "util/fs.h"
#include "util/xalloc.h"

#include "kernel_probe.h"

struct tmp {
        char *dir;
        int fd;
};

static int setup(void **state)
{
        struct tmp *t = xzalloc(sizeof(*t));
        t->dir = xstrdup("/tmp/vessel-test-fs-XXXXXX");
        if (mkdtemp(t->dir) == NULL)
                return -1;
        t->fd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        *state = t;
        return t->fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
        struct tmp *t = *state;
        close(t->fd);
        vs_rm_rf(t->dir, NULL);
        free(t->dir);
        free(t);
        return 0;
}

static void write_text(int dirfd, const char *name, const char *text)
{
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(vs_write_all(fd, text, strlen(text)), 0);
        close(fd);
}

static void assert_refused(int fd, vs_error **err, const char *mention)
{
        assert_int_equal(fd, -1);
        assert_non_null(*err);
        if (strstr((*err)->msg, mention) == NULL)
                fail_msg("'%s' does not mention '%s'", (*err)->msg, mention);
        vs_error_free(err);
}

static void test_open_regular_reads_a_regular_file(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        struct tmp *t = *state;
        write_text(t->fd, "f", "data");
        struct stat st, got;
        assert_int_equal(fstatat(t->fd, "f", &st, AT_SYMLINK_NOFOLLOW), 0);
        vs_error *err = NULL;
        int fd = vs_open_regular(t->fd, "f", O_NOFOLLOW, RESOLVE_BENEATH, &st, &got, "f", &err);
        assert_true(fd >= 0);
        assert_int_equal(got.st_ino, st.st_ino);
        char buf[8] = {0};
        assert_int_equal(read(fd, buf, sizeof(buf)), 4);
        assert_string_equal(buf, "data");
        close(fd);
}

static void test_open_regular_refuses_special_files(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        struct tmp *t = *state;
        assert_int_equal(mkfifoat(t->fd, "fifo", 0644), 0);
        assert_int_equal(mknodat(t->fd, "zero", S_IFCHR | 0644, makedev(1, 5)), 0);
        assert_int_equal(mkdirat(t->fd, "dir", 0755), 0);
        vs_error *err = NULL;
        /* a FIFO with no writer: an open for reading would block forever */
        assert_refused(vs_open_regular(t->fd, "fifo", 0, 0, NULL, NULL, "fifo", &err), &err,
                       "it is a FIFO");
        assert_refused(vs_open_regular(t->fd, "zero", 0, 0, NULL, NULL, "zero", &err), &err,
                       "it is a character device");
        assert_refused(vs_open_regular(t->fd, "dir", 0, 0, NULL, NULL, "dir", &err), &err,
                       "it is a directory");
        assert_int_equal(symlinkat("zero", t->fd, "link"), 0);
        assert_refused(vs_open_regular(t->fd, "link", O_NOFOLLOW, 0, NULL, NULL, "link", &err),
                       &err, "it is a symlink");
        /* followed: still the device behind it */
        assert_refused(vs_open_regular(t->fd, "link", 0, 0, NULL, NULL, "link", &err), &err,
                       "character device");
        assert_refused(vs_open_regular(t->fd, "missing", 0, 0, NULL, NULL, "missing", &err), &err,
                       "cannot open missing");
}

static void test_open_regular_refuses_a_swapped_entry(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        struct tmp *t = *state;
        write_text(t->fd, "a", "mine");
        write_text(t->fd, "b", "other");
        struct stat st;
        assert_int_equal(fstatat(t->fd, "a", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(renameat2(t->fd, "a", t->fd, "b", RENAME_EXCHANGE), 0);
        vs_error *err = NULL;
        assert_refused(vs_open_regular(t->fd, "a", O_NOFOLLOW, 0, &st, NULL, "a", &err), &err,
                       "replaced while being read");
}

static void test_open_regular_in_root_stays_in_the_root(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        struct tmp *t = *state;
        assert_int_equal(mkdirat(t->fd, "root", 0755), 0);
        assert_int_equal(mkdirat(t->fd, "root/etc", 0755), 0);
        write_text(t->fd, "secret", "host");
        write_text(t->fd, "root/secret", "root");
        assert_int_equal(symlinkat("../../secret", t->fd, "root/etc/passwd"), 0);
        _cleanup_close_ int root = openat(t->fd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
        vs_error *err = NULL;
        int fd = vs_open_regular(root, "/etc/passwd", 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
                                 NULL, NULL, "passwd", &err);
        assert_true(fd >= 0);
        char buf[8] = {0};
        assert_int_equal(read(fd, buf, sizeof(buf)), 4);
        assert_string_equal(buf, "root");
        close(fd);
}

static void test_read_regular_in_root(void **state)
{
        require_syscall(SYS_openat2, "openat2");
        struct tmp *t = *state;
        assert_int_equal(mkdirat(t->fd, "ctx", 0755), 0);
        write_text(t->fd, "Dockerfile", "host");
        write_text(t->fd, "ctx/inside", "inside");
        assert_int_equal(symlinkat("../Dockerfile", t->fd, "ctx/Dockerfile"), 0);
        assert_int_equal(symlinkat("/inside", t->fd, "ctx/abs"), 0);
        assert_int_equal(mkfifoat(t->fd, "ctx/fifo", 0644), 0);
        _cleanup_close_ int ctx = openat(t->fd, "ctx", O_PATH | O_DIRECTORY | O_CLOEXEC);
        vs_error *err = NULL;
        char *text = NULL;
        size_t len = 0;
        /* ../Dockerfile stays at the root: ctx/Dockerfile is itself */
        assert_int_equal(vs_read_regular_in_root(ctx, "Dockerfile", &text, &len, "df", &err), -1);
        assert_non_null(err);
        assert_int_equal(err->errno_, ELOOP);
        vs_error_free(&err);
        assert_int_equal(vs_read_regular_in_root(ctx, "abs", &text, &len, "abs", &err), 0);
        assert_string_equal(text, "inside");
        assert_int_equal(len, 6);
        free(text);
        assert_refused(vs_read_regular_in_root(ctx, "fifo", &text, &len, "fifo", &err), &err,
                       "it is a FIFO");
}

static char *path_in(struct tmp *t, const char *name)
{
        return xasprintf("%s/%s", t->dir, name);
}

static void test_output_replaces_a_regular_file_atomically(void **state)
{
        struct tmp *t = *state;
        write_text(t->fd, "out", "old");
        struct stat before, after;
        assert_int_equal(fstatat(t->fd, "out", &before, 0), 0);
        _cleanup_free_ char *path = path_in(t, "out");
        vs_error *err = NULL;
        assert_int_equal(vs_write_output(path, "new", 3, 0644, true, &err), 0);
        assert_int_equal(fstatat(t->fd, "out", &after, 0), 0);
        assert_true(S_ISREG(after.st_mode));
        assert_true(after.st_ino != before.st_ino);
        assert_int_equal(after.st_size, 3);
}

static void test_output_never_replaces_a_device(void **state)
{
        struct tmp *t = *state;
        assert_int_equal(mknodat(t->fd, "null", S_IFCHR | 0666, makedev(1, 3)), 0);
        assert_int_equal(symlinkat("null", t->fd, "link"), 0);
        vs_error *err = NULL;
        for (const char *name = "null";; name = "link") {
                _cleanup_free_ char *path = path_in(t, name);
                assert_int_equal(vs_write_output(path, "x", 1, 0644, true, &err), 0);
                if (strcmp(name, "link") == 0)
                        break;
        }
        struct stat st;
        assert_int_equal(fstatat(t->fd, "null", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(st.st_rdev, makedev(1, 3));
        assert_int_equal(fstatat(t->fd, "link", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISLNK(st.st_mode));
}

static void *drain(void *arg)
{
        int fd = open(arg, O_RDONLY | O_CLOEXEC);
        char buf[64];
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
        if (fd >= 0)
                close(fd);
        return (void *) (intptr_t) n;
}

static void test_output_writes_through_a_fifo(void **state)
{
        struct tmp *t = *state;
        assert_int_equal(mkfifoat(t->fd, "fifo", 0644), 0);
        _cleanup_free_ char *path = path_in(t, "fifo");
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, drain, path), 0);
        vs_error *err = NULL;
        assert_int_equal(vs_write_output(path, "12345", 5, 0644, false, &err), 0);
        void *n;
        pthread_join(th, &n);
        assert_int_equal((intptr_t) n, 5);
        struct stat st;
        assert_int_equal(fstatat(t->fd, "fifo", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISFIFO(st.st_mode));
}

static void test_output_refuses_a_directory_and_leaves_no_temp(void **state)
{
        struct tmp *t = *state;
        assert_int_equal(mkdirat(t->fd, "d", 0755), 0);
        _cleanup_free_ char *path = path_in(t, "d");
        vs_error *err = NULL;
        assert_int_equal(vs_write_output(path, "x", 1, 0644, false, &err), -1);
        assert_non_null(strstr(err->msg, "is a directory"));
        vs_error_free(&err);
        /* an aborted output removes its temp file */
        _cleanup_free_ char *out = path_in(t, "aborted");
        struct vs_output o;
        assert_int_equal(vs_output_open(&o, out, 0644, &err), 0);
        assert_non_null(o.tmp);
        _cleanup_free_ char *tmp = xstrdup(o.tmp);
        vs_output_abort(&o);
        assert_int_equal(access(tmp, F_OK), -1);
        assert_int_equal(access(out, F_OK), -1);
}

/* A file written through vs_dio holds exactly the bytes appended, whatever
 * the sizes of the pieces and of the whole (below, at and past a block and
 * the direct chunk), with the staging buffer (O_DIRECT where the
 * filesystem takes it) and without (plain writes); O_DIRECT is cleared at
 * the end and the fd is left at the end of the data. */
static void test_dio_writes_exactly_what_was_appended(void **state)
{
        struct tmp *t = *state;
        const size_t totals[] = {0,
                                 1,
                                 4095,
                                 4096,
                                 4097,
                                 VS_DIO_CHUNK,
                                 VS_DIO_CHUNK + 1,
                                 3 * VS_DIO_CHUNK + VS_DIO_CHUNK / 2 + 123};
        const size_t pieces[] = {1, 333, 65536, VS_DIO_CHUNK + 7};
        const size_t max = totals[sizeof(totals) / sizeof(totals[0]) - 1];
        _cleanup_free_ unsigned char *want = xmalloc(max);
        for (size_t i = 0; i < max; i++)
                want[i] = (unsigned char) (i * 2654435761u >> 13);
        void *buf = vs_dio_buffer_new();
        assert_non_null(buf);
        bool went_direct = false;
        for (size_t a = 0; a < sizeof(totals) / sizeof(totals[0]); a++) {
                for (size_t b = 0; b < sizeof(pieces) / sizeof(pieces[0]); b++) {
                        for (int staged = 0; staged < 2; staged++) {
                                if (totals[a] > 65536 && pieces[b] == 1)
                                        continue; /* slow, and nothing new */
                                int fd = openat(t->fd, "f",
                                                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                                assert_true(fd >= 0);
                                struct vs_dio d;
                                vs_dio_init(&d, fd, staged ? buf : NULL);
                                went_direct |= d.direct;
                                for (size_t off = 0; off < totals[a];) {
                                        size_t n = pieces[b] < totals[a] - off ? pieces[b]
                                                                               : totals[a] - off;
                                        assert_int_equal(vs_dio_write(&d, want + off, n), 0);
                                        off += n;
                                        assert_int_equal(vs_dio_offset(&d), (int64_t) off);
                                }
                                assert_int_equal(vs_dio_finish(&d), 0);
                                assert_int_equal(fcntl(fd, F_GETFL) & O_DIRECT, 0);
                                assert_int_equal(lseek(fd, 0, SEEK_CUR), (off_t) totals[a]);
                                close(fd);
                                size_t len = 0;
                                _cleanup_free_ char *got = NULL;
                                vs_error *err = NULL;
                                _cleanup_free_ char *path = xasprintf("%s/f", t->dir);
                                assert_int_equal(vs_read_file(path, &got, &len, &err), 0);
                                assert_int_equal(len, totals[a]);
                                assert_memory_equal(got, want, len);
                        }
                }
        }
        vs_dio_buffer_free(buf);
        if (!went_direct)
                printf("note: %s takes no O_DIRECT: only the fallback was tested\n", t->dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_open_regular_reads_a_regular_file, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_open_regular_refuses_special_files, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_open_regular_refuses_a_swapped_entry, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_open_regular_in_root_stays_in_the_root, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_read_regular_in_root, setup, teardown),
            cmocka_unit_test_setup_teardown(test_output_replaces_a_regular_file_atomically, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_output_never_replaces_a_device, setup, teardown),
            cmocka_unit_test_setup_teardown(test_output_writes_through_a_fifo, setup, teardown),
            cmocka_unit_test_setup_teardown(test_output_refuses_a_directory_and_leaves_no_temp,
                                            setup, teardown),
            cmocka_unit_test_setup_teardown(test_dio_writes_exactly_what_was_appended, setup,
                                            teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
