/* A layer blob (tar, gzip or zstd tar: sniffed) through vs_layer_unpack()
 * into a scratch root, as load and pull unpack it. The root sits three
 * directories deep in this process's scratch dir, so an entry that escapes
 * ("../x", a symlinked parent, a hardlink or whiteout outside) lands
 * somewhere this harness looks: after each input, everything but the root
 * must be exactly as it was. */
#include "fuzz_util.h"
#include "image/layer.h"

#include <dirent.h>

static char base[4200], root[4300];

/* dir holds exactly the entry `only` (or nothing when only is NULL). */
static void expect_only(const char *dir, const char *only)
{
        DIR *d = opendir(dir);
        if (d == NULL) {
                fprintf(stderr, "ESCAPE: %s is gone (%s)\n", dir, strerror(errno));
                abort();
        }
        struct dirent *e;
        while ((e = readdir(d))) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                if (only == NULL || strcmp(e->d_name, only) != 0) {
                        fprintf(stderr, "ESCAPE: the layer wrote %s/%s outside its root\n", dir,
                                e->d_name);
                        abort();
                }
        }
        closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *tmp = fuzz_tmp();
        if (base[0] == '\0') {
                char p[4200];
                snprintf(p, sizeof(p), "%s/a", tmp);
                mkdir(p, 0700);
                snprintf(p, sizeof(p), "%s/a/b", tmp);
                mkdir(p, 0700);
                snprintf(base, sizeof(base), "%s/a/b/c", tmp);
                mkdir(base, 0700);
                snprintf(root, sizeof(root), "%s/root", base);
        }
        int fd = fuzz_memfd(data, size);
        vs_error *err = NULL;
        char *diff_id = NULL;
        int64_t unpacked = 0;
        int ret = vs_layer_unpack(fd, NULL, root, false, &diff_id, &unpacked, &err);
        close(fd);
        if (ret == 0 && (diff_id == NULL || strncmp(diff_id, "sha256:", 7) != 0))
                abort();
        free(diff_id);
        fuzz_check_result(ret, &err);
        if (ret < 0 && access(root, F_OK) == 0) {
                fprintf(stderr, "a failed unpack left %s behind\n", root);
                abort();
        }
        vs_rm_rf(root, &err);
        vs_error_free(&err);
        char p[4200];
        expect_only(base, NULL);
        snprintf(p, sizeof(p), "%s/a/b", tmp);
        expect_only(p, "c");
        snprintf(p, sizeof(p), "%s/a", tmp);
        expect_only(p, "b");
        expect_only(tmp, "a");
        return 0;
}
