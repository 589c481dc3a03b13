/* Image manifests and image indexes (OCI and Docker media types), as
 * load, pull and the store read them: vs_manifest_parse(). */
#include "fuzz_util.h"
#include "image/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = fuzz_cstr(data, size);
        vs_error *err = NULL;
        struct vs_manifest m = {0};
        int ret = vs_manifest_parse(text, "manifest", &m, &err);
        vs_manifest_clear(&m);
        fuzz_check_result(ret, &err);
        free(text);
        return 0;
}
