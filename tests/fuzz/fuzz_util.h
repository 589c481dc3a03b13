/* Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c, docs/fuzzing.md). */
#ifndef VESSEL_FUZZ_UTIL_H
#define VESSEL_FUZZ_UTIL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* The input as a NUL-terminated string (parsers of text take C strings). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
        char *s = xmalloc(size + 1);
        memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

/* Checks an error a parser returned: a failure must carry a message. */
static inline void fuzz_check_result(int ret, vs_error **err)
{
        if (ret < 0 && (*err == NULL || (*err)->msg == NULL || (*err)->msg[0] == '\0')) {
                fprintf(stderr, "parser failed without an error message\n");
                abort();
        }
        if (ret >= 0 && *err != NULL) {
                fprintf(stderr, "parser succeeded but set an error: %s\n", (*err)->msg);
                abort();
        }
        vs_error_free(err);
}

/* A private scratch directory for this process, removed at exit:
 * $TMPDIR/vessel-fuzz.<pid>.XXXXXX. */
static char fuzz_tmp_path[4096];

static inline void fuzz_tmp_remove(void)
{
        if (fuzz_tmp_path[0]) {
                vs_error *err = NULL;
                vs_rm_rf(fuzz_tmp_path, &err);
                vs_error_free(&err);
        }
}

static inline const char *fuzz_tmp(void)
{
        if (fuzz_tmp_path[0] == '\0') {
                const char *base = getenv("TMPDIR");
                snprintf(fuzz_tmp_path, sizeof(fuzz_tmp_path), "%s/vessel-fuzz.%d.XXXXXX",
                         base && *base ? base : "/tmp", (int) getpid());
                if (mkdtemp(fuzz_tmp_path) == NULL) {
                        perror("mkdtemp");
                        abort();
                }
                atexit(fuzz_tmp_remove);
        }
        return fuzz_tmp_path;
}

/* Empties dir (keeps it). */
static inline void fuzz_empty_dir(const char *dir)
{
        vs_error *err = NULL;
        if (vs_rm_rf(dir, &err) < 0) {
                fprintf(stderr, "cannot clean %s: %s\n", dir, err->msg);
                abort();
        }
        if (mkdir(dir, 0700) < 0) {
                perror(dir);
                abort();
        }
}

/* The input in an anonymous file, offset 0. */
static inline int fuzz_memfd(const uint8_t *data, size_t size)
{
        int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
        if (fd < 0) {
                perror("memfd_create");
                abort();
        }
        size_t off = 0;
        while (off < size) {
                ssize_t n = write(fd, data + off, size - off);
                if (n <= 0) {
                        perror("write");
                        abort();
                }
                off += (size_t) n;
        }
        lseek(fd, 0, SEEK_SET);
        return fd;
}

#endif
