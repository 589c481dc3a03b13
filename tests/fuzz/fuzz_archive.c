/* Image archives as `vessel load` reads them: docker-archive
 * (manifest.json + config + layer tars) and oci-archive (oci-layout +
 * index.json + blobs), plain or compressed: vs_archive_load() into a fresh
 * store, then `system check` on the store must pass whatever happened. */
#include "fuzz_util.h"
#include "image/image.h"
#include "image/store.h"
#include "image/transfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *tmp = fuzz_tmp();
        char dir[4200];
        snprintf(dir, sizeof(dir), "%s/store", tmp);
        fuzz_empty_dir(dir);
        vs_progress_set_quiet(true);
        vs_error *err = NULL;
        struct vs_store *s = NULL;
        if (vs_store_open(dir, &s, &err) < 0) {
                fprintf(stderr, "cannot open a store in %s: %s\n", dir, err->msg);
                abort();
        }
        int fd = fuzz_memfd(data, size);
        FILE *out = fopen("/dev/null", "w");
        int ret = vs_archive_load(s, fd, "archive", out, &err);
        close(fd);
        fuzz_check_result(ret, &err);
        if (vs_store_check(s, out, &err) < 0) {
                fprintf(stderr, "the store is inconsistent after a %s load: %s\n",
                        ret < 0 ? "failed" : "successful", err->msg);
                abort();
        }
        fclose(out);
        vs_store_close(s);
        return 0;
}
